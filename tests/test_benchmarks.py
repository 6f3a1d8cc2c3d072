"""Public benchmark loaders, offline, on local fixtures in the hub datasets' layouts."""

from __future__ import annotations

import json

from datasets import Dataset
from tiny_data import write_params
from tiny_models import tiny_model

from koen.data.benchmarks import beir_pair, belebele, main
from koen.data.parallel import validate_corpus
from koen.evaluation.metrics import read_qrels
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


def test_a_converted_benchmark_is_indexed_and_evaluated_by_the_stages(fixtures, tmp_path,
                                                                      monkeypatch):
    """Selecting a benchmark is a matter of params: point index/evaluate at its files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    main(["belebele", "--out", "data/benchmarks/belebele", "--source",
          str(fixtures / "belebele")])
    bench = "data/benchmarks/belebele"
    write_params(tmp_path, index={"corpus": f"{bench}/corpus.parquet"},
                 evaluate={"queries": f"{bench}/queries.parquet",
                           "qrels": f"{bench}/qrels.test.txt", "benchmark": "belebele"})
    index.main(["base", str(tiny_model(tmp_path / "tiny"))])
    evaluate.main(["base"])
    metrics = json.loads((tmp_path / "metrics/eval/base.json").read_text())
    assert metrics["queries"] == 3 and "avg_ko-ko" in metrics
    assert 0 <= metrics["clir_ovr"] <= 100
