"""Addresses and ASNs: loopbacks, /31 point-to-points, host /31s, management, RFC 7938 ASNs.

Allocation is sequential in generation order, so the same intent always gives
the same addresses, and a device added at the end shifts nobody else's.
"""
from __future__ import annotations

import ipaddress

from hpnctl.design.fabric import Device, Fabric, Link
from hpnctl.diagnostics import DiagnosticLog
from hpnctl.intent import LoadedIntent
from hpnctl.intent.schema import Network

_ip = ipaddress.IPv4Address


def _ip_str(n: int) -> str:
    return f"{(n >> 24) & 255}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def assign_network_addresses(loaded: LoadedIntent, net_name: str, net: Network, devices: dict[str, Device],
                             links: list[Link], log: DiagnosticLog) -> None:
    """Loopbacks, link /31s and ASNs of one network."""
    here = [d for d in devices.values() if d.network == net_name and d.is_switch]
    base = ("networks", net_name, "addressing")
    _loopbacks(loaded, net, here, log, base)
    fabric_links = [lk for lk in links if lk.network == net_name and lk.kind == "fabric"]
    host_links = [lk for lk in links if lk.network == net_name and lk.kind == "host"]
    _p2p(loaded, net.addressing.p2p, fabric_links, devices, log, base + ("p2p",), "p2p")
    if host_links:
        if net.addressing.hosts is None:
            log.error("E212", f"network {net_name} has {len(host_links)} host links but no hosts pool",
                      path=f"networks.{net_name}.addressing", position=loaded.where(*base),
                      hint="add `hosts: 10.2.0.0/16` (leaf↔host /31s)")
        else:
            _p2p(loaded, net.addressing.hosts, host_links, devices, log, base + ("hosts",), "hosts")
    _asns(loaded, net_name, net, here, log)


def _loopbacks(loaded: LoadedIntent, net: Network, switches: list[Device], log: DiagnosticLog, base: tuple) -> None:
    pool = net.addressing.loopbacks
    start = int(pool.network_address) + (1 if pool.prefixlen < 31 else 0)
    end = int(pool.broadcast_address)
    need = sum(1 for d in switches if not d.loopback)
    taken = {d.loopback for d in switches if d.loopback}
    # Explicit loopbacks inside the pool use up room: without counting them the cursor ran past the pool.
    room = end - start + 1 - sum(1 for t in taken if start <= int(_ip(t)) <= end)
    if need > room:
        log.error("E212", f"loopback pool {pool} has room for {room} addresses, {need} switches need one",
                  path=".".join(base + ("loopbacks",)), position=loaded.where(*base, "loopbacks"),
                  hint=f"use a pool of at least /{32 - max(need + len(taken), 1).bit_length()}")
        return
    cursor = start
    for dev in switches:
        if dev.loopback:
            continue
        while _ip_str(cursor) in taken:
            cursor += 1
        dev.loopback = _ip_str(cursor)
        cursor += 1


def _p2p(loaded: LoadedIntent, pool: ipaddress.IPv4Network, links: list[Link], devices: dict[str, Device],
         log: DiagnosticLog, path: tuple, what: str) -> None:
    if 2 * len(links) > pool.num_addresses:
        log.error("E212", f"{what} pool {pool} holds {pool.num_addresses // 2} /31s, the topology has {len(links)} links",
                  path=".".join(path), position=loaded.where(*path),
                  hint=f"use a pool of at least /{32 - (2 * len(links) - 1).bit_length()}")
        return
    base = int(pool.network_address)
    for i, link in enumerate(links):
        lo = base + 2 * i
        link.subnet = f"{_ip_str(lo)}/31"
        a_ip, b_ip = _ip_str(lo), _ip_str(lo + 1)
        a_if, b_if = link.a_itf, link.b_itf
        a_if.ip, a_if.peer_ip = f"{a_ip}/31", b_ip
        b_if.ip, b_if.peer_ip = f"{b_ip}/31", a_ip


def _asns(loaded: LoadedIntent, net_name: str, net: Network, switches: list[Device], log: DiagnosticLog) -> None:
    bgp = net.routing.bgp
    lo, hi = bgp.asn_range
    path = ("networks", net_name, "routing", "bgp")
    if bgp.asn_scheme == "explicit":
        missing = [d.name for d in switches if d.asn is None]
        if missing:
            log.error("E160", f"asn_scheme explicit, but {len(missing)} switch(es) have no asn: {_few(missing)}",
                      path=".".join(path + ("asn_scheme",)), position=loaded.where(*path, "asn_scheme"),
                      hint="set `asn:` under topology.devices for each, or use asn_scheme: rfc7938")
        return
    # RFC 7938 §5.2.1: one ASN per super-spine layer of a plane, per spine layer of a pod, per leaf.
    groups: dict[tuple, list[Device]] = {}
    for dev in switches:
        if dev.asn is not None:
            continue
        if dev.role == "super-spine":
            key = ("super-spine", dev.plane)
        elif dev.role == "spine":
            key = ("spine", dev.plane, dev.pod)
        else:
            key = ("leaf", dev.name)
        groups.setdefault(key, []).append(dev)
    if len(groups) > hi - lo + 1:
        log.error("E212", f"asn_range {lo}-{hi} holds {hi - lo + 1} ASNs, the RFC 7938 plan needs {len(groups)}",
                  path=".".join(path + ("asn_range",)), position=loaded.where(*path, "asn_range"),
                  hint="widen the range (4-byte private ASNs: 4200000000-4294967294)")
        return
    taken = {d.asn for d in switches if d.asn is not None}
    asn = lo
    for members in groups.values():
        while asn in taken:
            asn += 1
        for dev in members:
            dev.asn = asn
        asn += 1


def assign_management(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog) -> None:
    mgmt = loaded.intent.management
    pool = mgmt.pool
    # min(): a /32 at 255.255.255.255 has no "next" address (ipaddress raised AddressValueError).
    gw = mgmt.gateway or _ip(min(int(pool.network_address) + 1, int(pool.broadcast_address)))
    fabric.mgmt_gateway, fabric.mgmt_prefixlen = str(gw), pool.prefixlen
    for dev in fabric.devices.values():
        if dev.mgmt_ip == str(gw):
            where = dev.source_path + ("mgmt_ip",) if dev.source_path else ("management", "gateway")
            log.error("E214", f"{dev.name}: management address {gw} is the management gateway",
                      path=".".join(map(str, where)), position=loaded.where(*where),
                      hint="every device needs its own address")
    taken = {d.mgmt_ip for d in fabric.devices.values() if d.mgmt_ip} | {str(gw)}
    cursor = int(pool.network_address) + mgmt.first_host
    last = int(pool.broadcast_address) - 1
    need = [d for d in fabric.devices.values() if not d.mgmt_ip]
    # The gateway and explicit addresses inside the range are skipped: count them, or the cursor
    # runs onto the broadcast address and beyond the pool.
    occupied = sum(1 for t in taken if cursor <= int(_ip(t)) <= last)
    if need and len(need) > last - cursor + 1 - occupied:
        log.error("E212", f"management pool {pool} (from offset {mgmt.first_host}) is too small for {len(need)} devices",
                  path="management.pool", position=loaded.where("management", "pool"),
                  hint=f"use a pool of at least /{32 - (len(need) + occupied + mgmt.first_host + 1).bit_length()}")
        return
    for dev in need:
        while _ip_str(cursor) in taken:
            cursor += 1
        dev.mgmt_ip = _ip_str(cursor)
        cursor += 1


def _few(names: list[str], n: int = 6) -> str:
    return ", ".join(names[:n]) + (f" (+{len(names) - n} more)" if len(names) > n else "")


few = _few
