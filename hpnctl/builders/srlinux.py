"""Nokia SR Linux builder: DeviceModel → the RFC 7951 JSON of the device (config.json) and
the same configuration as flat `set / …` CLI lines (config.cli).

The JSON is what JSON-RPC `set`/`validate` take and what `info | as json` prints with module
names: top-level members carry their module (`srl_nokia-interfaces:interface`, …), so does
every node another module augments in (`protocols.srl_nokia-bgp:bgp`), and identity values
carry the module that defines them (`srl_nokia-common:ipv4-unicast`).  uint64 leaves (WRED
thresholds) are JSON strings, as RFC 7951 wants.  The CLI lines are generated from that same
document (list keys from LIST_KEYS), so the two files cannot disagree.

Every path is written against nokia/srlinux-yang-models v25.3.1 (platforms/srlinux.yml
`yang_release`) and the tests validate every rendered document with yanglint
(hpnctl.validate_models.srlinux_yang).  What the YANG does not decide, and is therefore a
choice or a GUESS:

* QoS shape: one forwarding class per switch traffic class (`fc-<class>`, index = TC), one
  egress queue per intent queue (`q-<class>`, index = queue), one PFC queue per lossless
  priority group (`pfc-<class>`, index = PG); DSCP classifier `hpn-dscp` maps all 64 DSCPs.
* Scheduler `hpn-sched`: strict queues in scheduler sequence 0, DWRR queues in sequence 1
  with the class weight (YANG: sequence 0 must be strict, 1 weighted-RR; weight 1..127).
  How SR Linux orders several strict inputs among themselves is not in the YANG (GUESS:
  queue index, as on the ASIC).
* ECN: one queue-management profile per (class, port speed) with one WRED slope
  traffic-type all / drop-probability all / enable-ecn true, thresholds in bytes and the
  marking probability at Kmax; queues with ECN off get `no-ecn` (enable-ecn false, slope
  off).  A profile can only be bound where the interface's buffer-allocation profile gives
  the queue a non-zero maximum-burst-size (YANG must), so every class queue gets one.
* Buffers: `buf-<speed>` per port speed: queue maximum-burst-size = the class's queue
  limit from the buffer plan, committed-burst-size = its reserve; PFC queue
  maximum-burst-size = the PG's XOFF point (α_pg/(1+α_pg) · shared) and
  maximum-pfc-reserved-share-bytes = the PFC headroom at that speed.
* PFC watchdog: deadlock detection-timer = detection_ms (10..1500), recovery-timer =
  restoration_ms (100..1500).  During recovery SR Linux ignores pause frames (the queue
  keeps forwarding); an intent action other than `forward` is listed in the CLI notes.
* Management (mgmt0, network-instance mgmt, system servers) is not rendered: it belongs to
  the node's bootstrap/ZTP (and containerlab's default config).  A JSON-RPC `replace /`
  with this document would remove it: replace only the subtrees rendered here.
* Port speed is not rendered: SR Linux derives it from the port and transceiver, and a lab
  node's emulated ports have fixed speeds.
"""
from __future__ import annotations

import json
from typing import Any

from hpnctl.errors import RenderError
from hpnctl.model import DeviceModel
from hpnctl.units import format_bytes, format_speed

CONFIG_JSON = "config.json"
CONFIG_CLI = "config.cli"
SWITCH_PORT_KINDS = ("uplink", "downlink", "host")
PEER_GROUP = "FABRIC"
EXPORT_POLICY = "hpn-export"
IMPORT_POLICY = "hpn-import"
LOCAL_PREFIXES = "hpn-local"
DSCP_POLICY = "hpn-dscp"
SCHEDULER_POLICY = "hpn-sched"
PFC_PROFILE = "hpn-pfc"
NO_ECN_PROFILE = "no-ecn"
DSCP_VALUES = range(64)
# YANG ranges (srl_nokia-qos.yang, srl_nokia-bfd.yang, v25.3.1)
WEIGHT_RANGE = (1, 127)
DEADLOCK_DETECTION_MS = (10, 1500)
DEADLOCK_RECOVERY_MS = (100, 1500)
PFC_RESERVED_SHARE_MAX = 104_857_600
UINT32_MAX = 4_294_967_295
DEFAULT_PG_ALPHA = 0.125
HASH_OPTION = {
    "src-ip": "source-address", "dst-ip": "destination-address", "ip-protocol": "protocol",
    "l4-src-port": "source-port", "l4-dst-port": "destination-port", "ipv6-flow-label": "ipv6-flow-label",
    "vlan-id": "vlan",
}
# /system/load-balancing/hash-options defaults (srl_nokia-load-balancing.yang, v25.3.1)
SRL_DEFAULT_HASH = {
    "source-address": True, "destination-address": True, "protocol": True, "source-port": True,
    "destination-port": True, "ipv6-flow-label": False, "vlan": True,
}
# List keys by the data path of local names (module prefixes dropped): CLI needs them.
LIST_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("interface",): ("name",),
    ("interface", "subinterface"): ("index",),
    ("interface", "subinterface", "ipv4", "address"): ("ip-prefix",),
    ("network-instance",): ("name",),
    ("network-instance", "interface"): ("name",),
    ("network-instance", "protocols", "bgp", "afi-safi"): ("afi-safi-name",),
    ("network-instance", "protocols", "bgp", "group"): ("group-name",),
    ("network-instance", "protocols", "bgp", "neighbor"): ("peer-address",),
    ("bfd", "subinterface"): ("id",),
    ("routing-policy", "prefix-set"): ("name",),
    ("routing-policy", "prefix-set", "prefix"): ("ip-prefix", "mask-length-range"),
    ("routing-policy", "policy"): ("name",),
    ("routing-policy", "policy", "statement"): ("name",),
    ("qos", "queues", "queue"): ("name",),
    ("qos", "queues", "pfc-queue"): ("pfc-queue-name",),
    ("qos", "forwarding-classes", "forwarding-class"): ("name",),
    ("qos", "classifiers", "dscp-policy"): ("name",),
    ("qos", "classifiers", "dscp-policy", "dscp"): ("value",),
    ("qos", "scheduler-policies", "scheduler-policy"): ("name",),
    ("qos", "scheduler-policies", "scheduler-policy", "scheduler"): ("sequence",),
    ("qos", "scheduler-policies", "scheduler-policy", "scheduler", "input"): ("id",),
    ("qos", "buffer-management", "queue-management-profile"): ("name",),
    ("qos", "buffer-management", "queue-management-profile", "wred", "wred-slope"):
        ("traffic-type", "drop-probability", "enable-ecn"),
    ("qos", "buffer-management", "buffer-allocation-profile"): ("name",),
    ("qos", "buffer-management", "buffer-allocation-profile", "queues", "queue"): ("queue-name",),
    ("qos", "buffer-management", "buffer-allocation-profile", "queues", "pfc-queue"): ("pfc-queue-name",),
    ("qos", "pfc-mapping-profile"): ("name",),
    ("qos", "pfc-mapping-profile", "received-traffic", "unicast-mapping", "pfc-queue"): ("pfc-queue-name",),
    ("qos", "pfc-mapping-profile", "received-pfc-pause-frames", "queue"): ("queue-name",),
    ("qos", "interfaces", "interface"): ("interface-id",),
    ("qos", "interfaces", "interface", "output", "queues", "queue"): ("queue-name",),
}


def build(model: DeviceModel) -> dict[str, Any]:
    """Documents of one SR Linux switch: file name → data for its template."""
    notes: list[str] = []
    ports = [i for i in model["interfaces"] if i["kind"] in SWITCH_PORT_KINDS]
    doc: dict[str, Any] = {
        "srl_nokia-interfaces:interface": _interfaces(model, ports),
        "srl_nokia-network-instance:network-instance": [_default_instance(model, ports)],
        "srl_nokia-system:system": _system(model),
    }
    if model["bgp"]["bfd"] and model["asn"] is not None:
        doc["srl_nokia-bfd:bfd"] = _bfd(model, ports)
    if model["asn"] is not None:
        doc["srl_nokia-routing-policy:routing-policy"] = _routing_policy(model)
    if model["qos"]["classes"]:
        doc["srl_nokia-qos:qos"] = _qos(model, ports, notes)
        notes.insert(0, describe_buffers(model))
    return {CONFIG_JSON: doc, CONFIG_CLI: {"lines": cli_lines(doc), "notes": notes}}


# --- interfaces, routing ---------------------------------------------------------------


def sub_id(name: str) -> str:
    return f"{name}.0"


def _interfaces(model: DeviceModel, ports: list[dict]) -> list[dict]:
    pfc = model["qos"]["pfc"]["enabled"]
    out = []
    for itf in ports:
        sub: dict[str, Any] = {"index": 0, "type": "srl_nokia-interfaces:routed", "admin-state": "enable",
                               "ip-mtu": itf["mtu"]}
        if itf["ip"]:
            sub["ipv4"] = {"admin-state": "enable", "address": [{"ip-prefix": itf["ip"]}]}
        entry: dict[str, Any] = {"name": itf["name"], "description": itf["description"], "admin-state": "enable"}
        if pfc:
            # PFC and link-level pause exclude each other on an interface.
            entry["ethernet"] = {"flow-control": {"receive": False}}
        entry["subinterface"] = [sub]
        out.append(entry)
    if model["loopback"]:
        out.append({"name": "system0", "admin-state": "enable", "subinterface": [
            {"index": 0, "admin-state": "enable",
             "ipv4": {"admin-state": "enable", "address": [{"ip-prefix": f"{model['loopback']}/32"}]}}]})
    return out


def _default_instance(model: DeviceModel, ports: list[dict]) -> dict[str, Any]:
    names = [sub_id(p["name"]) for p in ports]
    if model["loopback"]:
        names.append("system0.0")
    ni: dict[str, Any] = {"name": "default", "type": "srl_nokia-network-instance:default", "admin-state": "enable"}
    if model["router_id"]:
        ni["router-id"] = model["router_id"]
    ni["interface"] = [{"name": n} for n in names]
    if model["asn"] is not None:
        ni["protocols"] = {"srl_nokia-bgp:bgp": _bgp(model)}
    return ni


def _bgp(model: DeviceModel) -> dict[str, Any]:
    bgp = model["bgp"]
    group: dict[str, Any] = {
        "group-name": PEER_GROUP, "admin-state": "enable",
        "export-policy": [EXPORT_POLICY], "import-policy": [IMPORT_POLICY],
        "timers": {"hold-time": bgp["hold"], "keepalive-interval": bgp["keepalive"]},
    }
    if bgp["bfd"]:
        group["failure-detection"] = {"enable-bfd": True}
    return {
        "admin-state": "enable",
        "autonomous-system": bgp["asn"],
        "router-id": bgp["router_id"],
        "afi-safi": [{"afi-safi-name": "srl_nokia-common:ipv4-unicast", "admin-state": "enable",
                      "multipath": {"allow-multiple-as": True, "maximum-paths": bgp["max_paths"]}}],
        "group": [group],
        "neighbor": [{"peer-address": n["ip"], "admin-state": "enable", "description": n["description"],
                      "peer-as": n["asn"], "peer-group": PEER_GROUP} for n in bgp["neighbors"]],
    }


def _bfd(model: DeviceModel, ports: list[dict]) -> dict[str, Any]:
    bfd = model["bgp"]["bfd"]
    interval_us = bfd["interval_ms"] * 1000
    bgp_ports = {n["interface"] for n in model["bgp"]["neighbors"]}
    return {"subinterface": [
        {"id": sub_id(p["name"]), "admin-state": "enable", "desired-minimum-transmit-interval": interval_us,
         "required-minimum-receive": interval_us, "detection-multiplier": bfd["multiplier"]}
        for p in ports if p["name"] in bgp_ports]}


def _routing_policy(model: DeviceModel) -> dict[str, Any]:
    """Export what this switch originates and what it learned by BGP (transit); accept all in."""
    prefixes = []
    for prefix in model["bgp"]["networks"]:
        plen = prefix.split("/")[1]
        prefixes.append({"ip-prefix": prefix, "mask-length-range": f"{plen}..{plen}"})
    statements = []
    if prefixes:
        statements.append({"name": "10-local", "match": {"prefix": {"prefix-set": LOCAL_PREFIXES}},
                           "action": {"policy-result": "accept"}})
    statements.append({"name": "20-bgp", "match": {"protocol": "srl_nokia-common:bgp"},
                       "action": {"policy-result": "accept"}})
    policy: dict[str, Any] = {}
    if prefixes:
        policy["prefix-set"] = [{"name": LOCAL_PREFIXES, "prefix": prefixes}]
    policy["policy"] = [
        {"name": EXPORT_POLICY, "default-action": {"policy-result": "reject"}, "statement": statements},
        {"name": IMPORT_POLICY, "default-action": {"policy-result": "accept"}},
    ]
    return policy


def _system(model: DeviceModel) -> dict[str, Any]:
    fields = model["ecmp"]["hash_fields"]
    unknown = [f for f in fields if f not in HASH_OPTION]
    if unknown:
        raise RenderError(f"{model['hostname']}: SR Linux has no ECMP hash option for {', '.join(unknown)}")
    system: dict[str, Any] = {"srl_nokia-system-name:name": {"host-name": model["hostname"]}}
    wanted = {leaf: f in fields for f, leaf in HASH_OPTION.items()}
    if model["features"].get("ecmp-hash", True) and not _default_hash(wanted):
        system["srl_nokia-load-balancing:load-balancing"] = {"hash-options": wanted}
    return system


def _default_hash(wanted: dict[str, bool]) -> bool:
    """True when SR Linux's default hash already hashes on exactly these fields.

    The VLAN leaf does not count: fabric ports are untagged routed ports, so there is no
    VLAN to hash on.  Leaving the defaults alone also keeps the document valid for every
    platform (the hash-options container does not exist on FPcx/7730 SXR).
    """
    return all(wanted[leaf] == on for leaf, on in SRL_DEFAULT_HASH.items() if leaf != "vlan")


# --- QoS -------------------------------------------------------------------------------


def _names(classes: list[dict]) -> tuple[dict[int, dict], dict[int, dict], dict[int, dict]]:
    """Owner class per queue, per TC (forwarding class) and per lossless PG (lowest TC first)."""
    queue_owner: dict[int, dict] = {}
    tc_owner: dict[int, dict] = {}
    pg_owner: dict[int, dict] = {}
    for c in sorted(classes, key=lambda c: c["tc"]):
        queue_owner.setdefault(c["queue"], c)
        tc_owner.setdefault(c["tc"], c)
        if c["lossless"]:
            pg_owner.setdefault(c["pg"], c)
    return queue_owner, tc_owner, pg_owner


def queue_name(c: dict) -> str:
    return f"q-{c['name']}"


def fc_name(c: dict) -> str:
    return f"fc-{c['name']}"


def pfc_queue_name(c: dict) -> str:
    return f"pfc-{c['name']}"


def _speed_tag(speed: int) -> str:
    return format_speed(speed).lower()


def ecn_profile_name(c: dict, speed: int) -> str:
    return f"ecn-{c['name']}-{_speed_tag(speed)}"


def buffer_profile_name(speed: int) -> str:
    return f"buf-{_speed_tag(speed)}"


def _qos(model: DeviceModel, ports: list[dict], notes: list[str]) -> dict[str, Any]:
    q = model["qos"]
    classes = q["classes"]
    queue_owner, tc_owner, pg_owner = _names(classes)
    fc_of_tc = {tc: fc_name(c) for tc, c in tc_owner.items()}
    pfc_on = q["pfc"]["enabled"] and bool(pg_owner)
    speeds = sorted({p["speed_mbps"] for p in ports})
    qos: dict[str, Any] = {}
    if q["ecn_enabled"]:
        qos["explicit-congestion-notification"] = {}
    queues: dict[str, Any] = {"queue": [{"name": queue_name(c), "queue-index": queue}
                                        for queue, c in sorted(queue_owner.items())]}
    if pfc_on:
        queues["pfc-queue"] = [{"pfc-queue-name": pfc_queue_name(c), "queue-index": pg}
                               for pg, c in sorted(pg_owner.items())]
    qos["queues"] = queues
    qos["forwarding-classes"] = {"forwarding-class": [
        {"name": fc_name(c), "forwarding-class-index": tc,
         "output": {"unicast-queue": queue_name(queue_owner[c["queue"]])}}
        for tc, c in sorted(tc_owner.items())]}
    qos["classifiers"] = {"dscp-policy": [{"name": DSCP_POLICY, "dscp": [
        {"value": d, "forwarding-class": fc_of_tc[q["dscp_to_tc"][d]]} for d in DSCP_VALUES
        if q["dscp_to_tc"][d] in fc_of_tc]}]}
    if model["features"].get("scheduler", True):
        qos["scheduler-policies"] = {"scheduler-policy": [_scheduler(queue_owner)]}
    qos["buffer-management"] = _buffer_management(model, queue_owner, pg_owner, speeds, pfc_on)
    if pfc_on:
        qos["pfc-mapping-profile"] = [_pfc_profile(q, classes, queue_owner, pg_owner, fc_of_tc, notes)]
    qos["interfaces"] = {"interface": _qos_interfaces(model, ports, queue_owner, pfc_on)}
    return qos


def _scheduler(queue_owner: dict[int, dict]) -> dict[str, Any]:
    strict = [c for _, c in sorted(queue_owner.items(), reverse=True) if c["scheduler"] == "strict"]
    weighted = [c for _, c in sorted(queue_owner.items(), reverse=True) if c["scheduler"] != "strict"]
    schedulers = []
    if strict:
        schedulers.append({"sequence": 0, "priority": "strict",
                           "input": [{"id": queue_name(c), "queue-name": queue_name(c)} for c in strict]})
    if weighted:
        schedulers.append({"sequence": 1, "input": [
            {"id": queue_name(c), "queue-name": queue_name(c),
             "weight": min(max(int(c["weight"] or 1), WEIGHT_RANGE[0]), WEIGHT_RANGE[1])} for c in weighted]})
    return {"name": SCHEDULER_POLICY, "scheduler": schedulers}


def _buffer_management(model: DeviceModel, queue_owner: dict[int, dict], pg_owner: dict[int, dict],
                       speeds: list[int], pfc_on: bool) -> dict[str, Any]:
    q = model["qos"]
    profiles = []
    ecn_on = [c for c in queue_owner.values() if c["ecn"]]
    for c in ecn_on:
        for speed in speeds:
            t = c["ecn"].get(speed)
            if t is None:
                continue
            profiles.append({"name": ecn_profile_name(c, speed), "wred": {"wred-slope": [{
                "traffic-type": "all", "drop-probability": "all", "enable-ecn": True,
                "min-threshold": str(int(t["kmin"])), "max-threshold": str(int(t["kmax"])),
                "slope-enabled": True, "max-drop-probability-percent": min(max(int(round(t["pmax"])), 0), 100),
            }]}})
    if any(not c["ecn"] for c in queue_owner.values()):
        profiles.append({"name": NO_ECN_PROFILE, "wred": {"wred-slope": [{
            "traffic-type": "all", "drop-probability": "all", "enable-ecn": False, "slope-enabled": False}]}})
    xoff = _xoff_point(q)
    allocations = []
    for speed in speeds:
        queue_entries = []
        for _, c in sorted(queue_owner.items()):
            entry: dict[str, Any] = {"queue-name": queue_name(c),
                                     "maximum-burst-size": min(max(int(c["queue_limit_bytes"]), 1), UINT32_MAX)}
            if c["reserve_bytes"]:
                entry["committed-burst-size"] = min(int(c["reserve_bytes"]), UINT32_MAX)
            queue_entries.append(entry)
        queues: dict[str, Any] = {"queue": queue_entries}
        headroom = q["pfc"]["headroom"].get(speed)
        if pfc_on and headroom:
            queues["pfc-queue"] = [
                {"pfc-queue-name": pfc_queue_name(c), "maximum-burst-size": min(xoff, UINT32_MAX),
                 "maximum-pfc-reserved-share-bytes": min(int(headroom["size"]), PFC_RESERVED_SHARE_MAX)}
                for _, c in sorted(pg_owner.items())]
        allocations.append({"name": buffer_profile_name(speed), "queues": queues})
    out: dict[str, Any] = {}
    if profiles:
        out["queue-management-profile"] = profiles
    out["buffer-allocation-profile"] = allocations
    return out


def _xoff_point(q: dict) -> int:
    """Where a lossless PG pauses: α_pg/(1+α_pg) of the shared buffer (design/buffers.py)."""
    exp = q["pfc"].get("pg_dynamic_th")
    alpha = 2.0 ** exp if exp is not None else DEFAULT_PG_ALPHA
    return max(int(alpha / (1 + alpha) * max(q["buffer"]["shared_bytes"], 0)), 1)


def _pfc_profile(q: dict, classes: list[dict], queue_owner: dict[int, dict], pg_owner: dict[int, dict],
                 fc_of_tc: dict[int, str], notes: list[str]) -> dict[str, Any]:
    lossless = [c for c in sorted(classes, key=lambda c: c["tc"]) if c["lossless"]]
    mapping = []
    for pg, owner in sorted(pg_owner.items()):
        members = [c for c in lossless if c["pg"] == pg]
        mapping.append({"pfc-queue-name": pfc_queue_name(owner),
                        "forwarding-class": sorted({fc_of_tc[c["tc"]] for c in members}),
                        "pfc-pause-frame-priority": owner["tc"]})
    reacting = {}
    for c in lossless:
        reacting.setdefault(c["queue"], c)
    received: dict[str, Any] = {}
    wd = q["pfc"]["watchdog"]
    if wd is not None:
        received["deadlock"] = {
            "enable": True,
            "detection-timer": min(max(int(wd["detection_ms"]), DEADLOCK_DETECTION_MS[0]), DEADLOCK_DETECTION_MS[1]),
            "recovery-timer": min(max(int(wd["restoration_ms"]), DEADLOCK_RECOVERY_MS[0]), DEADLOCK_RECOVERY_MS[1]),
        }
        if wd["action"] != "forward":
            notes.append(f"PFC watchdog action '{wd['action']}' is not available: during recovery SR Linux "
                         "ignores pause frames and keeps forwarding")
    received["queue"] = [{"queue-name": queue_name(queue_owner[queue]), "pfc-pause-frame-priority": c["tc"],
                          "enable-pfc": True} for queue, c in sorted(reacting.items())]
    return {"name": PFC_PROFILE, "received-traffic": {"unicast-mapping": {"pfc-queue": mapping}},
            "received-pfc-pause-frames": received}


def _qos_interfaces(model: DeviceModel, ports: list[dict], queue_owner: dict[int, dict], pfc_on: bool) -> list[dict]:
    out = []
    scheduler = model["features"].get("scheduler", True)
    for itf in ports:
        speed = itf["speed_mbps"]
        entry: dict[str, Any] = {"interface-id": itf["name"], "interface-ref": {"interface": itf["name"]}}
        if pfc_on:
            entry["pfc"] = {"pfc-enable": True, "pfc-mapping-profile": PFC_PROFILE}
            entry["input"] = {"pfc-buffer-allocation-profile": buffer_profile_name(speed)}
        output: dict[str, Any] = {"buffer-allocation-profile": buffer_profile_name(speed)}
        if scheduler:
            output["scheduler"] = {"scheduler-policy": SCHEDULER_POLICY}
        output["queues"] = {"queue": [
            {"queue-name": queue_name(c),
             "queue-management-profile": ecn_profile_name(c, speed) if c["ecn"] and speed in c["ecn"] else NO_ECN_PROFILE}
            for _, c in sorted(queue_owner.items())]}
        entry["output"] = output
        out.append(entry)
    for itf in ports:  # classification is a subinterface matter (YANG must)
        out.append({"interface-id": sub_id(itf["name"]),
                    "interface-ref": {"interface": itf["name"], "subinterface": 0},
                    "input": {"classifiers": {"dscp-policy": DSCP_POLICY}}})
    return out


# --- CLI -------------------------------------------------------------------------------


def cli_lines(doc: dict[str, Any]) -> list[str]:
    """The document as flat `set / …` lines (SR Linux CLI), one per leaf, key-only entry or presence container."""
    lines: list[str] = []
    for member, value in doc.items():
        _walk(value, [_local(member)], (_local(member),), lines)
    return lines


def _walk(node: Any, tokens: list[str], path: tuple[str, ...], lines: list[str]) -> None:
    if isinstance(node, list) and node and all(isinstance(e, dict) for e in node):
        keys = LIST_KEYS.get(path)
        if keys is None:
            raise RenderError(f"srlinux CLI: no list keys known for /{'/'.join(path)}")
        for entry in node:
            missing = [k for k in keys if k not in entry]
            if missing:
                raise RenderError(f"srlinux CLI: /{'/'.join(path)} entry lacks key {missing[0]}")
            head = tokens[:-1] + [tokens[-1], _value(entry[keys[0]])]
            for k in keys[1:]:
                head += [k, _value(entry[k])]
            rest = {k: v for k, v in entry.items() if k not in keys}
            if not rest:
                lines.append("set / " + " ".join(head))
            for k, v in rest.items():
                _walk(v, head + [_local(k)], path + (_local(k),), lines)
        return
    if isinstance(node, dict):
        if not node:
            lines.append("set / " + " ".join(tokens))  # presence container
        for k, v in node.items():
            _walk(v, tokens + [_local(k)], path + (_local(k),), lines)
        return
    if isinstance(node, list):  # leaf-list
        lines.append("set / " + " ".join(tokens) + " [ " + " ".join(_value(v) for v in node) + " ]")
        return
    lines.append("set / " + " ".join(tokens) + " " + _value(node))


def _local(name: str) -> str:
    return name.split(":", 1)[1] if ":" in name else name


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    text = str(v)
    if ":" in text and text.startswith(("srl_nokia-", "ietf-", "iana-")):
        text = text.split(":", 1)[1]  # identityref: the CLI takes the bare identity
    if not text or any(ch in text for ch in ' "\'#;[]{}'):
        return json.dumps(text)
    return text


def describe_buffers(model: DeviceModel) -> str:
    """One line for the CLI header: the buffer plan the profiles come from."""
    b = model["qos"]["buffer"]
    return (f"buffer plan: {format_bytes(b['total_bytes'])} total, {format_bytes(b['reserved_bytes'])} reserved, "
            f"{format_bytes(b['headroom_bytes'])} PFC headroom, {format_bytes(b['shared_bytes'])} shared")
