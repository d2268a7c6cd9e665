"""Shared SSH plumbing for the Netmiko-based drivers (sonic, nvue).

Two things live here and nothing else:

* building Netmiko ``ConnectHandler`` keyword arguments from a DeviceTarget
  (secrets resolved from the environment variables the target names, host
  keys checked strictly unless the target opts out), and translating
  Netmiko/paramiko failures into ConnectError messages that name the host
  and the cause but never a secret;
* ``Shell``: the tiny interface the drivers use (run a command and get its
  exit status, put a file, close).  Drivers depend on the interface, so
  tests substitute a recorded-response fake without touching Netmiko.
"""
from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from hpnctl.drivers.base import DeviceTarget
from hpnctl.errors import ConnectError

log = logging.getLogger(__name__)

# Printed after every command so the exit status survives the interactive
# shell (Netmiko returns only text); chosen so no real output contains it.
RC_MARK = "__HPNCTL_RC="
_RC_RE = re.compile(re.escape(RC_MARK) + r"(\d+)\s*$")
DEFAULT_READ_TIMEOUT = 120.0


@dataclass(frozen=True)
class CommandResult:
    """Output (stdout and stderr interleaved, as the terminal shows them) and exit status."""

    output: str
    rc: int

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Shell(Protocol):
    """What a CLI driver needs from a device session."""

    def run(self, command: str, timeout: float | None = None) -> CommandResult: ...

    def put_file(self, remote_path: str, content: str) -> None: ...

    def close(self) -> None: ...


ShellFactory = Callable[[DeviceTarget], Shell]


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every secret value in text; used on anything that may reach a user or a log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def target_secrets(target: DeviceTarget) -> list[str]:
    """The secret values a target resolves to (for scrubbing), never logged themselves."""
    password = target.credentials.password()
    return [password] if password else []


def _require_env(name: str | None, what: str, target: DeviceTarget) -> str | None:
    """Resolve an env var the target names; a named-but-unset variable is a ConnectError."""
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise ConnectError(f"{target.hostname}: {what} environment variable {name} is not set")
    return value


def _host_key_params(target: DeviceTarget) -> dict[str, Any]:
    """Strict host-key checking by default: an unknown or changed key refuses the connection."""
    if not target.strict_host_keys:
        # Lab mode only: paramiko AutoAddPolicy, accepts any key.
        return {"ssh_strict": False, "system_host_keys": False, "alt_host_keys": False}
    if target.known_hosts is None:
        return {"ssh_strict": True, "system_host_keys": True, "alt_host_keys": False}
    if not os.path.isfile(target.known_hosts):
        # Netmiko silently skips a missing alt file and then rejects every key with a
        # confusing message; say what is actually wrong.
        raise ConnectError(f"{target.hostname}: known_hosts file {target.known_hosts} does not exist")
    # An explicit file is the only trust anchor: the user's own known_hosts is not consulted.
    return {
        "ssh_strict": True,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": target.known_hosts,
    }


def netmiko_params(target: DeviceTarget, device_type: str) -> dict[str, Any]:
    """ConnectHandler kwargs for target; secrets come from the env vars named in its Credentials."""
    creds = target.credentials
    password = _require_env(creds.password_env, "password", target)
    key_file = _require_env(creds.key_file_env, "SSH key path", target)
    params: dict[str, Any] = {
        "device_type": device_type,
        "host": target.host,
        "port": target.port,
        "username": creds.username(),
        "allow_agent": creds.use_agent,
        "use_keys": bool(key_file) or creds.use_agent,
        "conn_timeout": target.timeout_s,
        "auth_timeout": target.timeout_s,
        "banner_timeout": target.timeout_s,
        "timeout": target.timeout_s,
    }
    if password is not None:
        params["password"] = password
    if key_file:
        params["key_file"] = key_file
    params.update(_host_key_params(target))
    return params


def _cause(exc: BaseException) -> str:
    """A short, one-line, user-facing reason for a connect failure (before scrubbing)."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException
    from paramiko.ssh_exception import BadHostKeyException

    text = " ".join(str(exc).split()) or type(exc).__name__  # netmiko messages span many lines
    if isinstance(exc, BadHostKeyException):
        return f"host key does not match known_hosts (possible man-in-the-middle): {text}"
    if "known_hosts" in text:
        # Netmiko wraps paramiko's RejectPolicy error in its *timeout* exception: test the text first.
        return f"host key is not in known_hosts (strict host key checking): {text}"
    if isinstance(exc, NetmikoAuthenticationException):
        return f"authentication failed: {text}"
    if isinstance(exc, (NetmikoTimeoutException, socket.timeout, TimeoutError)):
        return f"timed out: {text}"
    return f"{type(exc).__name__}: {text}"


def connect_error(target: DeviceTarget, exc: BaseException, secrets: list[str]) -> ConnectError:
    """ConnectError naming host and cause, with every secret value removed."""
    where = f"{target.hostname} ({target.host}:{target.port})"
    return ConnectError(scrub(f"cannot connect to {where}: {_cause(exc)}", secrets))


class NetmikoShell:
    """Shell over a Netmiko connection: exit status via a marker, files via SFTP."""

    def __init__(self, connection: Any, target: DeviceTarget, read_timeout: float = DEFAULT_READ_TIMEOUT):
        self._conn = connection
        self._target = target
        self._read_timeout = read_timeout

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run one command; its exit status is read from a marker echoed after it."""
        from netmiko.exceptions import ReadTimeout

        log.debug("%s: run %s", self._target.hostname, command)
        try:
            raw = self._conn.send_command(
                f"{command}; echo {RC_MARK}$?", read_timeout=timeout or self._read_timeout
            )
        except ReadTimeout as exc:
            raise ConnectError(f"{self._target.hostname}: no answer to `{command}` in time ({exc})") from exc
        except (OSError, EOFError) as exc:
            raise connect_error(self._target, exc, target_secrets(self._target)) from None
        return parse_marked_output(raw)

    def put_file(self, remote_path: str, content: str) -> None:
        """Write content to remote_path over SFTP, mode 0600 before any byte is written.

        SFTP rather than a shell here-doc: a pty line is limited to 4095 bytes,
        and a CONFIG_DB dump is far longer.
        """
        log.debug("%s: put %s (%d bytes)", self._target.hostname, remote_path, len(content))
        sftp = self._conn.remote_conn_pre.open_sftp()
        try:
            handle = sftp.open(remote_path, "w")
            try:
                sftp.chmod(remote_path, 0o600)
                handle.write(content)
            finally:
                handle.close()
        finally:
            sftp.close()

    def close(self) -> None:
        self._conn.disconnect()


def parse_marked_output(raw: str) -> CommandResult:
    """Split Netmiko output into (output, rc); a missing marker means the shell lost it."""
    text = raw.rstrip()
    match = _RC_RE.search(text)
    if match is None:
        return CommandResult(output=text, rc=255)
    return CommandResult(output=text[: match.start()].rstrip(), rc=int(match.group(1)))


def connect_shell(target: DeviceTarget, device_type: str, handler: Callable[..., Any] | None = None) -> NetmikoShell:
    """Open an SSH session to target; every failure becomes a scrubbed ConnectError."""
    if handler is None:
        from netmiko import ConnectHandler as handler  # noqa: N813 - netmiko's own name
    params = netmiko_params(target, device_type)
    secrets = target_secrets(target)
    try:
        connection = handler(**params)
    except ConnectError:
        raise
    except Exception as exc:  # noqa: BLE001 - netmiko/paramiko raise many unrelated types
        # `from None`: the original exception (and its traceback locals) may carry secrets.
        raise connect_error(target, exc, secrets) from None
    return NetmikoShell(connection, target)


def shell_factory(device_type: str) -> ShellFactory:
    """The default ShellFactory for a Netmiko device type."""

    def factory(target: DeviceTarget) -> Shell:
        return connect_shell(target, device_type)

    return factory
