"""Golden files of the host end on the PD-inference example (inventories/pd-inference.yml).

tests/golden/hosts-pd/<host>/<file> is exactly what `hpnctl render inventories/pd-inference.yml --hosts`
writes for that host: gpu1 (leaf group 1) and gpu5 (leaf group 2), each on the compute network (8 NICs)
and the KV-cache network (1 NIC).  `pytest --update-golden` rewrites them (read the diff first).
"""
from __future__ import annotations

import pytest
from hosts_helpers import INVENTORIES, TESTS, shared_conftest

from hpnctl.design import design
from hpnctl.hosts.design import plan_hosts
from hpnctl.hosts.model import build_host_model
from hpnctl.hosts.render import FILES, render_host
from hpnctl.intent import load_intent

GOLDEN = TESTS / "golden" / "hosts-pd"
HOSTS = ["gpu1", "gpu5"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    loaded = load_intent(INVENTORIES / "pd-inference.yml")
    fabric = design(loaded)
    plan = plan_hosts(loaded, fabric)
    return {h: render_host(build_host_model(loaded, fabric, plan, fabric.devices[h])) for h in HOSTS}


def test_every_pd_host_gets_all_six_files(rendered) -> None:
    for host in HOSTS:
        assert sorted(rendered[host]) == sorted(FILES)


@pytest.mark.parametrize("host,name", [(h, f) for h in HOSTS for f in FILES])
def test_golden(rendered, host: str, name: str, update_golden: bool) -> None:
    shared_conftest().assert_golden(rendered[host][name], GOLDEN / host / name, update_golden)
