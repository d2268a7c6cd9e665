"""`hpnctl show`: the fabric plan as rich tables."""
from __future__ import annotations

import ipaddress
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hpnctl.design import Fabric
from hpnctl.design.buffers import lossless_mtu
from hpnctl.intent import LoadedIntent
from hpnctl.platforms import asic_table, get_asic
from hpnctl.units import format_bytes, format_speed


def show_fabric(loaded: LoadedIntent, fabric: Fabric, console: Console, with_asics: bool = False) -> None:
    if not console.is_terminal:
        # Piped or captured: a console's default 80 columns truncated cells ("allto…"); use natural widths.
        console = Console(file=console.file, width=max(console.width, 250), highlight=False, soft_wrap=True, emoji=False)
    console.print(Text.assemble((fabric.name, "bold"), "  ", loaded.intent.fabric.description))
    console.print(_devices_table(fabric))
    console.print(_links_table(fabric))
    console.print(_addresses_table(loaded, fabric))
    for name, net_plan in fabric.networks.items():
        console.print(_qos_table(name, net_plan.qos, fabric))
        console.print(_headroom_table(name, net_plan.qos, fabric, lossless_mtu(loaded.intent.fabric)))
    if fabric.unsupported:
        console.print(_unsupported_table(fabric))
    if with_asics:
        console.print(_asic_table())


def _row(t: Table, *cells: str) -> None:
    """Cells as Text: class/network names and descriptions are user text, never rich markup or :emoji: codes."""
    t.add_row(*(Text(c) for c in cells))


def _devices_table(fabric: Fabric) -> Table:
    t = Table(title="Devices")
    for col in ("network", "role", "platform", "ASIC", "count", "examples"):
        t.add_column(col)
    groups: dict[tuple, list[str]] = {}
    for d in fabric.devices.values():
        key = (d.network if d.is_switch else ",".join(d.networks), d.role, d.platform, d.asic)
        groups.setdefault(key, []).append(d.name)
    for (net, role, platform, asic), names in groups.items():
        _row(t, net, role, platform, asic or "-", str(len(names)), ", ".join(names[:3]) + (" …" if len(names) > 3 else ""))
    return t


def _links_table(fabric: Fabric) -> Table:
    t = Table(title="Links")
    for col in ("network", "kind", "speed", "count"):
        t.add_column(col)
    counts = Counter((lk.network, lk.kind, lk.speed_mbps) for lk in fabric.links)
    for (net, kind, speed), n in sorted(counts.items()):
        _row(t, net, kind, format_speed(speed), str(n))
    return t


def _addresses_table(loaded: LoadedIntent, fabric: Fabric) -> Table:
    t = Table(title="Address pools")
    for col in ("pool", "prefix", "used", "size", "use"):
        t.add_column(col)

    def row(label: str, net: ipaddress.IPv4Network | None, used: int) -> None:
        if net is None:
            return
        _row(t, label, str(net), str(used), str(net.num_addresses), f"{100 * used / net.num_addresses:.1f}%")

    mgmt_used = sum(1 for d in fabric.devices.values() if d.mgmt_ip)
    row("management", loaded.intent.management.pool, mgmt_used)
    for name, net in loaded.intent.networks.items():
        switches = [d for d in fabric.switches() if d.network == name]
        row(f"{name} loopbacks", net.addressing.loopbacks, len(switches))
        row(f"{name} p2p", net.addressing.p2p, 2 * sum(1 for lk in fabric.links if lk.network == name and lk.kind == "fabric"))
        row(f"{name} hosts", net.addressing.hosts, 2 * sum(1 for lk in fabric.links if lk.network == name and lk.kind == "host"))
    return t


def _qos_table(name: str, plan, fabric: Fabric) -> Table:
    speeds = sorted({i.speed_mbps for d in fabric.switches() if d.network == name for i in d.interfaces})
    t = Table(title=Text(f"QoS plan — network {name}"))
    for col in ("class", "kind", "DSCP", "TC", "queue", "PG", "scheduler", "buffer", "ECN Kmin/Kmax/Pmax", "PFC"):
        t.add_column(col)
    for c in plan.classes:
        dscp = ",".join(map(str, c.dscp)) if c.dscp else "default"
        sched = "strict" if c.scheduler == "strict" else f"DWRR {c.bandwidth_percent:g}%"
        buf = []
        if c.reserve_bytes:
            buf.append(f"reserve {format_bytes(c.reserve_bytes)}")
        if c.reserve_percent:
            buf.append(f"reserve {c.reserve_percent:g}%")
        if c.alpha is not None:
            buf.append(f"α={c.alpha:g}")
        if c.static_limit:
            buf.append(f"limit {format_bytes(c.static_limit)}")
        if c.ecn_enabled and not (c.ecn_profile and c.ecn_profile not in plan.profiles):
            parts = []
            for s in speeds:
                e = plan.ecn_at(c, s)
                parts.append(f"{format_speed(s)}: {format_bytes(e.kmin)}/{format_bytes(e.kmax)}/{e.pmax:g}%")
            ecn = "\n".join(parts) or "on"
        else:
            ecn = "off"
        _row(t, c.name, c.kind, dscp, str(c.tc), str(c.queue), str(c.pg), sched, " ".join(buf) or "-", ecn,
                  "lossless" if c.lossless else "-")
    return t


def _headroom_table(name: str, plan, fabric: Fabric, mtu: int) -> Table:
    t = Table(title=Text(f"PFC headroom per lossless PG — network {name} (cable {plan.cable_length_m:g} m, MTU {mtu})"))
    for col in ("ASIC", "port speed", "xon", "xoff", "size"):
        t.add_column(col)
    if not plan.lossless_priorities:
        _row(t, "-", "no lossless class", "", "", "")
        return t
    seen = set()
    known = asic_table()
    for d in fabric.switches():
        if d.network != name or d.asic not in known:  # an unknown ASIC is an E154 printed after the tables
            continue
        for s in {i.speed_mbps for i in d.interfaces}:
            if (d.asic, s) in seen:
                continue
            seen.add((d.asic, s))
            h = plan.headroom_at(s, mtu, get_asic(d.asic))
            _row(t, d.asic, format_speed(s), format_bytes(h.xon), format_bytes(h.xoff), format_bytes(h.size))
    return t


def _unsupported_table(fabric: Fabric) -> Table:
    t = Table(title="Features a platform cannot enforce (per device)")
    for col in ("feature", "devices", "reason"):
        t.add_column(col)
    groups: dict[tuple, list[str]] = {}
    for dev, feats in fabric.unsupported.items():
        for feature, reason in feats:
            groups.setdefault((feature, reason), []).append(dev)
    for (feature, reason), devs in groups.items():
        _row(t, feature, f"{len(devs)}: " + ", ".join(devs[:3]) + (" …" if len(devs) > 3 else ""), reason)
    return t


def _asic_table() -> Table:
    t = Table(title="ASIC table")
    for col in ("ASIC", "buffer", "queues", "lossless max", "source"):
        t.add_column(col)
    for a in asic_table().values():
        _row(t, a.name, format_bytes(a.buffer_bytes), str(a.queues), str(a.lossless_max), a.source)
    return t
