"""SONiC CONFIG_DB → YANG translation and validation against the oracle models."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Callable

import pytest

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models import find_models
from hpnctl.validate_models.sonic_yang import (
    configdb_to_yang,
    data_path_to_pointer,
    load_schema,
    validate_config_db,
    validate_config_dbs,
)


def _errors(findings):
    return [f for f in findings if f.severity == "error"]


def test_valid_example_passes(sonic_valid, sonic_models):
    assert validate_config_db(sonic_valid, sonic_models) == []


# (mutation, CONFIG_DB pointer of the finding, words of the message) — the negative
# cases of sonic.md section 1, and two of section 6.
NEGATIVE: dict[str, tuple[Callable[[dict], None], str, str]] = {
    "wred_max_below_min": (
        lambda c: c["WRED_PROFILE"]["HPN_LOSSLESS"].update(green_max_threshold="1000"),
        "/WRED_PROFILE/HPN_LOSSLESS/green_max_threshold",
        "Green max threshold must be greater than or equal to min threshold",
    ),
    "missing_pool": (
        lambda c: c["BUFFER_PROFILE"]["ingress_lossy_profile"].pop("pool"),
        "/BUFFER_PROFILE/ingress_lossy_profile/pool",
        'Mandatory node "pool" instance does not exist',
    ),
    "bracketed_reference": (
        lambda c: c["BUFFER_PROFILE"]["ingress_lossy_profile"].update(pool="[BUFFER_POOL|ingress_lossless_pool]"),
        "/BUFFER_PROFILE/ingress_lossy_profile/pool",
        'Invalid leafref value "[BUFFER_POOL|ingress_lossless_pool]"',
    ),
    "pfc_enable_priority_8": (
        lambda c: c["PORT_QOS_MAP"]["Ethernet0"].update(pfc_enable="3,8"),
        "/PORT_QOS_MAP/Ethernet0/pfc_enable",
        'Unsatisfied pattern - "3,8"',
    ),
    "multi_port_key": (
        lambda c: c["BUFFER_PG"].update({"Ethernet0,Ethernet4|3": {"profile": "pg_lossless_400000_5m_profile"}}),
        "/BUFFER_PG/Ethernet0,Ethernet4|3/port",
        'Invalid leafref value "Ethernet0,Ethernet4"',
    ),
    "pir_without_cir": (
        lambda c: c["SCHEDULER"]["scheduler.strict"].update(pir="1000"),
        "/SCHEDULER/scheduler.strict/pir",
        "pir can't be configured without cir",
    ),
    "weight_200": (
        lambda c: c["SCHEDULER"]["scheduler.dwrr50"].update(weight="200"),
        "/SCHEDULER/scheduler.dwrr50/weight",
        'value "200" is out of the allowed range',
    ),
    "dynamic_th_9": (
        lambda c: c["BUFFER_PROFILE"]["egress_lossy_profile"].update(dynamic_th="9"),
        "/BUFFER_PROFILE/egress_lossy_profile/dynamic_th",
        'value "9" is out of the allowed range',
    ),
    "bad_ecn_enum": (
        lambda c: c["WRED_PROFILE"]["HPN_LOSSLESS"].update(ecn="ecn_blue"),
        "/WRED_PROFILE/HPN_LOSSLESS/ecn",
        'Invalid enumeration value "ecn_blue"',
    ),
    "dangling_wred_profile": (
        lambda c: c["QUEUE"]["Ethernet0|3"].update(wred_profile="NOPE"),
        "/QUEUE/Ethernet0|3/wred_profile",
        'Invalid leafref value "NOPE"',
    ),
    # sonic.md section 6, mistakes 3 and 4
    "empty_map_reference": (
        lambda c: c["PORT_QOS_MAP"]["Ethernet0"].update(pfc_to_queue_map=""),
        "/PORT_QOS_MAP/Ethernet0/pfc_to_queue_map",
        "Invalid length for map name",
    ),
    "missing_size": (
        lambda c: c["BUFFER_PROFILE"]["egress_lossy_profile"].pop("size"),
        "/BUFFER_PROFILE/egress_lossy_profile/size",
        'Mandatory node "size" instance does not exist',
    ),
    "detection_time_below_poll_interval": (
        lambda c: c["PFC_WD"]["Ethernet0"].update(detection_time="150"),
        "/PFC_WD/Ethernet0/detection_time",
        "detection_time must be greater than or equal to POLL_INTERVAL",
    ),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_negative_case_is_rejected_at_the_right_field(case, sonic_valid, sonic_models):
    mutate, pointer, words = NEGATIVE[case]
    mutate(sonic_valid)
    findings = validate_config_db(sonic_valid, sonic_models)
    assert [(f.path, words in f.message) for f in findings] == [(pointer, True)], findings
    assert findings[0].device == "leaf1"  # from DEVICE_METADATA


def test_all_errors_are_collected_and_consequences_are_not_reported(sonic_valid, sonic_models):
    # yanglint stops at the first error; the validator must still find all four,
    # and must not blame BUFFER_PG for the profile whose pool was bad.
    for case in ("weight_200", "bad_ecn_enum", "dangling_wred_profile", "bracketed_reference"):
        NEGATIVE[case][0](sonic_valid)
    paths = sorted(f.path for f in validate_config_db(sonic_valid, sonic_models))
    assert paths == sorted(NEGATIVE[c][1] for c in ("weight_200", "bad_ecn_enum", "dangling_wred_profile", "bracketed_reference"))


def test_max_errors_caps_the_report(sonic_valid, sonic_models):
    for case in ("weight_200", "bad_ecn_enum", "dangling_wred_profile"):
        NEGATIVE[case][0](sonic_valid)
    assert len(validate_config_db(sonic_valid, sonic_models, max_errors=2)) == 2


def test_translation_shapes(sonic_valid, sonic_models):
    sonic_valid["SWITCH_HASH"] = {"GLOBAL": {"ecmp_hash": "SRC_IP,DST_IP,L4_SRC_PORT", "lag_hash": ["SRC_IP"]}}
    yang = configdb_to_yang(sonic_valid, sonic_models)
    dscp = yang["sonic-dscp-tc-map:sonic-dscp-tc-map"]["sonic-dscp-tc-map:DSCP_TO_TC_MAP"]
    # Map tables become nested lists; uint8 → JSON number, string keys stay strings.
    assert dscp == {"DSCP_TO_TC_MAP_LIST": [{"name": "HPN", "DSCP_TO_TC_MAP": [
        {"dscp": "0", "tc": 0}, {"dscp": "26", "tc": 3}, {"dscp": "48", "tc": 6}]}]}
    wred = yang["sonic-wred-profile:sonic-wred-profile"]["sonic-wred-profile:WRED_PROFILE"]["WRED_PROFILE_LIST"][0]
    assert wred["green_min_threshold"] == "153600"  # uint64 → JSON string
    assert wred["wred_green_enable"] is True  # boolean → JSON boolean
    queue = yang["sonic-queue:sonic-queue"]["sonic-queue:QUEUE"]["QUEUE_LIST"]
    assert {"ifname": "Ethernet0", "qindex": "3", "scheduler": "scheduler.dwrr50", "wred_profile": "HPN_LOSSLESS"} in queue
    profile = yang["sonic-buffer-profile:sonic-buffer-profile"]["sonic-buffer-profile:BUFFER_PROFILE"]["BUFFER_PROFILE_LIST"]
    assert profile[0]["dynamic_th"] == -3  # int32 → JSON number
    hashing = yang["sonic-hash:sonic-hash"]["sonic-hash:SWITCH_HASH"]["GLOBAL"]
    assert hashing == {"ecmp_hash": ["SRC_IP", "DST_IP", "L4_SRC_PORT"], "lag_hash": ["SRC_IP"]}  # leaf-lists


def test_fabric_tables_validate(sonic_valid, sonic_models):
    """The non-QoS tables hpnctl renders, including multi-list tables told apart by key count."""
    sonic_valid.update({
        "INTERFACE": {"Ethernet0": {}, "Ethernet0|10.0.0.0/31": {}},
        "LOOPBACK_INTERFACE": {"Loopback0": {}, "Loopback0|10.1.0.1/32": {}},
        "BGP_NEIGHBOR": {"10.0.0.1": {"asn": "65100", "name": "spine1", "local_addr": "10.0.0.0"}},
        "DEVICE_NEIGHBOR": {"Ethernet0": {"name": "spine1", "port": "Ethernet0"}},
        "SWITCH_HASH": {"GLOBAL": {"ecmp_hash": "SRC_IP,DST_IP,L4_SRC_PORT,L4_DST_PORT,IP_PROTOCOL"}},
    })
    yang = configdb_to_yang(sonic_valid, sonic_models)
    interface = yang["sonic-interface:sonic-interface"]["sonic-interface:INTERFACE"]
    assert interface == {"INTERFACE_LIST": [{"name": "Ethernet0"}],
                         "INTERFACE_IPPREFIX_LIST": [{"name": "Ethernet0", "ip-prefix": "10.0.0.0/31"}]}
    assert validate_config_db(sonic_valid, sonic_models) == []


def test_unknown_table_field_and_bad_number_are_reported(sonic_valid, sonic_models):
    sonic_valid["NOT_A_TABLE"] = {"x": {"y": "z"}}
    sonic_valid["SCHEDULER"]["scheduler.dwrr50"]["wieght"] = "50"
    sonic_valid["SCHEDULER"]["scheduler.strict"]["priority"] = "high"
    findings = validate_config_db(sonic_valid, sonic_models)
    by_path = {f.path: f for f in findings}
    assert by_path["/NOT_A_TABLE"].severity == "warning"
    assert "no YANG model" in by_path["/NOT_A_TABLE"].message
    assert "unknown field 'wieght'" in by_path["/SCHEDULER/scheduler.dwrr50/wieght"].message
    assert "'high' is not an integer (uint8)" in by_path["/SCHEDULER/scheduler.strict/priority"].message
    with pytest.raises(ModelValidationError, match="wieght"):
        configdb_to_yang(sonic_valid, sonic_models)


def test_key_that_fits_no_list(sonic_valid, sonic_models):
    sonic_valid["QUEUE"]["Ethernet0|3|extra"] = {"scheduler": "scheduler.strict"}
    findings = validate_config_db(sonic_valid, sonic_models)
    assert [f.path for f in findings] == ["/QUEUE/Ethernet0|3|extra"]
    assert "QUEUE_LIST keyed by ifname|qindex" in findings[0].message


def test_many_devices_in_one_run_are_attributed(sonic_valid, sonic_models, tmp_path):
    configs = {}
    for i in range(6):
        cfg = copy.deepcopy(sonic_valid)
        cfg["DEVICE_METADATA"]["localhost"]["hostname"] = f"leaf{i}"
        if i % 3 == 1:
            cfg["SCHEDULER"]["scheduler.dwrr50"]["weight"] = "200"
        configs[f"leaf{i}"] = cfg
    path = tmp_path / "leaf6.json"
    path.write_text(json.dumps(sonic_valid))
    configs["leaf6"] = path
    findings = validate_config_dbs(configs, sonic_models)
    assert sorted((f.device, f.path) for f in findings) == [
        ("leaf1", "/SCHEDULER/scheduler.dwrr50/weight"),
        ("leaf4", "/SCHEDULER/scheduler.dwrr50/weight"),
    ]


def test_file_input_and_bad_json(sonic_valid, sonic_models, tmp_path):
    good = tmp_path / "config_db.json"
    good.write_text(json.dumps(sonic_valid))
    assert validate_config_db(good, sonic_models) == []
    bad = tmp_path / "broken.json"
    bad.write_text('{"PORT": {\n  "Ethernet0": }\n}')
    [finding] = validate_config_db(bad, sonic_models)
    assert (finding.file, finding.line) == (str(bad), 2)
    assert finding.message.startswith("not valid JSON")


def test_data_path_to_pointer():
    assert data_path_to_pointer(
        "/sonic-queue:sonic-queue/QUEUE/QUEUE_LIST[ifname='Ethernet0'][qindex='3']/wred_profile"
    ) == "/QUEUE/Ethernet0|3/wred_profile"
    assert data_path_to_pointer(
        "/sonic-dscp-tc-map:sonic-dscp-tc-map/DSCP_TO_TC_MAP/DSCP_TO_TC_MAP_LIST[name='HPN']/DSCP_TO_TC_MAP[dscp='26']/tc"
    ) == "/DSCP_TO_TC_MAP/HPN/26"
    assert data_path_to_pointer(  # a bad key: libyang names no entry
        "/sonic-dscp-tc-map:sonic-dscp-tc-map/DSCP_TO_TC_MAP/DSCP_TO_TC_MAP_LIST[name='HPN']/DSCP_TO_TC_MAP/dscp"
    ) == "/DSCP_TO_TC_MAP/HPN"
    assert data_path_to_pointer(
        "/sonic-interface:sonic-interface/INTERFACE/INTERFACE_IPPREFIX_LIST[name='Ethernet0'][ip-prefix='10.0.0.0/31']"
    ) == "/INTERFACE/Ethernet0|10.0.0.0~131"
    assert data_path_to_pointer(
        "/sonic-device_metadata:sonic-device_metadata/DEVICE_METADATA/localhost/hostname"
    ) == "/DEVICE_METADATA/localhost/hostname"


def test_schema_is_read_from_the_models(sonic_models):
    schema = load_schema(sonic_models)
    queue = schema.tables["QUEUE"]
    assert queue.module == "sonic-queue"
    assert [(l.name, l.keys) for l in queue.node.lists][0] == ("QUEUE_LIST", ("ifname", "qindex"))
    maps = sorted(t for t, tab in schema.tables.items() for l in tab.node.lists if l.is_map)
    # The same Type-1 map lists SONiC's sonic_yang_ext hard-codes, found from the models alone.
    assert {"DSCP_TO_TC_MAP", "TC_TO_QUEUE_MAP", "TC_TO_PRIORITY_GROUP_MAP", "MAP_PFC_PRIORITY_TO_QUEUE",
            "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP", "DOT1P_TO_TC_MAP", "TC_TO_DSCP_MAP"} <= set(maps)


def test_find_models_order_and_errors(sonic_models, tmp_path, monkeypatch):
    monkeypatch.delenv("HPNCTL_SONIC_MODELS", raising=False)
    assert find_models("sonic", sonic_models) == sonic_models
    assert find_models("sonic") == sonic_models  # ../shared/oracles next to the repo
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x.yang").write_text("module x {}")
    monkeypatch.setenv("HPNCTL_SONIC_MODELS", str(tmp_path / "m"))
    assert find_models("sonic") == tmp_path / "m"
    with pytest.raises(ModelValidationError, match="no sonic YANG models found.*HPNCTL_SONIC_MODELS"):
        find_models("sonic", tmp_path / "empty")
    with pytest.raises(ModelValidationError, match="unknown model kind"):
        find_models("junos")
