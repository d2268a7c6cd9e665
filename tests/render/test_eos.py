"""Arista EOS startup-config: the EOS spines of inventories/pd-inference.yml.

Expectations come from the intent (what the engineer asked for) or from the
DeviceModel (the numbers the templates must print unchanged), and the rendered
text is parsed with hier_config rather than grepped, so a line in the wrong block
fails.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hier_config import Platform, get_hconfig

from hpnctl.design import design
from hpnctl.intent import load_intent
from hpnctl.model import build_device_model
from hpnctl.render import render_device

TESTS = Path(__file__).resolve().parents[1]
INVENTORIES = TESTS.parent / "inventories"
INVENTORY = INVENTORIES / "pd-inference.yml"
GOLDEN_DIR = TESTS / "golden" / "eos-pd-spine"
GOLDEN_DEVICES = ["spine1", "spine2"]
CONFIG = "startup-config.cfg"


@pytest.fixture(scope="module")
def pd():
    loaded = load_intent(INVENTORY)
    return loaded, design(loaded)


@pytest.fixture(scope="module")
def spines(pd) -> dict[str, tuple[dict, str]]:
    """EOS spine name → (DeviceModel, rendered startup-config)."""
    loaded, fabric = pd
    out = {}
    for dev in fabric.switches():
        if dev.platform == "eos":
            model = build_device_model(loaded, fabric, dev)
            out[dev.name] = (model, render_device(model)[CONFIG])
    assert out, "pd-inference.yml has no EOS switch"
    return out


@pytest.fixture(scope="module")
def classes(pd) -> dict:
    """The compute network's QoS classes as written in the intent."""
    loaded, _ = pd
    return loaded.intent.networks["compute"].qos.classes




def _hconf(text: str):
    return get_hconfig(Platform.ARISTA_EOS, text)


def _block(parent, text: str) -> list[str]:
    child = parent.get_child(equals=text)
    assert child is not None, f"no `{text}` block"
    return [c.text for c in child.children]


def _profile(text: str):
    prof = _hconf(text).get_child(equals="qos profile HPN")
    assert prof is not None, "no `qos profile HPN`"
    return prof


def _class_of_kind(model: dict, kind: str) -> dict:
    found = [c for c in model["qos"]["classes"] if c["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} class, got {found}"
    return found[0]


def test_every_eos_spine_renders_a_complete_config(spines):
    for name, (model, text) in spines.items():
        h = _hconf(text)
        top = [c.text for c in h.children]
        assert top[0] == "service routing protocols model multi-agent", name
        for line in (f"hostname {name}", "vrf instance MGMT", "ip routing",
                     f"ip route vrf MGMT 0.0.0.0/0 {model['mgmt']['gateway']}",
                     "ip hardware fib load-balance distribution dynamic"):
            assert line in top, f"{name}: missing `{line}`"
        assert _block(h, "interface Management0") == ["vrf MGMT", f"ip address {model['mgmt']['ip']}/{model['mgmt']['prefixlen']}"]
        assert _block(h, "interface Loopback0") == [f"ip address {model['loopback']}/32"]
        assert text.endswith("!\nend\n"), name


def test_alltoall_queue_is_strict_without_ecn(spines, classes):
    assert classes["alltoall"].ecn.enabled is False  # the premise of the test
    for name, (model, text) in spines.items():
        queue = _class_of_kind(model, "alltoall")["queue"]
        lines = _block(_profile(text), f"tx-queue {queue}")
        assert lines == ["priority strict"], f"{name}: tx-queue {queue} = {lines}"


def test_ecn_only_on_ecn_classes(spines):
    for name, (model, text) in spines.items():
        prof = _profile(text)
        for c in model["qos"]["classes"]:
            red = [line for line in _block(prof, f"tx-queue {c['queue']}") if line.startswith("random-detect")]
            assert bool(red) == bool(c["ecn"]), f"{name}: class {c['name']} random-detect lines {red}"


def test_allreduce_ecn_thresholds_at_port_speed_in_kbytes(spines):
    for name, (model, text) in spines.items():
        cls = _class_of_kind(model, "allreduce")
        speeds = {i["speed_mbps"] for i in model["interfaces"]}
        assert len(speeds) == 1, "one qos profile HPN expects one port speed"
        t = cls["ecn"][speeds.pop()]
        expected = (f"random-detect ecn minimum-threshold {t['kmin'] // 1000} kbytes "
                    f"maximum-threshold {t['kmax'] // 1000} kbytes max-mark-probability {round(t['pmax'])}")
        lines = _block(_profile(text), f"tx-queue {cls['queue']}")
        assert expected in lines, f"{name}: {lines}"
        # The model's ECN numbers are whole kilobytes: nothing is lost in the unit change.
        assert t["kmin"] % 1000 == 0 and t["kmax"] % 1000 == 0


def test_dwrr_bandwidth_percentages(spines, classes):
    dwrr = {n: c for n, c in classes.items() if c.scheduler.type == "dwrr"}
    assert sum(c.scheduler.bandwidth_percent for c in dwrr.values()) == pytest.approx(100)
    for name, (model, text) in spines.items():
        prof = _profile(text)
        for c in model["qos"]["classes"]:
            if c["name"] in dwrr:
                want = round(dwrr[c["name"]].scheduler.bandwidth_percent)
                assert _block(prof, f"tx-queue {c['queue']}")[:2] == ["no priority", f"bandwidth percent {want}"], name


def _maps(text: str, kind: str, target: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for m in re.finditer(rf"^qos map {kind} ([\d ]+) to {target} (\d+)$", text, re.M):
        for src in m.group(1).split():
            assert int(src) not in out, f"{kind} {src} mapped twice"
            out[int(src)] = int(m.group(2))
    return out


def test_each_dscp_maps_to_the_intended_traffic_class(spines, classes):
    explicit = {d: c.tc for c in classes.values() if c.dscp != "default" for d in c.dscp}
    default_tc = next(c.tc for c in classes.values() if c.dscp == "default")
    intended = {d: explicit.get(d, default_tc) for d in range(64)}
    for name, (model, text) in spines.items():
        assert _maps(text, "dscp", "traffic-class") == intended, name
        tc_to_queue = _maps(text, "traffic-class", "tx-queue")
        assert set(tc_to_queue) == set(range(8)), name
        for c in model["qos"]["classes"]:
            assert tc_to_queue[c["tc"]] == c["queue"], f"{name}: {c['name']}"


def test_pfc_no_drop_priorities_are_the_lossless_classes(spines, classes):
    lossless = sorted(c.tc for c in classes.values() if c.lossless)
    assert lossless == [3, 4]
    for name, (_, text) in spines.items():
        prof_lines = [c.text for c in _profile(text).children]
        assert "priority-flow-control on" in prof_lines, name
        no_drop = sorted(int(m) for line in prof_lines for m in re.findall(r"^priority-flow-control priority (\d+) no-drop$", line))
        assert no_drop == lossless, name
        assert not [line for line in prof_lines if line.endswith(" drop") and "no-drop" not in line]


def test_pfc_watchdog(spines):
    for name, (model, text) in spines.items():
        wd = model["qos"]["pfc"]["watchdog"]
        top = [c.text for c in _hconf(text).children]
        for line in (f"priority-flow-control pause watchdog default timeout {wd['detection_ms'] / 1000:g}",
                     f"priority-flow-control pause watchdog default recovery-time {wd['restoration_ms'] / 1000:g}",
                     f"priority-flow-control pause watchdog default polling-interval {wd['poll_ms'] / 1000:g}",
                     "priority-flow-control pause watchdog action drop"):
            assert line in top, f"{name}: missing `{line}`"
        assert "priority-flow-control pause watchdog" in [c.text for c in _profile(text).children]


def test_every_fabric_interface_has_the_service_profile(spines):
    for name, (model, text) in spines.items():
        h = _hconf(text)
        rendered = {c.text.split()[1] for c in h.get_children(startswith="interface Ethernet")}
        assert rendered == {i["name"] for i in model["interfaces"]}, name
        for itf in model["interfaces"]:
            lines = _block(h, f"interface {itf['name']}")
            for line in ("service-profile HPN", "no switchport", f"mtu {itf['mtu']}", f"ip address {itf['ip']}",
                         "speed 800g-8", f"description {itf['description']}"):
                assert line in lines, f"{name} {itf['name']}: missing `{line}`"


def test_bgp_neighbors_are_the_model_peers(spines, pd):
    _, fabric = pd
    for name, (model, text) in spines.items():
        bgp = model["bgp"]
        lines = _block(_hconf(text), f"router bgp {bgp['asn']}")
        remote = {}
        for line in lines:
            if m := re.fullmatch(r"neighbor (\S+) remote-as (\d+)", line):
                remote[m.group(1)] = int(m.group(2))
        assert remote == {n["ip"]: n["asn"] for n in bgp["neighbors"]}, name
        # …and those are the switch's cabled peers in the designed fabric.
        dev = fabric.devices[name]
        assert remote == {i.peer_ip: i.peer_asn for i in dev.interfaces if i.peer_ip}, name
        for ip in remote:
            assert f"neighbor {ip} bfd" in lines, f"{name}: {ip} without bfd"
        for line in (f"router-id {bgp['router_id']}", f"maximum-paths {bgp['max_paths']} ecmp {bgp['max_paths']}",
                     "bgp bestpath as-path multipath-relax", f"timers bgp {bgp['keepalive']} {bgp['hold']}"):
            assert line in lines, f"{name}: missing `{line}`"
        networks = _block(_hconf(text).get_child(equals=f"router bgp {bgp['asn']}"), "address-family ipv4")
        assert networks == [f"network {p}" for p in bgp["networks"]]


def test_ecmp_hash_fields(spines):
    for name, (_, text) in spines.items():
        assert ("ip load-sharing trident fields ip source-ip destination-ip ip-protocol source-port destination-port"
                in text.splitlines()), name


def test_render_is_deterministic(pd):
    loaded, fabric = pd
    dev = fabric.devices["spine3"]
    first = render_device(build_device_model(loaded, fabric, dev))
    second = render_device(build_device_model(loaded, fabric, dev))
    assert first == second
    assert list(first) == [CONFIG]


def test_no_secret_in_rendered_config(pd, monkeypatch):
    secret = "s3cr3t-Pa55w0rd-4a7f"
    monkeypatch.setenv("HPNCTL_PASSWORD", secret)
    monkeypatch.setenv("HPNCTL_USERNAME", "hpn-admin-user")
    loaded, fabric = pd
    for dev in fabric.switches():
        if dev.platform == "eos":
            text = render_device(build_device_model(loaded, fabric, dev))[CONFIG]
            assert secret not in text and "hpn-admin-user" not in text
            assert not re.search(r"^\s*(username|enable secret|enable password)\b", text, re.M)


@pytest.mark.parametrize("device", GOLDEN_DEVICES)
def test_golden(spines, device, golden):
    _, text = spines[device]
    golden(text, GOLDEN_DIR / device / CONFIG)


@pytest.mark.slow
def test_xl_eos_spines_and_super_spines_render():
    """Another shape: 3 tiers, BFD off.  Every EOS role renders; sections follow the model."""
    loaded = load_intent(INVENTORIES / "xl.yml")
    fabric = design(loaded)
    picked = {}
    for dev in fabric.switches():
        if dev.platform == "eos" and dev.role not in picked:
            picked[dev.role] = dev
    assert set(picked) == {"spine", "super-spine"}
    for dev in picked.values():
        model = build_device_model(loaded, fabric, dev)
        text = render_device(model)[CONFIG]
        h = _hconf(text)
        assert h.get_child(equals="qos profile HPN") is not None
        assert (h.get_child(equals="router bfd") is None) == (model["bgp"]["bfd"] is None)
        assert h.get_child(equals=f"router bgp {model['asn']}") is not None
        assert len(list(h.get_children(startswith="interface Ethernet"))) == len(model["interfaces"])
