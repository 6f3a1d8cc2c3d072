from __future__ import annotations

from koen.data.helpdocs import extract
from koen.formats.tables import read_jsonl_gz, write_jsonl_gz


def test_extract_aligns_by_element_id_and_drops_untranslated(fixtures):
    paragraphs, keywords = extract(fixtures / "help/ko", fixtures / "help/en")
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
    _, keywords = extract(fixtures / "help/ko", fixtures / "help/en")
    assert [(k["anchor"], k["position"], k["ko"], k["en"]) for k in keywords] == [
        ("bm_id100", 0, "표, 텍스트 표 삽입", "tables, inserting text tables"),
        ("bm_id100", 1, "DDE, 표 삽입", "DDE, inserting tables"),
    ]
    assert {k["section"] for k in keywords} == {"hd_id100"}


def test_jsonl_gz_is_byte_identical_on_rewrite(tmp_path):
    records = [{"b": "표", "a": 1}, {"a": 2, "b": "x"}]
    write_jsonl_gz(tmp_path / "one.jsonl.gz", records)
    write_jsonl_gz(tmp_path / "two.jsonl.gz", records)
    assert (tmp_path / "one.jsonl.gz").read_bytes() == (tmp_path / "two.jsonl.gz").read_bytes()
    assert [r for _, r in read_jsonl_gz(tmp_path / "one.jsonl.gz")] == records
