"""The hosts: schema: unknown keys, units, patterns — errors with positions like the rest of the intent."""
from __future__ import annotations

import pytest
from hosts_helpers import write_intent

from hpnctl.errors import IntentError
from hpnctl.intent import load_intent
from hpnctl.intent.hosts_schema import DcqcnProfile, HostSettings


def _errors(tmp_path, hosts: str) -> list[str]:
    path = write_intent(tmp_path, hosts=hosts)
    with pytest.raises(IntentError) as exc:
        load_intent(path)
    return [d.format().replace(str(path), "intent.yml") for d in exc.value.diagnostics]


def test_defaults_need_no_hosts_key() -> None:
    hs = HostSettings()
    assert hs.nic.model == "connectx-7" and hs.nic.netdev == "eth{port}" and hs.collectives.qps_per_connection == 4
    assert hs.dcqcn.enabled and hs.dcqcn.classes is None and hs.cnp.dscp is None


def test_unknown_key_has_did_you_mean(tmp_path) -> None:
    assert _errors(tmp_path, "collectives:\n  ncl: allreduce") == [
        "intent.yml:87:5: error[E100]: unknown key 'ncl' (at hosts.collectives.ncl)\n    hint: did you mean 'nccl'?"]


def test_dcqcn_times_are_whole_microseconds(tmp_path) -> None:
    assert _errors(tmp_path, "dcqcn:\n  profiles:\n    p: {rpg_time_reset: 4.5us}") == [
        "intent.yml:88:27: error[E102]: '4.5us': the NIC takes whole microseconds (got '4.5us') "
        "(at hosts.dcqcn.profiles.p.rpg_time_reset)"]


def test_units() -> None:
    prof = DcqcnProfile(rpg_time_reset="0.1ms", rpg_ai_rate="1G", rpg_hai_rate=50, min_time_between_cnps=2)
    assert (prof.rpg_time_reset, prof.rpg_ai_rate, prof.rpg_hai_rate, prof.min_time_between_cnps) == (100, 1000, 50, 2)


def test_a_profile_cannot_be_its_own_base(tmp_path) -> None:
    assert _errors(tmp_path, "dcqcn:\n  profiles:\n    p: {base: p}") == [
        "intent.yml:87:5: error[E102]: DCQCN profile 'p' cannot be its own base (at hosts.dcqcn.profiles)"]


def test_name_patterns_only_know_port_index_network(tmp_path) -> None:
    assert _errors(tmp_path, "nic:\n  netdev: 'ens{slot}'") == [
        "intent.yml:87:13: error[E102]: 'ens{slot}': only the fields {port}, {index} and {network} exist "
        "(got 'ens{slot}') (at hosts.nic.netdev)"]


def test_kvcache_routes_are_prefixes(tmp_path) -> None:
    assert _errors(tmp_path, "kvcache:\n  routes: [10.20.0.0/33]") == [
        "intent.yml:87:13: error[E102]: '10.20.0.0/33' is not an IPv4 prefix such as 10.20.0.0/16 "
        "(got ['10.20.0.0/33']) (at hosts.kvcache.routes)"]
