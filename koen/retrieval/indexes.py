"""Search indexes over the passages of one split, per language and for both together.

A dense model encodes every passage of the split once (both languages in one pass) and the
vectors go into three exact FAISS indexes (see `dense`). BM25 builds three Lucene indexes: `ko`
with Anserini's `-language ko` (Lucene's CJKAnalyzer, overlapping Hangul bigrams: Nori is not in
Anserini's jar and a morphological pre-tokeniser such as kiwipiepy is not a dependency; on the
test split bigrams give ko-ko nDCG@10 49.6 where whitespace-separated words give 30.7, since
Korean particles and endings attach to the word), `en` with the default English analyzer
(Porter stemming, stopwords), and `multi`, both languages under the CJK analyzer: one analyzer
and one set of collection statistics, so the scores of a Korean and an English passage are
comparable in one ranking (English words there are lower-cased, stopped, not stemmed).

The Shift system (`index.shift`, see `shift`) is a model's dense indexes with Korean passage
vectors minus alpha times the Korean language vector, estimated on parallel pairs of another
split than the indexed one; English passages and all queries are untouched.

Each index directory also holds `manifest.json`: what it was built from (model weights and
corpus digests, counts). It is deterministic, so later stages can key their results on it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

from koen.config.parse import KeyedSection, ParamsError
from koen.config.schema import IndexParams
from koen.data.tables import read_table
from koen.models.precision import resolve
from koen.repro.atomic import atomic_dir
from koen.repro.provenance import files_digest, model_digest
from koen.retrieval import bm25, dense, shift

LANGS = ("ko", "en")
POOLS = ("ko", "en", "multi")
SPARSE = "bm25"
SHIFT = "shift"
RESERVED = (SPARSE, "hybrid")  # names of systems that are not a model directory
MANIFEST = "manifest.json"
CORPUS_COLUMNS = ("doc_id", "lang", "page", "text", "split", "twin")
BM25_ANALYZER = {"ko": "ko", "en": "en", "multi": "ko"}


@dataclass
class Passage:
    doc_id: str
    lang: str
    page: str
    text: str


def load_passages(corpus: Path, split: str) -> list[Passage]:
    rows = read_table(corpus, CORPUS_COLUMNS).filter(lambda r: r["split"] == split)
    passages = [Passage(r["doc_id"], r["lang"], r["page"], r["text"]) for r in rows]
    if not passages:
        raise ParamsError(f"params.yaml: no passages of split {split!r} in {corpus}")
    return passages


def in_pool(passage: Passage, pool: str) -> bool:
    return pool == "multi" or passage.lang == pool


def parallel_pairs(corpus: Path, split: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    """`n` sampled (Korean, English) texts of twin passages of `split`, in matching order."""
    rows = read_table(corpus, CORPUS_COLUMNS).filter(lambda r: r["split"] == split)
    text = dict(zip(rows["doc_id"], rows["text"], strict=True))
    pairs = sorted((d, t) for d, lang, t in zip(rows["doc_id"], rows["lang"], rows["twin"],
                                                 strict=True) if lang == "ko" and t in text)
    if not pairs:
        raise ParamsError(f"params.yaml: no parallel passages of split {split!r} in {corpus} "
                          "to estimate the Shift language vector")
    pairs = random.Random(seed).sample(pairs, min(n, len(pairs)))
    return [text[ko] for ko, _ in pairs], [text[en] for _, en in pairs]


def language_vector(raw: SentenceTransformer, p: IndexParams, seed: int) -> tuple[np.ndarray,
                                                                                  dict]:
    """Shift's V_ko from `index.shift`'s parallel pairs (unnormalised), and its record."""
    ko, en = parallel_pairs(p.shift.corpus, p.shift.split, p.shift.pairs, seed)
    precision = resolve(p.precision, p.device)
    v_ko = (dense.encode(raw, ko, "passage", p.batch_size, precision, normalize=False)
            - dense.encode(raw, en, "passage", p.batch_size, precision, normalize=False)
            ).mean(axis=0)
    record = {"model": str(p.shift.model), "alpha": p.shift.alpha, "split": p.shift.split,
              "pairs": p.shift.pairs, "pairs_used": len(ko),
              "vector_norm": round(float(np.linalg.norm(v_ko)), 4)}
    return v_ko, record


def shifted_vectors(raw: SentenceTransformer, passages: list[Passage], v_ko: np.ndarray,
                    alpha: float, batch_size: int, precision: str) -> np.ndarray:
    """Passage vectors with the Shift correction applied to the Korean ones."""
    z = dense.encode(raw, [x.text for x in passages], "passage", batch_size, precision,
                     normalize=False)
    is_ko = np.array([x.lang == "ko" for x in passages])
    z[is_ko] = shift.shifted(z[is_ko], v_ko, alpha)
    z[~is_ko] /= np.linalg.norm(z[~is_ko], axis=1, keepdims=True).clip(min=1e-12)
    return z


def write_pools(passages: list[Passage], vectors: np.ndarray, out: Path) -> dict[str, int]:
    """The three FAISS indexes (ko, en, multi) of one benchmark under `out`."""
    counts = {}
    for name in POOLS:
        rows = [i for i, x in enumerate(passages) if in_pool(x, name)]
        dense.write_index(out / name, [passages[i].doc_id for i in rows], vectors[rows])
        counts[name] = len(rows)
    return counts


def build_dense(model_dir: Path, benchmarks: dict[str, list[Passage]], out: Path,
                p: IndexParams, shift_seed: int | None = None) -> tuple[dict, dict | None]:
    """Encode every benchmark's passages once and write its FAISS indexes under
    `out/<benchmark>` (with the Shift correction when a `shift_seed` is given)."""
    model = SentenceTransformer(str(model_dir), device=p.device)
    precision = resolve(p.precision, p.device)
    raw = shift.unnormalised(model)
    v_ko, record = (language_vector(raw, p, shift_seed) if shift_seed is not None
                    else (None, None))
    counts = {}
    for bench, passages in benchmarks.items():
        start = time.perf_counter()
        if v_ko is not None:
            vectors = shifted_vectors(raw, passages, v_ko, p.shift.alpha, p.batch_size,
                                      precision)
        else:
            vectors = dense.encode(model, [x.text for x in passages], "passage", p.batch_size,
                                   precision)
        seconds = time.perf_counter() - start
        print(f"{bench}: encoded {len(passages)} passages in {seconds:.1f} s "
              f"({len(passages) / seconds:.1f} passages/s)")
        counts[bench] = write_pools(passages, vectors, out / bench)
    return counts, record


def build_bm25(passages: list[Passage], out: Path) -> dict[str, int]:
    # Absolute paths: Java resolves relative ones against the directory the JVM started in.
    return {name: bm25.build_index(((p.doc_id, p.text) for p in passages if in_pool(p, name)),
                                   (out / name).resolve(), BM25_ANALYZER[name])
            for name in POOLS}


def build(name: str, model_dir: Path | None, benchmarks: KeyedSection, p: IndexParams,
          seed: int) -> dict:
    """Build the indexes of system `name` on every benchmark, atomically under
    `p.out_dir/name/<benchmark>`; returns the manifest."""
    passages = {b: load_passages(benchmarks[b].corpus, benchmarks[b].split) for b in benchmarks}
    manifest: dict = {"name": name, "benchmarks": {
        b: {"corpus": files_digest(benchmarks[b].corpus), "split": benchmarks[b].split}
        for b in benchmarks}}
    with atomic_dir(p.out_dir / name) as tmp:
        if name == SPARSE:
            manifest |= {"kind": "bm25", "analyzers": BM25_ANALYZER}
            for b, docs in passages.items():
                manifest["benchmarks"][b]["docs"] = build_bm25(docs, tmp / b)
        else:
            if model_dir is None or not (model_dir / "modules.json").is_file():
                raise SystemExit(f"index: no sentence-transformers model at {model_dir}; "
                                 "build it first (dvc repro)")
            counts, shift_record = build_dense(model_dir, passages, tmp, p,
                                               shift_seed=seed if name == SHIFT else None)
            manifest |= {"kind": "dense", "model_dir": str(model_dir),
                         "model": model_digest(model_dir),
                         "precision": resolve(p.precision, p.device)}
            for b, c in counts.items():
                manifest["benchmarks"][b]["docs"] = c
            if shift_record:
                manifest["shift"] = shift_record
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise SystemExit(f"no index at {index_dir}: build it first (dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))
