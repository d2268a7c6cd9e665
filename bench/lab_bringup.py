"""Bring-up benchmark of the netns lab runtime.

Generates an N-node leaf/spine topology (default 16 = 4 spines + 12 leaves, eBGP on
/31 links, every leaf to every spine), times `up` until every BGP session is
Established, reports memory per node, then times `down`.  Needs root, FRR and sshd.

    python bench/lab_bringup.py [--nodes 16] [--spines 4] [--keep]
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from hpnctl.lab import netns

LAB = "hpbench"
SUBNET = ipaddress.IPv4Network("172.29.202.0/24")  # away from the default 172.20.20.0/24
P2P = ipaddress.IPv4Network("10.3.0.0/16")


def frr_conf(name: str, asn: int, loopback: str, ifaces: dict[str, str], peers: dict[str, int]) -> str:
    lines = ["frr defaults datacenter", f"hostname {name}", "service integrated-vtysh-config", "!",
             "interface lo", f" ip address {loopback}/32", "exit"]
    for iface, addr in ifaces.items():
        lines += ["!", f"interface {iface}", f" ip address {addr}", "exit"]
    lines += ["!", f"router bgp {asn}", f" bgp router-id {loopback}", " no bgp ebgp-requires-policy",
              " timers bgp 3 9", " neighbor FABRIC peer-group", " neighbor FABRIC timers connect 2"]
    for peer, peer_as in peers.items():
        lines += [f" neighbor {peer} remote-as {peer_as}", f" neighbor {peer} peer-group FABRIC"]
    lines += [" !", " address-family ipv4 unicast", f"  network {loopback}/32", "  maximum-paths 16",
              " exit-address-family", "exit", ""]
    return "\n".join(lines)


def generate(out: Path, nodes: int, spines: int) -> Path:
    """Write <out>/bench.clab.yml and one frr.conf per node."""
    leaves = nodes - spines
    names = [f"spine{i}" for i in range(1, spines + 1)] + [f"leaf{i}" for i in range(1, leaves + 1)]
    asn = {n: 65100 if n.startswith("spine") else 65000 + int(n[4:]) for n in names}
    ifaces: dict[str, dict[str, str]] = {n: {} for n in names}
    peers: dict[str, dict[str, int]] = {n: {} for n in names}
    links, subnets = [], P2P.subnets(new_prefix=31)
    for s in range(1, spines + 1):
        for leaf in range(1, leaves + 1):
            spine_name, leaf_name = f"spine{s}", f"leaf{leaf}"
            net = next(subnets)
            a, b = str(net[0]), str(net[1])
            ifaces[spine_name][f"eth{leaf}"] = f"{a}/31"
            ifaces[leaf_name][f"eth{s}"] = f"{b}/31"
            peers[spine_name][b] = asn[leaf_name]
            peers[leaf_name][a] = asn[spine_name]
            links.append({"endpoints": [f"{spine_name}:eth{leaf}", f"{leaf_name}:eth{s}"]})
    topo_nodes = {}
    for i, name in enumerate(names, start=1):
        (out / name).mkdir(parents=True, exist_ok=True)
        (out / name / "frr.conf").write_text(frr_conf(name, asn[name], f"10.0.{i // 256}.{i % 256}",
                                                      ifaces[name], peers[name]))
        role = "spine" if name.startswith("spine") else "leaf"
        topo_nodes[name] = {"kind": "linux", "mgmt-ipv4": str(SUBNET[10 + i]),
                            "labels": {"hpnctl.role": role, "hpnctl.platform": "linux", "hpnctl.frr": "true"},
                            "binds": [f"{name}/frr.conf:/etc/frr/frr.conf"]}
    data = {"name": LAB, "mgmt": {"network": f"{LAB}-mgmt", "ipv4-subnet": str(SUBNET)},
            "topology": {"kinds": {"linux": {"image": "quay.io/frrouting/frr:8.4.4"}},
                         "nodes": topo_nodes, "links": links}}
    path = out / "bench.clab.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def pss_kib(pids: list[int]) -> int:
    """Proportional set size: shared libraries counted once across the lab, unlike RSS."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=16)
    parser.add_argument("--spines", type=int, default=0, help="default: a quarter of the nodes (at least 2)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for BGP")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("-v", "--verbose", action="store_true", help="print up's progress")
    args = parser.parse_args()
    spines = args.spines or max(2, args.nodes // 4)
    if args.nodes - spines < 1:
        parser.error("need at least one leaf")
    with tempfile.TemporaryDirectory(prefix="hpnctl-bench-") as tmp:
        os.environ.setdefault("HPNCTL_STATE_DIR", str(Path(tmp) / "state"))
        topology = generate(Path(tmp), args.nodes, spines)
        links = args.nodes - spines
        print(f"topology: {args.nodes} nodes ({spines} spines, {links} leaves), {spines * links} links, "
              f"{2 * spines * links} BGP session ends; {os.cpu_count()} CPUs")
        start = time.monotonic()
        progress = (lambda m: print(f"  {time.monotonic() - start:6.2f}s {m}")) if args.verbose else None
        try:
            netns.up(topology, progress=progress)
            t_up = time.monotonic() - start
            while True:
                status = netns.status(LAB)
                if status.bgp_established:
                    break
                if time.monotonic() - start > args.timeout:
                    down = sum(1 for n in status.nodes for s in n.bgp.values() if s != "Established")
                    print(f"FAILED: {down} sessions not Established after {args.timeout:.0f}s")
                    return 1
                time.sleep(0.25)
            t_bgp = time.monotonic() - start
            sessions = sum(len(n.bgp) for n in status.nodes)
            rss = sum(n.rss_kib for n in status.nodes) / len(status.nodes)
            pids = netns.node_pids(LAB)
            pss = sum(pss_kib(p) for p in pids.values()) / len(pids)
            procs = sum(len(p) for p in pids.values()) / len(pids)
            print(f"up (namespaces, links, FRR, sshd ready):  {t_up:6.2f} s")
            print(f"all {sessions} BGP session ends Established: {t_bgp:6.2f} s after start")
            print(f"memory per node: RSS {rss / 1024:5.1f} MiB summed over {procs:.0f} processes "
                  f"(PSS {pss / 1024:5.1f} MiB, shared pages counted once)")
        finally:
            if not args.keep:
                t0 = time.monotonic()
                netns.down(LAB)
                print(f"down:                                     {time.monotonic() - t0:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
