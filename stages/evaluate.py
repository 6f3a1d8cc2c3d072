"""DVC stages `evaluate_*@...`: one system on one benchmark.

    python -m stages.evaluate <system> <benchmark>   # indexed by stages.index (bm25, shift too)
    python -m stages.evaluate hybrid <benchmark>     # RRF of evaluate.hybrid.dense and .sparse

Each writes `<evaluate.runs_dir>/<benchmark>/<system>/` and
`<evaluate.out_dir>/<benchmark>/<system>.json`.
"""

from __future__ import annotations

import argparse
import json

from koen.config.schema import load
from koen.evaluation.evaluate import HYBRID, evaluate
from koen.retrieval.indexes import SPARSE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.evaluate",
                                     description="evaluate one system on one benchmark")
    parser.add_argument("name", help=f"system (indexed by stages.index), {SPARSE} or {HYBRID}")
    parser.add_argument("benchmark", help="a benchmark of params.yaml benchmarks")
    args = parser.parse_args(argv)
    params = load()
    trust = args.name != SPARSE and params.base_model.trust_remote_code
    metrics = evaluate(args.name, args.benchmark, params.benchmark.out_dir / args.benchmark,
                       params.evaluate, params.tracking.pending, trust)
    print(json.dumps({k: v for k, v in metrics.items() if k.endswith("ndcg@10")}))


if __name__ == "__main__":
    main()
