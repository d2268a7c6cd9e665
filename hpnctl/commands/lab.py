"""`hpnctl lab topology|up|down|status|exec`: a lab built from the same intent as the configs."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click
from rich.table import Table

from hpnctl.cli import INTENT, LIMIT, err, load_and_design, out, print_diagnostics
from hpnctl.paths import state_dir

RUNTIME = click.option("--runtime", type=click.Choice(["auto", "containerlab", "netns"]), default="auto",
                       show_default=True, help="auto = containerlab when a container engine answers, else the netns lab")


def default_topology_dir(lab: str) -> Path:
    return state_dir() / "topologies" / lab


def _say(message: str) -> None:
    err.print(f"[dim]lab:[/dim] {message}", markup=True, highlight=False)


@click.group()
def lab() -> None:
    """Build and run a lab of the fabric (containerlab, or network namespaces with real FRR + sshd)."""


@lab.command()
@INTENT
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="folder for <name>.clab.yml and the node configs (default: labs/<name>/)")
@LIMIT
@click.option("--scale-down", is_flag=True, help="keep one of each role/plane pattern (2 of each repeated element)")
def topology(intent: Path, out_dir: Path | None, limit: str | None, scale_down: bool) -> None:
    """Write a containerlab topology file plus the startup configs of its nodes."""
    from hpnctl.lab.topology import build_topology

    loaded, fabric = load_and_design(intent)
    print_diagnostics(fabric.log.sorted(), err)
    target = out_dir or Path("labs") / fabric.name
    topo = build_topology(loaded, fabric, target, limit=limit, scale=scale_down)
    _check_schema(topo.path)
    out.print(f"wrote {topo.path} ({len(topo.nodes)} nodes, {len(topo.data['topology']['links'])} links)", markup=False)


def _check_schema(path: Path) -> None:
    """Validate against containerlab's JSON schema when the user has it (never fails the command otherwise)."""
    try:
        from hpnctl.validate_models.clab_schema import validate_clab_topology
    except ImportError:  # pragma: no cover - module ships with hpnctl
        return
    from hpnctl.errors import ModelValidationError

    try:
        findings = validate_clab_topology(path)
    except ModelValidationError as exc:
        err.print(f"[dim]schema check skipped: {exc}[/dim]")
        return
    for f in findings:
        err.print(f"{path}: schema: {f.path}: {f.message}", style="red", markup=False)
    if findings:
        raise click.ClickException(f"{path} does not satisfy containerlab's schema")


@lab.command()
@INTENT
@RUNTIME
@LIMIT
@click.option("--scale-down", is_flag=True, help="run a small slice of a large fabric")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=60, show_default=True,
              help="seconds to wait for every BGP session to be Established (0: return as soon as nodes run)")
def up(intent: Path, runtime: str, limit: str | None, scale_down: bool, wait_s: float) -> None:
    """Render the configs and bring the lab up (idempotent); returns once BGP has converged."""
    from hpnctl.lab.runtime import get_runtime
    from hpnctl.lab.topology import build_topology

    loaded, fabric = load_and_design(intent)
    topo = build_topology(loaded, fabric, default_topology_dir(fabric.name), limit=limit, scale=scale_down)
    rt = get_runtime(runtime)
    _say(f"{len(topo.nodes)} nodes from {topo.path}")
    status = rt.up(topo.path, progress=_say)
    if wait_s and all(n.ok for n in status.nodes):
        status = _wait_converged(rt, fabric.name, status, wait_s)
    _print_status(status)
    if not all(n.ok for n in status.nodes):
        sys.exit(1)
    if wait_s and _runs_frr(status) and not status.bgp_established:
        err.print(f"BGP has not converged after {wait_s:g} s (see the BGP column)", style="bold red")
        sys.exit(1)


def _runs_frr(status) -> bool:
    return any("frr" in n.processes for n in status.nodes)


def _wait_converged(rt, lab_name: str, status, wait_s: float):
    """Poll the lab until every BGP session is Established or the wait is over (a lab that is up has converged)."""
    import time

    if not _runs_frr(status):
        return status
    deadline = time.monotonic() + wait_s
    while not status.bgp_established and time.monotonic() < deadline:
        time.sleep(1)
        status = rt.status(lab_name)
    _say(f"BGP {'converged' if status.bgp_established else 'not converged'} "
         f"({sum(s == 'Established' for n in status.nodes for s in n.bgp.values())} session ends Established)")
    return status


@lab.command()
@INTENT
@RUNTIME
def down(intent: Path, runtime: str) -> None:
    """Remove every namespace, link, bridge and process of the lab (works after a crash too)."""
    from hpnctl.lab.runtime import get_runtime

    name = _lab_name(intent)
    get_runtime(runtime).down(name, progress=_say)
    out.print(f"lab {name} is down", markup=False)


@lab.command()
@INTENT
@RUNTIME
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def status(intent: Path, runtime: str, fmt: str) -> None:
    """Nodes, management addresses, daemons and BGP session state."""
    from hpnctl.lab.runtime import get_runtime

    st = get_runtime(runtime).status(_lab_name(intent))
    if fmt == "json":
        out.print_json(json.dumps({
            "lab": st.lab, "runtime": st.runtime, "bgp_established": st.bgp_established, "access": st.access,
            "nodes": [{"name": n.name, "kind": n.kind, "mgmt_ip": n.mgmt_ip, "running": n.running,
                       "processes": n.processes, "bgp": n.bgp} for n in st.nodes]}, default=str))
    else:
        _print_status(st)
    if not all(n.ok for n in st.nodes):
        sys.exit(1)


@lab.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@INTENT
@click.argument("node")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@RUNTIME
def exec_(intent: Path, node: str, command: tuple[str, ...], runtime: str) -> None:
    """Run COMMAND inside NODE (e.g. `hpnctl lab exec lab.yml leaf1 -- vtysh -c 'show bgp summary'`)."""
    from hpnctl.lab.runtime import get_runtime

    argv = list(command) if len(command) > 1 else shlex.split(command[0])
    done = get_runtime(runtime).exec_in(_lab_name(intent), node, argv)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    sys.exit(done.returncode)


def _lab_name(intent: Path) -> str:
    """The lab name is the fabric name; reading it needs only the schema, not a full design."""
    from hpnctl.intent import load_intent

    return load_intent(intent).intent.fabric.name


def _print_status(st) -> None:
    table = Table(title=f"lab {st.lab} ({st.runtime})")
    for col in ("node", "kind", "mgmt", "running", "daemons", "BGP"):
        table.add_column(col)
    for n in st.nodes:
        daemons = " ".join(f"{k}:{'ok' if v else 'DOWN'}" for k, v in n.processes.items()) or "-"
        states = list(n.bgp.values())
        bgp = (f"{sum(s == 'Established' for s in states)}/{len(states)} Established" if states else "-")
        table.add_row(n.name, n.kind, n.mgmt_ip, "yes" if n.running else "NO", daemons, bgp)
    out.print(table)
    access = st.access or {}
    if access.get("key_file"):
        out.print(f"ssh: ssh -i {access['key_file']} -o UserKnownHostsFile={access.get('known_hosts')} "
                  f"{access.get('user', 'root')}@<mgmt>", markup=False)


COMMANDS = [lab]
