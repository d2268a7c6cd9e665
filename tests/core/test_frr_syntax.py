"""The rendered frr.conf of the Linux platform, parsed by FRR's own command parser.

`vtysh --dryrun -f FILE` (FRR 8.4) reads a config file against every daemon's command
tree without connecting to any daemon: exit 0 when every line is a valid command in its
node, 2 with "line N: % Unknown command" otherwise.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest

from hpnctl.model import build_device_model
from hpnctl.render import render_device

VTYSH = shutil.which("vtysh")
pytestmark = pytest.mark.skipif(VTYSH is None, reason="FRR's vtysh is not installed")


def vtysh_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=60)


def _render_all(loaded, fabric, out: Path) -> list[Path]:
    paths = []
    for dev in fabric.switches():
        text = render_device(build_device_model(loaded, fabric, dev))["frr.conf"]
        path = out / f"{dev.name}.frr.conf"
        path.write_text(text)
        paths.append(path)
    return paths


def test_the_checker_rejects_a_bad_line(lab, tmp_path):
    """Control: without it, a vtysh that accepted anything would make the next tests pass vacuously."""
    loaded, fabric = lab
    good = _render_all(loaded, fabric, tmp_path)[0]
    lines = good.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(" bgp router-id"))
    lines[at] = " bgp routr-id 10.0.0.3"
    bad = tmp_path / "bad.conf"
    bad.write_text("\n".join(lines) + "\n")
    result = vtysh_check(bad)
    assert result.returncode != 0
    assert f"line {at + 1}:" in result.stdout + result.stderr


def test_lab_frr_conf_is_valid_frr(lab, tmp_path):
    loaded, fabric = lab
    for path in _render_all(loaded, fabric, tmp_path):
        result = vtysh_check(path)
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"
        assert "Unknown command" not in result.stdout + result.stderr


def test_frr_conf_with_bfd_and_explicit_ports_is_valid_frr(lab_data, designed, tmp_path):
    """BFD on the sessions, and interface names that are not ethN (explicit link ports)."""
    data = copy.deepcopy(lab_data)
    net = data["networks"]["compute"]
    net["routing"]["bfd"] = {"enabled": True, "interval_ms": 100, "multiplier": 3}
    net["topology"]["devices"] = [{"name": "border1", "role": "leaf", "asn": 65100}]
    net["topology"]["links"] = [{"endpoints": ["border1:swp1", "spine1:swp31"]}]
    loaded, fabric = designed(data)
    paths = _render_all(loaded, fabric, tmp_path)
    assert " bfd 3 100 100" in (tmp_path / "spine1.frr.conf").read_text()
    assert "interface swp31" in (tmp_path / "spine1.frr.conf").read_text()
    for path in paths:
        result = vtysh_check(path)
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}{result.stderr}"
