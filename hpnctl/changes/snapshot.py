"""`hpnctl snapshot`: the running configs of the devices, in the layout `render` writes (DIR/<device>/<file>).

A snapshot is what `hpnctl diff --against DIR` compares with, and what a CI job
commits next to the intent.  manifest.json has the same shape as render's, plus
`snapshot: true`, the time taken and the devices that could not be read.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable

from hpnctl.drivers.base import DeviceTarget, Driver
from hpnctl.drivers.ssh import scrub, target_secrets
from hpnctl.errors import HpnctlError


def snapshot_one(target: DeviceTarget, out_dir: Path, factory: Callable[[DeviceTarget], Driver]) -> dict[str, Any]:
    """{"files": {name: sha256}} or {"error": text}; never raises."""
    driver = None
    secrets = target_secrets(target)  # env lookups only: cannot fail
    try:
        driver = factory(target)
        driver.open()
        files = driver.get_running()
        base = out_dir / target.hostname
        base.mkdir(parents=True, exist_ok=True)
        for stale in base.iterdir():
            if stale.is_file() and stale.name not in files:
                stale.unlink()
        hashes = {}
        for name, text in files.items():
            data = text.encode()
            (base / name).write_bytes(data)
            hashes[name] = hashlib.sha256(data).hexdigest()
        return {"files": hashes}
    except HpnctlError as exc:
        return {"error": scrub(str(exc), secrets)}
    except Exception as exc:  # noqa: BLE001
        return {"error": scrub(f"{type(exc).__name__}: {exc}", secrets)}
    finally:
        if driver is not None:
            try:
                driver.close()
            except Exception:  # noqa: BLE001
                pass


def write_manifest(out_dir: Path, fabric: Any, intent: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    manifest = {
        "fabric": fabric.name,
        "intent": intent,
        "snapshot": True,
        "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "devices": [
            {"device": n, "role": fabric.devices[n].role, "platform": fabric.devices[n].platform,
             "network": fabric.devices[n].network,
             "files": [{"name": f, "sha256": h} for f, h in sorted(r["files"].items())]}
            for n, r in sorted(results.items()) if "files" in r
        ],
        "errors": {n: r["error"] for n, r in sorted(results.items()) if "error" in r},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
