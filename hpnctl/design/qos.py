"""The QoS plan of a network: classes → DSCP/TC/queue/PG maps, schedulers, ECN per port speed, PFC headroom.

All arithmetic lives here (templates only print these numbers).

PFC headroom follows SONiC's Mellanox headroom calculator
(sonic-net/sonic-swss cfgmgr/buffer_headroom_mellanox.lua), summarised in
../shared/reference/dcqcn-pfc-hpn-numbers.md §2:

    cable_B  = 2 · len_m · speed_bps / 1.98e8 / 8         (light in cable: 1.98e8 m/s)
    resp_B   = pause_quanta[speed] · 512 / 8                (IEEE 802.3 31B.3.7)
    prop_B   = MTU + cable_B + mac_phy_delay + resp_B       (no gearbox)
    occ      = (100 − p + p · wcf) / 100                    (p = small-packet %, wcf = cell/64 if cell > 128 else 2·cell/(1+cell))
    xoff     = ceil1K(MTU + prop_B · occ)
    xon      = ceil1K(pipeline_latency)
    size     = xon + xoff

ECN profiles (kind):
    ignore-microbursts  Kmin = line_rate_bytes_per_µs · burst_tolerance_µs ; Kmax = kmax_factor · Kmin
                        (a burst shorter than burst_tolerance arriving at line rate builds less than
                        Kmin of queue, so it is never marked; DCQCN then reacts only to sustained load)
    linear              Kmin/Kmax given at 25G, scaled by speed/25G (HPCC artifact, run.py)
    fixed               Kmin/Kmax as written, at every speed
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from hpnctl.intent.schema import EcnProfile, Network, TrafficClass

# IEEE 802.3 31B.3.7 pause quanta per speed (Gb/s), as in SONiC's headroom calculator.
PAUSE_QUANTA = {10: 67, 25: 80, 40: 118, 50: 147, 100: 394, 200: 453, 400: 905, 800: 905}
LIGHT_IN_CABLE_M_S = 1.98e8

BUILTIN_ECN_PROFILES = {
    # The DCQCN paper's 40G setting (Zhu et al., SIGCOMM'15): 5 KB / 200 KB / 1 %.
    "dcqcn-paper": EcnProfile(kind="fixed", kmin=5_000, kmax=200_000, pmax=1),
    # HPCC artifact: 100 KB / 400 KB at 25G, scaled with speed, Pmax 20 %.
    "hpcc-linear": EcnProfile(kind="linear", kmin=100_000, kmax=400_000, pmax=20),
    # NVIDIA Cumulus RoCE default on TC3: 150 KB / 1500 KB.
    "nvidia-roce-default": EcnProfile(kind="fixed", kmin=150_000, kmax=1_500_000, pmax=100),
    # Ignore bursts shorter than 10 µs (see module docstring).
    "ignore-microbursts": EcnProfile(kind="ignore-microbursts", burst_tolerance=10.0, kmax_factor=4.0, pmax=20),
}

CLASS_KIND_BY_NAME = {"alltoall": "alltoall", "a2a": "alltoall", "ep": "alltoall", "allreduce": "allreduce",
                      "cnp": "cnp", "default": "default", "best-effort": "default", "kvcache": "kvcache",
                      "kv-cache": "kvcache", "control": "control", "storage": "storage"}


@dataclass(frozen=True)
class Headroom:
    speed_mbps: int
    cable_m: float
    xon: int
    xoff: int

    @property
    def size(self) -> int:
        return self.xon + self.xoff


@dataclass(frozen=True)
class EcnThresholds:
    kmin: int
    kmax: int
    pmax: float


@dataclass
class ClassPlan:
    name: str
    kind: str
    dscp: list[int]
    tc: int
    queue: int
    pg: int
    scheduler: str  # strict | dwrr
    bandwidth_percent: float | None
    lossless: bool
    ecn_enabled: bool
    ecn_profile: str | None
    ecn_spec: object  # the Ecn model (explicit thresholds or profile name)
    reserve_bytes: int | None  # per port; None = no guaranteed buffer
    reserve_percent: float | None
    alpha: float | None
    static_limit: int | None
    optional: bool
    path: tuple  # data path in the intent, for diagnostics

    @property
    def dynamic_th(self) -> int | None:
        """SAI/SONiC dynamic threshold exponent: alpha = 2^dynamic_th."""
        return None if self.alpha is None else int(round(math.log2(self.alpha)))

    @property
    def weight(self) -> int | None:
        """DWRR weight 1..100 (vendors take the percentage as the weight)."""
        return None if self.bandwidth_percent is None else max(1, min(100, int(round(self.bandwidth_percent))))


@dataclass
class QosPlan:
    classes: list[ClassPlan]
    dscp_to_tc: dict[int, int]
    tc_to_queue: dict[int, int]
    tc_to_pg: dict[int, int]
    lossless_priorities: list[int]
    profiles: dict[str, EcnProfile]
    cable_length_m: float
    small_packet_percent: int
    watchdog: object  # PfcWatchdog
    pg_alpha: float = 0.125  # lossless PG dynamic threshold used for the XOFF point (SONiC default dynamic_th -3)
    _ecn_cache: dict = field(default_factory=dict)
    _headroom_cache: dict = field(default_factory=dict)

    @cached_property
    def dscp_by_tc(self) -> dict[int, list[int]]:
        """{tc: [dscp, …]}, both ascending: the DSCP map grouped the way switch CLIs print it."""
        return _grouped(self.dscp_to_tc)

    @cached_property
    def tc_by_queue(self) -> dict[int, list[int]]:
        """{queue: [tc, …]}, both ascending."""
        return _grouped(self.tc_to_queue)

    def by_queue(self) -> dict[int, list[ClassPlan]]:
        out: dict[int, list[ClassPlan]] = {}
        for c in self.classes:
            out.setdefault(c.queue, []).append(c)
        return out

    def ecn_at(self, cls: ClassPlan, speed_mbps: int) -> EcnThresholds | None:
        """Kmin/Kmax/Pmax of a class's queue on a port of the given speed (None when ECN is off)."""
        if not cls.ecn_enabled:
            return None
        key = (cls.name, speed_mbps)
        hit = self._ecn_cache.get(key)
        if hit is None:
            hit = self._ecn_cache[key] = ecn_thresholds(cls.ecn_spec, self.profiles, speed_mbps)
        return hit

    def headroom_at(self, speed_mbps: int, mtu: int, asic) -> Headroom:
        key = (speed_mbps, mtu, asic.name)
        hit = self._headroom_cache.get(key)
        if hit is None:
            hit = self._headroom_cache[key] = pfc_headroom(speed_mbps, self.cable_length_m, mtu, asic,
                                                           self.small_packet_percent)
        return hit


def _grouped(mapping: dict[int, int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for src, dst in sorted(mapping.items()):
        out.setdefault(dst, []).append(src)
    return dict(sorted(out.items()))


def ecn_thresholds(spec, profiles: dict[str, EcnProfile], speed_mbps: int) -> EcnThresholds:
    if spec.profile is None:
        return EcnThresholds(spec.kmin, spec.kmax, spec.pmax if spec.pmax is not None else 20.0)
    prof = profiles[spec.profile]
    if prof.kind == "ignore-microbursts":
        bytes_per_us = speed_mbps / 8  # Mb/s ÷ 8 = bytes per µs
        kmin = _ceil_kb(bytes_per_us * prof.burst_tolerance)
        kmax = _ceil_kb(kmin * prof.kmax_factor)
    elif prof.kind == "linear":
        scale = speed_mbps / 25_000
        kmin, kmax = _ceil_kb(prof.kmin * scale), _ceil_kb(prof.kmax * scale)
    else:
        kmin, kmax = prof.kmin, prof.kmax
    # An explicit value in the class overrides the profile's.
    return EcnThresholds(spec.kmin or kmin, spec.kmax or kmax, spec.pmax if spec.pmax is not None else prof.pmax)


def _ceil_kb(n: float) -> int:
    return int(math.ceil(n / 1000.0)) * 1000


def _ceil_1k(n: float) -> int:
    return int(math.ceil(n / 1024.0)) * 1024


def pfc_headroom(speed_mbps: int, cable_m: float, mtu: int, asic, small_packet_percent: int = 100) -> Headroom:
    """Per-PG headroom (SONiC buffer_headroom_mellanox.lua; see module docstring)."""
    gbps = speed_mbps // 1000
    quanta = PAUSE_QUANTA.get(gbps) or PAUSE_QUANTA[min(PAUSE_QUANTA, key=lambda s: abs(s - gbps))]
    cable_b = 2 * cable_m * speed_mbps * 1e6 / LIGHT_IN_CABLE_M_S / 8
    resp_b = quanta * 512 / 8
    prop_b = mtu + cable_b + asic.mac_phy_delay_bytes + resp_b
    cell = max(asic.cell_bytes, 1)
    wcf = cell / 64 if cell > 128 else 2 * cell / (1 + cell)
    p = small_packet_percent
    occ = (100 - p + p * wcf) / 100
    xoff = _ceil_1k(mtu + prop_b * occ)
    xon = _ceil_1k(asic.pipeline_latency_bytes) if asic.pipeline_latency_bytes else 0
    return Headroom(speed_mbps, cable_m, xon, xoff)


def class_kind(name: str, cls: TrafficClass) -> str:
    return cls.kind or CLASS_KIND_BY_NAME.get(name.lower(), "other")


def build_qos_plan(net_name: str, net: Network) -> QosPlan:
    """Classes as written → the maps and per-class facts every platform renders."""
    classes: list[ClassPlan] = []
    claimed: set[int] = set()
    default_cls: ClassPlan | None = None
    for name, cls in net.qos.classes.items():
        queue = cls.queue if cls.queue is not None else cls.tc
        pg = cls.priority_group if cls.priority_group is not None else (cls.tc if cls.lossless else 0)
        plan = ClassPlan(
            name=name, kind=class_kind(name, cls), dscp=[] if cls.dscp == "default" else sorted(set(cls.dscp)),
            tc=cls.tc, queue=queue, pg=pg, scheduler=cls.scheduler.type, bandwidth_percent=cls.scheduler.bandwidth_percent,
            lossless=cls.lossless, ecn_enabled=cls.ecn.enabled, ecn_profile=cls.ecn.profile, ecn_spec=cls.ecn,
            reserve_bytes=cls.buffer.reserve, reserve_percent=cls.buffer.reserve_percent, alpha=cls.buffer.alpha,
            static_limit=cls.buffer.static_limit, optional=cls.optional, path=("networks", net_name, "qos", "classes", name),
        )
        classes.append(plan)
        claimed.update(plan.dscp)
        if cls.dscp == "default" and default_cls is None:
            default_cls = plan
    classes.sort(key=lambda c: (c.tc, c.name))
    dscp_to_tc: dict[int, int] = {}
    for c in classes:
        for d in c.dscp:
            dscp_to_tc.setdefault(d, c.tc)
    fallback_tc = default_cls.tc if default_cls else 0
    for d in range(64):
        dscp_to_tc.setdefault(d, fallback_tc)
    tc_to_queue = {c.tc: c.queue for c in classes}
    tc_to_pg = {c.tc: c.pg for c in classes}
    for tc in range(8):  # unclassified TCs behave like the default class
        tc_to_queue.setdefault(tc, default_cls.queue if default_cls else 0)
        tc_to_pg.setdefault(tc, 0)
    profiles = dict(BUILTIN_ECN_PROFILES)
    profiles.update(net.qos.ecn_profiles)
    return QosPlan(
        classes=classes, dscp_to_tc=dict(sorted(dscp_to_tc.items())), tc_to_queue=dict(sorted(tc_to_queue.items())),
        tc_to_pg=dict(sorted(tc_to_pg.items())), lossless_priorities=sorted({c.tc for c in classes if c.lossless}),
        profiles=profiles, cable_length_m=net.qos.pfc.cable_length_m,
        small_packet_percent=net.qos.pfc.small_packet_percent, watchdog=net.qos.pfc.watchdog,
    )
