"""The metrics both studies report on rankings (`koen.formats.trec` orders them: ties by docid).

Results are rounded half up to 2 decimals, as the papers print them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import mean

import ir_measures
from ir_measures import RR, R, nDCG

from koen.errors import MissingError
from koen.formats.trec import Qrels, Run, judged, ranked, relevant

DIRECTION = re.compile(r"([a-z]{2})-([a-z]{2})")  # query language - document language
COMPUTED_ON = "computed_on"  # a metrics file's record of its machine and precision


def clir_mono(directions: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CLIR and Mono directions of the pair the direction names (`en-ko`, ...) speak of:
    both ways between the two languages, and each within itself; none for fewer languages."""
    langs = sorted({x for d in directions if (m := DIRECTION.fullmatch(d)) for x in m.groups()})
    if len(langs) != 2:
        return (), ()
    a, b = langs
    return (f"{a}-{b}", f"{b}-{a}"), (f"{a}-{a}", f"{b}-{b}")


def round2(x: float) -> float:
    """Round half up: Python's round() gives 85.53 for the paper's 85.535 (binary floats)."""
    return float(Decimal(f"{x:.10f}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


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
    for qid, rel in relevant(qrels).items():
        rank = {d: i for i, d in enumerate(ranked(run.get(qid, {})), start=1)}
        worst = max(rank.get(d, pool_size) for d in rel)
        max_r.append(worst)
        norm.append(_log2_ratio(pool_size, worst, len(rel)))
        complete.append(100.0 if all(rank.get(d, math.inf) <= 10 for d in rel) else 0.0)
    return {"max@r": round2(mean(max_r)), "max@r_norm": round2(mean(norm)),
            "comp@10": round2(mean(complete))}


def english_inclination(run: Run, qrels: Qrels, lang_of: Callable[[str], str],
                        query_lang: str) -> dict[str, float]:
    """Percent of queries where a non-relevant document in another language outranks the
    best relevant document in the query's language.

    Only queries with a relevant document in `query_lang` count; if that document is missing
    from the run, any non-relevant other-language document in the run outranks it.
    """
    hits = []
    for qid, rel in relevant(qrels).items():
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
    directions = sorted({d for s in scores.values() for d in s})
    avg = {d: mean(s[d] for s in scores.values() if d in s) for d in directions}
    clir, mono = clir_mono(directions)
    out = {f"avg_{d}": round2(v) for d, v in avg.items()}
    for name, pair in (("clir_ovr", clir), ("mono_ovr", mono)):
        if pair and all(d in avg for d in pair):
            out[name] = round2(mean(avg[d] for d in pair))
    return out


def combine(per_benchmark: dict[str, dict[str, float]]) -> dict[str, float]:
    """One system's metrics over its benchmarks: each benchmark's as `<benchmark>/<key>`, and
    the paper's AVG per direction (over the benchmarks that measure it) and OVRs."""
    out = {f"{b}/{k}": v for b, m in per_benchmark.items() for k, v in m.items()}
    ndcg = {b: {k.split("/")[0]: v for k, v in m.items()
                if k.endswith("/ndcg@10") and DIRECTION.fullmatch(k.split("/")[0])}
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
        raise MissingError(f"{missing[0]}: no such file; {system} is evaluated on other "
                         "benchmarks but not this one: run its evaluate stage (dvc repro)")
    return combine({b: read_metrics(p)[0] for b, p in found.items()})


def read_metrics(path: Path) -> tuple[dict[str, float], dict[str, str] | None]:
    """An evaluation's metrics file: its figures, and its record of the machine and precision
    they came from (None in a file of older code)."""
    figures = json.loads(path.read_text(encoding="utf-8"))
    return figures, figures.pop(COMPUTED_ON, None)


def load_computed_on(eval_dir: Path, system: str, benchmarks: Iterable[str]
                     ) -> dict[str, dict[str, str] | None]:
    """Each evaluated benchmark's record of the machine and precision `system`'s figures came
    from (None in a metrics file of older code); benchmarks not evaluated are left out."""
    files = {b: eval_dir / b / f"{system}.json" for b in benchmarks}
    return {b: read_metrics(p)[1] for b, p in files.items() if p.is_file()}
