"""Search indexes over one benchmark's passages, per language and for both together.

A dense model encodes every passage of the benchmark once (both languages in one pass) and the
vectors go into exact FAISS indexes (see `dense`): one per corpus language, and `multi` over
both where the benchmark is parallel. BM25 builds three Lucene indexes, each language with
Lucene's analyser for it (Anserini's `-language`, from koen/config/languages.py) and `multi`
with the first language's. For ko-en: `ko`
with Anserini's `-language ko` (Lucene's CJKAnalyzer, overlapping Hangul bigrams: Nori is not in
Anserini's jar and a morphological pre-tokeniser such as kiwipiepy is not a dependency; on the
test split bigrams give ko-ko nDCG@10 49.6 where whitespace-separated words give 30.7, since
Korean particles and endings attach to the word), `en` with the default English analyzer
(Porter stemming, stopwords), and `multi`, both languages under the CJK analyzer: one analyzer
and one set of collection statistics, so the scores of a Korean and an English passage are
comparable in one ranking (English words there are lower-cased, stopped, not stemmed).

The Shift system (`index.shift`, see `shift`) is a model's dense indexes with the first
language's (Korean) passage vectors minus alpha times its language vector, estimated on
parallel pairs of another split than the indexed one; English passages and all queries are
untouched.

Indexes of system S on benchmark B lie in `<index.out_dir>/B/S/{ko,en,multi}`. Each also holds
`manifest.json`: what it was built from (model weights and corpus digests, counts). It is
deterministic, so later stages can key their results on it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

from koen.config.languages import LANGUAGES, Pair
from koen.config.parse import ParamsError
from koen.config.schema import IndexParams
from koen.errors import MissingError
from koen.formats.benchmark import CORPUS, check_languages, read_card
from koen.formats.tables import read_table
from koen.models.load import load_model
from koen.repro.atomic import atomic_dir
from koen.repro.provenance import files_digest, model_digest
from koen.retrieval import bm25, dense, shift

SPARSE = "bm25"
SHIFT = "shift"
RESERVED = (SPARSE, "hybrid")  # names of systems that are not a model directory
MANIFEST = "manifest.json"
CORPUS_COLUMNS = ("doc_id", "lang", "page", "text", "split", "twin")


def analyzers(pair: Pair) -> dict[str, str]:
    """Index name -> Anserini's `-language`: each language's own, the first one's for `multi`
    (ko-en: ko, en, and CJK bigrams for the pool)."""
    own = {code: LANGUAGES[code].bm25 for code in pair.codes}
    return own | {"multi": own[pair.lang]}


@dataclass
class Passage:
    doc_id: str
    lang: str
    page: str
    text: str


def load_passages(corpus: Path) -> list[Passage]:
    """Every passage of a benchmark's corpus (`<benchmark.out_dir>/<name>/corpus.parquet`)."""
    rows = read_table(corpus, CORPUS_COLUMNS)
    passages = [Passage(r["doc_id"], r["lang"], r["page"], r["text"]) for r in rows]
    if not passages:
        raise ParamsError(f"{corpus}: no passages; convert the benchmark again (dvc repro)")
    return passages


def pools(card: dict) -> tuple[str, ...]:
    """The indexes a benchmark gets: each corpus language, and `multi` where it is parallel."""
    return (*card["corpus_languages"], *(("multi",) if card["multi"] else ()))


def in_pool(passage: Passage, pool: str) -> bool:
    return pool == "multi" or passage.lang == pool


def parallel_pairs(corpus: Path, split: str, n: int, seed: int,
                   lang: str) -> tuple[list[str], list[str]]:
    """`n` sampled (`lang`, other language) texts of twin passages of `split`, in matching
    order."""
    rows = read_table(corpus, CORPUS_COLUMNS).filter(lambda r: r["split"] == split)
    text = dict(zip(rows["doc_id"], rows["text"], strict=True))
    pairs = sorted((d, t) for d, x, t in zip(rows["doc_id"], rows["lang"], rows["twin"],
                                                 strict=True) if x == lang and t in text)
    if not pairs:
        raise ParamsError(f"params.yaml: no parallel passages of split {split!r} in {corpus} "
                          "to estimate the Shift language vector")
    pairs = random.Random(seed).sample(pairs, min(n, len(pairs)))
    return [text[ko] for ko, _ in pairs], [text[en] for _, en in pairs]


def language_vector(raw: SentenceTransformer, p: IndexParams, seed: int,
                    lang: str) -> tuple[np.ndarray, dict]:
    """Shift's V_ko (of language `lang`) from `index.shift`'s parallel pairs (unnormalised),
    and its record."""
    texts, twins = parallel_pairs(p.shift.corpus, p.shift.split, p.shift.pairs, seed, lang)
    precision = p.precision
    v_lang = (dense.encode(raw, texts, "passage", p.batch_size, precision, normalize=False)
              - dense.encode(raw, twins, "passage", p.batch_size, precision, normalize=False)
              ).mean(axis=0)
    record = {"model": str(p.shift.model), "alpha": p.shift.alpha, "split": p.shift.split,
              "pairs": p.shift.pairs, "pairs_used": len(texts),
              "vector_norm": round(float(np.linalg.norm(v_lang)), 4)}
    return v_lang, record


def shifted_vectors(raw: SentenceTransformer, passages: list[Passage], v_lang: np.ndarray,
                    alpha: float, batch_size: int, precision: str, lang: str) -> np.ndarray:
    """Passage vectors with the Shift correction applied to those in `lang` (Korean)."""
    z = dense.encode(raw, [x.text for x in passages], "passage", batch_size, precision,
                     normalize=False)
    in_lang = np.array([x.lang == lang for x in passages])
    z[in_lang] = shift.shifted(z[in_lang], v_lang, alpha)
    z[~in_lang] /= np.linalg.norm(z[~in_lang], axis=1, keepdims=True).clip(min=1e-12)
    return z


def write_pools(passages: list[Passage], vectors: np.ndarray, out: Path,
                names: tuple[str, ...]) -> dict[str, int]:
    """The FAISS indexes `names` (of ko, en, multi) of one benchmark under `out`."""
    counts = {}
    for name in names:
        rows = [i for i, x in enumerate(passages) if in_pool(x, name)]
        dense.write_index(out / name, [passages[i].doc_id for i in rows], vectors[rows])
        counts[name] = len(rows)
    return counts


def build_dense(model_dir: Path, passages: list[Passage], names: tuple[str, ...], out: Path,
                p: IndexParams, trust_remote_code: bool, lang: str,
                shift_seed: int | None = None) -> tuple[dict, dict | None]:
    """Encode a benchmark's passages once and write its FAISS indexes under `out` (with the
    Shift correction when a `shift_seed` is given)."""
    model = load_model(model_dir, p.device, trust_remote_code)
    precision = p.precision
    raw = shift.unnormalised(model)
    v_lang, record = (language_vector(raw, p, shift_seed, lang) if shift_seed is not None
                    else (None, None))
    start = time.perf_counter()
    if v_lang is not None:
        vectors = shifted_vectors(raw, passages, v_lang, p.shift.alpha, p.batch_size, precision,
                                  lang)
    else:
        vectors = dense.encode(model, [x.text for x in passages], "passage", p.batch_size,
                               precision)
    seconds = time.perf_counter() - start
    print(f"encoded {len(passages)} passages in {seconds:.1f} s "
          f"({len(passages) / seconds:.1f} passages/s)")
    return write_pools(passages, vectors, out, names), record


def build_bm25(passages: list[Passage], out: Path, analyzer: dict[str, str]) -> dict[str, int]:
    # Absolute paths: Java resolves relative ones against the directory the JVM started in.
    return {name: bm25.build_index(((p.doc_id, p.text) for p in passages if in_pool(p, name)),
                                   (out / name).resolve(), language)
            for name, language in analyzer.items()}


def build(name: str, model_dir: Path | None, benchmark: str, bench_dir: Path, p: IndexParams,
          seed: int, trust_remote_code: bool, pair: Pair) -> dict:
    """Build the indexes of system `name` on one benchmark (its converted folder `bench_dir`),
    atomically under `p.out_dir/<benchmark>/<name>`; returns the manifest."""
    card = read_card(bench_dir)
    check_languages(bench_dir, card, pair)
    passages = load_passages(bench_dir / CORPUS)
    names = pools(card)
    manifest: dict = {"name": name, "benchmark": benchmark,
                      "corpus": files_digest(bench_dir / CORPUS)}
    with atomic_dir(p.out_dir / benchmark / name) as tmp:
        if name == SPARSE:
            analyzer = {n: analyzers(pair)[n] for n in names}
            manifest |= {"kind": "bm25", "analyzers": analyzer,
                         "docs": build_bm25(passages, tmp, analyzer)}
        else:
            if model_dir is None or not (model_dir / "modules.json").is_file():
                raise MissingError(f"index: no sentence-transformers model at {model_dir}; "
                                 "build it first (dvc repro)")
            docs, shift_record = build_dense(model_dir, passages, names, tmp, p,
                                             trust_remote_code, pair.lang,
                                             shift_seed=seed if name == SHIFT else None)
            manifest |= {"kind": "dense", "model_dir": str(model_dir),
                         "model": model_digest(model_dir), "docs": docs,
                         "precision": p.precision, "device": p.device,
                         "batch_size": p.batch_size}
            if shift_record:
                manifest["shift"] = shift_record
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise MissingError(f"no index at {index_dir}: build it first (dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))
