"""A user's own training data (`prepare.source`), read and checked like the help text.

`parallel`: a folder with
- `passages.jsonl` (or `.parquet`): `id`, a text per language of the pair (`ko`, `en` by
  default: the codes of `languages`), and optionally `group` (what a split keeps together, e.g.
  a document; default: the passage itself);
- `queries.jsonl` (or `.parquet`): `id`, `ko`, `en`;
- `qrels.tsv`: `query-id<TAB>corpus-id<TAB>score` (BEIR's; a header line is allowed), a score
  above 0 marking a passage relevant.
`prepare` then splits it by group without leaks and mines BM25 hard negatives, as for the help.

`triplets`: a file (or a folder holding `triplets.jsonl` / `.parquet`) of ready triplets with
`query_ko`, `query_en`, `pos_ko`, `pos_en`, `neg_ko`, `neg_en`: every element in both languages,
so any composition can be drawn. All of them are training data.

Every record is checked (both texts present, each in its language: Korean in Hangul, English
without Hangul; for two Latin-script languages by py3langid; no duplicate id) and a bad one
fails naming file, line and what is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from datasets import Dataset

from koen.config.languages import Pair
from koen.data.parallel import Passage, Query, check_pair
from koen.formats.tables import DataError, jsonl, triplet_columns


def records(path: Path) -> Iterator[tuple[str, dict]]:
    """(where, record) of a JSON-lines or Parquet file; `where` is `file:line` (`file row N`)."""
    if path.suffix == ".parquet":
        try:
            rows = Dataset.from_parquet(str(path)).to_list()
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"{path}: not a readable Parquet file: {err}") from None
        for n, row in enumerate(rows, 1):
            yield f"{path} row {n}", row
        return
    for n, record in jsonl(path):
        yield f"{path}:{n}", record


def find(folder: Path, stem: str) -> Path:
    """`<stem>.jsonl` or `<stem>.parquet` in `folder`."""
    for suffix in (".jsonl", ".parquet"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    raise DataError(f"{folder}: no {stem}.jsonl or {stem}.parquet (prepare.data; see "
                    "docs/own-data.md)")


def text_fields(where: str, record: dict, fields: tuple[str, ...]) -> None:
    for name in fields:
        if not isinstance(record.get(name), str):
            raise DataError(f"{where}: missing or non-text field '{name}'")


def parallel_records(path: Path, kind: str, pair: Pair) -> dict[str, tuple[dict, str]]:
    """id -> (record, where) of a passages or queries file, checked."""
    out: dict[str, tuple[dict, str]] = {}
    for where, record in records(path):
        rid = record.get("id")
        if not isinstance(rid, str | int) or rid == "":
            raise DataError(f"{where}: missing field 'id'")
        rid = str(rid)
        text_fields(f"{where} ({rid})", record, pair.codes)
        if rid in out:
            raise DataError(f"{where}: duplicate {kind} id {rid!r}, first at {out[rid][1]}")
        check_pair(f"{where} ({rid})", record[pair.lang], record[pair.other], pair)
        out[rid] = (record, where)
    return out


def qrels_tsv(path: Path, passages: dict, queries: dict) -> dict[str, list[str]]:
    """query id -> relevant passage ids, every line naming an existing query and passage."""
    if not path.is_file():
        raise DataError(f"{path}: no such file (the qrels of prepare.data; see docs/own-data.md)")
    relevant: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if not line.strip() or (n == 1 and parts[0] == "query-id"):
                continue
            if len(parts) != 3:
                raise DataError(f"{path}:{n}: expected 3 tab-separated fields `query-id "
                                f"corpus-id score`, got {len(parts)}")
            qid, pid, score = parts
            if qid not in queries:
                raise DataError(f"{path}:{n}: query {qid!r} is not in the queries")
            if pid not in passages:
                raise DataError(f"{path}:{n}: passage {pid!r} is not in the passages")
            try:
                if int(score) > 0:
                    relevant.setdefault(qid, []).append(pid)
            except ValueError:
                raise DataError(f"{path}:{n}: score {score!r} is not an integer") from None
    if not relevant:
        raise DataError(f"{path}: no query has a relevant passage")
    return relevant


def parallel_collection(folder: Path, pair: Pair) -> tuple[list[Passage], list[Query]]:
    """The passages and judged queries of a user's parallel collection."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (prepare.data, source parallel)")
    passages = parallel_records(find(folder, "passages"), "passage", pair)
    queries = parallel_records(find(folder, "queries"), "query", pair)
    relevant = qrels_tsv(folder / "qrels.tsv", passages, queries)
    out = []
    for pid, (r, where) in passages.items():
        group = r.get("group", pid)
        if not isinstance(group, str | int):
            raise DataError(f"{where} ({pid}): field 'group' must be text")
        out.append(Passage(pid, str(group), pid, r[pair.lang], r[pair.other]))
    judged = [Query(qid, "query", r[pair.lang], r[pair.other], tuple(relevant[qid]))
              for qid, (r, _) in queries.items() if qid in relevant]
    return out, judged


def _id(prefix: str, text: str) -> str:
    return prefix + hashlib.sha1(text.encode()).hexdigest()[:10]


def user_triplets(data: Path, pair: Pair) -> tuple[list[dict], list[Passage], list[Query]]:
    """Ready triplets, checked, with ids; and the passages and queries they hold (all train)."""
    path = find(data, "triplets") if data.is_dir() else data
    if not path.is_file():
        raise DataError(f"{path}: no such file (prepare.data, source triplets)")
    triplets: list[dict] = []
    passages: dict[str, Passage] = {}
    queries: dict[str, Query] = {}
    seen: dict[tuple, str] = {}
    fields = triplet_columns(pair)
    a, b = pair.codes
    for where, r in records(path):
        text_fields(where, r, fields)
        for part in ("query", "pos", "neg"):
            check_pair(f"{where} ({part})", r[f"{part}_{a}"], r[f"{part}_{b}"], pair)
        key = tuple(r[f] for f in fields)
        if key in seen:
            raise DataError(f"{where}: duplicate triplet, first at {seen[key]}")
        seen[key] = where
        qid, pos, neg = (_id("q", r[f"query_{b}"]), _id("p", r[f"pos_{b}"]),
                         _id("p", r[f"neg_{b}"]))
        if pos == neg:
            raise DataError(f"{where}: the negative is the positive")
        for sid, part in ((pos, "pos"), (neg, "neg")):
            passages.setdefault(sid, Passage(sid, sid, sid, r[f"{part}_{a}"], r[f"{part}_{b}"]))
        q = queries.get(qid)
        relevant = tuple(dict.fromkeys([*(q.relevant if q else ()), pos]))
        queries[qid] = Query(qid, "query", r[f"query_{a}"], r[f"query_{b}"], relevant)
        triplets.append({"qid": qid, "pos": pos, "neg": neg, **{f: r[f] for f in fields}})
    if not triplets:
        raise DataError(f"{path}: no triplets")
    return triplets, list(passages.values()), list(queries.values())
