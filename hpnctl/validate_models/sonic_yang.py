"""SONiC CONFIG_DB → YANG JSON translation and validation with yanglint.

CONFIG_DB JSON is `{"TABLE": {"key|k2": {"field": "string"}}}`; the SONiC YANG
models want RFC 7951 JSON: `{"<module>:<module>": {"<module>:TABLE": {"TABLE_LIST":
[{"k": ..., "k2": ..., "field": ...}]}}}`.  Nothing here is written per table: the
table → module map, list names, key names and leaf types are all read from the
user's models (compiled by `yanglint -f info`, which resolves typedefs, groupings
and leafref targets), so a newer or older SONiC release works as long as it keeps
the SONiC YANG guidelines:

* each module has one top-level container named like the module, whose child
  containers are CONFIG_DB tables;
* a table holds lists (`<TABLE>_LIST` and, for some tables, more lists told apart
  by their number of keys, like `INTERFACE_IPPREFIX_LIST`), or containers
  (`DEVICE_METADATA/localhost`), or leaves;
* a CONFIG_DB key is the list keys joined with `|`;
* a "map" list (DSCP_TO_TC_MAP_LIST, …) holds one inner list of key/value pairs,
  so `{"HPN": {"26": "3"}}` becomes `[{"name": "HPN", "DSCP_TO_TC_MAP": [{"dscp":
  "26", "tc": 3}]}]`.

libyang 2 (yanglint) is strict about JSON types: int8..int32/uint8..uint32 are
JSON numbers, int64/uint64/decimal64 and strings JSON strings, booleans JSON
booleans.  (SONiC's own sonic_yang_ext parses with string-typed numbers allowed,
which plain yanglint does not.)  A leaf-list comes from a JSON list or from a
comma-joined string.

Findings point back at CONFIG_DB as a JSON pointer (RFC 6901, the form jsonpatch
uses for CONFIG_DB diffs): `/QUEUE/Ethernet0|3/wred_profile`, `/DSCP_TO_TC_MAP/HPN/26`.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models import Finding, find_models
from hpnctl.validate_models.yanglint import (
    YangMessage,
    YangSchema,
    compiled_schema,
    instances,
    split_path,
    validate_documents,
)

# Loaded first so that `when` conditions on switch_type resolve; PORT is the
# target of most leafrefs, so it must be implemented even if only referenced.
_ALWAYS = ("sonic-device_metadata", "sonic-port")
_JSON_NUMBER = {"int8", "int16", "int32", "uint8", "uint16", "uint32"}
_BOOL_WORDS = {"true": True, "false": False}
# CONFIG_DB stores a few leaf-lists joined with something other than a comma.
_LEAF_LIST_SEPARATORS = {("NTP", "src_intf"): ";"}


# --- the compiled schema ------------------------------------------------------


@dataclass
class Stmt:
    """One YANG statement of `yanglint -f info` output."""

    keyword: str
    arg: str | None
    children: list["Stmt"] = field(default_factory=list)

    def all(self, *keywords: str) -> Iterable["Stmt"]:
        return (c for c in self.children if c.keyword in keywords)

    def first(self, keyword: str) -> "Stmt | None":
        return next(self.all(keyword), None)


@dataclass(frozen=True)
class Leaf:
    name: str
    types: frozenset[str]  # built-in base types; unions and leafrefs flattened
    is_list: bool = False


@dataclass
class Node:
    """A container or list: what CONFIG_DB fields may appear at this level."""

    name: str
    keys: tuple[str, ...] = ()
    leaves: dict[str, Leaf] = field(default_factory=dict)
    lists: list["Node"] = field(default_factory=list)
    containers: dict[str, "Node"] = field(default_factory=dict)

    @property
    def is_map(self) -> bool:
        """A Type-1 map list: keyed by name, holding one key/value inner list."""
        if len(self.keys) != 1 or len(self.lists) != 1 or set(self.leaves) != set(self.keys):
            return False
        inner = self.lists[0]
        return len(inner.keys) == 1 and len(inner.leaves) == 2 and not inner.lists and not inner.containers


@dataclass(frozen=True)
class Table:
    module: str
    node: Node


@dataclass(frozen=True)
class SonicSchema:
    models_dir: Path
    tables: dict[str, Table]


_TOKEN = re.compile(r"""\s*(?:(?P<dq>"(?:[^"\\]|\\.)*")|(?P<sq>'[^']*')|(?P<punct>[;{}+])|(?P<word>[^\s;{}"']+))""", re.S)
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def parse_yang_text(text: str) -> list[Stmt]:
    """Parse YANG statement syntax (enough for yanglint's printer output)."""
    # yanglint 2.1's printer leaves the quote of `unique "a, b;` open; we never
    # need `unique`, so drop those lines before they swallow the rest of the text.
    text = re.sub(r'(?m)^[ \t]*unique "[^"\n]*;[ \t]*$', "", text)
    root = Stmt("", None)
    stack = [root]
    words: list[str] = []
    for m in _TOKEN.finditer(text):
        if m["punct"] == "+":
            continue  # string concatenation: the next quoted part is appended below
        if m["punct"] in (";", "{"):
            stmt = Stmt(words[0], "".join(words[1:]) if len(words) > 1 else None)
            stack[-1].children.append(stmt)
            if m["punct"] == "{":
                stack.append(stmt)
            words = []
        elif m["punct"] == "}":
            stack.pop()
        elif m["dq"] is not None:
            words.append(re.sub(r"\\(.)", lambda e: _ESCAPES.get(e[1], e[1]), m["dq"][1:-1]))
        elif m["sq"] is not None:
            words.append(m["sq"][1:-1])
        elif m["word"]:
            words.append(m["word"])
    return root.children


def _base_types(type_stmt: Stmt) -> frozenset[str]:
    """Built-in types behind a compiled `type`: union members and leafref targets."""
    if type_stmt.arg in ("union", "leafref"):
        members = [_base_types(t) for t in type_stmt.all("type")]
        return frozenset().union(*members) if members else frozenset({"string"})
    return frozenset({type_stmt.arg or "string"})


def _split_keys(key_arg: str, child_leaves: list[str]) -> tuple[str, ...]:
    """Key names of a compiled list.

    yanglint 2.1's printer mangles the key statement ("ifnameqindex", ", name").
    A compiled list has its keys as its first children, in key order, so we take
    leaf names from the front until they spell the key statement.
    """
    wanted = re.sub(r"[\s,]+", "", key_arg)
    keys: list[str] = []
    for name in child_leaves:
        keys.append(name)
        spelled = "".join(keys)
        if spelled == wanted:
            return tuple(keys)
        if not wanted.startswith(spelled):
            break
    raise ModelValidationError(f"cannot tell the keys of a list from {key_arg!r}")


def _data_children(stmt: Stmt) -> Iterable[Stmt]:
    """Data-definition children; choice/case are transparent in the data tree."""
    for c in stmt.children:
        if c.keyword in ("choice", "case"):
            yield from _data_children(c)
        elif c.keyword in ("container", "list", "leaf", "leaf-list"):
            yield c


def _is_config(stmt: Stmt) -> bool:
    cfg = stmt.first("config")
    return cfg is None or cfg.arg != "false"


def _build_node(stmt: Stmt) -> Node:
    node = Node(stmt.arg or "")
    for c in _data_children(stmt):
        if not _is_config(c):
            continue
        if c.keyword in ("leaf", "leaf-list"):
            t = c.first("type")
            types = _base_types(t) if t else frozenset({"string"})
            node.leaves[c.arg or ""] = Leaf(c.arg or "", types, c.keyword == "leaf-list")
        elif c.keyword == "list":
            node.lists.append(_build_node(c))
        else:
            node.containers[c.arg or ""] = _build_node(c)
    key = stmt.first("key")
    if key is not None and key.arg:
        node.keys = _split_keys(key.arg, list(node.leaves))
    return node


def _tables_of(module: Stmt) -> dict[str, Table]:
    top = next((c for c in module.all("container") if c.arg == module.arg), None)
    if top is None or not _is_config(top):
        return {}  # helper modules (types, extensions) and state-only modules
    return {c.arg or "": Table(module.arg or "", _build_node(c)) for c in top.all("container") if _is_config(c)}


def _fingerprint(models_dir: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(models_dir.glob("*.yang")))


@functools.lru_cache(maxsize=4)
def _load_schema_cached(models_dir: Path, _fp: tuple) -> SonicSchema:
    files = sorted(models_dir.glob("*.yang"))
    if not files:
        raise ModelValidationError(f"no .yang files in {models_dir}")
    text = compiled_schema(YangSchema((), (models_dir,)), files)
    tables: dict[str, Table] = {}
    for module in parse_yang_text(text):
        if module.keyword == "module":
            tables.update(_tables_of(module))
    return SonicSchema(models_dir, tables)


def load_schema(models_dir: Path | None = None) -> SonicSchema:
    """The CONFIG_DB tables that a folder of SONiC models defines (cached per folder content)."""
    folder = find_models("sonic", models_dir).resolve()
    return _load_schema_cached(folder, _fingerprint(folder))


# --- translation ---------------------------------------------------------------


class _Problems(list):
    """Translation problems as (CONFIG_DB pointer, message, severity)."""

    def add(self, pointer: str, message: str, severity: str = "error") -> None:
        self.append((pointer, message, severity))


def pointer(*parts: str) -> str:
    """RFC 6901 JSON pointer into config_db.json."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _encode(leaf: Leaf, value: Any, where: str, problems: _Problems) -> Any:
    """CONFIG_DB string → the JSON type libyang wants for this leaf."""
    if leaf.is_list:
        if isinstance(value, list):
            items = value
        else:
            table = where.split("/")[1]
            sep = _LEAF_LIST_SEPARATORS.get((table, leaf.name), ",")
            items = [v.strip() for v in str(value).split(sep) if v.strip() != ""]
        return [_encode_scalar(leaf, v, where, problems) for v in items]
    return _encode_scalar(leaf, value, where, problems)


def _encode_scalar(leaf: Leaf, value: Any, where: str, problems: _Problems) -> Any:
    text = _scalar_text(value)
    if leaf.types & _JSON_NUMBER and re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    if "boolean" in leaf.types and text.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[text.lower()]
    if "empty" in leaf.types and text in ("", "true"):
        return [None]
    if leaf.types <= _JSON_NUMBER:
        problems.add(where, f"{text!r} is not an integer ({'/'.join(sorted(leaf.types))})")
        return None
    if leaf.types <= {"boolean"}:
        problems.add(where, f"{text!r} is not a boolean (true or false)")
        return None
    return text


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fields(node: Node, values: Any, where: str, problems: _Problems) -> dict[str, Any]:
    """Translate the field/value pairs of one CONFIG_DB entry (or container)."""
    out: dict[str, Any] = {}
    if not isinstance(values, dict):
        problems.add(where, f"expected an object of field/value pairs, got {type(values).__name__}")
        return out
    for name, value in values.items():
        at = where + pointer(name)
        if name in node.leaves:
            encoded = _encode(node.leaves[name], value, at, problems)
            if encoded is not None:
                out[name] = encoded
        elif name in node.containers:
            out[name] = _fields(node.containers[name], value, at, problems)
        else:
            problems.add(at, f"unknown field {name!r} (the model allows: {', '.join(sorted(node.leaves)) or 'none'})")
    return out


def _map_entry(lst: Node, keys: dict[str, str], values: Any, where: str, problems: _Problems) -> dict[str, Any]:
    inner = lst.lists[0]
    key_name = inner.keys[0]
    value_leaf = next(l for n, l in inner.leaves.items() if n != key_name)
    pairs = []
    for k, v in (values.items() if isinstance(values, dict) else []):
        encoded = _encode(value_leaf, v, where + pointer(str(k)), problems)
        if encoded is not None:
            key = _encode(inner.leaves[key_name], str(k), where + pointer(str(k)), problems)
            pairs.append({key_name: key, value_leaf.name: encoded})
    return {**keys, inner.name: pairs}


def _list_for(node: Node, key: str) -> Node | None:
    """The list whose key count matches the CONFIG_DB key (first one wins, as in SONiC)."""
    parts = key.split("|")
    return next((lst for lst in node.lists if len(lst.keys) == len(parts)), None)


def _keys(lst: Node, key: str, where: str, problems: _Problems) -> dict[str, Any]:
    """Split a CONFIG_DB key on '|' into the list's typed key leaves."""
    parts = (p.strip() for p in key.split("|"))
    return {k: _encode(lst.leaves[k], v, where, problems) for k, v in zip(lst.keys, parts)}


def _table(name: str, table: Table, entries: Any, problems: _Problems) -> dict[str, Any]:
    node = table.node
    out: dict[str, Any] = {}
    if not isinstance(entries, dict):
        problems.add(pointer(name), "a table must be an object of entries")
        return out
    for key, values in entries.items():
        where = pointer(name, key)
        lst = _list_for(node, key)
        if lst is not None:
            keys = _keys(lst, key, where, problems)
            if lst.is_map:
                entry = _map_entry(lst, keys, values, where, problems)
            else:
                entry = {**keys, **_fields(lst, values, where, problems)}
            out.setdefault(lst.name, []).append(entry)
        elif key in node.containers:
            out[key] = _fields(node.containers[key], values, where, problems)
        elif key in node.leaves:
            encoded = _encode(node.leaves[key], values, where, problems)
            if encoded is not None:
                out[key] = encoded
        else:
            shapes = [f"{lst.name} keyed by {'|'.join(lst.keys)}" for lst in node.lists] + list(node.containers)
            problems.add(where, f"key {key!r} fits nothing in {name} (expected: {'; '.join(shapes)})")
    return out


def _translate(config_db: Mapping[str, Any], schema: SonicSchema) -> tuple[dict[str, Any], _Problems, list[str]]:
    """Returns (YANG JSON, problems, modules whose data is present)."""
    problems = _Problems()
    doc: dict[str, Any] = {}
    modules: list[str] = []
    for name, entries in config_db.items():
        table = schema.tables.get(name)
        if table is None:
            problems.add(pointer(name), f"table {name} has no YANG model in {schema.models_dir}; not validated", "warning")
            continue
        top = f"{table.module}:{table.module}"
        doc.setdefault(top, {})[f"{table.module}:{name}"] = _table(name, table, entries, problems)
        if table.module not in modules:
            modules.append(table.module)
    return doc, problems, modules


def configdb_to_yang(config_db: Mapping[str, Any], models_dir: Path | None = None) -> dict[str, Any]:
    """Translate CONFIG_DB JSON into the RFC 7951 JSON the SONiC YANG models validate.

    Tables without a model are left out (as SONiC's own translator does).  An
    entry that fits no list of its table, an unknown field or a value of the
    wrong type raises ModelValidationError listing all of them;
    `validate_config_db` reports those as findings instead.
    """
    doc, problems, _ = _translate(config_db, load_schema(models_dir))
    errors = [f"{p}: {m}" for p, m, sev in problems if sev == "error"]
    if errors:
        raise ModelValidationError("CONFIG_DB does not fit the models: " + "; ".join(errors))
    return doc


# --- validation ------------------------------------------------------------------


def data_path_to_pointer(path: str) -> str:
    """'/sonic-queue:sonic-queue/QUEUE/QUEUE_LIST[ifname='E0'][qindex='3']/wred_profile'
    → '/QUEUE/E0|3/wred_profile'.  Map lists give '/DSCP_TO_TC_MAP/HPN/26'."""
    segs = split_path(path)
    if len(segs) < 2:
        return path
    parts = [segs[1][0].split(":")[-1]]
    rest = segs[2:]
    if rest:
        name, preds = rest[0]
        # A list entry gives the CONFIG_DB key; a container (localhost) is its own key.
        parts.append("|".join(preds.values()) if preds else name.split(":")[-1])
        for name, preds in rest[1:]:
            if preds and "." not in preds:
                parts.append("|".join(preds.values()))  # inner map list: its key is the field
                break
            if name.split(":")[-1] == parts[0]:
                break  # inner map list named without its key (a bad key): the map is all we know
            parts.append(name.split(":")[-1])
    return pointer(*parts)


def _device_name(config: Mapping[str, Any], file: str) -> str:
    meta = config.get("DEVICE_METADATA", {})
    host = meta.get("localhost", {}).get("hostname") if isinstance(meta, dict) else None
    return str(host) if host else (Path(file).stem if file else "")


def _read(config: Mapping[str, Any] | Path | str) -> tuple[Any, str, Finding | None]:
    if isinstance(config, (str, Path)):
        path = Path(config)
        try:
            return json.loads(path.read_text()), str(path), None
        except OSError as exc:
            raise ModelValidationError(f"cannot read {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            return None, str(path), Finding(path.stem, str(path), "", f"not valid JSON: {exc.msg}", line=exc.lineno)
    return config, "", None


def validate_config_db(
    config_db: Mapping[str, Any] | Path, models_dir: Path | None = None, *, device: str | None = None, max_errors: int = 10
) -> list[Finding]:
    """Validate one CONFIG_DB JSON (dict or config_db.json path) against SONiC models.

    `models_dir` is the user's release models (see `find_models`).  Returns
    findings naming the CONFIG_DB table/key/field; empty means valid.
    """
    configs = {device: config_db} if device else [config_db]
    return validate_config_dbs(configs, models_dir, max_errors=max_errors)


def validate_config_dbs(
    configs: Mapping[str, Mapping[str, Any] | Path] | Sequence[Mapping[str, Any] | Path],
    models_dir: Path | None = None,
    *,
    max_errors: int = 10,
) -> list[Finding]:
    """Validate many CONFIG_DBs (device → config, or a list) in shared yanglint sessions."""
    schema = load_schema(models_dir)
    items = list(configs.items()) if isinstance(configs, Mapping) else [(None, c) for c in configs]
    findings: list[Finding] = []
    docs: list[dict[str, Any]] = []
    owners: list[tuple[str, str]] = []
    modules: list[str] = [m for m in _ALWAYS if (schema.models_dir / f"{m}.yang").exists()]
    for name, config in items:
        data, file, bad = _read(config)
        if bad is not None:
            findings.append(bad)
            continue
        if not isinstance(data, dict):
            findings.append(Finding(name or "", file, "", "CONFIG_DB must be a JSON object of tables"))
            continue
        who = name or _device_name(data, file)
        doc, problems, used = _translate(data, schema)
        findings += [Finding(who, file, p, m, sev) for p, m, sev in problems]
        modules += [m for m in used if m not in modules]
        docs.append(doc)
        owners.append((who, file))
    if docs:
        results = validate_documents(YangSchema(tuple(modules), (schema.models_dir,)), docs, max_errors=max_errors)
        for (who, file), doc, messages in zip(owners, docs, results):
            for msg in messages:
                # Line numbers would point into our translation, not the user's file.
                findings += [Finding(who, file, where, msg.message) for where in _pointers(msg, doc, schema)]
    return findings


def _pointers(msg: YangMessage, doc: dict[str, Any], schema: SonicSchema) -> list[str]:
    """Where in CONFIG_DB a libyang message points."""
    if not msg.path:
        return [""]
    if not msg.schema_path:
        return [data_path_to_pointer(msg.path)]
    # libyang names only the schema node of a missing mandatory leaf: find the entries.
    m = re.match(r'Mandatory node "(?P<leaf>[^"]+)"', msg.message)
    segs = split_path(msg.path)
    table = schema.tables.get(segs[1][0].split(":")[-1]) if len(segs) == 4 and m else None
    lst = next((l for l in table.node.lists if l.name == segs[2][0].split(":")[-1]), None) if table else None
    if lst is None:
        return [msg.path]
    entries = [e for e in instances(doc, msg.path.rsplit("/", 1)[0]) if m["leaf"] not in e]
    keys = ["|".join(_scalar_text(e.get(k)) for k in lst.keys) for e in entries]
    return [pointer(segs[1][0].split(":")[-1], k, m["leaf"]) for k in keys] or [msg.path]
