"""The shared yanglint runner: load the modules once, validate many data files.

Parsing the modules is most of yanglint's cost, and the one-shot CLI stops at
the first data file that fails (the files after it are not validated at all).
So by default we feed yanglint's interactive shell on stdin: `load` once, then
one `data` command per file.  Between two files we ask for a file that does not
exist; yanglint's answer names it, which tells exactly where one file's messages
end.  One such session runs per CPU.  When the `load` line would not fit the
shell's 4 KiB line buffer (SR Linux's 570-feature list) we use the CLI instead,
restarted after each failing file.  Side effect of the shell: yanglint keeps its
last 100 commands in ~/.yanglint/history.

Measured on 2 cores with 100 translated SONiC CONFIG_DBs of 32 ports each
(tests/validate_models/bench_yanglint.py; quiet machine / machine shared with a
load average of ~5):
  session per CPU 0.3-0.5 s / 1.3 s; CLI batches 0.35 s / 1.4-1.7 s;
  one CLI process per file 1.0-1.1 s / 4.2-5.1 s;
  the same 100 with 3 errors each (4 rounds): session 1.0 s / 3.5 s, CLI 6 s / 12-15 s.

libyang 2.1 reports only the first error of a data file.  `validate_documents`
therefore removes what the error points at from a copy of the document and
asks again, so that a user sees all the errors at once (see there).
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from hpnctl.errors import ModelValidationError

_MISSING = "yanglint not found: install libyang2-tools (apt-get install -y libyang2-tools)"
_MARKER = ".hpnctl-yanglint-marker-"
# A new record starts at each libyang / YANGLINT prefix; messages may span lines.
_RECORD = re.compile(r"^(?:libyang\[(?P<lvl>\d)\]|libyang (?P<word>err|warn|verb|dbg)\s*|YANGLINT\[(?P<ylvl>[EWIV])\]):\s?", re.M)
_DATA_LOC = re.compile(r'Data location "(?P<path>.*)"(?:, line number (?P<line>\d+))?\.?\)\s*$', re.S)
_SCHEMA_LOC = re.compile(r'Schema location "(?P<path>[^"]*)"')
_LINE_ONLY = re.compile(r"\(path: Line number (?P<line>\d+)\.\)\s*$")
_FAILED_FILE = re.compile(r'^Failed to parse input data file "(?P<file>.*)"\.$')
_SESSION_TIMEOUT_S = 120.0
_MAX_LINE = 4000  # yanglint's interactive line buffer is 4 KiB; longer lines are split into garbage


@dataclass(frozen=True)
class YangSchema:
    """What yanglint must load: module names (found in the search paths) and features.

    `features` are yanglint `-F` values, e.g. "srl_nokia-features:*".
    """

    modules: tuple[str, ...]
    search_paths: tuple[Path, ...]
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class YangMessage:
    """One libyang error: the text, the data path it points at, the JSON line if given."""

    message: str
    path: str = ""
    line: int | None = None
    schema_path: bool = False  # path is a schema node (no list keys): libyang knew no instance


@dataclass
class _Round:
    """State of one document across the prune-and-retry rounds."""

    doc: Any
    messages: list[YangMessage] = field(default_factory=list)
    pruned: list[tuple[dict, str]] = field(default_factory=list)  # (parent object, leaf name)
    removed: list[tuple[tuple[str, ...], dict]] = field(default_factory=list)  # (list path, entry)


def yanglint_path() -> str:
    """Path of the yanglint binary, or a ModelValidationError saying how to get it."""
    found = shutil.which(os.environ.get("HPNCTL_YANGLINT", "yanglint"))
    if not found:
        raise ModelValidationError(_MISSING)
    return found


def compiled_schema(schema: YangSchema, module_files: Sequence[Path] = ()) -> str:
    """The compiled modules as YANG text (`yanglint -f info`): typedefs, groupings and
    leafref targets already resolved, which is what a translator needs to know."""
    args = [yanglint_path(), "-f", "info"]
    args += [a for p in schema.search_paths for a in ("-p", str(p))]
    args += [a for f in schema.features for a in ("-F", f)]
    args += [str(f) for f in module_files] or list(schema.modules)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=_SESSION_TIMEOUT_S)
    if proc.returncode != 0:
        errors = [m.message for m in _parse_messages(proc.stderr)]
        raise ModelValidationError("yanglint could not load the models: " + "; ".join(errors[:5]))
    return proc.stdout


def validate_files(
    schema: YangSchema,
    files: Sequence[Path],
    *,
    data_type: str = "config",
    jobs: int | None = None,
    mode: str = "auto",
) -> dict[Path, list[YangMessage]]:
    """Validate each data file on its own; return its errors (empty list = valid).

    The files are split into one yanglint per worker; each loads the modules once.
    `mode`: "session" (interactive yanglint), "cli" (one-shot CLI, restarted after
    each failing file), or "auto": the session unless its `load` line would
    overflow yanglint's 4 KiB line buffer (SR Linux's feature list does).
    """
    if not files:
        return {}
    exe = yanglint_path()
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(files)))
    size = math.ceil(len(files) / jobs)
    chunks = [list(files[i : i + size]) for i in range(0, len(files), size)]
    use_cli = mode == "cli" or (mode == "auto" and len(_load_line(schema)) > _MAX_LINE)
    results: dict[Path, list[YangMessage]] = {}
    with tempfile.TemporaryDirectory(prefix="hpnctl-yl-") as tmp, ThreadPoolExecutor(len(chunks)) as pool:
        if use_cli:
            run = lambda c: _run_cli(exe, schema, c, data_type)  # noqa: E731
        else:
            run = lambda c: _run_session(exe, schema, c, data_type, Path(tmp))  # noqa: E731
        for part in pool.map(run, chunks):
            results.update(part)
    return results


def validate_documents(
    schema: YangSchema,
    docs: Sequence[Any],
    *,
    max_errors: int = 10,
    data_type: str = "config",
    mode: str = "auto",
) -> list[list[YangMessage]]:
    """Validate RFC 7951 JSON documents (dicts); return the errors of each.

    libyang stops at the first error, so after each error we remove what it
    points at (the leaf, or the list entry around a bad key or a missing
    mandatory leaf) from a copy and validate again, up to `max_errors` errors
    per document.  Errors that only our removals caused (a reference to an entry
    we removed, a mandatory leaf we removed) are not reported.
    """
    rounds = [_Round(json.loads(json.dumps(d))) for d in docs]
    with tempfile.TemporaryDirectory(prefix="hpnctl-doc-") as tmp:
        todo = list(range(len(docs)))
        for _ in range(3 * max_errors + 1):  # each round removes something; this is only a guard
            if not todo:
                break
            files = [_write_doc(Path(tmp), i, rounds[i].doc) for i in todo]
            found = validate_files(schema, files, data_type=data_type, mode=mode)
            todo = [i for i, f in zip(todo, files) if _absorb(rounds[i], found[f], max_errors)]
    return [r.messages for r in rounds]


def _write_doc(tmp: Path, index: int, doc: Any) -> Path:
    path = tmp / f"doc{index}.json"
    path.write_text(json.dumps(doc))
    return path


def _absorb(state: _Round, new: list[YangMessage], max_errors: int) -> bool:
    """Record this round's errors, then change the document to get past them.

    Returns True when the document changed and should be validated again.
    """
    for msg in new:
        if _repair_cascade(msg, state):
            continue  # an error we caused; the document changed, look again
        if _caused_by_us(msg, state) or msg in state.messages:
            return False  # nothing we can remove gets us past this one
        state.messages.append(msg)
        if len(state.messages) >= max_errors or not _drop(state, msg):
            return False
    return bool(new)


_MANDATORY = re.compile(r'Mandatory node "(?P<leaf>[^"]+)" instance does not exist')
_UNION = re.compile(r'Invalid union value "(?P<value>[^"]*)" - no matching subtype found')
_LEAFREF = re.compile(r'Invalid leafref value "(?P<value>[^"]*)" - no target instance "(?P<target>[^"]+)"')
_QUOTED = re.compile(r'"([^"]*)"')


def _drop(state: _Round, msg: YangMessage) -> bool:
    """Remove what an error points at: a plain leaf, else the whole list entry.

    A removed entry is remembered, so that references to it, which now fail
    too, are recognised as our doing (see _repair_cascade).
    """
    if not msg.schema_path:
        parent = prune(state.doc, msg.path)
        if parent is not None:
            state.pruned.append((parent, split_path(msg.path)[-1][0].split(":")[-1]))
            return True
    entries, list_path = _entries_at_fault(state, msg)
    removed = [e for e in entries if _remove_object(state.doc, e)]
    state.removed += [(list_path, e) for e in removed]
    return bool(removed)


def _entries_at_fault(state: _Round, msg: YangMessage) -> tuple[list[dict], tuple[str, ...]]:
    """The list entries an error is about: the entry in the path, the entries
    missing a mandatory leaf, or the one entry whose key has the bad value."""
    segs = split_path(msg.path)
    if not segs:
        return [], ()
    mandatory = _MANDATORY.match(msg.message)
    if mandatory:
        # A leaf missing in a container is fixed by dropping the list entry around it.
        parent = msg.path.rsplit("/", 1)[0] if msg.schema_path else msg.path
        lacking = {id(n) for n in _lacking(msg, mandatory["leaf"], state)}
        walked = [w for w in _walk(state.doc, parent) if id(w[0]) in lacking]
        if any(owner is None for _, owner, _ in walked):
            # Outside any list: drop the (presence) container itself.
            return [n for n, _, _ in walked], _local_names(parent)[:-1]
        owners = {id(owner): (owner, path) for _, owner, path in walked}
        paths = {path for _, path in owners.values()}
        return [o for o, _ in owners.values()], paths.pop() if len(paths) == 1 else ()
    if segs[-1][1] and "." not in segs[-1][1]:
        entries = [e for e in instances(state.doc, msg.path) if isinstance(e, dict)]
        return entries, _local_names(msg.path)
    if len(segs) < 2:
        return [], ()
    leaf = segs[-1][0]
    list_path = msg.path[: list(_SEGMENT.finditer(msg.path))[-1].start()]
    candidates = [e for e in instances(state.doc, list_path) if isinstance(e, dict) and _member(e, leaf)]
    if segs[-2][1]:  # the entry is named in the path: the leaf is its key
        return candidates, _local_names(list_path)
    value = _QUOTED.search(msg.message)  # parse errors name no entry, but quote the bad value
    hits = [e for e in candidates if value and _scalar(e[_member(e, leaf)]) == value.group(1)]
    return (hits, _local_names(list_path)) if len(hits) == 1 else ([], ())


def _repair_cascade(msg: YangMessage, state: _Round) -> bool:
    """Undo the side effects of our own changes, so that the next round can go on.

    * We dropped a bad mandatory leaf, now libyang misses it: drop its whole entry.
    * An entry we dropped is referenced elsewhere: drop that reference too.
    """
    m = _MANDATORY.match(msg.message)
    if m:
        lacking = _lacking(msg, m["leaf"], state)
        ours = {(id(p), leaf) for p, leaf in state.pruned}
        if not lacking or not all((id(e), m["leaf"]) in ours for e in lacking):
            return False
        return _drop(state, msg)
    m = _LEAFREF.match(msg.message) or _UNION.match(msg.message)
    if not m or msg.schema_path or not state.removed:
        return False
    if "target" in m.groupdict():
        # Relative targets ("../../queues/queue/name") match the end of the removed list's path.
        target = tuple(n for n in _local_names(m["target"]) if n != "..")
        gone = any(
            p[len(p) - len(target) + 1 :] == target[:-1] and _scalar(e.get(target[-1])) == m["value"]
            for p, e in state.removed
        )
    else:
        # A union (leafref or a fixed word) does not name its target: match any value of the entry.
        gone = any(m["value"] in map(_scalar, e.values()) for _, e in state.removed)
    return gone and _drop(state, msg)


def _caused_by_us(msg: YangMessage, state: _Round) -> bool:
    """A consequence of our pruning that we could not repair: stop, report nothing new."""
    m = _MANDATORY.match(msg.message)
    if not m:
        return False
    ours = {(id(p), leaf) for p, leaf in state.pruned}
    return any((id(e), m["leaf"]) in ours for e in _lacking(msg, m["leaf"], state))


def _lacking(msg: YangMessage, leaf: str, state: _Round) -> list[dict]:
    parent_path = msg.path.rsplit("/", 1)[0] if msg.schema_path else msg.path
    return [e for e in instances(state.doc, parent_path) if isinstance(e, dict) and _member(e, leaf) is None]


def _local_names(path: str) -> tuple[str, ...]:
    return tuple(name.split(":")[-1] for name, _ in split_path(path))


def _remove_object(node: Any, target: dict) -> bool:
    """Remove `target` (by identity) from the list or object that holds it."""
    if isinstance(node, list):
        if any(e is target for e in node):
            node[:] = [e for e in node if e is not target]
            return True
        return any(_remove_object(c, target) for c in node)
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if value is target:
                del node[key]
                return True
        return any(_remove_object(c, target) for c in node.values())
    return False


def _quote(path: Path) -> str:
    # yanglint's command line splits on blanks but honours double quotes.
    text = str(path)
    if '"' in text:
        raise ModelValidationError(f"yanglint cannot read a path containing a double quote: {text}")
    return f'"{text}"'


def _load_line(schema: YangSchema) -> str:
    features = "".join(f" -F {f}" for f in schema.features)
    return f"load{features} {' '.join(schema.modules)}"


def _session_script(schema: YangSchema, files: Sequence[Path], data_type: str, tmp: Path) -> str:
    lines = ["verb error"]
    if schema.search_paths:
        lines.append("searchpath " + " ".join(_quote(p) for p in schema.search_paths))
    lines.append(_load_line(schema))
    lines.append(f"data -t {data_type} {_quote(tmp / (_MARKER + 'load'))}")
    for i, f in enumerate(files):
        lines.append(f"data -e -t {data_type} {_quote(f)}")
        lines.append(f"data -t {data_type} {_quote(tmp / (_MARKER + str(i)))}")
    lines.append("quit")
    return "\n".join(lines) + "\n"


def _module_files(schema: YangSchema) -> list[str]:
    """The CLI takes module files, not names: find each in the search paths."""
    found = []
    for name in schema.modules:
        hits = [p for d in schema.search_paths for p in sorted(d.glob(f"{name}.yang")) + sorted(d.glob(f"{name}@*.yang"))]
        if not hits:
            raise ModelValidationError(f"module {name} not found in {', '.join(map(str, schema.search_paths))}")
        found.append(str(hits[-1]))
    return found


def _run_cli(exe: str, schema: YangSchema, files: Sequence[Path], data_type: str) -> dict[Path, list[YangMessage]]:
    """One-shot CLI over many files.  It stops at the first file that fails: the
    files before it passed, that one gets the errors, and we go on after it."""
    base = [exe, "-t", data_type, "-e", "-Q"]  # -Q: errors only
    base += [a for p in schema.search_paths for a in ("-p", str(p))]
    base += [a for f in schema.features for a in ("-F", f)]
    base += _module_files(schema)
    results: dict[Path, list[YangMessage]] = {}
    todo = list(files)
    while todo:
        try:
            proc = subprocess.run(base + [str(f) for f in todo], capture_output=True, text=True, timeout=_SESSION_TIMEOUT_S + len(todo))
        except subprocess.TimeoutExpired as exc:
            raise ModelValidationError(f"yanglint did not finish within {exc.timeout:.0f} s") from exc
        failed, messages = _cli_failure(proc.stderr)
        if proc.returncode == 0 and failed is None:
            results.update((f, []) for f in todo)
            break
        names = [str(f) for f in todo]
        if failed not in names:
            errors = "; ".join(m.message for m in messages[:5]) or proc.stderr[-500:]
            raise ModelValidationError(f"yanglint could not load modules {' '.join(schema.modules)}: {errors}")
        k = names.index(failed)
        results.update((f, []) for f in todo[:k])
        results[todo[k]] = messages
        todo = todo[k + 1 :]
    return results


def _cli_failure(stderr: str) -> tuple[str | None, list[YangMessage]]:
    messages: list[YangMessage] = []
    for level, text in _records(stderr):
        failed = _FAILED_FILE.match(text)
        if failed:
            return failed["file"], messages
        if level == "error":
            messages.append(_to_message(text))
    return None, messages


def _run_session(
    exe: str, schema: YangSchema, files: Sequence[Path], data_type: str, tmp: Path
) -> dict[Path, list[YangMessage]]:
    script = _session_script(schema, files, data_type, tmp)
    try:
        proc = subprocess.run(
            [exe], input=script, capture_output=True, text=True,
            timeout=_SESSION_TIMEOUT_S + len(files),
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelValidationError(f"yanglint did not finish within {exc.timeout:.0f} s") from exc
    sections = _split_on_markers(proc.stderr)
    if sections.get("load"):
        errors = "; ".join(m.message for m in sections["load"][:5])
        raise ModelValidationError(f"yanglint could not load modules {' '.join(schema.modules)}: {errors}")
    missing = [str(i) for i in range(len(files)) if str(i) not in sections]
    if missing:
        # A marker did not come back: yanglint died midway.  Never call that valid.
        raise ModelValidationError(f"yanglint stopped early (exit {proc.returncode}): {proc.stderr[-500:]}")
    return {f: sections[str(i)] for i, f in enumerate(files)}


def _split_on_markers(stderr: str) -> dict[str, list[YangMessage]]:
    """Messages between two markers belong to the data file validated in between."""
    sections: dict[str, list[YangMessage]] = {}
    current: list[YangMessage] = []
    for level, text in _records(stderr):
        marker = re.search(re.escape(_MARKER) + r"(\w+)\)", text)
        if marker and text.startswith("Unable to use input filepath"):
            sections[marker.group(1)] = current
            current = []
        elif level == "error" and not _FAILED_FILE.match(text):
            current.append(_to_message(text))
    return sections


def _records(stderr: str) -> list[tuple[str, str]]:
    starts = list(_RECORD.finditer(stderr))
    out = []
    for m, nxt in zip(starts, starts[1:] + [None]):
        text = stderr[m.end() : nxt.start() if nxt else len(stderr)].strip()
        is_error = m["lvl"] == "0" or m["word"] == "err" or m["ylvl"] == "E"
        out.append(("error" if is_error else "other", text))
    return out


def _parse_messages(stderr: str) -> list[YangMessage]:
    return [_to_message(t) for lvl, t in _records(stderr) if lvl == "error" and not _FAILED_FILE.match(t)]


def _to_message(text: str) -> YangMessage:
    """Split "msg (path: Data location "/a/b", line number 3.)" into its parts."""
    m = _DATA_LOC.search(text)
    if m:
        head = text[: m.start()].rstrip()
        head = re.sub(r"\((?:path:)?\s*$", "", head).rstrip()
        return YangMessage(head, m["path"], int(m["line"]) if m["line"] else None)
    m = _LINE_ONLY.search(text)
    if m:
        return YangMessage(text[: m.start()].rstrip(), "", int(m["line"]))
    m = _SCHEMA_LOC.search(text)
    if m:
        head = re.sub(r"\s*\((?:path: )?Schema location.*$", "", text, flags=re.S)
        return YangMessage(head, m["path"], schema_path=True)
    return YangMessage(text)


# --- data paths ---------------------------------------------------------------

_SEGMENT = re.compile(r"""/(?P<name>[^/\[]+)(?P<preds>(?:\[(?:[^\]'"]|'[^']*'|"[^"]*")*\])*)""")
_PRED = re.compile(r"""\[(?P<key>[^=\]]+)=(?:'(?P<v1>[^']*)'|"(?P<v2>[^"]*)")\]""")


def split_path(path: str) -> list[tuple[str, dict[str, str]]]:
    """'/m:a/b[k='1'][j='x']/c' -> [('m:a', {}), ('b', {'k': '1', 'j': 'x'}), ('c', {})]."""
    out = []
    for seg in _SEGMENT.finditer(path):
        preds = {p["key"]: p["v1"] if p["v1"] is not None else p["v2"] for p in _PRED.finditer(seg["preds"])}
        out.append((seg["name"], preds))
    return out


def _member(obj: dict, name: str) -> str | None:
    """The JSON member for a path segment; RFC 7951 names carry a module prefix
    only where the module changes, so compare local names."""
    local = name.split(":")[-1]
    for key in obj:
        if key == name or key.split(":")[-1] == local:
            return key
    return None


def _matches(entry: Any, preds: dict[str, str]) -> bool:
    if not isinstance(entry, dict):
        return "." in preds and _scalar(entry) == preds["."]
    return all(_scalar(entry.get(k)) == v for k, v in preds.items())


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _walk(doc: Any, path: str) -> list[tuple[Any, dict | None, tuple[str, ...]]]:
    """Nodes of `doc` at `path`, each with the list entry that holds it (the node
    itself when it is an entry) and that list's path (local names).  A list
    segment without keys matches every entry."""
    nodes: list[tuple[Any, dict | None, tuple[str, ...]]] = [(doc, None, ())]
    names: tuple[str, ...] = ()
    for name, preds in split_path(path):
        names += (name.split(":")[-1],)
        found = []
        for node, owner, owner_path in nodes:
            key = _member(node, name) if isinstance(node, dict) else None
            if key is None:
                continue
            value = node[key]
            if isinstance(value, list):
                for e in value:
                    if not preds or _matches(e, preds):
                        found.append((e, e, names) if isinstance(e, dict) else (e, owner, owner_path))
            else:
                found.append((value, owner, owner_path))
        nodes = found
    return nodes


def instances(doc: Any, path: str) -> list[Any]:
    """Every node of `doc` at `path`; a list segment without keys matches all entries."""
    return [node for node, _, _ in _walk(doc, path)]


def prune(doc: Any, path: str) -> dict | None:
    """Remove the non-key leaf (or leaf-list item) at the data `path` from an RFC 7951
    document; return its parent object, or None when it is not a plain leaf we found."""
    segs = split_path(path)
    if len(segs) < 2 or segs[-1][1] and "." not in segs[-1][1]:
        return None
    leaf, preds = segs[-1]
    if leaf.split(":")[-1] in segs[-2][1]:
        return None  # a key: removing it would remove the entry
    parent_path = path[: list(_SEGMENT.finditer(path))[-1].start()]
    parents = instances(doc, parent_path)
    if len(parents) != 1 or not isinstance(parents[0], dict):
        return None
    node = parents[0]
    key = _member(node, leaf)
    if key is None:
        return None
    if "." in preds and isinstance(node[key], list):
        kept = [v for v in node[key] if _scalar(v) != preds["."]]
        if len(kept) == len(node[key]):
            return None
        node[key] = kept
        return node
    if isinstance(node[key], (dict, list)):
        return None
    del node[key]
    return node
