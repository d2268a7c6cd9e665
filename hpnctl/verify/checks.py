"""Operational checks, declared as data: per platform, a driver `collect` name + a judge of its parsed output.

A judge is a plain function `judge(data, expectation) -> list[Finding]`; it
never talks to a device.  A check tied to a feature is skipped (with the
platform's reason) where the platform lacks the feature, and skipped as "not
requested" where the intent does not ask for it.  The collect names are the
ones every driver answers (bgp_summary, ecmp_routes, interfaces, qos_profile,
pfc, dlb, hash), so a vendor's checks run as soon as its driver exists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal

from hpnctl.verify.expect import Expectation

Status = Literal["pass", "fail", "warn", "skip", "error"]
RANK = {"pass": 0, "skip": 1, "warn": 2, "fail": 3, "error": 4}


@dataclass(frozen=True)
class Finding:
    status: Status
    message: str

    def as_dict(self) -> dict:
        return {"status": self.status, "message": self.message}


Judge = Callable[[Any, Expectation], list[Finding]]


@dataclass(frozen=True)
class Check:
    name: str
    collect: str | None  # the driver's collect name; None = nothing to run (always skipped with a reason)
    judge: Judge | None
    feature: str | None = None  # platform feature the check is about (skip when unsupported / not requested)
    description: str = ""


@dataclass
class CheckResult:
    name: str
    status: Status
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "findings": [f.as_dict() for f in self.findings]}


def worst(statuses: Iterable[str]) -> Status:
    result: Status = "pass"
    for s in statuses:
        if RANK[s] > RANK[result]:
            result = s  # type: ignore[assignment]
    return result


def check_status(findings: list[Finding]) -> Status:
    """Worst finding, where a skipped detail next to a pass does not turn the check into a skip."""
    real = [f.status for f in findings if f.status != "skip"]
    return worst(real) if real else "skip"


def skipped(check: Check, exp: Expectation) -> CheckResult | None:
    """The skip result when the platform lacks the check's feature or the intent does not ask for it."""
    if check.feature is None:
        return None
    if check.feature in exp.unsupported:
        return CheckResult(check.name, "skip", [Finding("skip", f"unsupported on {exp.platform}: {exp.unsupported[check.feature]}")])
    if check.feature in exp.requested and not exp.requested[check.feature]:
        return CheckResult(check.name, "skip", [Finding("skip", "not requested by the intent")])
    return None


# --------------------------------------------------------------------------- BGP

def _norm_state(state: Any) -> str:
    s = str(state or "unknown")
    return "Established" if s.lower() == "established" else s


def bgp_peers(data: Any) -> dict[str, tuple[str, int | None]]:
    """peer IP → (state, remote AS) from FRR (`show bgp summary json`, with or without the AFI wrapper),
    EOS (`vrfs.default.peers`), NVUE (neighbor → {state, remote-as}) and SR Linux (list of neighbors)."""
    out: dict[str, tuple[str, int | None]] = {}

    def asn(v: Any) -> int | None:
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    def from_peer_map(peers: dict) -> None:
        for ip, info in peers.items():
            if not isinstance(info, dict):
                continue
            state = info.get("state") or info.get("peerState") or info.get("session-state")
            remote = info.get("remoteAs", info.get("asn", info.get("remote-as", info.get("peer-as"))))
            out[str(ip)] = (_norm_state(state), asn(remote))

    if isinstance(data, dict):
        if "ipv4Unicast" in data or "ipv6Unicast" in data:
            for fam in ("ipv4Unicast", "ipv6Unicast"):
                if isinstance(data.get(fam), dict):
                    from_peer_map(data[fam].get("peers") or {})
        elif isinstance(data.get("peers"), dict):
            from_peer_map(data["peers"])
        elif isinstance(data.get("vrfs"), dict):
            from_peer_map((data["vrfs"].get("default") or {}).get("peers") or {})
        elif isinstance(data.get("neighbor"), (dict, list)):
            return bgp_peers(data["neighbor"])
        else:
            from_peer_map(data)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                ip = item.get("peer-address") or item.get("neighbor") or item.get("address")
                if ip:
                    from_peer_map({ip: item})
    return out


def judge_bgp(data: Any, exp: Expectation) -> list[Finding]:
    """Every intended peer Established with the intended AS; no session hpnctl did not configure."""
    peers = bgp_peers(data)
    findings: list[Finding] = []
    for ip, want_asn in sorted(exp.peers.items()):
        if ip not in peers:
            findings.append(Finding("fail", f"peer {ip} (AS {want_asn}): not configured"))
            continue
        state, have_asn = peers[ip]
        if have_asn is not None and have_asn != want_asn:
            findings.append(Finding("fail", f"peer {ip}: remote AS {have_asn}, intended {want_asn}"))
        elif state != "Established":
            findings.append(Finding("fail", f"peer {ip} (AS {want_asn}): {state}"))
    for ip in sorted(set(peers) - set(exp.peers)):
        findings.append(Finding("fail", f"peer {ip}: not in the intent ({peers[ip][0]})"))
    if not findings:
        findings.append(Finding("pass", f"{len(exp.peers)}/{len(exp.peers)} intended peers Established"))
    return findings


# --------------------------------------------------------------------------- ECMP

def _route_nexthops_linux(routes: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in routes or []:
        dst = str(r.get("dst", ""))
        dst = dst[:-3] if dst.endswith("/32") else dst
        if r.get("nexthops"):
            out[dst] = len(r["nexthops"])
        elif r.get("gateway") or r.get("dev"):
            out[dst] = 1
    return out


def _route_nexthops_frr(routes: Any) -> dict[str, int]:
    """FRR `show ip route json`: prefix → [route entries]; the selected one's active next hops."""
    out: dict[str, int] = {}
    for prefix, entries in (routes or {}).items():
        for e in entries if isinstance(entries, list) else []:
            if e.get("selected"):
                hops = [h for h in e.get("nexthops", []) if h.get("active", True)]
                out[prefix.removesuffix("/32")] = len(hops)
    return out


def _route_nexthops_eos(routes: Any) -> dict[str, int]:
    table = ((routes or {}).get("vrfs", {}).get("default", {}) or {}).get("routes", {})
    return {p.removesuffix("/32"): len(r.get("vias", [])) for p, r in table.items()}


def judge_ecmp(nexthops: Callable[[Any], dict[str, int]]) -> Judge:
    def judge(data: Any, exp: Expectation) -> list[Finding]:
        have = nexthops(data)
        findings: list[Finding] = []
        for loop, (owner, want) in sorted(exp.ecmp.items()):
            got = have.get(loop, 0)
            if got != want:
                findings.append(Finding("fail", f"{loop} ({owner}): {got} next hop(s), expected {want}"))
        if not findings:
            findings.append(Finding("pass", f"{len(exp.ecmp)} remote loopbacks, each with the expected next-hop count"
                                    if exp.ecmp else "no remote loopback to check"))
        return findings
    judge.__name__ = f"judge_ecmp_{nexthops.__name__}"
    return judge


def judge_hash_linux(data: Any, exp: Expectation) -> list[Finding]:
    """net.ipv4.fib_multipath_hash_policy = 3 (custom) and the fields mask of the intent."""
    want = int(exp.linux["sysctl.conf"]["hash_fields_mask"], 16) if exp.linux else None
    if not data:
        return [Finding("fail", "no multipath hash sysctls")]
    findings = []
    if data.get("policy") != 3:
        findings.append(Finding("fail", f"fib_multipath_hash_policy = {data.get('policy')}, expected 3 (custom fields)"))
    if want is not None and data.get("fields") != want:
        findings.append(Finding("fail", f"fib_multipath_hash_fields = 0x{data.get('fields', 0):04x}, expected 0x{want:04x} "
                                        f"({', '.join(exp.model['ecmp']['hash_fields'])})"))
    return findings or [Finding("pass", f"hash fields {', '.join(exp.model['ecmp']['hash_fields'])}")]


# --------------------------------------------------------------------------- interfaces

def judge_interfaces_linux(data: Any, exp: Expectation) -> list[Finding]:
    """Intended ports exist, are up, carry the intended MTU; speed where the NIC has one."""
    links = {link["ifname"]: link for link in (data or {}).get("links", [])}
    speeds = (data or {}).get("speed", {})
    findings: list[Finding] = []
    virtual = []
    for name, want in sorted(exp.interfaces.items()):
        link = links.get(name)
        if link is None:
            findings.append(Finding("fail", f"{name}: missing"))
            continue
        if link.get("operstate") != "UP":
            findings.append(Finding("fail", f"{name}: {link.get('operstate', 'unknown')}"))
        if link.get("mtu") != want["mtu"]:
            findings.append(Finding("fail", f"{name}: MTU {link.get('mtu')}, intended {want['mtu']}"))
        kind = (link.get("linkinfo") or {}).get("info_kind")
        if kind in ("veth", "dummy", "bridge", "vxlan", "macvlan"):
            virtual.append(name)
        elif speeds.get(name) is not None and speeds[name] > 0 and speeds[name] != want["speed_mbps"]:
            findings.append(Finding("fail", f"{name}: speed {speeds[name]} Mb/s, intended {want['speed_mbps']} Mb/s"))
    if not findings:
        findings.append(Finding("pass", f"{len(exp.interfaces)} interfaces up with the intended MTU"))
    if virtual:
        findings.append(Finding("skip", f"speed not checked on virtual interfaces ({', '.join(virtual)}): no line rate"))
    return findings


def _interfaces_generic(rows: dict[str, dict[str, Any]], exp: Expectation) -> list[Finding]:
    findings: list[Finding] = []
    for name, want in sorted(exp.interfaces.items()):
        row = rows.get(name)
        if row is None:
            findings.append(Finding("fail", f"{name}: missing"))
            continue
        if row.get("up") is False:
            findings.append(Finding("fail", f"{name}: {row.get('state', 'down')}"))
        if row.get("mtu") not in (None, want["mtu"]):
            findings.append(Finding("fail", f"{name}: MTU {row['mtu']}, intended {want['mtu']}"))
        if row.get("speed_mbps") not in (None, want["speed_mbps"]):
            findings.append(Finding("fail", f"{name}: speed {row['speed_mbps']} Mb/s, intended {want['speed_mbps']} Mb/s"))
    return findings or [Finding("pass", f"{len(exp.interfaces)} interfaces up")]


def _speed_mbps(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value // 1_000_000) if value > 10_000_000 else int(value)
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([GMK]?)", str(value))
    if not m:
        return None
    return int(float(m.group(1)) * {"G": 1000, "M": 1, "K": 0.001, "": 1}[m.group(2)])


def judge_interfaces_eos(data: Any, exp: Expectation) -> list[Finding]:
    rows = {}
    for name, s in ((data or {}).get("interfaceStatuses") or {}).items():
        rows[name] = {"up": s.get("linkStatus") == "connected", "state": s.get("linkStatus"),
                      "speed_mbps": _speed_mbps(s.get("bandwidth"))}
    return _interfaces_generic(rows, exp)


def judge_interfaces_sonic(data: Any, exp: Expectation) -> list[Finding]:
    rows = {}
    for r in data or []:
        low = {str(k).lower(): v for k, v in r.items()}
        name = low.get("interface")
        if name:
            mtu = low.get("mtu")
            rows[name] = {"up": str(low.get("oper", "")).lower() == "up", "state": low.get("oper"),
                          "mtu": int(mtu) if str(mtu).isdigit() else None, "speed_mbps": _speed_mbps(low.get("speed"))}
    return _interfaces_generic(rows, exp)


def judge_interfaces_nvue(data: Any, exp: Expectation) -> list[Finding]:
    rows = {}
    for name, s in (data or {}).items():
        link = (s or {}).get("link", {}) if isinstance(s, dict) else {}
        rows[name] = {"up": link.get("oper-status") == "up", "state": link.get("oper-status"),
                      "mtu": link.get("mtu"), "speed_mbps": _speed_mbps(link.get("speed"))}
    return _interfaces_generic(rows, exp)


# --------------------------------------------------------------------------- QoS (linux: tc)

_HTB_CLASS = re.compile(r"^class htb (?P<id>\S+) (?:root|parent (?P<parent>\S+))(?: leaf (?P<leaf>\S+))?"
                        r"(?: prio (?P<prio>\d+))?.*? rate (?P<rate>\S+) ceil (?P<ceil>\S+)")
_FLOWID = re.compile(r"\*?flowid (\S+)")
_MATCH = re.compile(r"match ([0-9a-f]{8})/([0-9a-f]{8}) at 0")
_RATE_UNITS = {"bit": 1e-6, "Kbit": 1e-3, "Mbit": 1, "Gbit": 1e3, "Tbit": 1e6}


def rate_mbit(text: str) -> float | None:
    m = re.match(r"^(\d+(?:\.\d+)?)([KMGT]?bit)$", text)
    return float(m.group(1)) * _RATE_UNITS[m.group(2)] if m else None


def parse_htb_classes(text: str) -> dict[str, dict[str, Any]]:
    out = {}
    for line in (text or "").splitlines():
        m = _HTB_CLASS.match(line.strip())
        if m:
            out[m.group("id")] = {"parent": m.group("parent"), "prio": int(m.group("prio")) if m.group("prio") else None,
                                  "rate_mbit": rate_mbit(m.group("rate")), "ceil_mbit": rate_mbit(m.group("ceil"))}
    return out


def parse_u32_dscp(text: str) -> dict[int, str]:
    """DSCP → flowid from `tc filter show` (u32 match on the ToS byte with mask 0xfc)."""
    out: dict[int, str] = {}
    flowid = None
    for line in (text or "").splitlines():
        m = _FLOWID.search(line)
        if m:
            flowid = m.group(1)
            continue
        m = _MATCH.search(line)
        if m and flowid:
            value, mask = int(m.group(1), 16), int(m.group(2), 16)
            if (mask >> 16) & 0xff == 0xfc:
                out[((value >> 16) & 0xff) >> 2] = flowid
            flowid = None
    return out


def _leaf_qdiscs(data: Any) -> dict[tuple[str, str], dict]:
    return {(q.get("dev", ""), q.get("parent", "")): q for q in (data or {}).get("qdiscs", []) if q.get("parent")}


def _qdiscs_by_dev(data: Any) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for q in (data or {}).get("qdiscs", []):
        out.setdefault(q.get("dev", ""), []).append(q)
    return out


def judge_qos_linux(data: Any, exp: Expectation) -> list[Finding]:
    """Per port: HTB root, one class per queue with the intended prio/rate/ceil, the leaf qdisc's limit,
    and the DSCP → class filters."""
    if not exp.linux:
        return [Finding("skip", "no linux QoS plan")]
    doc = exp.linux["qos.sh"]
    by_dev = _qdiscs_by_dev(data)
    findings: list[Finding] = []
    for port in doc["ports"]:
        dev = port["name"]
        qdiscs = by_dev.get(dev, [])
        root = next((q for q in qdiscs if q.get("root")), None)
        if root is None or root.get("kind") != "htb":
            findings.append(Finding("fail", f"{dev}: root qdisc is {root.get('kind') if root else 'missing'}, expected htb"))
            continue
        classes = parse_htb_classes((data or {}).get("classes", {}).get(dev, ""))
        leaves = {q.get("parent"): q for q in qdiscs if q.get("parent")}
        for c in port["classes"]:
            have = classes.get(c["classid"])
            if have is None:
                findings.append(Finding("fail", f"{dev}: class {c['classid']} ({c['name']}) missing"))
                continue
            if have["prio"] != c["prio"]:
                findings.append(Finding("fail", f"{dev} {c['classid']} ({c['name']}): prio {have['prio']}, intended {c['prio']}"))
            for key, label in (("rate_mbit", "rate"), ("ceil_mbit", "ceil")):
                if have[key] is None or abs(have[key] - c[key]) > 0.5:
                    findings.append(Finding("fail", f"{dev} {c['classid']} ({c['name']}): {label} {have[key]} Mb/s, "
                                                    f"intended {c[key]} Mb/s"))
            leaf = leaves.get(c["classid"])
            if leaf is None:
                findings.append(Finding("fail", f"{dev} {c['classid']} ({c['name']}): no leaf qdisc"))
                continue
            limit = (leaf.get("options") or {}).get("limit")
            want_limit = c["red"]["limit"] if c["red"] else c["limit"]
            if limit is not None and limit != want_limit:
                findings.append(Finding("fail", f"{dev} {c['classid']} ({c['name']}): queue limit {limit} B, intended {want_limit} B"))
        have_dscp = parse_u32_dscp((data or {}).get("filters", {}).get(dev, ""))
        for f in doc["filters"]:
            if have_dscp.get(f["dscp"]) != f["classid"]:
                findings.append(Finding("fail", f"{dev}: DSCP {f['dscp']} → {have_dscp.get(f['dscp'], 'default class')}, "
                                                f"intended {f['classid']}"))
    if not findings:
        n = sum(len(p["classes"]) for p in doc["ports"])
        findings.append(Finding("pass", f"{len(doc['ports'])} ports, {n} classes and the DSCP filters as intended"))
    return findings


def judge_ecn_linux(data: Any, exp: Expectation) -> list[Finding]:
    """ECN on = RED with `ecn` on the class's leaf; off = no marking qdisc.  A bfifo where RED was intended is
    qos.sh's documented fallback on a kernel without sch_red: a warning, not a failure."""
    if not exp.linux:
        return [Finding("skip", "no linux QoS plan")]
    leaves = {(q.get("dev"), q.get("parent")): q for q in (data or {}).get("qdiscs", []) if q.get("parent")}
    findings: list[Finding] = []
    fallback: list[str] = []
    on = off = 0
    for port in exp.linux["qos.sh"]["ports"]:
        for c in port["classes"]:
            leaf = leaves.get((port["name"], c["classid"]))
            kind = leaf.get("kind") if leaf else None
            opts = (leaf or {}).get("options") or {}
            marking = kind == "red" and (opts.get("ecn") or "ecn" in (opts.get("flags") or []) or "ecn" in str(opts))
            if c["red"]:
                on += 1
                if marking:
                    continue
                if kind == "bfifo":
                    fallback.append(f"{port['name']} {c['classid']}")
                else:
                    findings.append(Finding("fail", f"{port['name']} {c['classid']} ({c['name']}): ECN intended on, "
                                                    f"leaf qdisc is {kind or 'missing'}"))
            else:
                off += 1
                if marking:
                    findings.append(Finding("fail", f"{port['name']} {c['classid']} ({c['name']}): ECN intended off, "
                                                    "but the queue marks"))
    if fallback:
        findings.append(Finding("warn", f"ECN not enforced by this kernel (no sch_red; qos.sh fell back to bfifo) on "
                                        f"{len(fallback)} queue(s): {', '.join(fallback[:6])}{' …' if len(fallback) > 6 else ''}"))
    if not any(f.status == "fail" for f in findings):
        findings.insert(0, Finding("pass", f"ECN on for {on - len(fallback)}/{on} intended queue(s), off on {off}"))
    return findings


# --------------------------------------------------------------------------- vendor QoS / PFC / AR

def judge_collected(what: str) -> Judge:
    """For platforms whose output hpnctl collects but does not judge in detail yet: say so, never pass silently."""
    def judge(data: Any, exp: Expectation) -> list[Finding]:
        if not data:
            return [Finding("fail", f"{what}: the device returned nothing")]
        return [Finding("skip", f"{what}: collected; no detailed judge for {exp.platform} output yet")]
    judge.__name__ = f"judge_collected_{what.replace(' ', '_')}"
    return judge


# --------------------------------------------------------------------------- the table

def _common_vendor(bgp: Judge, ecmp: Judge | None, interfaces: Judge | None) -> list[Check]:
    return [
        Check("bgp", "bgp_summary", bgp, "bgp", "BGP sessions Established to the intended peers"),
        Check("ecmp", "ecmp_routes" if ecmp else None, ecmp, None, "next hops to remote loopbacks"),
        Check("interfaces", "interfaces" if interfaces else None, interfaces, None, "interfaces up, MTU, speed"),
        Check("qos", "qos_profile", judge_collected("QoS profile"), "scheduler", "queues/classes as intended"),
        Check("pfc", "pfc", judge_collected("PFC"), "pfc", "PFC on the lossless priorities"),
        Check("adaptive-routing", "dlb", judge_collected("adaptive routing"), "adaptive-routing", "AR enabled"),
    ]


CHECKS: dict[str, list[Check]] = {
    "linux": [
        Check("bgp", "bgp_summary", judge_bgp, "bgp", "BGP sessions Established to the intended peers"),
        Check("ecmp", "ecmp_routes", judge_ecmp(_route_nexthops_linux), None, "next hops to remote loopbacks"),
        Check("ecmp-hash", "hash", judge_hash_linux, "ecmp-hash", "multipath hash fields"),
        Check("interfaces", "interfaces", judge_interfaces_linux, None, "interfaces up, MTU, speed"),
        Check("qos", "qos_profile", judge_qos_linux, "scheduler", "HTB classes per queue, limits, DSCP filters"),
        Check("ecn", "qos_profile", judge_ecn_linux, "ecn", "ECN marking on/off per queue"),
        Check("pfc", None, None, "pfc", "PFC on the lossless priorities"),
        Check("adaptive-routing", None, None, "adaptive-routing", "AR enabled"),
    ],
    "eos": _common_vendor(judge_bgp, judge_ecmp(_route_nexthops_eos), judge_interfaces_eos),
    "sonic": _common_vendor(judge_bgp, judge_ecmp(_route_nexthops_frr), judge_interfaces_sonic),
    "nvue": _common_vendor(judge_bgp, None, judge_interfaces_nvue),
    "srlinux": _common_vendor(judge_bgp, None, None),
}


def checks_for(platform: str) -> list[Check]:
    return CHECKS.get(platform, [])
