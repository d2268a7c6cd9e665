"""Everything decided before any device is contacted: intent → fabric → selection → rendered files → targets.

`prepare()` raises (IntentError, RenderError, PlatformError, ConnectError from the
preflight) before a single connection is opened: a bad intent never reaches a device.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpnctl.changes.targets import build_targets, lab_access, preflight
from hpnctl.design import Fabric
from hpnctl.drivers.base import DeviceTarget
from hpnctl.errors import HpnctlError
from hpnctl.intent import LoadedIntent
from hpnctl.model import DeviceModel, build_device_model
from hpnctl.render import render_device, select_devices

ROLE_ORDER = {"leaf": 0, "spine": 1, "super-spine": 2}


@dataclass
class Plan:
    loaded: LoadedIntent
    fabric: Fabric
    names: list[str]  # rollout order: leaves, spines, super-spines (canaries come from the front)
    models: dict[str, DeviceModel]
    rendered: dict[str, dict[str, str]]
    targets: dict[str, DeviceTarget]
    lab: dict[str, Any] | None


def _natural(name: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def order_devices(fabric: Fabric, names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (ROLE_ORDER.get(fabric.devices[n].role, 9), _natural(n)))


def prepare(intent_path: Path, limit: str | None, lab: bool, *, loaded_fabric: tuple | None = None,
            templates_dir: Path | None = None, need_targets: bool = True, render: bool = True) -> Plan:
    """Load, design, select, render and build targets; nothing touches a device.

    render=False leaves models/rendered empty for callers that render through
    render_fabric's process pool themselves (an offline diff of a whole fabric).
    """
    if loaded_fabric is None:
        from hpnctl.cli import load_and_design

        loaded, fabric = load_and_design(intent_path)
    else:
        loaded, fabric = loaded_fabric
    names = select_devices(fabric, limit)
    if not names:
        raise HpnctlError(f"--limit {limit!r} matches no device" if limit else "the fabric has no switch")
    names = order_devices(fabric, names)
    models = {n: build_device_model(loaded, fabric, fabric.devices[n]) for n in names} if render else {}
    rendered = {n: render_device(models[n], templates_dir) for n in names} if render else {}
    access = lab_access(fabric.name) if lab and need_targets else None
    targets = build_targets(loaded, fabric, names, lab=access) if need_targets else {}
    if need_targets:
        preflight(targets)
    return Plan(loaded, fabric, names, models, rendered, targets, access)
