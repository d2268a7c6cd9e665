"""What would change, per device: against the live devices (the drivers' own diffs) or a snapshot directory.

Offline (`--against DIR`, the `render`/`snapshot` layout DIR/<device>/<file>):
  JSON/YAML files (SONiC config_db.json, SR Linux config.json, NVUE startup.yaml) → RFC 6902 JSON Patch;
  FRR files → `frr-reload.py --test --input <snapshot> <rendered>` when FRR is installed here
              (the same reload diff the device would compute), else hier-config remediation;
  other CLI configs (EOS, SR Linux config.cli) → hier-config remediation lines + unified diff;
  anything else (qos.sh, sysctl.conf) → unified diff.
Unchanged devices are counted, not printed.  Exit status like `terraform plan -detailed-exitcode`:
0 no change, 2 changes, 1 error.
"""
from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, Driver
from hpnctl.drivers.ssh import scrub, target_secrets
from hpnctl.errors import HpnctlError, PlatformError

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
CLI_DIALECT = {"eos": "eos", "sonic": "sonic", "linux": "linux", "srlinux": None, "nvue": None}


@dataclass
class DiffOutcome:
    device: str
    platform: str
    diff: DeviceDiff | None = None
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.diff and self.diff.changed)


# --------------------------------------------------------------------------- live

def live_diff_one(target: DeviceTarget, files: dict[str, str], factory: Callable[[DeviceTarget], Driver]) -> DiffOutcome:
    """Open, read, load, diff, discard: nothing is pushed."""
    driver = None
    secrets = target_secrets(target)  # env lookups only: cannot fail
    try:
        driver = factory(target)
        driver.open()
        driver.get_running()
        driver.load_candidate(files)
        diff = driver.diff()
        driver.discard()
        diff.text = scrub(diff.text, secrets)
        diff.files = {k: scrub(v, secrets) for k, v in diff.files.items()}
        return DiffOutcome(target.hostname, target.platform, diff)
    except HpnctlError as exc:
        return DiffOutcome(target.hostname, target.platform, error=scrub(str(exc), secrets))
    except Exception as exc:  # noqa: BLE001 - one device's surprise is that device's error
        return DiffOutcome(target.hostname, target.platform, error=scrub(f"{type(exc).__name__}: {exc}", secrets))
    finally:
        if driver is not None:
            try:
                driver.close()
            except Exception:  # noqa: BLE001
                pass


# --------------------------------------------------------------------------- offline

def _unified(old: str, new: str, name: str) -> str:
    return "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), f"snapshot/{name}",
                                          f"rendered/{name}", lineterm=""))


def _load_doc(text: str, name: str) -> Any:
    if not text.strip():
        return {}
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def frr_reload_offline(old: str, new: str) -> str | None:
    """`frr-reload.py --test --input old new` on this machine; None when FRR is not installed here."""
    if not (os.access(FRR_RELOAD, os.X_OK) and shutil.which("vtysh")):
        return None
    from hpnctl.drivers.linux import _ignored_entry, format_entries, parse_reload_test

    with tempfile.TemporaryDirectory(prefix="hpnctl-diff-") as tmp:
        running, candidate = Path(tmp, "running.conf"), Path(tmp, "candidate.conf")
        running.write_text(old)
        candidate.write_text(new)
        try:
            done = subprocess.run([FRR_RELOAD, "--test", "--input", str(running), str(candidate)],
                                  capture_output=True, text=True, timeout=120, cwd=tmp)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        return format_entries([e for e in parse_reload_test(done.stdout) if not _ignored_entry(e)])


def file_diff(platform: str, name: str, old: str | None, new: str | None) -> tuple[str, list[str], list[dict] | None, str]:
    """(human text, remediation lines, JSON patch, unified diff) for one file."""
    old_t, new_t = old or "", new or ""
    unified = _unified(old_t, new_t, name)
    if name.endswith((".json", ".yaml", ".yml")):
        import jsonpatch

        try:
            patch = jsonpatch.make_patch(_load_doc(old_t, name), _load_doc(new_t, name)).patch
        except (ValueError, yaml.YAMLError) as exc:
            return f"--- {name}: not parseable ({exc}); unified diff\n{unified}", [], None, unified
        text = f"--- {name}: JSON Patch (RFC 6902)\n" + "\n".join(json.dumps(op, sort_keys=True) for op in patch)
        return text, [], patch, unified
    if name == "frr.conf":
        reload = frr_reload_offline(old_t, new_t)
        if reload is not None:
            return f"--- {name}: frr-reload.py --test --input snapshot\n{reload}", [], None, unified
    dialect = CLI_DIALECT.get(platform)
    if name.endswith((".cfg", ".conf", ".cli")) and dialect:
        from hpnctl.drivers.clidiff import remediation_lines

        try:
            remediation = remediation_lines(dialect, old_t, new_t)
        except PlatformError:
            remediation = []
        text = f"--- {name}: remediation (hier-config)\n" + "\n".join(remediation) + "\n" + unified
        return text, remediation, None, unified
    return unified, [], None, unified


def offline_diff_one(device: str, platform: str, rendered: dict[str, str], snapshot_dir: Path) -> DiffOutcome:
    base = snapshot_dir / device
    notes: list[str] = []
    if not base.is_dir():
        notes.append(f"{device} is not in the snapshot {snapshot_dir}: every file is new")
    texts: list[str] = []
    files: dict[str, str] = {}
    remediation: list[str] = []
    patch: list[dict] = []
    changed = False
    for name, new in sorted(rendered.items()):
        path = base / name
        old = path.read_text() if path.is_file() else None
        if old == new:
            continue
        changed = True
        text, rem, p, unified = file_diff(platform, name, old, new)
        if old is None:
            notes.append(f"{name}: not in the snapshot")
        texts.append(text)
        files[name] = unified
        remediation += rem
        patch += p or []
    diff = DeviceDiff(device, changed, "\n".join(texts), remediation, patch or None, files, notes)
    return DiffOutcome(device, platform, diff)


# --------------------------------------------------------------------------- reports

def exit_code(outcomes: dict[str, DiffOutcome]) -> int:
    if any(o.error for o in outcomes.values()):
        return 1
    return 2 if any(o.changed for o in outcomes.values()) else 0


def report_dict(outcomes: dict[str, DiffOutcome], fabric: str, mode: str, against: str | None) -> dict[str, Any]:
    ordered = [outcomes[n] for n in outcomes]
    changed = [o for o in ordered if o.changed]
    return {
        "fabric": fabric, "mode": mode, "against": against,
        "summary": {"devices": len(ordered), "changed": len(changed),
                    "unchanged": sum(1 for o in ordered if not o.changed and not o.error),
                    "errors": sum(1 for o in ordered if o.error)},
        "changed": [{"platform": o.platform, **o.diff.as_dict()} for o in changed if o.diff],
        "unchanged": [o.device for o in ordered if not o.changed and not o.error],
        "errors": {o.device: o.error for o in ordered if o.error},
        "exit_code": exit_code(outcomes),
    }


def format_text(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for d in report["changed"]:
        lines.append(f"=== {d['hostname']} ({d['platform']}): changes")
        lines += ["  " + line for line in d["text"].splitlines()]
        lines += [f"  note: {n}" for n in d["notes"]]
        lines.append("")
    for name, error in report["errors"].items():
        lines.append(f"=== {name}: ERROR {error}")
    s = report["summary"]
    where = report["against"] if report["mode"] == "snapshot" else "the live devices"
    lines.append(f"{s['changed']} device(s) would change, {s['unchanged']} unchanged, {s['errors']} error(s) "
                 f"(fabric {report['fabric']}, against {where})")
    return "\n".join(lines)


def format_markdown(report: dict[str, Any]) -> str:
    """A pull-request comment: summary first, one collapsible section per changed device."""
    s = report["summary"]
    where = f"snapshot `{report['against']}`" if report["mode"] == "snapshot" else "the live devices"
    icon = "❌" if s["errors"] else ("⚠️" if s["changed"] else "✅")
    out = [f"### {icon} hpnctl diff — fabric `{report['fabric']}` against {where}", "",
           f"**{s['changed']} device(s) would change**, {s['unchanged']} unchanged, {s['errors']} error(s).", ""]
    if report["changed"]:
        out += ["| device | platform | files |", "|---|---|---|"]
        for d in report["changed"]:
            out.append(f"| `{d['hostname']}` | {d['platform']} | {', '.join(f'`{f}`' for f in sorted(d['files'])) or '-'} |")
        out.append("")
    for d in report["changed"]:
        out += [f"<details><summary><code>{d['hostname']}</code> ({d['platform']})</summary>", "", "```diff",
                d["text"].replace("```", "ˋˋˋ"), "```"]
        out += [f"> {n}" for n in d["notes"]]
        out += ["", "</details>", ""]
    if report["errors"]:
        out += ["**Errors**", ""] + [f"- `{n}`: {e}" for n, e in report["errors"].items()] + [""]
    return "\n".join(out)
