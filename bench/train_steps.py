"""Seconds a step of the train stage under other settings, and where a step's time goes.

    python bench/train_steps.py --set attn_implementation=eager --set sorted_forward=16
    python bench/train_steps.py --set attn_implementation=sdpa --sdpa-backend math
    python bench/train_steps.py --set sorted_forward=8 --profile     # torch.profiler's table

Runs the stage's own `run_training` on `--steps` batches of kokoen with params.yaml's `train`
and the keys given with --set (values as params.yaml writes them), start-up and the final save
included, and prints the seconds a step; --sdpa-backend forces one of PyTorch's SDPA kernels
(`torch.nn.attention.sdpa_kernel`) around the training. A quick look at one setting; a whole
training per value is bench/train_settings.py.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import yaml
from torch.nn.attention import SDPBackend, sdpa_kernel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from train_speed import examples  # noqa: E402  (bench/train_speed.py)

from koen.config.schema import load  # noqa: E402
from koen.models.profile import resolve_train  # noqa: E402
from koen.training.run import train_spec  # noqa: E402
from koen.training.trainer import run_training  # noqa: E402

BACKENDS = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION}


def setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    return key, yaml.safe_load(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--set", type=setting, action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--sdpa-backend", choices=BACKENDS)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    params = load()
    p = params.train
    for key, value in args.set:
        setattr(p, key, value)
    p = resolve_train(p, params.device)  # the values set win over their `auto`
    with tempfile.TemporaryDirectory() as tmp:
        spec = replace(train_spec(p, "contrastive", "kokoen", p.seed, p.base, Path(tmp) / "out",
                                  Path(tmp) / "ckpt", "bench", False, params.pair),
                       examples=examples(args.steps * p.batch_size), checkpoint_steps=10_000)
        backend = sdpa_kernel([BACKENDS[args.sdpa_backend]]) if args.sdpa_backend else \
            contextlib.nullcontext()
        profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) \
            if args.profile else contextlib.nullcontext()
        start = time.perf_counter()
        with backend, profiler as prof:
            run_training(spec)
        seconds = (time.perf_counter() - start) / args.steps
    if args.profile:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    print({k: getattr(spec, k) for k in ("precision", "attn_implementation", "sorted_forward")},
          f"sdpa backend: {args.sdpa_backend or 'any'}", f"s/step {seconds:.2f}")


if __name__ == "__main__":
    main()
