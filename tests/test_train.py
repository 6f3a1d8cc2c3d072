"""Training with tiny models: determinism, compositions, reuse, resume after a kill, DDP."""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from datasets import Dataset
from safetensors.torch import load_file
from sentence_transformers import SentenceTransformer
from tiny_data import PARAMS, section
from tiny_models import WORDS, tiny_model

from koen.config.compositions import CompositionError
from koen.config.languages import KO_EN
from koen.config.schema import TrainParams
from koen.formats.tables import DataError
from koen.formats.train_info import TrainInfo
from koen.models.machine import computed_on
from koen.models.profile import attention, resolve_train
from koen.training.records import TrainSpec
from koen.training.run import train as train_run
from koen.training.run import train_spec
from koen.training.trainer import ActivationBudget, ReleaseMemory

KO = [w for w in WORDS if not w.isascii()]
EN = [w for w in WORDS if w.isascii()]

ROOT = Path(__file__).resolve().parents[1]


def write_triplets(path: Path, n: int = 64, words: tuple[int, int] | None = None) -> Path:
    """`n` triplets of 4 words a text, or of `words` (low, high) words drawn per text."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        rows.append({"qid": f"q{i}", **{f"{part}_{lang}": " ".join(rng.sample(
            pool, 4 if words is None else rng.randint(*words)))
                                         for part in ("query", "pos", "neg")
                                         for lang, pool in (("ko", KO), ("en", EN))}})
    Dataset.from_list(rows).to_parquet(str(path))
    return path


@pytest.fixture
def setup(tmp_path):
    base = tiny_model(tmp_path / "base")
    data = write_triplets(tmp_path / "triplets.parquet")

    def params(**kw) -> TrainParams:
        paths = {"data": kw.pop("data", data), "base": kw.pop("base", base)}
        values = dict(grid_dir=tmp_path / "grid", experiment_dir=tmp_path / "exp",
                      checkpoints=tmp_path / "ckpt", logs=tmp_path / "logs", triplets=32,
                      batch_size=8, checkpoint_steps=2, max_seq_length=16, learning_rate=1e-3)
        return section("train", {k: str(v) if isinstance(v, Path) else v
                                 for k, v in {**values, **kw}.items()}, **paths)

    return tmp_path, params


def train(p: TrainParams, composition: str, seed: int, out: Path, slot: str,
          grid: list[str]) -> TrainInfo:
    """As the stage calls it, the `train` section being what its fingerprint covers here."""
    return train_run(resolve_train(p, "cpu"), p.method, composition, seed, out, slot, grid,
                     out.parent / "pending", False, {"train": dataclasses.asdict(p)}, KO_EN)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path / "model.safetensors"))


@pytest.mark.slow
def test_same_params_same_weights_and_compositions_differ(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    info = train(params(), "kokoen", 13, tmp / "grid/kokoen", "grid/kokoen", [])
    assert info.steps == 4 and not info.resumed
    resolved = resolve_train(params(), "cpu").precision
    assert info.computed_on == computed_on("cpu", resolved) == TrainInfo.read(
        tmp / "grid/kokoen/train_info.json").computed_on
    train(params(), "kokoen", 13, tmp / "again", "grid/again", [])
    train(params(), "enenko", 13, tmp / "grid/enenko", "grid/enenko", [])
    a, b, c = weights(tmp / "grid/kokoen"), weights(tmp / "again"), weights(tmp / "grid/enenko")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
    card = (tmp / "again/README.md").read_text()  # reproducible by hash: no wall-clock time
    assert "- **Training**:" not in card and card == (tmp / "grid/kokoen/README.md").read_text()
    assert (tmp / "logs/grid-kokoen.csv").read_text().startswith("step,loss\n1,")
    assert not (tmp / "ckpt/grid/kokoen").exists()  # checkpoints gone after success


@pytest.mark.slow
def test_experiment_in_the_grid_reuses_the_grid_model(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    grid = train(params(), "kokoen", 13, tmp / "grid/kokoen", "grid/kokoen", [])
    # as if the grid model came from a GPU machine: the copy says where it was computed
    elsewhere = {"device": "cuda", "precision": "fp32", "gpu": "NVIDIA H100 80GB HBM3"}
    dataclasses.replace(grid, computed_on=elsewhere).write(tmp / "grid/kokoen/train_info.json")
    info = train(params(), "ko-ko-en", 13, tmp / "exp", "experiment", ["kokoen"])
    assert info.reused_from == str(tmp / "grid/kokoen")
    assert info.computed_on == elsewhere
    a, b = weights(tmp / "grid/kokoen"), weights(tmp / "exp")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_token_budget_recomputes_the_layers_over_it_and_keeps_the_weights(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    base = tiny_model(tmp / "deep", layers=4)
    budget = ActivationBudget(SentenceTransformer(str(base), device="cpu"), 300, chunk=None)
    assert [budget.recomputed(t) for t in (100, 300, 301, 400, 600, 10_000)] == [0, 0, 1, 1, 2, 4]
    features = [{"input_ids": torch.zeros(8, 25, dtype=torch.long)}] * 3  # 600 padded tokens
    budget(torch.nn.Identity(), (features, None))
    assert [layer.gradient_checkpointing for layer in budget.layers] == [True, True, False, False]
    assert budget.share() == 0.5

    runs = {}
    for setting in (False, True, 150):
        p = params(base=base, gradient_checkpointing=setting)
        runs[setting] = train(p, "kokoen", 13, tmp / f"m{setting}", f"grid/m{setting}", [])
    assert runs[False].recomputed_share is None and runs[True].recomputed_share is None
    assert 0 < runs[150].recomputed_share < 1  # tiny steps hold about 200 padded tokens
    plain = weights(tmp / "mFalse")
    for setting in (True, 150):
        again = weights(tmp / f"m{setting}")
        assert all(torch.allclose(plain[k], again[k], atol=1e-6) for k in plain)
    assert any(not torch.equal(plain[k], weights(base)[k]) for k in plain)


def test_train_info_is_written_as_the_train_stage_always_wrote_it(tmp_path):
    """Committed models carry train_info.json: the same values give the same bytes, and the keys
    a run did not have (here padding_share, recomputed_share, reused_from) stay out."""
    record = {"name": "kokoen", "composition": "ko-ko-en", "canonical": "kokoen",
              "fingerprint": "f" * 64, "init": "models/base", "seed": 13,
              "params": {"method": "contrastive", "attention_dropout": None, "sorted_forward": 8},
              "computed_on": {"device": "cuda", "precision": "bf16", "gpu": "NVIDIA H100"},
              "steps": 4, "resumed": False, "loss": [[1, 2.5], [4, 1.25]],
              "padding_share_random": 0.3125, "forward_padding_share": 0.2,
              "ranks": [{"rank": 0, "world_size": 2, "batches": 4, "batch": 4,
                         "global_step": 4}]}
    TrainInfo(**record).write(tmp_path / "train_info.json")
    assert (tmp_path / "train_info.json").read_text() == json.dumps(record, indent=2, default=str)
    info = TrainInfo.read(tmp_path / "train_info.json")
    assert info == TrainInfo(**record) and info.padding_share is None and info.merge is None
    merged = dataclasses.replace(info, merge={"name": "experiment", "weights": [0.5, 0.5]})
    merged.write(tmp_path / "merged.json")
    assert (tmp_path / "merged.json").read_text() == json.dumps(
        record | {"merge": merged.merge}, indent=2)
    (tmp_path / "old.json").write_text(json.dumps({k: v for k, v in record.items()
                                                   if k != "steps"}))
    with pytest.raises(DataError, match="not a training record.*'steps'"):
        TrainInfo.read(tmp_path / "old.json")


def test_train_spec_survives_the_json_file_torchrun_reads(setup):
    tmp, params = setup
    p = resolve_train(params(), "cpu")
    spec = train_spec(p, "contrastive", "kokoen", 13, p.base, tmp / "out", tmp / "ckpt", "f",
                      False, KO_EN)
    assert len(spec.examples) == 32 and spec.align is None
    assert TrainSpec.from_json(spec.to_json()) == spec


def test_unknown_composition_fails_before_work(setup):
    tmp, params = setup
    with pytest.raises(CompositionError, match="valid codes are kokoko"):
        train(params(), "kokojp", 13, tmp / "grid/x", "grid/x", [])
    assert not (tmp / "grid/x").exists()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["contrastive", "align"])
def test_two_cpu_processes_train_together_and_save_once(setup, monkeypatch, method):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    align = {**PARAMS["train"]["align"], "samples": 32}
    info = train(params(devices=2, checkpoint_steps=100, method=method, align=align), "koenen",
                 13, tmp / "ddp", "grid/ddp", [])
    # batch_size is the step's: 32 examples in batches of 8 are 4 steps, as on one process,
    # each process training 4 examples a step (and scoring them against all 8 of the step)
    assert info.steps == 4
    assert [(r["rank"], r["world_size"]) for r in info.ranks] == [(0, 2), (1, 2)]
    assert all(r["batches"] == 4 and r["batch"] == 4 for r in info.ranks)
    assert len(list((tmp / "ddp").glob("*.safetensors"))) == 1
    assert TrainInfo.read(tmp / "ddp/train_info.json") == info


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(setup):
    tmp, params = setup
    p = params(triplets=64, batch_size=2, checkpoint_steps=4)
    train_section = {k: str(v) if isinstance(v, Path) else v for k, v in vars(p).items()
                     if not k.startswith("_") and k not in ("data", "base")}  # they follow:
    train_section["align"] = PARAMS["train"]["align"]
    (tmp / "params.yaml").write_text(yaml.safe_dump({
        **PARAMS, "train": train_section,
        "base_model": {**PARAMS["base_model"], "out": str(p.base)},
        "prepare": {**PARAMS["prepare"], "out": str(p.data.parent)}}))
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "stages.train", "grid", "kokoen"]
    # killed just after its first checkpoint is marked complete: a known point, not a race
    killed = subprocess.run([sys.executable, str(ROOT / "tests/kill_at.py"), "--target",
                             "/complete", "--when", "after", *cmd[2:]], cwd=tmp, env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    ckpt = tmp / "ckpt/grid/kokoen"
    done = list(ckpt.glob("checkpoint-*/complete"))
    assert [d.parent.name for d in done] == ["checkpoint-4"]
    assert not (tmp / "grid/kokoen").exists()  # nothing DVC could take as complete
    # A kill while the next checkpoint is being written leaves a newer, half-written directory;
    # resuming from it would restart the schedule on its weights.
    half = ckpt / "checkpoint-1000"
    half.mkdir()
    shutil.copy(done[0].parent / "model.safetensors", half)
    resumed = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=True)
    info = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert info["resumed"] is True and info["steps"] == 32
    (tmp / "grid/kokoen").rename(tmp / "resumed")
    # the same command never killed, also in a fresh process: trained inside this process after
    # other tests, the reference run differed in the last digits (process-wide state)
    fresh = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=True)
    info = json.loads(fresh.stdout.strip().splitlines()[-1])
    assert info["resumed"] is False and info["steps"] == 32
    a, b = weights(tmp / "resumed"), weights(tmp / "grid/kokoen")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.mark.slow
def test_align_method_trains_the_experiment_model_on_parallel_passages(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    p = params(method="align", align={**PARAMS["train"]["align"], "samples": 16,
                                      "direction": "both"})
    info = train(p, "ko+en", 13, tmp / "exp", "experiment", [])
    assert info.steps == 2 and info.loss[0][1] > 0
    base, aligned = weights(p.base), weights(tmp / "exp")
    assert any(not torch.equal(base[k], aligned[k]) for k in aligned)
    p.align.samples = 10_000
    with pytest.raises(ValueError, match="train.align.samples"):
        train(p, "ko+en", 13, tmp / "exp2", "experiment", [])


@pytest.mark.slow
def test_sorted_forwards_pay_less_padding_for_the_same_weights(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    base = tiny_model(tmp / "nodropout", dropout=0.0)  # dropout would draw per forward
    data = write_triplets(tmp / "varied.parquet", words=(1, 12))
    runs = {}
    for chunk in (None, 4):  # fp32: bf16 rounds a text differently beside other lengths
        p = params(base=base, data=data, sorted_forward=chunk, precision="fp32")
        runs[chunk] = train(p, "kokoen", 13, tmp / f"m{chunk}", f"grid/m{chunk}", [])
    assert runs[4].forward_padding_share < runs[None].forward_padding_share
    assert runs[4].fingerprint != runs[None].fingerprint
    library, again = weights(tmp / "mNone"), weights(tmp / "m4")
    assert all(torch.allclose(library[k], again[k], atol=1e-5) for k in library)
    assert any(not torch.equal(library[k], weights(base)[k]) for k in library)


def test_attention_auto_is_eager_only_for_bf16_on_a_cpu():
    assert attention("auto", "bf16", "cpu") == "eager"
    assert [attention("auto", p, d) for p, d in (("fp32", "cpu"), ("bf16", "cuda"),
                                                 ("fp16", "cuda:1"))] == ["sdpa"] * 3
    assert attention("sdpa", "bf16", "cpu") == "sdpa"
    assert attention("eager", "fp32", "cuda") == "eager"


@pytest.mark.slow
def test_eager_and_sdpa_attention_train_the_same_weights(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    base = tiny_model(tmp / "nodropout", dropout=0.0)
    data = write_triplets(tmp / "varied.parquet", words=(1, 12))  # padding for the mask to hide
    runs = {}
    for attn in ("sdpa", "eager"):
        p = params(base=base, data=data, attn_implementation=attn, precision="fp32")
        runs[attn] = train(p, "kokoen", 13, tmp / attn, f"grid/{attn}", [])
        assert runs[attn].params["attn_implementation"] == attn
    assert runs["sdpa"].fingerprint != runs["eager"].fingerprint
    sdpa, eager = weights(tmp / "sdpa"), weights(tmp / "eager")
    assert all(torch.allclose(sdpa[k], eager[k], atol=1e-5) for k in sdpa)
    assert any(not torch.equal(sdpa[k], weights(base)[k]) for k in sdpa)
    # the saved model keeps the checkpoint's config: the kernels are a training choice only
    assert (tmp / "eager/config.json").read_text() == (base / "config.json").read_text()


@pytest.mark.slow
def test_release_memory_trains_the_same_weights(setup, monkeypatch):
    tmp, params = setup
    monkeypatch.chdir(tmp)
    trims, step_end = [], ReleaseMemory.on_step_end
    monkeypatch.setattr(ReleaseMemory, "on_step_end",
                        lambda self, *a, **kw: trims.append(step_end(self, *a, **kw)))
    runs = {flag: train(params(release_memory=flag, gradient_checkpointing=40), "kokoen", 13,
                        tmp / f"r{flag}", f"grid/r{flag}", []) for flag in (False, True)}
    assert len(trims) == runs[True].steps == 4  # glibc's malloc_trim, once a step
    # a param of the stage like any other: its own fingerprint, so its own MLflow run
    assert runs[True].fingerprint != runs[False].fingerprint
    plain, released = weights(tmp / "rFalse"), weights(tmp / "rTrue")
    assert all(torch.equal(plain[k], released[k]) for k in plain)
