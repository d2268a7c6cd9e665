"""Run state: run ids, per-device backups, the per-fabric apply lock.

Layout under hpnctl's state directory (hpnctl.paths.state_dir()):

    locks/<fabric>.lock               flock(2) held for the whole apply/rollback; the
                                      holder's pid, run id, command and start time inside
    runs/<run-id>/                    run id = <fabric>-<UTC yyyymmddThhmmssZ>-<4 hex>
        run.json                      fabric, intent, command, options, targets (env-var
                                      names and paths only), start/end, per-device results
                                      (written at start and at the end)
        devices.jsonl                 one line per device as it finishes (what a crashed
                                      run leaves behind)
        backup/<device>/<file>        running config before the run (get_running), written
                                      before anything is pushed to that device
        candidate/<device>/<file>     what the run pushed (or would have)
        report.json                   the final report (same as `--format json`)

Directories are 0700 and files 0600: configs may carry SNMP communities or
BGP passwords of the device itself.  The lock is an flock, so a crashed apply
never leaves a stale lock behind.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpnctl.errors import HpnctlError, LockError
from hpnctl.paths import state_dir

RUN_ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}-\d{8}T\d{6}Z-[0-9a-f]{4}$")


def runs_dir() -> Path:
    return state_dir() / "runs"


def new_run_id(fabric: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return f"{fabric}-{stamp}-{secrets.token_hex(2)}"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the first byte."""
    _private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


@dataclass
class Run:
    """One apply (or rollback) run: its directory and its run.json, updated as devices finish."""

    run_id: str
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(cls, fabric: str, command: str, intent: str | None, options: dict[str, Any],
               targets: dict[str, dict]) -> "Run":
        root = _private_dir(runs_dir())
        for _ in range(10):
            run_id = new_run_id(fabric)
            path = root / run_id
            try:
                path.mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 10 collisions of 16 random bits in one second
            raise HpnctlError("could not allocate a run id")
        run = cls(run_id, path, {
            "run_id": run_id, "fabric": fabric, "command": command, "intent": intent, "options": options,
            "targets": targets, "started": _now(), "finished": None, "devices": {},
        })
        run.save()
        return run

    @classmethod
    def load(cls, run_id: str) -> "Run":
        if not RUN_ID_RE.match(run_id):
            raise HpnctlError(f"{run_id!r} is not a run id (e.g. lab-20260101T120000Z-1a2b; see `hpnctl rollback --list`)")
        path = runs_dir() / run_id
        try:
            data = json.loads((path / "run.json").read_text())
        except FileNotFoundError:
            raise HpnctlError(f"no run {run_id} in {runs_dir()}") from None
        except ValueError as exc:
            raise HpnctlError(f"run {run_id}: run.json is unreadable ({exc})") from None
        if not data.get("finished"):  # crashed or still running: the per-device lines are the truth
            data["devices"] = _devices_from_lines(path / "devices.jsonl")
        return cls(run_id, path, data)

    def save(self) -> None:
        with self._lock:
            _write_private(self.path / "run.json", json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def record_device(self, hostname: str, result: dict[str, Any]) -> None:
        """Append one device's result to devices.jsonl (O(1) per device; run.json is rewritten only at the end)."""
        line = json.dumps({"device": hostname, **result}, sort_keys=True) + "\n"
        with self._lock:
            self.data["devices"][hostname] = result
            path = self.path / "devices.jsonl"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    def finish(self, report: dict[str, Any]) -> None:
        with self._lock:
            self.data["finished"] = _now()
            self.data["summary"] = report.get("summary", {})
        self.save()
        _write_private(self.path / "report.json", json.dumps(report, indent=2, sort_keys=True) + "\n")

    # -------------------------------------------------------------- backups

    def save_files(self, kind: str, hostname: str, files: dict[str, str]) -> None:
        """kind = backup | candidate."""
        base = _private_dir(self.path / kind / hostname)
        for name, text in files.items():
            _write_private(base / name, text)

    def load_files(self, kind: str, hostname: str) -> dict[str, str] | None:
        base = self.path / kind / hostname
        if not base.is_dir():
            return None
        return {p.name: p.read_text() for p in sorted(base.iterdir()) if p.is_file() and not p.name.endswith(".tmp")}

    def backed_up(self) -> list[str]:
        base = self.path / "backup"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def _devices_from_lines(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash
        out[entry.pop("device")] = entry
    return out


def list_runs(fabric: str | None = None) -> list[dict[str, Any]]:
    """Every run (newest first) with its summary."""
    root = runs_dir()
    out = []
    if not root.is_dir():
        return out
    for path in sorted(root.iterdir(), reverse=True):
        try:
            data = json.loads((path / "run.json").read_text())
        except (OSError, ValueError):
            continue
        if fabric and data.get("fabric") != fabric:
            continue
        devices = data.get("devices") if data.get("finished") else _devices_from_lines(path / "devices.jsonl")
        out.append({"run_id": data.get("run_id"), "fabric": data.get("fabric"), "command": data.get("command"),
                    "started": data.get("started"), "finished": data.get("finished"),
                    "summary": data.get("summary", {}), "devices": len(devices or {})})
    return out


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------- the lock

class FabricLock:
    """An exclusive, non-blocking flock on locks/<fabric>.lock; the holder is described inside."""

    def __init__(self, fabric: str, command: str, run_id: str | None = None):
        self.fabric = fabric
        self.command = command
        self.run_id = run_id
        self.path = _private_dir(state_dir() / "locks") / f"{fabric}.lock"
        self._fd: int | None = None

    def acquire(self) -> "FabricLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            try:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            finally:
                os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                info = _describe(holder)
                raise LockError(f"fabric {self.fabric} is locked by another change ({info}); "
                                "wait for it to finish — the lock goes away with its process") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                                  "run_id": self.run_id, "since": _now()}).encode(), 0)
        self._fd = fd
        return self

    def set_run(self, run_id: str) -> None:
        self.run_id = run_id
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                                            "run_id": run_id, "since": _now()}).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> "FabricLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _describe(holder: str) -> str:
    try:
        data = json.loads(holder)
    except ValueError:
        return "holder unknown"
    parts = [f"{data.get('command', '?')} by pid {data.get('pid')} on {data.get('host')}"]
    if data.get("run_id"):
        parts.append(f"run {data['run_id']}")
    if data.get("since"):
        parts.append(f"since {data['since']}")
    return ", ".join(parts)
