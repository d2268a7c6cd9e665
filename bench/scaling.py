"""Scaling benchmark: hpnctl render and diff from N = 100 to 5,000 switches (EOS and SONiC).

    python bench/scaling.py [--sizes 100,500,1000,2000,5000] [--platforms eos,sonic] [--runs 3] [--xl]

For each platform and N (bench.common.Shape with the RoCE QoS profile, every
switch on that platform; beyond 32 pods the pods are spread over planes, so that
no super-spine has more than 128 ports — SONiC's buffer check rightly rejects a
624-port Tomahawk super-spine, since its PFC headroom alone exceeds the buffer):

* render: `hpnctl render INTENT -o DIR` (all cores), wall time, time per device,
  the marginal cost per device between consecutive sizes (flat = linear total),
  and peak memory (largest process / whole process tree);
* diff: a snapshot is the render output with 1% of the devices changed (the first
  "9100" of one file — an MTU — becomes "9000"), then `hpnctl diff INTENT --against
  SNAPSHOT` (load, design, render in memory, compare).  It must report exactly the
  changed devices.  When this tree has no `hpnctl diff`, a baseline is measured
  instead (`diff-baseline`: render to a temp dir, then compare the two trees by
  hash and unified-diff the changed files) and the output says so.

With --xl, inventories/xl.yml (SONiC leaves, EOS spines and super-spines, hosts)
is measured the same way as one more row.
"""
from __future__ import annotations

import argparse
import difflib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (HPNCTL, REPO, Report, best_of, fmt_s, hpnctl_intent, load_average, peak_mib,  # noqa: E402
                    run_measured, shape_for, tree_hashes, write_yaml)


def has_diff_command() -> bool:
    return subprocess.run([*HPNCTL, "diff", "--help"], capture_output=True).returncode == 0


def make_snapshot(rendered: Path, snapshot: Path, fraction: float, seed: int) -> list[str]:
    """Copy a render output and change one value in `fraction` of its devices; the changed devices."""
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(rendered, snapshot)
    devices = sorted(p.name for p in snapshot.iterdir() if p.is_dir())
    changed = sorted(random.Random(seed).sample(devices, max(1, round(len(devices) * fraction))))
    for name in changed:
        for f in sorted((snapshot / name).iterdir()):
            text = f.read_text()
            if "9100" in text:
                f.write_text(text.replace("9100", "9000", 1))
                break
        else:
            raise RuntimeError(f"{name}: no file with an MTU to change")
    return changed


def diff_baseline(intent: Path, snapshot: Path) -> dict:
    """The fallback diff: render to a temp dir, compare trees by hash, unified-diff what changed."""
    from hpnctl.cli import load_and_design
    from hpnctl.render import render_fabric

    loaded, fabric = load_and_design(intent)
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        render_fabric(loaded, fabric, Path(tmp))
        new, old = tree_hashes(Path(tmp)), tree_hashes(snapshot)
        changed_files = sorted(f for f in set(new) | set(old) if f != "manifest.json" and new.get(f) != old.get(f))
        lines = 0
        for f in changed_files:
            a = (snapshot / f).read_text().splitlines() if f in old else []
            b = (Path(tmp) / f).read_text().splitlines() if f in new else []
            lines += sum(1 for _ in difflib.unified_diff(a, b, lineterm=""))
    devices = sorted({f.split("/")[0] for f in changed_files})
    return {"changed": devices, "diff_lines": lines}


def run_diff(intent: Path, snapshot: Path, use_cli: bool):
    def once():
        if use_cli:
            run = run_measured([*HPNCTL, "diff", str(intent), "--against", str(snapshot), "--format", "json"])
            if run.returncode == 2:  # 2 = changes found (the expected outcome)
                run.returncode = 0
            return run
        return run_measured([sys.executable, __file__, "diff-baseline", str(intent), str(snapshot)])
    return once


def changed_devices(run_stdout: str, use_cli: bool) -> list[str]:
    doc = json.loads(run_stdout)
    return sorted(d["hostname"] for d in doc["changed"]) if use_cli else doc["changed"]


def measure(report: Report, label: str, intent: Path, work: Path, args, use_cli: bool) -> dict:
    out = work / "render"

    def render_once():
        shutil.rmtree(out, ignore_errors=True)
        return run_measured([*HPNCTL, "render", str(intent), "-o", str(out)])

    shm = None
    if args.tmpfs and Path("/dev/shm").is_dir():
        # The same render with the output on tmpfs: hpnctl's own cost without this machine's disk.
        shm = Path(tempfile.mkdtemp(prefix="bench-scaling-", dir="/dev/shm")) / "render"

        def shm_once():
            shutil.rmtree(shm, ignore_errors=True)
            return run_measured([*HPNCTL, "render", str(intent), "-o", str(shm)])

        shm_best, _ = best_of(args.runs, shm_once)
        shutil.rmtree(shm.parent, ignore_errors=True)
    best, runs = best_of(args.runs, render_once)
    manifest = json.loads((out / "manifest.json").read_text())
    n = len(manifest["devices"])
    snapshot = work / "snapshot"
    expected = make_snapshot(out, snapshot, args.change, args.seed)
    d_best, d_runs = best_of(args.runs, run_diff(intent, snapshot, use_cli))
    found = changed_devices(d_best.stdout, use_cli)
    ok = found == expected
    rss, pss = peak_mib(runs)
    drss, dpss = peak_mib(d_runs)
    report(f"  {label:>6} N={n:>5}: render {fmt_s(best.wall_s)} s (runs {', '.join(fmt_s(r.wall_s) for r in runs)}"
           + (f"; to tmpfs {fmt_s(shm_best.wall_s)} s" if shm else "") + "), "
           f"{best.wall_s / n * 1000:.2f} ms/device, {rss:.0f}/{pss:.0f} MiB; "
           f"diff {fmt_s(d_best.wall_s)} s (runs {', '.join(fmt_s(r.wall_s) for r in d_runs)}), "
           f"{drss:.0f}/{dpss:.0f} MiB, {len(found)} changed device(s) found, "
           f"{'= the ' + str(len(expected)) + ' changed' if ok else 'EXPECTED ' + str(len(expected))}   [{load_average()}]")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(snapshot, ignore_errors=True)
    return {"n": n, "render": best.wall_s, "tmpfs": shm_best.wall_s if shm else None, "rss": rss, "pss": pss, "diff": d_best.wall_s, "drss": drss, "dpss": dpss,
            "ok": ok, "changed": len(expected)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    b = sub.add_parser("diff-baseline", help="(internal) the fallback tree diff, as JSON")
    b.add_argument("intent", type=Path)
    b.add_argument("snapshot", type=Path)
    ap.add_argument("--sizes", default="100,500,1000,2000,5000")
    ap.add_argument("--platforms", default="eos,sonic")
    ap.add_argument("--pod", default="4,28,4", metavar="S,L,SS",
                    help="spines and leaves per pod, super-spines (the smoke test uses a tiny pod)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-pods-per-plane", type=int, default=32,
                    help="more pods are spread over planes (keeps super-spines at <= 32 x spines ports)")
    ap.add_argument("--change", type=float, default=0.01, help="share of devices changed in the snapshot")
    ap.add_argument("--xl", action="store_true", help="also inventories/xl.yml (mixed SONiC/EOS, with hosts)")
    ap.add_argument("--tmpfs", action="store_true",
                    help="also time render with its output on /dev/shm (separates hpnctl's cost from the disk's)")
    ap.add_argument("--diff", choices=["auto", "cli", "baseline"], default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    if args.cmd == "diff-baseline":
        print(json.dumps(diff_baseline(args.intent, args.snapshot)))
        return 0
    use_cli = args.diff == "cli" or (args.diff == "auto" and has_diff_command())
    report = Report("scaling", save=not args.no_save)
    report(f"best of {args.runs} runs; memory MiB = largest process / sum of RSS over the process tree (max over runs); "
           f"diff = {'`hpnctl diff INTENT --against SNAPSHOT` (hpnctl.changes.diff)' if use_cli else 'BASELINE (no hpnctl diff in this tree): render + tree compare + unified diff'} "
           f"against a snapshot with {args.change:.0%} of the devices changed")
    report()
    results: dict[str, list[dict]] = {}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        for platform in args.platforms.split(","):
            results[platform] = []
            for size in [int(s) for s in args.sizes.split(",")]:
                shape = shape_for(size, args.pod, args.max_pods_per_plane)
                work = Path(tmp, f"{platform}-{shape.n}")
                intent = write_yaml(work / "intent.yml", hpnctl_intent(shape, leaf=platform, spine=platform))
                r = measure(report, platform, intent, work, args, use_cli)
                failures += not r["ok"]
                results[platform].append(r)
                shutil.rmtree(work, ignore_errors=True)
        if args.xl:
            r = measure(report, "xl.yml", REPO / "inventories" / "xl.yml", Path(tmp, "xl"), args, use_cli)
            failures += not r["ok"]
            results["xl.yml (mixed)"] = [r]
    report()
    report("Summary: wall s, ms per device, marginal ms per added device (vs the previous N), render with its output on "
           "tmpfs (--tmpfs), memory MiB (largest process / sum over the process tree)")
    rows = []
    for platform, rs in results.items():
        prev = None
        for r in rs:
            marginal = "" if prev is None else f"{(r['render'] - prev['render']) / (r['n'] - prev['n']) * 1000:.2f}"
            dmarginal = "" if prev is None else f"{(r['diff'] - prev['diff']) / (r['n'] - prev['n']) * 1000:.2f}"
            tm = "" if prev is None or r["tmpfs"] is None else \
                f"{(r['tmpfs'] - prev['tmpfs']) / (r['n'] - prev['n']) * 1000:.2f}"
            rows.append([platform, f"{r['n']:,}", fmt_s(r["render"]), f"{r['render'] / r['n'] * 1000:.2f}", marginal,
                         "" if r["tmpfs"] is None else fmt_s(r["tmpfs"]), tm,
                         f"{r['rss']:.0f} / {r['pss']:.0f}", fmt_s(r["diff"]), f"{r['diff'] / r['n'] * 1000:.2f}",
                         dmarginal, f"{r['drss']:.0f} / {r['dpss']:.0f}", "ok" if r["ok"] else "WRONG"])
            prev = r
    report.table(["platform", "N", "render s", "ms/dev", "marginal", "tmpfs s", "marginal", "render MiB", "diff s", "ms/dev", "marginal",
                  "diff MiB", "diff found"], rows)
    report(f"machine load after the run: {load_average()}")
    report.write()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
