"""The hpnctl command line (validate, show, render) through its real entry point, hpnctl.cli.main."""
from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from hpnctl import __version__
from hpnctl.paths import default_templates_dir

REPO = Path(__file__).resolve().parents[2]
ERRORS = REPO / "tests" / "errors"
LAB_SWITCHES = ["leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"]
DIAG = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning)\[(?P<code>[EW]\d{3})\]: ")


def _row(out: str, first_cell: str, after: str = "") -> list[str]:
    """Cells of the table row whose first cell is `first_cell` (in the part of the output after `after`)."""
    text = out[out.index(after):] if after else out
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row {first_cell!r} in:\n{text}")


# ---------------------------------------------------------------- validate


def test_validate_valid_intent(run_cli):
    r = run_cli("validate", "inventories/lab.yml", cwd=REPO)
    assert r.code == 0
    assert r.lines == ["inventories/lab.yml: valid (0 error(s), 0 warning(s))"]
    assert r.err == ""


def test_validate_warnings_keep_exit_code_zero(run_cli):
    r = run_cli("validate", "inventories/pd-inference.yml", cwd=REPO)
    assert r.code == 0
    diags = [DIAG.match(line) for line in r.lines[:-1]]
    assert [(m["severity"], m["code"]) for m in diags] == [("warning", "W211")] * 2
    assert all(m["file"] == "inventories/pd-inference.yml" for m in diags)
    assert r.lines[-1] == "inventories/pd-inference.yml: valid (0 error(s), 2 warning(s))"


def test_validate_collects_every_error_at_once(run_cli, intent_file, lab_data):
    """Schema errors in different places are all reported, not the first one only."""
    data = copy.deepcopy(lab_data)
    data["fabric"]["mtuu"] = 9000
    data["networks"]["compute"]["qos"]["classes"]["cnp"]["tc"] = 8
    data["management"]["pool"] = "300.1.1.0/24"
    r = run_cli("validate", intent_file(data))
    assert r.code == 1
    codes = [m["code"] for m in map(DIAG.match, r.lines) if m]
    assert sorted(codes) == ["E100", "E102", "E102"]
    assert r.lines[-1].endswith(": invalid (3 error(s), 0 warning(s))")
    lines = [int(m["line"]) for m in map(DIAG.match, r.lines) if m]
    assert lines == sorted(lines)  # in file order


def test_validate_collects_every_semantic_error_at_once(run_cli, intent_file, lab_data):
    data = copy.deepcopy(lab_data)
    classes = data["networks"]["compute"]["qos"]["classes"]
    classes["cnp"]["dscp"] = [48, 34]                                  # E201
    classes["default"]["scheduler"]["bandwidth_percent"] = 30          # E203
    data["networks"]["compute"]["addressing"]["p2p"] = "10.1.0.0/29"   # E212 (8 links need a /28)
    r = run_cli("validate", intent_file(data))
    assert r.code == 1
    assert sorted(m["code"] for m in map(DIAG.match, r.lines) if m) == ["E201", "E203", "E212"]


def test_validate_json(run_cli):
    r = run_cli("validate", "--format", "json", "inventories/pd-inference.yml", cwd=REPO)
    assert r.code == 0
    doc = json.loads(r.out)  # nothing but the document on stdout
    assert doc["valid"] is True
    assert [d["code"] for d in doc["diagnostics"]] == ["W211", "W211"]
    for d in doc["diagnostics"]:
        assert set(d) == {"severity", "code", "message", "path", "file", "line", "col"}
        assert d["severity"] == "warning" and d["file"] == "inventories/pd-inference.yml"
        assert isinstance(d["line"], int) and isinstance(d["col"], int)
    assert {d["path"] for d in doc["diagnostics"]} == {"networks.compute.qos.classes", "networks.compute.adaptive_routing"}
    r = run_cli("validate", "--format", "json", "inventories/lab.yml", cwd=REPO)
    doc = json.loads(r.out)
    assert (doc["valid"], doc["diagnostics"], r.code) == (True, [], 0)


def test_validate_json_of_an_invalid_intent(run_cli):
    r = run_cli("validate", "--format", "json", "e100_unknown_key.yml", cwd=ERRORS)
    assert r.code == 1
    doc = json.loads(r.out)
    assert {k: doc[k] for k in ("valid", "diagnostics")} == {"valid": False, "diagnostics": [{
        "severity": "error", "code": "E100", "message": "unknown key 'mtuu'", "path": "fabric.mtuu",
        "file": "e100_unknown_key.yml", "line": 4, "col": 3, "hint": "did you mean 'mtu'?"}]}


def test_diagnostics_print_user_text_verbatim(run_cli, intent_file, lab_data):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["qos"]["classes"]["allreduce"]["ecn"] = {"profile": "x:cd:[bold]y"}
    r = run_cli("validate", intent_file(data))
    assert r.code == 1
    assert "unknown ECN profile 'x:cd:[bold]y'" in r.out


def test_missing_intent_file_is_a_clean_error(run_cli, tmp_path):
    missing = tmp_path / "nope.yml"
    r = run_cli("validate", missing)
    assert r.code == 1
    assert r.lines == [f"{missing}:1:1: error[E000]: cannot read intent: No such file or directory",
                       f"{missing}: invalid (1 error(s), 0 warning(s))"]
    for verb in (["show"], ["render", "-o", str(tmp_path / "out")]):
        r = run_cli(*verb, missing)
        assert r.code == 1 and r.out == ""
        assert r.err.splitlines() == [f"{missing}:1:1: error[E000]: cannot read intent: No such file or directory",
                                      "1 error(s); nothing was changed"]
    assert not (tmp_path / "out").exists()


def test_unreadable_intent_file_is_a_clean_error(run_cli, tmp_path):
    """Not UTF-8 and a directory: neither may end in a traceback (run_cli fails on any)."""
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(b"fabric:\n  name: caf\xe9\n")
    r = run_cli("validate", latin1)
    assert r.code == 1 and r.lines[0] == f"{latin1}:2:12: error[E000]: cannot read intent: not UTF-8 text (byte 0xe9)"
    r = run_cli("validate", tmp_path)
    assert r.code == 2 and "is a directory" in r.err


def test_version(run_cli):
    r = run_cli("--version")
    assert r.code == 0 and r.out.strip() == f"hpnctl, version {__version__}"


# ---------------------------------------------------------------- show


def test_show_prints_the_class_table(run_cli):
    r = run_cli("show", "inventories/lab.yml", cwd=REPO)
    assert r.code == 0 and r.err == ""
    qos = "QoS plan — network compute"
    assert _row(r.out, "alltoall", qos) == ["alltoall", "alltoall", "34", "4", "4", "0", "strict", "reserve 512KB α=4", "off", "-"]
    assert _row(r.out, "allreduce", qos) == ["allreduce", "allreduce", "26", "3", "3", "0", "DWRR 60%",
                                             "reserve 128KB α=1", "100G: 125KB/500KB/20%", "-"]
    assert _row(r.out, "default", qos)[2] == "default"
    assert _row(r.out, "compute p2p") == ["compute p2p", "10.1.0.0/24", "16", "256", "6.2%"]
    assert "no lossless class" in r.out[r.out.index("PFC headroom"):]


def test_show_lossless_classes_and_headroom(run_cli):
    r = run_cli("show", "inventories/pd-inference.yml", cwd=REPO)
    assert r.code == 0
    compute = "QoS plan — network compute"
    a2a = _row(r.out, "alltoall", compute)
    assert (a2a[6], a2a[8], a2a[9]) == ("strict", "off", "lossless")
    headroom = "PFC headroom per lossless PG — network compute"
    assert _row(r.out, "tomahawk5", headroom)[1:] in (["800G", "18.4KB", "318.5KB", "336.9KB"],
                                                      ["400G", "18.4KB", "299KB", "317.4KB"])
    # the W211 warnings follow the tables (show does not hide a plan's problems)
    assert [m["code"] for m in map(DIAG.match, r.lines) if m] == ["W211", "W211"]


def test_show_asics(run_cli):
    r = run_cli("show", "--asics", "inventories/lab.yml", cwd=REPO)
    assert _row(r.out, "tomahawk5", "ASIC table")[:4] == ["tomahawk5", "165.2MB", "8", "2"]


def test_show_prints_user_text_verbatim(run_cli, intent_file, lab_data):
    """Descriptions and class names are text, not rich markup (a '[/x]' used to raise MarkupError)."""
    data = copy.deepcopy(lab_data)
    data["fabric"]["description"] = "rails [/8] [bold]x :cd:"
    classes = data["networks"]["compute"]["qos"]["classes"]
    classes["[/a2a]"] = dict(classes.pop("alltoall"), kind="alltoall")
    r = run_cli("show", intent_file(data))
    assert r.code == 0
    assert r.lines[0] == "lab  rails [/8] [bold]x :cd:"
    assert _row(r.out, "[/a2a]", "QoS plan")[:3] == ["[/a2a]", "alltoall", "34"]


# ---------------------------------------------------------------- render


def test_render_writes_one_folder_per_switch(run_cli, tmp_path):
    out = tmp_path / "configs"
    r = run_cli("render", "inventories/lab.yml", "-o", out, "--jobs", "1", cwd=REPO)
    assert r.code == 0
    assert r.lines == [f"rendered 6 device(s), 18 file(s) into {out}/ (manifest.json)"]
    assert sorted(p.name for p in out.iterdir()) == sorted(LAB_SWITCHES + ["manifest.json"])
    for name in LAB_SWITCHES:
        assert sorted(p.name for p in (out / name).iterdir()) == ["frr.conf", "qos.sh", "sysctl.conf"]
        assert f"hostname {name}\n" in (out / name / "frr.conf").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [d["device"] for d in manifest["devices"]] == LAB_SWITCHES


def test_render_limit(run_cli, tmp_path):
    out = tmp_path / "configs"
    r = run_cli("render", "inventories/lab.yml", "-o", out, "--limit", "spine", cwd=REPO)
    assert r.code == 0 and sorted(p.name for p in out.iterdir()) == ["manifest.json", "spine1", "spine2"]
    r = run_cli("render", "inventories/lab.yml", "-o", tmp_path / "none", "--limit", "nomatch", cwd=REPO)
    assert r.code == 1 and r.err.strip() == "error: --limit 'nomatch' matches no device"


def test_render_refuses_an_invalid_intent(run_cli, tmp_path):
    out = tmp_path / "configs"
    r = run_cli("render", "e203_dwrr_sum.yml", "-o", out, cwd=ERRORS)
    assert r.code == 1 and r.out == ""
    assert [m["code"] for m in map(DIAG.match, r.err.splitlines()) if m] == ["E203"]
    assert r.err.splitlines()[-1] == "1 error(s); nothing was changed"
    assert not out.exists()


def test_render_prints_warnings_and_renders(run_cli, tmp_path):
    r = run_cli("render", "w211_optional_feature.yml", "-o", tmp_path / "o", "--jobs", "1", cwd=ERRORS)
    assert r.code == 0
    assert [m["code"] for m in map(DIAG.match, r.err.splitlines()) if m] == ["W211", "W211"]
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert all({u["feature"] for u in d["unsupported"]} == {"pfc", "pfc-watchdog"} for d in manifest["devices"])


def test_render_templates_option(run_cli, tmp_path):
    tdir = tmp_path / "t"
    shutil.copytree(default_templates_dir(), tdir)
    (tdir / "linux" / "sysctl.conf.j2").write_text("# {{ hostname }} from my templates\n")
    r = run_cli("render", "inventories/lab.yml", "-o", tmp_path / "o", "--limit", "leaf2", "--templates", tdir, cwd=REPO)
    assert r.code == 0
    assert (tmp_path / "o" / "leaf2" / "sysctl.conf").read_text() == "# leaf2 from my templates\n"
    broken = tmp_path / "broken"  # a new directory: one process caches a directory's templates
    shutil.copytree(default_templates_dir(), broken)
    (broken / "linux" / "sysctl.conf.j2").write_text("ok\n{{ nope }}\n")
    r = run_cli("render", "inventories/lab.yml", "-o", tmp_path / "o2", "--limit", "leaf2", "--templates", broken, cwd=REPO)
    assert r.code == 1
    assert r.err.strip() == "error: linux/sysctl.conf.j2:2: 'nope' is undefined (device leaf2)"


def test_render_output_is_independent_of_jobs(run_cli, tmp_path, intent_file, lab_data):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["topology"]["generator"]["leaf_groups"] = 16
    path = intent_file(data)
    for jobs in ("1", "2"):
        assert run_cli("render", path, "-o", tmp_path / jobs, "--jobs", jobs).code == 0
    one = {p.relative_to(tmp_path / "1"): p.read_bytes() for p in (tmp_path / "1").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "2"): p.read_bytes() for p in (tmp_path / "2").rglob("*") if p.is_file()}
    assert one == two and len(one) == 18 * 3 + 1
    assert yaml.safe_load((tmp_path / "1" / "manifest.json").read_text())["fabric"] == "lab"


def test_show_displays_a_plan_with_errors_and_its_diagnostics(run_cli, intent_file, lab_data):
    data = copy.deepcopy(lab_data)
    data["platforms"] = {"leaf": "sonic", "spine": "sonic"}
    data["asics"] = {"leaf": "bogus9"}
    data["networks"]["compute"]["qos"]["classes"]["allreduce"]["lossless"] = True
    r = run_cli("show", intent_file(data))
    assert _row(r.out, "alltoall", "QoS plan")[6] == "strict"
    assert _row(r.out, "tomahawk4", "PFC headroom")[1] == "100G"  # the spines' ASIC; the unknown one is skipped
    diags = [m for m in map(DIAG.match, r.lines) if m]
    assert [m["code"] for m in diags] == ["E154"]
    assert "unknown ASIC 'bogus9' (4 device(s): leaf1, leaf2, leaf3, leaf4) (at asics.leaf)" in r.out


def test_permission_denied_is_a_clean_error(run_cli, tmp_path, monkeypatch, lab_data):
    """Root reads every file regardless of its mode, so the OS refusal is simulated at the read."""
    import pathlib

    path = tmp_path / "secret.yml"
    path.write_text(yaml.safe_dump(lab_data))
    real = pathlib.Path.read_bytes

    def refuse(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)
    r = run_cli("validate", path)
    assert r.code == 1
    assert r.lines[0] == f"{path}:1:1: error[E000]: cannot read intent: Permission denied"
