"""DVC stage `register`: the best merge (and `tracking.register.also`) as registered MLflow
models, sentence-transformers flavour; what was done -> <tracking.register.out>."""

from __future__ import annotations

import json

from koen.config.schema import load
from koen.tracking.registry import register_all


def main() -> None:
    params = load()
    r = params.tracking.register
    names = [*params.merges, *r.also]
    metrics = {n: json.loads((params.report.eval_dir / f"{n}.json").read_text())
               for n in names if (params.report.eval_dir / f"{n}.json").is_file()}
    done = register_all(metrics, list(params.merges), dict(params.systems), r.name, r.alias,
                        list(r.also), r.out)
    print(json.dumps(done, indent=2))


if __name__ == "__main__":
    main()
