"""Helpers for the host tests: the small two-network intent of base_intent.yml, edited per case."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hpnctl.design import design
from hpnctl.intent import load_intent

BASE = Path(__file__).resolve().parent / "base_intent.yml"


def write_intent(tmp_path: Path, hosts: str = "", replace: dict[str, str] | None = None) -> Path:
    """base_intent.yml with single-line replacements (positions stay put) and a `hosts:` block appended."""
    text = BASE.read_text()
    for old, new in (replace or {}).items():
        assert text.count(old) == 1, f"{old!r} must occur once in base_intent.yml"
        text = text.replace(old, new)
    if hosts:
        text += "\nhosts:\n" + textwrap.indent(textwrap.dedent(hosts).strip() + "\n", "  ")
    path = tmp_path / "intent.yml"
    path.write_text(text)
    return path


def lint_messages(path: Path) -> list[str]:
    """Every L3xx diagnostic of design() (which runs the lint), formatted, with the file called intent.yml."""
    fabric = design(load_intent(path), strict=False)
    return [d.format().replace(str(path), "intent.yml") for d in fabric.log.sorted() if d.code.startswith("L")]


@pytest.fixture
def lint_case(tmp_path: Path):
    def run(hosts: str = "", replace: dict[str, str] | None = None) -> list[str]:
        return lint_messages(write_intent(tmp_path, hosts, replace))
    return run
