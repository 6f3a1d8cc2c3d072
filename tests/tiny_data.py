"""A tiny parallel Korean-English test collection in the layout `prepare` writes, converted as
the `lohelp` benchmark, with the params of the retrieval stages pointing at it: for
index/evaluate/report/search tests.

Texts use only words of `tiny_models.WORDS`, whose Korean and English halves are aligned word
for word, so a tiny model tokenises both languages without unknown pieces.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from datasets import Dataset
from tiny_models import WORDS

from koen.config.languages import KO_EN
from koen.config.parse import parse
from koen.config.schema import Params
from koen.data.benchmarks import convert, write_benchmark
from koen.formats.train_info import TrainInfo

KO, EN = WORDS[:15], WORDS[15:30]
PASSAGES = 10
# Query i asks for passage i: its first two content words (the passage holds three).
QUERIES = 6

# The project's params.yaml (every stage checks the whole file) with small batches.
PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
PARAMS["index"] |= {"batch_size": 4}
# the tiny collection stands in for the help benchmark alone (write_params merges other ones in)
PARAMS["benchmarks"] = {"lohelp": PARAMS["benchmarks"]["lohelp"]}
PARAMS["evaluate"] |= {"batch_size": 4, "threads": 1}
PENDING = Path(PARAMS["tracking"]["pending"])
BENCHMARKS = Path(PARAMS["benchmark"]["out_dir"])


def words(i: int, lang: list[str]) -> list[str]:
    return [lang[(i + j) % 15] for j in (0, 1, 4)]


def write_collection(root: Path) -> None:
    """`data/prepared/{corpus,queries}.parquet` and `qrels.test.txt` under `root`, and the
    `lohelp` benchmark converted from them (what `benchmark@lohelp` writes); one train passage
    shows that only the test split is indexed."""
    rows = []
    for i in range(PASSAGES):
        split = "train" if i == PASSAGES - 1 else "test"
        for lang, vocab, glue in (("ko", KO, ""), ("en", EN, "the ")):
            text = " ".join(f"{glue}{w}" for w in words(i, vocab))
            rows.append({"doc_id": f"p{i:05d}-{lang}", "sid": f"p{i:05d}", "lang": lang,
                         "page": f"text/page{i % 3}.html", "section": f"s{i}", "split": split,
                         "text": text, "twin": f"p{i:05d}-{'en' if lang == 'ko' else 'ko'}"})
    queries = [{"qid": f"q{i:05d}", "split": "test", "kind": "heading",
                "ko": " ".join(words(i, KO)[:2]), "en": "how do i " + " ".join(words(i, EN)[:2])}
               for i in range(QUERIES)]
    out = root / "data/prepared"
    out.mkdir(parents=True)
    Dataset.from_list(rows).to_parquet(str(out / "corpus.parquet"))
    Dataset.from_list(queries).to_parquet(str(out / "queries.parquet"))
    (out / "qrels.test.txt").write_text("".join(f"q{i:05d} 0 p{i:05d}-{lang} 1\n"
                                                for i in range(QUERIES) for lang in ("ko", "en")))
    write_benchmark(root / BENCHMARKS / "lohelp", "lohelp", "prepared", out,
                    convert("prepared", out, "test", KO_EN))


def train_record(**changes: object) -> TrainInfo:
    """A model's `train_info.json` record, as the train stage fills it in, with `changes`."""
    record = {"name": "kokoen", "composition": "kokoen", "canonical": "kokoen",
              "fingerprint": "f" * 64, "init": "models/base", "seed": 13,
              "params": {"method": "contrastive", "learning_rate": 5e-5, "batch_size": 8},
              "computed_on": {"device": "cpu", "precision": "fp32", "cpu": "test",
                              "aten": "AVX2", "onednn": "Intel AVX2"},
              "steps": 3, "resumed": False, "loss": [[1, 2.0], [3, 1.5]],
              "padding_share_random": 0.25, "forward_padding_share": 0.25}
    return TrainInfo(**record | changes)


def merged(base: dict, changes: dict,
           replace: tuple[str, ...] = ("merges", "benchmarks", "sweeps")) -> dict:
    """`base` updated key by key, recursively; keys in `replace` are replaced whole."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in replace:
            out[key] = merged(out[key], value, ())
        else:
            out[key] = value
    return out


def write_params(root: Path, **sections: dict) -> None:
    """The project's params with `sections` merged in (see `merged`), as `root/params.yaml`."""
    params = merged(PARAMS, sections)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))


def section(where: str, changes: dict[str, Any], **paths: Path | str) -> Any:
    """Section `where` (dotted) of the project's params with `changes` merged in, parsed with the
    whole file, so the paths it follows (`train.data` follows `prepare.out`) are what a stage
    sees; `paths` then point some of those at a test's files."""
    nested: dict[str, Any] = changes
    for part in reversed(where.split(".")):
        nested = {part: nested}
    value: Any = parse(Params, merged(PARAMS, nested), "")
    for part in where.split("."):
        value = getattr(value, part)
    out = replace(value, **{k: Path(v) for k, v in paths.items()})
    object.__setattr__(out, "_where", where)
    return out
