"""Vendor drivers against real NOS containers (containerlab).

Each case runs only when `containerlab` is on PATH and the vendor image is
present locally (override the image with the env var named in the table);
otherwise it is skipped with the reason.  The sequence is the one rollout
uses: open → get_running → load (running + one harmless change) → diff →
commit with confirm timer → confirm → rollback → close, and the rollback must
bring back the original running config.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml

from hpnctl.drivers.base import Credentials, DeviceTarget, get_driver

pytestmark = [pytest.mark.clab, pytest.mark.slow]
MARK = "hpnctl-lab-probe"


def _eos_change(files: dict[str, str]) -> dict[str, str]:
    text = files["startup-config.cfg"].replace("\nend", "")
    return {"startup-config.cfg": f"{text}\ninterface Ethernet1\n   description {MARK}\n!\nend\n"}


def _srl_change(files: dict[str, str]) -> dict[str, str]:
    tree = json.loads(files["config.json"])
    for key, value in tree.items():
        if key.endswith(":system") or key == "system":
            value.setdefault("srl_nokia-system-banner:banner", {})["login-banner"] = MARK
    return {"config.json": json.dumps(tree)}


def _nvue_change(files: dict[str, str]) -> dict[str, str]:
    docs = yaml.safe_load(files["startup.yaml"])
    for doc in docs:
        if "set" in doc:
            doc["set"].setdefault("interface", {}).setdefault("swp1", {})["description"] = MARK
    return {"startup.yaml": yaml.safe_dump(docs, sort_keys=False)}


def _sonic_change(files: dict[str, str]) -> dict[str, str]:
    running = json.loads(files["config_db.json"])
    return {"config_db.json": json.dumps({"PORT": {"Ethernet0": {"description": MARK}}}), "frr.conf": files["frr.conf"]} if running else files


@dataclass(frozen=True)
class Vendor:
    platform: str
    kind: str
    image_env: str
    default_image: str
    username: str
    password: str
    change: Callable[[dict[str, str]], dict[str, str]]
    options: dict


VENDORS = [
    Vendor("eos", "arista_ceos", "HPNCTL_LAB_CEOS_IMAGE", "ceos:4.32.0F", "admin", "admin", _eos_change,
           {"eapi_port": 443}),
    Vendor("srlinux", "nokia_srlinux", "HPNCTL_LAB_SRL_IMAGE", "ghcr.io/nokia/srlinux:25.3.1", "admin", "NokiaSrl1!",
           _srl_change, {}),
    Vendor("nvue", "nvidia_cumulusvx", "HPNCTL_LAB_CVX_IMAGE", "vrnetlab/nvidia_cumulus-vx:5.15.1", "cumulus",
           "Clab123!", _nvue_change, {}),
    Vendor("sonic", "sonic-vm", "HPNCTL_LAB_SONIC_IMAGE", "vrnetlab/sonic_sonic-vs:202411", "admin", "admin",
           _sonic_change, {}),
]


def _image_present(image: str) -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def _skip_reason(vendor: Vendor) -> str | None:
    if shutil.which("containerlab") is None:
        return "containerlab is not on PATH"
    image = os.environ.get(vendor.image_env, vendor.default_image)
    if not _image_present(image):
        return f"image {image} is not present (set {vendor.image_env} to use another)"
    return None


def _mgmt_ip(topology: Path, lab: str) -> str:
    out = subprocess.run(["containerlab", "inspect", "-t", str(topology), "-f", "json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    nodes = data.get(lab) or data.get("containers") or []  # newer vs older containerlab layouts
    return nodes[0]["ipv4_address"].split("/")[0]


@pytest.fixture(params=VENDORS, ids=[v.platform for v in VENDORS])
def lab_target(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DeviceTarget]:
    vendor: Vendor = request.param
    reason = _skip_reason(vendor)
    if reason:
        pytest.skip(reason)
    lab = f"hpnctl-drv-{vendor.platform}"
    image = os.environ.get(vendor.image_env, vendor.default_image)
    topology = tmp_path / "lab.clab.yml"
    topology.write_text(yaml.safe_dump({"name": lab, "topology": {"nodes": {"dut": {"kind": vendor.kind, "image": image}}}}))
    subprocess.run(["containerlab", "deploy", "-t", str(topology), "--reconfigure"], check=True)
    monkeypatch.setenv("HPNCTL_LAB_USER", vendor.username)
    monkeypatch.setenv("HPNCTL_LAB_PASSWORD", vendor.password)
    try:
        yield DeviceTarget(
            hostname="dut", platform=vendor.platform, host=_mgmt_ip(topology, lab),
            credentials=Credentials(username_env="HPNCTL_LAB_USER", password_env="HPNCTL_LAB_PASSWORD", use_agent=False),
            strict_host_keys=False,  # lab containers get fresh keys and self-signed certificates
            timeout_s=60.0, options=dict(vendor.options, change=vendor.change),
        )
    finally:
        subprocess.run(["containerlab", "destroy", "-t", str(topology), "--cleanup"], check=False)


def _open_when_ready(target: DeviceTarget, budget_s: float = 600.0):
    """NOS containers accept connections well before their config daemons do: retry."""
    deadline = time.monotonic() + budget_s
    while True:
        driver = get_driver(target)
        try:
            driver.open()
            driver.get_running()
            return driver
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(10)


def test_commit_confirm_and_rollback_on_real_nos(lab_target: DeviceTarget):
    change = lab_target.options["change"]
    driver = _open_when_ready(lab_target)
    try:
        before = driver.get_running()
        driver.load_candidate(change(before), mode="merge" if lab_target.platform == "sonic" else "replace")
        diff = driver.diff()
        assert diff.changed, diff.as_dict()
        driver.commit(confirm_timeout=300)
        driver.confirm()
        assert MARK in json.dumps(driver.get_running())
        driver.rollback()
        assert MARK not in json.dumps(driver.get_running())
    finally:
        driver.close()
