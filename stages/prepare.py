"""DVC stage `prepare`: the pair's (`languages`) parallel corpus, queries, qrels, splits and
training triplets from `prepare.data` (the LibreOffice help, or a user's collection or triplets:
`prepare.source`), under `prepare.out`; data card at `prepare.card`."""

from __future__ import annotations

from koen.config.schema import load
from koen.data.prepare import prepare
from koen.repro.seeding import seed_everything
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    parser("stages.prepare", "the training data: the parallel collection, its splits and "
           "triplets").parse_args(argv)
    params = load()
    seed_everything(params.seed)
    card = prepare(params.prepare, params.seed, params.pair)
    lang = params.pair.lang
    print({s: (v["queries"], v[lang]["passages"]) for s, v in card["splits"].items()},
          "triplets:", card["triplets"])


if __name__ == "__main__":
    run(main)
