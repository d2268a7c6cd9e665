"""The driver contract: NAPALM's config lifecycle without its stubs.

A driver talks to one device.  It knows nothing of the intent: it receives the
rendered files (file name → text, the same layout `hpnctl render` writes) and
pushes, diffs, commits and rolls them back.  Vendor exceptions are translated
into hpnctl.errors (ConnectError, CommitError, RollbackError); on any failure
during load or commit the driver discards its candidate.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

LoadMode = Literal["replace", "merge"]


@dataclass(frozen=True)
class Credentials:
    """References to secrets, never the secrets themselves.

    username/password/key are resolved from environment variables at connect
    time; a missing variable is a ConnectError naming the variable.
    """

    username_env: str = "HPNCTL_USERNAME"
    password_env: str | None = None
    key_file_env: str | None = None  # env var holding a private key *path*
    use_agent: bool = True

    def username(self) -> str:
        return os.environ.get(self.username_env, "admin")

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None

    def key_file(self) -> str | None:
        return os.environ.get(self.key_file_env) if self.key_file_env else None


@dataclass(frozen=True)
class DeviceTarget:
    """Everything a driver needs to reach one device."""

    hostname: str
    platform: str
    host: str  # management address or DNS name
    port: int = 22
    credentials: Credentials = field(default_factory=Credentials)
    known_hosts: str | None = None  # path; None = ~/.ssh/known_hosts
    strict_host_keys: bool = True  # lab mode may opt out explicitly
    timeout_s: float = 30.0
    options: dict[str, Any] = field(default_factory=dict)  # per-platform extras


@dataclass
class DeviceDiff:
    """What would change on one device."""

    hostname: str
    changed: bool
    text: str = ""  # human diff (unified diff, frr-reload output, remediation lines)
    remediation: list[str] = field(default_factory=list)  # CLI lines that would be sent (CLI platforms)
    patch: list[dict] | None = None  # RFC 6902 JSON Patch (JSON platforms)
    files: dict[str, str] = field(default_factory=dict)  # per-file unified diffs
    notes: list[str] = field(default_factory=list)  # e.g. "BUFFER_POOL change needs config reload"

    def as_dict(self) -> dict:
        return {
            "hostname": self.hostname,
            "changed": self.changed,
            "text": self.text,
            "remediation": self.remediation,
            "patch": self.patch,
            "files": self.files,
            "notes": self.notes,
        }


@runtime_checkable
class Driver(Protocol):
    """One device's config lifecycle: open → load_candidate → diff → commit(confirm) → confirm | rollback → close."""

    target: DeviceTarget

    def open(self) -> None: ...

    def get_running(self) -> dict[str, str]:
        """Running config in the same file layout as `render` (file name → text)."""
        ...

    def load_candidate(self, files: dict[str, str], mode: LoadMode = "replace") -> None: ...

    def diff(self) -> DeviceDiff:
        """Difference between the running config and the loaded candidate."""
        ...

    def commit(self, confirm_timeout: int | None = None) -> None:
        """Make the candidate running; with confirm_timeout the device reverts unless confirm() follows."""
        ...

    def confirm(self) -> None: ...

    def discard(self) -> None: ...

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        """Back to the config before the last commit, or to `backup` (files from get_running) when given."""
        ...

    def collect(self, check: str) -> Any:
        """Run one operational command named by a verify check and return its parsed output."""
        ...

    def close(self) -> None: ...


_REGISTRY: dict[str, str] = {
    "linux": "hpnctl.drivers.linux:LinuxFrrDriver",
    "eos": "hpnctl.drivers.eos:EosDriver",
    "sonic": "hpnctl.drivers.sonic:SonicDriver",
    "nvue": "hpnctl.drivers.nvue:NvueDriver",
    "srlinux": "hpnctl.drivers.srlinux:SrlinuxDriver",
}


def get_driver(target: DeviceTarget) -> Driver:
    """Instantiate the driver registered for target.platform."""
    import importlib

    from hpnctl.errors import PlatformError

    spec = _REGISTRY.get(target.platform)
    if spec is None:
        raise PlatformError(f"no driver for platform {target.platform!r} (known: {', '.join(sorted(_REGISTRY))})")
    module, cls = spec.split(":")
    return getattr(importlib.import_module(module), cls)(target)
