"""Diffs for CLI-configured platforms: hier-config remediation plus a unified diff.

The remediation lines are what a CLI push would have to send to turn the
running config into the candidate (negations included); the unified diff is
for humans reviewing a change.  For EOS and FRR the device (config session
diff, frr-reload.py) remains the authority on what actually changes; these
are computed locally so that a diff needs no device round-trip.
"""
from __future__ import annotations

import difflib
import re

from hier_config import HConfig, Platform, WorkflowRemediation, get_hconfig

from hpnctl.errors import PlatformError

# hpnctl platform (or config dialect) → hier-config driver.  FRR's vtysh
# syntax is IOS-like (indented sections, `no` negation); CISCO_IOS handles it,
# GENERIC trips over FRR's repeated `!` separators.
_HIER_PLATFORMS: dict[str, Platform] = {
    "eos": Platform.ARISTA_EOS,
    "frr": Platform.CISCO_IOS,
    "sonic": Platform.CISCO_IOS,  # the frr.conf half of a SONiC device
    "linux": Platform.CISCO_IOS,  # FRR on plain Linux
}

# Lines a device prints that carry no configuration meaning: EOS/FRR headers
# and comments, `!` separators, vtysh's banner, `end`.
_NOISE = re.compile(r"^\s*(!.*|end|Building configuration\.\.\.|Current configuration:.*)$")


def _hier_platform(platform: str) -> Platform:
    try:
        return _HIER_PLATFORMS[platform]
    except KeyError:
        raise PlatformError(
            f"no CLI diff for platform {platform!r} (known: {', '.join(sorted(_HIER_PLATFORMS))})"
        ) from None


def normalize(text: str) -> list[str]:
    """Config lines without trailing blanks, comments, separators or banners."""
    lines = (line.rstrip() for line in text.splitlines())
    return [line for line in lines if line and not _NOISE.match(line)]


def remediation_lines(platform: str, running: str, candidate: str) -> list[str]:
    """CLI lines (indented by section) that turn running into candidate."""
    hier = _hier_platform(platform)
    remediation: HConfig = WorkflowRemediation(
        get_hconfig(hier, "\n".join(normalize(running))),
        get_hconfig(hier, "\n".join(normalize(candidate))),
    ).remediation_config
    return [child.cisco_style_text() for child in remediation.all_children_sorted()]


def unified_diff(running: str, candidate: str, name: str = "config") -> str:
    """Unified diff of the normalized texts; empty when they carry the same lines."""
    diff = difflib.unified_diff(
        normalize(running),
        normalize(candidate),
        fromfile=f"running/{name}",
        tofile=f"candidate/{name}",
        lineterm="",
    )
    return "\n".join(diff)


def cli_diff(platform: str, running: str, candidate: str) -> tuple[list[str], str]:
    """(remediation lines, unified diff) between a running and a candidate CLI config."""
    return remediation_lines(platform, running, candidate), unified_diff(running, candidate)
