"""Linux data-plane numbers for the linux platform's templates (qos.sh, sysctl.conf).

The kernel enforces the QoS plan with HTB (strict classes: prio 0 and the link
rate; DWRR classes: prio 1 and their share as guaranteed rate), u32 filters on
the DSCP bits of the ToS byte, and per-class leaf qdiscs: RED with ECN marking
for ECN-on classes (where the kernel has sch_red), bfifo with the class's queue
limit for the others.  PFC and adaptive routing do not exist in the kernel.
"""
from __future__ import annotations

from hpnctl.model import DeviceModel

# net.ipv4.fib_multipath_hash_fields bits (Documentation/networking/ip-sysctl.rst)
HASH_FIELD_BITS = {
    "src-ip": 0x0001, "dst-ip": 0x0002, "ip-protocol": 0x0004, "ipv6-flow-label": 0x0008,
    "l4-src-port": 0x0010, "l4-dst-port": 0x0020, "inner-src-ip": 0x0040, "inner-dst-ip": 0x0080,
}
AVPKT = 1500
MIN_QUEUE_LIMIT = 64 * 1024


def class_id(queue: int) -> str:
    """HTB class of a queue: 1:1<queue> (hex minor, e.g. queue 3 → 1:13)."""
    return f"1:1{queue:x}"


def build(model: DeviceModel) -> dict[str, dict]:
    qos = model["qos"]
    mask = 0
    for field in model["ecmp"]["hash_fields"]:
        mask |= HASH_FIELD_BITS.get(field, 0)
    ports = []
    for itf in model["interfaces"]:
        if itf["kind"] not in ("uplink", "downlink", "host"):
            continue
        ports.append({"name": itf["name"], "mtu": itf["mtu"], "rate_mbit": itf["speed_mbps"],
                      "classes": _classes(qos, itf["speed_mbps"])})
    default = next((c for c in qos["classes"] if c["kind"] == "default"), None)
    default_queue = default["queue"] if default else min(qos["queues"])
    filters = [{"tos": f"0x{dscp << 2:02x}", "classid": class_id(c["queue"]), "dscp": dscp}
               for c in qos["classes"] for dscp in c["dscp"]]
    return {
        "qos.sh": {"ports": ports, "filters": sorted(filters, key=lambda f: f["dscp"]),
                   "default_classid": class_id(default_queue).split(":")[1]},
        "sysctl.conf": {"hash_fields_mask": f"0x{mask:04x}", "ecn_enabled": qos["ecn_enabled"]},
    }


def _classes(qos: dict, speed_mbps: int) -> list[dict]:
    seen = set()
    out = []
    for c in qos["classes"]:
        if c["queue"] in seen:  # classes sharing a queue share its HTB class
            continue
        seen.add(c["queue"])
        strict = c["scheduler"] == "strict"
        rate = speed_mbps if strict else max(1, int(speed_mbps * (c["bandwidth_percent"] or 0) / 100))
        limit = max(c["queue_limit_bytes"], MIN_QUEUE_LIMIT)
        # HTB lends spare bandwidth among classes of one prio in proportion to their quantum.
        quantum = 151400 if strict else 1514 * (c["weight"] or 1)
        entry = {"name": c["name"], "queue": c["queue"], "classid": class_id(c["queue"]), "prio": 0 if strict else 1,
                 "quantum": quantum,
                 "rate_mbit": rate, "ceil_mbit": speed_mbps, "limit": limit, "red": None}
        ecn = (c["ecn"] or {}).get(speed_mbps)
        if ecn:
            kmax = min(ecn["kmax"], limit - AVPKT)
            kmin = min(ecn["kmin"], kmax - AVPKT)
            entry["red"] = {"min": kmin, "max": kmax, "limit": limit, "probability": round(ecn["pmax"] / 100, 4),
                            # RED's burst in packets: (2·min + max) / (3·avpkt), the tc-red(8) rule of thumb
                            "burst": max(1, (2 * kmin + kmax) // (3 * AVPKT)), "avpkt": AVPKT}
        out.append(entry)
    return out
