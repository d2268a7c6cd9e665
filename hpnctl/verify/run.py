"""Verify one device: config compliance (running == rendered) and the operational checks of its platform.

Also the post-checks `apply` runs between commit and confirm: a commit must not
take down what was working — every intended BGP session that was Established
before the commit is Established again, every intended interface that was up
is up — within a timeout (sessions re-form after a reload).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hpnctl.drivers.base import DeviceDiff, Driver
from hpnctl.errors import HpnctlError, PlatformError
from hpnctl.verify.checks import CheckResult, Finding, bgp_peers, check_status, checks_for, skipped, worst
from hpnctl.verify.expect import Expectation


@dataclass
class DeviceVerify:
    hostname: str
    platform: str
    compliant: bool | None  # None = compliance not checked (error)
    drift: DeviceDiff | None
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error or self.compliant is not True:
            return "fail"
        s = worst(c.status for c in self.checks)
        return "fail" if s in ("fail", "error") else "pass"

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.hostname, "platform": self.platform, "status": self.status,
            "compliant": self.compliant,
            "drift": None if self.drift is None or not self.drift.changed else
            {"text": self.drift.text, "files": self.drift.files, "notes": self.drift.notes},
            "checks": [c.as_dict() for c in self.checks],
            "error": self.error,
        }


def compliance(driver: Driver, rendered: dict[str, str]) -> DeviceDiff:
    """Running vs rendered through the driver's own diff (FRR: frr-reload --test), nothing pushed."""
    driver.get_running()
    driver.load_candidate(rendered)
    try:
        return driver.diff()
    finally:
        driver.discard()


def run_checks(driver: Driver, exp: Expectation) -> list[CheckResult]:
    """Every check of the platform; outputs collected once per collect name."""
    cache: dict[str, Any] = {}
    results: list[CheckResult] = []
    for check in checks_for(exp.platform):
        skip = skipped(check, exp)
        if skip is not None:
            results.append(skip)
            continue
        if check.collect is None or check.judge is None:
            results.append(CheckResult(check.name, "skip", [Finding("skip", f"no {check.name} check for {exp.platform} yet")]))
            continue
        try:
            if check.collect not in cache:
                cache[check.collect] = driver.collect(check.collect)
            findings = check.judge(cache[check.collect], exp)
        except PlatformError as exc:
            results.append(CheckResult(check.name, "skip", [Finding("skip", str(exc))]))
            continue
        except HpnctlError as exc:
            results.append(CheckResult(check.name, "error", [Finding("error", str(exc))]))
            continue
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            results.append(CheckResult(check.name, "error", [Finding("error", f"unexpected output: {type(exc).__name__}: {exc}")]))
            continue
        results.append(CheckResult(check.name, check_status(findings), findings))
    return results


def verify_device(driver: Driver, exp: Expectation, rendered: dict[str, str], wait_s: float = 0.0,
                  interval_s: float = 1.0) -> DeviceVerify:
    """Compliance once, then the checks — repeated until they pass or wait_s is over (sessions converging)."""
    try:
        diff = compliance(driver, rendered)
    except HpnctlError as exc:
        return DeviceVerify(exp.hostname, exp.platform, None, None, error=str(exc))
    deadline = time.monotonic() + wait_s
    while True:
        checks = run_checks(driver, exp)
        failing = any(c.status in ("fail", "error") for c in checks)
        if not failing or time.monotonic() >= deadline:
            break
        time.sleep(interval_s)
    return DeviceVerify(exp.hostname, exp.platform, not diff.changed, diff, checks)


# --------------------------------------------------------------------------- post-checks

@dataclass
class Health:
    bgp: dict[str, str]  # intended peer → state
    up: set[str]  # intended interfaces that are up


def health(driver: Driver, exp: Expectation) -> Health:
    """The part of the device's state a commit must not break (intended peers and ports only)."""
    bgp: dict[str, str] = {}
    up: set[str] = set()
    try:
        peers = bgp_peers(driver.collect("bgp_summary"))
        bgp = {ip: peers[ip][0] for ip in exp.peers if ip in peers}
    except PlatformError:
        pass
    if exp.platform == "linux":
        try:
            data = driver.collect("interfaces")
            up = {link["ifname"] for link in data.get("links", [])
                  if link.get("ifname") in exp.interfaces and link.get("operstate") == "UP"}
        except PlatformError:
            pass
    return Health(bgp, up)


def post_check(driver: Driver, exp: Expectation, before: Health, timeout_s: float = 30.0,
               interval_s: float = 1.0) -> list[str]:
    """Problems after a commit (empty = fine): what was Established/up before and is intended must be again."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            now = health(driver, exp)
            problems = [f"BGP peer {ip}: {now.bgp.get(ip, 'gone')} (was Established)"
                        for ip, state in sorted(before.bgp.items()) if state == "Established"
                        and now.bgp.get(ip) != "Established"]
            problems += [f"interface {name}: down (was up)" for name in sorted(before.up - now.up)]
        except HpnctlError as exc:
            problems = [f"device does not answer after the commit: {exc}"]
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(interval_s)
