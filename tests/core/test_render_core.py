"""render_fabric()/render_device(): determinism, --limit, the manifest, parallel = serial, template overrides and errors."""
from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import pytest

import hpnctl.render as render_mod
from hpnctl.design import design
from hpnctl.errors import RenderError
from hpnctl.intent import load_intent
from hpnctl.model import build_device_model
from hpnctl.paths import default_templates_dir
from hpnctl.render import render_device, render_fabric, select_devices

LAB_SWITCHES = ["leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"]
LINUX_FILES = ["frr.conf", "qos.sh", "sysctl.conf"]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def templates_copy(tmp_path) -> Path:
    """A private copy of the shipped templates to edit."""
    dst = tmp_path / "templates"
    shutil.copytree(default_templates_dir(), dst)
    return dst


def test_render_twice_is_byte_identical_and_the_manifest_hashes_the_files(lab, tmp_path):
    loaded, fabric = lab
    m1 = render_fabric(loaded, fabric, tmp_path / "a", jobs=1)
    m2 = render_fabric(loaded, fabric, tmp_path / "b", jobs=1)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b and m1 == m2
    assert sorted(a) == sorted(["manifest.json"] + [f"{d}/{f}" for d in LAB_SWITCHES for f in LINUX_FILES])
    assert json.loads(a["manifest.json"]) == m1
    for dev in m1["devices"]:
        for f in dev["files"]:
            assert f["sha256"] == hashlib.sha256(a[f"{dev['device']}/{f['name']}"]).hexdigest()


def test_manifest_contents(lab, tmp_path):
    loaded, fabric = lab
    manifest = render_fabric(loaded, fabric, tmp_path, jobs=1)
    assert manifest["fabric"] == "lab"
    assert manifest["intent"] == str(loaded.source)
    assert [d["device"] for d in manifest["devices"]] == LAB_SWITCHES  # switches only, sorted
    for d in manifest["devices"]:
        assert d["role"] == ("spine" if d["device"].startswith("spine") else "leaf")
        assert (d["platform"], d["network"]) == ("linux", "compute")
        assert [f["name"] for f in d["files"]] == LINUX_FILES
        assert "unsupported" not in d  # the lab asks for nothing the kernel lacks


def test_manifest_lists_unsupported_features(lab_data, designed, tmp_path):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["qos"]["classes"]["allreduce"]["lossless"] = True  # PFC: optional in the lab
    loaded, fabric = designed(data)
    assert {d.code for d in fabric.log.items} == {"W211"}
    manifest = render_fabric(loaded, fabric, tmp_path, jobs=1)
    for d in manifest["devices"]:
        assert {u["feature"] for u in d["unsupported"]} == {"pfc", "pfc-watchdog"}
        assert all("Linux kernel" in u["reason"] or "PFC" in u["reason"] for u in d["unsupported"])
    # the feature is switched off in what the templates get, not half-rendered
    model = build_device_model(loaded, fabric, fabric.devices["leaf1"])
    assert model["features"]["pfc"] is False and model["qos"]["pfc"]["enabled"] is False
    assert model["qos"]["pfc"]["watchdog"] is None and model["qos"]["pfc"]["headroom"] == {}


@pytest.mark.parametrize(("limit", "expected"), [
    (None, LAB_SWITCHES),
    ("leaf1", ["leaf1"]),
    ("leaf[12]", ["leaf1", "leaf2"]),
    ("spine", ["spine1", "spine2"]),           # a role name
    ("leaf", ["leaf1", "leaf2", "leaf3", "leaf4"]),
    ("leaf3, spine*", ["leaf3", "spine1", "spine2"]),
    ("*2", ["leaf2", "spine2"]),
    ("host1", []),                             # hosts are never rendered
    ("LEAF1", []),                             # globs are case-sensitive
    ("nomatch", []),
])
def test_limit_selects_globs_and_roles(lab, limit, expected):
    _, fabric = lab
    assert sorted(select_devices(fabric, limit)) == expected


def test_render_with_limit_writes_only_the_selection(lab, tmp_path):
    loaded, fabric = lab
    manifest = render_fabric(loaded, fabric, tmp_path, limit="spine,leaf4", jobs=1)
    assert [d["device"] for d in manifest["devices"]] == ["leaf4", "spine1", "spine2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaf4", "manifest.json", "spine1", "spine2"]


def test_parallel_render_equals_serial(lab_data, designed, tmp_path, monkeypatch):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["topology"]["generator"]["leaf_groups"] = 22  # 24 switches: 3 chunks of 8
    loaded, fabric = designed(data)
    pools = []

    class SpyPool(render_mod.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs.get("max_workers"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(render_mod, "ProcessPoolExecutor", SpyPool)
    serial = render_fabric(loaded, fabric, tmp_path / "serial", jobs=1)
    assert pools == []
    parallel = render_fabric(loaded, fabric, tmp_path / "parallel", jobs=2)
    assert pools == [2]  # the worker processes really ran
    assert serial == parallel and len(serial["devices"]) == 24
    assert _tree(tmp_path / "serial") == _tree(tmp_path / "parallel")


def test_templates_dir_override_is_used(lab, tmp_path, templates_copy):
    loaded, fabric = lab
    sysctl = templates_copy / "linux" / "sysctl.conf.j2"
    sysctl.write_text(sysctl.read_text() + "# site override for {{ hostname }}\n")
    render_fabric(loaded, fabric, tmp_path / "out", limit="leaf1", templates_dir=templates_copy, jobs=1)
    assert (tmp_path / "out" / "leaf1" / "sysctl.conf").read_text().endswith("# site override for leaf1\n")
    render_fabric(loaded, fabric, tmp_path / "shipped", limit="leaf1", jobs=1)
    assert "site override" not in (tmp_path / "shipped" / "leaf1" / "sysctl.conf").read_text()


def test_undefined_variable_names_the_template_file_and_line(lab, templates_copy):
    loaded, fabric = lab
    bgp = templates_copy / "linux" / "frr-bgp.j2"
    lines = bgp.read_text().splitlines(keepends=True)
    line_no = next(i for i, line in enumerate(lines, 1) if line.startswith(" timers bgp"))
    lines[line_no - 1] = " timers bgp {{ bgp.keepalive }} {{ no_such_value }}\n"
    bgp.write_text("".join(lines))
    model = build_device_model(loaded, fabric, fabric.devices["spine1"])
    with pytest.raises(RenderError) as exc:
        render_device(model, templates_copy)
    # the included section template, not frr.conf.j2 that includes it
    assert str(exc.value) == f"linux/frr-bgp.j2:{line_no}: 'no_such_value' is undefined (device spine1)"


def test_missing_attribute_of_the_model_is_an_error_not_an_empty_line(lab, templates_copy):
    loaded, fabric = lab
    sysctl = templates_copy / "linux" / "sysctl.conf.j2"
    sysctl.write_text("{{ doc.hash_fields_mask }}\n{{ doc.no_such_key }}\n")
    model = build_device_model(loaded, fabric, fabric.devices["leaf1"])
    with pytest.raises(RenderError, match=r"^linux/sysctl\.conf\.j2:2: .*no_such_key.* \(device leaf1\)$"):
        render_device(model, templates_copy)


def test_template_syntax_error_names_the_file_and_line(lab, templates_copy):
    loaded, fabric = lab
    (templates_copy / "linux" / "qos.sh.j2").write_text("#!/bin/sh\n{% if hostname %}\nunclosed\n")
    model = build_device_model(loaded, fabric, fabric.devices["leaf1"])
    with pytest.raises(RenderError, match=r"qos\.sh\.j2:\d+: template syntax: "):
        render_device(model, templates_copy)


def test_missing_template_is_a_render_error(lab, templates_copy):
    loaded, fabric = lab
    (templates_copy / "linux" / "sysctl.conf.j2").unlink()
    model = build_device_model(loaded, fabric, fabric.devices["leaf1"])
    with pytest.raises(RenderError, match=r"template linux/sysctl\.conf\.j2 not found"):
        render_device(model, templates_copy)


def test_render_errors_surface_from_worker_processes(lab_data, designed, tmp_path, templates_copy):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["topology"]["generator"]["leaf_groups"] = 22
    loaded, fabric = designed(data)
    (templates_copy / "linux" / "sysctl.conf.j2").write_text("{{ nope }}\n")
    with pytest.raises(RenderError, match=r"^linux/sysctl\.conf\.j2:1: 'nope' is undefined"):
        render_fabric(loaded, fabric, tmp_path / "out", templates_dir=templates_copy, jobs=2)


def test_lab_device_models_are_plain_data(lab):
    """The model handed to templates holds only JSON-like values (no design objects leak into templates)."""
    loaded, fabric = lab
    for dev in fabric.switches():
        model = build_device_model(loaded, fabric, dev)
        json.dumps(model)  # raises on any non-plain value
        assert model["hostname"] == dev.name and model["asn"] == dev.asn and model["loopback"] == dev.loopback
        assert [n["ip"] for n in model["bgp"]["neighbors"]] == [i.peer_ip for i in dev.interfaces if i.kind != "host"]


def test_design_of_a_fresh_load_equals_the_shared_one(lab):
    """The session fixtures are not mutated by the tests that render them."""
    loaded = load_intent(lab[0].source)
    fresh = design(loaded)
    assert {n: (d.asn, d.loopback, d.mgmt_ip) for n, d in fresh.devices.items()} == \
        {n: (d.asn, d.loopback, d.mgmt_ip) for n, d in lab[1].devices.items()}
