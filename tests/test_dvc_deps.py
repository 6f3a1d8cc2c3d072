"""Reproducible by hash: each dvc.yaml stage lists the project code its command imports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from conftest import copy_project
from project_deps import closure, command_modules, missing_deps, stages

ROOT = Path(__file__).resolve().parents[1]


def test_every_stage_lists_the_project_files_its_command_imports():
    assert missing_deps(ROOT) == {}


def test_the_check_sees_every_expanded_stage_and_its_imports():
    found = stages(ROOT)
    assert {"train@koenen", "evaluate_merge@koenen+base-lohelp", "evaluate_experiment@belebele",
            "evaluate_hybrid@lohelp", "merge@grid-avg", "benchmark@belebele"} <= set(found)
    assert command_modules(found["train_experiment"]["cmd"]) == ["stages.train", "stages.merge"]
    files = {str(f) for f in closure(ROOT, "stages.train")}
    assert {"koen/training/trainer.py", "koen/training/alignment_loss.py",
            "koen/repro/seeding.py", "koen/config/schema.py", "koen/__init__.py"} <= files
    assert "koen/retrieval/dense.py" not in files


def test_a_dep_removed_from_dvc_yaml_is_reported_with_stage_and_file(tmp_path):
    project = copy_project(tmp_path / "repo")
    path = project.root / "dvc.yaml"
    dvc = yaml.safe_load(path.read_text())
    dvc["stages"]["train"]["do"]["deps"].remove("koen/training")
    dvc["stages"]["report"]["deps"].remove("koen/report")
    path.write_text(yaml.safe_dump(dvc, sort_keys=False))
    missing = missing_deps(project.root)
    assert set(missing) == {f"train@{c}" for c in yaml.safe_load(
        (ROOT / "params.yaml").read_text())["grid"]} | {"report"}
    assert missing["train@koenen"] == ["koen/training/__init__.py",
                                       "koen/training/alignment_loss.py",
                                       "koen/training/batching.py",
                                       "koen/training/examples.py",
                                       "koen/training/records.py", "koen/training/run.py",
                                       "koen/training/trainer.py",
                                       "koen/training/unpadding.py"]
    assert missing["report"] == ["koen/report/__init__.py", "koen/report/evidence.py",
                                 "koen/report/frontier.py", "koen/report/load.py",
                                 "koen/report/machines.py", "koen/report/mlflow_runs.py",
                                 "koen/report/plots.py", "koen/report/report.py",
                                 "koen/report/seeds.py",
                                 "koen/report/significance.py", "koen/report/systems.py",
                                 "koen/report/tables.py"]


def test_further_seeds_have_complete_stages_and_rerun_nothing_else(tmp_path):
    """With `train.more_seeds` set, its stages list their imports too; and no other stage
    declares the list (adding a seed must not retrain or re-evaluate anything else)."""
    project = copy_project(tmp_path / "repo")
    project.set_params(train={"more_seeds": [42, 7]})
    found = stages(project.root)
    assert {"train_seed@koenen-42", "train_seed@enenen-7", "seed@42", "seed@7",
            "seed_eval@42-lohelp", "seed_eval@7-belebele"} <= set(found)
    assert missing_deps(project.root) == {}
    declaring = {name for name, stage in found.items()
                 if any(p in ("train", "train.more_seeds") for p in stage["params"])}
    assert declaring == {"report"}
    assert found["seed@42"]["cmd"] == "python -m stages.seed merge 42"
    assert "models/seeds/s42/grid" in found["seed@42"]["deps"]
    assert found["seed_eval@42-belebele"]["cmd"] == "python -m stages.seed evaluate 42 belebele"


def test_no_benchmark_or_system_is_named_in_dvc_yaml():
    """Stages fan out over params: adding a benchmark or a merge recipe is a params entry."""
    text = (ROOT / "dvc.yaml").read_text()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    names = [*params["benchmarks"], *params["merges"], *params["grid"], *params["sweeps"]]
    # as a word of its own: `merge.cocktail` is a params key, not the recipe
    assert [n for n in names if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", text)] == []


def test_a_new_benchmark_adds_its_stages_and_touches_no_other(tmp_path):
    """The stages a benchmark entry adds, and that no existing stage's definition changes."""
    project = copy_project(tmp_path / "repo")
    before = stages(project.root)
    project.set_params(benchmarks={"mine": {"format": "beir", "source": "data/mine",
                                            "split": "test"}})
    after = stages(project.root)
    new = set(after) - set(before)
    assert "benchmark@mine" in new and "evaluate_grid@koenen-mine" in new
    assert "evaluate_hybrid@mine" in new and "sweep_eval@koenen~base-mine" in new
    # no definition changes; of the old stages only `report` declares `benchmarks` (whose
    # value changed) and so reruns
    assert {n for n in before if after[n] != before[n]} == set()
    assert {n for n in before if "benchmarks" in before[n]["params"]} == {"report"}
