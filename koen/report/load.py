"""The evaluate stages' metrics of the systems the report shows and of the sweeps' merged
models, each combined over the benchmarks."""

from __future__ import annotations

from pathlib import Path

from koen.errors import MissingError
from koen.evaluation.metrics import load_system
from koen.report.frontier import SweepLine

Metrics = dict[str, dict[str, float]]  # system -> flat metrics


def load_metrics(eval_dir: Path, names: list[str], first: list[str],
                 benchmarks: list[str]) -> Metrics:
    """The metrics of those systems of `names` that were evaluated (other files there are stale),
    each combined over the benchmarks: those named in `first` in that order, then the rest by
    name; each must hold results for every benchmark."""
    found = {n: m for n in names if (m := load_system(eval_dir, n, benchmarks)) is not None}
    if not found:
        raise MissingError(f"no metrics in {eval_dir}: run the evaluate stages first")
    order = [n for n in first if n in found] + sorted(n for n in found if n not in first)
    return {n: found[n] for n in order}


def load_points(eval_dir: Path, sweeps: list[SweepLine], benchmarks: list[str]) -> Metrics:
    """Every sweep's merged models' metrics (all of them: the sweep stages write them at once)."""
    out = {}
    for sweep in sweeps:
        for name in sweep.points.values():
            if (m := load_system(eval_dir, name, benchmarks)) is None:
                raise MissingError(f"no metrics of {name} in {eval_dir}: run its stages (dvc "
                                 f"repro sweep_eval@{sweep.name}-{benchmarks[0]})")
            out[name] = m
    return out
