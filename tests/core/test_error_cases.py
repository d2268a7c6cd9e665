"""Error cases as data: tests/errors/<case>.yml (one mistake) + <case>.expected (what `hpnctl validate` prints).

The expected file is the exact stdout of `hpnctl validate <case>.yml` run from tests/errors/:
every diagnostic line (file:line:col: severity[CODE]: message (at path)), its hint line, and the
summary line.  The case name starts with the code it exists for (e201_…, w211_…).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ERRORS = Path(__file__).resolve().parents[1] / "errors"
SOURCES = Path(__file__).resolve().parents[2] / "hpnctl"
CASES = sorted(p.stem for p in ERRORS.glob("*.yml"))
DIAG = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning)\[(?P<code>[EW]\d{3})\]: ")

# Codes no intent can reach: E218 (a queue beyond the ASIC's queues) needs queue >= 8, which the
# schema already rejects (queue: 0..7), and every ASIC in platforms/asics.yml has 8 queues.
UNREACHABLE = {"E218"}


def test_every_case_has_its_expected_output():
    expected = sorted(p.stem for p in ERRORS.glob("*.expected"))
    assert CASES == expected
    assert len(CASES) >= 50


def test_every_diagnostic_code_of_the_core_has_a_case():
    """A new check without an error case fails here."""
    codes = set()
    for src in list((SOURCES / "intent").glob("*.py")) + list((SOURCES / "design").glob("*.py")):
        codes |= set(re.findall(r'"([EW]\d{3})"', src.read_text()))
    assert {"E201", "E216", "W211"} <= codes  # the scan itself works
    covered = {name.split("_", 1)[0].upper() for name in CASES}
    assert codes - UNREACHABLE - covered == set()


@pytest.mark.parametrize("case", CASES)
def test_validate_prints_the_expected_diagnostics(case, run_cli):
    expected = (ERRORS / f"{case}.expected").read_text().splitlines()
    result = run_cli("validate", f"{case}.yml", cwd=ERRORS)
    assert result.lines == expected
    assert result.err == ""
    has_errors = any("error[" in line for line in expected)
    assert result.code == (1 if has_errors else 0)
    # The case exists for the code its name starts with, positioned in this file.
    code = case.split("_", 1)[0].upper()
    hits = [DIAG.match(line) for line in expected]
    assert any(m and m["code"] == code for m in hits), f"{case}: no {code} in its expected output"
    assert all(m["file"] == f"{case}.yml" for m in hits if m)
    summary = expected[-1]
    assert summary.startswith(f"{case}.yml: {'invalid' if has_errors else 'valid'} (")


@pytest.mark.parametrize("case", CASES)
def test_json_format_carries_the_same_diagnostics(case, run_cli):
    expected = [m for m in map(DIAG.match, (ERRORS / f"{case}.expected").read_text().splitlines()) if m]
    result = run_cli("validate", "--format", "json", f"{case}.yml", cwd=ERRORS)
    doc = json.loads(result.out)
    assert doc["valid"] is not any(m["severity"] == "error" for m in expected)
    got = [(d["file"], d["line"], d["col"], d["severity"], d["code"]) for d in doc["diagnostics"]]
    assert got == [(m["file"], int(m["line"]), int(m["col"]), m["severity"], m["code"]) for m in expected]
    assert result.code == (0 if doc["valid"] else 1)
