"""`pip install .` (not only -e) gives a working hpnctl that finds its templates and platform data."""
from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {"hpnctl." + ".".join(p.parent.relative_to(REPO / "hpnctl").parts)
               for p in (REPO / "hpnctl").rglob("__init__.py") if p.parent != REPO / "hpnctl"}
    missing = on_disk - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, cwd=out)
    return next(out.glob("hpnctl-*.whl"))


def test_wheel_ships_templates_and_platform_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.relative_to(REPO / "templates").as_posix() for p in (REPO / "templates").rglob("*.j2")}
    assert templates, "no templates in the repo?"
    assert {f"hpnctl/templates/{t}" for t in templates} <= names
    platforms = {p.name for p in (REPO / "hpnctl" / "platforms").glob("*.yml")}
    assert {f"hpnctl/platforms/{p}" for p in platforms} <= names


@pytest.mark.slow
def test_installed_wheel_renders_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True,
                   capture_output=True)
    out = tmp_path / "out"
    result = subprocess.run([str(venv / "bin" / "hpnctl"), "render", str(REPO / "inventories" / "lab.yml"), "-o", str(out)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import hpnctl.paths as p; print(p.default_templates_dir())"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert str(venv) in probe.stdout, f"templates came from {probe.stdout.strip()}, not the installed wheel"
    assert "router bgp" in (out / "leaf1" / "frr.conf").read_text()
