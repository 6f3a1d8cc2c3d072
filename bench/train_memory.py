"""Resident memory over a whole grid training, sampled every 0.1 s: where its peak comes from.

    python bench/train_memory.py --budget 1500 --out train_memory_budget1500
    python bench/train_memory.py --budget 1500 --trim 1 --out NAME   # malloc_trim(0) every 1 s
    python bench/train_memory.py --trim-step --out NAME   # malloc_trim(0) once a training step
    python bench/train_memory.py --budget 3000 --release-memory --out NAME   # the stage's own
    ONEDNN_PRIMITIVE_CACHE_CAPACITY=8 python bench/train_memory.py --budget 1500 --out NAME
    MALLOC_MMAP_THRESHOLD_=1048576 python bench/train_memory.py --budget 1500 --out NAME

Trains the composition as its train stage does (params.yaml's `train`, `gradient_checkpointing`
set to --budget) in this process, with a thread reading VmRSS and glibc's `mallinfo2` (what
malloc has handed out, and what it holds free inside its arenas) and noting each checkpoint the
Trainer writes. A whole training peaks well above the 16 steps of bench/train_speed.py because
RSS climbs step after step; the split shows whether live allocations, free memory malloc keeps,
or memory outside malloc make the climb. --trim has the same thread hand malloc's free pages
back to the kernel; --trim-step does it once a step instead, from the training thread as the
loss's forward begins (torch's global module pre-hook; the stage would do it in a step-end
callback, nothing running between the two but the next batch's collation); the environment
variables above (oneDNN's cache of compiled kernels, one per new shape; glibc's mmap threshold)
are recorded with the figures. Writes metrics/bench/<out>.json: the peak and when, each 30 s
window's highest RSS with what malloc held then, the checkpoints, and the trained weights'
SHA-256 and per-step loss, so two runs can be compared bit for bit.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from sentence_transformers.losses import MultipleNegativesRankingLoss

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

from koen.config.schema import load  # noqa: E402
from koen.models.profile import resolve_train  # noqa: E402
from koen.training.run import train_spec  # noqa: E402
from koen.training.trainer import run_training  # noqa: E402

KNOBS = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX")
SERIES = ("rss_gb", "malloc_in_use_gb", "malloc_free_gb")  # a sample's fields after its time


class Mallinfo2(ctypes.Structure):
    """glibc's `struct mallinfo2` (2.33+): what malloc holds, summed over its arenas."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


LIBC = ctypes.CDLL("libc.so.6")
LIBC.mallinfo2.restype = Mallinfo2


def heap_gb() -> tuple[float, float]:
    """(bytes malloc has handed out and not had back, bytes free inside its arenas), in GB:
    with RSS they split a climb into live allocations, fragmentation, and memory outside malloc
    (code, Python's own arenas). malloc_trim hands free pages back but leaves their chunks free
    in malloc's books, so after a trim the second figure overstates what is resident."""
    m = LIBC.mallinfo2()
    return (m.uordblks + m.hblkhd) / 1024 ** 3, m.fordblks / 1024 ** 3


def rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024 ** 2
    raise RuntimeError("no VmRSS in /proc/self/status")


class Sampler(threading.Thread):
    """(seconds, RSS, malloc in use, malloc free; GB) every `every` s, and when each
    `checkpoint-*` appeared under `root`."""

    def __init__(self, root: Path, every: float = 0.1, trim: float | None = None):
        super().__init__(daemon=True)
        self.root, self.every, self.trim = root, every, trim
        self.trims, self.trim_s = 0, 0.0
        self.samples: list[tuple[float, float, float, float]] = []
        self.events: list[tuple[float, str]] = []
        self.done = threading.Event()

    def run(self) -> None:
        start, seen, last_trim = time.perf_counter(), set(), 0.0
        while not self.done.is_set():
            t = time.perf_counter() - start
            if self.trim is not None and t - last_trim >= self.trim:
                LIBC.malloc_trim(0)
                last_trim = time.perf_counter() - start
                self.trims, self.trim_s = self.trims + 1, self.trim_s + last_trim - t
            used, free = heap_gb()
            self.samples.append((round(t, 1), round(rss_gb(), 3), round(used, 3), round(free, 3)))
            for p in self.root.rglob("checkpoint-*"):
                if p.name not in seen:
                    seen.add(p.name)
                    self.events.append((round(t, 1), p.name))
            time.sleep(self.every)


class StepTrim:
    """malloc_trim(0) as each forward of the training loss begins: once a step, in the training
    thread, between one step's optimizer update and the next step's forwards."""

    def __init__(self) -> None:
        self.trims, self.seconds = 0, 0.0

    def __call__(self, module: torch.nn.Module, args: tuple) -> None:  # noqa: ARG002
        if isinstance(module, MultipleNegativesRankingLoss):
            t = time.perf_counter()
            LIBC.malloc_trim(0)
            self.trims, self.seconds = self.trims + 1, self.seconds + time.perf_counter() - t


def summary(samples: list[tuple[float, float, float, float]],
            events: list[tuple[float, str]]) -> dict:
    """The peak, and each 30 s window's highest RSS with what malloc held at that moment."""
    peak = max(samples, key=lambda s: s[1])
    windows: dict[int, tuple[float, float, float, float]] = {}
    for sample in samples:
        start = int(sample[0] // 30) * 30
        if start not in windows or sample[1] > windows[start][1]:
            windows[start] = sample
    return {"peak_rss_gb": peak[1], "peak_at_s": peak[0],
            "malloc_in_use_gb_at_peak": peak[2], "malloc_free_gb_at_peak": peak[3],
            "seconds": samples[-1][0],
            **{f"{name}_by_30s": {str(k): round(v[i], 2) for k, v in sorted(windows.items())}
               for i, name in enumerate(SERIES, start=1)},
            "checkpoints": {name: t for t, name in events}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--composition", default="kokoen")
    ap.add_argument("--budget", type=int, help="train.gradient_checkpointing (default: params)")
    ap.add_argument("--trim", type=float, metavar="SECONDS",
                    help="call glibc's malloc_trim(0) from the sampling thread every SECONDS")
    ap.add_argument("--trim-step", action="store_true",
                    help="call malloc_trim(0) once a step, in the training thread")
    ap.add_argument("--release-memory", action="store_true",
                    help="train.release_memory: true (the stage's own mmap threshold and trim)")
    ap.add_argument("--out", required=True, help="metrics/bench/<out>.json")
    args = ap.parse_args()
    params = load()
    p = params.train
    if args.budget is not None:
        p.gradient_checkpointing = args.budget
    p.release_memory = p.release_memory or args.release_memory
    p = resolve_train(p, params.device)  # the stage's `auto` values for this machine
    with tempfile.TemporaryDirectory() as tmp:
        spec = train_spec(p, "contrastive", args.composition, p.seed, p.base, Path(tmp) / "model",
                          Path(tmp) / "checkpoints", "bench", False, params.pair)
        sampler = Sampler(Path(tmp), trim=args.trim)
        step_trim = StepTrim()
        hook = (torch.nn.modules.module.register_module_forward_pre_hook(step_trim)
                if args.trim_step else None)
        sampler.start()
        try:
            result = run_training(spec)
        finally:
            sampler.done.set()
            sampler.join()
            if hook is not None:
                hook.remove()
        weights = hashlib.sha256((Path(tmp) / "model" / "model.safetensors").read_bytes())
    figures = summary(sampler.samples, sampler.events)
    print({k: v for k, v in figures.items() if not k.endswith("_by_30s")},
          "weights sha256", weights.hexdigest()[:16], "step trims", step_trim.trims,
          f"{step_trim.seconds:.2f} s")
    for name in SERIES:
        print(f"{name}_by_30s", figures[f"{name}_by_30s"])
    record.write(args.out, {"composition": args.composition,
                            "gradient_checkpointing": p.gradient_checkpointing,
                            "release_memory": p.release_memory,
                            "environment": {k: os.environ.get(k) for k in KNOBS},
                            "malloc_trim_every_s": args.trim, "malloc_trims": sampler.trims,
                            "malloc_trim_s": round(sampler.trim_s, 2),
                            "malloc_trim_each_step": args.trim_step,
                            "step_trims": step_trim.trims,
                            "step_trim_s": round(step_trim.seconds, 2),
                            "weights_sha256": weights.hexdigest(), "loss": result.loss,
                            **figures})


if __name__ == "__main__":
    main()
