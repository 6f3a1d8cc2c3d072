"""DVC stage `register`: the best merge by <report.overall> (and `tracking.register.also`) as
registered MLflow models, sentence-transformers flavour; what was done ->
<tracking.register.out>."""

from __future__ import annotations

import json

from koen.config.schema import load
from koen.tracking.registry import register_all
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    parser("stages.register", "the best merge (and tracking.register.also) as registered "
           "MLflow models").parse_args(argv)
    params = load()
    r = params.tracking.register
    metrics = json.loads(params.report.overall.read_text(encoding="utf-8"))
    done = register_all(metrics, list(params.merges), params.model_systems(), r.name, r.alias,
                        list(r.also), r.out, params.base_model.trust_remote_code)
    print(json.dumps(done, indent=2))


if __name__ == "__main__":
    run(main)
