from __future__ import annotations

import pytest

from koen.config.compositions import CODES, CompositionError, canonical, parse
from koen.training.examples import draw


def test_codes_dashes_shorthand_and_mixtures():
    assert len(CODES) == 8
    assert parse("kokoen") == parse("ko-ko-en") == ("kokoen",)
    assert parse("ko+en") == ("kokoko", "enenen")
    assert parse("koenen+enkoko") == ("koenen", "enkoko")
    assert canonical("en+ko") == canonical("kokoko+enenen")


@pytest.mark.parametrize("bad", ["kokoke", "ko-en", "", "kokoen+kokoen", "ko++en", "jajaja"])
def test_invalid_composition_lists_valid_codes(bad):
    with pytest.raises(CompositionError) as err:
        parse(bad)
    if bad not in ("", "kokoen+kokoen"):
        assert "kokoko, kokoen, koenko, koenen, enkoko, enkoen, enenko, enenen" in str(err.value)


def triplets(n):
    return [{f"{part}_{lang}": f"{part}{i}-{lang}" for part in ("query", "pos", "neg")
             for lang in ("ko", "en")} for i in range(n)]


def test_draw_uses_the_languages_of_the_code():
    ex = draw(triplets(10), "koenko", 10, seed=1)
    assert len(ex) == 10
    assert all(e["anchor"].endswith("-ko") and e["positive"].endswith("-en")
               and e["negative"].endswith("-ko") for e in ex)
    assert len({e["anchor"] for e in ex}) == 10  # each parallel triplet used once


def test_mixture_deals_equal_shares_and_is_seeded():
    ex = draw(triplets(100), "ko+en", 40, seed=3)
    ko = [e for e in ex if e["anchor"].endswith("-ko")]
    assert len(ko) == 20 and all(e["negative"].endswith("-ko") for e in ko)
    assert ex == draw(triplets(100), "ko+en", 40, seed=3)
    assert ex != draw(triplets(100), "ko+en", 40, seed=4)
