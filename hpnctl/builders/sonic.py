"""SONiC builder: DeviceModel → CONFIG_DB (`config_db.json`) and the FRR document (`frr.conf`).

CONFIG_DB conventions (../shared/reference/sonic.md §1, §6), kept everywhere here:

* every value is a string; the only lists are YANG leaf-lists (`SWITCH_HASH.ecmp_hash`),
  which CONFIG_DB JSON stores as JSON lists;
* keys join their parts with `|`, one port per key (the YANG keys are single ports);
* references are plain names (`"pool": "ingress_lossless_pool"`), never `[TABLE|name]`;
* a field without a value is left out (`"pfc_to_queue_map": ""` fails YANG), and a
  table for a feature that is off is left out entirely, never emitted empty;
* every BUFFER_PROFILE has `pool` and `size` (GCU rollback needs both).

Shared, per-network pieces (schedulers, WRED profiles, buffer profiles, maps) only
depend on a few numbers, so they come from small cached functions; per-port values
that are identical across ports are one shared dict (never mutated after building).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hpnctl.errors import RenderError
from hpnctl.model import DeviceModel
from hpnctl.platforms import get_platform
from hpnctl.units import format_speed

Table = dict[str, dict[str, Any]]

# One name for every QoS map: a device has one classification, so one set of maps.
MAP_NAME = "HPN"
INGRESS_POOL = "ingress_lossless_pool"  # SONiC's name; it holds lossy PG 0 as well
EGRESS_LOSSLESS_POOL = "egress_lossless_pool"
EGRESS_LOSSY_POOL = "egress_lossy_pool"
INGRESS_LOSSY_PROFILE = "ingress_lossy_profile"
EGRESS_IDLE_PROFILE = "egress_lossy_profile"  # queues no class uses
# Ingress lossy PGs are limited at egress, not at ingress: alpha 8, as SONiC's own buffer templates.
INGRESS_LOSSY_DYNAMIC_TH = 3
# design/buffers.py assumes alpha 1 for a queue without one.
DEFAULT_DYNAMIC_TH = 0

# DEVICE_METADATA.type: SONiC's tier names (T0 ToRRouter, T1 LeafRouter, T2 SpineRouter).
DEVICE_TYPE = {"leaf": "ToRRouter", "spine": "LeafRouter", "super-spine": "SpineRouter"}
HASH_FIELD = {
    "src-ip": "SRC_IP", "dst-ip": "DST_IP", "ip-protocol": "IP_PROTOCOL", "l4-src-port": "L4_SRC_PORT",
    "l4-dst-port": "L4_DST_PORT", "in-port": "IN_PORT", "src-mac": "SRC_MAC", "dst-mac": "DST_MAC",
    "ethertype": "ETHERTYPE", "vlan-id": "VLAN_ID", "ipv6-flow-label": "IPV6_FLOW_LABEL",
    "inner-src-ip": "INNER_SRC_IP", "inner-dst-ip": "INNER_DST_IP",
}
HASH_ALGORITHM = {"crc": "CRC", "xor": "XOR", "random": "RANDOM", "crc32-lo": "CRC_32LO",
                  "crc32-hi": "CRC_32HI", "crc-ccitt": "CRC_CCITT"}
SWITCH_PORT_KINDS = ("uplink", "downlink", "host")
FEC_RS_MIN_MBPS = 100_000  # PAM4 speeds need RS-FEC
# WRED_PROFILE names: '[a-zA-Z0-9][-a-zA-Z0-9_]{0,31}' (sonic-wred-profile.yang).
_NAME_UNSAFE = re.compile(r"[^-a-zA-Z0-9_]")
_WRED_NAME_MAX = 32

# FRR policy names (frr.conf).
PEER_GROUP = "FABRIC"
LOCAL_PREFIXES = "HPN_LOCAL"
LEARNED_AS_PATH = "HPN_LEARNED"
ROUTE_MAP_IN = "HPN_FABRIC_IN"
ROUTE_MAP_OUT = "HPN_FABRIC_OUT"
BFD_PROFILE = "HPN_FABRIC"


def build(model: DeviceModel) -> dict[str, Any]:
    """Documents of one SONiC switch: file name → data handed to its template as `doc`."""
    return {"config_db.json": config_db(model), "frr.conf": frr_doc(model)}


# --- CONFIG_DB -----------------------------------------------------------------------


def config_db(model: DeviceModel) -> dict[str, Table]:
    ports = [i for i in model["interfaces"] if i["kind"] in SWITCH_PORT_KINDS]
    db: dict[str, Table] = {"DEVICE_METADATA": {"localhost": _metadata(model)}}
    db.update(_mgmt(model["mgmt"]))
    db["PORT"] = _port_table(ports, get_platform(model["platform"]).lanes_per_port)
    db.update(_l3_tables(model, ports))
    db.update(_qos_tables(model, ports))
    hash_table = _switch_hash(model)
    if hash_table:
        db["SWITCH_HASH"] = hash_table
    return {name: table for name, table in db.items() if table}


def _metadata(model: DeviceModel) -> dict[str, str]:
    meta = {
        "hostname": model["hostname"],
        # The intent names the ASIC, not the box; a placeholder SKU keeps the field
        # meaningful for humans.  Drivers must keep the device's real hwsku (see report).
        "hwsku": f"hpnctl-{model['asic']['name']}",
        # hpnctl owns one integrated frr.conf: "split-unified" is the mode whose
        # docker_init.sh keeps /etc/frr/frr.conf ("split" deletes it and wants per-daemon files).
        "docker_routing_config_mode": "split-unified",
        "type": DEVICE_TYPE.get(model["role"], "LeafRouter"),
        "buffer_model": "traditional",  # every buffer value below is computed by hpnctl
    }
    if model["asn"] is not None:
        meta["bgp_asn"] = str(model["asn"])
    return meta


def _mgmt(mgmt: dict) -> dict[str, Table]:
    if not mgmt.get("ip"):
        return {}
    name = mgmt["interface"]
    addr: dict[str, str] = {"gwaddr": mgmt["gateway"]} if mgmt.get("gateway") else {}
    return {
        # MGMT_INTERFACE.name is a leafref to MGMT_PORT.
        "MGMT_PORT": {name: {"admin_status": "up", "alias": name}},
        "MGMT_INTERFACE": {f"{name}|{mgmt['ip']}/{mgmt['prefixlen']}": addr},
    }


def _port_table(ports: list[dict], lanes_per_port: int) -> Table:
    by_physical: dict[int, list[dict]] = {}
    for itf in ports:
        by_physical.setdefault(itf["port"], []).append(itf)
    table: Table = {}
    for physical, members in by_physical.items():
        members.sort(key=lambda i: _name_number(i["name"]))
        lanes_each = max(lanes_per_port // len(members), 1)
        for index, itf in enumerate(members):
            first = (physical - 1) * lanes_per_port + index * lanes_each
            entry = {
                "admin_status": "up",
                # Mellanox-style front-panel alias: etp1, or etp1a/etp1b… for breakout members.
                "alias": f"etp{physical}" if len(members) == 1 else f"etp{physical}{chr(ord('a') + index)}",
                "lanes": _lanes(first, lanes_each),
                "mtu": str(itf["mtu"]),
                "speed": str(itf["speed_mbps"]),
            }
            if itf["description"]:
                entry["description"] = itf["description"]
            if itf["speed_mbps"] >= FEC_RS_MIN_MBPS:
                entry["fec"] = "rs"
            table[itf["name"]] = entry
    return table


def _name_number(name: str) -> int:
    digits = re.search(r"(\d+)$", name)
    return int(digits.group(1)) if digits else 0


@lru_cache(maxsize=4096)
def _lanes(first: int, count: int) -> str:
    return ",".join(str(lane) for lane in range(first, first + count))


def _l3_tables(model: DeviceModel, ports: list[dict]) -> dict[str, Table]:
    interface: Table = {}
    neighbor: Table = {}
    for itf in ports:
        if itf["ip"]:
            interface[itf["name"]] = {}
            interface[f"{itf['name']}|{itf['ip']}"] = {}
        if itf["peer"]:
            # Keyed by the local port: ecnconfig and LLDP tooling read the keys as port names.
            entry = {"name": itf["peer"]}
            if itf["peer_interface"]:
                entry["port"] = itf["peer_interface"]
            neighbor[itf["name"]] = entry
    tables: dict[str, Table] = {"INTERFACE": interface, "DEVICE_NEIGHBOR": neighbor}
    if model["loopback"]:
        tables["LOOPBACK_INTERFACE"] = {"Loopback0": {}, f"Loopback0|{model['loopback']}/32": {}}
    # No BGP_NEIGHBOR: in split-unified mode FRR's neighbours come from frr.conf alone,
    # and bgpcfgd acting on BGP_NEIGHBOR would add its own peer templates next to ours.
    return tables


def _switch_hash(model: DeviceModel) -> dict[str, dict[str, Any]]:
    if not get_platform(model["platform"]).supports("ecmp-hash").supported:
        return {}
    fields = model["ecmp"]["hash_fields"]
    unknown = [f for f in fields if f not in HASH_FIELD]
    if unknown:
        raise RenderError(f"{model['hostname']}: SONiC has no ECMP hash field for {', '.join(unknown)}")
    entry: dict[str, Any] = {}
    if fields:
        entry["ecmp_hash"] = [HASH_FIELD[f] for f in fields]  # leaf-list: a JSON list in CONFIG_DB
    algorithm = model["ecmp"].get("algorithm")
    if algorithm:
        entry["ecmp_hash_algorithm"] = HASH_ALGORITHM[algorithm]
    return {"GLOBAL": entry} if entry else {}


# --- QoS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _QosView:
    """What the QoS tables of one device are built from (derived once per device)."""

    classes: list[dict]
    owner: dict[int, dict]  # queue → the class that owns it (lowest TC first)
    pfc_on: bool
    ecn_on: bool
    scheduler_on: bool
    buffers_on: bool
    watchdog: dict | None
    lossless_pgs: frozenset[int]
    queue_count: int


def _qos_view(model: DeviceModel) -> _QosView:
    qos = model["qos"]
    classes = qos["classes"]
    owner: dict[int, dict] = {}
    for cls in sorted(classes, key=lambda c: (c["tc"], c["name"])):
        owner.setdefault(cls["queue"], cls)
    pfc_on = bool(qos["pfc"]["enabled"] and qos["pfc"]["priorities"])
    return _QosView(
        classes=classes,
        owner=owner,
        pfc_on=pfc_on,
        ecn_on=bool(qos["ecn_enabled"]),
        scheduler_on=bool(model["features"].get("scheduler")),
        # Pitfall #5: PFC without a lossless PG with headroom drops at ingress, so PFC
        # brings the buffer tables with it even when the intent asks for no reserves.
        buffers_on=bool(qos["buffer"]["enabled"]) or pfc_on,
        watchdog=qos["pfc"]["watchdog"] if pfc_on else None,
        lossless_pgs=frozenset(c["pg"] for c in classes if c["lossless"]) if pfc_on else frozenset(),
        queue_count=max(model["asic"]["queues"], max(owner, default=0) + 1),
    )


def _qos_tables(model: DeviceModel, ports: list[dict]) -> dict[str, Table]:
    if not model["qos"]["classes"] or not ports:
        return {}
    view = _qos_view(model)
    qos = model["qos"]
    tables: dict[str, Table] = _maps(qos, view)
    tables["PORT_QOS_MAP"] = _port_qos_map(ports, qos, view)
    schedulers, sched_of = _schedulers(view) if view.scheduler_on else ({}, {})
    speeds = sorted({p["speed_mbps"] for p in ports})
    wred, wred_of = _wred_profiles(view, speeds) if view.ecn_on else ({}, {})
    tables["SCHEDULER"] = schedulers
    tables["WRED_PROFILE"] = wred
    tables["QUEUE"] = _queue_table(ports, view, sched_of, wred_of)
    if view.buffers_on:
        tables.update(_buffer_tables(model, ports, view))
    if view.watchdog:
        tables["PFC_WD"] = _pfc_wd(ports, view.watchdog)
    return tables


def _maps(qos: dict, view: _QosView) -> dict[str, Table]:
    tc_to_queue = qos["tc_to_queue"]
    tc_to_pg = qos["tc_to_pg"]
    maps: dict[str, Table] = {
        "DSCP_TO_TC_MAP": {MAP_NAME: {str(d): str(tc) for d, tc in qos["dscp_to_tc"].items()}},
        "TC_TO_QUEUE_MAP": {MAP_NAME: {str(tc): str(q) for tc, q in tc_to_queue.items()}},
        "TC_TO_PRIORITY_GROUP_MAP": {MAP_NAME: {str(tc): str(pg) for tc, pg in tc_to_pg.items()}},
    }
    if view.pfc_on:
        # With DSCP trust the PFC priority of a packet is its TC, so the PFC maps are the TC
        # maps read per priority; all eight priorities, as the watchdog may look any up.
        maps["MAP_PFC_PRIORITY_TO_QUEUE"] = {MAP_NAME: {str(p): str(q) for p, q in tc_to_queue.items()}}
        maps["PFC_PRIORITY_TO_PRIORITY_GROUP_MAP"] = {MAP_NAME: {str(p): str(pg) for p, pg in tc_to_pg.items()}}
    return maps


def _port_qos_map(ports: list[dict], qos: dict, view: _QosView) -> Table:
    entry = {"dscp_to_tc_map": MAP_NAME, "tc_to_queue_map": MAP_NAME, "tc_to_pg_map": MAP_NAME}
    if view.pfc_on:
        priorities = ",".join(str(p) for p in qos["pfc"]["priorities"])
        entry.update(pfc_to_queue_map=MAP_NAME, pfc_to_pg_map=MAP_NAME, pfc_enable=priorities)
        if view.watchdog:
            entry["pfcwd_sw_enable"] = priorities
    return {p["name"]: entry for p in ports}  # one shared dict: identical on every port


@lru_cache(maxsize=256)
def _scheduler(kind: str, weight: int | None) -> tuple[str, dict[str, str]]:
    """(name, SCHEDULER entry) of one policy; the name says the policy, so equal policies share it."""
    if kind == "strict":
        return "scheduler.strict", {"type": "STRICT"}
    if weight is None:
        raise RenderError(f"a {kind} scheduler needs a weight")
    return f"scheduler.dwrr{weight}", {"type": "DWRR", "weight": str(weight)}


def _schedulers(view: _QosView) -> tuple[Table, dict[str, str]]:
    table: Table = {}
    name_of: dict[str, str] = {}
    for cls in view.owner.values():
        name, entry = _scheduler(cls["scheduler"], cls["weight"])
        table[name] = entry
        name_of[cls["name"]] = name
    return table, name_of


@lru_cache(maxsize=1024)
def _wred_entry(kmin: int, kmax: int, pmax: float) -> dict[str, str]:
    """ECN marking ramp Kmin→Kmax (bytes) up to Pmax %, on all three colours.

    `ecn_all` names every colour, so every colour needs wred_<colour>_enable=true
    (pitfall #2: ecnconfig-style profiles without it mark nothing)."""
    if kmax < kmin:
        raise RenderError(f"ECN Kmax {kmax} is below Kmin {kmin}")
    prob = max(0, min(100, int(round(pmax))))
    if pmax > 0 and prob == 0:
        prob = 1  # a ramp the intent switched on must mark something
    entry = {"ecn": "ecn_all"}
    for colour in ("green", "yellow", "red"):
        entry[f"wred_{colour}_enable"] = "true"
        entry[f"{colour}_min_threshold"] = str(kmin)
        entry[f"{colour}_max_threshold"] = str(kmax)
        entry[f"{colour}_drop_probability"] = str(prob)
    return entry


def _wred_name(cls_name: str, speed_mbps: int) -> str:
    suffix = f"_{format_speed(speed_mbps)}"
    base = _NAME_UNSAFE.sub("_", cls_name).strip("-_") or "class"
    return ("ECN_" + base)[: _WRED_NAME_MAX - len(suffix)] + suffix


def _wred_profiles(view: _QosView, speeds: list[int]) -> tuple[Table, dict[tuple[str, int], str]]:
    """One WRED_PROFILE per (ECN class, port speed): thresholds scale with the line rate."""
    table: Table = {}
    name_of: dict[tuple[str, int], str] = {}
    for cls in view.owner.values():
        if not cls["ecn"]:
            continue
        for speed in speeds:
            t = cls["ecn"].get(speed)
            if t is None:
                raise RenderError(f"class {cls['name']}: no ECN thresholds for {format_speed(speed)} ports")
            name = _wred_name(cls["name"], speed)
            entry = _wred_entry(t["kmin"], t["kmax"], float(t["pmax"]))
            if table.get(name, entry) is not entry:
                raise RenderError(f"WRED profile name {name} is used by two classes: shorten a class name")
            table[name] = entry
            name_of[(cls["name"], speed)] = name
    return table, name_of


def _queue_table(ports: list[dict], view: _QosView, sched_of: dict[str, str],
                 wred_of: dict[tuple[str, int], str]) -> Table:
    """QUEUE|port|q for every queue a class uses.

    ECN-off queues get no wred_profile at all (what `ecnconfig -q N off` does); queues no
    class uses get no entry: no TC maps to them, so hpnctl has no policy to state and the
    ASIC default stays.  (They do get a BUFFER_QUEUE, see _buffer_queues.)"""
    per_speed: dict[tuple[int, int], dict[str, str]] = {}
    table: Table = {}
    for port in ports:
        speed = port["speed_mbps"]
        for queue, cls in view.owner.items():
            entry = per_speed.get((queue, speed))
            if entry is None:
                entry = {}
                if cls["name"] in sched_of:
                    entry["scheduler"] = sched_of[cls["name"]]
                if (cls["name"], speed) in wred_of:
                    entry["wred_profile"] = wred_of[(cls["name"], speed)]
                per_speed[(queue, speed)] = entry
            if entry:
                table[f"{port['name']}|{queue}"] = entry
    return table


# --- buffers ------------------------------------------------------------------------------


def _buffer_tables(model: DeviceModel, ports: list[dict], view: _QosView) -> dict[str, Table]:
    qos = model["qos"]
    shared = qos["buffer"]["shared_bytes"]
    if shared <= 0:
        raise RenderError(f"{model['hostname']}: no shared buffer left ({shared} bytes) after reserves and headroom")
    profiles: Table = {INGRESS_LOSSY_PROFILE: _profile(INGRESS_POOL, 0, dynamic_th=INGRESS_LOSSY_DYNAMIC_TH)}
    pg_profile_of = _pg_profiles(qos, view, profiles)
    queue_profile_of = _queue_profiles(view, shared, profiles)
    used_pools = {p["pool"] for p in profiles.values()}
    pools = {name: entry for name, entry in _pools(shared).items() if name in used_pools}
    return {
        "BUFFER_POOL": pools,
        "BUFFER_PROFILE": profiles,
        "BUFFER_PG": _buffer_pgs(ports, qos, view, pg_profile_of),
        "BUFFER_QUEUE": _buffer_queues(ports, view, queue_profile_of),
    }


@lru_cache(maxsize=64)
def _pools(shared: int) -> dict[str, dict[str, str]]:
    """Every pool is the design's shared space (ASIC buffer − reserves − PFC headroom):
    queue limits and the XOFF point in design/buffers.py are computed against that number."""
    size = str(shared)
    return {
        INGRESS_POOL: {"type": "ingress", "mode": "dynamic", "size": size},
        EGRESS_LOSSLESS_POOL: {"type": "egress", "mode": "static", "size": size},
        EGRESS_LOSSY_POOL: {"type": "egress", "mode": "dynamic", "size": size},
    }


@lru_cache(maxsize=1024)
def _profile(pool: str, size: int, *, dynamic_th: int | None = None, static_th: int | None = None,
             xon: int | None = None, xoff: int | None = None) -> dict[str, str]:
    entry = {"pool": pool, "size": str(size)}  # both mandatory (pitfall #4)
    if xon is not None:
        entry["xon"] = str(xon)
    if xoff is not None:
        entry["xoff"] = str(xoff)
    if static_th is not None:
        entry["static_th"] = str(static_th)
    elif dynamic_th is not None:
        if not -8 <= dynamic_th <= 7:
            raise RenderError(f"dynamic_th {dynamic_th} is outside SONiC's -8..7")
        entry["dynamic_th"] = str(dynamic_th)
    return entry


def _pg_profile_name(speed: int, cable_m: float) -> str:
    # Not buffermgrd's own "pg_lossless_<speed>_<len>_profile": with a CABLE_LENGTH table
    # buffermgrd rewrites profiles of that name from the vendor lookup, silently.
    length = f"{int(cable_m)}m" if float(cable_m).is_integer() else f"{cable_m}m".replace(".", "p")
    return f"hpn_pg_lossless_{speed}_{length}_profile"


def _pg_profiles(qos: dict, view: _QosView, profiles: Table) -> dict[int, str]:
    """Lossless PG profile per port speed: headroom from the model (SONiC's calculator)."""
    if not view.pfc_on:
        return {}
    pfc = qos["pfc"]
    name_of: dict[int, str] = {}
    for speed, h in sorted(pfc["headroom"].items()):
        if h["xoff"] <= 0:
            raise RenderError(f"PFC headroom at {format_speed(speed)} has xoff {h['xoff']}: "
                              "lossless traffic would drop")
        name = _pg_profile_name(speed, pfc["cable_length_m"])
        profiles[name] = _profile(INGRESS_POOL, h["size"], xon=h["xon"], xoff=h["xoff"],
                                  dynamic_th=pfc["pg_dynamic_th"])
        name_of[speed] = name
    return name_of


def _queue_profiles(view: _QosView, shared: int, profiles: Table) -> dict[int, str]:
    """Egress profile per class (size = the class's reserve) → queue → profile name.

    Lossy classes: dynamic_th = log2(alpha) (or static_th) in the dynamic lossy pool.
    Lossless classes: static_th = the whole pool in the static lossless pool, as every
    SONiC buffer template does — an egress limit would drop packets PFC promised not
    to drop; their buffer use is bounded at ingress by the PG threshold and XOFF."""
    name_of: dict[int, str] = {}
    for queue, cls in view.owner.items():
        reserve = cls["reserve_bytes"] or 0
        if cls["lossless"]:
            entry = _profile(EGRESS_LOSSLESS_POOL, reserve, static_th=shared)
        elif cls["static_limit"] is not None:
            entry = _profile(EGRESS_LOSSY_POOL, reserve, static_th=cls["static_limit"])
        else:
            th = cls["dynamic_th"] if cls["dynamic_th"] is not None else DEFAULT_DYNAMIC_TH
            entry = _profile(EGRESS_LOSSY_POOL, reserve, dynamic_th=th)
        name = f"egress_{_NAME_UNSAFE.sub('_', cls['name'])}_profile"
        if profiles.get(name, entry) is not entry:
            raise RenderError(f"buffer profile name {name} is taken: rename class {cls['name']}")
        profiles[name] = entry
        name_of[queue] = name
    if len(name_of) < view.queue_count:
        # Queues no class uses still get a profile: in the traditional model the pools above
        # carve the whole buffer, and a queue left on the SAI default profile is outside it.
        idle = _profile(EGRESS_LOSSY_POOL, 0, dynamic_th=DEFAULT_DYNAMIC_TH)
        if profiles.get(EGRESS_IDLE_PROFILE, idle) is not idle:
            raise RenderError(f"buffer profile name {EGRESS_IDLE_PROFILE} is taken: rename that class")
        profiles[EGRESS_IDLE_PROFILE] = idle
    return name_of


def _ranges(values: list[int], label) -> list[tuple[str, str]]:
    """[(key suffix "3" or "3-4", label)] for sorted values, merging runs with equal labels."""
    out: list[tuple[str, str]] = []
    start = prev = None
    current = None
    for v in values:
        lab = label(v)
        if start is not None and v == prev + 1 and lab == current:
            prev = v
            continue
        if start is not None:
            out.append((str(start) if start == prev else f"{start}-{prev}", current))
        start = prev = v
        current = lab
    if start is not None:
        out.append((str(start) if start == prev else f"{start}-{prev}", current))
    return out


def _buffer_pgs(ports: list[dict], qos: dict, view: _QosView, pg_profile_of: dict[int, str]) -> Table:
    """Lossy PGs (0 and any other a lossy TC maps to) and the lossless PGs, per port."""
    pgs = sorted(set(qos["tc_to_pg"].values()) | {0})
    per_speed: dict[int, list[tuple[str, dict[str, str]]]] = {}
    table: Table = {}
    for port in ports:
        speed = port["speed_mbps"]
        rows = per_speed.get(speed)
        if rows is None:
            lossless = pg_profile_of.get(speed)
            if view.lossless_pgs and lossless is None:
                raise RenderError(f"{port['name']}: no PFC headroom for {format_speed(speed)} ports")
            label = (lambda pg: lossless if pg in view.lossless_pgs else INGRESS_LOSSY_PROFILE)
            rows = per_speed[speed] = [(key, {"profile": prof}) for key, prof in _ranges(pgs, label)]
        for key, entry in rows:
            table[f"{port['name']}|{key}"] = entry
    return table


def _buffer_queues(ports: list[dict], view: _QosView, queue_profile_of: dict[int, str]) -> Table:
    rows = [(key, {"profile": prof}) for key, prof in
            _ranges(list(range(view.queue_count)), lambda q: queue_profile_of.get(q, EGRESS_IDLE_PROFILE))]
    table: Table = {}
    for port in ports:
        for key, entry in rows:
            table[f"{port['name']}|{key}"] = entry
    return table


def _pfc_wd(ports: list[dict], wd: dict) -> Table:
    entry = {"action": wd["action"], "detection_time": str(wd["detection_ms"]),
             "restoration_time": str(wd["restoration_ms"])}
    table: Table = {"GLOBAL": {"POLL_INTERVAL": str(wd["poll_ms"])}}
    table.update({p["name"]: entry for p in ports})
    return table


# --- FRR ------------------------------------------------------------------------------------


def frr_doc(model: DeviceModel) -> dict[str, Any]:
    """Plain values for templates/sonic/frr.conf.j2 (FRR 8.x, one integrated file)."""
    bgp = model["bgp"]
    bfd = bgp.get("bfd")
    return {
        "hostname": model["hostname"],
        "asn": bgp["asn"],
        "router_id": bgp["router_id"],
        "keepalive": bgp["keepalive"],
        "hold": bgp["hold"],
        "max_paths": bgp["max_paths"],
        "peer_group": PEER_GROUP,
        "neighbors": bgp["neighbors"],  # interface order: deterministic, and matches the port list
        "networks": list(bgp["networks"]),
        "local_prefix_list": LOCAL_PREFIXES,
        "learned_as_path": LEARNED_AS_PATH,
        "route_map_in": ROUTE_MAP_IN,
        "route_map_out": ROUTE_MAP_OUT,
        "bfd": ({"profile": BFD_PROFILE, "multiplier": bfd["multiplier"], "interval_ms": bfd["interval_ms"]}
                if bfd else None),
    }
