"""Reading the tables that stages pass on (Parquet) and users bring (JSON lines), failing with
the file's name.

A truncated or corrupt file, or one without the expected columns, stops the stage at once with
a message naming the file and what is wrong, rather than an Arrow error from deep inside.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
from datasets import Dataset

from koen.config.languages import Pair
from koen.errors import KoenError


class DataError(KoenError, ValueError):
    """Bad input data; the message names the file (and record, where there is one)."""


def triplet_columns(pair: Pair) -> tuple[str, ...]:
    """The parallel triplets' text columns (`triplets.parquet`, a user's triplets file):
    `query_ko`, `query_en`, `pos_ko`, `pos_en`, `neg_ko`, `neg_en` for ko-en."""
    return tuple(f"{part}_{lang}" for part in ("query", "pos", "neg") for lang in pair.codes)


def read_table(path: Path, columns: Sequence[str]) -> Dataset:
    """The Parquet file `path` as a Dataset holding at least `columns`."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file; build it first (dvc repro)")
    try:
        table = Dataset.from_parquet(str(path))
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{path}: not a readable Parquet file (truncated or corrupt): "
                        f"{err}") from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: no column '{missing[0]}'; expected {', '.join(columns)}, "
                        f"found {', '.join(table.column_names)}")
    return table


def jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) of a JSON-lines file; a malformed line fails naming it."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{n}: not valid JSON: {err.msg}") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{n}: expected a JSON object")
            yield n, record


def write_jsonl_gz(path: Path, records: Iterable[dict]) -> None:
    """Deterministic gzip (no mtime) so regenerating the raw files gives identical bytes."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
        for r in records:
            f.write((json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    tmp.replace(path)


def read_jsonl_gz(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record); a malformed line raises naming the file and line."""
    n = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
    except (EOFError, OSError, UnicodeDecodeError) as err:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: unreadable after line {n}, truncated or not gzip-compressed "
                         f"UTF-8 ({err})") from None
