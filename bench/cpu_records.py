"""A pytest plugin (`-p cpu_records`, bench/ on the path): per test, the CPU time of its worker
and of the worker's reaped descendants (`dvc repro`, stage modules, `mlflow server`), which
pytest's `--durations` cannot tell from waiting. One JSON line per test, in a file per worker
under $SUITE_CPU_RECORDS. `bench/suite_cpu.py` runs the suite with it and sums the records."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Generator
from pathlib import Path

import pytest

RECORDS_ENV = "SUITE_CPU_RECORDS"


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator:
    """Setup, call and teardown of one test: wall, own CPU, CPU of the processes it ran."""
    start = time.monotonic()
    own, children = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    result = yield
    line = {"test": item.nodeid, "wall_s": time.monotonic() - start,
            "own_s": cpu_seconds(resource.RUSAGE_SELF) - own,
            "children_s": cpu_seconds(resource.RUSAGE_CHILDREN) - children}
    with open(Path(os.environ[RECORDS_ENV]) / f"{os.getpid()}.jsonl", "a") as out:
        out.write(json.dumps(line) + "\n")
    return result


def read(records: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(records.glob("*.jsonl"))
            for line in f.read_text().splitlines()]
