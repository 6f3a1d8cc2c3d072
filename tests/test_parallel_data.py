from __future__ import annotations

import gzip
import json

import pytest

from koen.config.languages import KO_EN
from koen.data.parallel import (
    DataError,
    build_passages,
    build_queries,
    corpus_rows,
    load_keywords,
    load_paragraphs,
    page_split,
    validate_corpus,
)
from koen.formats.tables import write_jsonl_gz

GOOD = {
    "page": "text/a.html",
    "id": "par_1",
    "kind": "p",
    "section": "hd_1",
    "ko": "표를 삽입합니다.",
    "en": "Inserts a table.",
}


def write(tmp_path, records, name="paragraphs.jsonl.gz"):
    path = tmp_path / name
    write_jsonl_gz(path, records)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        ({"ko": "Inserts a table."}, "Korean text is not written in Hangul"),
        ({"en": "표를 삽입합니다"}, "English text contains Hangul"),
        ({"ko": "  "}, "empty text"),
        ({"kind": "table"}, "unknown kind"),
        ({"en": None}, "missing or non-text field 'en'"),
    ],
)
def test_bad_raw_record_names_file_and_line(tmp_path, change, message):
    second = {**GOOD, "id": "par_2", **change}
    path = write(tmp_path, [GOOD, second])
    with pytest.raises(DataError, match=message) as err:
        load_paragraphs(path, KO_EN)
    assert f"{path}:2" in str(err.value)
    assert "text/a.html#par_2" in str(err.value)


def test_duplicate_raw_record_is_refused(tmp_path):
    path = write(tmp_path, [GOOD, GOOD])
    with pytest.raises(DataError, match="duplicate record, first at line 1"):
        load_paragraphs(path, KO_EN)


def test_malformed_json_line_is_refused(tmp_path):
    path = tmp_path / "paragraphs.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(ValueError, match=f"{path}:2: not valid JSON"):
        load_paragraphs(path, KO_EN)


def paragraphs():
    return [
        {
            "page": "a",
            "id": "hd_1",
            "kind": "h1",
            "section": "hd_1",
            "ko": "표 삽입",
            "en": "Inserting Tables",
        },
        {
            "page": "a",
            "id": "p_1",
            "kind": "p",
            "section": "hd_1",
            "ko": "표를 만드는 방법은 여러 가지입니다.",
            "en": "There are several ways to create a table.",
        },
        {
            "page": "a",
            "id": "p_2",
            "kind": "p",
            "section": "hd_1",
            "ko": "도구 모음을 사용합니다.",
            "en": "Use the toolbar to insert one.",
        },
        {
            "page": "b",
            "id": "hd_2",
            "kind": "h2",
            "section": "hd_2",
            "ko": "차트 편집",
            "en": "Editing Charts",
        },
        {
            "page": "b",
            "id": "p_3",
            "kind": "p",
            "section": "hd_2",
            "ko": "차트를 두 번 누릅니다.",
            "en": "Double-click the chart to edit it.",
        },
        # the same boilerplate on another page: dropped as a duplicate passage
        {
            "page": "c",
            "id": "p_4",
            "kind": "p",
            "section": "top",
            "ko": "차트를 두 번 누릅니다.",
            "en": "Double-click the chart to edit it.",
        },
    ]


def test_passages_group_a_section_and_cut_at_paragraph_boundary():
    passages = build_passages(paragraphs(), max_chars=60, min_chars=10, pair=KO_EN)
    assert [(p.page, p.section) for p in passages] == [("a", "hd_1"), ("b", "hd_2")]
    # the second paragraph would pass 60 characters
    assert passages[0].second == "There are several ways to create a table."
    assert passages[0].first == "표를 만드는 방법은 여러 가지입니다."
    longer = build_passages(paragraphs(), max_chars=200, min_chars=10, pair=KO_EN)
    assert longer[0].second.endswith("Use the toolbar to insert one.")
    assert longer[0].first.endswith("도구 모음을 사용합니다.")


def test_queries_are_headings_and_keywords_never_the_passage():
    passages = build_passages(paragraphs(), max_chars=200, min_chars=10, pair=KO_EN)
    keywords = [
        {
            "page": "a",
            "anchor": "bm_1",
            "position": 0,
            "section": "hd_1",
            "ko": "표, 삽입",
            "en": "tables, inserting",
        },
        {
            "page": "b",
            "anchor": "bm_2",
            "position": 0,
            "section": "top",
            "ko": "차트, 편집",
            "en": "charts, editing",
        },
    ]
    queries = build_queries(paragraphs(), keywords, passages, KO_EN)
    got = {(q.kind, q.second): q.relevant for q in queries}
    assert got == {
        ("heading", "Inserting Tables"): ("p00000",),
        ("heading", "Editing Charts"): ("p00001",),
        ("keyword", "tables, inserting"): ("p00000",),
        ("keyword", "charts, editing"): ("p00001",),
    }  # anchor outside a section: page
    texts = {t for p in passages for t in (p.first, p.second)}
    assert not any(q.first in texts or q.second in texts for q in queries)


def test_page_split_is_deterministic_and_follows_fractions():
    fractions = {"train": 0.7, "dev": 0.1, "test": 0.2}
    splits = [page_split(f"page{i}", 13, fractions) for i in range(2000)]
    assert splits == [page_split(f"page{i}", 13, fractions) for i in range(2000)]
    assert 0.15 < splits.count("test") / 2000 < 0.25
    assert splits != [page_split(f"page{i}", 14, fractions) for i in range(2000)]


def rows():
    passages = build_passages(paragraphs(), max_chars=200, min_chars=10, pair=KO_EN)
    return corpus_rows(passages, {"p00000": "train", "p00001": "test"}, KO_EN)


def test_validate_corpus_accepts_built_corpus():
    validate_corpus(rows(), "corpus", KO_EN)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda r: r[0].update(twin="p00001-en"), "misaligned twin"),
        (
            lambda r: r[1].update(split="test"),
            "twin p00000-en is on another page, section or split",
        ),
        (lambda r: r[3].update(text=r[1]["text"]), "duplicate text"),
        (lambda r: r[0].update(text="There is no Hangul"), "Korean text is not written in Hangul"),
        (lambda r: r[1].update(text="한국어 섞임 mixed"), "English text contains Hangul"),
        (lambda r: [x.update(page="a") for x in r], "is in two splits"),
    ],
)
def test_validate_corpus_names_the_bad_record(corrupt, message):
    r = rows()
    corrupt(r)
    with pytest.raises(DataError, match=message) as err:
        validate_corpus(r, "corpus", KO_EN)
    assert "corpus record p0000" in str(err.value)


def test_keywords_file_is_validated_too(tmp_path):
    bad = {
        "page": "a",
        "anchor": "bm_1",
        "position": 0,
        "section": "top",
        "ko": "charts",
        "en": "charts",
    }
    path = write(tmp_path, [bad], "keywords.jsonl.gz")
    with pytest.raises(DataError, match=r"keywords.jsonl.gz:1 \(a#bm_1/0\): Korean text"):
        load_keywords(path, KO_EN)
