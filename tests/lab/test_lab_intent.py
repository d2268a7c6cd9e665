"""Issue acceptance: `hpnctl lab up` on the small lab intent, through the CLI, for real.

Every node comes up, SSH to each management address works, the fabric's BGP
sessions reach Established, and every leaf has ECMP routes over all its spines
to every other leaf's loopback (read from the node's kernel routing table);
`hpnctl lab down` leaves nothing behind.

The intent is inventories/lab.yml with another fabric name and management pool,
so the test never collides with a lab a person has up.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hpnctl.lab import netns

REPO = Path(__file__).resolve().parents[2]
LAB = "labintent"
POOL = "172.29.170.0/24"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the netns lab needs root"),
    pytest.mark.skipif(not os.access(netns.FRRINIT, os.X_OK), reason="FRR is not installed"),
    pytest.mark.skipif(not os.access(netns.SSHD, os.X_OK), reason="openssh-server is not installed"),
]


def hpnctl(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpnctl.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=REPO)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("labintent")
    data = yaml.safe_load((REPO / "inventories" / "lab.yml").read_text())
    data["fabric"]["name"] = LAB
    data["management"]["pool"] = POOL
    intent = tmp / "lab.yml"
    intent.write_text(yaml.safe_dump(data))
    env = {**os.environ, "HPNCTL_STATE_DIR": str(tmp / "state")}
    up = hpnctl("lab", "up", str(intent), "--runtime", "netns", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        # `lab up` returns once BGP has converged: every switch row shows all its sessions Established
        counts = re.findall(r"(\d+)/(\d+) Established", up.stdout)
        assert len(counts) == 6 and all(a == b and a != "0" for a, b in counts), up.stdout
        yield intent, env, tmp / "state"
    finally:
        hpnctl("lab", "down", str(intent), "--runtime", "netns", env=env)


def _design(intent: Path):
    from hpnctl.design import design
    from hpnctl.intent import load_intent

    return design(load_intent(intent))


def _wait_established(intent: Path, env: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        st = json.loads(hpnctl("lab", "status", str(intent), "--format", "json", env=env).stdout)
        states = [s for n in st["nodes"] for s in n["bgp"].values()]
        if states and all(s == "Established" for s in states):
            return st
        if time.monotonic() > deadline:
            pytest.fail(f"BGP not Established after {timeout}s: {[(n['name'], n['bgp']) for n in st['nodes']]}")
        time.sleep(1)


def test_every_node_is_up_and_reachable_over_ssh(lab) -> None:
    intent, env, state = lab
    fabric = _design(intent)
    access = netns_access(env)
    for dev in fabric.devices.values():
        assert access["nodes"][dev.name] == dev.mgmt_ip, "lab mgmt address differs from the intent's"
        done = subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", access["key_file"], "-o", "IdentitiesOnly=yes",
             "-o", f"UserKnownHostsFile={access['known_hosts']}", "-o", "StrictHostKeyChecking=yes",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", f"{access['user']}@{dev.mgmt_ip}", "hostname"],
            capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == dev.name


def netns_access(env: dict) -> dict:
    old = os.environ.get("HPNCTL_STATE_DIR")
    os.environ["HPNCTL_STATE_DIR"] = env["HPNCTL_STATE_DIR"]
    try:
        return netns.lab_access(LAB)
    finally:
        if old is None:
            del os.environ["HPNCTL_STATE_DIR"]
        else:
            os.environ["HPNCTL_STATE_DIR"] = old


def test_bgp_established_and_leaves_have_ecmp_over_all_spines(lab) -> None:
    intent, env, _ = lab
    st = _wait_established(intent, env)
    fabric = _design(intent)
    leaves = [d for d in fabric.switches() if d.role == "leaf"]
    spines = [d for d in fabric.switches() if d.role == "spine"]
    sessions = {n["name"]: n["bgp"] for n in st["nodes"]}
    for leaf in leaves:  # every intended peer is Established, not just "some sessions"
        intended = {i.peer_ip for i in leaf.interfaces if i.kind == "uplink"}
        assert set(sessions[leaf.name]) == intended
    for leaf in leaves:
        uplink_peers = {i.peer_ip for i in leaf.interfaces if i.kind == "uplink"}
        assert len(uplink_peers) == len(spines)
        for other in leaves:
            if other is leaf:
                continue
            hops = _gateways(intent, env, leaf.name, other.loopback, want=len(spines))
            assert hops == uplink_peers, f"{leaf.name} → {other.name} {other.loopback}: next hops {hops}"


def _ip_json(intent: Path, env: dict, node: str, *args: str) -> list:
    done = hpnctl("lab", "exec", str(intent), node, "ip", "-j", *args, env=env)
    return json.loads(done.stdout or "[]")


def _gateways(intent: Path, env: dict, node: str, prefix: str, want: int, timeout: float = 30) -> set:
    """Next-hop gateways of a route in the node's kernel table, following FRR's kernel nexthop groups (nhid)."""
    deadline = time.monotonic() + timeout
    while True:
        routes = _ip_json(intent, env, node, "route", "show", f"{prefix}/32")
        hops: set = set()
        if routes:
            route = routes[0]
            if route.get("nexthops"):
                hops = {nh.get("gateway") for nh in route["nexthops"]}
            elif "nhid" in route:
                group = _ip_json(intent, env, node, "nexthop", "show", "id", str(route["nhid"]))[0]
                members = [m["id"] for m in group.get("group", [])] or [group["id"]]
                hops = {_ip_json(intent, env, node, "nexthop", "show", "id", str(m))[0].get("gateway") for m in members}
            else:
                hops = {route.get("gateway")}
        if len(hops) >= want or time.monotonic() > deadline:
            return hops
        time.sleep(1)


def test_down_leaves_nothing_behind(lab) -> None:
    intent, env, state = lab
    done = hpnctl("lab", "down", str(intent), "--runtime", "netns", env=env)
    assert done.returncode == 0, done.stderr
    assert not [ns for ns in os.listdir("/run/netns") if ns.startswith(f"clab-{LAB}-")]
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    assert not [lk["ifname"] for lk in links if lk.get("ifalias") == f"hpnctl-lab:{LAB}"]
    leftovers = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(state) in cmd:
                leftovers.append(cmd[:100])
    assert not leftovers, leftovers
