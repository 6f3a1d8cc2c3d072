"""The study for another language paired with English, through params alone: `python -m
koen.config.pair <lang> en` respells params.yaml, then a real `dvc repro` of the tiny pipeline
runs prepare, train, merge, BM25 and dense evaluation and the report on the pair's committed help
text (Japanese: another script; German: Latin script, told from English by py3langid)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from conftest import SMALL_PREPARE, Project, copy_project
from datasets import Dataset
from tiny_data import PARAMS
from tiny_models import tiny_model

from koen.config.pair import main as pair_main
from koen.config.parse import ParamsError, parse
from koen.config.schema import Params, load

ROOT = Path(__file__).resolve().parents[1]


def respelled(lang: str, merge: str, root, dvc_cache) -> Project:
    """A copy of the project respelled for `<lang>-en` by `koen.config.pair`, on the tiny
    pipeline: a tiny base model, two compositions, one merge, the help test split."""
    project = copy_project(root / "repo")
    project.dvc("cache", "dir", "--local", str(dvc_cache))
    out = project.run(sys.executable, "-m", "koen.config.pair", lang, "en").stdout
    assert f"languages ko-en -> {lang}-en" in out and "benchmark dropped: belebele" in out
    grid = [f"{lang}{lang}en", f"{lang}enen"]
    recipe = {"method": merge, "models": grid} | (
        {"examples": 8, "temperature": 0.1} if merge == "cocktail" else {})
    project.set_params(
        prepare=SMALL_PREPARE,
        base_model={"source": str(tiny_model(root / "tiny")), "vocab": "full"},
        grid=grid, composition=grid[1],
        train={"triplets": 32, "batch_size": 8, "max_seq_length": 32, "checkpoint_steps": 100},
        merges={"avg": recipe}, sweeps={}, replace=("merges", "sweeps"))
    project.commit(f"{lang}-en")
    return project


def check_data_and_indexes(root, lang: str, systems: tuple[str, ...]) -> None:
    corpus = Dataset.from_parquet(str(root / "data/prepared/corpus.parquet"))
    assert sorted(set(corpus["lang"])) == sorted([lang, "en"])
    triplets = Dataset.from_parquet(str(root / "data/prepared/triplets.parquet"))
    assert {f"query_{lang}", "query_en", f"neg_{lang}"} <= set(triplets.column_names)
    info = json.loads((root / f"models/grid/{lang}{lang}en/train_info.json").read_text())
    assert info["composition"] == f"{lang}{lang}en"
    bm25 = json.loads((root / "data/indexes/lohelp/bm25/manifest.json").read_text())
    assert bm25["analyzers"] == {lang: lang, "en": "en", "multi": lang}
    for system in systems:
        metrics = json.loads((root / f"metrics/eval/lohelp/{system}.json").read_text())
        assert {f"en-{lang}/ndcg@10", f"{lang}-en/ndcg@10", f"{lang}-{lang}/ndcg@10",
                f"multi/{lang}/inclination", "multi/gap"} <= set(metrics)


@pytest.mark.slow
@pytest.mark.longest
def test_german_runs_the_whole_study_through_params_alone(tmp_path, dvc_cache):
    """Latin script like English: the checks by py3langid, German stemming; every stage."""
    project = respelled("de", "linear", tmp_path, dvc_cache)
    project.dvc("repro")
    root = project.root
    check_data_and_indexes(root, "de", ("base", "deenen", "avg", "bm25", "shift", "hybrid"))
    report = (root / "metrics/report.md").read_text()
    assert report.startswith("# Retrieval report (German-English, de-en)")
    assert "| Model | lohelp en-de | lohelp de-en | AVG en-de |" in report
    assert "## English inclination" in report
    overall = json.loads((root / "metrics/overall.json").read_text())
    assert {"clir_ovr", "mono_ovr", "avg_de-de"} <= set(overall["avg"])
    assert "up to date" in project.dvc("status").stdout


@pytest.mark.slow
def test_japanese_trains_merges_and_evaluates_through_params_alone(tmp_path, dvc_cache):
    """Another script: kana and kanji, Lucene's Japanese analyser, LM-Cocktail on ja-en dev
    examples; up to the merge's and BM25's evaluations (the report is German's test's)."""
    project = respelled("ja", "cocktail", tmp_path, dvc_cache)
    project.dvc("repro", "evaluate_merge@avg-lohelp", "evaluate_bm25@lohelp")
    check_data_and_indexes(project.root, "ja", ("avg", "bm25"))
    merged = json.loads((project.root / "models/merged/avg/merge_info.json").read_text())
    assert set(merged["losses"][0]) == {"clir", "mono"} and len(merged["weights"]) == 2


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


@pytest.fixture
def params_copy(tmp_path) -> Path:
    """params.yaml in a folder whose data/ is the repository's (the help texts, Belebele)."""
    (tmp_path / "data").symlink_to(ROOT / "data")
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    return tmp_path / "params.yaml"


def test_the_pair_command_respells_every_composition_and_path(params_copy, capsys):
    text = params_copy.read_text().replace("composition: ko+en ", "composition: ko+enenen ")
    params_copy.write_text(text.replace("model: models/base,", "model: models/grid/koenen,"))
    assert pair_main(["ja", "en", "--params", str(params_copy)]) == 0
    raw = yaml.safe_load(params_copy.read_text())
    assert raw["languages"] == ["ja", "en"] and raw["grid"] == [
        "jajaja", "jajaen", "jaenja", "jaenen", "enenja", "enjaen", "enjaja", "enenen"]
    assert raw["composition"] == "ja+enenen" and raw["base_model"]["vocab"] == "ja+en"
    assert raw["merges"]["jaenen+jajaen"]["models"] == ["jaenen", "jajaen"]
    assert list(raw["sweeps"]) == ["jaenen~base"] and raw["index"]["shift"]["model"] == \
        "models/grid/jaenen"
    assert raw["prepare"]["data"] == "data/help/ja-en"
    assert raw["base_model"]["check_texts"] == "data/help/ja-en/paragraphs.jsonl.gz"
    assert raw["report"]["title"] == "Retrieval report (Japanese-English, ja-en)"
    assert list(raw["benchmarks"]) == ["lohelp"]
    out = capsys.readouterr().out
    assert "--include data/jpn_Jpan.jsonl`" in out  # English is there already
    assert "# the pair studied" in params_copy.read_text()  # comments kept


def test_languages_changed_alone_is_respelled_from_the_grid(params_copy):
    """As `dvc exp run -S 'languages=[de,en]'` leaves it (a list in block style)."""
    text = params_copy.read_text()
    params_copy.write_text(re.sub(r"^languages: .*\n", "languages:\n- de\n- en\n", text,
                                  flags=re.MULTILINE))
    with pytest.raises(ParamsError, match="python -m koen.config.pair de en"):
        load(params_copy)
    assert pair_main(["de", "--params", str(params_copy)]) == 0
    assert load(params_copy).grid[3] == "deenen"
    assert "languages: [de, en]                   # the pair studied" in params_copy.read_text()


def test_a_pair_without_help_text_names_the_command_that_adds_it(params_copy, capsys):
    before = params_copy.read_text()
    assert pair_main(["zh", "--params", str(params_copy)]) == 1
    assert "python data/raw/regenerate.py --lang zh" in capsys.readouterr().err
    assert params_copy.read_text() == before and not list(params_copy.parent.glob(".*.new"))
