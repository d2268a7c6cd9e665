"""DeviceModel: everything one switch's templates need, as plain data (dicts, lists, str, int).

Built from the Fabric in one pass per device.  Features the platform lacks are
switched off here (and were reported by design()), so templates only ask "is
this section present?".
"""
from __future__ import annotations

from typing import Any

from hpnctl.design import Fabric
from hpnctl.design.buffers import buffer_budget, lossless_mtu, switch_ports
from hpnctl.design.checks import requested_features
from hpnctl.design.fabric import Device
from hpnctl.intent import LoadedIntent
from hpnctl.platforms import get_asic, get_platform
from hpnctl.units import format_speed

DeviceModel = dict[str, Any]


def build_device_model(loaded: LoadedIntent, fabric: Fabric, dev: Device) -> DeviceModel:
    """The plain-data model of one switch."""
    intent = loaded.intent
    net_plan = fabric.networks[dev.network]
    net = net_plan.spec
    plan = net_plan.qos
    platform = get_platform(dev.platform)
    asic = get_asic(dev.asic)
    unsupported = fabric.unsupported.get(dev.name, [])
    skipped = {f for f, _ in unsupported}
    wanted = set(requested_features(net, plan, dev.adaptive_routing)) - skipped
    interfaces = [_interface(itf, dev) for itf in dev.interfaces]
    ports = switch_ports(dev)
    speeds = sorted({p.speed_mbps for p in ports})
    mtu = intent.fabric.mtu
    pfc_mtu = lossless_mtu(intent.fabric)
    model: DeviceModel = {
        "hostname": dev.name,
        "role": dev.role,
        "platform": dev.platform,
        "platform_options": _platform_options(intent, dev.platform),
        "network": dev.network,
        "network_kind": net.kind,
        "fabric": {"name": fabric.name, "mtu": mtu},
        "asic": {"name": asic.name, "buffer_bytes": asic.buffer_bytes, "queues": asic.queues},
        "location": {"plane": dev.plane, "pod": dev.pod, "group": dev.group, "rail": dev.rail},
        "mgmt": {"ip": dev.mgmt_ip, "prefixlen": fabric.mgmt_prefixlen, "gateway": fabric.mgmt_gateway,
                 "interface": platform.mgmt_interface},
        "loopback": dev.loopback,
        "router_id": dev.loopback,
        "asn": dev.asn,
        "interfaces": interfaces,
        "bgp": _bgp(dev, net, interfaces, "bfd" in wanted),
        "ecmp": {"max_paths": net.routing.ecmp.max_paths, "hash_fields": list(net.routing.ecmp.hash_fields),
                 "algorithm": net.routing.ecmp.hash_algorithm},
        "features": {f: (f in wanted) for f in ("bfd", "ecn", "pfc", "pfc-watchdog", "buffers", "adaptive-routing", "scheduler")},
        "unsupported": [{"feature": f, "reason": r} for f, r in unsupported],
        "qos": _qos(plan, dev, asic, speeds, pfc_mtu, wanted),
        "adaptive_routing": _ar(net, dev, interfaces) if "adaptive-routing" in wanted else None,
    }
    return model


def _platform_options(intent, platform: str) -> dict:
    opts = intent.platform_options.get(platform)
    return opts.model_dump(exclude_none=True) if opts else {}


def _interface(itf, dev: Device) -> dict:
    peer = f"{itf.peer}:{itf.peer_interface}" if itf.peer else ""
    return {
        "name": itf.name, "port": itf.port, "speed_mbps": itf.speed_mbps, "speed": format_speed(itf.speed_mbps),
        "mtu": itf.mtu, "lanes": itf.lanes, "kind": itf.kind, "ip": itf.ip, "address": itf.ip.split("/")[0] if itf.ip else "",
        "peer": itf.peer, "peer_interface": itf.peer_interface, "peer_ip": itf.peer_ip, "peer_asn": itf.peer_asn,
        "description": f"{itf.kind} to {peer}" if peer else itf.kind, "adaptive_routing": itf.adaptive_routing,
    }


def _bgp(dev: Device, net, interfaces: list[dict], bfd: bool) -> dict:
    bgp = net.routing.bgp
    neighbors = [
        {"ip": i["peer_ip"], "asn": i["peer_asn"], "interface": i["name"], "description": f"{i['peer']}:{i['peer_interface']}"}
        for i in interfaces if i["kind"] in ("uplink", "downlink") and i["peer_ip"] and i["peer_asn"] is not None
    ]
    # Leaves originate their loopback and their host subnets; nothing is redistributed blindly.
    networks = [f"{dev.loopback}/32"] if dev.loopback else []
    networks += [_subnet(i["ip"]) for i in interfaces if i["kind"] == "host" and i["ip"]]
    return {
        "asn": dev.asn, "router_id": dev.loopback, "keepalive": bgp.keepalive_s, "hold": bgp.hold_s,
        "max_paths": net.routing.ecmp.max_paths, "neighbors": neighbors, "networks": networks,
        "bfd": {"interval_ms": net.routing.bfd.interval_ms, "multiplier": net.routing.bfd.multiplier} if bfd else None,
    }


def _subnet(ip_with_len: str) -> str:
    addr, plen = ip_with_len.split("/")
    if plen != "31":
        import ipaddress

        return str(ipaddress.ip_interface(ip_with_len).network)
    last = int(addr.rsplit(".", 1)[1]) & ~1
    return f"{addr.rsplit('.', 1)[0]}.{last}/31"


def _qos(plan, dev: Device, asic, speeds: list[int], mtu: int, wanted: set[str]) -> dict:
    pfc_on = "pfc" in wanted
    ecn_on = "ecn" in wanted
    buffers_on = "buffers" in wanted
    budget = buffer_budget(dev, plan, asic, mtu, with_headroom=pfc_on)
    classes = []
    for c in plan.classes:
        ecn = {}
        if ecn_on and c.ecn_enabled:
            for s in speeds:
                t = plan.ecn_at(c, s)
                ecn[s] = {"kmin": t.kmin, "kmax": t.kmax, "pmax": t.pmax}
        classes.append({
            "name": c.name, "kind": c.kind, "dscp": c.dscp, "tc": c.tc, "queue": c.queue, "pg": c.pg,
            "scheduler": c.scheduler, "bandwidth_percent": c.bandwidth_percent, "weight": c.weight,
            "lossless": c.lossless and pfc_on, "ecn": ecn or None,
            "reserve_bytes": budget.reserve_by_class.get(c.name) if buffers_on else None,
            "alpha": c.alpha if buffers_on else None, "dynamic_th": c.dynamic_th if buffers_on else None,
            "static_limit": c.static_limit if buffers_on else None,
            "queue_limit_bytes": budget.queue_limit(c),
        })
    headroom = {}
    if pfc_on:
        for s in speeds:
            h = plan.headroom_at(s, mtu, asic)
            headroom[s] = {"xon": h.xon, "xoff": h.xoff, "size": h.size}
    wd = plan.watchdog
    return {
        "classes": classes,
        "dscp_to_tc": plan.dscp_to_tc,
        "tc_to_queue": plan.tc_to_queue,
        "dscp_by_tc": plan.dscp_by_tc,  # computed once per network, shared by its devices (read-only)
        "tc_by_queue": plan.tc_by_queue,
        "tc_to_pg": plan.tc_to_pg,
        "queues": sorted({c.queue for c in plan.classes}),
        "port_speeds": speeds,
        "ecn_enabled": ecn_on and any(c.ecn_enabled for c in plan.classes),
        "pfc": {
            "enabled": pfc_on and bool(plan.lossless_priorities),
            "priorities": plan.lossless_priorities if pfc_on else [],
            "cable_length_m": plan.cable_length_m,
            "headroom": headroom,
            "pg_dynamic_th": -3,
            "watchdog": ({"detection_ms": wd.detection_ms, "restoration_ms": wd.restoration_ms, "poll_ms": wd.poll_ms,
                          "action": wd.action} if "pfc-watchdog" in wanted else None),
        },
        "buffer": {
            "enabled": buffers_on,
            "total_bytes": budget.buffer_bytes,
            "reserved_bytes": budget.reserved_bytes,
            "headroom_bytes": budget.headroom_bytes,
            "shared_bytes": budget.shared_bytes,
        },
    }


def _ar(net, dev: Device, interfaces: list[dict]) -> dict:
    ar = net.adaptive_routing
    return {
        "mode": ar.mode, "flowlet_idle_us": ar.flowlet_idle, "link_utilization_threshold": ar.link_utilization_threshold,
        "interfaces": [i["name"] for i in interfaces if i["adaptive_routing"]],
    }
