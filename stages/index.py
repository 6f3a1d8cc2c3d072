"""Stage `index`: search indexes over the test passages, per language and for both together.

    python -m stages.index <model-name> <model-dir>   # -> data/indexes/<model-name>/{ko,en,multi}
    python -m stages.index bm25                       # -> data/indexes/bm25/{ko,en,multi}

A dense model encodes every passage of the split once (both languages in one pass) and the
vectors go into three exact FAISS indexes (see `stages.dense`). BM25 builds three Lucene
indexes: `ko` with Anserini's `-language ko` (Lucene's CJKAnalyzer, overlapping Hangul
bigrams: Nori is not in Anserini's jar and a morphological pre-tokeniser such as kiwipiepy is
not a dependency; on the test split bigrams give ko-ko nDCG@10 49.6 where whitespace-separated
words give 30.7, since Korean particles and endings attach to the word), `en` with the default
English analyzer (Porter stemming, stopwords), and `multi`, both languages under the CJK
analyzer: one analyzer and one set of collection statistics, so the scores of a Korean and an
English passage are comparable in one ranking (English words there are lower-cased, stopped,
not stemmed).

`python -m stages.index shift <model-dir>` builds the dense indexes of that model with the Shift
correction (`index.shift`, see `stages.shift`): Korean passage vectors minus alpha times the
Korean language vector, estimated on parallel pairs of the `index.shift.split` split (never the
evaluated one); English passages and all queries are untouched.

Each index directory also holds `manifest.json`: what it was built from (model weights and
corpus digests, counts). It is deterministic, so later stages can key their results on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from datasets import Dataset

from stages.atomic import atomic_dir
from stages.params import ParamsError, load_params, section
from stages.provenance import files_digest

LANGS = ("ko", "en")
POOLS = ("ko", "en", "multi")
SPARSE = "bm25"
SHIFT = "shift"
RESERVED = (SPARSE, "hybrid")  # names of systems that are not a model directory
MANIFEST = "manifest.json"
BM25_ANALYZER = {"ko": "ko", "en": "en", "multi": "ko"}


@dataclass
class ShiftParams:
    """The `shift` system: one model's indexes with Korean passages moved by -alpha * V_ko."""

    model: Path = Path("models/base")
    alpha: float = 0.0  # 0: no correction (the `shift` system then equals its model)
    split: str = "train"  # where V_ko is estimated; must differ from the indexed split
    pairs: int = 1000  # parallel passage pairs sampled from that split (with the global seed)


@dataclass
class IndexParams:
    corpus: Path
    out_dir: Path
    split: str = "test"
    batch_size: int = 64
    shift: ShiftParams = field(default_factory=ShiftParams)

    def validate(self, where: str) -> None:
        if self.batch_size < 1:
            raise ParamsError(f"params.yaml: '{where}.batch_size' must be >= 1")
        if not 0.0 <= self.shift.alpha <= 1.0:
            raise ParamsError(f"params.yaml: '{where}.shift.alpha' is {self.shift.alpha}; "
                              "allowed: 0 (off) to 1")
        if self.shift.split == self.split:
            raise ParamsError(f"params.yaml: '{where}.shift.split' is the indexed split "
                              f"{self.split!r}; estimate the language vector on another split")
        if self.shift.pairs < 1:
            raise ParamsError(f"params.yaml: '{where}.shift.pairs' must be >= 1")


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


def parallel_pairs(corpus: Path, split: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    """`n` sampled (Korean, English) texts of twin passages of `split`, in matching order."""
    import random

    rows = Dataset.from_parquet(str(corpus)).filter(lambda r: r["split"] == split)
    text = dict(zip(rows["doc_id"], rows["text"], strict=True))
    pairs = sorted((d, t) for d, lang, t in zip(rows["doc_id"], rows["lang"], rows["twin"],
                                                 strict=True) if lang == "ko" and t in text)
    if not pairs:
        raise ParamsError(f"params.yaml: no parallel passages of split {split!r} in {corpus} "
                          "to estimate the Shift language vector")
    pairs = random.Random(seed).sample(pairs, min(n, len(pairs)))
    return [text[ko] for ko, _ in pairs], [text[en] for _, en in pairs]


def shifted_vectors(model, passages: list[Passage], p: IndexParams,
                    seed: int) -> tuple[object, dict]:
    """Passage vectors with the Shift correction applied to the Korean ones, and its record."""
    import numpy as np

    from stages import dense, shift

    raw = shift.unnormalised(model)
    ko, en = parallel_pairs(p.corpus, p.shift.split, p.shift.pairs, seed)
    v_ko = (dense.encode(raw, ko, "passage", p.batch_size, normalize=False)
            - dense.encode(raw, en, "passage", p.batch_size, normalize=False)).mean(axis=0)
    z = dense.encode(raw, [x.text for x in passages], "passage", p.batch_size, normalize=False)
    is_ko = np.array([x.lang == "ko" for x in passages])
    z[is_ko] = shift.shifted(z[is_ko], v_ko, p.shift.alpha)
    z[~is_ko] /= np.linalg.norm(z[~is_ko], axis=1, keepdims=True).clip(min=1e-12)
    record = asdict(p.shift) | {"model": str(p.shift.model), "pairs_used": len(ko),
                                "vector_norm": round(float(np.linalg.norm(v_ko)), 4)}
    return z, record


def build_dense(model_dir: Path, passages: list[Passage], out: Path, p: IndexParams,
                shift_seed: int | None = None) -> tuple[dict[str, int], dict | None]:
    """Encode every passage once and write the three FAISS indexes under `out` (with the
    Shift correction when a `shift_seed` is given)."""
    from sentence_transformers import SentenceTransformer

    from stages import dense

    model = SentenceTransformer(str(model_dir), device="cpu")
    start = time.perf_counter()
    record = None
    if shift_seed is not None:
        vectors, record = shifted_vectors(model, passages, p, shift_seed)
    else:
        vectors = dense.encode(model, [x.text for x in passages], "passage", p.batch_size)
    seconds = time.perf_counter() - start
    print(f"encoded {len(passages)} passages in {seconds:.1f} s "
          f"({len(passages) / seconds:.1f} passages/s)")
    counts = {}
    for name in POOLS:
        rows = [i for i, p in enumerate(passages) if in_pool(p, name)]
        dense.write_index(out / name, [passages[i].doc_id for i in rows], vectors[rows])
        counts[name] = len(rows)
    return counts, record


def build_bm25(passages: list[Passage], out: Path) -> dict[str, int]:
    from stages import bm25

    # Absolute paths: Java resolves relative ones against the directory the JVM started in.
    return {name: bm25.build_index(((p.doc_id, p.text) for p in passages if in_pool(p, name)),
                                   (out / name).resolve(), BM25_ANALYZER[name])
            for name in POOLS}


def build(name: str, model_dir: Path | None, p: IndexParams, seed: int = 13) -> dict:
    """Build all indexes of `name` atomically under `p.out_dir/name`; returns the manifest."""
    passages = load_passages(p.corpus, p.split)
    manifest: dict = {"name": name, "split": p.split, "corpus": files_digest(p.corpus)}
    with atomic_dir(p.out_dir / name) as tmp:
        if name == SPARSE:
            manifest |= {"kind": "bm25", "analyzers": BM25_ANALYZER,
                         "docs": build_bm25(passages, tmp)}
        else:
            assert model_dir is not None
            counts, shift = build_dense(model_dir, passages, tmp, p,
                                        shift_seed=seed if name == SHIFT else None)
            manifest |= {"kind": "dense", "model_dir": str(model_dir),
                         "model": model_digest(model_dir), "docs": counts}
            if shift:
                manifest["shift"] = shift
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
    parser.add_argument("name", help=f"model name, '{SPARSE}' for the Lucene indexes, or "
                        f"'{SHIFT}' for index.shift.model with the Shift correction")
    parser.add_argument("model_dir", type=Path, nargs="?",
                        help="sentence-transformers directory (dense models)")
    args = parser.parse_args(argv)
    params = load_params()
    p = section(IndexParams, params, "index")
    if args.name == SPARSE and args.model_dir is not None:
        parser.error(f"'{SPARSE}' takes no model directory")
    if args.name == SHIFT:
        args.model_dir = args.model_dir or p.shift.model
    if args.name != SPARSE:
        if args.name in RESERVED or args.model_dir is None:
            parser.error(f"a dense model needs a name other than {SPARSE} or hybrid "
                         "and a model directory")
        if not (args.model_dir / "modules.json").is_file():
            parser.error(f"{args.model_dir} is not a sentence-transformers directory")
    manifest = build(args.name, args.model_dir, p, params.get("seed", 13))
    print(json.dumps({"name": manifest["name"], "docs": manifest["docs"]}))


if __name__ == "__main__":
    main()
