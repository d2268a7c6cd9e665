"""The netns lab runtime, for real: namespaces, FRR, sshd, BGP, ECMP, idempotent up, clean down.

Needs root, FRR and OpenSSH (skipped with the reason otherwise).  The fixture lab
(tests/lab/fixtures/fabric) is 2 spines, 2 leaves and a host on 172.29.201.0/24.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from hpnctl.errors import LabError
from hpnctl.lab import netns
from hpnctl.lab.labfiles import load_topology

FABRIC = Path(__file__).parent / "fixtures" / "fabric"
TOPOLOGY = FABRIC / "fabric.clab.yml"
LAB = "hpt"
NODES = ("spine1", "spine2", "leaf1", "leaf2", "host1")
SWITCHES = ("spine1", "spine2", "leaf1", "leaf2")

needs_lab = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the netns runtime needs root"),
    pytest.mark.skipif(not os.access(netns.FRRINIT, os.X_OK), reason="FRR is not installed"),
    pytest.mark.skipif(not os.access(netns.SSHD, os.X_OK), reason="openssh-server is not installed"),
]


# --------------------------------------------------------------------------- helpers

def lab_netns() -> set[str]:
    return {ns for ns in os.listdir("/run/netns") if ns.startswith(f"clab-{LAB}-")} \
        if os.path.isdir("/run/netns") else set()


def host_links() -> list[dict]:
    return json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True,
                                     check=True).stdout)


def lab_pids() -> set[int]:
    """Every live process inside one of the lab's network namespaces."""
    inodes = {os.stat(f"/run/netns/{ns}").st_ino for ns in lab_netns()}
    pids = set()
    for pid in netns._pids():
        if netns._inode(f"/proc/{pid}/ns/net") in inodes and netns._alive(pid):
            pids.add(pid)
    return pids


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in netns._pids():
        cmdline = netns._cmdline(pid).replace(b"\0", b" ").decode(errors="replace")
        if text in cmdline and pid != os.getpid():
            found.append(f"{pid}: {cmdline[:120]}")
    return found


def ssh(access: dict, node: str, command: str, known_hosts: str | None = None) -> subprocess.CompletedProcess:
    """OpenSSH from the host with the lab key and strict host key checking against the lab's known_hosts."""
    argv = ["ssh", "-F", "/dev/null", "-i", access["key_file"], "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={known_hosts or access['known_hosts']}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            f"{access['user']}@{access['nodes'][node]}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def assert_nothing_left(state: Path) -> None:
    assert lab_netns() == set(), "namespaces left behind"
    names = {link["ifname"] for link in host_links()}
    marked = [link["ifname"] for link in host_links() if link.get("ifalias") == f"hpnctl-lab:{LAB}"]
    assert marked == [], "links marked as the lab's left behind"
    assert "hpt-mgmt" not in names, "mgmt bridge left behind"
    assert not names & {netns.host_veth_name(LAB, n) for n in NODES}, "mgmt veths left behind"
    assert processes_mentioning(str(state)) == [], "processes of the lab left behind"
    assert not (state / "labs" / LAB).exists()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hpnctl-state")
    old = os.environ.get("HPNCTL_STATE_DIR")
    os.environ["HPNCTL_STATE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HPNCTL_STATE_DIR", None)
    else:
        os.environ["HPNCTL_STATE_DIR"] = old


@pytest.fixture(scope="module")
def lab(state):
    """The fixture lab, up; always brought down at the end, whatever happened."""
    messages: list[str] = []
    try:
        status = netns.up(TOPOLOGY, progress=messages.append)
        yield status, messages
    finally:
        netns.down(LAB)


# --------------------------------------------------------------------------- topology file checks (no root)

def test_topology_problems_are_collected(tmp_path):
    bad = tmp_path / "bad.clab.yml"
    bad.write_text("""
name: bad
mgmt: {network: x, ipv4-subnet: 10.9.0.0/24}
topology:
  nodes:
    a: {kind: linux, mgmt-ipv4: 10.8.0.5}
    b: {kind: linux, binds: ["nope/frr.conf:/etc/frr/frr.conf"]}
  links:
    - endpoints: ["a:eth1", "c:eth1"]
    - endpoints: ["a:eth1", "b:eth0"]
""")
    with pytest.raises(LabError) as err:
        load_topology(bad)
    text = str(err.value)
    for expected in ("mgmt-ipv4: 10.8.0.5 is not a host address of 10.9.0.0/24",
                     "nope/frr.conf does not exist", "unknown node 'c'",
                     "a:eth1 is used by another link", "interface 'eth0' is invalid"):
        assert expected in text


def test_topology_defaults_and_assigned_addresses(tmp_path):
    topo_file = tmp_path / "t.clab.yml"
    topo_file.write_text("name: t\ntopology:\n  nodes:\n    a: {kind: linux}\n"
                         "    b: {kind: linux, mgmt-ipv4: 172.20.20.2}\n"
                         "  links:\n    - endpoints: [a:eth1, b:eth1]\n")
    topo = load_topology(topo_file)
    mgmt = (topo.mgmt_network, str(topo.mgmt_subnet), str(topo.mgmt_gateway))
    assert mgmt == ("clab", "172.20.20.0/24", "172.20.20.1")
    assert topo.nodes["a"].mgmt_ipv4 == "172.20.20.3"  # .1 is the gateway, .2 is taken by b
    assert topo.links[0].mtu == 9100 and topo.node_ns("a") == "clab-t-a"


def test_names_are_short_and_stable():
    assert netns.bridge_name("hpnctl-lab") == "hpnctl-lab"
    long = netns.bridge_name("a-management-network-name")
    assert len(long) <= 15 and long == netns.bridge_name("a-management-network-name")
    veth = netns.host_veth_name("a-very-long-lab-name", "a-very-long-node-name")
    assert len(veth) <= 15 and veth == netns.host_veth_name("a-very-long-lab-name", "a-very-long-node-name")
    assert veth != netns.host_veth_name("a-very-long-lab-name", "another-node")


def test_not_root_is_refused(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match=r"needs root \(it creates network namespaces\).*--runtime containerlab"):
        netns.up(TOPOLOGY)


def test_other_kinds_are_sent_to_containerlab(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # refused before anything is created
    topo = tmp_path / "srl.clab.yml"
    topo.write_text("name: s\ntopology:\n  nodes:\n    leaf1: {kind: nokia_srlinux}\n")
    with pytest.raises(LabError, match=r"only runs kind `linux`.*containerlab for: leaf1 \(nokia_srlinux\)"):
        netns.up(topo)


def test_parse_bgp_summary():
    text = json.dumps({"ipv4Unicast": {"peers": {"10.2.0.0": {"state": "Established"}}},
                       "ipv6Unicast": {"peers": {"eth1": {"state": "Connect"}}}})
    assert netns.parse_bgp_summary(text) == {"10.2.0.0": "Established", "eth1": "Connect"}
    assert netns.parse_bgp_summary("% BGP instance not found") == {}


# --------------------------------------------------------------------------- the running lab

@pytest.mark.usefixtures("lab")
class TestRunningLab:
    pytestmark = needs_lab

    def test_namespaces_and_progress(self, lab):
        status, messages = lab
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        for node in NODES:
            assert f"clab-{LAB}-{node}" in listed
            assert f"{node}: ready" in messages
        assert {n.name for n in status.nodes} == set(NODES)
        assert all(n.running and n.ok for n in status.nodes), status.nodes

    def test_ssh_hostname_with_lab_key_and_known_hosts(self, lab):
        access = netns.lab_access(LAB)
        for node in NODES:
            done = ssh(access, node, "hostname")
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == node
        # the host config written for drivers works too
        done = subprocess.run(["ssh", "-F", access["ssh_config"], "leaf2", "cat /etc/hostname"],
                              capture_output=True, text=True, timeout=30)
        assert done.stdout.strip() == "leaf2", done.stderr

    def test_host_keys_are_per_node_and_checked(self, lab, tmp_path):
        access = netns.lab_access(LAB)
        lines = Path(access["known_hosts"]).read_text().splitlines()
        leaf1_key = next(line for line in lines if ",leaf1," in line).split(" ", 1)[1]
        wrong = tmp_path / "known_hosts"
        wrong.write_text(f"{access['nodes']['spine1']} {leaf1_key}\n")
        done = ssh(access, "spine1", "true", known_hosts=str(wrong))
        assert done.returncode == 255 and "Host key verification failed" in done.stderr

    def test_node_sees_its_own_frr_config(self, lab):
        access = netns.lab_access(LAB)
        for node in SWITCHES:
            done = ssh(access, node, "cat /etc/frr/frr.conf")
            assert done.stdout == (FABRIC / node / "frr.conf").read_text()

    def test_bgp_established(self, lab):
        status = wait_for(lambda: (s := netns.status(LAB)).bgp_established and s, 40, "BGP Established")
        sessions = {n.name: len(n.bgp) for n in status.nodes}
        assert sessions == {"spine1": 2, "spine2": 2, "leaf1": 2, "leaf2": 2, "host1": 0}
        assert all(n.rss_kib > 0 for n in status.nodes)

    def test_vtysh_and_frr_reload_over_ssh(self, lab):
        access = netns.lab_access(LAB)
        done = ssh(access, "leaf1", "vtysh -c 'show bgp summary' && "
                                    "/usr/lib/frr/frr-reload.py --reload /etc/frr/frr.conf && echo RELOADED")
        assert done.returncode == 0, done.stderr
        assert "10.2.0.0" in done.stdout and "RELOADED" in done.stdout

    def test_leaf_has_ecmp_to_the_other_leaf(self, lab):
        def nexthops():
            out = netns.exec_in(LAB, "leaf1", ["ip", "-j", "route", "show", "10.0.0.12/32"]).stdout
            routes = json.loads(out or "[]")
            hops = routes[0].get("nexthops", []) if routes else []
            return {(h["gateway"], h["dev"]) for h in hops} if len(hops) > 1 else None
        assert wait_for(nexthops, 30, "ECMP route") == {("10.2.0.0", "eth1"), ("10.2.0.4", "eth2")}
        assert netns.exec_in(LAB, "leaf1", ["sysctl", "-n", "net.ipv4.fib_multipath_hash_policy"]).stdout.strip() == "1"

    def test_host_reaches_the_other_leaf_through_the_fabric(self, lab):
        wait_for(lambda: netns.exec_in(LAB, "host1", ["ping", "-c", "1", "-W", "1", "10.0.0.12"]).returncode == 0,
                 30, "host1 -> leaf2 loopback")

    def test_node_etc_is_private(self, lab):
        # bound by the topology to a path that does not exist on the host, then applied by `exec`
        assert netns.exec_in(LAB, "leaf2", ["sysctl", "-n", "net.ipv4.tcp_ecn"]).stdout.strip() == "1"
        assert not Path("/etc/sysctl.d/90-hpnctl.conf").exists()
        keys = netns.exec_in(LAB, "spine1", ["ls", "/etc/ssh"]).stdout.split()
        assert "ssh_host_ed25519_key" in keys and "ssh_host_rsa_key" not in keys  # not the host's keys
        links = json.loads(netns.exec_in(LAB, "spine1", ["ip", "-j", "link", "show", "eth1"]).stdout)
        assert links[0]["mtu"] == 9100

    def test_exec_in_unknown_node(self, lab):
        with pytest.raises(LabError, match="has no node 'nope'"):
            netns.exec_in(LAB, "nope", ["true"])

    def test_up_again_is_idempotent(self, lab):
        before_ns, before_pids = lab_netns(), lab_pids()
        before_links = {n: netns.exec_in(LAB, n, ["ip", "-o", "link"]).stdout.count("\n") for n in NODES}
        messages: list[str] = []
        netns.up(TOPOLOGY, progress=messages.append)
        assert lab_netns() == before_ns
        assert lab_pids() == before_pids
        assert {n: netns.exec_in(LAB, n, ["ip", "-o", "link"]).stdout.count("\n") for n in NODES} == before_links
        assert not [m for m in messages if "starting" in m or "exec" in m]

    def test_down_leaves_nothing(self, lab, state):
        netns.down(LAB)
        assert_nothing_left(state)
        netns.down(LAB)  # and again: nothing to do is not an error


# --------------------------------------------------------------------------- crashes

@pytest.mark.usefixtures("state")
class TestCrashes:
    pytestmark = needs_lab

    def test_down_after_killed_processes_and_lost_state(self, state):
        try:
            netns.up(TOPOLOGY)
            saved = json.loads((state / "labs" / LAB / "state.json").read_text())
            os.kill(saved["nodes"]["spine1"]["init_pid"], 9)  # a whole node dies
            table = netns._process_table()
            for proc in netns._node_procs(saved["nodes"]["leaf1"]["init_pid"], table):
                if proc.comm in ("bgpd", "sshd", "watchfrr"):
                    os.kill(proc.pid, 9)
            (state / "labs" / LAB / "state.json").unlink()  # and the state is gone
            (state / "labs" / LAB / "topology.clab.yml").unlink()
            netns.down(LAB)
            assert_nothing_left(state)
        finally:
            netns.down(LAB)

    def test_down_after_up_failed_half_way(self, state, monkeypatch):
        def crash(*_args):
            raise RuntimeError("simulated crash after links and mgmt were created")
        monkeypatch.setattr(netns, "_start_services", crash)
        try:
            with pytest.raises(RuntimeError, match="simulated crash"):
                netns.up(TOPOLOGY)
            assert lab_netns() and lab_pids()  # half a lab exists
            netns.down(TOPOLOGY)  # by topology file this time
            assert_nothing_left(state)
        finally:
            netns.down(LAB)
