"""Golden files of the Linux + FRR platform: leaf1 and spine1 of inventories/lab.yml.

tests/golden/linux-lab/<device>/<file> is exactly what `hpnctl render inventories/lab.yml`
writes for that device; `pytest --update-golden` rewrites them (read the diff before committing).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from hpnctl.design import design
from hpnctl.intent import load_intent
from hpnctl.model import build_device_model
from hpnctl.platforms import get_platform
from hpnctl.render import render_device

TESTS = Path(__file__).resolve().parents[1]
GOLDEN_DIR = TESTS / "golden" / "linux-lab"
INVENTORY = TESTS.parent / "inventories" / "lab.yml"
DEVICES = ["leaf1", "spine1"]
FILES = list(get_platform("linux").files)


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    loaded = load_intent(INVENTORY)
    fabric = design(loaded)
    return {name: render_device(build_device_model(loaded, fabric, fabric.devices[name])) for name in DEVICES}


def test_golden_set_is_complete():
    """Every golden file belongs to a rendered (device, file) and vice versa: a stale file fails."""
    on_disk = sorted(str(p.relative_to(GOLDEN_DIR)) for p in GOLDEN_DIR.rglob("*") if p.is_file())
    assert on_disk == sorted(f"{d}/{f}" for d in DEVICES for f in FILES)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("file", FILES)
def test_linux_lab_golden(rendered, device, file, golden):
    assert sorted(rendered[device]) == sorted(FILES)
    golden(rendered[device][file], GOLDEN_DIR / device / file)
