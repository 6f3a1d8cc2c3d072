"""Training data (`prepare.source`) -> parallel corpus, queries, qrels, splits, triplets.

`help` (the committed LibreOffice help text in `prepare.data`) and `parallel` (a user's own
collection, see `koen.data.collection`) are split by page or group and get BM25 hard negatives;
`triplets` (a user's ready triplets) are all training data, their passages the train corpus.

Outputs (under `prepare.out`, replaced atomically): `corpus.parquet`, `queries.parquet`,
`qrels.<split>.txt` (TREC), `triplets.parquet`; the data card goes to `prepare.card`.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from datasets import Dataset

from koen.config.languages import LANGUAGES, Pair
from koen.config.schema import PrepareParams
from koen.data.collection import parallel_collection, user_triplets
from koen.data.parallel import (
    SPLITS,
    DataError,
    Passage,
    Query,
    assign_splits,
    build_passages,
    build_queries,
    corpus_rows,
    load_keywords,
    load_paragraphs,
    sample,
    validate_corpus,
)
from koen.formats.tables import triplet_columns
from koen.repro.atomic import atomic_dir, write_json
from koen.retrieval import bm25


def mine_triplets(
    queries: list[Query],
    passages: dict[str, Passage],
    train_sids: list[str],
    depth: int,
    per_query: int,
    workdir: Path,
    pair: Pair,
) -> list[dict]:
    """BM25 hard negatives: top hits of the second language (English) over train passages, not
    relevant, not same page."""
    b = pair.other
    index = workdir / f"bm25-train-{b}"
    analyzer = LANGUAGES[b].bm25
    bm25.build_index(((s, passages[s].second) for s in train_sids), index, analyzer)
    hits = bm25.search(index, {q.qid: q.second for q in queries}, k=depth, language=analyzer)
    triplets = []
    for q in queries:
        pages = {passages[s].page for s in q.relevant}
        negatives = [
            s for s, _ in hits[q.qid] if s not in q.relevant and passages[s].page not in pages
        ]
        for neg in negatives[:per_query]:
            pos = passages[q.relevant[0]]
            n = passages[neg]
            texts = [x.text(lang, pair) for x in (q, pos, n) for lang in pair.codes]
            triplets.append({"qid": q.qid, "pos": pos.sid, "neg": n.sid}
                            | dict(zip(triplet_columns(pair), texts, strict=True)))
    return triplets


def qrels_lines(queries: list[Query], pair: Pair) -> list[str]:
    return [f"{q.qid} 0 {s}-{lang} 1" for q in queries for s in q.relevant for lang in pair.codes]


HELP_FILES = ("paragraphs.jsonl.gz", "keywords.jsonl.gz")  # in prepare.data, source help
LICENSES = {"help": "MPL-2.0 (LibreOffice help)"}


def data_card(rows: list[dict], queries: dict[str, list[Query]], triplets: list[dict],
              p: PrepareParams, pair: Pair) -> dict:
    card: dict = {"source": p.source, "data": str(p.data),
                  "license": LICENSES.get(p.source, f"see {p.data}"), "splits": {}}
    for split in SPLITS:
        entry: dict = {"queries": len(queries[split])}
        for lang in pair.codes:
            lengths = [len(r["text"]) for r in rows if r["split"] == split and r["lang"] == lang]
            qlen = [len(q.text(lang, pair)) for q in queries[split]]
            entry[lang] = {
                "passages": len(lengths),
                "passage_chars_mean": round(statistics.fmean(lengths), 1) if lengths else 0,
                "passage_chars_median": statistics.median(lengths) if lengths else 0,
                "query_chars_mean": round(statistics.fmean(qlen), 1) if qlen else 0,
            }
        card["splits"][split] = entry
    card["triplets"] = len(triplets)
    kinds = sorted({q.kind for qs in queries.values() for q in qs})
    card["query_kinds"] = {k: sum(q.kind == k for qs in queries.values() for q in qs)
                           for k in kinds}
    return card


def collection(p: PrepareParams, pair: Pair) -> tuple[list[Passage], list[Query]]:
    """Passages and queries of the help text or of a user's parallel collection."""
    if p.source == "parallel":
        return parallel_collection(p.data, pair)
    paragraphs = load_paragraphs(p.data / HELP_FILES[0], pair)
    passages = build_passages(paragraphs, p.max_passage_chars, p.min_passage_chars, pair)
    return passages, build_queries(paragraphs, load_keywords(p.data / HELP_FILES[1], pair),
                                   passages, pair)


def prepare(p: PrepareParams, seed: int, pair: Pair) -> dict:
    if p.source == "triplets":
        triplets, passages, queries = user_triplets(p.data, pair)
        split_of = {x.sid: "train" for x in passages}
        by_split = {s: queries if s == "train" else [] for s in SPLITS}
        rows = corpus_rows(passages, split_of, pair)
        validate_corpus(rows, f"passages of {p.data}", pair)
        write_prepared(p.out, rows, by_split, triplets, pair)
    else:
        passages, queries = collection(p, pair)
        split_of, placed = assign_splits(passages, queries, seed, p.split)
        rows = corpus_rows(passages, split_of, pair)
        validate_corpus(rows, f"corpus built from {p.data}", pair)
        by_split = {s: [q for split, q in placed if split == s] for s in SPLITS}
        by_split["test"] = sample(by_split["test"], p.test_queries, seed)
        by_split["dev"] = sample(by_split["dev"], p.dev_queries, seed + 1)
        if not by_split["test"]:
            raise DataError(f"{p.data}: no test queries; enlarge the data or the test split")
        by_sid = {x.sid: x for x in passages}
        train_sids = [x.sid for x in passages if split_of[x.sid] == "train"]
        train_queries = sample(by_split["train"], p.train_triplets, seed + 2)
        with tempfile.TemporaryDirectory() as work:
            triplets = mine_triplets(train_queries, by_sid, train_sids, p.mining_depth,
                                     p.negatives_per_query, Path(work), pair)
        write_prepared(p.out, rows, by_split, triplets, pair)
    card = data_card(rows, by_split, triplets, p, pair)
    write_json(p.card, card)
    return card


def write_prepared(out: Path, rows: list[dict], by_split: dict[str, list[Query]],
                   triplets: list[dict], pair: Pair) -> None:
    with atomic_dir(out) as tmp:
        Dataset.from_list(rows).to_parquet(str(tmp / "corpus.parquet"))
        Dataset.from_list(
            [
                {"qid": q.qid, "split": s, "kind": q.kind, pair.lang: q.first,
                 pair.other: q.second}
                for s in SPLITS
                for q in by_split[s]
            ]
        ).to_parquet(str(tmp / "queries.parquet"))
        Dataset.from_list(triplets).to_parquet(str(tmp / "triplets.parquet"))
        for split in SPLITS:
            (tmp / f"qrels.{split}.txt").write_text("".join(f"{line}\n" for line in
                                                            qrels_lines(by_split[split],
                                                                        pair)))
