"""On the built-in netns lab: host1 sends as "alltoall" and as "allreduce" with the ToS of its rendered
nccl.env; tcpdump on host1's NIC shows the DSCP leaving the host, and the HTB class counters of the
host (kernel-qos.sh) and of leaf1's uplink (qos.sh, class 1:1<queue>) show where the packets landed.

The lab (tests/hosts/lab_intent.yml): fabric `hostmark`, management 172.29.150.0/24, so it never collides
with the built-in lab.  It is always torn down, also when the test fails.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from hosts_helpers import HERE

from hpnctl.builders.linux import class_id
from hpnctl.design import design
from hpnctl.errors import LabError
from hpnctl.hosts.design import plan_hosts
from hpnctl.hosts.lab import apply_to_lab_node
from hpnctl.hosts.model import build_host_model
from hpnctl.hosts.render import render_host
from hpnctl.intent import load_intent

pytestmark = pytest.mark.lab

INTENT = HERE / "lab_intent.yml"
COUNT = 40  # packets per class
SENDER = r"""
import socket, sys, time
env = dict(l.split("=", 1) for l in open("/etc/hpnctl/nccl.env").read().splitlines() if l and not l.startswith("#"))
tos = int(env[sys.argv[1]])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
for _ in range(int(sys.argv[4])):
    s.sendto(b"x" * 1000, (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.002)
print(tos)
"""
# tcpdump -v: "IP (tos 0x88, ttl 64, ...)\n    10.2.0.1.4711 > 10.2.0.3.40004: UDP, length 1000"
PACKET = re.compile(r"IP \(tos (0x[0-9a-f]+)[^\n]*\n\s+\S+ > \S+\.(\d+): UDP")
HTB_SENT = re.compile(r"class htb (\S+) .*?\n\s*Sent (\d+) bytes (\d+) pkt", re.S)


def _runtime():
    if os.geteuid() != 0:
        pytest.skip("the netns lab runtime needs root")
    missing = [t for t in ("tcpdump", "tc", "nsenter") if not shutil.which(t)]
    if missing or not os.access("/usr/lib/frr/frrinit.sh", os.X_OK):
        pytest.skip(f"missing on this host: {', '.join(missing) or 'FRR (/usr/lib/frr/frrinit.sh)'}")
    try:
        from hpnctl.lab.runtime import get_runtime

        return get_runtime("netns")
    except (ImportError, LabError) as exc:
        pytest.skip(f"netns lab runtime unavailable: {exc}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    rt = _runtime()
    from hpnctl.lab.topology import build_topology

    loaded = load_intent(INTENT)
    fabric = design(loaded)
    topo = build_topology(loaded, fabric, tmp_path_factory.mktemp("hostmark"))
    try:
        rt.up(topo.path)
        plan = plan_hosts(loaded, fabric)
        ran = {}
        for host in ("host1", "host2"):
            files = render_host(build_host_model(loaded, fabric, plan, fabric.devices[host]))
            ran[host] = apply_to_lab_node(rt, topo.name, host, files)
        yield rt, topo.name, fabric, plan, ran
    finally:
        rt.down(topo.name)


def _exec(rt, lab: str, node: str, *argv: str, check: bool = True):
    done = rt.exec_in(lab, node, list(argv))
    if check:
        assert done.returncode == 0, f"{node}: {' '.join(argv)}: {done.stderr or done.stdout}"
    return done


def _counters(rt, lab: str, node: str, dev: str) -> dict[str, int]:
    text = _exec(rt, lab, node, "tc", "-s", "class", "show", "dev", dev).stdout
    return {cls: int(pkts) for cls, _, pkts in HTB_SENT.findall(text)}


def _wait_reachable(rt, lab: str, src: str, dst_ip: str, timeout: float = 60) -> None:
    """BGP has to converge before host1 reaches host2 across leaf1 → spine1 → leaf2."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exec(rt, lab, src, "ping", "-c1", "-W1", dst_ip, check=False).returncode == 0:
            return
        time.sleep(1)
    pytest.fail(f"{src} cannot reach {dst_ip} within {timeout:.0f}s (BGP not converged?)")


def test_host_nodes_got_their_namespace_parts(lab) -> None:
    rt, name, _, _, ran = lab
    assert ran == {"host1": ["kernel-qos.sh"], "host2": ["kernel-qos.sh"]}
    listing = _exec(rt, name, "host1", "ls", "/etc/hpnctl").stdout.split()
    assert sorted(listing) == ["collectives.json", "kernel-qos.sh", "nccl.env", "nic-qos.sh"]


def test_alltoall_and_allreduce_leave_the_host_marked_and_land_in_their_classes(lab) -> None:
    rt, name, fabric, plan, _ = lab
    host1, host2 = fabric.devices["host1"], fabric.devices["host2"]
    dst = host2.interfaces[0].ip.split("/")[0]
    nic = host1.interfaces[0].name
    leaf1 = fabric.devices["leaf1"]
    uplink = next(i.name for i in leaf1.interfaces if i.kind == "uplink")
    qos = plan.nics["compute"].qos
    queue = {c.name: c.queue for c in qos.classes}
    _wait_reachable(rt, name, "host1", dst)

    # Senders: "alltoall" marks like NVSHMEM/DeepEP, "allreduce" like NCCL, both from the rendered nccl.env.
    senders = {"alltoall": ("NVSHMEM_IB_TRAFFIC_CLASS", "40004"), "allreduce": ("NCCL_IB_TC", "40003")}
    expected_tos = {cls: plan.markings[role].tos for cls, role in (("alltoall", "nvshmem"), ("allreduce", "nccl"))}
    assert expected_tos == {"alltoall": 34 << 2, "allreduce": 26 << 2}

    capture: dict[str, str] = {}

    def tcpdump() -> None:
        done = rt.exec_in(name, "host1", ["timeout", "30", "tcpdump", "-i", nic, "-nn", "-v", "-l", "-c",
                                          str(2 * COUNT), "udp", "and", "dst", "host", dst])
        capture["out"] = done.stdout

    thread = threading.Thread(target=tcpdump)
    thread.start()
    time.sleep(2)  # tcpdump must be listening before the first packet
    deltas = {}
    for cls, (var, port) in senders.items():
        leaf_before = _counters(rt, name, "leaf1", uplink)
        host_before = _counters(rt, name, "host1", nic)
        sent = _exec(rt, name, "host1", "python3", "-c", SENDER, var, dst, port, str(COUNT)).stdout.strip()
        assert int(sent) == expected_tos[cls]
        time.sleep(0.5)
        leaf_after = _counters(rt, name, "leaf1", uplink)
        host_after = _counters(rt, name, "host1", nic)
        deltas[cls] = ({k: leaf_after[k] - leaf_before.get(k, 0) for k in leaf_after},
                       {k: host_after[k] - host_before.get(k, 0) for k in host_after})
    thread.join(40)

    # 1. On the wire, leaving host1: the DSCP of the class (tcpdump prints the whole ToS byte).
    seen = PACKET.findall(capture.get("out", ""))
    by_port = {port: {tos for tos, p in seen if p == port} for _, port in senders.values()}
    assert len(seen) == 2 * COUNT, capture.get("out", "")[-2000:]
    assert by_port == {"40004": {f"0x{34 << 2:02x}"}, "40003": {f"0x{26 << 2:02x}"}}

    # 2. In host1's own classification (kernel-qos.sh: class 1:1<priority>) and 3. in leaf1's uplink
    # queues (qos.sh: class 1:1<queue>): every packet of a sender in its class, none in the other one.
    for cls, other in (("alltoall", "allreduce"), ("allreduce", "alltoall")):
        leaf_delta, host_delta = deltas[cls]
        assert leaf_delta[class_id(queue[cls])] >= COUNT, (cls, leaf_delta)
        assert leaf_delta.get(class_id(queue[other]), 0) == 0, (cls, leaf_delta)
        prio = plan.markings["nvshmem" if cls == "alltoall" else "nccl"].priority
        assert host_delta[f"1:1{prio:x}"] >= COUNT, (cls, host_delta)
