"""The study for another language paired with English, through params alone: `python -m
koen.config.pair <lang> en` respells params.yaml, then a real `dvc repro` of the tiny pipeline
runs prepare, train, merge, BM25 and dense evaluation and the report on the pair's committed help
text (Japanese: another script; German: Latin script, told from English by py3langid)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import SMALL_PREPARE, copy_project
from datasets import Dataset
from tiny_data import PARAMS
from tiny_models import tiny_model

from koen.config.parse import ParamsError, parse
from koen.config.schema import Params


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "name", "merge"), [("ja", "Japanese", "cocktail"),
                                                     ("de", "German", "linear")])
def test_another_pair_runs_the_study_through_params_alone(lang, name, merge, tmp_path,
                                                          dvc_cache):
    project = copy_project(tmp_path / "repo")
    project.dvc("cache", "dir", "--local", str(dvc_cache))
    out = project.run(sys.executable, "-m", "koen.config.pair", lang, "en").stdout
    assert f"languages ko-en -> {lang}-en" in out and "benchmark dropped: belebele" in out
    grid = [f"{lang}{lang}en", f"{lang}enen"]
    recipe = {"method": merge, "models": grid} | (
        {"examples": 8, "temperature": 0.1} if merge == "cocktail" else {})
    project.set_params(
        prepare=SMALL_PREPARE,
        base_model={"source": str(tiny_model(tmp_path / "tiny")), "vocab": "full"},
        grid=grid, composition=grid[1],
        train={"triplets": 32, "batch_size": 8, "max_seq_length": 32, "checkpoint_steps": 100},
        merges={"avg": recipe}, sweeps={}, replace=("merges", "sweeps"))
    project.commit(f"{lang}-en")
    project.dvc("repro")

    root = project.root
    corpus = Dataset.from_parquet(str(root / "data/prepared/corpus.parquet"))
    assert sorted(set(corpus["lang"])) == sorted([lang, "en"])
    triplets = Dataset.from_parquet(str(root / "data/prepared/triplets.parquet"))
    assert {f"query_{lang}", "query_en", f"neg_{lang}"} <= set(triplets.column_names)
    info = json.loads((root / f"models/grid/{grid[0]}/train_info.json").read_text())
    assert info["composition"] == grid[0]
    bm25 = json.loads((root / "data/indexes/lohelp/bm25/manifest.json").read_text())
    assert bm25["analyzers"] == {lang: lang, "en": "en", "multi": lang}
    for system in ("base", *grid, "avg", "bm25", "shift"):
        metrics = json.loads((root / f"metrics/eval/lohelp/{system}.json").read_text())
        assert {f"en-{lang}/ndcg@10", f"{lang}-en/ndcg@10", f"{lang}-{lang}/ndcg@10",
                f"multi/{lang}/inclination", "multi/gap"} <= set(metrics)
    report = (root / "metrics/report.md").read_text()
    assert report.startswith(f"# Retrieval report ({name}-English, {lang}-en)")
    assert f"| Model | lohelp en-{lang} | lohelp {lang}-en | AVG en-{lang} |" in report
    assert "## English inclination" in report
    overall = json.loads((root / "metrics/overall.json").read_text())
    assert {"clir_ovr", "mono_ovr", f"avg_{lang}-{lang}"} <= set(overall["avg"])
    assert "up to date" in project.dvc("status").stdout


@pytest.mark.parametrize(("changes", "message"), [
    ({"languages": ["ja"]}, "'languages' is ['ja']: name two languages"),
    ({"languages": ["en", "en"]}, "name two different languages"),
    ({"languages": ["xx", "en"]}, "unknown language 'xx'; known: ko, ja"),
    ({"languages": ["ja", "en"]}, "'grid[0]' is invalid: unknown composition 'kokoko' for "
                                  "languages [ja, en]"),
    ({"languages": ["ja", "en"], "grid": ["jajaen"], "composition": "jajaen",
      "merges": {"m": {"method": "linear", "models": ["jajaen", "base"]}}, "sweeps": {},
      "base_model": {"vocab": "full"}, "train": {"align": {"direction": "en"}}},
     "'prepare.data' is data/raw, the ko-en help text, not ja-en's"),
])
def test_a_bad_pair_fails_at_the_start_naming_the_key(changes, message):
    raw = json.loads(json.dumps(PARAMS))
    for key, value in changes.items():
        if isinstance(value, dict) and key not in ("merges", "sweeps"):
            for sub, v in value.items():
                if isinstance(v, dict):
                    raw[key][sub] |= v
                else:
                    raw[key][sub] = v
        else:
            raw[key] = value
    with pytest.raises(ParamsError) as err:
        parse(Params, raw, "")
    assert message in str(err.value)
    if "grid" in message:
        assert "python -m koen.config.pair ja en" in str(err.value)
