"""What a device should show, computed from the fabric and its DeviceModel (plain data for the judges).

ECMP expectations come from a small path-vector simulation of the eBGP
underlay: each switch originates its loopback, a switch rejects a path holding
its own AS (loop prevention), and with `bestpath as-path multipath-relax`
every link whose path has the shortest AS-path length is a next hop, up to
maximum-paths.  This gets the cases a hop-count BFS gets wrong, such as spines
sharing an AS that cannot reach each other's loopbacks through the leaves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hpnctl.design import Fabric
from hpnctl.model import DeviceModel
from hpnctl.platforms import get_platform

MAX_ECMP_DESTINATIONS = 64  # per fabric; large fabrics are sampled (deterministically)


@dataclass
class Expectation:
    hostname: str
    platform: str
    model: DeviceModel
    peers: dict[str, int]  # neighbor IP → remote AS
    interfaces: dict[str, dict[str, Any]]  # name → {mtu, speed_mbps, kind}
    ecmp: dict[str, tuple[str, int]]  # loopback IP → (owner, expected next hops)
    unsupported: dict[str, str] = field(default_factory=dict)  # feature → reason the user sees
    requested: dict[str, bool] = field(default_factory=dict)  # feature → wanted by the intent
    linux: dict[str, Any] | None = None  # the linux builder's docs (qos.sh, sysctl.conf)


def build_expectations(fabric: Fabric, models: dict[str, DeviceModel]) -> dict[str, Expectation]:
    """Expectations for the devices in `models` (the verified selection)."""
    ecmp = expected_ecmp(fabric, list(models))
    out: dict[str, Expectation] = {}
    for name, model in models.items():
        platform = get_platform(model["platform"])
        unsupported = {f: s.reason for f, s in platform.features.items() if not s.supported}
        unsupported.update({u["feature"]: u["reason"] for u in model.get("unsupported", [])})
        linux_docs = None
        if model["platform"] == "linux":
            from hpnctl.builders.linux import build

            linux_docs = build(model)
        out[name] = Expectation(
            hostname=name,
            platform=model["platform"],
            model=model,
            peers={n["ip"]: int(n["asn"]) for n in model["bgp"]["neighbors"]},
            interfaces={i["name"]: {"mtu": i["mtu"], "speed_mbps": i["speed_mbps"], "kind": i["kind"]}
                        for i in model["interfaces"] if i["kind"] in ("uplink", "downlink", "host")},
            ecmp=ecmp.get(name, {}),
            unsupported=unsupported,
            requested=dict(model.get("features", {})),
            linux=linux_docs,
        )
    return out


def _bgp_graph(fabric: Fabric) -> tuple[dict[str, int], dict[str, list[str]]]:
    """ASN per switch and, per switch, the list of BGP neighbors (one entry per link)."""
    asn: dict[str, int] = {}
    links: dict[str, list[str]] = {}
    for dev in fabric.switches():
        if dev.asn is None:
            continue
        asn[dev.name] = dev.asn
        links[dev.name] = [i.peer for i in dev.interfaces
                           if i.kind in ("uplink", "downlink") and i.peer and i.peer_asn is not None]
    for name in links:
        links[name] = [p for p in links[name] if p in asn]
    return asn, links


def expected_ecmp(fabric: Fabric, devices: list[str], limit: int = MAX_ECMP_DESTINATIONS) -> dict[str, dict[str, tuple[str, int]]]:
    """device → {remote loopback → (owner, expected next-hop count)}; unreachable-by-design loopbacks left out."""
    asn, links = _bgp_graph(fabric)
    max_paths = {}
    for dev in fabric.switches():
        net = fabric.networks[dev.network].spec
        max_paths[dev.name] = net.routing.ecmp.max_paths
    dests = sorted(n for n in asn if fabric.devices[n].loopback)
    if len(dests) > limit:  # every k-th, so each role and pod keeps some destinations
        step = len(dests) / limit
        dests = [dests[int(i * step)] for i in range(limit)]
    wanted = set(devices)
    out: dict[str, dict[str, tuple[str, int]]] = {d: {} for d in devices}
    rev = _reverse(links)
    for dest in dests:
        paths = _simulate(dest, asn, links, rev)
        loop = fabric.devices[dest].loopback
        for dev in wanted:
            if dev == dest or dev not in paths:
                continue
            count = min(paths[dev][1], max_paths.get(dev, 1))
            if count:
                out[dev][loop] = (dest, count)
    return out


def _simulate(origin: str, asn: dict[str, int], links: dict[str, list[str]],
              rev: dict[str, list[str]] | None = None) -> dict[str, tuple[tuple[int, ...], int]]:
    """BFS by AS-path length: device → (best AS path, number of equal-length next-hop links).

    Every eBGP hop prepends one AS, so the paths of length k are exactly the best paths of the
    devices first reached at length k-1, plus one hop; a device whose own AS is in every such
    path stays unreached and may accept a longer path later (loop prevention).
    """
    if rev is None:
        rev = _reverse(links)
    best: dict[str, tuple[int, ...]] = {origin: ()}
    out: dict[str, tuple[tuple[int, ...], int]] = {}
    frontier = [origin]
    while frontier:
        cands: dict[str, list[tuple[int, ...]]] = {}
        for peer in frontier:
            path = (asn[peer],) + best[peer]
            for dev in rev.get(peer, ()):  # one entry per link dev—peer
                if dev in best or asn[dev] in path:
                    continue
                cands.setdefault(dev, []).append(path)
        for dev, paths in cands.items():
            best[dev] = min(paths)
            out[dev] = (best[dev], len(paths))
        frontier = sorted(cands)
    return out


def _reverse(links: dict[str, list[str]]) -> dict[str, list[str]]:
    rev: dict[str, list[str]] = {}
    for dev, peers in links.items():
        for peer in peers:
            rev.setdefault(peer, []).append(dev)
    return rev
