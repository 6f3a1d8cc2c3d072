"""`python -m koen.tracking sync`: log the runs kept while MLflow was unreachable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from koen.tracking.mlflow_log import DEFAULT_PENDING, sync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m koen.tracking")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("sync", help="log the runs kept while MLflow was unreachable")
    cmd.add_argument("--pending", type=Path, default=DEFAULT_PENDING)
    args = parser.parse_args(argv)
    counts = sync(args.pending)
    print(json.dumps(counts))
    return 1 if counts["pending"] else 0


if __name__ == "__main__":
    sys.exit(main())
