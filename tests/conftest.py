"""Shared pytest options and helpers."""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INVENTORIES = REPO / "inventories"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the expected files under tests/golden/ from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def assert_golden(actual: str, expected_path: Path, update: bool) -> None:
    """Compare text with a golden file; with --update-golden, rewrite it instead."""
    if update or not expected_path.exists():
        if not update:
            pytest.fail(f"golden file {expected_path} is missing: run pytest --update-golden")
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_text(actual)
        return
    expected = expected_path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            str(expected_path), "rendered"))
        pytest.fail(f"output differs from {expected_path} (pytest --update-golden to accept):\n{diff}")


@pytest.fixture
def golden(update_golden: bool):
    """`golden(actual_text, expected_path)`: compare with (or, with --update-golden, rewrite) a golden file.

    A fixture rather than an import: several test folders have their own conftest.py,
    so `from conftest import …` is ambiguous.
    """
    return lambda actual, expected_path: assert_golden(actual, expected_path, update_golden)
