"""DVC stages `index_*@...`: the search indexes of one system on one benchmark.

    python -m stages.index <system> <benchmark> <model-dir>   # a dense system
    python -m stages.index shift <benchmark>                  # index.shift.model, Shift-corrected
    python -m stages.index bm25 <benchmark>                   # Lucene BM25 indexes

Each writes `<index.out_dir>/<benchmark>/<system>/`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from koen.config.schema import load
from koen.retrieval.indexes import RESERVED, SHIFT, SPARSE, build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.index",
                                     description="build the search indexes of one system")
    parser.add_argument("name", help=f"system name, '{SPARSE}' for the Lucene indexes, or "
                        f"'{SHIFT}' for index.shift.model with the Shift correction")
    parser.add_argument("benchmark", help="a benchmark of params.yaml benchmarks")
    parser.add_argument("model_dir", type=Path, nargs="?",
                        help="sentence-transformers directory (dense systems)")
    args = parser.parse_args(argv)
    if args.name in (SPARSE, SHIFT) and args.model_dir is not None:
        parser.error(f"'{args.name}' takes no model directory")
    if args.name not in (SPARSE, SHIFT) and (args.name in RESERVED or args.model_dir is None):
        parser.error(f"a dense system needs a name other than {', '.join(RESERVED)} "
                     "and a model directory")
    params = load()
    p = params.index
    model_dir = p.shift.model if args.name == SHIFT else args.model_dir
    seed = params.seed if args.name == SHIFT else 0  # only Shift samples (its parallel pairs)
    trust = params.base_model.trust_remote_code if model_dir is not None else False
    manifest = build(args.name, model_dir, args.benchmark,
                     params.benchmark.out_dir / args.benchmark, p, seed, trust)
    print(json.dumps(manifest["docs"]))


if __name__ == "__main__":
    main()
