"""Recorded-response test doubles for the vendor drivers (NAPALM mocked_data style).

Every fake maps the exact command (or eAPI / JSON-RPC request) it receives to a
file under tests/drivers/recorded/<platform>/<case>/, falling back to
recorded/<platform>/_common/.  File name = slug of the command; a numbered
variant `<slug>.<n>.<ext>` answers the n-th call of that command only (for
commands whose answer changes during a sequence).  A command with no recorded
answer fails the test: the drivers may send nothing we did not foresee.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from pyeapi.eapilib import CommandError, EapiConnection
from pyeapi.eapilib import ConnectionError as EapiConnectionError

from hpnctl.drivers.ssh import CommandResult

RECORDED = Path(__file__).parent / "recorded"
SECRET = "Sup3r-S3cret-pa55word"  # the test password: must never appear in an error message


def slug(command: str) -> str:
    """File-name form of a command: runs of non-alphanumerics become one underscore."""
    return re.sub(r"[^A-Za-z0-9]+", "_", command).strip("_")


class Recorded:
    """Finds the recorded answer for the n-th call of a key, case dir first, then _common."""

    def __init__(self, platform: str, case: str):
        self.dirs = [RECORDED / platform / case, RECORDED / platform / "_common"]
        for directory in self.dirs[:1]:
            assert directory.is_dir(), f"no recorded case {directory}"
        self.calls: dict[str, int] = {}

    def next_call(self, key: str) -> int:
        self.calls[key] = self.calls.get(key, 0) + 1
        return self.calls[key]

    def find(self, key: str, nth: int, suffixes: tuple[str, ...]) -> Path | None:
        for directory in self.dirs:
            for name in (f"{key}.{nth}", key):
                for suffix in suffixes:
                    path = directory / f"{name}{suffix}"
                    if path.is_file():
                        return path
        return None

    def read(self, name: str) -> str:
        """A non-command file of the case (e.g. a candidate config)."""
        for directory in self.dirs:
            if (directory / name).is_file():
                return (directory / name).read_text()
        raise FileNotFoundError(name)


# ---------------------------------------------------------------------- SSH shell (sonic, nvue)


class FakeShell:
    """hpnctl.drivers.ssh.Shell answering from recorded files: <slug>.txt (+ optional <slug>.rc)."""

    def __init__(self, platform: str, case: str):
        self.recorded = Recorded(platform, case)
        self.events: list[tuple] = []
        self.closed = False

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        self.events.append(("run", command))
        key = slug(command)
        nth = self.recorded.next_call(key)
        out = self.recorded.find(key, nth, (".txt",))
        rc = self.recorded.find(key, nth, (".rc",))
        if out is None and rc is None:
            raise AssertionError(f"unrecorded command: {command!r} (expected file {key}.txt)")
        output = out.read_text().rstrip("\n") if out else ""
        return CommandResult(output=output, rc=int(rc.read_text()) if rc else 0)

    def put_file(self, remote_path: str, content: str) -> None:
        self.events.append(("put", remote_path, content))

    def close(self) -> None:
        self.closed = True

    # -- assertions helpers
    def commands(self) -> list[str]:
        return [event[1] for event in self.events if event[0] == "run"]

    def puts(self) -> dict[str, str]:
        return {event[1]: event[2] for event in self.events if event[0] == "put"}

    def sequence(self) -> list[str]:
        """Runs and puts in order, puts shown as `put <path>`."""
        return [event[1] if event[0] == "run" else f"put {event[1]}" for event in self.events]


# ---------------------------------------------------------------------- eAPI (eos)


def eapi_transport(case: str, log: list[tuple[list[str], str]]) -> type[EapiConnection]:
    """A pyeapi connection class answering eAPI requests from recorded/eos/<case>/.

    Files: <slug>.json (JSON result), <slug>.txt (text output), <slug>.error.json
    ({"code", "message", "errors"}: the command fails like eAPI does).  Lines
    inside `configure session X` … `end` answer {} unless recorded, as EOS does.
    """
    recorded = Recorded("eos", case)

    class RecordedEapi(EapiConnection):
        def __init__(self, host: str, port: int | None = None, username: str | None = None,
                     password: str | None = None, timeout: int = 60, context: Any = None, **kwargs: Any):
            super().__init__()
            self.host = host

        def send(self, data: str) -> dict:
            request = json.loads(data)
            cmds = [c["cmd"] if isinstance(c, dict) else c for c in request["params"]["cmds"]]
            encoding = request["params"]["format"]
            log.append(([c for c in cmds if c != "enable"], encoding))
            results: list[dict] = []
            in_session = False
            for cmd in cmds:
                answer, error = _eapi_answer(recorded, cmd, encoding, in_session)
                if error is not None:
                    body = {"error": {"code": error["code"], "message": error["message"],
                                      "data": results + [{"errors": error["errors"]}]}}
                    code, msg, err, out = self._parse_error_message(body)
                    raise CommandError(code, msg, command_error=err, output=out)
                results.append(answer)
                in_session = _session_state(cmd, in_session)
            return {"jsonrpc": "2.0", "id": request["id"], "result": results}

    return RecordedEapi


def _session_state(cmd: str, in_session: bool) -> bool:
    if re.fullmatch(r"configure session \S+", cmd):
        return True
    return False if cmd == "end" else in_session


def _eapi_answer(recorded: Recorded, cmd: str, encoding: str, in_session: bool) -> tuple[dict, dict | None]:
    if cmd == "enable":
        return {}, None
    key = slug(cmd)
    nth = recorded.next_call(key)
    error = recorded.find(key, nth, (".error.json",))
    if error is not None:
        return {}, json.loads(error.read_text())
    path = recorded.find(key, nth, (".json",) if encoding == "json" else (".txt",))
    if path is not None:
        return (json.loads(path.read_text()) if encoding == "json" else {"output": path.read_text()}), None
    if in_session or re.fullmatch(r"configure session \S+", cmd):
        return ({} if encoding == "json" else {"output": ""}), None
    raise AssertionError(f"unrecorded eAPI command: {cmd!r} ({encoding}; expected {key}.{'json' if encoding == 'json' else 'txt'})")


def failing_eapi_transport(message: str) -> type[EapiConnection]:
    """A pyeapi connection whose every request fails to connect (pyeapi's own error type)."""

    class Unreachable(EapiConnection):
        def __init__(self, host: str, port: int | None = None, username: str | None = None,
                     password: str | None = None, timeout: int = 60, context: Any = None, **kwargs: Any):
            super().__init__()

        def send(self, data: str) -> dict:
            raise EapiConnectionError("https", message)

    return Unreachable


def flat_eapi_commands(log: list[tuple[list[str], str]]) -> list[str]:
    return [cmd for cmds, _ in log for cmd in cmds]


# ---------------------------------------------------------------------- JSON-RPC (srlinux)

_SESSION_RE = re.compile(r"(NAPALM|napalm)-[0-9a-f]{8}")


def _jsonrpc_key(method: str, params: dict) -> str:
    """get_<path>_<datastore> | cli_<commands> | validate | diff | set."""
    if method == "get":
        return "get_" + "_".join(slug(f"{c['path']} {c['datastore']}") for c in params["commands"])
    if method == "cli":
        # napalm-srlinux names checkpoints/candidates per session (random): normalise.
        return "cli_" + slug(_SESSION_RE.sub(r"\1-SESSION", " ; ".join(params["commands"])))
    return method


class RecordedJsonRpc:
    """httpx handler answering SR Linux JSON-RPC from recorded/srlinux/<case>/<key>.json."""

    def __init__(self, case: str):
        self.recorded = Recorded("srlinux", case)
        self.requests: list[tuple[str, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200)
        body = json.loads(request.content)
        self.requests.append((body["method"], body["params"]))
        key = _jsonrpc_key(body["method"], body["params"])
        path = self.recorded.find(key, self.recorded.next_call(key), (".json",))
        if path is None:
            raise AssertionError(f"unrecorded JSON-RPC request: {key}")
        answer = json.loads(path.read_text())
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], **answer})

    def keys(self) -> list[str]:
        return [_jsonrpc_key(method, params) for method, params in self.requests]
