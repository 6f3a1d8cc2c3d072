"""What a stage process pays before its first line of work: the import of its module.

    python bench/stage_imports.py [--repeat 3] [--out stage_imports]

On the small profile of the tests a stage's work takes a few seconds and its imports about ten,
so the imports decide how long the end-to-end tests run. For each stage module of dvc.yaml, the
median wall time of `python -c "import stages.<module>"` in a fresh process (interpreter start
included), against the floor every model stage pays to the libraries, `import torch,
sentence_transformers`, and an empty interpreter; with the packages that took the most of it
(their modules' own time, `python -X importtime`). Writes metrics/bench/<out>.json.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

MODULE = re.compile(r"python -m (stages\.\w+)")
IMPORT_TIME = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")
FLOOR = {"python": "pass", "torch + sentence_transformers": "import torch, sentence_transformers"}


def stage_modules() -> dict[str, int]:
    """Each stage module of dvc.yaml and how many stage definitions run it."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    found: Counter[str] = Counter()
    for stage in stages.values():
        cmd = (stage.get("do") or stage)["cmd"]
        for line in cmd if isinstance(cmd, list) else [cmd]:
            found.update(MODULE.findall(line))
    return dict(sorted(found.items()))


def timed(code: str, repeat: int) -> tuple[float, Counter[str]]:
    """Median wall seconds of a fresh `python -X importtime -c code`, and the own import time
    of each top-level package in the last run (seconds)."""
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - start)
    own: Counter[str] = Counter()
    for us, name in IMPORT_TIME.findall(proc.stderr):
        own[name.split(".")[0]] += int(us) / 1e6
    return statistics.median(walls), own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="processes per module (median)")
    parser.add_argument("--out", default="stage_imports", help="metrics/bench/<out>.json")
    args = parser.parse_args()
    floors = {name: round(timed(code, args.repeat)[0], 2) for name, code in FLOOR.items()}
    library = floors["torch + sentence_transformers"]
    print(f"floors: {floors}")
    print("| module | stages | import s | over the library floor | most of it (own s) |\n"
          "|---|---:|---:|---:|---|")
    modules = {}
    for module, count in stage_modules().items():
        wall, own = timed(f"import {module}", args.repeat)
        top = {k: round(v, 2) for k, v in own.most_common(5)}
        modules[module] = {"stages": count, "import_s": round(wall, 2),
                           "over_library_s": round(wall - library, 2), "top_packages_s": top}
        print(f"| `{module}` | {count} | {wall:.1f} | {wall - library:+.1f} | "
              + ", ".join(f"{k} {v:.1f}" for k, v in top.items()) + " |")
    record.write(args.out, {"repeat": args.repeat, "floors_s": floors, "modules": modules})


if __name__ == "__main__":
    main()
