"""DVC stages `index@<system>`, `index_shift`, `index_bm25`: search indexes of the test passages.

    python -m stages.index <system> <model-dir>   # -> <index.out_dir>/<system>/<benchmark>/
    python -m stages.index shift                  # index.shift.model with the Shift correction
    python -m stages.index bm25                   # Lucene BM25 indexes
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
    parser.add_argument("model_dir", type=Path, nargs="?",
                        help="sentence-transformers directory (dense systems)")
    args = parser.parse_args(argv)
    params = load()
    p = params.index
    if args.name in (SPARSE, SHIFT) and args.model_dir is not None:
        parser.error(f"'{args.name}' takes no model directory")
    if args.name not in (SPARSE, SHIFT) and (args.name in RESERVED or args.model_dir is None):
        parser.error(f"a dense system needs a name other than {', '.join(RESERVED)} "
                     "and a model directory")
    model_dir = p.shift.model if args.name == SHIFT else args.model_dir
    seed = params.seed if args.name == SHIFT else 0  # only Shift samples (its parallel pairs)
    manifest = build(args.name, model_dir, params.benchmarks, p, seed)
    print(json.dumps({b: m["docs"] for b, m in manifest["benchmarks"].items()}))


if __name__ == "__main__":
    main()
