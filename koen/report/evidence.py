"""Paired tests over queries of every comparison the report prints and 95 % intervals of each
system's OVRs, from the evaluate stages' TREC runs; flat records of them for the metrics file
and MLflow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from koen.errors import MissingError
from koen.formats.benchmark import Task
from koen.report.frontier import sweep_pairs
from koen.report.load import Metrics
from koen.report.significance import Comparison, bootstrap_ci, compare, system_scores
from koen.report.systems import Systems


@dataclass
class Evidence:
    """Paired tests over queries, and 95 % intervals of each system's OVRs."""

    comparisons: list[Comparison]
    intervals: dict[str, dict[str, tuple[float, float]]]  # system -> measure -> interval
    alpha: float
    queries: dict[str, int]  # benchmark -> queries

    def marked(self, system: str, key: str) -> bool:
        """Is `system` significantly different from base on the table column `key`?"""
        measure = key.removesuffix("/ndcg@10")
        return any(c.family == AGAINST_BASE and c.system == system and c.measure == measure
                   and c.significant(self.alpha) for c in self.comparisons)


AGAINST_BASE, MERGE_PARENT, EXPERIMENT_GRID = ("against base", "merge against parent",
                                               "experiment against grid")


def gather_evidence(metrics: Metrics, systems: Systems, base: str, runs_dir: Path,
                    tasks: dict[str, Task], resamples: int, alpha: float,
                    seed: int, points: Metrics) -> Evidence:
    """Tests of every comparison the report prints, from the evaluate stages' TREC runs
    (`points`: the sweeps' merged models, tested against their better parent)."""
    names = [*metrics, *points]
    for n in names:
        for b in tasks:
            if not (runs_dir / b / n).is_dir():
                raise MissingError(f"no runs of {n} under {runs_dir / b}: run its evaluate stage")
    scores = {n: system_scores({b: runs_dir / b / n for b in tasks}, tasks) for n in names}
    pairs = [(AGAINST_BASE, n, base) for n in metrics if n != base and base in metrics]
    pairs += [(MERGE_PARENT, m, parent) for m, parents in systems.merges.items()
              if m in metrics for parent in parents if parent in metrics]
    if "experiment" in metrics:
        pairs += [(EXPERIMENT_GRID, "experiment", g) for g in systems.neighbours if g in metrics]
    pairs += sweep_pairs(systems.sweeps, metrics)
    intervals = {n: {k: bootstrap_ci(*scores[n][k], resamples, seed)
                     for k in ("clir_ovr", "mono_ovr") if k in scores[n]} for n in metrics}
    return Evidence(compare(pairs, scores, resamples, seed), intervals, alpha,
                    {b: len(t.queries) for b, t in tasks.items()})


def evidence_json(evidence: Evidence) -> dict[str, dict[str, float]]:
    """Flat records for the metrics file and MLflow: `<family>/<system> vs <reference>/<measure>`
    and `interval/<system>/<measure>`."""
    out = {f"{c.family}/{c.system} vs {c.reference}/{c.measure}": {
        "delta": round(c.delta, 4), "ci_low": round(c.ci[0], 4), "ci_high": round(c.ci[1], 4),
        "p": round(c.p, 6), "p_holm": round(c.p_holm, 6)} for c in evidence.comparisons}
    for name, measures in evidence.intervals.items():
        for key, (low, high) in measures.items():
            out[f"interval/{name}/{key}"] = {"ci_low": round(low, 4), "ci_high": round(high, 4)}
    return out
