"""An hpnctl DeviceModel expressed as an AVD `eos_cli_config_gen` structured config.

Used only by the pyavd cross-check (tests/render/test_eos_vs_pyavd.py): pyavd
renders this with Arista's own templates, and the test compares the result with
hpnctl's templates/eos output.  The translation is written here independently of
the templates (from AVD's schema, not by reading our Jinja), so a template that
drifts from EOS syntax shows up as a difference instead of being copied.

Arithmetic and unit conversions are fine here (it is a test helper); the
templates must receive the same numbers from the model.
"""
from __future__ import annotations

from typing import Any

# Port speed (Mb/s) → EOS `speed` keyword.  AVD's schema only accepts listed
# values, so a wrong keyword fails validation (800G exists only as 800g-8/800g-4).
# Same assumption as the templates: the whole 8-lane port.
_SPEED = {10000: "10g", 25000: "25g", 40000: "40g", 50000: "50g", 100000: "100g",
          200000: "200g", 400000: "400g", 800000: "800g-8", 1600000: "1.6t-8"}

_WATCHDOG_ACTION = {"drop": "drop", "alert": "notify-only"}


def profile_name(model: dict, speed_mbps: int) -> str:
    speeds = model["qos"]["port_speeds"]
    return "HPN" if len(speeds) == 1 else f"HPN-{speed_mbps // 1000}G"


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}"


def _grouped_map(mapping: dict[int, int], target: str) -> list[str]:
    """{26: 3, 27: 0, …} → ["0 … 27 to traffic-class 0", "26 to traffic-class 3"] (AVD's string form)."""
    groups: dict[int, list[int]] = {}
    for src, dst in sorted(mapping.items()):
        groups.setdefault(dst, []).append(src)
    return [f"{' '.join(map(str, srcs))} to {target} {dst}" for dst, srcs in sorted(groups.items())]


def _tx_queue(model: dict, cls: dict, speed: int) -> dict[str, Any]:
    q: dict[str, Any] = {"id": cls["queue"]}
    if model["features"]["scheduler"]:
        if cls["scheduler"] == "strict":
            q["priority"] = "priority strict"
        else:
            q["priority"] = "no priority"
            q["bandwidth_percent"] = int(round(cls["bandwidth_percent"]))
    if cls["ecn"]:
        t = cls["ecn"][speed]
        q["random_detect"] = {"ecn": {"threshold": {
            "units": "kbytes", "min": t["kmin"] // 1000, "max": t["kmax"] // 1000,
            "max_probability": int(round(t["pmax"])),
        }}}
    return q


def _qos_profiles(model: dict) -> list[dict]:
    qos = model["qos"]
    profiles = []
    for speed in qos["port_speeds"]:
        prof: dict[str, Any] = {
            "name": profile_name(model, speed),
            "trust": "dscp",
            "tx_queues": [_tx_queue(model, c, speed) for c in qos["classes"]],
        }
        if qos["pfc"]["enabled"]:
            prof["priority_flow_control"] = {
                "enabled": True,
                "priorities": [{"priority": p, "no_drop": True} for p in qos["pfc"]["priorities"]],
            }
            if qos["pfc"]["watchdog"]:
                prof["priority_flow_control"]["watchdog"] = {"enabled": True}
        profiles.append(prof)
    return profiles


def _ethernet_interfaces(model: dict) -> list[dict]:
    out = []
    for itf in model["interfaces"]:
        e: dict[str, Any] = {
            "name": itf["name"], "description": itf["description"], "mtu": itf["mtu"],
            "speed": _SPEED[itf["speed_mbps"]], "switchport": {"enabled": False},
        }
        if itf["ip"]:
            e["ip_address"] = itf["ip"]
        if model["qos"]["classes"]:
            e["service_profile"] = profile_name(model, itf["speed_mbps"])
        out.append(e)
    return out


def _router_bgp(model: dict) -> dict:
    bgp = model["bgp"]
    neighbors = []
    for n in bgp["neighbors"]:
        nb: dict[str, Any] = {"ip_address": n["ip"], "remote_as": str(n["asn"]), "description": n["description"]}
        if bgp["bfd"]:
            nb["bfd"] = True
        neighbors.append(nb)
    rb: dict[str, Any] = {
        "as": str(bgp["asn"]),
        "router_id": bgp["router_id"],
        "timers": {"keepalive_time": bgp["keepalive"], "hold_time": bgp["hold"]},
        "maximum_paths": {"paths": bgp["max_paths"], "ecmp": bgp["max_paths"]},
        "bgp_defaults": ["bgp bestpath as-path multipath-relax"],
        "neighbors": neighbors,
    }
    if bgp["networks"]:
        rb["address_family_ipv4"] = {"networks": [{"prefix": p} for p in bgp["networks"]]}
    return rb


def avd_structured_config(model: dict) -> dict:
    """The eos_cli_config_gen structured config equivalent to hpnctl's EOS startup-config."""
    qos = model["qos"]
    mgmt = model["mgmt"]
    sc: dict[str, Any] = {
        "hostname": model["hostname"],
        "service_routing_protocols_model": "multi-agent",
        "ip_routing": True,
        "config_end": True,
    }
    if mgmt["ip"]:
        sc["vrfs"] = [{"name": "MGMT"}]
        sc["management_interfaces"] = [{"name": mgmt["interface"], "vrf": "MGMT",
                                        "ip_address": f"{mgmt['ip']}/{mgmt['prefixlen']}"}]
        if mgmt["gateway"]:
            sc["static_routes"] = [{"vrf": "MGMT", "prefix": "0.0.0.0/0", "next_hop": mgmt["gateway"]}]
    if model["loopback"]:
        sc["loopback_interfaces"] = [{"name": "Loopback0", "ip_address": f"{model['loopback']}/32"}]
    if model["interfaces"]:
        sc["ethernet_interfaces"] = _ethernet_interfaces(model)
    if qos["classes"]:
        sc["qos"] = {"map": {"dscp": _grouped_map(qos["dscp_to_tc"], "traffic-class"),
                             "traffic_class": _grouped_map(qos["tc_to_queue"], "tx-queue")}}
        sc["qos_profiles"] = _qos_profiles(model)
    wd = qos["pfc"]["watchdog"]
    if wd:
        sc["priority_flow_control"] = {"watchdog": {
            "timeout": _seconds(wd["detection_ms"]), "recovery_time": _seconds(wd["restoration_ms"]),
            "polling_interval": _seconds(wd["poll_ms"]), "action": _WATCHDOG_ACTION[wd["action"]],
        }}
    if model["adaptive_routing"]:
        dyn: dict[str, Any] = {"enabled": True}
        if "flow_set_size" in model["adaptive_routing"]:
            dyn["flow_set_size"] = model["adaptive_routing"]["flow_set_size"]
        sc["ip_hardware"] = {"fib": {"load_balance_distribution": {"dynamic": dyn}}}
    if model["bgp"]["bfd"]:
        bfd = model["bgp"]["bfd"]
        sc["router_bfd"] = {"interval": bfd["interval_ms"], "min_rx": bfd["interval_ms"], "multiplier": bfd["multiplier"]}
    if model["bgp"]["asn"] is not None:
        sc["router_bgp"] = _router_bgp(model)
    return sc
