"""Public benchmark loaders, offline, on local fixtures in the hub datasets' layouts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from datasets import Dataset
from tiny_data import write_params
from tiny_models import tiny_model

from koen.data.benchmarks import beir_pair, belebele, main
from koen.data.parallel import validate_corpus
from koen.data.tables import DataError
from koen.evaluation.metrics import read_qrels
from koen.repro.provenance import files_digest
from stages import benchmark as benchmark_stage
from stages import evaluate, index


def test_belebele_passages_become_parallel_twins_and_questions_queries(fixtures):
    corpus, queries, qrels = belebele(str(fixtures / "belebele"))
    assert len(corpus) == 4  # two FLORES passages, each in ko and en
    validate_corpus(corpus, "belebele")
    assert len(queries) == 3
    q = next(q for q in queries if q["en"] == "Where did the typhoon make landfall?")
    assert q["ko"] == "태풍은 어디에 상륙했는가?"
    relevant = [line.split()[2] for line in qrels if line.startswith(q["qid"] + " ")]
    texts = {r["doc_id"]: r["text"] for r in corpus}
    assert sorted(texts[d] for d in relevant) == ["A typhoon made landfall on the south coast.",
                                                  "태풍이 남해안에 상륙했다."]


def test_strategyqa_pair_shares_ids_across_languages(fixtures, tmp_path):
    corpus, queries, qrels = beir_pair(str(fixtures / "strategyqa-ko"),
                                       str(fixtures / "strategyqa-en"))
    validate_corpus(corpus, "strategyqa")
    assert {(q["ko"], q["en"]) for q in queries} == {
        ("바나나는 무슨 색인가?", "What color are bananas?"),
        ("고래는 물고기인가?", "Are whales fish?")}
    assert "q1 0 sd1-ko 1" in qrels and "q1 0 sd1-en 1" in qrels
    main(["strategyqa", "--out", str(tmp_path / "sqa"), "--ko", str(fixtures / "strategyqa-ko"),
          "--en", str(fixtures / "strategyqa-en")])
    assert read_qrels(tmp_path / "sqa/qrels.test.txt")["q2"] == {"sd2-ko": 1, "sd2-en": 1}
    assert Dataset.from_parquet(str(tmp_path / "sqa/corpus.parquet")).num_rows == 4


def test_the_benchmark_stage_converts_belebele_and_the_stages_evaluate_on_it(fixtures, tmp_path,
                                                                           monkeypatch):
    """A benchmark is a matter of params: the stage writes it, index/evaluate read its files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    bench = "data/benchmarks/belebele"
    write_params(tmp_path, belebele={"source": str(fixtures / "belebele"), "out": bench},
                 benchmarks={"belebele": {"corpus": f"{bench}/corpus.parquet",
                                          "queries": f"{bench}/queries.parquet",
                                          "qrels": f"{bench}/qrels.test.txt", "split": "test"}})
    benchmark_stage.main()
    index.main(["base", str(tiny_model(tmp_path / "tiny"))])
    evaluate.main(["base"])
    metrics = json.loads((tmp_path / "metrics/eval/base.json").read_text())
    assert metrics["belebele/queries"] == 3 and "avg_ko-ko" in metrics
    assert metrics["avg_ko-ko"] == metrics["belebele/ko-ko/ndcg@10"]
    assert 0 <= metrics["clir_ovr"] <= 100


def copy_fixture(fixtures, tmp_path):
    copy = tmp_path / "belebele"
    shutil.copytree(fixtures / "belebele", copy)
    return copy


def test_a_belebele_copy_without_a_language_is_refused(fixtures, tmp_path):
    copy = copy_fixture(fixtures, tmp_path)
    (copy / "eng_Latn.jsonl").unlink()
    with pytest.raises(DataError, match=f"{copy}: no eng_Latn data"):
        belebele(str(copy))


def test_belebele_rows_that_do_not_align_are_refused(fixtures, tmp_path):
    copy = copy_fixture(fixtures, tmp_path)
    rows = [json.loads(x) for x in (copy / "eng_Latn.jsonl").read_text().splitlines()]
    rows[1]["question_number"] = 7
    (copy / "eng_Latn.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"kor_Hang has question \(.*, 2\) that eng_Latn "
                                        "lacks; rows must align"):
        belebele(str(copy))


def test_a_belebele_copy_that_differs_from_its_checksums_is_refused(fixtures, tmp_path):
    copy = copy_fixture(fixtures, tmp_path)
    digest = files_digest(copy / "kor_Hang.jsonl")
    readme = copy / "README.md"
    readme.write_text(readme.read_text() + f"\nsha256:\n{digest}  kor_Hang.jsonl\n")
    assert len(belebele(str(copy))[1]) == 3  # the listed sum matches
    with open(copy / "kor_Hang.jsonl", "a") as f:
        f.write("\n")
    with pytest.raises(DataError, match="kor_Hang.jsonl: sha256 differs"):
        belebele(str(copy))


def test_the_shared_copy_is_the_whole_benchmark():
    """The default `belebele.source` (outside the repository, checksummed in its README)."""
    source = Path(__file__).resolve().parents[2] / "shared/data/belebele"
    if not source.is_dir():
        pytest.skip(f"no shared Belebele copy at {source}")
    corpus, queries, qrels = belebele(str(source))
    assert (len(corpus), len(queries), len(qrels)) == (2 * 488, 900, 1800)
    validate_corpus(corpus, "belebele")
