"""Load a containerlab topology file and check the little the lab runtimes rely on.

This is not a schema validator (containerlab has its own JSON schema and
`containerlab validate`); it checks what would otherwise fail half-way through
`lab up`: node and link references, interface names, management addresses and
bind sources.  Every problem is collected and reported in one LabError.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hpnctl.errors import LabError

DEFAULT_MGMT_NETWORK = "clab"  # containerlab's defaults when `mgmt` is absent
DEFAULT_MGMT_SUBNET = "172.20.20.0/24"
DEFAULT_MTU = 9100  # containerlab's default veth MTU
LAB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
NODE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # Linux IFNAMSIZ is 16 with the NUL


@dataclass(frozen=True)
class Bind:
    source: Path  # absolute, on the host
    target: str  # absolute path inside the node
    mode: str = "rw"


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    image: str = ""
    mgmt_ipv4: str = ""  # always set after load (assigned when the file has none)
    labels: dict[str, str] = field(default_factory=dict)
    binds: tuple[Bind, ...] = ()
    exec: tuple[str, ...] = ()

    @property
    def role(self) -> str:
        return self.labels.get("hpnctl.role", "")

    @property
    def runs_frr(self) -> bool:
        """hpnctl.frr label; without it, a node runs FRR when something is bound into /etc/frr."""
        if "hpnctl.frr" in self.labels:
            return self.labels["hpnctl.frr"].lower() in ("true", "yes", "1")
        return any(b.target.startswith("/etc/frr/") for b in self.binds)

    @property
    def is_switch(self) -> bool:
        return self.runs_frr or self.role not in ("", "host")


@dataclass(frozen=True)
class Endpoint:
    node: str
    iface: str

    def __str__(self) -> str:
        return f"{self.node}:{self.iface}"


@dataclass(frozen=True)
class Link:
    a: Endpoint
    b: Endpoint
    mtu: int = DEFAULT_MTU


@dataclass(frozen=True)
class Topology:
    name: str
    path: Path  # absolute path of the topology file
    prefix: str
    mgmt_network: str
    mgmt_subnet: ipaddress.IPv4Network
    mgmt_gateway: ipaddress.IPv4Address
    nodes: dict[str, Node]
    links: tuple[Link, ...]

    def node_ns(self, node: str) -> str:
        """Container / namespace name, as containerlab names it."""
        return f"{self.prefix}-{self.name}-{node}"


def load_topology(path: Path | str) -> Topology:
    """Read a clab topology file; raise LabError listing every problem found."""
    path = Path(path).resolve()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise LabError(f"cannot read topology file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise LabError(f"{path}: not valid YAML: {exc}") from exc
    problems: list[str] = []
    topo = _build(data, path, problems)
    if problems or topo is None:
        raise LabError(f"{path}: invalid topology:\n  " + "\n  ".join(problems))
    return topo


def _build(data: Any, path: Path, problems: list[str]) -> Topology | None:
    if not isinstance(data, dict):
        problems.append("the file must be a mapping with `name` and `topology`")
        return None
    name = str(data.get("name") or "")
    if not LAB_NAME_RE.match(name):
        problems.append(f"name: {name!r} must be letters, digits, '-' or '_'")
    prefix = str(data.get("prefix", "clab"))
    topo = data.get("topology")
    if not isinstance(topo, dict) or not isinstance(topo.get("nodes"), dict) or not topo["nodes"]:
        problems.append("topology.nodes: at least one node is required")
        return None
    subnet, gateway = _mgmt(data.get("mgmt") or {}, problems)
    nodes = _nodes(topo, path.parent, problems)
    _assign_mgmt(nodes, subnet, gateway, problems)
    links = _links(topo.get("links") or [], nodes, problems)
    mgmt_network = str((data.get("mgmt") or {}).get("network") or DEFAULT_MGMT_NETWORK)
    return Topology(name, path, prefix, mgmt_network, subnet, gateway, nodes, tuple(links))


def _mgmt(mgmt: dict, problems: list[str]) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Address]:
    try:
        subnet = ipaddress.IPv4Network(str(mgmt.get("ipv4-subnet") or DEFAULT_MGMT_SUBNET))
    except ValueError as exc:
        problems.append(f"mgmt.ipv4-subnet: {exc}")
        subnet = ipaddress.IPv4Network(DEFAULT_MGMT_SUBNET)
    gateway = next(subnet.hosts())
    if mgmt.get("ipv4-gw"):
        try:
            gateway = ipaddress.IPv4Address(str(mgmt["ipv4-gw"]))
        except ValueError as exc:
            problems.append(f"mgmt.ipv4-gw: {exc}")
        if gateway not in subnet:
            problems.append(f"mgmt.ipv4-gw: {gateway} is not in {subnet}")
    return subnet, gateway


def _nodes(topo: dict, base: Path, problems: list[str]) -> dict[str, Node]:
    """Nodes with containerlab's inheritance: defaults < kinds.<kind> < node (binds are added up)."""
    defaults = topo.get("defaults") or {}
    kinds = topo.get("kinds") or {}
    nodes: dict[str, Node] = {}
    for name, raw in topo["nodes"].items():
        name, raw = str(name), raw or {}
        if not NODE_NAME_RE.match(name):
            problems.append(f"topology.nodes.{name}: invalid node name")
            continue
        kind = str(raw.get("kind") or defaults.get("kind") or "")
        if not kind:
            problems.append(f"topology.nodes.{name}: no kind (set it on the node or in topology.defaults)")
        layers = [defaults, kinds.get(kind) or {}, raw]
        labels = {str(k): _label(v) for layer in layers for k, v in (layer.get("labels") or {}).items()}
        where = f"topology.nodes.{name}"
        binds = [b for layer in layers for b in _binds(layer.get("binds") or [], base, where, problems)]
        execs = next((layer["exec"] for layer in reversed(layers) if layer.get("exec")), [])
        image = next((str(layer["image"]) for layer in reversed(layers) if layer.get("image")), "")
        nodes[name] = Node(name, kind, image, str(raw.get("mgmt-ipv4") or ""), labels, tuple(binds),
                           tuple(str(e) for e in execs))
    return nodes


def _label(value: Any) -> str:
    # YAML turns `true` into a bool; containerlab labels are strings.
    return str(value).lower() if isinstance(value, bool) else str(value)


def _binds(raw: list, base: Path, where: str, problems: list[str]) -> list[Bind]:
    binds = []
    for item in raw:
        parts = str(item).split(":")
        if len(parts) not in (2, 3) or not parts[1].startswith("/"):
            problems.append(f"{where}.binds: {item!r} must be 'source:/absolute/target[:ro]'")
            continue
        source = (base / parts[0]).resolve()
        if not source.exists():
            problems.append(f"{where}.binds: source {source} does not exist")
            continue
        binds.append(Bind(source, parts[1], parts[2] if len(parts) == 3 else "rw"))
    return binds


def _assign_mgmt(nodes: dict[str, Node], subnet: ipaddress.IPv4Network,
                 gateway: ipaddress.IPv4Address, problems: list[str]) -> None:
    """Check the given mgmt-ipv4 addresses; hand out free ones, in node order, to nodes without one."""
    used = {gateway}
    for node in nodes.values():
        if not node.mgmt_ipv4:
            continue
        try:
            ip = ipaddress.IPv4Address(node.mgmt_ipv4)
        except ValueError:
            problems.append(f"topology.nodes.{node.name}.mgmt-ipv4: {node.mgmt_ipv4!r} is not an IPv4 address")
            continue
        if ip not in subnet or ip in (subnet.network_address, subnet.broadcast_address):
            problems.append(f"topology.nodes.{node.name}.mgmt-ipv4: {ip} is not a host address of {subnet}")
        elif ip in used:
            problems.append(f"topology.nodes.{node.name}.mgmt-ipv4: {ip} is already used (gateway or another node)")
        used.add(ip)
    free = (ip for ip in subnet.hosts() if ip not in used)
    for name, node in list(nodes.items()):
        if not node.mgmt_ipv4:
            ip = next(free, None)
            if ip is None:
                problems.append(f"mgmt.ipv4-subnet: {subnet} has no free address left for {name}")
                continue
            nodes[name] = Node(node.name, node.kind, node.image, str(ip), node.labels, node.binds, node.exec)


def _links(raw: list, nodes: dict[str, Node], problems: list[str]) -> list[Link]:
    links: list[Link] = []
    seen: set[Endpoint] = set()
    for i, item in enumerate(raw):
        where = f"topology.links[{i}]"
        endpoints = [_endpoint(e) for e in (item or {}).get("endpoints") or []]
        if len(endpoints) != 2 or None in endpoints:
            problems.append(f"{where}.endpoints: need two endpoints 'node:interface'")
            continue
        for ep in endpoints:
            if ep.node not in nodes:
                problems.append(f"{where}: unknown node {ep.node!r}")
            if not IFNAME_RE.match(ep.iface) or ep.iface == "eth0":
                problems.append(f"{where}: interface {ep.iface!r} is invalid (max 15 chars; eth0 is management)")
            if ep in seen:
                problems.append(f"{where}: {ep} is used by another link")
            seen.add(ep)
        try:
            mtu = int(item.get("mtu", DEFAULT_MTU))
        except (TypeError, ValueError):
            problems.append(f"{where}.mtu: {item.get('mtu')!r} is not a number")
            mtu = DEFAULT_MTU
        links.append(Link(endpoints[0], endpoints[1], mtu))
    return links


def _endpoint(raw: Any) -> Endpoint | None:
    """'node:iface' (short form) or {node:, interface:} (containerlab's extended form)."""
    if isinstance(raw, dict):
        node, iface = raw.get("node"), raw.get("interface")
    else:
        node, _, iface = str(raw).partition(":")
    return Endpoint(str(node), str(iface)) if node and iface else None
