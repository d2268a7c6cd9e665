"""NvueDriver against recorded shell responses (tests/drivers/recorded/nvue/)."""
from __future__ import annotations

import pytest
from driver_fakes import FakeShell, Recorded

from hpnctl.drivers.base import get_driver
from hpnctl.drivers.nvue import NvueDriver, keeps_login_user
from hpnctl.errors import CommitError, RollbackError

RUNNING = Recorded("nvue", "default").read("nv_config_show_o_yaml.txt")
# The rendered candidate: same device, RoCE cable length and ECN thresholds added.
CANDIDATE = RUNNING.replace(
    "        mode: lossless\n",
    "        mode: lossless\n        cable-length: 10\n"
    "      congestion-control:\n        default-global:\n          traffic-class:\n"
    "            '3': {min-threshold: 153600, max-threshold: 1536000}\n",
)
WITHOUT_USERS = CANDIDATE.replace(
    "      aaa:\n        user:\n          cumulus:\n"
    "            hashed-password: '$6$rounds=656000$kT2mVb1Q$ZqzT0dPpU2m7n6F5o1p0WJq8b1rY'\n"
    "            role: system-admin\n",
    "",
)
LOAD = ["nv config show -o yaml", "put /tmp/hpnctl-test.startup.yaml", "nv config detach"]


def loaded(make_target, case: str, candidate: str = CANDIDATE, mode: str = "replace"):
    shell = FakeShell("nvue", case)
    target = make_target("nvue", hostname="leaf3")
    driver = NvueDriver(target, shell_factory_=lambda _t: shell, session_name="hpnctl-test")
    driver.open()
    driver.load_candidate({"startup.yaml": candidate}, mode=mode)  # type: ignore[arg-type]
    return driver, shell


@pytest.fixture
def cumulus_user(monkeypatch):
    monkeypatch.setenv("HPNCTL_TEST_USER", "cumulus")


def test_registry_builds_nvue_driver(make_target):
    assert isinstance(get_driver(make_target("nvue")), NvueDriver)


def test_diff_with_changes_lists_nv_commands(make_target, cumulus_user):
    driver, shell = loaded(make_target, "default")
    diff = driver.diff()
    assert diff.changed
    assert diff.remediation == [
        "nv set qos roce cable-length 10",
        "nv set qos congestion-control default-global traffic-class 3 min-threshold 153600",
        "nv set qos congestion-control default-global traffic-class 3 max-threshold 1536000",
    ]
    assert "+    cable-length: 10" in diff.files["startup.yaml"]
    assert diff.notes == []
    assert shell.sequence() == [*LOAD, "nv config replace /tmp/hpnctl-test.startup.yaml", "nv config diff -o commands"]


def test_diff_without_changes(make_target, cumulus_user):
    driver, _ = loaded(make_target, "diff_none", candidate=RUNNING)
    diff = driver.diff()
    assert not diff.changed
    assert diff.remediation == []
    assert diff.files == {}


def test_replace_without_login_user_falls_back_to_patch(make_target, cumulus_user):
    assert keeps_login_user(CANDIDATE, "cumulus")
    assert not keeps_login_user(WITHOUT_USERS, "cumulus")
    driver, shell = loaded(make_target, "default", candidate=WITHOUT_USERS)
    assert "nv config patch /tmp/hpnctl-test.startup.yaml" in shell.commands()
    assert not any(cmd.startswith("nv config replace") for cmd in shell.commands())
    assert "replace downgraded to patch" in driver.diff().notes[0]


def test_replace_keeping_another_user_still_protects_the_login_user(make_target, monkeypatch):
    monkeypatch.setenv("HPNCTL_TEST_USER", "hpnctl")  # we log in as a user the candidate lacks
    _, shell = loaded(make_target, "default")
    assert "nv config patch /tmp/hpnctl-test.startup.yaml" in shell.commands()


def test_commit_with_confirm_timer_then_confirm(make_target, cumulus_user):
    driver, shell = loaded(make_target, "default")
    mark = len(shell.commands())
    driver.commit(confirm_timeout=300)
    driver.confirm()
    assert shell.commands()[mark:] == [
        "nv config apply --confirm 300s --assume-yes",
        "nv config apply --confirm-yes",
        "nv config save",
    ]


def test_commit_without_timer_applies_and_saves(make_target, cumulus_user):
    driver, shell = loaded(make_target, "default")
    mark = len(shell.commands())
    driver.commit()
    assert shell.commands()[mark:] == ["nv config apply --assume-yes", "nv config save"]
    with pytest.raises(CommitError, match="no commit is waiting"):
        driver.confirm()


def test_rollback_of_pending_commit_rejects_it(make_target, cumulus_user):
    driver, shell = loaded(make_target, "default")
    driver.commit(confirm_timeout=300)
    driver.rollback()
    assert shell.commands()[-1] == "nv config apply --confirm-no"


def test_rollback_after_commit_restores_captured_config(make_target, cumulus_user):
    driver, shell = loaded(make_target, "default")
    driver.commit()
    mark = len(shell.events)
    driver.rollback()
    assert shell.sequence()[mark:] == [
        "put /tmp/hpnctl-test.restore.yaml",
        "nv config detach",
        "nv config replace /tmp/hpnctl-test.restore.yaml",
        "nv config apply --assume-yes",
        "nv config save",
    ]
    assert shell.puts()["/tmp/hpnctl-test.restore.yaml"].strip() == RUNNING.strip()


def test_failed_apply_restores_previous_config_and_reports_nvue_error(make_target, cumulus_user):
    driver, shell = loaded(make_target, "commit_fails")
    mark = len(shell.events)
    with pytest.raises(CommitError) as err:
        driver.commit()
    assert "exceeds the maximum shared buffer" in str(err.value)
    assert "rolled back" in str(err.value)
    assert shell.sequence()[mark:] == [
        "nv config apply --assume-yes",
        "put /tmp/hpnctl-test.restore.yaml",
        "nv config detach",
        "nv config replace /tmp/hpnctl-test.restore.yaml",
        "nv config apply --assume-yes",
        "nv config save",
    ]


def test_refused_candidate_is_detached_with_nvue_message(make_target, cumulus_user):
    shell = FakeShell("nvue", "load_fails")
    driver = NvueDriver(make_target("nvue"), shell_factory_=lambda _t: shell, session_name="hpnctl-test")
    driver.open()
    with pytest.raises(CommitError) as err:
        driver.load_candidate({"startup.yaml": CANDIDATE})
    assert "'lossy-multi-tc' is not one of" in str(err.value)
    assert shell.commands()[-1] == "nv config detach"
    with pytest.raises(CommitError):
        driver.commit()


def test_rollback_failure_is_rollback_error(make_target, cumulus_user):
    shell = FakeShell("nvue", "restore_fails")
    driver = NvueDriver(make_target("nvue"), shell_factory_=lambda _t: shell, session_name="hpnctl-test")
    driver.open()
    with pytest.raises(RollbackError, match="Could not connect to nvued"):
        driver.rollback({"startup.yaml": RUNNING})
    assert "nv config apply --assume-yes" not in shell.commands()  # never apply a half-staged restore


def test_collect_returns_parsed_json(make_target):
    shell = FakeShell("nvue", "collect")
    driver = NvueDriver(make_target("nvue"), shell_factory_=lambda _t: shell, session_name="hpnctl-test")
    driver.open()
    neighbors = driver.collect("bgp_summary")
    assert neighbors["swp2"]["state"] == "idle"
    assert shell.commands() == ["nv show vrf default router bgp neighbor -o json"]
