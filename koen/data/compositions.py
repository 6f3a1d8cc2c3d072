"""Language compositions of training triplets: which language the Query, Positive, Negative use.

`kokoen` (also `ko-ko-en`) = Korean query, Korean positive, English negative. `ko` and `en` are
shorthand for `kokoko` and `enenen`. `+` mixes several codes into one training set in equal
shares (`koenen+enkoko`, `ko+en`).
"""

from __future__ import annotations

import itertools
import random

LANGS = ("ko", "en")
CODES = tuple("".join(c) for c in itertools.product(LANGS, repeat=3))
SHORTHAND = {"ko": "kokoko", "en": "enenen"}


class CompositionError(ValueError):
    pass


def parse_code(code: str) -> str:
    """One code (`kokoen`, `ko-ko-en`, `ko`) -> its six-letter form."""
    c = code.strip().lower()
    c = SHORTHAND.get(c, c.replace("-", ""))
    if c not in CODES:
        raise CompositionError(
            f"unknown composition {code!r}: valid codes are {', '.join(CODES)} (or with dashes, "
            "ko-ko-en), the shorthands ko = kokoko and en = enenen, joined by '+' to mix")
    return c


def parse(composition: str) -> tuple[str, ...]:
    """`koenen+enkoko` -> ('koenen', 'enkoko'); duplicates and empty parts are refused."""
    parts = [parse_code(p) for p in str(composition).split("+")] if composition else []
    if not parts:
        raise CompositionError("empty composition")
    if len(set(parts)) != len(parts):
        raise CompositionError(f"composition {composition!r} repeats a code")
    return tuple(parts)


def canonical(composition: str) -> str:
    """Order-free name: `en+ko` and `kokoko+enenen` are the same training set."""
    return "+".join(sorted(parse(composition)))


def languages(code: str) -> tuple[str, str, str]:
    return code[0:2], code[2:4], code[4:6]


def draw(triplets: list[dict], composition: str, n: int, seed: int) -> list[dict]:
    """`n` (anchor, positive, negative) examples in the composition's languages.

    Each parallel triplet is used at most once; with several codes, the shuffled triplets are
    dealt to the codes in equal shares and the result is shuffled again.
    """
    codes = parse(composition)
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
