"""EosDriver against recorded eAPI responses (tests/drivers/recorded/eos/)."""
from __future__ import annotations

import pytest
from driver_fakes import SECRET, Recorded, eapi_transport, failing_eapi_transport, flat_eapi_commands

from hpnctl.drivers.base import get_driver
from hpnctl.drivers.eos import EosDriver
from hpnctl.errors import CommitError, ConnectError

LOAD_PREFIX = ["show configuration sessions", "configure session hpnctl_test", "rollback clean-config"]


def open_driver(make_target, case: str) -> tuple[EosDriver, list, str]:
    log: list = []
    target = make_target("eos", strict_host_keys=False)
    driver = EosDriver(target, eapi_transport=eapi_transport(case, log), session_name="hpnctl_test")
    driver.open()
    candidate = Recorded("eos", case).read("candidate.cfg") if case != "collect" else ""
    return driver, log, candidate


def test_registry_builds_eos_driver(make_target):
    assert isinstance(get_driver(make_target("eos")), EosDriver)


def test_diff_with_changes_uses_session_diff_and_remediation(make_target):
    driver, log, candidate = open_driver(make_target, "diff_changes")
    driver.load_candidate({"startup-config.cfg": candidate})
    diff = driver.diff()

    assert diff.changed
    assert "+   maximum-paths 128" in diff.text
    assert "-   maximum-paths 64" in diff.text
    # hier-config remediation: negate the old lines, then set the new ones, in their section.
    assert diff.remediation == [
        "qos profile HPN-ROCE",
        "  tx-queue 3",
        "    no random-detect ecn minimum-threshold 256 kbytes maximum-threshold 512 kbytes max-mark-probability 100 weight 0",
        "    random-detect ecn minimum-threshold 320 kbytes maximum-threshold 640 kbytes max-mark-probability 100 weight 0",
        "router bgp 65101",
        "  no maximum-paths 64",
        "  maximum-paths 128",
    ]
    assert "+   maximum-paths 128" in diff.files["startup-config.cfg"]
    commands = flat_eapi_commands(log)
    assert commands[: len(LOAD_PREFIX) + 1] == ["show version", *LOAD_PREFIX]
    assert commands[-2:] == ["show session-config named hpnctl_test diffs", "show running-config"]


def test_diff_without_changes(make_target):
    driver, _, candidate = open_driver(make_target, "diff_none")
    driver.load_candidate({"startup-config.cfg": candidate})
    diff = driver.diff()
    assert not diff.changed
    assert diff.remediation == []
    assert diff.files == {}


def test_commit_with_confirm_timer_then_confirm_sends_exact_sequence(make_target):
    driver, log, candidate = open_driver(make_target, "commit_confirm")
    driver.load_candidate({"startup-config.cfg": candidate})
    mark = len(flat_eapi_commands(log))
    driver.commit(confirm_timeout=300)
    driver.confirm()

    assert flat_eapi_commands(log)[mark:] == [
        # commit: NAPALM checks nothing is pending, then commits with EOS's own timer
        "show configuration sessions detail",
        "show version",
        "copy startup-config flash:rollback-0",
        "configure session hpnctl_test commit timer 00:05:00",
        # confirm: the session must be the pending one, then a plain commit ends the timer
        "show configuration sessions detail",
        "show version",
        "configure session hpnctl_test commit",
        "write memory",
    ]


def test_commit_without_timer_commits_and_saves(make_target):
    driver, log, candidate = open_driver(make_target, "diff_changes")
    driver.load_candidate({"startup-config.cfg": candidate})
    mark = len(flat_eapi_commands(log))
    driver.commit()
    assert flat_eapi_commands(log)[mark:] == [
        "copy startup-config flash:rollback-0",
        "configure session hpnctl_test commit",
        "write memory",
    ]


def test_rollback_of_pending_commit_aborts_session(make_target):
    driver, log, candidate = open_driver(make_target, "rollback_pending")
    driver.load_candidate({"startup-config.cfg": candidate})
    driver.commit(confirm_timeout=300)
    mark = len(flat_eapi_commands(log))
    driver.rollback()
    assert flat_eapi_commands(log)[mark:] == [
        "show configuration sessions detail",
        "show version",
        "configure session hpnctl_test abort",
        "write memory",
    ]


def test_commit_failure_discards_session_and_reports_device_error(make_target):
    driver, log, candidate = open_driver(make_target, "commit_fails")
    driver.load_candidate({"startup-config.cfg": candidate})
    with pytest.raises(CommitError) as err:
        driver.commit()
    message = str(err.value)
    assert "Hardware resources exhausted" in message
    assert "running config unchanged" in message
    assert flat_eapi_commands(log)[-1] == "configure session hpnctl_test abort"


def test_failure_after_session_commit_rolls_device_back(make_target):
    driver, log, candidate = open_driver(make_target, "commit_write_fails")
    driver.load_candidate({"startup-config.cfg": candidate})
    with pytest.raises(CommitError) as err:
        driver.commit()
    assert "No space left on device" in str(err.value)
    assert "rolled back" in str(err.value)
    # the session was already live: restore the pre-commit snapshot, not just abort
    assert flat_eapi_commands(log)[-2:] == ["configure replace flash:rollback-0", "write memory"]


def test_refused_candidate_is_discarded_with_device_message(make_target):
    driver, log, candidate = open_driver(make_target, "load_refused")
    with pytest.raises(CommitError) as err:
        driver.load_candidate({"startup-config.cfg": candidate})
    assert "not supported on this hardware platform" in str(err.value)
    assert flat_eapi_commands(log)[-1] == "configure session hpnctl_test abort"
    with pytest.raises(CommitError):
        driver.diff()  # nothing is loaded any more


def test_connect_failure_names_host_and_hides_password(make_target):
    target = make_target("eos")
    # A transport error that echoes the credentials (as some HTTP stacks do in URLs).
    driver = EosDriver(target, eapi_transport=failing_eapi_transport(f"401 Unauthorized for https://admin:{SECRET}@192.0.2.11/command-api"))
    with pytest.raises(ConnectError) as err:
        driver.open()
    assert "leaf1" in str(err.value)
    assert "401 Unauthorized" in str(err.value)
    assert SECRET not in str(err.value)


def test_connect_refused_by_real_socket(make_target):
    target = make_target("eos", host="127.0.0.1", strict_host_keys=False, options={"eapi_port": 1})
    with pytest.raises(ConnectError) as err:
        EosDriver(target).open()
    assert "127.0.0.1" in str(err.value)
    assert SECRET not in str(err.value)


def test_missing_password_variable_is_a_connect_error(make_target, monkeypatch):
    monkeypatch.delenv("HPNCTL_TEST_PASSWORD")
    with pytest.raises(ConnectError, match="HPNCTL_TEST_PASSWORD"):
        EosDriver(make_target("eos")).open()


def test_collect_parses_json_and_text(make_target):
    driver, log, _ = open_driver(make_target, "collect")
    summary = driver.collect("bgp_summary")
    assert summary["vrfs"]["default"]["peers"]["10.0.1.2"]["peerState"] == "Active"
    assert log[-1] == (["show ip bgp summary"], "json")
    profile = driver.collect("qos_profile")
    assert "priority-flow-control priority 3 no-drop" in profile
    assert log[-1] == (["show running-config section qos profile"], "text")
