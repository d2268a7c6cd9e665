"""NVIDIA Cumulus Linux (NVUE) builder: DeviceModel → the `- set:` document of startup.yaml.

One document for the whole switch: hostname, interfaces, eBGP underlay, ECMP hash, QoS
(RoCE mode, DSCP → switch priority, switch priority → traffic class, egress scheduler,
ECN per traffic class, PFC with cable length and watchdog, traffic pools) and adaptive
routing globally and per uplink with the link-utilisation threshold.

Mapping of the intent onto NVUE's QoS model: a class's `tc` is its switch priority (SP),
its `queue` is NVUE's traffic class (TC = egress queue).  Classification is DSCP-trusted
(`trust: l3`) and every one of the 64 DSCPs is mapped, so the `default` class really gets
the rest.  ECN thresholds depend on the port speed: the speed most ports run at goes into
`default-global`, every other speed gets a profile `ecn-<speed>` bound on its ports.
PFC headroom is sized by switchd from `cable-length` per port speed (NVIDIA's advice is to
leave xoff/xon/port-buffer alone); hpnctl's own headroom figures are printed as comments.
Traffic pools split the buffer between the lossy pool and the one lossless pool in the
proportions of hpnctl's buffer plan: each pool gets its classes' reserves (× ports), the
lossless pool the PFC headroom, and the shared rest is split by the classes' dynamic
thresholds α/(1+α).

Release: NVUE 5.15 "unified all object models to enabled/disabled (remove on/off)".  The
release comes from model["platform_options"]["release"] when the intent sets it, else
from platforms/nvue.yml (`release`).  Forms that differ:

    ≤ 5.14                                   ≥ 5.15
    enable: on|off                           state: enabled|disabled
    leaf: on|off (aspath-ignore, ecmp-hash)  leaf: enabled|disabled
    interface X ip address P                 interface X ipv4 address P   (ip vrf → vrf)
    peer-group bfd {enable, timers}          router bfd profile P ; peer-group bfd {state, profile}
    congestion-control … ecn enable|disable  ecn enabled|disabled

Sources, and what is CONFIRMED against them vs GUESS (unverified inference):

* CONFIRMED, key nesting of `nv config show` on Cumulus VX 5.5.1 (NVIDIA's "Cumulus Linux
  Automation Workshop" README, full applied config): qos.congestion-control.default-global.
  traffic-class.'N'.{ecn: enable, min-threshold, max-threshold, probability, red};
  qos.egress-queue-mapping.default-global.switch-priority.'N'.traffic-class;
  qos.egress-scheduler.default-global.traffic-class.'N'.{mode, bw-percent};
  qos.mapping.default-global.{trust, port-default-sp, pcp/dscp.'N'.switch-priority};
  qos.pfc (profile map); qos.roce.enable; qos.traffic-pool.<pool>.{memory-percent,
  switch-priority.'N': {}}; router.adaptive-routing.enable; interface.<if>.router.
  adaptive-routing.enable; system.hostname; system.forwarding.ecmp-hash.<field>: on|off.
* CONFIRMED, BGP nesting from startup.yaml files in NVIDIA's docs and DOCA HBN examples:
  router.bgp.{autonomous-system, enable, router-id}; vrf.default.router.bgp.{enable,
  address-family.ipv4-unicast.{enable, network.<prefix>: {}}, neighbor.<id>.{remote-as,
  type, peer-group}, peer-group.<name>.{remote-as, address-family}, path-selection.
  multipath.aspath-ignore}; interface.<if>.{type, ip.address.<prefix>: {}, link.mtu}.
* CONFIRMED, command paths (NVUE command reference; a path maps 1:1 onto YAML keys):
  qos pfc <profile> {switch-priority, tx, rx, cable-length}; qos pfc-watchdog
  {polling-interval 100-5000, robustness 1-1000} (5.6); interface qos pfc-watchdog state
  (enable|disable) (5.6 new-commands list); interface qos congestion-control profile <name>;
  qos roce {mode, cable-length}; interface router adaptive-routing link-utilization-threshold
  1-100; router adaptive-routing link-utilization-threshold (on|off) (5.6); vrf router bgp
  address-family ipv4-unicast multipaths ebgp; peer-group timers {keepalive, hold};
  peer-group bfd {enable, detect-multiplier, min-rx-interval, min-tx-interval} (≤5.14).
* CONFIRMED, the 5.15 changes: CL 5.15 "New and Changed NVUE Commands" (qos roce, router bgp,
  address-family, adaptive-routing global and per interface, ecmp-hash, aspath-ignore,
  link-utilization-threshold all move to enabled/disabled or `state`; interface ip address →
  ipv4 address, ip gateway → ipv4 gateway, ip vrf → vrf) and 5.15 "What's New" (BGP BFD
  timers removed; router bfd profile and `bgp … bfd profile` added).
* GUESS: `ecn: enabled|disabled` from 5.15 on (the current reference writes `ecn enabled`,
  older ones `ecn enable`; 5.15 is the release that unified the words).  PFC `tx/rx: enable`
  kept in both forms (the current reference still writes `tx enable`).  `pfc-watchdog state:
  enabled` from 5.15 on.  `bfd: {state: enabled, profile: …}` on the 5.15 peer group (the
  changed-commands table lists `bfd state`, What's New lists `bfd profile`).  Custom
  congestion-control profiles take the same keys as default-global (the 5.12 guide spells
  them min-threshold-bytes).  Whether 5.15 needs the AR `custom-profile` before the global
  link-utilization-threshold takes effect (the 5.15 guide says so; we do not set a profile).
  `link.speed` values written like `400G`; breakout as `link.breakout.<N>x: {}` on the parent.
* Not expressible in NVUE, so left out and listed in the file's notes: the PFC watchdog's
  restoration time and action, the AR mode and flowlet gap (the ASIC profile decides), the
  ECMP hash algorithm (only a seed exists).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from hpnctl.errors import RenderError
from hpnctl.model import DeviceModel
from hpnctl.platforms import get_platform
from hpnctl.units import format_bytes, format_speed

STARTUP = "startup.yaml"
NEW_SYNTAX = (5, 15)  # first release with state: enabled|disabled
PEER_GROUP = "FABRIC"
BFD_PROFILE = "FABRIC"
PROFILE = "default-global"
SWITCH_PORT_KINDS = ("uplink", "downlink", "host")
SWITCH_PRIORITIES = range(8)
DSCP_VALUES = range(64)
LOSSY_POOL = "default-lossy"
ROCE_LOSSLESS_POOL = "roce-lossless"
# NVUE ecmp-hash leaves per intent hash field (system forwarding ecmp-hash).
HASH_FIELD = {
    "src-ip": "source-ip", "dst-ip": "destination-ip", "ip-protocol": "ip-protocol",
    "l4-src-port": "source-port", "l4-dst-port": "destination-port", "in-port": "ingress-interface",
    "ipv6-flow-label": "ipv6-label", "inner-src-ip": "inner-source-ip", "inner-dst-ip": "inner-destination-ip",
}
# Polling interval and robustness bounds of the PFC watchdog (NVUE 5.6 command list).
WD_POLL_MS = (100, 5000)
WD_ROBUSTNESS = (1, 1000)
DEFAULT_ALPHA = 1.0  # design/buffers.py assumes alpha 1 for a queue without one
_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")


class Syntax:
    """The words of one NVUE release (see the module docstring for the table)."""

    def __init__(self, release: str):
        m = _RELEASE.match(str(release).strip())
        if not m:
            raise RenderError(f"nvue: release {release!r} is not a Cumulus Linux version such as 5.14 or 5.15")
        self.release = f"{m.group(1)}.{m.group(2)}"
        self.new = (int(m.group(1)), int(m.group(2))) >= NEW_SYNTAX

    def state(self, on: bool) -> dict[str, str]:
        """A feature switch: {enable: on} before 5.15, {state: enabled} from 5.15."""
        if self.new:
            return {"state": "enabled" if on else "disabled"}
        return {"enable": "on" if on else "off"}

    def onoff(self, on: bool) -> str:
        """A boolean leaf: on|off before 5.15, enabled|disabled from 5.15."""
        if self.new:
            return "enabled" if on else "disabled"
        return "on" if on else "off"

    def ecn(self, on: bool) -> str:
        if self.new:
            return "enabled" if on else "disabled"
        return "enable" if on else "disable"

    def watchdog(self) -> str:
        return "enabled" if self.new else "enable"

    def ip_key(self) -> str:
        return "ipv4" if self.new else "ip"


def release_of(model: DeviceModel) -> str:
    """The NVUE release to render for: the intent's override, else the platform default."""
    options = model.get("platform_options") or {}
    return str(options.get("release") or get_platform("nvue").extra["release"])


def build(model: DeviceModel) -> dict[str, Any]:
    """Documents of one NVUE switch: file name → data for its template."""
    syntax = Syntax(release_of(model))
    notes: list[str] = []
    ports = [i for i in model["interfaces"] if i["kind"] in SWITCH_PORT_KINDS]
    interfaces = _interfaces(model, ports, syntax)
    doc: dict[str, Any] = {
        "system": _system(model, syntax),
        "interface": interfaces,
        "router": _router(model, syntax, notes),
        "vrf": _vrf(model, syntax),
    }
    if model["qos"]["classes"]:
        qos, per_port = _qos(model, ports, syntax, notes)
        doc["qos"] = qos
        for name, entry in per_port.items():
            interfaces[name]["qos"] = entry
    for name, entry in _ar_ports(model, ports, syntax, notes).items():
        interfaces[name]["router"] = {"adaptive-routing": entry}
    document = [{"set": {k: v for k, v in doc.items() if v}}]
    return {STARTUP: {"release": syntax.release, "notes": notes, "document": document}}


# --- system, interfaces ------------------------------------------------------------------


def _system(model: DeviceModel, syntax: Syntax) -> dict[str, Any]:
    system: dict[str, Any] = {"hostname": model["hostname"]}
    fields = model["ecmp"]["hash_fields"]
    unknown = [f for f in fields if f not in HASH_FIELD]
    if unknown:
        raise RenderError(f"{model['hostname']}: NVUE has no ECMP hash field for {', '.join(unknown)}")
    if model["features"].get("ecmp-hash", True):
        system["forwarding"] = {"ecmp-hash": {leaf: syntax.onoff(f in fields) for f, leaf in HASH_FIELD.items()}}
    return system


def _interfaces(model: DeviceModel, ports: list[dict], syntax: Syntax) -> dict[str, Any]:
    ip = syntax.ip_key()
    out: dict[str, Any] = {}
    mgmt = model["mgmt"]
    if mgmt.get("ip"):
        eth: dict[str, Any] = {"type": "eth", ip: {"address": {f"{mgmt['ip']}/{mgmt['prefixlen']}": {}}}}
        if mgmt.get("gateway"):
            eth[ip]["gateway"] = {mgmt["gateway"]: {}}
        if syntax.new:
            eth["vrf"] = "mgmt"
        else:
            eth[ip]["vrf"] = "mgmt"
        out[mgmt["interface"]] = eth
    if model["loopback"]:
        out["lo"] = {"type": "loopback", ip: {"address": {f"{model['loopback']}/32": {}}}}
    breakouts = _breakouts(ports)
    for parent, count in breakouts.items():
        out[parent] = {"type": "swp", "link": {"breakout": {f"{count}x": {}}}}
    for itf in sorted(ports, key=_port_order):
        entry: dict[str, Any] = {"type": "swp", "description": itf["description"],
                                 "link": {"mtu": itf["mtu"], "speed": itf["speed"]}}
        if itf["ip"]:
            entry[ip] = {"address": {itf["ip"]: {}}}
        out[itf["name"]] = entry
    return out


def _breakouts(ports: list[dict]) -> dict[str, int]:
    """Parent port → member count, for ports named swpNsM."""
    members: Counter = Counter()
    for itf in ports:
        m = re.match(r"^(swp\d+)s\d+$", itf["name"])
        if m:
            members[m.group(1)] += 1
    return dict(members)


def _port_order(itf: dict) -> tuple:
    nums = [int(n) for n in re.findall(r"\d+", itf["name"])]
    return (itf["port"], nums)


# --- routing -----------------------------------------------------------------------------


def _router(model: DeviceModel, syntax: Syntax, notes: list[str]) -> dict[str, Any]:
    bgp = model["bgp"]
    router: dict[str, Any] = {}
    if model["asn"] is not None:
        router["bgp"] = {**syntax.state(True), "autonomous-system": bgp["asn"], "router-id": bgp["router_id"]}
    if bgp["bfd"] and syntax.new:
        router["bfd"] = {**syntax.state(True), "profile": {BFD_PROFILE: _bfd_timers(bgp["bfd"])}}
    ar = model["adaptive_routing"]
    if ar is not None:
        router["adaptive-routing"] = {**syntax.state(True), "link-utilization-threshold": syntax.onoff(True)}
        notes.append(f"adaptive routing: mode {ar['mode']} and flowlet gap {ar['flowlet_idle_us']:g} us are set by "
                     "the Spectrum AR profile, not by NVUE")
    return router


def _bfd_timers(bfd: dict) -> dict[str, int]:
    return {"detect-multiplier": bfd["multiplier"], "min-rx-interval": bfd["interval_ms"],
            "min-tx-interval": bfd["interval_ms"]}


def _vrf(model: DeviceModel, syntax: Syntax) -> dict[str, Any]:
    bgp = model["bgp"]
    if model["asn"] is None:
        return {}
    group: dict[str, Any] = {
        "timers": {"keepalive": bgp["keepalive"], "hold": bgp["hold"]},
        "address-family": {"ipv4-unicast": syntax.state(True)},
    }
    if bgp["bfd"]:
        if syntax.new:
            group["bfd"] = {**syntax.state(True), "profile": BFD_PROFILE}
        else:
            group["bfd"] = {**syntax.state(True), **_bfd_timers(bgp["bfd"])}
    neighbors = {
        n["ip"]: {"peer-group": PEER_GROUP, "remote-as": n["asn"], "type": "numbered", "description": n["description"]}
        for n in bgp["neighbors"]
    }
    router_bgp: dict[str, Any] = {
        **syntax.state(True),
        "address-family": {"ipv4-unicast": {
            **syntax.state(True),
            "network": {prefix: {} for prefix in bgp["networks"]},
            "multipaths": {"ebgp": bgp["max_paths"]},
        }},
        "path-selection": {"multipath": {"aspath-ignore": syntax.onoff(True)}},
        "peer-group": {PEER_GROUP: group},
        "neighbor": neighbors,
    }
    return {"default": {"router": {"bgp": router_bgp}}}


# --- QoS ---------------------------------------------------------------------------------


def _qos(model: DeviceModel, ports: list[dict], syntax: Syntax, notes: list[str]) -> tuple[dict, dict]:
    """The global qos tree, and the per-port qos entries (ECN profile binding, PFC watchdog)."""
    q = model["qos"]
    feats = model["features"]
    classes = q["classes"]
    owner = _queue_owners(classes)
    qos: dict[str, Any] = {}
    lossless = q["pfc"]["enabled"]
    if feats.get("pfc") or feats.get("ecn"):
        qos["roce"] = {**syntax.state(True), "mode": "lossless" if lossless else "lossy",
                       "cable-length": _cable_length(q["pfc"]["cable_length_m"])}
    qos["mapping"] = {PROFILE: {
        "trust": "l3",
        "dscp": {str(d): {"switch-priority": q["dscp_to_tc"][d]} for d in DSCP_VALUES},
    }}
    qos["egress-queue-mapping"] = {PROFILE: {"switch-priority": {
        str(sp): {"traffic-class": q["tc_to_queue"][sp]} for sp in SWITCH_PRIORITIES}}}
    if feats.get("scheduler", True):
        qos["egress-scheduler"] = {PROFILE: {"traffic-class": _scheduler(owner)}}
    cc = _congestion_control(q, owner, ports, syntax)
    if cc:
        qos["congestion-control"] = cc["profiles"]
    if lossless:
        qos["pfc"] = {PROFILE: {
            "switch-priority": {str(sp): {} for sp in q["pfc"]["priorities"]},
            "tx": "enable", "rx": "enable",
            "cable-length": _cable_length(q["pfc"]["cable_length_m"]),
        }}
        for speed, h in sorted(q["pfc"]["headroom"].items()):
            notes.append(f"PFC headroom at {format_speed(speed)} (hpnctl's estimate; switchd sizes it from "
                         f"cable-length): xoff {format_bytes(h['xoff'])}, xon {format_bytes(h['xon'])}")
        wd = q["pfc"]["watchdog"]
        if wd is not None:
            poll = min(max(int(wd["poll_ms"]), WD_POLL_MS[0]), WD_POLL_MS[1])
            robustness = min(max(math.ceil(wd["detection_ms"] / poll), WD_ROBUSTNESS[0]), WD_ROBUSTNESS[1])
            qos["pfc-watchdog"] = {"polling-interval": poll, "robustness": robustness}
            notes.append(f"PFC watchdog: storm detected after {robustness} × {poll} ms; restoration "
                         f"{wd['restoration_ms']} ms and action '{wd['action']}' are fixed by Cumulus Linux")
    if q["buffer"]["enabled"] and lossless:
        qos["traffic-pool"] = _traffic_pools(model, classes, ports)
    return qos, _interface_qos(ports, cc, lossless and q["pfc"]["watchdog"] is not None, syntax)


def _queue_owners(classes: list[dict]) -> dict[int, dict]:
    """Queue → the class whose policy the queue carries (lowest TC first, as the design checks)."""
    owner: dict[int, dict] = {}
    for c in sorted(classes, key=lambda c: c["tc"]):
        owner.setdefault(c["queue"], c)
    return owner


def _cable_length(meters: float) -> int:
    return min(max(math.ceil(meters), 1), 100_000)


def _scheduler(owner: dict[int, dict]) -> dict[str, dict]:
    """Strict queues as strict; DWRR shares as whole percentages that still add up to ≤ 100."""
    dwrr = {q: c["bandwidth_percent"] or 0 for q, c in owner.items() if c["scheduler"] == "dwrr"}
    shares = _whole_percents(dwrr)
    out = {}
    for queue in sorted(owner):
        if owner[queue]["scheduler"] == "strict":
            out[str(queue)] = {"mode": "strict"}
        else:
            out[str(queue)] = {"mode": "dwrr", "bw-percent": shares[queue]}
    return out


def _whole_percents(parts: dict[int, float]) -> dict[int, int]:
    """Largest-remainder rounding to integers ≥ 1 whose sum is round(Σ parts) (never above 100)."""
    if not parts:
        return {}
    target = min(round(sum(parts.values())), 100)
    floors = {k: max(int(math.floor(v)), 1) for k, v in parts.items()}
    left = target - sum(floors.values())
    for k in sorted(parts, key=lambda k: (-(parts[k] - math.floor(parts[k])), k)):
        if left <= 0:
            break
        floors[k] += 1
        left -= 1
    return floors


def _congestion_control(q: dict, owner: dict[int, dict], ports: list[dict], syntax: Syntax) -> dict | None:
    """ECN per traffic class: default-global at the most common port speed, ecn-<speed> profiles for the rest."""
    if not owner:
        return None
    speeds = Counter(p["speed_mbps"] for p in ports)
    if not speeds:
        return None
    main = max(speeds, key=lambda s: (speeds[s], s))
    profiles: dict[str, Any] = {PROFILE: {"traffic-class": _ecn_classes(owner, main, syntax)}}
    bind: dict[int, str] = {}
    for speed in sorted(speeds):
        if speed == main:
            continue
        name = f"ecn-{format_speed(speed).lower()}"
        profiles[name] = {"traffic-class": _ecn_classes(owner, speed, syntax)}
        bind[speed] = name
    return {"profiles": profiles, "bind": bind}


def _ecn_classes(owner: dict[int, dict], speed: int, syntax: Syntax) -> dict[str, dict]:
    out = {}
    for queue in sorted(owner):
        ecn = owner[queue]["ecn"]
        t = (ecn or {}).get(speed)
        if t is None:
            out[str(queue)] = {"ecn": syntax.ecn(False)}
        else:
            out[str(queue)] = {"ecn": syntax.ecn(True), "min-threshold": int(t["kmin"]),
                               "max-threshold": int(t["kmax"]),
                               "probability": min(max(int(round(t["pmax"])), 1), 100)}
    return out


def _traffic_pools(model: DeviceModel, classes: list[dict], ports: list[dict]) -> dict[str, Any]:
    """The lossless and the lossy pool, sized from the buffer plan (see module docstring)."""
    buf = model["qos"]["buffer"]
    n = max(len(ports), 1)
    weight = {c["name"]: _alpha_share(c) for c in classes}
    total_weight = sum(weight.values()) or 1.0
    shared = max(buf["shared_bytes"], 0)
    lossless_bytes = buf["headroom_bytes"]
    for c in classes:
        if c["lossless"]:
            lossless_bytes += (c["reserve_bytes"] or 0) * n + shared * weight[c["name"]] / total_weight
    percent = min(max(round(100 * lossless_bytes / buf["total_bytes"]), 1), 99)
    lossless_sps = sorted(model["qos"]["pfc"]["priorities"])
    lossy_sps = [sp for sp in SWITCH_PRIORITIES if sp not in lossless_sps]
    return {
        LOSSY_POOL: {"memory-percent": 100 - percent, "switch-priority": {str(sp): {} for sp in lossy_sps}},
        ROCE_LOSSLESS_POOL: {"memory-percent": percent, "switch-priority": {str(sp): {} for sp in lossless_sps}},
    }


def _alpha_share(c: dict) -> float:
    if c["static_limit"]:
        return 0.0
    alpha = c["alpha"] if c["alpha"] is not None else DEFAULT_ALPHA
    return alpha / (1 + alpha)


def _interface_qos(ports: list[dict], cc: dict | None, watchdog: bool, syntax: Syntax) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for itf in ports:
        entry: dict[str, Any] = {}
        profile = (cc or {}).get("bind", {}).get(itf["speed_mbps"])
        if profile:
            entry["congestion-control"] = {"profile": profile}
        if watchdog:
            entry["pfc-watchdog"] = {"state": syntax.watchdog()}
        if entry:
            out[itf["name"]] = entry
    return out


# --- adaptive routing --------------------------------------------------------------------


def _ar_ports(model: DeviceModel, ports: list[dict], syntax: Syntax, notes: list[str]) -> dict[str, dict]:
    """interface.<port>.router.adaptive-routing for the AR ports the ASIC can do AR on."""
    ar = model["adaptive_routing"]
    if ar is None:
        return {}
    limit = get_platform("nvue").extra.get("adaptive_routing_max_speed_mbps")
    speed = {p["name"]: p["speed_mbps"] for p in ports}
    out: dict[str, dict] = {}
    too_fast = []
    for name in ar["interfaces"]:
        if name not in speed:
            continue
        if limit and speed[name] > limit:
            too_fast.append(name)
            continue
        out[name] = {**syntax.state(True), "link-utilization-threshold": ar["link_utilization_threshold"]}
    if too_fast:
        notes.append(f"adaptive routing left off on {', '.join(too_fast)}: Spectrum does AR only up to "
                     f"{format_speed(limit)} per link")
    return out
