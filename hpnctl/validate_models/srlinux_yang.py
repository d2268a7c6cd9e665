"""Validate SR Linux JSON configuration against Nokia's published YANG models.

Input shape (RFC 7951, what JSON-RPC `set`/`get` and `info | as json` with
module names use): the top-level members carry their module name, and so does
every node that another module augments in::

    {"srl_nokia-interfaces:interface": [...],
     "srl_nokia-network-instance:network-instance": [{..., "protocols": {"srl_nokia-bgp:bgp": {...}}}],
     "srl_nokia-routing-policy:routing-policy": {...},
     "srl_nokia-qos:qos": {...}}

Identity values carry the module that defines the identity:
`"type": "srl_nokia-network-instance:default"`, `"afi-safi-name":
"srl_nokia-common:ipv4-unicast"`, `"type": "srl_nokia-interfaces:routed"`.
The JSON paths confirmed against the 25.3 models for QoS are in
SRLINUX_PATHS.md next to this file.

Which modules: exactly those named by the document (every `module:` prefix in
member names and identity values), plus srl_nokia-features and
srl_nokia-common; yanglint pulls in their imports.  Loading them takes ~0.1 s.

Features: the models are gated by `if-feature` on srl_nokia-features, one
feature per platform capability.  By default every feature is enabled (the
union of all platforms: the upper bound a renderer must stay inside), and a
leaf that is mandatory only behind a feature (`forwarding-class-index`,
`output/queue` vs `output/unicast-queue`, `ecn-dscp-policy`) is not required,
because no one platform has all of them.  Pass `features=` (the node's own
list, from `info from state /system features`) to validate for one platform
exactly, mandatory leaves included.

libyang compatibility.  SR Linux evaluates its `must` expressions with its own
engine; libyang follows XPath 1.0 to the letter, which turns some of Nokia's
expressions into errors on every config.  We validate against a rewritten copy
of the models (made once per process, in a temporary folder), fixing only these
patterns inside XPath strings:

* `X = true()` / `X = false()`: XPath compares the node-set's existence, not the
  leaf's value (`. = false()` is false for a leaf that is false).  Rewritten
  to `X = 'true'` / `not(X = 'true')`.
* `X != Y`: XPath makes it false when X or Y does not exist (no subinterface
  `type` on system0, no `priority` on a weighted scheduler, no
  `multicast-queue`), SR Linux evidently does not (its own factory configs would
  fail).  Rewritten to `not(X = Y)`.
* `afi-safi-name = 'ipv4-unicast'`: the identity lives in srl_nokia-common, and
  libyang resolves the unprefixed literal in srl_nokia-bgp, so it never matches.
  The prefix is added.

and the feature `loopback-mode-facility` stays off: its `swap-src-dst-mac` leaf
has a default and a must that libyang can never satisfy.
"""
from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from hpnctl.errors import ModelValidationError
from hpnctl.validate_models import Finding, find_models
from hpnctl.validate_models.yanglint import YangSchema, validate_documents

_BASE_MODULES = ("srl_nokia-features", "srl_nokia-common")
# Features that make libyang reject every config (see module docstring).
_LIBYANG_BROKEN_FEATURES = frozenset({"loopback-mode-facility"})
_MODULE_PREFIX = re.compile(r"^(srl_nokia-[A-Za-z0-9_.-]+|ietf-[A-Za-z0-9_.-]+|iana-[A-Za-z0-9_.-]+):")

# --- the libyang-compatible copy of the models ---------------------------------

_OPERAND = (
    r"(?:current\(\)|\.\.?|/?[A-Za-z_][\w.:-]*)(?:\[[^\[\]]*\])*"
    r"(?:/(?:\.\.?|[A-Za-z_][\w.:-]*)(?:\[[^\[\]]*\])*)*"
)
_EQ_TRUE = re.compile(rf"(?P<a>{_OPERAND})\s*=\s*true\(\)")
_EQ_FALSE = re.compile(rf"(?P<a>{_OPERAND})\s*=\s*false\(\)")
_NOT_EQUAL = re.compile(
    rf"(?P<a>{_OPERAND})\s*!=\s*(?P<b>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|true\(\)|false\(\)|{_OPERAND})"
)
_AFI_EQ = re.compile(r"afi-safi-name\s*=\s*(?P<q>['\"])(?P<v>[A-Za-z0-9-]+)(?P=q)")
_TRIGGERS = ("true()", "false()", "!=", "afi-safi-name")
# YANG source tokens: strings (double-quoted with escapes, single-quoted), comments, the rest.
_YANG_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|//[^\n]*|/\*.*?\*/|[{};]|[^\s{};"\']+', re.S)


def _fix_xpath(expr: str, quote: str) -> str:
    """Rewrite one XPath string; `quote` is the literal quote usable inside it."""
    expr = _EQ_TRUE.sub(lambda m: f"{m['a']} = {quote}true{quote}", expr)
    expr = _EQ_FALSE.sub(lambda m: f"not({m['a']} = {quote}true{quote})", expr)
    expr = _NOT_EQUAL.sub(lambda m: _not_equal(m["a"], m["b"], quote), expr)
    return _AFI_EQ.sub(lambda m: f"afi-safi-name = {m['q']}srl_nokia-common:{m['v']}{m['q']}", expr)


def _not_equal(left: str, right: str, quote: str) -> str:
    """`a != b` -> `not(a = b)`: true, not false, when a or b does not exist."""
    if right == "true()":
        return f"not({left} = {quote}true{quote})"
    if right == "false()":
        return f"{left} = {quote}true{quote}"
    return f"not({left} = {right})"


def compat_rewrite(text: str, relax_feature_mandatory: bool) -> str:
    """The libyang-compatible version of one YANG module's source text."""
    matches = list(_YANG_TOKEN.finditer(text))
    tokens = [m.group(0) for m in matches]
    # One frame per open block: [has an if-feature child, token indexes of `mandatory true` arguments]
    frames: list[list[Any]] = [[False, []]]
    words: list[int] = []  # token indexes of the statement being read
    for i, tok in enumerate(tokens):
        if tok[0] in "\"'":
            if any(t in tok for t in _TRIGGERS):
                inner = "'" if tok[0] == '"' else '"'
                tokens[i] = tok[0] + _fix_xpath(tok[1:-1], inner) + tok[-1]
            words.append(i)
        elif tok.startswith(("//", "/*")):
            continue
        elif tok in (";", "{"):
            keyword = tokens[words[0]] if words else ""
            if keyword == "if-feature":
                frames[-1][0] = True
            elif keyword == "mandatory" and tok == ";" and len(words) == 2 and tokens[words[1]].strip("\"'") == "true":
                frames[-1][1].append(words[1])
            if tok == "{":
                frames.append([False, []])
            words = []
        elif tok == "}":
            has_feature, mandatory = frames.pop() if len(frames) > 1 else frames[0]
            if relax_feature_mandatory and has_feature:
                for j in mandatory:
                    tokens[j] = "false"
            words = []
        else:
            words.append(i)
    pieces, pos = [], 0
    for m, tok in zip(matches, tokens):
        pieces += [text[pos : m.start()], tok]  # keep the original whitespace
        pos = m.end()
    return "".join(pieces) + text[pos:]



def _models_root(models_dir: Path) -> Path:
    """The folder holding srl_nokia/models: the clone itself or a folder above it."""
    for candidate in (models_dir, *sorted(models_dir.glob("*/"))):
        if (candidate / "srl_nokia" / "models").is_dir():
            return candidate
    raise ModelValidationError(
        f"{models_dir} holds no srl_nokia/models folder: point at a clone of "
        "https://github.com/nokia/srlinux-yang-models (tag of your release)"
    )


def _model_dirs(root: Path) -> list[Path]:
    """Folders to search for modules, relative to the models root."""
    dirs = sorted(p.relative_to(root) for p in (root / "srl_nokia" / "models").iterdir() if p.is_dir())
    return dirs + [Path(d) for d in ("ietf", "iana") if (root / d).is_dir()]


@functools.lru_cache(maxsize=4)
def _overlay(root: Path, relax_feature_mandatory: bool) -> Path:
    """A libyang-compatible copy of the models, made once per process.

    Files that need no rewrite are symlinked, so this costs ~0.5 s.
    """
    tmp = Path(tempfile.mkdtemp(prefix="hpnctl-srl-models-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    for rel in _model_dirs(root):
        (tmp / rel).mkdir(parents=True, exist_ok=True)
        for src in (root / rel).glob("*.yang"):
            text = src.read_text()
            fixed = compat_rewrite(text, relax_feature_mandatory)
            if fixed == text:
                (tmp / rel / src.name).symlink_to(src.resolve())
            else:
                (tmp / rel / src.name).write_text(fixed)
    return tmp


def all_features(models_dir: Path | None = None) -> list[str]:
    """Every feature srl_nokia-features declares, in file order."""
    root = _models_root(find_models("srlinux", models_dir))
    text = (root / "srl_nokia" / "models" / "common" / "srl_nokia-features.yang").read_text()
    return re.findall(r"^\s*feature\s+([A-Za-z0-9_.-]+)", text, re.M)


def _modules_named(doc: Any, found: set[str]) -> set[str]:
    """Every module a document names: member-name prefixes and identity values."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            m = _MODULE_PREFIX.match(key)
            if m:
                found.add(m.group(1))
            _modules_named(value, found)
    elif isinstance(doc, list):
        for item in doc:
            _modules_named(item, found)
    elif isinstance(doc, str):
        m = _MODULE_PREFIX.match(doc)
        if m:
            found.add(m.group(1))
    return found


def _shape_problems(doc: Any) -> list[str]:
    """Top-level members must be module-qualified objects/arrays (RFC 7951)."""
    if not isinstance(doc, dict):
        return ["the configuration must be a JSON object"]
    return [
        f"top-level member {key!r} has no module prefix: write it as "
        f"'srl_nokia-<module>:{key}' (e.g. srl_nokia-interfaces:interface, srl_nokia-qos:qos)"
        for key in doc
        if ":" not in key
    ]


def _read(config: Mapping[str, Any] | Path | str) -> tuple[Any, str]:
    if isinstance(config, (str, Path)):
        path = Path(config)
        try:
            return json.loads(path.read_text()), str(path)
        except OSError as exc:
            raise ModelValidationError(f"cannot read {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            return _BadJson(exc), str(path)
    return config, ""


class _BadJson:
    def __init__(self, exc: json.JSONDecodeError):
        self.exc = exc


def validate_srlinux(
    config: Mapping[str, Any] | Path,
    models_dir: Path | None = None,
    *,
    device: str = "",
    features: Iterable[str] | None = None,
    max_errors: int = 10,
) -> list[Finding]:
    """Validate one SR Linux JSON config (dict or file); empty list means valid.

    `features`: None for the union of all platforms, or a platform's exact list.
    """
    return validate_srlinux_many({device: config}, models_dir, features=features, max_errors=max_errors)


def validate_srlinux_many(
    configs: Mapping[str, Mapping[str, Any] | Path],
    models_dir: Path | None = None,
    *,
    features: Iterable[str] | None = None,
    max_errors: int = 10,
) -> list[Finding]:
    """Validate many SR Linux configs (device -> config) with shared yanglint runs."""
    root = _models_root(find_models("srlinux", models_dir))
    declared = all_features(root)
    wanted = list(declared) if features is None else list(features)
    unknown = sorted(set(wanted) - set(declared))
    if unknown:
        raise ModelValidationError(f"features not declared by these models: {', '.join(unknown)}")
    enabled = [f for f in wanted if f not in _LIBYANG_BROKEN_FEATURES]
    overlay = _overlay(root.resolve(), features is None)
    findings: list[Finding] = []
    docs, owners, modules = [], [], set(_BASE_MODULES)
    for device, config in configs.items():
        doc, file = _read(config)
        who = device or (Path(file).stem if file else "")
        if isinstance(doc, _BadJson):
            findings.append(Finding(who, file, "", f"not valid JSON: {doc.exc.msg}", line=doc.exc.lineno))
            continue
        problems = _shape_problems(doc)
        if problems:
            findings += [Finding(who, file, "", p) for p in problems]
            continue
        named = _modules_named(doc, set())
        missing = sorted(m for m in named if not _module_exists(overlay, root, m))
        if missing:
            findings += [Finding(who, file, "", f"module {m} is not in the models at {root}") for m in missing]
            continue
        modules |= named
        docs.append(doc)
        owners.append((who, file))
    if not docs:
        return findings
    schema = YangSchema(
        tuple(sorted(modules, key=lambda m: (m not in _BASE_MODULES, m))),
        tuple(overlay / d for d in _model_dirs(root)),
        (f"srl_nokia-features:{','.join(enabled)}",),
    )
    for (who, file), messages in zip(owners, validate_documents(schema, docs, max_errors=max_errors)):
        findings += [Finding(who, file, m.path, m.message) for m in messages]
    return findings


def _module_exists(overlay: Path, root: Path, module: str) -> bool:
    return any((overlay / d / f"{module}.yang").exists() for d in _model_dirs(root))
