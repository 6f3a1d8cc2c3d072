"""The machine a figure was computed on: device, precision, and the CPU's vector paths or the
GPU's name. The same code gives other figures in bf16 than in fp32, and bf16 others on each CPU
kind (docs/reproducibility.md), so each model's `train_info.json`, each evaluation's metrics file
and the report say which.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
from pathlib import Path

import torch

from koen.models.precision import device_type

CPUINFO = Path("/proc/cpuinfo")


def cpu_model() -> str:
    """The CPU's model name as Linux reports it; "unknown" elsewhere."""
    found = (re.search(r"^model name\s*:\s*(.+)$", CPUINFO.read_text(), re.M)
             if CPUINFO.is_file() else None)
    return found.group(1).strip() if found else "unknown"


@functools.cache
def onednn_isa() -> str:
    """The instruction set oneDNN computes with, as oneDNN itself reports it (`ONEDNN_MAX_CPU_ISA`
    and the CPU decide it; it decides whether bf16 is native): its verbose header, printed to
    the C stdout once per process when verbose is first on. "unknown" where none is printed
    (a torch without oneDNN, or verbose already used in this process)."""
    sys.stdout.flush()
    with tempfile.TemporaryFile() as out:
        saved = os.dup(1)
        os.dup2(out.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                # a convolution small enough to be instant, large enough for oneDNN to take it
                torch.nn.functional.conv2d(torch.ones(2, 16, 32, 32), torch.ones(16, 16, 3, 3))
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        header = out.read().decode(errors="replace")
    found = re.search(r"^onednn_verbose,(?:v\d+,)?info,cpu,isa:(.+)$", header, re.M)
    return found.group(1).strip() if found else "unknown"


def computed_on(device: str, precision: str | None) -> dict[str, str]:
    """`device` and the resolved `precision` (None: no model computed, e.g. BM25), with the GPU's
    name on CUDA, else the CPU, the vector path torch's own kernels take
    (`ATEN_CPU_CAPABILITY`) and oneDNN's instruction set."""
    out = {"device": device}
    if precision is not None:
        out["precision"] = precision
    if device_type(device) == "cuda":
        return out | {"gpu": torch.cuda.get_device_name(torch.device(device))}
    return out | {"cpu": cpu_model(), "aten": torch.backends.cpu.get_cpu_capability(),
                  "onednn": onednn_isa()}
