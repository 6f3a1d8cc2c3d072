"""Where a bench writes its figures: `metrics/bench/<name>.json`, with the machine used."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

from koen.models.precision import native_bf16

ROOT = Path(__file__).resolve().parents[1]


ISA = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # what decides the precision `auto` takes


def machine() -> dict:
    """The CPU model says too little (every EPYC here reads "AMD EPYC"): add its vector ISA."""
    flags = next((line.split(":", 1)[1].split() for line in Path("/proc/cpuinfo").read_text()
                  .splitlines() if line.startswith("flags")), []) \
        if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor()) \
        if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "isa": [f for f in ISA if f in flags], "native_bf16": native_bf16("cpu"),
            "torch": torch.__version__, "python": platform.python_version(),
            **({"gpu": torch.cuda.get_device_name(), "cuda": torch.version.cuda}
               if torch.cuda.is_available() else {})}


def write(name: str, figures: dict) -> Path:
    out = ROOT / "metrics" / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), **figures}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return out
