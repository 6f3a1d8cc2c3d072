"""Reading the tables that stages pass on (Parquet) and users bring (JSON lines), failing with
the file's name.

A truncated or corrupt file, or one without the expected columns, stops the stage at once with
a message naming the file and what is wrong, rather than an Arrow error from deep inside.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
from datasets import Dataset


class DataError(ValueError):
    """Bad input data; the message names the file (and record, where there is one)."""


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
