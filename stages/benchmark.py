"""DVC stage `benchmark_belebele`: Belebele (ko, en) from `belebele.source` in the prepared
schema at `belebele.out` (corpus of parallel passages, questions as queries, qrels)."""

from __future__ import annotations

from koen.config.schema import load
from koen.data.benchmarks import belebele, write_benchmark
from koen.data.parallel import validate_corpus


def main() -> None:
    p = load().belebele
    corpus, queries, qrels = belebele(p.source)
    validate_corpus(corpus, f"Belebele from {p.source}")
    write_benchmark(p.out, corpus, queries, qrels)
    print(f"belebele: {len(corpus) // 2} parallel passages, {len(queries)} questions -> {p.out}")


if __name__ == "__main__":
    main()
