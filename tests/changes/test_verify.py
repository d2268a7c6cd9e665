"""Verify: expectations from the fabric, judges on outputs recorded from the netns lab (leaf1, spine1 of lab.yml)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hpnctl.drivers.base import DeviceDiff
from hpnctl.drivers.linux import parse_collect
from hpnctl.errors import PlatformError
from hpnctl.model import build_device_model
from hpnctl.verify.checks import (CHECKS, bgp_peers, judge_bgp, judge_ecmp, judge_ecn_linux, judge_hash_linux,
                                  judge_interfaces_linux, judge_qos_linux, parse_htb_classes, parse_u32_dscp, rate_mbit,
                                  _route_nexthops_linux, _route_nexthops_eos, _route_nexthops_frr)
from hpnctl.verify.expect import build_expectations, expected_ecmp
from hpnctl.verify.run import Health, post_check, run_checks, verify_device

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab():
    from hpnctl.cli import load_and_design

    loaded, fabric = load_and_design(REPO / "inventories" / "lab.yml")
    models = {n: build_device_model(loaded, fabric, fabric.devices[n]) for n in ("leaf1", "spine1")}
    return fabric, build_expectations(fabric, models)


def recorded(device: str, check: str) -> Any:
    return parse_collect(check, (DATA / f"lab-{device}" / f"{check}.out").read_text())


# --------------------------------------------------------------------------- expectations

def test_ecmp_expectation_follows_bgp_loop_prevention(lab) -> None:
    fabric, _ = lab
    exp = expected_ecmp(fabric, [d.name for d in fabric.switches()])
    lo = {d.name: d.loopback for d in fabric.switches()}
    assert exp["leaf1"][lo["leaf2"]] == ("leaf2", 2)  # via both spines
    assert exp["leaf1"][lo["spine1"]] == ("spine1", 1)
    assert exp["spine1"][lo["leaf3"]] == ("leaf3", 1)
    # spines share an AS: a spine rejects the other spine's loopback learned through a leaf
    assert lo["spine2"] not in exp["spine1"]


def test_expectation_peers_and_unsupported(lab) -> None:
    _, exps = lab
    leaf1 = exps["leaf1"]
    assert leaf1.peers == {"10.1.0.1": 65000, "10.1.0.3": 65000}
    assert "pfc" in leaf1.unsupported and "Priority Flow Control" in leaf1.unsupported["pfc"]
    assert set(leaf1.interfaces) == {"eth1", "eth2", "eth3"}


# --------------------------------------------------------------------------- judges on recorded outputs

@pytest.mark.parametrize("device", ["leaf1", "spine1"])
def test_recorded_lab_outputs_pass(lab, device: str) -> None:
    _, exps = lab
    exp = exps[device]
    assert [f.status for f in judge_bgp(recorded(device, "bgp_summary"), exp)] == ["pass"]
    assert [f.status for f in judge_ecmp(_route_nexthops_linux)(recorded(device, "ecmp_routes"), exp)] == ["pass"]
    assert [f.status for f in judge_hash_linux(recorded(device, "hash"), exp)] == ["pass"]
    assert [f.status for f in judge_interfaces_linux(recorded(device, "interfaces"), exp)] == ["pass", "skip"]
    assert [f.status for f in judge_qos_linux(recorded(device, "qos_profile"), exp)] == ["pass"]
    # this kernel has no sch_red: qos.sh's bfifo fallback is a warning, not a failure
    ecn = judge_ecn_linux(recorded(device, "qos_profile"), exp)
    assert [f.status for f in ecn] == ["pass", "warn"] and "not enforced by this kernel" in ecn[1].message


def test_bgp_judge_failures(lab) -> None:
    _, exps = lab
    data = recorded("leaf1", "bgp_summary")
    peers = data["ipv4Unicast"]["peers"]
    peers["10.1.0.1"]["state"] = "Active"
    peers["10.9.9.9"] = {"state": "Established", "remoteAs": 65099}
    del peers["10.1.0.3"]
    messages = [f.message for f in judge_bgp(data, exps["leaf1"]) if f.status == "fail"]
    assert messages == ["peer 10.1.0.1 (AS 65000): Active", "peer 10.1.0.3 (AS 65000): not configured",
                        "peer 10.9.9.9: not in the intent (Established)"]


def test_ecmp_judge_counts_next_hops(lab) -> None:
    _, exps = lab
    routes = recorded("leaf1", "ecmp_routes")
    for r in routes:
        if r.get("dst") == "10.0.0.4":
            r["nexthops"] = r["nexthops"][:1]
    fails = [f.message for f in judge_ecmp(_route_nexthops_linux)(routes, exps["leaf1"]) if f.status == "fail"]
    assert fails == ["10.0.0.4 (leaf2): 1 next hop(s), expected 2"]


def test_qos_judge_catches_rate_limit_and_filter(lab) -> None:
    _, exps = lab
    data = recorded("leaf1", "qos_profile")
    data["classes"]["eth1"] = data["classes"]["eth1"].replace("leaf 13: prio 1 rate 60Gbit", "leaf 13: prio 1 rate 50Gbit")
    for q in data["qdiscs"]:
        if q.get("dev") == "eth2" and q.get("parent") == "1:14":
            q["options"]["limit"] = 1000
    data["filters"]["eth3"] = data["filters"]["eth3"].replace("flowid 1:14", "flowid 1:10")
    fails = [f.message for f in judge_qos_linux(data, exps["leaf1"]) if f.status == "fail"]
    assert any("eth1 1:13 (allreduce): rate 50000.0 Mb/s, intended 60000 Mb/s" in m for m in fails), fails
    assert any(m.startswith("eth2 1:14 (alltoall): queue limit 1000 B") for m in fails), fails
    assert any(m.startswith("eth3: DSCP 34 → 1:10, intended 1:14") for m in fails), fails


def test_ecn_judge_red_with_ecn_passes_and_marking_where_off_fails(lab) -> None:
    _, exps = lab
    data = recorded("leaf1", "qos_profile")
    for q in data["qdiscs"]:
        if q.get("parent") == "1:13":
            q["kind"], q["options"] = "red", {"limit": q["options"]["limit"], "ecn": True}
        if q.get("parent") == "1:14" and q.get("dev") == "eth1":  # alltoall: ECN off
            q["kind"], q["options"] = "red", {"limit": 1, "ecn": True}
    results = judge_ecn_linux(data, exps["leaf1"])
    assert [f.status for f in results] == ["fail"]
    assert "ECN intended off, but the queue marks" in results[0].message


def test_interface_judge(lab) -> None:
    _, exps = lab
    data = recorded("leaf1", "interfaces")
    for link in data["links"]:
        if link["ifname"] == "eth2":
            link["mtu"] = 1500
        if link["ifname"] == "eth3":
            link["operstate"] = "LOWERLAYERDOWN"
    fails = [f.message for f in judge_interfaces_linux(data, exps["leaf1"]) if f.status == "fail"]
    assert fails == ["eth2: MTU 1500, intended 9100", "eth3: LOWERLAYERDOWN"]


def test_hash_judge(lab) -> None:
    _, exps = lab
    fails = judge_hash_linux({"policy": 1, "fields": 3}, exps["leaf1"])
    assert [f.status for f in fails] == ["fail", "fail"]


def test_parsers() -> None:
    assert rate_mbit("60Gbit") == 60000 and rate_mbit("500Kbit") == 0.5 and rate_mbit("?") is None
    classes = parse_htb_classes("class htb 1:13 parent 1:1 leaf 13: prio 1 rate 60Gbit ceil 100Gbit burst 0b\n"
                                "class htb 1:1 root rate 100Gbit ceil 100Gbit burst 0b\n")
    assert classes["1:13"] == {"parent": "1:1", "prio": 1, "rate_mbit": 60000, "ceil_mbit": 100000}
    assert classes["1:1"]["prio"] is None
    text = ("filter parent 1: protocol ip pref 10 u32 chain 0 fh 800::800 order 2048 key ht 800 bkt 0 *flowid 1:13\n"
            "  match 00680000/00fc0000 at 0\n")
    assert parse_u32_dscp(text) == {26: "1:13"}


def test_vendor_output_shapes() -> None:
    eos = {"vrfs": {"default": {"peers": {"10.0.0.1": {"peerState": "Established", "asn": "65000"}}}}}
    assert bgp_peers(eos) == {"10.0.0.1": ("Established", 65000)}
    nvue = {"10.0.0.1": {"state": "established", "remote-as": 65000}}
    assert bgp_peers(nvue) == {"10.0.0.1": ("Established", 65000)}
    srl = [{"peer-address": "10.0.0.1", "session-state": "established", "peer-as": 65000}]
    assert bgp_peers(srl) == {"10.0.0.1": ("Established", 65000)}
    assert _route_nexthops_eos({"vrfs": {"default": {"routes": {"10.0.0.4/32": {"vias": [{}, {}]}}}}}) == {"10.0.0.4": 2}
    frr = {"10.0.0.4/32": [{"selected": True, "nexthops": [{"active": True}, {"active": True}, {"active": False}]}]}
    assert _route_nexthops_frr(frr) == {"10.0.0.4": 2}


def test_every_platform_declares_the_core_checks() -> None:
    for platform, checks in CHECKS.items():
        names = {c.name for c in checks}
        assert {"bgp", "ecmp", "interfaces", "qos", "pfc", "adaptive-routing"} <= names, platform


# --------------------------------------------------------------------------- run_checks / verify_device / post_check

class RecordedDriver:
    """Answers collect() from the recorded files; compliance diff configurable."""

    def __init__(self, device: str, drift: bool = False, idle_after: int | None = None):
        self.device = device
        self.drift = drift
        self.collects: list[str] = []
        self.idle_after = idle_after

    def get_running(self) -> dict:
        return {}

    def load_candidate(self, files: dict, mode: str = "replace") -> None:
        pass

    def diff(self) -> DeviceDiff:
        return DeviceDiff(self.device, self.drift, text="Lines To Add\nrouter bgp 1\n maximum-paths 16" if self.drift else "")

    def discard(self) -> None:
        pass

    def collect(self, check: str) -> Any:
        self.collects.append(check)
        if check in ("pfc", "dlb"):
            raise PlatformError("linux: unsupported")
        data = recorded(self.device, check)
        if check == "bgp_summary" and self.idle_after is not None and len(self.collects) > self.idle_after:
            for p in data["ipv4Unicast"]["peers"].values():
                p["state"] = "Idle"
        return data


def test_run_checks_collects_each_output_once_and_skips_with_reasons(lab) -> None:
    _, exps = lab
    driver = RecordedDriver("leaf1")
    results = {r.name: r for r in run_checks(driver, exps["leaf1"])}
    assert sorted(driver.collects) == sorted(["bgp_summary", "ecmp_routes", "hash", "interfaces", "qos_profile"])
    assert results["pfc"].status == "skip" and "Priority Flow Control" in results["pfc"].findings[0].message
    assert results["adaptive-routing"].status == "skip"
    assert results["interfaces"].status == "pass"  # a skipped detail (veth speed) does not hide the pass
    assert results["ecn"].status == "warn"


def test_verify_device_reports_drift(lab) -> None:
    _, exps = lab
    ok = verify_device(RecordedDriver("leaf1"), exps["leaf1"], {})
    assert ok.status == "pass" and ok.compliant
    drifted = verify_device(RecordedDriver("leaf1", drift=True), exps["leaf1"], {})
    assert drifted.status == "fail" and drifted.compliant is False
    assert json.loads(json.dumps(drifted.as_dict()))["drift"]["text"].startswith("Lines To Add")


def test_post_check_detects_lost_sessions(lab) -> None:
    _, exps = lab
    before = Health({"10.1.0.1": "Established", "10.1.0.3": "Established"}, {"eth1", "eth2", "eth3"})
    assert post_check(RecordedDriver("leaf1"), exps["leaf1"], before, timeout_s=0) == []
    problems = post_check(RecordedDriver("leaf1", idle_after=0), exps["leaf1"], before, timeout_s=0)
    assert problems == ["BGP peer 10.1.0.1: Idle (was Established)", "BGP peer 10.1.0.3: Idle (was Established)"]
