"""Numeric precision of training and encoding: `fp32`, `bf16`, `fp16` or `auto`.

Only the arithmetic is lowered, by the libraries' own autocast (the Trainer's `bf16`/`fp16`
flags, `torch.autocast` around encoding): weights, optimizer state and stored embeddings stay
fp32. `auto` picks bf16 where the hardware computes it natively (a CPU whose oneDNN has bf16
kernels, e.g. AVX-512 BF16 or AMX; a CUDA GPU with bf16), fp16 on older CUDA GPUs, fp32 else.
"""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

from koen.config.schema import Precision

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def device_type(device: str) -> str:
    """`cuda:1` -> `cuda`: what `torch.autocast` takes."""
    return torch.device(device).type


def native_bf16(device: str) -> bool:
    kind = device_type(device)
    if kind == "cuda":
        # native bf16 from Ampere (compute capability 8.0) on, on the configured GPU; an older
        # one would emulate it, slower than its fp16
        return torch.cuda.is_available() and torch.cuda.get_device_capability(device) >= (8, 0)
    if kind == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def resolve(precision: Precision, device: str) -> Literal["fp32", "bf16", "fp16"]:
    """The precision `auto` stands for on `device`; an explicit one unchanged."""
    if precision != "auto":
        return precision
    if native_bf16(device):
        return "bf16"
    return "fp16" if device_type(device) == "cuda" else "fp32"


def autocast(device: str, precision: Literal["fp32", "bf16", "fp16"]
             ) -> contextlib.AbstractContextManager:
    """Autocast to the resolved `precision` on `device` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type(device), dtype=DTYPES[precision])
