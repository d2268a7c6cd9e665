"""The host end of the QoS plan: per network, what the NICs do; per library, what it marks.

Everything is derived from the switch side of the same intent unless `hosts:` says
otherwise: the NIC's DSCP → priority map is the switches' DSCP → TC map (a NIC
priority is a switch TC), its PFC priorities are the switches' lossless
priorities, its ETS is the switches' strict/DWRR classes, the CNP marking is
the switches' cnp class, the MTU is the leaf's host-port MTU.  A library's
marking is a ToS byte: DSCP << 2 (reference §5).

Plans are per network, not per host: every host of a network gets the same
NIC settings, so a fabric with thousands of servers costs one plan per network.
References that do not resolve (unknown class, network, profile) are L300
diagnostics; the cross-checks between both ends are in hpnctl.hosts.lint.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hpnctl.diagnostics import DiagnosticLog
from hpnctl.hosts.dcqcn import (BUILTIN_PROFILES, NVIDIA_CNP_DSCP, NVIDIA_CNP_PRIORITY, NVIDIA_DEFAULT,
                                PARAM_NAMES, cc_prio_mask)
from hpnctl.intent import LoadedIntent
from hpnctl.intent.hosts_schema import HostSettings, NicSettings

if TYPE_CHECKING:  # hpnctl.design imports this package (design() runs the lint): no runtime import back
    from hpnctl.design.fabric import Fabric
    from hpnctl.design.qos import ClassPlan, QosPlan

# What each marking is called where the user sees it.
LABELS = {"nccl": "NCCL_IB_TC", "nvshmem": "NVSHMEM_IB_TRAFFIC_CLASS", "fifo": "NCCL_IB_FIFO_TC",
          "kvcache": "the KV-cache traffic class"}
DEFAULT_KIND = {"nccl": "allreduce", "nvshmem": "alltoall", "fifo": "control", "kvcache": "kvcache"}


@dataclass
class Marking:
    """One library or communicator setting: the DSCP it puts on its packets and where they land."""

    role: str  # nccl | nvshmem | fifo | kvcache | communicator
    label: str  # NCCL_IB_TC, communicator 'ep' …
    network: str
    dscp: int
    cls: ClassPlan | None  # the switch class the DSCP lands in (None: no class at all, TC 0)
    mapped: bool  # a class lists the DSCP explicitly (False: it falls into the default class)
    explicit: bool  # written under hosts: (False: derived from a class)
    path: tuple  # where to point a diagnostic
    sl: int = 0
    priority: int = 0  # the NIC's priority for the DSCP
    mirror: bool = False  # a derived communicator repeating a library's marking (not linted twice)

    @property
    def tos(self) -> int:
        return self.dscp << 2

    @property
    def class_name(self) -> str:
        return self.cls.name if self.cls else ""


@dataclass
class NicPlan:
    """What every NIC of one network is set to."""

    network: str
    kind: str
    settings: NicSettings
    settings_path: tuple  # hosts.nic or hosts.networks.<net>
    qos: QosPlan
    dscp_to_priority: dict[int, int]
    pfc_priorities: list[int]
    ets: list[dict]  # per NIC TC 0..7: {"tc", "tsa": strict|ets, "bw", "classes"}
    cnp_dscp: int
    cnp_priority: int
    mtu: int
    leaf_mtus: list[int]  # MTUs of the leaf ports facing this network's hosts
    cable_length_m: float
    dcqcn_enabled: bool
    dcqcn_classes: list[ClassPlan]
    dcqcn_profile: str
    dcqcn: dict[str, int]  # resolved parameter values, in PARAMS order
    hosts: int = 0

    @property
    def dcqcn_priorities(self) -> list[int]:
        return sorted({c.tc for c in self.dcqcn_classes}) if self.dcqcn_enabled else []

    @property
    def cc_prio_mask(self) -> int:
        return cc_prio_mask(self.dcqcn_priorities)

    def class_of_tc(self, tc: int) -> ClassPlan | None:
        return next((c for c in self.qos.classes if c.tc == tc), None)


@dataclass
class HostsPlan:
    settings: HostSettings
    nics: dict[str, NicPlan]  # network → plan (networks that have hosts)
    collectives_network: str | None
    kv_network: str | None
    markings: dict[str, Marking]  # nccl, nvshmem, fifo, kvcache (those that resolve)
    communicators: dict[str, Marking]
    nic_network: dict[tuple[str, str], str] = field(default_factory=dict)  # (host, interface) → network

    def network_of(self, host: str, interface: str) -> str | None:
        return self.nic_network.get((host, interface))


def plan_hosts(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog | None = None) -> HostsPlan:
    """The host plan of a designed fabric; unresolvable references go to `log` as L300."""
    log = log if log is not None else DiagnosticLog()
    hs = loaded.intent.hosts
    nic_network: dict[tuple[str, str], str] = {}
    leaf_mtus: dict[str, set[int]] = {}
    hosts_per_net: dict[str, set[str]] = {}
    for lk in fabric.links:
        if lk.kind != "host":
            continue
        nic_network[(lk.b, lk.b_if)] = lk.network
        leaf_mtus.setdefault(lk.network, set()).add(lk.a_itf.mtu if lk.a_itf else loaded.intent.fabric.mtu)
        hosts_per_net.setdefault(lk.network, set()).add(lk.b)
    for net_name in hs.networks:
        if net_name not in fabric.networks:
            _unknown(loaded, log, "network", net_name, list(fabric.networks), ("hosts", "networks", net_name))
    nics: dict[str, NicPlan] = {}
    for net_name in fabric.networks:
        if net_name in hosts_per_net:
            nics[net_name] = _nic_plan(loaded, fabric, net_name, sorted(leaf_mtus[net_name]), log)
            nics[net_name].hosts = len(hosts_per_net[net_name])
    _check_dcqcn_classes(loaded, fabric, log)
    coll_net = _pick_network(loaded, fabric, hs.collectives.network, "compute", ("hosts", "collectives", "network"), log)
    kv_net = _pick_network(loaded, fabric, hs.kvcache.network, "kvcache", ("hosts", "kvcache", "network"), log,
                           fallback=False)
    markings: dict[str, Marking] = {}
    communicators: dict[str, Marking] = {}
    if coll_net in nics:
        plan = nics[coll_net]
        coll = hs.collectives
        for role in ("nccl", "nvshmem", "fifo"):
            m = _marking(loaded, plan, role, LABELS[role], getattr(coll, role), ("hosts", "collectives", role), log)
            if m is not None:
                markings[role] = m
        refs = dict(coll.communicators)
        derived = not refs
        if derived:  # ncclConfig_t.trafficClass of the DP and EP communicators (reference §5)
            for comm, role in (("allreduce", "nccl"), ("alltoall", "nvshmem")):
                if role in markings:
                    refs[comm] = markings[role].class_name if markings[role].mapped else markings[role].dscp
        for comm, ref in refs.items():
            path = ("hosts", "collectives", "communicators", comm)
            m = _marking(loaded, plan, "communicator", f"communicator {comm!r} (trafficClass)", ref, path, log,
                         explicit=not derived)
            if m is not None:
                m.mirror = derived
                communicators[comm] = m
        for name in coll.sl:
            if not any(c.name == name for c in plan.qos.classes):
                _unknown(loaded, log, "class", name, [c.name for c in plan.qos.classes],
                         ("hosts", "collectives", "sl", name), where=f"network {coll_net}")
    if kv_net in nics:
        m = _marking(loaded, nics[kv_net], "kvcache", LABELS["kvcache"], hs.kvcache.traffic_class,
                     ("hosts", "kvcache", "traffic_class"), log)
        if m is not None:
            markings["kvcache"] = m
    return HostsPlan(hs, nics, coll_net if coll_net in nics else None, kv_net if kv_net in nics else None,
                     markings, communicators, nic_network)


# ---------------------------------------------------------------- per network


def _merged_nic(hs: HostSettings, net_name: str) -> tuple[NicSettings, tuple]:
    """hosts.nic with the keys written under hosts.networks.<net> on top."""
    over = hs.networks.get(net_name)
    if over is None:
        return hs.nic, ("hosts", "nic")
    update = {k: getattr(over, k) for k in over.model_fields_set}
    return hs.nic.model_copy(update=update), ("hosts", "networks", net_name)


def _setting_path(hs: HostSettings, net_name: str, key: str) -> tuple:
    """Where a NIC key was written (the network override when it sets the key)."""
    over = hs.networks.get(net_name)
    if over is not None and key in over.model_fields_set:
        return ("hosts", "networks", net_name, key)
    return ("hosts", "nic", key)


def _nic_plan(loaded: LoadedIntent, fabric: Fabric, net_name: str, leaf_mtus: list[int],
              log: DiagnosticLog) -> NicPlan:
    hs = loaded.intent.hosts
    net_plan = fabric.networks[net_name]
    qos: QosPlan = net_plan.qos
    nic, nic_path = _merged_nic(hs, net_name)
    dscp_to_priority = dict(qos.dscp_to_tc)
    if nic.dscp_to_priority:
        dscp_to_priority.update(nic.dscp_to_priority)
    pfc = sorted(set(nic.pfc_priorities)) if nic.pfc_priorities is not None else list(qos.lossless_priorities)
    cnp_cls = next((c for c in qos.classes if c.kind == "cnp"), None)
    cnp_dscp = hs.cnp.dscp if hs.cnp.dscp is not None else (cnp_cls.dscp[0] if cnp_cls and cnp_cls.dscp else NVIDIA_CNP_DSCP)
    # The NIC sends CNPs in the priority the switches give their DSCP (the NVIDIA default 6 only matters
    # to the reference: with cnp DSCP 48 in a TC 6 class both agree).
    cnp_prio = hs.cnp.priority if hs.cnp.priority is not None else qos.dscp_to_tc.get(cnp_dscp, NVIDIA_CNP_PRIORITY)
    if hs.dcqcn.classes is not None:
        dcqcn_classes = [c for c in qos.classes if c.name in hs.dcqcn.classes]
    else:
        dcqcn_classes = [c for c in qos.classes if c.ecn_enabled]
    profile = nic.dcqcn_profile or hs.dcqcn.profile
    profile_path = (_setting_path(hs, net_name, "dcqcn_profile") if nic.dcqcn_profile
                    else ("hosts", "dcqcn", "profile"))
    if profile is None:  # the NIC profile named like the switches' ECN profile of the DCQCN classes
        ecn_profiles = {c.ecn_profile for c in dcqcn_classes if c.ecn_profile}
        known = set(BUILTIN_PROFILES) | set(hs.dcqcn.profiles)
        profile = ecn_profiles.pop() if len(ecn_profiles) == 1 and next(iter(ecn_profiles)) in known else "nvidia-default"
    values = resolve_profile(loaded, profile, profile_path, log)
    mtu = nic.mtu if nic.mtu is not None else min(leaf_mtus)
    return NicPlan(
        network=net_name, kind=net_plan.spec.kind, settings=nic, settings_path=nic_path, qos=qos,
        dscp_to_priority=dscp_to_priority, pfc_priorities=pfc, ets=_ets(qos), cnp_dscp=cnp_dscp, cnp_priority=cnp_prio,
        mtu=mtu, leaf_mtus=leaf_mtus, cable_length_m=qos.cable_length_m, dcqcn_enabled=hs.dcqcn.enabled,
        dcqcn_classes=dcqcn_classes, dcqcn_profile=profile, dcqcn=values,
    )


def _ets(qos: QosPlan) -> list[dict]:
    """NIC egress scheduling per TC (= priority): the switches' strict classes strict, DWRR shares as ETS."""
    out = []
    for tc in range(8):
        members = [c for c in qos.classes if c.tc == tc]
        first = members[0] if members else None
        if first is not None and first.scheduler == "strict":
            out.append({"tc": tc, "tsa": "strict", "bw": 0, "classes": [c.name for c in members]})
        else:
            bw = int(round(first.bandwidth_percent or 0)) if first is not None else 0
            out.append({"tc": tc, "tsa": "ets", "bw": bw, "classes": [c.name for c in members]})
    ets = [e for e in out if e["tsa"] == "ets"]
    total = sum(e["bw"] for e in ets)
    if ets and total != 100:  # mlnx_qos wants the ETS shares to add up to exactly 100
        if total == 0:
            ets[0]["bw"] = 100
        else:
            max(ets, key=lambda e: e["bw"])["bw"] += 100 - total
    return out


def resolve_profile(loaded: LoadedIntent, name: str, path: tuple, log: DiagnosticLog) -> dict[str, int]:
    """Parameter values of a DCQCN profile (user profiles win over built-ins of the same name)."""
    user = loaded.intent.hosts.dcqcn.profiles
    chain: list[str] = []
    current = name
    while True:
        if current in chain:
            where = ("hosts", "dcqcn", "profiles", current, "base")
            message = f"DCQCN profiles {' → '.join(chain + [current])} form a cycle"
            if not any(d.code == "L300" and d.message == message for d in log.items):  # once, not per network
                log.error("L300", message, path=_dotted(where), position=loaded.where(*where))
            return dict(NVIDIA_DEFAULT)
        chain.append(current)
        if current in user:
            current = user[current].base
            continue
        if current in BUILTIN_PROFILES:
            break
        where = path if len(chain) == 1 else ("hosts", "dcqcn", "profiles", chain[-2], "base")
        _unknown(loaded, log, "DCQCN profile", current, sorted(set(BUILTIN_PROFILES) | set(user)), where)
        return dict(NVIDIA_DEFAULT)
    values = dict(NVIDIA_DEFAULT)
    values.update(BUILTIN_PROFILES[chain[-1]])
    for prof_name in reversed(chain[:-1]):
        prof = user[prof_name]
        for key in PARAM_NAMES:
            v = getattr(prof, key)
            if v is not None:
                values[key] = int(v)
    return {k: values[k] for k in PARAM_NAMES}


def _check_dcqcn_classes(loaded: LoadedIntent, fabric: Fabric, log: DiagnosticLog) -> None:
    names = loaded.intent.hosts.dcqcn.classes or []
    every = sorted({c.name for np in fabric.networks.values() for c in np.qos.classes})
    for i, name in enumerate(names):
        if name not in every:
            _unknown(loaded, log, "class", name, every, ("hosts", "dcqcn", "classes", i), where="any network")


def _pick_network(loaded: LoadedIntent, fabric: Fabric, name: str | None, kind: str, path: tuple,
                  log: DiagnosticLog, fallback: bool = True) -> str | None:
    if name is not None:
        if name not in fabric.networks:
            _unknown(loaded, log, "network", name, list(fabric.networks), path)
            return None
        return name
    for net_name, np in fabric.networks.items():
        if np.spec.kind == kind:
            return net_name
    return next(iter(fabric.networks), None) if fallback else None


# ---------------------------------------------------------------- markings


def _marking(loaded: LoadedIntent, plan: NicPlan, role: str, label: str, ref: int | str | None, path: tuple,
             log: DiagnosticLog, explicit: bool | None = None) -> Marking | None:
    """Resolve a class reference (name, DSCP, or None = the class of the role's default kind)."""
    qos = plan.qos
    if ref is None:
        cls = next((c for c in qos.classes if c.kind == DEFAULT_KIND.get(role, "")), None)
        if cls is None:
            return None
        dscp = _class_dscp(qos, cls)
        written = False
        path = cls.path
    elif isinstance(ref, str):
        cls = next((c for c in qos.classes if c.name == ref), None)
        if cls is None:
            _unknown(loaded, log, "class", ref, [c.name for c in qos.classes], path, where=f"network {plan.network}")
            return None
        dscp = _class_dscp(qos, cls)
        written = True
    else:
        dscp = ref
        written = True
    owner = next((c for c in qos.classes if dscp in c.dscp), None)
    landing = owner or _class_of_tc(qos, qos.dscp_to_tc[dscp])
    sl_by_class = loaded.intent.hosts.collectives.sl
    priority = plan.dscp_to_priority[dscp]
    sl = sl_by_class.get(landing.name, landing.tc) if landing else priority
    return Marking(role, label, plan.network, dscp, landing, owner is not None,
                   written if explicit is None else explicit, path, sl=sl, priority=priority)


def _class_dscp(qos: QosPlan, cls: ClassPlan) -> int:
    """The DSCP a sender uses for a class: its first listed DSCP (the default class: the lowest unclaimed)."""
    if cls.dscp:
        return cls.dscp[0]
    claimed = {d for c in qos.classes for d in c.dscp}
    return next(d for d in range(64) if d not in claimed)


def _class_of_tc(qos: QosPlan, tc: int) -> ClassPlan | None:
    return next((c for c in qos.classes if c.tc == tc), None)


# ---------------------------------------------------------------- helpers


def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _unknown(loaded: LoadedIntent, log: DiagnosticLog, what: str, name: str, known: list[str], path: tuple,
             where: str = "") -> None:
    if any(d.code == "L300" and d.path == _dotted(path) and repr(name) in d.message for d in log.items):
        return  # the same reference, resolved for another network
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else (f"known: {', '.join(known)}" if known else "")
    log.error("L300", f"unknown {what} {name!r}" + (f" in {where}" if where else ""), path=_dotted(path),
              position=loaded.where(*path), hint=hint)
