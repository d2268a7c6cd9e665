"""Arista EOS: a thin layer over NAPALM `eos` (eAPI configuration sessions).

Sequence (what NAPALM sends over eAPI, session name S):
  load      show configuration sessions; configure session S; rollback clean-config
            (replace only); <candidate lines>; end
  diff      show session-config named S diffs  (+ show running-config for the
            hier-config remediation lines)
  commit    copy startup-config flash:rollback-0; configure session S commit; write memory
  commit(t) show configuration sessions detail; show version;
            copy startup-config flash:rollback-0; configure session S commit timer hh:mm:ss
  confirm   show configuration sessions detail; show version; configure session S commit; write memory
  rollback  pending timer: configure session S abort; write memory
            otherwise:     configure replace flash:rollback-0; write memory
  discard   configure session S abort
"""
from __future__ import annotations

import logging
import ssl
import time
from typing import Any

from napalm.base.exceptions import (
    CommitError as NapalmCommitError,
)
from napalm.base.exceptions import (
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
    SessionLockedException,
)
from napalm.eos import EOSDriver
from pyeapi.eapilib import CommandError, EapiConnection
from pyeapi.eapilib import ConnectionError as EapiConnectionError

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, LoadMode
from hpnctl.drivers.clidiff import cli_diff
from hpnctl.drivers.ssh import scrub, target_secrets
from hpnctl.errors import CommitError, ConnectError, HpnctlError, PlatformError, RollbackError

log = logging.getLogger(__name__)

CONFIG_FILE = "startup-config.cfg"

# verify check → (eAPI command, encoding).  JSON wherever EOS offers it.
# Names checked against public material: ANTA uses `show priority-flow-control
# counters` (JSON rev 3), `show ip bgp summary`, `show interfaces status`,
# `show ip route`; `show running-config section <regex>` is text-only.
# dlb: no public operational show command was found, so the check reads the
# configured `ip hardware fib load-balance distribution` lines (GUESS).
COLLECT_COMMANDS: dict[str, tuple[str, str]] = {
    "bgp_summary": ("show ip bgp summary", "json"),
    "interfaces": ("show interfaces status", "json"),
    "qos_profile": ("show running-config section qos profile", "text"),
    "ecmp_routes": ("show ip route", "json"),
    "pfc": ("show priority-flow-control counters", "json"),
    "dlb": ("show running-config section ip hardware fib", "text"),
}

# napalm errors that mean "the device refused the candidate or the commit".
_REFUSED = (CommandError, ReplaceConfigException, MergeConfigException, NapalmCommitError, SessionLockedException)


def _session_name(target: DeviceTarget) -> str:
    """A recognisable config-session name (it shows in `show configuration sessions`)."""
    return f"hpnctl_{target.hostname}_{int(time.time())}"


def _eapi_error_text(exc: BaseException) -> str:
    """The device's own words: eAPI per-command errors when present, else the message."""
    output = getattr(exc, "output", None) or []
    errors = [err for item in output if isinstance(item, dict) for err in item.get("errors", [])]
    return "; ".join(errors) if errors else str(exc)


def _failed_index(exc: BaseException) -> int | None:
    """Index (in the commands NAPALM sent, `enable` excluded) of the command eAPI refused.

    eAPI stops at the first failing command and returns results up to and
    including it, so the failing one is the last entry.
    """
    output = getattr(exc, "output", None)
    if not output:
        return None
    return len(output) - 2  # -1 for last, -1 for the `enable` pyeapi prepends


class EosDriver:
    """Driver contract for Arista EOS over eAPI (NAPALM)."""

    def __init__(
        self,
        target: DeviceTarget,
        *,
        eapi_transport: type[EapiConnection] | None = None,
        session_name: str | None = None,
    ):
        self.target = target
        self._eapi_transport = eapi_transport  # tests inject a recorded-response transport
        self._session_name = session_name or _session_name(target)
        self._napalm: EOSDriver | None = None
        self._candidate: str | None = None
        self._pending_confirm = False

    # ------------------------------------------------------------------ lifecycle

    def _optional_args(self) -> dict[str, Any]:
        """NAPALM/pyeapi options: https eAPI, certificates verified unless in lab mode."""
        opts = self.target.options
        args: dict[str, Any] = {"transport": self._eapi_transport or opts.get("eapi_transport", "https")}
        args["port"] = opts.get("eapi_port", 443)
        if self.target.strict_host_keys:
            # pyeapi skips certificate checks unless handed a context.
            args["context"] = ssl.create_default_context(cafile=opts.get("tls_ca"))
        return args

    def open(self) -> None:
        """Connect and read `show version` (NAPALM refuses EOS < 4.23)."""
        creds = self.target.credentials
        password = creds.password()
        if creds.password_env and password is None:
            raise ConnectError(f"{self.target.hostname}: password environment variable {creds.password_env} is not set")
        self._napalm = EOSDriver(
            self.target.host,
            creds.username(),
            password or "",
            timeout=int(self.target.timeout_s),
            optional_args=self._optional_args(),
        )
        try:
            self._napalm.open()
        except (ConnectionException, EapiConnectionError, OSError, CommandError) as exc:
            self._napalm = None
            where = f"{self.target.hostname} ({self.target.host})"
            reason = getattr(exc, "message", None) or str(exc)  # pyeapi's str() repeats the cause
            message = scrub(f"cannot connect to {where}: {reason}", target_secrets(self.target))
            raise ConnectError(message) from None

    def close(self) -> None:
        """Close eAPI; a loaded-but-uncommitted session is aborted (NAPALM does it)."""
        if self._napalm is None:
            return
        napalm, self._napalm = self._napalm, None
        if self._pending_confirm:
            # Leave the commit timer running: the device must still revert on its own.
            napalm.config_session = None
        try:
            napalm.close()
        except Exception as exc:  # noqa: BLE001 - closing must not mask the caller's error
            log.warning("%s: close: %s", self.target.hostname, scrub(str(exc), target_secrets(self.target)))

    def _device(self) -> EOSDriver:
        if self._napalm is None:
            raise ConnectError(f"{self.target.hostname}: not connected (call open() first)")
        return self._napalm

    # ------------------------------------------------------------------ config

    def get_running(self) -> dict[str, str]:
        running = self._device().get_config(retrieve="running")["running"]
        return {CONFIG_FILE: running}

    def load_candidate(self, files: dict[str, str], mode: LoadMode = "replace") -> None:
        """Open config session S and load the candidate into it (replace = clean-config first)."""
        if CONFIG_FILE not in files:
            raise CommitError(f"{self.target.hostname}: candidate has no {CONFIG_FILE}")
        device = self._device()
        device.config_session = self._session_name
        load = device.load_replace_candidate if mode == "replace" else device.load_merge_candidate
        try:
            load(config=files[CONFIG_FILE])
        except _REFUSED as exc:
            self.discard()
            reason = _eapi_error_text(exc)
            raise CommitError(f"{self.target.hostname}: device refused the candidate: {reason}") from None
        self._candidate = files[CONFIG_FILE]

    def diff(self) -> DeviceDiff:
        """The session diff from the device, plus hier-config remediation lines."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        device = self._device()
        session_diff = device.compare_config()
        running = device.get_config(retrieve="running")["running"]
        remediation, unified = cli_diff("eos", running, self._candidate)
        return DeviceDiff(
            hostname=self.target.hostname,
            changed=bool(session_diff.strip()),  # the device is the authority on change
            text=session_diff,
            remediation=remediation,
            files={CONFIG_FILE: unified} if unified else {},
        )

    def commit(self, confirm_timeout: int | None = None) -> None:
        """Commit session S; with confirm_timeout EOS reverts unless confirm() follows."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        device = self._device()
        try:
            device.commit_config(revert_in=confirm_timeout)
        except _REFUSED as exc:
            self._recover_failed_commit(exc)
        self._candidate = None
        self._pending_confirm = confirm_timeout is not None

    def _recover_failed_commit(self, exc: BaseException) -> None:
        """Leave the device on its previous config, then raise CommitError (or RollbackError)."""
        reason = _eapi_error_text(exc)
        # NAPALM sends [copy startup-config flash:rollback-0, configure session S commit, write memory]:
        # a failure at index 2 means the session is already live (just not saved).
        if _failed_index(exc) == 2:
            try:
                self._device().rollback()
            except Exception as rb_exc:  # noqa: BLE001
                raise RollbackError(
                    f"{self.target.hostname}: commit failed ({reason}) and rollback failed too "
                    f"({_eapi_error_text(rb_exc)}); the device may be on neither config"
                ) from None
            self._candidate = None
            raise CommitError(f"{self.target.hostname}: commit failed: {reason}; device was rolled back") from None
        self.discard()
        raise CommitError(
            f"{self.target.hostname}: commit failed: {reason}; session discarded, running config unchanged"
        ) from None

    def confirm(self) -> None:
        """Commit session S for good (cancels the EOS commit timer) and save."""
        try:
            self._device().confirm_commit()
        except _REFUSED as exc:
            raise CommitError(f"{self.target.hostname}: confirm failed: {_eapi_error_text(exc)}") from None
        self._pending_confirm = False

    def discard(self) -> None:
        """Abort config session S; nothing was committed."""
        self._candidate = None
        if self._napalm is None:
            return
        try:
            self._napalm.discard_config()
        except Exception as exc:  # noqa: BLE001 - best effort, the caller is already failing
            log.warning("%s: discard: %s", self.target.hostname, _eapi_error_text(exc))

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        """Back to before the last commit; with backup, replace the running config with it."""
        try:
            if backup is not None:
                self._replace_with(backup)
            else:
                self._device().rollback()
        except (CommitError, *_REFUSED) as exc:
            raise RollbackError(f"{self.target.hostname}: rollback failed: {_eapi_error_text(exc)}") from None
        self._pending_confirm = False

    def _replace_with(self, backup: dict[str, str]) -> None:
        """Restore a get_running() snapshot exactly (flash:rollback-0 holds startup, not running)."""
        self.load_candidate(backup, mode="replace")
        self._device().commit_config()
        self._candidate = None

    # ------------------------------------------------------------------ verify

    def collect(self, check: str) -> Any:
        """Run the command behind a verify check; JSON checks return dicts, text checks strings."""
        try:
            command, encoding = COLLECT_COMMANDS[check]
        except KeyError:
            raise PlatformError(f"eos: no command for check {check!r} (known: {', '.join(COLLECT_COMMANDS)})") from None
        device = self._device()
        try:
            result = device.device.run_commands([command], encoding=encoding)[0]
        except CommandError as exc:
            # Not a commit problem: the device refused a show command (no closer class in the tree).
            raise HpnctlError(f"{self.target.hostname}: `{command}` failed: {_eapi_error_text(exc)}") from None
        return result if encoding == "json" else result.get("output", "")
