"""Bad input and faults: each stops with a message naming the file (and line), or leaves nothing
under an output's name, so DVC never takes a half-written output as complete; the next run
finishes. MLflow being down is covered in test_tracking and test_evaluate (the run is kept)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file
from tiny_data import PARAMS, write_collection, write_params
from tiny_models import tiny_model

from koen.config.parse import parse
from koen.config.schema import TrainParams
from koen.data.parallel import load_paragraphs
from koen.data.tables import DataError
from koen.evaluation.metrics import read_qrels, read_trec_run
from koen.models.profile import resolve_train
from koen.training.run import train
from stages import evaluate as evaluate_stage
from stages import seed as seed_stage

ROOT = Path(__file__).resolve().parents[1]
RUNS = ("en-ko", "ko-en", "ko-ko", "en-en", "multi-ko", "multi-en")


@pytest.fixture
def at(tmp_path, monkeypatch) -> Path:
    """The tiny collection and a tiny model under a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    write_collection(tmp_path)
    write_params(tmp_path)
    tiny_model(tmp_path / "tiny")
    return tmp_path


def stage(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
            "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db"}


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_or_incomplete_parquet_fails_naming_the_file(at):
    corpus = at / "data/benchmarks/lohelp/corpus.parquet"
    good = corpus.read_bytes()
    truncate(corpus)
    with pytest.raises(DataError, match="corpus.parquet: not a readable Parquet file"):
        evaluate_stage.main(["base", "lohelp", "tiny/model"])
    table = pq.read_table(pa.BufferReader(good)).drop_columns(["twin"])
    pq.write_table(table, corpus)
    with pytest.raises(DataError, match="corpus.parquet: no column 'twin'"):
        evaluate_stage.main(["base", "lohelp", "tiny/model"])
    assert not (at / "data/indexes/lohelp/base").exists()
    corpus.write_bytes(good)
    truncate(at / "data/benchmarks/lohelp/queries.parquet")
    with pytest.raises(DataError, match="queries.parquet: not a readable Parquet file"):
        evaluate_stage.main(["base", "lohelp", "tiny/model"])
    assert not (at / "metrics/eval/lohelp/base.json").exists()


def test_truncated_triplets_stop_training_before_any_work(at):
    triplets = at / "triplets.parquet"
    shutil.copy(at / "data/prepared/queries.parquet", triplets)  # a table without triplets
    p = resolve_train(parse(TrainParams, {**PARAMS["train"], "data": str(triplets),
                                          "base": "tiny/model"}, "train"), "cpu")
    with pytest.raises(DataError, match="triplets.parquet: no column 'query_ko'"):
        train(p, "contrastive", "kokoen", 13, at / "out", "grid/kokoen", [], at / "pending",
              False)
    truncate(triplets)
    with pytest.raises(DataError, match="triplets.parquet: not a readable Parquet file"):
        train(p, "contrastive", "kokoen", 13, at / "out", "grid/kokoen", [], at / "pending",
              False)
    assert not (at / "out").exists()


def test_truncated_jsonl_gz_names_the_file_and_the_last_good_line(tmp_path):
    path = tmp_path / "paragraphs.jsonl.gz"
    record = {"page": "p", "id": "i", "section": "s", "kind": "p", "ko": "표 삽입",
              "en": "insert a table"}
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(2000):
            f.write(json.dumps({**record, "id": f"i{i}"}) + "\n")
    truncate(path)
    with pytest.raises(ValueError, match=r"paragraphs.jsonl.gz: unreadable after line \d+, "
                                         "truncated"):
        load_paragraphs(path)


@pytest.mark.parametrize("text, message", [
    ("q1 0 d1 1\nq1 0 d2\n", r"qrels.txt:2: expected 4 fields `qid 0 docid relevance`, got 3"),
    ("q1 0 d1 yes\n", r"qrels.txt:1: relevance 'yes' is not an integer"),
])
def test_malformed_qrels_line_names_file_and_line(tmp_path, text, message):
    (tmp_path / "qrels.txt").write_text(text)
    with pytest.raises(DataError, match=message):
        read_qrels(tmp_path / "qrels.txt")


@pytest.mark.parametrize("text, message", [
    ("q1 Q0 d1 1 0.5 t\n\nq1 Q0 d2 2 0.4\n", r"run.trec:3: expected 6 fields"),
    ("q1 Q0 d1 1 high t\n", r"run.trec:1: score 'high' is not a number"),
])
def test_malformed_run_line_names_file_and_line(tmp_path, text, message):
    (tmp_path / "run.trec").write_text(text)
    with pytest.raises(DataError, match=message):
        read_trec_run(tmp_path / "run.trec")


def kill_when(proc: subprocess.Popen, path: Path, timeout: float = 120) -> bool:
    """SIGKILL `proc` as soon as `path` exists; False if it finished first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def test_kill_during_index_leaves_no_index_and_the_rerun_finishes(at):
    cmd = stage("stages.evaluate", "base", "lohelp", "tiny/model")
    proc = subprocess.Popen(cmd, cwd=at, env=env(at), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert kill_when(proc, at / "data/indexes/lohelp/base.part")
    assert not (at / "data/indexes/lohelp/base").exists()
    subprocess.run(cmd, cwd=at, env=env(at), check=True, capture_output=True)
    assert not (at / "data/indexes/lohelp/base.part").exists()
    manifest = json.loads((at / "data/indexes/lohelp/base/manifest.json").read_text())
    assert manifest["docs"] == {"ko": 9, "en": 9, "multi": 18}


def test_kill_during_merge_leaves_no_model_and_the_rerun_finishes(at):
    for i, code in enumerate(("kokoen", "koenen")):  # wide enough that saving takes a while
        shutil.copytree(tiny_model(at / f"w{i}", seed=i, hidden=512), at / "grid" / code)
    write_params(at, merge={"base": "tiny/model", "grid_dir": "grid", "out_dir": "merged"},
                 grid=["kokoen", "koenen"],
                 merges={"avg": {"method": "linear", "models": ["kokoen", "koenen"]}})
    cmd = stage("stages.merge", "avg")
    killed = False
    for _ in range(5):  # the window is the writing of the merged model
        proc = subprocess.Popen(cmd, cwd=at, env=env(at), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if kill_when(proc, at / "merged/avg.part"):
            killed = True
            break
        shutil.rmtree(at / "merged/avg")
    assert killed and not (at / "merged/avg").exists()
    subprocess.run(cmd, cwd=at, env=env(at), check=True, capture_output=True)
    assert not (at / "merged/avg.part").exists()
    merged = load_file(str(at / "merged/avg/model.safetensors"))
    a, b = (load_file(str(at / "grid" / c / "model.safetensors")) for c in ("kokoen", "koenen"))
    assert all(torch.allclose(merged[k], (a[k] + b[k]) / 2) for k in merged
               if merged[k].is_floating_point())


def killed_when(cmd: list[str], root: Path, moment: Callable[[], bool]) -> None:
    """Run a stage and SIGKILL it as soon as `moment()` holds (polled every millisecond once
    its imports are done: at its first output, the model loading), or let it finish."""
    proc = subprocess.Popen(cmd, cwd=root, env=env(root), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    proc.stdout.read(1)
    while not moment() and proc.poll() is None:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def test_evaluate_killed_at_any_moment_leaves_whole_outputs_or_none(at):
    cmd = stage("stages.evaluate", "base", "lohelp", "tiny/model")
    runs, metrics = at / "data/runs/lohelp/base", at / "metrics/eval/lohelp/base.json"
    subprocess.run(cmd, cwd=at, env=env(at), check=True, capture_output=True)
    reference = json.loads(metrics.read_text())
    part = Path(f"{runs}.part"), Path(f"{metrics}.part")
    moments = {"at the model loading": lambda: True,  # each write's start, end, and between
               "writing the runs": part[0].exists, "runs written": runs.exists,
               "writing the metrics": part[1].exists, "metrics written": metrics.exists}
    for name, moment in moments.items():
        shutil.rmtree(runs, ignore_errors=True)
        metrics.unlink(missing_ok=True)
        killed_when(cmd, at, moment)
        if runs.exists():  # a run directory is there only complete
            assert sorted(p.name for p in runs.iterdir()) == sorted(
                f"{r}.trec" for r in RUNS), f"killed {name}"
        if metrics.exists():
            assert json.loads(metrics.read_text()) == reference, f"killed {name}"
    subprocess.run(cmd, cwd=at, env=env(at), check=True, capture_output=True)
    assert json.loads(metrics.read_text()) == reference
    assert not list(at.glob("data/runs/*/*.part")) and not list(at.glob("metrics/eval/*/*.part"))


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A 256 KiB tmpfs: a real filesystem that fills up (needs root, as in CI)."""
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_while_saving_a_model_or_an_index(at, small_disk):
    for i, code in enumerate(("kokoen", "koenen")):
        shutil.copytree(tiny_model(at / f"w{i}", seed=i, hidden=128), at / "grid" / code)
    write_params(at, merge={"base": "tiny/model", "grid_dir": "grid",
                            "out_dir": str(small_disk / "merged")},
                 grid=["kokoen", "koenen"],
                 merges={"avg": {"method": "linear", "models": ["kokoen", "koenen"]}},
                 index={"out_dir": str(small_disk / "indexes")})
    proc = subprocess.run(stage("stages.merge", "avg"), cwd=at, env=env(at),
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"could not write {small_disk}/merged/avg: No space left on device" in proc.stderr
    assert not list(small_disk.glob("merged/*"))
    # an index onto a disk with a few KiB left
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 8192))
    proc = subprocess.run(stage("stages.evaluate", "base", "lohelp", "tiny/model"), cwd=at,
                          env=env(at), capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"could not write {small_disk}/indexes/lohelp/base: No space left on device" \
        in proc.stderr
    assert not list(small_disk.glob("indexes/*/*"))


def test_a_further_seed_without_its_grid_names_the_training_stage(at):
    write_params(at, grid=["kokoen", "koenen"], train={"more_seeds": [42]},
                 merges={"avg": {"method": "linear", "models": ["kokoen", "koenen"]}})
    shutil.copytree(at / "tiny/model", at / "models/seeds/s42/grid/kokoen")
    with pytest.raises(SystemExit, match=r"seed 42: no model at models/seeds/s42/grid/koenen; "
                       r"train it first \(dvc repro train_seed@koenen-42\)"):
        seed_stage.main(["merge", "42"])
    assert not (at / "models/seeds/s42/merged").exists()
