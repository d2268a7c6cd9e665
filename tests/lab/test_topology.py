"""containerlab topology generation: golden file, containerlab's JSON schema, --limit and --scale-down."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from hpnctl.design import design
from hpnctl.intent import load_intent
from hpnctl.lab.topology import build_topology, scale_down, select_lab_devices

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"
GOLDEN = REPO / "tests" / "golden" / "lab-topology"
SCHEMA = REPO.parent / "shared" / "oracles" / "containerlab" / "clab.schema.json"


def _fabric(name: str):
    loaded = load_intent(INVENTORIES / name)
    return loaded, design(loaded)


@pytest.fixture(scope="module")
def lab_topology(tmp_path_factory):
    loaded, fabric = _fabric("lab.yml")
    return build_topology(loaded, fabric, tmp_path_factory.mktemp("topo"))


def test_lab_topology_golden(lab_topology, golden) -> None:
    text = lab_topology.path.read_text().replace(str(INVENTORIES / "lab.yml"), "inventories/lab.yml")
    golden(text, GOLDEN / "lab.clab.yml")


def test_lab_topology_wires_every_link_with_the_intent_mgmt_addresses(lab_topology) -> None:
    _, fabric = _fabric("lab.yml")
    nodes = lab_topology.data["topology"]["nodes"]
    assert set(nodes) == set(fabric.devices)
    assert {n: spec["mgmt-ipv4"] for n, spec in nodes.items()} == {d.name: d.mgmt_ip for d in fabric.devices.values()}
    ends = Counter(ep.split(":")[0] for link in lab_topology.data["topology"]["links"] for ep in link["endpoints"])
    assert ends == Counter({d.name: len(d.interfaces) for d in fabric.devices.values()})
    # linux switches get their rendered files at the standard paths, and the files exist
    for name in ("leaf1", "spine1"):
        for bind in nodes[name]["binds"]:
            src, dst = bind.split(":")
            assert (lab_topology.path.parent / src).is_file()
        assert f"{name}/frr.conf:/etc/frr/frr.conf" in nodes[name]["binds"]


@pytest.mark.skipif(not SCHEMA.is_file(), reason="containerlab's schema is not beside the repo (../shared/oracles)")
@pytest.mark.parametrize("inventory", ["lab.yml", "pd-inference.yml"])
def test_generated_topologies_satisfy_containerlabs_schema(inventory, tmp_path) -> None:
    from hpnctl.validate_models.clab_schema import validate_clab_topology

    loaded, fabric = _fabric(inventory)
    topo = build_topology(loaded, fabric, tmp_path)
    assert validate_clab_topology(topo.path, SCHEMA) == []
    kinds = {spec["kind"] for spec in topo.data["topology"]["nodes"].values()}
    if inventory == "pd-inference.yml":
        assert kinds == {"sonic-vs", "arista_ceos", "linux"}


def test_vendor_kinds_map_ports_to_lab_interfaces_in_port_order(tmp_path) -> None:
    loaded, fabric = _fabric("pd-inference.yml")
    topo = build_topology(loaded, fabric, tmp_path, limit="leaf-g1-r1,spine1")
    [link] = [lk for lk in topo.data["topology"]["links"] if lk["endpoints"][1].startswith("spine1:")]
    # leaf-g1-r1: 4 host ports first, then its first uplink = its 5th port → eth5 on sonic-vs
    assert link["endpoints"] == ["leaf-g1-r1:eth5", "spine1:eth1"]
    assert topo.data["topology"]["nodes"]["leaf-g1-r1"]["startup-config"] == "leaf-g1-r1/config_db.json"


def test_limit_keeps_the_named_devices_and_their_hosts() -> None:
    _, fabric = _fabric("lab.yml")
    assert select_lab_devices(fabric, "leaf1,spine*", scale=False) == {"leaf1", "spine1", "spine2", "host1"}


def test_scale_down_keeps_every_role_and_plane_pattern_small() -> None:
    _, fabric = _fabric("xl.yml")
    kept = scale_down(fabric)
    devices = [fabric.devices[n] for n in kept]
    roles = Counter(d.role for d in devices)
    assert set(roles) == {"leaf", "spine", "super-spine", "host"}
    assert {d.plane for d in devices if d.is_switch} == {1, 2}
    assert {d.pod for d in devices if d.role in ("leaf", "spine")} == {1, 2}
    assert len(kept) <= 60, f"a laptop-sized lab, got {len(kept)} nodes"
    # ECMP still exercised: every kept leaf reaches at least two kept spines
    for leaf in (d for d in devices if d.role == "leaf"):
        assert len({i.peer for i in leaf.interfaces if i.peer in kept and i.kind == "uplink"}) >= 2


def test_scale_down_topology_file_is_consistent(tmp_path) -> None:
    loaded, fabric = _fabric("xl.yml")
    topo = build_topology(loaded, fabric, tmp_path, scale=True)
    nodes = set(topo.data["topology"]["nodes"])
    for link in topo.data["topology"]["links"]:
        assert {ep.split(":")[0] for ep in link["endpoints"]} <= nodes
    assert yaml.safe_load(topo.path.read_text())["name"] == "xl"
