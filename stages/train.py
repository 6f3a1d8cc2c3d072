"""Stage `train`: one model per language composition, or the experiment model.

    python -m stages.train grid kokoen     # -> models/grid/kokoen   (dvc.yaml: train@kokoen)
    python -m stages.train experiment      # -> models/experiment (composition, train.method)

A run is identified by a fingerprint of everything that determines its weights (composition,
method, hyperparameters, seed, training data, base model). The experiment model reuses a grid
model with the same fingerprint instead of training it again, and a killed run resumes from the
checkpoints kept under that fingerprint.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from datasets import Dataset

from stages import compositions, tracking
from stages.atomic import atomic_dir, atomic_file
from stages.params import ParamsError, load_params, section
from stages.provenance import files_digest, json_digest
from stages.training import run_training

INFO = "train_info.json"


@dataclass
class AlignParams:
    """`train.method: align`: the second study's JSD + InfoNCE loss on (q_en, p_en, p_ko)."""

    samples: int = 2800
    init: str = "base"  # base, or a grid composition to align on top of
    jsd_weight: float = 1.0
    nce_weight: float = 1.0
    direction: Literal["en", "ko", "both"] = "en"
    pairs: Literal["query", "passage"] = "query"
    scale: float = 20.0

    def loss_kwargs(self) -> dict[str, Any]:
        return {
            k: getattr(self, k) for k in ("jsd_weight", "nce_weight", "direction", "pairs", "scale")
        }


@dataclass
class TrainParams:
    data: Path
    base: Path
    grid_dir: Path
    experiment_dir: Path
    checkpoints: Path
    logs: Path
    method: Literal["contrastive", "align"] = "contrastive"
    triplets: int = 1000
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    scale: float = 20.0
    max_seq_length: int = 128
    freeze_embeddings: bool = True
    device: str = "cpu"
    devices: int = 1
    checkpoint_steps: int = 20
    align: AlignParams = field(default_factory=AlignParams)

    def validate(self, where: str) -> None:
        for name in ("triplets", "epochs", "batch_size", "devices", "checkpoint_steps"):
            if getattr(self, name) < 1:
                raise ParamsError(f"params.yaml: '{where}.{name}' must be >= 1")
        if self.learning_rate <= 0:
            raise ParamsError(f"params.yaml: '{where}.learning_rate' must be > 0")


def model_digest(model_dir: Path) -> str:
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name != INFO)
    return files_digest(*files)


HYPER = (
    "method",
    "triplets",
    "epochs",
    "batch_size",
    "learning_rate",
    "warmup_ratio",
    "scale",
    "max_seq_length",
    "freeze_embeddings",
    "devices",
    "align",
)


def hyper(p: TrainParams) -> dict[str, Any]:
    return {
        k: asdict(p.align) if k == "align" else getattr(p, k)
        for k in HYPER
        if k != "align" or p.method == "align"
    }


def fingerprint(composition: str, p: TrainParams, seed: int, init: Path) -> str:
    what = {
        "composition": compositions.canonical(composition) if p.method == "contrastive" else None,
        "seed": seed,
        "data": files_digest(p.data),
        "init": model_digest(init),
        **hyper(p),
    }
    return json_digest(what)


def find_reusable(grid_dir: Path, print_: str) -> Path | None:
    """A finished grid model trained from exactly the same inputs, if any."""
    for info in sorted(grid_dir.glob(f"*/{INFO}")):
        if json.loads(info.read_text()).get("fingerprint") == print_:
            return info.parent
    return None


def train_spec(
    p: TrainParams,
    composition: str,
    seed: int,
    init: Path,
    output: Path,
    checkpoints: Path,
    print_: str,
) -> dict[str, Any]:
    triplets = Dataset.from_parquet(str(p.data)).to_list()
    if p.triplets > len(triplets):
        raise ParamsError(
            f"params.yaml: 'train.triplets' is {p.triplets} but {p.data} holds "
            f"only {len(triplets)} triplets"
        )
    if p.method == "align":
        examples = alignment_examples(triplets, p.align.samples, seed)
    else:
        examples = compositions.draw(triplets, composition, p.triplets, seed)
    return {
        **hyper(p),
        "align": p.align.loss_kwargs(),
        "examples": examples,
        "seed": seed,
        "init": str(init),
        "output": str(output),
        "checkpoints": str(checkpoints),
        "fingerprint": print_,
        "device": p.device,
        "checkpoint_steps": p.checkpoint_steps,
    }


def alignment_examples(triplets: list[dict], n: int, seed: int) -> list[dict]:
    """(query_en, passage_en, passage_ko, query_ko) from the parallel triplets' positives."""
    if n > len(triplets):
        raise ParamsError(
            f"params.yaml: 'train.align.samples' is {n} but only {len(triplets)} "
            "parallel triplets exist"
        )
    rows = random.Random(seed).sample(triplets, n)
    return [
        {
            "query_en": t["query_en"],
            "passage_en": t["pos_en"],
            "passage_ko": t["pos_ko"],
            "query_ko": t["query_ko"],
        }
        for t in rows
    ]


def run_distributed(spec: dict[str, Any], devices: int, workdir: Path) -> dict[str, Any]:
    """torchrun one process per device; accelerate/DDP inside `run_training`."""
    spec_file, result = workdir / "spec.json", workdir / "result.json"
    spec_file.write_text(json.dumps({**spec, "result": str(result), "rank_logs": str(workdir)}))
    torchrun = Path(sys.executable).parent / "torchrun"
    subprocess.run(
        [
            str(torchrun),
            "--standalone",
            f"--nproc_per_node={devices}",
            "-m",
            "stages.training",
            str(spec_file),
        ],
        check=True,
    )
    ranks = [json.loads(f.read_text()) for f in sorted(workdir.glob("rank*.json"))]
    return {**json.loads(result.read_text()), "ranks": ranks}


def train(
    p: TrainParams, composition: str, seed: int, out: Path, slot: str, grid: list[str]
) -> dict[str, Any]:
    if p.method == "contrastive":
        compositions.parse(composition)  # fail before any work on a bad name
    init = p.base if p.align.init == "base" or p.method != "align" else p.grid_dir / p.align.init
    if not (init / "model.safetensors").is_file():
        raise SystemExit(f"train: no model at {init}; build it first (dvc repro)")
    print_ = fingerprint(composition, p, seed, init)
    checkpoints = p.checkpoints / slot
    reuse = None
    if (
        slot == "experiment"
        and p.method == "contrastive"
        and compositions.canonical(composition) in {compositions.canonical(g) for g in grid}
    ):
        reuse = find_reusable(p.grid_dir, print_)
    with atomic_dir(out) as tmp, tempfile.TemporaryDirectory() as work:
        if reuse is not None:
            shutil.copytree(reuse, tmp, dirs_exist_ok=True)
            result = {**json.loads((reuse / INFO).read_text()), "reused_from": str(reuse)}
        else:
            spec = train_spec(p, composition, seed, init, tmp, checkpoints, print_)
            result = (
                run_distributed(spec, p.devices, Path(work))
                if p.devices > 1
                else run_training(spec)
            )
        info = {
            "name": slot.split("/")[-1],
            "composition": composition,
            "canonical": compositions.canonical(composition),
            "fingerprint": print_,
            "init": str(init),
            "seed": seed,
            "params": asdict(p),
            **{
                k: result[k]
                for k in ("steps", "resumed", "loss", "reused_from", "ranks")
                if k in result
            },
        }
        (tmp / INFO).write_text(json.dumps(info, indent=2, default=str))
    write_loss_csv(p.logs / f"{slot.replace('/', '-')}.csv", info.get("loss", []))
    shutil.rmtree(checkpoints, ignore_errors=True)
    tracking.log_run(
        {
            "key": f"train/{print_}",
            "name": f"train {info['name']}",
            "params": {"composition": composition, "seed": seed, "init": str(init), **hyper(p)},
            "metrics": {"final_loss": info["loss"][-1][1]} if info.get("loss") else {},
            "steps": {"train_loss": info.get("loss", [])},
            "tags": {"stage": "train", "fingerprint": print_},
        },
        Path("metrics/mlflow_pending"),
    )
    return info


def write_loss_csv(path: Path, losses: list[list[float]]) -> None:
    with atomic_file(path) as f:
        f.write("step,loss\n")
        f.writelines(f"{int(s)},{v:.6f}\n" for s, v in losses)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    params = load_params()
    p = section(TrainParams, params, "train")
    grid = [str(g) for g in params.get("grid", [])]
    if args[:1] == ["grid"] and len(args) == 2:
        composition, slot, out = args[1], f"grid/{args[1]}", p.grid_dir / args[1]
        p.method = "contrastive"  # the grid is the composition study: always contrastive
    elif args == ["experiment"]:
        composition, slot, out = str(params["composition"]), "experiment", p.experiment_dir
    else:
        raise SystemExit("usage: python -m stages.train grid <composition> | experiment")
    try:
        info = train(p, composition, params["seed"], out, slot, grid)
    except compositions.CompositionError as err:
        raise SystemExit(f"train: {err}") from None
    print(
        json.dumps(
            {k: info.get(k) for k in ("name", "composition", "steps", "resumed", "reused_from")}
        )
    )


if __name__ == "__main__":
    main()
