"""How long DVC takes to read this project's dvc.lock, with and without ruamel.yaml's C parser.

    python bench/lockfile_yaml.py [--repeat N]

DVC parses dvc.lock with `YAML(typ="safe")` several times per command (42 parses in one
`dvc exp run` of the small test grid); ruamel.yaml 0.19.1 uses its C parser for that only when
`ruamel.yaml.clib` is installed (pyproject: `ruamel.yaml[oldlibyaml]`). Prints both timings and
their ratio, and `dvc status` as a user runs it; also PyYAML's pure-Python and libyaml safe
loaders, with which `koen.tracking.tags.dvc_md5` reads the lock once per evaluated system.
Writes metrics/bench/lockfile_yaml.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.main import CParser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)


def best_seconds(load: Callable[[], object], repeat: int) -> float:
    """Best of `repeat` runs of `load`."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        load()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if CParser is None:
        sys.exit("ruamel.yaml's C parser is missing: pip install 'ruamel.yaml[oldlibyaml]'")
    lock = (ROOT / "dvc.lock").read_text(encoding="utf-8")
    # as DVC's `parse_yaml` reads it, then as koen.tracking.tags does
    pure = best_seconds(lambda: YAML(typ="safe", pure=True).load(lock), args.repeat)
    c = best_seconds(lambda: YAML(typ="safe").load(lock), args.repeat)
    pyyaml_pure = best_seconds(lambda: yaml.load(lock, Loader=yaml.SafeLoader), args.repeat)
    pyyaml_c = best_seconds(lambda: yaml.load(lock, Loader=yaml.CSafeLoader), args.repeat)
    dvc = Path(sys.executable).parent / "dvc"
    start = time.perf_counter()
    subprocess.run([str(dvc), "status", "-q"], cwd=ROOT, check=False)
    status = time.perf_counter() - start
    print(f"dvc.lock ({len(lock) / 1024:.0f} KiB): pure Python {pure:.2f} s, C parser {c:.2f} s "
          f"per parse ({pure / c:.2f}x); dvc status {status:.1f} s")
    print(f"PyYAML: SafeLoader {pyyaml_pure:.2f} s, CSafeLoader {pyyaml_c:.2f} s "
          f"({pyyaml_pure / pyyaml_c:.2f}x)")
    record.write("lockfile_yaml", {"lock_kib": round(len(lock) / 1024), "repeat": args.repeat,
                                   "pure_s": round(pure, 3), "c_parser_s": round(c, 3),
                                   "ratio": round(pure / c, 2), "dvc_status_s": round(status, 1),
                                   "pyyaml_safe_s": round(pyyaml_pure, 3),
                                   "pyyaml_csafe_s": round(pyyaml_c, 3),
                                   "pyyaml_ratio": round(pyyaml_pure / pyyaml_c, 2)})


if __name__ == "__main__":
    main()
