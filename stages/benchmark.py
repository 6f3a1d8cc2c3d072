"""DVC stage `benchmark@<name>` (params `benchmarks`): one benchmark, from its source layout, in
the project's schema at `<benchmark.out_dir>/<name>/`.

    python -m stages.benchmark belebele
"""

from __future__ import annotations

import json
import sys

from koen.config.schema import load
from koen.data.benchmarks import convert, write_benchmark

USAGE = "usage: python -m stages.benchmark <name>"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit(USAGE)
    params = load()
    if args[0] not in params.benchmarks:
        raise SystemExit(f"benchmark: no benchmark {args[0]!r} in params.yaml benchmarks "
                         f"(have: {', '.join(params.benchmarks)})")
    b = params.benchmarks[args[0]]
    converted = convert(b.format, b.source, b.split)
    card = write_benchmark(params.benchmark.out_dir / args[0], args[0], b.format, b.source,
                           converted)
    print(json.dumps(card))


if __name__ == "__main__":
    main()
