"""Nokia SR Linux config.json / config.cli: the switches of inventories/lab-srlinux.yml.

Every SR Linux document this module renders is validated against Nokia's YANG models
(nokia/srlinux-yang-models v25.3.1, ../shared/oracles/srlinux-yang) with
hpnctl.validate_models.validate_srlinux; the validation tests skip only when yanglint
is not installed.  Expected values come from the intent, and the JSON is read as data.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

from hpnctl.builders import srlinux as srl
from hpnctl.design import design
from hpnctl.errors import RenderError
from hpnctl.intent import load_intent, parse_intent
from hpnctl.intent.yaml_positions import load_yaml_with_positions
from hpnctl.lab.topology import build_topology
from hpnctl.model import build_device_model
from hpnctl.platforms import get_platform
from hpnctl.render import render_device

TESTS = Path(__file__).resolve().parents[1]
INVENTORY = TESTS.parent / "inventories" / "lab-srlinux.yml"
GOLDEN = TESTS / "golden" / "srlinux-lab"
GOLDEN_DEVICES = ["leaf1", "spine1"]
JSON, CLI = "config.json", "config.cli"
QOS = "srl_nokia-qos:qos"

needs_yanglint = pytest.mark.skipif(shutil.which("yanglint") is None, reason="yanglint (libyang2-tools) is not installed")


def _shared_conftest():
    """tests/conftest.py (assert_golden), loaded by path: several conftest.py files exist."""
    spec = importlib.util.spec_from_file_location("_hpnctl_tests_conftest", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _validate(docs: dict[str, dict]) -> list[str]:
    from hpnctl.validate_models.srlinux_yang import validate_srlinux_many

    return [f.format() for f in validate_srlinux_many(docs)]


def _render(model: dict) -> tuple[dict, str]:
    files = render_device(model)
    return json.loads(files[JSON]), files[CLI]


@pytest.fixture(scope="module")
def lab():
    loaded = load_intent(INVENTORY)
    return loaded, design(loaded)


@pytest.fixture(scope="module")
def switches(lab) -> dict[str, tuple[dict, dict, str]]:
    """name → (DeviceModel, config.json as data, config.cli text)."""
    loaded, fabric = lab
    out = {}
    for dev in fabric.switches():
        model = build_device_model(loaded, fabric, dev)
        out[dev.name] = (model, *_render(model))
    assert {m["platform"] for m, _, _ in out.values()} == {"srlinux"}
    return out


@pytest.fixture(scope="module")
def classes(lab):
    return lab[0].intent.networks["compute"].qos.classes


def _by(entries: list[dict], key: str) -> dict:
    return {e[key]: e for e in entries}


def _qos_ports(doc: dict) -> dict[str, dict]:
    return _by(doc[QOS]["interfaces"]["interface"], "interface-id")


def _profiles(doc: dict) -> dict[str, dict]:
    return _by(doc[QOS]["buffer-management"]["queue-management-profile"], "name")


# --- YANG ---------------------------------------------------------------------------------


@needs_yanglint
def test_every_rendered_config_passes_the_srlinux_yang_models(switches):
    assert _validate({name: doc for name, (_, doc, _) in switches.items()}) == []


@needs_yanglint
def test_the_yang_validation_can_fail(switches):
    """A weight beyond the model's 1..127 must be reported, so a pass above means something."""
    doc = copy.deepcopy(switches["leaf1"][1])
    weighted = doc[QOS]["scheduler-policies"]["scheduler-policy"][0]["scheduler"][1]["input"][0]
    weighted["weight"] = 200
    findings = _validate({"leaf1": doc})
    assert findings and any("weight" in f or "127" in f for f in findings), findings


# --- golden -------------------------------------------------------------------------------


@pytest.mark.parametrize("device", GOLDEN_DEVICES)
def test_golden_config(device, lab, update_golden):
    loaded, fabric = lab
    files = render_device(build_device_model(loaded, fabric, fabric.devices[device]))
    conftest = _shared_conftest()
    for name in (JSON, CLI):
        conftest.assert_golden(files[name], GOLDEN / device / name, update_golden)


# --- QoS ----------------------------------------------------------------------------------


def test_dscp_classifier_maps_each_dscp_to_its_class_forwarding_class(switches, classes):
    claimed = {d: name for name, c in classes.items() if c.dscp != "default" for d in c.dscp}
    default = next(name for name, c in classes.items() if c.dscp == "default")
    for name, (_, doc, _) in switches.items():
        (policy,) = doc[QOS]["classifiers"]["dscp-policy"]
        entries = {e["value"]: e["forwarding-class"] for e in policy["dscp"]}
        assert set(entries) == set(range(64))
        for d in range(64):
            assert entries[d] == f"fc-{claimed.get(d, default)}", (name, d)
        # the classifier is attached to every routed subinterface
        ports = _qos_ports(doc)
        for itf in switches[name][0]["interfaces"]:
            sub = ports[f"{itf['name']}.0"]
            assert sub["interface-ref"] == {"interface": itf["name"], "subinterface": 0}
            assert sub["input"]["classifiers"]["dscp-policy"] == policy["name"]


def test_forwarding_classes_feed_the_queues_of_their_classes(switches, classes):
    for _, doc, _ in switches.values():
        queues = {q["name"]: q["queue-index"] for q in doc[QOS]["queues"]["queue"]}
        fcs = _by(doc[QOS]["forwarding-classes"]["forwarding-class"], "name")
        for name, c in classes.items():
            fc = fcs[f"fc-{name}"]
            assert fc["forwarding-class-index"] == c.tc
            assert queues[fc["output"]["unicast-queue"]] == (c.queue if c.queue is not None else c.tc)


def test_scheduler_strict_and_weighted_inputs_match_the_classes(switches, classes):
    strict = {f"q-{n}" for n, c in classes.items() if c.scheduler.type == "strict"}
    weights = {f"q-{n}": round(c.scheduler.bandwidth_percent) for n, c in classes.items() if c.scheduler.type == "dwrr"}
    assert strict == {"q-alltoall", "q-cnp"} and weights == {"q-allreduce": 70, "q-default": 30}
    for name, (_, doc, _) in switches.items():
        (policy,) = doc[QOS]["scheduler-policies"]["scheduler-policy"]
        sched = _by(policy["scheduler"], "sequence")
        assert sched[0]["priority"] == "strict" and "priority" not in sched[1]
        assert {i["queue-name"] for i in sched[0]["input"]} == strict
        assert all("weight" not in i for i in sched[0]["input"])
        assert {i["queue-name"]: i["weight"] for i in sched[1]["input"]} == weights
        for port, entry in _qos_ports(doc).items():
            if "subinterface" not in entry["interface-ref"]:
                assert entry["output"]["scheduler"]["scheduler-policy"] == policy["name"], (name, port)


def test_ecn_off_queue_uses_a_profile_with_enable_ecn_false(switches, classes):
    assert not classes["alltoall"].ecn.enabled
    for name, (model, doc, _) in switches.items():
        profiles = _profiles(doc)
        ports = _qos_ports(doc)
        for itf in model["interfaces"]:
            queues = {q["queue-name"]: q["queue-management-profile"] for q in ports[itf["name"]]["output"]["queues"]["queue"]}
            (slope,) = profiles[queues["q-alltoall"]]["wred"]["wred-slope"]
            assert slope["enable-ecn"] is False and slope["slope-enabled"] is False, (name, itf["name"])
            for off in ("q-cnp", "q-default"):
                assert profiles[queues[off]]["wred"]["wred-slope"][0]["enable-ecn"] is False


def test_allreduce_queue_marks_ecn_at_the_intent_thresholds_per_port_speed(switches, lab):
    profile = lab[0].intent.networks["compute"].qos.ecn_profiles["ignore-microbursts"]
    for name, (model, doc, _) in switches.items():
        assert doc[QOS]["explicit-congestion-notification"] == {}
        profiles = _profiles(doc)
        ports = _qos_ports(doc)
        for itf in model["interfaces"]:
            queues = {q["queue-name"]: q["queue-management-profile"] for q in ports[itf["name"]]["output"]["queues"]["queue"]}
            (slope,) = profiles[queues["q-allreduce"]]["wred"]["wred-slope"]
            kmin = int(itf["speed_mbps"] * 1e6 / 8 * profile.burst_tolerance / 1e6)
            assert slope["enable-ecn"] is True and slope["traffic-type"] == "all"
            assert slope["min-threshold"] == str(kmin), (name, itf["name"])  # uint64: a JSON string
            assert slope["max-threshold"] == str(int(kmin * profile.kmax_factor))
            assert slope["max-drop-probability-percent"] == round(profile.pmax)


def test_every_bound_queue_has_a_maximum_burst_size_and_reserves_are_committed(switches, classes):
    for name, (_, doc, _) in switches.items():
        allocations = _by(doc[QOS]["buffer-management"]["buffer-allocation-profile"], "name")
        for port, entry in _qos_ports(doc).items():
            if "subinterface" in entry["interface-ref"]:
                continue
            alloc = _by(allocations[entry["output"]["buffer-allocation-profile"]]["queues"]["queue"], "queue-name")
            for q in entry["output"]["queues"]["queue"]:
                assert alloc[q["queue-name"]]["maximum-burst-size"] > 0, (name, port, q)
            assert alloc["q-alltoall"]["committed-burst-size"] == classes["alltoall"].buffer.reserve == 512_000
            assert alloc["q-allreduce"]["committed-burst-size"] == classes["allreduce"].buffer.reserve == 128_000
            assert "committed-burst-size" not in alloc["q-cnp"]


def test_pfc_mapping_and_deadlock_watchdog(switches, classes, lab):
    wd = lab[0].intent.networks["compute"].qos.pfc.watchdog
    lossless = {n: c for n, c in classes.items() if c.lossless}
    for name, (model, doc, _) in switches.items():
        (profile,) = doc[QOS]["pfc-mapping-profile"]
        mapping = _by(profile["received-traffic"]["unicast-mapping"]["pfc-queue"], "pfc-queue-name")
        assert set(mapping) == {f"pfc-{n}" for n in lossless}
        for n, c in lossless.items():
            assert mapping[f"pfc-{n}"]["forwarding-class"] == [f"fc-{n}"]
            assert mapping[f"pfc-{n}"]["pfc-pause-frame-priority"] == c.tc
        received = profile["received-pfc-pause-frames"]
        assert received["deadlock"] == {"enable": True, "detection-timer": wd.detection_ms,
                                        "recovery-timer": wd.restoration_ms}
        assert {q["queue-name"]: q["pfc-pause-frame-priority"] for q in received["queue"]} == {
            f"q-{n}": c.tc for n, c in lossless.items()}
        interfaces = _by(doc["srl_nokia-interfaces:interface"], "name")
        ports = _qos_ports(doc)
        for itf in model["interfaces"]:
            assert ports[itf["name"]]["pfc"] == {"pfc-enable": True, "pfc-mapping-profile": profile["name"]}
            assert interfaces[itf["name"]]["ethernet"]["flow-control"]["receive"] is False
        # the watchdog action of the intent is not available on SR Linux: the CLI says so
        assert "action 'drop' is not available" in switches[name][2]


def test_pfc_queue_buffers_reserve_the_headroom_of_the_port_speed(switches):
    for name, (model, doc, _) in switches.items():
        allocations = _by(doc[QOS]["buffer-management"]["buffer-allocation-profile"], "name")
        for itf in model["interfaces"]:
            alloc = allocations[srl.buffer_profile_name(itf["speed_mbps"])]
            headroom = model["qos"]["pfc"]["headroom"][itf["speed_mbps"]]["size"]
            for pq in alloc["queues"]["pfc-queue"]:
                assert pq["maximum-pfc-reserved-share-bytes"] == headroom, (name, itf["name"])


# --- interfaces, routing -------------------------------------------------------------------


def test_interfaces_bgp_and_bfd_follow_the_model(switches, lab):
    _, fabric = lab
    for name, (model, doc, _) in switches.items():
        interfaces = _by(doc["srl_nokia-interfaces:interface"], "name")
        for itf in model["interfaces"]:
            assert re.fullmatch(r"ethernet-1/\d+", itf["name"])
            (sub,) = interfaces[itf["name"]]["subinterface"]
            assert sub["ipv4"]["address"] == [{"ip-prefix": itf["ip"]}]
            assert sub["ip-mtu"] == itf["mtu"]
        (ni,) = doc["srl_nokia-network-instance:network-instance"]
        bgp = ni["protocols"]["srl_nokia-bgp:bgp"]
        assert bgp["autonomous-system"] == fabric.devices[name].asn
        peers = {n["peer-address"]: n["peer-as"] for n in bgp["neighbor"]}
        assert peers == {n["ip"]: n["asn"] for n in model["bgp"]["neighbors"]} and peers
        (group,) = bgp["group"]
        assert group["timers"] == {"hold-time": 9, "keepalive-interval": 3}
        assert group["failure-detection"] == {"enable-bfd": True}
        bfd = _by(doc["srl_nokia-bfd:bfd"]["subinterface"], "id")
        assert set(bfd) == {f"{n['interface']}.0" for n in model["bgp"]["neighbors"]}
        assert all(b["desired-minimum-transmit-interval"] == 1_000_000 for b in bfd.values())


def test_ecmp_hash_is_left_at_the_srlinux_default_when_it_matches_the_intent(switches):
    for _, doc, _ in switches.values():
        assert "srl_nokia-load-balancing:load-balancing" not in doc["srl_nokia-system:system"]


def test_ecmp_hash_options_are_written_when_the_intent_differs():
    model = {"hostname": "x", "features": {"ecmp-hash": True},
             "ecmp": {"hash_fields": ["src-ip", "dst-ip", "ipv6-flow-label"]}}
    options = srl._system(model)["srl_nokia-load-balancing:load-balancing"]["hash-options"]
    assert options["ipv6-flow-label"] is True and options["source-port"] is False and options["protocol"] is False
    with pytest.raises(RenderError, match="in-port"):
        srl._system({**model, "ecmp": {"hash_fields": ["in-port"]}})


# --- CLI ------------------------------------------------------------------------------------


def test_cli_lines_say_what_the_json_says(switches, classes):
    for name, (model, doc, cli) in switches.items():
        lines = set(cli.splitlines())
        assert "set / qos classifiers dscp-policy hpn-dscp dscp 34 forwarding-class fc-alltoall" in lines
        assert ("set / qos buffer-management queue-management-profile no-ecn wred wred-slope all "
                "drop-probability all enable-ecn false slope-enabled false") in lines
        assert "set / qos scheduler-policies scheduler-policy hpn-sched scheduler 0 priority strict" in lines
        assert "set / qos explicit-congestion-notification" in lines
        for n in model["bgp"]["neighbors"]:
            assert (f"set / network-instance default protocols bgp neighbor {n['ip']} peer-as {n['asn']}") in lines
        assert f"set / network-instance default protocols bgp group FABRIC export-policy [ {srl.EXPORT_POLICY} ]" in lines
        # every CLI line is a set on an absolute path, and the CLI has as many leaf lines as the JSON has leaves
        body = [line for line in cli.splitlines() if line and not line.startswith("#")]
        assert all(line.startswith("set / ") for line in body)
        assert len(body) == _count_leaves(doc)


def _count_leaves(doc: dict) -> int:
    """Leaves, leaf-lists, key-only list entries and empty presence containers: one CLI line each."""
    def walk(node, path: tuple) -> int:
        if isinstance(node, dict):
            return 1 if not node else sum(walk(v, path + (k.split(":")[-1],)) for k, v in node.items())
        if isinstance(node, list) and node and all(isinstance(e, dict) for e in node):
            keys = srl.LIST_KEYS[path]
            total = 0
            for entry in node:
                rest = {k: v for k, v in entry.items() if k not in keys}
                total += 1 if not rest else sum(walk(v, path + (k,)) for k, v in rest.items())
            return total
        return 1

    return sum(walk(v, (k.split(":")[-1],)) for k, v in doc.items())


def test_cli_needs_the_keys_of_every_list():
    with pytest.raises(RenderError, match="no list keys"):
        srl.cli_lines({"srl_nokia-qos:qos": {"unknown-list": [{"name": "x"}]}})
    assert srl.cli_lines({"srl_nokia-interfaces:interface": [{"name": "ethernet-1/1", "description": "to a b"}]}) == [
        'set / interface ethernet-1/1 description "to a b"']


# --- platform features ------------------------------------------------------------------


@needs_yanglint
def test_adaptive_routing_is_reported_unsupported_and_the_config_still_validates():
    data, positions = load_yaml_with_positions(INVENTORY)
    net = data["networks"]["compute"]
    net["adaptive_routing"] = {"enabled": True}
    net["optional_features"] = ["adaptive-routing"]
    loaded = parse_intent(data, positions, INVENTORY)
    fabric = design(loaded)
    leaf = fabric.devices["leaf1"]
    model = build_device_model(loaded, fabric, leaf)
    reason = get_platform("srlinux").supports("adaptive-routing").reason
    assert "no adaptive routing" in reason
    assert model["unsupported"] == [{"feature": "adaptive-routing", "reason": reason}]
    assert model["adaptive_routing"] is None
    doc, _ = _render(model)
    assert _validate({"leaf1": doc}) == []


# --- lab ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology(lab, tmp_path_factory):
    loaded, fabric = lab
    out = tmp_path_factory.mktemp("lab")
    return build_topology(loaded, fabric, out), out


def test_lab_topology_uses_the_srlinux_kind_cli_startup_and_e1_endpoints(lab, topology):
    _, fabric = lab
    topo, tmp_path = topology
    nodes = topo.data["topology"]["nodes"]
    switches = {n: v for n, v in nodes.items() if v["labels"]["hpnctl.platform"] == "srlinux"}
    assert len(switches) == 4
    for name, node in switches.items():
        assert node["kind"] == "nokia_srlinux"
        # CLI lines are applied on top of containerlab's factory config, so management stays up
        assert node["startup-config"] == f"{name}/{CLI}"
        assert (tmp_path / name / CLI).is_file() and (tmp_path / name / JSON).is_file()
    for link in topo.data["topology"]["links"]:
        for end in link["endpoints"]:
            node, _, port = end.partition(":")
            if node in switches:
                assert re.fullmatch(r"e1-\d+", port), end
                itf = f"ethernet-1/{port[3:]}"
                assert any(i.name == itf for i in fabric.devices[node].interfaces), end


def test_lab_topology_validates_against_the_containerlab_schema(topology):
    from hpnctl.validate_models.clab_schema import validate_clab_topology

    assert validate_clab_topology(topology[0].path) == []
