"""Interpolation sweeps: one linear merge of two models per weight, each indexed and evaluated
on every benchmark like any other system, so the report can draw the trade-off frontier.

A point's system name is `sweeps/<sweep>/w<weight>` (`Sweep.system`): its index, runs and
metrics sit under the index and evaluate directories' benchmark folders like a system's, and
the report reads them the same way.
"""

from __future__ import annotations

from koen.config.schema import Params, Sweep
from koen.errors import MissingError
from koen.evaluation.evaluate import headline, index_and_evaluate
from koen.merging.merge import merge_models, resolve


def merge_sweep(name: str, sweep: Sweep, params: Params) -> list[str]:
    """Merge every weight of sweep `name` under `<sweep.out_dir>/<name>/`; returns the points."""
    paths = [resolve(m, params.merge) for m in sweep.models]
    for path in paths:
        if not (path / "model.safetensors").is_file():
            raise MissingError(f"sweep {name}: no model at {path}; build it first (dvc repro)")
    for weight in sweep.weights:
        merge_models("linear", list(sweep.models), [weight, round(1 - weight, 10)], {}, paths,
                     None, params.sweep.out_dir / name / sweep.point(weight))
    return [sweep.point(w) for w in sweep.weights]


def evaluate_sweep(name: str, sweep: Sweep, benchmark: str,
                   params: Params) -> dict[str, dict[str, float]]:
    """Index and evaluate every merged model of sweep `name` on one benchmark."""
    return {sweep.point(w): headline(index_and_evaluate(
        sweep.system(name, w), params.sweep.out_dir / name / sweep.point(w), benchmark, params))
        for w in sweep.weights}
