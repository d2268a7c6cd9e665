"""Where hpnctl keeps state (lab state, backups, locks) and finds its packaged data."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def state_dir() -> Path:
    """Root of hpnctl's state: $HPNCTL_STATE_DIR, else $XDG_STATE_HOME/hpnctl, else ~/.local/state/hpnctl."""
    env = os.environ.get("HPNCTL_STATE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "hpnctl"


def default_templates_dir() -> Path:
    """The templates shipped with hpnctl (repo: ./templates, wheel: hpnctl/templates)."""
    installed = PACKAGE_DIR / "templates"
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / "templates"


def platforms_dir() -> Path:
    return PACKAGE_DIR / "platforms"
