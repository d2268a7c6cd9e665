"""Semantic checks a fabric engineer would want; each problem is a Diagnostic with the intent position.

Per-device checks are computed once per "shape" (network, role, platform, ASIC,
port speeds) so that a 5,000-switch fabric costs as much as a handful.
"""
from __future__ import annotations

from collections import defaultdict

from hpnctl.design.addressing import few
from hpnctl.design.buffers import buffer_budget, lossless_mtu
from hpnctl.design.fabric import Fabric
from hpnctl.design.qos import ClassPlan, QosPlan
from hpnctl.diagnostics import DiagnosticLog
from hpnctl.intent import LoadedIntent
from hpnctl.intent.schema import Network
from hpnctl.platforms import get_asic, get_platform
from hpnctl.units import format_bytes, format_speed


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def check_qos(loaded: LoadedIntent, net_name: str, net: Network, plan: QosPlan, log: DiagnosticLog) -> None:
    """Checks of the class table itself (no device needed)."""
    at = loaded.where
    # A DSCP in two classes.
    owner: dict[int, ClassPlan] = {}
    for cls in plan.classes:
        for d in cls.dscp:
            if d in owner:
                log.error("E201", f"DSCP {d} is in class {owner[d].name!r} and in class {cls.name!r}",
                          path=_dotted(cls.path + ("dscp",)), position=at(*cls.path, "dscp"),
                          hint="a DSCP value selects exactly one class; remove it from one of them")
            else:
                owner[d] = cls
    defaults = [c for c in plan.classes if net.qos.classes[c.name].dscp == "default"]
    if len(defaults) > 1:
        log.error("E217", f"classes {', '.join(repr(c.name) for c in defaults)} all claim the default DSCPs",
                  path=_dotted(defaults[1].path + ("dscp",)), position=at(*defaults[1].path, "dscp"))
    elif not defaults:
        log.warning("W217", "no class has `dscp: default`; unclassified traffic goes to TC 0",
                    path=f"networks.{net_name}.qos.classes", position=at("networks", net_name, "qos", "classes"))
    # Two classes on one queue (or TC) with different policies.
    for queue, members in plan.by_queue().items():
        for other in members[1:]:
            first = members[0]
            if _policy(first) != _policy(other):
                log.error("E202", f"classes {first.name!r} and {other.name!r} share queue {queue} with different policies "
                          f"({_policy_text(first)} vs {_policy_text(other)})",
                          path=_dotted(other.path), position=at(*other.path),
                          hint="give them the same scheduler/ECN/PFC/buffer, or separate queues")
    by_tc: dict[int, ClassPlan] = {}
    for cls in plan.classes:
        if cls.tc in by_tc and by_tc[cls.tc].queue != cls.queue:
            log.error("E202", f"TC {cls.tc} maps to queue {by_tc[cls.tc].queue} in {by_tc[cls.tc].name!r} and to queue {cls.queue} in {cls.name!r}",
                      path=_dotted(cls.path + ("queue",)), position=at(*cls.path))
        by_tc.setdefault(cls.tc, cls)
    # DWRR shares must add up to 100 % (counting each queue once).
    shares = {c.queue: c.bandwidth_percent for c in plan.classes if c.scheduler == "dwrr"}
    total = sum(shares.values())
    if shares and abs(total - 100) > 0.01:
        log.error("E203", f"DWRR bandwidth_percent adds up to {total:g}%, not 100% "
                  f"({', '.join(f'{c.name} {c.bandwidth_percent:g}%' for c in plan.classes if c.scheduler == 'dwrr')})",
                  path=f"networks.{net_name}.qos.classes", position=at("networks", net_name, "qos", "classes"),
                  hint="the shares split what strict queues leave; make them sum to 100")
    # ECN: profile exists, Kmin < Kmax.
    for cls in plan.classes:
        if not cls.ecn_enabled:
            continue
        if cls.ecn_profile and cls.ecn_profile not in plan.profiles:
            log.error("E216", f"class {cls.name!r}: unknown ECN profile {cls.ecn_profile!r}",
                      path=_dotted(cls.path + ("ecn", "profile")), position=at(*cls.path, "ecn", "profile"),
                      hint=f"define it under qos.ecn_profiles or use one of: {', '.join(sorted(plan.profiles))}")
            continue
        t = plan.ecn_at(cls, 100_000)
        if t.kmin >= t.kmax:
            log.error("E205", f"class {cls.name!r}: ECN Kmin {format_bytes(t.kmin)} is not below Kmax {format_bytes(t.kmax)}",
                      path=_dotted(cls.path + ("ecn",)), position=at(*cls.path, "ecn"),
                      hint="marking ramps from Kmin to Kmax: Kmin must be smaller")
    # Alltoall must be served before AllReduce (the point of separating them).
    kinds = {c.kind: c for c in plan.classes}
    a2a, ar = kinds.get("alltoall"), kinds.get("allreduce")
    if a2a and ar and not _served_before(a2a, ar):
        log.error("E209", f"Alltoall class {a2a.name!r} ({_sched_text(a2a)}) is not served before AllReduce class {ar.name!r} ({_sched_text(ar)})",
                  path=_dotted(a2a.path + ("scheduler",)), position=at(*a2a.path, "scheduler"),
                  hint="make alltoall strict (or a higher strict queue), or give it the larger DWRR share")
    if a2a and a2a.ecn_enabled:
        log.warning("W221", f"ECN is on for the Alltoall class {a2a.name!r}; HPN designs turn it off so expert-parallel bursts are not throttled",
                    path=_dotted(a2a.path + ("ecn",)), position=at(*a2a.path, "ecn"))
    cnp = kinds.get("cnp")
    if cnp and cnp.scheduler != "strict":
        log.warning("W220", f"CNP class {cnp.name!r} is not strict priority; late CNPs make DCQCN react late",
                    path=_dotted(cnp.path + ("scheduler",)), position=at(*cnp.path, "scheduler"))
    # PFC on a class with no headroom: its PG is shared with lossy classes (no lossless PG to reserve headroom for).
    lossy_pgs = {c.pg for c in plan.classes if not c.lossless}
    for cls in plan.classes:
        if cls.lossless and (cls.pg in lossy_pgs or cls.pg == 0):
            log.error("E210", f"class {cls.name!r} has PFC on TC {cls.tc}, but its priority group {cls.pg} is lossy, so no headroom is reserved for it",
                      path=_dotted(cls.path + ("priority_group",)), position=at(*cls.path, "priority_group"),
                      hint="give the lossless class its own priority group (default: its TC)")


def _served_before(a: ClassPlan, b: ClassPlan) -> bool:
    if a.scheduler == "strict" and b.scheduler != "strict":
        return True
    if a.scheduler == "strict" and b.scheduler == "strict":
        return a.queue > b.queue  # among strict queues the higher index is served first
    if a.scheduler == "dwrr" and b.scheduler == "dwrr":
        return (a.bandwidth_percent or 0) > (b.bandwidth_percent or 0)
    return False


def _sched_text(c: ClassPlan) -> str:
    return f"strict, queue {c.queue}" if c.scheduler == "strict" else f"DWRR {c.bandwidth_percent:g}%"


def _policy(c: ClassPlan) -> tuple:
    return (c.scheduler, c.bandwidth_percent, c.ecn_enabled, c.ecn_profile, c.lossless, c.reserve_bytes, c.alpha, c.static_limit)


def _policy_text(c: ClassPlan) -> str:
    return f"{_sched_text(c)}, ECN {'on' if c.ecn_enabled else 'off'}, PFC {'on' if c.lossless else 'off'}"


# ---------------------------------------------------------------- per device shape


def check_devices(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog) -> None:
    """Platform features, ASIC limits and buffers, per device shape."""
    shapes: dict[tuple, list[str]] = defaultdict(list)
    for dev in fabric.switches():
        speeds = tuple(sorted({i.speed_mbps for i in dev.interfaces}))
        shapes[(dev.network, dev.role, dev.platform, dev.asic, speeds, len(dev.interfaces), dev.adaptive_routing)].append(dev.name)
    unsupported: dict[tuple, list[str]] = defaultdict(list)
    for (net_name, role, platform_name, asic_name, speeds, _, ar), names in shapes.items():
        net = loaded.intent.networks[net_name]
        plan = fabric.networks[net_name].qos
        platform = get_platform(platform_name)
        asic = get_asic(asic_name)
        for feature in requested_features(net, plan, ar):
            support = platform.supports(feature)
            if not support.supported:
                unsupported[(net_name, platform_name, feature, support.reason)].extend(names)
        bad_fields = [f for f in net.routing.ecmp.hash_fields if f not in platform.hash_fields_supported]
        if bad_fields:
            log.error("E211", f"{platform_name} cannot hash ECMP on {', '.join(bad_fields)} ({len(names)} device(s): {few(names)})",
                      path=f"networks.{net_name}.routing.ecmp.hash_fields",
                      position=loaded.where("networks", net_name, "routing", "ecmp", "hash_fields"),
                      hint=f"{platform_name} hashes on: {', '.join(platform.hash_fields_supported)}")
        _check_asic(loaded, net_name, role, platform_name, asic, plan, fabric.devices[names[0]], names, log,
                    lossless_mtu(loaded.intent.fabric))
    for (net_name, platform_name, feature, reason), names in unsupported.items():
        net = loaded.intent.networks[net_name]
        optional = feature in net.optional_features or _class_optional(fabric.networks[net_name].qos, feature)
        where = _feature_path(net_name, feature)
        text = f"{feature} is not supported on {platform_name} ({len(names)} device(s): {few(names)}): {reason}"
        if optional:
            log.warning("W211", text, path=_dotted(where), position=loaded.where(*where))
        else:
            log.error("E211", text, path=_dotted(where), position=loaded.where(*where),
                      hint=f"add {feature} to networks.{net_name}.optional_features to accept this, or change the platform")
    fabric.unsupported = dict(_by_device(unsupported))  # device → [(feature, reason)]


def _by_device(unsupported: dict) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (_, _, feature, reason), names in unsupported.items():
        for n in names:
            out[n].append((feature, reason))
    return out


def _class_optional(plan: QosPlan, feature: str) -> bool:
    related = [c for c in plan.classes if (feature in ("pfc", "pfc-watchdog") and c.lossless)
               or (feature == "ecn" and c.ecn_enabled)
               or (feature == "buffers" and (c.reserve_bytes or c.reserve_percent or c.alpha or c.static_limit))]
    return bool(related) and all(c.optional for c in related)


def _feature_path(net_name: str, feature: str) -> tuple:
    base = ("networks", net_name)
    return {
        "adaptive-routing": base + ("adaptive_routing",), "bfd": base + ("routing", "bfd"),
        "ecmp-hash": base + ("routing", "ecmp"), "pfc-watchdog": base + ("qos", "pfc", "watchdog"),
    }.get(feature, base + ("qos", "classes"))


def requested_features(net: Network, plan: QosPlan, adaptive_routing: bool) -> list[str]:
    """The platform features this network's intent needs on a device."""
    feats = ["bgp", "ecmp-hash", "scheduler"]
    if net.routing.bfd.enabled:
        feats.append("bfd")
    if any(c.ecn_enabled for c in plan.classes):
        feats.append("ecn")
    if plan.lossless_priorities:
        feats.append("pfc")
        if net.qos.pfc.watchdog.enabled:
            feats.append("pfc-watchdog")
    if any(c.reserve_bytes or c.reserve_percent or c.alpha or c.static_limit for c in plan.classes):
        feats.append("buffers")
    if adaptive_routing:
        feats.append("adaptive-routing")
    return feats


def _check_asic(loaded: LoadedIntent, net_name: str, role: str, platform_name: str, asic, plan: QosPlan, dev,
                names: list[str], log: DiagnosticLog, mtu: int) -> None:
    at = loaded.where
    who = f"{'leaves' if role == 'leaf' else role + 's'} on {asic.name} ({len(names)} device(s): {few(names, 3)})"
    qos_path = ("networks", net_name, "qos")
    platform = get_platform(platform_name)
    if len(plan.lossless_priorities) > asic.lossless_max and platform.supports("pfc").supported:
        log.error("E204", f"{len(plan.lossless_priorities)} lossless priorities ({', '.join(map(str, plan.lossless_priorities))}) "
                  f"but {asic.name} supports {asic.lossless_max} — {who}",
                  path=_dotted(qos_path + ("classes",)), position=at(*qos_path, "classes"),
                  hint="fewer lossless classes, or pick another ASIC for this role (asics:)")
    for cls in plan.classes:
        if cls.queue >= asic.queues:
            log.error("E218", f"class {cls.name!r} uses queue {cls.queue}, {asic.name} has {asic.queues} queues per port",
                      path=_dotted(cls.path + ("queue",)), position=at(*cls.path))
    if not platform.supports("buffers").supported:
        return
    budget = buffer_budget(dev, plan, asic, mtu, with_headroom=platform.supports("pfc").supported)
    if budget.shared_bytes <= 0:
        log.error("E208", f"buffer reservations exceed the ASIC buffer: {format_bytes(budget.reserved_bytes)} reserved + "
                  f"{format_bytes(budget.headroom_bytes)} PFC headroom over {budget.ports} ports > {format_bytes(asic.buffer_bytes)} — {who}",
                  path=_dotted(qos_path + ("classes",)), position=at(*qos_path, "classes"),
                  hint="lower buffer.reserve / reserve_percent, or the cable length / lossless classes")
        return
    port_speeds = sorted({i.speed_mbps for i in dev.interfaces})
    for cls in plan.classes:
        if not cls.ecn_enabled or (cls.ecn_profile and cls.ecn_profile not in plan.profiles):
            continue
        limit = budget.queue_limit(cls)
        xoff = budget.xoff_point(plan.pg_alpha)
        for speed in port_speeds:
            t = plan.ecn_at(cls, speed)
            if t.kmax > limit:
                log.error("E206", f"class {cls.name!r} at {format_speed(speed)}: ECN Kmax {format_bytes(t.kmax)} is beyond the queue's "
                          f"buffer limit {format_bytes(limit)} — {who}",
                          path=_dotted(cls.path + ("ecn",)), position=at(*cls.path, "ecn"),
                          hint="a queue never reaches Kmax, so marking never saturates: lower Kmax or raise the buffer alpha/reserve")
                break
            if cls.lossless and t.kmax > xoff:
                log.error("E207", f"class {cls.name!r} at {format_speed(speed)}: ECN Kmax {format_bytes(t.kmax)} is above the PFC XOFF point "
                          f"{format_bytes(xoff)} — PFC would pause before ECN marks fully — {who}",
                          path=_dotted(cls.path + ("ecn",)), position=at(*cls.path, "ecn"),
                          hint="ECN must act before PFC: lower Kmax (or the profile's burst_tolerance)")
                break
