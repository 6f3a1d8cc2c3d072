"""Resident memory over a whole grid training, sampled every 0.1 s: where its peak comes from.

    python bench/train_memory.py --budget 1500 --out train_memory_budget1500
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=8 python bench/train_memory.py --budget 1500 --out NAME
    MALLOC_MMAP_THRESHOLD_=1048576 python bench/train_memory.py --budget 1500 --out NAME

Trains the composition as its train stage does (params.yaml's `train`, `gradient_checkpointing`
set to --budget) in this process, with a thread reading VmRSS and noting each checkpoint the
Trainer writes. A whole training peaks well above the 16 steps of bench/train_speed.py because
RSS climbs step after step; the environment variables above (oneDNN's cache of compiled
kernels, one per new shape; glibc's mmap threshold) are recorded with the figures. Writes
metrics/bench/<out>.json: the peak and when, the highest RSS of each 30 s, the checkpoints.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

from koen.config.schema import load  # noqa: E402
from koen.training.run import train_spec  # noqa: E402
from koen.training.trainer import run_training  # noqa: E402

KNOBS = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX")


def rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024 ** 2
    raise RuntimeError("no VmRSS in /proc/self/status")


class Sampler(threading.Thread):
    """(seconds, RSS GB) every `every` s, and when each `checkpoint-*` appeared under `root`."""

    def __init__(self, root: Path, every: float = 0.1):
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.samples: list[tuple[float, float]] = []
        self.events: list[tuple[float, str]] = []
        self.done = threading.Event()

    def run(self) -> None:
        start, seen = time.perf_counter(), set()
        while not self.done.is_set():
            t = time.perf_counter() - start
            self.samples.append((round(t, 1), round(rss_gb(), 3)))
            for p in self.root.rglob("checkpoint-*"):
                if p.name not in seen:
                    seen.add(p.name)
                    self.events.append((round(t, 1), p.name))
            time.sleep(self.every)


def summary(samples: list[tuple[float, float]], events: list[tuple[float, str]]) -> dict:
    peak_at, peak = max(samples, key=lambda s: s[1])
    windows: dict[int, float] = {}
    for t, gb in samples:
        start = int(t // 30) * 30
        windows[start] = max(windows.get(start, 0.0), gb)
    return {"peak_rss_gb": peak, "peak_at_s": peak_at, "seconds": samples[-1][0],
            "rss_gb_by_30s": {str(k): round(v, 2) for k, v in sorted(windows.items())},
            "checkpoints": {name: t for t, name in events}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--composition", default="kokoen")
    ap.add_argument("--budget", type=int, help="train.gradient_checkpointing (default: params)")
    ap.add_argument("--out", required=True, help="metrics/bench/<out>.json")
    args = ap.parse_args()
    p = load().train
    if args.budget is not None:
        p.gradient_checkpointing = args.budget
    with tempfile.TemporaryDirectory() as tmp:
        spec = train_spec(p, "contrastive", args.composition, p.seed, p.base, Path(tmp) / "model",
                          Path(tmp) / "checkpoints", "bench")
        sampler = Sampler(Path(tmp))
        sampler.start()
        run_training(spec)
        sampler.done.set()
        sampler.join()
    figures = summary(sampler.samples, sampler.events)
    print({k: v for k, v in figures.items() if k != "rss_gb_by_30s"})
    print("highest RSS per 30 s:", figures["rss_gb_by_30s"])
    record.write(args.out, {"composition": args.composition,
                            "gradient_checkpointing": p.gradient_checkpointing,
                            "environment": {k: os.environ.get(k) for k in KNOBS}, **figures})


if __name__ == "__main__":
    main()
