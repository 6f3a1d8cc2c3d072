"""Public Korean-English benchmarks, for machines that reach the Hugging Face hub.

Each loader turns a benchmark into this project's prepared-data schema (the one `prepare`
writes), so indexing and evaluation run on it unchanged: `corpus.parquet` (doc_id `<sid>-ko` /
`<sid>-en`, parallel twins), `queries.parquet` (one qid, Korean and English text) and
`qrels.test.txt`.

- `belebele`: FLORES passages with their questions (`facebook/belebele`, configs `kor_Hang` and
  `eng_Latn`); a question's relevant document is its passage. Rows must align by (link,
  question number) across the two languages, and a local copy whose README lists sha256 sums
  must match them; otherwise the conversion stops naming the file or the row.
- `strategyqa`: the BEIR-style retrieval sets of StrategyQA (English) and Ko-StrategyQA (its
  Korean translation), which share corpus and query ids.

    python -m koen.data.benchmarks belebele --out data/benchmarks/belebele
    python -m koen.data.benchmarks strategyqa --out data/benchmarks/strategyqa \\
        --ko taeminlee/Ko-StrategyQA --en <a BEIR-style StrategyQA repo>

Any source may be a local directory in the same layout (that is how the tests run offline).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import tempfile
from pathlib import Path

from datasets import Dataset, load_dataset

from koen.data.tables import DataError
from koen.repro.atomic import atomic_dir
from koen.repro.provenance import files_digest

BELEBELE = "facebook/belebele"
CONFIGS = {"ko": "kor_Hang", "en": "eng_Latn"}


def _sid(key: str) -> str:
    return "b" + hashlib.sha1(key.encode()).hexdigest()[:10]


def write_benchmark(out: Path, corpus: list[dict], queries: list[dict], qrels: list[str]) -> None:
    """The benchmark in the prepared schema under `out`, replaced atomically."""
    with atomic_dir(out) as tmp:
        Dataset.from_list(corpus).to_parquet(str(tmp / "corpus.parquet"))
        Dataset.from_list(queries).to_parquet(str(tmp / "queries.parquet"))
        (tmp / "qrels.test.txt").write_text("\n".join(qrels) + "\n")


def _twins(texts: dict[str, dict[str, str]], page: str) -> list[dict]:
    """Corpus rows for sids that have both languages."""
    rows = []
    for sid, by_lang in texts.items():
        if set(by_lang) != {"ko", "en"}:
            continue
        for lang, other in (("ko", "en"), ("en", "ko")):
            rows.append({"doc_id": f"{sid}-{lang}", "sid": sid, "lang": lang, "page": page,
                         "section": sid, "split": "test", "text": by_lang[lang],
                         "twin": f"{sid}-{other}"})
    return rows


def check_local_copy(source: Path) -> None:
    """A local copy holds both configs, and matches the sha256 sums its README lists."""
    for config in CONFIGS.values():
        if not list(source.glob(f"{config}*")):
            raise DataError(f"{source}: no {config} data (expected {config}.jsonl or a {config} "
                            "folder, in the hub's layout)")
    readme = source / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    for digest, name in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", text, re.MULTILINE):
        if files_digest(source / name) != digest:
            raise DataError(f"{source / name}: sha256 differs from the one in {readme}")


def belebele_rows(source: str) -> dict[str, dict[tuple[str, int], dict]]:
    """Rows per language, keyed by (link, question number), checked to align."""
    local = Path(source).is_dir()
    if local:
        check_local_copy(Path(source))
    rows: dict[str, dict[tuple[str, int], dict]] = {}
    for lang, config in CONFIGS.items():
        # A local copy is read afresh: the datasets cache keys a local folder by its name and
        # config, and returned another folder's `belebele/kor_Hang` (the tests' fixture) here.
        with tempfile.TemporaryDirectory() as cache:
            try:
                data = load_dataset(source, config, split="test",
                                    cache_dir=cache if local else None)
            except Exception as err:  # datasets raises many types for a missing/bad config
                raise DataError(f"{source}: cannot read config {config}: {err}") from None
            data = list(data)
        rows[lang] = {}
        for i, row in enumerate(data, 1):
            key = (row["link"], int(row["question_number"]))
            if key in rows[lang]:
                raise DataError(f"{source} {config} row {i}: duplicate question {key}")
            rows[lang][key] = row
    for lang, other in (("ko", "en"), ("en", "ko")):
        extra = sorted(rows[lang].keys() - rows[other].keys())
        if extra:
            raise DataError(f"{source}: {CONFIGS[lang]} has question {extra[0]} that "
                            f"{CONFIGS[other]} lacks; rows must align by (link, question_number)")
    return rows


def belebele(source: str = BELEBELE) -> tuple[list[dict], list[dict], list[str]]:
    """Passages keyed by FLORES link, questions keyed by (link, question number)."""
    rows = belebele_rows(source)
    passages: dict[str, dict[str, str]] = {}
    for lang, by_key in rows.items():
        for (link, _), row in by_key.items():
            text = passages.setdefault(_sid(link), {}).setdefault(lang, row["flores_passage"])
            if text != row["flores_passage"]:
                raise DataError(f"{source} {CONFIGS[lang]}: two passages for link {link}")
    corpus = _twins(passages, "belebele")
    queries = [{"qid": f"{_sid(link)}q{n}", "split": "test", "kind": "question",
                "ko": rows["ko"][(link, n)]["question"], "en": rows["en"][(link, n)]["question"]}
               for link, n in sorted(rows["ko"])]
    relevant = {q["qid"]: q["qid"].rsplit("q", 1)[0] for q in queries}
    qrels = [f"{q['qid']} 0 {relevant[q['qid']]}-{lang} 1"
             for q in queries for lang in ("ko", "en")]
    return corpus, queries, qrels


def beir_pair(ko: str, en: str) -> tuple[list[dict], list[dict], list[str]]:
    """Two BEIR-style datasets (configs `corpus`, `queries`, `default` qrels) with shared ids."""
    texts: dict[str, dict[str, dict[str, str]]] = {"corpus": {}, "queries": {}}
    for lang, source in (("ko", ko), ("en", en)):
        for part in ("corpus", "queries"):
            for row in load_dataset(source, part, split=part):
                text = " ".join(x for x in (row.get("title"), row["text"]) if x)
                texts[part].setdefault(str(row["_id"]), {})[lang] = text
    corpus = _twins({f"s{k}": v for k, v in texts["corpus"].items()}, "strategyqa")
    have = {r["sid"] for r in corpus}
    qrels_rows = load_dataset(ko, "default", split="test")
    relevant: dict[str, list[str]] = {}
    for row in qrels_rows:
        sid = f"s{row['corpus-id']}"
        if row["score"] > 0 and sid in have:
            relevant.setdefault(str(row["query-id"]), []).append(sid)
    queries = [{"qid": q, "split": "test", "kind": "question", "ko": t["ko"], "en": t["en"]}
               for q, t in texts["queries"].items() if set(t) == {"ko", "en"} and q in relevant]
    qrels = [f"{q['qid']} 0 {sid}-{lang} 1" for q in queries for sid in relevant[q["qid"]]
             for lang in ("ko", "en")]
    return corpus, queries, qrels


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("benchmark", choices=["belebele", "strategyqa"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--source", default=BELEBELE, help="belebele: hub id or local directory")
    ap.add_argument("--ko", help="strategyqa: Korean BEIR-style dataset (hub id or directory)")
    ap.add_argument("--en", help="strategyqa: English BEIR-style dataset (hub id or directory)")
    args = ap.parse_args(argv)
    if args.benchmark == "belebele":
        parts = belebele(args.source)
    else:
        if not (args.ko and args.en):
            ap.error("strategyqa needs --ko and --en")
        parts = beir_pair(args.ko, args.en)
    write_benchmark(args.out, *parts)
    print(f"{args.benchmark}: {len(parts[0]) // 2} parallel documents, {len(parts[1])} queries "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
