"""A tiny parallel Korean-English test collection in the layout `prepare` writes, with the
params sections of the retrieval stages pointing at it: for index/evaluate/report/search tests.

Texts use only words of `tiny_models.WORDS`, whose Korean and English halves are aligned word
for word, so a tiny model tokenises both languages without unknown pieces.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from datasets import Dataset
from tiny_models import WORDS

KO, EN = WORDS[:15], WORDS[15:30]
PASSAGES = 10
# Query i asks for passage i: its first two content words (the passage holds three).
QUERIES = 6

PARAMS = {
    "seed": 13,
    "index": {"corpus": "data/prepared/corpus.parquet", "out_dir": "data/indexes",
              "split": "test", "batch_size": 4},
    "evaluate": {"queries": "data/prepared/queries.parquet",
                 "qrels": "data/prepared/qrels.test.txt", "indexes": "data/indexes",
                 "runs_dir": "data/runs", "out_dir": "metrics/eval",
                 "pending": "metrics/mlflow_pending", "benchmark": "lohelp", "k": 100,
                 "multi_k": None, "batch_size": 4, "threads": 1,
                 "hybrid": {"dense": "base", "sparse": "bm25", "rrf_k": 60}},
    "report": {"eval_dir": "metrics/eval", "out": "metrics/report.md",
               "plots_dir": "metrics/plots", "pending": "metrics/mlflow_pending",
               "base": "base", "first": ["base", "bm25", "hybrid"]},
}


def words(i: int, lang: list[str]) -> list[str]:
    return [lang[(i + j) % 15] for j in (0, 1, 4)]


def write_collection(root: Path) -> None:
    """`data/prepared/{corpus,queries}.parquet` and `qrels.test.txt` under `root`; one train
    passage shows that only the test split is indexed."""
    rows = []
    for i in range(PASSAGES):
        split = "train" if i == PASSAGES - 1 else "test"
        for lang, vocab, glue in (("ko", KO, ""), ("en", EN, "the ")):
            text = " ".join(f"{glue}{w}" for w in words(i, vocab))
            rows.append({"doc_id": f"p{i:05d}-{lang}", "sid": f"p{i:05d}", "lang": lang,
                         "page": f"text/page{i % 3}.html", "section": f"s{i}", "split": split,
                         "text": text, "twin": f"p{i:05d}-{'en' if lang == 'ko' else 'ko'}"})
    queries = [{"qid": f"q{i:05d}", "split": "test", "kind": "heading",
                "ko": " ".join(words(i, KO)[:2]), "en": "how do i " + " ".join(words(i, EN)[:2])}
               for i in range(QUERIES)]
    out = root / "data/prepared"
    out.mkdir(parents=True)
    Dataset.from_list(rows).to_parquet(str(out / "corpus.parquet"))
    Dataset.from_list(queries).to_parquet(str(out / "queries.parquet"))
    (out / "qrels.test.txt").write_text("".join(f"q{i:05d} 0 p{i:05d}-{lang} 1\n"
                                                for i in range(QUERIES) for lang in ("ko", "en")))


def write_params(root: Path, **sections: dict) -> None:
    params = {**PARAMS, **sections}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
