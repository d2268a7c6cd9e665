"""Parsing of the units an engineer writes in an intent: 400G, 256KB, 10us, 20%.

Sizes are decimal (KB = 1000 B) unless written KiB/MiB, as switch vendors
print buffer sizes both ways; we keep whichever the user wrote.
"""
from __future__ import annotations

import math
import re

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([GMT])(?:b(?:ps|/s)?)?\s*$", re.I)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB|K|M|G)?\s*$")
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")

_SIZE_FACTOR = {None: 1, "B": 1, "K": 1000, "KB": 1000, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
                "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_TIME_US = {"ns": 0.001, "us": 1, "µs": 1, "ms": 1000, "s": 10**6}
_SPEED_MBPS = {"M": 1, "G": 1000, "T": 10**6}


def _finite(x: float, example: str) -> float:
    """inf/nan (YAML .inf, or more digits than a float holds) would crash int()/float() or poison arithmetic later."""
    try:
        ok = math.isfinite(x)
    except OverflowError:  # an int beyond float range
        ok = False
    if not ok:
        raise ValueError(f"not a finite number: write e.g. {example}")
    return x


def parse_speed_mbps(value: str | int) -> int:
    """'400G' → 400000 (Mb/s); a bare integer is taken as Gb/s."""
    if isinstance(value, bool):
        raise ValueError("expected a speed such as 400G")
    if isinstance(value, int):
        return value * 1000
    m = _SPEED.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a speed: write e.g. 100G, 400G, 800G")
    return int(_finite(float(m.group(1)) * _SPEED_MBPS[m.group(2).upper()], "400G"))


def format_speed(mbps: int) -> str:
    return f"{mbps // 1000}G" if mbps % 1000 == 0 else f"{mbps}M"


def parse_size_bytes(value: str | int | float) -> int:
    """'256KB' → 256000, '2MiB' → 2097152, 1500 → 1500."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 256KB")
    if isinstance(value, (int, float)):
        return int(_finite(value, "256KB"))
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a size: write e.g. 1500, 256KB, 4MB, 2MiB")
    return int(_finite(float(m.group(1)) * _SIZE_FACTOR[m.group(2)], "256KB"))


def parse_time_us(value: str | int | float) -> float:
    """'10us' → 10.0, '1ms' → 1000.0; a bare number is microseconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10us")
    if isinstance(value, (int, float)):
        return float(_finite(value, "10us"))
    m = _TIME.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration: write e.g. 10us, 200ms")
    return _finite(float(m.group(1)) * _TIME_US[m.group(2)], "10us")


def parse_percent(value: str | int | float) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as 20%")
    if isinstance(value, (int, float)):
        return float(_finite(value, "20%"))
    m = _PERCENT.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a percentage: write e.g. 20%")
    return _finite(float(m.group(1)), "20%")


def is_percent(value: object) -> bool:
    return isinstance(value, str) and bool(_PERCENT.match(value))


def format_bytes(n: int) -> str:
    """Short human form used in tables: 1.5MB, 256KB, 900B."""
    for unit, f in (("MB", 10**6), ("KB", 1000)):
        if n >= f:
            v = n / f
            return f"{v:.1f}{unit}".replace(".0" + unit, unit)
    return f"{n}B"
