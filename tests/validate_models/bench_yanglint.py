"""Measure how to run yanglint over many devices (not collected by pytest).

    python tests/validate_models/bench_yanglint.py [N_DEVICES] [N_PORTS]
    python tests/validate_models/bench_yanglint.py --srlinux [N_DEVICES]

Compares, for N translated SONiC CONFIG_DBs of N_PORTS ports each:
  session-1   one interactive yanglint fed all files on stdin
  session-N   one interactive session per CPU (what validate_files does)
  cli-pool    one `yanglint -t config` process per file, a pool of CPU workers
and the end-to-end validate_config_db / validate_config_dbs times.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from hpnctl.validate_models import find_models  # noqa: E402
from hpnctl.validate_models.sonic_yang import (  # noqa: E402
    _ALWAYS,
    _translate,
    load_schema,
    validate_config_db,
    validate_config_dbs,
)
from hpnctl.validate_models.yanglint import (  # noqa: E402
    YangSchema,
    validate_documents,
    validate_files,
    yanglint_path,
)

DATA = Path(__file__).parent / "data" / "sonic_valid.json"


def device_config(index: int, ports: int) -> dict:
    """The sonic.md example grown to `ports` ports, QoS on every port."""
    base = json.loads(DATA.read_text())
    cfg = copy.deepcopy(base)
    cfg["DEVICE_METADATA"]["localhost"]["hostname"] = f"leaf{index}"
    for table in ("PORT", "PORT_QOS_MAP", "QUEUE", "BUFFER_PG", "BUFFER_QUEUE", "PFC_WD"):
        cfg[table] = {k: v for k, v in cfg[table].items() if "Ethernet0" not in k}
    for p in range(ports):
        name = f"Ethernet{p * 8}"
        for table, entries in base.items():
            if table in ("PORT", "PORT_QOS_MAP", "QUEUE", "BUFFER_PG", "BUFFER_QUEUE", "PFC_WD"):
                for key, value in entries.items():
                    if key.startswith("Ethernet0"):
                        cfg[table][name + key[len("Ethernet0"):]] = copy.deepcopy(value)
        cfg["PORT"][name]["lanes"] = ",".join(str(p * 8 + i) for i in range(8))
        cfg["PORT"][name]["alias"] = f"etp{p + 1}"
    return cfg


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    print(f"{label:<40} {took:6.2f} s")
    return took


def cli_pool(schema: YangSchema, files: list[Path], jobs: int) -> None:
    exe = yanglint_path()
    args = [exe, "-t", "config", "-p", str(schema.search_paths[0])]
    mods = [str(schema.search_paths[0] / f"{m}.yang") for m in schema.modules]

    def one(f: Path) -> int:
        return subprocess.run(args + mods + [str(f)], capture_output=True).returncode

    with ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(one, files))
    assert not any(codes), codes


def srlinux(n: int) -> None:
    """validate_srlinux for the SRLINUX_PATHS.md example: first call (builds the
    libyang-compatible copy of the models), then warm, then N devices at once."""
    from hpnctl.validate_models.srlinux_yang import validate_srlinux, validate_srlinux_many

    models = find_models("srlinux")
    config = json.loads((DATA.parent / "srlinux_valid.json").read_text())
    timed("srlinux: 1 device, first call", lambda: validate_srlinux(config, models))
    timed("srlinux: 1 device, warm", lambda: validate_srlinux(config, models))
    timed(f"srlinux: {n} devices", lambda: validate_srlinux_many({f"leaf{i}": config for i in range(n)}, models))


def main() -> None:
    if sys.argv[1:2] == ["--srlinux"]:
        srlinux(int(sys.argv[2]) if len(sys.argv) > 2 else 100)
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    ports = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    models = find_models("sonic")
    schema_info = load_schema(models)
    configs = {f"leaf{i}": device_config(i, ports) for i in range(n)}
    docs, modules = [], list(_ALWAYS)
    for cfg in configs.values():
        doc, problems, used = _translate(cfg, schema_info)
        assert not problems, problems
        docs.append(doc)
        modules += [m for m in used if m not in modules]
    schema = YangSchema(tuple(modules), (schema_info.models_dir,))
    cpus = os.cpu_count() or 1
    print(f"{n} devices x {ports} ports, {len(modules)} modules, {cpus} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, doc in enumerate(docs):
            files.append(Path(tmp) / f"d{i}.json")
            files[-1].write_text(json.dumps(doc))
        timed("session-1 (one interactive yanglint)", lambda: validate_files(schema, files, jobs=1))
        timed(f"session-{cpus} (one per CPU)", lambda: validate_files(schema, files, jobs=cpus))
        timed(f"cli-batch-{cpus} (CLI, restart after a failure)", lambda: validate_files(schema, files, jobs=cpus, mode="cli"))
        timed(f"cli-pool ({cpus} workers, 1 process/file)", lambda: cli_pool(schema, files, cpus))
    broken = []
    for doc in docs:
        bad = copy.deepcopy(doc)
        sched = bad["sonic-scheduler:sonic-scheduler"]["sonic-scheduler:SCHEDULER"]["SCHEDULER_LIST"]
        sched[1]["weight"] = 200  # three independent errors per device
        wred = bad["sonic-wred-profile:sonic-wred-profile"]["sonic-wred-profile:WRED_PROFILE"]["WRED_PROFILE_LIST"]
        wred[0]["ecn"] = "ecn_blue"
        bad["sonic-queue:sonic-queue"]["sonic-queue:QUEUE"]["QUEUE_LIST"][0]["wred_profile"] = "NOPE"
        broken.append(bad)
    for mode in ("session", "cli"):
        timed(f"{n} devices x 3 errors, mode={mode}", lambda: validate_documents(schema, broken, mode=mode))
    first = next(iter(configs.values()))
    timed("validate_config_db, 1 device (schema cached)", lambda: validate_config_db(first, models))
    timed(f"validate_config_dbs, {n} devices", lambda: validate_config_dbs(configs, models))


if __name__ == "__main__":
    main()
