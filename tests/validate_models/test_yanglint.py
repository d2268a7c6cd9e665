"""The shared yanglint runner: output parsing, attribution across many files, both modes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models.yanglint import (
    YangMessage,
    YangSchema,
    _records,
    _to_message,
    prune,
    split_path,
    validate_documents,
    validate_files,
    yanglint_path,
)

SCHED = "sonic-scheduler:sonic-scheduler"


def _scheduler_doc(weight: int) -> dict:
    return {SCHED: {"sonic-scheduler:SCHEDULER": {"SCHEDULER_LIST": [{"name": "s", "type": "DWRR", "weight": weight}]}}}


def test_missing_yanglint_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HPNCTL_YANGLINT", "/nonexistent/yanglint")
    with pytest.raises(ModelValidationError, match="^yanglint not found: install libyang2-tools"):
        yanglint_path()


def test_error_lines_are_parsed():
    text = (
        'libyang[0]: Unsatisfied range - value "200" is out of the allowed range. (path: Data location '
        "\"/sonic-scheduler:sonic-scheduler/SCHEDULER/SCHEDULER_LIST[name='s']/weight\", line number 2.)\n"
        'YANGLINT[E]: Failed to parse input data file "/tmp/a.json".\n'
        "libyang err : Mandatory node \"pool\" instance does not exist. (Schema location "
        '"/sonic-buffer-profile:sonic-buffer-profile/BUFFER_PROFILE/BUFFER_PROFILE_LIST/pool".)\n'
        "libyang warn: a warning\n  spanning two lines\n"
    )
    records = _records(text)
    assert [lvl for lvl, _ in records] == ["error", "error", "error", "other"]
    assert _to_message(records[0][1]) == YangMessage(
        'Unsatisfied range - value "200" is out of the allowed range.',
        "/sonic-scheduler:sonic-scheduler/SCHEDULER/SCHEDULER_LIST[name='s']/weight",
        2,
    )
    missing = _to_message(records[2][1])
    assert missing.message == 'Mandatory node "pool" instance does not exist.'
    assert missing.schema_path and missing.path.endswith("BUFFER_PROFILE_LIST/pool")
    assert records[3][1] == "a warning\n  spanning two lines"


def test_split_path_and_prune():
    path = "/m:top/t/L[k='a'][j='x/y']/leaf"
    assert split_path(path) == [("m:top", {}), ("t", {}), ("L", {"k": "a", "j": "x/y"}), ("leaf", {})]
    doc = {"m:top": {"m:t": {"L": [{"k": "a", "j": "x/y", "leaf": 1, "o": 2}, {"k": "b", "j": "z", "leaf": 3}]}}}
    assert prune(doc, path) is not None
    assert doc["m:top"]["m:t"]["L"] == [{"k": "a", "j": "x/y", "o": 2}, {"k": "b", "j": "z", "leaf": 3}]
    assert prune(doc, "/m:top/t/L[k='a'][j='x/y']/k") is None  # a key: only the whole entry could go
    doc2 = {"m:c": {"ll": ["a", "b"]}}
    assert prune(doc2, "/m:c/ll[.='b']") == {"ll": ["a"]}


@pytest.mark.parametrize("mode", ["session", "cli"])
def test_each_file_gets_its_own_errors(mode, sonic_models, tmp_path):
    schema = YangSchema(("sonic-scheduler",), (sonic_models,))
    files = []
    for i in range(7):
        files.append(tmp_path / f"d{i}.json")
        files[-1].write_text(json.dumps(_scheduler_doc(200 if i in (0, 3, 4) else 50)))
    results = validate_files(schema, files, mode=mode, jobs=2)
    assert [bool(results[f]) for f in files] == [True, False, False, True, True, False, False]
    assert results[files[3]][0].path.endswith("/weight")


def test_session_and_cli_agree_on_documents(sonic_models):
    schema = YangSchema(("sonic-scheduler",), (sonic_models,))
    docs = [_scheduler_doc(w) for w in (50, 0, 101)]
    assert validate_documents(schema, docs, mode="session") == validate_documents(schema, docs, mode="cli")


def test_module_load_failure_is_an_error_not_a_pass(sonic_models, tmp_path):
    schema = YangSchema(("sonic-no-such-module",), (sonic_models,))
    data = tmp_path / "d.json"
    data.write_text("{}")
    with pytest.raises(ModelValidationError, match="could not load modules"):
        validate_files(schema, [data], mode="session")
    with pytest.raises(ModelValidationError, match="sonic-no-such-module not found"):
        validate_files(schema, [data], mode="cli")


def test_paths_with_blanks(sonic_models, tmp_path):
    folder = tmp_path / "with blank"
    folder.mkdir()
    data = folder / "d 1.json"
    data.write_text(json.dumps(_scheduler_doc(200)))
    results = validate_files(YangSchema(("sonic-scheduler",), (sonic_models,)), [Path(data)], mode="session")
    assert "out of the allowed range" in results[data][0].message
