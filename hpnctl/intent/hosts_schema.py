"""The host end of the fabric: GPU servers' NICs, collective libraries, DCQCN and CNP settings.

`hosts:` in an intent.  Everything here has a default derived from the switch
side of the same intent (DSCP → class → priority, lossless priorities, the CNP
class, the leaf's host-port MTU), so a fabric with no `hosts:` key still renders
consistent host files; a key written here overrides the derived value, and
`hpnctl lint` then checks that both ends still agree.

DCQCN parameter names are NVIDIA's (the NVConfig / `mlxconfig` names in lower
case, as in the DOCA "DCQCN CC Parameters" table); defaults and units are in
../shared/reference/dcqcn-pfc-hpn-numbers.md §1.  Durations are written like
the rest of the intent (`4us`, a bare number is µs) and must be whole
microseconds, because the NIC stores integers.  Rates are Mb/s (`5`, `5M`, `1G`).
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from hpnctl.units import parse_speed_mbps, parse_time_us

NicModel = Literal["connectx-6dx", "connectx-7", "connectx-8", "bluefield-2", "bluefield-3"]
Priority = Annotated[int, Field(ge=0, le=7)]
Dscp = Annotated[int, Field(ge=0, le=63)]


class _Strict(BaseModel):
    # The same rules as schema.Strict (kept local so that schema.py can import this module).
    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


def _rate_mbps(value: object) -> object:
    """NIC rates are Mb/s: a bare number is Mb/s (not Gb/s as for link speeds); `5M`, `1G` also work."""
    if isinstance(value, bool):
        raise ValueError("expected a rate in Mb/s such as 5 or 5M")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return parse_speed_mbps(value)  # type: ignore[arg-type]


def _whole_us(value: object) -> object:
    us = parse_time_us(value)  # type: ignore[arg-type]
    if abs(us - round(us)) > 1e-9:
        raise ValueError(f"{value!r}: the NIC takes whole microseconds")
    return int(round(us))


RateMbps = Annotated[int, BeforeValidator(_rate_mbps), Field(ge=0)]
WholeUs = Annotated[int, BeforeValidator(_whole_us), Field(ge=0)]
# A class reference: a class name of the network's QoS, or a raw DSCP value (then `hpnctl lint` checks
# that some switch class maps it).
ClassRef = Union[Dscp, str]


class NicSettings(_Strict):
    """RDMA NICs of the GPU servers (NVIDIA ConnectX / BlueField first)."""

    model: NicModel = Field("connectx-7", description="NIC model (ConnectX-6 Dx and later, BlueField-2 and later "
                            "share mlnx_qos, the ECN knobs and mlxconfig names)")
    netdev: str = Field("eth{port}", description="netdev name of a NIC: {port} = the fabric's host port "
                        "number (1-based, as in the lab), {index} = port − 1, {network}")
    rdma_device: str = Field("mlx5_{index}", description="RDMA device of a NIC (NCCL_IB_HCA, NVSHMEM_HCA_LIST): "
                             "same fields as netdev")
    gid_index: int = Field(3, ge=0, le=255, description="RoCEv2 IPv4 GID index (`show_gids`): NCCL_IB_GID_INDEX, "
                           "NVSHMEM_IB_GID_INDEX, UCX_IB_GID_INDEX")
    trust: Literal["dscp", "pcp"] = Field("dscp", description="what the NIC classifies received and sent "
                                          "packets by (`mlnx_qos --trust`)")
    pfc_priorities: list[Priority] | None = Field(None, description="priorities with PFC on the NIC; "
                                                  "default: the switches' lossless priorities")
    dscp_to_priority: dict[Dscp, Priority] | None = Field(None, description="overrides of the NIC's DSCP → "
                                                          "priority map; default: the switches' DSCP → TC map")
    mtu: int | None = Field(None, ge=1280, le=9216, description="netdev MTU, bytes; default: the leaf's host-port "
                            "MTU (fabric.host_mtu, else fabric.mtu)")
    dcqcn_profile: str | None = Field(None, description="DCQCN profile of these NICs; default: hosts.dcqcn.profile")

    @field_validator("netdev", "rdma_device")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            value.format(port=1, index=0, network="n")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{value!r}: only the fields {{port}}, {{index}} and {{network}} exist") from exc
        return value


class Collectives(_Strict):
    """Which traffic class each collective library and communicator marks its RDMA traffic with."""

    network: str | None = Field(None, description="network the collectives run on; default: the first network "
                                "of kind compute")
    nccl: ClassRef | None = Field(None, description="class (or DSCP) of the NCCL communicators "
                                  "(AllReduce, data parallel): NCCL_IB_TC, NCCL_IB_SL; default: the class of "
                                  "kind allreduce")
    nvshmem: ClassRef | None = Field(None, description="class (or DSCP) of NVSHMEM / DeepEP (Alltoall, expert "
                                     "parallel): NVSHMEM_IB_TRAFFIC_CLASS, NVSHMEM_IB_SL; default: the class of "
                                     "kind alltoall")
    fifo: ClassRef | None = Field(None, description="class (or DSCP) of NCCL's CTS/FIFO control messages: "
                                  "NCCL_IB_FIFO_TC; default: the class of kind control, else unset")
    communicators: dict[str, ClassRef] = Field(default_factory=dict, description="per-communicator "
                                               "trafficClass (ncclConfig_t.trafficClass) for frameworks that set "
                                               "it in code; default: allreduce → nccl, alltoall → nvshmem")
    qps_per_connection: int = Field(4, ge=1, le=128, description="NCCL_IB_QPS_PER_CONNECTION: more QPs, more "
                                    "UDP source ports, more ECMP entropy (Meta: 4 ranking, 16 LLM jobs)")
    split_data_on_qps: bool | None = Field(None, description="NCCL_IB_SPLIT_DATA_ON_QPS; unset: NCCL's default")
    sl: dict[str, Annotated[int, Field(ge=0, le=15)]] = Field(default_factory=dict, description="service level "
                                                              "per class name; default: the class's switch "
                                                              "priority (TC)")


class KvCache(_Strict):
    """The separate KV-cache network of PD-separated inference, seen from the servers."""

    network: str | None = Field(None, description="the KV-cache network; default: the first network of kind "
                                "kvcache")
    traffic_class: ClassRef | None = Field(None, description="class (or DSCP) of KV transfers "
                                           "(UCX_IB_TRAFFIC_CLASS for NIXL/UCX, the RDMA-CM default ToS); "
                                           "default: the class of kind kvcache in that network")
    routes: list[str] = Field(default_factory=list, description="extra IPv4 prefixes reached over the KV-cache "
                              "NIC; its own hosts pool is always routed there")
    table: int = Field(100, ge=1, le=252, description="routing table for replies sourced from the KV-cache NIC "
                       "(`ip rule from <kv address>`)")

    @field_validator("routes")
    @classmethod
    def _prefixes(cls, routes: list[str]) -> list[str]:
        import ipaddress

        for r in routes:
            try:
                ipaddress.IPv4Network(r)
            except ValueError as exc:
                raise ValueError(f"{r!r} is not an IPv4 prefix such as 10.20.0.0/16") from exc
        return routes


class Cnp(_Strict):
    """Congestion notification packets the NICs send (DCQCN notification point)."""

    dscp: Dscp | None = Field(None, description="CNP_DSCP: default: the first DSCP of the switches' cnp class, "
                              "else 48 (NVIDIA default)")
    priority: Priority | None = Field(None, description="CNP_802P_PRIO: default: the cnp class's TC, "
                                      "else 6 (NVIDIA default)")


class DcqcnProfile(_Strict):
    """NIC DCQCN parameters (reaction point rp_*, notification point np_*); unset keys come from `base`."""

    base: str = Field("nvidia-default", description="profile the unset keys come from")
    dce_tcp_g: int | None = Field(None, ge=0, le=1023, description="alpha gain g, fixed point /1024 (default 1019)")
    dce_tcp_rtt: WholeUs | None = Field(None, description="alpha update period, µs (default 1)")
    initial_alpha_value: int | None = Field(None, ge=0, le=1023, description="alpha on the first CNP, /1024 "
                                            "(default 1023)")
    rate_to_set_on_first_cnp: RateMbps | None = Field(None, description="Mb/s on the first CNP; 0 = normal "
                                                      "decrease (default 0)")
    rpg_min_dec_fac: int | None = Field(None, ge=1, le=100, description="%: one cut leaves at least this share "
                                        "of the rate (default 50; higher = smaller cuts)")
    rpg_min_rate: RateMbps | None = Field(None, description="rate floor, Mb/s (default 1)")
    rpg_gd: int | None = Field(None, ge=0, le=15, description="coefficient between alpha and the rate cut "
                               "(default 11)")
    rate_reduce_monitor_period: WholeUs | None = Field(None, description="at most one rate cut per period, µs "
                                                       "(default 4)")
    rpg_time_reset: WholeUs | None = Field(None, description="rate-increase timer, µs (default 300)")
    rpg_byte_reset: int | None = Field(None, ge=0, description="rate-increase byte counter, bytes; 0 = off "
                                       "(default 32767)")
    rpg_threshold: int | None = Field(None, ge=1, le=31, description="fast-recovery stages (default 1)")
    rpg_ai_rate: RateMbps | None = Field(None, description="additive increase, Mb/s (default 5)")
    rpg_hai_rate: RateMbps | None = Field(None, description="hyper additive increase, Mb/s (default 50)")
    rpg_max_rate: RateMbps | None = Field(None, description="rate cap, Mb/s; 0 = none (default 0)")
    clamp_tgt_rate: bool | None = Field(None, description="CLAMP_TGT_RATE (default false)")
    clamp_tgt_rate_after_time_inc: bool | None = Field(None, description="CLAMP_TGT_RATE_AFTER_TIME_INC "
                                                       "(default true)")
    min_time_between_cnps: WholeUs | None = Field(None, description="notification point: at most one CNP per "
                                                  "period per flow, µs (default 4)")


class Dcqcn(_Strict):
    """DCQCN on the NICs: which profile, on which classes' priorities."""

    enabled: bool = Field(True, description="false: DCQCN off on every priority (PFC only, as Meta at 400G)")
    profile: str | None = Field(None, description="profile of all NICs; default: the NIC profile named like the "
                                "ECN profile of the classes DCQCN runs on (ignore-microbursts on both ends), "
                                "else nvidia-default")
    classes: list[str] | None = Field(None, description="classes whose priorities run DCQCN; default: the "
                                      "classes whose switch queue marks ECN")
    profiles: dict[str, DcqcnProfile] = Field(default_factory=dict, description="named profiles; built-in: "
                                              "nvidia-default, ignore-microbursts, barre-400g")

    @field_validator("profiles")
    @classmethod
    def _no_self_base(cls, profiles: dict[str, DcqcnProfile]) -> dict[str, DcqcnProfile]:
        for name, prof in profiles.items():
            if prof.base == name:
                raise ValueError(f"DCQCN profile {name!r} cannot be its own base")
        return profiles


class HostSettings(_Strict):
    """Host-side settings: NICs, collective libraries, DCQCN/CNP, the KV-cache network (see `hpnctl render --hosts`)."""

    nic: NicSettings = Field(default_factory=NicSettings, description="NIC settings of every network")
    networks: dict[str, NicSettings] = Field(default_factory=dict, description="per-network NIC overrides (only "
                                             "the keys written here), e.g. a BlueField-3 on the KV-cache network")
    collectives: Collectives = Field(default_factory=Collectives, description="traffic class per library "
                                     "and communicator")
    kvcache: KvCache = Field(default_factory=KvCache, description="KV-cache network interfaces, routes and class")
    dcqcn: Dcqcn = Field(default_factory=Dcqcn, description="NIC congestion control (reaction/notification point)")
    cnp: Cnp = Field(default_factory=Cnp, description="CNP marking of the NICs")
