"""Build the parallel retrieval data of the pair (`languages`: Korean-English by default) from the
aligned help text.

- Passage: the paragraphs of one help-page section (between two headings), joined up to a
  maximum length (of the second language's text) at a paragraph boundary; its versions in the
  two languages are twins.
- Query: a section heading (relevant: that section's passage, which never contains the heading)
  or an index keyword (relevant: the section its anchor points to). Same qid in both languages.
- Split: by help page, so no page and no twin is in two splits.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from koen.config.languages import Pair, help_text_dir
from koen.config.schema import SPLITS
from koen.data.language_check import wrong_language
from koen.formats.tables import DataError, read_jsonl_gz

KINDS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass(frozen=True)
class Passage:
    sid: str
    page: str
    section: str
    first: str  # the text in the pair's first language (Korean)
    second: str  # in its second (English)

    def text(self, lang: str, pair: Pair) -> str:
        return in_language(self, lang, pair)


@dataclass(frozen=True)
class Query:
    qid: str
    kind: str  # heading | keyword
    first: str
    second: str
    relevant: tuple[str, ...]  # passage sids

    def text(self, lang: str, pair: Pair) -> str:
        return in_language(self, lang, pair)


def in_language(x: Passage | Query, lang: str, pair: Pair) -> str:
    """A passage's or query's text in language `lang` of the pair."""
    if lang not in pair.codes:
        raise ValueError(f"{lang!r} is not a language of the pair {pair.name}")
    return x.first if lang == pair.lang else x.second


def doc_id(sid: str, lang: str) -> str:
    return f"{sid}-{lang}"


def check_text(where: str, text: str, lang: str, pair: Pair, identify: bool = True) -> None:
    """Fail unless `text` is a non-empty text in language `lang` of the pair (`identify`: see
    `wrong_language`)."""
    if not text.strip():
        raise DataError(f"{where}: empty text")
    if why := wrong_language(text, lang, pair, identify):
        raise DataError(f"{where}: {why}: {text[:60]!r}")


def check_pair(where: str, first: str, second: str, pair: Pair) -> None:
    """Fail unless the two look like a text in the pair's first language (Korean) and its
    translation in the second (English)."""
    check_text(where, first, pair.lang, pair)
    check_text(where, second, pair.other, pair)


def load_records(path: Path, fields: tuple[str, ...], pair: Pair) -> list[dict]:
    """Read a raw JSONL.gz file, checking fields, scripts and duplicate keys per record."""
    records, seen = [], {}
    for n, rec in read_jsonl_gz(path):
        key = (rec.get("page"), rec.get("id") or f"{rec.get('anchor')}/{rec.get('position')}")
        where = f"{path}:{n} ({key[0]}#{key[1]})"
        missing = [f for f in fields if not isinstance(rec.get(f), str)]
        if missing and missing[0] in pair.codes and missing[0] not in rec:  # another pair's
            held = [c for c in rec if c not in (*fields, "position")]
            raise DataError(f"{where}: no '{missing[0]}' text: the file holds "
                            f"{'/'.join(held) or 'no language'} text, not the pair "
                            f"[{pair.lang}, {pair.other}] of 'languages'; point prepare.data "
                            f"at the pair's text ({help_text_dir(pair.lang)} for the help)")
        if missing:
            raise DataError(f"{where}: missing or non-text field '{missing[0]}'")
        if key in seen:
            raise DataError(f"{where}: duplicate record, first at line {seen[key]}")
        seen[key] = n
        if "kind" in rec and rec["kind"] not in KINDS:
            raise DataError(f"{where}: unknown kind {rec['kind']!r}")
        check_pair(where, rec[pair.lang], rec[pair.other], pair)
        records.append(rec)
    return records


def load_paragraphs(path: Path, pair: Pair) -> list[dict]:
    return load_records(path, ("page", "id", "kind", "section", *pair.codes), pair)


def load_keywords(path: Path, pair: Pair) -> list[dict]:
    return load_records(path, ("page", "anchor", "section", *pair.codes), pair)


def build_passages(paragraphs: Iterable[dict], max_chars: int, min_chars: int,
                   pair: Pair) -> list[Passage]:
    """One passage per section; texts seen before (boilerplate repeated across pages) dropped."""
    sections: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in paragraphs:
        if p["kind"] == "p":
            sections[(p["page"], p["section"])].append(p)
    passages: list[Passage] = []
    seen: set[str] = set()
    a, b = pair.codes
    for (page, section), paras in sections.items():
        firsts, seconds = [paras[0][a]], [paras[0][b]]
        for p in paras[1:]:
            if len(" ".join(seconds)) + len(p[b]) + 1 > max_chars:
                break
            firsts.append(p[a])
            seconds.append(p[b])
        first, second = " ".join(firsts), " ".join(seconds)
        if len(second) < min_chars or first in seen or second in seen:
            continue
        seen.update((first, second))
        passages.append(Passage(f"p{len(passages):05d}", page, section, first, second))
    return passages


def build_queries(
    paragraphs: Iterable[dict], keywords: Iterable[dict], passages: list[Passage], pair: Pair
) -> list[Query]:
    """Headings and index keywords as parallel queries; a text used twice is merged or dropped."""
    by_section = {(p.page, p.section): p.sid for p in passages}
    first_of_page: dict[str, str] = {}
    for p in passages:
        first_of_page.setdefault(p.page, p.sid)
    a, b = pair.codes
    candidates: list[tuple[str, str, str, str]] = []  # kind, first, second, sid
    for h in paragraphs:
        sid = by_section.get((h["page"], h["id"]))
        if h["kind"] != "p" and sid:
            candidates.append(("heading", h[a], h[b], sid))
    for k in keywords:
        sid = by_section.get((k["page"], k["section"])) or first_of_page.get(k["page"])
        if sid:
            candidates.append(("keyword", k[a], k[b], sid))

    passage_texts = {t for p in passages for t in (p.first, p.second)}
    groups: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for c in candidates:
        if c[1] not in passage_texts and c[2] not in passage_texts:
            groups[c[2].casefold()].append(c)
    first_owner: dict[str, int] = defaultdict(int)
    for group in groups.values():
        first_owner[group[0][1]] += 1
    queries = []
    for group in groups.values():
        kind, first, second, _ = group[0]
        if first_owner[first] > 1:  # one Korean text for two English queries: ambiguous, drop
            continue
        relevant = tuple(dict.fromkeys(c[3] for c in group))
        queries.append(Query(f"q{len(queries):05d}", kind, first, second, relevant))
    return queries


def page_split(page: str, seed: int, fractions: dict[str, float]) -> str:
    """Deterministic split of a help page from a hash of (seed, page)."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{page}".encode()).digest()[:8], "big") / 2**64
    acc = 0.0
    for name in SPLITS:
        acc += fractions[name]
        if h < acc:
            return name
    return SPLITS[-1]


def assign_splits(
    passages: list[Passage], queries: list[Query], seed: int, fractions: dict[str, float]
) -> tuple[dict[str, str], list[tuple[str, Query]]]:
    """Split of every passage, and (split, query) with relevant passages of that split only."""
    split_of = {p.sid: page_split(p.page, seed, fractions) for p in passages}
    placed = []
    for q in queries:
        split = split_of[q.relevant[0]]
        relevant = tuple(s for s in q.relevant if split_of[s] == split)
        placed.append((split, Query(q.qid, q.kind, q.first, q.second, relevant)))
    return split_of, placed


def sample(items: list, n: int, seed: int) -> list:
    """`n` items drawn without replacement, in their original order (all if fewer)."""
    if n >= len(items):
        return list(items)
    keep = set(random.Random(seed).sample(range(len(items)), n))
    return [x for i, x in enumerate(items) if i in keep]


def corpus_rows(passages: list[Passage], split_of: dict[str, str], pair: Pair) -> list[dict]:
    rows = []
    for p in passages:
        for lang in pair.codes:
            other = pair.twin(lang)
            rows.append(
                {
                    "doc_id": doc_id(p.sid, lang),
                    "sid": p.sid,
                    "lang": lang,
                    "page": p.page,
                    "section": p.section,
                    "split": split_of[p.sid],
                    "text": p.text(lang, pair),
                    "twin": doc_id(p.sid, other),
                }
            )
    return rows


def validate_corpus(rows: list[dict], where: str, pair: Pair) -> None:
    """Twins aligned both ways, right script, no empty or duplicate text, no page in two splits.
    The passages are joined from records whose language was checked when read: here by script
    alone (py3langid calls technical German passages of English API names English)."""
    by_id = {}
    for r in rows:
        rid = f"{where} record {r['doc_id']} ({r['page']})"
        if r["doc_id"] in by_id:
            raise DataError(f"{rid}: duplicate doc_id")
        by_id[r["doc_id"]] = r
        check_text(rid, r["text"], r["lang"], pair, identify=False)
    texts: dict[str, str] = {}
    page_split_of: dict[str, str] = {}
    for r in rows:
        rid = f"{where} record {r['doc_id']} ({r['page']})"
        twin = by_id.get(r["twin"])
        if twin is None or twin["twin"] != r["doc_id"] or twin["lang"] == r["lang"]:
            raise DataError(f"{rid}: misaligned twin {r['twin']!r}")
        if (twin["page"], twin["section"], twin["split"]) != (r["page"], r["section"], r["split"]):
            raise DataError(f"{rid}: twin {r['twin']} is on another page, section or split")
        if r["text"] in texts:
            raise DataError(f"{rid}: duplicate text, also in {texts[r['text']]}")
        texts[r["text"]] = r["doc_id"]
        first = page_split_of.setdefault(r["page"], r["split"])
        if first != r["split"]:
            raise DataError(f"{rid}: page {r['page']} is in two splits ({first}, {r['split']})")
