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

import json
from pathlib import Path

from koen.config.schema import load
from koen.evaluation.evaluate import HYBRID, headline, index_and_evaluate
from koen.retrieval.indexes import RESERVED, SHIFT, SPARSE
from koen.tracking.mlflow_log import begin_stage
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    begin_stage()  # the MLflow runs span the stage, with its system metrics
    cli = parser("stages.evaluate", "index and evaluate one system on one benchmark")
    cli.add_argument("name", help=f"system name, or {SPARSE}, {SHIFT} (index.shift.model "
                        f"with the Shift correction) or {HYBRID}")
    cli.add_argument("benchmark", help="a benchmark of params.yaml benchmarks")
    cli.add_argument("model_dir", type=Path, nargs="?",
                        help="sentence-transformers directory (dense systems)")
    args = cli.parse_args(argv)
    named = (SPARSE, SHIFT, HYBRID)
    if args.name in named and args.model_dir is not None:
        cli.error(f"'{args.name}' takes no model directory")
    if args.name not in named and (args.name in RESERVED or args.model_dir is None):
        cli.error(f"a dense system needs a name other than {', '.join(RESERVED)} "
                     "and a model directory")
    metrics = index_and_evaluate(args.name, args.model_dir, args.benchmark, load())
    print(json.dumps(headline(metrics)))


if __name__ == "__main__":
    run(main)
