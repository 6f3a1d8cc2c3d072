"""A converted benchmark's folder, as the benchmark stages write it and every later stage reads it.

`<benchmark.out_dir>/<name>/` holds, whatever the source was:

- `corpus.parquet`: doc_id (`<sid>-<lang>`), sid, lang, page, section, split, text, twin (the
  doc_id of the same passage in the other language; "" where there is none)
- `queries.parquet`: qid, split, kind, ko, en (null where a query has no text in a language)
- `qrels.txt`: TREC `qid 0 doc_id relevance`
- `card.json`: languages of corpus and queries, the directions it measures, counts
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from koen.errors import MissingError
from koen.formats.tables import DataError, read_table
from koen.formats.trec import Qrels, in_language, read_qrels

LANGS = ("ko", "en")

CORPUS, QUERIES, QRELS, CARD = "corpus.parquet", "queries.parquet", "qrels.txt", "card.json"


def read_card(bench_dir: Path) -> dict:
    """What a converted benchmark holds (its `card.json`)."""
    path = bench_dir / CARD
    if not path.is_file():
        raise MissingError(f"no benchmark at {bench_dir}: convert it first (dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))


DIRECTIONS = {"en-ko": ("en", "ko"), "ko-en": ("ko", "en"),
              "ko-ko": ("ko", "ko"), "en-en": ("en", "en")}  # name: (query, documents)

MULTI = {"multi-ko": "ko", "multi-en": "en"}  # run name: query language

Queries = dict[str, dict[str, str]]  # qid -> language -> text (the languages it has)


@dataclass
class Task:
    """What one benchmark asks: its judged queries, and the runs it can measure."""

    queries: Queries
    qrels: Qrels
    directions: list[str]  # of DIRECTIONS: a query language with texts, a corpus language
    multi: bool  # a parallel benchmark: both languages in one pool

    @property
    def runs(self) -> list[str]:
        return [*self.directions, *(MULTI if self.multi else ())]

    def texts(self, lang: str) -> dict[str, str]:
        """qid -> text of the queries that have one in `lang`."""
        return {q: t[lang] for q, t in self.queries.items() if lang in t}

    def query_lang(self, run: str) -> str:
        return MULTI[run] if run in MULTI else DIRECTIONS[run][0]

    def judged(self, direction: str) -> Qrels:
        """A direction's qrels: documents in its document language, queries that have a text
        in its query language."""
        lang, docs = DIRECTIONS[direction]
        return {q: r for q, r in in_language(self.qrels, docs).items()
                if lang in self.queries[q]}


def load_task(bench_dir: Path) -> Task:
    """A converted benchmark's judged queries in each language they have, and its runs."""
    qrels = read_qrels(bench_dir / QRELS)
    rows = {r["qid"]: {x: r[x] for x in LANGS if r[x]}
            for r in read_table(bench_dir / QUERIES, ("qid", "ko", "en"))}
    missing = sorted(set(qrels) - set(rows))
    if missing:
        raise DataError(f"{bench_dir / QUERIES}: no text for judged query {missing[0]}")
    card = read_card(bench_dir)
    return Task({q: rows[q] for q in sorted(qrels)}, qrels, card["directions"], card["multi"])
