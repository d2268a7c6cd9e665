"""containerlab topology validation against containerlab's published JSON schema."""
from __future__ import annotations

import copy

import pytest
import yaml

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models.clab_schema import dotted, find_clab_schema, validate_clab_topology

MINIMAL = {
    "name": "hpn",
    "topology": {
        "kinds": {"nokia_srlinux": {"image": "ghcr.io/nokia/srlinux:25.3.1"}},
        "nodes": {
            "leaf1": {"kind": "nokia_srlinux", "type": "ixr-d2l"},
            "leaf2": {"kind": "sonic-vs", "image": "docker-sonic-vs:latest"},
            "leaf3": {"kind": "arista_ceos", "image": "ceos:4.33"},
            "leaf4": {"kind": "nvidia_cumulusvx", "image": "networkop/cx:5.4.0"},
            "gpu1": {"kind": "linux", "image": "alpine:3.20"},
        },
        "links": [
            {"endpoints": ["leaf1:e1-1", "gpu1:eth1"]},
            {"endpoints": ["leaf2:eth1", "gpu1:eth2"]},
        ],
    },
}


def test_minimal_topology_passes(clab_schema):
    assert validate_clab_topology(MINIMAL, clab_schema) == []


def test_yaml_file_passes(clab_schema, tmp_path):
    path = tmp_path / "hpn.clab.yml"
    path.write_text(yaml.safe_dump(MINIMAL))
    assert validate_clab_topology(path, clab_schema) == []


@pytest.mark.parametrize(
    "mutate, path, words",
    [
        (lambda t: t["topology"]["nodes"]["leaf1"].update(imgae="x"), "topology.nodes.leaf1", "'imgae' was unexpected"),
        (lambda t: t["topology"].update(link=[]), "topology", "'link' was unexpected"),
        (lambda t: t["topology"]["nodes"]["leaf1"].update(kind="srl"), "topology.nodes.leaf1.kind", "'srl' is not one of"),
        (lambda t: t["topology"]["nodes"]["leaf1"].update(type="ixr-zz"), "topology.nodes.leaf1.type", "'ixr-zz'"),
        (lambda t: t["topology"]["nodes"].update({"bad name!": {"kind": "linux"}}), "topology.nodes", "does not match"),
    ],
    ids=["typo-in-node", "typo-in-topology", "short-kind-alias", "bad-srl-type", "bad-node-name"],
)
def test_bad_key_fails_with_its_path(mutate, path, words, clab_schema):
    topo = copy.deepcopy(MINIMAL)
    mutate(topo)
    findings = validate_clab_topology(topo, clab_schema)
    assert [(f.path, words in f.message) for f in findings] == [(path, True)], findings
    assert findings[0].device == "hpn"


def test_schema_is_found_via_env_and_missing_schema_is_explained(clab_schema, tmp_path, monkeypatch):
    monkeypatch.setenv("HPNCTL_CLAB_SCHEMA", str(clab_schema))
    assert find_clab_schema() == clab_schema
    monkeypatch.setenv("HPNCTL_CLAB_SCHEMA", str(tmp_path / "nope.json"))
    assert find_clab_schema() == clab_schema  # falls back to ../shared/oracles next to the repo
    with pytest.raises(ModelValidationError, match=r"containerlab schema not found \(looked at given: .*nope2.json.*HPNCTL_CLAB_SCHEMA"):
        find_clab_schema(tmp_path / "nope2.json")


def test_dotted_paths():
    assert dotted(["topology", "links", 0, "endpoints", 1]) == "topology.links[0].endpoints[1]"


def test_mgmt_address_patterns_with_unicode_classes_are_checked(clab_schema) -> None:
    """The schema's mgmt-ipv4 pattern uses ECMA \\p{N}\\p{L}; it must be enforced, not crash Python's re."""
    from hpnctl.validate_models.clab_schema import validate_clab_topology

    schema = clab_schema
    good = {"name": "x", "topology": {"nodes": {"a": {"kind": "linux", "mgmt-ipv4": "172.20.20.3"}}}}
    bad = {"name": "x", "topology": {"nodes": {"a": {"kind": "linux", "mgmt-ipv4": "172.20.20.300"}}}}
    assert validate_clab_topology(good, schema) == []
    [finding] = validate_clab_topology(bad, schema)
    assert finding.path == "topology.nodes.a.mgmt-ipv4" and "172.20.20.300" in finding.message
