#!/usr/bin/env python3
"""How apply scales with the number of devices, on the built-in netns lab (real FRR + sshd per node).

    python3 bench/apply_scaling.py [--sizes 1,8,16] [--repeat 3] [--json out.json]

A generated intent (2 spines, 16 leaves, Linux + FRR, no hosts) is brought up as a
netns lab.  For each N, `apply` with a change (one class's bandwidth, which changes
qos.sh on every node) is timed on the first N leaves — alternating between two intents
so every sample is a real change — and compared with N = 1.  Then, on the whole lab,
a no-change `hpnctl apply` is compared with `hpnctl verify` (both as the CLI, end to end).

All lab nodes share this machine's CPUs, while real switches each have their own: the
node-side work of a change (frr-reload.py twice, vtysh, tc) is CPU-bound.  The script
therefore also prints the host CPU time the run consumed and the resulting floor
(CPU seconds / cores): wall time cannot beat it, whatever the controller does.
Needs root, FRR and openssh-server.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LAB = "bench-apply"
POOL = "172.29.190.0/24"
LEAVES = 16


def intent(path: Path, allreduce_bw: int, keepalive: int = 3) -> Path:
    import yaml

    data = yaml.safe_load((REPO / "inventories" / "lab.yml").read_text())
    data["fabric"]["name"] = LAB
    data["management"]["pool"] = POOL
    gen = data["networks"]["compute"]["topology"]["generator"]
    gen.update(spines=2, leaf_groups=LEAVES, rails=1, hosts_per_group=0)
    classes = data["networks"]["compute"]["qos"]["classes"]
    classes["allreduce"]["scheduler"]["bandwidth_percent"] = allreduce_bw
    classes["default"]["scheduler"]["bandwidth_percent"] = 100 - allreduce_bw
    bgp = data["networks"]["compute"]["routing"]["bgp"]
    bgp["keepalive_s"], bgp["hold_s"] = keepalive, 3 * keepalive
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cpu_busy_s() -> float:
    """Host CPU time spent not idle, all cores (from /proc/stat, USER_HZ)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cli(*args: str) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "hpnctl.cli", *args], capture_output=True, text=True, cwd=REPO)
    dt = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"hpnctl {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return dt


def synthetic(sizes: list[int]) -> dict[int, float]:
    """apply_change on fake devices with fixed latencies: what the controller itself adds as N grows."""
    from hpnctl.changes.plan import Plan
    from hpnctl.drivers.base import DeviceDiff, DeviceTarget
    from hpnctl.rollout import ApplyOptions, apply_change

    class SlowDevice:
        def __init__(self, target: DeviceTarget):
            self.target, self.files = target, {"f": "old"}

        def open(self): time.sleep(0.1)
        def get_running(self): time.sleep(0.05); return dict(self.files)
        def load_candidate(self, files, mode="replace"): self.cand = files
        def diff(self): time.sleep(0.1); return DeviceDiff(self.target.hostname, True)
        def commit(self, confirm_timeout=None): time.sleep(0.5)
        def confirm(self): pass
        def discard(self): pass
        def rollback(self, backup=None): pass
        def collect(self, check): time.sleep(0.02); return {}
        def close(self): pass

    out = {}
    for n in sizes:
        names = [f"sw{i}" for i in range(n)]
        plan = Plan(loaded=type("L", (), {"source": "synthetic"})(), fabric=type("F", (), {"name": "synthetic"})(),
                    names=names, models={}, rendered={x: {"f": "new"} for x in names},
                    targets={x: DeviceTarget(x, "linux", "192.0.2.1") for x in names}, lab=None)
        t0 = time.perf_counter()
        report = apply_change(plan, ApplyOptions(post_checks=False), parallel=64, factory=SlowDevice)
        assert report.ok
        out[n] = time.perf_counter() - t0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,8,16")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--change", choices=["qos", "qos+bgp"], default="qos+bgp",
                    help="qos: a class's bandwidth (qos.sh); qos+bgp: also the BGP timers (frr.conf, frr-reload)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (the netns lab)", file=sys.stderr)
        return 2
    sizes = [int(x) for x in args.sizes.split(",")]
    if max(sizes) > LEAVES:
        print(f"sizes above {LEAVES} need a bigger generated lab", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="hpnctl-bench-"))
    os.environ["HPNCTL_STATE_DIR"] = str(root / "state")

    from hpnctl.cli import load_and_design
    from hpnctl.changes.plan import prepare
    from hpnctl.lab import netns
    from hpnctl.lab.topology import build_topology
    from hpnctl.rollout import ApplyOptions, apply_change

    a = intent(root / "a.yml", 60)
    b = intent(root / "b.yml", 50, keepalive=5 if args.change == "qos+bgp" else 3)
    loaded, fabric = load_and_design(a)
    switches = len(fabric.switches())
    ncpu = os.cpu_count() or 1
    results: dict = {"change": args.change, "cpus": ncpu, "lab_switches": switches, "repeat": args.repeat, "apply": {}, "no_change": {}}
    try:
        t0 = time.perf_counter()
        topo = build_topology(loaded, fabric, root / "topology")
        netns.up(topo.path)
        print(f"lab {LAB}: {switches} switches up in {time.perf_counter() - t0:.1f}s "
              f"(host: {ncpu} CPU(s))", flush=True)
        cli("verify", str(a), "--lab", "--wait", "120")  # converged before measuring

        for n in sizes:
            apply_change(prepare(a, None, lab=True), ApplyOptions(), parallel=64)  # every node on `a` (untimed)
            current = a
            limit = ",".join(f"leaf{i}" for i in range(1, n + 1))
            walls, cpus, stages = [], [], []
            for _ in range(args.repeat):
                target = b if current == a else a
                plan = prepare(target, limit, lab=True)
                c0, t0 = cpu_busy_s(), time.perf_counter()
                report = apply_change(plan, ApplyOptions(), parallel=64)
                wall, cpu = time.perf_counter() - t0, cpu_busy_s() - c0
                bad = [r.host for r in report.results.values() if r.status != "changed"]
                if bad:
                    raise SystemExit(f"N={n}: not changed: {bad}: {[report.results[h].error for h in bad]}")
                current = target
                walls.append(wall)
                cpus.append(cpu)
                stages.append({k: statistics.median(r.timings.get(k, 0.0) for r in report.results.values())
                               for k in ("connect", "backup", "diff", "pre-check", "commit", "post-check")})
            results["apply"][n] = {
                "wall_s": walls, "median_s": statistics.median(walls), "host_cpu_s": statistics.median(cpus),
                "cpu_floor_s": statistics.median(cpus) / ncpu,
                "stages_median_s": {k: round(statistics.median(s[k] for s in stages), 3) for k in stages[0]},
            }
            print(f"N={n:>2}: apply with a change {statistics.median(walls):6.2f}s (samples "
                  f"{', '.join(f'{w:.2f}' for w in walls)}); host CPU {statistics.median(cpus):.1f}s", flush=True)

        # Control: the same change one device at a time (--parallel 1), at the middle size.
        n = sizes[len(sizes) // 2]
        apply_change(prepare(a, None, lab=True), ApplyOptions(), parallel=64)
        limit = ",".join(f"leaf{i}" for i in range(1, n + 1))
        t0 = time.perf_counter()
        apply_change(prepare(b, limit, lab=True), ApplyOptions(), parallel=1)
        results["serial"] = {"n": n, "wall_s": time.perf_counter() - t0}
        print(f"N={n:>2}: the same change with --parallel 1: {results['serial']['wall_s']:.2f}s", flush=True)

        apply_change(prepare(a, None, lab=True), ApplyOptions(), parallel=64)  # whole lab on `a`
        noop = [cli("apply", str(a), "--lab") for _ in range(args.repeat)]
        ver = [cli("verify", str(a), "--lab") for _ in range(args.repeat)]
        results["no_change"] = {"apply_s": noop, "verify_s": ver, "apply_median_s": statistics.median(noop),
                                "verify_median_s": statistics.median(ver)}
    finally:
        netns.down(LAB)

    base = results["apply"][sizes[0]]["median_s"]
    print()
    print(f"apply with a change ({args.change}), {ncpu} host CPU(s) shared by all lab nodes "
          f"(median of {args.repeat})")
    print(f"{'N':>4} {'wall s':>8} {'ratio':>7} {'host CPU s':>11} {'CPU floor s':>12}  per-node stages (median s)")
    for n in sizes:
        r = results["apply"][n]
        stages = " ".join(f"{k}={v:.2f}" for k, v in r["stages_median_s"].items())
        print(f"{n:>4} {r['median_s']:8.2f} {r['median_s'] / base:7.2f} {r['host_cpu_s']:11.1f} "
              f"{r['cpu_floor_s']:12.2f}  {stages}")
        r["ratio_to_n1"] = r["median_s"] / base
    ser = results["serial"]
    print(f"{ser['n']:>4} {ser['wall_s']:8.2f} {ser['wall_s'] / base:7.2f}  (control: --parallel 1, one device at a time)")
    results["synthetic"] = synthetic(sizes + [64])
    print()
    print("rollout engine alone (fake devices that wait like a switch: 0.1s connect, 0.05s read, "
          "0.1s diff, 0.5s commit, 0.02s per check)")
    print(f"{'N':>4} {'wall s':>8} {'ratio':>7}")
    for n, wall in results["synthetic"].items():
        print(f"{n:>4} {wall:8.2f} {wall / results['synthetic'][sizes[0]]:7.2f}")
    nc = results["no_change"]
    print()
    print(f"whole lab ({switches} switches), CLI end to end: no-change apply {nc['apply_median_s']:.2f}s, "
          f"verify {nc['verify_median_s']:.2f}s (ratio {nc['apply_median_s'] / nc['verify_median_s']:.2f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
