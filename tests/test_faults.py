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
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file
from tiny_data import section, write_collection, write_params
from tiny_models import tiny_model

from koen.config.languages import KO_EN
from koen.data.parallel import load_paragraphs
from koen.errors import KoenError
from koen.formats.tables import DataError
from koen.formats.trec import read_qrels, read_trec_run
from koen.models.profile import resolve_train
from koen.repro.atomic import atomic_dir, exchange
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
    p = resolve_train(section("train", {}, data=triplets, base="tiny/model"), "cpu")
    with pytest.raises(DataError, match="triplets.parquet: no column 'query_ko'"):
        train(p, "contrastive", "kokoen", 13, at / "out", "grid/kokoen", [], at / "pending",
              False, {}, KO_EN)
    truncate(triplets)
    with pytest.raises(DataError, match="triplets.parquet: not a readable Parquet file"):
        train(p, "contrastive", "kokoen", 13, at / "out", "grid/kokoen", [], at / "pending",
              False, {}, KO_EN)
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
        load_paragraphs(path, KO_EN)


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


KILL_AT = ROOT / "tests" / "kill_at.py"


def killed_at(cmd: list[str], root: Path, target: str, nth: int) -> bool:
    """Run a stage (`cmd` after `-m`) killed just before the `nth` rename, replace or touch
    whose destination contains `target`; False if it finished first."""
    proc = subprocess.run([sys.executable, str(KILL_AT), "--target", target, "--nth", str(nth),
                           *cmd[2:]], cwd=root, env=env(root), capture_output=True, text=True)
    if proc.returncode == -signal.SIGKILL:
        return True
    assert proc.returncode == 0, proc.stderr[-3000:]
    return False


@pytest.mark.slow
def test_evaluate_killed_at_each_commit_leaves_the_old_or_the_new_outputs(at):
    """Index, runs and metrics of a stage run again over earlier outputs: a kill at any of their
    renames leaves each whole under its name, the old or the new, never neither."""
    cmd = stage("stages.evaluate", "base", "lohelp", "tiny/model")
    index = at / "data/indexes/lohelp/base"
    runs, metrics = at / "data/runs/lohelp/base", at / "metrics/eval/lohelp/base.json"
    subprocess.run(cmd, cwd=at, env=env(at), check=True, capture_output=True)
    reference = json.loads(metrics.read_text())
    nth = 0
    while True:
        nth += 1
        for marked in (index, runs):  # tells an old output from a new one
            (marked / "old").touch()
        if not killed_at(cmd, at, "lohelp/base", nth):
            break
        assert json.loads((index / "manifest.json").read_text())["docs"] == {
            "ko": 9, "en": 9, "multi": 18}, f"killed before commit {nth}"
        assert sorted(p.name for p in runs.iterdir() if p.name != "old") == sorted(
            f"{r}.trec" for r in RUNS), f"killed before commit {nth}"
        assert json.loads(metrics.read_text()) == reference, f"killed before commit {nth}"
    assert nth >= 4  # the index and the runs (each swapped in), the metrics, the index's .part
    assert not (index / "old").exists() and not (runs / "old").exists()  # the new ones
    assert json.loads(metrics.read_text()) == reference
    leftovers = [p for p in at.glob("**/*") if p.suffix == ".part"]
    assert not leftovers


@pytest.mark.slow
def test_killed_merge_leaves_no_model_and_the_rerun_finishes(at):
    for i, code in enumerate(("kokoen", "koenen")):
        shutil.copytree(tiny_model(at / f"w{i}", seed=i), at / "grid" / code)
    write_params(at, base_model={"out": "tiny/model"}, train={"grid_dir": "grid"},
                 merge={"out_dir": "merged"},
                 grid=["kokoen", "koenen"],
                 merges={"avg": {"method": "linear", "models": ["kokoen", "koenen"]}})
    cmd = stage("stages.merge", "avg")
    assert killed_at(cmd, at, "merged/avg", 1)  # the merged model written, not yet renamed
    assert (at / "merged/avg.part/model.safetensors").is_file()
    assert not (at / "merged/avg").exists()
    subprocess.run(cmd, cwd=at, env=env(at), check=True, capture_output=True)
    assert not (at / "merged/avg.part").exists()
    merged = load_file(str(at / "merged/avg/model.safetensors"))
    a, b = (load_file(str(at / "grid" / c / "model.safetensors")) for c in ("kokoen", "koenen"))
    assert all(torch.allclose(merged[k], (a[k] + b[k]) / 2) for k in merged
               if merged[k].is_floating_point())


def test_an_output_is_swapped_for_the_new_one_in_one_step(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "v").write_text("1")
    inode = out.stat().st_ino
    with atomic_dir(out) as tmp:
        (tmp / "v").write_text("2")
        assert (out / "v").read_text() == "1"
    assert (out / "v").read_text() == "2" and out.stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the old one removed
    (tmp_path / "other").mkdir()
    assert exchange(tmp_path / "other", out)  # Linux: in one step
    assert (tmp_path / "other/v").read_text() == "2" and not list(out.iterdir())


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


@pytest.mark.slow
def test_disk_full_while_saving_a_model_or_an_index(at, small_disk):
    for i, code in enumerate(("kokoen", "koenen")):
        shutil.copytree(tiny_model(at / f"w{i}", seed=i, hidden=128), at / "grid" / code)
    write_params(at, base_model={"out": "tiny/model"}, train={"grid_dir": "grid"},
                 merge={"out_dir": str(small_disk / "merged")},
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
    with pytest.raises(KoenError, match=r"seed 42: no model at models/seeds/s42/grid/koenen; "
                       r"train it first \(dvc repro train_seed@koenen-42\)"):
        seed_stage.main(["merge", "42"])
    assert not (at / "models/seeds/s42/merged").exists()
