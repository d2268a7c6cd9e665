"""`hpnctl lint`: the host↔switch consistency checks (they also run in `validate` and before `render`).

`hpnctl render --hosts` (in cli.py) renders the hosts' files with hpnctl.hosts.render.render_hosts.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hpnctl.cli import INTENT, out, print_diagnostics
from hpnctl.errors import IntentError


@click.command()
@INTENT
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def lint(intent: Path, fmt: str) -> None:
    """Cross-check hosts and switches: library DSCPs, PFC priorities, CNP queue, ECN/DCQCN, MTU, KV-cache.

    Prints the L3xx findings (and any error of the switch side, which stops the cross-checks); exit 1 on errors.
    """
    from hpnctl.design import design
    from hpnctl.intent import load_intent

    try:
        fabric = design(load_intent(intent), strict=False)
        diags = fabric.log.sorted()
    except IntentError as exc:
        diags = exc.diagnostics
    shown = [d for d in diags if d.code.startswith("L") or d.severity == "error"]
    errors = [d for d in shown if d.severity == "error"]
    if fmt == "json":
        out.print_json(json.dumps({"consistent": not errors, "diagnostics": [d.as_dict() for d in shown]}))
    else:
        print_diagnostics(shown)
        warnings = len(shown) - len(errors)
        verdict = "hosts and switches agree" if not errors else "hosts and switches disagree"
        out.print(f"{intent}: {verdict} ({len(errors)} error(s), {warnings} warning(s))",
                  style="green" if not errors else "bold red", markup=False)
    sys.exit(1 if errors else 0)


COMMANDS = [lint]
