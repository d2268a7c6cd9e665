"""Vendor-neutral facts about the fabric: devices, ports, links, addresses, ASNs.

Plain dataclasses; everything downstream (QoS plan, device models, labs) reads
these.  Addresses are kept as strings: they are computed once with integer
arithmetic (fast at 5,000 switches) and only ever printed afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hpnctl.diagnostics import DiagnosticLog


@dataclass(slots=True)
class Interface:
    name: str
    port: int  # 1-based physical port
    speed_mbps: int
    mtu: int
    kind: str  # "uplink" (towards a higher tier), "downlink" (towards a lower switch tier), "host" (leaf↔host), "nic" (on a host)
    ip: str = ""  # "10.1.0.0/31"
    peer: str = ""
    peer_interface: str = ""
    peer_ip: str = ""
    peer_asn: int | None = None
    adaptive_routing: bool = False
    lanes: int = 0  # SerDes lanes of this logical port (0 = not a switch port)


@dataclass(slots=True)
class Device:
    name: str
    role: str  # leaf | spine | super-spine | host
    network: str
    platform: str  # "host" for hosts
    asic: str = ""
    plane: int = 1
    pod: int = 1
    group: int = 0
    rail: int = 0
    asn: int | None = None
    loopback: str = ""
    mgmt_ip: str = ""
    interfaces: list[Interface] = field(default_factory=list)
    next_port: int = 1  # allocation cursor (physical ports)
    adaptive_routing: bool = False
    networks: list[str] = field(default_factory=list)  # hosts may sit on several networks
    source_path: tuple = ()  # data path of the explicit device entry, when any

    @property
    def is_switch(self) -> bool:
        return self.role != "host"


@dataclass(slots=True)
class Link:
    a: str
    a_if: str
    b: str
    b_if: str
    speed_mbps: int
    kind: str  # "fabric" | "host"
    network: str
    subnet: str = ""  # "10.1.0.0/31"
    a_itf: Interface | None = None  # the two Interface objects, so addressing needs no search
    b_itf: Interface | None = None


@dataclass
class Fabric:
    name: str
    devices: dict[str, Device]
    links: list[Link]
    networks: dict  # name → NetworkPlan (hpnctl.design.qos)
    log: DiagnosticLog
    mgmt_gateway: str = ""
    mgmt_prefixlen: int = 24
    unsupported: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # device → [(feature, reason)]

    def switches(self) -> list[Device]:
        return [d for d in self.devices.values() if d.is_switch]

    def hosts(self) -> list[Device]:
        return [d for d in self.devices.values() if not d.is_switch]
