"""Give a lab host node the part of its rendered files that a network namespace can take.

A lab host is a network namespace with veth "NICs": it has no ConnectX, so nic-qos.sh (mlnx_qos, the
ECN sysfs, cc_params, mlxconfig: PFC, ETS in the NIC, CNPs, DCQCN) has nothing to act on.  What it can
take: the marking itself (nccl.env / collectives.json: senders set the ToS from them), the NIC's DSCP →
priority classification and ETS done in the kernel (kernel-qos.sh), and the KV-cache interface and
routes (kvcache-net.sh).  All files land in /etc/hpnctl/ of the node.
"""
from __future__ import annotations

from typing import Any

from hpnctl.errors import LabError

TARGET_DIR = "/etc/hpnctl"
NAMESPACE_SCRIPTS = ("kernel-qos.sh", "kvcache-net.sh")  # run in the node, in this order
NOT_IN_A_NAMESPACE = {"nic-qos.sh": "needs an NVIDIA NIC (mlnx_qos, ECN sysfs / cc_params debugfs, mlxconfig)"}


def apply_to_lab_node(runtime: Any, lab: str, node: str, files: dict[str, str]) -> list[str]:
    """Copy `files` to /etc/hpnctl/ of the node and run its namespace scripts; returns the scripts run."""
    _check(runtime.exec_in(lab, node, ["mkdir", "-p", TARGET_DIR]), node, f"mkdir {TARGET_DIR}")
    for name, text in files.items():
        # exec_in has no stdin: the content travels as an argument (host files are a few KB)
        done = runtime.exec_in(lab, node, ["sh", "-c", 'printf "%s" "$1" > "$2"', "sh", text, f"{TARGET_DIR}/{name}"])
        _check(done, node, f"write {TARGET_DIR}/{name}")
    ran = []
    for script in NAMESPACE_SCRIPTS:
        if script in files:
            _check(runtime.exec_in(lab, node, ["sh", f"{TARGET_DIR}/{script}"]), node, script)
            ran.append(script)
    return ran


def _check(done, node: str, what: str) -> None:
    if done.returncode != 0:
        lines = (done.stderr or done.stdout or "").strip().splitlines()
        raise LabError(f"{node}: {what} failed (exit {done.returncode}): {lines[-1] if lines else 'no output'}")
