"""Validate a containerlab topology (clab.yml) against containerlab's JSON schema.

The schema is containerlab's own file (schemas/clab.schema.json in
srl-labs/containerlab); hpnctl does not ship a copy.  It is draft-07, so a node
`kind` must be one of its long names: `nokia_srlinux`, `arista_ceos`, `sonic-vs`,
`nvidia_cumulusvx`, `linux`, … — the short aliases containerlab itself also
accepts (`srl`, `ceos`) are not in the schema's enum and are reported.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models import REPO_ROOT, Finding

_ENV = "HPNCTL_CLAB_SCHEMA"
_SCHEMA_URL = "https://raw.githubusercontent.com/srl-labs/containerlab/main/schemas/clab.schema.json"


def find_clab_schema(explicit: Path | None = None) -> Path:
    """The schema file: explicit, then $HPNCTL_CLAB_SCHEMA, then ../shared/oracles next to the repo."""
    candidates = [("given", Path(explicit))] if explicit is not None else []
    if os.environ.get(_ENV):
        candidates.append((f"${_ENV}", Path(os.environ[_ENV])))
    candidates.append(("default", REPO_ROOT.parent / "shared" / "oracles" / "containerlab" / "clab.schema.json"))
    for _, path in candidates:
        if path.is_file():
            return path
        if explicit is not None:
            break  # a wrong explicit file must not silently become another one
    looked = "; ".join(f"{label}: {path}" for label, path in candidates)
    raise ModelValidationError(
        f"containerlab schema not found (looked at {looked}). Download the one matching your "
        f"containerlab release (e.g. curl -LO {_SCHEMA_URL}) and set ${_ENV} to it"
    )


def _load(topology: Mapping[str, Any] | Path | str) -> tuple[Any, str]:
    if not isinstance(topology, (str, Path)):
        return topology, ""
    path = Path(topology)
    try:
        return yaml.safe_load(path.read_text()), str(path)
    except OSError as exc:
        raise ModelValidationError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ModelValidationError(f"{path}: not valid YAML: {exc}") from exc


def _validator(schema_path: Path) -> jsonschema.protocols.Validator:
    try:
        schema = json.loads(schema_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelValidationError(f"cannot read the containerlab schema {schema_path}: {exc}") from exc
    cls = jsonschema.validators.validator_for(schema)  # draft-07 per its $schema
    return cls(_python_patterns(schema))


# ECMA-262 Unicode property escapes the schema uses, in Python `re` terms.
_UNICODE_CLASSES = (("[\\p{N}\\p{L}]", "[^\\W_]"), ("\\p{N}", "\\d"), ("\\p{L}", "[^\\W\\d_]"))


def _python_patterns(node: Any) -> Any:
    """containerlab's schema writes `[\\p{N}\\p{L}]` (ECMA regex); Python's re has no \\p, so translate it."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                for ecma, python in _UNICODE_CLASSES:
                    value = value.replace(ecma.replace("\\\\", "\\"), python.replace("\\\\", "\\"))
            out[key] = _python_patterns(value) if key != "pattern" else value
        return out
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


def dotted(path: Iterable[Any]) -> str:
    """['topology', 'links', 0, 'endpoints'] -> 'topology.links[0].endpoints'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _deepest(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf failures, the sub-error that explains the most.

    A node is `null` or a node-config; "is not of type 'null'" says nothing, so
    that branch is skipped and the deepest remaining error wins.
    """
    while error.context:
        useful = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if not useful:
            break
        deepest = max(len(e.absolute_path) for e in useful)
        error = best_match([e for e in useful if len(e.absolute_path) == deepest])
    return error


def validate_clab_topology(
    topology: Mapping[str, Any] | Path, schema: Path | None = None, *, device: str = ""
) -> list[Finding]:
    """Validate a clab topology (dict or YAML file); findings name the node/link path."""
    data, file = _load(topology)
    validator = _validator(find_clab_schema(schema))
    who = device or (str(data.get("name", "")) if isinstance(data, dict) else "")
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [Finding(who, file, dotted(c.absolute_path), _message(c)) for c in map(_deepest, errors)]


def _message(error: ValidationError) -> str:
    """jsonschema's text, without dumping a 60-item enum into the report."""
    if error.validator == "enum" and len(error.validator_value) > 8:
        shown = ", ".join(map(str, error.validator_value[:8]))
        return f"{error.instance!r} is not one of the {len(error.validator_value)} allowed values ({shown}, …)"
    return error.message
