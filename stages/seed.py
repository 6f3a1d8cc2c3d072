"""DVC stage `seed@<seed>` (params train.more_seeds): merge, index and evaluate one further
seed's grid.

    python -m stages.seed 42   # -> <train.seeds_dir>/s42/merged/<recipe>, indexes and metrics of
                               #    every grid model and merge under seeds/s42/
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load
from koen.merging.seeds import run_seed

USAGE = "usage: python -m stages.seed <seed>"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        raise SystemExit(USAGE)
    print(json.dumps(run_seed(int(args[0]), load())))


if __name__ == "__main__":
    main()
