"""Training data are params (docs/own-data.md): a parallel collection is split by group without
leaks and gets BM25 hard negatives; ready triplets are checked and used whole; bad records fail
naming file and line, before anything is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from datasets import Dataset
from tiny_data import PARAMS
from tiny_models import WORDS

from koen.config.languages import KO_EN
from koen.config.parse import parse
from koen.config.schema import PrepareParams
from koen.data.prepare import prepare
from koen.formats.tables import DataError
from koen.formats.trec import read_qrels
from koen.training.examples import draw

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KO, EN = WORDS[:15], WORDS[15:30]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


@pytest.fixture
def collection(tmp_path) -> Path:
    """30 parallel passages in 10 groups of 3; query i asks for passage i (two of its words)."""
    folder = tmp_path / "mydata"
    idx = [(i % 15, (i * 4 + 1) % 15, (i * 7 + 3) % 15) for i in range(30)]
    write_jsonl(folder / "passages.jsonl", [
        {"id": f"p{i}", "group": f"doc{i // 3}", "ko": " ".join(KO[j] for j in w) + f" {i}",
         "en": "the " + " ".join(EN[j] for j in w) + f" {i}"} for i, w in enumerate(idx)])
    write_jsonl(folder / "queries.jsonl", [
        {"id": f"q{i}", "ko": " ".join(KO[j] for j in w[:2]),
         "en": "how do i " + " ".join(EN[j] for j in w[:2])} for i, w in enumerate(idx)])
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                      + "".join(f"q{i}\tp{i}\t1\n" for i in range(30)))
    return folder


def params(tmp_path: Path, source: str, data: Path, **kw: object) -> PrepareParams:
    values = {**PARAMS["prepare"], "source": source, "data": str(data),
              "out": str(tmp_path / "prepared"), "card": str(tmp_path / "data.json"),
              "test_queries": 100, "dev_queries": 100, "train_triplets": 100,
              "split": {"train": 0.6, "dev": 0.2, "test": 0.2}, **kw}
    return parse(PrepareParams, values, "prepare")


def test_a_parallel_collection_is_split_by_group_and_mined_for_negatives(tmp_path, collection):
    card = prepare(params(tmp_path, "parallel", collection), 13, KO_EN)
    out = tmp_path / "prepared"
    corpus = Dataset.from_parquet(str(out / "corpus.parquet")).to_list()
    groups = {}
    for r in corpus:
        groups.setdefault(r["page"], set()).add(r["split"])
    assert all(len(s) == 1 for s in groups.values())  # no group in two splits
    split_of = {r["sid"]: r["split"] for r in corpus}
    for split in ("train", "dev", "test"):
        for qid, docs in read_qrels(out / f"qrels.{split}.txt").items():
            assert all(split_of[d.rsplit("-", 1)[0]] == split for d in docs), qid
    triplets = Dataset.from_parquet(str(out / "triplets.parquet")).to_list()
    assert triplets and all(split_of[t["pos"]] == split_of[t["neg"]] == "train"
                            for t in triplets)
    assert all(t["neg"] != t["pos"] for t in triplets)
    assert card["source"] == "parallel" and card["license"] == f"see {collection}"
    assert card["triplets"] == len(triplets)
    assert len(draw(triplets, "koenen", 4, 13, KO_EN)) == 4  # any composition can be drawn


def test_ready_triplets_are_the_training_data_and_their_passages_the_train_corpus(tmp_path):
    source = FIXTURES / "triplets.jsonl"
    card = prepare(params(tmp_path, "triplets", source), 13, KO_EN)
    out = tmp_path / "prepared"
    triplets = Dataset.from_parquet(str(out / "triplets.parquet")).to_list()
    assert len(triplets) == card["triplets"] == 48
    lines = [json.loads(x) for x in source.read_text().splitlines()]
    assert [t["pos_en"] for t in triplets] == [r["pos_en"] for r in lines]
    corpus = Dataset.from_parquet(str(out / "corpus.parquet"))
    assert set(corpus["split"]) == {"train"} and corpus.num_rows == 2 * 96
    assert (out / "qrels.test.txt").read_text() == ""  # no test split in a triplet file
    assert card["splits"]["train"]["queries"] > 0 and card["source"] == "triplets"


def damaged(tmp_path: Path, collection: Path, name: str, line: int, change) -> Path:  # noqa: ANN001
    copy = tmp_path / "damaged"
    shutil.copytree(collection, copy)
    path = copy / name
    rows = path.read_text().splitlines()
    rows[line - 1] = change(rows[line - 1])
    path.write_text("\n".join(rows) + "\n")
    return copy


@pytest.mark.parametrize(("name", "line", "change", "message"), [
    ("passages.jsonl", 3, lambda x: x.replace('"ko"', '"kr"'),
     r"passages.jsonl:3 \(p2\): missing or non-text field 'ko'"),
    ("passages.jsonl", 4, lambda x: x.replace('"p3"', '"p1"'),
     r"passages.jsonl:4: duplicate passage id 'p1', first at .*passages.jsonl:2"),
    ("passages.jsonl", 2, lambda x: x.replace('"en": "the', '"en": "표'),
     r"passages.jsonl:2 \(p1\): English text contains Hangul"),
    ("queries.jsonl", 5, lambda x: json.dumps({**json.loads(x), "ko": "insert a table"}),
     r"queries.jsonl:5 \(q4\): Korean text is not written in Hangul"),
    ("queries.jsonl", 2, lambda x: x[:-3], r"queries.jsonl:2: not valid JSON"),
    ("qrels.tsv", 4, lambda x: x.replace("p2", "p99"),
     r"qrels.tsv:4: passage 'p99' is not in the passages"),
    ("qrels.tsv", 6, lambda x: x.replace("q4", "q99"),
     r"qrels.tsv:6: query 'q99' is not in the queries"),
    ("qrels.tsv", 7, lambda x: x.replace("\t1", ""),
     r"qrels.tsv:7: expected 3 tab-separated fields"),
])
def test_bad_collection_records_fail_naming_file_and_line(tmp_path, collection, name, line,
                                                          change, message):
    copy = damaged(tmp_path, collection, name, line, change)
    with pytest.raises(DataError, match=message):
        prepare(params(tmp_path, "parallel", copy), 13, KO_EN)
    assert not (tmp_path / "prepared").exists() and not (tmp_path / "data.json").exists()


def test_a_missing_qrels_file_and_bad_triplets_fail_before_any_work(tmp_path, collection):
    (collection / "qrels.tsv").unlink()
    with pytest.raises(DataError, match=r"mydata/qrels.tsv: no such file"):
        prepare(params(tmp_path, "parallel", collection), 13, KO_EN)
    rows = [json.loads(x) for x in (FIXTURES / "triplets.jsonl").read_text().splitlines()]
    for i, (change, message) in enumerate([
            ({"neg_en": None}, r"triplets.jsonl:3: missing or non-text field 'neg_en'"),
            ({"pos_ko": "insert"}, r"triplets.jsonl:3 \(pos\): Korean text is not written"),
            ({"neg_ko": rows[2]["pos_ko"], "neg_en": rows[2]["pos_en"]},
             r"triplets.jsonl:3: the negative is the positive")]):
        bad = write_jsonl(tmp_path / f"t{i}" / "triplets.jsonl",
                          [*rows[:2], {**rows[2], **change}, *rows[3:]])
        with pytest.raises(DataError, match=message):
            prepare(params(tmp_path, "triplets", bad.parent), 13, KO_EN)
    bad = write_jsonl(tmp_path / "dup" / "triplets.jsonl", [*rows, rows[0]])
    with pytest.raises(DataError, match=r"triplets.jsonl:49: duplicate triplet, first at "
                                        r".*triplets.jsonl:1"):
        prepare(params(tmp_path, "triplets", bad), 13, KO_EN)
    assert not (tmp_path / "prepared").exists()
