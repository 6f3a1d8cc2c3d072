"""DVC stages `evaluate@<system>`, `evaluate_shift`, `evaluate_bm25`, `evaluate_hybrid`.

    python -m stages.evaluate <system>   # a system indexed by stages.index (bm25, shift too)
    python -m stages.evaluate hybrid     # RRF of evaluate.hybrid.dense and .sparse
"""

from __future__ import annotations

import argparse
import json

from koen.config.schema import load
from koen.evaluation.evaluate import HYBRID, evaluate
from koen.retrieval.indexes import SPARSE

HEADLINE = ("avg_en-ko", "avg_ko-en", "clir_ovr", "avg_ko-ko", "avg_en-en", "mono_ovr")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.evaluate",
                                     description="evaluate one system on the test queries")
    parser.add_argument("name", help=f"system (indexed by stages.index), {SPARSE} or {HYBRID}")
    args = parser.parse_args(argv)
    params = load()
    metrics = evaluate(args.name, params.benchmarks, params.evaluate, params.tracking.pending)
    print(json.dumps({k: metrics[k] for k in HEADLINE}))


if __name__ == "__main__":
    main()
