"""bench/cpu_records.py and bench/suite_cpu.py: per-test CPU records and their summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from cpu_records import RECORDS_ENV, read  # noqa: E402  (bench/ on the path first)
from suite_cpu import summary  # noqa: E402


def test_summary_ranks_tests_and_files_by_cpu_with_their_processes():
    records = [
        {"test": "tests/a.py::t1", "wall_s": 10.0, "own_s": 1.0, "children_s": 8.0},
        {"test": "tests/a.py::t2", "wall_s": 2.0, "own_s": 2.0, "children_s": 0.0},
        {"test": "tests/b.py::t3", "wall_s": 5.0, "own_s": 0.5, "children_s": 5.0},
    ]
    found = summary(records, top=2)
    assert found["cpu_s"] == 16 and found["children_s"] == 13 and found["tests"] == 3
    assert [t["test"] for t in found["top"]] == ["tests/a.py::t1", "tests/b.py::t3"]
    assert found["files"] == {"tests/a.py": 11.0, "tests/b.py": 5.5}


def test_the_plugin_counts_the_cpu_of_a_process_a_test_runs(tmp_path):
    (tmp_path / "test_spin.py").write_text(
        "import subprocess, sys\n"
        "def test_spin():\n"
        "    subprocess.run([sys.executable, '-c', 'sum(range(3 * 10**7))'], check=True)\n"
        "def test_idle():\n"
        "    pass\n")
    records = tmp_path / "records"
    records.mkdir()
    env = {**os.environ, RECORDS_ENV: str(records),
           "PYTHONPATH": str(ROOT / "bench")}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "cpu_records", "-p",
                    "no:cacheprovider", str(tmp_path / "test_spin.py")], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    spin, idle = sorted(read(records), key=lambda r: r["test"], reverse=True)
    assert spin["test"].endswith("::test_spin") and idle["test"].endswith("::test_idle")
    assert spin["children_s"] > 0.2 > idle["children_s"]
