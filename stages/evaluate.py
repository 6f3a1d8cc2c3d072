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

HEADLINE = ("clir_ovr", "mono_ovr", "multi/ko/max@r_norm", "multi/en/max@r_norm",
            "multi/ko/inclination")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.evaluate",
                                     description="evaluate one system on the test queries")
    parser.add_argument("name", help=f"system (indexed by stages.index), {SPARSE} or {HYBRID}")
    args = parser.parse_args(argv)
    params = load()
    metrics = evaluate(args.name, params.evaluate, params.tracking.pending)
    print(json.dumps({k: metrics[k] for k in HEADLINE}))


if __name__ == "__main__":
    main()
