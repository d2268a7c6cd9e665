"""Parallel, batched apply with canaries, a failure budget and per-device results (Nornir-style).

Rollout policy: the first `canary` devices form batch 0; the rest go in batches
of `batch` devices (default: all at once), each batch run with up to `parallel`
workers.  A failed device counts against `max_failures`; once failures exceed
it no new device starts (devices already running finish) and every device not
started is reported `skipped` (still on its old config).

Per device (apply): connect → backup (get_running, saved under the run before
anything is pushed) → load candidate → diff → [unchanged: stop, nothing pushed]
→ commit (with the platform's confirm timer when --confirm-timeout) →
post-checks → confirm.  A failure at or after commit rolls the device back to
its backup (reconnecting if the session died); only a failed rollback leaves a
device `unknown`, and says so.

Every device ends with `config` old | new | unknown, and a status:
  unchanged      nothing to do (running == candidate); config new (= old)
  changed        committed, post-checked, confirmed; config new
  would-change   dry run; config old
  skipped        not started (rollout stopped); config old
  failed         failed before anything was pushed; config old
  rolled-back    failed at/after commit, restored from the backup; config old
  reverted       the confirm timer fired first (the device went back); config old
  rollback-failed  failed, and the rollback failed too; config unknown — needs a human
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, Driver, get_driver
from hpnctl.drivers.ssh import scrub, target_secrets
from hpnctl.errors import CommitError, ConnectError, HpnctlError, RollbackError

DriverFactory = Callable[[DeviceTarget], Driver]
Progress = Callable[[str, "Result"], None]
FAILED = frozenset({"failed", "rolled-back", "reverted", "rollback-failed"})


@dataclass
class Result:
    """One device's outcome."""

    host: str
    status: str = "pending"
    config: str = "old"  # old | new | unknown
    changed: bool = False
    stage: str = ""
    error: str | None = None
    diff: DeviceDiff | None = None
    batch: int = 0
    duration_s: float = 0.0
    commands: int | None = None  # node-side steps sent (drivers that count them)
    rollback: str | None = None  # what the rollback did, or why it failed
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    _open: tuple[str, float] | None = field(default=None, repr=False)

    def enter(self, stage: str) -> None:
        """Start a stage (and stop the previous stage's clock)."""
        self.close_timer()
        self.stage = stage
        self._open = (stage, time.monotonic())

    def close_timer(self) -> None:
        if self._open is not None:
            name, t0 = self._open
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - t0, 3)
            self._open = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.host, "status": self.status, "config": self.config, "changed": self.changed,
            "stage": self.stage, "error": self.error, "batch": self.batch, "duration_s": round(self.duration_s, 3),
            "commands": self.commands, "rollback": self.rollback, "timings": self.timings,
            "diff": None if self.diff is None else {"text": self.diff.text, "files": self.diff.files,
                                                    "notes": self.diff.notes, "patch": self.diff.patch,
                                                    "remediation": self.diff.remediation},
        }


@dataclass
class RolloutReport:
    command: str
    fabric: str
    results: dict[str, Result]
    batches: list[list[str]]
    stopped: bool = False
    stop_reason: str | None = None
    run_id: str | None = None
    dry_run: bool = False
    duration_s: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        by_config: dict[str, int] = {}
        for r in self.results.values():
            by_status[r.status] = by_status.get(r.status, 0) + 1
            by_config[r.config] = by_config.get(r.config, 0) + 1
        return {"devices": len(self.results), "status": by_status, "config": by_config,
                "failed": sum(r.failed for r in self.results.values()), "stopped": self.stopped}

    @property
    def ok(self) -> bool:
        return not self.stopped and not any(r.failed for r in self.results.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command, "fabric": self.fabric, "run_id": self.run_id, "dry_run": self.dry_run,
            "stopped": self.stopped, "stop_reason": self.stop_reason, "duration_s": round(self.duration_s, 3),
            "options": self.options, "batches": self.batches, "summary": self.summary(),
            "devices": [self.results[n].as_dict() for b in self.batches for n in b if n in self.results],
        }


def plan_batches(names: list[str], canary: int = 0, batch: int | None = None) -> list[list[str]]:
    """[canaries] + batches of `batch` (all remaining when None/0)."""
    batches: list[list[str]] = []
    rest = list(names)
    if canary > 0:
        batches.append(rest[:canary])
        rest = rest[canary:]
    size = batch if batch and batch > 0 else max(len(rest), 1)
    for i in range(0, len(rest), size):
        batches.append(rest[i:i + size])
    return [b for b in batches if b]


def rollout(names: list[str], task: Callable[[str], Result], *, canary: int = 0, batch: int | None = None,
            parallel: int = 32, max_failures: int | None = 0,
            progress: Progress | None = None) -> tuple[dict[str, Result], list[list[str]], bool, str | None]:
    """Run `task` per device under the policy; returns (results, batches, stopped, reason).

    `task` must not raise (anything it raises is recorded as a failure with an unknown config,
    because the rollout cannot know how far it got).  max_failures=None never stops.
    """
    batches = plan_batches(names, canary, batch)
    results: dict[str, Result] = {}
    stop = threading.Event()
    lock = threading.Lock()
    failures = 0
    reason: str | None = None

    def guarded(name: str, index: int) -> Result:
        if stop.is_set():
            return Result(name, status="skipped", config="old", stage="not started", batch=index,
                          error="rollout stopped before this device")
        start = time.monotonic()
        try:
            result = task(name)
        except BaseException as exc:  # noqa: BLE001 - a bug in a task must not take the rollout down silently
            result = Result(name, status="rollback-failed", config="unknown", stage="internal",
                            error=f"internal error: {type(exc).__name__}: {exc}")
        result.batch = index
        result.duration_s = result.duration_s or (time.monotonic() - start)
        return result

    for index, members in enumerate(batches):
        if stop.is_set():
            for name in members:
                results[name] = Result(name, status="skipped", config="old", stage="not started", batch=index,
                                       error="rollout stopped before this batch")
                if progress:
                    progress(name, results[name])
            continue
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(members)))) as pool:
            futures = {pool.submit(guarded, name, index): name for name in members}
            for future in as_completed(futures):
                result = future.result()
                with lock:
                    results[result.host] = result
                    if result.failed:
                        failures += 1
                        if max_failures is not None and failures > max_failures and not stop.is_set():
                            stop.set()
                            reason = (f"{failures} failure(s) exceed --max-failures {max_failures} "
                                      f"(batch {index}{' (canary)' if index == 0 and canary else ''}, "
                                      f"last: {result.host})")
                if progress:
                    progress(result.host, result)
    return results, batches, stop.is_set(), reason


def run_parallel(names: list[str], fn: Callable[[str], Any], parallel: int = 32,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """fn per device in parallel (no policy): for diff, snapshot, verify.  fn must not raise."""
    out: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names) or 1))) as pool:
        futures = {pool.submit(fn, n): n for n in names}
        for future in as_completed(futures):
            name = futures[future]
            out[name] = future.result()
            if progress:
                progress(name)
    return out


# --------------------------------------------------------------------------- apply one device

@dataclass
class ApplyOptions:
    dry_run: bool = False
    confirm_timeout: int | None = None
    post_check_timeout: float = 30.0
    post_checks: bool = True


def _secrets(target: DeviceTarget) -> list[str]:
    return target_secrets(target)  # env lookups only: cannot fail


def _scrub_diff(diff: DeviceDiff, secrets: list[str]) -> DeviceDiff:
    if not secrets:
        return diff
    diff.text = scrub(diff.text, secrets)
    diff.files = {k: scrub(v, secrets) for k, v in diff.files.items()}
    diff.remediation = [scrub(line, secrets) for line in diff.remediation]
    diff.notes = [scrub(n, secrets) for n in diff.notes]
    return diff


def _commands(driver: Driver | None) -> int | None:
    sent = getattr(driver, "commands_sent", None)
    return len(sent) if isinstance(sent, list) else None


def _close(driver: Driver | None) -> None:
    if driver is not None:
        try:
            driver.close()
        except Exception:  # noqa: BLE001 - closing never changes the outcome
            pass


def restore_backup(driver: Driver, target: DeviceTarget, backup: dict[str, str], factory: DriverFactory) -> str:
    """Roll back to the backup; reconnect once if the session died.  Raises RollbackError when it cannot."""
    try:
        driver.rollback(backup)
        return "restored from the backup"
    except (RollbackError, ConnectError, HpnctlError) as first:
        fresh = None
        try:
            fresh = factory(target)
            fresh.open()
            fresh.rollback(backup)
            return f"restored from the backup on a new session ({first})"
        except Exception as second:  # noqa: BLE001
            raise RollbackError(f"rollback failed: {second} (first attempt: {first})") from None
        finally:
            _close(fresh)


def apply_one(target: DeviceTarget, files: dict[str, str], opts: ApplyOptions, factory: DriverFactory,
              run: Any = None, expectation: Any = None) -> Result:
    """The per-device sequence; never raises (see the module docstring for the statuses)."""
    from hpnctl.verify.run import health, post_check

    r = Result(target.hostname)
    secrets = _secrets(target)
    start = time.monotonic()
    driver: Driver | None = None
    backup: dict[str, str] | None = None
    committed = False
    try:
        r.enter("connect")
        driver = factory(target)
        driver.open()
        r.enter("backup")
        backup = driver.get_running()
        if run is not None:
            run.save_files("backup", target.hostname, backup)
        r.enter("load")
        driver.load_candidate(files)
        r.enter("diff")
        r.diff = _scrub_diff(driver.diff(), secrets)
        r.changed = r.diff.changed
        if not r.changed:
            driver.discard()
            r.status, r.config, r.stage = "unchanged", "new", "done"
            return r
        if opts.dry_run:
            driver.discard()
            r.status, r.config, r.stage = "would-change", "old", "done"
            return r
        if run is not None:
            run.save_files("candidate", target.hostname, files)
        before = None
        if opts.post_checks and expectation is not None:
            r.enter("pre-check")
            before = health(driver, expectation)
        r.enter("commit")
        committed = True  # from here on, a failure means: roll back
        driver.commit(opts.confirm_timeout)
        r.config = "new"
        if before is not None:
            r.enter("post-check")
            budget = opts.post_check_timeout
            if opts.confirm_timeout:
                budget = min(budget, max(1.0, opts.confirm_timeout * 0.6))  # leave time to confirm
            problems = post_check(driver, expectation, before, timeout_s=budget)
            if problems:
                raise CommitError(f"post-check failed: {'; '.join(problems)}")
        if opts.confirm_timeout:
            r.enter("confirm")
            try:
                driver.confirm()
            except CommitError as exc:
                r.status, r.config, r.error = "reverted", "old", scrub(str(exc), secrets)
                return r
        r.status, r.config, r.stage = "changed", "new", "done"
        return r
    except RollbackError as exc:  # the driver itself could not get back
        r.status, r.config, r.error = "rollback-failed", "unknown", scrub(str(exc), secrets)
        return r
    except Exception as exc:  # noqa: BLE001 - every failure becomes this device's result
        r.error = scrub(str(exc) if isinstance(exc, HpnctlError) else f"{type(exc).__name__}: {exc}", secrets)
        if not committed:
            r.status, r.config = "failed", "old"
            return r
        if backup is None:  # cannot happen: commit comes after backup
            r.status, r.config = "rollback-failed", "unknown"
            return r
        try:
            r.rollback = scrub(restore_backup(driver, target, backup, factory), secrets)  # type: ignore[arg-type]
            r.status, r.config = "rolled-back", "old"
        except RollbackError as rb:
            r.status, r.config, r.rollback = "rollback-failed", "unknown", scrub(str(rb), secrets)
        return r
    finally:
        r.commands = _commands(driver)
        _close(driver)
        r.close_timer()
        r.duration_s = time.monotonic() - start


def apply_change(plan: Any, opts: ApplyOptions, *, canary: int = 0, batch: int | None = None,
                 parallel: int = 32, max_failures: int | None = 0, factory: DriverFactory | None = None,
                 progress: Progress | None = None, command: str = "apply") -> RolloutReport:
    """The whole apply: lock, run state, rollout, report.  `plan` is a hpnctl.changes.plan.Plan."""
    from hpnctl.changes.state import FabricLock, Run
    from hpnctl.changes.targets import target_to_dict
    from hpnctl.verify.expect import build_expectations

    factory = factory or get_driver
    started = time.monotonic()
    expectations = build_expectations(plan.fabric, plan.models) if opts.post_checks else {}
    options = {"limit_devices": plan.names, "dry_run": opts.dry_run, "canary": canary, "batch": batch,
               "parallel": parallel, "max_failures": max_failures, "confirm_timeout": opts.confirm_timeout,
               "lab": plan.lab is not None}
    lock = None if opts.dry_run else FabricLock(plan.fabric.name, command).acquire()
    try:
        run = None
        if not opts.dry_run:
            run = Run.create(plan.fabric.name, command, str(plan.loaded.source), options,
                             {n: target_to_dict(plan.targets[n]) for n in plan.names})
            lock.set_run(run.run_id)  # type: ignore[union-attr]

        def task(name: str) -> Result:
            return apply_one(plan.targets[name], plan.rendered[name], opts, factory, run, expectations.get(name))

        def on_done(name: str, result: Result) -> None:
            if run is not None:
                run.record_device(name, result.as_dict())
            if progress:
                progress(name, result)

        results, batches, stopped, reason = rollout(plan.names, task, canary=canary, batch=batch, parallel=parallel,
                                                    max_failures=max_failures, progress=on_done)
        report = RolloutReport(command, plan.fabric.name, results, batches, stopped, reason,
                               run.run_id if run else None, opts.dry_run, time.monotonic() - started, options)
        if run is not None:
            run.finish(report.as_dict())
        return report
    finally:
        if lock is not None:
            lock.release()


# --------------------------------------------------------------------------- rollback of a run

def rollback_one(target: DeviceTarget, backup: dict[str, str], factory: DriverFactory, run: Any = None) -> Result:
    """Put a device back on a run's backup; unchanged when it already is (nothing pushed)."""
    r = Result(target.hostname)
    secrets = _secrets(target)
    start = time.monotonic()
    driver: Driver | None = None
    touched = False
    try:
        r.enter("connect")
        driver = factory(target)
        driver.open()
        r.enter("backup")
        current = driver.get_running()
        if run is not None:
            run.save_files("backup", target.hostname, current)
        r.enter("diff")
        driver.load_candidate(backup)
        r.diff = _scrub_diff(driver.diff(), secrets)
        r.changed = r.diff.changed
        driver.discard()
        if not r.changed:
            r.status, r.config, r.stage = "unchanged", "old", "done"
            return r
        r.enter("rollback")
        touched = True
        driver.rollback(backup)
        r.status, r.config, r.stage = "restored", "old", "done"
        return r
    except Exception as exc:  # noqa: BLE001
        r.error = scrub(str(exc) if isinstance(exc, HpnctlError) else f"{type(exc).__name__}: {exc}", secrets)
        r.status = "rollback-failed" if touched else "failed"
        r.config = "unknown" if touched else "current"
        return r
    finally:
        r.commands = _commands(driver)
        _close(driver)
        r.close_timer()
        r.duration_s = time.monotonic() - start


def rollback_run(run_id: str, limit: str | None = None, *, parallel: int = 32, factory: DriverFactory | None = None,
                 progress: Progress | None = None) -> RolloutReport:
    """Restore every backed-up device of a run (or the --limit ones) to its pre-run config, as a new run."""
    import fnmatch

    from hpnctl.changes.state import FabricLock, Run
    from hpnctl.changes.targets import preflight, target_from_dict

    factory = factory or get_driver
    started = time.monotonic()
    source = Run.load(run_id)
    fabric = source.data["fabric"]
    names = source.backed_up()
    if limit:
        pats = [p.strip() for p in limit.split(",") if p.strip()]
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in pats)]
    if not names:
        raise HpnctlError(f"run {run_id} has no backup{' matching --limit ' + repr(limit) if limit else ''}")
    targets = {n: target_from_dict(source.data["targets"][n]) for n in names}
    preflight(targets)
    command = f"rollback --run {run_id}"
    with FabricLock(fabric, command) as lock:
        run = Run.create(fabric, command, source.data.get("intent"), {"rollback_of": run_id, "limit": limit},
                         {n: source.data["targets"][n] for n in names})
        lock.set_run(run.run_id)

        def task(name: str) -> Result:
            return rollback_one(targets[name], source.load_files("backup", name) or {}, factory, run)

        def on_done(name: str, result: Result) -> None:
            run.record_device(name, result.as_dict())
            if progress:
                progress(name, result)

        results, batches, stopped, reason = rollout(names, task, parallel=parallel, max_failures=None,
                                                    progress=on_done)
        report = RolloutReport(command, fabric, results, batches, stopped, reason, run.run_id, False,
                               time.monotonic() - started, {"rollback_of": run_id, "limit": limit})
        run.finish(report.as_dict())
    return report
