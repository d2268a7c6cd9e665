"""Community SONiC: CONFIG_DB via GCU JSON Patch, FRR via frr-reload.py, over a bash SSH session.

Netmiko has no generic SONiC type (only dell_sonic / edgecore_sonic), so the
session is a plain `linux` bash shell and every admin command runs as
`sudo -n` (fail instead of hanging on a password prompt).

Sequence (checkpoint / temp-file name S = hpnctl-<host>-<time>):
  running   sudo -n sonic-cfggen -d --print-data ; sudo -n vtysh -c 'show running-config'
  diff      computed locally: RFC 6902 patch of running vs candidate over OWNED/MERGED tables,
            hier-config lines for frr.conf; nothing is sent
  commit    [refuse up-front if GCU would: BUFFER_POOL, most BUFFER_PROFILE fields]
            sudo -n config checkpoint S
            (frr.conf changes) put /tmp/S.frr-backup.conf
            (confirm timer)    put /tmp/S.revert.sh ;
                               sudo -n systemd-run --unit=S-revert --on-active=<t>s /bin/sh /tmp/S.revert.sh
            put /tmp/S.patch.json ; sudo -n config apply-patch -f CONFIGDB /tmp/S.patch.json
              (--allow-reload instead: put /tmp/S.config_db.json ; sudo -n config reload -y /tmp/S.config_db.json)
            (frr.conf changes) put /tmp/S.frr.conf ; sudo -n docker cp /tmp/S.frr.conf bgp:/tmp/S.frr.conf ;
                               sudo -n docker exec bgp /usr/lib/frr/frr-reload.py --reload /tmp/S.frr.conf
            no timer: confirm steps follow immediately
  confirm   sudo -n systemctl is-active S-revert.timer ; sudo -n systemctl stop S-revert.timer
            sudo -n config save -y ; (frr) sudo -n docker exec bgp vtysh -c 'write memory'
            sudo -n config delete-checkpoint S ; rm -f /tmp/S.*
  rollback  checkpoint still there (commit unconfirmed, or failed):
              (timer) sudo -n systemctl stop S-revert.timer ; sudo -n config rollback S
              (after --allow-reload: sudo -n config reload -y /etc/sonic/checkpoints/S.cp.json)
              (frr) docker cp + frr-reload.py --reload /tmp/S.frr-backup.conf
            checkpoint gone (commit confirmed) or backup given:
              put /tmp/S.restore.json ; sudo -n config replace /tmp/S.restore.json (+ frr restore)
            then config save -y only if the undone config had reached startup; delete-checkpoint ; rm -f /tmp/S.*
apply-patch has no automatic rollback: a failed apply is followed by `config rollback S`.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import jsonpointer

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, LoadMode
from hpnctl.drivers.clidiff import remediation_lines, unified_diff
from hpnctl.drivers.ssh import CommandResult, Shell, ShellFactory, shell_factory
from hpnctl.errors import CommitError, ConnectError, HpnctlError, PlatformError, RollbackError

log = logging.getLogger(__name__)

CONFIG_DB = "config_db.json"
FRR_CONF = "frr.conf"
SUDO = "sudo -n"
FRR_RELOAD = "/usr/lib/frr/frr-reload.py"  # inside the bgp container (GUESS: FRR's packaged path)
CHECKPOINT_DIR = "/etc/sonic/checkpoints"  # sonic-utilities generic_updater CHECKPOINTS_DIR
APPLY_TIMEOUT_S = 600.0  # GCU simulates, YANG-validates and verifies: minutes on big configs
RELOAD_TIMEOUT_S = 900.0

# Tables whose every entry hpnctl renders: a key or field the candidate lacks
# is removed from the device (when the candidate contains the table at all;
# an owned table absent from the candidate is left untouched, `{}` empties it).
OWNED_TABLES = frozenset(
    {
        "DSCP_TO_TC_MAP",
        "DOT1P_TO_TC_MAP",
        "TC_TO_QUEUE_MAP",
        "TC_TO_PRIORITY_GROUP_MAP",
        "TC_TO_DSCP_MAP",
        "MAP_PFC_PRIORITY_TO_QUEUE",
        "PFC_PRIORITY_TO_PRIORITY_GROUP_MAP",
        "PORT_QOS_MAP",
        "SCHEDULER",
        "WRED_PROFILE",
        "QUEUE",
        "BUFFER_POOL",
        "BUFFER_PROFILE",
        "BUFFER_PG",
        "BUFFER_QUEUE",
        "BUFFER_PORT_INGRESS_PROFILE_LIST",
        "BUFFER_PORT_EGRESS_PROFILE_LIST",
        "PFC_WD",
        "SWITCH_HASH",
        "INTERFACE",
        "LOOPBACK_INTERFACE",
    }
)
# Tables hpnctl shares with the platform: it sets the fields it renders on the
# keys it renders and never removes anything (PORT lanes/alias/index and
# DEVICE_METADATA mac/hwsku/platform come from the image, not from hpnctl).
MERGED_TABLES = frozenset({"PORT", "DEVICE_METADATA"})
# Fields of merged tables that belong to the switch image: the renderer fills them
# (YANG needs PORT lanes) but pushing them would overwrite the real hardware's
# values (a wrong hwsku breaks the next reboot), so they are never patched.
IMAGE_FIELDS: dict[str, frozenset[str]] = {
    "PORT": frozenset({"lanes", "alias", "index"}),
    "DEVICE_METADATA": frozenset({"hwsku", "platform", "mac"}),
}

# GCU's field-operation validators (sonic-utilities gcu_field_operation_validators.conf.json):
# BUFFER_PROFILE fields GCU may patch, per operation.  Everything else in
# BUFFER_PROFILE, and all of BUFFER_POOL, is refused (the exact rules also
# depend on ASIC and release; these are the common, conservative subset).
GCU_BUFFER_PROFILE_FIELDS: dict[str, frozenset[str]] = {
    "dynamic_th": frozenset({"replace"}),
    "xoff": frozenset({"replace"}),
    "packet_discard_action": frozenset({"add", "replace", "remove"}),
}
POOL_REFUSAL = (
    "BUFFER_POOL change needs `config reload` (GCU refuses it); "
    "run with --allow-reload or change it in a maintenance window"
)
# Routing modes in which bgpcfgd does not regenerate FRR config from CONFIG_DB.
FRR_OWNED_MODES = frozenset({"split", "split-unified"})

# verify check → (command, parser name).  JSON wherever the tool offers it.
COLLECT_COMMANDS: dict[str, tuple[str, str]] = {
    "bgp_summary": (f"{SUDO} vtysh -c 'show ip bgp summary json'", "json"),
    "ecmp_routes": (f"{SUDO} vtysh -c 'show ip route json'", "json"),
    "interfaces": ("show interfaces status", "table"),
    "qos_profile": (f"{SUDO} sonic-cfggen -d --var-json PORT_QOS_MAP", "json"),
    "pfc": ("show pfc counters", "table"),
    "hash": (f"{SUDO} sonic-cfggen -d --var-json SWITCH_HASH", "json"),
}


# ---------------------------------------------------------------------- pure helpers


def parse_config_db(text: str, what: str) -> dict[str, Any]:
    """CONFIG_DB JSON as a dict of tables; anything else is a CommitError naming the source."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommitError(f"{what}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CommitError(f"{what}: expected a JSON object of CONFIG_DB tables")
    return data


def _overlay_view(running_table: dict, candidate_table: dict) -> dict:
    """The part of running_table that candidate_table speaks about (its keys, its fields)."""
    view: dict[str, Any] = {}
    for key, fields in candidate_table.items():
        if key not in running_table:
            continue
        current = running_table[key]
        if isinstance(fields, dict) and isinstance(current, dict):
            view[key] = {name: current[name] for name in fields if name in current}
        else:
            view[key] = current
    return view


def restrict(
    running: dict[str, Any], candidate: dict[str, Any], mode: LoadMode
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(running view, candidate view, ignored tables) limited to what hpnctl owns.

    Owned tables in replace mode are compared whole; merged tables (and every
    table in merge mode) only on the keys and fields the candidate has.
    Empty tables are dropped on both sides: CONFIG_DB keeps none, and GCU
    rejects adding one.
    """
    run_view: dict[str, Any] = {}
    cand_view: dict[str, Any] = {}
    ignored: list[str] = []
    for table in sorted(candidate):
        if table not in OWNED_TABLES and table not in MERGED_TABLES:
            ignored.append(table)
            continue
        current = running.get(table, {})
        wanted = _without_image_fields(table, candidate[table])
        if table in OWNED_TABLES and mode == "replace":
            run_view[table] = current
        else:
            run_view[table] = _overlay_view(current, wanted)
        cand_view[table] = wanted
    drop_empty = lambda d: {t: v for t, v in d.items() if v}  # noqa: E731
    return drop_empty(run_view), drop_empty(cand_view), ignored


def _without_image_fields(table: str, entries: dict[str, Any]) -> dict[str, Any]:
    drop = IMAGE_FIELDS.get(table)
    if not drop:
        return entries
    return {key: {f: v for f, v in fields.items() if f not in drop} if isinstance(fields, dict) else fields
            for key, fields in entries.items()}


def config_patch(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """RFC 6902 ops (add/remove/replace only) turning old into new, in key order.

    Not jsonpatch.make_patch: it emits `move`/`copy` when values repeat, which
    GCU's per-table validators and a human reviewer both read poorly.
    """
    ops: list[dict[str, Any]] = []
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}/{jsonpointer.escape(key)}"
        if key not in new:
            ops.append({"op": "remove", "path": path})
        elif key not in old:
            ops.append({"op": "add", "path": path, "value": new[key]})
        elif isinstance(old[key], dict) and isinstance(new[key], dict):
            ops.extend(config_patch(old[key], new[key], path))
        elif old[key] != new[key]:
            ops.append({"op": "replace", "path": path, "value": new[key]})
    return ops


def gcu_refusals(patch: list[dict[str, Any]]) -> list[str]:
    """Why `config apply-patch` would refuse this patch (empty when it would not)."""
    reasons: list[str] = []
    for op in patch:
        parts = jsonpointer.JsonPointer(op["path"]).parts
        if parts[0] == "BUFFER_POOL":
            if POOL_REFUSAL not in reasons:
                reasons.append(POOL_REFUSAL)
        elif parts[0] == "BUFFER_PROFILE" and not _profile_op_patchable(parts, op["op"]):
            reasons.append(
                f"BUFFER_PROFILE {op['op']} at {op['path']} needs `config reload` (GCU only patches "
                f"{'/'.join(sorted(GCU_BUFFER_PROFILE_FIELDS))} of an existing profile); "
                "run with --allow-reload or change it in a maintenance window"
            )
    return reasons


def _profile_op_patchable(parts: list[str], op: str) -> bool:
    """A BUFFER_PROFILE op GCU accepts: one allowed field of one existing profile."""
    return len(parts) == 3 and op in GCU_BUFFER_PROFILE_FIELDS.get(parts[2], frozenset())


def gcu_notes(patch: list[dict[str, Any]]) -> list[str]:
    """Warnings for changes GCU accepts only on some ASICs/releases (not refused up-front)."""
    tables = {jsonpointer.JsonPointer(op["path"]).parts[0] for op in patch}
    notes = []
    if "PFC_WD" in tables:
        notes.append("PFC_WD changes are accepted by GCU only on ASICs/HWSKUs and releases in its validator list")
    if "WRED_PROFILE" in tables:
        notes.append("WRED_PROFILE changes: some releases let GCU patch only green thresholds/probability")
    return notes


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of a SONiC `show` table (tabulate 'simple' format: header, dashes, rows)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip() and set(line.strip()) <= {"-", " "} and index > 0:
            spans = [m.span() for m in re.finditer(r"-+", line)]
            header = [lines[index - 1][a:b].strip() for a, b in _widen(spans)]
            return [
                dict(zip(header, (row[a:b].strip() for a, b in _widen(spans))))
                for row in lines[index + 1 :]
                if row.strip()
            ]
    return []


def _widen(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Column slices that also catch right-aligned text overhanging a dash run."""
    starts = [0] + [end + 1 for _, end in spans[:-1]]
    ends = [start - 1 for start, _ in spans[1:]] + [10_000]
    return list(zip(starts, ends))


def _safe_name(text: str) -> str:
    """A name usable in file paths, unit names and checkpoint names without quoting."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)


# ---------------------------------------------------------------------- plan


@dataclass
class Plan:
    """Everything commit needs, computed once at load time from running + candidate."""

    running: dict[str, Any]
    running_frr: str
    patch: list[dict[str, Any]]
    effective: dict[str, Any]  # running with the patch applied: the full target CONFIG_DB
    frr_candidate: str | None
    frr_changed: bool
    run_view: dict[str, Any]
    cand_view: dict[str, Any]
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.patch) or self.frr_changed


def build_plan(
    running: dict[str, Any], running_frr: str, candidate: dict[str, Any], frr_candidate: str | None, mode: LoadMode
) -> Plan:
    """Compute patch, effective config, refusals and notes; sends nothing to the device."""
    run_view, cand_view, ignored = restrict(running, candidate, mode)
    patch = config_patch(run_view, cand_view)
    frr_changed = frr_candidate is not None and bool(unified_diff(running_frr, frr_candidate))
    notes = [f"table {t} is not owned by hpnctl: not pushed" for t in ignored] + gcu_notes(patch)
    routing_mode = running.get("DEVICE_METADATA", {}).get("localhost", {}).get("docker_routing_config_mode", "unified")
    if frr_changed and routing_mode not in FRR_OWNED_MODES:
        notes.append(
            f"docker_routing_config_mode is {routing_mode!r}: bgpcfgd regenerates FRR config from CONFIG_DB, "
            "so a pushed frr.conf does not survive a restart; use 'split-unified' (hpnctl renders it)"
        )
    return Plan(
        running=running,
        running_frr=running_frr,
        patch=patch,
        effective=jsonpatch.apply_patch(running, patch),
        frr_candidate=frr_candidate,
        frr_changed=frr_changed,
        run_view=run_view,
        cand_view=cand_view,
        refusals=gcu_refusals(patch),
        notes=notes,
    )


def _patch_text(patch: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {op['op']} {op['path']}" + (f" = {json.dumps(op['value'], sort_keys=True)}" if "value" in op else "")
        for op in patch
    )


# ---------------------------------------------------------------------- driver


class SonicDriver:
    """Driver contract for community SONiC (GCU apply-patch + checkpoint, FRR reload)."""

    def __init__(
        self,
        target: DeviceTarget,
        *,
        shell_factory_: ShellFactory | None = None,  # tests inject a recorded-response shell
        session_name: str | None = None,
    ):
        self.target = target
        self._shell_factory = shell_factory_ or shell_factory("linux")
        self._session = _safe_name(session_name or f"hpnctl-{target.hostname}-{int(time.time())}")
        self._shell: Shell | None = None
        self._plan: Plan | None = None
        self._checkpoint: str | None = None  # exists on the device until confirmed
        self._timer_armed = False
        self._reloaded = False  # the last commit used `config reload` instead of GCU
        self._applied: Plan | None = None  # what the last commit pushed (for rollback)
        self._saved = False  # the last commit reached startup config (rollback must re-save)
        self._noop_commit = False  # the last commit had nothing to change

    # ------------------------------------------------------------------ plumbing

    def open(self) -> None:
        self._shell = self._shell_factory(self.target)

    def close(self) -> None:
        if self._shell is not None:
            shell, self._shell = self._shell, None
            shell.close()

    def _run(self, command: str, timeout: float | None = None) -> CommandResult:
        if self._shell is None:
            raise ConnectError(f"{self.target.hostname}: not connected (call open() first)")
        return self._shell.run(command, timeout=timeout)

    def _check(self, command: str, what: str, timeout: float | None = None) -> str:
        """Run command; a non-zero exit is a CommitError quoting the device's output."""
        result = self._run(command, timeout=timeout)
        if not result.ok:
            raise CommitError(f"{self.target.hostname}: {what} failed (exit {result.rc}): {result.output.strip()}")
        return result.output

    def _put(self, name: str, content: str) -> str:
        """Upload to /tmp/<session>.<name>; returns the path."""
        path = f"/tmp/{self._session}.{name}"
        assert self._shell is not None
        self._shell.put_file(path, content)
        return path

    # ------------------------------------------------------------------ config

    def get_running(self) -> dict[str, str]:
        """CONFIG_DB dump and FRR running config, in the render layout."""
        config_db = self._check(f"{SUDO} sonic-cfggen -d --print-data", "reading CONFIG_DB")
        parsed = parse_config_db(config_db, f"{self.target.hostname}: running CONFIG_DB")
        frr = self._check(f"{SUDO} vtysh -c 'show running-config'", "reading FRR running config")
        return {CONFIG_DB: json.dumps(parsed, indent=4, sort_keys=True) + "\n", FRR_CONF: frr + "\n"}

    def load_candidate(self, files: dict[str, str], mode: LoadMode = "replace") -> None:
        """Read running config and compute the plan; the candidate stays client-side."""
        if CONFIG_DB not in files:
            raise CommitError(f"{self.target.hostname}: candidate has no {CONFIG_DB}")
        candidate = parse_config_db(files[CONFIG_DB], f"{self.target.hostname}: candidate {CONFIG_DB}")
        running = self.get_running()
        self._plan = build_plan(
            json.loads(running[CONFIG_DB]), running[FRR_CONF], candidate, files.get(FRR_CONF), mode
        )

    def _require_plan(self) -> Plan:
        if self._plan is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        return self._plan

    def diff(self) -> DeviceDiff:
        plan = self._require_plan()
        frr_lines = remediation_lines("sonic", plan.running_frr, plan.frr_candidate) if plan.frr_changed else []
        notes = list(plan.notes) + self._refusal_notes(plan)
        text = ""
        if plan.patch:
            text += f"CONFIG_DB (JSON Patch, {len(plan.patch)} ops):\n{_patch_text(plan.patch)}\n"
        if frr_lines:
            text += "FRR:\n" + "\n".join(f"  {line}" for line in frr_lines) + "\n"
        files = {
            CONFIG_DB: unified_diff(
                json.dumps(plan.run_view, indent=4, sort_keys=True),
                json.dumps(plan.cand_view, indent=4, sort_keys=True),
                CONFIG_DB,
            ),
            FRR_CONF: unified_diff(plan.running_frr, plan.frr_candidate, FRR_CONF) if plan.frr_changed else "",
        }
        return DeviceDiff(
            hostname=self.target.hostname,
            changed=plan.changed,
            text=text,
            remediation=frr_lines,
            patch=plan.patch,
            files={name: diff for name, diff in files.items() if diff},
            notes=notes,
        )

    def _allow_reload(self) -> bool:
        return bool(self.target.options.get("allow_reload"))

    def _refusal_notes(self, plan: Plan) -> list[str]:
        if plan.refusals and self._allow_reload():
            return ["--allow-reload: GCU would refuse this change, so commit uses the disruptive `config reload`"]
        return list(plan.refusals)

    # ------------------------------------------------------------------ commit

    def commit(self, confirm_timeout: int | None = None) -> None:
        """Checkpoint, (arm revert timer), apply; without a timer, persist at once."""
        plan = self._require_plan()
        self._plan = None  # consumed: success or failure, this candidate is not committed twice
        if plan.refusals and not self._allow_reload():
            # Before touching the device: GCU would refuse and leave a half-applied patch.
            raise CommitError(f"{self.target.hostname}: " + "; ".join(plan.refusals))
        if not plan.changed:
            self._noop_commit = True  # so that a confirm() after it has nothing to do, not an error
            return
        self._noop_commit = False
        reload = bool(plan.refusals)
        self._start_transaction(plan, confirm_timeout, reload)
        try:
            self._apply(plan, reload)
        except (CommitError, ConnectError) as exc:
            self._recover_failed_apply(str(exc))
        if confirm_timeout is None:
            self._persist()
            self._cleanup()

    def _start_transaction(self, plan: Plan, confirm_timeout: int | None, reload: bool) -> None:
        """Checkpoint and stage everything a revert needs, before any change is made."""
        self._check(f"{SUDO} config checkpoint {self._session}", "config checkpoint")
        self._checkpoint, self._reloaded, self._applied, self._saved = self._session, reload, plan, False
        if plan.frr_changed:
            self._put("frr-backup.conf", plan.running_frr)
        if confirm_timeout is not None:
            self._arm_timer(confirm_timeout)

    def _apply(self, plan: Plan, reload: bool) -> None:
        if reload:
            path = self._put("config_db.json", json.dumps(plan.effective, indent=4, sort_keys=True))
            self._check(f"{SUDO} config reload -y {path}", "config reload", timeout=RELOAD_TIMEOUT_S)
        elif plan.patch:
            path = self._put("patch.json", json.dumps(plan.patch, indent=4))
            self._check(f"{SUDO} config apply-patch -f CONFIGDB {path}", "config apply-patch", timeout=APPLY_TIMEOUT_S)
        if plan.frr_changed:
            assert plan.frr_candidate is not None
            self._frr_reload("frr.conf", plan.frr_candidate)

    def _frr_reload(self, name: str, text: str | None = None) -> None:
        """Copy a frr.conf into the bgp container and let frr-reload.py converge on it."""
        path = self._put(name, text) if text is not None else f"/tmp/{self._session}.{name}"
        self._check(f"{SUDO} docker cp {path} bgp:{path}", "copying frr.conf into the bgp container")
        self._check(f"{SUDO} docker exec bgp {FRR_RELOAD} --reload {path}", "frr-reload.py")

    def _recover_failed_apply(self, reason: str) -> None:
        """apply-patch does not roll itself back: return to the checkpoint, then raise."""
        try:
            self._revert_to_checkpoint()
        except (CommitError, ConnectError) as exc:
            raise RollbackError(
                f"{reason}; rollback to checkpoint {self._checkpoint} failed too: {exc}; "
                "the device may be on neither config"
            ) from None
        self._cleanup()  # nothing was saved, so nothing to re-save
        raise CommitError(f"{reason}; device was rolled back to checkpoint {self._session}")

    # ------------------------------------------------------------------ confirm timer

    def _timer_unit(self) -> str:
        return f"{self._session}-revert"

    def _revert_script(self) -> str:
        """What the device runs on its own when the confirm timer expires (as root)."""
        lines = ["#!/bin/sh", f"# hpnctl: revert to checkpoint {self._session} unless confirmed"]
        lines.append(self._restore_command(sudo=""))
        if self._applied is not None and self._applied.frr_changed:
            backup = f"/tmp/{self._session}.frr-backup.conf"
            lines.append(f"docker cp {backup} bgp:{backup} && docker exec bgp {FRR_RELOAD} --reload {backup}")
        return "\n".join(lines) + "\n"

    def _arm_timer(self, seconds: int) -> None:
        """A device-side revert (systemd transient timer): it fires even if hpnctl loses the device."""
        script = self._put("revert.sh", self._revert_script())
        self._check(
            f"{SUDO} systemd-run --unit={self._timer_unit()} --on-active={int(seconds)}s /bin/sh {script}",
            "arming the confirm timer",
        )
        self._timer_armed = True

    def _disarm_timer(self) -> None:
        if self._timer_armed:
            self._check(f"{SUDO} systemctl stop {self._timer_unit()}.timer", "stopping the confirm timer")
            self._timer_armed = False

    def confirm(self) -> None:
        """Keep the committed config: stop the revert timer, persist, drop the checkpoint."""
        if not self._timer_armed:
            if self._noop_commit:
                return
            raise CommitError(f"{self.target.hostname}: no commit is waiting for confirmation")
        state = self._run(f"{SUDO} systemctl is-active {self._timer_unit()}.timer")
        if not state.ok:
            self._timer_armed = False
            raise CommitError(
                f"{self.target.hostname}: confirm came too late: the revert timer already fired "
                f"({state.output.strip()}); the device went back to checkpoint {self._session}"
            )
        self._disarm_timer()
        self._persist()
        self._cleanup()

    def _persist(self) -> None:
        """Save running config to startup (CONFIG_DB and, if touched, FRR)."""
        self._check(f"{SUDO} config save -y", "config save")
        if self._applied is not None and self._applied.frr_changed:
            self._check(f"{SUDO} docker exec bgp vtysh -c 'write memory'", "saving FRR config")
        self._saved = True

    def _cleanup(self) -> None:
        """Drop the checkpoint and the staged temp files (only once the outcome is settled)."""
        if self._checkpoint is not None:
            self._check(f"{SUDO} config delete-checkpoint {self._checkpoint}", "config delete-checkpoint")
            self._checkpoint = None
        self._run(f"rm -f /tmp/{self._session}.*")

    # ------------------------------------------------------------------ rollback

    def _restore_command(self, sudo: str = f"{SUDO} ") -> str:
        if self._reloaded:
            # GCU would refuse to undo a BUFFER_POOL change too: reload the checkpoint file.
            return f"{sudo}config reload -y {CHECKPOINT_DIR}/{self._session}.cp.json"
        return f"{sudo}config rollback {self._session}"

    def _revert_to_checkpoint(self) -> None:
        self._disarm_timer()
        timeout = RELOAD_TIMEOUT_S if self._reloaded else APPLY_TIMEOUT_S
        self._check(self._restore_command(), "restoring the checkpoint", timeout=timeout)
        if self._applied is not None and self._applied.frr_changed:
            self._frr_reload("frr-backup.conf")

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        """Back to the checkpoint of the last commit, or to `backup` (a get_running() snapshot)."""
        try:
            if backup is None and self._checkpoint is not None:
                self._revert_to_checkpoint()
            else:
                self._restore_snapshot(backup)
            if self._saved or backup is not None:
                # startup holds the config being undone: overwrite it with the restored one.
                self._persist()
            self._cleanup()
            self._saved = False
        except (CommitError, ConnectError) as exc:
            raise RollbackError(f"{self.target.hostname}: rollback failed: {exc}") from None

    def _restore_snapshot(self, backup: dict[str, str] | None) -> None:
        """`config replace` with a full CONFIG_DB snapshot (GCU computes the patch), then FRR."""
        if backup is None:
            if self._applied is None:
                raise CommitError(f"{self.target.hostname}: nothing to roll back to (no commit, no backup)")
            backup = {CONFIG_DB: json.dumps(self._applied.running), FRR_CONF: self._applied.running_frr}
        self._disarm_timer()
        path = self._put("restore.json", backup[CONFIG_DB])
        verb = "reload -y" if self._reloaded else "replace"
        timeout = RELOAD_TIMEOUT_S if self._reloaded else APPLY_TIMEOUT_S
        self._check(f"{SUDO} config {verb} {path}", f"config {verb.split()[0]}", timeout=timeout)
        if FRR_CONF in backup and (self._applied is None or self._applied.frr_changed):
            self._frr_reload("frr-restore.conf", backup[FRR_CONF])

    def discard(self) -> None:
        """The candidate lives client-side: forget it (nothing on the device to undo)."""
        self._plan = None

    # ------------------------------------------------------------------ verify

    def collect(self, check: str) -> Any:
        if check == "dlb":
            raise PlatformError("sonic: DLB/adaptive routing is not in community SONiC (ARS is an open PR)")
        try:
            command, parser = COLLECT_COMMANDS[check]
        except KeyError:
            known = ", ".join(COLLECT_COMMANDS)
            raise PlatformError(f"sonic: no command for check {check!r} (known: {known})") from None
        result = self._run(command)
        if not result.ok:
            raise HpnctlError(f"{self.target.hostname}: `{command}` failed: {result.output.strip()}")
        if parser == "json":
            return json.loads(result.output or "{}")
        return parse_table(result.output)
