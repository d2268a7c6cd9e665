"""Test doubles for the change pipeline.

- SandboxNode: the linux driver's node-side shell scripts run for real, on this
  machine, against a directory tree (fake frr-reload.py, vtysh and sysctl that
  keep their "running" state in files).  FRR's habit of not printing default
  lines is imitated: `timers bgp 3 9` never shows in the running config.
- FakeFleet / FakeDriver: in-memory devices for rollout policy tests; every
  call is recorded, failures are injected per device.
- LoudDriver: fails the test if anything tries to contact a device.
"""
from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpnctl.drivers.base import DeviceDiff, DeviceTarget
from hpnctl.drivers.linux import ExecResult, LinuxFrrDriver
from hpnctl.errors import CommitError, ConnectError

SECRET = "Hpn-t3st-S3cret-value"  # the password every test sets; must never show up anywhere

FAKE_FRR_RELOAD = r'''#!/usr/bin/env python3
"""Fake frr-reload.py: line-set diff, FRR-like default suppression, failure markers."""
import os, sys
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNING = os.path.join(HERE, "frr-running.conf")
DEFAULTS = {"timers bgp 3 9"}
def lines(path):
    out = []
    for line in open(path):
        s = line.rstrip()
        if not s or s.startswith(("!", "frr version", "Building", "Current configuration")) or s == "end":
            continue
        out.append(s)
    return out
args = sys.argv[1:]
if "--reload" in args:
    f = args[args.index("--reload") + 1]
    if os.path.exists(os.path.join(HERE, "slow-reload")):
        import time; time.sleep(1.0)
        print("reloading, slowly", file=sys.stderr)
    if os.path.exists(os.path.join(HERE, "fail-reload")):
        print("vtysh failed to process new configuration", file=sys.stderr); sys.exit(1)
    with open(RUNNING, "w") as fh:
        fh.write("\n".join(l for l in lines(f) if l.strip() not in DEFAULTS) + "\n")
    sys.exit(0)
f = args[-1]
if "INVALID" in open(f).read():
    print("ERROR: vtysh failed to process new configuration: line INVALID", file=sys.stderr); sys.exit(1)
running = lines(args[args.index("--input") + 1]) if "--input" in args else (lines(RUNNING) if os.path.exists(RUNNING) else [])
new = lines(f)
dels = [l for l in running if l not in new]
adds = [l for l in new if l not in running]
if dels:
    print("\nLines To Delete\n===============")
    for l in dels: print("no " + l.strip())
if adds:
    print("\nLines To Add\n============")
    for l in adds: print(l.strip())
'''

FAKE_VTYSH = r'''#!/bin/sh
HERE=$(dirname "$(dirname "$0")")
[ -e "$HERE/fail-vtysh" ] && { echo "vtysh: daemons not running" >&2; exit 1; }
printf 'Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n'
cat "$HERE/frr-running.conf" 2>/dev/null
echo end
'''

FAKE_SYSCTL = r'''#!/bin/sh
HERE=$(dirname "$(dirname "$0")")
LIVE="$HERE/sysctl-live"
if [ "$1" = "-n" ]; then
    shift
    for k in "$@"; do v=$(sed -n "s/^$k=//p" "$LIVE" 2>/dev/null); [ -n "$v" ] || exit 1; echo "$v"; done
    exit 0
fi
[ -e "$HERE/fail-sysctl" ] && { echo "sysctl: permission denied" >&2; exit 1; }
file=$3
grep -v '^[[:space:]]*#' "$file" | sed -n 's/^[[:space:]]*\([A-Za-z0-9_.]*\)[[:space:]]*=[[:space:]]*\(.*\)$/\1=\2/p' | while IFS== read -r k v; do
    grep -v "^$k=" "$LIVE" 2>/dev/null > "$LIVE.tmp"; echo "$k=$v" >> "$LIVE.tmp"; mv "$LIVE.tmp" "$LIVE"
done
'''


def _exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class SandboxNode:
    """A node directory tree + a LocalTransport that runs the driver's scripts with /bin/sh."""

    def __init__(self, root: Path, name: str = "leaf1"):
        self.root = root
        self.name = name
        (root / "bin").mkdir(parents=True)
        (root / "etc/frr").mkdir(parents=True)
        _exe(root / "bin/frr-reload.py", FAKE_FRR_RELOAD)
        _exe(root / "bin/vtysh", FAKE_VTYSH)
        _exe(root / "bin/sysctl", FAKE_SYSCTL)
        self.files = {"frr.conf": str(root / "etc/frr/frr.conf"), "qos.sh": str(root / "etc/hpnctl/qos.sh"),
                      "sysctl.conf": str(root / "etc/sysctl.d/90-hpnctl.conf")}
        self.transports: list[LocalTransport] = []

    def options(self) -> dict[str, Any]:
        return {"files": self.files, "hpnctl_dir": str(self.root / "etc/hpnctl"),
                "frr_reload": str(self.root / "bin/frr-reload.py"), "vtysh": str(self.root / "bin/vtysh"),
                "sysctl": str(self.root / "bin/sysctl"), "ssh_user": "root"}

    def target(self, password_env: str | None = None) -> DeviceTarget:
        from hpnctl.drivers.base import Credentials

        return DeviceTarget(self.name, "linux", "192.0.2.1", credentials=Credentials(password_env=password_env),
                            options=self.options())

    def driver(self, password_env: str | None = None) -> LinuxFrrDriver:
        def factory(target: DeviceTarget) -> "LocalTransport":
            t = LocalTransport(self)
            self.transports.append(t)
            return t

        return LinuxFrrDriver(self.target(password_env), transport_factory=factory)

    def boot(self, files: dict[str, str]) -> None:
        """What `lab up` does: files in place, FRR started from frr.conf, sysctl -p, qos.sh."""
        for name, text in files.items():
            p = Path(self.files[name])
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        subprocess.run([str(self.root / "bin/frr-reload.py"), "--reload", self.files["frr.conf"]], check=True)
        subprocess.run([str(self.root / "bin/sysctl"), "-q", "-p", self.files["sysctl.conf"]], check=True)
        subprocess.run(["sh", self.files["qos.sh"]], check=True)

    def read(self, name: str) -> str | None:
        p = Path(self.files[name])
        return p.read_text() if p.exists() else None

    def running_frr(self) -> str:
        return (self.root / "frr-running.conf").read_text()

    def sysctl_live(self) -> str:
        return (self.root / "sysctl-live").read_text()

    def qos_applied(self) -> str:
        return (self.root / "qos-applied").read_text()

    def mark(self, name: str, on: bool = True) -> None:
        p = self.root / name
        if on:
            p.touch()
        else:
            p.unlink(missing_ok=True)

    def node_file(self, rel: str) -> Path:
        return self.root / "etc/hpnctl" / rel


class LocalTransport:
    def __init__(self, node: SandboxNode):
        self.node = node
        self.commands: list[str] = []
        self.closed = False

    def run(self, command: str, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        self.commands.append(command)
        done = subprocess.run(["/bin/sh", "-c", command], input=stdin or b"", capture_output=True,
                              timeout=timeout or 60, env={**os.environ, "LC_ALL": "C"})
        return ExecResult(done.stdout.decode(), done.stderr.decode(), done.returncode)

    def close(self) -> None:
        self.closed = True


def node_files(version: str, qos_marker: Path, timers: str = "3 9", hash_fields: str = "0x0037") -> dict[str, str]:
    """A small, self-consistent linux file set; `version` shows up in every file."""
    frr = (f"frr version 8.4\nfrr defaults datacenter\nhostname leaf1\n!\nrouter bgp 65001\n"
           f" timers bgp {timers}\n neighbor 10.1.0.1 remote-as 65000\n neighbor 10.1.0.1 description {version}\n"
           "exit\n!\nend\n")
    qos = f"#!/bin/sh\necho '{version}' > '{qos_marker}'\nexit 0\n"
    sysctl = f"# {version}\nnet.ipv4.ip_forward = 1\nnet.ipv4.fib_multipath_hash_fields = {hash_fields}\n"
    return {"frr.conf": frr, "qos.sh": qos, "sysctl.conf": sysctl}


# --------------------------------------------------------------------------- in-memory fleet

@dataclass
class FakeDevice:
    files: dict[str, str]
    fail_connect: bool = False
    fail_commit: bool = False  # commit writes half the candidate, then raises
    fail_post_check: bool = False  # after a commit the BGP sessions go Idle
    fail_rollback: bool = False
    peers: list[str] = field(default_factory=list)
    committed: dict[str, str] | None = None
    log: list[str] = field(default_factory=list)


class FakeFleet:
    """Shared state of fake devices, thread-safe; `factory` builds drivers bound to it."""

    def __init__(self) -> None:
        self.devices: dict[str, FakeDevice] = {}
        self.lock = threading.Lock()
        self.opened: list[str] = []
        self.order: list[str] = []  # commit order

    def add(self, name: str, files: dict[str, str], peers: list[str] | None = None, **kw: Any) -> FakeDevice:
        self.devices[name] = FakeDevice(dict(files), peers=list(peers or []), **kw)
        return self.devices[name]

    def factory(self, target: DeviceTarget) -> "FakeDriver":
        return FakeDriver(target, self)

    def calls(self, name: str, kind: str) -> int:
        return sum(1 for entry in self.devices[name].log if entry.split(":")[0] == kind)


class FakeDriver:
    def __init__(self, target: DeviceTarget, fleet: FakeFleet):
        self.target = target
        self.fleet = fleet
        self.dev = fleet.devices[target.hostname]
        self.candidate: dict[str, str] | None = None
        self.commands_sent: list[str] = []
        self.post_broken = False

    def _log(self, what: str) -> None:
        with self.fleet.lock:
            self.dev.log.append(what)
        self.commands_sent.append(what)

    def open(self) -> None:
        with self.fleet.lock:
            self.fleet.opened.append(self.target.hostname)
        if self.dev.fail_connect:
            password = self.target.credentials.password()
            raise ConnectError(f"cannot connect to {self.target.hostname}: auth failed for admin/{password}")
        self._log("open")

    def get_running(self) -> dict[str, str]:
        self._log("get_running")
        return dict(self.dev.files)

    def load_candidate(self, files: dict[str, str], mode: str = "replace") -> None:
        self._log("load")
        self.candidate = dict(files)

    def diff(self) -> DeviceDiff:
        self._log("diff")
        assert self.candidate is not None
        changed = self.candidate != self.dev.files
        names = {n for n in set(self.candidate) | set(self.dev.files) if self.candidate.get(n) != self.dev.files.get(n)}
        return DeviceDiff(self.target.hostname, changed, text="\n".join(sorted(names)),
                          files={n: f"-{self.dev.files.get(n)}\n+{self.candidate.get(n)}" for n in names})

    def commit(self, confirm_timeout: int | None = None) -> None:
        self._log(f"commit:{confirm_timeout}")
        assert self.candidate is not None
        with self.fleet.lock:
            self.fleet.order.append(self.target.hostname)
        if self.dev.fail_commit:
            half = dict(self.dev.files)
            first = sorted(self.candidate)[0]
            half[first] = self.candidate[first]  # partially applied: neither old nor new
            self.dev.files = half
            password = self.target.credentials.password()
            raise CommitError(f"{self.target.hostname}: commit failed (session user admin, password {password})")
        self.dev.files = dict(self.candidate)
        self.dev.committed = dict(self.candidate)
        self.post_broken = self.dev.fail_post_check

    def confirm(self) -> None:
        self._log("confirm")

    def discard(self) -> None:
        self.candidate = None

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        self._log("rollback")
        if self.dev.fail_rollback:
            from hpnctl.errors import RollbackError

            raise RollbackError(f"{self.target.hostname}: rollback failed")
        assert backup is not None
        self.dev.files = dict(backup)
        self.post_broken = False

    def collect(self, check: str) -> Any:
        self._log(f"collect:{check}")
        if check == "bgp_summary":
            state = "Idle" if self.post_broken else "Established"
            return {"ipv4Unicast": {"peers": {ip: {"state": state} for ip in self.dev.peers}}}
        if check == "interfaces":
            return {"links": [], "speed": {}}
        return {}

    def close(self) -> None:
        self._log("close")


class LoudDriver:
    """Registered in place of a real driver: contacting a device is a test failure."""

    instantiated: list[str] = []

    def __init__(self, target: DeviceTarget):
        LoudDriver.instantiated.append(target.hostname)
        raise AssertionError(f"a device was contacted: {target.hostname}")


def all_text_under(path: Path) -> str:
    """Every file below path, concatenated (for secret greps)."""
    chunks = []
    for p in sorted(path.rglob("*")):
        if p.is_file():
            chunks.append(p.read_text(errors="replace"))
    return "\n".join(chunks)


def calls_by_kind(fleet: FakeFleet) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for name, dev in fleet.devices.items():
        for entry in dev.log:
            kind = entry.split(":")[0]
            out[name][kind] = out[name].get(kind, 0) + 1
    return dict(out)
