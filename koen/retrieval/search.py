"""Search the built indexes from the command line, in Korean or English.

    python -m koen.retrieval.search "표 삽입"                                  # dense, base model
    python -m koen.retrieval.search --model kokoen --method hybrid --k 5 "insert a table"

Every method searches the pool of both languages (of a parallel benchmark), so the answer shows
which language a model prefers. dense: the model's `multi` FAISS index, the query encoded with
its "query" prompt. bm25: the `multi` Lucene index, both languages under one analyzer: one set
of collection statistics makes a Korean and an English passage's scores comparable, where
merging the two per-language indexes would rank by scores from different statistics (or, by
rank, put each index's first hit level however weak it is). hybrid: reciprocal rank fusion of
the two. A one-language benchmark has one pool: its language's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from koen.config.schema import load
from koen.formats.benchmark import CORPUS
from koen.formats.trec import Run, doc_lang, ranked
from koen.models.load import load_model
from koen.models.profile import resolve_index
from koen.retrieval import bm25, dense
from koen.retrieval.fusion import rrf
from koen.retrieval.indexes import SPARSE, load_passages, read_manifest

METHODS = ("dense", "bm25", "hybrid")
CANDIDATES = 100  # per system before fusion


def pool(index_dir: Path) -> Path:
    """The index of both languages, or the one language a one-language benchmark has."""
    names = ["multi", *sorted(n for n in read_manifest(index_dir)["docs"] if n != "multi")]
    return next(index_dir / n for n in names if (index_dir / n).is_dir())


def dense_hits(index_dir: Path, query: str, k: int, device: str, precision: str,
               trust_remote_code: bool) -> Run:
    model = load_model(read_manifest(index_dir)["model_dir"], device, trust_remote_code)
    vector = dense.encode(model, [query], "query", 1, precision, progress=False)
    return dense.search(pool(index_dir), ["q"], vector, k)


def bm25_hits(index_dir: Path, query: str, k: int) -> Run:
    where = pool(index_dir)
    hits = bm25.search(where.resolve(), {"q": query}, k,
                       read_manifest(index_dir)["analyzers"][where.name],
                       threads=1)  # absolute: the JVM keeps its own cwd
    return {"q": dict(hits["q"])}


def search(query: str, method: str, model: str, k: int, rrf_k: int, indexes: Path,
           device: str, precision: str, trust_remote_code: bool) -> list[tuple[str, float]]:
    """Top-`k` (docid, score) in one benchmark's pool (`indexes`: its index folder, of both
    languages where it is parallel), best first."""
    if method == "dense":
        run = dense_hits(indexes / model, query, k, device, precision, trust_remote_code)
    elif method == "bm25":
        run = bm25_hits(indexes / SPARSE, query, k)
    else:
        run = rrf([dense_hits(indexes / model, query, CANDIDATES, device, precision,
                              trust_remote_code),
                   bm25_hits(indexes / SPARSE, query, CANDIDATES)], rrf_k, CANDIDATES, k)
    docs = run["q"]
    return [(d, docs[d]) for d in ranked(docs)[:k]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m koen.retrieval.search",
                                     description="search the test passages of both languages")
    parser.add_argument("query")
    parser.add_argument("--model", default="base", help="dense model (dense and hybrid)")
    parser.add_argument("--method", choices=METHODS, default="dense")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rrf-k", type=int, default=60, help="RRF constant (hybrid)")
    parser.add_argument("--benchmark", help="whose passages (default: the first of params.yaml "
                        "benchmarks)")
    args = parser.parse_args(argv)
    params = load()
    bench = args.benchmark or next(iter(params.benchmarks))
    if bench not in params.benchmarks:
        parser.error(f"unknown benchmark {bench!r}; known: {', '.join(params.benchmarks)}")
    p = resolve_index(params.index, params.device)
    passages = {x.doc_id: x for x in load_passages(params.benchmark.out_dir / bench / CORPUS)}
    hits = search(args.query, args.method, args.model, args.k, args.rrf_k, p.out_dir / bench,
                  p.device, p.precision, params.base_model.trust_remote_code)
    if not hits:
        print("no results")
    for rank, (docid, score) in enumerate(hits, start=1):
        x = passages[docid]
        text = " ".join(x.text.split())
        print(f"{rank:>3}  {doc_lang(docid)}  {score:8.4f}  {docid}  {x.page}\n"
              f"     {text[:150]}{'…' if len(text) > 150 else ''}")


if __name__ == "__main__":
    main()
