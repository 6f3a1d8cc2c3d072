"""Interpolation sweeps: one linear merge of two models per weight, each indexed and evaluated
on every benchmark like any other system, so the report can draw the trade-off frontier.

A point's system name is `sweeps/<sweep>/w<weight>` (`Sweep.system`): its index, runs and
metrics sit under the index and evaluate directories' benchmark folders like a system's, and
the report reads them the same way.
"""

from __future__ import annotations

from pathlib import Path

from koen.config.schema import Params, Sweep
from koen.evaluation.evaluate import evaluate
from koen.merging.merge import merge_models, resolve
from koen.models.profile import resolve_evaluate, resolve_index
from koen.retrieval.indexes import build


def merge_sweep(name: str, sweep: Sweep, params: Params) -> list[str]:
    """Merge every weight of sweep `name` under `<sweep.out_dir>/<name>/`; returns the points."""
    paths = [resolve(m, params.merge) for m in sweep.models]
    for path in paths:
        if not (path / "model.safetensors").is_file():
            raise SystemExit(f"sweep {name}: no model at {path}; build it first (dvc repro)")
    for weight in sweep.weights:
        merge_models("linear", list(sweep.models), [weight, round(1 - weight, 10)], {}, paths,
                     None, params.sweep.out_dir / name / sweep.point(weight))
    return [sweep.point(w) for w in sweep.weights]


def evaluate_sweep(name: str, sweep: Sweep, benchmark: str,
                   params: Params) -> dict[str, dict[str, float]]:
    """Index and evaluate every merged model of sweep `name` on one benchmark."""
    return {sweep.point(w): index_and_evaluate(sweep.system(name, w),
                                               params.sweep.out_dir / name / sweep.point(w),
                                               benchmark, params)
            for w in sweep.weights}


def index_and_evaluate(system: str, model_dir: Path, benchmark: str,
                       params: Params) -> dict[str, float]:
    """Index and evaluate one merged model as system `system` on one benchmark, as its own
    stages would; returns its nDCG@10 per direction."""
    if not (model_dir / "model.safetensors").is_file():
        raise SystemExit(f"no model at {model_dir}; build it first (dvc repro)")
    trust = params.base_model.trust_remote_code
    bench_dir = params.benchmark.out_dir / benchmark
    build(system, model_dir, benchmark, bench_dir, resolve_index(params.index, params.device),
          params.seed, trust)
    metrics = evaluate(system, benchmark, bench_dir, params.index.out_dir,
                       resolve_evaluate(params.evaluate, params.device), params.tracking.pending,
                       trust)
    return {k: v for k, v in metrics.items() if k.endswith("ndcg@10")}
