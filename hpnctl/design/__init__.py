"""design(): a validated intent → the vendor-neutral Fabric (devices, links, addresses, ASNs, QoS plans)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hpnctl.design.addressing import assign_management, assign_network_addresses, few
from hpnctl.design.checks import check_devices, check_qos
from hpnctl.design.fabric import Device, Fabric, Interface, Link
from hpnctl.design.qos import QosPlan, build_qos_plan
from hpnctl.design.topology import expand_network
from hpnctl.diagnostics import DiagnosticLog
from hpnctl.errors import IntentError, PlatformError
from hpnctl.hosts.lint import lint as lint_hosts
from hpnctl.intent import LoadedIntent
from hpnctl.intent.schema import Network
from hpnctl.platforms import asic_table, get_platform

__all__ = ["design", "Fabric", "Device", "Interface", "Link", "NetworkPlan", "QosPlan"]


@dataclass
class NetworkPlan:
    name: str
    spec: Network
    qos: QosPlan


def design(loaded: LoadedIntent, strict: bool = True) -> Fabric:
    """Expand and check the intent.  With strict, any error raises IntentError carrying every diagnostic."""
    log = DiagnosticLog()
    devices: dict[str, Device] = {}
    links: list[Link] = []
    networks: dict[str, NetworkPlan] = {}
    intent = loaded.intent
    for net_name, net in intent.networks.items():
        plan = build_qos_plan(net_name, net)
        networks[net_name] = NetworkPlan(net_name, net, plan)
        check_qos(loaded, net_name, net, plan, log)
        expand_network(loaded, net_name, net, devices, links, log)
    fabric = Fabric(intent.fabric.name, devices, links, networks, log)
    _platforms_and_asics(loaded, fabric, log)
    for net_name, net in intent.networks.items():
        assign_network_addresses(loaded, net_name, net, devices, links, log)
    assign_management(loaded, fabric, log)
    _peer_asns(fabric)
    _adaptive_routing(loaded, fabric)
    _duplicates(loaded, fabric, log)
    if not log.errors:
        check_devices(loaded, fabric, log)
        lint_hosts(loaded, fabric, log)
    if strict and log.errors:
        raise IntentError(log.sorted())
    return fabric


def _platforms_and_asics(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog) -> None:
    table = asic_table()
    # One diagnostic per mistake, not per device: an unknown leaf platform in a 3,200-leaf fabric is one line.
    bad: dict[tuple, list[str]] = defaultdict(list)  # (code, message, data path, hint) → devices
    for dev in fabric.switches():
        net = loaded.intent.networks[dev.network]
        try:
            platform = get_platform(dev.platform)
        except PlatformError as exc:
            if net.platforms.get(dev.role) == dev.platform:
                where = ("networks", dev.network, "platforms", dev.role)
            elif loaded.intent.platforms.get(dev.role) == dev.platform:
                where = ("platforms", dev.role)
            else:
                where = dev.source_path + ("platform",) if dev.source_path else ("networks", dev.network, "platforms")
            bad[("E150", str(exc), where, "")].append(dev.name)
            continue
        if dev.asic:  # only an explicit device entry sets it before this point
            where = dev.source_path + ("asic",)
        elif dev.role in net.asics:
            dev.asic, where = net.asics[dev.role], ("networks", dev.network, "asics", dev.role)
        elif dev.role in loaded.intent.asics:
            dev.asic, where = loaded.intent.asics[dev.role], ("asics", dev.role)
        else:
            dev.asic, where = platform.default_asic, ("networks", dev.network)
        if dev.asic not in table:
            bad[("E154", f"unknown ASIC {dev.asic!r}", where, f"known ASICs: {', '.join(sorted(table))}")].append(dev.name)
    for (code, message, where, hint), names in bad.items():
        log.error(code, f"{message} ({len(names)} device(s): {few(names)})", path=".".join(map(str, where)),
                  position=loaded.where(*where), hint=hint)


def _peer_asns(fabric: Fabric) -> None:
    devices = fabric.devices
    for dev in fabric.switches():
        for itf in dev.interfaces:
            peer = devices.get(itf.peer)
            itf.peer_asn = peer.asn if peer is not None and peer.is_switch else None


def _adaptive_routing(loaded: LoadedIntent, fabric: Fabric) -> None:
    overrides = {}
    for net_name, net in loaded.intent.networks.items():
        for spec in net.topology.devices:
            if spec.adaptive_routing is not None:
                overrides[spec.name] = spec.adaptive_routing
    for dev in fabric.switches():
        ar = loaded.intent.networks[dev.network].adaptive_routing
        enabled = overrides.get(dev.name, ar.enabled and dev.role in ar.roles)
        dev.adaptive_routing = enabled
        for itf in dev.interfaces:
            if itf.kind == "host":
                continue
            itf.adaptive_routing = itf.adaptive_routing or (enabled and (ar.interfaces == "all" or itf.kind == "uplink"))
        if any(i.adaptive_routing for i in dev.interfaces):
            dev.adaptive_routing = True


def _duplicates(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog) -> None:
    seen: dict[tuple, list[Device]] = defaultdict(list)
    for dev in fabric.devices.values():
        if dev.loopback:
            seen[("loopback", dev.network, dev.loopback)].append(dev)
        if dev.mgmt_ip:
            seen[("mgmt", "", dev.mgmt_ip)].append(dev)
    for (what, _, addr), devs in seen.items():
        if len(devs) > 1:
            src = next((d.source_path for d in devs if d.source_path), ("management",))
            log.error("E214", f"duplicate {what} address {addr}: {few([d.name for d in devs])}",
                      path=".".join(map(str, src)), position=loaded.where(*src),
                      hint="every device needs its own address")
    # ASNs: under RFC 7938 only spines of one pod (and super-spines of one plane) share an ASN.
    owners: dict[tuple, set] = defaultdict(set)
    for dev in fabric.switches():
        if dev.asn is None:
            continue
        group = (dev.role, dev.plane, dev.pod) if dev.role == "spine" else (dev.role, dev.plane) if dev.role == "super-spine" else (dev.name,)
        owners[(dev.network, dev.asn)].add(group)
    for (net_name, asn), groups in owners.items():
        if len(groups) > 1:
            names = [d.name for d in fabric.switches() if d.network == net_name and d.asn == asn]
            src = next((fabric.devices[n].source_path for n in names if fabric.devices[n].source_path), ("networks", net_name))
            log.error("E215", f"ASN {asn} is used by devices that must not share one: {few(names)}",
                      path=".".join(map(str, src)), position=loaded.where(*src),
                      hint="RFC 7938: each leaf its own ASN; spines of a pod share one")
