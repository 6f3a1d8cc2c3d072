"""Interpolation sweeps: one linear merge of two models per weight, each indexed and evaluated
on every benchmark like any other system, so the report can draw the trade-off frontier.

A point's system name is `sweeps/<sweep>/w<weight>` (`Sweep.system`): its index, runs and
metrics sit under the index and evaluate directories like a system's, and the report reads them
the same way.
"""

from __future__ import annotations

from pathlib import Path

from koen.config.schema import Params, Sweep
from koen.evaluation.evaluate import evaluate
from koen.merging.merge import merge_models, resolve
from koen.retrieval.indexes import build


def run_sweep(name: str, sweep: Sweep, params: Params) -> dict[str, dict[str, float]]:
    """Merge, index and evaluate every weight of sweep `name`; returns each point's CLIR and
    Mono OVR."""
    paths = [resolve(m, params.merge) for m in sweep.models]
    for path in paths:
        if not (path / "model.safetensors").is_file():
            raise SystemExit(f"sweep {name}: no model at {path}; build it first (dvc repro)")
    out: dict[str, dict[str, float]] = {}
    for weight in sweep.weights:
        point = sweep.point(weight)
        model_dir = params.sweep.out_dir / name / point
        merge_models("linear", list(sweep.models), [weight, round(1 - weight, 10)], {}, paths,
                     None, model_dir)
        out[point] = index_and_evaluate(sweep.system(name, weight), model_dir, params)
    return out


def index_and_evaluate(system: str, model_dir: Path, params: Params) -> dict[str, float]:
    """Index and evaluate one merged model as system `system`, as its own stages would; returns
    its CLIR and Mono OVR."""
    build(system, model_dir, params.benchmarks, params.index, params.seed)
    metrics = evaluate(system, params.benchmarks, params.evaluate, params.tracking.pending)
    print(f"{system}: CLIR OVR {metrics['clir_ovr']:.2f}, Mono OVR {metrics['mono_ovr']:.2f}")
    return {k: metrics[k] for k in ("clir_ovr", "mono_ovr")}
