"""NVIDIA Cumulus Linux (NVUE) startup.yaml: the NVUE leaves of inventories/pd-inference-nvue.yml.

Expected values come from the intent (what the engineer asked for), never from the
renderer, and the rendered text is parsed as YAML so a key in the wrong branch fails.
Both NVUE syntaxes are covered: 5.15 (`state: enabled`, `ipv4 address`) and 5.14
(`enable: on`, `ip address`).
"""
from __future__ import annotations

import copy
import functools
import math
import re
from pathlib import Path

import pytest
import yaml

from hpnctl.builders import nvue as nvue_builder
from hpnctl.design import design
from hpnctl.errors import RenderError
from hpnctl.intent import load_intent
from hpnctl.lab.topology import build_topology
from hpnctl.model import build_device_model
from hpnctl.platforms import get_platform
from hpnctl.render import render_device

TESTS = Path(__file__).resolve().parents[1]
INVENTORIES = TESTS.parent / "inventories"
INVENTORY = INVENTORIES / "pd-inference-nvue.yml"
GOLDEN = TESTS / "golden"
GOLDEN_DEVICES = ["leaf-g1-r1", "leaf-g2-r8"]
STARTUP = "startup.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)




@pytest.fixture(scope="module")
def pd():
    loaded = load_intent(INVENTORY)
    return loaded, design(loaded)


@pytest.fixture(scope="module")
def leaves(pd) -> dict[str, tuple[dict, str]]:
    """NVUE leaf name → (DeviceModel, rendered startup.yaml) at the default release."""
    loaded, fabric = pd
    out = {}
    for dev in fabric.switches():
        if dev.platform == "nvue":
            model = build_device_model(loaded, fabric, dev)
            out[dev.name] = (model, render_device(model)[STARTUP])
    assert len(out) == 16, "pd-inference-nvue.yml must put all 16 compute leaves on NVUE"
    return out


@pytest.fixture(scope="module")
def intent(pd):
    return pd[0].intent.networks["compute"]


@functools.lru_cache(maxsize=64)
def _set(text: str) -> dict:
    """The `- set:` tree of a startup.yaml (parsed once per text; callers must not modify it)."""
    docs = yaml.load(text, Loader=_LOADER)
    assert isinstance(docs, list) and len(docs) == 1 and set(docs[0]) == {"set"}, "expected one `- set:` item"
    return docs[0]["set"]


def _render_release(model: dict, release: str) -> dict:
    m = copy.deepcopy(model)
    m["platform_options"] = {"release": release}
    return _set(render_device(m)[STARTUP])


def _ports(doc: dict, kind: str) -> dict[str, dict]:
    return {n: i for n, i in doc["interface"].items() if str(i.get("description", "")).startswith(kind)}


def _walk(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), v
            yield from _walk(v, path + (k,))


# --- golden -------------------------------------------------------------------------------


@pytest.mark.parametrize("device", GOLDEN_DEVICES)
def test_golden_startup_yaml_5_15(leaves, device, golden):
    golden(leaves[device][1], GOLDEN / "nvue-pd-leaf" / device / STARTUP)


@pytest.mark.parametrize("device", GOLDEN_DEVICES[:1])
def test_golden_startup_yaml_5_14(leaves, device, golden):
    model = copy.deepcopy(leaves[device][0])
    model["platform_options"] = {"release": "5.14"}
    golden(render_device(model)[STARTUP],
                                     GOLDEN / "nvue-pd-leaf-5.14" / device / STARTUP)


# --- QoS ----------------------------------------------------------------------------------


def test_alltoall_traffic_class_has_ecn_disabled_and_allreduce_marks_at_the_intent_thresholds(leaves, intent):
    a2a, ar = intent.qos.classes["alltoall"], intent.qos.classes["allreduce"]
    profile = intent.qos.ecn_profiles["ignore-microbursts"]
    for name, (_, text) in leaves.items():
        tcs = _set(text)["qos"]["congestion-control"]["default-global"]["traffic-class"]
        assert tcs[str(a2a.tc)] == {"ecn": "disabled"}, name
        speed_bps = 400e9  # every port of these leaves runs at 400G
        kmin = int(speed_bps / 8 * profile.burst_tolerance / 1e6)
        assert tcs[str(ar.tc)]["ecn"] == "enabled"
        assert tcs[str(ar.tc)]["min-threshold"] == kmin == 500_000
        assert tcs[str(ar.tc)]["max-threshold"] == int(kmin * profile.kmax_factor)
        assert tcs[str(ar.tc)]["probability"] == round(profile.pmax)
        # the default class asks for no ECN profile: NVUE's default TC0 marking must be switched off
        assert tcs[str(intent.qos.classes["default"].tc)]["ecn"] == "disabled"


def test_every_dscp_maps_to_the_switch_priority_of_its_class(leaves, intent):
    claimed = {d: c.tc for c in intent.qos.classes.values() if c.dscp != "default" for d in c.dscp}
    default_tc = next(c.tc for c in intent.qos.classes.values() if c.dscp == "default")
    for _, text in leaves.values():
        mapping = _set(text)["qos"]["mapping"]["default-global"]
        assert mapping["trust"] == "l3"
        assert set(mapping["dscp"]) == {str(d) for d in range(64)}
        for d in range(64):
            assert mapping["dscp"][str(d)]["switch-priority"] == claimed.get(d, default_tc), f"DSCP {d}"


def test_switch_priorities_go_to_the_queues_of_their_classes(leaves, intent):
    for _, text in leaves.values():
        sps = _set(text)["qos"]["egress-queue-mapping"]["default-global"]["switch-priority"]
        for c in intent.qos.classes.values():
            assert sps[str(c.tc)]["traffic-class"] == (c.queue if c.queue is not None else c.tc)


def test_scheduler_strict_and_dwrr_shares_match_the_classes(leaves, intent):
    for _, text in leaves.values():
        tcs = _set(text)["qos"]["egress-scheduler"]["default-global"]["traffic-class"]
        for c in intent.qos.classes.values():
            entry = tcs[str(c.tc)]
            if c.scheduler.type == "strict":
                assert entry == {"mode": "strict"}, c
            else:
                assert entry == {"mode": "dwrr", "bw-percent": round(c.scheduler.bandwidth_percent)}, c
        assert sum(e.get("bw-percent", 0) for e in tcs.values()) <= 100


def test_pfc_on_the_lossless_switch_priorities_with_cable_length_and_watchdog(leaves, intent):
    lossless = {str(c.tc) for c in intent.qos.classes.values() if c.lossless}
    wd = intent.qos.pfc.watchdog
    for name, (model, text) in leaves.items():
        doc = _set(text)
        pfc = doc["qos"]["pfc"]["default-global"]
        assert set(pfc["switch-priority"]) == lossless == {"3", "4"}
        assert pfc["cable-length"] == math.ceil(intent.qos.pfc.cable_length_m)
        assert pfc["tx"] == pfc["rx"] == "enable"
        assert doc["qos"]["roce"] == {"state": "enabled", "mode": "lossless", "cable-length": 10}
        assert doc["qos"]["pfc-watchdog"] == {"polling-interval": wd.poll_ms,
                                              "robustness": math.ceil(wd.detection_ms / wd.poll_ms)}
        switch_ports = [i["name"] for i in model["interfaces"] if i["kind"] in ("uplink", "downlink", "host")]
        for port in switch_ports:
            assert doc["interface"][port]["qos"]["pfc-watchdog"] == {"state": "enabled"}, (name, port)


def test_traffic_pools_split_lossless_and_lossy_priorities(leaves, intent):
    lossless = {str(c.tc) for c in intent.qos.classes.values() if c.lossless}
    for _, (model, text) in leaves.items():
        pools = _set(text)["qos"]["traffic-pool"]
        assert set(pools) == {"default-lossy", "roce-lossless"}
        assert set(pools["roce-lossless"]["switch-priority"]) == lossless
        assert set(pools["default-lossy"]["switch-priority"]) == {str(sp) for sp in range(8)} - lossless
        assert pools["roce-lossless"]["memory-percent"] + pools["default-lossy"]["memory-percent"] == 100
        # the lossless pool holds at least the PFC headroom and the lossless reserves
        buf = model["qos"]["buffer"]
        floor = 100 * buf["headroom_bytes"] / buf["total_bytes"]
        assert pools["roce-lossless"]["memory-percent"] >= math.floor(floor)


def test_ecn_profile_per_port_speed_is_bound_on_the_slower_ports():
    """pd-inference.yml: 400G host ports and 800G uplinks on one leaf."""
    loaded = load_intent(INVENTORIES / "pd-inference.yml")
    fabric = design(loaded)
    model = build_device_model(loaded, fabric, fabric.devices["leaf-g1-r1"])
    model["platform"] = "nvue"
    doc = _set(render_device(model)[STARTUP])
    cc = doc["qos"]["congestion-control"]
    assert set(cc) == {"default-global", "ecn-400g"}  # 8 uplinks at 800G outnumber 4 host ports
    ar = loaded.intent.networks["compute"].qos.classes["allreduce"]
    assert cc["default-global"]["traffic-class"][str(ar.tc)]["min-threshold"] == 1_000_000  # 800G × 10 µs
    assert cc["ecn-400g"]["traffic-class"][str(ar.tc)]["min-threshold"] == 500_000
    for itf in model["interfaces"]:
        bound = doc["interface"][itf["name"]].get("qos", {}).get("congestion-control")
        assert bound == ({"profile": "ecn-400g"} if itf["speed_mbps"] == 400_000 else None), itf["name"]


# --- adaptive routing ---------------------------------------------------------------------


def test_adaptive_routing_global_and_on_every_uplink_with_the_intent_threshold(leaves, intent):
    threshold = intent.adaptive_routing.link_utilization_threshold
    assert threshold == 60  # not NVUE's default of 70: the value must come from the intent
    for name, (model, text) in leaves.items():
        doc = _set(text)
        assert doc["router"]["adaptive-routing"] == {"state": "enabled", "link-utilization-threshold": "enabled"}
        uplinks = [i["name"] for i in model["interfaces"] if i["kind"] == "uplink"]
        assert len(uplinks) == 8
        for port in uplinks:
            assert doc["interface"][port]["router"]["adaptive-routing"] == {
                "state": "enabled", "link-utilization-threshold": threshold}, (name, port)
        for port, entry in _ports(doc, "host").items():
            assert "router" not in entry, f"{name}: AR on host port {port}"


def test_adaptive_routing_is_left_off_links_faster_than_the_platform_allows(leaves):
    model = copy.deepcopy(next(iter(leaves.values()))[0])
    limit = get_platform("nvue").extra["adaptive_routing_max_speed_mbps"]
    fast = [i for i in model["interfaces"] if i["kind"] == "uplink"][:2]
    for itf in fast:
        itf["speed_mbps"], itf["speed"] = 800_000, "800G"
    assert limit < 800_000
    text = render_device(model)[STARTUP]
    doc = _set(text)
    for itf in fast:
        assert "router" not in doc["interface"][itf["name"]]
        assert itf["name"] in text.split("- set:")[0], "the notes must name the port AR was left off"


# --- releases ------------------------------------------------------------------------------


def test_release_5_15_uses_state_enabled_and_ipv4(leaves):
    model, _ = leaves["leaf-g1-r1"]
    doc = _render_release(model, "5.15")
    keys = [p[-1] for p, _ in _walk(doc)]
    values = [v for _, v in _walk(doc) if isinstance(v, str)]
    assert "enable" not in keys
    assert not {"on", "off"} & set(values)
    assert doc["router"]["bgp"]["state"] == "enabled"
    assert doc["vrf"]["default"]["router"]["bgp"]["path-selection"]["multipath"]["aspath-ignore"] == "enabled"
    assert "10.0.0.9/32" in doc["interface"]["lo"]["ipv4"]["address"]
    assert doc["interface"]["eth0"]["vrf"] == "mgmt"
    assert doc["router"]["bfd"]["profile"]["FABRIC"]["min-tx-interval"] == 300
    assert doc["vrf"]["default"]["router"]["bgp"]["peer-group"]["FABRIC"]["bfd"] == {"state": "enabled",
                                                                                     "profile": "FABRIC"}


def test_release_5_14_uses_enable_on_and_ip(leaves, intent):
    model, _ = leaves["leaf-g1-r1"]
    doc = _render_release(model, "5.14")
    keys = [p for p, _ in _walk(doc)]
    assert not [p for p in keys if p[-1] == "state" and p[-2] != "pfc-watchdog"], "no `state` switch before 5.15"
    assert not [p for p in keys if p[-1] == "ipv4"], "interfaces use `ip` before 5.15"
    assert doc["router"]["bgp"]["enable"] == "on"
    assert doc["qos"]["roce"]["enable"] == "on"
    assert doc["router"]["adaptive-routing"] == {"enable": "on", "link-utilization-threshold": "on"}
    uplink = next(i["name"] for i in model["interfaces"] if i["kind"] == "uplink")
    assert doc["interface"][uplink]["router"]["adaptive-routing"] == {
        "enable": "on", "link-utilization-threshold": intent.adaptive_routing.link_utilization_threshold}
    assert "10.0.0.9/32" in doc["interface"]["lo"]["ip"]["address"]
    assert doc["interface"]["eth0"]["ip"]["vrf"] == "mgmt"
    tcs = doc["qos"]["congestion-control"]["default-global"]["traffic-class"]
    assert tcs[str(intent.qos.classes["alltoall"].tc)] == {"ecn": "disable"}
    assert tcs[str(intent.qos.classes["allreduce"].tc)]["ecn"] == "enable"
    assert doc["interface"][uplink]["qos"]["pfc-watchdog"] == {"state": "enable"}
    group = doc["vrf"]["default"]["router"]["bgp"]["peer-group"]["FABRIC"]
    assert group["bfd"] == {"enable": "on", "detect-multiplier": 3, "min-rx-interval": 300, "min-tx-interval": 300}
    assert "bfd" not in doc["router"]
    assert doc["system"]["forwarding"]["ecmp-hash"]["source-port"] == "on"


def test_release_defaults_to_the_platform_setting(leaves):
    model, text = leaves["leaf-g1-r1"]
    assert "platform_options" not in model or not model["platform_options"].get("release")
    assert get_platform("nvue").extra["release"] == "5.15"
    assert "Cumulus Linux 5.15 syntax" in text.splitlines()[0]


@pytest.mark.parametrize("release", ["5", "five", "5.x", ""])
def test_a_malformed_release_is_a_render_error(leaves, release):
    model = copy.deepcopy(leaves["leaf-g1-r1"][0])
    model["platform_options"] = {"release": release or "   "}
    with pytest.raises(RenderError, match="release"):
        nvue_builder.build(model)


# --- interfaces, BGP, ECMP -----------------------------------------------------------------


def test_ports_are_named_swp_and_carry_the_model_addresses(leaves):
    for name, (model, text) in leaves.items():
        doc = _set(text)
        for itf in model["interfaces"]:
            assert re.fullmatch(r"swp\d+", itf["name"]), itf["name"]
            entry = doc["interface"][itf["name"]]
            assert entry["type"] == "swp"
            assert entry["link"]["mtu"] == itf["mtu"]
            assert list(entry["ipv4"]["address"]) == [itf["ip"]]


def test_bgp_neighbors_are_the_spines_with_their_asns(leaves, pd):
    _, fabric = pd
    for name, (model, text) in leaves.items():
        bgp = _set(text)["vrf"]["default"]["router"]["bgp"]
        expected = {i.peer_ip: fabric.devices[i.peer].asn for i in fabric.devices[name].interfaces if i.kind == "uplink"}
        assert {ip: n["remote-as"] for ip, n in bgp["neighbor"].items()} == expected
        assert all(n["peer-group"] == "FABRIC" and n["type"] == "numbered" for n in bgp["neighbor"].values())
        assert bgp["address-family"]["ipv4-unicast"]["multipaths"]["ebgp"] == model["bgp"]["max_paths"]
        assert set(bgp["address-family"]["ipv4-unicast"]["network"]) == set(model["bgp"]["networks"])
        assert bgp["peer-group"]["FABRIC"]["timers"] == {"keepalive": 3, "hold": 9}


def test_ecmp_hash_fields_are_the_intent_fields(leaves, intent):
    wanted = {nvue_builder.HASH_FIELD[f] for f in intent.routing.ecmp.hash_fields}
    for _, text in leaves.values():
        hashing = _set(text)["system"]["forwarding"]["ecmp-hash"]
        assert {k for k, v in hashing.items() if v == "enabled"} == wanted
        assert {k for k, v in hashing.items() if v == "disabled"} == set(nvue_builder.HASH_FIELD.values()) - wanted


# --- lab ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(pd, tmp_path_factory):
    loaded, fabric = pd
    out = tmp_path_factory.mktemp("lab")
    return build_topology(loaded, fabric, out, scale=True), out


def test_lab_topology_uses_the_cumulus_kind_and_swp_endpoints(lab):
    lab, tmp_path = lab
    nodes = lab.data["topology"]["nodes"]
    nvue_nodes = {n: v for n, v in nodes.items() if v["labels"]["hpnctl.platform"] == "nvue"}
    assert nvue_nodes
    for name, node in nvue_nodes.items():
        assert node["kind"] == "nvidia_cumulusvx"
        assert node["startup-config"] == f"{name}/{STARTUP}"
        assert (tmp_path / name / STARTUP).is_file()
    for link in lab.data["topology"]["links"]:
        for end in link["endpoints"]:
            node, _, port = end.partition(":")
            if node in nvue_nodes:
                assert re.fullmatch(r"swp\d+", port), end


def test_lab_topology_validates_against_the_containerlab_schema(lab):
    from hpnctl.validate_models.clab_schema import validate_clab_topology

    assert validate_clab_topology(lab[0].path) == []


def test_intent_platform_options_pick_the_nvue_release(tmp_path):
    """`platform_options: {nvue: {release: "5.14"}}` in the intent reaches the model and the rendered syntax."""
    import yaml

    from hpnctl.design import design
    from hpnctl.intent import load_intent
    from hpnctl.model import build_device_model
    from hpnctl.render import render_device

    data = yaml.safe_load(INVENTORY.read_text())
    data["platform_options"] = {"nvue": {"release": "5.14"}}
    path = tmp_path / "intent.yml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_intent(path)
    fabric = design(loaded)
    leaf = next(d for d in fabric.switches() if d.platform == "nvue")
    model = build_device_model(loaded, fabric, leaf)
    assert model["platform_options"] == {"release": "5.14"}
    text = render_device(model)[STARTUP]
    assert "Cumulus Linux 5.14 syntax" in text and "state: enabled" not in text
