"""render(): DeviceModel → files, through templates/<platform>/<file>.j2.

JSON/YAML-shaped outputs (SONiC CONFIG_DB, SR Linux, NVUE) are first turned
into their document by a small builder in hpnctl/builders/<platform>.py
(`build(model) -> dict[file, data]`), handed to the template as `doc`; the
template decides the text form.  Rendering a fabric forks worker processes that
inherit the designed Fabric (copy-on-write), so each worker only receives device
names and sends back hashes: it scales with cores without pickling the fabric.
"""
from __future__ import annotations

import fnmatch
import hashlib
import importlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import jinja2
import yaml

from hpnctl.design import Fabric
from hpnctl.errors import RenderError
from hpnctl.intent import LoadedIntent
from hpnctl.model import DeviceModel, build_device_model
from hpnctl.paths import default_templates_dir
from hpnctl.platforms import get_platform
from hpnctl.units import format_bytes, format_speed


class _IndentDumper(yaml.SafeDumper):
    """Block-style YAML with indented lists (the way NVUE prints startup.yaml)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _to_yaml(data) -> str:
    return yaml.dump(data, Dumper=_IndentDumper, default_flow_style=False, sort_keys=False, width=1000)


def _to_json(data, indent: int = 4) -> str:
    return json.dumps(data, indent=indent, sort_keys=True)


@lru_cache(maxsize=8)
def make_env(templates_dir: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, not an empty line
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        # Templates do not change during a run: without this, every include/import stats its file.
        auto_reload=False,
    )
    env.filters.update(to_json=_to_json, to_yaml=_to_yaml, speed=format_speed, bytes=format_bytes,
                       kbytes=lambda n: int(n // 1000), seconds=lambda ms: "%g" % (ms / 1000),
                       join_ints=lambda xs, sep=",": sep.join(str(x) for x in xs))
    return env


@lru_cache(maxsize=None)  # a missing module is searched for on sys.path at every import attempt
def _builder(platform: str) -> Callable[[DeviceModel], dict] | None:
    try:
        module = importlib.import_module(f"hpnctl.builders.{platform}")
    except ModuleNotFoundError as exc:
        if exc.name == f"hpnctl.builders.{platform}" or exc.name == "hpnctl.builders":
            return None
        raise
    return module.build


def render_device(model: DeviceModel, templates_dir: Path | str | None = None) -> dict[str, str]:
    """All files of one device (file name → text)."""
    tdir = str(templates_dir or default_templates_dir())
    env = make_env(tdir)
    platform = get_platform(model["platform"])
    builder = _builder(platform.name)
    docs = builder(model) if builder else {}
    return {name: render_template(env, tdir, f"{platform.name}/{name}.j2", model, docs.get(name), f"device {model['hostname']}")
            for name in platform.files}


def render_template(env: jinja2.Environment, tdir: str, template_name: str, model: dict, doc, who: str) -> str:
    """One file; a template problem becomes a RenderError naming the template file and line."""
    try:
        return env.get_template(template_name).render(model=model, doc=doc, **model)
    except jinja2.TemplateNotFound:
        raise RenderError(f"template {template_name} not found in {tdir}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or template_name}:{exc.lineno}: template syntax: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{_template_position(exc, tdir, template_name)}: {exc.message} ({who})") from None


def write_files(target: Path, files: dict[str, str]) -> dict[str, str]:
    """Write one device's files (scripts executable); returns file name → sha256 for the manifest."""
    target.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for fname, text in files.items():
        data = text.encode()
        path = target / fname
        path.write_bytes(data)
        if fname.endswith(".sh"):
            path.chmod(0o755)
        hashes[fname] = hashlib.sha256(data).hexdigest()
    return hashes


def _template_position(exc: BaseException, tdir: str, fallback: str) -> str:
    """template file:line of the frame that failed (Jinja keeps template lines in the traceback)."""
    tb = exc.__traceback__
    where = fallback
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(tdir):
            where = f"{os.path.relpath(filename, tdir)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


@dataclass
class RenderedDevice:
    hostname: str
    role: str
    platform: str
    network: str
    files: dict[str, str]  # name → sha256
    unsupported: list[dict]


# Set in the parent before forking; workers read it (copy-on-write), never write it.
_WORK: tuple | None = None


def _render_chunk(names: list[str]) -> list[RenderedDevice]:
    loaded, fabric, out_dir, tdir = _WORK
    results = []
    for name in names:
        dev = fabric.devices[name]
        model = build_device_model(loaded, fabric, dev)
        hashes = write_files(Path(out_dir) / name, render_device(model, tdir))
        results.append(RenderedDevice(name, dev.role, dev.platform, dev.network, hashes, model["unsupported"]))
    return results


def select_devices(fabric: Fabric, limit: str | None) -> list[str]:
    """Switch names matching --limit (comma-separated globs; a role name selects the role)."""
    names = [d.name for d in fabric.switches()]
    if not limit:
        return names
    pats = [p.strip() for p in limit.split(",") if p.strip()]
    roles = {"leaf", "spine", "super-spine"}
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) or (p in roles and fabric.devices[n].role == p) for p in pats)]


def render_fabric(loaded: LoadedIntent, fabric: Fabric, out_dir: Path, limit: str | None = None,
                  templates_dir: Path | None = None, jobs: int | None = None,
                  progress: Callable[[int], None] | None = None) -> dict:
    """Render every selected switch into out_dir/<device>/ and write out_dir/manifest.json."""
    global _WORK
    names = select_devices(fabric, limit)
    out_dir.mkdir(parents=True, exist_ok=True)
    tdir = str(Path(templates_dir or default_templates_dir()).resolve())
    if not Path(tdir).is_dir():
        raise RenderError(f"templates directory {tdir} does not exist")
    jobs = jobs or os.cpu_count() or 1
    _WORK = (loaded, fabric, str(out_dir), tdir)
    results: list[RenderedDevice] = []
    try:
        chunk = max(8, min(200, len(names) // (jobs * 8) or 1))
        chunks = [names[i:i + chunk] for i in range(0, len(names), chunk)]
        if jobs == 1 or len(chunks) == 1:
            for c in chunks:
                results.extend(_render_chunk(c))
                if progress:
                    progress(len(c))
        else:
            with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
                for part in pool.map(_render_chunk, chunks):
                    results.extend(part)
                    if progress:
                        progress(len(part))
    finally:
        _WORK = None
    manifest = {
        "fabric": fabric.name,
        "intent": str(loaded.source),
        "devices": [
            {"device": r.hostname, "role": r.role, "platform": r.platform, "network": r.network,
             "files": [{"name": f, "sha256": h} for f, h in sorted(r.files.items())],
             **({"unsupported": r.unsupported} if r.unsupported else {})}
            for r in sorted(results, key=lambda r: r.hostname)
        ],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
