from __future__ import annotations

import pytest

from koen.config.languages import HANGUL, LANGUAGES, LanguageError, Pair
from koen.data.helpdocs import extract, translated
from koen.data.language_check import script_share, wrong_language
from koen.formats.tables import read_jsonl_gz, write_jsonl_gz


def test_extract_aligns_by_element_id_and_drops_untranslated(fixtures):
    paragraphs, keywords = extract(fixtures / "help/ko", fixtures / "help/en", "ko")
    by_id = {p["id"]: p for p in paragraphs}
    # par_id202 is left in English in the Korean page; par_id204 is repeated on the page;
    # header and footer paragraphs are outside DisplayArea.
    assert list(by_id) == ["hd_id100", "par_id101", "hd_id200", "par_id201", "par_id203",
                           "par_id205"]
    assert by_id["hd_id100"]["en"] == "Inserting Tables"
    assert by_id["hd_id100"]["kind"] == "h1"
    assert by_id["par_id203"]["ko"] == "표 격자에서 행과 열 수를 끌어서 선택합니다."
    assert by_id["par_id205"]["en"] == "Tables are read inside <nested> boxes too."
    assert by_id["par_id101"]["section"] == "hd_id100"
    assert by_id["par_id201"]["section"] == "hd_id200"
    assert all(p["page"] == "text/swriter/table.html" for p in paragraphs)


def test_extract_pairs_index_keywords_by_anchor_and_position(fixtures):
    _, keywords = extract(fixtures / "help/ko", fixtures / "help/en", "ko")
    assert [(k["anchor"], k["position"], k["ko"], k["en"]) for k in keywords] == [
        ("bm_id100", 0, "표, 텍스트 표 삽입", "tables, inserting text tables"),
        ("bm_id100", 1, "DDE, 표 삽입", "DDE, inserting tables"),
    ]
    assert {k["section"] for k in keywords} == {"hd_id100"}


@pytest.mark.parametrize("lang", ["ja", "de"])
def test_extract_keeps_translated_pairs_of_other_languages_keyed_by_code(fixtures, lang):
    paragraphs, keywords = extract(fixtures / f"help/{lang}", fixtures / "help/en", lang)
    # par_id202 is left in English (de: an older English text that differs, told by langid);
    # ja par_id203 is mostly English with a little kana; par_id204 is repeated on the page.
    by_id = {p["id"]: p for p in paragraphs}
    assert list(by_id) == ["hd_id100", "par_id101", "hd_id200", "par_id201",
                           *(["par_id203"] if lang == "de" else []), "par_id205"]
    assert all(set(p) == {"page", "id", "kind", "section", lang, "en"} for p in paragraphs)
    assert by_id["par_id205"]["en"] == "Tables are read inside <nested> boxes too."
    assert by_id["hd_id100"][lang] == {"ja": "表の挿入", "de": "Tabellen einfügen"}[lang]
    # the third keyword is the English one, left untranslated
    assert [(k["position"], k["en"]) for k in keywords] == [
        (0, "tables, inserting text tables"), (1, "DDE, inserting tables")]


@pytest.mark.parametrize(("text", "en", "lang", "kept"), [
    ("표 삽입", "Inserting Tables", "ko", True),
    ("표 삽입", "Inserting Tables (표)", "ko", False),  # Hangul in the English
    ("LibreOffice Writer 표", "LibreOffice Writer table", "ko", False),  # mostly Latin
    ("表の挿入", "Inserting Tables", "ja", True),
    ("表の挿入", "Inserting Tables (表)", "ja", False),  # kanji in the English
    ("テーブル", "Table (テーブル)", "ja", False),  # kana in the English
    ("插入表格", "Inserting Tables", "zh", True),
    ("Вставка таблиц", "Inserting Tables", "ru", True),
    ("Tabellen einfügen", "Inserting Tables", "de", True),
    ("Bearbeiten", "Edit", "de", True),
    ("Fett", "Bold", "de", True),  # langid unsure on a word: the texts differ, kept
    ("Click OK to close the dialog box.", "Click OK to close the dialog.", "de", False),
    ("Klicken Sie auf OK.", "Klicken Sie auf OK, um den Dialog zu schließen.", "de", False),
    ("Edit", "Edit", "de", False),
    ("", "Edit", "de", False),
    ("Insérer des tableaux", "Inserting Tables", "fr", True),
])
def test_translated_by_script_or_by_langid(text, en, lang, kept):
    assert translated(text, en, lang) is kept


def test_script_share_and_unknown_languages():
    assert script_share("표 ab", HANGUL) == 1 / 3 and script_share("1, 2", HANGUL) == 0.0
    assert {"ko", "ja", "de", "zh", "fr", "es", "ru", "vi"} <= set(LANGUAGES)
    with pytest.raises(LanguageError, match="known: ko, ja"):
        translated("x", "y", "xx")


@pytest.mark.parametrize(("text", "lang", "pair", "why"), [
    ("표 삽입", "ko", ("ko", "en"), None),
    ("Insert table", "ko", ("ko", "en"), "Korean text is not written in Hangul"),
    ("Insert 표", "en", ("ko", "en"), "English text contains Hangul"),
    ("表の挿入", "ja", ("ja", "en"), None),
    ("Insert table", "ja", ("ja", "en"), "Japanese text is not written in kana or kanji"),
    ("Insert テーブル", "en", ("ja", "en"), "English text contains kana or kanji"),
    ("Klicken Sie auf OK, um den Dialog zu schließen.", "en", ("de", "en"),
     "English text reads as German"),
    ("Click OK to close the dialog box.", "de", ("de", "en"), "German text reads as English"),
    ("Click OK to close the dialog box.", "en", ("de", "en"), None),
    ("Fett", "en", ("de", "en"), None),  # a word: langid is not sure, nothing fails
])
def test_wrong_language_by_script_or_by_langid(text, lang, pair, why):
    found = wrong_language(text, lang, Pair(*pair))
    assert found is None if why is None else found.startswith(why)


def test_jsonl_gz_is_byte_identical_on_rewrite(tmp_path):
    records = [{"b": "표", "a": 1}, {"a": 2, "b": "x"}]
    write_jsonl_gz(tmp_path / "one.jsonl.gz", records)
    write_jsonl_gz(tmp_path / "two.jsonl.gz", records)
    assert (tmp_path / "one.jsonl.gz").read_bytes() == (tmp_path / "two.jsonl.gz").read_bytes()
    assert [r for _, r in read_jsonl_gz(tmp_path / "one.jsonl.gz")] == records
