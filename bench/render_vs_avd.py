"""Render benchmark: hpnctl vs Arista AVD (pyavd) on the same EOS fabric.

    python bench/render_vs_avd.py [--sizes 100,1000,5000] [--runs 3] [--check 8]

The fabric is bench.common.Shape (3-tier, eBGP underlay, /31 p2p links, 400G,
MTU 9100) with one RoCE QoS profile (DSCP/TC/tx-queue maps, DWRR + strict queues,
ECN thresholds, PFC + watchdog) on every fabric port.  Each tool gets the fabric
as its own inputs, written before the clock starts:

* hpnctl: one intent YAML → `hpnctl render` (load, design, model, templates,
  files on disk, manifest).
* AVD: proper eos_designs inputs laid out the way an AVD inventory is (fabric-wide
  settings and the super-spines, then per-pod group vars with that pod's spines and
  l3leaf nodes: `uplink_switches`, per-pod `uplink_ipv4_pool` ranges, `bgp_as`,
  `p2p_uplinks_qos_profile: HPN`, the qos_profiles/qos maps/PFC watchdog as node-type
  `structured_config`), through AVD's full pipeline: `validate_inputs` per device →
  `get_avd_facts` (fabric-wide) → `get_device_structured_config` →
  `validate_structured_config` → `get_device_config` per device → files on disk.
  The per-device stages run in as many forked processes as hpnctl uses (all cores),
  so both tools get the same parallelism.  The QoS structured config is hpnctl's
  QoS plan translated by tests/render/avd_structured.py (the translation the pyavd
  cross-check test uses), i.e. exactly what an AVD user would type.

Equivalence: for a sample of devices (first/last of each role and random others)
both EOS configs are reduced by bench.common.eos_content to interfaces (peer, /31,
MTU, speed, service-profile), loopback, management address, BGP (ASN, router-id,
ECMP/timers, neighbours as (subnet, peer ASN, peer)) and every QoS line, and must
be equal.

For sizes above --avd-full-max (default 5,000) AVD's facts are computed for the
whole fabric but its per-device stages run on --avd-sample devices only, and the
per-device time is extrapolated linearly (stated in the output).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from ipaddress import IPv4Address, IPv4Network
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (HPNCTL, LOOPBACKS, MGMT, MGMT_FIRST, MTU, P2P, REPO, Report, Shape, best_of, compare_content,  # noqa: E402
                    eos_content, fmt_s, hpnctl_intent, load_average, nodes, peak_mib, pod_p2p_base,
                    run_measured, shape_for, write_yaml)

CONFIG = "startup-config.cfg"

# ---------------------------------------------------------------- AVD inputs


def avd_qos_structured_config() -> dict:
    """hpnctl's RoCE QoS plan as eos_cli_config_gen keys, via tests/render/avd_structured.py."""
    sys.path.insert(0, str(REPO / "tests" / "render"))
    from avd_structured import avd_structured_config  # the translation the pyavd cross-check test uses

    from hpnctl.design import design
    from hpnctl.intent import load_intent
    from hpnctl.model import build_device_model

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_intent(write_yaml(Path(tmp, "one-pod.yml"), hpnctl_intent(Shape(pods=1))))
    fabric = design(loaded)
    model = build_device_model(loaded, fabric, fabric.devices["leaf1"])
    sc = avd_structured_config(model)
    return {k: sc[k] for k in ("qos_profiles", "qos", "priority_flow_control")}


def _ip(network: str, offset: int) -> str:
    return str(IPv4Network(network).network_address + offset)


def _range(start: int, count: int) -> str:
    """A pool of `count` /31s starting at /31 number `start` of the P2P block."""
    return f"{_ip(P2P, 2 * start)}-{_ip(P2P, 2 * (start + count) - 1)}"


def avd_inputs(shape: Shape) -> dict:
    """{"fabric": group vars for every device, "pods": per-pod group vars, "hosts": name → (type, pod)}."""
    qos = avd_qos_structured_config()
    all_nodes = nodes(shape)

    def mgmt(n) -> str:
        return f"{_ip(MGMT, MGMT_FIRST + n.index)}/{IPv4Network(MGMT).prefixlen}"

    def loopback_offset(members) -> int:
        """Loopback = pool + id + offset (AVD); hpnctl numbers loopbacks in generation order from pool + 1."""
        return members[0].index + 1 - members[0].local_id

    defaults = {"structured_config": qos, "bgp_defaults": ["timers bgp 3 9", "bgp bestpath as-path multipath-relax"],
                "uplink_interface_speed": "400g"}
    fabric = {
        "fabric_name": "BENCH",
        "underlay_routing_protocol": "ebgp",
        "overlay_routing_protocol": "none",
        "p2p_uplinks_qos_profile": "HPN",
        "p2p_uplinks_mtu": MTU,
        "mgmt_interface": "Management0",
        "mgmt_interface_vrf": "MGMT",
        "mgmt_gateway": _ip(MGMT, 1),
        "bgp_maximum_paths": 64,
        "bgp_ecmp": 64,
        "super_spine": {
            "defaults": {**defaults, "bgp_as": str(all_nodes[0].asn), "loopback_ipv4_pool": LOOPBACKS,
                         "loopback_ipv4_offset": loopback_offset(all_nodes)},
            "nodes": [{"name": n.name, "id": n.local_id, "mgmt_ip": mgmt(n)} for n in all_nodes if n.role == "super-spine"],
        },
    }
    pods: dict[int, dict] = {}
    for pod in range(1, shape.pods + 1):
        here = [n for n in all_nodes if n.pod == pod]
        base = pod_p2p_base(shape, pod)
        leaf_links = shape.leaves * shape.spines
        spines = [n for n in here if n.role == "spine"]
        leaves = [n for n in here if n.role == "leaf"]
        pods[pod] = {
            "spine": {
                "defaults": {**defaults, "bgp_as": str(spines[0].asn), "loopback_ipv4_pool": LOOPBACKS,
                             "loopback_ipv4_offset": loopback_offset(spines),
                             "uplink_switches": [p for _, p, _ in spines[0].uplinks],
                             "uplink_ipv4_pool": _range(base + leaf_links, shape.spines * shape.super_spines)},
                "nodes": [{"name": n.name, "id": n.local_id, "mgmt_ip": mgmt(n), "uplink_interfaces": [i for i, _, _ in n.uplinks],
                           "uplink_switch_interfaces": [pi for _, _, pi in n.uplinks]} for n in spines],
            },
            "l3leaf": {
                "defaults": {**defaults, "vtep": False, "uplink_switches": [n.name for n in spines],
                             "loopback_ipv4_pool": LOOPBACKS, "loopback_ipv4_offset": loopback_offset(leaves),
                             "uplink_ipv4_pool": _range(base, leaf_links)},
                "nodes": [{"name": n.name, "id": n.local_id, "bgp_as": str(n.asn), "mgmt_ip": mgmt(n),
                           "uplink_interfaces": [i for i, _, _ in n.uplinks],
                           "uplink_switch_interfaces": [pi for _, _, pi in n.uplinks]} for n in leaves],
            },
        }
    types = {"super-spine": "super-spine", "spine": "spine", "leaf": "l3leaf"}
    hosts = {n.name: [types[n.role], n.pod] for n in all_nodes}
    return {"fabric": fabric, "pods": {str(k): v for k, v in pods.items()}, "hosts": hosts}


# ---------------------------------------------------------------- the AVD pipeline (a worker process)

_AVD: dict = {}  # set before forking: inputs, validated inputs, facts, output dir


def _host_inputs(data: dict, host: str) -> dict:
    """Group vars merged the way an inventory does: fabric-wide, then the host's pod, then its type."""
    kind, pod = data["hosts"][host]
    return {**data["fabric"], **(data["pods"][str(pod)] if pod else {}), "type": kind}


def _validate_chunk(hosts: list[str]) -> tuple[dict, float]:
    import pyavd

    start = time.perf_counter()
    out = {}
    for h in hosts:
        result = pyavd.validate_inputs(_host_inputs(_AVD["data"], h))
        vr = result.validation_result
        if vr.violations or vr.ignored_eos_config_keys:
            raise RuntimeError(f"{h}: AVD rejects the inputs: {[v.message for v in vr.violations]} "
                               f"ignored: {[k.path for k in vr.ignored_eos_config_keys]}")
        out[h] = result.validated_data
    return out, time.perf_counter() - start


def _config_chunk(hosts: list[str]) -> dict[str, float]:
    import pyavd

    times = dict.fromkeys(("structured_config", "validate_structured_config", "get_device_config", "write"), 0.0)
    out_dir = Path(_AVD["out"])
    for h in hosts:
        t0 = time.perf_counter()
        sc = pyavd.get_device_structured_config(h, _AVD["validated"][h], _AVD["facts"])._as_dict()
        t1 = time.perf_counter()
        result = pyavd.validate_structured_config(sc)
        if result.validation_result.violations:
            raise RuntimeError(f"{h}: structured config invalid: {[v.message for v in result.validation_result.violations]}")
        t2 = time.perf_counter()
        text = pyavd.get_device_config(result.validated_data)
        t3 = time.perf_counter()
        (out_dir / f"{h}.cfg").write_text(text)
        t4 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            times[key] += dt
    return times


def _chunks(items: list[str], n: int) -> list[list[str]]:
    size = max(1, min(100, len(items) // (n * 8) or 1))
    return [items[i:i + size] for i in range(0, len(items), size)]


def avd_worker(inputs: Path, out: Path, jobs: int, sample: int | None, seed: int) -> dict:
    """Run AVD's pipeline; per-stage wall times (and the sampled hosts) as a dict."""
    import pyavd

    wall: dict[str, float] = {}
    t = time.perf_counter()
    data = json.loads(inputs.read_text())
    _AVD["data"] = data
    hosts = list(data["hosts"])
    out.mkdir(parents=True, exist_ok=True)
    wall["load inputs"] = time.perf_counter() - t
    ctx = get_context("fork")
    # 1. validate_inputs, per device (all of them: the facts need every device's inputs)
    t = time.perf_counter()
    validated: dict[str, dict] = {}
    with ctx.Pool(jobs) as pool:
        for part, _ in pool.imap_unordered(_validate_chunk, _chunks(hosts, jobs)):
            validated.update(part)
    wall["validate_inputs"] = time.perf_counter() - t
    # 2. facts, fabric-wide
    t = time.perf_counter()
    facts = pyavd.get_avd_facts({h: validated[h] for h in hosts})
    wall["get_avd_facts"] = time.perf_counter() - t
    # 3.-5. structured config, its validation and the CLI, per device
    targets = hosts if not sample or sample >= len(hosts) else sorted(random.Random(seed).sample(hosts, sample))
    _AVD.update(validated=validated, facts=facts, out=str(out))
    t = time.perf_counter()
    cpu = dict.fromkeys(("structured_config", "validate_structured_config", "get_device_config", "write"), 0.0)
    with ctx.Pool(jobs) as pool:
        for times in pool.imap_unordered(_config_chunk, _chunks(targets, jobs)):
            for k, v in times.items():
                cpu[k] += v
    wall["per-device config"] = time.perf_counter() - t
    return {"wall": wall, "per_device_cpu": cpu, "devices": len(targets), "fabric": len(hosts),
            "hosts": targets, "pyavd": pyavd.__version__}


# ---------------------------------------------------------------- the comparison


def check_devices(names: list[str], k: int, seed: int) -> list[str]:
    """First and last of each role plus random others, k in all (at least the role ends)."""
    by_role: dict[str, list[str]] = {}
    for n in names:
        by_role.setdefault(n.rstrip("0123456789"), []).append(n)
    pick = []
    for members in by_role.values():
        pick += [members[0], members[-1]]
    rest = [n for n in names if n not in pick]
    pick += random.Random(seed).sample(rest, max(0, min(len(rest), k - len(pick))))
    return sorted(set(pick), key=names.index)


def compare_outputs(hpn_dir: Path, avd_dir: Path, names: list[str]) -> dict[str, list[str]]:
    """device → differences in content (empty list = equivalent)."""
    out = {}
    for name in names:
        ours = eos_content((hpn_dir / name / CONFIG).read_text())
        theirs = eos_content((avd_dir / f"{name}.cfg").read_text())
        out[name] = compare_content(ours, theirs)
    return out


def content_summary(text: str) -> str:
    c = eos_content(text)
    qos_lines = sum(len(v) for v in c["qos_profiles"].values()) + len(c["qos_maps"]) + len(c["pfc"])
    return f"{len(c['ethernet'])} interfaces, {len(c['bgp'].get('neighbors', {}))} BGP neighbours, {qos_lines} QoS lines"


# ---------------------------------------------------------------- main


def prepare(shape: Shape, work: Path) -> tuple[Path, Path]:
    intent = write_yaml(work / "intent.yml", hpnctl_intent(shape))
    inputs = work / "avd_inputs.json"
    inputs.write_text(json.dumps(avd_inputs(shape)))
    return intent, inputs


def run_hpnctl(intent: Path, out: Path, jobs: int | None = None):
    def once():
        shutil.rmtree(out, ignore_errors=True)
        return run_measured([*HPNCTL, "render", str(intent), "-o", str(out), *(["--jobs", str(jobs)] if jobs else [])])
    return once


def run_avd(inputs: Path, out: Path, jobs: int, sample: int | None, seed: int):
    def once():
        shutil.rmtree(out, ignore_errors=True)
        return run_measured([sys.executable, __file__, "avd-worker", str(inputs), str(out), "--jobs", str(jobs),
                             *(["--sample", str(sample)] if sample else []), "--seed", str(seed)])
    return once


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("avd-worker", help="(internal) run AVD's pipeline and print per-stage times as JSON")
    w.add_argument("inputs", type=Path)
    w.add_argument("out", type=Path)
    w.add_argument("--jobs", type=int, default=os.cpu_count())
    w.add_argument("--sample", type=int, default=None)
    w.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sizes", default="100,1000,5000", help="fabric sizes N (rounded to whole pods)")
    ap.add_argument("--pod", default="4,28,4", metavar="S,L,SS",
                    help="spines and leaves per pod, super-spines (the smoke test uses a tiny pod)")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and size; the best is reported")
    ap.add_argument("--avd-runs", default=None, metavar="K[,K…]",
                    help="runs of AVD, one number or one per size (default: --runs); an AVD run takes minutes at N=1,000")
    ap.add_argument("--check", type=int, default=8, help="devices whose two configs are compared")
    ap.add_argument("--avd-full-max", type=int, default=5000, help="above this N, AVD's per-device stages are sampled")
    ap.add_argument("--avd-sample", type=int, default=500, help="devices AVD renders when sampling")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes for both tools")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None, help="keep inputs and outputs here (default: a temp dir)")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/render_vs_avd.txt")
    args = ap.parse_args(argv)
    if args.cmd == "avd-worker":
        print(json.dumps(avd_worker(args.inputs, args.out, args.jobs, args.sample, args.seed)))
        return 0

    import pyavd

    report = Report("render_vs_avd", save=not args.no_save)
    sizes = [int(s) for s in args.sizes.split(",")]
    per = [int(k) for k in (args.avd_runs or str(args.runs)).split(",")]
    avd_runs_per = dict(zip(sizes, per + per[-1:] * len(sizes)))
    report(f"pyavd {pyavd.__version__}; both tools use {args.jobs} processes; best of {args.runs} runs "
           f"(AVD: {', '.join(f'{k} at N={n}' for n, k in avd_runs_per.items())}); peak memory = max over runs")
    report()
    rows = []
    failures = 0
    notes = []
    for size in sizes:
        shape = shape_for(size, args.pod)
        work = Path(args.work or tempfile.mkdtemp(prefix="bench-avd-")) / f"n{shape.n}"
        work.mkdir(parents=True, exist_ok=True)
        intent, inputs = prepare(shape, work)
        report(f"N = {shape.n} ({shape.pods} pods × ({shape.spines} spines + {shape.leaves} leaves) + "
               f"{shape.super_spines} super-spines)   [{load_average()}]")
        hpn_best, hpn_runs = best_of(args.runs, run_hpnctl(intent, work / "hpnctl", args.jobs))
        report(f"  hpnctl  {fmt_s(hpn_best.wall_s)} s  (runs: {', '.join(fmt_s(r.wall_s) for r in hpn_runs)})")
        sample = args.avd_sample if shape.n > args.avd_full_max else None
        avd_best, avd_runs = best_of(avd_runs_per[size], run_avd(inputs, work / "avd", args.jobs, sample, args.seed))
        stats = json.loads(avd_best.stdout.strip().splitlines()[-1])
        wall = stats["wall"]
        per_dev = wall["per-device config"] / stats["devices"]
        avd_total = avd_best.wall_s
        measured = f"{fmt_s(avd_best.wall_s)} s"
        if sample:
            # Measured: everything but the per-device stages of the devices not sampled.
            avd_total = avd_best.wall_s + per_dev * (stats["fabric"] - stats["devices"])
            measured = (f"EXTRAPOLATED {fmt_s(avd_total)} s = measured {fmt_s(avd_best.wall_s)} s (inputs validated + "
                        f"facts for all {stats['fabric']} devices, per-device stages for a random {stats['devices']}) "
                        f"+ {stats['fabric'] - stats['devices']} × {per_dev * 1000:.1f} ms")
        report(f"  AVD     {measured}  (runs: {', '.join(fmt_s(r.wall_s) for r in avd_runs)})")
        report("          stages (wall): " + ", ".join(f"{k} {fmt_s(v)} s" for k, v in wall.items()))
        report("          per-device stages (CPU, all workers): "
               + ", ".join(f"{k} {fmt_s(v)} s" for k, v in stats["per_device_cpu"].items()))
        # Equivalence on a sample of the devices both rendered.
        names = [n.name for n in nodes(shape)]
        rendered = set(stats["hosts"])
        pool = [n for n in names if n in rendered]
        picked = check_devices(pool, args.check, args.seed)
        diffs = compare_outputs(work / "hpnctl", work / "avd", picked)
        bad = {n: d for n, d in diffs.items() if d}
        failures += len(bad)
        report(f"  content check on {len(picked)} devices ({', '.join(picked)}): "
               + ("EQUAL" if not bad else f"{len(bad)} DIFFER"))
        for n in picked[:3]:
            report(f"          {n}: {content_summary((work / 'hpnctl' / n / CONFIG).read_text())}")
        for n, d in bad.items():
            report(f"    {n}: " + "; ".join(d[:6]))
        hrss, hpss = peak_mib(hpn_runs)
        arss, apss = peak_mib(avd_runs)
        ratio = hpn_best.wall_s / avd_total
        rows.append([f"{shape.n:,}", fmt_s(hpn_best.wall_s), f"{hrss:.0f} / {hpss:.0f}",
                     ("~" if sample else "") + fmt_s(avd_total), f"{arss:.0f} / {apss:.0f}",
                     f"{ratio:.3f}", f"{1 / ratio:.1f}×", "equal" if not bad else "DIFFER"])
        if sample:
            notes.append(f"N = {shape.n}: AVD time extrapolated from {stats['devices']} sampled devices (see above); "
                         f"its memory is that of the sampled run.")
        if not args.work:
            shutil.rmtree(work.parent, ignore_errors=True)
        report()
    report("Summary (wall s; memory MiB = largest process / sum of RSS over the process tree)")
    report.table(["N", "hpnctl s", "hpnctl MiB", "AVD s", "AVD MiB", "hpnctl/AVD", "speed-up", "content"], rows)
    for note in notes:
        report("  " + note)
    report(f"machine load after the run: {load_average()}")
    report.write()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
