"""End to end on the built-in netns lab (real FRR, real sshd, real SSH): diff, apply, verify, drift, fault, rollback.

The intent is inventories/lab.yml (2 spines, 4 leaves, 4 hosts) under another fabric
name and management pool, so it can run next to a developer's `lab up`.  The steps
share one lab and run in order; the lab is always torn down at the end.

1. lab up with the rendered configs; verify passes
2. change the intent (a class's bandwidth, the ECMP hash fields, the BGP timers): diff
   --live shows exactly that and exits 2; apply pushes it; verify passes; a second apply
   pushes nothing (one read per node); diff exits 0
3. drift: a hand change over SSH on leaf2; verify reports drift on leaf2 only; apply repairs it
4. fault: leaf3's frr.conf is read-only (its commit fails mid-rollout); the rollout stops per
   --max-failures, leaf3 is back on its previous config, every other node is on old or new
   exactly as the report says; rollback --run ID restores the pre-run state of all nodes
5. bad intent: apply refuses before touching any device (no run, no change)
Throughout, a password named by the intent is set, and must appear in no output or state file.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LAB = "chg-e2e"
POOL = "172.29.180.0/24"
SECRET = "e2e-Pa55w0rd-never-logged"
SWITCHES = ["leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"]


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "the netns lab needs root"
    for path in ("/usr/lib/frr/frrinit.sh", "/usr/lib/frr/frr-reload.py", "/usr/sbin/sshd"):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (FRR / openssh-server not installed)"
    try:
        from hpnctl.lab import netns
    except ImportError as exc:
        return f"the netns lab runtime is not available ({exc})"
    missing = [f for f in ("up", "down", "exec_in", "lab_access") if not hasattr(netns, f)]
    return f"the netns runtime lacks {', '.join(missing)}" if missing else None


pytestmark = [pytest.mark.lab, pytest.mark.slow, pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")]


class Lab:
    """The shared lab, the intents and a log of every output (for the secret check)."""

    def __init__(self, root: Path):
        self.root = root
        self.state = root / "state"
        self.outputs: list[str] = []
        self.base = yaml.safe_load((REPO / "inventories" / "lab.yml").read_text())
        self.base["fabric"]["name"] = LAB
        self.base["management"]["pool"] = POOL
        self.base["credentials"]["password_env"] = "HPNCTL_E2E_PASSWORD"

    def intent(self, name: str, allreduce_bw: int = 60, default_bw: int = 40, timers: tuple[int, int] = (3, 9),
               hash_fields: list[str] | None = None) -> Path:
        data = json.loads(json.dumps(self.base))
        net = data["networks"]["compute"]
        net["qos"]["classes"]["allreduce"]["scheduler"]["bandwidth_percent"] = allreduce_bw
        net["qos"]["classes"]["default"]["scheduler"]["bandwidth_percent"] = default_bw
        net["routing"]["bgp"]["keepalive_s"], net["routing"]["bgp"]["hold_s"] = timers
        if hash_fields:
            net["routing"]["ecmp"]["hash_fields"] = hash_fields
        path = self.root / f"{name}.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def hpnctl(self, *args: str) -> tuple[int, str, str]:
        env = {**os.environ, "HPNCTL_STATE_DIR": str(self.state), "HPNCTL_E2E_PASSWORD": SECRET, "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-m", "hpnctl.cli", *args], capture_output=True, text=True,
                              env=env, cwd=REPO, timeout=300)
        self.outputs += [done.stdout, done.stderr]
        return done.returncode, done.stdout, done.stderr

    def json(self, *args: str) -> tuple[int, dict]:
        code, out, err = self.hpnctl(*args, "--format", "json")
        try:
            return code, json.loads(out)
        except ValueError:
            raise AssertionError(f"hpnctl {' '.join(args)}: exit {code}, not JSON:\n{out}\n{err}") from None

    def ssh(self, node: str, command: str) -> str:
        cfg = self.state / "labs" / LAB / "ssh_config"
        done = subprocess.run(["ssh", "-F", str(cfg), node, command], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def node_files(self) -> dict[str, dict[str, str]]:
        """What each node has on disk now (read with plain ssh, not through hpnctl)."""
        from concurrent.futures import ThreadPoolExecutor

        paths = {"frr.conf": "/etc/frr/frr.conf", "qos.sh": "/etc/hpnctl/qos.sh",
                 "sysctl.conf": "/etc/sysctl.d/90-hpnctl.conf"}
        command = "; ".join(f"echo '=== {name}'; base64 -w0 {path}; echo" for name, path in paths.items())

        def read(node: str) -> dict[str, str]:
            import base64

            files, lines = {}, self.ssh(node, command).splitlines()
            for head, body in zip(lines[::2], lines[1::2]):
                files[head.removeprefix("=== ")] = base64.b64decode(body).decode()
            return files

        with ThreadPoolExecutor(len(SWITCHES)) as pool:
            return dict(zip(SWITCHES, pool.map(read, SWITCHES)))

    def rendered(self, intent: Path) -> dict[str, dict[str, str]]:
        out_dir = self.root / f"render-{intent.stem}"
        code, _, err = self.hpnctl("render", str(intent), "-o", str(out_dir))
        assert code == 0, err
        return {n: {f.name: f.read_text() for f in (out_dir / n).iterdir()} for n in SWITCHES}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    from hpnctl.cli import load_and_design
    from hpnctl.lab import netns
    from hpnctl.lab.topology import build_topology

    env = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("e2e")
    the_lab = Lab(root)
    env.setenv("HPNCTL_STATE_DIR", str(the_lab.state))
    try:
        intent = the_lab.intent("v1")
        loaded, fabric = load_and_design(intent)
        topo = build_topology(loaded, fabric, root / "topology")
        netns.up(topo.path)
        yield the_lab
    finally:
        try:
            netns.down(LAB)
        finally:
            env.undo()


def _changed_lines(unified: str) -> list[str]:
    return [line for line in unified.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_1_lab_up_verify_passes(lab: Lab) -> None:
    code, report = lab.json("verify", str(lab.intent("v1")), "--lab", "--wait", "90")
    assert code == 0, json.dumps(report, indent=1)
    assert report["passed"] and report["summary"]["drift"] == []
    leaf1 = next(d for d in report["devices"] if d["device"] == "leaf1")
    checks = {c["name"]: c["status"] for c in leaf1["checks"]}
    assert checks["bgp"] == "pass" and checks["ecmp"] == "pass" and checks["qos"] == "pass"
    assert checks["pfc"] == "skip" and checks["adaptive-routing"] == "skip"


def test_1b_host_keys_are_checked(lab: Lab) -> None:
    """Strict host-key checking: a key missing from known_hosts refuses the connection; the lab's file lets it in."""
    from dataclasses import replace

    from hpnctl.drivers.base import Credentials, DeviceTarget
    from hpnctl.drivers.linux import ParamikoTransport
    from hpnctl.errors import ConnectError
    from hpnctl.lab import netns

    access = netns.lab_access(LAB)
    empty = lab.root / "empty_known_hosts"
    empty.write_text("")
    target = DeviceTarget("leaf1", "linux", access["nodes"]["leaf1"], credentials=Credentials(use_agent=False),
                          known_hosts=str(empty), options={"ssh_user": "root", "ssh_key_file": access["key_file"]})
    with pytest.raises(ConnectError, match="not in known_hosts"):
        ParamikoTransport(target)
    ok = ParamikoTransport(replace(target, known_hosts=access["known_hosts"]))
    assert ok.run("hostname").stdout.strip() == "leaf1"
    ok.close()


def test_2_change_diff_apply_verify_idempotent(lab: Lab) -> None:
    v2 = lab.intent("v2", allreduce_bw=50, default_bw=50, timers=(5, 15),
                    hash_fields=["src-ip", "dst-ip", "ip-protocol", "l4-dst-port"])
    code, report = lab.json("diff", str(v2), "--live", "--lab")
    assert code == 2, report
    assert sorted(d["hostname"] for d in report["changed"]) == SWITCHES and report["summary"]["errors"] == 0
    for d in report["changed"]:
        assert set(d["files"]) == {"frr.conf", "qos.sh", "sysctl.conf"}
        frr = d["text"].split("--- frr.conf: frr-reload.py --test (FRR defaults filtered)\n")[1].split("\n---")[0]
        assert frr.splitlines()[0] == "Lines To Add" and frr.splitlines()[2] == " timers bgp 5 15", frr
        assert len(frr.splitlines()) == 3, f"only the timers change, not FRR's defaults:\n{frr}"
        qos = _changed_lines(d["files"]["qos.sh"])
        assert qos and all(" htb rate 50000mbit " in line or " htb rate 40000mbit " in line
                           or " htb rate 60000mbit " in line for line in qos), qos
        assert _changed_lines(d["files"]["sysctl.conf"]) == ["-net.ipv4.fib_multipath_hash_fields = 0x0037",
                                                            "+net.ipv4.fib_multipath_hash_fields = 0x0027"]

    code, report = lab.json("apply", str(v2), "--lab", "--confirm-timeout", "60")
    assert code == 0, json.dumps(report, indent=1)
    assert {d["device"]: (d["status"], d["config"]) for d in report["devices"]} == {n: ("changed", "new") for n in SWITCHES}
    assert lab.node_files() == lab.rendered(v2)

    code, report = lab.json("verify", str(v2), "--lab", "--wait", "90")
    assert code == 0, json.dumps(report, indent=1)

    code, report = lab.json("apply", str(v2), "--lab")
    assert code == 0
    for d in report["devices"]:
        assert (d["status"], d["commands"]) == ("unchanged", 1), d  # one read per node, nothing pushed
    code, _, _ = lab.hpnctl("diff", str(v2), "--live", "--lab")
    assert code == 0


def test_3_drift_on_one_node(lab: Lab) -> None:
    v2 = lab.root / "v2.yml"
    lab.ssh("leaf2", "vtysh -c 'conf t' -c 'router bgp 65002' -c 'address-family ipv4 unicast' -c 'maximum-paths 4'")
    code, report = lab.json("verify", str(v2), "--lab")
    assert code == 1
    assert report["summary"]["drift"] == ["leaf2"]
    leaf2 = next(d for d in report["devices"] if d["device"] == "leaf2")
    assert "no maximum-paths 4" in leaf2["drift"]["text"] and "maximum-paths 16" in leaf2["drift"]["text"]
    code, report = lab.json("apply", str(v2), "--lab")
    assert code == 0
    assert {d["device"]: d["status"] for d in report["devices"]} == {
        n: ("changed" if n == "leaf2" else "unchanged") for n in SWITCHES}
    code, report = lab.json("verify", str(v2), "--lab", "--wait", "60")
    assert code == 0, json.dumps(report, indent=1)


def test_4_fault_mid_rollout_then_rollback(lab: Lab) -> None:
    from hpnctl.lab import netns

    v2, v3 = lab.root / "v2.yml", lab.intent("v3", allreduce_bw=70, default_bw=30)
    old, new = lab.rendered(v2), lab.rendered(v3)
    before = lab.node_files()
    assert before == old
    done = netns.exec_in(LAB, "leaf3", ["mount", "--bind", "-o", "ro", "/etc/frr/frr.conf", "/etc/frr/frr.conf"])
    assert done.returncode == 0, done.stderr
    try:
        code, report = lab.json("apply", str(v3), "--lab", "--canary", "1", "--batch", "2", "--max-failures", "0",
                                "--confirm-timeout", "60")
    finally:
        netns.exec_in(LAB, "leaf3", ["umount", "/etc/frr/frr.conf"])
    assert code == 1 and report["stopped"]
    got = {d["device"]: (d["status"], d["config"]) for d in report["devices"]}
    assert got == {"leaf1": ("changed", "new"), "leaf2": ("changed", "new"), "leaf3": ("rolled-back", "old"),
                   "leaf4": ("skipped", "old"), "spine1": ("skipped", "old"), "spine2": ("skipped", "old")}, got
    leaf3 = next(d for d in report["devices"] if d["device"] == "leaf3")
    assert "Read-only file system" in leaf3["error"]
    now = lab.node_files()
    for d in report["devices"]:  # every node is on exactly the config the report names
        assert now[d["device"]] == (new if d["config"] == "new" else old)[d["device"]], d["device"]

    code, out, err = lab.hpnctl("rollback", "--run", report["run_id"])
    assert code == 0, out + err
    assert lab.node_files() == before
    code, _, _ = lab.hpnctl("diff", str(v2), "--live", "--lab")
    assert code == 0


def test_5_bad_intent_refused_before_any_device(lab: Lab) -> None:
    runs = lab.state / "runs"
    count = len(list(runs.iterdir()))
    before = lab.node_files()
    bad = lab.intent("bad", allreduce_bw=50, default_bw=40)  # DWRR shares add up to 90%
    code, out, err = lab.hpnctl("apply", str(bad), "--lab")
    assert code == 1 and "adds up to 90%" in err and "nothing was changed" in err
    assert len(list(runs.iterdir())) == count
    assert lab.node_files() == before


def test_6_no_secret_anywhere(lab: Lab) -> None:
    assert lab.outputs and not any(SECRET in text for text in lab.outputs)
    for path in (lab.state / "runs").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
