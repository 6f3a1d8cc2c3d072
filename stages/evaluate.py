"""DVC stages `evaluate_*@...`: one system on one benchmark, indexed, searched and scored.

    python -m stages.evaluate <system> <benchmark> <model-dir>   # a dense system
    python -m stages.evaluate shift <benchmark>    # index.shift.model, Korean passages shifted
    python -m stages.evaluate bm25 <benchmark>     # Lucene BM25
    python -m stages.evaluate hybrid <benchmark>   # RRF of evaluate.hybrid.dense and .sparse

Each writes the system's indexes `<index.out_dir>/<benchmark>/<system>/` (hybrid searches its
two systems' instead), its runs `<evaluate.runs_dir>/<benchmark>/<system>/` and metrics
`<evaluate.out_dir>/<benchmark>/<system>.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from koen.config.schema import load
from koen.evaluation.evaluate import HYBRID, evaluate
from koen.models.profile import resolve_evaluate, resolve_index
from koen.retrieval.indexes import RESERVED, SHIFT, SPARSE, build
from koen.tracking.mlflow_log import begin_stage


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    parser = argparse.ArgumentParser(prog="python -m stages.evaluate",
                                     description="index and evaluate one system on one benchmark")
    parser.add_argument("name", help=f"system name, or {SPARSE}, {SHIFT} (index.shift.model "
                        f"with the Shift correction) or {HYBRID}")
    parser.add_argument("benchmark", help="a benchmark of params.yaml benchmarks")
    parser.add_argument("model_dir", type=Path, nargs="?",
                        help="sentence-transformers directory (dense systems)")
    args = parser.parse_args(argv)
    named = (SPARSE, SHIFT, HYBRID)
    if args.name in named and args.model_dir is not None:
        parser.error(f"'{args.name}' takes no model directory")
    if args.name not in named and (args.name in RESERVED or args.model_dir is None):
        parser.error(f"a dense system needs a name other than {', '.join(RESERVED)} "
                     "and a model directory")
    params = load()
    bench_dir = params.benchmark.out_dir / args.benchmark
    trust = args.name != SPARSE and params.base_model.trust_remote_code
    if args.name != HYBRID:
        model_dir = params.index.shift.model if args.name == SHIFT else args.model_dir
        seed = params.seed if args.name == SHIFT else 0  # only Shift samples (its pairs)
        build(args.name, model_dir, args.benchmark, bench_dir,
              resolve_index(params.index, params.device), seed, trust)
    metrics = evaluate(args.name, args.benchmark, bench_dir, params.index.out_dir,
                       resolve_evaluate(params.evaluate, params.device), params.tracking.pending,
                       trust)
    print(json.dumps({k: v for k, v in metrics.items() if k.endswith("ndcg@10")}))


if __name__ == "__main__":
    main()
