"""Rankings as TREC run files, and the metrics both studies report on them.

Every metric ranks a query's documents the same way, by descending score with ties broken by
docid ascending, so a score tie never makes two evaluations (or two libraries) disagree.
Results are rounded half up to 2 decimals, as the papers print them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import mean

import ir_measures
from ir_measures import RR, R, nDCG

from koen.data.tables import DataError
from koen.repro.atomic import atomic_file

Run = dict[str, dict[str, float]]  # qid -> docid -> score
Qrels = dict[str, dict[str, int]]  # qid -> docid -> relevance

CLIR = ("en-ko", "ko-en")
MONO = ("ko-ko", "en-en")


def round2(x: float) -> float:
    """Round half up: Python's round() gives 85.53 for the paper's 85.535 (binary floats)."""
    return float(Decimal(f"{x:.10f}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ranked(docs: dict[str, float]) -> list[str]:
    """Docids best first: descending score, ties by docid ascending (a stable sort by score
    of the docids in order; no Python key function, as whole-pool Multi runs need it fast)."""
    return sorted(sorted(docs), key=docs.__getitem__, reverse=True)


def _trec_lines(path: Path | str, fields: int, form: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a TREC file; a malformed line fails naming file and line."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file; build it first (dvc repro)")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != fields:
                raise DataError(f"{path}:{n}: expected {fields} fields `{form}`, got "
                                f"{len(parts)}: {line.strip()[:80]!r}")
            yield n, parts


def read_trec_run(path: Path | str) -> Run:
    run: Run = {}
    for n, (qid, _, docid, _, score, _) in _trec_lines(path, 6, "qid Q0 docid rank score tag"):
        try:
            run.setdefault(qid, {})[docid] = float(score)
        except ValueError:
            raise DataError(f"{path}:{n}: score {score!r} is not a number") from None
    return run


def write_trec_run(path: Path | str, run: Run, tag: str) -> None:
    """Write `qid Q0 docid rank score tag` lines, queries sorted, ranks from 1."""
    with atomic_file(path) as f:
        for qid in sorted(run):
            for rank, docid in enumerate(ranked(run[qid]), start=1):
                f.write(f"{qid} Q0 {docid} {rank} {float(run[qid][docid])!r} {tag}\n")


def read_qrels(path: Path | str) -> Qrels:
    qrels: Qrels = {}
    for n, (qid, _, docid, rel) in _trec_lines(path, 4, "qid 0 docid relevance"):
        try:
            qrels.setdefault(qid, {})[docid] = int(rel)
        except ValueError:
            raise DataError(f"{path}:{n}: relevance {rel!r} is not an integer") from None
    return qrels


def _relevant(qrels: Qrels) -> dict[str, set[str]]:
    """Queries with at least one relevant document: the others can never score."""
    rel = {qid: {d for d, r in docs.items() if r > 0} for qid, docs in qrels.items()}
    return {qid: docs for qid, docs in rel.items() if docs}


def judged(qrels: Qrels) -> Qrels:
    """The queries of `qrels` with at least one relevant document."""
    return {qid: qrels[qid] for qid in _relevant(qrels)}


def in_language(qrels: Qrels, lang: str) -> Qrels:
    """`qrels` restricted to the documents in language `lang`."""
    return {q: {d: r for d, r in docs.items() if doc_lang(d) == lang} for q, docs in qrels.items()}


def by_rank(run: Run, qids: Iterable[str]) -> Run:
    """The runs of `qids` with scores turned into strictly decreasing ranks, so ir_measures
    sees our tie-breaking."""
    out = {}
    for qid in set(qids) & run.keys():
        order = ranked(run[qid])
        out[qid] = {d: float(len(order) - i) for i, d in enumerate(order)}
    return out


def ir_metrics(run: Run, qrels: Qrels) -> dict[str, float]:
    """nDCG@10, R@100 and RR@10 in percent over the queries of `qrels` (missing ones count 0)."""
    judged_qrels = judged(qrels)
    names = {nDCG @ 10: "ndcg@10", R @ 100: "recall@100", RR @ 10: "mrr@10"}
    agg = ir_measures.calc_aggregate(list(names), judged_qrels, by_rank(run, judged_qrels))
    return {name: round2(100 * agg[m]) for m, name in names.items()}


def _log2_ratio(pool: int, max_r: int, n_rel: int) -> float:
    if n_rel >= pool:
        return 100.0
    score = 100 * (math.log2(pool) - math.log2(max_r)) / (math.log2(pool) - math.log2(n_rel))
    return min(100.0, max(0.0, score))


def multi_metrics(run: Run, qrels: Qrels, pool_size: int) -> dict[str, float]:
    """Max@R, Max@R_norm and Comp@10 of the Multi scenario (one pool, both languages).

    A relevant document absent from the run is taken to sit at the bottom of the pool.
    """
    max_r, norm, complete = [], [], []
    for qid, rel in _relevant(qrels).items():
        rank = {d: i for i, d in enumerate(ranked(run.get(qid, {})), start=1)}
        worst = max(rank.get(d, pool_size) for d in rel)
        max_r.append(worst)
        norm.append(_log2_ratio(pool_size, worst, len(rel)))
        complete.append(100.0 if all(rank.get(d, math.inf) <= 10 for d in rel) else 0.0)
    return {"max@r": round2(mean(max_r)), "max@r_norm": round2(mean(norm)),
            "comp@10": round2(mean(complete))}


def doc_lang(docid: str) -> str:
    """Language of a docid such as `p01234-ko`: the suffix after the last '-'."""
    return docid.rsplit("-", 1)[-1]


def english_inclination(run: Run, qrels: Qrels, lang_of: Callable[[str], str],
                        query_lang: str) -> dict[str, float]:
    """Percent of queries where a non-relevant document in another language outranks the
    best relevant document in the query's language.

    Only queries with a relevant document in `query_lang` count; if that document is missing
    from the run, any non-relevant other-language document in the run outranks it.
    """
    hits = []
    for qid, rel in _relevant(qrels).items():
        same = {d for d in rel if lang_of(d) == query_lang}
        if not same:
            continue
        order = ranked(run.get(qid, {}))
        best = next((i for i, d in enumerate(order) if d in same), len(order))
        inclined = any(d not in rel and lang_of(d) != query_lang for d in order[:best])
        hits.append(100.0 if inclined else 0.0)
    return {"inclination": round2(mean(hits)) if hits else 0.0}


def paper_summary(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per-direction AVG over benchmarks and the CLIR/Mono OVR of Jang et al.'s main table.

    `scores[benchmark][direction]`; an OVR needs both of its directions.
    """
    avg = {}
    for direction in CLIR + MONO:
        values = [s[direction] for s in scores.values() if direction in s]
        if values:
            avg[direction] = mean(values)
    out = {f"avg_{d}": round2(v) for d, v in avg.items()}
    for name, pair in (("clir_ovr", CLIR), ("mono_ovr", MONO)):
        if all(d in avg for d in pair):
            out[name] = round2(mean(avg[d] for d in pair))
    return out


def combine(per_benchmark: dict[str, dict[str, float]]) -> dict[str, float]:
    """One system's metrics over its benchmarks: each benchmark's as `<benchmark>/<key>`, and
    the paper's AVG per direction (over the benchmarks that measure it) and OVRs."""
    out = {f"{b}/{k}": v for b, m in per_benchmark.items() for k, v in m.items()}
    ndcg = {b: {d: m[f"{d}/ndcg@10"] for d in CLIR + MONO if f"{d}/ndcg@10" in m}
            for b, m in per_benchmark.items()}
    return out | paper_summary(ndcg)


def load_system(eval_dir: Path, system: str, benchmarks: Iterable[str]) -> dict[str, float] | None:
    """`combine` of a system's `<eval_dir>/<benchmark>/<system>.json`; None if it has none yet.
    A system evaluated on some benchmarks but not all fails naming the missing file."""
    paths = {b: eval_dir / b / f"{system}.json" for b in benchmarks}
    found = {b: p for b, p in paths.items() if p.is_file()}
    if not found:
        return None
    if missing := [p for p in paths.values() if not p.is_file()]:
        raise SystemExit(f"{missing[0]}: no such file; {system} is evaluated on other "
                         "benchmarks but not this one: run its evaluate stage (dvc repro)")
    return combine({b: json.loads(p.read_text(encoding="utf-8")) for b, p in found.items()})
