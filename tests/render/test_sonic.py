"""SONiC renderer: config_db.json (CONFIG_DB) and frr.conf, rendered from real intents.

Every pitfall of ../shared/reference/sonic.md §6 has a test here (look for "pitfall #").
Expected numbers are computed in the tests from the intent and the published
formulas, never copied from the output.
"""
from __future__ import annotations

import copy
import json
import math
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from hpnctl.design import design
from hpnctl.intent import load_intent
from hpnctl.model import build_device_model
from hpnctl.platforms import get_platform
from hpnctl.render import render_device
TESTS = Path(__file__).resolve().parents[1]
GOLDEN = TESTS / "golden"
PD_INFERENCE = TESTS.parent / "inventories" / "pd-inference.yml"
GOLDEN_CASES = sorted(p.parent for p in GOLDEN.glob("sonic-*/intent.yml"))

# field → table it names (CONFIG_DB references are plain names)
REFERENCES = {
    ("QUEUE", "scheduler"): "SCHEDULER",
    ("QUEUE", "wred_profile"): "WRED_PROFILE",
    ("BUFFER_PG", "profile"): "BUFFER_PROFILE",
    ("BUFFER_QUEUE", "profile"): "BUFFER_PROFILE",
    ("BUFFER_PROFILE", "pool"): "BUFFER_POOL",
    ("PORT_QOS_MAP", "dscp_to_tc_map"): "DSCP_TO_TC_MAP",
    ("PORT_QOS_MAP", "tc_to_queue_map"): "TC_TO_QUEUE_MAP",
    ("PORT_QOS_MAP", "tc_to_pg_map"): "TC_TO_PRIORITY_GROUP_MAP",
    ("PORT_QOS_MAP", "pfc_to_queue_map"): "MAP_PFC_PRIORITY_TO_QUEUE",
    ("PORT_QOS_MAP", "pfc_to_pg_map"): "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP",
    ("PORT_QOS_MAP", "scheduler"): "SCHEDULER",
}
REFERENCE_LIKE = re.compile(r"(_map|^scheduler|^wred_profile|^profile|^pool)$")
PORT_KEYED = ("QUEUE", "BUFFER_PG", "BUFFER_QUEUE", "PORT_QOS_MAP", "PFC_WD", "INTERFACE", "DEVICE_NEIGHBOR")
ECN_COLOURS = {"ecn_none": (), "ecn_green": ("green",), "ecn_yellow": ("yellow",), "ecn_red": ("red",),
               "ecn_green_yellow": ("green", "yellow"), "ecn_green_red": ("green", "red"),
               "ecn_yellow_red": ("yellow", "red"), "ecn_all": ("green", "yellow", "red")}


# --- rendering helpers -------------------------------------------------------------------


class Rendered:
    """Every SONiC switch of one intent: model, files and parsed CONFIG_DB."""

    def __init__(self, path: Path):
        self.loaded = load_intent(path)
        self.fabric = design(self.loaded)
        self.models = {d.name: build_device_model(self.loaded, self.fabric, d)
                       for d in self.fabric.switches() if d.platform == "sonic"}
        self.files = {name: render_device(m) for name, m in self.models.items()}
        self.cdb = {name: json.loads(f["config_db.json"]) for name, f in self.files.items()}

    def classes(self, device: str) -> dict[str, dict]:
        return {c["name"]: c for c in self.models[device]["qos"]["classes"]}


@lru_cache(maxsize=None)
def rendered(path: str) -> Rendered:
    return Rendered(Path(path))


@pytest.fixture(scope="module")
def pd() -> Rendered:
    return rendered(str(PD_INFERENCE))


def variant(tmp_path: Path, mutate) -> Rendered:
    """pd-inference with `mutate(intent_dict)` applied."""
    data = yaml.safe_load(PD_INFERENCE.read_text())
    mutate(data)
    path = tmp_path / "intent.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Rendered(path)


def expand(spec: str) -> list[int]:
    """'3' → [3]; '3-4' → [3, 4] (BUFFER_PG / BUFFER_QUEUE key ranges)."""
    lo, _, hi = spec.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def entry_for(table: dict, port: str, index: int) -> dict | None:
    """The BUFFER_PG/BUFFER_QUEUE entry of `port` covering `index`, whatever range it is in."""
    hits = [v for k, v in table.items() if k.split("|")[0] == port and index in expand(k.split("|")[1])]
    assert len(hits) <= 1, f"{port}|{index} is covered by {len(hits)} keys"
    return hits[0] if hits else None


def port_names(cdb: dict) -> list[str]:
    return sorted(cdb["PORT"])


def values(cdb: dict):
    for table, entries in cdb.items():
        for key, fields in entries.items():
            for field, value in fields.items():
                yield table, key, field, value


def ceil_kb(n: float) -> int:
    return int(math.ceil(n / 1000.0)) * 1000


# --- QoS behaviour ------------------------------------------------------------------------


def test_alltoall_queue_is_strict_and_never_marks(pd):
    for dev, cdb in pd.cdb.items():
        cls = pd.classes(dev).get("alltoall")
        if cls is None:
            continue
        for port in port_names(cdb):
            queue = cdb["QUEUE"][f"{port}|{cls['queue']}"]
            assert "wred_profile" not in queue, f"{dev} {port}: ECN is off for alltoall"
            assert cdb["SCHEDULER"][queue["scheduler"]] == {"type": "STRICT"}


def test_allreduce_wred_follows_ignore_microbursts_at_each_port_speed(pd):
    net = pd.loaded.intent.networks["compute"]
    prof = net.qos.ecn_profiles["ignore-microbursts"]
    checked = 0
    for dev, cdb in pd.cdb.items():
        cls = pd.classes(dev).get("allreduce")
        if cls is None:
            continue
        for port in port_names(cdb):
            speed_mbps = int(cdb["PORT"][port]["speed"])
            # A burst shorter than burst_tolerance at line rate stays below Kmin.
            kmin = ceil_kb(speed_mbps / 8 * prof.burst_tolerance)
            kmax = ceil_kb(kmin * prof.kmax_factor)
            wred = cdb["WRED_PROFILE"][cdb["QUEUE"][f"{port}|{cls['queue']}"]["wred_profile"]]
            for colour in ("green", "yellow", "red"):
                assert wred[f"{colour}_min_threshold"] == str(kmin), (dev, port)
                assert wred[f"{colour}_max_threshold"] == str(kmax), (dev, port)
                assert wred[f"{colour}_drop_probability"] == str(int(prof.pmax))
            assert wred["ecn"] == "ecn_all"
            checked += 1
    assert checked > 0
    # 400G host ports and 800G uplinks both occur, so two different profiles are in use.
    speeds = {cdb["PORT"][p]["speed"] for cdb in pd.cdb.values() for p in cdb["PORT"]}
    assert {"400000", "800000"} <= speeds


def test_ecn_off_queues_have_no_wred_profile(pd):
    for dev, cdb in pd.cdb.items():
        ecn_queues = {c["queue"] for c in pd.classes(dev).values() if c["ecn"]}
        for key, entry in cdb["QUEUE"].items():
            queue = int(key.split("|")[1])
            assert ("wred_profile" in entry) == (queue in ecn_queues), f"{dev} QUEUE|{key}"


def test_dwrr_weights_and_strict_queues_follow_the_intent(pd):
    for dev, cdb in pd.cdb.items():
        net = pd.loaded.intent.networks[pd.models[dev]["network"]]
        for name, spec in net.qos.classes.items():
            queue = spec.queue if spec.queue is not None else spec.tc
            for port in port_names(cdb):
                sched = cdb["SCHEDULER"][cdb["QUEUE"][f"{port}|{queue}"]["scheduler"]]
                if spec.scheduler.type == "strict":
                    assert sched == {"type": "STRICT"}
                else:
                    assert sched == {"type": "DWRR", "weight": str(round(spec.scheduler.bandwidth_percent))}


def test_pfc_enable_is_the_lossless_tcs(pd):
    for dev, cdb in pd.cdb.items():
        net = pd.loaded.intent.networks[pd.models[dev]["network"]]
        lossless = sorted(c.tc for c in net.qos.classes.values() if c.lossless)
        assert lossless, dev
        for port in port_names(cdb):
            qmap = cdb["PORT_QOS_MAP"][port]
            assert [int(p) for p in qmap["pfc_enable"].split(",")] == lossless
            assert qmap["pfcwd_sw_enable"] == qmap["pfc_enable"]


def test_pitfall_5_every_pfc_priority_has_lossless_headroom_on_its_port(pd):
    """pfc_enable priority → TC → PG → BUFFER_PG on that port → lossless profile with xoff > 0."""
    for dev, cdb in pd.cdb.items():
        tc_to_pg = cdb["TC_TO_PRIORITY_GROUP_MAP"]
        pfc_to_pg = cdb["PFC_PRIORITY_TO_PRIORITY_GROUP_MAP"]
        for port, qmap in cdb["PORT_QOS_MAP"].items():
            for prio in qmap["pfc_enable"].split(","):
                pg = int(tc_to_pg[qmap["tc_to_pg_map"]][prio])  # DSCP trust: PFC priority = TC
                assert int(pfc_to_pg[qmap["pfc_to_pg_map"]][prio]) == pg
                entry = entry_for(cdb["BUFFER_PG"], port, pg)
                assert entry is not None, f"{dev} {port}: PFC priority {prio} has no BUFFER_PG {pg}"
                profile = cdb["BUFFER_PROFILE"][entry["profile"]]
                assert int(profile["xoff"]) > 0 and int(profile["xon"]) > 0, f"{dev} {port} PG {pg}"
                assert cdb["BUFFER_POOL"][profile["pool"]]["type"] == "ingress"
                headroom = pd.models[dev]["qos"]["pfc"]["headroom"][int(cdb["PORT"][port]["speed"])]
                assert int(profile["xoff"]) == headroom["xoff"] and int(profile["size"]) == headroom["size"]


def test_pfc_headroom_matches_sonic_calculator(pd):
    """xoff from buffer_headroom_mellanox.lua, recomputed here for the leaf's 400G/800G ports."""
    dev = "leaf-g1-r1"
    cdb, model = pd.cdb[dev], pd.models[dev]
    from hpnctl.platforms import get_asic

    asic = get_asic(model["asic"]["name"])
    quanta = {400: 905, 800: 905}
    mtu = model["fabric"]["mtu"]
    cable = pd.loaded.intent.networks["compute"].qos.pfc.cable_length_m
    for port in port_names(cdb):
        speed = int(cdb["PORT"][port]["speed"])
        cable_b = 2 * cable * speed * 1e6 / 1.98e8 / 8
        prop = mtu + cable_b + asic.mac_phy_delay_bytes + quanta[speed // 1000] * 512 / 8
        wcf = asic.cell_bytes / 64 if asic.cell_bytes > 128 else 2 * asic.cell_bytes / (1 + asic.cell_bytes)
        xoff = int(math.ceil((mtu + prop * wcf) / 1024)) * 1024  # small-packet share 100 %
        profile = cdb["BUFFER_PROFILE"][entry_for(cdb["BUFFER_PG"], port, 3)["profile"]]
        assert int(profile["xoff"]) == xoff, port


def test_buffer_pgs_and_queues_cover_each_index_once(pd):
    for dev, cdb in pd.cdb.items():
        queues = pd.models[dev]["asic"]["queues"]
        pgs = {int(pg) for pg in cdb["TC_TO_PRIORITY_GROUP_MAP"]["HPN"].values()}
        for port in port_names(cdb):
            for q in range(queues):
                assert entry_for(cdb["BUFFER_QUEUE"], port, q) is not None, f"{dev} {port} queue {q}"
            for pg in pgs | {0}:
                assert entry_for(cdb["BUFFER_PG"], port, pg) is not None, f"{dev} {port} PG {pg}"


def test_unused_queues_keep_the_asic_scheduler_but_get_a_buffer_profile(pd):
    for dev, cdb in pd.cdb.items():
        used = {c["queue"] for c in pd.classes(dev).values()}
        for port in port_names(cdb):
            for q in range(8):
                assert (f"{port}|{q}" in cdb["QUEUE"]) == (q in used), f"{dev} {port} queue {q}"
                if q not in used:
                    profile = cdb["BUFFER_PROFILE"][entry_for(cdb["BUFFER_QUEUE"], port, q)["profile"]]
                    assert profile["pool"] == "egress_lossy_pool" and profile["size"] == "0"


def test_egress_profiles_carry_reserve_and_alpha(pd):
    for dev, cdb in pd.cdb.items():
        pools = cdb["BUFFER_POOL"]
        for cls in pd.classes(dev).values():
            spec = pd.loaded.intent.networks[pd.models[dev]["network"]].qos.classes[cls["name"]]
            profile = cdb["BUFFER_PROFILE"][entry_for(cdb["BUFFER_QUEUE"], "Ethernet0", cls["queue"])["profile"]]
            assert profile["size"] == str(spec.buffer.reserve or 0)
            if spec.lossless:
                # never an egress drop for lossless traffic: static threshold = the whole pool
                assert pools[profile["pool"]]["mode"] == "static"
                assert int(profile["static_th"]) >= int(pools[profile["pool"]]["size"])
                assert "dynamic_th" not in profile
            else:
                alpha = spec.buffer.alpha if spec.buffer.alpha is not None else 1.0
                assert pools[profile["pool"]]["mode"] == "dynamic"
                assert 2 ** int(profile["dynamic_th"]) == alpha


def test_buffer_pools_fit_the_asic(pd):
    for dev, cdb in pd.cdb.items():
        total = pd.models[dev]["asic"]["buffer_bytes"]
        for name, pool in cdb["BUFFER_POOL"].items():
            assert pool["type"] in ("ingress", "egress") and pool["mode"] in ("static", "dynamic")
            assert 0 < int(pool["size"]) <= total, f"{dev} {name}"
            assert "percentage" not in pool  # only valid with buffer_model dynamic


def test_pitfall_6_pools_are_identical_on_devices_of_one_shape(pd):
    """Pool changes need a reload (SAI pool TYPE is create-only): pools depend on the
    device's shape only, so a fabric-wide rollout never changes one switch's pools alone."""
    shapes: dict[tuple, dict] = {}
    for dev, cdb in pd.cdb.items():
        speeds = tuple(sorted(int(p["speed"]) for p in cdb["PORT"].values()))
        shape = (pd.models[dev]["network"], pd.models[dev]["role"], speeds)
        assert shapes.setdefault(shape, cdb["BUFFER_POOL"]) == cdb["BUFFER_POOL"], dev


def test_pfc_watchdog_per_pfc_port(pd):
    """Pitfall #7 is about patch ordering (PORT_QOS_MAP before PFC_WD): every PFC_WD port
    must have the PORT_QOS_MAP with pfc_enable that a patch applies first."""
    wd = pd.loaded.intent.networks["compute"].qos.pfc.watchdog
    for dev, cdb in pd.cdb.items():
        table = cdb["PFC_WD"]
        assert table["GLOBAL"] == {"POLL_INTERVAL": str(wd.poll_ms)}
        ports = {k for k in table if k != "GLOBAL"}
        assert ports == {p for p, q in cdb["PORT_QOS_MAP"].items() if q.get("pfc_enable")}
        poll = int(table["GLOBAL"]["POLL_INTERVAL"])
        for port in ports:
            assert table[port]["action"] == wd.action
            assert poll <= int(table[port]["detection_time"]) <= 5000
            assert poll <= int(table[port]["restoration_time"]) <= 60000


def test_dscp_map_covers_all_64_codepoints(pd):
    for dev, cdb in pd.cdb.items():
        dscp = cdb["DSCP_TO_TC_MAP"]["HPN"]
        assert sorted(int(d) for d in dscp) == list(range(64))
        for cls in pd.classes(dev).values():
            for d in cls["dscp"]:
                assert dscp[str(d)] == str(cls["tc"])
        tc_to_queue = cdb["TC_TO_QUEUE_MAP"]["HPN"]
        for cls in pd.classes(dev).values():
            assert tc_to_queue[str(cls["tc"])] == str(cls["queue"])


# --- CONFIG_DB hygiene (pitfalls #1-#4) -------------------------------------------------


def test_every_value_is_a_non_empty_string(pd):
    """Pitfall #3: an empty field fails YANG; the only lists are leaf-lists (SWITCH_HASH)."""
    for dev, cdb in pd.cdb.items():
        for table, key, field, value in values(cdb):
            where = f"{dev} {table}|{key}.{field}"
            if isinstance(value, list):
                assert (table, field) == ("SWITCH_HASH", "ecmp_hash"), where
                assert value and all(isinstance(v, str) and v for v in value), where
            else:
                assert isinstance(value, str) and value != "", where


def test_pitfall_1_no_bracketed_references(pd):
    for dev, cdb in pd.cdb.items():
        for table, key, field, value in values(cdb):
            for v in value if isinstance(value, list) else [value]:
                assert not (v.startswith("[") or v.endswith("]")), f"{dev} {table}|{key}.{field}={v}"


def test_every_reference_resolves(pd):
    for dev, cdb in pd.cdb.items():
        for table, key, field, value in values(cdb):
            target = REFERENCES.get((table, field))
            if target is None:
                assert not REFERENCE_LIKE.search(field), f"unchecked reference {table}.{field}: add it to REFERENCES"
                continue
            assert value in cdb.get(target, {}), f"{dev} {table}|{key}.{field} → {target}|{value} is missing"
        for table in PORT_KEYED:
            for key in cdb.get(table, {}):
                port = key.split("|")[0]
                assert port == "GLOBAL" and table == "PFC_WD" or port in cdb["PORT"], f"{dev} {table}|{key}"
        for key in cdb.get("MGMT_INTERFACE", {}):
            assert key.split("|")[0] in cdb["MGMT_PORT"]


def test_pitfall_2_wred_enabled_for_every_ecn_colour(pd):
    for dev, cdb in pd.cdb.items():
        for name, wred in cdb["WRED_PROFILE"].items():
            colours = ECN_COLOURS[wred["ecn"]]
            assert colours, f"{dev} {name}: a WRED profile that marks nothing"
            for colour in colours:
                assert wred[f"wred_{colour}_enable"] == "true", f"{dev} {name} {colour}"
                assert int(wred[f"{colour}_max_threshold"]) >= int(wred[f"{colour}_min_threshold"])
                assert 0 <= int(wred[f"{colour}_drop_probability"]) <= 100


def test_pitfall_4_every_buffer_profile_has_pool_and_size(pd):
    for dev, cdb in pd.cdb.items():
        for name, profile in cdb["BUFFER_PROFILE"].items():
            assert {"pool", "size"} <= set(profile), f"{dev} {name}"
            assert not ("dynamic_th" in profile and "static_th" in profile), f"{dev} {name}"
            if "dynamic_th" in profile:
                assert -8 <= int(profile["dynamic_th"]) <= 7


def test_one_port_per_key(pd):
    for dev, cdb in pd.cdb.items():
        for table, entries in cdb.items():
            for key in entries:
                assert "," not in key, f"{dev} {table}|{key}"


def test_rendering_is_deterministic(pd, tmp_path):
    again = Rendered(PD_INFERENCE)  # a fresh design, not the cached one
    for dev, files in pd.files.items():
        assert render_device(pd.models[dev]) == files
        assert again.files[dev] == files, dev
        text = files["config_db.json"]
        assert text == json.dumps(json.loads(text), indent=4, sort_keys=True) + "\n"  # sorted keys


# --- device tables ---------------------------------------------------------------------------


def test_device_metadata(pd):
    for dev, cdb in pd.cdb.items():
        meta = cdb["DEVICE_METADATA"]["localhost"]
        model = pd.models[dev]
        assert meta["hostname"] == dev
        assert meta["bgp_asn"] == str(model["asn"])
        # one integrated frr.conf owned by hpnctl: docker_init.sh deletes frr.conf in "split"
        assert meta["docker_routing_config_mode"] == "split-unified"
        assert meta["buffer_model"] == "traditional"
        assert meta["type"] == {"leaf": "ToRRouter", "spine": "LeafRouter"}[model["role"]]
        assert meta["hwsku"]


def test_ports_lanes_speed_fec(pd):
    lanes_per_port = get_platform("sonic").lanes_per_port
    for dev, cdb in pd.cdb.items():
        seen: set[int] = set()
        for itf in pd.models[dev]["interfaces"]:
            port = cdb["PORT"][itf["name"]]
            lanes = [int(x) for x in port["lanes"].split(",")]
            assert lanes == list(range(lanes[0], lanes[0] + lanes_per_port))
            assert lanes[0] == (itf["port"] - 1) * lanes_per_port
            assert itf["name"] == f"Ethernet{lanes[0]}"  # SONiC names a port by its first lane
            assert not seen & set(lanes)
            seen |= set(lanes)
            assert port["speed"] == str(itf["speed_mbps"]) and port["mtu"] == str(itf["mtu"])
            assert port["admin_status"] == "up" and port["alias"] and port["description"]
            assert port.get("fec") == ("rs" if itf["speed_mbps"] >= 100_000 else None)


def test_breakout_members_split_the_lanes_of_their_port(pd):
    model = copy.deepcopy(pd.models["leaf-g1-r1"])
    first, second = model["interfaces"][:2]
    second.update(port=first["port"], name="Ethernet4")
    ports = json.loads(render_device(model)["config_db.json"])["PORT"]
    assert (ports["Ethernet0"]["lanes"], ports["Ethernet0"]["alias"]) == ("0,1,2,3", "etp1a")
    assert (ports["Ethernet4"]["lanes"], ports["Ethernet4"]["alias"]) == ("4,5,6,7", "etp1b")


def test_interfaces_neighbors_loopback_mgmt(pd):
    for dev, cdb in pd.cdb.items():
        model = pd.models[dev]
        for itf in model["interfaces"]:
            assert cdb["INTERFACE"][itf["name"]] == {}
            assert cdb["INTERFACE"][f"{itf['name']}|{itf['ip']}"] == {}
            assert cdb["DEVICE_NEIGHBOR"][itf["name"]] == {"name": itf["peer"], "port": itf["peer_interface"]}
        assert cdb["LOOPBACK_INTERFACE"] == {"Loopback0": {}, f"Loopback0|{model['loopback']}/32": {}}
        mgmt = model["mgmt"]
        assert cdb["MGMT_INTERFACE"] == {f"eth0|{mgmt['ip']}/{mgmt['prefixlen']}": {"gwaddr": mgmt["gateway"]}}
        assert "BGP_NEIGHBOR" not in cdb  # FRR's neighbours live in frr.conf (split-unified)


def test_switch_hash(pd):
    for dev, cdb in pd.cdb.items():
        ecmp = pd.models[dev]["ecmp"]
        entry = cdb["SWITCH_HASH"]["GLOBAL"]
        assert entry["ecmp_hash"] == [f.upper().replace("-", "_") for f in ecmp["hash_fields"]]
        assert entry["ecmp_hash_algorithm"] == ecmp["algorithm"].upper()


# --- features off: tables omitted, never empty ----------------------------------------------


def _all_classes(data: dict):
    for net in data["networks"].values():
        yield from net["qos"]["classes"].values()


def _no_empty_tables(r: Rendered) -> None:
    for dev, cdb in r.cdb.items():
        for table, entries in cdb.items():
            assert entries, f"{dev}: empty table {table}"


def test_pfc_off_omits_pfc_tables(tmp_path):
    def mutate(data):
        for cls in _all_classes(data):
            cls.pop("lossless", None)

    r = variant(tmp_path, mutate)
    _no_empty_tables(r)
    for dev, cdb in r.cdb.items():
        for table in ("MAP_PFC_PRIORITY_TO_QUEUE", "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP", "PFC_WD"):
            assert table not in cdb, f"{dev} {table}"
        for qmap in cdb["PORT_QOS_MAP"].values():
            assert not {"pfc_enable", "pfcwd_sw_enable", "pfc_to_queue_map", "pfc_to_pg_map"} & set(qmap)
        assert not any("xoff" in p for p in cdb["BUFFER_PROFILE"].values()), dev
        assert {e["profile"] for e in cdb["BUFFER_PG"].values()} == {"ingress_lossy_profile"}


def test_ecn_off_omits_wred(tmp_path):
    def mutate(data):
        for cls in _all_classes(data):
            cls["ecn"] = "off"

    r = variant(tmp_path, mutate)
    _no_empty_tables(r)
    for dev, cdb in r.cdb.items():
        assert "WRED_PROFILE" not in cdb
        assert not any("wred_profile" in q for q in cdb["QUEUE"].values())


def test_watchdog_off_omits_pfc_wd(tmp_path):
    def mutate(data):
        for net in data["networks"].values():
            net["qos"].setdefault("pfc", {})["watchdog"] = {"enabled": False}

    r = variant(tmp_path, mutate)
    _no_empty_tables(r)
    for dev, cdb in r.cdb.items():
        assert "PFC_WD" not in cdb
        for qmap in cdb["PORT_QOS_MAP"].values():
            assert "pfc_enable" in qmap and "pfcwd_sw_enable" not in qmap


def test_pfc_without_buffer_intent_still_gets_headroom(tmp_path):
    """Pitfall #5 again: no class asks for buffers, but PFC is on, so lossless PGs need headroom."""

    def mutate(data):
        for cls in _all_classes(data):
            cls.pop("buffer", None)
        for net in data["networks"].values():
            net["optional_features"] = [f for f in net.get("optional_features", []) if f != "buffers"]

    r = variant(tmp_path, mutate)
    for dev, cdb in r.cdb.items():
        assert r.models[dev]["features"]["buffers"] is False
        for port, qmap in cdb["PORT_QOS_MAP"].items():
            for prio in qmap["pfc_enable"].split(","):
                pg = int(cdb["TC_TO_PRIORITY_GROUP_MAP"]["HPN"][prio])
                assert int(cdb["BUFFER_PROFILE"][entry_for(cdb["BUFFER_PG"], port, pg)["profile"]]["xoff"]) > 0
        assert all(p["size"] == "0" for n, p in cdb["BUFFER_PROFILE"].items() if n.startswith("egress_"))


def test_no_qos_tables_without_ports():
    r = rendered(str(PD_INFERENCE))
    model = copy.deepcopy(r.models["leaf-g1-r1"])
    model["interfaces"] = []
    cdb = json.loads(render_device(model)["config_db.json"])
    assert not {"PORT", "PORT_QOS_MAP", "QUEUE", "BUFFER_PG", "PFC_WD", "INTERFACE"} & set(cdb)


# --- frr.conf ---------------------------------------------------------------------------------


def test_frr_conf_content(pd):
    for dev, files in pd.files.items():
        text = files["frr.conf"]
        bgp = pd.models[dev]["bgp"]
        lines = text.splitlines()
        assert f"hostname {dev}" in lines
        assert f"router bgp {bgp['asn']}" in lines
        assert f" bgp router-id {bgp['router_id']}" in lines
        assert " bgp bestpath as-path multipath-relax" in lines
        assert f"  maximum-paths {bgp['max_paths']}" in lines
        assert f" neighbor FABRIC timers {bgp['keepalive']} {bgp['hold']}" in lines
        assert bgp["neighbors"]
        for n in bgp["neighbors"]:
            assert f" neighbor {n['ip']} remote-as {n['asn']}" in lines
            assert f" neighbor {n['ip']} peer-group FABRIC" in lines
            assert f" neighbor {n['ip']} description {n['description']}" in lines
        for net in bgp["networks"]:
            assert f"  network {net}" in lines
            assert any(re.fullmatch(rf"ip prefix-list HPN_LOCAL seq \d+ permit {re.escape(net)}", ln) for ln in lines)
        # eBGP needs a policy both ways (FRR's ebgp-requires-policy stays on)
        assert "  neighbor FABRIC route-map HPN_FABRIC_IN in" in lines
        assert "  neighbor FABRIC route-map HPN_FABRIC_OUT out" in lines
        assert "no bgp ebgp-requires-policy" not in text
        if bgp["bfd"]:
            assert " neighbor FABRIC bfd profile HPN_FABRIC" in lines
            assert f"  detect-multiplier {bgp['bfd']['multiplier']}" in lines
            assert f"  transmit-interval {bgp['bfd']['interval_ms']}" in lines
        else:
            assert "bfd" not in text


def test_frr_conf_without_bfd(tmp_path):
    def mutate(data):
        for net in data["networks"].values():
            net["routing"]["bfd"] = {"enabled": False}

    r = variant(tmp_path, mutate)
    for files in r.files.values():
        assert "bfd" not in files["frr.conf"]


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="vtysh (FRR) is not installed")
def test_frr_conf_parses_with_vtysh(pd, tmp_path):
    """`vtysh -C` is FRR's own dry-run parse of an integrated config (no daemons, no root)."""
    for dev, files in pd.files.items():
        path = tmp_path / f"{dev}.conf"
        path.write_text(files["frr.conf"])
        proc = subprocess.run(["vtysh", "-C", "-f", str(path)], capture_output=True, text=True, timeout=60)
        errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "vtysh.conf" not in ln]
        assert proc.returncode == 0 and not errors, f"{dev}:\n" + "\n".join(errors)


def _bgpd_usable() -> bool:
    if not os.path.exists("/usr/lib/frr/bgpd") or os.geteuid() != 0:
        return False
    try:
        pwd.getpwnam("frr")
    except KeyError:
        return False
    return True


def _other_daemon_lines(text: str) -> set[int]:
    """Line numbers bgpd does not own: zebra's fpm lines and the bfdd node."""
    own: set[int] = set()
    in_bfd = False
    for number, line in enumerate(text.splitlines(), 1):
        if line == "bfd":
            in_bfd = True
        if in_bfd or line.lstrip().startswith(("fpm ", "no fpm ")):
            own.add(number)
        if in_bfd and line == "exit":
            in_bfd = False
    return own


@pytest.mark.skipif(not _bgpd_usable(), reason="bgpd --dryrun needs FRR's bgpd, root and the frr user")
def test_frr_conf_is_accepted_by_bgpd(pd):
    """bgpd's dry run executes every command, so it also catches semantic errors
    (a neighbour option before its remote-as, an unknown route-map …) that vtysh -C does not."""
    for dev in ("leaf-g1-r1", "kv-spine1"):
        text = pd.files[dev]["frr.conf"]
        # bgpd drops to the frr user before reading: pytest's tmp_path (0700) is out of its reach.
        with tempfile.TemporaryDirectory(prefix="hpnctl-bgpd-") as tmp:
            os.chmod(tmp, 0o755)
            path = Path(tmp) / f"{dev}.conf"
            path.write_text(text)
            path.chmod(0o644)
            proc = subprocess.run(
                ["/usr/lib/frr/bgpd", "--dryrun", "-f", str(path), "-u", "frr", "-g", "frr", "-p", "0",
                 "--vty_socket", tmp, "-i", str(Path(tmp) / "bgpd.pid")],
                capture_output=True, text=True, timeout=60)
        allowed = _other_daemon_lines(text)
        problems = []
        for line in (proc.stdout + proc.stderr).splitlines():
            if "zclient" in line:  # no zebra in a dry run
                continue
            m = re.search(r"config line (\d+)", line)
            if m and int(m.group(1)) in allowed and "No such command" in line:
                continue
            if "[EC " in line or line.startswith("%"):
                problems.append(line)
        assert not problems, f"{dev}:\n" + "\n".join(problems)


# --- YANG --------------------------------------------------------------------------------------


def test_config_db_passes_sonic_yang(pd):
    if shutil.which("yanglint") is None:
        pytest.skip("yanglint (libyang2-tools) is not installed")
    from hpnctl.errors import ModelValidationError
    from hpnctl.validate_models import find_models, validate_config_dbs

    try:
        models_dir = find_models("sonic")
    except ModelValidationError as exc:
        pytest.skip(str(exc))
    configs = dict(pd.cdb)
    for case in GOLDEN_CASES:  # the golden outputs must be valid too
        configs.update({f"{case.name}/{dev}": cdb for dev, cdb in rendered(str(case / "intent.yml")).cdb.items()})
    findings = validate_config_dbs(configs, models_dir, max_errors=50)
    assert not findings, "\n".join(f.format() for f in findings)


# --- golden files --------------------------------------------------------------------------------


@lru_cache(maxsize=1)


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=[c.name for c in GOLDEN_CASES])
def test_golden(case: Path, golden, update_golden: bool):
    """tests/golden/sonic-*/intent.yml → expected/<device>/<file>; pytest --update-golden rewrites."""
    r = Rendered(case / "intent.yml")
    expected_dir = case / "expected"
    produced = {Path(dev) / name for dev, files in r.files.items() for name in files}
    if update_golden:
        for stale in sorted(expected_dir.rglob("*")) if expected_dir.exists() else []:
            if stale.is_file() and stale.relative_to(expected_dir) not in produced:
                stale.unlink()
    else:
        existing = {p.relative_to(expected_dir) for p in expected_dir.rglob("*") if p.is_file()}
        assert existing <= produced, f"expected files no device produces: {sorted(map(str, existing - produced))}"
    failures = []
    for rel in sorted(produced):
        try:
            golden(r.files[rel.parts[0]][rel.name], expected_dir / rel)
        except pytest.fail.Exception as exc:
            failures.append(str(exc))
    if failures:
        pytest.fail("\n\n".join(failures))
