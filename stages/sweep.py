"""DVC stage `sweep@<name>` (params `sweeps`): merge, index and evaluate each weight.

    python -m stages.sweep <name>   # -> <sweep.out_dir>/<name>/w<weight>, its indexes and metrics
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load
from koen.merging.sweep import run_sweep

USAGE = "usage: python -m stages.sweep <name>"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit(USAGE)
    params = load()
    if args[0] not in params.sweeps:
        raise SystemExit(f"sweep: no sweep {args[0]!r} in params.yaml sweeps "
                         f"(have: {', '.join(params.sweeps) or 'none'})")
    print(json.dumps(run_sweep(args[0], params.sweeps[args[0]], params)))


if __name__ == "__main__":
    main()
