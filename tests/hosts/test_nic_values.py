"""What a network namespace cannot take — NIC firmware, DCQCN, PFC, ETS — checked by value.

1. The NVIDIA defaults and the built-in profiles against the reference table
   (../shared/reference/dcqcn-pfc-hpn-numbers.md §1, transcribed below).
2. nic-qos.sh of the PD-inference example run against a fake MLNX_OFED sysfs, a fake upstream debugfs and
   fake mlnx_qos / mlxconfig on PATH: every value the script writes or passes is the plan's.
3. kvcache-net.sh with a fake `ip`: the KV NIC's address, routes, source rule and RDMA-CM ToS.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hosts_helpers import INVENTORIES

from hpnctl.design import design
from hpnctl.hosts.dcqcn import BUILTIN_PROFILES, NVIDIA_DEFAULT, PARAMS
from hpnctl.hosts.design import plan_hosts
from hpnctl.hosts.model import build_host_model
from hpnctl.hosts.render import render_host
from hpnctl.intent import load_intent

# Reference §1, "NIC side" table (DOCA DCQCN CC Parameters; public `mlxconfig -q` dumps).
REFERENCE_DEFAULTS = {
    "dce_tcp_g": 1019, "dce_tcp_rtt": 1, "initial_alpha_value": 1023, "rate_to_set_on_first_cnp": 0,
    "rpg_min_dec_fac": 50, "rpg_min_rate": 1, "rpg_gd": 11, "rate_reduce_monitor_period": 4,
    "rpg_time_reset": 300, "rpg_byte_reset": 32767, "rpg_threshold": 1, "rpg_ai_rate": 5, "rpg_hai_rate": 50,
    "rpg_max_rate": 0, "clamp_tgt_rate": 0, "clamp_tgt_rate_after_time_inc": 1, "min_time_between_cnps": 4,
}
# torvalds/linux drivers/infiniband/hw/mlx5/cong.c, mlx5_ib_dbg_cc_name[] (the debugfs file names).
CONG_C_NAMES = {
    "rp_clamp_tgt_rate", "rp_clamp_tgt_rate_ati", "rp_time_reset", "rp_byte_reset", "rp_threshold", "rp_ai_rate",
    "rp_max_rate", "rp_hai_rate", "rp_min_dec_fac", "rp_min_rate", "rp_rate_to_set_on_first_cnp", "rp_dce_tcp_g",
    "rp_dce_tcp_rtt", "rp_rate_reduce_monitor_period", "rp_initial_alpha_value", "rp_gd",
    "np_min_time_between_cnps", "np_cnp_dscp", "np_cnp_prio_mode", "np_cnp_prio",
}
PCI = "0000:3b:00.0"


def test_nvidia_defaults_are_the_reference_table() -> None:
    assert NVIDIA_DEFAULT == REFERENCE_DEFAULTS


def test_parameter_names_match_mlxconfig_and_cong_c() -> None:
    assert {p.debugfs for p in PARAMS} <= CONG_C_NAMES
    assert {p.mlxconfig for p in PARAMS} >= {"RPG_TIME_RESET_P1", "CLAMP_TGT_RATE_P1", "MIN_TIME_BETWEEN_CNPS_P1",
                                             "RATE_REDUCE_MONITOR_PERIOD_P1", "DCE_TCP_G_P1", "RPG_MIN_DEC_FAC_P1"}
    assert {p.name for p in PARAMS} == set(REFERENCE_DEFAULTS)


def test_ignore_microbursts_uses_the_reference_knobs() -> None:
    """§1 'Ignore micro-bursts': longer monitor period, longer CNP spacing, bounded cuts, no first-CNP rate."""
    prof = {**NVIDIA_DEFAULT, **BUILTIN_PROFILES["ignore-microbursts"]}
    changed = {k for k in prof if prof[k] != NVIDIA_DEFAULT[k]}
    assert changed == {"rate_reduce_monitor_period", "min_time_between_cnps", "rpg_min_dec_fac"}
    assert prof["rate_reduce_monitor_period"] > NVIDIA_DEFAULT["rate_reduce_monitor_period"]
    assert prof["min_time_between_cnps"] > NVIDIA_DEFAULT["min_time_between_cnps"]
    assert prof["rpg_min_dec_fac"] > NVIDIA_DEFAULT["rpg_min_dec_fac"]
    assert prof["rate_to_set_on_first_cnp"] == 0


def test_barre_profile_is_inside_the_published_ranges() -> None:
    b = BUILTIN_PROFILES["barre-400g"]
    assert 0 <= b["min_time_between_cnps"] <= 2
    assert 80 <= b["rpg_min_dec_fac"] <= 98
    assert 1 <= b["rate_reduce_monitor_period"] <= 4
    assert 8 <= b["rpg_ai_rate"] <= 20
    assert 20 <= b["rpg_time_reset"] <= 100


@pytest.fixture(scope="module")
def pd():
    loaded = load_intent(INVENTORIES / "pd-inference.yml")
    fabric = design(loaded)
    plan = plan_hosts(loaded, fabric)
    model = build_host_model(loaded, fabric, plan, fabric.devices["gpu1"])
    return plan, model, render_host(model)


def test_tos_is_dscp_shifted_as_in_observed_deployments(pd) -> None:
    """§5: SGLang's NCCL_IB_TC 136 is DSCP 34, AMD's NCCL_IB_TC 104 is DSCP 26, FIFO_TC 192 is DSCP 48."""
    plan, _, files = pd
    env = dict(line.split("=", 1) for line in files["nccl.env"].splitlines() if line and not line.startswith("#"))
    assert env["NCCL_IB_TC"] == "104" and plan.markings["nccl"].dscp == 26
    assert env["NVSHMEM_IB_TRAFFIC_CLASS"] == "136" and plan.markings["nvshmem"].dscp == 34
    assert env["NCCL_IB_SL"] == "3" and env["NVSHMEM_IB_SL"] == "4"
    assert env["HPNCTL_TRAFFIC_CLASS_ALLTOALL"] == "136" and env["HPNCTL_TRAFFIC_CLASS_ALLREDUCE"] == "104"
    assert env["NCCL_IB_HCA"] == "=" + ",".join(f"mlx5_{i}:1" for i in range(8))  # the KV NIC mlx5_8 is not there


def test_pd_nic_plan_follows_the_switches(pd) -> None:
    plan, _, _ = pd
    compute, kv = plan.nics["compute"], plan.nics["kvcache"]
    assert compute.pfc_priorities == [3, 4] and kv.pfc_priorities == [3]
    assert compute.dcqcn_priorities == [3] and compute.cc_prio_mask == 0b1000
    assert compute.dcqcn_profile == "ignore-microbursts" and kv.dcqcn_profile == "nvidia-default"
    assert (compute.cnp_dscp, compute.cnp_priority) == (48, 6)
    assert [e["tsa"] for e in compute.ets] == ["ets", "ets", "ets", "ets", "strict", "ets", "strict", "ets"]
    assert [e["bw"] for e in compute.ets] == [20, 0, 0, 80, 0, 0, 0, 0]
    assert compute.mtu == kv.mtu == 4200
    assert {d: p for d, p in compute.dscp_to_priority.items() if p} == {26: 3, 34: 4, 48: 6}


# ---------------------------------------------------------------- nic-qos.sh against fakes


FAKE_TOOL = '#!/bin/sh\necho "$(basename "$0") $*" >> "$HPNCTL_TOOL_LOG"\n'


def _fake_host(tmp_path: Path, netdevs: list[str], sysfs_ecn: bool) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mlnx_qos", "mlxconfig", "ip"):
        (bin_dir / tool).write_text(FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    sysfs, debugfs = tmp_path / "sys", tmp_path / "debug"
    for i, dev in enumerate(netdevs):
        pci = f"0000:3b:00.{i}"
        (sysfs / "devices" / pci).mkdir(parents=True)
        net = sysfs / "class" / "net" / dev
        net.mkdir(parents=True)
        (net / "device").symlink_to(sysfs / "devices" / pci)
        if sysfs_ecn:
            for point in ("roce_rp", "roce_np"):
                (net / "ecn" / point / "enable").mkdir(parents=True)
        else:
            (debugfs / "mlx5" / pci / "cc_params").mkdir(parents=True)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HPNCTL_SYSFS": str(sysfs), "HPNCTL_DEBUGFS": str(debugfs),
            "HPNCTL_TOOL_LOG": str(tmp_path / "tools.log")}


def _run(script: str, tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.sh"
    path.write_text(script)
    return subprocess.run(["sh", str(path), *args], env=env, capture_output=True, text=True, timeout=60)


def _read(path: Path) -> str:
    return path.read_text().strip()


def test_nic_qos_writes_the_plan_into_mlnx_ofed_sysfs(pd, tmp_path: Path) -> None:
    plan, model, files = pd
    netdevs = [n["netdev"] for n in model["nics"]]
    env = _fake_host(tmp_path, netdevs, sysfs_ecn=True)
    done = _run(files["nic-qos.sh"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for nic in model["nics"]:
        net = plan.nics[nic["network"]]
        ecn = tmp_path / "sys" / "class" / "net" / nic["netdev"] / "ecn"
        for p in PARAMS:
            assert _read(ecn / p.sysfs_dir / p.name) == str(net.dcqcn[p.name]), (nic["netdev"], p.name)
        assert _read(ecn / "roce_np" / "cnp_dscp") == "48"
        assert _read(ecn / "roce_np" / "cnp_802p_prio") == "6"
        for point in ("roce_rp", "roce_np"):
            enabled = [p for p in range(8) if _read(ecn / point / "enable" / str(p)) == "1"]
            assert enabled == net.dcqcn_priorities == [3]
    assert _read(tmp_path / "sys/class/net/eth1/ecn/roce_rp/rate_reduce_monitor_period") == "10"  # ignore-microbursts
    assert _read(tmp_path / "sys/class/net/eth9/ecn/roce_rp/rate_reduce_monitor_period") == "4"  # nvidia-default
    calls = (tmp_path / "tools.log").read_text().splitlines()
    eth1 = [c for c in calls if c.startswith("mlnx_qos -i eth1 ")]
    assert "mlnx_qos -i eth1 --trust dscp" in eth1
    assert "mlnx_qos -i eth1 --pfc 0,0,0,1,1,0,0,0" in eth1
    assert ("mlnx_qos -i eth1 --prio_tc 0,1,2,3,4,5,6,7 --tsa ets,ets,ets,ets,strict,ets,strict,ets "
            "--tcbw 20,0,0,80,0,0,0,0") in eth1
    assert "mlnx_qos -i eth1 --cable_len 10" in eth1
    dscp = {c.rsplit(" ", 1)[1] for c in eth1 if "--dscp2prio" in c}
    assert len(dscp) == 64 and {"set,26,3", "set,34,4", "set,48,6", "set,10,0"} <= dscp
    assert "mlnx_qos -i eth9 --pfc 0,0,0,1,0,0,0,0" in calls
    assert "ip link set dev eth9 mtu 4200" in calls
    assert not [c for c in calls if c.startswith("mlxconfig")]  # firmware only with --persist


def test_nic_qos_persist_sets_the_firmware_defaults(pd, tmp_path: Path) -> None:
    _, model, files = pd
    env = _fake_host(tmp_path, [n["netdev"] for n in model["nics"]], sysfs_ecn=True)
    done = _run(files["nic-qos.sh"], tmp_path, env, "--persist")
    assert done.returncode == 0, done.stderr
    mlxconfig = [c for c in (tmp_path / "tools.log").read_text().splitlines() if c.startswith("mlxconfig")]
    assert len(mlxconfig) == 9
    first = mlxconfig[0].split()
    assert first[:5] == ["mlxconfig", "-y", "-d", "0000:3b:00.0", "set"]
    settings = dict(kv.split("=") for kv in first[5:])
    assert settings["ROCE_CC_PRIO_MASK_P1"] == "8" and settings["CNP_DSCP_P1"] == "48"
    assert settings["CNP_802P_PRIO_P1"] == "6" and settings["RPG_MIN_DEC_FAC_P1"] == "80"
    assert settings["MIN_TIME_BETWEEN_CNPS_P1"] == "10" and settings["RPG_TIME_RESET_P1"] == "300"
    kv = dict(s.split("=") for s in mlxconfig[8].split()[5:])
    assert mlxconfig[8].split()[3] == "0000:3b:00.8" and kv["RATE_REDUCE_MONITOR_PERIOD_P1"] == "4"


def test_nic_qos_falls_back_to_upstream_debugfs(pd, tmp_path: Path) -> None:
    plan, model, files = pd
    env = _fake_host(tmp_path, [n["netdev"] for n in model["nics"]], sysfs_ecn=False)
    done = _run(files["nic-qos.sh"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    cc = tmp_path / "debug" / "mlx5" / "0000:3b:00.0" / "cc_params"
    for p in PARAMS:
        assert _read(cc / p.debugfs) == str(plan.nics["compute"].dcqcn[p.name])
    assert _read(cc / "np_cnp_dscp") == "48" and _read(cc / "np_cnp_prio") == "6"
    # Upstream has no per-priority DCQCN switch: the script says so (once per NIC) instead of failing.
    assert done.stderr.count("DCQCN priorities need --persist (ROCE_CC_PRIO_MASK_P1)") == 9


def test_kvcache_net_configures_only_the_kv_nic(pd, tmp_path: Path) -> None:
    _, _, files = pd
    env = _fake_host(tmp_path, ["eth9"], sysfs_ecn=True)
    tc = tmp_path / "sys" / "class" / "infiniband" / "mlx5_8" / "tc" / "1"
    tc.mkdir(parents=True)
    (tc / "traffic_class").write_text("0\n")
    done = _run(files["kvcache-net.sh"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tools.log").read_text().splitlines() == [
        "ip link set dev eth9 mtu 4200 up",
        "ip addr replace 10.10.0.1/31 dev eth9",
        "ip route replace 10.10.0.0/24 via 10.10.0.0 dev eth9",
        "ip route replace default via 10.10.0.0 dev eth9 table 100",
        "ip rule del from 10.10.0.1/32 table 100",
        "ip rule add from 10.10.0.1/32 table 100",
    ]
    assert _read(tc / "traffic_class") == "40"  # DSCP 10 << 2


def test_every_script_parses(pd) -> None:
    _, _, files = pd
    for name, text in files.items():
        if name.endswith(".sh"):
            done = subprocess.run(["sh", "-n"], input=text, capture_output=True, text=True)
            assert done.returncode == 0, (name, done.stderr)
