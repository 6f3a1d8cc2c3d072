from __future__ import annotations

import pytest

from koen.config.compositions import CompositionError, canonical, parse
from koen.config.languages import KO_EN, LanguageError, Pair
from koen.training.examples import draw

JA_EN = Pair("ja", "en")


def test_codes_dashes_shorthand_and_mixtures():
    assert KO_EN.compositions == ("kokoko", "kokoen", "koenko", "koenen", "enkoko", "enkoen",
                                  "enenko", "enenen")
    assert parse("kokoen", KO_EN) == parse("ko-ko-en", KO_EN) == ("kokoen",)
    assert parse("ko+en", KO_EN) == ("kokoko", "enenen")
    assert parse("koenen+enkoko", KO_EN) == ("koenen", "enkoko")
    assert canonical("en+ko", KO_EN) == canonical("kokoko+enenen", KO_EN)


def test_codes_follow_the_pair():
    assert JA_EN.compositions[:4] == ("jajaja", "jajaen", "jaenja", "jaenen")
    assert parse("ja+en", JA_EN) == ("jajaja", "enenen")
    assert JA_EN.directions == {"en-ja": ("en", "ja"), "ja-en": ("ja", "en"),
                                "ja-ja": ("ja", "ja"), "en-en": ("en", "en")}
    assert JA_EN.multi == {"multi-ja": "ja", "multi-en": "en"}
    with pytest.raises(CompositionError, match="for languages \\[ja, en\\]: valid codes are "
                       "jajaja, jajaen"):
        parse("koenen", JA_EN)


@pytest.mark.parametrize(("codes", "message"), [
    (["ja"], "name two languages"), (["ja", "ja"], "two different languages"),
    (["xx", "en"], "unknown language 'xx'; known: ko, ja")])
def test_a_pair_is_two_known_languages(codes, message):
    with pytest.raises(LanguageError, match=message):
        Pair.of(codes)


@pytest.mark.parametrize("bad", ["kokoke", "ko-en", "", "kokoen+kokoen", "ko++en", "jajaja"])
def test_invalid_composition_lists_valid_codes(bad):
    with pytest.raises(CompositionError) as err:
        parse(bad, KO_EN)
    if bad not in ("", "kokoen+kokoen"):
        assert "kokoko, kokoen, koenko, koenen, enkoko, enkoen, enenko, enenen" in str(err.value)


def triplets(n, pair=KO_EN):
    return [{f"{part}_{lang}": f"{part}{i}-{lang}" for part in ("query", "pos", "neg")
             for lang in pair.codes} for i in range(n)]


def test_draw_uses_the_languages_of_the_code():
    ex = draw(triplets(10, JA_EN), "jaenja", 10, seed=1, pair=JA_EN)
    assert all(e["anchor"].endswith("-ja") and e["positive"].endswith("-en")
               and e["negative"].endswith("-ja") for e in ex)
    ex = draw(triplets(10), "koenko", 10, seed=1, pair=KO_EN)
    assert len(ex) == 10
    assert all(e["anchor"].endswith("-ko") and e["positive"].endswith("-en")
               and e["negative"].endswith("-ko") for e in ex)
    assert len({e["anchor"] for e in ex}) == 10  # each parallel triplet used once


def test_mixture_deals_equal_shares_and_is_seeded():
    ex = draw(triplets(100), "ko+en", 40, seed=3, pair=KO_EN)
    ko = [e for e in ex if e["anchor"].endswith("-ko")]
    assert len(ko) == 20 and all(e["negative"].endswith("-ko") for e in ko)
    assert ex == draw(triplets(100), "ko+en", 40, seed=3, pair=KO_EN)
    assert ex != draw(triplets(100), "ko+en", 40, seed=4, pair=KO_EN)
