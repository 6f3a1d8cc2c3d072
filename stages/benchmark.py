"""DVC stage `benchmark@<name>` (params `benchmarks`): one benchmark, from its source layout, in
the project's schema at `<benchmark.out_dir>/<name>/`.

    python -m stages.benchmark belebele
"""

from __future__ import annotations

import json

from koen.config.schema import load
from koen.data.benchmarks import convert, write_benchmark
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    cli = parser("stages.benchmark", "convert one benchmark into the project's schema")
    cli.add_argument("name", help="a benchmark of params.yaml benchmarks")
    name = cli.parse_args(argv).name
    params = load()
    if name not in params.benchmarks:
        cli.error(f"no benchmark {name!r} in params.yaml benchmarks "
                  f"(have: {', '.join(params.benchmarks)})")
    b = params.benchmarks[name]
    converted = convert(b.format, b.source, b.split, params.pair)
    card = write_benchmark(params.benchmark.out_dir / name, name, b.format, b.source, converted)
    print(json.dumps(card))


if __name__ == "__main__":
    run(main)
