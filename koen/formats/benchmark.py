"""A converted benchmark's folder, as the benchmark stages write it and every later stage reads it.

`<benchmark.out_dir>/<name>/` holds, whatever the source was:

- `corpus.parquet`: doc_id (`<sid>-<lang>`), sid, lang, page, section, split, text, twin (the
  doc_id of the same passage in the other language; "" where there is none)
- `queries.parquet`: qid, split, kind, and a column per language of the pair (`ko`, `en`; null
  where a query has no text in a language)
- `qrels.txt`: TREC `qid 0 doc_id relevance`
- `card.json`: languages of corpus and queries, the directions it measures, counts
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from koen.config.languages import Pair
from koen.errors import MissingError
from koen.formats.tables import DataError, read_table
from koen.formats.trec import Qrels, in_language, read_qrels

CORPUS, QUERIES, QRELS, CARD = "corpus.parquet", "queries.parquet", "qrels.txt", "card.json"


def read_card(bench_dir: Path) -> dict:
    """What a converted benchmark holds (its `card.json`)."""
    path = bench_dir / CARD
    if not path.is_file():
        raise MissingError(f"no benchmark at {bench_dir}: convert it first (dvc repro)")
    return json.loads(path.read_text(encoding="utf-8"))


Queries = dict[str, dict[str, str]]  # qid -> language -> text (the languages it has)


@dataclass
class Task:
    """What one benchmark asks: its judged queries, and the runs it can measure."""

    queries: Queries
    qrels: Qrels
    directions: list[str]  # of pair.directions: a query language with texts, a corpus language
    multi: bool  # a parallel benchmark: both languages in one pool
    pair: Pair

    @property
    def runs(self) -> list[str]:
        return [*self.directions, *(self.pair.multi if self.multi else ())]

    def texts(self, lang: str) -> dict[str, str]:
        """qid -> text of the queries that have one in `lang`."""
        return {q: t[lang] for q, t in self.queries.items() if lang in t}

    def query_lang(self, run: str) -> str:
        return self.pair.multi[run] if run in self.pair.multi else self.pair.directions[run][0]

    def pool(self, run: str) -> str:
        """The index a run searches: `multi`, or its document language."""
        return "multi" if run in self.pair.multi else self.pair.directions[run][1]

    def judged(self, direction: str) -> Qrels:
        """A direction's qrels: documents in its document language, queries that have a text
        in its query language."""
        lang, docs = self.pair.directions[direction]
        return {q: r for q, r in in_language(self.qrels, docs).items()
                if lang in self.queries[q]}


def check_languages(bench_dir: Path, card: dict, pair: Pair) -> None:
    """A benchmark converted for another pair fails, naming its languages and the key."""
    held = list(dict.fromkeys([*card["corpus_languages"], *card["query_languages"]]))
    if not set(held) <= set(pair.codes):
        raise DataError(f"{bench_dir}: the benchmark holds {', '.join(held)} text, not the "
                        f"languages [{pair.lang}, {pair.other}] of params.yaml's 'languages'; "
                        "give it the pair's languages or remove it from 'benchmarks'")


def load_task(bench_dir: Path, pair: Pair) -> Task:
    """A converted benchmark's judged queries in each language they have, and its runs."""
    card = read_card(bench_dir)
    check_languages(bench_dir, card, pair)
    qrels = read_qrels(bench_dir / QRELS)
    rows = {r["qid"]: {x: r[x] for x in pair.codes if r[x]}
            for r in read_table(bench_dir / QUERIES, ("qid", *pair.codes))}
    missing = sorted(set(qrels) - set(rows))
    if missing:
        raise DataError(f"{bench_dir / QUERIES}: no text for judged query {missing[0]}")
    return Task({q: rows[q] for q in sorted(qrels)}, qrels, card["directions"], card["multi"],
                pair)
