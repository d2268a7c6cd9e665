"""Smoke runs of the benchmark harnesses in bench/ on a tiny fabric (no timing is asserted).

Each harness runs end to end (subprocesses, measurement, equivalence check,
report) on a 6-switch fabric (one pod of 2 spines + 2 leaves, 2 super-spines) and
must find the two tools' outputs equivalent; then the equivalence check is shown
to catch a difference in each kind of content it claims to compare.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
from common import Shape, compare_content, eos_content, hpnctl_intent, write_yaml  # noqa: E402

TINY = ["--pod", "2,2,2", "--sizes", "6", "--runs", "1", "--no-save"]
CONFIG = "startup-config.cfg"


def _render_hpnctl(intent: Path, out: Path) -> None:
    from hpnctl.cli import load_and_design
    from hpnctl.render import render_fabric

    loaded, fabric = load_and_design(intent)
    render_fabric(loaded, fabric, out, jobs=1)


def _mutations() -> list[tuple[str, str, str]]:
    """(what, regex, replacement): one change per kind of compared content."""
    return [
        ("QoS tx-queue bandwidth", r"bandwidth percent 95", "bandwidth percent 90"),
        ("ECN threshold", r"minimum-threshold 256 kbytes", "minimum-threshold 128 kbytes"),
        ("DSCP map", r"qos map dscp 26 to traffic-class 3", "qos map dscp 26 to traffic-class 4"),
        ("PFC watchdog", r"watchdog default timeout 0.2", "watchdog default timeout 0.3"),
        ("interface MTU", r"mtu 9100", "mtu 1500"),
        ("interface address", r"ip address 10\.64\.0\.(\d+)/31", "ip address 10.65.0.\\1/31"),
        ("service profile", r"service-profile HPN", "service-profile OTHER"),
        ("BGP peer ASN", r"remote-as 4200000000", "remote-as 65000"),
        ("BGP router-id", r"router-id 10\.0\.0\.", "router-id 10.9.9."),
    ]


# ---------------------------------------------------------------- render vs AVD

import render_vs_avd  # noqa: E402  (imports pyavd only when it runs AVD)

needs_pyavd = pytest.mark.skipif(importlib.util.find_spec("pyavd") is None,
                                 reason="pyavd (test extra) is not installed: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def avd_pair(tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """hpnctl and AVD configs of the tiny fabric, rendered in-process."""
    work = tmp_path_factory.mktemp("avd")
    shape = Shape(pods=1, spines=2, leaves=2, super_spines=2)
    intent, inputs = render_vs_avd.prepare(shape, work)
    _render_hpnctl(intent, work / "hpnctl")
    stats = render_vs_avd.avd_worker(inputs, work / "avd", jobs=1, sample=None, seed=1)
    assert stats["devices"] == shape.n == 6
    return work / "hpnctl", work / "avd", [n.name for n in common.nodes(shape)]


@needs_pyavd
def test_avd_harness_end_to_end(capsys):
    assert render_vs_avd.main(TINY) == 0
    out = capsys.readouterr().out
    assert "content check on 6 devices" in out and "EQUAL" in out
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["6"])  # the summary row
    assert row[-1] == "equal" and row[-2].endswith("×"), out


@needs_pyavd
def test_avd_and_hpnctl_configs_are_equivalent(avd_pair):
    hpn, avd, names = avd_pair
    diffs = render_vs_avd.compare_outputs(hpn, avd, names)
    assert diffs == {n: [] for n in names}
    # Not vacuous: the compared content holds interfaces, neighbours and QoS lines.
    leaf = eos_content((avd / "leaf1.cfg").read_text())
    assert len(leaf["ethernet"]) == 2 and len(leaf["bgp"]["neighbors"]) == 2
    assert all(nb["far_end"] for nb in leaf["bgp"]["neighbors"].values())
    assert "  random-detect ecn minimum-threshold 256 kbytes maximum-threshold 1024 kbytes max-mark-probability 20" \
        in leaf["qos_profiles"]["HPN"]
    assert len(leaf["qos_maps"]) == 6 and len(leaf["pfc"]) == 4


@needs_pyavd
@pytest.mark.parametrize("what, pattern, repl", _mutations(), ids=[m[0] for m in _mutations()])
def test_avd_check_catches_a_difference(avd_pair, what, pattern, repl):
    hpn, avd, _ = avd_pair
    ours = (hpn / "spine1" / CONFIG).read_text()
    theirs = (avd / "spine1.cfg").read_text()
    changed = re.sub(pattern, repl, theirs, count=1)
    assert changed != theirs, f"mutation {what} did not apply"
    assert compare_content(eos_content(ours), eos_content(changed)), what


@needs_pyavd
def test_avd_check_catches_a_missing_neighbour_or_interface(avd_pair):
    hpn, avd, _ = avd_pair
    ours = eos_content((hpn / "leaf2" / CONFIG).read_text())
    text = (avd / "leaf2.cfg").read_text()
    no_neighbour = "\n".join(line for line in text.splitlines() if "remote-as 4200000001" not in line)
    assert any("neighbors" in d for d in compare_content(ours, eos_content(no_neighbour)))
    no_interface = text.replace("interface Ethernet2/1", "interface Ethernet9/1")
    assert any("Ethernet9/1" in d for d in compare_content(ours, eos_content(no_interface)))


@needs_pyavd
def test_avd_check_catches_a_neighbour_on_the_wrong_end(avd_pair):
    """Addresses are compared as /31s, so a neighbour pointing at this device's own end must still fail."""
    hpn, avd, _ = avd_pair
    ours = eos_content((hpn / "leaf1" / CONFIG).read_text())
    text = (avd / "leaf1.cfg").read_text()
    own = re.search(r"interface Ethernet1/1\n(?:   .*\n)*?   ip address (\S+)/31", text)[1]
    peer = re.search(r"neighbor (\S+) remote-as", text)[1]
    assert own != peer
    wrong = text.replace(f"neighbor {peer} ", f"neighbor {own} ")
    assert any("far_end" in d for d in compare_content(ours, eos_content(wrong)))


# ---------------------------------------------------------------- render vs netlab

import render_vs_netlab  # noqa: E402

netlab_missing = pytest.mark.skipif(render_vs_netlab.find_netlab() is None,
                                    reason="netlab is not installed (python -m venv /opt/netlab-venv && "
                                           "/opt/netlab-venv/bin/pip install networklab)")


@netlab_missing
def test_netlab_harness_end_to_end(capsys):
    assert render_vs_netlab.main(TINY) == 0
    out = capsys.readouterr().out
    assert "routing content check on 6 devices" in out and "EQUAL" in out


def test_netlab_topology_has_the_fabric():
    shape = Shape(pods=1, spines=2, leaves=2, super_spines=2)
    topo = render_vs_netlab.netlab_topology(shape)
    assert list(topo["nodes"]) == ["ss1", "ss2", "spine1", "spine2", "leaf1", "leaf2"]
    # The order hpnctl numbers links in (so the /31s match): leaf→spine, then spine→super-spine.
    assert topo["links"] == ["leaf1-spine1", "leaf1-spine2", "leaf2-spine1", "leaf2-spine2",
                             "spine1-ss1", "spine1-ss2", "spine2-ss1", "spine2-ss2"]
    assert topo["nodes"]["leaf2"] == {"id": 6, "bgp": {"as": 4200000003}}


def test_netlab_routing_check_catches_a_difference(tmp_path):
    """A netlab-style config equal to hpnctl's routing content, then one change at a time."""
    shape = Shape(pods=1, spines=2, leaves=2, super_spines=2)
    intent = write_yaml(tmp_path / "intent.yml", hpnctl_intent(shape, qos=common.BEST_EFFORT_QOS))
    _render_hpnctl(intent, tmp_path / "hpnctl")
    ours = render_vs_netlab.routing_content((tmp_path / "hpnctl" / "leaf1" / CONFIG).read_text())
    netlab_style = "\n".join([
        "hostname leaf1", "interface defaults", " mtu 9100",
        "interface Loopback0", " ip address 10.0.0.5/32",
        "interface Ethernet1/1", " no switchport", " description leaf1 -> spine1 [external]", " ip address 10.64.0.0/31",
        "interface Ethernet2/1", " no switchport", " description leaf1 -> spine2 [external]", " ip address 10.64.0.2/31",
        "router bgp 4200000002", "  router-id 10.0.0.5",
        "  neighbor 10.64.0.1 remote-as 4200000001", "  neighbor 10.64.0.1 description spine1",
        "  neighbor 10.64.0.3 remote-as 4200000001", "  neighbor 10.64.0.3 description spine2",
        " address-family ipv4", "  network 10.0.0.5/32", ""])
    # netlab indents by one space; eos_tree only needs consistent nesting.
    assert compare_content(ours, render_vs_netlab.routing_content(netlab_style)) == []
    for old, new in (("mtu 9100", "mtu 1500"), ("-> spine2", "-> spine1"), ("10.64.0.2/31", "10.64.0.4/31"),
                     ("remote-as 4200000001", "remote-as 1"), ("network 10.0.0.5/32", "network 10.0.0.6/32")):
        assert compare_content(ours, render_vs_netlab.routing_content(netlab_style.replace(old, new, 1))), old


# ---------------------------------------------------------------- scaling

import scaling  # noqa: E402


def test_scaling_harness_end_to_end(capsys):
    assert scaling.main([*TINY, "--platforms", "eos,sonic"]) == 0
    out = capsys.readouterr().out
    assert out.count("= the 1 changed") == 2, out


def test_scaling_diff_finds_exactly_the_changed_devices(tmp_path):
    shape = Shape(pods=1, spines=2, leaves=2, super_spines=2)
    intent = write_yaml(tmp_path / "intent.yml", hpnctl_intent(shape))
    _render_hpnctl(intent, tmp_path / "render")
    use_cli = scaling.has_diff_command()
    for fraction, expected_count in ((0.5, 3), (0.0, 1)):  # at least one device always changes
        changed = scaling.make_snapshot(tmp_path / "render", tmp_path / "snap", fraction, seed=2)
        assert len(changed) == expected_count
        run = scaling.run_diff(intent, tmp_path / "snap", use_cli)()
        assert run.returncode == 0, run.stderr
        assert scaling.changed_devices(run.stdout, use_cli) == changed
    # An unchanged snapshot: nothing found.
    import shutil

    shutil.rmtree(tmp_path / "snap")
    shutil.copytree(tmp_path / "render", tmp_path / "snap")
    run = scaling.run_diff(intent, tmp_path / "snap", use_cli)()
    assert scaling.changed_devices(run.stdout, use_cli) == []
