"""Linux + FRR over SSH: FRR's own reload script, the QoS script, the sysctl file.

A linux node gets three files (the layout `hpnctl render` writes):

    frr.conf     → /etc/frr/frr.conf             applied with frr-reload.py --reload
    qos.sh       → /etc/hpnctl/qos.sh            applied with sh (rebuilds the tc tree)
    sysctl.conf  → /etc/sysctl.d/90-hpnctl.conf  applied with sysctl -p

Transport: paramiko exec channels on one SSH connection per device (real exit
status and separate stderr, no prompt scraping); connection parameters,
credential resolution and host-key policy come from hpnctl.drivers.ssh
(`netmiko_params`), so every SSH driver checks host keys the same way.  Files
travel as a tar archive on the stdin of the command that uses them, so every
step below is one round trip, and works the same with sudo.

Command sequences (each line = one exec on the node; H = /etc/hpnctl):
  get_running  READ: base64 of the three files, of H/state/* (the baseline of
               the last commit), `vtysh -c 'show running-config'`, and the
               live value (`sysctl -n`) of every key of the sysctl file
  diff         READ (cached from get_running) and, unless nothing can have
               changed (candidate == files, baseline valid, live FRR config ==
               baseline), TEST: candidate frr.conf on stdin →
               `frr-reload.py --test <candidate>` (+ `--test /etc/frr/frr.conf`
               when there is no baseline); qos.sh/sysctl.conf: unified diffs
  commit       COMMIT: files on stdin → cp the current files to H/rollback/
               (+ H/rollback/restore.sh) → write files → `frr-reload.py
               --reload /etc/frr/frr.conf` → `sysctl -q -p` → `sh qos.sh` →
               baseline (H/state: sha256 of frr.conf, show running-config,
               frr-reload --test output) → [confirm timer].  Any failure runs
               H/rollback/restore.sh before the exec returns (exit 3).
  confirm      CONFIRM: take H/confirm.lock, kill the timer's process group
  rollback     ROLLBACK: cancel a pending timer, `sh H/rollback/restore.sh`;
               with a backup: COMMIT of the backup files, everything re-applied
  collect      one command per verify check (vtysh json, ip -j, tc, sysctl)

FRR's defaults.  `show running-config` omits lines equal to a default
(`timers bgp 3 9` and `no bgp ebgp-requires-policy` under `frr defaults
datacenter`), so `frr-reload.py --test` lists them as "to add" even right after
a reload.  Those entries are noise, not change: the baseline written after
each commit records them (the --test output of the applied file, when running
and file agree by construction), and diff removes them.  Without a baseline
(a node hpnctl never committed to, e.g. fresh from `lab up`) the on-disk file
is taken as what FRR loaded at start: its --test "add" entries are the noise,
its "delete" entries are live drift.

Confirm timer (`commit(confirm_timeout=S)`): no `at` is needed.  The commit
starts a detached job `setsid sh -c 'sleep S; mkdir H/confirm.lock && sh
H/rollback/restore.sh'` (its own session and process group, stdio on
/dev/null, so it outlives the SSH session) and records its PID in
H/confirm.pid.  confirm() takes the same lock directory (mkdir is atomic)
and kills the job's process group; if the job took the lock first, the node
has reverted (H/confirm.fired) and confirm() raises CommitError.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import io
import json
import logging
import re
import shlex
import socket
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, LoadMode
from hpnctl.drivers.ssh import connect_error, netmiko_params, scrub, target_secrets
from hpnctl.errors import CommitError, ConnectError, HpnctlError, PlatformError, RollbackError

log = logging.getLogger(__name__)

# Same mapping as hpnctl.lab.topology.LINUX_FILE_TARGETS (a test keeps them equal);
# duplicated because a driver must not import the intent/render stack.
FILE_TARGETS: dict[str, str] = {
    "frr.conf": "/etc/frr/frr.conf",
    "qos.sh": "/etc/hpnctl/qos.sh",
    "sysctl.conf": "/etc/sysctl.d/90-hpnctl.conf",
}
MARK = "@@HPNCTL@@"
DEFAULT_EXEC_TIMEOUT = 120.0

# Exit codes of the node-side scripts.
RC_PENDING = 4  # a previous commit still waits for confirmation
RC_RESTORED = 3  # commit failed, previous files restored
RC_RESTORE_FAILED = 5  # commit failed and so did the restore
RC_NOTHING_PENDING = 6
RC_FIRED = 7  # the confirm timer already reverted the node
RC_NO_ROLLBACK = 8


@dataclass(frozen=True)
class NodePaths:
    """Where things live on the node; target.options may override (tests, unusual installs)."""

    files: dict[str, str] = field(default_factory=lambda: dict(FILE_TARGETS))
    hpnctl_dir: str = "/etc/hpnctl"
    frr_reload: str = "/usr/lib/frr/frr-reload.py"
    vtysh: str = "vtysh"
    sysctl: str = "sysctl"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "NodePaths":
        base = cls()
        return cls(
            files={**base.files, **options.get("files", {})},
            hpnctl_dir=options.get("hpnctl_dir", base.hpnctl_dir),
            frr_reload=options.get("frr_reload", base.frr_reload),
            vtysh=options.get("vtysh", base.vtysh),
            sysctl=options.get("sysctl", base.sysctl),
        )


# --------------------------------------------------------------------------- transport

@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    rc: int


class Transport(Protocol):
    """One SSH connection: run a command (optionally with stdin bytes) and get its real exit status."""

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult: ...

    def close(self) -> None: ...


TransportFactory = Callable[[DeviceTarget], Transport]


def paramiko_params(target: DeviceTarget) -> tuple[dict[str, Any], dict[str, Any]]:
    """(SSHClient.connect kwargs, host-key settings) derived from the shared Netmiko parameters.

    target.options may name `ssh_user` and `ssh_key_file` directly (lab mode: the
    lab runtime's key and user); everything else comes from the credentials'
    environment variables via hpnctl.drivers.ssh.
    """
    p = netmiko_params(target, "linux")
    key_file = target.options.get("ssh_key_file") or p.get("key_file")
    kwargs: dict[str, Any] = {
        "hostname": p["host"],
        "port": p["port"],
        "username": target.options.get("ssh_user") or p["username"],
        "timeout": p["conn_timeout"],
        "auth_timeout": p["auth_timeout"],
        "banner_timeout": p["banner_timeout"],
        "allow_agent": bool(p["allow_agent"]),
        "look_for_keys": bool(p["use_keys"]) and not key_file,
    }
    if key_file:
        kwargs["key_filename"] = key_file
    if "password" in p:
        kwargs["password"] = p["password"]
    hostkeys = {k: p[k] for k in ("ssh_strict", "system_host_keys", "alt_host_keys", "alt_key_file") if k in p}
    return kwargs, hostkeys


class ParamikoTransport:
    """paramiko SSHClient; exec channels multiplexed on one TCP connection."""

    def __init__(self, target: DeviceTarget):
        import paramiko

        self.target = target
        self._secrets = target_secrets(target)
        kwargs, hostkeys = paramiko_params(target)
        client = paramiko.SSHClient()
        if hostkeys.get("ssh_strict", True):
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            if hostkeys.get("system_host_keys"):
                client.load_system_host_keys()
            if hostkeys.get("alt_host_keys") and hostkeys.get("alt_key_file"):
                client.load_host_keys(hostkeys["alt_key_file"])
        else:  # lab opt-out, explicit in the intent
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(**kwargs)
        except Exception as exc:  # noqa: BLE001 - paramiko raises many unrelated types
            client.close()
            raise connect_error(target, exc, self._secrets) from None
        self._client = client

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        timeout = timeout or DEFAULT_EXEC_TIMEOUT
        try:
            transport = self._client.get_transport()
            if transport is None or not transport.is_active():
                raise ConnectError(f"{self.target.hostname}: SSH connection lost")
            chan = transport.open_session(timeout=self.target.timeout_s)
            chan.settimeout(timeout)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            out = chan.makefile("rb").read()
            err = chan.makefile_stderr("rb").read()
            rc = chan.recv_exit_status()
            chan.close()
        except ConnectError:
            raise
        except socket.timeout:
            raise ConnectError(f"{self.target.hostname}: no answer within {timeout:.0f}s") from None
        except Exception as exc:  # noqa: BLE001
            raise connect_error(self.target, exc, self._secrets) from None
        return ExecResult(out.decode(errors="replace"), err.decode(errors="replace"), rc)

    def close(self) -> None:
        self._client.close()


# --------------------------------------------------------------------------- parsing helpers

def parse_frames(stdout: str) -> dict[str, Any]:
    """`MARK file NAME` + base64 lines, `MARK absent NAME`, `MARK rc NAME N` → {"files": …, "rc": …}."""
    files: dict[str, str | None] = {}
    rcs: dict[str, int] = {}
    current: str | None = None
    chunks: list[str] = []

    def flush() -> None:
        if current is not None:
            files[current] = base64.b64decode("".join(chunks)).decode(errors="replace")

    complete = False
    for line in stdout.splitlines():
        if line.startswith(MARK):
            flush()
            current, chunks = None, []
            parts = line[len(MARK):].split()
            if not parts:
                continue
            if parts[0] == "file" and len(parts) >= 2:
                current = parts[1]
            elif parts[0] == "absent" and len(parts) >= 2:
                files[parts[1]] = None
            elif parts[0] == "rc" and len(parts) >= 3:
                rcs[parts[1]] = int(parts[2])
            elif parts[0] == "end":
                complete = True
        elif current is not None:
            chunks.append(line.strip())
    flush()
    return {"files": files, "rc": rcs, "complete": complete}


Entry = tuple[str, str]  # ("add" | "del", "context\n line")


def parse_reload_test(text: str) -> list[Entry]:
    """Entries of `frr-reload.py --test` output: each starts at a non-indented line."""
    entries: list[Entry] = []
    kind: str | None = None
    current: list[str] = []

    def flush() -> None:
        if kind and current:
            entries.append((kind, "\n".join(current)))

    lines = text.splitlines()
    for i, raw in enumerate(lines):
        line = raw.rstrip()
        if line in ("Lines To Delete", "Lines To Add"):
            flush()
            current = []
            kind = "del" if line.endswith("Delete") else "add"
            continue
        if not line or set(line) == {"="}:
            continue
        if kind is None:
            continue
        if not line[0].isspace():
            flush()
            current = [line]
        else:
            current.append(line)
    flush()
    return entries


def _ignored_entry(entry: Entry) -> bool:
    """`frr version` cannot be changed by a reload and frr-reload says so itself."""
    first = entry[1].split("\n", 1)[0]
    return first.startswith(("frr version", "no frr version"))


def format_entries(entries: list[Entry]) -> str:
    out: list[str] = []
    for kind, title in (("del", "Lines To Delete"), ("add", "Lines To Add")):
        chosen = [text for k, text in entries if k == kind]
        if chosen:
            out.append(title)
            out.extend(chosen)
    return "\n".join(out)


_SYSCTL_LINE = re.compile(r"^\s*-?\s*([A-Za-z0-9_./-]+)\s*=\s*(.*?)\s*$")


def parse_sysctl_conf(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith(("#", ";")):
            continue
        m = _SYSCTL_LINE.match(line)
        if m:
            values[m.group(1).replace("/", ".")] = m.group(2)
    return values


def sysctl_equal(a: str, b: str) -> bool:
    """Kernel prints numbers in decimal and vectors with tabs: 0x0037 == 55, '4096 87380' == '4096\t87380'."""
    wa, wb = a.split(), b.split()
    if len(wa) != len(wb):
        return False
    for x, y in zip(wa, wb):
        if x == y:
            continue
        try:
            if int(x, 0) != int(y, 0):
                return False
        except ValueError:
            return False
    return True


def normalize_running(text: str | None) -> str:
    """`show running-config` minus its banner and version line (they change without a config change)."""
    if text is None:
        return ""
    keep = []
    for line in text.splitlines():
        s = line.rstrip()
        if s in ("Building configuration...", "") or s.startswith(("Current configuration:", "frr version")):
            continue
        keep.append(s)
    return "\n".join(keep)


def _unified(old: str | None, new: str | None, name: str) -> str:
    return "\n".join(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(),
                                          f"running/{name}", f"candidate/{name}", lineterm=""))


def _sha(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()


def _tar(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# --------------------------------------------------------------------------- node-side scripts

def _q(s: str) -> str:
    return shlex.quote(s)


def _prelude(p: NodePaths) -> str:
    """Variables and helpers every node-side script starts with (paths baked in, quoted)."""
    return "\n".join([
        f"H={_q(p.hpnctl_dir)}; R=\"$H/rollback\"; ST=\"$H/state\"; M={_q(MARK)}",
        f"F_FRR={_q(p.files['frr.conf'])}; F_QOS={_q(p.files['qos.sh'])}; F_SYSCTL={_q(p.files['sysctl.conf'])}",
        f"FRR_RELOAD={_q(p.frr_reload)}; VTYSH={_q(p.vtysh)}; SYSCTL={_q(p.sysctl)}",
        "export LC_ALL=C",
    ])


def _baseline_fn() -> str:
    """What FRR shows right after hpnctl applied frr.conf: the reference for drift and FRR's defaults."""
    return r'''
baseline() {
    mkdir -p "$ST"
    rm -f "$ST/frr.sha256"
    [ -f "$F_FRR" ] || return 0
    "$VTYSH" -c 'show running-config' > "$ST/frr.running.new" 2>/dev/null || return 1
    "$FRR_RELOAD" --test "$F_FRR" > "$ST/frr.noise.new" 2>/dev/null || return 1
    mv "$ST/frr.running.new" "$ST/frr.running" && mv "$ST/frr.noise.new" "$ST/frr.noise" || return 1
    sha256sum "$F_FRR" | cut -d' ' -f1 > "$ST/frr.sha256"
}
'''


def _cancel_fn() -> str:
    """Stop a pending confirm timer; 7 when it already fired (the node reverted)."""
    return r'''
cancel_timer() {
    [ -f "$H/confirm.pid" ] || { [ -f "$H/confirm.fired" ] && return 7; return 6; }
    mkdir "$H/confirm.lock" 2>/dev/null || return 7
    pid=$(cat "$H/confirm.pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    rm -f "$H/confirm.pid"; rmdir "$H/confirm.lock"
    return 0
}
'''


def _guard() -> str:
    """A change must finish even if the SSH session dies under it: no SIGHUP/SIGPIPE, output to a log
    (replayed on the channel at exit), and one change at a time per node (flock, where util-linux has it)."""
    return r'''
trap '' HUP PIPE
mkdir -p "$H"
LOG="$H/change.$$.log"
exec 3>&2 2>"$LOG"
replay() {  # never fails (set -e): the channel may be gone
    { cat "$LOG" >&3; } 2>/dev/null || true
    mv -f "$LOG" "$H/last-change.log" 2>/dev/null || true
}
node_lock() {
    exec 9>>"$H/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 120 9 || { echo "hpnctl: another change holds $H/.lock" >&2; replay; exit 9; }
    fi
}
wait_timer_done() {  # the confirm timer fired: let its restore finish first
    i=0; while [ -f "$H/confirm.pid" ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done
}
'''


def restore_script(p: NodePaths) -> str:
    """H/rollback/restore.sh: put the kept files back and re-apply all three (the node's own undo)."""
    return "\n".join([
        "#!/bin/sh",
        "# Written by hpnctl at each commit: restores the files this commit replaced.",
        "set -u",
        _prelude(p),
        _baseline_fn(),
        "rc=0",
        'put() {  # name target',
        '    if [ -e "$R/$1.absent" ]; then rm -f "$2" || rc=1',
        '    elif [ -e "$R/$1" ]; then cmp -s "$R/$1" "$2" 2>/dev/null || cat "$R/$1" > "$2" || rc=1; fi',
        '}',
        'put frr.conf "$F_FRR"; put qos.sh "$F_QOS"; put sysctl.conf "$F_SYSCTL"',
        'if [ -f "$F_FRR" ]; then "$FRR_RELOAD" --reload "$F_FRR" >&2 || rc=1; fi',
        'if [ -f "$F_SYSCTL" ]; then "$SYSCTL" -q -p "$F_SYSCTL" >&2 || rc=1; fi',
        'if [ -f "$F_QOS" ]; then sh "$F_QOS" >&2 || rc=1; fi',
        "baseline || rc=1",
        "exit $rc",
        "",
    ])


def read_script(p: NodePaths) -> str:
    return "\n".join([
        "set -u",
        _prelude(p),
        'T=$(mktemp -d) || exit 90',
        "trap 'rm -rf \"$T\"' EXIT",
        'part() { if [ -f "$2" ]; then echo "$M file $1"; base64 < "$2"; else echo "$M absent $1"; fi; }',
        'part frr.conf "$F_FRR"; part qos.sh "$F_QOS"; part sysctl.conf "$F_SYSCTL"',
        'part state.sha "$ST/frr.sha256"; part state.running "$ST/frr.running"; part state.noise "$ST/frr.noise"',
        'part pending "$H/confirm.pid"; part fired "$H/confirm.fired"',
        '"$VTYSH" -c "show running-config" > "$T/run" 2>&1; echo "$M rc frr.live $?"; part frr.live "$T/run"',
        'if [ -f "$F_SYSCTL" ]; then',
        r'''    sed -n 's/^[[:space:]]*-\{0,1\}[[:space:]]*\([A-Za-z0-9_./-]*\)[[:space:]]*=.*/\1/p' "$F_SYSCTL" |''',
        '    while read -r k; do printf "%s = %s\\n" "$k" "$("$SYSCTL" -n "$k" 2>/dev/null)"; done > "$T/sysctl"',
        '    part sysctl.live "$T/sysctl"',
        'fi',
        'echo "$M end"',
    ])


def frr_test_script(p: NodePaths, with_file: bool) -> str:
    lines = [
        "set -u",
        _prelude(p),
        'T=$(mktemp -d) || exit 90',
        "trap 'rm -rf \"$T\"' EXIT",
        'tar -x -f - -C "$T" || { echo "cannot unpack the candidate" >&2; exit 91; }',
        'part() { if [ -f "$2" ]; then echo "$M file $1"; base64 < "$2"; else echo "$M absent $1"; fi; }',
        '"$FRR_RELOAD" --test "$T/frr.conf" > "$T/out" 2> "$T/err"; echo "$M rc candidate $?"',
        'part candidate "$T/out"; part candidate.err "$T/err"',
    ]
    if with_file:
        lines += ['"$FRR_RELOAD" --test "$F_FRR" > "$T/fout" 2> "$T/ferr"; echo "$M rc file $?"',
                  'part file "$T/fout"; part file.err "$T/ferr"']
    lines.append('echo "$M end"')
    return "\n".join(lines)


def commit_script(p: NodePaths, write: list[str], remove: list[str], do_frr: bool, do_sysctl: bool,
                  do_qos: bool, confirm_s: int, force: bool) -> str:
    """Keep the current files, write the new ones, apply, record the baseline, arm the timer."""
    lines = [
        "set -eu",
        _prelude(p),
        _baseline_fn(),
        _cancel_fn(),
        _guard(),
        "umask 077",
    ]
    if force:  # rollback to a backup: a pending timer must not fire on top of it
        lines.append(f"c=0; cancel_timer || c=$?; if [ $c -eq {RC_FIRED} ]; then wait_timer_done; fi")
        lines.append("node_lock")
    else:
        lines.append("node_lock")
        lines.append('if [ -f "$H/confirm.pid" ]; then echo "hpnctl: a previous commit still waits for '
                     f'confirmation ($H/confirm.pid)" >&2; replay; exit {RC_PENDING}; fi')
    lines += [
        'T=$(mktemp -d)',
        'tar -x -f - -C "$T"',
        'mkdir -p "$H" "$ST"',
        'rm -rf "$R.new"; mkdir -p "$R.new"',
    ]
    for name in ("frr.conf", "qos.sh", "sysctl.conf"):
        var = {"frr.conf": "$F_FRR", "qos.sh": "$F_QOS", "sysctl.conf": "$F_SYSCTL"}[name]
        lines.append(f'if [ -e "{var}" ]; then cp -p "{var}" "$R.new/{name}"; else : > "$R.new/{name}.absent"; fi')
    lines += [
        'cp "$T/restore.sh" "$R.new/restore.sh"',
        'date -u +%Y-%m-%dT%H:%M:%SZ > "$R.new/kept-at"',
        'rm -rf "$R"; mv "$R.new" "$R"',
        'STEP=start',
        'on_exit() {',
        '    rc=$?; trap - EXIT',
        '    if [ "$rc" -eq 0 ]; then rm -rf "$T"; replay; exit 0; fi',
        '    echo "hpnctl: commit failed during: $STEP (exit $rc); restoring the previous files" >&2',
        f'    if sh "$R/restore.sh" >&2; then rm -rf "$T"; replay; exit {RC_RESTORED}; fi',
        f'    rm -rf "$T"; replay; exit {RC_RESTORE_FAILED}',
        '}',
        'trap on_exit EXIT',
    ]
    target_var = {"frr.conf": "$F_FRR", "qos.sh": "$F_QOS", "sysctl.conf": "$F_SYSCTL"}
    for name in ("sysctl.conf", "qos.sh", "frr.conf"):  # frr.conf last: FRR reads nothing until reload
        if name in write:
            var = target_var[name]
            # Identical content is not rewritten (a read-only file that need not change is no failure).
            lines += [f'STEP="write {var}"',
                      f'if ! cmp -s "$T/{name}" "{var}" 2>/dev/null; then',
                      f'    mkdir -p "$(dirname "{var}")"',
                      f'    new=0; [ -e "{var}" ] || new=1',
                      f'    cat "$T/{name}" > "{var}"']
            if name == "frr.conf":
                lines.append(f'    if [ $new = 1 ]; then chown frr:frr "{var}" 2>/dev/null || true; chmod 640 "{var}"; fi')
            else:
                lines.append(f'    if [ $new = 1 ]; then chmod 644 "{var}"; fi')
            lines.append("fi")
    for name in remove:
        var = target_var[name]
        lines += [f'STEP="remove {var}"', f'rm -f "{var}"']
    if do_frr:
        lines += ['STEP="frr-reload.py --reload"', 'if [ -f "$F_FRR" ]; then "$FRR_RELOAD" --reload "$F_FRR" >&2; fi']
    if do_sysctl:
        lines += ['STEP="sysctl -p"', 'if [ -f "$F_SYSCTL" ]; then "$SYSCTL" -q -p "$F_SYSCTL" >&2; fi']
    if do_qos:
        lines += ['STEP="qos.sh"', 'if [ -f "$F_QOS" ]; then sh "$F_QOS" >&2; fi']
    if do_frr or "frr.conf" in write or "frr.conf" in remove:
        lines += ['STEP="baseline"', "baseline"]
    else:  # FRR untouched: the baseline of the last commit still describes it (or there is none yet)
        lines += ['STEP="baseline"', '[ -f "$ST/frr.sha256" ] || baseline']
    if confirm_s:
        lines += [
            'STEP="arm the confirm timer"',
            'rm -rf "$H/confirm.lock" "$H/confirm.fired" "$H/confirm.pid"',
            # Own session + process group, stdio detached: survives the SSH session; confirm kills the group.
            # (fds 3 and 9 closed: the job must not hold the node lock or the SSH channel)
            "setsid sh -c 'echo $$ > \"$1/confirm.pid.new\" && mv \"$1/confirm.pid.new\" \"$1/confirm.pid\"; "
            "sleep \"$2\"; mkdir \"$1/confirm.lock\" 2>/dev/null || exit 0; date -u > \"$1/confirm.fired\"; "
            "if command -v flock >/dev/null 2>&1; then L=\"flock -w 300 $1/.lock\"; else L=; fi; "
            "$L sh \"$1/rollback/restore.sh\" > \"$1/confirm-revert.log\" 2>&1; "
            "rm -f \"$1/confirm.pid\"; rmdir \"$1/confirm.lock\"' hpnctl-confirm-timer "
            f'"$H" {int(confirm_s)} </dev/null >/dev/null 2>&1 3>&- 9>&- &',
            'i=0; while [ ! -f "$H/confirm.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
            '[ -f "$H/confirm.pid" ]',
        ]
    lines.append("exit 0")
    return "\n".join(lines)


def confirm_script(p: NodePaths) -> str:
    return "\n".join(["set -u", _prelude(p), _cancel_fn(), "cancel_timer; exit $?"])


def rollback_script(p: NodePaths) -> str:
    return "\n".join([
        "set -u", _prelude(p), _cancel_fn(), _guard(),
        "cancel_timer; c=$?",
        # The timer already restored the kept files: let it finish, nothing more to do.
        f'if [ $c -eq {RC_FIRED} ]; then wait_timer_done; echo "the confirm timer already restored the previous '
        'config" >&2; replay; exit 0; fi',
        "node_lock",
        f'[ -f "$R/restore.sh" ] || {{ echo "no previous config kept in $R" >&2; replay; exit {RC_NO_ROLLBACK}; }}',
        'sh "$R/restore.sh" >&2; rc=$?; replay; exit $rc',
    ])


# Verify checks → node commands.  The names are shared with the vendor drivers.
COLLECT_COMMANDS: dict[str, str] = {
    "bgp_summary": "vtysh -c 'show bgp summary json'",
    "ecmp_routes": "ip -j -4 route show table main",
    "interfaces": ("ip -j -d link show; echo @@HPNCTL@@; for d in /sys/class/net/*; do n=${d##*/}; "
                   "s=$(cat \"$d/speed\" 2>/dev/null) || s=-; echo \"$n ${s:--}\"; done"),
    # htb classes and u32 filters have no JSON form in iproute2 6.x: text, parsed in hpnctl.verify.
    "qos_profile": ("tc -j qdisc show; for d in /sys/class/net/*; do n=${d##*/}; echo \"@@HPNCTL@@ class $n\"; "
                    "tc class show dev \"$n\"; echo \"@@HPNCTL@@ filter $n\"; tc filter show dev \"$n\"; done"),
    "hash": "sysctl -n net.ipv4.fib_multipath_hash_policy net.ipv4.fib_multipath_hash_fields",
}
UNSUPPORTED_CHECKS = {
    "pfc": "the Linux kernel data plane has no Priority Flow Control",
    "dlb": "the Linux kernel has no adaptive routing (flowlet/DLB)",
}


# --------------------------------------------------------------------------- the driver

@dataclass
class _NodeState:
    files: dict[str, str]  # the three files as on disk (absent ones missing)
    baseline_sha: str | None
    baseline_running: str | None
    baseline_noise: str | None
    live_frr: str | None
    live_frr_rc: int
    live_sysctl: dict[str, str]
    pending_confirm: bool


@dataclass
class _Plan:
    """What commit() must do, from the last diff()."""

    write: list[str]
    remove: list[str]
    do_frr: bool
    do_sysctl: bool
    do_qos: bool


class LinuxFrrDriver:
    """Driver contract for a Linux + FRR node over SSH."""

    def __init__(self, target: DeviceTarget, *, transport_factory: TransportFactory | None = None):
        self.target = target
        self.paths = NodePaths.from_options(target.options)
        self._factory = transport_factory or ParamikoTransport
        self._transport: Transport | None = None
        self._secrets = target_secrets(target)
        self._candidate: dict[str, str] | None = None
        self._state: _NodeState | None = None
        self._plan: _Plan | None = None
        self._pending_confirm = False
        self.commands_sent: list[str] = []  # names of the node-side steps run (tests count them)
        self.pushed = False  # did this session change anything on the node

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        if self._transport is None:
            self._transport = self._factory(self.target)

    def close(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            try:
                transport.close()
            except Exception as exc:  # noqa: BLE001 - closing must not mask the caller's error
                log.warning("%s: close: %s", self.target.hostname, scrub(str(exc), self._secrets))

    def _exec(self, step: str, script: str, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        if self._transport is None:
            raise ConnectError(f"{self.target.hostname}: not connected (call open() first)")
        self.commands_sent.append(step)
        command = "sh -c " + shlex.quote(script)
        user = self.target.options.get("ssh_user") or self.target.credentials.username()
        if user != "root" and not self.target.options.get("no_sudo"):
            command = "sudo -n " + command
        log.debug("%s: %s", self.target.hostname, step)
        return self._transport.run(command, stdin=stdin, timeout=timeout)

    def _fail_text(self, result: ExecResult, limit: int = 4) -> str:
        """The cause of a node-side failure: the line before hpnctl's own 'failed during' line, and that line."""
        lines = [line.strip() for line in (result.stderr or result.stdout).strip().splitlines()
                 if line.strip() and not line.startswith("hpnctl-qos: WARNING")]
        marker = next((i for i, line in enumerate(lines) if line.startswith("hpnctl: commit failed during")), None)
        if marker is not None:
            lines = lines[max(0, marker - 1):marker + 1]
        return scrub(" | ".join(lines[-limit:]) or f"exit {result.rc}", self._secrets)

    # ------------------------------------------------------------------ reading

    def _read(self) -> _NodeState:
        result = self._exec("read", read_script(self.paths))
        frames = parse_frames(result.stdout)
        if result.rc != 0 or not frames["complete"]:
            raise ConnectError(f"{self.target.hostname}: reading the node's config failed: {self._fail_text(result)}")
        f = frames["files"]
        files = {name: f[name] for name in self.paths.files if f.get(name) is not None}
        sha = (f.get("state.sha") or "").strip() or None
        live_sysctl: dict[str, str] = {}
        for line in (f.get("sysctl.live") or "").splitlines():
            key, _, value = line.partition(" = ")
            live_sysctl[key.strip()] = value.strip()
        state = _NodeState(files, sha, f.get("state.running"), f.get("state.noise"), f.get("frr.live"),
                           frames["rc"].get("frr.live", 1), live_sysctl, f.get("pending") is not None)
        self._pending_confirm = state.pending_confirm
        return state

    def get_running(self) -> dict[str, str]:
        """The three files as they are on the node (absent ones left out); also caches the live state for diff()."""
        self._state = self._read()
        return dict(self._state.files)

    def load_candidate(self, files: dict[str, str], mode: LoadMode = "replace") -> None:
        """Keep the candidate locally; it travels with the diff/commit that needs it (one round trip each)."""
        unknown = sorted(set(files) - set(self.paths.files))
        if unknown:
            raise CommitError(f"{self.target.hostname}: the linux platform has no file {', '.join(unknown)}")
        if mode == "merge":
            # A merge of whole files is the running files with the given ones replaced.
            current = self._state.files if self._state else self.get_running()
            files = {**current, **files}
        if "frr.conf" not in files:
            raise CommitError(f"{self.target.hostname}: candidate has no frr.conf")
        self._candidate = dict(files)
        self._plan = None

    # ------------------------------------------------------------------ diff

    def diff(self) -> DeviceDiff:
        """frr-reload.py --test of the candidate (FRR's defaults filtered), unified diffs of the other files, live drift."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        state = self._state or self._read()
        cand = self._candidate
        notes: list[str] = []
        file_diffs: dict[str, str] = {}
        changed_files = [n for n in self.paths.files if cand.get(n) != state.files.get(n) and n in cand]
        removed = [n for n in self.paths.files if n not in cand and n in state.files]
        for name in changed_files + removed:
            file_diffs[name] = _unified(state.files.get(name), cand.get(name), name)

        frr_entries, frr_notes = self._frr_changes(state, cand, "frr.conf" in changed_files)
        notes += frr_notes

        sysctl_drift = []
        if "sysctl.conf" in state.files:
            for key, want in parse_sysctl_conf(state.files["sysctl.conf"]).items():
                have = state.live_sysctl.get(key)
                if have is not None and not sysctl_equal(have, want):
                    sysctl_drift.append(f"{key} = {have} (file: {want})")
        if sysctl_drift:
            notes.append("live sysctl differs from " + self.paths.files["sysctl.conf"] + ": " + "; ".join(sysctl_drift))

        text_parts = []
        if frr_entries:
            text_parts.append("--- frr.conf: frr-reload.py --test (FRR defaults filtered)\n" + format_entries(frr_entries))
        elif "frr.conf" in changed_files:
            text_parts.append("--- frr.conf: text changes only; FRR's running config is unaffected\n"
                              + file_diffs["frr.conf"])
        for name in ("qos.sh", "sysctl.conf"):
            if name in file_diffs:
                text_parts.append(file_diffs[name])
        if sysctl_drift:
            text_parts.append("--- live sysctl drift (sysctl -p restores the file's values)\n" + "\n".join(sysctl_drift))
        changed = bool(changed_files or removed or frr_entries or sysctl_drift)
        self._plan = _Plan(
            write=changed_files, remove=removed,
            do_frr=bool(frr_entries) or "frr.conf" in changed_files,
            do_sysctl="sysctl.conf" in changed_files or bool(sysctl_drift),
            do_qos="qos.sh" in changed_files,
        )
        return DeviceDiff(hostname=self.target.hostname, changed=changed, text="\n".join(text_parts),
                          files=file_diffs, notes=notes)

    def _frr_changes(self, state: _NodeState, cand: dict[str, str], file_changed: bool) -> tuple[list[Entry], list[str]]:
        notes: list[str] = []
        current = state.files.get("frr.conf")
        baseline_ok = (state.baseline_sha is not None and current is not None
                       and state.baseline_sha == _sha(current) and state.baseline_noise is not None)
        live_same = (baseline_ok and state.live_frr_rc == 0
                     and normalize_running(state.live_frr) == normalize_running(state.baseline_running))
        if not file_changed and live_same:
            return [], notes  # nothing can differ: no frr-reload round trip
        with_file = not baseline_ok and current is not None
        result = self._exec("frr-reload --test", frr_test_script(self.paths, with_file), stdin=_tar({"frr.conf": cand["frr.conf"]}))
        frames = parse_frames(result.stdout)
        if result.rc != 0 or not frames["complete"]:
            raise ConnectError(f"{self.target.hostname}: frr-reload.py --test did not run: {self._fail_text(result)}")
        if frames["rc"].get("candidate", 1) != 0:
            err = frames["files"].get("candidate.err") or ""
            lines = [line for line in err.splitlines() if "ERROR" in line or "error" in line] or err.splitlines()
            self.discard()
            raise CommitError(f"{self.target.hostname}: FRR refused the candidate frr.conf: "
                              f"{scrub(' | '.join(lines[-4:]), self._secrets) or 'frr-reload.py --test failed'}")
        entries = [e for e in parse_reload_test(frames["files"].get("candidate") or "") if not _ignored_entry(e)]
        if baseline_ok:
            noise = {e for e in parse_reload_test(state.baseline_noise or "") if e[0] == "add"}
        elif with_file and frames["rc"].get("file", 1) == 0:
            file_entries = parse_reload_test(frames["files"].get("file") or "")
            noise = {e for e in file_entries if e[0] == "add"}
            notes.append("no baseline from an hpnctl commit on this node: FRR lines missing from the live config "
                         "cannot be told from FRR's defaults until the first apply")
        else:
            noise = set()
        return [e for e in entries if e not in noise], notes

    # ------------------------------------------------------------------ commit / confirm / rollback

    def commit(self, confirm_timeout: int | None = None) -> None:
        """Keep the current files on the node, write and apply the candidate; with a timer, revert unless confirmed."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        if self._plan is None:
            self.diff()
        assert self._plan is not None
        self._commit(self._candidate, self._plan, int(confirm_timeout or 0), force=False)
        self._pending_confirm = bool(confirm_timeout)
        self._candidate = None

    def _commit(self, files: dict[str, str], plan: _Plan, confirm_s: int, force: bool) -> None:
        payload = {name: files[name] for name in plan.write}
        payload["restore.sh"] = restore_script(self.paths)
        script = commit_script(self.paths, plan.write, plan.remove, plan.do_frr, plan.do_sysctl, plan.do_qos,
                               confirm_s, force)
        self.pushed = True
        self._state = None  # the node changed: re-read next time
        self._plan = None
        result = self._exec("commit" if not force else "restore backup", script, stdin=_tar(payload), timeout=300)
        if result.rc == 0:
            return
        reason = self._fail_text(result)
        if result.rc == RC_PENDING:
            raise CommitError(f"{self.target.hostname}: {reason}")
        if result.rc == RC_RESTORED:
            raise CommitError(f"{self.target.hostname}: commit failed; the node restored its previous files: {reason}")
        if result.rc == RC_RESTORE_FAILED:
            raise RollbackError(f"{self.target.hostname}: commit failed and restoring the previous files failed too; "
                                f"the node may be on neither config: {reason}")
        raise CommitError(f"{self.target.hostname}: commit failed before any file was written: {reason}")

    def confirm(self) -> None:
        """Cancel the confirm timer: the new config stays."""
        result = self._exec("confirm", confirm_script(self.paths))
        if result.rc == RC_FIRED:
            self._pending_confirm = False
            raise CommitError(f"{self.target.hostname}: the confirm timer expired first; the node went back to "
                              "its previous config")
        if result.rc not in (0, RC_NOTHING_PENDING):
            raise CommitError(f"{self.target.hostname}: confirm failed: {self._fail_text(result)}")
        self._pending_confirm = False

    def discard(self) -> None:
        """Nothing is staged on the node between round trips: forget the local candidate."""
        self._candidate = None
        self._plan = None

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        """Back to the files kept by the last commit, or exactly to `backup` (a get_running() result)."""
        try:
            if backup is None:
                result = self._exec("rollback", rollback_script(self.paths), timeout=300)
                if result.rc != 0:
                    raise RollbackError(f"{self.target.hostname}: rollback failed: {self._fail_text(result)}")
            else:
                files = {n: t for n, t in backup.items() if n in self.paths.files}
                plan = _Plan(write=sorted(files), remove=[n for n in self.paths.files if n not in files],
                             do_frr=True, do_sysctl=True, do_qos=True)
                self._commit(files, plan, 0, force=True)
        except (CommitError, ConnectError) as exc:
            raise RollbackError(f"{self.target.hostname}: rollback failed: {exc}") from None
        self.pushed = True
        self._pending_confirm = False
        self._state = None

    # ------------------------------------------------------------------ verify

    def collect(self, check: str) -> Any:
        """Run the command of a verify check; JSON outputs parsed, text outputs framed per device."""
        if check in UNSUPPORTED_CHECKS:
            raise PlatformError(f"linux: {UNSUPPORTED_CHECKS[check]}")
        try:
            command = COLLECT_COMMANDS[check]
        except KeyError:
            raise PlatformError(f"linux: no command for check {check!r} (known: {', '.join(COLLECT_COMMANDS)})") from None
        result = self._exec(f"collect {check}", command)
        if result.rc != 0:
            raise HpnctlError(f"{self.target.hostname}: `{command.split(';')[0]}` failed: {self._fail_text(result)}")
        return parse_collect(check, result.stdout)


def parse_collect(check: str, stdout: str) -> Any:
    """Parsed output of a COLLECT_COMMANDS entry (shared with tests that feed recorded outputs)."""
    if check in ("bgp_summary", "ecmp_routes"):
        return json.loads(stdout or "null")
    if check == "interfaces":
        links, _, speeds = stdout.partition(MARK)
        speed: dict[str, int | None] = {}
        for line in speeds.strip().splitlines():
            name, _, value = line.partition(" ")
            try:
                speed[name] = int(value)
            except ValueError:
                speed[name] = None
        return {"links": json.loads(links or "[]"), "speed": speed}
    if check == "qos_profile":
        head, *rest = stdout.split(MARK)
        classes: dict[str, str] = {}
        filters: dict[str, str] = {}
        for chunk in rest:
            first, _, body = chunk.partition("\n")
            kind, _, dev = first.strip().partition(" ")
            (classes if kind == "class" else filters)[dev] = body
        return {"qdiscs": json.loads(head or "[]"), "classes": classes, "filters": filters}
    if check == "hash":
        values = stdout.split()
        return {"policy": int(values[0]), "fields": int(values[1])} if len(values) >= 2 else {}
    return stdout
