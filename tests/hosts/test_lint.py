"""Each host↔switch lint rule: one intent that breaks it (exact message, position, hint) and one that passes.

base_intent.yml has 83 lines; a `hosts:` block starts at line 85, its first key on line 86.
"""
from __future__ import annotations

import pytest

from hpnctl.design import design
from hpnctl.diagnostics import DiagnosticLog
from hpnctl.hosts.lint import lint
from hpnctl.intent import load_intent
from hosts_helpers import INVENTORIES, lint_messages, write_intent


def test_base_intent_is_consistent(lint_case) -> None:
    assert lint_case() == []


# ---------------------------------------------------------------- L300 unknown references


def test_l300_unknown_class(lint_case) -> None:
    assert lint_case(hosts="collectives:\n  nccl: allreduc") == [
        "intent.yml:87:11: error[L300]: unknown class 'allreduc' in network compute (at hosts.collectives.nccl)\n"
        "    hint: did you mean 'allreduce'?"]


def test_l300_unknown_dcqcn_profile_is_reported_once(lint_case) -> None:
    assert lint_case(hosts="dcqcn:\n  profile: ignore-microburst") == [
        "intent.yml:87:14: error[L300]: unknown DCQCN profile 'ignore-microburst' (at hosts.dcqcn.profile)\n"
        "    hint: did you mean 'ignore-microbursts'?"]


def test_l300_profile_cycle(lint_case) -> None:
    hosts = """
    dcqcn:
      profile: a
      profiles:
        a: {base: b}
        b: {base: a}
    """
    assert lint_case(hosts=hosts) == [
        "intent.yml:89:17: error[L300]: DCQCN profiles a → b → a form a cycle (at hosts.dcqcn.profiles.a.base)"]


def test_l300_passes_with_known_names(lint_case) -> None:
    hosts = """
    collectives: {nccl: allreduce, nvshmem: alltoall, sl: {allreduce: 3}}
    dcqcn:
      profile: mine
      profiles:
        mine: {base: barre-400g, rpg_ai_rate: 8}
    """
    assert lint_case(hosts=hosts) == []


# ---------------------------------------------------------------- L301 DSCP no switch class maps


def test_l301_library_dscp_unmapped(lint_case) -> None:
    assert lint_case(hosts="collectives:\n  nccl: 27") == [
        "intent.yml:87:11: error[L301]: NCCL_IB_TC uses DSCP 27 (ToS 108), which no class of network compute maps: "
        "the switches put it in the default class 'default' (queue 0, DWRR 20%) (at hosts.collectives.nccl)\n"
        "    hint: use a class name instead of a DSCP, or add the DSCP to the class it belongs to"]


def test_l301_passes_with_a_mapped_dscp(lint_case) -> None:
    assert lint_case(hosts="collectives:\n  nccl: 26\n  communicators: {ep: 34, dp: allreduce}") == []


# ---------------------------------------------------------------- L302 PFC priorities


def test_l302_nic_pfc_differs_from_switch_lossless(lint_case) -> None:
    assert lint_case(hosts="networks:\n  compute:\n    pfc_priorities: [3]") == [
        "intent.yml:88:23: error[L302]: the NICs' PFC priorities (3) differ from the lossless priorities of network "
        "compute's switches (3,4): the switches pause priority 4, the NICs do not (at hosts.networks.compute.pfc_priorities)\n"
        "    hint: drop pfc_priorities to inherit the switches' lossless classes"]


def test_l302_passes_when_priorities_match(lint_case) -> None:
    assert lint_case(hosts="networks:\n  compute:\n    pfc_priorities: [4, 3]") == []


# ---------------------------------------------------------------- L303 CNP queue


def test_l303_cnp_dscp_not_strict(lint_case) -> None:
    hint = ("    hint: use the DSCP of the switches' strict cnp class (NVIDIA: DSCP 48, TC 6, strict), "
            "or drop hosts.cnp.dscp to inherit it")
    assert lint_case(hosts="cnp:\n  dscp: 46") == [
        "intent.yml:87:11: error[L303]: CNPs leave the NICs with DSCP 46, which network compute's switches put in "
        "class 'default' (queue 0, DWRR 20%), not a strict-priority queue: CNPs wait behind data and DCQCN reacts "
        "late (at hosts.cnp.dscp)\n" + hint,
        "intent.yml:87:11: error[L303]: CNPs leave the NICs with DSCP 46, which network kvcache's switches put in "
        "class 'default' (queue 0, DWRR 10%), not a strict-priority queue: CNPs wait behind data and DCQCN reacts "
        "late (at hosts.cnp.dscp)\n" + hint]


def test_l303_passes_with_the_strict_cnp_class(lint_case) -> None:
    assert lint_case(hosts="cnp:\n  dscp: 48\n  priority: 6") == []


# ---------------------------------------------------------------- L304 ECN off under DCQCN traffic


ECN_OFF = {"ecn: {profile: ignore-microbursts}": "ecn: off"}


def test_l304_ecn_off_on_a_class_relying_on_dcqcn(lint_case) -> None:
    assert lint_case(replace=ECN_OFF) == [
        "intent.yml:42:16: warning[L304]: ECN is off on queue 3 (class 'allreduce') of network compute's switches, "
        "but its traffic (NCCL_IB_TC) relies on DCQCN: no switch marks it, so its senders never slow down and "
        "congestion is left to PFC pauses (at networks.compute.qos.classes.allreduce.ecn)\n"
        "    hint: turn ECN on for the class (e.g. `ecn: ignore-microbursts`), or list the classes that run DCQCN "
        "in hosts.dcqcn.classes to run this one without it on purpose"]


def test_l304_passes_when_running_without_dcqcn_on_purpose(lint_case) -> None:
    assert lint_case(replace=ECN_OFF, hosts="dcqcn:\n  classes: [kvcache]") == []


# ---------------------------------------------------------------- L305 DCQCN where no queue marks


def test_l305_dcqcn_on_a_class_that_never_marks(lint_case) -> None:
    assert lint_case(hosts="dcqcn:\n  classes: [allreduce, alltoall, kvcache]") == [
        "intent.yml:87:26: error[L305]: DCQCN is enabled on the NICs for class 'alltoall' (priority 4), but its queue "
        "4 never marks ECN on network compute's switches: the NICs never get a CNP for it (at hosts.dcqcn.classes.1)\n"
        "    hint: remove 'alltoall' from hosts.dcqcn.classes, or turn ECN on for the class"]


def test_l305_passes_with_ecn_classes_only(lint_case) -> None:
    assert lint_case(hosts="dcqcn:\n  classes: [allreduce, kvcache]") == []


# ---------------------------------------------------------------- L306 MTU


def test_l306_nic_mtu_above_leaf(lint_case) -> None:
    assert lint_case(hosts="networks:\n  compute:\n    mtu: 9000") == [
        "intent.yml:88:12: error[L306]: the NIC MTU 9000 is above the MTU 4200 of network compute's leaf host ports: "
        "the leaves drop every packet longer than 4200 bytes (at hosts.networks.compute.mtu)\n"
        "    hint: drop the NIC mtu to inherit the leaf's (fabric.host_mtu), or raise fabric.host_mtu to it"]


def test_l306_nic_mtu_below_leaf_warns(lint_case) -> None:
    assert lint_case(hosts="nic:\n  mtu: 1500") == [
        f"intent.yml:87:10: warning[L306]: the NIC MTU 1500 is below the MTU 4200 of network {net}'s leaf host ports: "
        "RoCE runs with a smaller path MTU than the fabric carries (at hosts.nic.mtu)\n"
        "    hint: set fabric.host_mtu to the NIC MTU, or drop the NIC mtu" for net in ("compute", "kvcache")]


def test_l306_passes_with_the_leaf_mtu(lint_case) -> None:
    assert lint_case(hosts="nic:\n  mtu: 4200") == []


# ---------------------------------------------------------------- L307 KV-cache leaking onto compute


def test_l307_kvcache_dscp_is_a_collective_class_on_compute(lint_case) -> None:
    assert lint_case(replace={"dscp: [10]": "dscp: [34]"}) == [
        "intent.yml:70:9: error[L307]: the KV-cache DSCP 34 (class 'kvcache' of network kvcache) is class 'alltoall' "
        "on network compute's switches: KV transfers that reach the compute fabric would share queue 4 with "
        "NVSHMEM_IB_TRAFFIC_CLASS (at networks.kvcache.qos.classes.kvcache)\n"
        "    hint: give KV-cache traffic a DSCP that the compute network leaves in its default class"]


def test_l307_kvcache_pointed_at_the_compute_network(lint_case) -> None:
    assert lint_case(hosts="kvcache:\n  network: compute") == [
        "intent.yml:87:14: error[L307]: KV-cache transfers are set to run on network compute (compute), but they have "
        "their own network kvcache (at hosts.kvcache.network)\n"
        "    hint: drop hosts.kvcache.network, or name the kvcache network"]


def test_l307_kvcache_class_on_the_compute_network(lint_case) -> None:
    # `scheduler: 20%` of the compute default class becomes a one-line flow mapping plus a kvcache class.
    replace = {"          scheduler: 20%\n": "          scheduler: 20%\n        kv: {kind: kvcache, dscp: [12], tc: 2, scheduler: strict}\n"}
    assert lint_case(replace=replace) == [
        "intent.yml:52:13: error[L307]: network compute (compute) has a KV-cache class 'kv', but KV-cache traffic has "
        "its own network kvcache (at networks.compute.qos.classes.kv)\n"
        "    hint: remove the class: KV transfers belong on the KV-cache network"]


def test_l307_passes_when_kvcache_stays_in_the_compute_default_class(lint_case) -> None:
    assert lint_case(hosts="kvcache:\n  network: kvcache\n  traffic_class: kvcache") == []


# ---------------------------------------------------------------- L308 NIC priority ≠ switch TC


def test_l308_nic_dscp_priority_differs(lint_case) -> None:
    assert lint_case(hosts="nic:\n  dscp_to_priority: {34: 3}") == [
        "intent.yml:87:28: error[L308]: the NICs put DSCP 34 (NVSHMEM_IB_TRAFFIC_CLASS) in priority 3, network "
        "compute's switches in TC 4: PFC pauses and ETS act on another queue than the switches expect "
        "(at hosts.nic.dscp_to_priority.34)\n"
        "    hint: drop the dscp_to_priority entry to inherit the switches' map"]


def test_l308_cnp_priority_differs(lint_case) -> None:
    assert lint_case(hosts="cnp:\n  priority: 5") == [
        f"intent.yml:87:15: error[L308]: CNPs leave the NICs in priority 5, but network {net}'s switches put their "
        "DSCP 48 in TC 6 (at hosts.cnp.priority)\n"
        "    hint: drop hosts.cnp.priority to inherit the cnp class's TC" for net in ("compute", "kvcache")]


def test_l308_passes_with_the_switch_map(lint_case) -> None:
    assert lint_case(hosts="nic:\n  dscp_to_priority: {34: 4, 26: 3, 5: 1}") == []


# ---------------------------------------------------------------- scope


def test_no_hosts_no_lint(tmp_path) -> None:
    path = write_intent(tmp_path)
    path.write_text(path.read_text().replace("hosts_per_group: 2", "hosts_per_group: 0"))
    loaded = load_intent(path)
    fabric = design(loaded, strict=False)
    assert not fabric.hosts()
    assert lint(loaded, fabric, DiagnosticLog()) is None


@pytest.mark.parametrize("inventory", ["lab.yml", "pd-inference.yml", "xl.yml"])
def test_shipped_inventories_are_consistent(inventory) -> None:
    assert lint_messages(INVENTORIES / inventory) == []
