"""DeviceTarget per switch, from the intent (credentials by env-var name) and the fabric (mgmt address).

Lab mode (`--lab`) reaches the nodes of a running lab of the same fabric: the
lab runtime's `lab_access()` names the SSH key file, known_hosts and user, and
the node addresses.  Host keys are still checked (against the lab's own
known_hosts); only an intent with `credentials.strict_host_keys: false` opts out.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hpnctl.design import Fabric
from hpnctl.drivers.base import Credentials, DeviceTarget
from hpnctl.errors import ConnectError, LabError, PlatformError
from hpnctl.intent import LoadedIntent


def lab_access(fabric_name: str, runtime: str = "auto") -> dict[str, Any]:
    """The lab runtime's access data (key_file, known_hosts, user, nodes) for the lab of this fabric."""
    from hpnctl.lab.runtime import get_runtime

    # `auto` prefers containerlab when docker answers, but the lab may well be a netns one: try both.
    order = [runtime] if runtime != "auto" else ["auto", "netns", "containerlab"]
    first: Exception | None = None
    access: dict[str, Any] | None = None
    for name in order:
        try:
            access = get_runtime(name).lab_access(fabric_name)
            break
        except Exception as exc:  # noqa: BLE001 - a runtime that is missing, broken or has no such lab
            first = first or exc
    if access is None:
        if isinstance(first, LabError):
            raise first
        raise LabError(f"lab {fabric_name}: cannot read its access data ({type(first).__name__}: {first})")
    missing = [k for k in ("key_file", "known_hosts", "nodes") if not access.get(k)]
    if missing:
        raise LabError(f"lab {fabric_name}: the lab runtime gave no {', '.join(missing)}")
    return access


def build_targets(loaded: LoadedIntent, fabric: Fabric, names: list[str], lab: dict[str, Any] | None = None,
                  timeout_s: float = 30.0) -> dict[str, DeviceTarget]:
    """One DeviceTarget per selected switch; no secret is read here (only env-var names are kept)."""
    creds_ref = loaded.intent.credentials
    base_dir = Path(loaded.source).resolve().parent
    known_hosts = creds_ref.known_hosts
    if known_hosts:
        path = Path(os.path.expanduser(known_hosts))
        known_hosts = str(path if path.is_absolute() else base_dir / path)
    targets: dict[str, DeviceTarget] = {}
    for name in names:
        dev = fabric.devices[name]
        options: dict[str, Any] = {}
        host = dev.mgmt_ip
        creds = Credentials(username_env=creds_ref.username_env, password_env=creds_ref.password_env,
                            key_file_env=creds_ref.key_file_env, use_agent=creds_ref.ssh_agent)
        kh = known_hosts
        if lab is not None:
            nodes = lab.get("nodes", {})
            if name not in nodes:
                raise LabError(f"device {name} is not a node of the running lab (nodes: {', '.join(sorted(nodes))})")
            host = nodes[name]
            kh = lab["known_hosts"]
            options = {"ssh_user": lab.get("user", "root"), "ssh_key_file": lab["key_file"], "lab": True}
            creds = Credentials(username_env=creds_ref.username_env, password_env=creds_ref.password_env,
                                key_file_env=None, use_agent=False)
        if not host:
            raise PlatformError(f"device {name} has no management address")
        targets[name] = DeviceTarget(hostname=name, platform=dev.platform, host=host, credentials=creds,
                                     known_hosts=kh, strict_host_keys=creds_ref.strict_host_keys,
                                     timeout_s=timeout_s, options=options)
    return targets


def preflight(targets: dict[str, DeviceTarget]) -> None:
    """Everything that can be checked without contacting a device: drivers exist, env vars set, files present."""
    import importlib

    from hpnctl.drivers.base import _REGISTRY

    problems: list[str] = []
    for platform in sorted({t.platform for t in targets.values()}):
        spec = _REGISTRY.get(platform)
        if spec is None:
            problems.append(f"no driver for platform {platform!r}")
            continue
        module = spec.split(":")[0]
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - a driver that cannot import is a setup problem
            problems.append(f"driver {module} for platform {platform!r} cannot be loaded: {type(exc).__name__}: {exc}")
    missing_env: set[str] = set()
    missing_files: set[str] = set()
    for t in targets.values():
        c = t.credentials
        for env in (c.password_env, c.key_file_env):
            if env and env not in os.environ:
                missing_env.add(env)
        if c.key_file_env and os.environ.get(c.key_file_env) and not os.path.isfile(os.environ[c.key_file_env]):
            missing_files.add(f"SSH key named by {c.key_file_env}")
        if t.options.get("ssh_key_file") and not os.path.isfile(t.options["ssh_key_file"]):
            missing_files.add(t.options["ssh_key_file"])
        if t.strict_host_keys and t.known_hosts and not os.path.isfile(t.known_hosts):
            missing_files.add(t.known_hosts)
    if missing_env:
        problems.append(f"environment variable(s) not set: {', '.join(sorted(missing_env))}")
    if missing_files:
        problems.append(f"missing file(s): {', '.join(sorted(missing_files))}")
    if problems:
        raise ConnectError("refusing to contact any device: " + "; ".join(problems))


def target_to_dict(target: DeviceTarget) -> dict[str, Any]:
    """JSON form for the run state (env-var names and paths only: no secret)."""
    return asdict(target)


def target_from_dict(data: dict[str, Any]) -> DeviceTarget:
    data = dict(data)
    data["credentials"] = Credentials(**data.get("credentials", {}))
    return DeviceTarget(**data)
