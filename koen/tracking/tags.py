"""MLflow tags a user filters and groups runs by: what kind of system, which composition,
seed and merge weights, which DVC output (path and hash) holds its model, and which machine
computed it."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml

from koen.formats.train_info import TrainInfo
from koen.models.machine import cpu_model, onednn_isa
from koen.models.precision import native_bf16
from koen.repro.provenance import MERGE_INFO, TRAIN_INFO, model_digest

DVC_LOCK = Path("dvc.lock")


def dvc_md5(path: Path, lock: Path = DVC_LOCK) -> str | None:
    """The md5 DVC recorded for `path` in `lock`, as a stage's output (None until a stage made
    it) or else as a dependency. libyaml's loader: the pure-Python one takes about 1 s for this
    project's lock, once per evaluated system."""
    if not lock.is_file():
        return None
    text = lock.read_text(encoding="utf-8")
    stages = (yaml.load(text, Loader=yaml.CSafeLoader) or {}).get("stages", {})
    for kind in ("outs", "deps"):
        for stage in stages.values():
            for entry in stage.get(kind, []):
                if Path(entry["path"]) == Path(path) and "md5" in entry:
                    return entry["md5"]
    return None


def system_tags(model_dir: Path | None, lock: Path | None = DVC_LOCK) -> dict[str, str]:
    """kind (baseline | composition | merge), composition, seed, merge method/models/weights,
    and the model's DVC path, DVC md5 (`lock=None`: none) and content digest. `None`: a system
    without a model."""
    if model_dir is None:
        return {"kind": "baseline"}
    model_dir = Path(model_dir)
    tags = {"dvc.path": str(model_dir), "model.sha256": model_digest(model_dir)}
    if lock is not None and (md5 := dvc_md5(model_dir, lock)):
        tags["dvc.md5"] = md5
    train = model_dir / TRAIN_INFO
    merge = model_dir / MERGE_INFO
    if merge.is_file():
        info = json.loads(merge.read_text())
        tags |= {"kind": "merge", "merge.method": info["method"],
                 "merge.models": ",".join(info["models"])}
        if "weights" in info:  # sentence-transformers/mergekit methods have `parameters`
            tags["merge.weights"] = ",".join(f"{w:g}" for w in info["weights"])
    elif train.is_file():
        tags["kind"] = "composition"
    else:
        tags["kind"] = "baseline"
    if train.is_file():
        record = TrainInfo.read(train)
        tags |= {"composition": record.composition, "seed": str(record.seed)}
    return tags


def machine_tags() -> dict[str, str]:
    """The machine a stage computes on, as its figures depend on it: the CPU, the vector paths
    of torch's CPU kernels (ATEN_CPU_CAPABILITY) and of oneDNN, whether oneDNN computes bf16
    natively, and the GPUs torch sees."""
    tags = {"machine.cpu": cpu_model(),
            "machine.cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "machine.onednn": onednn_isa(),
            "machine.cpu_bf16": str(native_bf16("cpu")).lower()}
    if torch.cuda.is_available():
        tags["machine.gpu"] = ", ".join(torch.cuda.get_device_name(i)
                                        for i in range(torch.cuda.device_count()))
    return tags
