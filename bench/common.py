"""Shared pieces of the benchmarks: the N-switch fabric, a measured run, EOS config content, results.

The fabric (`Shape`) is a 3-tier Clos built from identical pods: every pod has
`spines` spines and `leaves` leaves (each leaf uplinks to every spine of its
pod), and every spine uplinks to each of the `super_spines` super-spines.  With
the default pod (4 spines + 28 leaves, 4 super-spines) N = 4 + 32·pods, so
N = 100 is exact and 1,000 / 5,000 are 996 / 4,996.  Every switch has a bounded
port count at any N (a 2-tier fabric would give a 5,000-switch fabric spines with
~5,000 ports), so time per device can stay flat.

Each benchmark runs every tool as a separate process (`run_measured`): wall time
from the parent; peak memory two ways: the largest single process (ru_maxrss
from wait4 on the child, which covers its waited-for descendants) and the whole
process tree (the sum of every process's RSS, sampled every 50 ms from /proc:
an upper bound, since forked workers share pages with their parent).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
HPNCTL = [sys.executable, "-c", "from hpnctl.cli import main; main()"]

# ---------------------------------------------------------------- the fabric


@dataclass(frozen=True)
class Shape:
    pods: int  # per plane
    spines: int = 4  # per pod
    leaves: int = 28  # per pod
    super_spines: int = 4  # per plane
    planes: int = 1  # independent copies of the 3-tier fabric (hpnctl's generator `planes`)

    @property
    def n(self) -> int:
        return self.planes * (self.super_spines + self.pods * (self.spines + self.leaves))


def shape_for(n: int, pod: str | None = None, max_pods_per_plane: int | None = None) -> Shape:
    """The fabric closest to n switches (at least one pod); pod = "SPINES,LEAVES,SUPER_SPINES" (default 4,28,4).

    With max_pods_per_plane, the pods are spread over planes so that a super-spine has at
    most max_pods_per_plane × spines ports (SONiC checks PFC headroom against the ASIC
    buffer: a 624-port super-spine does not fit a Tomahawk)."""
    s, l, ss = (int(x) for x in (pod or "4,28,4").split(","))
    pods = max(1, round((n - ss) / (s + l)))
    planes = 1 if not max_pods_per_plane else -(-pods // max_pods_per_plane)
    if planes > 1:
        pods = max(1, round((n / planes - ss) / (s + l)))
    return Shape(pods=pods, spines=s, leaves=l, super_spines=ss, planes=planes)


@dataclass(frozen=True)
class Node:
    """One switch as every tool sees it (hpnctl derives the same facts from the intent)."""

    name: str
    role: str  # leaf | spine | super-spine
    pod: int  # 0 for super-spines
    local_id: int  # 1-based index among its role in its pod (super-spines: in the fabric)
    index: int  # 0-based position in generation order (loopback / management address offset)
    asn: int
    uplinks: list[tuple[str, str, str]] = field(default_factory=list)  # (local interface, peer, peer interface)


LOOPBACKS = "10.0.0.0/16"
P2P = "10.64.0.0/14"
MGMT = "10.240.0.0/16"
MGMT_FIRST = 11  # hpnctl's default first_host
ASN_BASE = 4_200_000_000
MTU = 9100
SPEED = "400G"


def eth(port: int) -> str:
    """hpnctl's EOS name of physical port `port` (no breakout)."""
    return f"Ethernet{port}/1"


def nodes(shape: Shape) -> list[Node]:
    """Every switch in hpnctl's generation order, with its ASN (RFC 7938) and its uplinks.

    The order is the one hpnctl's generator uses (super-spines, then per pod: spines,
    then leaves), which fixes loopbacks, management addresses and ASNs.  Port numbers
    follow hpnctl's allocation: a leaf's uplinks are ports 1..spines; a spine's
    downlinks are ports 1..leaves, its uplinks the next super_spines ports; a
    super-spine's downlinks come in (pod, spine) order.
    """
    if shape.planes != 1:
        raise ValueError("nodes() describes single-plane fabrics (what the AVD and netlab inputs are built from)")
    s, l, ss = shape.spines, shape.leaves, shape.super_spines
    out: list[Node] = []
    supers = [Node(f"ss{k}", "super-spine", 0, k, k - 1, ASN_BASE) for k in range(1, ss + 1)]
    out += supers
    asn = ASN_BASE + 1
    for pod in range(1, shape.pods + 1):
        spines = []
        for j in range(1, s + 1):
            n = (pod - 1) * s + j
            ups = [(eth(l + k), f"ss{k}", eth(n)) for k in range(1, ss + 1)]
            spines.append(Node(f"spine{n}", "spine", pod, j, len(out) + j - 1, asn, ups))
        out += spines
        asn += 1
        for i in range(1, l + 1):
            n = (pod - 1) * l + i
            ups = [(eth(j), spines[j - 1].name, eth(i)) for j in range(1, s + 1)]
            out.append(Node(f"leaf{n}", "leaf", pod, i, len(out), asn, ups))
            asn += 1
    return out


def pod_p2p_base(shape: Shape, pod: int) -> int:
    """Index (in /31s from the start of P2P) of the first link of a pod.

    hpnctl numbers links in generation order: per pod, the leaf→spine links (leaf by
    leaf, spine by spine), then the spine→super-spine links."""
    per_pod = shape.leaves * shape.spines + shape.spines * shape.super_spines
    return (pod - 1) * per_pod


# RoCE QoS: one lossless class with ECN on DWRR, CNP strict, the rest best effort.
ROCE_QOS = {
    "classes": {
        "roce": {"dscp": [26], "tc": 3, "scheduler": "95%", "lossless": True,
                 "ecn": {"kmin": "256KB", "kmax": "1024KB", "pmax": "20%"}},
        "cnp": {"dscp": [48], "tc": 6, "scheduler": "strict"},
        "default": {"dscp": "default", "tc": 0, "scheduler": "5%"},
    },
}
# Routing-only fabrics still need one class (the schema requires it): everything best effort.
BEST_EFFORT_QOS = {"classes": {"default": {"dscp": "default", "tc": 0, "scheduler": "100%"}},
                   "pfc": {"watchdog": {"enabled": False}}}


def hpnctl_intent(shape: Shape, leaf: str = "eos", spine: str = "eos", qos: dict | None = None,
                  name: str = "bench") -> dict:
    """The hpnctl intent of the fabric (leaf / spine+super-spine platforms)."""
    return {
        "fabric": {"name": name, "mtu": MTU},
        "management": {"pool": MGMT},
        "platforms": {"leaf": leaf, "spine": spine, "super-spine": spine},
        "networks": {"fabric": {
            "topology": {"generator": {
                "planes": shape.planes, "pods": shape.pods, "rails": 1, "leaf_groups": shape.leaves, "spines": shape.spines,
                "super_spines": shape.super_spines, "hosts_per_group": 0,
                "speeds": {"leaf_spine": SPEED, "spine_super_spine": SPEED},
                "naming": {"leaf": "leaf{n}", "spine": "spine{n}", "super_spine": "ss{n}"},
            }},
            "addressing": {"loopbacks": LOOPBACKS, "p2p": P2P},
            "routing": {"bgp": {"asn_range": f"{ASN_BASE}-{ASN_BASE + 999_999}"}},
            "qos": qos if qos is not None else ROCE_QOS,
        }},
    }


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=200))
    return path


# ---------------------------------------------------------------- measuring a run


@dataclass
class Run:
    argv: list[str]
    wall_s: float
    maxrss_mib: float  # largest single process of the tree (wait4 rusage)
    tree_rss_mib: float  # peak of the summed RSS of the process tree (sampled; shared pages count in each process)
    stdout: str
    stderr: str
    returncode: int
    steps: dict[str, float] = field(default_factory=dict)  # wall s of the steps of a multi-step run


def _tree_pids(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kib(pid: int) -> int:
    """Resident set of one process from /proc/PID/statm (cheap: smaps_rollup would walk the page
    tables and stall the measured process)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def run_measured(argv: list[str], cwd: Path | None = None, env: dict | None = None,
                 timeout: float | None = None) -> Run:
    """Run argv to completion; wall time, peak RSS of the largest process and of the tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_tree = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not stop.is_set():
            peak_tree = max(peak_tree, sum(_rss_kib(p) for p in _tree_pids(proc.pid)))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out: list[str] = []
    # Read pipes in threads so a chatty child never blocks; reap with wait4 for its own rusage.
    readers = [threading.Thread(target=lambda s=s: out.append((s.name, s.read())), daemon=True)
               for s in (proc.stdout, proc.stderr)]
    for t in readers:
        t.start()
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            proc.kill()
        time.sleep(0.01)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    for t in readers:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    texts = {name: text for name, text in out}
    return Run(argv, wall, usage.ru_maxrss / 1024, peak_tree / 1024,
               texts.get(proc.stdout.name, ""), texts.get(proc.stderr.name, ""), proc.returncode)


def best_of(runs: int, once: Callable[[], Run]) -> tuple[Run, list[Run]]:
    """Run `once` `runs` times; the fastest run, and all of them (memory: the max over runs)."""
    all_runs = [once() for _ in range(runs)]
    for r in all_runs:
        if r.returncode != 0:
            raise RuntimeError(f"{shlex.join(r.argv)} exited {r.returncode}:\n{r.stderr[-3000:]}")
    return min(all_runs, key=lambda r: r.wall_s), all_runs


def peak_mib(runs: list[Run]) -> tuple[float, float]:
    return max(r.maxrss_mib for r in runs), max(r.tree_rss_mib for r in runs)


# ---------------------------------------------------------------- reporting


def load_average() -> str:
    return "load average %.2f, %.2f, %.2f" % os.getloadavg()


def machine_line() -> str:
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return (f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
            f"hpnctl @ {commit} · {time.strftime('%Y-%m-%d %H:%M')}")


class Report:
    """Prints lines and, with `save`, writes them to bench/results/<name>.txt under the command."""

    def __init__(self, name: str, save: bool = True) -> None:
        self.name = name
        self.save = save
        self.lines: list[str] = [f"$ {shlex.join(['python', *map(_rel, sys.argv)])}", machine_line()]
        for line in self.lines:
            print(line, flush=True)

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        fmt = "  ".join("{:>%d}" % w for w in widths)
        self(fmt.format(*header))
        for row in rows:
            self(fmt.format(*map(str, row)))

    def write(self) -> Path | None:
        if not self.save:
            return None
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.txt"
        path.write_text("\n".join(self.lines) + "\n")
        print(f"written to {_rel(str(path))}")
        return path


def _rel(arg: str) -> str:
    try:
        return str(Path(arg).resolve().relative_to(REPO))
    except ValueError:
        return arg


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"


# ---------------------------------------------------------------- EOS config content


def eos_tree(text: str) -> list[tuple[str, list]]:
    """EOS CLI text → [(line, children)] by 3-space indentation; '!' separators dropped."""
    root: list[tuple[str, list]] = []
    stack: list[tuple[int, list]] = [(-1, root)]
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!":
            continue
        indent = len(line) - len(line.lstrip(" "))
        while stack[-1][0] >= indent:
            stack.pop()
        node: tuple[str, list] = (line.strip(), [])
        stack[-1][1].append(node)
        stack.append((indent, node[1]))
    return root


def _flatten(children: list) -> list[str]:
    out = []
    for line, sub in children:
        out.append(line)
        out += ["  " + x for x in _flatten(sub)]
    return out


def _subnet31(ip: str) -> str:
    a, b, c, d = (int(x) for x in ip.split("/")[0].split("."))
    return f"{a}.{b}.{c}.{d & ~1}/31"


_PEER = re.compile(r"(?:(?:uplink|downlink) to |P2P_)?(?P<peer>[A-Za-z0-9.-]+)[:_](?P<intf>\S+)$")


def _peer(description: str) -> tuple[str, str]:
    """(peer device, peer interface) from hpnctl's 'uplink to X:Y' or AVD's 'P2P_X_Y' / 'X_Y';
    (description, "") for anything else."""
    m = _PEER.match(description)
    return (m["peer"], m["intf"]) if m else (description, "")


def eos_content(text: str) -> dict:
    """What the comparison looks at, normalised so that equal designs give equal dicts.

    Interfaces: routed /31 (as its subnet: AVD puts the child end on the odd address,
    hpnctl on the even one), peer device and interface, MTU, speed, service profile.
    BGP: ASN, router-id, ECMP, timers, and every neighbour as (link subnet, peer ASN,
    peer device).  QoS: every line of every qos profile, the qos maps and the global
    PFC watchdog lines, verbatim.
    """
    content: dict = {"ethernet": {}, "qos_profiles": {}, "qos_maps": [], "pfc": [], "bgp": {}}
    local_ips: dict[str, str] = {}  # /31 → this device's address in it
    bgp_block = None
    for line, children in eos_tree(text):
        kids = [c for c, _ in children]
        if line.startswith("hostname "):
            content["hostname"] = line.split()[1]
        elif line.startswith("interface Ethernet"):
            itf: dict = {"routed": "no switchport" in kids}
            for k in kids:
                word, _, rest = k.partition(" ")
                if word == "description":
                    itf["peer"] = _peer(rest)
                elif word == "ip" and rest.startswith("address "):
                    itf["subnet"] = _subnet31(rest.split()[1])
                    local_ips[itf["subnet"]] = rest.split()[1].split("/")[0]
                elif word in ("mtu", "speed", "service-profile"):
                    itf[word] = rest
            content["ethernet"][line.split()[1]] = itf
        elif line == "interface defaults":  # netlab sets the MTU of every interface here
            content["default_mtu"] = next((k.split()[1] for k in kids if k.startswith("mtu ")), None)
        elif line == "interface Loopback0":
            content["loopback0"] = next((k.split()[2] for k in kids if k.startswith("ip address ")), None)
        elif line.startswith("interface Management"):
            content["mgmt"] = next((k.split()[2] for k in kids if k.startswith("ip address ")), None)
        elif line.startswith("qos profile "):
            content["qos_profiles"][line.split()[2]] = _flatten(children)
        elif line.startswith("qos map "):
            content["qos_maps"].append(line)
        elif line.startswith("priority-flow-control "):
            content["pfc"].append(line)
        elif line.startswith("router bgp "):
            bgp_block = (line, children)
    if bgp_block:
        content["bgp"] = _bgp_content(*bgp_block, content.get("loopback0"), local_ips)
    return content


def _bgp_content(line: str, children: list, loopback: str | None, local_ips: dict[str, str]) -> dict:
    bgp: dict = {"asn": line.split()[2], "neighbors": {}, "settings": []}
    flat = _flatten(children)
    for k in flat:
        parts = k.split()
        if k.startswith("router-id "):
            bgp["router_id"] = parts[1]
        elif k.startswith(("maximum-paths ", "timers bgp ", "bgp bestpath ")):
            bgp["settings"].append(k)
        elif k.startswith("neighbor ") and re.match(r"\d", parts[1]):
            subnet = _subnet31(parts[1])
            # The neighbour must be the far end of one of this device's links.
            nb = bgp["neighbors"].setdefault(subnet, {"far_end": local_ips.get(subnet) not in (None, parts[1])})
            if parts[2] == "remote-as":
                nb["remote_as"] = parts[3]
            elif parts[2] == "description":
                nb["peer"] = _peer(parts[3])[0]
    bgp["settings"].sort()
    # hpnctl originates its loopback with `network`, AVD with `redistribute connected`
    # (which covers Loopback0): the same advertisement, two spellings.
    bgp["advertises_loopback"] = (loopback is not None and any(k.strip() == f"network {loopback}" for k in flat)) \
        or any(k.strip() == "redistribute connected" for k in flat)
    return bgp


def compare_content(a: dict, b: dict, path: str = "") -> list[str]:
    """Differences between two content dicts, as 'path: a != b' lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}/{key}: only in {'second' if key not in a else 'first'} "
                           f"({b.get(key) if key not in a else a.get(key)!r})")
            else:
                out += compare_content(a[key], b[key], f"{path}/{key}")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


# ---------------------------------------------------------------- tree diff baseline


def tree_hashes(root: Path) -> dict[str, str]:
    """relative file path → sha256, for every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def json_dumps(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
