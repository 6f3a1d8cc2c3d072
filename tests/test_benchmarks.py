"""Public benchmark loaders, offline, on local fixtures in the hub datasets' layouts."""

from __future__ import annotations

from datasets import Dataset

from stages.benchmarks import beir_pair, belebele, main
from stages.parallel_data import validate_corpus
from stages.retrieval_metrics import read_qrels


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
