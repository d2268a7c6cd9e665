"""Validate rendered configs against the vendors' own published models, offline.

hpnctl never ships those models (they are other projects' files and differ per
release): the user points at the models of the release they run, and
`find_models` looks in the usual places.  Every validator returns a list of
`Finding`s and raises `ModelValidationError` only when it cannot validate at all
(no yanglint, no models, unreadable input).

Public API::

    Finding, find_models
    validate_config_db, validate_config_dbs, configdb_to_yang   (SONiC CONFIG_DB)
    validate_srlinux, validate_srlinux_many                     (SR Linux JSON)
    validate_clab_topology                                      (containerlab clab.yml)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hpnctl.errors import ModelValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]

# kind -> (environment variable, path under ../shared/oracles, how to get it)
_MODEL_SOURCES: dict[str, tuple[str, str, str]] = {
    "sonic": (
        "HPNCTL_SONIC_MODELS",
        "sonic-yang",
        "copy src/sonic-yang-models/yang-models/*.yang of your SONiC release from "
        "sonic-net/sonic-buildimage and render yang-templates/sonic-types.yang.j2 and "
        "sonic-extension.yang.j2 into the same folder",
    ),
    "srlinux": (
        "HPNCTL_SRLINUX_MODELS",
        "srlinux-yang",
        "git clone -b v<release> https://github.com/nokia/srlinux-yang-models",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One place where a config does not satisfy a model.

    `path` names the spot in the user's terms: a CONFIG_DB JSON pointer for SONiC
    (`/QUEUE/Ethernet0|3/wred_profile`), the libyang data path for SR Linux, a
    dotted path for containerlab (`topology.nodes.leaf1.kind`).
    """

    device: str
    file: str
    path: str
    message: str
    severity: str = "error"  # "warning" for things the model cannot judge
    line: int | None = None

    def format(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else (f"{self.file}: " if self.file else "")
        who = f"[{self.device}] " if self.device else ""
        at = f" (at {self.path})" if self.path else ""
        return f"{where}{self.severity}: {who}{self.message}{at}"


def find_models(kind: str, explicit: Path | None = None) -> Path:
    """Locate the models folder for `kind` ("sonic" or "srlinux").

    Order: the explicit folder, then $HPNCTL_SONIC_MODELS / $HPNCTL_SRLINUX_MODELS,
    then ../shared/oracles/<kind> next to the repository (the test oracles).
    """
    if kind not in _MODEL_SOURCES:
        raise ModelValidationError(f"unknown model kind {kind!r} (known: {', '.join(_MODEL_SOURCES)})")
    env_name, oracle_dir, how = _MODEL_SOURCES[kind]
    candidates: list[tuple[str, Path]] = []
    if explicit is not None:
        candidates.append(("given", Path(explicit)))
    if os.environ.get(env_name):
        candidates.append((f"${env_name}", Path(os.environ[env_name])))
    candidates.append(("default", REPO_ROOT.parent / "shared" / "oracles" / oracle_dir))
    for _, path in candidates:
        if path.is_dir() and any(path.rglob("*.yang")):
            return path
        if explicit is not None:
            # An explicit folder that is wrong must not silently fall back to another release.
            break
    looked = "; ".join(f"{label}: {path}" for label, path in candidates)
    raise ModelValidationError(
        f"no {kind} YANG models found (looked at {looked}). "
        f"Point hpnctl at your release's models with ${env_name} or an explicit folder; to get them: {how}"
    )


# Re-exported last: the submodules import Finding from this package.
from hpnctl.validate_models.clab_schema import validate_clab_topology  # noqa: E402
from hpnctl.validate_models.sonic_yang import (  # noqa: E402
    configdb_to_yang,
    validate_config_db,
    validate_config_dbs,
)
from hpnctl.validate_models.srlinux_yang import validate_srlinux, validate_srlinux_many  # noqa: E402

__all__ = [
    "Finding",
    "find_models",
    "configdb_to_yang",
    "validate_config_db",
    "validate_config_dbs",
    "validate_srlinux",
    "validate_srlinux_many",
    "validate_clab_topology",
]
