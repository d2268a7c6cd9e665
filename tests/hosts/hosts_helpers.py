"""Helpers for the host tests (imported by name: pytest puts tests/hosts on sys.path)."""
from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

from hpnctl.design import design
from hpnctl.intent import load_intent

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent
INVENTORIES = REPO / "inventories"
BASE = HERE / "base_intent.yml"


def shared_conftest():
    """tests/conftest.py (assert_golden), loaded by path: `import conftest` may find another directory's."""
    spec = importlib.util.spec_from_file_location("_hpnctl_tests_conftest_hosts", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
