"""The CLI verbs diff / apply / snapshot / rollback: exit codes, formats, refusal before any device is contacted."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from change_fakes import SECRET, FakeFleet, LoudDriver

import hpnctl.drivers.base as base
import hpnctl.rollout as rollout_mod

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPNCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HPNCTL_T_PASSWORD", SECRET)
    monkeypatch.setenv("COLUMNS", "200")


def write_intent(tmp_path: Path, name: str = "lab.yml", **changes) -> Path:
    data = yaml.safe_load((REPO / "inventories" / "lab.yml").read_text())
    data["credentials"]["password_env"] = "HPNCTL_T_PASSWORD"
    classes = data["networks"]["compute"]["qos"]["classes"]
    if "allreduce_bw" in changes:
        classes["allreduce"]["scheduler"]["bandwidth_percent"] = changes["allreduce_bw"]
        classes["default"]["scheduler"]["bandwidth_percent"] = changes.get("default_bw", 100 - changes["allreduce_bw"])
    if "extra" in changes:
        data.update(changes["extra"])
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(args: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """hpnctl's real entry point (error printing and exit codes included), in this process."""
    from hpnctl.cli import main

    monkeypatch.setattr(sys, "argv", ["hpnctl", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def loud(monkeypatch: pytest.MonkeyPatch):
    """Every platform's driver is LoudDriver: contacting any device fails the test."""
    LoudDriver.instantiated = []
    for platform in list(base._REGISTRY):
        monkeypatch.setitem(base._REGISTRY, platform, "change_fakes:LoudDriver")
    return LoudDriver


# --------------------------------------------------------------------------- refusal before contact

@pytest.mark.parametrize("case", ["schema", "semantic", "missing-secret", "limit"])
def test_bad_intent_apply_refuses_before_contacting_any_device(case: str, tmp_path: Path, capsys, monkeypatch, loud) -> None:
    args = []
    if case == "schema":
        intent = write_intent(tmp_path, extra={"fabrik": {}})
    elif case == "semantic":
        intent = write_intent(tmp_path, allreduce_bw=50, default_bw=40)  # DWRR shares add up to 90%
    elif case == "missing-secret":
        monkeypatch.delenv("HPNCTL_T_PASSWORD")
        intent = write_intent(tmp_path)
    else:
        intent = write_intent(tmp_path)
        args = ["--limit", "nosuchdevice*"]
    code, out, err = run(["apply", str(intent), *args], capsys, monkeypatch)
    assert code == 1
    assert loud.instantiated == []
    expected = {"schema": "unknown key 'fabrik'", "semantic": "adds up to 90%",
                "missing-secret": "refusing to contact any device: environment variable(s) not set: HPNCTL_T_PASSWORD",
                "limit": "matches no device"}[case]
    assert expected in err
    assert not (tmp_path / "state" / "runs").exists()  # no run was even started


def test_verify_and_diff_refuse_bad_intent_too(tmp_path: Path, capsys, monkeypatch, loud) -> None:
    intent = write_intent(tmp_path, allreduce_bw=50, default_bw=40)
    for verb in ("verify", "diff", "snapshot"):
        extra = ["-o", str(tmp_path / "snap")] if verb == "snapshot" else []
        code, _, err = run([verb, str(intent), *extra], capsys, monkeypatch)
        assert code == 1 and "nothing was changed" in err
    assert loud.instantiated == []


# --------------------------------------------------------------------------- diff against a snapshot dir

def test_diff_against_render_dir_exit_codes_and_formats(tmp_path: Path, capsys, monkeypatch, loud) -> None:
    intent = write_intent(tmp_path)
    snap = tmp_path / "snap"
    assert run(["render", str(intent), "-o", str(snap)], capsys, monkeypatch)[0] == 0
    code, out, _ = run(["diff", str(intent), "--against", str(snap)], capsys, monkeypatch)
    assert code == 0 and "0 device(s) would change, 6 unchanged" in out

    changed = write_intent(tmp_path, "lab2.yml", allreduce_bw=50)
    code, out, _ = run(["diff", str(changed), "--against", str(snap), "--format", "json"], capsys, monkeypatch)
    assert code == 2
    report = json.loads(out)
    assert report["summary"] == {"devices": 6, "changed": 6, "unchanged": 0, "errors": 0}
    leaf1 = next(d for d in report["changed"] if d["hostname"] == "leaf1")
    assert set(leaf1["files"]) == {"qos.sh"}
    assert "+tc class add dev eth1 parent 1:1 classid 1:13 htb rate 50000mbit" in leaf1["files"]["qos.sh"]

    code, out, _ = run(["diff", str(changed), "--against", str(snap), "--format", "markdown", "--limit", "leaf1"],
                       capsys, monkeypatch)
    assert code == 2
    assert out.startswith("### ⚠️ hpnctl diff — fabric `lab`")
    assert "**1 device(s) would change**" in out and "<details><summary><code>leaf1</code>" in out
    assert loud.instantiated == []  # offline: no device involved


def test_diff_against_snapshot_frr_change_uses_reload_diff(tmp_path: Path, capsys, monkeypatch, loud) -> None:
    intent = write_intent(tmp_path)
    snap = tmp_path / "snap"
    run(["render", str(intent), "-o", str(snap)], capsys, monkeypatch)
    data = yaml.safe_load(intent.read_text())
    data["networks"]["compute"]["routing"]["bgp"].update(keepalive_s=5, hold_s=15)
    changed = tmp_path / "lab3.yml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, _ = run(["diff", str(changed), "--against", str(snap), "--limit", "spine1", "--format", "json"],
                       capsys, monkeypatch)
    assert code == 2
    text = json.loads(out)["changed"][0]["text"]
    assert "timers bgp 5 15" in text
    if Path("/usr/lib/frr/frr-reload.py").exists():
        assert "frr-reload.py --test --input snapshot" in text
    else:
        assert "remediation (hier-config)" in text


def test_diff_missing_device_in_snapshot(tmp_path: Path, capsys, monkeypatch, loud) -> None:
    intent = write_intent(tmp_path)
    snap = tmp_path / "snap"
    run(["render", str(intent), "-o", str(snap), "--limit", "leaf*"], capsys, monkeypatch)
    code, out, _ = run(["diff", str(intent), "--against", str(snap), "--format", "json"], capsys, monkeypatch)
    report = json.loads(out)
    assert code == 2 and report["summary"]["changed"] == 2
    assert any("not in the snapshot" in n for d in report["changed"] for n in d["notes"])


# --------------------------------------------------------------------------- live verbs with fake devices

@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeFleet:
    from hpnctl.changes.plan import prepare

    plan = prepare(write_intent(tmp_path, "base.yml"), None, lab=False)
    f = FakeFleet()
    for name in plan.names:
        f.add(name, plan.rendered[name], peers=[n["ip"] for n in plan.models[name]["bgp"]["neighbors"]])
    monkeypatch.setattr(rollout_mod, "get_driver", f.factory)
    monkeypatch.setattr(base, "get_driver", f.factory)
    return f


def test_live_diff_exit_codes(tmp_path: Path, capsys, monkeypatch, fleet: FakeFleet) -> None:
    same = write_intent(tmp_path)
    code, out, _ = run(["diff", str(same), "--live"], capsys, monkeypatch)
    assert code == 0 and "6 unchanged" in out
    changed = write_intent(tmp_path, "lab2.yml", allreduce_bw=50)
    assert run(["diff", str(changed)], capsys, monkeypatch)[0] == 2
    fleet.devices["spine2"].fail_connect = True
    code, out, _ = run(["diff", str(changed), "--format", "json"], capsys, monkeypatch)
    assert code == 1
    report = json.loads(out)
    assert list(report["errors"]) == ["spine2"] and SECRET not in out
    assert all(fleet.calls(n, "commit") == 0 for n in fleet.devices)


def test_apply_cli_reports_every_device(tmp_path: Path, capsys, monkeypatch, fleet: FakeFleet) -> None:
    changed = write_intent(tmp_path, "lab2.yml", allreduce_bw=50)
    fleet.devices["leaf3"].fail_commit = True
    code, out, err = run(["apply", str(changed), "--canary", "1", "--batch", "2", "--post-check-timeout", "0.2",
                          "--format", "json"], capsys, monkeypatch)
    assert code == 1
    report = json.loads(out)
    assert report["stopped"] and [d["device"] for d in report["devices"]] == \
        ["leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"]
    assert {d["device"]: d["config"] for d in report["devices"]} == {
        "leaf1": "new", "leaf2": "new", "leaf3": "old", "leaf4": "old", "spine1": "old", "spine2": "old"}
    assert SECRET not in out + err
    run_id = report["run_id"]
    code, out, _ = run(["rollback", "--list", "--format", "json"], capsys, monkeypatch)
    assert json.loads(out)["runs"][0]["run_id"] == run_id
    code, out, _ = run(["rollback", "--run", run_id], capsys, monkeypatch)
    assert code == 0 and "2 restored, 1 unchanged" in out
    code, out, _ = run(["apply", str(write_intent(tmp_path, "lab4.yml")), "--format", "text"], capsys, monkeypatch)
    assert code == 0 and "6 unchanged" in out


def test_snapshot_cli_writes_render_layout(tmp_path: Path, capsys, monkeypatch, fleet: FakeFleet) -> None:
    intent = write_intent(tmp_path)
    out_dir = tmp_path / "snap"
    code, out, _ = run(["snapshot", str(intent), "-o", str(out_dir)], capsys, monkeypatch)
    assert code == 0 and "snapshot of 6 device(s), 18 file(s)" in out
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["snapshot"] and len(manifest["devices"]) == 6 and manifest["errors"] == {}
    assert (out_dir / "leaf1" / "frr.conf").read_text() == fleet.devices["leaf1"].files["frr.conf"]
    # a snapshot of a fabric on its intent diffs clean against the intent
    assert run(["diff", str(intent), "--against", str(out_dir)], capsys, monkeypatch)[0] == 0
    fleet.devices["leaf2"].fail_connect = True
    code, _, err = run(["snapshot", str(intent), "-o", str(out_dir)], capsys, monkeypatch)
    assert code == 1 and "leaf2" in err and SECRET not in err


def test_rollback_unknown_run(capsys, monkeypatch) -> None:
    code, _, err = run(["rollback", "--run", "lab-20200101T000000Z-0000"], capsys, monkeypatch)
    assert code == 1 and "no run lab-20200101T000000Z-0000" in err
    code, _, err = run(["rollback", "--run", "../../etc"], capsys, monkeypatch)
    assert code == 1 and "is not a run id" in err


def test_ci_workflow_example_uses_the_real_cli() -> None:
    """docs/ci-diff-workflow.yml (linked from the README) is valid YAML and calls verbs/options that exist."""
    from hpnctl.cli import cli

    path = REPO / "docs" / "ci-diff-workflow.yml"
    data = yaml.safe_load(path.read_text())
    steps = data["jobs"]["plan"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    assert 'hpnctl diff "$INTENT" --against "$SNAPSHOT" --format markdown' in script
    assert 'if [ "$code" -eq 1 ]; then exit 1; fi' in script  # 2 (changes) is not a failure
    assert any("actions/github-script" in s.get("uses", "") for s in steps)
    diff_opts = {p.opts[0] for p in cli.commands["diff"].params if getattr(p, "opts", None)}
    assert {"--against", "--format"} <= diff_opts
    refresh = "\n".join(s.get("run", "") for s in data["jobs"]["refresh-snapshot"]["steps"])
    assert 'hpnctl snapshot "$INTENT" -o "$SNAPSHOT"' in refresh
