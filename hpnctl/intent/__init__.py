"""Loading an intent: YAML with positions → pydantic models → every schema problem as a Diagnostic."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from hpnctl.diagnostics import Diagnostic
from hpnctl.errors import IntentError
from hpnctl.intent.schema import Intent
from hpnctl.intent.yaml_positions import PositionMap, dotted_path, load_yaml_with_positions

__all__ = ["LoadedIntent", "load_intent", "parse_intent"]


@dataclass
class LoadedIntent:
    intent: Intent
    positions: PositionMap
    source: Path

    def where(self, *path: str | int):
        """Position of a data path (for semantic diagnostics)."""
        return self.positions.lookup(tuple(path))


def load_intent(path: Path | str) -> LoadedIntent:
    """Read and schema-check an intent file; raises IntentError with every problem found."""
    data, positions = load_yaml_with_positions(path)
    return parse_intent(data, positions, Path(path))


def parse_intent(data: Any, positions: PositionMap, source: Path) -> LoadedIntent:
    if not isinstance(data, dict):
        raise IntentError([Diagnostic("error", "E010", "the intent must be a mapping (fabric:, networks:, …)",
                                      position=positions.lookup(()))])
    try:
        intent = Intent.model_validate(data)
    except ValidationError as exc:
        raise IntentError([_to_diagnostic(err, positions) for err in exc.errors()]) from None
    return LoadedIntent(intent, positions, source)


def _to_diagnostic(err: dict, positions: PositionMap) -> Diagnostic:
    loc = _clean_loc(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = _fields_at(Intent, loc[:-1])
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else (f"allowed keys: {', '.join(allowed)}" if allowed else "")
        if str(key).lower() in ("password", "secret", "token", "private_key"):
            hint = "secrets never go into an intent: name an environment variable with password_env / key_file_env"
        return Diagnostic("error", "E100", f"unknown key '{key}'", path=dotted_path(loc),
                          position=positions.lookup(loc, prefer_key=True), hint=hint)
    if kind == "missing":
        return Diagnostic("error", "E101", f"missing required key '{loc[-1]}'", path=dotted_path(loc),
                          position=positions.lookup(loc[:-1]))
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    hint = ""
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        close = difflib.get_close_matches(str(err.get("input")), [e.strip(" '") for e in expected.replace(" or ", ",").split(",")], n=1)
        hint = f"did you mean '{close[0]}'?" if close else ""
    got = err.get("input")
    # A whole mapping (a model-level check such as "pods > 1 needs super_spines") is not worth quoting.
    text = msg if isinstance(got, dict) else f"{msg} (got {_short(got)})"
    return Diagnostic("error", "E102", text, path=dotted_path(loc),
                      position=positions.lookup(loc), hint=hint)


def _clean_loc(loc: tuple) -> tuple:
    """Drop pydantic's internal segments (union branch names, function-before tags)."""
    out = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        out.append(part)
    return tuple(out)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model found at data path `loc` (for "did you mean")."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, list):
            args = get_args(current)
            current = args[-1] if args else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Annotated[X, …] → X; Optional[X] → X."""
    while True:
        origin = get_origin(tp)
        if origin is None:
            return tp
        args = [a for a in get_args(tp) if a is not type(None)]
        if origin in (dict, list):
            return tp
        if getattr(origin, "__name__", "") == "Annotated" or str(origin).endswith("Annotated"):
            tp = args[0]
            continue
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            return models[0]
        return tp
