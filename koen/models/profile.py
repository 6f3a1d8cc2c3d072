"""What `auto` stands for on each device: the device itself, and the speed settings.

`device: auto` is the first of cuda, mps and cpu that torch finds; a section's `device: null`
follows the top-level `device`. A speed setting left at `auto` takes this profile's value for
the device kind; an explicit value always wins. Every entry names the measurement that chose it:
a record under `metrics/bench/` (the bench script and command are in docs/speed.md), or says it
was not measured. The resolved values are what the stages record (train_info.json, the training
fingerprint, index manifests, MLflow params).

Precision (`auto`: bf16 where the hardware has it natively, fp16 on older CUDA GPUs, fp32 else)
and attention (`auto`: eager for bf16 on a CPU, SDPA else) have rules of their own, in
`koen.models.precision` and `attention` below, with their records in PROFILE too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch

from koen.config.parse import ParamsError
from koen.config.schema import (
    Attention,
    CocktailData,
    EvaluateParams,
    IndexParams,
    MergeDirs,
    TrainParams,
)
from koen.models.precision import device_type, resolve

AUTO = "auto"
Kind = Literal["cpu", "cuda", "mps"]


@dataclass(frozen=True)
class Entry:
    value: Any
    record: str  # metrics/bench/<record>.json, or "not measured: <why>"


NOT_MEASURED = "not measured: no such device was at hand"
PROFILE: dict[str, dict[str, Entry]] = {
    "cpu": {
        "precision": Entry("bf16 where native, else fp32", "train_speed_amx"),
        "attn_implementation": Entry("eager for bf16, else sdpa",
                                     "train_settings_attn_implementation_amx"),
        "sorted_forward": Entry(16, "train_settings_sorted_forward_amx"),
        "group_by_length": Entry(True, "train_speed"),
        "logging_steps": Entry(1, "train_speed_amx"),
        "index_batch_size": Entry(16, "encode_amx_b16_lowered"),
        "query_batch_size": Entry(64, "encode_amx_queries_b64"),
    },
    "cuda": {
        "precision": Entry("bf16 where native, else fp16", "train_speed_h200_unsorted"),
        "attn_implementation": Entry("sdpa", "train_speed_h200_unsorted"),
        "sorted_forward": Entry(None, "train_speed_h200_unsorted"),
        "group_by_length": Entry(True, "train_speed_h200_unsorted"),
        "logging_steps": Entry(8, NOT_MEASURED),
        "index_batch_size": Entry(128, "encode_h200_b128"),
        "query_batch_size": Entry(128, "encode_h200_b128"),
    },
    "mps": {
        "precision": Entry("fp32", NOT_MEASURED),
        "attn_implementation": Entry("sdpa", NOT_MEASURED),
        "sorted_forward": Entry(None, NOT_MEASURED),
        "group_by_length": Entry(True, NOT_MEASURED),
        "logging_steps": Entry(8, NOT_MEASURED),
        "index_batch_size": Entry(64, NOT_MEASURED),
        "query_batch_size": Entry(64, NOT_MEASURED),
    },
}


def detect() -> str:
    """The device `auto` stands for on this machine: cuda, then mps, then cpu."""
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_device(section: str | None, default: str) -> str:
    """A section's device (`null`: the top-level `device`), with `auto` detected."""
    device = default if section is None else section
    return detect() if device == AUTO else device


def kind(device: str) -> Kind:
    found = device_type(device)
    if found not in PROFILE:
        raise ParamsError(f"device {device!r}: no speed profile for {found}; set the speed "
                         "settings explicitly")
    return found  # type: ignore[return-value]


def setting(name: str, value: Any, device: str) -> Any:
    """`value`, or the profile's for `device` where it is `auto`."""
    return PROFILE[kind(device)][name].value if value == AUTO else value


def attention(attn: Attention, precision: str, device: str) -> Literal["sdpa", "eager"]:
    """The attention kernels `auto` stands for: transformers' eager (matmul, softmax, matmul)
    for bf16 on a CPU, whose fused SDPA backward runs about ten times its forward there
    (docs/speed.md); SDPA everywhere else."""
    if attn != AUTO:
        return attn
    return "eager" if precision == "bf16" and device_type(device) == "cpu" else "sdpa"


def _with(section: Any, **values: Any) -> Any:
    """A copy of a params section with `values` set (no key is read for the copy)."""
    out = copy.copy(section)
    for key, value in values.items():
        object.__setattr__(out, key, value)
    return out


def resolve_train(p: TrainParams, default_device: str) -> TrainParams:
    """`train` with every `auto` (and its device) resolved for the machine it runs on."""
    device = resolve_device(p.device, default_device)
    precision = resolve(p.precision, device)
    return _with(p, device=device, precision=precision,
                 attn_implementation=attention(p.attn_implementation, precision, device),
                 sorted_forward=setting("sorted_forward", p.sorted_forward, device),
                 group_by_length=setting("group_by_length", p.group_by_length, device),
                 logging_steps=setting("logging_steps", p.logging_steps, device))


def resolve_index(p: IndexParams, default_device: str) -> IndexParams:
    device = resolve_device(p.device, default_device)
    return _with(p, device=device, precision=resolve(p.precision, device),
                 batch_size=setting("index_batch_size", p.batch_size, device))


def resolve_evaluate(p: EvaluateParams, default_device: str) -> EvaluateParams:
    device = resolve_device(p.device, default_device)
    return _with(p, device=device, precision=resolve(p.precision, device),
                 batch_size=setting("query_batch_size", p.batch_size, device))


def resolve_cocktail(p: CocktailData, default_device: str) -> CocktailData:
    device = resolve_device(p.device, default_device)
    return _with(p, device=device, precision=resolve(p.precision, device),
                 batch_size=setting("query_batch_size", p.batch_size, device))


def resolve_merge(p: MergeDirs, default_device: str) -> MergeDirs:
    """The merge folders with `cocktail`'s device and batch resolved."""
    return _with(p, cocktail=resolve_cocktail(p.cocktail, default_device))
