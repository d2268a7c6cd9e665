"""The built-in lab runtime: every node is a set of Linux namespaces running FRR and OpenSSH.

A node `X` of lab `L` is
- the named network namespace `clab-L-X` (`ip netns list`; the name containerlab gives the container),
- an anchor process holding a private mount, UTS and PID namespace inside it: `/etc/frr`,
  `/var/run/frr`, `/var/log`, `/etc/ssh`, `/root`, `/tmp`, `/etc/hostname` and `/etc/hosts`
  are bind mounts of the node's own directories under `<state_dir>/labs/L/nodes/X`,
- FRR started with its own init script (`frrinit.sh start`) and an OpenSSH server on the
  management address, both entered into those namespaces with `nsenter`.

Why mount namespaces rather than FRR's `-N` pathspaces / `watchfrr_options="--netns"`:
with its own /etc/frr and /var/run/frr a node is indistinguishable from a standalone
Linux+FRR switch over SSH: plain `vtysh`, `/etc/frr/frr.conf`, `frr-reload.py --reload
/etc/frr/frr.conf` work without namespace flags, which is what the drivers and verify
checks expect.  The PID namespace makes the anchor the node's init: killing the anchor
(or its `unshare --kill-child` parent) kills every process of the node, which is what
makes `down` reliable even after a crash.

Lab state lives in `<state_dir>/labs/L/`: state.json (written before each resource is
created, so `down` can undo a half-finished `up`), the lab SSH key, known_hosts and
ssh_config, a copy of the topology file and the per-node directories.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from hpnctl.errors import LabError
from hpnctl.lab.labfiles import IFNAME_RE, Node, Topology, load_topology
from hpnctl.lab.runtime import LabStatus, NodeStatus, Progress
from hpnctl.paths import state_dir

RUNTIME = "netns"
NOT_ROOT = ("the netns lab runtime needs root (it creates network namespaces): "
            "run as root or use --runtime containerlab")
FRRINIT = "/usr/lib/frr/frrinit.sh"
SSHD = "/usr/sbin/sshd"
TOOLS = ("ip", "nsenter", "unshare", "setsid", "ssh-keygen", "bash", "awk", "sysctl")
FRR_DAEMONS = ("watchfrr", "zebra", "bgpd", "staticd")
MARK = "hpnctl-lab"  # link alias `hpnctl-lab:<lab>` marks what a lab owns (lo of its netns, host links)
ANCHOR_TAG = "hpnctl-anchor"  # argv marker of the anchor processes
NODE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
SWITCH_SYSCTLS = (  # per network namespace
    "net.ipv4.ip_forward=1",
    "net.ipv6.conf.all.forwarding=1",
    "net.ipv4.fib_multipath_hash_policy=1",  # ECMP on L4 (5-tuple) hash, like a fabric switch
    "net.ipv4.conf.all.rp_filter=0",  # ECMP return paths are asymmetric
    "net.ipv4.conf.default.rp_filter=0",
)
# Node paths that are the node's own: node path -> directory under the node's state dir.
# /etc is an overlay (the host's /etc below, the node's dir on top): the node sees a full
# /etc, its own files win, and files the topology binds to new paths (/etc/hpnctl/qos.sh)
# need no mount point on the host.  The others are plain bind mounts.
PRIVATE_TREES = {"/etc": "etc", "/var/log": "var/log", "/root": "root", "/run": "run", "/tmp": "tmp"}
OPAQUE = ("etc/frr", "etc/ssh")  # hide the host's /etc/frr and /etc/ssh (its host keys) entirely
SSHD_CONFIG = """\
# sshd of hpnctl lab node {node} (lab {lab})
ListenAddress {ip}
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# Without PAM the node needs nothing from the host's PAM stack (loginuid, systemd sessions).
UsePAM no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
"""
DAEMONS_FILE = """\
# FRR daemons of hpnctl lab node {node}.
# The node has its own mount namespace, so /etc/frr and /var/run/frr are its own and
# FRR runs as on a standalone switch: no `-N` pathspace and no watchfrr_options="--netns"
# (that option is for one FRR managing several namespaces as VRFs).
bgpd=yes
bfdd={bfdd}
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
staticd_options="-A 127.0.0.1"
bfdd_options="   -A 127.0.0.1"
watchfrr_options=""
"""


# --------------------------------------------------------------------------- state

@dataclass
class NodeState:
    netns: str
    mgmt_ip: str
    kind: str
    frr: bool
    host_veth: str
    anchor_pid: int = 0  # the `unshare --kill-child` process: killing it kills the node
    init_pid: int = 0  # PID 1 of the node's PID namespace: the nsenter target
    exec_done: bool = False  # topology `exec` commands run once, on the first up


@dataclass
class LabState:
    lab: str
    topology: str
    bridge: str
    gateway: str  # "172.20.20.1/24"
    prefix: str = "clab"
    nodes: dict[str, NodeState] = field(default_factory=dict)
    resources: list[dict[str, str]] = field(default_factory=list)  # what up was about to create
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, kind: str, name: str) -> None:
        """Write the intent to create a resource before creating it (crash-safe down)."""
        with self._lock:
            entry = {"type": kind, "name": name}
            if entry not in self.resources:
                self.resources.append(entry)
        self.save()

    def save(self) -> None:
        with self._lock:
            data = {"lab": self.lab, "topology": self.topology, "bridge": self.bridge,
                    "gateway": self.gateway, "prefix": self.prefix,
                    "nodes": {n: asdict(s) for n, s in self.nodes.items()}, "resources": self.resources}
            path = lab_dir(self.lab) / "state.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(path)  # atomic: a crash never leaves half a state file


def lab_dir(lab: str) -> Path:
    return state_dir() / "labs" / lab


def _load_state(lab: str) -> LabState | None:
    """The saved state, or None when missing or unreadable (down then sweeps instead)."""
    try:
        data = json.loads((lab_dir(lab) / "state.json").read_text())
        nodes = {n: NodeState(**s) for n, s in data.pop("nodes").items()}
        return LabState(**data, nodes=nodes)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _sync_state(state: LabState | None, topo: Topology) -> LabState:
    """A new state, or the saved one with the nodes added to the topology since (they are created)."""
    if state is None:
        state = LabState(topo.name, str(topo.path), bridge_name(topo.mgmt_network),
                         f"{topo.mgmt_gateway}/{topo.mgmt_subnet.prefixlen}", topo.prefix)
    for node in topo.nodes.values():
        if node.name not in state.nodes:
            state.nodes[node.name] = NodeState(topo.node_ns(node.name), node.mgmt_ipv4, node.kind,
                                               node.runs_frr, host_veth_name(topo.name, node.name))
    state.save()
    return state


def bridge_name(network: str) -> str:
    """The mgmt network name when it is a valid interface name, else a stable hash of it."""
    if IFNAME_RE.match(network):
        return network
    return "hpbr" + hashlib.sha1(network.encode()).hexdigest()[:11]


def host_veth_name(lab: str, node: str) -> str:
    """Host end of a node's eth0: 15 chars at most, the same on every up."""
    return "hpn" + hashlib.sha1(f"{lab}/{node}".encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- public API

def up(topology_file: Path, progress: Progress | None = None) -> LabStatus:
    """Create (or complete) the lab of a clab topology file; running it again changes nothing."""
    _require_root()
    topo = load_topology(topology_file)
    _check_supported(topo)
    say = _sayer(progress)
    ldir = lab_dir(topo.name)
    ldir.mkdir(parents=True, exist_ok=True)
    ldir.chmod(0o700)  # holds the lab's private key
    state = _load_state(topo.name)
    if state is not None and state.topology != str(topo.path):
        raise LabError(f"lab {topo.name} is already up from {state.topology}: "
                       f"run `hpnctl lab down {topo.name}` first")
    state = _sync_state(state, topo)
    shutil.copyfile(topo.path, ldir / "topology.clab.yml")  # lets `down <name>` know the nodes
    _ensure_lab_key(ldir, topo.name)
    _ensure_bridge(state, topo)
    # Nodes are independent until they are wired: create them, then start their daemons, in
    # parallel (most of the time is spent waiting for short-lived tools and FRR's start-up).
    with ThreadPoolExecutor(max_workers=min(16, len(topo.nodes))) as pool:
        list(pool.map(lambda n: _create_node(state, topo, n, say), topo.nodes.values()))
        _ensure_wiring(state, topo)
        list(pool.map(lambda n: _start_services(state, n, say), topo.nodes.values()))
    _write_access_files(state)
    say(f"lab {topo.name}: {len(topo.nodes)} nodes up")
    return status(topo.name)


def down(lab_name_or_topology: str | Path, progress: Progress | None = None) -> None:
    """Remove every namespace, link and process of a lab, from its state file and by sweeping."""
    _require_root()
    lab, topo = _resolve(lab_name_or_topology)
    say = _sayer(progress)
    ldir = lab_dir(lab)
    state = _load_state(lab)
    namespaces = _lab_namespaces(lab, state, topo)
    inodes = {_inode(f"/run/netns/{ns}") for ns in namespaces} - {0}
    victims = [pid for pid in _pids() if _inode(f"/proc/{pid}/ns/net") in inodes or _is_anchor(pid, lab)]
    for pid in victims:  # killing an anchor kills its whole PID namespace (the node)
        _kill(pid)
    _wait_gone(victims, timeout=10)
    for ns in sorted(namespaces):
        say(f"{ns}: removing")
        _run(["ip", "netns", "del", ns], check=False)
    for link in _lab_host_links(lab, state):
        _run(["ip", "link", "del", link], check=False)
    shutil.rmtree(ldir, ignore_errors=True)
    say(f"lab {lab}: down")


def status(lab: str | Path) -> LabStatus:
    """Per node: running, frr/sshd alive, BGP session states, memory."""
    _require_root()
    state = _state_or_error(lab)
    table = _process_table()
    with ThreadPoolExecutor(max_workers=min(8, len(state.nodes) or 1)) as pool:
        nodes = list(pool.map(lambda n: _node_status(n, state.nodes[n], state.lab, table), state.nodes))
    return LabStatus(state.lab, RUNTIME, nodes, _access(state))


def exec_in(lab: str | Path, node: str, argv: list[str],
            timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
    """Run argv inside a node (its network, mount, UTS and PID namespaces)."""
    _require_root()
    state = _state_or_error(lab)
    if node not in state.nodes:
        raise LabError(f"lab {state.lab} has no node {node!r} (nodes: {', '.join(state.nodes)})")
    ns = state.nodes[node]
    if not _anchor_alive(ns, state.lab):
        raise LabError(f"node {node} of lab {state.lab} is not running: run `hpnctl lab up` again")
    return _nsenter(ns.init_pid, argv, timeout=timeout)


def node_pids(lab: str | Path) -> dict[str, list[int]]:
    """The host PIDs of each running node's processes (for memory figures and debugging)."""
    _require_root()
    state = _state_or_error(lab)
    table = _process_table()
    return {name: [p.pid for p in _node_procs(ns.init_pid, table)] if _anchor_alive(ns, state.lab) else []
            for name, ns in state.nodes.items()}


def lab_access(lab: str | Path) -> dict[str, Any]:
    """How drivers reach the nodes: key_file, known_hosts, ssh_config, user, nodes {name: mgmt_ip}."""
    return _access(_state_or_error(lab))


def _create_node(state: LabState, topo: Topology, node: Node, say: Progress) -> None:
    say(f"{node.name}: namespace {state.nodes[node.name].netns}")
    _ensure_netns(state, node)
    _prepare_node_dir(topo, node)
    _ensure_anchor(state, topo, node)


# --------------------------------------------------------------------------- checks and helpers

def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(NOT_ROOT)


def _check_supported(topo: Topology) -> None:
    other = [f"{n.name} ({n.kind})" for n in topo.nodes.values() if n.kind != "linux"]
    if other:
        raise LabError("the netns runtime only runs kind `linux` nodes (Linux + FRR); "
                       f"use --runtime containerlab for: {', '.join(other)}")
    if not IFNAME_RE.match(topo.prefix):
        raise LabError(f"prefix {topo.prefix!r}: the netns runtime needs a non-empty name prefix")
    missing = [t for t in TOOLS if not shutil.which(t)]
    missing += [p for p in (SSHD,) + ((FRRINIT,) if any(n.runs_frr for n in topo.nodes.values()) else ())
                if not os.access(p, os.X_OK)]
    if missing:
        raise LabError(f"missing on this host: {', '.join(missing)} "
                       "(apt-get install -y frr frr-pythontools openssh-server iproute2 util-linux)")


def _sayer(progress: Progress | None) -> Progress:
    """Progress is called from worker threads too: serialize the calls."""
    lock = threading.Lock()

    def say(message: str) -> None:
        if progress:
            with lock:
                progress(message)
    return say


def _resolve(lab_or_topology: str | Path) -> tuple[str, Topology | None]:
    """A lab name, or a topology file (then the lab name is read from it)."""
    text = str(lab_or_topology)
    if isinstance(lab_or_topology, Path) or text.endswith((".yml", ".yaml")) or os.sep in text:
        topo = load_topology(lab_or_topology)
        return topo.name, topo
    return text, None


def _state_or_error(lab: str | Path) -> LabState:
    name, _ = _resolve(lab)
    state = _load_state(name)
    if state is None:
        raise LabError(f"lab {name} is not up (no state in {lab_dir(name)})")
    return state


def _run(argv: list[str], check: bool = True, timeout: float = 60,
         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd="/", input=stdin)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]}: not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`{shlex.join(argv)}` did not finish within {timeout:.0f}s") from exc
    if check and done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(f"`{shlex.join(argv)}` failed (exit {done.returncode}): "
                       f"{reason[0] if reason else 'no output'}")
    return done


def _nsenter(init_pid: int, argv: list[str], check: bool = False,
             timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
    cmd = ["nsenter", "-t", str(init_pid), "--net", "--mount", "--uts", "--pid", "--", *argv]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/", env=NODE_ENV)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`{shlex.join(argv)}` in the node did not finish within {timeout}s") from exc
    if check and done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(f"`{shlex.join(argv)}` failed in the node (exit {done.returncode}): "
                       f"{lines[-1] if lines else 'no output'}")
    return subprocess.CompletedProcess(argv, done.returncode, done.stdout, done.stderr)


# --------------------------------------------------------------------------- /proc helpers

def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _is_anchor(pid: int, lab: str) -> bool:
    return f"\0{ANCHOR_TAG}\0{lab}\0".encode() in _cmdline(pid)


def _alive(pid: int) -> bool:
    """Exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_gone(pids: Iterable[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = list(pids)
    while pending and time.monotonic() < deadline:
        pending = [p for p in pending if _alive(p)]
        time.sleep(0.05)
    if pending:
        raise LabError(f"processes {pending} survived SIGKILL for {timeout}s")


def _anchor_alive(ns: NodeState, lab: str) -> bool:
    return ns.init_pid > 0 and _alive(ns.init_pid) and _is_anchor(ns.init_pid, lab)


@dataclass
class _Proc:
    pid: int
    comm: str
    rss_kib: int


def _process_table() -> dict[int, list[_Proc]]:
    """Processes grouped by PID-namespace inode: a node's PID namespace is the node."""
    table: dict[int, list[_Proc]] = {}
    for pid in _pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss = int(fields.get("VmRSS", "0 kB").split()[0])
        table.setdefault(_inode(f"/proc/{pid}/ns/pid"), []).append(_Proc(pid, fields["Name"].strip(), rss))
    return table


def _node_procs(init_pid: int, table: dict[int, list[_Proc]] | None = None) -> list[_Proc]:
    table = table if table is not None else _process_table()
    inode = _inode(f"/proc/{init_pid}/ns/pid")
    return table.get(inode, []) if inode else []


# --------------------------------------------------------------------------- lab resources

def _ensure_lab_key(ldir: Path, lab: str) -> None:
    key = ldir / "id_ed25519"
    if not key.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hpnctl-lab-{lab}", "-f", str(key)])


def _link_info(name: str, netns: str | None = None) -> dict[str, Any] | None:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-j", "link", "show", "dev", name]
    done = _run(argv, check=False)
    return json.loads(done.stdout)[0] if done.returncode == 0 and done.stdout.strip() else None


def _ensure_bridge(state: LabState, topo: Topology) -> None:
    """The mgmt bridge with the gateway address; refuse one that is not this lab's."""
    mark = f"{MARK}:{state.lab}"
    info = _link_info(state.bridge)
    if info is not None and info.get("ifalias") != mark:
        owner = info.get("ifalias") or "not created by hpnctl"
        raise LabError(f"mgmt bridge {state.bridge} (mgmt.network {topo.mgmt_network}) already exists "
                       f"({owner}): choose another mgmt network or bring that lab down")
    _check_subnet_free(state, topo)
    if info is None:
        state.record("bridge", state.bridge)
        _run(["ip", "link", "add", state.bridge, "type", "bridge"])
        _run(["ip", "link", "set", state.bridge, "alias", mark])
    _run(["ip", "addr", "replace", state.gateway, "dev", state.bridge])
    _run(["ip", "link", "set", state.bridge, "up"])


def _check_subnet_free(state: LabState, topo: Topology) -> None:
    """Two labs (or a host network) on one subnet would steal each other's traffic."""
    for iface in json.loads(_run(["ip", "-j", "-4", "addr", "show"]).stdout or "[]"):
        if iface.get("ifname") == state.bridge:
            continue
        for addr in iface.get("addr_info", []):
            if addr.get("local") and _in_subnet(addr["local"], topo):
                raise LabError(f"mgmt subnet {topo.mgmt_subnet} is already used on {iface['ifname']} "
                               f"({addr['local']}): set another mgmt.ipv4-subnet")


def _in_subnet(ip: str, topo: Topology) -> bool:
    return ipaddress.IPv4Address(ip) in topo.mgmt_subnet


def _netns_marker(ns: str) -> str | None:
    info = _link_info("lo", ns)
    return info.get("ifalias") if info else None


def _ensure_netns(state: LabState, node: Node) -> None:
    ns = state.nodes[node.name].netns
    mark = f"{MARK}:{state.lab}"
    if os.path.exists(f"/run/netns/{ns}"):
        owner = _netns_marker(ns)
        if owner != mark and {"type": "netns", "name": ns} not in state.resources:
            raise LabError(f"network namespace {ns} already exists and is not this lab's "
                           f"({owner or 'not created by hpnctl'})")
    else:
        state.record("netns", ns)
        _run(["ip", "netns", "add", ns])
    _run(["ip", "-n", ns, "link", "set", "lo", "alias", mark, "up"])  # ownership mark for down's sweep


def _link_names(netns: str | None = None) -> set[str]:
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-j", "link", "show"]
    return {link["ifname"] for link in json.loads(_run(argv).stdout or "[]")}


def _ensure_wiring(state: LabState, topo: Topology) -> None:
    """Veth pairs between nodes (created directly inside both namespaces) and each node's eth0
    into the mgmt bridge.  Missing ones are created by one `ip -batch`: hundreds of separate
    `ip` runs were most of the bring-up time."""
    present = {name: _link_names(ns.netns) for name, ns in state.nodes.items()}
    host = _link_names()
    stale: list[tuple[str | None, str]] = []  # half pairs left by a recreated namespace
    adds: list[str] = []
    for link in topo.links:
        ns_a, ns_b = state.nodes[link.a.node].netns, state.nodes[link.b.node].netns
        have_a, have_b = link.a.iface in present[link.a.node], link.b.iface in present[link.b.node]
        if have_a and have_b:
            continue
        stale += [(ns, ep.iface) for ns, ep, have in ((ns_a, link.a, have_a), (ns_b, link.b, have_b)) if have]
        state.record("veth", f"{link.a}--{link.b}")
        adds.append(f"link add {link.a.iface} netns {ns_a} mtu {link.mtu} type veth "
                    f"peer name {link.b.iface} netns {ns_b} mtu {link.mtu}")
    for name, ns in state.nodes.items():
        if "eth0" in present[name] and ns.host_veth in host:
            continue
        stale += [(ns.netns, "eth0")] * ("eth0" in present[name]) + [(None, ns.host_veth)] * (ns.host_veth in host)
        state.record("mgmt-veth", ns.host_veth)
        adds += [f"link add {ns.host_veth} type veth peer name eth0 netns {ns.netns}",
                 f"link set dev {ns.host_veth} alias {MARK}:{state.lab} master {state.bridge} up"]
    for netns_name, iface in stale:
        _run(["ip"] + (["-n", netns_name] if netns_name else []) + ["link", "del", iface], check=False)
    if adds:
        _run(["ip", "-batch", "-"], stdin="\n".join(adds) + "\n")
    plen = topo.mgmt_subnet.prefixlen
    for node in topo.nodes.values():
        ns = state.nodes[node.name]
        ifaces = [ep.iface for link in topo.links for ep in (link.a, link.b) if ep.node == node.name]
        cmds = [f"link set dev {iface} up" for iface in ifaces]
        cmds += [f"addr replace {ns.mgmt_ip}/{plen} dev eth0", "link set dev eth0 up"]
        _run(["ip", "-n", ns.netns, "-batch", "-"], stdin="\n".join(cmds) + "\n")


def _lab_namespaces(lab: str, state: LabState | None, topo: Topology | None) -> set[str]:
    """From the state, the topology (given or saved copy), and every namespace marked as this lab's."""
    names: set[str] = set()
    prefix = state.prefix if state else (topo.prefix if topo else "clab")
    if state:
        names |= {s.netns for s in state.nodes.values()}
        names |= {r["name"] for r in state.resources if r["type"] == "netns"}
    for t in (topo, _saved_topology(lab)):
        if t:
            names |= {t.node_ns(n) for n in t.nodes}
    mark = f"{MARK}:{lab}"
    try:
        present = set(os.listdir("/run/netns"))
    except OSError:
        present = set()
    swept = {ns for ns in present if ns.startswith(f"{prefix}-{lab}-") and _netns_marker(ns) == mark}
    # A known name may belong to another lab ("a" + node "b-c" vs lab "a-b" + node "c") or be
    # containerlab's link to a container's netns: only marked ones, or unmarked ones this lab
    # created (a crash between `ip netns add` and the marking).
    created = {r["name"] for r in (state.resources if state else []) if r["type"] == "netns"}
    known = {ns for ns in names & present if _netns_marker(ns) == mark or ns in created}
    return swept | known


def _saved_topology(lab: str) -> Topology | None:
    try:
        return load_topology(lab_dir(lab) / "topology.clab.yml")
    except LabError:
        return None


def _lab_host_links(lab: str, state: LabState | None) -> list[str]:
    """Host links recorded in the state or marked with the lab's alias (bridge, mgmt veths)."""
    recorded = {r["name"] for r in (state.resources if state else []) if r["type"] in ("bridge", "mgmt-veth")}
    present = json.loads(_run(["ip", "-j", "link", "show"]).stdout or "[]")
    mark = f"{MARK}:{lab}"
    return [i["ifname"] for i in present if i.get("ifalias") == mark or i["ifname"] in recorded]


# --------------------------------------------------------------------------- per-node files and anchor

def _node_dir(lab: str, node: str) -> Path:
    return lab_dir(lab) / "nodes" / node


def _private_path(target: str) -> str | None:
    """Where a node path lives in the node's dir, when it is inside one of the private trees."""
    if target.startswith("/var/run/"):
        target = target[len("/var"):]
    for root, rel in PRIVATE_TREES.items():
        if target == root or target.startswith(root + "/"):
            return rel + target[len(root):]
    return None


def _prepare_node_dir(topo: Topology, node: Node) -> None:
    """Create the node's own /etc/frr, /etc/ssh, /root ... once; later ups keep edits made in the node."""
    nd = _node_dir(topo.name, node.name)
    if (nd / ".prepared").exists():
        return
    for rel, mode in (("etc/frr", 0o750), ("etc/ssh", 0o755), ("var/log/frr", 0o750), ("run/frr", 0o755),
                      ("run/sshd", 0o755), ("root/.ssh", 0o700), ("tmp", 0o1777), (".overlay-work", 0o700)):
        (nd / rel).mkdir(parents=True, exist_ok=True)
        (nd / rel).chmod(mode)
    (nd / "root").chmod(0o700)
    for rel in OPAQUE:
        os.setxattr(nd / rel, "trusted.overlay.opaque", b"y")
    (nd / "etc/hostname").write_text(node.name + "\n")
    (nd / "etc/hosts").write_text(_hosts_file(topo, node))
    _copy_binds(nd, node)
    _ssh_files(topo, node, nd)
    if node.runs_frr:
        _frr_files(node, nd)
    (nd / ".prepared").touch()


def _hosts_file(topo: Topology, node: Node) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"{node.mgmt_ipv4}\t{node.name}"]
    lines += [f"{n.mgmt_ipv4}\t{n.name} {topo.node_ns(n.name)}" for n in topo.nodes.values() if n is not node]
    return "\n".join(lines) + "\n"


def _copy_binds(nd: Path, node: Node) -> None:
    """Binds are copied, not bind-mounted: FRR's `write memory` renames over /etc/frr/frr.conf."""
    for i, bind in enumerate(node.binds):
        rel = _private_path(bind.target) or f"binds/{i}"
        dest = nd / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if bind.source.is_dir():
            shutil.copytree(bind.source, dest, dirs_exist_ok=True)
        else:
            shutil.copyfile(bind.source, dest)


def _extra_binds(topo: Topology, node: Node) -> list[tuple[str, str, bool]]:
    """Binds outside the private trees are mounted over the target, which must exist on the host."""
    nd = _node_dir(topo.name, node.name)
    mounts = []
    for i, bind in enumerate(node.binds):
        if _private_path(bind.target) is not None:
            continue
        if not os.path.exists(bind.target) or os.path.isdir(bind.target) != bind.source.is_dir():
            raise LabError(f"{node.name}: bind target {bind.target} must exist on the host as a "
                           f"{'directory' if bind.source.is_dir() else 'file'} (the netns runtime mounts over it)")
        mounts.append((str(nd / f"binds/{i}"), bind.target, bind.mode == "ro"))
    return mounts


def _ssh_files(topo: Topology, node: Node, nd: Path) -> None:
    ssh = nd / "etc/ssh"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{node.name}",
          "-f", str(ssh / "ssh_host_ed25519_key")])
    for name in ("moduli", "ssh_config"):  # the opaque /etc/ssh hides the host's copies
        if Path("/etc/ssh", name).is_file():
            shutil.copyfile(Path("/etc/ssh", name), ssh / name)
    (ssh / "sshd_config").write_text(SSHD_CONFIG.format(node=node.name, lab=topo.name, ip=node.mgmt_ipv4))
    keys = nd / "root/.ssh/authorized_keys"
    keys.write_text((lab_dir(topo.name) / "id_ed25519.pub").read_text())
    keys.chmod(0o600)


def _frr_files(node: Node, nd: Path) -> None:
    etc = nd / "etc/frr"
    conf = etc / "frr.conf"
    if not conf.exists():
        conf.write_text(f"hostname {node.name}\nservice integrated-vtysh-config\n")
    if not (etc / "daemons").exists():
        bfdd = "yes" if "bfd" in conf.read_text() else "no"
        (etc / "daemons").write_text(DAEMONS_FILE.format(node=node.name, bfdd=bfdd))
    if not (etc / "vtysh.conf").exists():
        (etc / "vtysh.conf").write_text("service integrated-vtysh-config\n")
    bundle = Path("/etc/frr/support_bundle_commands.conf")  # for generate_support_bundle.py
    if bundle.is_file() and not (etc / bundle.name).exists():
        shutil.copyfile(bundle, etc / bundle.name)
    for path in [etc, *etc.rglob("*"), nd / "var/log/frr", nd / "run/frr"]:
        shutil.chown(path, "frr", "frr")
        if path.is_file():
            path.chmod(0o640)


def _anchor_script(topo: Topology, node: Node) -> str:
    """Shell run as PID 1 of the node: private mounts, hostname, sysctls, then wait forever (and reap)."""
    nd = _node_dir(topo.name, node.name)
    trees = [(str(nd / rel), target, False) for target, rel in PRIVATE_TREES.items() if target != "/etc"]
    # A tree holding the state dir (/tmp in tests, /root for ~/.local/state) is mounted last,
    # or the sources of the remaining mounts would be hidden under it.
    trees.sort(key=lambda m: str(nd).startswith(m[1] + "/"))
    q = shlex.quote
    lines = [
        "set -e",
        # Copies of other namespaces' nsfs mounts (/run/netns/*) would keep those namespaces
        # alive for as long as this node lives, even after their owner ran `ip netns del`.
        "awk '/ - nsfs /{print $5}' /proc/self/mountinfo | sort -r | "
        "while read -r m; do umount -l \"$m\" || true; done",
        # sysfs shows the devices of the netns that mounted it (what `ip netns exec` does too)
        "umount -l /sys && mount -t sysfs -o nosuid,nodev,noexec sysfs /sys",
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={q(str(nd / 'etc'))},"
        f"workdir={q(str(nd / '.overlay-work'))} /etc || "
        "{ echo 'cannot mount an overlay /etc: the state dir must be on ext4, xfs or tmpfs "
        "(set HPNCTL_STATE_DIR)' >&2; exit 1; }",
    ]
    for source, target, ro in _extra_binds(topo, node) + trees:
        lines.append(f"mount --bind {q(source)} {q(target)}")
        if ro:
            lines.append(f"mount -o remount,bind,ro {q(target)}")
    lines += [f"hostname {q(node.name)}", "ip link set lo up"]
    if node.is_switch:
        lines.append("sysctl -qw " + " ".join(SWITCH_SYSCTLS))
    lines += ["echo ready", "exec >/dev/null",
              # bash reaps the orphans re-parented to it while it waits: no zombies in the node
              "while :; do sleep infinity & wait $! || true; done"]
    return "\n".join(lines)


def _ensure_anchor(state: LabState, topo: Topology, node: Node) -> None:
    ns = state.nodes[node.name]
    if _anchor_alive(ns, state.lab):
        return
    state.record("anchor", node.name)
    script = _node_dir(state.lab, node.name) / "anchor.sh"
    script.write_text(_anchor_script(topo, node) + "\n")
    inner = ["nsenter", f"--net=/run/netns/{ns.netns}", "unshare", "--mount", "--uts", "--pid", "--fork",
             "--kill-child", "--mount-proc", "--propagation", "private",
             "bash", str(script), ANCHOR_TAG, state.lab, node.name]
    # `setsid -f` detaches the node from this process (it outlives `hpnctl lab up`); the shell
    # prints its PID, which exec turns into nsenter and then into `unshare`.
    argv = ["setsid", "-f", "sh", "-c", 'echo "$$"; exec "$@"', "sh", *inner]
    log = _node_dir(state.lab, node.name) / "anchor.log"
    with open(log, "ab") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                cwd="/", env=NODE_ENV)
    assert proc.stdout is not None
    lines = _read_lines(proc.stdout.fileno(), 2, timeout=20)
    proc.stdout.close()
    proc.wait()
    if len(lines) < 2 or lines[1] != "ready":
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise LabError(f"{node.name}: could not start the node's namespaces: {' | '.join(tail) or 'no output'}")
    ns.anchor_pid = int(lines[0])
    ns.init_pid = _first_child(ns.anchor_pid)
    state.save()


def _read_lines(fd: int, count: int, timeout: float) -> list[str]:
    data, deadline = b"", time.monotonic() + timeout
    while data.count(b"\n") < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").splitlines()


def _first_child(pid: int) -> int:
    for _ in range(100):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.01)
    raise LabError(f"the namespace anchor {pid} has no child process")


# --------------------------------------------------------------------------- services

def _start_services(state: LabState, node: Node, say: Progress) -> None:
    ns = state.nodes[node.name]
    names = {p.comm for p in _node_procs(ns.init_pid)}
    if node.runs_frr and not set(FRR_DAEMONS) <= names:
        say(f"{node.name}: starting FRR")
        _start_frr(ns, _node_dir(state.lab, node.name), restart=bool(names & set(FRR_DAEMONS)))
    if "sshd" not in names:
        say(f"{node.name}: starting sshd on {ns.mgmt_ip}")
        _nsenter(ns.init_pid, [SSHD, "-f", "/etc/ssh/sshd_config", "-E", "/var/log/sshd.log"], check=True)
    _wait_tcp(ns.mgmt_ip, 22, node.name, timeout=15)
    if not ns.exec_done:
        for command in node.exec:
            say(f"{node.name}: exec {command}")
            _nsenter(ns.init_pid, shlex.split(command), check=True)
        ns.exec_done = True
        state.save()
    say(f"{node.name}: ready")


def _start_frr(ns: NodeState, nd: Path, restart: bool) -> None:
    """frrinit.sh, as the switch's init would; wait until watchfrr has pushed frr.conf (vtysh -b)."""
    started = nd / "run/frr/watchfrr.started"
    started.unlink(missing_ok=True)
    _nsenter(ns.init_pid, [FRRINIT, "restart" if restart else "start"], check=True)
    deadline = time.monotonic() + 30
    while not started.exists():
        if time.monotonic() > deadline:
            raise LabError(f"FRR in {ns.netns} did not finish starting within 30s "
                           f"(see {nd / 'var/log/frr'})")
        time.sleep(0.1)



def _wait_tcp(ip: str, port: int, node: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((ip, port), timeout=1).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise LabError(f"{node}: sshd does not answer on {ip}:{port}: {exc}") from exc
            time.sleep(0.1)


def _write_access_files(state: LabState) -> None:
    ldir = lab_dir(state.lab)
    known, config = [], [f"# ssh access to the nodes of hpnctl lab {state.lab} (netns runtime)"]
    for name, ns in state.nodes.items():
        key = (_node_dir(state.lab, name) / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        known.append(f"{ns.mgmt_ip},{name},{ns.netns} {key[0]} {key[1]}")
        config += [f"Host {name} {ns.netns} {ns.mgmt_ip}", f"  HostName {ns.mgmt_ip}", "  User root",
                   f"  IdentityFile {ldir / 'id_ed25519'}", "  IdentitiesOnly yes",
                   f"  UserKnownHostsFile {ldir / 'known_hosts'}", "  GlobalKnownHostsFile /dev/null",
                   "  StrictHostKeyChecking yes", "  BatchMode yes", ""]
    (ldir / "known_hosts").write_text("\n".join(known) + "\n")
    (ldir / "ssh_config").write_text("\n".join(config))


def _access(state: LabState) -> dict[str, Any]:
    ldir = lab_dir(state.lab)
    return {"key_file": str(ldir / "id_ed25519"), "known_hosts": str(ldir / "known_hosts"),
            "ssh_config": str(ldir / "ssh_config"), "user": "root",
            "nodes": {name: ns.mgmt_ip for name, ns in state.nodes.items()}}


# --------------------------------------------------------------------------- status

def _node_status(name: str, ns: NodeState, lab: str, table: dict[int, list[_Proc]]) -> NodeStatus:
    running = _anchor_alive(ns, lab)
    procs = _node_procs(ns.init_pid, table) if running else []
    names = {p.comm for p in procs}
    processes = {"frr": set(FRR_DAEMONS) <= names} if ns.frr else {}
    processes["sshd"] = "sshd" in names
    bgp = _bgp_states(ns.init_pid) if processes.get("frr") else {}
    return NodeStatus(name, ns.kind, ns.mgmt_ip, running, processes, bgp, sum(p.rss_kib for p in procs))


def _bgp_states(init_pid: int) -> dict[str, str]:
    done = _nsenter(init_pid, ["vtysh", "-c", "show bgp summary json"], timeout=30)
    return parse_bgp_summary(done.stdout) if done.returncode == 0 else {}


def parse_bgp_summary(text: str) -> dict[str, str]:
    """Peer -> state from FRR's `show bgp summary json` (one block per address family)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    states: dict[str, str] = {}
    for family in data.values() if isinstance(data, dict) else []:
        for peer, info in (family.get("peers") or {}).items() if isinstance(family, dict) else []:
            states[peer] = str(info.get("state", "unknown"))
    return states
