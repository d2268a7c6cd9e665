"""Render benchmark: hpnctl vs netlab (PyPI networklab) on the same routing-only EOS fabric.

    python bench/render_vs_netlab.py [--sizes 100,1000,5000] [--runs 3] [--netlab PATH]

netlab turns a topology into device configs without any device: `netlab create`
(topology → transformed data, containerlab/Ansible files, snapshot) then
`netlab initial -o DIR` (renders every node's initial + module configs with its
Jinja2 templates into DIR; nothing is deployed).  Both steps run here, timed
together, from a topology written before the clock starts.  netlab has no QoS
model, so the fabric is routing-only: bench.common.Shape, eBGP (one ASN per leaf,
per pod's spines and for the super-spines, as RFC 7938 and hpnctl), /31 p2p links,
loopbacks advertised.  hpnctl's intent for it has one best-effort class (its
schema requires one), so hpnctl's output also carries a one-queue qos profile.

Equivalence, on a sample of devices: interfaces (name, /31, peer device, MTU),
Loopback0, and BGP (ASN, router-id, neighbours as (subnet, peer ASN, peer)) must
be equal.  netlab is installed in its own virtualenv (`--netlab`, default: the
`netlab` on PATH, else /opt/netlab-venv/bin/netlab) so that its pins never touch
hpnctl's environment: `python -m venv /opt/netlab-venv && /opt/netlab-venv/bin/pip install networklab`.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (BEST_EFFORT_QOS, HPNCTL, LOOPBACKS, MGMT, MTU, P2P, Report, Run, Shape, best_of,  # noqa: E402
                    compare_content, eos_content, fmt_s, hpnctl_intent, load_average, nodes, peak_mib,
                    run_measured, shape_for, write_yaml)

CONFIG = "startup-config.cfg"
DEFAULT_NETLAB = "/opt/netlab-venv/bin/netlab"


def find_netlab(explicit: str | None = None) -> str | None:
    for cand in (explicit, shutil.which("netlab"), DEFAULT_NETLAB):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def netlab_topology(shape: Shape) -> dict:
    """The fabric as a netlab topology: same node order (ids → loopbacks), same link order (→ /31s)."""
    all_nodes = nodes(shape)
    links = []
    for pod in range(1, shape.pods + 1):
        here = [n for n in all_nodes if n.pod == pod]
        links += [f"{n.name}-{peer}" for n in here if n.role == "leaf" for _, peer, _ in n.uplinks]
        links += [f"{n.name}-{peer}" for n in here if n.role == "spine" for _, peer, _ in n.uplinks]
    return {
        "provider": "clab",
        "defaults": {
            "device": "eos",
            # hpnctl's EOS port names (Ethernet<port>/1); netlab numbers ports in link order, as hpnctl does.
            "devices": {"eos": {"interface_name": "Ethernet{ifindex}/1"}},
            "interfaces": {"mtu": MTU},
            "const": {"MAX_NODE_ID": 10 * len(all_nodes)},  # netlab allows 150 nodes unless told otherwise
        },
        "module": ["bgp"],
        "bgp": {"sessions": {"ipv4": ["ebgp"]}},  # only the eBGP underlay (no iBGP mesh among same-AS spines)
        "addressing": {
            "loopback": {"ipv4": LOOPBACKS},
            "p2p": {"ipv4": P2P, "prefix": 31},
            "mgmt": {"ipv4": MGMT, "start": 10},
        },
        "nodes": {n.name: {"id": n.index + 1, "bgp": {"as": n.asn}} for n in all_nodes},
        "links": links,
    }


# ---------------------------------------------------------------- equivalence (routing only)

_NETLAB_DESC = re.compile(r"^\S+ -> (?P<peer>\S+)")


def routing_content(text: str) -> dict:
    """eos_content reduced to what both tools model: interfaces, loopback, eBGP."""
    c = eos_content(text)
    ethernet = {}
    for name, itf in c["ethernet"].items():
        peer = itf.get("peer", ("", ""))[0]
        if m := _NETLAB_DESC.match(peer):  # netlab: "leaf1 -> spine1 [external]"
            peer = m["peer"]
        ethernet[name] = {"routed": itf["routed"], "subnet": itf.get("subnet"), "peer": peer,
                          "mtu": itf.get("mtu") or c.get("default_mtu") or "1500"}
    bgp = c["bgp"]
    return {"hostname": c.get("hostname"), "loopback0": c.get("loopback0"), "ethernet": ethernet,
            "bgp": {"asn": bgp.get("asn"), "router_id": bgp.get("router_id"), "neighbors": bgp.get("neighbors"),
                    "advertises_loopback": bgp.get("advertises_loopback")}}


def netlab_text(cfg_dir: Path, name: str) -> str:
    """One node's configs as netlab renders them (initial, then each module), as one text."""
    parts = [cfg_dir / f"{name}.initial.cfg", cfg_dir / f"{name}.bgp.cfg"]
    return "\n".join(p.read_text() for p in parts if p.exists())


def compare_outputs(hpn_dir: Path, nl_dir: Path, names: list[str]) -> dict[str, list[str]]:
    return {n: compare_content(routing_content((hpn_dir / n / CONFIG).read_text()),
                               routing_content(netlab_text(nl_dir, n))) for n in names}


def check_devices(names: list[str], k: int, seed: int) -> list[str]:
    by_role: dict[str, list[str]] = {}
    for n in names:
        by_role.setdefault(n.rstrip("0123456789"), []).append(n)
    pick = [m for members in by_role.values() for m in (members[0], members[-1])]
    rest = [n for n in names if n not in pick]
    pick += random.Random(seed).sample(rest, max(0, min(len(rest), k - len(pick))))
    return sorted(set(pick), key=names.index)


# ---------------------------------------------------------------- runs


def run_netlab(netlab: str, topo: Path, work: Path, timeout: float | None) -> Run:
    """`netlab create` + `netlab initial -o cfg` in a clean directory: one Run, wall times added up."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy(topo, work / "topology.yml")
    create = run_measured([netlab, "create", "topology.yml"], cwd=work, timeout=timeout)
    if create.returncode != 0:
        return create
    initial = run_measured([netlab, "initial", "-o", "cfg"], cwd=work, timeout=timeout)
    return Run([*create.argv, "&&", *initial.argv], create.wall_s + initial.wall_s,
               max(create.maxrss_mib, initial.maxrss_mib), max(create.tree_rss_mib, initial.tree_rss_mib),
               create.stdout + initial.stdout, create.stderr + initial.stderr, initial.returncode,
               {"create": create.wall_s, "initial": initial.wall_s})


def power_fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares fit of t = a·N^b in log-log space."""
    import math

    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(my - b * mx), b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--pod", default="4,28,4", metavar="S,L,SS",
                    help="spines and leaves per pod, super-spines (the smoke test uses a tiny pod)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--netlab-runs", default=None, metavar="K[,K…]",
                    help="runs of netlab, one number or one per size (default: --runs)")
    ap.add_argument("--netlab-max", type=int, default=None,
                    help="run netlab only up to this N; larger sizes are EXTRAPOLATED with a power law t = a·N^b "
                         "fitted to the measured sizes (stated in the output)")
    ap.add_argument("--netlab", default=None, help="netlab executable")
    ap.add_argument("--netlab-timeout", type=float, default=1800, help="seconds before a netlab step is stopped")
    ap.add_argument("--check", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    netlab = find_netlab(args.netlab)
    if netlab is None:
        print("netlab not found: python -m venv /opt/netlab-venv && /opt/netlab-venv/bin/pip install networklab",
              file=sys.stderr)
        return 2
    version = subprocess.run([netlab, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    report = Report("render_vs_netlab", save=not args.no_save)
    sizes = [int(s) for s in args.sizes.split(",")]
    nl_runs_per = [int(k) for k in (args.netlab_runs or str(args.runs)).split(",")]
    nl_runs_per = dict(zip(sizes, nl_runs_per + nl_runs_per[-1:] * len(sizes)))
    report(f"{version}; hpnctl with all {os.cpu_count()} cores (default) and with --jobs 1 (netlab is single-process); "
           f"best of {args.runs} runs (netlab: {', '.join(f'{k} at N={n}' for n, k in nl_runs_per.items())})")
    report()
    rows, failures, measured = [], 0, []
    for size in sizes:
        shape = shape_for(size, args.pod)
        work = Path(args.work or tempfile.mkdtemp(prefix="bench-netlab-")) / f"n{shape.n}"
        work.mkdir(parents=True, exist_ok=True)
        intent = write_yaml(work / "intent.yml", hpnctl_intent(shape, qos=BEST_EFFORT_QOS))
        topo = write_yaml(work / "topology.yml", netlab_topology(shape))
        report(f"N = {shape.n}   [{load_average()}]")
        runs = {}
        for label, jobs in (("hpnctl", None), ("hpnctl --jobs 1", 1)):
            out = work / ("hpnctl" if jobs is None else "hpnctl-j1")

            def once(out=out, jobs=jobs):
                shutil.rmtree(out, ignore_errors=True)
                return run_measured([*HPNCTL, "render", str(intent), "-o", str(out),
                                     *(["--jobs", str(jobs)] if jobs else [])])
            best, all_runs = best_of(args.runs, once)
            runs[label] = (best, all_runs)
            report(f"  {label:16} {fmt_s(best.wall_s)} s  (runs: {', '.join(fmt_s(r.wall_s) for r in all_runs)})")
        h, h1 = runs["hpnctl"][0], runs["hpnctl --jobs 1"][0]
        hr, hp = peak_mib(runs["hpnctl"][1])
        if args.netlab_max and shape.n > args.netlab_max:
            if len(measured) < 2:
                report("  netlab           not run (above --netlab-max) and fewer than two measured sizes to extrapolate from")
                continue
            a, b = power_fit(measured)
            t = a * shape.n ** b
            report(f"  {'netlab':16} EXTRAPOLATED {fmt_s(t)} s: not run above N = {args.netlab_max}; t = {a:.3g}·N^{b:.2f} "
                   f"fitted to the measured N = {', '.join(str(n) for n, _ in measured)}")
            rows.append([f"{shape.n:,}", fmt_s(h.wall_s), fmt_s(h1.wall_s), f"{hr:.0f} / {hp:.0f}", "~" + fmt_s(t), "-",
                         f"{h.wall_s / t:.4f}", f"{h1.wall_s / t:.4f}", "not run"])
            if not args.work:
                shutil.rmtree(work.parent, ignore_errors=True)
            report()
            continue
        nl_best, nl_runs = best_of(nl_runs_per[size],
                                   lambda: run_netlab(netlab, topo, work / "netlab", args.netlab_timeout))
        measured.append((shape.n, nl_best.wall_s))
        report(f"  {'netlab':16} {fmt_s(nl_best.wall_s)} s  (runs: {', '.join(fmt_s(r.wall_s) for r in nl_runs)}; "
               f"best: create {fmt_s(nl_best.steps['create'])} s + initial {fmt_s(nl_best.steps['initial'])} s)")
        names = [n.name for n in nodes(shape)]
        picked = check_devices(names, args.check, args.seed)
        diffs = compare_outputs(work / "hpnctl", work / "netlab" / "cfg", picked)
        bad = {n: d for n, d in diffs.items() if d}
        failures += len(bad)
        report(f"  routing content check on {len(picked)} devices ({', '.join(picked)}): "
               + ("EQUAL" if not bad else f"{len(bad)} DIFFER"))
        for n, d in bad.items():
            report(f"    {n}: " + "; ".join(d[:6]))
        out_mib = {k: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) / 2**20
                   for k, d in (("hpnctl", work / "hpnctl"), ("netlab", work / "netlab" / "cfg"))}
        report(f"  output: hpnctl {out_mib['hpnctl']:.1f} MiB, netlab configs {out_mib['netlab']:.1f} MiB "
               f"(netlab's initial config lists every other node as an `ip host`: O(N²) text)")
        nr, npss = peak_mib(nl_runs)
        rows.append([f"{shape.n:,}", fmt_s(h.wall_s), fmt_s(h1.wall_s), f"{hr:.0f} / {hp:.0f}", fmt_s(nl_best.wall_s),
                     f"{nr:.0f} / {npss:.0f}", f"{h.wall_s / nl_best.wall_s:.3f}", f"{h1.wall_s / nl_best.wall_s:.3f}",
                     "equal" if not bad else "DIFFER"])
        if not args.work:
            shutil.rmtree(work.parent, ignore_errors=True)
        report()
    report("Summary (wall s; memory MiB = largest process / sum of RSS over the process tree)")
    report.table(["N", "hpnctl s", "hpnctl -j1 s", "hpnctl MiB", "netlab s", "netlab MiB", "hpnctl/netlab",
                  "-j1/netlab", "routing content"], rows)
    report(f"machine load after the run: {load_average()}")
    report.write()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
