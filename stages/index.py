"""Stage `index`: search indexes over the test passages, per language and for both together.

    python -m stages.index <model-name> <model-dir>   # -> data/indexes/<model-name>/{ko,en,multi}
    python -m stages.index bm25                       # -> data/indexes/bm25/{ko,en,multi}

A dense model encodes every passage of the split once (both languages in one pass) and the
vectors go into three exact FAISS indexes (see `stages.dense`). BM25 builds three Lucene
indexes: `ko` with Anserini's `-language ko` (Lucene's CJKAnalyzer, overlapping Hangul
bigrams; Nori is not in Anserini's jar, and a morphological pre-tokeniser such as kiwipiepy is
not a dependency), `en` with the default English analyzer (Porter stemming, stopwords), and
`multi`, both languages under the CJK analyzer: one analyzer and one set of collection
statistics, so the scores of a Korean and an English passage are comparable in one ranking
(English words there are lower-cased, stopped, not stemmed).

Each index directory also holds `manifest.json`: what it was built from (model weights and
corpus digests, counts). It is deterministic, so later stages can key their results on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset

from stages.atomic import atomic_dir
from stages.params import ParamsError, load_params, section
from stages.provenance import files_digest

LANGS = ("ko", "en")
POOLS = ("ko", "en", "multi")
SPARSE = "bm25"
RESERVED = (SPARSE, "hybrid")  # names of systems that are not a model directory
MANIFEST = "manifest.json"
BM25_ANALYZER = {"ko": "ko", "en": "en", "multi": "ko"}


@dataclass
class IndexParams:
    corpus: Path
    out_dir: Path
    split: str = "test"
    batch_size: int = 64

    def validate(self, where: str) -> None:
        if self.batch_size < 1:
            raise ParamsError(f"params.yaml: '{where}.batch_size' must be >= 1")


@dataclass
class Passage:
    doc_id: str
    lang: str
    page: str
    text: str


def model_digest(model_dir: Path) -> str:
    """Digest of a model directory's files (names and bytes), except its training log.

    Computed from the files rather than taken from dvc.lock, which is stale whenever a model
    is rebuilt by hand; hashing ~250 MB of weights takes well under a second.
    """
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name != "train_info.json")
    names = hashlib.sha256("\n".join(str(p.relative_to(model_dir)) for p in files).encode())
    return hashlib.sha256((names.hexdigest() + files_digest(*files)).encode()).hexdigest()


def load_passages(corpus: Path, split: str) -> list[Passage]:
    rows = Dataset.from_parquet(str(corpus)).filter(lambda r: r["split"] == split)
    passages = [Passage(r["doc_id"], r["lang"], r["page"], r["text"]) for r in rows]
    if not passages:
        raise ParamsError(f"params.yaml: no passages of split {split!r} in {corpus}")
    return passages


def in_pool(passage: Passage, pool: str) -> bool:
    return pool == "multi" or passage.lang == pool


def build_dense(model_dir: Path, passages: list[Passage], out: Path,
                batch_size: int) -> dict[str, int]:
    """Encode every passage once and write the three FAISS indexes under `out`."""
    from sentence_transformers import SentenceTransformer

    from stages import dense

    model = SentenceTransformer(str(model_dir), device="cpu")
    start = time.perf_counter()
    vectors = dense.encode(model, [p.text for p in passages], "passage", batch_size)
    seconds = time.perf_counter() - start
    print(f"encoded {len(passages)} passages in {seconds:.1f} s "
          f"({len(passages) / seconds:.1f} passages/s)")
    counts = {}
    for name in POOLS:
        rows = [i for i, p in enumerate(passages) if in_pool(p, name)]
        dense.write_index(out / name, [passages[i].doc_id for i in rows], vectors[rows])
        counts[name] = len(rows)
    return counts


def build_bm25(passages: list[Passage], out: Path) -> dict[str, int]:
    from stages import bm25

    return {name: bm25.build_index(((p.doc_id, p.text) for p in passages if in_pool(p, name)),
                                   out / name, BM25_ANALYZER[name])
            for name in POOLS}


def build(name: str, model_dir: Path | None, p: IndexParams) -> dict:
    """Build all indexes of `name` atomically under `p.out_dir/name`; returns the manifest."""
    passages = load_passages(p.corpus, p.split)
    manifest: dict = {"name": name, "split": p.split, "corpus": files_digest(p.corpus)}
    with atomic_dir(p.out_dir / name) as tmp:
        if name == SPARSE:
            manifest |= {"kind": "bm25", "analyzers": BM25_ANALYZER,
                         "docs": build_bm25(passages, tmp)}
        else:
            assert model_dir is not None
            manifest |= {"kind": "dense", "model_dir": str(model_dir),
                         "model": model_digest(model_dir),
                         "docs": build_dense(model_dir, passages, tmp, p.batch_size)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise SystemExit(f"no index at {index_dir}: build it with `python -m stages.index`")
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.index",
                                     description="build the search indexes of one model")
    parser.add_argument("name", help=f"model name, or '{SPARSE}' for the Lucene indexes")
    parser.add_argument("model_dir", type=Path, nargs="?",
                        help="sentence-transformers directory (dense models)")
    args = parser.parse_args(argv)
    if args.name == SPARSE and args.model_dir is not None:
        parser.error(f"'{SPARSE}' takes no model directory")
    if args.name != SPARSE:
        if args.name in RESERVED or args.model_dir is None:
            parser.error(f"a dense model needs a name other than {', '.join(RESERVED)} "
                         "and a model directory")
        if not (args.model_dir / "modules.json").is_file():
            parser.error(f"{args.model_dir} is not a sentence-transformers directory")
    p = section(IndexParams, load_params(), "index")
    manifest = build(args.name, args.model_dir, p)
    print(json.dumps({"name": manifest["name"], "docs": manifest["docs"]}))


if __name__ == "__main__":
    main()
