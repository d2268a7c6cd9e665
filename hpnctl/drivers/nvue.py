"""NVIDIA Cumulus Linux 5.x with NVUE, over SSH (Netmiko `cumulus_linux`).

Sequence (temp-file prefix S = hpnctl-<host>-<time>):
  running   nv config show -o yaml
  load      nv config show -o yaml (backup) ; put /tmp/S.startup.yaml ; nv config detach ;
            nv config replace /tmp/S.startup.yaml      (replace mode, candidate keeps the login user)
            nv config patch /tmp/S.startup.yaml        (merge mode, or replace downgraded: see below)
  diff      nv config diff -o commands
  commit    nv config apply --assume-yes ; nv config save
  commit(t) nv config apply --confirm <t>s --assume-yes        (NVUE reverts by itself after t)
  confirm   nv config apply --confirm-yes ; nv config save     (GUESS: third-party usage, not NVIDIA docs)
  rollback  pending timer: nv config apply --confirm-no        (GUESS, as above)
            otherwise: put /tmp/S.restore.yaml ; nv config detach ; nv config replace /tmp/S.restore.yaml ;
                       nv config apply --assume-yes ; nv config save
  discard   nv config detach

Why replace is guarded: NVIDIA documents that replacing the config with a
YAML that lacks the `cumulus` user deletes that account, and an account that
is deleted while we are logged in through it locks hpnctl out.  So `replace`
is used only when the candidate carries `system: aaa: user: <login user>`;
otherwise the driver falls back to `patch` (which cannot remove settings the
candidate omits) and says so in the diff notes.
Rollback restores the running YAML captured at load time instead of looking
up revision numbers: it uses only documented commands and needs no parsing of
`nv config history`.
"""
from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import yaml

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, LoadMode
from hpnctl.drivers.clidiff import unified_diff
from hpnctl.drivers.ssh import CommandResult, Shell, ShellFactory, shell_factory
from hpnctl.errors import CommitError, ConnectError, HpnctlError, PlatformError, RollbackError

log = logging.getLogger(__name__)

STARTUP = "startup.yaml"
_ERROR_LINE = re.compile(r"^Error\b", re.MULTILINE)  # NVUE prints failures as "Error: ..."

# verify check → `nv show` path (always with -o json).  Paths from the NVUE reference.
COLLECT_COMMANDS: dict[str, str] = {
    "bgp_summary": "nv show vrf default router bgp neighbor -o json",
    "interfaces": "nv show interface -o json",
    "qos_profile": "nv show qos roce -o json",
    "ecmp_routes": "nv show vrf default router rib ipv4 route -o json",
    "pfc": "nv show qos pfc -o json",
    "dlb": "nv show router adaptive-routing -o json",
}


def _set_section(doc_text: str) -> dict[str, Any]:
    """The `- set:` mapping of an NVUE YAML document (header list items ignored)."""
    try:
        docs = yaml.safe_load(doc_text)
    except yaml.YAMLError as exc:
        raise CommitError(f"{STARTUP} is not valid YAML: {exc}") from None
    if isinstance(docs, dict):
        docs = [docs]
    if not isinstance(docs, list):
        raise CommitError(f"{STARTUP}: expected a list of `- header:` / `- set:` items")
    merged: dict[str, Any] = {}
    for item in docs:
        if isinstance(item, dict) and isinstance(item.get("set"), dict):
            merged.update(item["set"])
    return merged


def keeps_login_user(candidate: str, username: str) -> bool:
    """True when the candidate defines system.aaa.user.<username> (replace will not delete it)."""
    users = _set_section(candidate).get("system", {}).get("aaa", {}).get("user", {})
    return isinstance(users, dict) and username in users


def _comparable(doc_text: str) -> str:
    """The `set` tree as sorted YAML: the header's rev-id and key order are not differences."""
    return yaml.safe_dump(_set_section(doc_text), sort_keys=True, default_flow_style=False)


class NvueDriver:
    """Driver contract for Cumulus Linux NVUE (pending revision + apply --confirm)."""

    def __init__(
        self,
        target: DeviceTarget,
        *,
        shell_factory_: ShellFactory | None = None,  # tests inject a recorded-response shell
        session_name: str | None = None,
    ):
        self.target = target
        self._shell_factory = shell_factory_ or shell_factory("cumulus_linux")
        self._session = re.sub(r"[^A-Za-z0-9_.-]", "-", session_name or f"hpnctl-{target.hostname}-{int(time.time())}")
        self._shell: Shell | None = None
        self._candidate: str | None = None
        self._backup: str | None = None  # running YAML captured at load: the rollback target
        self._notes: list[str] = []
        self._pending_confirm = False

    # ------------------------------------------------------------------ plumbing

    def open(self) -> None:
        self._shell = self._shell_factory(self.target)

    def close(self) -> None:
        if self._shell is not None:
            shell, self._shell = self._shell, None
            shell.close()

    def _run(self, command: str) -> CommandResult:
        if self._shell is None:
            raise ConnectError(f"{self.target.hostname}: not connected (call open() first)")
        return self._shell.run(command)

    def _check(self, command: str) -> str:
        """Run an nv command; non-zero exit or an `Error:` line is a CommitError with NVUE's text."""
        result = self._run(command)
        if not result.ok or _ERROR_LINE.search(result.output):
            raise CommitError(f"{self.target.hostname}: `{command}` failed: {result.output.strip()}")
        return result.output

    def _put(self, name: str, content: str) -> str:
        path = f"/tmp/{self._session}.{name}"
        assert self._shell is not None
        self._shell.put_file(path, content)
        return path

    # ------------------------------------------------------------------ config

    def get_running(self) -> dict[str, str]:
        """The applied configuration, in startup.yaml form."""
        return {STARTUP: self._check("nv config show -o yaml").rstrip() + "\n"}

    def _stage(self, name: str, text: str, replace: bool) -> None:
        """Upload a YAML and make it the (fresh) pending revision."""
        path = self._put(name, text)
        self._check("nv config detach")  # drop stale pending edits so they are not applied with ours
        self._check(f"nv config {'replace' if replace else 'patch'} {path}")

    def load_candidate(self, files: dict[str, str], mode: LoadMode = "replace") -> None:
        if STARTUP not in files:
            raise CommitError(f"{self.target.hostname}: candidate has no {STARTUP}")
        candidate = files[STARTUP]
        replace = mode == "replace" and self._replace_is_safe(candidate)
        self._backup = self.get_running()[STARTUP]
        try:
            self._stage(STARTUP, candidate, replace)
        except CommitError:
            self.discard()
            raise
        self._candidate = candidate

    def _replace_is_safe(self, candidate: str) -> bool:
        """Replace only when the candidate keeps the login user; note the fallback otherwise."""
        username = self.target.credentials.username()
        self._notes = []
        if keeps_login_user(candidate, username):
            return True
        self._notes.append(
            f"replace downgraded to patch: candidate has no system.aaa.user.{username} and replacing "
            "would delete the account hpnctl logs in with; settings absent from the candidate stay"
        )
        return False

    def diff(self) -> DeviceDiff:
        """NVUE's own diff of pending vs applied, as `nv set/unset` commands."""
        if self._candidate is None or self._backup is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        output = self._check("nv config diff -o commands")
        commands = [line.strip() for line in output.splitlines() if line.strip().startswith("nv ")]
        unified = unified_diff(_comparable(self._backup), _comparable(self._candidate), STARTUP)
        return DeviceDiff(
            hostname=self.target.hostname,
            changed=bool(commands),
            text=output.strip(),
            remediation=commands,
            files={STARTUP: unified} if unified else {},
            notes=list(self._notes),
        )

    def commit(self, confirm_timeout: int | None = None) -> None:
        """Apply the pending revision; with confirm_timeout NVUE rolls back unless confirmed."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        self._candidate = None
        if confirm_timeout is None:
            command = "nv config apply --assume-yes"
        else:
            command = f"nv config apply --confirm {int(confirm_timeout)}s --assume-yes"
        try:
            self._check(command)
        except CommitError as exc:
            self._recover_failed_apply(str(exc))
        if confirm_timeout is None:
            self._check("nv config save")  # no-op with auto-save (5.9+), needed before it
        self._pending_confirm = confirm_timeout is not None

    def _recover_failed_apply(self, reason: str) -> None:
        """Re-apply the config captured at load, so a partial apply cannot linger; then raise."""
        try:
            self._restore(self._backup)
        except (CommitError, ConnectError) as exc:
            raise RollbackError(f"{reason}; restoring the previous config failed too: {exc}") from None
        raise CommitError(f"{reason}; device was rolled back to the config it had before")

    def _restore(self, snapshot: str | None) -> None:
        if snapshot is None:
            raise CommitError(f"{self.target.hostname}: nothing to roll back to (no load, no backup)")
        self._stage("restore.yaml", snapshot, replace=True)  # the device's own full config: safe to replace
        self._check("nv config apply --assume-yes")
        self._check("nv config save")

    def confirm(self) -> None:
        """Keep the applied revision (stops NVUE's rollback timer) and save it."""
        if not self._pending_confirm:
            raise CommitError(f"{self.target.hostname}: no commit is waiting for confirmation")
        self._check("nv config apply --confirm-yes")
        self._check("nv config save")
        self._pending_confirm = False

    def discard(self) -> None:
        """Drop the pending revision."""
        self._candidate = None
        if self._shell is None:
            return
        result = self._run("nv config detach")
        if not result.ok:
            log.warning("%s: nv config detach: %s", self.target.hostname, result.output.strip())

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        """Reject a pending confirm, or restore `backup` / the config captured at load."""
        try:
            if self._pending_confirm and backup is None:
                self._check("nv config apply --confirm-no")
            else:
                self._restore(backup[STARTUP] if backup else self._backup)
        except (CommitError, ConnectError) as exc:
            raise RollbackError(f"{self.target.hostname}: rollback failed: {exc}") from None
        self._pending_confirm = False

    # ------------------------------------------------------------------ verify

    def collect(self, check: str) -> Any:
        try:
            command = COLLECT_COMMANDS[check]
        except KeyError:
            known = ", ".join(COLLECT_COMMANDS)
            raise PlatformError(f"nvue: no command for check {check!r} (known: {known})") from None
        result = self._run(command)
        if not result.ok:
            raise HpnctlError(f"{self.target.hostname}: `{command}` failed: {result.output.strip()}")
        return json.loads(result.output or "{}")
