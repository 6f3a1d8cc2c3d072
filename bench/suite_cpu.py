"""Where the test suite's CPU goes: per test, its worker's CPU and that of every process it ran.

    python bench/suite_cpu.py -- -n 2 --dist load --maxschedchunk 1   # the suite as `make test`
    python bench/suite_cpu.py --records DIR                            # records of an earlier run

The suite is CPU-bound on 2 cores (its wall time is about its CPU time over two), and most of
that CPU is in processes the tests start. Runs pytest with the `cpu_records` plugin
(bench/cpu_records.py), prints the largest tests and files by CPU and writes
metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)
from cpu_records import RECORDS_ENV, cpu_seconds, read  # noqa: E402


def summary(records: list[dict], top: int = 15) -> dict:
    """Totals, the `top` tests by CPU and every file's CPU, largest first."""
    by_file: dict[str, float] = defaultdict(float)
    for r in records:
        by_file[r["test"].split("::")[0]] += r["own_s"] + r["children_s"]
    tests = sorted(records, key=lambda r: -(r["own_s"] + r["children_s"]))
    return {"tests": len(records),
            "cpu_s": round(sum(r["own_s"] + r["children_s"] for r in records)),
            "children_s": round(sum(r["children_s"] for r in records)),
            "top": [{"test": r["test"], "cpu_s": round(r["own_s"] + r["children_s"], 1),
                     "wall_s": round(r["wall_s"], 1)} for r in tests[:top]],
            "files": {f: round(s, 1) for f, s in sorted(by_file.items(), key=lambda x: -x[1])}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=Path, help="records of an earlier run (else run pytest)")
    parser.add_argument("--out", default="suite_cpu", help="metrics/bench/<out>.json")
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest's arguments")
    args = parser.parse_args()
    figures: dict = {}
    if args.records is None:
        args.records = Path(tempfile.mkdtemp(prefix="suite-cpu-"))
        env = {**os.environ, RECORDS_ENV: str(args.records),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "bench"),
                                                           os.environ.get("PYTHONPATH")]))}
        start = time.monotonic()
        status = subprocess.run([sys.executable, "-m", "pytest", "-p", "cpu_records",
                                 *args.pytest_args], cwd=ROOT, env=env).returncode
        figures = {"pytest_args": args.pytest_args, "exit": status,
                   "wall_s": round(time.monotonic() - start),
                   "process_cpu_s": round(cpu_seconds(resource.RUSAGE_CHILDREN))}
    found = summary(read(args.records))
    print(f"{found['tests']} tests: {found['cpu_s'] / 60:.1f} min CPU, "
          f"{found['children_s'] / 60:.1f} of it in processes the tests started")
    for t in found["top"]:
        print(f"{t['cpu_s']:8.1f} s CPU {t['wall_s']:8.1f} s wall  {t['test']}")
    for name, seconds in found["files"].items():
        print(f"{seconds:8.1f} s CPU  {name}")
    record.write(args.out, {**figures, "records": str(args.records), **found})


if __name__ == "__main__":
    main()
