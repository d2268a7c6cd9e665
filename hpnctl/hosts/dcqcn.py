"""DCQCN on NVIDIA NICs: the parameters, where each one lives, and the built-in NIC profiles.

Sources (see ../shared/reference/dcqcn-pfc-hpn-numbers.md §1):
- defaults: NVIDIA DOCA "DCQCN CC Parameters" table and public `mlxconfig -q` dumps
  (two unrelated dumps show the same values), e.g. RPG_TIME_RESET_P1 300, RPG_AI_RATE_P1 5,
  DCE_TCP_G_P1 1019, MIN_TIME_BETWEEN_CNPS_P1 4, CNP_DSCP_P1 48, CNP_802P_PRIO_P1 6,
  ROCE_CC_PRIO_MASK_P1 255;
- persistent firmware names: `mlxconfig -d <dev> set <NAME>_P1=<value>` (per port; hpnctl
  configures port 1 of each RDMA device, one device per rail NIC);
- MLNX_OFED sysfs: /sys/class/net/<if>/ecn/roce_rp|roce_np/[params/]<name>, per-priority switch
  /sys/class/net/<if>/ecn/roce_rp|roce_np/enable/<prio> (MLNX_EN "ECN" documentation);
- upstream kernel: debugfs /sys/kernel/debug/mlx5/<pci>/cc_params/<name>
  (torvalds/linux drivers/infiniband/hw/mlx5/cong.c, mlx5_ib_dbg_cc_name[]).

Units: times in whole µs, rates in Mb/s, alpha values fixed point /1024, rpg_min_dec_fac in %.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DcqcnParam:
    name: str  # NVConfig name in lower case = the MLNX_OFED sysfs name
    point: str  # "rp" (reaction point: the sender) or "np" (notification point: the receiver)
    unit: str
    debugfs: str  # upstream cc_params name
    meaning: str

    @property
    def mlxconfig(self) -> str:
        return self.name.upper() + "_P1"

    @property
    def sysfs_dir(self) -> str:
        return "roce_rp" if self.point == "rp" else "roce_np"


# Order: as `mlxconfig -q` prints them (reaction point, then notification point).
PARAMS: tuple[DcqcnParam, ...] = (
    DcqcnParam("clamp_tgt_rate", "rp", "bool", "rp_clamp_tgt_rate", "clamp the target rate to the current rate on a CNP"),
    DcqcnParam("clamp_tgt_rate_after_time_inc", "rp", "bool", "rp_clamp_tgt_rate_ati", "clamp after a timer increase"),
    DcqcnParam("rpg_time_reset", "rp", "us", "rp_time_reset", "rate-increase timer"),
    DcqcnParam("rpg_byte_reset", "rp", "bytes", "rp_byte_reset", "rate-increase byte counter (0 = off)"),
    DcqcnParam("rpg_threshold", "rp", "count", "rp_threshold", "fast-recovery stages"),
    DcqcnParam("rpg_max_rate", "rp", "Mb/s", "rp_max_rate", "rate cap (0 = none)"),
    DcqcnParam("rpg_ai_rate", "rp", "Mb/s", "rp_ai_rate", "additive increase"),
    DcqcnParam("rpg_hai_rate", "rp", "Mb/s", "rp_hai_rate", "hyper additive increase"),
    DcqcnParam("rpg_gd", "rp", "coefficient", "rp_gd", "alpha → rate-cut coefficient"),
    DcqcnParam("rpg_min_dec_fac", "rp", "%", "rp_min_dec_fac", "one cut keeps at least this share of the rate"),
    DcqcnParam("rpg_min_rate", "rp", "Mb/s", "rp_min_rate", "rate floor"),
    DcqcnParam("rate_to_set_on_first_cnp", "rp", "Mb/s", "rp_rate_to_set_on_first_cnp", "rate on the first CNP (0 = normal cut)"),
    DcqcnParam("dce_tcp_g", "rp", "/1024", "rp_dce_tcp_g", "alpha gain"),
    DcqcnParam("dce_tcp_rtt", "rp", "us", "rp_dce_tcp_rtt", "alpha update period"),
    DcqcnParam("rate_reduce_monitor_period", "rp", "us", "rp_rate_reduce_monitor_period", "at most one cut per period"),
    DcqcnParam("initial_alpha_value", "rp", "/1024", "rp_initial_alpha_value", "alpha on the first CNP"),
    DcqcnParam("min_time_between_cnps", "np", "us", "np_min_time_between_cnps", "at most one CNP per period"),
)
PARAM_NAMES = tuple(p.name for p in PARAMS)

# NVIDIA defaults (reference §1 table; DOCA DCQCN CC Parameters; `mlxconfig -q` dumps).
NVIDIA_DEFAULT: dict[str, int] = {
    "clamp_tgt_rate": 0, "clamp_tgt_rate_after_time_inc": 1, "rpg_time_reset": 300, "rpg_byte_reset": 32767,
    "rpg_threshold": 1, "rpg_max_rate": 0, "rpg_ai_rate": 5, "rpg_hai_rate": 50, "rpg_gd": 11,
    "rpg_min_dec_fac": 50, "rpg_min_rate": 1, "rate_to_set_on_first_cnp": 0, "dce_tcp_g": 1019, "dce_tcp_rtt": 1,
    "rate_reduce_monitor_period": 4, "initial_alpha_value": 1023, "min_time_between_cnps": 4,
}
NVIDIA_CNP_DSCP = 48  # CNP_DSCP_P1 default
NVIDIA_CNP_PRIORITY = 6  # CNP_802P_PRIO_P1 default

# Built-in profiles: overrides on top of NVIDIA's defaults.
BUILTIN_PROFILES: dict[str, dict[str, int]] = {
    "nvidia-default": {},
    # Reference §1 "Ignore micro-bursts": Baidu gives no values, so these are hpnctl's choice [guess],
    # using the candidate knobs listed there: one rate cut per 10 µs (the switch-side ignore-microbursts
    # ECN profile's burst_tolerance), at most one CNP per 10 µs per flow, bounded cuts (a cut keeps ≥ 80 %
    # of the rate, the low end of Barre's 80–98), and no special first-CNP rate.
    "ignore-microbursts": {"rate_reduce_monitor_period": 10, "min_time_between_cnps": 10, "rpg_min_dec_fac": 80,
                           "rate_to_set_on_first_cnp": 0},
    # Barre (USENIX ATC'25, BlueField-3 400G): faster CNPs, smaller cuts, faster recovery.  The paper gives
    # ranges; these are values inside them: min_time_between_cnps 0–2, rpg_min_dec_fac 80–98,
    # rate_reduce_monitor_period 1–4, rpg_ai_rate 8–20 (printed "rpg_alpha_rate"), rpg_time_reset 20–100.
    "barre-400g": {"min_time_between_cnps": 2, "rpg_min_dec_fac": 90, "rate_reduce_monitor_period": 2,
                   "rpg_ai_rate": 10, "rpg_time_reset": 50},
}


def cc_prio_mask(priorities: list[int]) -> int:
    """ROCE_CC_PRIO_MASK: bit p = DCQCN on priority p (255 = all, the firmware default)."""
    mask = 0
    for p in priorities:
        mask |= 1 << p
    return mask
