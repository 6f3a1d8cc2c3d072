"""Training examples drawn from the parallel triplets: a composition's (anchor, positive,
negative) in its languages, or the alignment loss's parallel pairs."""

from __future__ import annotations

import random

from koen.config.compositions import languages, parse
from koen.config.languages import Pair
from koen.config.parse import ParamsError


def draw(triplets: list[dict], composition: str, n: int, seed: int, pair: Pair) -> list[dict]:
    """`n` (anchor, positive, negative) examples in the composition's languages.

    Each parallel triplet is used at most once; with several codes, the shuffled triplets are
    dealt to the codes in equal shares and the result is shuffled again.
    """
    codes = parse(composition, pair)
    rng = random.Random(seed)
    order = list(range(len(triplets)))
    rng.shuffle(order)
    order = order[:n]
    examples = []
    for i, t in enumerate(order):
        q, p, ng = languages(codes[i % len(codes)])
        row = triplets[t]
        examples.append({"anchor": row[f"query_{q}"], "positive": row[f"pos_{p}"],
                         "negative": row[f"neg_{ng}"]})
    rng.shuffle(examples)
    return examples


def alignment_examples(triplets: list[dict], n: int, seed: int, pair: Pair) -> list[dict]:
    """(query_en, passage_en, passage_ko, query_ko) from the parallel triplets' positives (for
    ko-en; the second language's first)."""
    if n > len(triplets):
        raise ParamsError(f"params.yaml: 'train.align.samples' is {n} but only {len(triplets)} "
                          "parallel triplets exist")
    rows = random.Random(seed).sample(triplets, n)
    a, b = pair.codes
    return [{f"query_{b}": t[f"query_{b}"], f"passage_{b}": t[f"pos_{b}"],
             f"passage_{a}": t[f"pos_{a}"], f"query_{a}": t[f"query_{a}"]} for t in rows]
