"""SR Linux JSON validation against Nokia's 25.3 models (the oracle copy)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import pytest

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models.srlinux_yang import all_features, compat_rewrite, validate_srlinux, validate_srlinux_many

PATHS_MD = Path(__file__).resolve().parents[2] / "hpnctl" / "validate_models" / "SRLINUX_PATHS.md"
QOS = "srl_nokia-qos:qos"


def _qos(c: dict) -> dict:
    return c[QOS]


def _bgp(c: dict) -> dict:
    return c["srl_nokia-network-instance:network-instance"][0]["protocols"]["srl_nokia-bgp:bgp"]


def test_valid_example_passes(srl_valid, srl_models):
    assert validate_srlinux(srl_valid, srl_models) == []


def test_paths_document_carries_the_tested_example(srl_valid):
    block = re.search(r"```json\n(.*?)\n```", PATHS_MD.read_text(), re.S)
    assert block is not None and json.loads(block.group(1)) == srl_valid


BROKEN: dict[str, tuple[Callable[[dict], None], str, str]] = {
    "dangling_queue": (
        lambda c: _qos(c)["forwarding-classes"]["forwarding-class"][1]["output"].update({"unicast-queue": "q-nope"}),
        "/srl_nokia-qos:qos/forwarding-classes/forwarding-class[name='fc-roce']/output/unicast-queue",
        'Invalid leafref value "q-nope"',
    ),
    "sequence_0_not_strict": (
        lambda c: _qos(c)["scheduler-policies"]["scheduler-policy"][0]["scheduler"][0].pop("priority"),
        "/srl_nokia-qos:qos/scheduler-policies/scheduler-policy[name='hpn-sched']/scheduler[sequence='0']/sequence",
        "scheduler with sequence 0 must be strict priority",
    ),
    "weight_200": (
        lambda c: _qos(c)["scheduler-policies"]["scheduler-policy"][0]["scheduler"][1]["input"][0].update(weight=200),
        "/srl_nokia-qos:qos/scheduler-policies/scheduler-policy[name='hpn-sched']/scheduler[sequence='1']/input[id='roce']/weight",
        "Should be in the range 1..127",
    ),
    "ecn_on_tcp_only_slope": (
        lambda c: _qos(c)["buffer-management"]["queue-management-profile"][0]["wred"]["wred-slope"][0].update(
            {"traffic-type": "tcp"}),
        "/srl_nokia-qos:qos/buffer-management/queue-management-profile[name='hpn-ecn']/wred/"
        "wred-slope[traffic-type='tcp'][drop-probability='all'][enable-ecn='true']/enable-ecn",
        "traffic-type must be 'all' to enable ecn",
    ),
    "qmp_without_burst_size": (
        lambda c: _qos(c)["interfaces"]["interface"][0]["output"].pop("buffer-allocation-profile"),
        "/srl_nokia-qos:qos/interfaces/interface[interface-id='ethernet-1/1']/output/queues/queue[queue-name='q-roce']"
        "/queue-management-profile",
        "cannot be configured without setting maximum burst size",
    ),
    "pfc_with_flow_control": (
        lambda c: c["srl_nokia-interfaces:interface"][0]["ethernet"]["flow-control"].update(receive=True),
        "/srl_nokia-qos:qos/interfaces/interface[interface-id='ethernet-1/1']/pfc/pfc-enable",
        "pfc and ethernet flow-control are mutually exclusive",
    ),
    "classifier_on_port": (
        lambda c: _qos(c)["interfaces"]["interface"][0]["input"].update(classifiers={"dscp-policy": "hpn-dscp"}),
        "/srl_nokia-qos:qos/interfaces/interface[interface-id='ethernet-1/1']/input/classifiers",
        "Attachment of classifiers, not permitted for interfaces",
    ),
    "no_address_family": (
        lambda c: _bgp(c)["afi-safi"][0].update({"admin-state": "disable"}),
        "/srl_nokia-network-instance:network-instance[name='default']/protocols/srl_nokia-bgp:bgp/admin-state",
        "One of the address families must be enabled.",
    ),
    "deadlock_timer_5ms": (
        lambda c: _qos(c)["pfc-mapping-profile"][0]["received-pfc-pause-frames"]["deadlock"].update(
            {"detection-timer": 5}),
        "/srl_nokia-qos:qos/pfc-mapping-profile[name='hpn-pfc']/received-pfc-pause-frames/deadlock/detection-timer",
        'value "5" is out of the allowed range',
    ),
    "unknown_leaf": (
        lambda c: _qos(c).update(bogus=1),
        "/srl_nokia-qos:qos",
        'Node "bogus" not found',
    ),
    "uint64_as_number": (
        lambda c: _qos(c)["buffer-management"]["queue-management-profile"][0]["wred"]["wred-slope"][0].update(
            {"min-threshold": 153600}),
        "/srl_nokia-qos:qos/buffer-management/queue-management-profile[name='hpn-ecn']/wred/"
        "wred-slope[traffic-type='all'][drop-probability='all'][enable-ecn='true']/min-threshold",
        "non-num64-encoded",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_config_fails_at_the_right_path(case, srl_valid, srl_models):
    mutate, path, words = BROKEN[case]
    mutate(srl_valid)
    findings = validate_srlinux(srl_valid, srl_models, device="leaf1")
    assert [(f.path, words in f.message) for f in findings] == [(path, True)], findings
    assert findings[0].device == "leaf1"


def test_several_errors_in_one_config_are_all_reported(srl_valid, srl_models):
    for case in ("weight_200", "deadlock_timer_5ms", "dangling_queue"):
        BROKEN[case][0](srl_valid)
    _qos(srl_valid)["classifiers"]["dscp-policy"][0]["dscp"].append({"value": 64, "forwarding-class": "fc-roce"})
    paths = {f.path for f in validate_srlinux(srl_valid, srl_models)}
    assert paths == {BROKEN[c][1] for c in ("weight_200", "deadlock_timer_5ms", "dangling_queue")} | {
        "/srl_nokia-qos:qos/classifiers/dscp-policy[name='hpn-dscp']/dscp/value"}


def test_shape_errors(srl_valid, srl_models):
    srl_valid["qos"] = srl_valid.pop(QOS)
    [finding] = validate_srlinux(srl_valid, srl_models)
    assert "top-level member 'qos' has no module prefix" in finding.message
    assert "module srl_nokia-nope is not in the models" in validate_srlinux(
        {"srl_nokia-nope:x": {}}, srl_models)[0].message


def test_exact_platform_features_make_feature_mandatory_leaves_required(srl_valid, srl_models):
    # With every feature listed explicitly, FPcx's output/queue and J2's ecn-dscp-policy become
    # mandatory too: no real platform has them all, which is why the default relaxes them.
    messages = {f.message for f in validate_srlinux(srl_valid, srl_models, features=all_features(srl_models))}
    assert messages == {'Mandatory node "ecn-dscp-policy" instance does not exist.',
                        'Mandatory node "queue" instance does not exist.'}
    xgs_like = [f for f in all_features(srl_models) if f not in ("qos-multi-traffic-queue", "qos-ecn-dscp-policy")]
    assert validate_srlinux(srl_valid, srl_models, features=xgs_like) == []
    with pytest.raises(ModelValidationError, match="not declared by these models: no-such-feature"):
        validate_srlinux(srl_valid, srl_models, features=["no-such-feature"])


def test_many_devices_and_files(srl_valid, srl_models, tmp_path):
    broken = json.loads(json.dumps(srl_valid))
    BROKEN["weight_200"][0](broken)
    good_file = tmp_path / "spine1.json"
    good_file.write_text(json.dumps(srl_valid))
    bad_file = tmp_path / "spine2.json"
    bad_file.write_text("{not json")
    findings = validate_srlinux_many(
        {"leaf1": srl_valid, "leaf2": broken, "": good_file, "spine2": bad_file}, srl_models)
    assert sorted((f.device, f.file, f.path != "") for f in findings) == [
        ("leaf2", "", True), ("spine2", str(bad_file), False)]


def test_compat_rewrite_fixes_only_what_libyang_reads_differently():
    source = (
        'leaf a { must ". = false() or ../b = true()"; }\n'
        "leaf c { must '../../type != \"bridged\"'; }\n"
        'leaf d { must "../afi-safi[afi-safi-name=\'ipv4-unicast\']/admin-state = \'enable\'"; }\n'
        "leaf e { if-feature x; mandatory true; type string; }\n"
        "leaf f { mandatory true; type string; } // not behind a feature\n"
    )
    fixed = compat_rewrite(source, relax_feature_mandatory=True)
    assert 'must "not(. = \'true\') or ../b = \'true\'"' in fixed
    assert "must 'not(../../type = \"bridged\")'" in fixed
    assert "afi-safi-name = 'srl_nokia-common:ipv4-unicast'" in fixed
    assert "leaf e { if-feature x; mandatory false;" in fixed
    assert "leaf f { mandatory true;" in fixed
    assert "mandatory true" in compat_rewrite(source, relax_feature_mandatory=False).split("leaf f")[0]
