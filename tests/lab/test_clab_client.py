"""containerlab CLI client: command lines, parsing of real-shaped outputs, error translation.

Error translation runs a fake `containerlab` executable (tests/lab/fixtures/clab/fake-containerlab)
from PATH: a real process with real exit codes and stderr, not a mock object.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hpnctl.errors import LabError
from hpnctl.lab import clab_client, netns
from hpnctl.lab.clab_client import (MIN_VERSION, ClabClient, first_useful_line, parse_exec, parse_inspect,
                                    parse_version)
from hpnctl.lab.netns import parse_bgp_summary
from hpnctl.lab.runtime import docker_engine_answers, get_runtime

FIXTURES = Path(__file__).parent / "fixtures"
CLAB = FIXTURES / "clab"
TOPOLOGY = FIXTURES / "fabric" / "fabric.clab.yml"


@pytest.fixture
def fake_clab(tmp_path, monkeypatch):
    """A `containerlab` on PATH that logs its argv and answers from FAKE_CLAB_* variables."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(CLAB / "fake-containerlab", bin_dir / "containerlab")
    (bin_dir / "containerlab").chmod(0o755)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CLAB_LOG", str(log))
    monkeypatch.setenv("HPNCTL_STATE_DIR", str(tmp_path / "state"))
    for var in ("FAKE_CLAB_STDOUT", "FAKE_CLAB_STDERR", "FAKE_CLAB_EXIT", "FAKE_CLAB_VERSION"):
        monkeypatch.delenv(var, raising=False)

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return calls


# --------------------------------------------------------------------------- command lines

def test_command_lines():
    c = ClabClient("containerlab")
    topo = Path("/labs/hpt.clab.yml")
    assert c.deploy_cmd(topo) == ["containerlab", "deploy", "-t", "/labs/hpt.clab.yml", "--reconfigure"]
    assert c.destroy_cmd(topo) == ["containerlab", "destroy", "-t", "/labs/hpt.clab.yml", "--cleanup"]
    assert c.destroy_cmd(lab="hpt") == ["containerlab", "destroy", "--name", "hpt", "--cleanup"]
    assert c.inspect_cmd(topo) == ["containerlab", "inspect", "-t", "/labs/hpt.clab.yml", "--format", "json"]
    assert c.inspect_cmd(lab="hpt") == ["containerlab", "inspect", "--name", "hpt", "--format", "json"]
    assert c.exec_cmd(topo, "vtysh -c 'show bgp summary json'", node="leaf1") == [
        "containerlab", "exec", "-t", "/labs/hpt.clab.yml", "--label", "clab-node-name=leaf1",
        "--cmd", "vtysh -c 'show bgp summary json'", "--format", "json"]
    assert c.exec_cmd(topo, "true", labels={"hpnctl.frr": "true"})[4:6] == ["--label", "hpnctl.frr=true"]
    assert c.version_cmd() == ["containerlab", "version"]
    with pytest.raises(LabError, match="topology file or a lab name"):
        c.inspect_cmd()


# --------------------------------------------------------------------------- parsing

def test_parse_inspect_containers_shape_filters_lab_and_strips_prefix():
    nodes = parse_inspect((CLAB / "inspect-containers.json").read_text(), "hpt")
    assert [(n.node, n.container, n.ipv4, n.state) for n in nodes] == [
        ("leaf1", "clab-hpt-leaf1", "172.29.201.21", "running"),
        ("spine1", "clab-hpt-spine1", "172.29.201.11", "running")]
    everything = parse_inspect((CLAB / "inspect-containers.json").read_text())
    other = [n for n in everything if n.lab == "other"][0]
    assert (other.node, other.ipv4, other.state) == ("r1", "", "exited")  # "N/A" is no address


def test_parse_inspect_by_lab_shape():
    nodes = parse_inspect((CLAB / "inspect-by-lab.json").read_text(), "hpt")
    assert [(n.node, n.ipv4, n.kind) for n in nodes] == [("host1", "172.29.201.31", "linux"),
                                                          ("leaf1", "172.29.201.21", "linux")]
    assert nodes[0].lab_path == "/work/main/tests/lab/fixtures/fabric/fabric.clab.yml"  # absLabPath wins
    assert {n.lab for n in parse_inspect((CLAB / "inspect-by-lab.json").read_text())} == {"hpt", "vlan"}


def test_parse_inspect_rejects_garbage():
    assert parse_inspect("") == []
    with pytest.raises(LabError, match="not JSON"):
        parse_inspect("+----+------+")
    with pytest.raises(LabError, match="neither"):
        parse_inspect("[1, 2]")


def test_parse_exec_list_shape_keeps_return_codes():
    results = parse_exec((CLAB / "exec-list.json").read_text())
    assert results["clab-hpt-spine1"].returncode == 1
    assert "failed to connect" in results["clab-hpt-spine1"].stderr
    assert parse_bgp_summary(results["clab-hpt-leaf1"].stdout) == {"10.2.0.0": "Established", "10.2.0.4": "Active"}


def test_parse_exec_legacy_shape_with_embedded_json():
    results = parse_exec((CLAB / "exec-legacy.json").read_text())
    assert list(results) == ["clab-hpt-leaf1"]
    assert results["clab-hpt-leaf1"].returncode == 0
    assert parse_bgp_summary(results["clab-hpt-leaf1"].stdout) == {"10.2.0.0": "Established"}


def test_parse_version():
    assert parse_version((CLAB / "version.txt").read_text()) == (0, 69, 3)
    assert parse_version("0.71.1\n") == (0, 71, 1)  # `version --short`
    with pytest.raises(LabError, match="cannot read the containerlab version"):
        parse_version("command not found")


def test_first_useful_line_skips_log_noise():
    assert first_useful_line((CLAB / "deploy-error.txt").read_text()) == \
        "Error: Error response from daemon: Pool overlaps with other one on this address space"
    assert first_useful_line("INFO[0000] x\nERRO[0001] failed to start container leaf1\nError: exit") == \
        "failed to start container leaf1"
    assert first_useful_line("\x1b[36m21:03:02 INFO\x1b[0m Parsing\n21:03:03 ERRO node spine1 failed") == \
        "node spine1 failed"
    assert first_useful_line("", "only stdout") == "only stdout"


# --------------------------------------------------------------------------- the real process

def test_failed_deploy_becomes_lab_error_with_command_and_reason(fake_clab, monkeypatch):
    monkeypatch.setenv("FAKE_CLAB_STDERR", str(CLAB / "deploy-error.txt"))
    monkeypatch.setenv("FAKE_CLAB_EXIT", "1")
    with pytest.raises(LabError) as err:
        ClabClient().deploy(TOPOLOGY)
    message = str(err.value)
    assert f"`containerlab deploy -t {TOPOLOGY} --reconfigure` failed (exit 1)" in message
    assert message.endswith("Pool overlaps with other one on this address space")
    assert "INFO" not in message
    assert fake_clab() == [["deploy", "-t", str(TOPOLOGY), "--reconfigure"]]


def test_missing_executable_is_a_lab_error(tmp_path):
    with pytest.raises(LabError, match="not installed or not on PATH"):
        ClabClient(str(tmp_path / "no-such-containerlab")).version()


def test_version_check_refuses_old_releases(fake_clab, monkeypatch):
    monkeypatch.setenv("FAKE_CLAB_VERSION", "0.48.1")
    with pytest.raises(LabError, match=r"containerlab 0\.48\.1 is too old: hpnctl needs 0\.49\.0"):
        ClabClient().check_version()
    monkeypatch.setenv("FAKE_CLAB_VERSION", "0.69.3")
    assert ClabClient().check_version() == (0, 69, 3) >= MIN_VERSION


def test_inspect_of_undeployed_lab_is_empty(fake_clab, monkeypatch, tmp_path):
    err = tmp_path / "err.txt"
    err.write_text("INFO[0000] Parsing & checking topology file: x.clab.yml\nError: no containers found\n")
    monkeypatch.setenv("FAKE_CLAB_STDERR", str(err))
    monkeypatch.setenv("FAKE_CLAB_EXIT", "1")
    assert ClabClient().inspect(lab="hpt") == []


def test_exec_returns_the_node_result(fake_clab, monkeypatch):
    monkeypatch.setenv("FAKE_CLAB_STDOUT", str(CLAB / "exec-list.json"))
    done = ClabClient().exec(TOPOLOGY, "spine1", ["vtysh", "-c", "show bgp summary json"])
    assert done.returncode == 1 and done.args == ["vtysh", "-c", "show bgp summary json"]
    assert fake_clab()[-1] == ["exec", "-t", str(TOPOLOGY), "--label", "clab-node-name=spine1",
                               "--cmd", "vtysh -c 'show bgp summary json'", "--format", "json"]


def test_runtime_up_deploys_then_reports_status(fake_clab, monkeypatch, tmp_path):
    # one fake answers every call of up(): version, deploy, inspect, exec (each ignores the others' JSON)
    combined = tmp_path / "out.json"
    combined.write_text(json.dumps({**json.loads((CLAB / "inspect-by-lab.json").read_text()),
                                    **json.loads((CLAB / "exec-list.json").read_text())}))
    monkeypatch.setenv("FAKE_CLAB_STDOUT", str(combined))
    monkeypatch.setenv("FAKE_CLAB_VERSION", "0.69.3")
    monkeypatch.setattr(clab_client, "parse_version", lambda _text: (0, 69, 3))  # stdout is the JSON here
    lab = clab_client.up(TOPOLOGY)
    verbs = [argv[0] for argv in fake_clab()]
    assert verbs == ["version", "deploy", "inspect", "exec"]
    assert fake_clab()[2] == ["inspect", "-t", str(TOPOLOGY), "--format", "json"]
    assert fake_clab()[3][3:5] == ["--label", "hpnctl.frr=true"]
    by_name = {n.name: n for n in lab.nodes}
    assert by_name["leaf1"].bgp == {"10.2.0.0": "Established", "10.2.0.4": "Active"}
    assert by_name["host1"].bgp == {} and by_name["host1"].running
    assert clab_client.lab_access("hpt")["nodes"] == {"host1": "172.29.201.31", "leaf1": "172.29.201.21"}
    clab_client.down("hpt")  # by name: the topology remembered at up
    assert fake_clab()[-1] == ["destroy", "-t", str(TOPOLOGY), "--cleanup"]


# --------------------------------------------------------------------------- runtime choice

def _fake_docker(tmp_path: Path, answers: bool) -> None:
    script = tmp_path / "bin" / "docker"
    script.write_text("#!/bin/sh\n" + ("echo 28.2.2\n" if answers else
                                        "echo 'Cannot connect to the Docker daemon' >&2; exit 1\n"))
    script.chmod(0o755)


def test_get_runtime(fake_clab, tmp_path):
    assert get_runtime("netns") is netns
    assert get_runtime("containerlab") is clab_client
    with pytest.raises(LabError, match="unknown lab runtime 'docker'"):
        get_runtime("docker")
    _fake_docker(tmp_path, answers=False)  # containerlab on PATH, but no engine
    assert not docker_engine_answers() and get_runtime("auto") is netns
    _fake_docker(tmp_path, answers=True)
    assert docker_engine_answers() and get_runtime("auto") is clab_client


# --------------------------------------------------------------------------- the real containerlab

def _real_clab_missing() -> str:
    if shutil.which("containerlab") is None:
        return "containerlab is not on PATH"
    return "" if docker_engine_answers() else "no docker engine answers (containerlab needs one)"


@pytest.mark.clab
@pytest.mark.skipif(bool(_real_clab_missing()), reason=_real_clab_missing() or "runs")
def test_real_containerlab_deploy_exec_destroy(tmp_path, monkeypatch):
    monkeypatch.setenv("HPNCTL_STATE_DIR", str(tmp_path / "state"))
    client = ClabClient()
    assert client.check_version() >= MIN_VERSION
    lab = clab_client.up(TOPOLOGY)
    try:
        assert {n.name for n in lab.nodes} == {"spine1", "spine2", "leaf1", "leaf2", "host1"}
        assert all(n.running for n in lab.nodes)
        done = clab_client.exec_in("hpt", "leaf1", ["hostname"])
        assert done.returncode == 0 and done.stdout.strip() == "leaf1"
    finally:
        clab_client.down(TOPOLOGY)
    assert client.inspect(TOPOLOGY) == []
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(["docker", "inspect", "clab-hpt-leaf1"], check=True, capture_output=True)
