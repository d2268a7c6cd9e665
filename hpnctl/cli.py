"""The hpnctl command line: one small function per verb, wiring only."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from hpnctl import __version__
from hpnctl.diagnostics import Diagnostic
from hpnctl.errors import HpnctlError, IntentError

out = Console(highlight=False, soft_wrap=True, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

INTENT = click.argument("intent", type=click.Path(dir_okay=False, path_type=Path))
LIMIT = click.option("--limit", default=None, metavar="GLOB[,GLOB…]", help="only these devices (globs or a role name)")


def print_diagnostics(diags: list[Diagnostic], console: Console = out) -> None:
    for d in diags:
        style = "bold red" if d.severity == "error" else "yellow"
        first, _, rest = d.format().partition("\n")
        console.print(first, style=style, markup=False)
        if rest:
            console.print(rest, style="dim", markup=False)


def load_and_design(intent_path: Path, strict: bool = True):
    """Load + design; on errors print every diagnostic and raise IntentError."""
    from hpnctl.design import design
    from hpnctl.intent import load_intent

    loaded = load_intent(intent_path)
    fabric = design(loaded, strict=strict)
    return loaded, fabric


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hpnctl")
def cli() -> None:
    """hpnctl — one fabric intent → validated plan → per-switch configs, pushed and verified safely."""


MODELS = click.option("--models", "models", multiple=True, metavar="KIND=DIR",
                      help="YANG models of your release, e.g. sonic=/path/to/sonic-yang, srlinux=DIR (repeatable)")


def parse_models(values: tuple[str, ...]) -> dict[str, Path]:
    models: dict[str, Path] = {}
    for value in values:
        kind, sep, path = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r}: write KIND=DIR, e.g. sonic=./sonic-yang", param_hint="--models")
        models[kind.strip()] = Path(path)
    return models


@cli.command()
@INTENT
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@MODELS
def validate(intent: Path, fmt: str, models: tuple[str, ...]) -> None:
    """Check an intent: schema, fabric semantics and per-platform support. Exit 0 when valid.

    With --models, also render in a scratch folder and check every SONiC / SR Linux
    config against the vendor's YANG models.
    """
    model_dirs = parse_models(models)
    findings = []
    try:
        loaded, fabric = load_and_design(intent, strict=False)
        diags = fabric.log.sorted()
        if model_dirs and not fabric.log.errors:
            findings = _model_check(loaded, fabric, model_dirs)
    except IntentError as exc:
        diags = exc.diagnostics
    errors = [d for d in diags if d.severity == "error"]
    model_errors = [f for f in findings if f.severity == "error"]
    if fmt == "json":
        out.print_json(json.dumps({"valid": not errors and not model_errors, "diagnostics": [d.as_dict() for d in diags],
                                   "model_findings": [vars(f) for f in findings]}))
    else:
        print_diagnostics(diags)
        print_findings(findings)
        warnings = len(diags) - len(errors)
        bad = len(errors) + len(model_errors)
        summary = f"{intent}: {'valid' if not bad else 'invalid'} ({bad} error(s), {warnings} warning(s))"
        out.print(summary, style="green" if not bad else "bold red", markup=False)
    sys.exit(1 if errors or model_errors else 0)


def _model_check(loaded, fabric, model_dirs: dict[str, Path]) -> list:
    import tempfile

    from hpnctl.render import render_fabric
    from hpnctl.validate_models.check import check_rendered

    with tempfile.TemporaryDirectory(prefix="hpnctl-validate-") as tmp:
        manifest = render_fabric(loaded, fabric, Path(tmp))
        return check_rendered(Path(tmp), manifest, model_dirs)


def print_findings(findings: list, console: Console = out) -> None:
    for f in findings:
        console.print(f.format(), style="bold red" if f.severity == "error" else "yellow", markup=False)


@cli.command()
@INTENT
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@LIMIT
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="use these templates instead of the shipped ones")
@click.option("--jobs", type=int, default=None, help="worker processes (default: all cores)")
@click.option("--hosts", is_flag=True, help="render the GPU servers instead (NCCL/NVSHMEM env, NIC QoS, KV-cache network)")
@click.option("--check", is_flag=True, help="check SONiC/SR Linux output against the vendor YANG models (see --models)")
@MODELS
def render(intent: Path, out_dir: Path, limit: str | None, templates_dir: Path | None, jobs: int | None,
           hosts: bool, check: bool, models: tuple[str, ...]) -> None:
    """Render per-device configs into OUTPUT/<device>/ plus OUTPUT/manifest.json."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hpnctl.render import render_fabric, select_devices

    loaded, fabric = load_and_design(intent)
    print_diagnostics(fabric.log.sorted(), err)
    if hosts:
        from hpnctl.hosts.render import render_hosts

        manifest = render_hosts(loaded, fabric, out_dir, limit, templates_dir)
        files = sum(len(h["files"]) for h in manifest["hosts"])
        out.print(f"rendered {len(manifest['hosts'])} host(s), {files} file(s) into {out_dir}/ (hosts-manifest.json)", markup=False)
        return
    total = len(select_devices(fabric, limit))
    if total == 0:
        raise HpnctlError(f"--limit {limit!r} matches no device")
    with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("render", total=total)
        manifest = render_fabric(loaded, fabric, out_dir, limit, templates_dir, jobs,
                                 progress=lambda n: bar.advance(task, n))
    count = len(manifest["devices"])
    files = sum(len(d["files"]) for d in manifest["devices"])
    out.print(f"rendered {count} device(s), {files} file(s) into {out_dir}/ (manifest.json)", markup=False)
    if check or models:
        from hpnctl.validate_models.check import check_rendered, checked_platforms

        findings = check_rendered(out_dir, manifest, parse_models(models))
        print_findings(findings)
        errors = [f for f in findings if f.severity == "error"]
        checked = sum(1 for d in manifest["devices"] if d["platform"] in checked_platforms())
        out.print(f"model check: {checked} device(s) against the vendors' YANG models, {len(errors)} error(s)",
                  style="bold red" if errors else "green", markup=False)
        if errors:
            sys.exit(1)


@cli.command()
@INTENT
@click.option("--asics", is_flag=True, help="also list the ASIC table the checks use")
def show(intent: Path, asics: bool) -> None:
    """A readable summary: devices, links, address usage and the QoS plan per class."""
    from hpnctl.show import show_fabric

    loaded, fabric = load_and_design(intent, strict=False)
    show_fabric(loaded, fabric, out, with_asics=asics)
    if fabric.log.items:
        out.print()
        print_diagnostics(fabric.log.sorted())
    if fabric.log.errors:  # the plan is shown to help fix it, but it is not a valid plan
        sys.exit(1)


def _register_command_modules() -> None:
    import importlib
    import pkgutil

    import hpnctl.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"hpnctl.commands.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_register_command_modules()


def _quiet_library_loggers() -> None:
    """Device libraries (pyeapi, paramiko, netmiko) log tracebacks on connection errors; ours are reported cleanly."""
    import logging

    for name in ("pyeapi", "paramiko", "netmiko", "napalm", "httpx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def main() -> None:
    """Entry point: user errors print cleanly (never a traceback); exit codes 0/1/2 as documented."""
    _quiet_library_loggers()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code != 1 else 1)
    except IntentError as exc:
        print_diagnostics(exc.diagnostics, err)
        err.print(f"{len([d for d in exc.diagnostics if d.severity == 'error'])} error(s); nothing was changed",
                  style="bold red")
        sys.exit(1)
    except HpnctlError as exc:
        err.print(f"error: {exc}", style="bold red", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
