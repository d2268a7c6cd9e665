"""`hpnctl lint`, `hpnctl validate` (which includes the lint) and `hpnctl render --hosts`, through the real CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hosts_helpers import INVENTORIES, REPO, write_intent


def hpnctl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpnctl.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "COLUMNS": "400"})


def test_lint_agrees(tmp_path: Path) -> None:
    write_intent(tmp_path)
    done = hpnctl("lint", "intent.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "intent.yml: hosts and switches agree (0 error(s), 0 warning(s))\n"


def test_lint_reports_and_fails(tmp_path: Path) -> None:
    write_intent(tmp_path, hosts="collectives:\n  nccl: 27\nnetworks:\n  compute:\n    mtu: 1500")
    done = hpnctl("lint", "intent.yml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "intent.yml:87:11: error[L301]: NCCL_IB_TC uses DSCP 27 (ToS 108), which no class of network compute maps: "
        "the switches put it in the default class 'default' (queue 0, DWRR 20%) (at hosts.collectives.nccl)",
        "    hint: use a class name instead of a DSCP, or add the DSCP to the class it belongs to",
        "intent.yml:90:12: warning[L306]: the NIC MTU 1500 is below the MTU 4200 of network compute's leaf host ports: "
        "RoCE runs with a smaller path MTU than the fabric carries (at hosts.networks.compute.mtu)",
        "    hint: set fabric.host_mtu to the NIC MTU, or drop the NIC mtu",
        "intent.yml: hosts and switches disagree (1 error(s), 1 warning(s))",
    ]


def test_lint_json(tmp_path: Path) -> None:
    write_intent(tmp_path, hosts="networks:\n  compute:\n    pfc_priorities: [3]")
    done = hpnctl("lint", "intent.yml", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["consistent"] is False
    assert [(d["code"], d["line"], d["col"], d["path"]) for d in doc["diagnostics"]] == [
        ("L302", 88, 23, "hosts.networks.compute.pfc_priorities")]


def test_validate_includes_the_lint(tmp_path: Path) -> None:
    write_intent(tmp_path, hosts="dcqcn:\n  classes: [alltoall]")
    done = hpnctl("validate", "intent.yml", cwd=tmp_path)
    assert done.returncode == 1
    assert "error[L305]: DCQCN is enabled on the NICs for class 'alltoall'" in done.stdout
    assert done.stdout.splitlines()[-1] == "intent.yml: invalid (1 error(s), 0 warning(s))"


def test_render_refuses_an_inconsistent_intent(tmp_path: Path) -> None:
    write_intent(tmp_path, hosts="nic:\n  mtu: 9000")
    done = hpnctl("render", "intent.yml", "--hosts", "-o", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert "error[L306]" in done.stderr and not (tmp_path / "out").exists()


def test_render_hosts(tmp_path: Path) -> None:
    done = hpnctl("render", str(INVENTORIES / "pd-inference.yml"), "--hosts", "-o", "out", "--limit", "gpu1,gpu2",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "rendered 2 host(s), 12 file(s) into out/ (hosts-manifest.json)\n"
    manifest = json.loads((tmp_path / "out" / "hosts-manifest.json").read_text())
    assert [h["host"] for h in manifest["hosts"]] == ["gpu1", "gpu2"]
    assert manifest["hosts"][0]["networks"] == ["compute", "kvcache"]
    assert sorted(p.name for p in (tmp_path / "out" / "gpu1").iterdir()) == [
        "collectives.json", "kernel-qos.sh", "kvcache-net.sh", "kvcache.env", "nccl.env", "nic-qos.sh"]
    assert (tmp_path / "out" / "gpu1" / "nic-qos.sh").stat().st_mode & 0o111
    assert not (tmp_path / "out" / "manifest.json").exists()  # the switches' manifest is not touched


def test_render_hosts_limit_matches_nothing(tmp_path: Path) -> None:
    done = hpnctl("render", str(INVENTORIES / "lab.yml"), "--hosts", "-o", "out", "--limit", "gpu*", cwd=tmp_path)
    assert done.returncode == 1
    assert "error: --limit 'gpu*' matches no host" in done.stderr


def test_compute_only_hosts_get_no_kvcache_files(tmp_path: Path) -> None:
    done = hpnctl("render", str(INVENTORIES / "lab.yml"), "--hosts", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "host1").iterdir()) == [
        "collectives.json", "kernel-qos.sh", "nccl.env", "nic-qos.sh"]
