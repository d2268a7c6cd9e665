"""Choose the lab runtime: containerlab (real images) or the built-in netns runtime.

Both runtimes are modules with the same five functions (up, down, status,
exec_in, lab_access); `get_runtime` returns the module, typed as LabRuntime.
"""
from __future__ import annotations

import importlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, cast

from hpnctl.errors import LabError

Progress = Callable[[str], None]
RUNTIMES = ("auto", "containerlab", "netns")


@dataclass
class NodeStatus:
    name: str
    kind: str
    mgmt_ip: str
    running: bool  # the node exists (namespace anchor / container alive)
    processes: dict[str, bool] = field(default_factory=dict)  # e.g. {"frr": True, "sshd": True}
    bgp: dict[str, str] = field(default_factory=dict)  # peer -> state ("Established", "Active", ...)
    rss_kib: int = 0  # memory of the node's processes (netns runtime only)

    @property
    def ok(self) -> bool:
        return self.running and all(self.processes.values())


@dataclass
class LabStatus:
    lab: str
    runtime: str
    nodes: list[NodeStatus]
    access: dict[str, Any] = field(default_factory=dict)  # see lab_access()

    @property
    def bgp_established(self) -> bool:
        """Every BGP session of every node is Established (and there is at least one)."""
        states = [s for n in self.nodes for s in n.bgp.values()]
        return bool(states) and all(s == "Established" for s in states)


class LabRuntime(Protocol):
    def up(self, topology_file: Path, progress: Progress | None = None) -> LabStatus: ...

    def down(self, lab_name_or_topology: str | Path, progress: Progress | None = None) -> None: ...

    def status(self, lab: str | Path) -> LabStatus: ...

    def exec_in(self, lab: str | Path, node: str, argv: list[str]) -> subprocess.CompletedProcess[str]: ...

    def lab_access(self, lab: str | Path) -> dict[str, Any]: ...


def get_runtime(name: str = "auto") -> LabRuntime:
    """`auto` = containerlab when it is on PATH and a docker engine answers, else netns."""
    if name not in RUNTIMES:
        raise LabError(f"unknown lab runtime {name!r}: choose one of {', '.join(RUNTIMES)}")
    if name == "auto":
        name = "containerlab" if shutil.which("containerlab") and docker_engine_answers() else "netns"
    module = "hpnctl.lab.clab_client" if name == "containerlab" else "hpnctl.lab.netns"
    # Modules satisfy the Protocol structurally; imported lazily so that the
    # runtimes can import the status types above without a cycle.
    return cast(LabRuntime, importlib.import_module(module))


def docker_engine_answers(timeout: float = 5.0) -> bool:
    """A docker client alone is not enough: the daemon must answer."""
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())
