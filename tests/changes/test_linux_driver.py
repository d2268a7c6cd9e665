"""The linux driver's node-side scripts, run for real against a sandbox node (fake FRR/sysctl), plus its parsers."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from hpnctl.drivers.base import DeviceTarget
from hpnctl.drivers.linux import (FILE_TARGETS, ExecResult, LinuxFrrDriver, NodePaths, commit_script, confirm_script,
                                  format_entries, normalize_running, parse_collect, parse_frames, parse_reload_test,
                                  parse_sysctl_conf, read_script, restore_script, rollback_script, sysctl_equal,
                                  frr_test_script)
from hpnctl.errors import CommitError
from change_fakes import SECRET, SandboxNode, node_files

pytestmark = pytest.mark.skipif(not Path("/bin/sh").exists(), reason="needs /bin/sh")


@pytest.fixture
def node(tmp_path: Path) -> SandboxNode:
    return SandboxNode(tmp_path / "node")


def _marker(node: SandboxNode) -> Path:
    return node.root / "qos-applied"


def _session(node: SandboxNode, password_env: str | None = None) -> LinuxFrrDriver:
    d = node.driver(password_env)
    d.open()
    return d


def _apply(node: SandboxNode, files: dict[str, str], confirm: int | None = None) -> tuple[LinuxFrrDriver, object]:
    d = _session(node)
    d.get_running()
    d.load_candidate(files)
    diff = d.diff()
    if diff.changed:
        d.commit(confirm)
    return d, diff


# --------------------------------------------------------------------------- diff

def test_fresh_node_unchanged_filters_frr_defaults(node: SandboxNode) -> None:
    """`timers bgp 3 9` is never printed by FRR: on a node never committed to, it is noise, not a change."""
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    assert "timers bgp 3 9" not in node.running_frr()
    d = _session(node)
    d.get_running()
    d.load_candidate(v1)
    diff = d.diff()
    assert not diff.changed, diff.text
    assert d.commands_sent == ["read", "frr-reload --test"]
    assert any("no baseline" in n for n in diff.notes)


def test_change_shows_exactly_the_change_then_nothing(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    v2 = node_files("v1", _marker(node), timers="5 15")  # only the BGP timers change
    node.boot(v1)
    d, diff = _apply(node, v2)
    entries = parse_reload_test(diff.text.split("\n", 1)[1])
    assert entries == [("add", "timers bgp 5 15")], diff.text  # not the unprinted default 3 9
    assert set(diff.files) == {"frr.conf"}
    assert d.commands_sent == ["read", "frr-reload --test", "commit"]
    assert "timers bgp 5 15" in node.running_frr()
    # previous files kept on the node for rollback
    assert node.node_file("rollback/frr.conf").read_text() == v1["frr.conf"]
    assert node.node_file("rollback/restore.sh").exists()
    # second pass: nothing to do, and nothing but one read sent
    d2 = _session(node)
    d2.get_running()
    d2.load_candidate(v2)
    assert not d2.diff().changed
    assert d2.commands_sent == ["read"]


def test_commit_applies_every_file(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    v2 = node_files("v2", _marker(node), hash_fields="0x0027")
    node.boot(v1)
    _apply(node, v2)
    assert node.read("frr.conf") == v2["frr.conf"]
    assert node.qos_applied().strip() == "v2"
    assert "net.ipv4.fib_multipath_hash_fields=0x0027" in node.sysctl_live()


def test_live_drift_is_a_change_and_apply_repairs_it(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    _apply(node, node_files("v2", _marker(node)))  # gives the node a baseline
    v2 = node_files("v2", _marker(node))
    with open(node.root / "frr-running.conf", "a") as fh:  # a hand change in vtysh
        fh.write(" neighbor 10.9.9.9 remote-as 65099\n")
    d = _session(node)
    d.get_running()
    d.load_candidate(v2)
    diff = d.diff()
    assert diff.changed and diff.files == {}
    assert "no neighbor 10.9.9.9 remote-as 65099" in diff.text
    d.commit()
    assert "10.9.9.9" not in node.running_frr()


def test_sysctl_drift_detected(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    live = node.root / "sysctl-live"
    live.write_text(live.read_text().replace("0x0037", "3"))
    d = _session(node)
    d.get_running()
    d.load_candidate(v1)
    diff = d.diff()
    assert diff.changed
    assert any("fib_multipath_hash_fields = 3 (file: 0x0037)" in n for n in diff.notes)


def test_invalid_candidate_refused_before_any_write(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    bad = dict(v1, **{"frr.conf": v1["frr.conf"].replace("exit", " INVALID\nexit")})
    d = _session(node)
    d.get_running()
    d.load_candidate(bad)
    with pytest.raises(CommitError, match="FRR refused the candidate"):
        d.diff()
    assert d.commands_sent == ["read", "frr-reload --test"]
    assert node.read("frr.conf") == v1["frr.conf"]


# --------------------------------------------------------------------------- failures and rollback

def test_failed_commit_restores_previous_files(node: SandboxNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPNCTL_T_PASSWORD", SECRET)
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    v2 = node_files("v2", _marker(node))
    v2["qos.sh"] = f"#!/bin/sh\necho 'tc: RTNETLINK answers: No such device {SECRET}' >&2\nexit 2\n"
    d = node.driver("HPNCTL_T_PASSWORD")
    d.open()
    d.get_running()
    d.load_candidate(v2)
    d.diff()
    with pytest.raises(CommitError) as info:
        d.commit()
    message = str(info.value)
    assert "restored its previous files" in message and "No such device" in message
    assert SECRET not in message
    assert node.read("frr.conf") == v1["frr.conf"]
    assert node.read("qos.sh") == v1["qos.sh"]
    assert "description v1" in node.running_frr()
    assert node.qos_applied().strip() == "v1"


def test_rollback_to_kept_files(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    d, _ = _apply(node, node_files("v2", _marker(node)))
    d.rollback()
    assert node.read("frr.conf") == v1["frr.conf"]
    assert "description v1" in node.running_frr()
    assert node.qos_applied().strip() == "v1"


def test_rollback_to_backup_is_exact(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    backup = {k: v for k, v in v1.items() if k != "qos.sh"}  # the node had no qos.sh before
    node.boot(v1)
    Path(node.files["qos.sh"]).unlink()
    d = _session(node)
    assert d.get_running() == backup
    d.load_candidate(node_files("v2", _marker(node)))
    d.diff()
    d.commit()
    assert node.read("qos.sh") is not None
    d.rollback(backup)
    assert node.read("qos.sh") is None
    assert node.read("frr.conf") == v1["frr.conf"]
    d2 = _session(node)
    assert d2.get_running() == backup


def test_identical_files_are_not_rewritten(node: SandboxNode) -> None:
    """A read-only frr.conf that need not change does not fail a rollback to a backup."""
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    frr = Path(node.files["frr.conf"])
    before = frr.stat().st_mtime_ns
    time.sleep(0.01)
    d = _session(node)
    d.rollback(d.get_running())
    assert frr.stat().st_mtime_ns == before


# --------------------------------------------------------------------------- confirm timer

def test_confirm_cancels_the_timer(node: SandboxNode) -> None:
    node.boot(node_files("v1", _marker(node)))
    v2 = node_files("v2", _marker(node))
    d, _ = _apply(node, v2, confirm=30)
    pid = int(node.node_file("confirm.pid").read_text())
    os.kill(pid, 0)  # the timer job is alive
    d.confirm()
    assert not node.node_file("confirm.pid").exists()
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            break
        if state == "Z":  # killed, waiting for its reaper
            break
        time.sleep(0.05)
    else:
        pytest.fail("the confirm timer job survived confirm()")
    assert node.read("frr.conf") == v2["frr.conf"]


def test_timer_reverts_unconfirmed_commit(node: SandboxNode) -> None:
    v1 = node_files("v1", _marker(node))
    node.boot(v1)
    d, _ = _apply(node, node_files("v2", _marker(node)), confirm=1)
    deadline = time.monotonic() + 10
    while not node.node_file("confirm.fired").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    while node.node_file("confirm.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert node.read("frr.conf") == v1["frr.conf"]
    assert "description v1" in node.running_frr()
    with pytest.raises(CommitError, match="confirm timer expired"):
        d.confirm()


def test_pending_confirm_blocks_another_commit(node: SandboxNode) -> None:
    node.boot(node_files("v1", _marker(node)))
    d, _ = _apply(node, node_files("v2", _marker(node)), confirm=30)
    other = _session(node)
    other.get_running()
    other.load_candidate(node_files("v3", _marker(node)))
    other.diff()
    with pytest.raises(CommitError, match="waits for confirmation"):
        other.commit()
    d.confirm()


# --------------------------------------------------------------------------- transport details

class _Recorder:
    def __init__(self) -> None:
        self.commands: list[str] = []

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        self.commands.append(command)
        return ExecResult("", "", 0)

    def close(self) -> None:
        pass


def test_non_root_user_goes_through_sudo() -> None:
    rec = _Recorder()
    target = DeviceTarget("leaf1", "linux", "192.0.2.1", options={"ssh_user": "admin"})
    d = LinuxFrrDriver(target, transport_factory=lambda t: rec)
    d.open()
    d.collect("hash")
    assert rec.commands[0].startswith("sudo -n sh -c ")
    target_root = DeviceTarget("leaf1", "linux", "192.0.2.1", options={"ssh_user": "root"})
    d = LinuxFrrDriver(target_root, transport_factory=lambda t: rec)
    d.open()
    d.collect("hash")
    assert rec.commands[1].startswith("sh -c ")


def test_paths_match_the_lab_topology() -> None:
    from hpnctl.lab.topology import LINUX_FILE_TARGETS

    assert FILE_TARGETS == LINUX_FILE_TARGETS


@pytest.mark.parametrize("script", [
    read_script(NodePaths()), frr_test_script(NodePaths(), True), frr_test_script(NodePaths(), False),
    restore_script(NodePaths()), confirm_script(NodePaths()), rollback_script(NodePaths()),
    commit_script(NodePaths(), ["frr.conf", "qos.sh", "sysctl.conf"], [], True, True, True, 60, False),
    commit_script(NodePaths(), ["frr.conf"], ["qos.sh"], True, False, False, 0, True),
])
def test_node_scripts_are_valid_posix_sh(script: str, tmp_path: Path) -> None:
    path = tmp_path / "s.sh"
    path.write_text(script)
    done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- parsers

FRR_TEST_OUTPUT = """
Lines To Delete
===============
router bgp 65001
 address-family ipv4 unicast
  no maximum-paths 4
no interface eth9

Lines To Add
============
router bgp 65001
 timers bgp 5 15
router bgp 65001
 address-family ipv4 unicast
  network 10.0.0.4/32 
frr version 8.4
"""


def test_parse_reload_test() -> None:
    entries = parse_reload_test(FRR_TEST_OUTPUT)
    assert entries == [
        ("del", "router bgp 65001\n address-family ipv4 unicast\n  no maximum-paths 4"),
        ("del", "no interface eth9"),
        ("add", "router bgp 65001\n timers bgp 5 15"),
        ("add", "router bgp 65001\n address-family ipv4 unicast\n  network 10.0.0.4/32"),
        ("add", "frr version 8.4"),
    ]
    text = format_entries(entries[:3])
    assert text.startswith("Lines To Delete\nrouter bgp 65001") and "Lines To Add" in text


def test_parse_frames_roundtrip() -> None:
    import base64

    body = "line 1\nno newline at end"
    out = (f"@@HPNCTL@@ file a\n{base64.encodebytes(body.encode()).decode()}@@HPNCTL@@ absent b\n"
           "@@HPNCTL@@ rc x 3\n@@HPNCTL@@ end\n")
    frames = parse_frames(out)
    assert frames == {"files": {"a": body, "b": None}, "rc": {"x": 3}, "complete": True}
    assert parse_frames("truncated")["complete"] is False


def test_sysctl_helpers() -> None:
    assert parse_sysctl_conf("# c\nnet.a = 1\n-net.b=0x10\n; x\nnet/c/d = 4096 87380\n") == \
        {"net.a": "1", "net.b": "0x10", "net.c.d": "4096 87380"}
    assert sysctl_equal("55", "0x0037")
    assert sysctl_equal("4096\t87380", "4096 87380")
    assert not sysctl_equal("3", "0x0037")


def test_normalize_running_drops_banner() -> None:
    text = "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nhostname x\n"
    assert normalize_running(text) == "!\nhostname x"


def test_parse_collect_shapes() -> None:
    links = '[{"ifname":"eth1","operstate":"UP","mtu":9100}]'
    parsed = parse_collect("interfaces", f"{links}\n@@HPNCTL@@\neth1 10000\nlo -\n")
    assert parsed == {"links": [{"ifname": "eth1", "operstate": "UP", "mtu": 9100}], "speed": {"eth1": 10000, "lo": None}}
    qos = parse_collect("qos_profile", '[{"kind":"htb","dev":"eth1","root":true}]\n@@HPNCTL@@ class eth1\nclass htb 1:1 root rate 1Gbit ceil 1Gbit\n'
                                       "@@HPNCTL@@ filter eth1\nfilter x\n")
    assert qos["qdiscs"][0]["kind"] == "htb" and "class htb 1:1" in qos["classes"]["eth1"] and qos["filters"]["eth1"] == "filter x\n"
    assert parse_collect("hash", "3\n55\n") == {"policy": 3, "fields": 55}


class _DroppingTransport:
    """Runs the command like sshd would, then 'loses the connection': pipes closed and SIGHUP to the session."""

    def __init__(self, inner):
        self.inner = inner
        self.procs: list = []

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        import signal

        from hpnctl.errors import ConnectError

        if not command.startswith("sh -c ") or "frr-reload.py --reload" not in command:
            return self.inner.run(command, stdin, timeout)
        proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        proc.stdin.write(stdin or b"")
        proc.stdin.close()
        time.sleep(0.3)
        proc.stdout.close()
        proc.stderr.close()
        os.killpg(proc.pid, signal.SIGHUP)
        self.procs.append(proc)
        raise ConnectError("leaf1: SSH connection lost")

    def close(self) -> None:
        pass


def test_commit_finishes_when_the_session_drops(node: SandboxNode) -> None:
    """The node-side commit ignores SIGHUP/SIGPIPE and logs to a file: a dead session leaves no half state."""
    from hpnctl.errors import ConnectError

    node.boot(node_files("v1", _marker(node)))
    v2 = node_files("v2", _marker(node), timers="5 15")
    from change_fakes import LocalTransport

    node.mark("slow-reload")  # the session drops while frr-reload.py runs
    dropping = _DroppingTransport(LocalTransport(node))
    d = LinuxFrrDriver(node.target(), transport_factory=lambda t: dropping)
    d.open()
    d.get_running()
    d.load_candidate(v2)
    d.diff()
    with pytest.raises(ConnectError):
        d.commit()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not node.node_file("last-change.log").exists():
        time.sleep(0.1)
    assert node.read("frr.conf") == v2["frr.conf"]
    assert "timers bgp 5 15" in node.running_frr() and node.qos_applied().strip() == "v2"
    assert node.node_file("state/frr.sha256").exists()
