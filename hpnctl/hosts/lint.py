"""Consistency lint between the switches and the hosts of one intent (`hpnctl lint`, part of validate).

Each rule catches a classic fabric-breaking mistake where the two ends disagree:

  L300  error    a hosts: setting names a class, network or DCQCN profile that does not exist
  L301  error    a library marks a DSCP that no switch class maps (it lands in the default class)
  L302  error    the NICs' PFC priorities differ from the switches' lossless priorities
  L303  error    the NICs' CNP DSCP (hosts.cnp) does not land in a strict-priority queue on the switches
  L304  warning  ECN is off on a switch queue whose traffic relies on DCQCN
  L305  error    DCQCN is enabled on the NICs for a class whose switch queue never marks ECN
  L306  error    the NIC MTU is above the leaf's host-port MTU (warning when below)
  L307  error    KV-cache traffic leaks onto the compute fabric
  L308  error    the NICs put a library's DSCP (or the CNPs) in another priority than the switches

Rules run per network, never per host: all hosts of a network share their settings.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from hpnctl.diagnostics import DiagnosticLog
from hpnctl.hosts.design import HostsPlan, Marking, NicPlan, _dotted, _setting_path, plan_hosts
from hpnctl.intent import LoadedIntent

if TYPE_CHECKING:  # hpnctl.design imports this module: no runtime import back
    from hpnctl.design.fabric import Fabric
    from hpnctl.design.qos import ClassPlan

# Classes whose RDMA traffic is congestion-controlled by DCQCN in an HPN design.  Alltoall is not:
# DeepEP's README advises congestion control off for expert-parallel traffic (reference §5).
RELIES_ON_DCQCN = ("nccl", "kvcache")


def lint(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog) -> HostsPlan | None:
    """Add every host↔switch inconsistency to `log`; returns the host plan (None: the fabric has no hosts)."""
    if not fabric.hosts():
        return None
    plan = plan_hosts(loaded, fabric, log)
    for m in _all_markings(plan):
        _l301_unmapped(loaded, plan.nics[m.network], m, log)
    for nic in plan.nics.values():
        _l302_pfc(loaded, nic, log)
        _l303_cnp(loaded, nic, log)
        _l305_dcqcn_without_ecn(loaded, nic, log)
        _l306_mtu(loaded, nic, log)
        _l308_priorities(loaded, plan, nic, log)
    _l304_ecn_off(loaded, plan, log)
    _l307_kvcache(loaded, fabric, plan, log)
    return plan


def _all_markings(plan: HostsPlan) -> list[Marking]:
    """Library markings first, then communicators written under hosts: (derived ones repeat a library's)."""
    return list(plan.markings.values()) + [m for m in plan.communicators.values() if not m.mirror]


def _where(loaded: LoadedIntent, path: tuple) -> dict:
    return {"path": _dotted(path), "position": loaded.where(*path)}


def _queue_text(c: ClassPlan) -> str:
    sched = "strict" if c.scheduler == "strict" else f"DWRR {c.bandwidth_percent:g}%"
    return f"queue {c.queue}, {sched}"


def _l301_unmapped(loaded: LoadedIntent, nic: NicPlan, m: Marking, log: DiagnosticLog) -> None:
    if m.mapped:
        return
    lands = (f"the default class {m.cls.name!r} ({_queue_text(m.cls)})" if m.cls
             else f"TC {nic.qos.dscp_to_tc[m.dscp]}")
    log.error("L301", f"{m.label} uses DSCP {m.dscp} (ToS {m.tos}), which no class of network {m.network} maps: "
              f"the switches put it in {lands}",
              hint="use a class name instead of a DSCP, or add the DSCP to the class it belongs to",
              **_where(loaded, m.path))


def _l302_pfc(loaded: LoadedIntent, nic: NicPlan, log: DiagnosticLog) -> None:
    switch, host = set(nic.qos.lossless_priorities), set(nic.pfc_priorities)
    if switch == host:
        return
    parts = [f"the switches pause priority {p}, the NICs do not" for p in sorted(switch - host)]
    parts += [f"the NICs pause priority {p}, the switches do not" for p in sorted(host - switch)]
    path = _setting_path(loaded.intent.hosts, nic.network, "pfc_priorities")
    log.error("L302", f"the NICs' PFC priorities ({_ints(host)}) differ from the lossless priorities of network "
              f"{nic.network}'s switches ({_ints(switch)}): {'; '.join(parts)}",
              hint="drop pfc_priorities to inherit the switches' lossless classes", **_where(loaded, path))


def _l303_cnp(loaded: LoadedIntent, nic: NicPlan, log: DiagnosticLog) -> None:
    """Only a CNP DSCP written under hosts.cnp is checked: one derived from the switches' cnp class agrees
    by construction (a non-strict cnp class is W220's business), and without a cnp class the intent says
    nothing to check against."""
    hs = loaded.intent.hosts
    if hs.cnp.dscp is None or not nic.dcqcn_priorities:
        return
    qos = nic.qos
    owner = next((c for c in qos.classes if nic.cnp_dscp in c.dscp), None)
    landing = owner or nic.class_of_tc(qos.dscp_to_tc[nic.cnp_dscp])
    if landing is not None and landing.scheduler == "strict":
        return
    what = f"class {landing.name!r} ({_queue_text(landing)})" if landing else f"TC {qos.dscp_to_tc[nic.cnp_dscp]}"
    log.error("L303", f"CNPs leave the NICs with DSCP {nic.cnp_dscp}, which network {nic.network}'s switches put "
              f"in {what}, not a strict-priority queue: CNPs wait behind data and DCQCN reacts late",
              hint="use the DSCP of the switches' strict cnp class (NVIDIA: DSCP 48, TC 6, strict), or drop "
              "hosts.cnp.dscp to inherit it", **_where(loaded, ("hosts", "cnp", "dscp")))


def _l304_ecn_off(loaded: LoadedIntent, plan: HostsPlan, log: DiagnosticLog) -> None:
    hs = loaded.intent.hosts
    if not hs.dcqcn.enabled or hs.dcqcn.classes is not None:
        return  # DCQCN off, or its classes chosen on purpose (L305 checks those)
    seen: set[tuple[str, str]] = set()
    for m in plan.markings.values():
        if m.role not in RELIES_ON_DCQCN or m.cls is None or m.cls.ecn_enabled or not m.mapped:
            continue
        key = (m.network, m.cls.name)
        if key in seen:
            continue
        seen.add(key)
        left = "PFC pauses" if m.cls.lossless else "drops"
        log.warning("L304", f"ECN is off on queue {m.cls.queue} (class {m.cls.name!r}) of network {m.network}'s "
                    f"switches, but its traffic ({m.label}) relies on DCQCN: no switch marks it, so its senders "
                    f"never slow down and congestion is left to {left}",
                    hint="turn ECN on for the class (e.g. `ecn: ignore-microbursts`), or list the classes that run "
                    "DCQCN in hosts.dcqcn.classes to run this one without it on purpose",
                    **_where(loaded, m.cls.path + ("ecn",)))


def _l305_dcqcn_without_ecn(loaded: LoadedIntent, nic: NicPlan, log: DiagnosticLog) -> None:
    hs = loaded.intent.hosts
    if not hs.dcqcn.enabled or hs.dcqcn.classes is None:
        return
    for cls in nic.dcqcn_classes:
        if cls.ecn_enabled:
            continue
        index = hs.dcqcn.classes.index(cls.name)
        log.error("L305", f"DCQCN is enabled on the NICs for class {cls.name!r} (priority {cls.tc}), but its queue "
                  f"{cls.queue} never marks ECN on network {nic.network}'s switches: the NICs never get a CNP for it",
                  hint=f"remove {cls.name!r} from hosts.dcqcn.classes, or turn ECN on for the class",
                  **_where(loaded, ("hosts", "dcqcn", "classes", index)))


def _l306_mtu(loaded: LoadedIntent, nic: NicPlan, log: DiagnosticLog) -> None:
    path = _setting_path(loaded.intent.hosts, nic.network, "mtu")
    for leaf_mtu in nic.leaf_mtus:
        if nic.mtu > leaf_mtu:
            log.error("L306", f"the NIC MTU {nic.mtu} is above the MTU {leaf_mtu} of network {nic.network}'s leaf "
                      f"host ports: the leaves drop every packet longer than {leaf_mtu} bytes",
                      hint="drop the NIC mtu to inherit the leaf's (fabric.host_mtu), or raise fabric.host_mtu to it",
                      **_where(loaded, path))
        elif nic.mtu < leaf_mtu:
            log.warning("L306", f"the NIC MTU {nic.mtu} is below the MTU {leaf_mtu} of network {nic.network}'s leaf "
                        f"host ports: RoCE runs with a smaller path MTU than the fabric carries",
                        hint="set fabric.host_mtu to the NIC MTU, or drop the NIC mtu", **_where(loaded, path))


def _l307_kvcache(loaded: LoadedIntent, fabric: Fabric, plan: HostsPlan, log: DiagnosticLog) -> None:
    kv_networks = [n for n, np in fabric.networks.items() if np.spec.kind == "kvcache"]
    if not kv_networks:
        return
    hs = loaded.intent.hosts
    kv_name = hs.kvcache.network
    if kv_name in fabric.networks and fabric.networks[kv_name].spec.kind != "kvcache":
        log.error("L307", f"KV-cache transfers are set to run on network {kv_name} ({fabric.networks[kv_name].spec.kind}),"
                  f" but they have their own network {', '.join(kv_networks)}",
                  hint="drop hosts.kvcache.network, or name the kvcache network", **_where(loaded, ("hosts", "kvcache", "network")))
    for net_name, np in fabric.networks.items():
        if np.spec.kind != "compute":
            continue
        for cls in np.qos.classes:
            if cls.kind == "kvcache":
                log.error("L307", f"network {net_name} (compute) has a KV-cache class {cls.name!r}, but KV-cache "
                          f"traffic has its own network {', '.join(kv_networks)}",
                          hint="remove the class: KV transfers belong on the KV-cache network",
                          **_where(loaded, cls.path))
    kv = plan.markings.get("kvcache")
    coll = plan.collectives_network
    if kv is None or coll is None:
        return
    compute = plan.nics[coll]
    collective_classes: dict[str, Marking] = {}
    for m in _all_markings(plan):
        if m.network == coll and m.cls is not None:
            collective_classes.setdefault(m.cls.name, m)
    owner = next((c for c in compute.qos.classes if kv.dscp in c.dscp), None)
    if owner is not None and owner.name in collective_classes:
        m = collective_classes[owner.name]
        log.error("L307", f"the KV-cache DSCP {kv.dscp} (class {kv.class_name!r} of network {kv.network}) is class "
                  f"{owner.name!r} on network {coll}'s switches: KV transfers that reach the compute fabric would "
                  f"share queue {owner.queue} with {m.label}",
                  hint="give KV-cache traffic a DSCP that the compute network leaves in its default class",
                  **_where(loaded, kv.path))


def _l308_priorities(loaded: LoadedIntent, plan: HostsPlan, nic: NicPlan, log: DiagnosticLog) -> None:
    hs = loaded.intent.hosts
    path = _setting_path(hs, nic.network, "dscp_to_priority")
    seen: set[int] = set()
    for m in _all_markings(plan):
        if m.network != nic.network or m.dscp in seen:
            continue
        seen.add(m.dscp)
        switch_tc = nic.qos.dscp_to_tc[m.dscp]
        if m.priority != switch_tc:
            log.error("L308", f"the NICs put DSCP {m.dscp} ({m.label}) in priority {m.priority}, network "
                      f"{nic.network}'s switches in TC {switch_tc}: PFC pauses and ETS act on another queue than "
                      f"the switches expect", hint="drop the dscp_to_priority entry to inherit the switches' map",
                      **_where(loaded, path + (m.dscp,)))
    if hs.cnp.priority is None:
        return  # derived from the switches' TC of the CNP DSCP: agrees by construction
    switch_tc = nic.qos.dscp_to_tc[nic.cnp_dscp]
    if nic.dcqcn_priorities and nic.cnp_priority != switch_tc:
        cnp_path = ("hosts", "cnp", "priority")
        log.error("L308", f"CNPs leave the NICs in priority {nic.cnp_priority}, but network {nic.network}'s switches "
                  f"put their DSCP {nic.cnp_dscp} in TC {switch_tc}", hint="drop hosts.cnp.priority to inherit "
                  "the cnp class's TC", **_where(loaded, cnp_path))


def _ints(values: set[int]) -> str:
    return ",".join(str(v) for v in sorted(values)) or "none"
