"""SonicDriver against recorded shell responses (tests/drivers/recorded/sonic/)."""
from __future__ import annotations

import json

import jsonpointer
import pytest
from driver_fakes import FakeShell, Recorded

from hpnctl.drivers.base import get_driver
from hpnctl.drivers.sonic import (
    MERGED_TABLES,
    OWNED_TABLES,
    POOL_REFUSAL,
    SonicDriver,
    build_plan,
    config_patch,
    gcu_refusals,
    parse_table,
)
from hpnctl.errors import CommitError, PlatformError, RollbackError

READ_RUNNING = ["sudo -n sonic-cfggen -d --print-data", "sudo -n vtysh -c 'show running-config'"]
CLEANUP = ["sudo -n config delete-checkpoint hpnctl-test", "rm -f /tmp/hpnctl-test.*"]


def rendered() -> tuple[dict, str]:
    """What `hpnctl render` produces for this switch when nothing changed."""
    common = Recorded("sonic", "default")
    return json.loads(common.read("candidate_config_db.json")), common.read("candidate_frr.conf")


def loaded(make_target, case: str, config_db: dict, frr: str | None = None, **options: object):
    shell = FakeShell("sonic", case)
    driver = SonicDriver(make_target("sonic", options=dict(options)), shell_factory_=lambda _t: shell, session_name="hpnctl-test")
    driver.open()
    files = {"config_db.json": json.dumps(config_db)}
    if frr is not None:
        files["frr.conf"] = frr
    driver.load_candidate(files)
    return driver, shell


def test_registry_builds_sonic_driver(make_target):
    assert isinstance(get_driver(make_target("sonic")), SonicDriver)


def test_diff_without_changes(make_target):
    config_db, frr = rendered()
    driver, shell = loaded(make_target, "default", config_db, frr)
    diff = driver.diff()
    assert not diff.changed
    assert diff.patch == []
    assert diff.files == {}
    assert shell.commands() == READ_RUNNING  # a diff sends nothing beyond reading running config


def test_diff_patch_touches_only_owned_tables(make_target):
    config_db, frr = rendered()
    config_db["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] = "204800"
    del config_db["QUEUE"]["Ethernet4|6"]
    config_db["PORT"]["Ethernet4"]["mtu"] = "9216"
    config_db["FEATURE"] = {"telemetry": {"state": "enabled"}}  # not ours: must not be pushed
    driver, _ = loaded(make_target, "default", config_db, frr)
    diff = driver.diff()

    assert diff.changed
    assert diff.patch == [
        {"op": "replace", "path": "/PORT/Ethernet4/mtu", "value": "9216"},
        {"op": "remove", "path": "/QUEUE/Ethernet4|6"},
        {"op": "replace", "path": "/WRED_PROFILE/HPN_LOSSLESS/green_min_threshold", "value": "204800"},
    ]
    # The running config has FEATURE, CRM, PORT lanes/alias, DEVICE_METADATA mac/hwsku that the
    # candidate lacks: none of them may be removed.
    tables = {jsonpointer.JsonPointer(op["path"]).parts[0] for op in diff.patch}
    assert tables <= OWNED_TABLES | MERGED_TABLES
    assert "table FEATURE is not owned by hpnctl: not pushed" in diff.notes
    added = [line for line in diff.files["config_db.json"].splitlines() if line.startswith("+")]
    assert any('"mtu": "9216"' in line for line in added)


def test_owned_table_is_replaced_whole_but_merged_table_only_overlaid():
    running = {
        "PORT": {"Ethernet0": {"lanes": "25,26,27,28", "mtu": "9100"}},
        "SCHEDULER": {"old": {"type": "STRICT"}, "keep": {"type": "DWRR", "weight": "50"}},
        "CRM": {"Config": {"polling_interval": "300"}},
    }
    candidate = {"PORT": {"Ethernet0": {"mtu": "9216"}}, "SCHEDULER": {"keep": {"type": "DWRR", "weight": "60"}}}
    plan = build_plan(running, "", candidate, None, "replace")
    assert plan.patch == [
        {"op": "replace", "path": "/PORT/Ethernet0/mtu", "value": "9216"},
        {"op": "replace", "path": "/SCHEDULER/keep/weight", "value": "60"},
        {"op": "remove", "path": "/SCHEDULER/old"},
    ]
    assert plan.effective["CRM"] == running["CRM"]  # untouched table survives in the full config
    assert plan.effective["PORT"]["Ethernet0"]["lanes"] == "25,26,27,28"
    merged = build_plan(running, "", candidate, None, "merge")
    assert {"op": "remove", "path": "/SCHEDULER/old"} not in merged.patch  # merge never removes


def test_config_patch_escapes_keys_and_never_moves():
    old = {"INTERFACE": {"Ethernet0|10.0.0.0/31": {}, "Ethernet4|10.0.0.2/31": {}}}
    new = {"INTERFACE": {"Ethernet0|10.0.0.2/31": {}, "Ethernet4|10.0.0.0/31": {}}}
    ops = config_patch(old, new)
    assert {op["op"] for op in ops} == {"add", "remove"}
    assert {"op": "remove", "path": "/INTERFACE/Ethernet0|10.0.0.0~131"} in ops


def test_commit_applies_patch_and_frr_then_persists(make_target):
    config_db, frr = rendered()
    config_db["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] = "204800"
    frr_candidate = frr.replace("maximum-paths 64", "maximum-paths 128")
    driver, shell = loaded(make_target, "default", config_db, frr_candidate)
    driver.commit()

    assert shell.sequence()[len(READ_RUNNING):] == [
        "sudo -n config checkpoint hpnctl-test",
        "put /tmp/hpnctl-test.frr-backup.conf",
        "put /tmp/hpnctl-test.patch.json",
        "sudo -n config apply-patch -f CONFIGDB /tmp/hpnctl-test.patch.json",
        "put /tmp/hpnctl-test.frr.conf",
        "sudo -n docker cp /tmp/hpnctl-test.frr.conf bgp:/tmp/hpnctl-test.frr.conf",
        "sudo -n docker exec bgp /usr/lib/frr/frr-reload.py --reload /tmp/hpnctl-test.frr.conf",
        "sudo -n config save -y",
        "sudo -n docker exec bgp vtysh -c 'write memory'",
        *CLEANUP,
    ]
    puts = shell.puts()
    assert json.loads(puts["/tmp/hpnctl-test.patch.json"]) == [
        {"op": "replace", "path": "/WRED_PROFILE/HPN_LOSSLESS/green_min_threshold", "value": "204800"}
    ]
    assert "maximum-paths 128" in puts["/tmp/hpnctl-test.frr.conf"]
    assert "maximum-paths 64" in puts["/tmp/hpnctl-test.frr-backup.conf"]


def test_commit_with_confirm_timer_arms_device_side_revert_then_confirm(make_target):
    config_db, frr = rendered()
    config_db["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] = "204800"
    driver, shell = loaded(make_target, "default", config_db, frr)
    driver.commit(confirm_timeout=300)
    after_commit = len(shell.events)
    driver.confirm()

    assert shell.sequence()[len(READ_RUNNING):after_commit] == [
        "sudo -n config checkpoint hpnctl-test",
        "put /tmp/hpnctl-test.revert.sh",
        "sudo -n systemd-run --unit=hpnctl-test-revert --on-active=300s /bin/sh /tmp/hpnctl-test.revert.sh",
        "put /tmp/hpnctl-test.patch.json",
        "sudo -n config apply-patch -f CONFIGDB /tmp/hpnctl-test.patch.json",
    ]
    assert "config rollback hpnctl-test" in shell.puts()["/tmp/hpnctl-test.revert.sh"]
    assert shell.sequence()[after_commit:] == [
        "sudo -n systemctl is-active hpnctl-test-revert.timer",
        "sudo -n systemctl stop hpnctl-test-revert.timer",
        "sudo -n config save -y",
        *CLEANUP,
    ]


def test_confirm_after_timer_fired_is_an_error(make_target):
    config_db, frr = rendered()
    config_db["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] = "204800"
    driver, shell = loaded(make_target, "confirm_late", config_db, frr)
    driver.commit(confirm_timeout=300)
    with pytest.raises(CommitError, match="too late"):
        driver.confirm()
    assert "sudo -n config save -y" not in shell.commands()


def test_failed_apply_patch_is_rolled_back_to_checkpoint(make_target):
    config_db, frr = rendered()
    config_db["QUEUE"]["Ethernet0|3"]["wred_profile"] = "HPN_LOSSLESS_V2"
    driver, shell = loaded(make_target, "commit_fails", config_db, frr)
    with pytest.raises(CommitError) as err:
        driver.commit()
    message = str(err.value)
    assert "points to a non-existing leaf" in message  # the device's own words
    assert "rolled back to checkpoint hpnctl-test" in message
    assert shell.commands()[len(READ_RUNNING):] == [
        "sudo -n config checkpoint hpnctl-test",
        "sudo -n config apply-patch -f CONFIGDB /tmp/hpnctl-test.patch.json",
        "sudo -n config rollback hpnctl-test",
        *CLEANUP,  # nothing was saved, so no `config save`
    ]
    with pytest.raises(CommitError):
        driver.commit()  # the candidate was discarded


def test_failed_rollback_after_failed_apply_is_a_rollback_error(make_target):
    config_db, frr = rendered()
    config_db["QUEUE"]["Ethernet0|3"]["wred_profile"] = "HPN_LOSSLESS_V2"
    driver, shell = loaded(make_target, "rollback_fails", config_db, frr)
    with pytest.raises(RollbackError) as err:
        driver.commit()
    assert "Checkpoint 'hpnctl-test' does not exist" in str(err.value)
    assert "sudo -n config delete-checkpoint hpnctl-test" not in shell.commands()  # keep it for a human


def test_buffer_pool_change_is_refused_before_any_command(make_target):
    config_db, frr = rendered()
    config_db["BUFFER_POOL"]["ingress_lossless_pool"]["size"] = "13000000"
    driver, shell = loaded(make_target, "default", config_db, frr)
    diff = driver.diff()
    assert POOL_REFUSAL in diff.notes
    sent = len(shell.events)
    with pytest.raises(CommitError) as err:
        driver.commit()
    assert "BUFFER_POOL change needs `config reload` (GCU refuses it); run with --allow-reload" in str(err.value)
    assert len(shell.events) == sent  # not one command reached the device


def test_buffer_profile_rules_follow_gcu():
    assert gcu_refusals([{"op": "replace", "path": "/BUFFER_PROFILE/pg_lossless/dynamic_th", "value": "-2"}]) == []
    assert gcu_refusals([{"op": "replace", "path": "/BUFFER_PROFILE/pg_lossless/xoff", "value": "60000"}]) == []
    refused = gcu_refusals([{"op": "replace", "path": "/BUFFER_PROFILE/pg_lossless/size", "value": "60000"}])
    assert len(refused) == 1 and "/BUFFER_PROFILE/pg_lossless/size" in refused[0]
    assert gcu_refusals([{"op": "add", "path": "/BUFFER_PROFILE/new_profile", "value": {"pool": "p", "size": "0"}}])


def test_allow_reload_reloads_full_effective_config_after_checkpoint(make_target):
    config_db, frr = rendered()
    config_db["BUFFER_POOL"]["ingress_lossless_pool"]["size"] = "13000000"
    driver, shell = loaded(make_target, "default", config_db, frr, allow_reload=True)
    assert any("--allow-reload" in note for note in driver.diff().notes)
    driver.commit()
    assert shell.sequence()[len(READ_RUNNING):] == [
        "sudo -n config checkpoint hpnctl-test",
        "put /tmp/hpnctl-test.config_db.json",
        "sudo -n config reload -y /tmp/hpnctl-test.config_db.json",
        "sudo -n config save -y",
        *CLEANUP,
    ]
    reloaded = json.loads(shell.puts()["/tmp/hpnctl-test.config_db.json"])
    assert reloaded["BUFFER_POOL"]["ingress_lossless_pool"]["size"] == "13000000"
    assert "FEATURE" in reloaded and "CRM" in reloaded  # reload flushes CONFIG_DB: keep what is not ours
    assert reloaded["PORT"]["Ethernet0"]["lanes"] == "25,26,27,28"


def test_rollback_after_confirmed_commit_replaces_with_captured_running(make_target):
    config_db, frr = rendered()
    config_db["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] = "204800"
    driver, shell = loaded(make_target, "default", config_db, frr)
    driver.commit()
    mark = len(shell.events)
    driver.rollback()
    assert shell.sequence()[mark:] == [
        "put /tmp/hpnctl-test.restore.json",
        "sudo -n config replace /tmp/hpnctl-test.restore.json",
        "sudo -n config save -y",
        "rm -f /tmp/hpnctl-test.*",
    ]
    restored = json.loads(shell.puts()["/tmp/hpnctl-test.restore.json"])
    assert restored["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] == "153600"


def test_rollback_of_pending_commit_stops_timer_and_restores_checkpoint(make_target):
    config_db, frr = rendered()
    config_db["WRED_PROFILE"]["HPN_LOSSLESS"]["green_min_threshold"] = "204800"
    driver, shell = loaded(make_target, "default", config_db, frr)
    driver.commit(confirm_timeout=300)
    mark = len(shell.events)
    driver.rollback()
    assert shell.sequence()[mark:] == [
        "sudo -n systemctl stop hpnctl-test-revert.timer",
        "sudo -n config rollback hpnctl-test",
        *CLEANUP,  # the new config never reached startup: nothing to re-save
    ]


def test_collect_parses_json_and_tables(make_target):
    shell = FakeShell("sonic", "collect")
    driver = SonicDriver(make_target("sonic"), shell_factory_=lambda _t: shell, session_name="hpnctl-test")
    driver.open()
    bgp = driver.collect("bgp_summary")
    assert bgp["ipv4Unicast"]["peers"]["10.0.2.2"]["state"] == "Active"
    status = driver.collect("interfaces")
    assert status[1]["Interface"] == "Ethernet4" and status[1]["Oper"] == "down"
    with pytest.raises(PlatformError):
        driver.collect("dlb")


def test_parse_table_keeps_columns_aligned():
    rows = parse_table(Recorded("sonic", "collect").read("show_interfaces_status.txt"))
    assert rows[0]["Lanes"] == "25,26,27,28"
    assert rows[0]["Type"] == "QSFP+ or later"
    assert rows[0]["Asym PFC"] == "off"


def test_commit_without_changes_sends_nothing_and_confirm_is_a_no_op(make_target):
    config_db, frr = rendered()
    driver, shell = loaded(make_target, "default", config_db, frr)
    driver.commit(confirm_timeout=300)
    driver.confirm()
    assert shell.commands() == READ_RUNNING


def test_revert_script_after_reload_reloads_the_checkpoint_file(make_target):
    config_db, frr = rendered()
    config_db["BUFFER_POOL"]["ingress_lossless_pool"]["size"] = "13000000"
    frr = frr.replace("maximum-paths 64", "maximum-paths 128")
    driver, shell = loaded(make_target, "default", config_db, frr, allow_reload=True)
    driver.commit(confirm_timeout=300)
    script = shell.puts()["/tmp/hpnctl-test.revert.sh"]
    assert "config reload -y /etc/sonic/checkpoints/hpnctl-test.cp.json" in script  # GCU cannot undo a pool change
    assert "frr-reload.py --reload /tmp/hpnctl-test.frr-backup.conf" in script
    assert "sudo" not in script  # systemd runs it as root
