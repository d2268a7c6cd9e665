"""Topology expansion: the generator's rail-optimised Clos plus explicit devices and links.

Port allocation order on every switch: host ports first, then downlinks, then
uplinks — the way AI fabrics are cabled, so port numbers are predictable.
"""
from __future__ import annotations

from hpnctl.design.fabric import Device, Interface, Link
from hpnctl.diagnostics import DiagnosticLog
from hpnctl.intent import LoadedIntent
from hpnctl.intent.schema import Generator, Network
from hpnctl.errors import PlatformError
from hpnctl.platforms import Platform, get_platform

HOST_NIC_NAME = "eth{nic}"


class PortAllocator:
    """Hands out interface names per device, respecting breakout (logical ports per physical port)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int], tuple[int, int]] = {}  # (device, breakout) → (physical port, next sub)

    def next(self, dev: Device, platform: Platform | None, breakout: int) -> tuple[str, int, int]:
        """(interface name, physical port, lanes of the logical port)."""
        key = (dev.name, breakout)
        port, sub = self._open.get(key, (0, breakout + 1))
        if sub > breakout:  # start a new physical port
            port, sub = dev.next_port, 1
            dev.next_port += 1
        self._open[key] = (port, sub + 1)
        if platform is None:  # a host NIC
            return HOST_NIC_NAME.format(nic=port), port, 0
        return platform.port_name(port, sub, breakout), port, max(platform.lanes_per_port // breakout, 1)


def platform_for(loaded: LoadedIntent, net: Network, role: str, net_name: str, log: DiagnosticLog) -> str:
    if role == "host":
        return "host"
    name = net.platforms.get(role) or loaded.intent.platforms.get(role)
    if name is None:
        path = ("networks", net_name, "platforms")
        log.error("E150", f"no platform for role {role} in network {net_name}", path=f"networks.{net_name}.platforms",
                  position=loaded.where(*path), hint=f"add `platforms: {{{role}: sonic|eos|linux|nvue|srlinux}}`")
        return "linux"
    return name


def expand_network(loaded: LoadedIntent, net_name: str, net: Network, devices: dict[str, Device],
                   links: list[Link], log: DiagnosticLog) -> None:
    """Add the network's generated and explicit devices and links to `devices`/`links`."""
    ports = PortAllocator()
    gen = net.topology.generator
    if gen is not None:
        _generate(loaded, net_name, net, gen, devices, links, ports, log)
    _explicit(loaded, net_name, net, devices, links, ports, log)


def _new_device(devices: dict[str, Device], name: str, role: str, net_name: str, platform: str,
                loaded: LoadedIntent, log: DiagnosticLog, **where) -> Device:
    existing = devices.get(name)
    if existing is not None:
        if role == "host" and existing.role == "host":
            if net_name not in existing.networks:
                existing.networks.append(net_name)
            return existing  # the same server, on another network
        log.error("E213", f"duplicate hostname {name!r} (a {existing.role} in network {existing.network} and a {role} in {net_name})",
                  path=f"networks.{net_name}.topology.generator.naming", position=loaded.where("networks", net_name, "topology", "generator", "naming"),
                  hint="give the networks different `prefix:` values or naming patterns")
        return existing
    dev = Device(name=name, role=role, network=net_name, platform=platform, networks=[net_name], **where)
    devices[name] = dev
    return dev


def _name(pattern: str, **fields) -> str:
    return pattern.format(**fields)


def _generate(loaded: LoadedIntent, net_name: str, net: Network, gen: Generator, devices: dict[str, Device],
              links: list[Link], ports: PortAllocator, log: DiagnosticLog) -> None:
    used = ("leaf", "spine") + (("super-spine",) if gen.super_spines else ())
    plat = {r: platform_for(loaded, net, r, net_name, log) for r in used}
    # A per-device platform override must be known before its ports are named.
    override = {spec.name: spec.platform for spec in net.topology.devices if spec.platform}
    mtu = loaded.intent.fabric.mtu
    host_mtu = loaded.intent.fabric.host_mtu or mtu
    b_host = gen.breakout.get("host", 1)
    b_ls = gen.breakout.get("leaf_spine", 1)
    b_ss = gen.breakout.get("spine_super_spine", 1)
    naming = gen.naming
    prefix = net.prefix
    counters = {"leaf": 0, "spine": 0, "super-spine": 0}
    host_names = set()

    def make(role: str, pattern: str, **where) -> Device:
        counters[role] += 1
        name = _name(pattern, prefix=prefix, n=counters[role], plane=where.get("plane", 1), pod=where.get("pod", 1),
                     group=where.get("group", 0), rail=where.get("rail", 0))
        return _new_device(devices, name, role, net_name, override.get(name, plat[role]), loaded, log, **where)

    def connect(lower: Device, upper: Device, speed: int, breakout: int, kind: str) -> None:
        l_if, l_port, l_lanes = ports.next(lower, _platform_or_none(lower.platform), breakout)
        u_if, u_port, u_lanes = ports.next(upper, _platform_or_none(upper.platform), breakout)
        link_mtu = host_mtu if kind == "host" else mtu
        l_itf = Interface(l_if, l_port, speed, link_mtu, "nic" if lower.role == "host" else "uplink",
                          peer=upper.name, peer_interface=u_if, lanes=l_lanes)
        u_itf = Interface(u_if, u_port, speed, link_mtu, "host" if kind == "host" else "downlink",
                          peer=lower.name, peer_interface=l_if, lanes=u_lanes)
        lower.interfaces.append(l_itf)
        upper.interfaces.append(u_itf)
        if kind == "host":
            links.append(Link(upper.name, u_if, lower.name, l_if, speed, "host", net_name, a_itf=u_itf, b_itf=l_itf))
        else:
            links.append(Link(lower.name, l_if, upper.name, u_if, speed, "fabric", net_name, a_itf=l_itf, b_itf=u_itf))

    for plane in range(1, gen.planes + 1):
        supers = [make("super-spine", naming.super_spine, plane=plane) for _ in range(gen.super_spines)]
        for pod in range(1, gen.pods + 1):
            spines = [make("spine", naming.spine, plane=plane, pod=pod) for _ in range(gen.spines)]
            pod_leaves: list[Device] = []
            for group in range(1, gen.leaf_groups + 1):
                leaves = [make("leaf", naming.leaf, plane=plane, pod=pod, group=group, rail=rail)
                          for rail in range(1, gen.rails + 1)]
                pod_leaves.extend(leaves)
                for h in range(1, gen.hosts_per_group + 1):
                    index = ((pod - 1) * gen.leaf_groups + (group - 1)) * gen.hosts_per_group + h
                    hname = _name(naming.host, prefix=prefix, n=index, plane=plane, pod=pod, group=group, rail=0)
                    host = _new_device(devices, hname, "host", net_name, "host", loaded, log, pod=pod, group=group)
                    host_names.add(hname)
                    for leaf in leaves:
                        connect(host, leaf, gen.speeds.host, b_host, "host")
            for leaf in pod_leaves:  # host ports first on every leaf, then uplinks
                for spine in spines:
                    for _ in range(gen.links_per_spine):
                        connect(leaf, spine, gen.speeds.leaf_spine, b_ls, "fabric")
            for spine in spines:
                for ss in supers:
                    for _ in range(gen.links_per_super_spine):
                        connect(spine, ss, gen.speeds.spine_super_spine, b_ss, "fabric")


def _platform_or_none(name: str) -> Platform | None:
    """None for hosts, and for an unknown platform (reported by the platform check with a position)."""
    if name == "host":
        return None
    try:
        return get_platform(name)
    except PlatformError:
        return None


def _explicit(loaded: LoadedIntent, net_name: str, net: Network, devices: dict[str, Device],
              links: list[Link], ports: PortAllocator, log: DiagnosticLog) -> None:
    base = ("networks", net_name, "topology")
    for i, spec in enumerate(net.topology.devices):
        path = base + ("devices", i)
        dev = devices.get(spec.name)
        if dev is not None and dev.is_switch and dev.network != net_name:
            # Without this, an entry under another network silently rewrote that network's switch
            # (its ASN and loopback then came from this network's ranges).
            log.error("E213", f"duplicate hostname {spec.name!r}: it is a {dev.role} of network {dev.network}",
                      path=".".join(map(str, path + ("name",))), position=loaded.where(*path, "name"),
                      hint=f"override it under networks.{dev.network}.topology.devices, or pick another name")
            continue
        if dev is None:
            if spec.role is None:
                log.error("E151", f"device {spec.name!r} is not generated, so it needs a role", path=".".join(map(str, path)),
                          position=loaded.where(*path), hint="add `role: leaf|spine|super-spine|host`")
                continue
            platform = spec.platform or platform_for(loaded, net, spec.role, net_name, log)
            dev = _new_device(devices, spec.name, spec.role, net_name, platform, loaded, log)
        elif spec.role is not None and spec.role != dev.role:
            log.error("E152", f"device {spec.name!r} is a generated {dev.role}; its role cannot change to {spec.role}",
                      path=".".join(map(str, path + ("role",))), position=loaded.where(*path, "role"))
        dev.source_path = path
        if spec.platform:
            dev.platform = spec.platform
        if spec.asic:
            dev.asic = spec.asic
        if spec.asn is not None:
            dev.asn = spec.asn
        if spec.loopback is not None:
            dev.loopback = str(spec.loopback)
        if spec.mgmt_ip is not None:
            dev.mgmt_ip = str(spec.mgmt_ip)
    mtu = loaded.intent.fabric.mtu
    default_speed = net.topology.generator.speeds.leaf_spine if net.topology.generator else 400_000
    for i, spec in enumerate(net.topology.links):
        path = base + ("links", i)
        ends = []
        for j, ep in enumerate(spec.endpoints):
            dev_name, _, port_name = ep.partition(":")
            dev = devices.get(dev_name)
            if dev is None:
                log.error("E153", f"link endpoint {ep!r}: no device {dev_name!r}", path=".".join(map(str, path + ("endpoints", j))),
                          position=loaded.where(*path, "endpoints", j), hint="declare it under topology.devices or fix the name")
                break
            ends.append((dev, port_name))
        if len(ends) != 2:
            continue
        (a, a_port), (b, b_port) = ends
        is_host = "host" in (a.role, b.role)
        speed = spec.speed or default_speed
        names = []
        for dev, port_name in ends:
            platform = _platform_or_none(dev.platform) if dev.is_switch else None
            if port_name:
                port = dev.next_port
                dev.next_port += 1
                names.append((port_name, port, platform.lanes_per_port if platform else 0))
            else:
                names.append(ports.next(dev, platform, 1))
        (a_if, a_p, a_lanes), (b_if, b_p, b_lanes) = names
        kind_a, kind_b = _link_kinds(a, b)
        a_itf = Interface(a_if, a_p, speed, mtu, kind_a, peer=b.name, peer_interface=b_if,
                          adaptive_routing=bool(spec.adaptive_routing), lanes=a_lanes)
        b_itf = Interface(b_if, b_p, speed, mtu, kind_b, peer=a.name, peer_interface=a_if,
                          adaptive_routing=bool(spec.adaptive_routing), lanes=b_lanes)
        a.interfaces.append(a_itf)
        b.interfaces.append(b_itf)
        if is_host:
            sw, sw_if, sw_itf, host, host_if, host_itf = (
                (a, a_if, a_itf, b, b_if, b_itf) if a.role != "host" else (b, b_if, b_itf, a, a_if, a_itf))
            links.append(Link(sw.name, sw_if, host.name, host_if, speed, "host", net_name, a_itf=sw_itf, b_itf=host_itf))
        else:
            links.append(Link(a.name, a_if, b.name, b_if, speed, "fabric", net_name, a_itf=a_itf, b_itf=b_itf))


_TIER = {"host": 0, "leaf": 1, "spine": 2, "super-spine": 3}


def _link_kinds(a: Device, b: Device) -> tuple[str, str]:
    """Interface kinds for an explicit link, from the tiers of its two ends."""
    if a.role == "host":
        return "nic", "host"
    if b.role == "host":
        return "host", "nic"
    ta, tb = _TIER[a.role], _TIER[b.role]
    if ta < tb:
        return "uplink", "downlink"
    if ta > tb:
        return "downlink", "uplink"
    return "uplink", "uplink"  # same tier (e.g. a leaf pair): both sides treat it as fabric
