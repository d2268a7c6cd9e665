"""Shared fixtures for the vendor-driver tests (no devices: recorded responses only)."""
from __future__ import annotations

from typing import Callable

import pytest

from driver_fakes import SECRET

from hpnctl.drivers.base import Credentials, DeviceTarget


@pytest.fixture
def make_target(monkeypatch: pytest.MonkeyPatch) -> Callable[..., DeviceTarget]:
    """A DeviceTarget whose password comes from an env var set to SECRET."""
    monkeypatch.setenv("HPNCTL_TEST_USER", "admin")
    monkeypatch.setenv("HPNCTL_TEST_PASSWORD", SECRET)

    def make(platform: str, hostname: str = "leaf1", **kwargs: object) -> DeviceTarget:
        creds = Credentials(username_env="HPNCTL_TEST_USER", password_env="HPNCTL_TEST_PASSWORD", use_agent=False)
        defaults: dict[str, object] = {"host": "192.0.2.11", "credentials": creds, "timeout_s": 5.0}
        defaults.update(kwargs)
        return DeviceTarget(hostname=hostname, platform=platform, **defaults)  # type: ignore[arg-type]

    return make
