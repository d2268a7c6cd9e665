"""HostModel: everything one server's templates need, as plain data.

Built from the HostsPlan (per network) and the host's own NICs (addresses, leaf
peers).  Templates under templates/host/ only print these values.
"""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from hpnctl.hosts.dcqcn import PARAMS
from hpnctl.hosts.design import HostsPlan, Marking, NicPlan
from hpnctl.intent import LoadedIntent

if TYPE_CHECKING:
    from hpnctl.design.fabric import Device, Fabric

HostModel = dict[str, Any]


def build_host_model(loaded: LoadedIntent, fabric: Fabric, plan: HostsPlan, dev: Device) -> HostModel:
    """The plain-data model of one GPU server."""
    nics = []
    for itf in sorted(dev.interfaces, key=lambda i: (i.port, i.name)):
        net = plan.network_of(dev.name, itf.name)
        if itf.kind != "nic" or net is None or net not in plan.nics:
            continue
        nics.append(_nic(plan.nics[net], itf, net))
    networks = []
    for net_name, nic_plan in plan.nics.items():
        mine = [n for n in nics if n["network"] == net_name]
        if mine:
            networks.append(_network(nic_plan, mine))
    coll = plan.collectives_network
    compute_nics = [n for n in nics if n["network"] == coll]
    kv_nics = [n for n in nics if n["network"] == plan.kv_network]
    model: HostModel = {
        "hostname": dev.name,
        "fabric": fabric.name,
        "intent": loaded.source.name,
        "nics": nics,
        "networks": networks,
        "collectives": _collectives(plan, compute_nics) if compute_nics else None,
        "kvcache": _kvcache(loaded, fabric, plan, kv_nics) if kv_nics and "kvcache" in plan.markings else None,
    }
    return model


def _nic(plan: NicPlan, itf, net: str) -> dict:
    fields = {"port": itf.port, "index": itf.port - 1, "network": net}
    address, _, plen = itf.ip.partition("/")
    return {
        "network": net, "interface": itf.name, "port": itf.port,
        "netdev": plan.settings.netdev.format(**fields), "rdma_device": plan.settings.rdma_device.format(**fields),
        "address": address, "prefixlen": int(plen) if plen else None, "gateway": itf.peer_ip,
        "leaf": itf.peer, "leaf_port": itf.peer_interface, "speed_mbps": itf.speed_mbps, "mtu": plan.mtu,
    }


def _network(plan: NicPlan, nics: list[dict]) -> dict:
    """NIC QoS of one network, as nic-qos.sh and kernel-qos.sh print it."""
    qos = plan.qos
    classes = []
    for c in qos.classes:
        classes.append({"name": c.name, "kind": c.kind, "dscp": c.dscp, "tc": c.tc, "queue": c.queue,
                        "scheduler": c.scheduler, "bandwidth_percent": c.bandwidth_percent, "lossless": c.lossless,
                        "ecn": c.ecn_enabled, "dcqcn": c in plan.dcqcn_classes and plan.dcqcn_enabled})
    default_cls = next((c for c in qos.classes if not c.dscp), None)
    pfc = [1 if p in plan.pfc_priorities else 0 for p in range(8)]
    dcqcn = [{"name": p.name, "value": plan.dcqcn[p.name], "unit": p.unit, "point": p.point,
              "sysfs_dir": p.sysfs_dir, "debugfs": p.debugfs, "mlxconfig": p.mlxconfig, "meaning": p.meaning}
             for p in PARAMS]
    filters = [{"dscp": d, "tos": f"0x{d << 2:02x}", "priority": plan.dscp_to_priority[d]}
               for c in qos.classes for d in c.dscp]
    default_priority = default_cls.tc if default_cls is not None else plan.dscp_to_priority[_first_unclaimed(qos)]
    return {
        "name": plan.network, "kind": plan.kind, "model": plan.settings.model, "trust": plan.settings.trust,
        "nics": nics, "mtu": plan.mtu, "cable_length_m": _num(plan.cable_length_m),
        "classes": classes,
        "pfc": pfc, "pfc_priorities": plan.pfc_priorities,
        "prio_tc": list(range(8)),  # NIC priority p → NIC TC p: a NIC priority is a switch TC
        "ets": plan.ets,
        "tsa": [e["tsa"] for e in plan.ets], "tcbw": [e["bw"] for e in plan.ets],
        "dscp2prio": [[d, plan.dscp_to_priority[d]] for d in range(64)],
        "dscp_filters": sorted(filters, key=lambda f: f["dscp"]),
        "default_priority": default_priority,
        "htb": [_htb(plan, n, filters, default_priority) for n in nics],
        "cnp": {"dscp": plan.cnp_dscp, "priority": plan.cnp_priority},
        "dcqcn": {"enabled": plan.dcqcn_enabled, "profile": plan.dcqcn_profile,
                  "priorities": plan.dcqcn_priorities, "classes": [c.name for c in plan.dcqcn_classes],
                  "prio_mask": plan.cc_prio_mask, "params": dcqcn},
    }


def _htb(plan: NicPlan, nic: dict, filters: list[dict], default_priority: int) -> dict:
    """kernel-qos.sh: one HTB class 1:1<priority> per priority in use (strict: prio 0, ETS: prio 1, share as rate)."""
    rate = nic["speed_mbps"]
    used = {c.tc for c in plan.qos.classes} | {f["priority"] for f in filters} | {default_priority}
    classes = []
    for tc in sorted(used):
        e = plan.ets[tc]
        strict = e["tsa"] == "strict"
        classes.append({"tc": tc, "classid": f"1:1{tc:x}", "prio": 0 if strict else 1,
                        "rate_mbit": rate if strict else max(1, rate * e["bw"] // 100),
                        # HTB lends spare bandwidth in proportion to the quantum (as the linux leaves do)
                        "quantum": 151400 if strict else 1514 * max(1, e["bw"]),
                        "names": ", ".join(e["classes"]) or "unclassified"})
    return {"netdev": nic["netdev"], "rate_mbit": rate, "default_minor": f"1{default_priority:x}", "classes": classes}


def _first_unclaimed(qos) -> int:
    claimed = {d for c in qos.classes for d in c.dscp}
    return next((d for d in range(64) if d not in claimed), 0)


def _mark(m: Marking) -> dict:
    return {"class": m.class_name, "dscp": m.dscp, "tos": m.tos, "sl": m.sl, "priority": m.priority}


def _collectives(plan: HostsPlan, nics: list[dict]) -> dict:
    """NCCL / NVSHMEM environment and the per-communicator traffic classes (reference §5)."""
    coll = plan.settings.collectives
    gid = plan.nics[plan.collectives_network].settings.gid_index
    hcas = [f"{n['rdma_device']}:1" for n in nics]
    env: list[tuple[str, str, str]] = []  # (name, value, comment)
    libraries: dict[str, dict] = {}
    nccl, nvshmem, fifo = (plan.markings.get(r) for r in ("nccl", "nvshmem", "fifo"))
    if nccl or fifo:
        lib = libraries.setdefault("nccl", {"env": {}})
        if nccl:
            lib.update(_mark(nccl))
            env += [("NCCL_IB_TC", str(nccl.tos), f"class {nccl.class_name}: DSCP {nccl.dscp} << 2"),
                    ("NCCL_IB_SL", str(nccl.sl), "service level = the class's switch priority")]
        if fifo:
            lib["fifo"] = _mark(fifo)
            env.append(("NCCL_IB_FIFO_TC", str(fifo.tos), f"CTS/FIFO control messages: class {fifo.class_name}, "
                        f"DSCP {fifo.dscp}"))
        env += [("NCCL_IB_QPS_PER_CONNECTION", str(coll.qps_per_connection), "QPs per connection: ECMP entropy")]
        if coll.split_data_on_qps is not None:
            env.append(("NCCL_IB_SPLIT_DATA_ON_QPS", "1" if coll.split_data_on_qps else "0", ""))
        env += [("NCCL_IB_GID_INDEX", str(gid), "RoCEv2 IPv4 GID"),
                ("NCCL_IB_HCA", "=" + ",".join(hcas), f"only the {plan.collectives_network} NICs")]
    if nvshmem:
        libraries["nvshmem"] = {**_mark(nvshmem), "env": {}}
        env += [("NVSHMEM_IB_TRAFFIC_CLASS", str(nvshmem.tos), f"class {nvshmem.class_name}: DSCP {nvshmem.dscp} << 2"),
                ("NVSHMEM_IB_SL", str(nvshmem.sl), "service level = the class's switch priority"),
                ("NVSHMEM_IB_GID_INDEX", str(gid), "RoCEv2 IPv4 GID"),
                ("NVSHMEM_HCA_LIST", ",".join(hcas), f"only the {plan.collectives_network} NICs")]
    comms = {}
    for name, m in plan.communicators.items():
        var = "HPNCTL_TRAFFIC_CLASS_" + "".join(ch if ch.isalnum() else "_" for ch in name.upper())
        comms[name] = {**_mark(m), "trafficClass": m.tos, "env": var}
        env.append((var, str(m.tos), f"ncclConfig_t.trafficClass of the {name} communicator (class {m.class_name})"))
    for key in libraries:
        prefix = "NCCL_" if key == "nccl" else "NVSHMEM_"
        libraries[key]["env"] = {k: v for k, v, _ in env if k.startswith(prefix)}
    return {"network": plan.collectives_network, "libraries": libraries, "communicators": comms, "env": env,
            "qps_per_connection": coll.qps_per_connection}


def _kvcache(loaded: LoadedIntent, fabric: Fabric, plan: HostsPlan, nics: list[dict]) -> dict:
    """The KV-cache NIC(s): addresses, routes towards the KV network only, and the KV traffic class."""
    m = plan.markings["kvcache"]
    kv = plan.settings.kvcache
    nic_plan = plan.nics[plan.kv_network]
    pool = loaded.intent.networks[plan.kv_network].addressing.hosts
    prefixes = ([str(pool)] if pool is not None else []) + [str(ipaddress.IPv4Network(r)) for r in kv.routes]
    env = [("UCX_IB_TRAFFIC_CLASS", str(m.tos), f"class {m.class_name}: DSCP {m.dscp} << 2 (NIXL/UCX KV transfers)"),
           ("UCX_IB_SL", str(m.sl), "service level = the class's switch priority"),
           ("UCX_IB_GID_INDEX", str(nic_plan.settings.gid_index), "RoCEv2 IPv4 GID"),
           ("UCX_NET_DEVICES", ",".join(f"{n['rdma_device']}:1" for n in nics), f"only the {plan.kv_network} NIC(s)")]
    return {"network": plan.kv_network, **_mark(m), "nics": nics, "routes": prefixes, "table": kv.table, "env": env}


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x
