"""Cross-check of templates/eos against Arista's own renderer (pyavd).

For each EOS spine of pd-inference.yml, the DeviceModel is translated into an AVD
`eos_cli_config_gen` structured config (avd_structured.py), validated against
AVD's schema (which catches keywords EOS does not have, e.g. `speed 800g`),
rendered with `pyavd.get_device_config()`, and compared with hpnctl's rendering:

1. as hier_config trees (every line with its parents), both ways;
2. as ordered line sequences, so section and line order match AVD's too.

Every accepted difference is in ONLY_HPNCTL / ONLY_AVD below, with the reason.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hier_config import Platform, get_hconfig

from hpnctl.design import design
from hpnctl.intent import load_intent
from hpnctl.model import build_device_model
from hpnctl.render import render_device

pyavd = pytest.importorskip("pyavd", reason="pyavd (test extra) is not installed: pip install -e '.[test]'")

from avd_structured import avd_structured_config  # noqa: E402  (after the skip: it is only useful with pyavd)

CONFIG = "startup-config.cfg"
INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"

# Lines (with their parent lines) that hpnctl renders and AVD cannot, and why.
ONLY_HPNCTL: dict[tuple[str, ...], str] = {
    ("ip load-sharing trident fields ip source-ip destination-ip ip-protocol source-port destination-port",):
        "ECMP hash fields: eos_cli_config_gen has no key for `ip load-sharing` (only "
        "load_balance.policies.sand_profiles for Jericho and port_channel.load_balance_trident_udf)",
}
# Lines AVD renders that hpnctl leaves out, and why.  Empty today.
ONLY_AVD: dict[tuple[str, ...], str] = {}


@pytest.fixture(scope="module")
def rendered_pairs() -> dict[str, tuple[str, str]]:
    """EOS spine → (hpnctl text, pyavd text)."""
    loaded = load_intent(INVENTORIES / "pd-inference.yml")
    fabric = design(loaded)
    pairs = {}
    for dev in fabric.switches():
        if dev.platform != "eos":
            continue
        model = build_device_model(loaded, fabric, dev)
        result = pyavd.validate_structured_config(avd_structured_config(model))
        problems = [str(v) for v in result.validation_result.violations]
        problems += [str(d) for d in result.validation_result.deprecations]
        assert not problems, f"{dev.name}: AVD schema rejects the structured config: {problems}"
        pairs[dev.name] = (render_device(model)[CONFIG], pyavd.get_device_config(result.validated_data))
    assert pairs
    return pairs


def _paths(text: str) -> set[tuple[str, ...]]:
    tree = get_hconfig(Platform.ARISTA_EOS, text)
    return {tuple(child.path()) for child in tree.all_children()}


def _significant_lines(text: str, drop: set[str]) -> list[str]:
    """Config lines in order, without separators and without the allowlisted top-level lines."""
    return [line for line in text.splitlines() if line.strip() != "!" and line not in drop]


def test_pyavd_version_is_the_one_we_compared_against():
    # The ordering rules below were checked against pyavd 6.4 (qos profile: PFC before tx-queues).
    assert pyavd.__version__.split(".")[0] == "6", pyavd.__version__


def test_same_lines_as_pyavd(rendered_pairs):
    for name, (ours, avd) in rendered_pairs.items():
        only_ours = _paths(ours) - _paths(avd)
        only_avd = _paths(avd) - _paths(ours)
        assert only_ours - set(ONLY_HPNCTL) == set(), f"{name}: lines pyavd does not render: {sorted(only_ours)}"
        assert only_avd - set(ONLY_AVD) == set(), f"{name}: lines hpnctl does not render: {sorted(only_avd)}"
        # The allowlist stays honest: an entry that no longer differs must be removed.
        assert set(ONLY_HPNCTL) <= only_ours, f"{name}: stale ONLY_HPNCTL entries {set(ONLY_HPNCTL) - only_ours}"
        assert set(ONLY_AVD) <= only_avd, f"{name}: stale ONLY_AVD entries {set(ONLY_AVD) - only_avd}"


def test_same_order_as_pyavd(rendered_pairs):
    drop = {p[0] for p in (*ONLY_HPNCTL, *ONLY_AVD) if len(p) == 1}
    for name, (ours, avd) in rendered_pairs.items():
        assert _significant_lines(ours, drop) == _significant_lines(avd, drop), name


def test_qos_and_routing_sections_are_compared(rendered_pairs):
    """Guard against a vacuous pass: the sections that matter are really in both texts."""
    for name, (ours, avd) in rendered_pairs.items():
        for text in (ours, avd):
            paths = _paths(text)
            assert ("qos profile HPN", "tx-queue 3",
                    "random-detect ecn minimum-threshold 1000 kbytes maximum-threshold 4000 kbytes "
                    "max-mark-probability 20") in paths, name
            assert ("qos profile HPN", "priority-flow-control priority 4 no-drop") in paths, name
            assert any(p[0].startswith("router bgp ") and len(p) == 2 and p[1].endswith(" bfd") for p in paths), name
            assert any(p[0].startswith("interface Ethernet") and p[1:] == ("service-profile HPN",) for p in paths), name
