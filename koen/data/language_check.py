"""Is a text in the language its column says? By script where the pair's scripts differ, and by
py3langid, asked only between the two languages, where both are written in Latin script.

The identifier is asked "this language or the other one?", since the question is whether a text
sits in the wrong column (asked among all its languages it scatters short strings: 'Fett', 'Typ'
come out as lb, la, tl, ...). It fails a text only where it is confident (>= CONFIDENT): on
sentences it is, on a word or two it is near 0.5 either way. Deterministic: one fixed model.
"""

from __future__ import annotations

import re
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from koen.config.languages import LANGUAGES, Pair

CONFIDENT = 0.9  # langid's probability (between the two languages only) above which it is sure


def script_share(text: str, letters: re.Pattern[str]) -> float:
    """Share of `letters` among the letters of `text` (0 for text without letters)."""
    alpha = [c for c in text if c.isalpha()]
    return sum(1 for c in alpha if letters.match(c)) / len(alpha) if alpha else 0.0


@cache
def _identifier(a: str, b: str) -> LanguageIdentifier:
    """py3langid's model restricted to two languages, with probabilities (loaded once)."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages([a, b])
    return identifier


def likelihood(text: str, code: str, against: str) -> float:
    """py3langid's probability that `text` is in `code` rather than in `against`."""
    return dict(_identifier(*sorted((code, against))).rank(text))[code]


def wrong_language(text: str, code: str, pair: Pair, identify: bool = True) -> str | None:
    """Why `text` is not in language `code` of the pair, or None where it is (or may be).
    `identify=False`: by script alone, for text built from records already identified."""
    lang, twin = LANGUAGES[code], LANGUAGES[pair.twin(code)]
    if lang.letters is not None:
        if script_share(text, lang.letters) < 0.5:
            return f"{lang.name} text is not written in {lang.script}"
    elif twin.letters is not None:
        if twin.letters.search(text):
            return f"{lang.name} text contains {twin.script}"
    elif identify and (p := likelihood(text, twin.code, code)) >= CONFIDENT:
        return f"{lang.name} text reads as {twin.name} (py3langid: {p:.2f})"
    return None
