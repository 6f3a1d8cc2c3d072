"""Language compositions of training triplets: which language the Query, Positive, Negative use.

Codes are built from the pair's two codes (`languages`): for ko-en, `kokoen` (also `ko-ko-en`)
= Korean query, Korean positive, English negative; `ko` and `en` are shorthand for `kokoko` and
`enenen`. `+` mixes several codes into one training set in equal shares (`koenen+enkoko`,
`ko+en`); for ja-en the same are `jaenen+enjaja` and `ja+en`.
"""

from __future__ import annotations

from koen.config.languages import Pair
from koen.config.parse import ParamsError


class CompositionError(ParamsError):
    """An unknown or malformed composition code."""


def parse_code(code: str, pair: Pair) -> str:
    """One code (`kokoen`, `ko-ko-en`, `ko`) -> its six-letter form."""
    c = code.strip().lower()
    c = {x: x * 3 for x in pair.codes}.get(c, c.replace("-", ""))
    valid = pair.compositions
    if c not in valid:
        a, b = pair.codes
        raise CompositionError(
            f"unknown composition {code!r} for languages [{a}, {b}]: valid codes are "
            f"{', '.join(valid)} (or with dashes, {a}-{a}-{b}), the shorthands {a} = {a * 3} and "
            f"{b} = {b * 3}, joined by '+' to mix")
    return c


def parse(composition: str, pair: Pair) -> tuple[str, ...]:
    """`koenen+enkoko` -> ('koenen', 'enkoko'); duplicates and empty parts are refused."""
    parts = [parse_code(p, pair) for p in str(composition).split("+")] if composition else []
    if not parts:
        raise CompositionError("empty composition")
    if len(set(parts)) != len(parts):
        raise CompositionError(f"composition {composition!r} repeats a code")
    return tuple(parts)


def canonical(composition: str, pair: Pair) -> str:
    """Order-free name: `en+ko` and `kokoko+enenen` are the same training set."""
    return "+".join(sorted(parse(composition, pair)))


def languages(code: str) -> tuple[str, str, str]:
    """The Query, Positive and Negative languages of a six-letter code."""
    return code[0:2], code[2:4], code[4:6]
