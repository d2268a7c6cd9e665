"""Property: no mutation of a valid intent makes `hpnctl validate` crash.

Random mutations of inventories/lab.yml and pd-inference.yml (delete a key, give a value another
type, random strings / ints / negative and huge numbers / inf / nan, duplicate list items, rename
or add keys) go through load_intent + design exactly as `hpnctl validate` runs them.  The only
exception allowed out is IntentError, and every diagnostic must carry a position in the file.  A
mutation that still validates must also build every switch's DeviceModel (what render does next).

Reproducible by default (derandomize); HPNCTL_FUZZ_RANDOM=1 explores new examples and
HPNCTL_FUZZ_EXAMPLES=N runs more of them.
"""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpnctl.design import design
from hpnctl.errors import IntentError
from hpnctl.intent import load_intent
from hpnctl.model import build_device_model
from hpnctl.render import render_device

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
BASES = {name: yaml.safe_load((INVENTORIES / f"{name}.yml").read_text()) for name in ("lab", "pd-inference")}
EXAMPLES = int(os.environ.get("HPNCTL_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("HPNCTL_FUZZ_RANDOM"),
                database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values an engineer (or a bad merge) might plausibly write, plus the classic edge cases.
INTERESTING = [
    "", " ", "0", "-1", "400G", "0G", "-5G", "1e9", "9" * 40 + "G", "10us", "0us", "256KB", "-1KB", "1e400",
    "20%", "200%", "-3%", "default", "strict", "dwrr", "off", "on", "leaf", "spine", "host", "sonic", "eos", "linux",
    "nvue", "srlinux", "10.0.0.0/8", "10.0.0.0/31", "10.0.0.0/32", "255.255.255.255/32", "0.0.0.0/0", "10.0.0.0/33",
    "10.0.0.1", "1-0", "0-0", "65000-", "a-b", "{n}", "{N}", "{", "leaf {n}", "[/x]", ":cd:", "ü", "💥",
    "ignore-microbursts", "hpcc-linear", "tomahawk9", "linux-kernel",
]
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 7, 8, 63, 64, 65535, 2**31, 2**32, 4294967294, 4294967295, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(INTERESTING),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["enabled", "type", "kind", "dscp", "tc", "x", "name", "role"]), inner, max_size=3), max_leaves=6)
OPS = ["delete", "replace", "retype", "rename", "duplicate", "number", "add_key"]


def _paths(data, prefix=()) -> list[tuple]:
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        out.append(prefix + (key,))
        out.extend(_paths(value, prefix + (key,)))
    return out


def _get(data, path: tuple):
    for key in path:
        data = data[key]
    return data


@st.composite
def mutated_intents(draw) -> tuple[str, dict]:
    base = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[base])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _get(data, path[:-1]), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(OPS))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "retype":
            parent[key] = draw(st.sampled_from([str(value), [value], {"value": value}, None, 1, True]))
        elif op == "rename" and isinstance(parent, dict):
            new = draw(st.sampled_from([f"{key}s", str(key).upper(), str(key)[:-1], f"x{key}", str(key).replace("_", "-")]))
            parent[new] = parent.pop(key)
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        elif op == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                parent[key] = draw(st.sampled_from([0, -value, value * 10**6, value + 1, 2**63, 1e300, -1e-300, float("inf")]))
            else:
                parent[key] = draw(st.sampled_from([0, -1, 10**12, 0.5, float("nan")]))
        elif op == "add_key" and isinstance(value, dict):
            value[draw(st.sampled_from(["x", "password", "name", "tc", "enabled", "profile", "devices"]))] = draw(values)
        else:
            parent[key] = draw(values)
    return base, data


# ---------------------------------------------------------------- schema-valid, semantically random

ROLES = ["leaf", "spine", "super-spine"]
PLATFORMS = ["linux", "sonic", "eos", "nvue", "srlinux"]
ASICS = ["tomahawk3", "tomahawk4", "tomahawk5", "spectrum3", "spectrum4", "jericho3ai", "linux-kernel", "bogus9"]
SPEEDS = ["10G", "25G", "100G", "200G", "400G", "800G", 50, "1.6T"]
PROFILES = ["ignore-microbursts", "hpcc-linear", "dcqcn-paper", "nvidia-roce-default", "custom", "missing"]
FEATURES = ["pfc", "pfc-watchdog", "ecn", "buffers", "adaptive-routing", "scheduler", "bfd", "ecmp-hash"]
HASH = ["src-ip", "dst-ip", "ip-protocol", "l4-src-port", "l4-dst-port", "in-port", "src-mac", "ipv6-flow-label"]


def _class(draw) -> dict:
    cls = {"dscp": draw(st.one_of(st.just("default"), st.lists(st.integers(0, 63), max_size=3))),
           "tc": draw(st.integers(0, 7)),
           "scheduler": draw(st.one_of(st.just("strict"), st.integers(1, 100).map(lambda n: f"{n}%")))}
    if draw(st.booleans()):
        cls["queue"] = draw(st.integers(0, 7))
    if draw(st.booleans()):
        cls["priority_group"] = draw(st.integers(0, 7))
    cls["lossless"] = draw(st.booleans())
    cls["optional"] = draw(st.booleans())
    cls["ecn"] = draw(st.one_of(st.just("off"), st.sampled_from(PROFILES).map(lambda p: {"profile": p}),
                                st.tuples(st.integers(0, 10**8), st.integers(0, 10**8)).map(lambda t: {"kmin": t[0], "kmax": t[1]})))
    buffer = {}
    if draw(st.booleans()):
        buffer[draw(st.sampled_from(["reserve", "reserve_percent"]))] = draw(st.sampled_from(["64KB", "1MB", "50MB", 0, 5, 60]))
    if draw(st.booleans()):
        buffer["alpha"] = draw(st.sampled_from([0.0078125, 0.125, 0.5, 1, 2, 8, 128]))
    elif draw(st.booleans()):
        buffer["static_limit"] = draw(st.sampled_from(["10KB", "1MB", "100MB"]))
    cls["buffer"] = buffer
    return cls


@st.composite
def semantic_intents(draw) -> tuple[str, dict]:
    """Intents that mostly pass the schema, so the design, checks and device models get exercised."""
    base = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[base])
    net_name = draw(st.sampled_from(sorted(data["networks"])))
    net = data["networks"][net_name]
    gen = net["topology"]["generator"]
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        what = draw(st.sampled_from(["gen", "platform", "asic", "class", "del_class", "profile", "pfc", "ar", "pool",
                                     "device", "link", "bgp", "ecmp", "mtu", "mgmt", "optional"]))
        if what == "gen":
            key = draw(st.sampled_from(["planes", "pods", "super_spines", "spines", "rails", "leaf_groups",
                                        "hosts_per_group", "links_per_spine", "breakout", "speeds"]))
            if key == "breakout":
                gen["breakout"] = {draw(st.sampled_from(["host", "leaf_spine", "spine_super_spine"])): draw(st.sampled_from([1, 2, 4, 8]))}
            elif key == "speeds":
                gen.setdefault("speeds", {})[draw(st.sampled_from(["host", "leaf_spine", "spine_super_spine"]))] = draw(st.sampled_from(SPEEDS))
            else:
                gen[key] = draw(st.integers(0 if key in ("super_spines", "hosts_per_group") else 1, 3))
                if key == "pods" and gen[key] > 1:
                    gen.setdefault("super_spines", 1)
        elif what == "platform":
            where = data if draw(st.booleans()) else net
            where.setdefault("platforms", {})[draw(st.sampled_from(ROLES))] = draw(st.sampled_from(PLATFORMS))
        elif what == "asic":
            where = data if draw(st.booleans()) else net
            where.setdefault("asics", {})[draw(st.sampled_from(ROLES))] = draw(st.sampled_from(ASICS))
        elif what == "class":
            net["qos"]["classes"][draw(st.sampled_from(sorted(net["qos"]["classes"]) + ["new", "a2a", "storage"]))] = _class(draw)
        elif what == "del_class" and len(net["qos"]["classes"]) > 1:
            del net["qos"]["classes"][draw(st.sampled_from(sorted(net["qos"]["classes"])))]
        elif what == "profile":
            kind = draw(st.sampled_from(["ignore-microbursts", "linear", "fixed"]))
            prof = {"kind": kind, "burst_tolerance": draw(st.sampled_from(["1us", "10us", "1ms"])), "kmin": "50KB",
                    "kmax": draw(st.sampled_from(["10KB", "400KB", "1GB"])), "kmax_factor": draw(st.sampled_from([1, 4, 64]))}
            net["qos"].setdefault("ecn_profiles", {})["custom"] = prof
        elif what == "pfc":
            net["qos"]["pfc"] = {"cable_length_m": draw(st.sampled_from([0.5, 5, 300, 40000])),
                                 "small_packet_percent": draw(st.integers(0, 100)),
                                 "watchdog": {"enabled": draw(st.booleans())}}
        elif what == "ar":
            net["adaptive_routing"] = {"enabled": draw(st.booleans()), "roles": draw(st.lists(st.sampled_from(ROLES), max_size=3)),
                                       "interfaces": draw(st.sampled_from(["uplinks", "all"]))}
        elif what == "pool":
            key = draw(st.sampled_from(["loopbacks", "p2p", "hosts"]))
            net["addressing"][key] = f"10.{draw(st.integers(0, 255))}.0.0/{draw(st.integers(16, 32))}"
        elif what == "device":
            names = [f"leaf{n}" for n in range(1, 3)] + ["spine1", "spine9", "host1", "gpu1", "x1"]
            spec = {"name": draw(st.sampled_from(names))}
            for key, strat in (("role", st.sampled_from(["leaf", "spine", "super-spine", "host"])),
                               ("asn", st.sampled_from([65000, 65001, 4200000000, 1])),
                               ("loopback", st.sampled_from(["10.0.0.1", "10.0.0.200", "10.8.0.1"])),
                               ("mgmt_ip", st.sampled_from(["172.20.20.1", "172.20.20.11", "10.250.0.11", "10.250.0.1"])),
                               ("platform", st.sampled_from(PLATFORMS)), ("asic", st.sampled_from(ASICS)),
                               ("adaptive_routing", st.booleans())):
                if draw(st.booleans()):
                    spec[key] = draw(strat)
            net["topology"].setdefault("devices", []).append(spec)
        elif what == "link":
            ends = st.sampled_from(["leaf1", "leaf2", "spine1", "host1", "gpu1", "kv-leaf1", "x1", "leaf1:p9", "spine1:p9"])
            net["topology"].setdefault("links", []).append({"endpoints": [draw(ends), draw(ends)],
                                                            "adaptive_routing": draw(st.booleans())})
        elif what == "bgp":
            net.setdefault("routing", {})["bgp"] = {"asn_scheme": draw(st.sampled_from(["rfc7938", "explicit"])),
                                                    "asn_range": draw(st.sampled_from(["65000-65002", "1-1", "65000-65535"]))}
        elif what == "ecmp":
            net.setdefault("routing", {})["ecmp"] = {"hash_fields": draw(st.lists(st.sampled_from(HASH), min_size=1, max_size=4)),
                                                     "max_paths": draw(st.integers(1, 512))}
            net["routing"]["bfd"] = {"enabled": draw(st.booleans())}
        elif what == "mtu":
            data["fabric"]["mtu"] = draw(st.sampled_from([1280, 1500, 9216]))
            data["fabric"]["host_mtu"] = draw(st.sampled_from([1280, 4200, 9216]))
        elif what == "mgmt":
            data["management"] = {"pool": draw(st.sampled_from(["172.20.20.0/24", "172.20.20.0/28", "10.250.0.0/22", "10.0.0.0/30"])),
                                  "first_host": draw(st.integers(2, 20))}
            if draw(st.booleans()):
                data["management"]["gateway"] = draw(st.sampled_from(["172.20.20.1", "172.20.20.12", "10.250.0.1"]))
        elif what == "optional":
            net["optional_features"] = draw(st.lists(st.sampled_from(FEATURES), max_size=4, unique=True))
    return base, data


def check_validate(path: Path) -> str:
    """What `hpnctl validate` does, with the properties it must keep.  Returns 'invalid' or 'valid'."""
    try:
        loaded = load_intent(path)
        fabric = design(loaded, strict=False)
    except IntentError as exc:
        diags = exc.diagnostics
        assert any(d.severity == "error" for d in diags)
        _check_diagnostics(diags, path)
        return "invalid"
    _check_diagnostics(fabric.log.items, path)
    if fabric.log.errors:
        return "invalid"
    # valid: render must be able to take it from here
    seen = set()
    for dev in fabric.switches():
        if (dev.network, dev.role, dev.platform) in seen:
            continue
        seen.add((dev.network, dev.role, dev.platform))
        model = build_device_model(loaded, fabric, dev)
        if dev.platform == "linux":
            assert set(render_device(model)) == {"frr.conf", "qos.sh", "sysctl.conf"}
    return "valid"


def _check_diagnostics(diags, path: Path) -> None:
    for d in diags:
        assert d.severity in ("error", "warning") and re.fullmatch(r"[A-Z]\d{3}", d.code) and d.message
        assert d.position is not None and d.position.file == str(path)
        assert d.position.line >= 1 and d.position.col >= 1
        assert d.format().startswith(f"{path}:{d.position.line}:{d.position.col}: {d.severity}[{d.code}]: ")


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_the_unmutated_bases_are_valid(fuzz_dir):
    for name, data in BASES.items():
        path = fuzz_dir / f"{name}.yml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        assert check_validate(path) == "valid"


def test_check_validate_catches_a_crash(fuzz_dir, monkeypatch):
    """Control: a crash inside design() is not swallowed by the property check."""
    import hpnctl.design as design_mod

    def boom(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(design_mod, "expand_network", boom)
    path = fuzz_dir / "control.yml"
    path.write_text(yaml.safe_dump(BASES["lab"]))
    with pytest.raises(KeyError):
        check_validate(path)


@FUZZ
@given(case=mutated_intents())
def test_mutated_intents_never_crash_validate(case, fuzz_dir):
    base, data = case
    path = fuzz_dir / f"{base}-mutant.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    check_validate(path)


@FUZZ
@given(case=semantic_intents())
def test_semantic_mutations_never_crash_validate(case, fuzz_dir):
    base, data = case
    path = fuzz_dir / f"{base}-semantic.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    check_validate(path)


@settings(max_examples=5, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=mutated_intents())
def test_mutated_intents_through_the_cli(case, fuzz_dir):
    """A handful end to end: the installed entry point exits 0 or 1, never with a traceback."""
    base, data = case
    path = fuzz_dir / f"{base}-cli.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    result = subprocess.run([sys.executable, "-m", "hpnctl.cli", "validate", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith(f"{path}: ")


@pytest.mark.parametrize("text", [
    "fabric: {name: x}\nnetworks: {}\n",
    "networks:\n  c: 1\n",
    "fabric: !!python/object:os.system {}\n",
    "fabric: &a [*a]\n",
    "? [a, b]\n: 1\n",
    "- 1\n- 2\n",
    "fabric: {name: x}\nnetworks: {c: {topology: {}, addressing: {loopbacks: 10.0.0.0/24, p2p: 10.1.0.0/24}, qos: {classes: {d: {dscp: default, tc: 0, scheduler: strict}}}}}\n",
    "\ufefffabric: {name: x}\n",
    "fabric:\n\tname: x\n",
    "%YAML 1.1\n---\nfabric: {name: x}\n---\nmore: 1\n",
])
def test_odd_yaml_documents(text, fuzz_dir):
    path = fuzz_dir / "odd.yml"
    path.write_text(text)
    check_validate(path)
