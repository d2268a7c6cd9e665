"""Load YAML into plain Python data while remembering where every node came from.

PyYAML's composer gives each node a start mark; we walk the node tree once and
record the position of every mapping key and value under its data path, so that
schema and semantic errors can name `file:line:col`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hpnctl.diagnostics import Diagnostic, Position
from hpnctl.errors import IntentError

try:  # the C loader is several times faster on large intents
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

PathKey = tuple[str | int, ...]


# An intent of the XL fabric has a few hundred nodes; aliases that expand past this
# are a "billion laughs" document, not a fabric.
MAX_NODES = 1_000_000


class PositionMap:
    """Data path → position of that node (keys point at the key, values at the value)."""

    def __init__(self, file: str):
        self.file = file
        self.constructed = 0
        self.values: dict[PathKey, Position] = {}
        self.keys: dict[PathKey, Position] = {}

    def lookup(self, path: PathKey, prefer_key: bool = False) -> Position | None:
        """Position of the deepest known ancestor of `path` (a missing field points at its parent)."""
        p = tuple(path)
        while True:
            if prefer_key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if not p:
                return None
            p = p[:-1]


def _pos(file: str, node: yaml.Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _construct(node: yaml.Node, path: PathKey, pm: PositionMap, loader: yaml.SafeLoader,
               active: frozenset = frozenset()) -> Any:
    pm.constructed += 1
    if pm.constructed > MAX_NODES:
        raise IntentError([Diagnostic("error", "E006", f"YAML aliases expand to more than {MAX_NODES:,} nodes",
                                      position=_pos(pm.file, node), path=_dotted(path),
                                      hint="an alias nested in aliases multiplies the document; write the values out")])
    if isinstance(node, yaml.CollectionNode):
        # `&a [*a]` is a legal YAML graph but no intent: walking it never ended (RecursionError).
        if id(node) in active:
            raise IntentError([Diagnostic("error", "E005", "a YAML alias refers to a collection that contains it",
                                          position=pm.keys.get(path) or _pos(pm.file, node), path=_dotted(path),
                                          hint="an intent is a tree: copy the values instead of nesting the anchor in itself")])
        active = active | {id(node)}
    if isinstance(node, yaml.CollectionNode) and not node.flow_style and path in pm.keys:
        # A block mapping/list starts at its first child's line: a diagnostic about the whole
        # collection (a class, a missing key) belongs on the line of its key, `alltoall:`.
        pm.values[path] = pm.keys[path]
    else:
        pm.values[path] = _pos(pm.file, node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (dict, list)):
                raise IntentError([Diagnostic("error", "E001", "a mapping key must be a scalar", position=_pos(pm.file, key_node))])
            if key in out:
                raise IntentError(
                    [Diagnostic("error", "E002", f"duplicate key {key!r}", position=_pos(pm.file, key_node),
                                path=_dotted(path + (key,)), hint="YAML keeps only the last one; remove one of them")]
                )
            pm.keys[path + (key,)] = _pos(pm.file, key_node)
            out[key] = _construct(value_node, path + (key,), pm, loader, active)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, path + (i,), pm, loader, active) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted_path = _dotted


def load_yaml_with_positions(path: Path | str, text: str | None = None) -> tuple[Any, PositionMap]:
    """Parse one YAML file; a syntax error becomes an IntentError with its position."""
    path = Path(path)
    name = str(path)
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise IntentError([Diagnostic("error", "E000", f"cannot read intent: {exc.strerror}", position=Position(name, 1, 1))]) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:  # a ValueError, not an OSError: it used to escape as a traceback
            raise IntentError([Diagnostic("error", "E000", f"cannot read intent: not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                                          position=_offset_position(name, raw, exc.start))]) from None
    pm = PositionMap(name)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise IntentError([Diagnostic("error", "E003", "the intent file is empty", position=Position(name, 1, 1))])
        data = _construct(node, (), pm, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(name, mark.line + 1, mark.column + 1) if mark else Position(name, 1, 1)
        text = exc.problem or exc.context
        if exc.problem and exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            # An unclosed '[' is only noticed lines later: say where the construct began.
            text += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise IntentError([Diagnostic("error", "E004", f"YAML syntax: {text}", position=pos)]) from None
    except yaml.reader.ReaderError as exc:  # a control character: not a MarkedYAMLError, it used to escape as a traceback
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise IntentError([Diagnostic("error", "E004", f"YAML syntax: unacceptable character {char}: {exc.reason}",
                                      position=_offset_position(name, text, exc.position))]) from None
    finally:
        loader.dispose()
    return data, pm


def _offset_position(name: str, text: str | bytes, offset: int) -> Position:
    """1-based line and column of a character offset."""
    nl = "\n" if isinstance(text, str) else b"\n"
    return Position(name, text.count(nl, 0, offset) + 1, offset - text.rfind(nl, 0, offset))
