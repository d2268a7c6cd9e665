"""render_hosts(): the GPU servers' files, from the same intent and Fabric as the switches.

Per host, into OUTPUT/<host>/ (templates/host/<file>.j2):

  nccl.env          NCCL / NVSHMEM environment: the ToS (DSCP << 2) and SL of each library's class,
                    the FIFO/CTS class, QPs per connection, GID index, the NICs to use, and one
                    HPNCTL_TRAFFIC_CLASS_<COMM> per communicator for ncclConfig_t.trafficClass
  collectives.json  the same as a document a launcher reads (classes, libraries, communicators, NICs)
  nic-qos.sh        NVIDIA ConnectX/BlueField: trust DSCP, DSCP → priority, PFC, ETS, CNP, DCQCN
                    (mlnx_qos, ECN sysfs or cc_params debugfs, mlxconfig with --persist)
  kernel-qos.sh     the same classification and ETS in the kernel (tc): what a namespace can take
  kvcache-net.sh    the KV-cache NIC: address, MTU, routes, source rule, RDMA-CM default ToS
  kvcache.env       UCX (NIXL) environment of the KV-cache transfers

plus OUTPUT/hosts-manifest.json (the switches' manifest.json is left alone).
"""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import TYPE_CHECKING


from hpnctl.errors import HpnctlError
from hpnctl.hosts.design import plan_hosts
from hpnctl.hosts.model import HostModel, build_host_model
from hpnctl.intent import LoadedIntent
from hpnctl.paths import default_templates_dir
from hpnctl.render import make_env, render_template, write_files

if TYPE_CHECKING:
    from hpnctl.design import Fabric

FILES = ("nccl.env", "collectives.json", "nic-qos.sh", "kernel-qos.sh", "kvcache-net.sh", "kvcache.env")


def select_hosts(fabric: Fabric, limit: str | None) -> list[str]:
    """Host names matching --limit (comma-separated globs; `host` selects every host)."""
    names = sorted(d.name for d in fabric.hosts())
    if not limit:
        return names
    pats = [p.strip() for p in limit.split(",") if p.strip()]
    return [n for n in names if any(p == "host" or fnmatch.fnmatchcase(n, p) for p in pats)]


def host_files(model: HostModel) -> list[str]:
    """The files a host gets: collectives only on the collectives network, KV files only with a KV NIC."""
    files = []
    if model["collectives"]:
        files += ["nccl.env", "collectives.json"]
    if model["networks"]:
        files += ["nic-qos.sh", "kernel-qos.sh"]
    if model["kvcache"]:
        files += ["kvcache-net.sh", "kvcache.env"]
    return files


def collectives_document(model: HostModel) -> dict:
    """collectives.json: what a launcher needs to start NCCL / NVSHMEM jobs in the right classes."""
    coll = model["collectives"]
    net = next(n for n in model["networks"] if n["name"] == coll["network"])
    doc = {
        "host": model["hostname"],
        "fabric": model["fabric"],
        "network": coll["network"],
        "classes": {c["name"]: {"dscp": c["dscp"], "tos": [d << 2 for d in c["dscp"]], "priority": c["tc"],
                                "queue": c["queue"], "scheduler": c["scheduler"],
                                "bandwidth_percent": c["bandwidth_percent"], "lossless": c["lossless"],
                                "ecn": c["ecn"], "dcqcn": c["dcqcn"]} for c in net["classes"]},
        "libraries": coll["libraries"],
        "communicators": coll["communicators"],
        "env": {k: v for k, v, _ in coll["env"]},
        "nics": [{k: n[k] for k in ("netdev", "rdma_device", "address", "gateway", "leaf", "mtu")} for n in net["nics"]],
    }
    if model["kvcache"]:
        kv = model["kvcache"]
        doc["kvcache"] = {"network": kv["network"], "class": kv["class"], "dscp": kv["dscp"], "tos": kv["tos"],
                          "sl": kv["sl"], "env": {k: v for k, v, _ in kv["env"]},
                          "nics": [{k: n[k] for k in ("netdev", "rdma_device", "address", "gateway")} for n in kv["nics"]]}
    return doc


def render_host(model: HostModel, templates_dir: Path | str | None = None) -> dict[str, str]:
    """All files of one host (file name → text)."""
    tdir = str(templates_dir or default_templates_dir())
    env = make_env(tdir)
    return {name: render_template(env, tdir, f"host/{name}.j2", model,
                                  collectives_document(model) if name == "collectives.json" else None,
                                  f"host {model['hostname']}")
            for name in host_files(model)}


def render_hosts(loaded: LoadedIntent, fabric: Fabric, out_dir: Path, limit: str | None = None,
                 templates_dir: Path | None = None) -> dict:
    """Render every selected host into out_dir/<host>/ and write out_dir/hosts-manifest.json."""
    names = select_hosts(fabric, limit)
    if not names:
        raise HpnctlError(f"--limit {limit!r} matches no host" if limit else f"fabric {fabric.name} has no hosts")
    plan = plan_hosts(loaded, fabric)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for name in names:
        model = build_host_model(loaded, fabric, plan, fabric.devices[name])
        hashes = write_files(out_dir / name, render_host(model, templates_dir))
        entries.append({"host": name, "networks": [n["name"] for n in model["networks"]],
                        "files": [{"name": f, "sha256": h} for f, h in sorted(hashes.items())]})
    manifest = {"fabric": fabric.name, "intent": str(loaded.source), "hosts": entries}
    (out_dir / "hosts-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
