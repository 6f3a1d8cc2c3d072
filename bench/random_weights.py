"""A copy of a sentence-transformers model directory with its transformer's weights drawn at random.

    python bench/random_weights.py SRC DST [--seed 0]

For speed figures where the weights cannot go: the device tool carries at most 64 MiB to a GPU
machine, and models/base's weights alone are 248 MB. Throughput depends on the shapes (the
config) and the token counts (the tokenizer, the prompts), which DST keeps; not on the weights'
values. SRC needs no weights file: everything but `model.safetensors` is copied, then the
transformer's config is instantiated with seeded random weights and saved in its place.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModel

WEIGHTS = "model.safetensors"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    shutil.copytree(args.src, args.dst, ignore=shutil.ignore_patterns(WEIGHTS))
    torch.manual_seed(args.seed)
    AutoModel.from_config(AutoConfig.from_pretrained(args.dst)).save_pretrained(args.dst)
    print(f"wrote {args.dst} (random weights, seed {args.seed})")


if __name__ == "__main__":
    main()
