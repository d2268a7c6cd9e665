"""A small client for the containerlab CLI, and the containerlab lab runtime built on it.

containerlab has no Python client (its API server speaks HTTP+JWT and needs its own
container), so this wraps the CLI: build the command line, run it, parse its JSON,
and turn a failure into a LabError naming the command and the first useful stderr line.

Minimum version: 0.49.0.  Before it, `exec -t FILE --label ...` was not limited to the
topology's lab and ran the command on matching nodes of every lab on the host
(srl-labs/containerlab#1728, fixed in #1729, Nov 2023); the JSON shapes of `inspect`
(old `{"containers": [...]}`, 0.68+ `{"<lab>": [...]}`) and of `exec` (old
`{node: {stdout, stderr}}`, newer `{node: [{cmd, return-code, stdout, stderr}]}`) are
both parsed here.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpnctl.errors import LabError
from hpnctl.lab.labfiles import Topology, load_topology
from hpnctl.lab.netns import parse_bgp_summary
from hpnctl.lab.runtime import LabStatus, NodeStatus, Progress
from hpnctl.paths import state_dir

RUNTIME = "containerlab"
MIN_VERSION = (0, 49, 0)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
VERSION_RE = re.compile(r"^\s*(?:version:)?\s*v?(\d+)\.(\d+)\.(\d+)\s*$", re.M)
# logrus (`ERRO[0000] msg`, `level=error msg=...`), charmbracelet/log (`12:00:00 ERRO msg`), cobra (`Error: msg`)
ERROR_RE = re.compile(r"^(?:\d\d:\d\d:\d\d\s+)?(?:ERRO|FATA)(?:\[\d+\])?\s+(.*)$"
                      r"|^(Error:.*)$"
                      r"|level=(?:error|fatal)\s+msg=\"?([^\"]*)")
NOISE_RE = re.compile(r"^(?:\d\d:\d\d:\d\d\s+)?(?:INFO|WARN|DEBU)\b|level=(?:info|warning|debug)")
NO_CONTAINERS = "no containers found"


@dataclass(frozen=True)
class ClabNode:
    lab: str
    node: str  # short name, as in the topology file
    container: str  # clab-<lab>-<node>
    kind: str
    image: str
    state: str  # running, exited, ...
    ipv4: str  # management address without the prefix length
    lab_path: str = ""  # absolute path of the topology file (0.68+), else as containerlab printed it


class ClabClient:
    """Build and run containerlab command lines."""

    def __init__(self, executable: str = "containerlab", timeout: float = 900):
        self.executable = executable
        self.timeout = timeout

    # ---- command lines (pure: tested without containerlab)
    def deploy_cmd(self, topology: Path) -> list[str]:
        return [self.executable, "deploy", "-t", str(topology), "--reconfigure"]

    def destroy_cmd(self, topology: Path | None = None, lab: str | None = None) -> list[str]:
        return [self.executable, "destroy", *self._target(topology, lab), "--cleanup"]

    def inspect_cmd(self, topology: Path | None = None, lab: str | None = None) -> list[str]:
        return [self.executable, "inspect", *self._target(topology, lab), "--format", "json"]

    def exec_cmd(self, topology: Path, command: str, node: str | None = None,
                 labels: dict[str, str] | None = None) -> list[str]:
        selectors = dict(labels or {}, **({"clab-node-name": node} if node else {}))
        argv = [self.executable, "exec", "-t", str(topology)]
        for key, value in selectors.items():
            argv += ["--label", f"{key}={value}"]
        return argv + ["--cmd", command, "--format", "json"]

    def version_cmd(self) -> list[str]:
        return [self.executable, "version"]

    @staticmethod
    def _target(topology: Path | None, lab: str | None) -> list[str]:
        if topology is not None:
            return ["-t", str(topology)]
        if lab:
            return ["--name", lab]
        raise LabError("containerlab needs a topology file or a lab name")

    # ---- running
    def run(self, argv: list[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run a containerlab command; a failure becomes a LabError with its first useful stderr line."""
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout or self.timeout)
        except FileNotFoundError as exc:
            raise LabError(f"{self.executable} is not installed or not on PATH "
                           "(https://containerlab.dev/install/), or use --runtime netns") from exc
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"`{shlex.join(argv)}` did not finish within {exc.timeout:.0f}s") from exc
        if done.returncode != 0:
            raise LabError(f"`{shlex.join(argv)}` failed (exit {done.returncode}): "
                           f"{first_useful_line(done.stderr, done.stdout)}")
        return done

    def version(self) -> tuple[int, int, int]:
        return parse_version(self.run(self.version_cmd(), timeout=30).stdout)

    def check_version(self) -> tuple[int, int, int]:
        found = self.version()
        if found < MIN_VERSION:
            raise LabError(f"containerlab {'.'.join(map(str, found))} is too old: hpnctl needs "
                           f"{'.'.join(map(str, MIN_VERSION))} or later (older `exec -t --label` "
                           "runs on the nodes of every lab)")
        return found

    def deploy(self, topology: Path) -> None:
        self.run(self.deploy_cmd(topology))

    def destroy(self, topology: Path | None = None, lab: str | None = None) -> None:
        self.run(self.destroy_cmd(topology, lab))

    def inspect(self, topology: Path | None = None, lab: str | None = None) -> list[ClabNode]:
        argv = self.inspect_cmd(topology, lab)
        try:
            out = self.run(argv, timeout=120).stdout
        except LabError as exc:
            if NO_CONTAINERS in str(exc).lower():  # some releases exit 1 when the lab is not deployed
                return []
            raise
        return parse_inspect(out, lab)

    def exec(self, topology: Path, node: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        results = parse_exec(self.run(self.exec_cmd(topology, shlex.join(argv), node=node)).stdout)
        # keyed by the short name or by the container name clab-<lab>-<node>
        done = results.get(node) or next((r for k, r in results.items() if k.endswith(f"-{node}")), None)
        if done is None:
            raise LabError(f"containerlab ran nothing on {node}: is it a deployed node of {topology}?")
        return subprocess.CompletedProcess(argv, done.returncode, done.stdout, done.stderr)

    def exec_labeled(self, topology: Path, argv: list[str],
                     labels: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
        """One containerlab call for every node carrying the labels: {container or node name: result}."""
        return parse_exec(self.run(self.exec_cmd(topology, shlex.join(argv), labels=labels)).stdout)


# --------------------------------------------------------------------------- parsing

def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


def first_useful_line(stderr: str, stdout: str = "") -> str:
    """The error message in containerlab's log noise: an ERRO/FATA/Error: line, else the first non-INFO line."""
    lines = [strip_ansi(line).strip() for line in (stderr or stdout).splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        match = ERROR_RE.search(line)
        if match:
            return next(g for g in match.groups() if g is not None).strip()
    quiet = [line for line in lines if not NOISE_RE.search(line)]
    return (quiet or lines or ["no output"])[0]


def parse_version(text: str) -> tuple[int, int, int]:
    """`containerlab version` (banner with `version: X.Y.Z`) or `version --short` output."""
    match = VERSION_RE.search(strip_ansi(text))
    if not match:
        raise LabError(f"cannot read the containerlab version from: {text.strip()[:200]!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def parse_inspect(text: str, lab: str | None = None) -> list[ClabNode]:
    """Both shapes: `{"containers": [...]}` (before 0.68) and `{"<lab>": [...]}` (0.68+)."""
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LabError(f"containerlab inspect printed something that is not JSON: {text[:120]!r}") from exc
    if isinstance(data, dict) and isinstance(data.get("containers"), list):
        entries = data["containers"]
    elif isinstance(data, dict):
        entries = [e for group in data.values() if isinstance(group, list) for e in group]
    else:
        raise LabError("containerlab inspect JSON is neither {'containers': [...]} nor {'<lab>': [...]}")
    nodes = [_inspect_entry(e) for e in entries if isinstance(e, dict) and e.get("name")]
    return [n for n in nodes if lab is None or n.lab == lab]


def _inspect_entry(entry: dict[str, Any]) -> ClabNode:
    container = str(entry.get("name", "")).lstrip("/")  # very old releases printed docker's "/name"
    lab = str(entry.get("lab_name", ""))
    return ClabNode(lab=lab, node=short_name(container, lab), container=container,
                    kind=str(entry.get("kind", "")), image=str(entry.get("image", "")),
                    state=str(entry.get("state", "")),
                    ipv4=_address(entry.get("ipv4_address")),
                    lab_path=str(entry.get("absLabPath") or entry.get("labPath") or ""))


def _address(value: Any) -> str:
    text = str(value or "")
    return "" if text.upper() in ("N/A", "NA") else text.split("/")[0]


def short_name(container: str, lab: str) -> str:
    """clab-<lab>-<node> (default prefix) or <lab>-<node> (prefix __lab-name) -> <node>."""
    for prefix in (f"clab-{lab}-", f"{lab}-"):
        if lab and container.startswith(prefix):
            return container[len(prefix):]
    return container


def parse_exec(text: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """`exec --format json`: {name: [{cmd, return-code, stdout, stderr}]} or the older {name: {stdout, stderr}}."""
    try:
        data = json.loads(text or "{}")
    except ValueError as exc:
        raise LabError(f"containerlab exec printed something that is not JSON: {text[:120]!r}") from exc
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    for name, value in data.items():
        runs = value if isinstance(value, list) else [value]
        if not runs or not isinstance(runs[-1], dict):
            continue
        last = runs[-1]
        # stdout that is itself JSON is embedded as an object by some releases
        out, err = (v if isinstance(v, str) else json.dumps(v)
                    for v in (last.get("stdout", ""), last.get("stderr", "")))
        code = int(last.get("return-code", 0))
        results[str(name).lstrip("/")] = subprocess.CompletedProcess(last.get("cmd", []), code, out, err)
    return results


# --------------------------------------------------------------------------- the runtime (same API as netns)

def _lab_file(lab: str) -> Path:
    return state_dir() / "labs" / lab / "clab.json"


def _remember(topo: Topology) -> None:
    path = _lab_file(topo.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"topology": str(topo.path)}))


def _topology_of(lab_or_topology: str | Path, client: ClabClient) -> tuple[str, Path | None]:
    """(lab name, topology file or None): a given file, the one remembered at up, or inspect's path."""
    text = str(lab_or_topology)
    if isinstance(lab_or_topology, Path) or text.endswith((".yml", ".yaml")) or "/" in text:
        topo = load_topology(lab_or_topology)
        return topo.name, topo.path
    try:
        return text, Path(json.loads(_lab_file(text).read_text())["topology"])
    except (OSError, ValueError, KeyError):
        pass
    paths = {n.lab_path for n in client.inspect(lab=text) if n.lab_path.startswith("/")}
    return text, (Path(paths.pop()) if len(paths) == 1 else None)


def up(topology_file: Path, progress: Progress | None = None, client: ClabClient | None = None) -> LabStatus:
    client = client or ClabClient()
    say = progress or (lambda _m: None)
    client.check_version()
    topo = load_topology(topology_file)
    say(f"containerlab deploy -t {topo.path}")
    client.deploy(topo.path)
    _remember(topo)
    return status(topo.path, client)


def down(lab_name_or_topology: str | Path, progress: Progress | None = None,
         client: ClabClient | None = None) -> None:
    client = client or ClabClient()
    say = progress or (lambda _m: None)
    lab, path = _topology_of(lab_name_or_topology, client)
    say(f"containerlab destroy {path or lab}")
    client.destroy(path, None if path else lab)
    _lab_file(lab).unlink(missing_ok=True)


def status(lab: str | Path, client: ClabClient | None = None) -> LabStatus:
    """Node states from inspect; BGP states from one `vtysh` exec on the nodes labelled hpnctl.frr=true."""
    client = client or ClabClient()
    name, path = _topology_of(lab, client)
    nodes = client.inspect(path, name)
    bgp: dict[str, dict[str, str]] = {}
    if path is not None and any(n.state == "running" for n in nodes):
        try:
            results = client.exec_labeled(path, ["vtysh", "-c", "show bgp summary json"], {"hpnctl.frr": "true"})
        except LabError:
            results = {}
        bgp = {short_name(k, name): parse_bgp_summary(r.stdout) for k, r in results.items() if r.returncode == 0}
    out = [NodeStatus(n.node, n.kind, n.ipv4, n.state == "running",
                      {"frr": True} if n.node in bgp else {}, bgp.get(n.node, {})) for n in nodes]
    return LabStatus(name, RUNTIME, out, _access(name, nodes))


def exec_in(lab: str | Path, node: str, argv: list[str],
            client: ClabClient | None = None) -> subprocess.CompletedProcess[str]:
    client = client or ClabClient()
    name, path = _topology_of(lab, client)
    if path is None:
        raise LabError(f"cannot find the topology file of containerlab lab {name}")
    return client.exec(path, node, argv)


def lab_access(lab: str | Path, client: ClabClient | None = None) -> dict[str, Any]:
    """containerlab nodes use their image's own credentials: no lab key or known_hosts."""
    client = client or ClabClient()
    name, path = _topology_of(lab, client)
    return _access(name, client.inspect(path, name))


def _access(lab: str, nodes: list[ClabNode]) -> dict[str, Any]:
    return {"key_file": None, "known_hosts": None, "ssh_config": None, "user": "root",
            "nodes": {n.node: n.ipv4 for n in nodes}}
