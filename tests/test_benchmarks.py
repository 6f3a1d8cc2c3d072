"""Benchmarks as params: each format converted into the one schema, offline, on fixtures in the
layouts BEIR, MTEB and the hub ship; bad input fails before anything is written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from datasets import Dataset
from tiny_data import write_params
from tiny_models import tiny_model

from koen.config.languages import KO_EN
from koen.data.benchmarks import convert, fetch, from_belebele, write_benchmark
from koen.data.parallel import validate_corpus
from koen.errors import KoenError
from koen.formats.benchmark import CARD, load_task, read_card
from koen.formats.tables import DataError
from koen.formats.trec import read_qrels
from koen.repro.provenance import files_digest
from stages import benchmark as benchmark_stage
from stages import evaluate

ROOT = Path(__file__).resolve().parents[1]


def convert_to(tmp_path: Path, fmt: str, source: Path, name: str = "b") -> tuple[dict, Path]:
    out = tmp_path / "out" / name
    return write_benchmark(out, name, fmt, source, convert(fmt, source, "test", KO_EN)), out


def test_belebele_passages_become_parallel_twins_and_questions_queries(fixtures):
    b = from_belebele(fixtures / "belebele", KO_EN)
    assert len(b.corpus) == 4  # two FLORES passages, each in ko and en
    validate_corpus(b.corpus, "belebele", KO_EN)
    assert len(b.queries) == 3
    q = next(q for q in b.queries if q["en"] == "Where did the typhoon make landfall?")
    assert q["ko"] == "태풍은 어디에 상륙했는가?"
    relevant = [d for qid, d, _ in b.qrels if qid == q["qid"]]
    texts = {r["doc_id"]: r["text"] for r in b.corpus}
    assert sorted(texts[d] for d in relevant) == ["A typhoon made landfall on the south coast.",
                                                  "태풍이 남해안에 상륙했다."]
    assert b.directions() == ["ko-ko", "ko-en", "en-ko", "en-en"] and b.parallel()


def test_a_parallel_beir_folder_converts_with_shared_ids(fixtures, tmp_path):
    card, out = convert_to(tmp_path, "beir", fixtures / "beir-parallel")
    assert card["parallel"] and card["multi"]
    assert card["directions"] == ["ko-ko", "ko-en", "en-ko", "en-en"]
    assert card["passages"] == {"ko": 6, "en": 6} and card["queries"] == 4
    corpus = Dataset.from_parquet(str(out / "corpus.parquet")).to_list()
    validate_corpus(corpus, "beir-parallel", KO_EN)
    assert read_qrels(out / "qrels.txt")["q2"] == {"d2-ko": 1, "d2-en": 1}


def test_the_hub_layout_of_mteb_converts_too(fixtures, tmp_path):
    """StrategyQA and Ko-StrategyQA as fetched from the hub (qrels.jsonl beside the corpus)."""
    card, out = convert_to(tmp_path, "beir", fixtures / "strategyqa")
    assert card["parallel"] and card["queries"] == 2
    queries = {(r["ko"], r["en"]) for r in Dataset.from_parquet(str(out / "queries.parquet"))}
    assert queries == {("바나나는 무슨 색인가?", "What color are bananas?"),
                       ("고래는 물고기인가?", "Are whales fish?")}
    assert read_qrels(out / "qrels.txt")["q1"] == {"d1-ko": 1, "d1-en": 1}


def test_a_korean_only_benchmark_measures_mono_and_clir_from_its_english_queries(fixtures,
                                                                                 tmp_path):
    card, out = convert_to(tmp_path, "beir", fixtures / "beir-ko")
    assert card["corpus_languages"] == ["ko"] and card["query_languages"] == ["ko", "en"]
    assert card["directions"] == ["ko-ko", "en-ko"] and not card["multi"]
    corpus = Dataset.from_parquet(str(out / "corpus.parquet")).to_list()
    assert {r["lang"] for r in corpus} == {"ko"} and all(r["twin"] == "" for r in corpus)
    assert corpus[0]["text"] == "서식 문서 커서 편집"  # title and text
    task = load_task(out, KO_EN)
    assert task.runs == ["ko-ko", "en-ko"] and task.judged("en-ko")["kq0"] == {"k0-ko": 1}

    alone = tmp_path / "ko-alone"
    shutil.copytree(fixtures / "beir-ko" / "ko", alone / "ko")
    card, _ = convert_to(tmp_path, "beir", alone, "alone")
    assert card["directions"] == ["ko-ko"] and card["query_languages"] == ["ko"]


def bad_copy(fixtures: Path, tmp_path: Path, name: str = "beir-parallel") -> Path:
    copy = tmp_path / name
    shutil.copytree(fixtures / name, copy)
    return copy


def edit_lines(path: Path, line: int, change) -> None:  # noqa: ANN001
    rows = path.read_text().splitlines()
    rows[line - 1] = change(rows[line - 1])
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize(("damage", "message"), [
    (lambda c: (c / "ko/qrels/test.tsv").unlink(), r"beir-parallel/ko: no qrels"),
    (lambda c: edit_lines(c / "ko/qrels/test.tsv", 3, lambda x: x.replace("d1", "d9")),
     r"ko/qrels/test.tsv:3: judgement|en/qrels/test.tsv:3: judgement"),
    (lambda c: [edit_lines(c / f"{x}/qrels/test.tsv", 3, lambda x: x.replace("d1", "d9"))
                for x in ("ko", "en")], r"qrels/test.tsv:3: document 'd9' is not in the corpus"),
    (lambda c: [edit_lines(c / f"{x}/qrels/test.tsv", 2, lambda x: x.replace("q0", "q7"))
                for x in ("ko", "en")], r"qrels/test.tsv:2: query 'q7' is not among the queries"),
    (lambda c: edit_lines(c / "en/corpus.jsonl", 4, lambda x: x.replace('"text"', '"body"')),
     r"en/corpus.jsonl:4 \(d3\): missing or non-text field 'text'"),
    (lambda c: edit_lines(c / "ko/corpus.jsonl", 5, lambda x: x.replace('"d4"', '"d1"')),
     r"ko/corpus.jsonl:5: duplicate id 'd1', first at line 2"),
    (lambda c: edit_lines(c / "ko/corpus.jsonl", 6, lambda x: x.replace('"d5"', '"d7"')),
     r"ko/corpus.jsonl:6: id 'd7' has no counterpart in .*en/corpus.jsonl"),
    (lambda c: edit_lines(c / "en/queries.jsonl", 1, lambda x: x.replace('"q0"', '"x0"')),
     r"queries.jsonl:1: id '(q0|x0)' has no counterpart"),
    (lambda c: edit_lines(c / "en/corpus.jsonl", 2, lambda x: x.replace("}", ", ")),
     r"en/corpus.jsonl:2: not valid JSON"),
    (lambda c: shutil.move(c / "ko", c / "kr"), r"beir-parallel: holds kr/, not a language"),
])
def test_bad_beir_input_fails_naming_file_and_line_and_writes_nothing(fixtures, tmp_path,
                                                                      monkeypatch, damage,
                                                                      message):
    copy = bad_copy(fixtures, tmp_path)
    damage(copy)
    monkeypatch.chdir(tmp_path)
    write_params(tmp_path, benchmarks={"mine": {"format": "beir", "source": str(copy),
                                                "split": "test"}})
    with pytest.raises(DataError, match=message):
        benchmark_stage.main(["mine"])
    assert not (tmp_path / "data/benchmarks").exists()  # nothing DVC could take as complete


def test_an_english_side_with_korean_text_is_refused(fixtures, tmp_path):
    copy = bad_copy(fixtures, tmp_path)
    shutil.copy(copy / "ko/corpus.jsonl", copy / "en/corpus.jsonl")
    with pytest.raises(DataError, match=r"en/corpus.jsonl:1 \(d0\): English text contains "
                                        "Hangul"):
        convert("beir", copy, "test", KO_EN)


def copy_fixture(fixtures, tmp_path):
    copy = tmp_path / "belebele"
    shutil.copytree(fixtures / "belebele", copy)
    return copy


def test_a_belebele_copy_without_a_language_is_refused(fixtures, tmp_path):
    copy = copy_fixture(fixtures, tmp_path)
    (copy / "eng_Latn.jsonl").unlink()
    looked = f"{copy}: no eng_Latn data (looked for {copy}/eng_Latn.jsonl and " \
             f"{copy}/data/eng_Latn.jsonl"
    with pytest.raises(DataError, match=re.escape(looked)):
        from_belebele(copy, KO_EN)


def test_a_belebele_folder_in_the_hubs_layout_loads_as_the_flat_copy(fixtures, tmp_path):
    """facebook/belebele keeps one `data/<config>.jsonl` per language, and its README maps
    every config (122 of them) to such a file; `fetch --include` brings two of them."""
    hub = tmp_path / "belebele-hub"
    (hub / "data").mkdir(parents=True)
    for config in ("kor_Hang", "eng_Latn"):
        shutil.copy(fixtures / "belebele" / f"{config}.jsonl", hub / "data" / f"{config}.jsonl")
    (hub / "README.md").write_text("---\nconfigs:\n" + "".join(
        f"- config_name: {c}\n  data_files:\n  - split: test\n    path: data/{c}.jsonl\n"
        for c in ("acm_Arab", "eng_Latn", "kor_Hang")) + "---\n# The Belebele Benchmark\n")
    flat = from_belebele(fixtures / "belebele", KO_EN)
    b = from_belebele(hub, KO_EN)
    assert (b.corpus, b.queries, b.qrels) == (flat.corpus, flat.queries, flat.qrels)

    (hub / "data" / "kor_Hang.jsonl").unlink()
    looked = f"{hub}: no kor_Hang data (looked for {hub}/kor_Hang.jsonl and " \
             f"{hub}/data/kor_Hang.jsonl"
    with pytest.raises(DataError, match=re.escape(looked)):
        from_belebele(hub, KO_EN)


def test_belebele_rows_that_do_not_align_are_refused(fixtures, tmp_path):
    copy = copy_fixture(fixtures, tmp_path)
    rows = [json.loads(x) for x in (copy / "eng_Latn.jsonl").read_text().splitlines()]
    rows[1]["question_number"] = 7
    (copy / "eng_Latn.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"kor_Hang has question \(.*, 2\) that eng_Latn "
                                        "lacks; rows must align"):
        from_belebele(copy, KO_EN)


def test_a_belebele_copy_that_differs_from_its_checksums_is_refused(fixtures, tmp_path):
    copy = copy_fixture(fixtures, tmp_path)
    digest = files_digest(copy / "kor_Hang.jsonl")
    readme = copy / "README.md"
    readme.write_text(readme.read_text() + f"\nsha256:\n{digest}  kor_Hang.jsonl\n")
    assert len(from_belebele(copy, KO_EN).queries) == 3  # the listed sum matches
    with open(copy / "kor_Hang.jsonl", "a") as f:
        f.write("\n")
    with pytest.raises(DataError, match="kor_Hang.jsonl: sha256 differs"):
        from_belebele(copy, KO_EN)


def test_the_repository_copy_is_the_whole_benchmark_with_its_licence():
    """The default `benchmarks.belebele.source`, inside the repository."""
    source = ROOT / "data/belebele"
    readme = (source / "README.md").read_text()
    assert "CC BY-SA 4.0" in readme and "Bandarkar et al." in readme
    b = from_belebele(source, KO_EN)  # checks the sha256 sums the README lists
    assert (len(b.corpus), len(b.queries), len(b.qrels)) == (2 * 488, 900, 1800)
    validate_corpus(b.corpus, "belebele", KO_EN)


def test_fetch_without_a_hub_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(KoenError, match="could not download facebook/belebele"):
        fetch("facebook/belebele", tmp_path / "b", ["data/kor_Hang.jsonl"])


@pytest.mark.slow
def test_the_stages_evaluate_a_korean_only_benchmark_on_the_directions_it_has(fixtures,
                                                                            tmp_path,
                                                                            monkeypatch):
    """A benchmark is a matter of params: the stage converts it, index/evaluate read it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    write_params(tmp_path, benchmarks={"kobench": {"format": "beir",
                                                   "source": str(fixtures / "beir-ko"),
                                                   "split": "test"}})
    benchmark_stage.main(["kobench"])
    assert read_card(tmp_path / "data/benchmarks/kobench")["directions"] == ["ko-ko", "en-ko"]
    model = str(tiny_model(tmp_path / "tiny"))
    for system, args in (("base", [model]), ("bm25", [])):
        evaluate.main([system, "kobench", *args])
        metrics = json.loads((tmp_path / f"metrics/eval/kobench/{system}.json").read_text())
        assert {k.split("/")[0] for k in metrics} == {"ko-ko", "en-ko", "queries",
                                                      "computed_on"}
        assert sorted(p.name for p in (tmp_path / f"data/runs/kobench/{system}").iterdir()) == [
            "en-ko.trec", "ko-ko.trec"]
    # BM25 finds Korean documents by Korean words, never by English ones
    assert metrics["ko-ko/ndcg@10"] > 50 and metrics["en-ko/ndcg@10"] == 0.0
    assert sorted(p.name for p in (tmp_path / "data/indexes/kobench/base").iterdir()) == [
        "ko", "manifest.json"]  # one language: no Multi pool
    assert (tmp_path / "data/benchmarks/kobench" / CARD).is_file()
