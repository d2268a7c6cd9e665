"""Platform differences as data: one YAML file per switch OS plus the ASIC table.

A feature a platform lacks carries the reason the user sees ("unsupported: …").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from hpnctl.errors import PlatformError

_DIR = Path(__file__).resolve().parent
FEATURES = ("bgp", "bfd", "ecmp-hash", "scheduler", "buffers", "ecn", "pfc", "pfc-watchdog", "adaptive-routing")


@dataclass(frozen=True)
class FeatureSupport:
    supported: bool
    reason: str = ""


@dataclass(frozen=True)
class Asic:
    name: str
    description: str
    buffer_bytes: int
    queues: int
    lossless_max: int
    cell_bytes: int
    pipeline_latency_bytes: int
    mac_phy_delay_bytes: int
    source: str


@dataclass(frozen=True)
class Platform:
    name: str
    description: str
    default_asic: str
    files: tuple[str, ...]
    interface_name: str
    breakout_name: str
    lanes_per_port: int
    mgmt_interface: str
    features: dict[str, FeatureSupport]
    hash_fields_supported: tuple[str, ...]
    clab: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def supports(self, feature: str) -> FeatureSupport:
        return self.features.get(feature, FeatureSupport(False, f"{self.name}: feature {feature} is not described"))

    def port_name(self, port: int, sub: int = 1, breakout: int = 1) -> str:
        """Interface name of physical port `port` (1-based), lane group `sub` (1-based) of `breakout`."""
        lanes_each = max(self.lanes_per_port // breakout, 1)
        lane0 = (port - 1) * self.lanes_per_port + (sub - 1) * lanes_each
        pattern = self.interface_name if breakout == 1 else self.breakout_name
        return pattern.format(port=port, sub=sub, sub0=sub - 1, lane=lane0, lane1=(sub - 1) * lanes_each + 1)


def _feature(value: object, platform: str, name: str) -> FeatureSupport:
    if value is True:
        return FeatureSupport(True)
    if isinstance(value, dict) and value.get("supported") is False and value.get("reason"):
        return FeatureSupport(False, str(value["reason"]).strip())
    raise PlatformError(f"platforms/{platform}.yml: feature {name} must be true or {{supported: false, reason: …}}")


@lru_cache(maxsize=None)
def get_platform(name: str) -> Platform:
    path = _DIR / f"{name}.yml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in _DIR.glob("*.yml") if p.stem != "asics"))
        raise PlatformError(f"unknown platform {name!r} (known: {known})")
    raw = yaml.safe_load(path.read_text())
    feats = {k: _feature(v, name, k) for k, v in raw.pop("features").items()}
    known = {f for f in Platform.__dataclass_fields__}
    extra = {k: raw.pop(k) for k in list(raw) if k not in known}
    return Platform(
        features=feats,
        files=tuple(raw.pop("files")),
        hash_fields_supported=tuple(raw.pop("hash_fields_supported", ())),
        extra=extra,
        **raw,
    )


@lru_cache(maxsize=None)
def asic_table() -> dict[str, Asic]:
    raw = yaml.safe_load((_DIR / "asics.yml").read_text())
    return {name: Asic(name=name, **{k: (v.strip() if isinstance(v, str) else v) for k, v in spec.items()}) for name, spec in raw.items()}


def get_asic(name: str) -> Asic:
    table = asic_table()
    if name not in table:
        raise PlatformError(f"unknown ASIC {name!r} (known: {', '.join(sorted(table))})")
    return table[name]


def known_platforms() -> list[str]:
    return sorted(p.stem for p in _DIR.glob("*.yml") if p.stem != "asics")
