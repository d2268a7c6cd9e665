"""Buffer budget of one switch: reserves + PFC headroom against the ASIC's buffer.

Model (the rules in ../shared/reference/dcqcn-pfc-hpn-numbers.md §4):
  reserved = Σ ports Σ classes reserve  +  Σ ports Σ lossless PGs headroom(port speed)
  shared   = ASIC buffer − reserved                      (must stay positive)
  queue limit (dynamic)  = reserve + α/(1+α) · shared     (one congested queue, Choudhury–Hahne)
  queue limit (static)   = reserve + static_limit
  PFC XOFF point of a PG = α_pg/(1+α_pg) · shared         (ECN must fire below this)
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hpnctl.design.fabric import Device
from hpnctl.design.qos import ClassPlan, QosPlan

DEFAULT_ALPHA = 1.0


@dataclass(frozen=True)
class BufferBudget:
    buffer_bytes: int
    reserved_bytes: int
    headroom_bytes: int
    reserve_by_class: dict[str, int]  # per port
    ports: int

    @property
    def shared_bytes(self) -> int:
        return self.buffer_bytes - self.reserved_bytes - self.headroom_bytes

    def queue_limit(self, cls: ClassPlan) -> int:
        reserve = self.reserve_by_class.get(cls.name, 0)
        if cls.static_limit is not None:
            return reserve + cls.static_limit
        alpha = cls.alpha if cls.alpha is not None else DEFAULT_ALPHA
        return reserve + int(alpha / (1 + alpha) * max(self.shared_bytes, 0))

    def xoff_point(self, pg_alpha: float) -> int:
        return int(pg_alpha / (1 + pg_alpha) * max(self.shared_bytes, 0))


def switch_ports(dev: Device) -> list:
    return [i for i in dev.interfaces if i.kind in ("uplink", "downlink", "host")]


def lossless_mtu(fabric_info) -> int:
    """The largest frame a lossless PG must absorb: headroom is sized for it on every port."""
    return max(fabric_info.mtu, fabric_info.host_mtu or 0)


def buffer_budget(dev: Device, plan: QosPlan, asic, mtu: int, with_headroom: bool = True) -> BufferBudget:
    """Reserves and headroom of one switch; `mtu` is the lossless MTU (see lossless_mtu)."""
    ports = switch_ports(dev)
    n = max(len(ports), 1)
    reserve_by_class: dict[str, int] = {}
    for cls in plan.classes:
        if cls.reserve_bytes is not None:
            reserve_by_class[cls.name] = cls.reserve_bytes
        elif cls.reserve_percent is not None:
            reserve_by_class[cls.name] = int(asic.buffer_bytes * cls.reserve_percent / 100 / n)
    reserved = sum(reserve_by_class.values()) * len(ports)
    headroom = 0
    if with_headroom and plan.lossless_priorities:
        lossless_pgs = len({c.pg for c in plan.classes if c.lossless})
        # The same per-speed headroom the renderers configure, so check and config agree.
        by_speed = Counter(port.speed_mbps for port in ports)
        for speed, count in by_speed.items():
            headroom += count * lossless_pgs * plan.headroom_at(speed, mtu, asic).size
    return BufferBudget(asic.buffer_bytes, reserved, headroom, reserve_by_class, len(ports))
