"""TREC run and qrels files, the common currency between search and evaluation.

Every ranking orders a query's documents the same way, by descending score with ties broken by
docid ascending, so a score tie never makes two evaluations (or two libraries) disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from koen.formats.tables import DataError
from koen.repro.atomic import atomic_file

Run = dict[str, dict[str, float]]  # qid -> docid -> score

Qrels = dict[str, dict[str, int]]  # qid -> docid -> relevance


def ranked(docs: dict[str, float]) -> list[str]:
    """Docids best first: descending score, ties by docid ascending (a stable sort by score
    of the docids in order; no Python key function, as whole-pool Multi runs need it fast)."""
    return sorted(sorted(docs), key=docs.__getitem__, reverse=True)


def _trec_lines(path: Path | str, fields: int, form: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a TREC file; a malformed line fails naming file and line."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file; build it first (dvc repro)")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != fields:
                raise DataError(f"{path}:{n}: expected {fields} fields `{form}`, got "
                                f"{len(parts)}: {line.strip()[:80]!r}")
            yield n, parts


def read_trec_run(path: Path | str) -> Run:
    run: Run = {}
    for n, (qid, _, docid, _, score, _) in _trec_lines(path, 6, "qid Q0 docid rank score tag"):
        try:
            run.setdefault(qid, {})[docid] = float(score)
        except ValueError:
            raise DataError(f"{path}:{n}: score {score!r} is not a number") from None
    return run


def write_trec_run(path: Path | str, run: Run, tag: str) -> None:
    """Write `qid Q0 docid rank score tag` lines, queries sorted, ranks from 1."""
    with atomic_file(path) as f:
        for qid in sorted(run):
            for rank, docid in enumerate(ranked(run[qid]), start=1):
                f.write(f"{qid} Q0 {docid} {rank} {float(run[qid][docid])!r} {tag}\n")


def read_qrels(path: Path | str) -> Qrels:
    qrels: Qrels = {}
    for n, (qid, _, docid, rel) in _trec_lines(path, 4, "qid 0 docid relevance"):
        try:
            qrels.setdefault(qid, {})[docid] = int(rel)
        except ValueError:
            raise DataError(f"{path}:{n}: relevance {rel!r} is not an integer") from None
    return qrels


def relevant(qrels: Qrels) -> dict[str, set[str]]:
    """Queries with at least one relevant document: the others can never score."""
    rel = {qid: {d for d, r in docs.items() if r > 0} for qid, docs in qrels.items()}
    return {qid: docs for qid, docs in rel.items() if docs}


def judged(qrels: Qrels) -> Qrels:
    """The queries of `qrels` with at least one relevant document."""
    return {qid: qrels[qid] for qid in relevant(qrels)}


def in_language(qrels: Qrels, lang: str) -> Qrels:
    """`qrels` restricted to the documents in language `lang`."""
    return {q: {d: r for d, r in docs.items() if doc_lang(d) == lang} for q, docs in qrels.items()}


def doc_lang(docid: str) -> str:
    """Language of a docid such as `p01234-ko`: the suffix after the last '-'."""
    return docid.rsplit("-", 1)[-1]
