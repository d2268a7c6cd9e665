"""hpnctl.drivers.clidiff: hier-config remediation and unified diffs for CLI configs."""
from __future__ import annotations

import pytest
from driver_fakes import Recorded

from hpnctl.drivers.clidiff import cli_diff, normalize
from hpnctl.errors import PlatformError

FRR_RUNNING = Recorded("sonic", "default").read("sudo_n_vtysh_c_show_running_config.txt")


def test_frr_remediation_negates_removed_lines_inside_their_section():
    candidate = FRR_RUNNING.replace(" neighbor 10.0.2.2 remote-as 65001\n neighbor 10.0.2.2 description spine2\n", "")
    remediation, unified = cli_diff("frr", FRR_RUNNING, candidate)
    assert remediation == [
        "router bgp 65101",
        "  no neighbor 10.0.2.2 remote-as 65001",
        "  no neighbor 10.0.2.2 description spine2",
    ]
    assert "- neighbor 10.0.2.2 remote-as 65001" in unified


def test_device_banners_and_comments_are_not_differences():
    eos_running = Recorded("eos", "diff_none").read("show_running_config.txt")
    rendered = Recorded("eos", "diff_none").read("candidate.cfg")  # no "! Command:/! device:" header
    assert cli_diff("eos", eos_running, rendered) == ([], "")
    assert "Building configuration..." not in normalize(FRR_RUNNING)


def test_unknown_platform_is_a_platform_error():
    with pytest.raises(PlatformError, match="no CLI diff for platform 'junos'"):
        cli_diff("junos", "", "")
