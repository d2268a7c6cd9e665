"""containerlab topology from the fabric: nodes, links, management addresses and startup configs.

The same file is deployed by containerlab or by hpnctl's netns runtime.  Node
management addresses are the intent's, so `hpnctl apply` reaches lab nodes with
no extra inventory.  Linux+FRR nodes get their rendered files bind-mounted at
the standard paths; vendor nodes get `startup-config`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from hpnctl.design import Fabric
from hpnctl.design.fabric import Device
from hpnctl.hosts.lab import NAMESPACE_SCRIPTS
from hpnctl.hosts.lab import TARGET_DIR as HOST_TARGET_DIR
from hpnctl.errors import LabError
from hpnctl.intent import LoadedIntent
from hpnctl.platforms import get_platform
from hpnctl.render import render_fabric

# Where the linux platform's files live inside a node.
LINUX_FILE_TARGETS = {
    "frr.conf": "/etc/frr/frr.conf",
    "qos.sh": "/etc/hpnctl/qos.sh",
    "sysctl.conf": "/etc/sysctl.d/90-hpnctl.conf",
}
LINUX_EXEC = ["sysctl -q -p /etc/sysctl.d/90-hpnctl.conf", "sh /etc/hpnctl/qos.sh"]
# Scale-down keeps this much of every repeated pattern.
KEEP = {"planes": 2, "pods": 2, "spines": 2, "super_spines": 2, "leaf_groups": 2, "rails": 2, "hosts": 1}


@dataclass
class LabTopology:
    name: str
    path: Path  # the .clab.yml
    data: dict
    nodes: list[str]


def lab_name(fabric: Fabric) -> str:
    return fabric.name


def scale_down(fabric: Fabric) -> set[str]:
    """Names kept by --scale-down: a small slice with every role/plane pattern (and ECMP) still present."""
    kept: set[str] = set()
    spine_rank: dict[tuple, list[str]] = {}
    ss_rank: dict[tuple, list[str]] = {}
    for d in fabric.switches():
        if d.plane > KEEP["planes"] or d.pod > KEEP["pods"]:
            continue
        if d.role == "leaf" and d.group <= KEEP["leaf_groups"] and d.rail <= KEEP["rails"]:
            kept.add(d.name)
        elif d.role == "spine":
            spine_rank.setdefault((d.network, d.plane, d.pod), []).append(d.name)
        elif d.role == "super-spine":
            ss_rank.setdefault((d.network, d.plane), []).append(d.name)
    for names in list(spine_rank.values()) + list(ss_rank.values()):
        kept.update(names[: KEEP["spines"]])
    explicit = [d.name for d in fabric.switches() if d.group == 0 and d.role == "leaf"]
    kept.update(explicit)  # explicit leaves have no group: keep them
    hosts_per_leaf: dict[str, int] = {}
    for d in fabric.hosts():
        leaves = [i.peer for i in d.interfaces if i.peer in kept]
        if leaves and all(hosts_per_leaf.get(leaf, 0) < KEEP["hosts"] for leaf in leaves):
            kept.add(d.name)
            for leaf in leaves:
                hosts_per_leaf[leaf] = hosts_per_leaf.get(leaf, 0) + 1
    return kept


def select_lab_devices(fabric: Fabric, limit: str | None, scale: bool) -> set[str]:
    import fnmatch

    names = set(fabric.devices)
    if scale:
        names = scale_down(fabric)
    if limit:
        pats = [p.strip() for p in limit.split(",") if p.strip()]
        chosen = {n for n in names if any(fnmatch.fnmatchcase(n, p) or fabric.devices[n].role == p for p in pats)}
        # hosts follow their leaves unless named
        chosen |= {h.name for h in fabric.hosts() if h.name in names and any(i.peer in chosen for i in h.interfaces)}
        names = chosen
    return names


def build_topology(loaded: LoadedIntent, fabric: Fabric, out_dir: Path, limit: str | None = None,
                   scale: bool = False, templates_dir: Path | None = None) -> LabTopology:
    """Write <out_dir>/<name>.clab.yml and the rendered configs of its nodes under <out_dir>/<node>/."""
    selected = select_lab_devices(fabric, limit, scale)
    if not selected:
        raise LabError("the lab selection is empty (check --limit)")
    out_dir.mkdir(parents=True, exist_ok=True)
    switches = [d.name for d in fabric.switches() if d.name in selected]
    if switches:
        render_fabric(loaded, fabric, out_dir, limit=",".join(switches), templates_dir=templates_dir)
    hosts = [d.name for d in fabric.hosts() if d.name in selected]
    host_files: dict[str, list[str]] = {}
    if hosts:
        from hpnctl.hosts.render import render_hosts

        manifest = render_hosts(loaded, fabric, out_dir, limit=",".join(hosts), templates_dir=templates_dir)
        host_files = {h["host"]: [f["name"] for f in h["files"]] for h in manifest["hosts"]}
    lab = loaded.intent.lab
    name = lab_name(fabric)
    nodes: dict[str, dict] = {}
    kinds: dict[str, dict] = {}
    endpoint_of: dict[tuple[str, str], str] = {}
    for dev in fabric.devices.values():
        if dev.name not in selected:
            continue
        node, kind, image = _node(dev, lab, host_files.get(dev.name, []))
        nodes[dev.name] = node
        kinds.setdefault(kind, {"image": image})
        for index, itf in enumerate(_ports(dev), start=1):
            endpoint_of[(dev.name, itf.name)] = _endpoint(dev, itf, index)
    links = []
    for lk in fabric.links:
        if lk.a in selected and lk.b in selected:
            links.append({"endpoints": [f"{lk.a}:{endpoint_of[(lk.a, lk.a_if)]}", f"{lk.b}:{endpoint_of[(lk.b, lk.b_if)]}"]})
    mgmt = loaded.intent.management
    data = {
        "name": name,
        "mgmt": {"network": f"hpnctl-{name}"[:15], "ipv4-subnet": str(mgmt.pool), "ipv4-gw": fabric.mgmt_gateway},
        "topology": {"kinds": kinds, "nodes": nodes, "links": links},
    }
    path = out_dir / f"{name}.clab.yml"
    header = f"# containerlab topology of fabric {name}, generated by hpnctl from {loaded.source}\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=200))
    return LabTopology(name, path, data, sorted(nodes))


def _ports(dev: Device) -> list:
    return sorted(dev.interfaces, key=lambda i: (i.port, i.name))


def _endpoint(dev: Device, itf, index: int) -> str:
    if not dev.is_switch:
        return itf.name
    pattern = get_platform(dev.platform).clab.get("endpoint", "eth{index}")
    return pattern.format(name=itf.name, index=index, port=itf.port)


def _node(dev: Device, lab, host_files: list[str]) -> tuple[dict, str, str]:
    labels = {"hpnctl.role": dev.role, "hpnctl.platform": dev.platform, "hpnctl.network": dev.network,
              "hpnctl.frr": "true" if dev.platform == "linux" else "false"}
    if not dev.is_switch:
        kind = lab.kinds.get("host", "linux")
        image = lab.images.get("host", lab.host_image)
        node = {"kind": kind, "image": image, "mgmt-ipv4": dev.mgmt_ip, "labels": labels}
        if host_files:
            # What a lab host can take of its rendered files (hpnctl/hosts/lab.py): the marking
            # environment, the kernel's DSCP classification, the KV-cache interface.
            node["binds"] = [f"{dev.name}/{f}:{HOST_TARGET_DIR}/{f}" for f in host_files]
        node["exec"] = _host_exec(dev) + [f"sh {HOST_TARGET_DIR}/{s}" for s in NAMESPACE_SCRIPTS if s in host_files]
        return node, kind, image
    clab = get_platform(dev.platform).clab
    kind = lab.kinds.get(dev.role) or lab.kinds.get(dev.platform) or clab["kind"]
    image = lab.images.get(dev.role) or lab.images.get(dev.platform) or clab["image"]
    node = {"kind": kind, "image": image, "mgmt-ipv4": dev.mgmt_ip, "labels": labels}
    files = get_platform(dev.platform).files
    if dev.platform == "linux":
        node["binds"] = [f"{dev.name}/{f}:{LINUX_FILE_TARGETS[f]}" for f in files]
        node["exec"] = list(LINUX_EXEC)
    else:
        node["startup-config"] = f"{dev.name}/{files[0]}"
    return node, kind, image


def _host_exec(dev: Device) -> list[str]:
    """Addresses and routes of a lab host: each NIC its /31, default route via the first NIC's leaf."""
    cmds = []
    for itf in sorted(dev.interfaces, key=lambda i: i.port):
        if not itf.ip:
            continue
        cmds.append(f"ip link set {itf.name} mtu {itf.mtu}")
        cmds.append(f"ip addr replace {itf.ip} dev {itf.name}")
    first = next((i for i in sorted(dev.interfaces, key=lambda i: i.port) if i.peer_ip), None)
    if first is not None:
        cmds.append(f"ip route replace default via {first.peer_ip} dev {first.name}")
    return cmds
