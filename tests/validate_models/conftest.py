"""Shared fixtures: the oracle folders and yanglint, skipped (with the reason) when absent."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hpnctl.validate_models import REPO_ROOT

ORACLES = REPO_ROOT.parent / "shared" / "oracles"
DATA = Path(__file__).parent / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"oracle not present: {path}")
    return path


@pytest.fixture(scope="session")
def yanglint() -> str:
    exe = shutil.which("yanglint")
    if exe is None:
        pytest.skip("yanglint not installed (apt-get install -y libyang2-tools)")
    return exe


@pytest.fixture(scope="session")
def sonic_models(yanglint: str) -> Path:
    return _need(ORACLES / "sonic-yang")


@pytest.fixture(scope="session")
def srl_models(yanglint: str) -> Path:
    return _need(ORACLES / "srlinux-yang")


@pytest.fixture(scope="session")
def clab_schema() -> Path:
    return _need(ORACLES / "containerlab" / "clab.schema.json")


@pytest.fixture()
def sonic_valid() -> dict:
    """sonic.md section 1 example, plus DEVICE_METADATA and one PORT."""
    return json.loads((DATA / "sonic_valid.json").read_text())


@pytest.fixture()
def srl_valid() -> dict:
    """The complete example of hpnctl/validate_models/SRLINUX_PATHS.md."""
    return json.loads((DATA / "srlinux_valid.json").read_text())
