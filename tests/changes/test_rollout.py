"""Rollout policy and its invariants, on in-memory fake devices of the lab fabric."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from change_fakes import SECRET, FakeFleet, all_text_under

from hpnctl.changes.plan import Plan, prepare
from hpnctl.changes.state import FabricLock, Run, list_runs
from hpnctl.errors import LockError
from hpnctl.rollout import ApplyOptions, apply_change, plan_batches, rollback_run, rollout, Result

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HPNCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HPNCTL_T_PASSWORD", SECRET)
    return tmp_path / "state"


@pytest.fixture
def intent(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "inventories" / "lab.yml").read_text())
    data["credentials"]["password_env"] = "HPNCTL_T_PASSWORD"
    path = tmp_path / "lab.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def plan(intent: Path) -> Plan:
    return prepare(intent, None, lab=False)


def fleet_for(plan: Plan, changed: bool = True, **per_device: dict) -> FakeFleet:
    """Devices on an 'old' config (rendered + a marker) unless changed=False; per_device = failure flags."""
    fleet = FakeFleet()
    for name in plan.names:
        files = dict(plan.rendered[name])
        if changed:
            files["qos.sh"] = files["qos.sh"] + "# old\n"
        peers = [n["ip"] for n in plan.models[name]["bgp"]["neighbors"]]
        fleet.add(name, files, peers=peers, **per_device.get(name, {}))
    return fleet


def originals(fleet: FakeFleet) -> dict[str, dict[str, str]]:
    return {n: dict(d.files) for n, d in fleet.devices.items()}


FAST = ApplyOptions(post_check_timeout=0.2)


# --------------------------------------------------------------------------- policy

def test_plan_batches() -> None:
    names = list("abcdefg")
    assert plan_batches(names) == [names]
    assert plan_batches(names, canary=1, batch=2) == [["a"], ["b", "c"], ["d", "e"], ["f", "g"]]
    assert plan_batches(names, canary=2) == [["a", "b"], ["c", "d", "e", "f", "g"]]
    assert plan_batches(names, canary=10) == [names]


def test_rollout_order_is_leaves_first(plan: Plan) -> None:
    assert plan.names == ["leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"]


def test_canary_goes_first_and_alone(plan: Plan) -> None:
    fleet = fleet_for(plan)
    report = apply_change(plan, FAST, canary=1, batch=2, parallel=8, factory=fleet.factory)
    assert report.ok
    assert fleet.order[0] == "leaf1"
    assert {n: r.batch for n, r in report.results.items()} == {
        "leaf1": 0, "leaf2": 1, "leaf3": 1, "leaf4": 2, "spine1": 2, "spine2": 3}
    assert all(r.status == "changed" and r.config == "new" for r in report.results.values())
    for name, dev in fleet.devices.items():
        assert dev.files == plan.rendered[name]


def test_unchanged_devices_push_nothing(plan: Plan) -> None:
    fleet = fleet_for(plan, changed=False)
    report = apply_change(plan, FAST, factory=fleet.factory)
    assert {r.status for r in report.results.values()} == {"unchanged"}
    for name in plan.names:
        assert fleet.calls(name, "commit") == 0 and fleet.calls(name, "rollback") == 0
        assert fleet.devices[name].log == ["open", "get_running", "load", "diff", "close"]


def test_dry_run_pushes_nothing_and_keeps_no_run(plan: Plan, state: Path) -> None:
    fleet = fleet_for(plan)
    before = originals(fleet)
    report = apply_change(plan, ApplyOptions(dry_run=True), factory=fleet.factory)
    assert {r.status for r in report.results.values()} == {"would-change"}
    assert {r.config for r in report.results.values()} == {"old"}
    assert originals(fleet) == before
    assert report.run_id is None and list_runs() == []


# --------------------------------------------------------------------------- failures

def test_failure_stops_rollout_every_device_old_or_new(plan: Plan) -> None:
    fleet = fleet_for(plan, leaf3={"fail_commit": True})
    before = originals(fleet)
    report = apply_change(plan, FAST, canary=1, batch=2, max_failures=0, factory=fleet.factory)
    r = report.results
    assert report.stopped and not report.ok and "exceed --max-failures 0" in report.stop_reason
    assert (r["leaf1"].status, r["leaf1"].config) == ("changed", "new")
    assert (r["leaf2"].status, r["leaf2"].config) == ("changed", "new")  # same batch, already running
    assert (r["leaf3"].status, r["leaf3"].config) == ("rolled-back", "old")
    assert fleet.devices["leaf3"].files == before["leaf3"]  # the half-applied commit was undone
    for name in ("leaf4", "spine1", "spine2"):
        assert (r[name].status, r[name].config) == ("skipped", "old")
        assert name not in fleet.opened  # never contacted
        assert fleet.devices[name].files == before[name]
    assert {x.config for x in r.values()} <= {"old", "new"}  # never unknown
    for name, result in r.items():  # and the report says which, truthfully
        expected = plan.rendered[name] if result.config == "new" else before[name]
        assert fleet.devices[name].files == expected, name


def test_failure_budget(plan: Plan) -> None:
    fleet = fleet_for(plan, leaf2={"fail_commit": True}, leaf4={"fail_commit": True})
    report = apply_change(plan, FAST, batch=1, parallel=1, max_failures=1, factory=fleet.factory)
    statuses = [report.results[n].status for n in plan.names]
    assert statuses == ["changed", "rolled-back", "changed", "rolled-back", "skipped", "skipped"]


def test_connect_failure_is_failed_old(plan: Plan) -> None:
    fleet = fleet_for(plan, spine2={"fail_connect": True})
    report = apply_change(plan, FAST, factory=fleet.factory)
    r = report.results["spine2"]
    assert (r.status, r.config, r.stage) == ("failed", "old", "connect")
    assert SECRET not in r.error and "***" in r.error


def test_post_check_failure_rolls_back_instead_of_confirming(plan: Plan) -> None:
    fleet = fleet_for(plan, leaf1={"fail_post_check": True})
    before = originals(fleet)
    report = apply_change(plan, ApplyOptions(confirm_timeout=60, post_check_timeout=0.3), max_failures=None,
                          factory=fleet.factory)
    r = report.results["leaf1"]
    assert (r.status, r.config, r.stage) == ("rolled-back", "old", "post-check")
    assert "BGP peer 10.1.0.1: Idle (was Established)" in r.error
    assert fleet.calls("leaf1", "confirm") == 0 and fleet.calls("leaf1", "rollback") == 1
    assert fleet.devices["leaf1"].files == before["leaf1"]
    assert report.results["leaf2"].status == "changed" and fleet.calls("leaf2", "confirm") == 1
    assert any(e == "commit:60" for e in fleet.devices["leaf2"].log)


def test_failed_rollback_is_reported_unknown(plan: Plan) -> None:
    fleet = fleet_for(plan, leaf1={"fail_commit": True, "fail_rollback": True})
    report = apply_change(plan, FAST, factory=fleet.factory)
    r = report.results["leaf1"]
    assert (r.status, r.config) == ("rollback-failed", "unknown")
    assert "rollback failed" in r.rollback


def test_task_exception_never_escapes() -> None:
    def task(name: str) -> Result:
        raise RuntimeError("bug")

    results, _, stopped, _ = rollout(["a", "b"], task, max_failures=0, parallel=1)
    assert stopped and results["a"].config == "unknown" and "bug" in results["a"].error
    assert results["b"].status == "skipped"


# --------------------------------------------------------------------------- state, secrets, lock

def test_no_secret_in_reports_or_state(plan: Plan, state: Path, capsys: pytest.CaptureFixture) -> None:
    fleet = fleet_for(plan, leaf1={"fail_connect": True}, leaf2={"fail_commit": True})
    report = apply_change(plan, FAST, max_failures=None, factory=fleet.factory)
    assert report.results["leaf2"].error and "***" in report.results["leaf2"].error
    dumped = json.dumps(report.as_dict())
    assert SECRET not in dumped
    text = all_text_under(state)
    assert "leaf2" in text and SECRET not in text
    assert SECRET not in capsys.readouterr().out


def test_run_state_layout_and_modes(plan: Plan, state: Path) -> None:
    fleet = fleet_for(plan)
    report = apply_change(plan, FAST, factory=fleet.factory)
    run = Run.load(report.run_id)
    assert run.path == state / "runs" / report.run_id
    assert (run.path.stat().st_mode & 0o777) == 0o700
    assert run.backed_up() == sorted(plan.names)
    backup = run.load_files("backup", "leaf1")
    assert backup["qos.sh"].endswith("# old\n")
    assert ((run.path / "backup" / "leaf1" / "qos.sh").stat().st_mode & 0o777) == 0o600
    assert run.load_files("candidate", "leaf1") == plan.rendered["leaf1"]
    data = json.loads((run.path / "run.json").read_text())
    assert data["finished"] and data["devices"]["leaf1"]["status"] == "changed"
    assert data["targets"]["leaf1"]["credentials"]["password_env"] == "HPNCTL_T_PASSWORD"
    assert json.loads((run.path / "report.json").read_text())["summary"]["status"] == {"changed": 6}


def test_rollback_run_restores_pre_run_state(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = fleet_for(plan, leaf3={"fail_commit": True})
    before = originals(fleet)
    report = apply_change(plan, FAST, canary=1, batch=2, factory=fleet.factory)
    assert report.stopped
    back = rollback_run(report.run_id, factory=fleet.factory)
    assert back.ok
    assert originals(fleet) == before
    statuses = {n: r.status for n, r in back.results.items()}
    assert statuses == {"leaf1": "restored", "leaf2": "restored", "leaf3": "unchanged"}  # skipped ones have no backup
    assert fleet.calls("leaf3", "rollback") == 1  # only the apply's own rollback: nothing pushed now
    # a rollback is itself a run: it can be undone
    again = rollback_run(back.run_id, factory=fleet.factory)
    assert {r.status for r in again.results.values()} == {"restored", "unchanged"}


def test_rollback_limit(plan: Plan) -> None:
    fleet = fleet_for(plan)
    before = originals(fleet)
    report = apply_change(plan, FAST, factory=fleet.factory)
    rollback_run(report.run_id, "leaf1,spine*", factory=fleet.factory)
    assert fleet.devices["leaf1"].files == before["leaf1"] and fleet.devices["spine2"].files == before["spine2"]
    assert fleet.devices["leaf2"].files == plan.rendered["leaf2"]


def test_lock_refuses_a_second_apply(plan: Plan) -> None:
    fleet = fleet_for(plan)
    with FabricLock("lab", "apply", "lab-20260101T000000Z-abcd"):
        with pytest.raises(LockError, match=r"locked by another change \(apply by pid \d+"):
            apply_change(plan, FAST, factory=fleet.factory)
    assert fleet.opened == []
    assert apply_change(plan, FAST, factory=fleet.factory).ok  # released


def test_lock_held_by_another_process(plan: Plan, state: Path) -> None:
    fleet = fleet_for(plan)
    code = textwrap.dedent(f"""
        import os, sys, time
        os.environ["HPNCTL_STATE_DIR"] = {str(state)!r}
        from hpnctl.changes.state import FabricLock
        lock = FabricLock("lab", "apply").acquire()
        print("locked", flush=True)
        time.sleep(30)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockError, match=f"pid {holder.pid}"):
            apply_change(plan, FAST, factory=fleet.factory)
        holder.kill()
        holder.wait()
        time.sleep(0.05)
        assert apply_change(plan, FAST, factory=fleet.factory).ok  # a dead holder leaves no stale lock
    finally:
        holder.kill()
        holder.wait()
    assert fleet.opened.count("leaf1") == 1


def test_dry_run_needs_no_lock(plan: Plan) -> None:
    fleet = fleet_for(plan)
    with FabricLock("lab", "apply"):
        assert apply_change(plan, ApplyOptions(dry_run=True), factory=fleet.factory).ok


def test_crashed_run_keeps_per_device_results(plan: Plan) -> None:
    """A run that never finished (the process died) still tells which devices were done, from devices.jsonl."""
    run = Run.create("lab", "apply", "x.yml", {}, {})
    run.record_device("leaf1", {"status": "changed", "config": "new"})
    run.record_device("leaf2", {"status": "rolled-back", "config": "old"})
    with open(run.path / "devices.jsonl", "a") as fh:
        fh.write('{"device": "leaf3", "sta')  # cut mid-line
    again = Run.load(run.run_id)
    assert again.data["finished"] is None
    assert again.data["devices"] == {"leaf1": {"status": "changed", "config": "new"},
                                     "leaf2": {"status": "rolled-back", "config": "old"}}
    assert [r["devices"] for r in list_runs() if r["run_id"] == run.run_id] == [2]
