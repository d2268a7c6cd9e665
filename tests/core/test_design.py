"""design(): topology expansion, addressing, ASNs and the QoS plan, checked against what the intent asks for."""
from __future__ import annotations

import copy
import ipaddress
import math
from collections import Counter

import pytest

from hpnctl.design.qos import ecn_thresholds, pfc_headroom
from hpnctl.errors import IntentError
from hpnctl.intent.schema import Ecn, EcnProfile
from hpnctl.model import build_device_model
from hpnctl.platforms import get_asic


def _net(addr: str) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(addr)


def _small_intent(**generator) -> dict:
    """A one-class intent around a generator; platforms sonic unless overridden."""
    gen = {"spines": 2, "leaf_groups": 1, "hosts_per_group": 0}
    gen.update(generator)
    return {
        "fabric": {"name": "t"},
        "platforms": {"leaf": "sonic", "spine": "sonic", "super-spine": "sonic"},
        "networks": {"compute": {
            "topology": {"generator": gen},
            "addressing": {"loopbacks": "10.0.0.0/24", "p2p": "10.1.0.0/20", "hosts": "10.2.0.0/20"},
            "qos": {"classes": {"default": {"dscp": "default", "tc": 0, "scheduler": "strict"}}},
        }},
    }


# ---------------------------------------------------------------- the lab inventory


def test_lab_has_two_spines_four_leaves_four_hosts(lab):
    _, fabric = lab
    assert Counter(d.role for d in fabric.devices.values()) == {"spine": 2, "leaf": 4, "host": 4}
    assert sorted(d.name for d in fabric.switches()) == ["leaf1", "leaf2", "leaf3", "leaf4", "spine1", "spine2"]
    assert {(d.platform, d.asic) for d in fabric.switches()} == {("linux", "linux-kernel")}
    assert not fabric.log.items


def test_lab_every_leaf_has_one_link_to_each_spine_and_one_host(lab):
    _, fabric = lab
    for n in range(1, 5):
        leaf = fabric.devices[f"leaf{n}"]
        uplinks = Counter(i.peer for i in leaf.interfaces if i.kind == "uplink")
        assert uplinks == {"spine1": 1, "spine2": 1}
        assert [i.peer for i in leaf.interfaces if i.kind == "host"] == [f"host{n}"]
        # host ports first, then uplinks (predictable cabling)
        assert [i.kind for i in leaf.interfaces] == ["host", "uplink", "uplink"]
        assert [i.name for i in leaf.interfaces] == ["eth1", "eth2", "eth3"]
    for spine in ("spine1", "spine2"):
        dev = fabric.devices[spine]
        assert sorted(i.peer for i in dev.interfaces) == ["leaf1", "leaf2", "leaf3", "leaf4"]
        assert {i.kind for i in dev.interfaces} == {"downlink"}
    assert Counter(lk.kind for lk in fabric.links) == {"fabric": 8, "host": 4}


def test_lab_point_to_point_31s_pair_up(lab):
    loaded, fabric = lab
    pools = {"fabric": _net("10.1.0.0/24"), "host": _net("10.2.0.0/24")}
    subnets = [lk.subnet for lk in fabric.links]
    assert len(set(subnets)) == len(subnets)
    for lk in fabric.links:
        net = _net(lk.subnet)
        assert net.prefixlen == 31 and net.subnet_of(pools[lk.kind])
        a, b = lk.a_itf, lk.b_itf
        lo, hi = (str(x) for x in net)
        assert (a.ip, b.ip) == (f"{lo}/31", f"{hi}/31")  # a (leaf side on host links) takes the even address
        assert (a.peer_ip, b.peer_ip) == (hi, lo)
        # the interface objects are the devices' own, and they point at each other
        assert a in fabric.devices[lk.a].interfaces and b in fabric.devices[lk.b].interfaces
        assert (a.peer, a.peer_interface, b.peer, b.peer_interface) == (lk.b, lk.b_if, lk.a, lk.a_if)
    for lk in fabric.links:
        if lk.kind == "host":
            assert fabric.devices[lk.a].role == "leaf" and fabric.devices[lk.b].role == "host"


def test_lab_asns_follow_rfc7938(lab):
    _, fabric = lab
    spines = {fabric.devices[s].asn for s in ("spine1", "spine2")}
    leaves = [fabric.devices[f"leaf{n}"].asn for n in range(1, 5)]
    assert len(spines) == 1  # the spine layer of a pod shares one ASN
    assert len(set(leaves)) == 4 and not spines & set(leaves)  # every leaf its own
    assert all(65000 <= a <= 65499 for a in spines | set(leaves))
    for dev in fabric.switches():
        for itf in dev.interfaces:
            peer = fabric.devices[itf.peer]
            assert itf.peer_asn == (peer.asn if peer.is_switch else None)
    assert all(h.asn is None for h in fabric.hosts())


def test_lab_loopbacks_unique_in_pool(lab):
    _, fabric = lab
    pool = _net("10.0.0.0/24")
    loopbacks = [ipaddress.ip_address(d.loopback) for d in fabric.switches()]
    assert len(set(loopbacks)) == 6
    assert all(lo in pool and lo != pool.network_address for lo in loopbacks)
    assert all(not h.loopback for h in fabric.hosts())


def test_lab_management_addresses_skip_the_gateway(lab):
    _, fabric = lab
    pool = _net("172.20.20.0/24")
    assert fabric.mgmt_gateway == "172.20.20.1" and fabric.mgmt_prefixlen == 24
    mgmt = [ipaddress.ip_address(d.mgmt_ip) for d in fabric.devices.values()]
    assert len(set(mgmt)) == len(mgmt) == 10  # switches and hosts
    assert all(m in pool for m in mgmt)
    assert sorted(int(m) - int(pool.network_address) for m in mgmt) == list(range(11, 21))  # first_host 11


def test_management_allocation_skips_a_gateway_inside_the_range(designed, lab_data):
    data = copy.deepcopy(lab_data)
    data["management"] = {"pool": "172.20.20.0/27", "first_host": 2, "gateway": "172.20.20.5"}
    _, fabric = designed(data)
    offsets = sorted(int(d.mgmt_ip.rsplit(".", 1)[1]) for d in fabric.devices.values())
    assert offsets == [2, 3, 4, 6, 7, 8, 9, 10, 11, 12]
    assert fabric.mgmt_gateway == "172.20.20.5"


def test_management_pool_exactly_full_fits_without_the_broadcast(designed, lab_data):
    """10 devices from offset 11 of a /27 end at .20; the same 10 from offset 21 would need .30 — the last usable."""
    data = copy.deepcopy(lab_data)
    data["management"] = {"pool": "172.20.20.0/27", "first_host": 21}
    _, fabric = designed(data)
    assert max(int(d.mgmt_ip.rsplit(".", 1)[1]) for d in fabric.devices.values()) == 30
    data["management"]["first_host"] = 22
    with pytest.raises(IntentError) as exc:
        designed(data)
    assert [d.code for d in exc.value.diagnostics] == ["E212"]


# ---------------------------------------------------------------- generator shapes


def test_three_tier_connects_spines_to_super_spines_of_their_plane(designed):
    data = _small_intent(planes=2, pods=2, spines=2, super_spines=3, leaf_groups=1, rails=2, links_per_super_spine=2,
                         naming={"leaf": "leaf-p{plane}-d{pod}-r{rail}", "spine": "spine-p{plane}-d{pod}-{n}",
                                 "super_spine": "ss-p{plane}-{n}"})
    _, fabric = designed(data)
    roles = Counter(d.role for d in fabric.switches())
    assert roles == {"super-spine": 6, "spine": 8, "leaf": 8}
    by_plane = {p: {d.name for d in fabric.switches() if d.role == "super-spine" and d.plane == p} for p in (1, 2)}
    for spine in (d for d in fabric.switches() if d.role == "spine"):
        ups = Counter(i.peer for i in spine.interfaces if i.kind == "uplink")
        assert ups == {ss: 2 for ss in by_plane[spine.plane]}  # every super-spine of its plane, 2 links each
        downs = [fabric.devices[i.peer] for i in spine.interfaces if i.kind == "downlink"]
        assert {(d.role, d.plane, d.pod) for d in downs} == {("leaf", spine.plane, spine.pod)}
        assert len(downs) == 2  # the pod's 2 rail leaves
    for ss in (d for d in fabric.switches() if d.role == "super-spine"):
        peers = [fabric.devices[i.peer] for i in ss.interfaces]
        assert {i.kind for i in ss.interfaces} == {"downlink"}
        assert {(p.role, p.plane) for p in peers} == {("spine", ss.plane)}
        assert {p.pod for p in peers} == {1, 2}  # super-spines join the pods
    # RFC 7938 in 3 tiers: one ASN per super-spine layer of a plane, per spine layer of a pod, per leaf
    asn = {}
    for d in fabric.switches():
        key = (d.role, d.plane) if d.role == "super-spine" else (d.role, d.plane, d.pod) if d.role == "spine" else d.name
        asn.setdefault(key, set()).add(d.asn)
    assert all(len(v) == 1 for v in asn.values())
    assert len({next(iter(v)) for v in asn.values()}) == len(asn)


def test_dual_plane_hosts_get_one_nic_per_plane_per_rail(designed):
    data = _small_intent(planes=2, rails=4, leaf_groups=2, hosts_per_group=3)
    _, fabric = designed(data)
    hosts = fabric.hosts()
    assert len(hosts) == 2 * 3  # the same servers in both planes, not twice as many
    for host in hosts:
        leaves = [fabric.devices[i.peer] for i in host.interfaces]
        assert sorted((leaf.plane, leaf.rail) for leaf in leaves) == [(p, r) for p in (1, 2) for r in range(1, 5)]
        assert {leaf.group for leaf in leaves} == {host.group}
        assert [i.name for i in host.interfaces] == [f"eth{n}" for n in range(1, 9)]
        assert all(i.kind == "nic" and i.ip for i in host.interfaces)


@pytest.mark.parametrize(("platform", "names"), [
    ("sonic", ["Ethernet0", "Ethernet4", "Ethernet8", "Ethernet12"]),  # 2×400G of an 800G port: lanes 0-3, 4-7
    ("eos", ["Ethernet1/1", "Ethernet1/5", "Ethernet2/1", "Ethernet2/5"]),
    ("linux", ["eth1s1", "eth1s2", "eth2s1", "eth2s2"]),
])
def test_breakout_interface_names(designed, platform, names):
    data = _small_intent(spines=4, breakout={"leaf_spine": 2}, speeds={"leaf_spine": "400G"})
    data["platforms"] = {"leaf": platform, "spine": platform}
    data["networks"]["compute"]["optional_features"] = ["buffers"]
    _, fabric = designed(data)
    leaf = fabric.devices["leaf1"]
    assert [i.name for i in leaf.interfaces] == names
    assert [i.port for i in leaf.interfaces] == [1, 1, 2, 2]
    assert {i.speed_mbps for i in leaf.interfaces} == {400_000}


def test_breakout_of_host_ports_comes_before_uplinks(designed):
    data = _small_intent(spines=2, hosts_per_group=4, breakout={"host": 4})
    _, fabric = designed(data)
    leaf = fabric.devices["leaf1"]
    assert [(i.name, i.port, i.kind) for i in leaf.interfaces] == [
        ("Ethernet0", 1, "host"), ("Ethernet2", 1, "host"), ("Ethernet4", 1, "host"), ("Ethernet6", 1, "host"),
        ("Ethernet8", 2, "uplink"), ("Ethernet16", 3, "uplink"),
    ]


def test_explicit_devices_and_links(designed):
    data = {
        "fabric": {"name": "explicit"},
        "platforms": {"leaf": "linux", "spine": "linux"},
        "networks": {"compute": {
            "topology": {
                "devices": [{"name": "s1", "role": "spine"}, {"name": "l1", "role": "leaf"},
                            {"name": "l2", "role": "leaf", "asn": 65123}, {"name": "h1", "role": "host"}],
                "links": [{"endpoints": ["l1", "s1"]}, {"endpoints": ["l2:swp5", "s1:swp9"], "speed": "100G"},
                          {"endpoints": ["h1", "l1"]}],
            },
            "addressing": {"loopbacks": "10.0.0.0/24", "p2p": "10.1.0.0/24", "hosts": "10.2.0.0/24"},
            "routing": {"bgp": {"asn_range": "65000-65099"}},
            "qos": {"classes": {"default": {"dscp": "default", "tc": 0, "scheduler": "strict"}}},
        }},
    }
    _, fabric = designed(data)
    s1, l1, l2, h1 = (fabric.devices[n] for n in ("s1", "l1", "l2", "h1"))
    assert [(i.name, i.kind, i.peer) for i in l1.interfaces] == [("eth1", "uplink", "s1"), ("eth2", "host", "h1")]
    assert [(i.name, i.kind, i.peer, i.peer_interface) for i in s1.interfaces] == [
        ("eth1", "downlink", "l1", "eth1"), ("swp9", "downlink", "l2", "swp5")]
    assert [(i.name, i.speed_mbps) for i in l2.interfaces] == [("swp5", 100_000)]
    assert [(i.name, i.kind, i.peer) for i in h1.interfaces] == [("eth1", "nic", "l1")]
    assert l2.asn == 65123 and len({s1.asn, l1.asn, l2.asn}) == 3
    assert all(65000 <= d.asn <= 65099 for d in (s1, l1))
    host_link = next(lk for lk in fabric.links if lk.kind == "host")
    assert (host_link.a, host_link.b) == ("l1", "h1") and _net(host_link.subnet).subnet_of(_net("10.2.0.0/24"))
    assert s1.interfaces[1].peer_ip == l2.interfaces[0].ip.split("/")[0]


def test_overrides_of_generated_devices_apply(designed, lab_data):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["topology"]["devices"] = [
        {"name": "leaf1", "asn": 65400, "loopback": "10.0.0.200", "mgmt_ip": "172.20.20.99"},
        {"name": "spine2", "mgmt_ip": "172.20.20.11"},  # the address the allocator would hand out first
    ]
    _, fabric = designed(data)
    leaf1 = fabric.devices["leaf1"]
    assert (leaf1.asn, leaf1.loopback, leaf1.mgmt_ip) == (65400, "10.0.0.200", "172.20.20.99")
    assert fabric.devices["spine2"].mgmt_ip == "172.20.20.11"
    assert [i.peer_asn for i in fabric.devices["spine1"].interfaces if i.peer == "leaf1"] == [65400]
    mgmt = [d.mgmt_ip for d in fabric.devices.values()]
    loopbacks = [d.loopback for d in fabric.switches()]
    assert len(set(mgmt)) == len(mgmt) and len(set(loopbacks)) == len(loopbacks)
    assert len({d.asn for d in fabric.switches() if d.role == "leaf"}) == 4


def test_kvcache_network_shares_the_gpu_servers(pd):
    _, fabric = pd
    hosts = sorted(fabric.hosts(), key=lambda h: int(h.name[3:]))
    assert [h.name for h in hosts] == [f"gpu{n}" for n in range(1, 9)]
    for host in hosts:
        assert host.networks == ["compute", "kvcache"]
        compute = [i for i in host.interfaces if fabric.devices[i.peer].network == "compute"]
        kv = [i for i in host.interfaces if fabric.devices[i.peer].network == "kvcache"]
        assert len(compute) == 8 and len(kv) == 1
        assert sorted(fabric.devices[i.peer].rail for i in compute) == list(range(1, 9))  # NIC r → rail-r leaf
        assert {i.speed_mbps for i in compute} == {400_000} and kv[0].speed_mbps == 200_000
        assert fabric.devices[kv[0].peer].name.startswith("kv-leaf")
        assert ipaddress.ip_interface(kv[0].ip).network.subnet_of(_net("10.10.0.0/24"))
        assert all(ipaddress.ip_interface(i.ip).network.subnet_of(_net("10.2.0.0/22")) for i in compute)
        assert {i.mtu for i in host.interfaces} == {4200}  # fabric.host_mtu


# ---------------------------------------------------------------- QoS plan


def _headroom_by_the_docstring(speed_gbps: int, cable_m: float, mtu: int, cell: int, mac_phy: int, pipeline: int,
                               quanta: int, p: int = 100) -> tuple[int, int]:
    """The formula of hpnctl/design/qos.py's docstring, written out again (SONiC buffer_headroom_mellanox.lua)."""
    def ceil1k(n: float) -> int:
        return math.ceil(n / 1024) * 1024

    cable = 2 * cable_m * speed_gbps * 1e9 / 1.98e8 / 8
    resp = quanta * 512 / 8
    prop = mtu + cable + mac_phy + resp
    wcf = cell / 64 if cell > 128 else 2 * cell / (1 + cell)
    occ = (100 - p + p * wcf) / 100
    return ceil1k(pipeline), ceil1k(mtu + prop * occ)


@pytest.mark.parametrize(("speed_gbps", "cable_m", "asic", "quanta"), [
    (400, 10.0, "tomahawk5", 905),   # IEEE 802.3 31B.3.7 pause quanta at 400G
    (100, 300.0, "spectrum4", 394),  # a long cable and a 144-byte-cell ASIC (the other wcf branch)
])
def test_pfc_headroom_matches_the_documented_formula(speed_gbps, cable_m, asic, quanta):
    a = get_asic(asic)
    xon, xoff = _headroom_by_the_docstring(speed_gbps, cable_m, 9100, a.cell_bytes, a.mac_phy_delay_bytes,
                                           a.pipeline_latency_bytes, quanta)
    h = pfc_headroom(speed_gbps * 1000, cable_m, 9100, a)
    assert (h.xon, h.xoff, h.size) == (xon, xoff, xon + xoff)


def test_pfc_headroom_pinned_numbers():
    """One case computed by hand: 400G, 10 m, MTU 9100, Tomahawk 5 (cell 254 B → wcf 3.97)."""
    h = pfc_headroom(400_000, 10.0, 9100, get_asic("tomahawk5"))
    assert (h.xon, h.xoff) == (18432, 299008)
    longer = pfc_headroom(400_000, 100.0, 9100, get_asic("tomahawk5"))
    assert longer.xoff > h.xoff  # a longer cable holds more bytes in flight


def test_pd_inference_renders_the_headroom_of_its_cable_length(pd):
    loaded, fabric = pd
    leaf = fabric.devices["leaf-g1-r1"]
    model = build_device_model(loaded, fabric, leaf)
    a = get_asic("tomahawk5")
    for speed_gbps, quanta in ((400, 905), (800, 905)):
        xon, xoff = _headroom_by_the_docstring(speed_gbps, 10.0, 9100, a.cell_bytes, a.mac_phy_delay_bytes,
                                               a.pipeline_latency_bytes, quanta)
        assert model["qos"]["pfc"]["headroom"][speed_gbps * 1000] == {"xon": xon, "xoff": xoff, "size": xon + xoff}
    assert model["qos"]["pfc"]["priorities"] == [3, 4]


@pytest.mark.parametrize(("speed_mbps", "tolerance_us", "kmin"), [
    (400_000, 10.0, 500_000),   # 50,000 B/µs × 10 µs
    (800_000, 5.0, 500_000),
    (100_000, 10.0, 125_000),
    (25_000, 3.0, 10_000),      # 3,125 B/µs × 3 µs = 9,375 B, rounded up to whole KB
])
def test_ignore_microbursts_kmin_is_line_rate_times_tolerance(speed_mbps, tolerance_us, kmin):
    prof = EcnProfile(kind="ignore-microbursts", burst_tolerance=tolerance_us, kmax_factor=4, pmax=20)
    t = ecn_thresholds(Ecn(profile="p"), {"p": prof}, speed_mbps)
    exact = speed_mbps / 8 * tolerance_us
    assert exact <= t.kmin < exact + 1000 and t.kmin == kmin
    assert t.kmax == 4 * kmin and t.pmax == 20


def test_lab_ecn_thresholds_in_the_plan(lab):
    _, fabric = lab
    plan = fabric.networks["compute"].qos
    allreduce = next(c for c in plan.classes if c.name == "allreduce")
    t = plan.ecn_at(allreduce, 100_000)
    assert (t.kmin, t.kmax, t.pmax) == (125_000, 500_000, 20.0)  # 10 µs at 100G, kmax_factor 4
    alltoall = next(c for c in plan.classes if c.name == "alltoall")
    assert plan.ecn_at(alltoall, 100_000) is None  # ECN off


def test_dscp_map_covers_all_64_values(lab, pd):
    plan = lab[1].networks["compute"].qos
    assert sorted(plan.dscp_to_tc) == list(range(64))
    assert {d: tc for d, tc in plan.dscp_to_tc.items() if tc != 0} == {26: 3, 34: 4, 48: 6}
    assert sorted(plan.tc_to_queue) == list(range(8)) and sorted(plan.tc_to_pg) == list(range(8))
    kv = pd[1].networks["kvcache"].qos
    assert sorted(kv.dscp_to_tc) == list(range(64))
    assert {d: tc for d, tc in kv.dscp_to_tc.items() if tc != 0} == {10: 3, 48: 6}
    assert kv.lossless_priorities == [3] and kv.tc_to_pg[3] == 3


def test_classes_are_kinds_and_sorted_by_tc(lab):
    plan = lab[1].networks["compute"].qos
    assert [(c.name, c.kind, c.tc, c.scheduler) for c in plan.classes] == [
        ("default", "default", 0, "dwrr"), ("allreduce", "allreduce", 3, "dwrr"),
        ("alltoall", "alltoall", 4, "strict"), ("cnp", "cnp", 6, "strict")]
    assert [c.weight for c in plan.classes] == [40, 60, None, None]


def test_per_device_platform_override_names_its_ports_the_platform_way(designed, lab_data):
    data = copy.deepcopy(lab_data)
    data["networks"]["compute"]["topology"]["devices"] = [{"name": "leaf2", "platform": "sonic"}]
    data["networks"]["compute"]["optional_features"] = ["pfc", "pfc-watchdog", "adaptive-routing", "buffers"]
    _, fabric = designed(data)
    leaf2 = fabric.devices["leaf2"]
    assert leaf2.platform == "sonic"
    assert [i.name for i in leaf2.interfaces] == ["Ethernet0", "Ethernet8", "Ethernet16"]
    # the spines' view of the same links uses the new names too
    peers = {i.peer_interface for s in ("spine1", "spine2") for i in fabric.devices[s].interfaces if i.peer == "leaf2"}
    assert peers == {"Ethernet8", "Ethernet16"}
    assert [i.name for i in fabric.devices["leaf1"].interfaces] == ["eth1", "eth2", "eth3"]
