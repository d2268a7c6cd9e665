"""The fabric intent: what a network engineer writes, as pydantic models.

Units are written the way engineers write them (400G, 256KB, 10us, 20%) and
converted to base units (Mb/s, bytes, µs, percent) here, so nothing downstream
parses strings.  Every model forbids unknown keys: a typo is an error with a
"did you mean" hint, never a silently ignored setting.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from hpnctl.intent.hosts_schema import HostSettings
from hpnctl.units import is_percent, parse_percent, parse_size_bytes, parse_speed_mbps, parse_time_us

Role = Literal["leaf", "spine", "super-spine", "host"]
SWITCH_ROLES: tuple[str, ...] = ("leaf", "spine", "super-spine")
PlatformName = Literal["sonic", "eos", "linux", "nvue", "srlinux"]
ClassKind = Literal["alltoall", "allreduce", "cnp", "control", "kvcache", "storage", "default", "other"]
HashField = Literal[
    "src-ip", "dst-ip", "ip-protocol", "l4-src-port", "l4-dst-port", "in-port", "src-mac", "dst-mac",
    "ethertype", "vlan-id", "ipv6-flow-label", "inner-src-ip", "inner-dst-ip",
]
Feature = Literal["pfc", "pfc-watchdog", "ecn", "buffers", "adaptive-routing", "scheduler", "bfd", "ecmp-hash"]

# Bounds keep nonsense out of the arithmetic (a negative reserve would grow the shared buffer; a
# 10**400 speed overflows float in the headroom formula): up to 100 Tb/s, 10 TB, 10 s.
SpeedMbps = Annotated[int, BeforeValidator(parse_speed_mbps), Field(gt=0, le=100_000_000)]
SizeBytes = Annotated[int, BeforeValidator(parse_size_bytes), Field(ge=0, le=10**13)]
TimeUs = Annotated[float, BeforeValidator(parse_time_us), Field(ge=0, le=10_000_000)]
Percent = Annotated[float, BeforeValidator(parse_percent), Field(ge=0, le=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


def _off_is_disabled(value: object) -> object:
    """Accept `ecn: off` / `ecn: false` / `ecn: on` shorthands."""
    if value is False or (isinstance(value, str) and value.lower() in ("off", "disabled", "none")):
        return {"enabled": False}
    if value is True or (isinstance(value, str) and value.lower() in ("on", "enabled")):
        return {"enabled": True}
    if isinstance(value, str):
        return {"enabled": True, "profile": value}
    return value


# ---------------------------------------------------------------- fabric-wide


class FabricInfo(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$", description="fabric name; used for the lab name and file names")
    description: str = Field("", description="free text, shown by `hpnctl show`")
    mtu: int = Field(9100, ge=1280, le=9216, description="L3 MTU of fabric links, bytes")
    host_mtu: int | None = Field(None, ge=1280, le=9216, description="MTU of leaf↔host links; default: mtu")


class CredentialsRef(Strict):
    """Where secrets come from. Names of environment variables only, never values."""

    username_env: str = Field("HPNCTL_USERNAME", pattern=r"^[A-Z_][A-Z0-9_]*$", description="env var holding the login name")
    password_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="env var holding the password")
    key_file_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="env var holding a private key path")
    ssh_agent: bool = Field(True, description="also offer keys from the SSH agent")
    known_hosts: str | None = Field(None, description="known_hosts file; default ~/.ssh/known_hosts")
    strict_host_keys: bool = Field(True, description="false only for throw-away labs")


class Management(Strict):
    pool: ipaddress.IPv4Network = Field(ipaddress.IPv4Network("172.20.20.0/24"), description="management addresses of all devices")
    gateway: ipaddress.IPv4Address | None = Field(None, description="default: first address of the pool")
    first_host: int = Field(11, ge=2, le=2**24, description="offset of the first device address in the pool")


# ---------------------------------------------------------------- topology


class LinkSpeeds(Strict):
    host: SpeedMbps = Field("400G", validate_default=True, description="leaf↔host links")
    leaf_spine: SpeedMbps = Field("400G", validate_default=True, description="leaf↔spine links")
    spine_super_spine: SpeedMbps = Field("400G", validate_default=True, description="spine↔super-spine links")


class Naming(Strict):
    """Name patterns; fields: {n} (1-based index per role and network), {plane}, {pod}, {group}, {rail}."""

    leaf: str = Field("{prefix}leaf{n}", description="{prefix} is the network's prefix")
    spine: str = "{prefix}spine{n}"
    super_spine: str = "{prefix}ss{n}"
    host: str = Field("host{n}", description="the same name in two networks is the same server")

    @field_validator("leaf", "spine", "super_spine", "host")
    @classmethod
    def _pattern(cls, v: str) -> str:
        """A pattern must format with the known fields and give a usable hostname (else design() crashes or renders `hostname leaf 1`)."""
        fields = "{prefix} {n} {plane} {pod} {group} {rail}"
        try:
            sample = v.format(prefix="", n=1, plane=1, pod=1, group=1, rail=1)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
            raise ValueError(f"name pattern does not format ({type(exc).__name__}: {exc}); fields: {fields}") from None
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", sample):
            raise ValueError(f"name pattern gives {sample!r}, not a hostname (letters, digits, '-', '_', '.'; fields: {fields})")
        return v


class Generator(Strict):
    """The usual AI designs: rail-optimised 2-tier leaf/spine, or 3-tier with super-spines, in N planes."""

    planes: int = Field(1, ge=1, le=8, description="independent planes (dual-plane as in Alibaba HPN = 2)")
    pods: int = Field(1, ge=1, le=256, description="pods per plane; >1 needs super_spines")
    rails: int = Field(1, ge=1, le=16, description="rails: NIC r of a host goes to the rail-r leaf of its group")
    leaf_groups: int = Field(1, ge=1, le=4096, description="leaf groups per pod; a group = one leaf per rail")
    spines: int = Field(2, ge=1, le=512, description="spines per pod and plane")
    super_spines: int = Field(0, ge=0, le=512, description="super-spines per plane (3-tier when > 0)")
    hosts_per_group: int = Field(0, ge=0, le=256, description="hosts attached to each leaf group")
    links_per_spine: int = Field(1, ge=1, le=16, description="parallel links from each leaf to each spine")
    links_per_super_spine: int = Field(1, ge=1, le=16, description="parallel links from each spine to each super-spine")
    speeds: LinkSpeeds = Field(default_factory=LinkSpeeds)
    breakout: dict[Literal["host", "leaf_spine", "spine_super_spine"], Literal[1, 2, 4, 8]] = Field(
        default_factory=dict, description="logical ports per physical port, per link type"
    )
    naming: Naming = Field(default_factory=Naming)

    @model_validator(mode="after")
    def _pods_need_super_spines(self) -> "Generator":
        if self.pods > 1 and self.super_spines == 0:
            raise ValueError("pods > 1 needs super_spines > 0 (a 3-tier design)")
        return self


class DeviceSpec(Strict):
    """An explicit device, or overrides for a generated one (matched by name)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$", description="a generated name overrides that device")
    role: Role | None = Field(None, description="required for a device the generator does not make")
    platform: PlatformName | None = Field(None, description="default: the role's platform")
    asic: str | None = Field(None, description="default: the role's ASIC")
    asn: int | None = Field(None, ge=1, le=4294967294, description="default: from the ASN scheme")
    loopback: ipaddress.IPv4Address | None = Field(None, description="default: next free in the loopback pool")
    mgmt_ip: ipaddress.IPv4Address | None = Field(None, description="default: next free in the management pool")
    adaptive_routing: bool | None = Field(None, description="per-device override of adaptive_routing.enabled")


class LinkSpec(Strict):
    endpoints: list[str] = Field(min_length=2, max_length=2, description="['dev', 'dev'] or ['dev:port', …]")
    speed: SpeedMbps | None = Field(None, description="default: the generator's leaf_spine speed")
    adaptive_routing: bool | None = Field(None, description="force AR on this link's two interfaces")


class Topology(Strict):
    generator: Generator | None = Field(None, description="the usual AI designs, generated")
    devices: list[DeviceSpec] = Field(default_factory=list, description="explicit devices or per-device overrides")
    links: list[LinkSpec] = Field(default_factory=list, description="explicit links, in addition to generated ones")


# ---------------------------------------------------------------- addressing & routing


class Addressing(Strict):
    loopbacks: ipaddress.IPv4Network = Field(description="one /32 per switch (router-id, BGP-advertised)")
    p2p: ipaddress.IPv4Network = Field(description="switch↔switch /31s")
    hosts: ipaddress.IPv4Network | None = Field(None, description="leaf↔host /31s (leaf takes the even address)")


def _asn_range(value: object) -> object:
    if isinstance(value, str) and "-" in value:
        lo, hi = value.split("-", 1)
        return (int(lo.strip()), int(hi.strip()))
    return value


class Bgp(Strict):
    asn_scheme: Literal["rfc7938", "explicit"] = Field(
        "rfc7938", description="rfc7938: one ASN per leaf, per spine layer of a pod, per super-spine layer"
    )
    asn_range: Annotated[tuple[int, int], BeforeValidator(_asn_range)] = Field(
        (4_200_000_000, 4_294_967_294), description="ASNs handed out, e.g. 65000-65499")
    keepalive_s: int = Field(3, ge=1, le=60, description="BGP keepalive, seconds")
    hold_s: int = Field(9, ge=3, le=180, description="BGP hold time, seconds (≥ 3 × keepalive)")

    @model_validator(mode="after")
    def _check(self) -> "Bgp":
        lo, hi = self.asn_range
        if not (1 <= lo <= hi <= 4294967294):
            raise ValueError(f"asn_range {lo}-{hi} is not a range of valid ASNs")
        if self.hold_s < 3 * self.keepalive_s:
            raise ValueError("hold_s must be at least 3 × keepalive_s")
        return self


class Ecmp(Strict):
    max_paths: int = Field(64, ge=1, le=512, description="ECMP next hops per prefix")
    hash_fields: list[HashField] = Field(
        default_factory=lambda: ["src-ip", "dst-ip", "ip-protocol", "l4-src-port", "l4-dst-port"], min_length=1,
        description="packet fields the ECMP hash covers (RoCEv2: UDP source port gives entropy)",
    )
    hash_algorithm: Literal["crc", "xor", "random", "crc32-lo", "crc32-hi", "crc-ccitt"] = Field("crc", description="where the platform lets it be chosen")


class Bfd(Strict):
    enabled: bool = Field(False, description="BFD on every BGP session")
    interval_ms: int = Field(300, ge=10, le=60000, description="tx/rx interval, ms")
    multiplier: int = Field(3, ge=2, le=255, description="missed packets before down")


class Routing(Strict):
    bgp: Bgp = Field(default_factory=Bgp)
    ecmp: Ecmp = Field(default_factory=Ecmp)
    bfd: Bfd = Field(default_factory=Bfd)


# ---------------------------------------------------------------- QoS


class Scheduler(Strict):
    type: Literal["strict", "dwrr"] = Field(description="shorthand: `scheduler: strict` or `scheduler: 40%`")
    bandwidth_percent: Percent | None = Field(None, description="DWRR share of what strict queues leave")

    @model_validator(mode="after")
    def _check(self) -> "Scheduler":
        if self.type == "dwrr" and self.bandwidth_percent is None:
            raise ValueError("a dwrr scheduler needs bandwidth_percent")
        if self.type == "strict" and self.bandwidth_percent is not None:
            raise ValueError("a strict scheduler takes no bandwidth_percent")
        if self.type == "dwrr" and self.bandwidth_percent is not None and self.bandwidth_percent < 1:
            raise ValueError("bandwidth_percent must be at least 1")
        return self


def _scheduler_shorthand(value: object) -> object:
    if value == "strict":
        return {"type": "strict"}
    if isinstance(value, str) and is_percent(value):
        return {"type": "dwrr", "bandwidth_percent": value}
    if isinstance(value, str):
        raise ValueError(f"scheduler {value!r}: write 'strict', a DWRR share such as '40%', or {{type: dwrr, bandwidth_percent: 40}}")
    return value


class Buffer(Strict):
    """Egress buffer of the class's queue on every port."""

    reserve: SizeBytes | None = Field(None, description="guaranteed bytes per port (or write reserve_percent)")
    reserve_percent: Percent | None = Field(None, description="share of the ASIC buffer reserved for this class, split over its ports")
    alpha: float | None = Field(None, gt=0, le=128, description="dynamic threshold: a power of two from 1/128 to 128")
    static_limit: SizeBytes | None = Field(None, description="static threshold in bytes instead of alpha")

    @model_validator(mode="after")
    def _check(self) -> "Buffer":
        if self.reserve is not None and self.reserve_percent is not None:
            raise ValueError("give reserve or reserve_percent, not both")
        if self.alpha is not None and self.static_limit is not None:
            raise ValueError("give alpha (dynamic) or static_limit, not both")
        if self.alpha is not None:
            import math

            exp = math.log2(self.alpha)
            if abs(exp - round(exp)) > 1e-9 or not -7 <= round(exp) <= 7:
                raise ValueError(f"alpha {self.alpha} must be a power of two between 1/128 and 128 (ASICs store log2(alpha))")
        return self


class Ecn(Strict):
    """ECN marking (the switch side of DCQCN) for one class's queue."""

    enabled: bool = Field(True, description="shorthand: `ecn: off`, `ecn: <profile>`")
    profile: str | None = Field(None, min_length=1, description="an ecn_profiles entry or built-in: ignore-microbursts, hpcc-linear, dcqcn-paper, nvidia-roce-default")
    kmin: SizeBytes | None = Field(None, description="marking starts (overrides the profile)")
    kmax: SizeBytes | None = Field(None, description="marking probability reaches pmax")
    pmax: Percent | None = Field(None, description="marking probability at Kmax (default: the profile's, else 20%)")

    @model_validator(mode="after")
    def _check(self) -> "Ecn":
        explicit = [f for f in ("kmin", "kmax") if getattr(self, f) is not None]
        if self.enabled and self.profile is None and len(explicit) != 2:
            raise ValueError("ECN on needs a profile, or both kmin and kmax")
        if not self.enabled and (self.profile or explicit):
            raise ValueError("ECN is off: remove profile/kmin/kmax or set enabled: true")
        return self


class EcnProfile(Strict):
    """A named way to derive Kmin/Kmax/Pmax per port speed.

    kind ignore-microbursts: Kmin = line rate × burst_tolerance (a queue that a
    burst shorter than burst_tolerance builds at line rate is never marked),
    Kmax = kmax_factor × Kmin.  kind linear: the HPCC artifact's rule, thresholds
    given at 25G and scaled with link speed.  kind fixed: kmin/kmax as written.
    """

    kind: Literal["ignore-microbursts", "linear", "fixed"]
    burst_tolerance: TimeUs | None = Field(None, description="ignore-microbursts: bursts shorter than this are not marked")
    kmax_factor: float = Field(4.0, ge=1.0, le=64.0, description="ignore-microbursts: Kmax = factor × Kmin")
    kmin: SizeBytes | None = Field(None, description="linear: at 25G; fixed: absolute")
    kmax: SizeBytes | None = Field(None, description="linear: at 25G; fixed: absolute")
    pmax: Percent = Field(20.0, description="marking probability at Kmax")

    @model_validator(mode="after")
    def _check(self) -> "EcnProfile":
        if self.kind == "ignore-microbursts" and self.burst_tolerance is None:
            raise ValueError("kind ignore-microbursts needs burst_tolerance (e.g. 10us)")
        if self.kind in ("linear", "fixed") and (self.kmin is None or self.kmax is None):
            raise ValueError(f"kind {self.kind} needs kmin and kmax")
        return self


class TrafficClass(Strict):
    kind: ClassKind | None = Field(None, description="what the class carries; default: guessed from its name")
    dscp: list[Annotated[int, Field(ge=0, le=63)]] | Literal["default"] = Field(
        description="DSCP values, or 'default' for every DSCP no other class claims"
    )
    tc: int = Field(ge=0, le=7, description="switch traffic class (= switch priority)")
    queue: int | None = Field(None, ge=0, le=7, description="egress queue; default: tc")
    priority_group: int | None = Field(None, ge=0, le=7, description="ingress PG; default: tc if lossless else 0")
    scheduler: Annotated[Scheduler, BeforeValidator(_scheduler_shorthand)]
    buffer: Buffer = Field(default_factory=Buffer)
    ecn: Annotated[Ecn, BeforeValidator(_off_is_disabled)] = Field(default_factory=lambda: Ecn(enabled=False))
    lossless: bool = Field(False, description="PFC on this class's priority")
    optional: bool = Field(False, description="platforms lacking a feature of this class warn instead of failing")

    @field_validator("dscp", mode="before")
    @classmethod
    def _dscp_scalar(cls, v: object) -> object:
        return [v] if isinstance(v, int) and not isinstance(v, bool) else v


class PfcWatchdog(Strict):
    enabled: bool = Field(True, description="PFC watchdog (storm/deadlock breaker) on lossless queues")
    detection_ms: int = Field(200, ge=100, le=5000, description="paused this long = storm")
    restoration_ms: int = Field(200, ge=100, le=60000, description="storm-free this long = restore")
    poll_ms: int = Field(100, ge=100, le=1000, description="poll interval")
    action: Literal["drop", "forward", "alert"] = Field("drop", description="what to do with a stormed queue")

    @model_validator(mode="after")
    def _check(self) -> "PfcWatchdog":
        if self.detection_ms < self.poll_ms or self.restoration_ms < self.poll_ms:
            raise ValueError("detection_ms and restoration_ms must be ≥ poll_ms")
        return self


class Pfc(Strict):
    cable_length_m: float = Field(5.0, gt=0, le=40000, description="longest cable, for headroom")
    small_packet_percent: int = Field(100, ge=0, le=100, description="worst-case share of small packets (headroom)")
    watchdog: PfcWatchdog = Field(default_factory=PfcWatchdog)


class Qos(Strict):
    classes: dict[str, TrafficClass] = Field(min_length=1, description="traffic classes by name (alltoall, allreduce, cnp, default …)")
    ecn_profiles: dict[str, EcnProfile] = Field(default_factory=dict, description="named ECN threshold rules")
    pfc: Pfc = Field(default_factory=Pfc, description="headroom inputs and the watchdog (PFC itself is per class: lossless)")


class AdaptiveRouting(Strict):
    enabled: bool = Field(False, description="load-aware path choice instead of static ECMP hashing")
    roles: list[Literal["leaf", "spine", "super-spine"]] = Field(default_factory=lambda: ["leaf"], description="switch roles doing AR")
    mode: Literal["per-flowlet", "per-packet"] = Field("per-flowlet", description="per-packet needs NIC reordering")
    flowlet_idle: TimeUs = Field("256us", validate_default=True, description="gap that starts a new flowlet")
    link_utilization_threshold: int = Field(70, ge=1, le=100, description="% of link load above which AR moves flows")
    interfaces: Literal["uplinks", "all"] = "uplinks"


class Network(Strict):
    kind: Literal["compute", "kvcache", "storage", "frontend"] = Field("compute", description="what the network carries")
    prefix: str = Field("", pattern=r"^[a-z0-9-]{0,16}$", description="prepended to generated switch names")
    platforms: dict[Role, PlatformName] = Field(default_factory=dict, description="platform per role (overrides fabric-wide)")
    asics: dict[Role, str] = Field(default_factory=dict, description="ASIC per role (overrides fabric-wide)")
    topology: Topology
    addressing: Addressing
    routing: Routing = Field(default_factory=Routing)
    qos: Qos
    adaptive_routing: AdaptiveRouting = Field(default_factory=AdaptiveRouting)
    optional_features: list[Feature] = Field(
        default_factory=list, description="features a platform may lack (warning instead of error)"
    )


class PlatformOptions(Strict):
    """Per-platform settings that change how configs are written, not what they say."""

    release: str | None = Field(None, description="OS release targeted, e.g. nvue 5.14 (`enable: on`) vs 5.15 (`state: enabled`)")


class LabSettings(Strict):
    """How `hpnctl lab topology` turns the fabric into a containerlab topology."""

    images: dict[str, str] = Field(default_factory=dict, description="container image per platform or role (role wins)")
    kinds: dict[str, str] = Field(default_factory=dict, description="containerlab kind per platform or role (role wins)")
    host_image: str = "ghcr.io/hellt/network-multitool:latest"


class Intent(Strict):
    fabric: FabricInfo
    credentials: CredentialsRef = Field(default_factory=CredentialsRef, description="references to secrets, never secrets")
    management: Management = Field(default_factory=Management, description="management addresses (also the lab's)")
    platforms: dict[Role, PlatformName] = Field(default_factory=dict, description="platform per role, fabric-wide")
    asics: dict[Role, str] = Field(default_factory=dict, description="ASIC model per role (see `hpnctl show --asics`)")
    platform_options: dict[PlatformName, PlatformOptions] = Field(default_factory=dict, description="per platform, e.g. {nvue: {release: '5.14'}}")
    networks: dict[str, Network] = Field(min_length=1, description="one or more networks: compute, KV-cache, …")
    lab: LabSettings = Field(default_factory=LabSettings, description="containerlab images and kinds")
    hosts: HostSettings = Field(default_factory=HostSettings, description="host-side settings: NICs, collective libraries, DCQCN, the KV-cache network")
