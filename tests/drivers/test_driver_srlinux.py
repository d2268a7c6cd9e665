"""SrlinuxDriver (napalm-srlinux) against recorded JSON-RPC responses (tests/drivers/recorded/srlinux/)."""
from __future__ import annotations

import socket

import httpx
import pytest
from driver_fakes import SECRET, Recorded, RecordedJsonRpc

pytest.importorskip("napalm_srlinux", reason="napalm-srlinux is an optional dependency (pip install .[srlinux])")

from hpnctl.drivers.base import get_driver
from hpnctl.drivers.srlinux import SrlinuxDriver
from hpnctl.errors import CommitError, ConnectError, RollbackError

COMMIT_STATE = "get_system_configuration_commit_id_state"
CHECKPOINT = "cli_tools_system_configuration_generate_checkpoint_name_NAPALM_SESSION_1"


def loaded(make_target, case: str):
    rpc = RecordedJsonRpc(case)
    driver = SrlinuxDriver(make_target("srlinux", hostname="leaf4"), http_transport=httpx.MockTransport(rpc))
    driver.open()
    driver.load_candidate({"config.json": Recorded("srlinux", case).read("candidate.json")})
    return driver, rpc


def test_registry_builds_srlinux_driver(make_target):
    assert isinstance(get_driver(make_target("srlinux")), SrlinuxDriver)


def test_diff_with_changes(make_target):
    driver, rpc = loaded(make_target, "default")
    diff = driver.diff()
    assert diff.changed
    assert "+                         maximum-paths 128" in diff.text
    assert {"op": "replace", "value": 15,
            "path": "/srl_nokia-qos:qos/buffer-management/queue-management-profile/0/wred/slope/0/min-threshold-percent"} in diff.patch
    added = [line[1:].strip() for line in diff.files["config.json"].splitlines() if line.startswith("+")]
    assert '"min-threshold-percent": 15,' in added
    assert rpc.keys() == ["validate", "diff", "get_running"]
    method, params = rpc.requests[0]
    # A scoped replace: only the subtrees hpnctl renders, never `replace /` (that would delete mgmt0,
    # the mgmt network-instance and the system servers hpnctl does not render).
    paths = [c["path"] for c in params["commands"]]
    assert all(c["action"] == "replace" for c in params["commands"])
    assert "/" not in paths and "/interface[name=ethernet-1/1]" in paths and "/qos" in paths
    assert not [p for p in paths if "mgmt" in p]


def test_diff_without_changes(make_target):
    driver, _ = loaded(make_target, "diff_none")
    diff = driver.diff()
    assert not diff.changed
    assert diff.patch == []
    assert diff.files == {}


def test_commit_with_confirm_timer_then_confirm(make_target):
    driver, rpc = loaded(make_target, "default")
    mark = len(rpc.requests)
    driver.commit(confirm_timeout=300)
    driver.confirm()
    assert rpc.keys()[mark:] == [
        COMMIT_STATE,  # nothing else pending
        CHECKPOINT,  # rollback anchor before the change
        "set",
        COMMIT_STATE,  # the commit is now unconfirmed
        "cli_tools_system_configuration_confirmed_accept",
    ]
    _, set_params = rpc.requests[mark + 2]
    assert set_params["confirm-timeout"] == 300
    assert set_params["datastore"] == "candidate"


def test_rollback_of_pending_commit_rejects_it(make_target):
    driver, rpc = loaded(make_target, "default")
    driver.commit(confirm_timeout=300)
    driver.rollback()
    assert rpc.keys()[-2:] == [COMMIT_STATE, "cli_tools_system_configuration_confirmed_reject"]


def test_commit_failure_reports_device_error_and_discards(make_target):
    driver, rpc = loaded(make_target, "commit_fails")
    with pytest.raises(CommitError) as err:
        driver.commit()
    assert "PFC is not supported on platform 7220 IXR-D2L" in str(err.value)
    assert "running config unchanged" in str(err.value)  # the JSON-RPC set is one transaction
    assert rpc.keys().count("set") == 1
    with pytest.raises(CommitError, match="no candidate"):
        driver.commit()


def test_rollback_with_backup_replaces_whole_tree(make_target):
    driver, rpc = loaded(make_target, "rollback_backup")
    driver.commit()
    driver.rollback({"config.json": Recorded("srlinux", "rollback_backup").read("backup.json")})
    assert rpc.keys()[-4:] == ["validate", COMMIT_STATE, "cli_tools_system_configuration_generate_checkpoint_name_NAPALM_SESSION_2", "set"]


def test_rollback_without_commit_is_rollback_error(make_target):
    driver, _ = loaded(make_target, "default")
    with pytest.raises(RollbackError, match="No checkpoint"):
        driver.rollback()


def test_connect_failure_hides_password(make_target):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused for admin:{SECRET}@192.0.2.11:443", request=request)

    driver = SrlinuxDriver(make_target("srlinux"), http_transport=httpx.MockTransport(refuse))
    with pytest.raises(ConnectError) as err:
        driver.open()
    assert "leaf1" in str(err.value) and "connection refused" in str(err.value)
    assert SECRET not in str(err.value)


def test_connect_refused_by_real_socket(make_target):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    target = make_target("srlinux", host="127.0.0.1", options={"insecure": True, "jsonrpc_port": port})
    with pytest.raises(ConnectError) as err:
        SrlinuxDriver(target).open()
    assert "127.0.0.1" in str(err.value)
    assert SECRET not in str(err.value)


def test_collect_reads_state_datastore(make_target):
    rpc = RecordedJsonRpc("collect")
    driver = SrlinuxDriver(make_target("srlinux"), http_transport=httpx.MockTransport(rpc))
    driver.open()
    state = driver.collect("bgp_summary")
    assert state["neighbor"][0]["session-state"] == "established"
    assert rpc.requests[-1] == ("get", {"commands": [{"path": "/network-instance[name=default]/protocols/bgp/neighbor", "datastore": "state"}]})
