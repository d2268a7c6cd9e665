"""Nokia SR Linux: a thin layer over NAPALM `srlinux` (PyPI napalm-srlinux, JSON-RPC over HTTPS).

napalm-srlinux keeps the candidate client-side; every step is one JSON-RPC call:
  load      validate {replace / <config.json>}            (merge: update /)
  diff      diff {same commands}                          (device-computed, CLI-style text)
  commit    get state /system/configuration/commit[id=*]  (no confirm already pending)
            cli /tools system configuration generate-checkpoint name NAPALM-<session>-<n>
            set candidate {commands}                      (one transaction)
  commit(t) same, with "confirm-timeout": t on the set   (SR Linux reverts unless accepted)
  confirm   get state .../commit[id=*] ; cli /tools system configuration confirmed-accept
  rollback  pending: cli /tools system configuration confirmed-reject
            otherwise: cli [enter candidate private name <n>, load checkpoint name <cp>, commit now]
  discard   nothing on the device

The JSON-RPC `set` is transactional: when it fails nothing was applied, so a
failed commit leaves the running config as it was.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import jsonpatch
from napalm.base.exceptions import (
    CommandErrorException,
    CommitConfirmException,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from napalm.base.exceptions import CommitError as NapalmCommitError
from napalm_srlinux import NokiaSRLinuxDriver

from hpnctl.drivers.base import DeviceDiff, DeviceTarget, LoadMode
from hpnctl.drivers.clidiff import unified_diff
from hpnctl.drivers.ssh import scrub, target_secrets
from hpnctl.errors import CommitError, ConnectError, HpnctlError, PlatformError, RollbackError

log = logging.getLogger(__name__)

CONFIG_JSON = "config.json"
CONFIG_CLI = "config.cli"

# verify check → (YANG path, datastore) for JSON-RPC get.
COLLECT_PATHS: dict[str, tuple[str, str]] = {
    "bgp_summary": ("/network-instance[name=default]/protocols/bgp/neighbor", "state"),
    "interfaces": ("/interface", "state"),
    "qos_profile": ("/qos", "running"),
    "ecmp_routes": ("/network-instance[name=default]/route-table/ipv4-unicast", "state"),
    "pfc": ("/qos/interfaces", "state"),
}

_REFUSED = (
    CommandErrorException,
    CommitConfirmException,
    MergeConfigException,
    ReplaceConfigException,
    NapalmCommitError,
)


def _pretty(text: str) -> str:
    """Sorted, indented JSON so that a unified diff shows only real changes."""
    return json.dumps(json.loads(text), indent=2, sort_keys=True)


class SrlinuxDriver:
    """Driver contract for SR Linux over JSON-RPC (napalm-srlinux)."""

    def __init__(self, target: DeviceTarget, *, http_transport: httpx.BaseTransport | None = None):
        self.target = target
        self._http_transport = http_transport  # tests inject a recorded-response transport
        self._napalm: NokiaSRLinuxDriver | None = None
        self._candidate: str | None = None
        self._mode: LoadMode = "replace"

    # ------------------------------------------------------------------ lifecycle

    def _optional_args(self) -> dict[str, Any]:
        """JSON-RPC over HTTPS; the certificate is verified unless the target is in lab mode."""
        opts = self.target.options
        args: dict[str, Any] = {"insecure": bool(opts.get("insecure", False))}
        if opts.get("jsonrpc_port"):
            args["jsonrpc_port"] = int(opts["jsonrpc_port"])
        if opts.get("tls_ca"):
            args["tls_ca"] = opts["tls_ca"]
        if not self.target.strict_host_keys:
            args["skip_verify"] = True
        return args

    def _password(self) -> str:
        creds = self.target.credentials
        password = creds.password()
        if password is None:
            # JSON-RPC uses HTTP basic auth: there is no key or agent alternative.
            raise ConnectError(f"{self.target.hostname}: password environment variable {creds.password_env} is not set")
        return password

    def open(self) -> None:
        password = self._password()
        username = self.target.credentials.username()
        self._napalm = NokiaSRLinuxDriver(
            self.target.host,
            username,
            password,
            timeout=int(self.target.timeout_s),
            optional_args=self._optional_args(),
        )
        if self._http_transport is not None:
            self._napalm.device.jsonrpc_client = httpx.Client(
                transport=self._http_transport, auth=httpx.BasicAuth(username, password)
            )
        try:
            self._napalm.open()
        except (ConnectionException, httpx.HTTPError, OSError) as exc:
            self._napalm = None
            message = f"cannot connect to {self.target.hostname} ({self.target.host}): {exc}"
            raise ConnectError(scrub(message, target_secrets(self.target))) from None

    def close(self) -> None:
        if self._napalm is not None:
            napalm, self._napalm = self._napalm, None
            napalm.close()

    def _device(self) -> NokiaSRLinuxDriver:
        if self._napalm is None:
            raise ConnectError(f"{self.target.hostname}: not connected (call open() first)")
        return self._napalm

    def _call(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Call napalm; a lost connection is a ConnectError, anything else propagates."""
        try:
            return func(*args, **kwargs)
        except ConnectionException as exc:
            raise ConnectError(scrub(f"{self.target.hostname}: {what}: {exc}", target_secrets(self.target))) from None

    # ------------------------------------------------------------------ config

    def get_running(self) -> dict[str, str]:
        running = self._call("get running", self._device().get_config, retrieve="running")["running"]
        return {CONFIG_JSON: _pretty(running) + "\n"}

    def load_candidate(self, files: dict[str, str], mode: LoadMode = "replace") -> None:
        """Validate the candidate on the device (JSON preferred; config.cli alone as CLI lines)."""
        config = files.get(CONFIG_JSON) or files.get(CONFIG_CLI)
        if not config:
            raise CommitError(f"{self.target.hostname}: candidate has neither {CONFIG_JSON} nor {CONFIG_CLI}")
        device = self._device()
        load = device.load_replace_candidate if mode == "replace" else device.load_merge_candidate
        to_load = scoped_replace(config) if mode == "replace" and config.lstrip().startswith("{") else config
        try:
            self._call("load", load, config=to_load)
        except _REFUSED as exc:
            self.discard()
            raise CommitError(f"{self.target.hostname}: device refused the candidate: {exc}") from None
        self._candidate, self._mode = config, mode

    def diff(self) -> DeviceDiff:
        """The device's diff; for a JSON replace also an RFC 6902 patch and a unified diff."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        try:
            text = self._call("diff", self._device().compare_config)
        except _REFUSED as exc:
            raise CommitError(f"{self.target.hostname}: diff failed: {exc}") from None
        patch, files = None, {}
        if self._mode == "replace" and self._candidate.lstrip().startswith("{"):
            candidate = json.loads(self._candidate)
            # Only the subtrees the scoped replace touches can change (see scoped_replace).
            running = _pretty(json.dumps(owned_view(json.loads(self.get_running()[CONFIG_JSON]), candidate))) + "\n"
            patch = jsonpatch.make_patch(json.loads(running), candidate).patch
            unified = unified_diff(running, _pretty(self._candidate), CONFIG_JSON)
            files = {CONFIG_JSON: unified} if unified else {}
        return DeviceDiff(
            hostname=self.target.hostname,
            changed=bool(text.strip()),
            text=text,
            patch=patch,
            files=files,
        )

    def commit(self, confirm_timeout: int | None = None) -> None:
        """Checkpoint, then one transactional set (with confirm-timeout when asked)."""
        if self._candidate is None:
            raise CommitError(f"{self.target.hostname}: no candidate loaded")
        try:
            self._call("commit", self._device().commit_config, revert_in=confirm_timeout)
        except _REFUSED as exc:
            self.discard()
            raise CommitError(
                f"{self.target.hostname}: {exc}; the transaction was not applied, running config unchanged"
            ) from None
        self._candidate = None

    def confirm(self) -> None:
        try:
            self._call("confirm", self._device().confirm_commit)
        except _REFUSED as exc:
            raise CommitError(f"{self.target.hostname}: confirm failed: {exc}") from None

    def discard(self) -> None:
        """The candidate lives client-side in napalm-srlinux: forget it."""
        self._candidate = None
        if self._napalm is not None:
            self._napalm.discard_config()

    def rollback(self, backup: dict[str, str] | None = None) -> None:
        """Reject a pending confirm / restore the pre-commit checkpoint, or replace with `backup`."""
        device = self._device()
        try:
            if backup is None:
                self._call("rollback", device.rollback)
            else:
                self._call("rollback", device.load_replace_candidate, config=backup[CONFIG_JSON])
                self._call("rollback", device.commit_config)
        except _REFUSED as exc:
            raise RollbackError(f"{self.target.hostname}: rollback failed: {exc}") from None

    # ------------------------------------------------------------------ verify

    def collect(self, check: str) -> Any:
        try:
            path, datastore = COLLECT_PATHS[check]
        except KeyError:
            known = ", ".join(COLLECT_PATHS)
            raise PlatformError(f"srlinux: no data path for check {check!r} (known: {known})") from None
        from napalm_srlinux.device import SRLinuxDevice

        try:
            (result,) = self._call(
                "collect", self._device().device.get_paths, [path], SRLinuxDevice.Datastore(datastore)
            )
        except CommandErrorException as exc:
            raise HpnctlError(f"{self.target.hostname}: get {path} failed: {exc}") from None
        return result


def scoped_replace(config_json: str) -> str:
    """Turn a rendered device tree into a gNMI-style `replaces` envelope of the subtrees hpnctl owns.

    A plain JSON replace is `replace /`: it would delete what hpnctl does not render
    (mgmt0, the mgmt network-instance, system servers, users) and cut the session.
    Lists are replaced entry by entry (`/interface[name=ethernet-1/1]`), containers
    whole (`/qos`), and under /system only the children hpnctl renders.
    """
    tree = json.loads(config_json)
    if not isinstance(tree, dict) or any(k in tree for k in ("replaces", "updates", "deletes")):
        return config_json
    replaces: list[dict[str, Any]] = []
    for key, value in tree.items():
        name = key.split(":", 1)[-1]
        if isinstance(value, list):
            for entry in value:
                replaces.append({"path": f"/{name}[name={entry['name']}]", "value": entry})
        elif name == "system" and isinstance(value, dict):
            for child, sub in value.items():
                replaces.append({"path": f"/system/{child.split(':', 1)[-1]}", "value": sub})
        else:
            replaces.append({"path": f"/{name}", "value": value})
    return json.dumps({"replaces": replaces}, indent=1, sort_keys=True)


def owned_view(running: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """The part of the running tree that scoped_replace(candidate) would replace."""
    view: dict[str, Any] = {}
    for key, value in candidate.items():
        have = running.get(key)
        if have is None:
            continue
        if isinstance(value, list) and isinstance(have, list):
            names = {e.get("name") for e in value}
            view[key] = [e for e in have if e.get("name") in names]
        elif key.split(":", 1)[-1] == "system" and isinstance(have, dict):
            view[key] = {child: have[child] for child in value if child in have}
        else:
            view[key] = have
    return view
