"""Benchmarks in this project's schema, converted from the layouts they ship in.

Every entry of params.yaml `benchmarks` is converted by its stage `benchmark@<name>` into
`<benchmark.out_dir>/<name>/`, which index and evaluate read whatever the source was:

- `corpus.parquet`: doc_id (`<sid>-<lang>`), sid, lang, page, section, split, text, twin (the
  doc_id of the same passage in the other language; "" where there is none)
- `queries.parquet`: qid, split, kind, a column per language of the pair (`languages`: ko, en
  by default; null where a query has no text in a language)
- `qrels.txt`: TREC `qid 0 doc_id relevance`
- `card.json`: languages of corpus and queries, the directions it measures, counts

A benchmark is *parallel* (every passage in both languages: all four directions and the Multi
pool) or *one-language* (its Mono direction, and CLIR from the other language where its queries
have text in it). Formats (`format`):

- `prepared`: a folder `prepare` wrote (corpus.parquet, queries.parquet, qrels.<split>.txt);
  the passages and judged queries of `split`.
- `beir`: a folder holding `ko/` and/or `en/` (the pair's codes), each a BEIR folder as BEIR
  and MTEB ship them: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`, `text`),
  qrels in `qrels/<split>.tsv` (BEIR: `query-id corpus-id score` with a header),
  `qrels/<split>.jsonl` or `qrels.jsonl` (MTEB's hub layout). A side may hold queries only (CLIR
  into the other side's corpus). Two corpora must share their ids, two query sets too.
- `belebele`: Belebele's configs of the pair (`kor_Hang` and `eng_Latn` for ko-en; the table in
  koen/config/languages.py), as `kor_Hang.jsonl` and `eng_Latn.jsonl` (data/belebele) or as
  `data/kor_Hang.jsonl` and `data/eng_Latn.jsonl` (the hub's facebook/belebele): passages
  keyed by FLORES link, a question's relevant document its passage; rows must align by (link,
  question number), and files listed with sha256 sums in the folder's README must match them.

Bad input fails before anything is written, naming file and line. A hub dataset is fetched into
the project first (`python -m koen.data.benchmarks fetch <hub id> --out <folder>`), so DVC
tracks its bytes like any other dependency.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset
from huggingface_hub import snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

from koen.config.languages import LANGUAGES, Pair
from koen.data.language_check import wrong_language
from koen.errors import KoenError
from koen.formats.benchmark import CARD, CORPUS, QRELS, QUERIES
from koen.formats.tables import DataError, jsonl, read_table
from koen.formats.trec import read_qrels
from koen.repro.atomic import atomic_dir, write_json
from koen.repro.provenance import files_digest

FORMATS = ("prepared", "beir", "belebele")


@dataclass
class Benchmark:
    """A benchmark in the project's schema, before it is written."""

    corpus: list[dict]
    queries: list[dict]
    qrels: list[tuple[str, str, int]]  # (qid, doc_id, relevance)
    pair: Pair

    def languages(self) -> tuple[list[str], list[str]]:
        """Languages of the corpus and of the queries, in the pair's order."""
        codes = self.pair.codes
        docs = {r["lang"] for r in self.corpus}
        queries = {lang for q in self.queries for lang in codes if q.get(lang)}
        return [x for x in codes if x in docs], [x for x in codes if x in queries]

    def parallel(self) -> bool:
        return all(r["twin"] for r in self.corpus) and len(self.languages()[0]) == 2

    def directions(self) -> list[str]:
        """`<query lang>-<doc lang>` pairs with at least one query that has text in the query
        language and a relevant document in the document language."""
        lang_of = {r["doc_id"]: r["lang"] for r in self.corpus}
        codes = self.pair.codes
        text = {q["qid"]: {x for x in codes if q.get(x)} for q in self.queries}
        found = {(q, lang_of[d]) for qid, d, rel in self.qrels if rel > 0 for q in text[qid]}
        return [f"{q}-{d}" for q in codes for d in codes if (q, d) in found]


def card(name: str, fmt: str, source: Path, b: Benchmark) -> dict:
    docs, queries = b.languages()
    return {"name": name, "format": fmt, "source": str(source), "corpus_languages": docs,
            "query_languages": queries, "parallel": b.parallel(), "directions": b.directions(),
            "multi": b.parallel(),
            "passages": {x: sum(r["lang"] == x for r in b.corpus) for x in docs},
            "queries": len(b.queries), "qrels": len(b.qrels)}


def write_benchmark(out: Path, name: str, fmt: str, source: Path, b: Benchmark) -> dict:
    """The benchmark under `out` (replaced atomically); returns its card."""
    info = card(name, fmt, source, b)
    with atomic_dir(out) as tmp:
        Dataset.from_list(b.corpus).to_parquet(str(tmp / CORPUS))
        Dataset.from_list(b.queries).to_parquet(str(tmp / QUERIES))
        (tmp / QRELS).write_text("".join(f"{q} 0 {d} {r}\n" for q, d, r in b.qrels))
        write_json(tmp / CARD, info)
    return info


def convert(fmt: str, source: Path, split: str, pair: Pair) -> Benchmark:
    if not source.is_dir():
        raise DataError(f"{source}: no such folder (benchmark source)")
    if fmt == "prepared":
        return from_prepared(source, split, pair)
    if fmt == "beir":
        return from_beir(source, split, pair)
    return from_belebele(source, pair)


def doc_row(sid: str, lang: str, text: str, twin: bool, page: str, split: str,
            pair: Pair) -> dict:
    other = pair.twin(lang)
    return {"doc_id": f"{sid}-{lang}", "sid": sid, "lang": lang, "page": page, "section": sid,
            "split": split, "text": text, "twin": f"{sid}-{other}" if twin else ""}


# --- prepared -------------------------------------------------------------------------------

def from_prepared(source: Path, split: str, pair: Pair) -> Benchmark:
    """The `split` of a folder `prepare` wrote, in corpus order (so its indexes are the ones the
    prepared data always gave)."""
    qrels_file = source / f"qrels.{split}.txt"
    corpus = [r for r in read_table(source / "corpus.parquet",
                                    ("doc_id", "sid", "lang", "page", "section", "split", "text",
                                     "twin")).to_list() if r["split"] == split]
    if not corpus:
        raise DataError(f"{source / 'corpus.parquet'}: no passages of split {split!r}")
    judged = read_qrels(qrels_file)
    queries = [r for r in read_table(source / "queries.parquet",
                                     ("qid", "split", "kind", *pair.codes)).to_list()
               if r["qid"] in judged]
    qrels = [(q, d, r) for q in sorted(judged) for d, r in judged[q].items()]
    check_qrels(qrels, {r["doc_id"] for r in corpus}, {q["qid"] for q in queries}, qrels_file)
    return Benchmark(corpus, queries, qrels, pair)


def check_qrels(qrels: list[tuple[str, str, int]], docs: set[str], queries: set[str],
                where: Path, lines: list[int] | None = None) -> None:
    """Every judgement names an existing query and document."""
    for i, (qid, doc, _) in enumerate(qrels):
        at = f"{where}:{lines[i] if lines else i + 1}"
        if qid not in queries:
            raise DataError(f"{at}: query {qid!r} is not among the queries")
        if doc not in docs:
            raise DataError(f"{at}: document {doc!r} is not in the corpus")


# --- BEIR -----------------------------------------------------------------------------------

def beir_texts(path: Path, with_title: bool) -> dict[str, tuple[str, int]]:
    """id -> (text, line) of a BEIR corpus or queries file (title and text joined)."""
    out: dict[str, tuple[str, int]] = {}
    for n, record in jsonl(path):
        rid, text = record.get("_id"), record.get("text")
        if not isinstance(rid, str | int) or rid == "":
            raise DataError(f"{path}:{n}: missing field '_id'")
        if not isinstance(text, str):
            raise DataError(f"{path}:{n} ({rid}): missing or non-text field 'text'")
        title = record.get("title") if with_title else None
        text = " ".join(x for x in (title, text) if isinstance(x, str) and x.strip()).strip()
        if not text:
            raise DataError(f"{path}:{n} ({rid}): empty text")
        if str(rid) in out:
            raise DataError(f"{path}:{n}: duplicate id {rid!r}, first at line {out[str(rid)][1]}")
        out[str(rid)] = (text, n)
    return out


def beir_qrels(side: Path, split: str) -> tuple[Path, list[tuple[str, str, int, int]]] | None:
    """(file, [(query id, corpus id, score, line)]) of one side, or None if it has none."""
    for path in (side / "qrels" / f"{split}.tsv", side / "qrels" / f"{split}.jsonl",
                 side / "qrels.jsonl"):
        if path.is_file():
            break
    else:
        return None
    rows = []
    if path.suffix == ".tsv":
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                parts = line.rstrip("\n").split("\t")
                if n == 1 and parts[0] == "query-id" or not line.strip():
                    continue
                if len(parts) != 3:
                    raise DataError(f"{path}:{n}: expected 3 tab-separated fields "
                                    f"`query-id corpus-id score`, got {len(parts)}")
                rows.append((parts[0], parts[1], _score(parts[2], path, n), n))
    else:
        for n, r in jsonl(path):
            missing = [k for k in ("query-id", "corpus-id", "score") if k not in r]
            if missing:
                raise DataError(f"{path}:{n}: missing field '{missing[0]}'")
            rows.append((str(r["query-id"]), str(r["corpus-id"]), _score(r["score"], path, n), n))
    return path, rows


def _score(value: object, path: Path, n: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise DataError(f"{path}:{n}: score {value!r} is not an integer") from None


def same_ids(a: dict[str, tuple[str, int]], b: dict[str, tuple[str, int]], file_a: Path,
             file_b: Path) -> None:
    """Two sides list the same ids; the first id of one missing from the other fails."""
    for ids, other, where, there in ((a, b, file_a, file_b), (b, a, file_b, file_a)):
        for rid, (_, line) in ids.items():
            if rid not in other:
                raise DataError(f"{where}:{line}: id {rid!r} has no counterpart in {there}; "
                                "the two languages' sides must share their ids")


def from_beir(source: Path, split: str, pair: Pair) -> Benchmark:
    a, b = codes = pair.codes
    sides = {lang: source / lang for lang in codes if (source / lang).is_dir()}
    others = sorted(d.name for d in source.iterdir() if d.is_dir() and d.name not in codes
                    and not d.name.startswith("."))
    if others:
        raise DataError(f"{source}: holds {others[0]}/, not a language of the pair "
                        f"[{a}, {b}] ('languages'); put each BEIR folder in {source}/{a} or "
                        f"{source}/{b}")
    if not sides:
        raise DataError(f"{source}: no {a}/ or {b}/ folder (each a BEIR folder: corpus.jsonl, "
                        "queries.jsonl, qrels/)")
    corpora = {x: beir_texts(d / "corpus.jsonl", True) for x, d in sides.items()
               if (d / "corpus.jsonl").is_file()}
    if not corpora:
        raise DataError(f"{source}: no corpus.jsonl in {' or '.join(map(str, sides.values()))}")
    queries = {}
    for lang, d in sides.items():
        if not (d / "queries.jsonl").is_file():
            raise DataError(f"{d / 'queries.jsonl'}: no such file")
        queries[lang] = beir_texts(d / "queries.jsonl", False)
    for texts, name in ((corpora, "corpus.jsonl"), (queries, "queries.jsonl")):
        if len(texts) == 2:
            same_ids(texts[a], texts[b], sides[a] / name, sides[b] / name)
    for lang, texts in corpora.items():
        check_script(lang, texts, sides[lang] / "corpus.jsonl", pair)
    judged = {}
    for lang in corpora:
        found = beir_qrels(sides[lang], split)
        if found is None:
            raise DataError(f"{sides[lang]}: no qrels (expected qrels/{split}.tsv, "
                            f"qrels/{split}.jsonl or qrels.jsonl)")
        judged[lang] = found
    if len(judged) == 2:
        (file_ko, ko), (file_en, en) = judged[a], judged[b]
        seen = {(q, d, s) for q, d, s, _ in ko}
        for q, d, s, n in en:
            if (q, d, s) not in seen:
                raise DataError(f"{file_en}:{n}: judgement ({q}, {d}, {s}) is not in {file_ko}; "
                                "the two sides' qrels must agree")
        if len(seen) != len({(q, d, s) for q, d, s, _ in en}):
            raise DataError(f"{file_ko}: has judgements that {file_en} lacks; the two sides' "
                            "qrels must agree")
    qfile, rows = next(iter(judged.values()))
    parallel = len(corpora) == 2
    first = next(iter(corpora.values()))
    for q, d, _, n in rows:
        if d not in first:
            raise DataError(f"{qfile}:{n}: document {d!r} is not in the corpus")
        if not any(q in texts for texts in queries.values()):
            raise DataError(f"{qfile}:{n}: query {q!r} is not among the queries")
    corpus = [doc_row(sid, lang, text, parallel, source.name, "test", pair)
              for sid in first for lang in codes if lang in corpora
              for text in [corpora[lang][sid][0]]]
    relevant = {q for q, _, _, _ in rows}
    qids = [q for q in dict.fromkeys(q for texts in queries.values() for q in texts)
            if q in relevant]
    query_rows = [{"qid": q, "split": "test", "kind": "query",
                   **{x: queries[x][q][0] if x in queries and q in queries[x] else None
                      for x in codes}} for q in qids]
    qrels = [(q, f"{d}-{lang}", s) for q, d, s, _ in rows for lang in codes if lang in corpora]
    return Benchmark(corpus, query_rows, qrels, pair)


def check_script(lang: str, texts: dict[str, tuple[str, int]], path: Path, pair: Pair) -> None:
    """A side named after a language in its own script (ko: Korean) holds some text in it; a
    side in Latin script holds no text in the other language (en: no Hangul; where both are Latin,
    none py3langid is sure is the other): sides swapped fail."""
    language = LANGUAGES[lang]
    if language.letters is not None:
        if all(wrong_language(t, lang, pair) for t, _ in texts.values()):
            raise DataError(f"{path}: no {language.name} text in a side named {lang}")
        return
    for rid, (text, line) in texts.items():
        if why := wrong_language(text, lang, pair):
            raise DataError(f"{path}:{line} ({rid}): {why}: {text[:60]!r}")


# --- Belebele -------------------------------------------------------------------------------

def _sid(key: str) -> str:
    return "b" + hashlib.sha1(key.encode()).hexdigest()[:10]


def belebele_configs(pair: Pair) -> dict[str, str]:
    """Language code -> Belebele config (`ko` -> `kor_Hang`)."""
    return {code: LANGUAGES[code].belebele for code in pair.codes}


def belebele_file(source: Path, config: str) -> Path:
    """A config's JSON-lines file: `<config>.jsonl` (this repository's copy) or
    `data/<config>.jsonl` (the layout of the hub's facebook/belebele)."""
    places = [source / f"{config}.jsonl", source / "data" / f"{config}.jsonl"]
    found = [p for p in places if p.is_file()]
    if not found:
        raise DataError(f"{source}: no {config} data (looked for "
                        f"{' and '.join(str(p) for p in places)}: a copy in this repository's "
                        "layout or in the hub's); fetch it with `python -m koen.data.benchmarks "
                        f"fetch facebook/belebele --out {source} --include data/{config}.jsonl`")
    if len(found) > 1:
        raise DataError(f"{source}: holds both {found[0]} and {found[1]}; keep one")
    return found[0]


def check_local_copy(source: Path, configs: dict[str, str]) -> dict[str, Path]:
    """A local copy holds both configs, and matches the sha256 sums its README lists."""
    files = {config: belebele_file(source, config) for config in configs.values()}
    readme = source / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", text, re.MULTILINE):
        if files_digest(source / name) != digest:
            raise DataError(f"{source / name}: sha256 differs from the one in {readme}")
    return files


def belebele_rows(source: Path, pair: Pair) -> dict[str, dict[tuple[str, int], dict]]:
    """Rows per language, keyed by (link, question number), checked to align."""
    configs = belebele_configs(pair)
    files = check_local_copy(source, configs)
    rows: dict[str, dict[tuple[str, int], dict]] = {}
    for lang, config in configs.items():
        path = files[config]
        rows[lang] = {}
        for line, row in jsonl(path):
            missing = [k for k in ("link", "question_number", "flores_passage", "question")
                       if k not in row]
            if missing:
                raise DataError(f"{path}:{line}: missing field {missing[0]!r}")
            key = (row["link"], int(row["question_number"]))
            if key in rows[lang]:
                raise DataError(f"{path}:{line}: duplicate question {key}")
            rows[lang][key] = row
    for lang in pair.codes:
        other = pair.twin(lang)
        extra = sorted(rows[lang].keys() - rows[other].keys())
        if extra:
            raise DataError(f"{source}: {configs[lang]} has question {extra[0]} that "
                            f"{configs[other]} lacks; rows must align by (link, "
                            "question_number)")
    return rows


def from_belebele(source: Path, pair: Pair) -> Benchmark:
    """Passages keyed by FLORES link, questions keyed by (link, question number)."""
    rows = belebele_rows(source, pair)
    a, b = pair.codes
    passages: dict[str, dict[str, str]] = {}
    for lang, by_key in rows.items():
        for (link, _), row in by_key.items():
            text = passages.setdefault(_sid(link), {}).setdefault(lang, row["flores_passage"])
            if text != row["flores_passage"]:
                raise DataError(f"{source} {belebele_configs(pair)[lang]}: two passages for link "
                                f"{link}")
    corpus = [doc_row(sid, lang, texts[lang], True, "belebele", "test", pair)
              for sid, texts in passages.items() for lang in pair.codes]
    queries = [{"qid": f"{_sid(link)}q{n}", "split": "test", "kind": "question",
                a: rows[a][(link, n)]["question"], b: rows[b][(link, n)]["question"]}
               for link, n in sorted(rows[a])]
    qrels = [(q["qid"], f"{q['qid'].rsplit('q', 1)[0]}-{lang}", 1)
             for q in queries for lang in pair.codes]
    return Benchmark(corpus, queries, qrels, pair)


# --- command line ---------------------------------------------------------------------------

def fetch(repo: str, out: Path, include: list[str] | None) -> Path:
    """A Hugging Face dataset repository's files, as the hub holds them, under `out`."""
    try:
        path = snapshot_download(repo, repo_type="dataset", local_dir=str(out),
                                 allow_patterns=include or None)
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as err:
        raise KoenError(f"fetch: could not download {repo} from the Hugging Face hub "
                         f"({type(err).__name__}); is the hub reachable (HF_HUB_OFFLINE "
                         "unset)?") from None
    return Path(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m koen.data.benchmarks",
                                     description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="copy a Hugging Face dataset into the project, to "
                                            "name as a benchmark's source")
    get.add_argument("repo", help="dataset id, e.g. facebook/belebele")
    get.add_argument("--out", type=Path, required=True, help="folder to write")
    get.add_argument("--include", nargs="*", help="only these files (glob patterns on the "
                                                  "hub's paths), e.g. 'data/kor_Hang.jsonl' "
                                                  "'data/eng_Latn.jsonl' README.md")
    args = parser.parse_args(argv)
    print(f"{args.repo} -> {fetch(args.repo, args.out, args.include)}")


if __name__ == "__main__":
    main()
