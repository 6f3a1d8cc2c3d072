"""Language compositions of training triplets: which language the Query, Positive, Negative use.

`kokoen` (also `ko-ko-en`) = Korean query, Korean positive, English negative. `ko` and `en` are
shorthand for `kokoko` and `enenen`. `+` mixes several codes into one training set in equal
shares (`koenen+enkoko`, `ko+en`).
"""

from __future__ import annotations

import itertools

from koen.config.parse import ParamsError

LANGS = ("ko", "en")
CODES = tuple("".join(c) for c in itertools.product(LANGS, repeat=3))
SHORTHAND = {"ko": "kokoko", "en": "enenen"}


class CompositionError(ParamsError):
    """An unknown or malformed composition code."""


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


