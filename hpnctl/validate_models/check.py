"""Check a rendered tree against the vendors' published models (`render --check`, `validate --models`).

Each platform with a published model maps to (file it renders, validator).  Files
are validated in one batch per platform, so yanglint's start-up is paid once.
"""
from __future__ import annotations

from pathlib import Path

from hpnctl.validate_models import Finding, find_models, validate_config_dbs, validate_srlinux_many

# platform → (rendered file, model kind for find_models)
MODEL_CHECKED = {"sonic": ("config_db.json", "sonic"), "srlinux": ("config.json", "srlinux")}


def check_rendered(out_dir: Path, manifest: dict, models: dict[str, Path | None] | None = None) -> list[Finding]:
    """Validate every model-checked file listed in a render manifest; findings name device, file and path."""
    models = models or {}
    by_platform: dict[str, dict[str, Path]] = {}
    for entry in manifest["devices"]:
        spec = MODEL_CHECKED.get(entry["platform"])
        if spec is None:
            continue
        by_platform.setdefault(entry["platform"], {})[entry["device"]] = out_dir / entry["device"] / spec[0]
    findings: list[Finding] = []
    for platform, files in sorted(by_platform.items()):
        kind = MODEL_CHECKED[platform][1]
        models_dir = find_models(kind, models.get(kind))
        if platform == "sonic":
            found = validate_config_dbs(files, models_dir)
        else:
            found = validate_srlinux_many(files, models_dir)
        findings += [_with_file(f, files) for f in found]
    return findings


def _with_file(f: Finding, files: dict[str, Path]) -> Finding:
    if f.file or f.device not in files:
        return f
    return Finding(f.device, str(files[f.device]), f.path, f.message, f.severity, f.line)


def checked_platforms() -> list[str]:
    return sorted(MODEL_CHECKED)
