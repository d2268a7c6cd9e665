"""`hpnctl diff | apply | verify | snapshot | rollback`: changing a fabric safely.

Wiring only: the work is in hpnctl.changes.*, hpnctl.rollout and hpnctl.verify.
Reports go to stdout (rich table, or --format json / markdown); progress bars
go to stderr and only when it is a terminal.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.console import Console
from rich.table import Table

from hpnctl.cli import INTENT, LIMIT, err, out, print_diagnostics

LAB = click.option("--lab", is_flag=True,
                   help="reach the nodes of the running lab of this fabric (its SSH key, user and known_hosts)")
PARALLEL = click.option("--parallel", type=click.IntRange(1, 1024), default=32, show_default=True,
                        help="devices handled at the same time")

STATUS_STYLE = {"unchanged": "dim", "changed": "green", "would-change": "yellow", "skipped": "dim",
                "failed": "red", "rolled-back": "bold red", "reverted": "bold red", "rollback-failed": "bold white on red",
                "restored": "green", "pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim",
                "error": "bold red"}


def _table_console() -> Console:
    """Tables are wide: in a pipe or a CI log, don't wrap them at 80 columns."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _write_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def _progress(label: str, total: int) -> Iterator[callable]:
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=total, last="")

        def advance(name: str, *_: object) -> None:
            bar.update(task, advance=1, last=name)

        yield advance


def _prepare(intent: Path, limit: str | None, lab: bool, need_targets: bool = True, render: bool = True):
    from hpnctl.changes.plan import prepare

    plan = prepare(intent, limit, lab, need_targets=need_targets, render=render)
    print_diagnostics(plan.fabric.log.sorted(), err)
    return plan


# --------------------------------------------------------------------------- diff

@click.command()
@INTENT
@click.option("--against", "against", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="compare with a snapshot/render directory (DIR/<device>/<file>) instead of the devices")
@click.option("--live", is_flag=True, help="compare with the running devices (the default)")
@LIMIT
@LAB
@PARALLEL
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def diff(intent: Path, against: Path | None, live: bool, limit: str | None, lab: bool, parallel: int, fmt: str) -> None:
    """Show what would change per device. Exit 0 = no changes, 2 = changes, 1 = error (CI: like terraform plan)."""
    from hpnctl.changes.diff import (format_markdown, format_text, live_diff_one, offline_diff_one, report_dict,
                                     exit_code)
    from hpnctl.drivers.base import get_driver
    from hpnctl.rollout import run_parallel

    if against is not None and live:
        raise click.UsageError("--against and --live exclude each other")
    plan = _prepare(intent, limit, lab, need_targets=against is None, render=against is None)
    with _progress("diff", len(plan.names)) as advance:
        if against is not None:
            outcomes = _offline_diff(plan, limit, against, parallel, advance)
        else:
            outcomes = run_parallel(plan.names, lambda n: live_diff_one(plan.targets[n], plan.rendered[n], get_driver),
                                    parallel=parallel, progress=advance)
    outcomes = {n: outcomes[n] for n in plan.names}
    report = report_dict(outcomes, plan.fabric.name, "snapshot" if against else "live", str(against) if against else None)
    if fmt == "json":
        _write_json(report)
    elif fmt == "markdown":
        sys.stdout.write(format_markdown(report) + "\n")
    else:
        out.print(format_text(report), markup=False, highlight=False)
    sys.exit(exit_code(outcomes))


def _offline_diff(plan, limit: str | None, against: Path, parallel: int, advance) -> dict:
    """Render through the process pool into a scratch folder, then compare device by device.

    Only one device's files are in memory at a time: a 5,000-switch fabric's
    rendered text (~0.5 GB) never is.
    """
    import tempfile

    from hpnctl.changes.diff import offline_diff_one
    from hpnctl.render import render_fabric
    from hpnctl.rollout import run_parallel

    platforms = {n: plan.fabric.devices[n].platform for n in plan.names}
    with tempfile.TemporaryDirectory(prefix="hpnctl-diff-") as tmp:
        manifest = render_fabric(plan.loaded, plan.fabric, Path(tmp), limit)  # the same selection as plan.names
        files = {d["device"]: [f["name"] for f in d["files"]] for d in manifest["devices"]}

        def one(name: str):
            rendered = {f: (Path(tmp) / name / f).read_text() for f in files[name]}
            return offline_diff_one(name, platforms[name], rendered, against)

        return run_parallel(plan.names, one, parallel=min(parallel, 8), progress=advance)


# --------------------------------------------------------------------------- apply

def _apply_table(report) -> Table:
    title = f"{report.command} — fabric {report.fabric}" + (f", run {report.run_id}" if report.run_id else "")
    table = Table(title=title + (" (dry run)" if report.dry_run else ""))
    for col in ("device", "batch", "status", "config", "stage", "changed files", "time", "detail"):
        table.add_column(col, overflow="fold")
    for batch in report.batches:
        for name in batch:
            r = report.results[name]
            files = (", ".join(sorted(r.diff.files)) or "live state (drift)") if r.diff and r.changed else "-"
            detail = "; ".join(x for x in (r.error, r.rollback) if x) or ""
            table.add_row(name, str(r.batch), f"[{STATUS_STYLE.get(r.status, '')}]{r.status}[/]", r.config, r.stage,
                          files, f"{r.duration_s:.1f}s", detail)
    return table


def _print_report(report, fmt: str) -> None:
    if fmt == "json":
        _write_json(report.as_dict())
        return
    _table_console().print(_apply_table(report))
    s = report.summary()
    configs = ", ".join(f"{v} on {k} config" for k, v in sorted(s["config"].items()))
    out.print(f"{s['devices']} device(s): " + ", ".join(f"{v} {k}" for k, v in sorted(s["status"].items()))
              + f" — {configs}", markup=False)
    if report.stopped:
        out.print(f"rollout stopped: {report.stop_reason}", style="bold red", markup=False)
    if report.run_id:
        out.print(f"run {report.run_id}: backups kept; undo with `hpnctl rollback --run {report.run_id}`", markup=False)


@click.command()
@INTENT
@LIMIT
@click.option("--dry-run", is_flag=True, help="connect, back up nothing, diff, push nothing")
@click.option("--canary", type=click.IntRange(0), default=0, show_default=True, help="devices changed first, alone")
@click.option("--batch", type=click.IntRange(0), default=0, help="devices per batch after the canaries (0 = all)")
@click.option("--max-failures", type=click.IntRange(0), default=0, show_default=True,
              help="stop starting devices once more than this many failed")
@click.option("--confirm-timeout", type=click.IntRange(5, 3600), default=None,
              help="seconds: the device reverts by itself unless the post-checks pass and hpnctl confirms")
@click.option("--post-check-timeout", type=click.FloatRange(0), default=30.0, show_default=True,
              help="seconds to wait for BGP/interfaces to come back after a commit")
@click.option("--no-post-checks", is_flag=True, help="skip the post-checks between commit and confirm")
@PARALLEL
@LAB
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def apply(intent: Path, limit: str | None, dry_run: bool, canary: int, batch: int, max_failures: int,
          confirm_timeout: int | None, post_check_timeout: float, no_post_checks: bool, parallel: int, lab: bool,
          fmt: str) -> None:
    """Back up, diff, commit (with confirm timer), post-check and confirm each device; canaries, batches, failure budget."""
    from hpnctl.rollout import ApplyOptions, apply_change

    plan = _prepare(intent, limit, lab)  # refuses a bad intent before any device is contacted
    opts = ApplyOptions(dry_run=dry_run, confirm_timeout=confirm_timeout, post_check_timeout=post_check_timeout,
                        post_checks=not no_post_checks)
    with _progress("apply" if not dry_run else "dry run", len(plan.names)) as advance:
        report = apply_change(plan, opts, canary=canary, batch=batch or None, parallel=parallel,
                              max_failures=max_failures, progress=advance)
    _print_report(report, fmt)
    sys.exit(0 if report.ok else 1)


# --------------------------------------------------------------------------- verify

def _verify_table(results: list) -> Table:
    from hpnctl.verify.checks import checks_for

    names: list[str] = []
    for r in results:
        for c in checks_for(r.platform):
            if c.name not in names:
                names.append(c.name)
    table = Table(title="verify")
    for col in ["device", "result", "config"] + names:
        table.add_column(col)
    for r in results:
        by = {c.name: c.status for c in r.checks}
        config = "error" if r.compliant is None else ("in sync" if r.compliant else "DRIFT")
        cells = [f"[{STATUS_STYLE.get(by[n], '')}]{by[n]}[/]" if n in by else "-" for n in names]
        table.add_row(r.hostname, f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
                      f"[{'green' if r.compliant else 'bold red'}]{config}[/]", *cells)
    return table


@click.command()
@INTENT
@LIMIT
@LAB
@PARALLEL
@click.option("--wait", "wait_s", type=click.FloatRange(0), default=0.0,
              help="retry failing operational checks for up to this many seconds (sessions converging)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify(intent: Path, limit: str | None, lab: bool, parallel: int, wait_s: float, fmt: str) -> None:
    """Config compliance (no drift) and operational checks per device. Exit 0 only when all pass."""
    from hpnctl.drivers.base import get_driver
    from hpnctl.rollout import run_parallel
    from hpnctl.verify.expect import build_expectations
    from hpnctl.verify.run import DeviceVerify, verify_device

    plan = _prepare(intent, limit, lab)
    expectations = build_expectations(plan.fabric, plan.models)

    def one(name: str) -> DeviceVerify:
        target = plan.targets[name]
        driver = None
        try:
            driver = get_driver(target)
            driver.open()
            return verify_device(driver, expectations[name], plan.rendered[name], wait_s=wait_s)
        except Exception as exc:  # noqa: BLE001 - one device's failure is that device's result
            from hpnctl.drivers.ssh import scrub, target_secrets

            try:
                secrets = target_secrets(target)
            except Exception:  # noqa: BLE001
                secrets = []
            return DeviceVerify(name, target.platform, None, None, error=scrub(str(exc), secrets))
        finally:
            if driver is not None:
                driver.close()

    with _progress("verify", len(plan.names)) as advance:
        done = run_parallel(plan.names, one, parallel=parallel, progress=advance)
    results = [done[n] for n in plan.names]
    ok = all(r.status == "pass" for r in results)
    if fmt == "json":
        _write_json({"fabric": plan.fabric.name, "passed": ok,
                     "summary": {"devices": len(results), "passed": sum(r.status == "pass" for r in results),
                                 "drift": [r.hostname for r in results if r.compliant is False],
                                 "errors": [r.hostname for r in results if r.compliant is None]},
                     "devices": [r.as_dict() for r in results]})
    else:
        _table_console().print(_verify_table(results))
        for r in results:
            lines = []
            if r.error:
                lines.append(f"  error: {r.error}")
            if r.compliant is False and r.drift is not None:
                lines.append("  config drift (running ≠ rendered):")
                lines += ["    " + line for line in r.drift.text.splitlines()]
            for c in r.checks:
                for f in c.findings:
                    if f.status in ("fail", "error", "warn"):
                        lines.append(f"  {c.name}: {f.status}: {f.message}")
            if lines:
                out.print(f"{r.hostname}:", style="bold", markup=False)
                out.print("\n".join(lines), markup=False, highlight=False)
        skips = sorted({f"{c.name}: {f.message}" for r in results for c in r.checks for f in c.findings
                        if f.status == "skip"})
        for s in skips:
            out.print(f"skipped {s}", style="dim", markup=False)
        passed = sum(r.status == "pass" for r in results)
        out.print(f"{passed}/{len(results)} device(s) pass", style="green" if ok else "bold red", markup=False)
    sys.exit(0 if ok else 1)


# --------------------------------------------------------------------------- snapshot

@click.command()
@INTENT
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@LIMIT
@LAB
@PARALLEL
def snapshot(intent: Path, out_dir: Path, limit: str | None, lab: bool, parallel: int) -> None:
    """Collect the running configs (the file layout of `render`) from all or --limit devices, in parallel."""
    from hpnctl.changes.snapshot import snapshot_one, write_manifest
    from hpnctl.drivers.base import get_driver
    from hpnctl.rollout import run_parallel

    plan = _prepare(intent, limit, lab)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _progress("snapshot", len(plan.names)) as advance:
        results = run_parallel(plan.names, lambda n: snapshot_one(plan.targets[n], out_dir, get_driver),
                               parallel=parallel, progress=advance)
    manifest = write_manifest(out_dir, plan.fabric, str(plan.loaded.source), results)
    for name, error in manifest["errors"].items():
        err.print(f"{name}: {error}", style="red", markup=False)
    files = sum(len(d["files"]) for d in manifest["devices"])
    out.print(f"snapshot of {len(manifest['devices'])} device(s), {files} file(s) in {out_dir}/ "
              f"({len(manifest['errors'])} error(s))", markup=False)
    sys.exit(1 if manifest["errors"] else 0)


# --------------------------------------------------------------------------- rollback

@click.command()
@click.option("--run", "run_id", default=None, metavar="ID", help="the apply run whose backups to restore")
@LIMIT
@click.option("--list", "list_runs", is_flag=True, help="list the recorded runs (newest first)")
@click.option("--fabric", default=None, help="with --list: only this fabric's runs")
@PARALLEL
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rollback(run_id: str | None, limit: str | None, list_runs: bool, fabric: str | None, parallel: int, fmt: str) -> None:
    """Restore the devices of an apply run to their backups (the config before that run)."""
    from hpnctl.changes.state import Run, list_runs as all_runs
    from hpnctl.rollout import rollback_run

    if list_runs:
        runs = all_runs(fabric)
        if fmt == "json":
            _write_json({"runs": runs})
            return
        table = Table(title="runs")
        for col in ("run", "command", "started", "finished", "devices", "result"):
            table.add_column(col)
        for r in runs:
            result = ", ".join(f"{v} {k}" for k, v in sorted((r["summary"].get("status") or {}).items()))
            table.add_row(r["run_id"], r["command"], r["started"], r["finished"] or "(running/crashed)",
                          str(r["devices"]), result)
        _table_console().print(table)
        return
    if not run_id:
        raise click.UsageError("give --run ID (see `hpnctl rollback --list`)")
    source = Run.load(run_id)  # a clear error for an unknown id, before anything else
    with _progress("rollback", len(source.backed_up())) as advance:
        report = rollback_run(run_id, limit, parallel=parallel, progress=advance)
    _print_report(report, fmt)
    sys.exit(0 if report.ok else 1)


COMMANDS = [diff, apply, verify, snapshot, rollback]
