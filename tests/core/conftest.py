"""Fixtures of the core pipeline tests: the example inventories designed once, intents written to tmp, the CLI in-process."""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hpnctl.design import design
from hpnctl.intent import load_intent

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `hpnctl ARGS` through the real entry point hpnctl.cli.main (its error handling included).

    Anything but SystemExit escaping main() is a traceback the user would have seen, so it is
    re-raised and fails the test.
    """
    from hpnctl.cli import main

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["hpnctl", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return CliResult(code, captured.out, captured.err)

    return run


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="session")
def lab_data() -> dict:
    return load_yaml(INVENTORIES / "lab.yml")


@pytest.fixture(scope="session")
def lab():
    """(LoadedIntent, Fabric) of inventories/lab.yml — shared: do not mutate."""
    loaded = load_intent(INVENTORIES / "lab.yml")
    return loaded, design(loaded)


@pytest.fixture(scope="session")
def pd():
    """(LoadedIntent, Fabric) of inventories/pd-inference.yml — shared: do not mutate."""
    loaded = load_intent(INVENTORIES / "pd-inference.yml")
    return loaded, design(loaded)


@pytest.fixture
def intent_file(tmp_path):
    """Write an intent (dict or YAML text) to a tmp file and return its path."""
    counter = iter(range(10**6))

    def write(data: dict | str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"intent{next(counter)}.yml")
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def designed(intent_file):
    """dict → (LoadedIntent, Fabric), raising IntentError on any error (strict)."""

    def run(data: dict):
        loaded = load_intent(intent_file(data))
        return loaded, design(loaded)

    return run


def deep(data: dict) -> dict:
    return copy.deepcopy(data)
