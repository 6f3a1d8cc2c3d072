"""Train one model per language composition, or the experiment model.

A run is identified by a fingerprint of everything that determines its weights (composition,
method, hyperparameters, seed, training data, base model, device, and the training code). The
experiment model reuses a grid model with the same fingerprint instead of training it again,
and a killed run resumes from the checkpoints kept under that fingerprint.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from koen.config import compositions
from koen.config.languages import Pair
from koen.config.parse import ParamsError
from koen.config.schema import TrainParams
from koen.errors import MissingError
from koen.formats.tables import read_table, triplet_columns
from koen.formats.train_info import TrainInfo
from koen.models.machine import computed_on
from koen.repro.atomic import atomic_dir, atomic_file
from koen.repro.closure import code_digest, entry_module
from koen.repro.provenance import (
    TRAIN_INFO,
    files_digest,
    json_digest,
    model_digest,
)
from koen.tracking import mlflow_log
from koen.tracking.tags import system_tags
from koen.training import trainer
from koen.training.examples import alignment_examples, draw
from koen.training.records import Method, TrainResult, TrainSpec
from koen.training.trainer import RESULT, run_training

# params sections a fingerprint covers whole: all a train stage reads (`composition` and `grid`
# pick what is trained: the composition is in the fingerprint itself)
KEYED = ("device", "languages", "train", "base_model", "tracking")
HYPER = ("triplets", "epochs", "batch_size", "learning_rate", "warmup_ratio", "scale",
         "max_seq_length", "freeze_embeddings", "attention_dropout", "group_by_length",
         "gradient_checkpointing", "sorted_forward", "devices", "device", "precision",
         "attn_implementation", "logging_steps")


def hyper(p: TrainParams, method: Method) -> dict[str, Any]:
    """What determines the weights (and the loss curve) besides data, seed and init; `align`
    only for that method. `p` is resolved (`koen.models.profile.resolve_train`): `auto` trains
    differently on different machines, so the fingerprint holds what it stood for."""
    out: dict[str, Any] = {"method": method, **{k: getattr(p, k) for k in HYPER}}
    if method == "align":
        out["align"] = {k: getattr(p.align, k) for k in ("samples", "init", "jsd_weight",
                                                         "nce_weight", "direction", "pairs",
                                                         "scale")}
    return out


def fingerprint(composition: str, method: Method, p: TrainParams, seed: int, init: Path,
                keyed: dict[str, Any], pair: Pair) -> str:
    """What a trained model is made of, from what DVC hashes for its stage: every file
    `stages.train` imports (the closure the deps tests hold dvc.yaml to), the params sections the
    stage reads (`keyed`: `snapshot(params, KEYED)`), the `auto` values as resolved here, the
    training data and the initial weights. The MLflow key, and what a reused model must match."""
    what = {
        "composition": (compositions.canonical(composition, pair) if method == "contrastive"
                        else None),
        "seed": seed,
        "data": files_digest(p.data),
        "init": model_digest(init),
        "code": code_digest(entry_module("stages.train")),
        "params": keyed,
        **hyper(p, method),
    }
    return json_digest(what)


def find_reusable(grid_dir: Path, print_: str) -> Path | None:
    """A finished grid model trained from exactly the same inputs, if any."""
    for path in sorted(grid_dir.glob(f"*/{TRAIN_INFO}")):
        if TrainInfo.read(path).fingerprint == print_:
            return path.parent
    return None


def train_spec(p: TrainParams, method: Method, composition: str, seed: int, init: Path,
               output: Path, checkpoints: Path, print_: str,
               trust_remote_code: bool, pair: Pair) -> TrainSpec:
    """Everything `run_training` needs (it may run under torchrun)."""
    triplets = read_table(p.data, triplet_columns(pair)).to_list()
    if method == "align":
        examples = alignment_examples(triplets, p.align.samples, seed, pair)
    elif p.triplets > len(triplets):
        raise ParamsError(f"params.yaml: 'train.triplets' is {p.triplets} but {p.data} holds "
                          f"only {len(triplets)} triplets")
    else:
        examples = draw(triplets, composition, p.triplets, seed, pair)
    return TrainSpec(
        method=method, examples=examples,
        align=p.align.loss_kwargs(pair) if method == "align" else None,
        seed=seed, init=str(init), output=str(output), checkpoints=str(checkpoints),
        fingerprint=print_, epochs=p.epochs, batch_size=p.batch_size, devices=p.devices,
        learning_rate=p.learning_rate, warmup_ratio=p.warmup_ratio, scale=p.scale,
        max_seq_length=p.max_seq_length, freeze_embeddings=p.freeze_embeddings,
        attention_dropout=p.attention_dropout, group_by_length=p.group_by_length,
        gradient_checkpointing=p.gradient_checkpointing, sorted_forward=p.sorted_forward,
        device=p.device, precision=p.precision, attn_implementation=p.attn_implementation,
        logging_steps=p.logging_steps, checkpoint_steps=p.checkpoint_steps,
        release_memory=p.release_memory,  # the same weights; a param, so in the fingerprint
        trust_remote_code=trust_remote_code,  # how to load the model, not what it learns
    )


def run_distributed(spec: TrainSpec, devices: int, workdir: Path) -> TrainResult:
    """torchrun one process per device; accelerate/DDP inside `run_training`. The processes
    read the spec from `workdir` and write their rank logs and rank 0's result there."""
    spec_file = workdir / "spec.json"
    spec_file.write_text(spec.to_json())
    torchrun = Path(sys.executable).parent / "torchrun"
    subprocess.run([str(torchrun), "--standalone", f"--nproc_per_node={devices}", "-m",
                    trainer.__name__, str(spec_file)], check=True)
    ranks = [json.loads(f.read_text()) for f in sorted(workdir.glob("rank*.json"))]
    return replace(TrainResult.from_json((workdir / RESULT).read_text()), ranks=ranks)


def train(p: TrainParams, method: Method, composition: str, seed: int, out: Path, slot: str,
          grid: list[str], pending: Path, trust_remote_code: bool,
          keyed: dict[str, Any], pair: Pair) -> TrainInfo:
    """Train (or reuse) one model into `out`; `slot` names it (`grid/kokoen`, `experiment`)."""
    if method == "contrastive":
        compositions.parse(composition, pair)  # fail before any work on a bad name
        init = p.base
    else:
        init = p.base if p.align.init == "base" else p.grid_dir / p.align.init
    if not (init / "model.safetensors").is_file():
        raise MissingError(f"train: no model at {init}; build it first (dvc repro)")
    print_ = fingerprint(composition, method, p, seed, init, keyed, pair)
    checkpoints = p.checkpoints / slot
    reuse = None
    if (slot == "experiment" and method == "contrastive"
            and compositions.canonical(composition, pair)
            in {compositions.canonical(g, pair) for g in grid}):
        reuse = find_reusable(p.grid_dir, print_)
    with atomic_dir(out) as tmp, tempfile.TemporaryDirectory() as work:
        if reuse is not None:
            shutil.copytree(reuse, tmp, dirs_exist_ok=True)
            reused = TrainInfo.read(reuse / TRAIN_INFO)
            result, machine = TrainResult.of(reused), reused.computed_on
        else:
            spec = train_spec(p, method, composition, seed, init, tmp, checkpoints, print_,
                              trust_remote_code, pair)
            result = (run_distributed(spec, p.devices, Path(work)) if p.devices > 1
                      else run_training(spec))
            machine = computed_on(p.device, p.precision)
        info = TrainInfo(
            name=slot.split("/")[-1], composition=composition,
            canonical=compositions.canonical(composition, pair), fingerprint=print_,
            init=str(init),
            seed=seed, params=hyper(p, method), computed_on=machine,
            reused_from=None if reuse is None else str(reuse), **asdict(result))
        info.write(tmp / TRAIN_INFO)
    write_loss_csv(p.logs / f"{slot.replace('/', '-')}.csv", info.loss)
    shutil.rmtree(checkpoints, ignore_errors=True)
    # the lock still holds the model's previous md5 while its stage runs
    tags = {"stage": "train", "model": info.name, "fingerprint": print_,
            **system_tags(out, lock=None)}
    record = mlflow_log.stage_record(
        f"train/{print_}", f"train {info.name}", tags,
        params={"composition": composition, "seed": seed, "init": str(init), **hyper(p, method)},
        metrics={"final_loss": info.loss[-1][1]} if info.loss else {},
        steps={"train_loss": info.loss}, datasets=[mlflow_log.dataset(p.data, "training")])
    mlflow_log.log_run(record, pending)
    return info


def write_loss_csv(path: Path, losses: list[list[float]]) -> None:
    with atomic_file(path) as f:
        f.write("step,loss\n")
        f.writelines(f"{int(s)},{v:.6f}\n" for s, v in losses)
