"""`hpnctl render --check` / `validate --models`: rendered configs checked against the vendors' YANG models."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SONIC_MODELS = REPO.parent / "shared" / "oracles" / "sonic-yang"

pytestmark = [
    pytest.mark.skipif(shutil.which("yanglint") is None, reason="yanglint (libyang2-tools) is not installed"),
    pytest.mark.skipif(not SONIC_MODELS.is_dir(), reason="the SONiC YANG oracle is not beside the repo"),
]


def hpnctl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpnctl.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_render_check_passes_the_pd_fabric(tmp_path: Path) -> None:
    done = hpnctl("render", str(REPO / "inventories" / "pd-inference.yml"), "-o", str(tmp_path / "out"), "--check",
                  "--models", f"sonic={SONIC_MODELS}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model check: 20 device(s)" in done.stdout and "0 error(s)" in done.stdout


def test_render_check_names_device_file_and_path_of_a_violation(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    sonic = templates / "sonic" / "config_db.json.j2"
    # A template bug: every queue 3 points at a WRED profile that does not exist.
    sonic.write_text("{% set _ = doc['QUEUE'].update({'Ethernet0|3': {'scheduler': 'scheduler.dwrr80', "
                     "'wred_profile': 'NOPE'}}) %}" + sonic.read_text())
    done = hpnctl("render", str(REPO / "inventories" / "pd-inference.yml"), "-o", str(tmp_path / "out"),
                  "--limit", "leaf-g1-r1", "--templates", str(templates), "--check",
                  "--models", f"sonic={SONIC_MODELS}", cwd=tmp_path)
    assert done.returncode == 1
    assert "[leaf-g1-r1]" in done.stdout and "leaf-g1-r1/config_db.json" in done.stdout
    assert '"NOPE"' in done.stdout and "(at /QUEUE/Ethernet0|3/wred_profile)" in done.stdout


def test_validate_models_with_a_wrong_folder_is_a_clear_error(tmp_path: Path) -> None:
    done = hpnctl("validate", str(REPO / "inventories" / "pd-inference.yml"), "--models", f"sonic={tmp_path}", cwd=tmp_path)
    assert done.returncode == 1
    assert "no sonic YANG models found" in done.stderr and "Traceback" not in done.stderr
