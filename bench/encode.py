"""Passage encoding of the index stage against plain `SentenceTransformer.encode`.

    python bench/encode.py [--model models/base] [--n 256] [--batch 64] [--rounds 2]

Same model, same texts (the first n/2 test passages of each language, interleaved, as the
index stage encodes its mixed pool), same batch size and prompt, one process. The rounds
alternate plain and ours so background load hits both alike; the best round of each counts.
Prints passages/s, the ratio ours / plain (goal >= 1.0) and the largest embedding difference.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def texts(n: int) -> list[str]:
    from koen.retrieval.indexes import load_passages

    passages = load_passages(ROOT / "data/prepared/corpus.parquet", "test")
    ko, en = ([p.text for p in passages if p.lang == lang][: n // 2] for lang in ("ko", "en"))
    return [t for pair in zip(ko, en, strict=True) for t in pair]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/base"))
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from koen.retrieval.dense import encode

    data = texts(args.n)
    model = SentenceTransformer(args.model, device="cpu")
    model.encode(data[:8], prompt_name="passage")  # warm-up
    best = {"plain": 0.0, "ours": 0.0}
    out = {}
    for _ in range(args.rounds):
        for name in ("plain", "ours"):
            start = time.perf_counter()
            if name == "plain":
                out[name] = model.encode(data, prompt_name="passage", batch_size=args.batch,
                                         normalize_embeddings=True)
            else:
                out[name] = encode(model, data, "passage", args.batch, progress=False)
            rate = len(data) / (time.perf_counter() - start)
            best[name] = max(best[name], rate)
            print(f"{name}: {rate:.1f} passages/s")
    print(f"best plain {best['plain']:.1f}, ours {best['ours']:.1f} passages/s "
          f"({len(data)} passages, batch {args.batch})")
    print(f"ours / plain: {best['ours'] / best['plain']:.2f}x; max |diff| "
          f"{float(np.abs(out['ours'] - out['plain']).max()):.1e}")


if __name__ == "__main__":
    main()
