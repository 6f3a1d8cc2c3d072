"""The four retrieval directions and the Multi scenario for one system.

Directions (query language - document language) search one language's index: en-ko and ko-en
(CLIR), ko-ko and en-en (Mono), scored against the qrels restricted to that language's twin.
Multi: queries in Korean and in English over the pool of both languages, where both twins are
relevant (Max@R, Max@R_norm, Comp@10, inclination). Dense and BM25 rank the whole multi pool
by default (`multi_k: null`), so Max@R is exact; BM25 searches its `multi` index, one analyzer
for both languages, so the two languages' scores are comparable.

Hybrid fuses the runs of `hybrid.dense` and `hybrid.sparse` with Pyserini's reciprocal rank
fusion, run by run. It searches both systems afresh rather than reading their saved top-k run
files, so its Multi ranking fuses whole-pool rankings and its Max@R is exact too.

Outputs: `<runs_dir>/<name>/<run>.trec` (top `k`), flat metrics `<out_dir>/<name>.json`, and one
MLflow run (kept under `tracking.pending` while MLflow is unreachable; see `koen.tracking`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from sentence_transformers import SentenceTransformer

from koen.config.parse import KeyedSection
from koen.config.schema import EvaluateParams
from koen.data.tables import read_table
from koen.evaluation import metrics as metrics_module
from koen.evaluation.metrics import (
    Qrels,
    Run,
    doc_lang,
    english_inclination,
    in_language,
    ir_metrics,
    multi_metrics,
    paper_summary,
    ranked,
    read_qrels,
    round2,
    write_trec_run,
)
from koen.models.precision import resolve
from koen.repro.atomic import atomic_dir, write_json
from koen.repro.provenance import (
    TRAIN_INFO,
    code_digest,
    files_digest,
    git_commit,
    json_digest,
    model_digest,
    run_group,
)
from koen.retrieval import bm25, dense, fusion, indexes
from koen.retrieval.fusion import rrf
from koen.retrieval.indexes import BM25_ANALYZER, LANGS, MANIFEST, RESERVED, SPARSE, read_manifest
from koen.tracking import mlflow_log
from koen.tracking.tags import system_tags

HYBRID = "hybrid"
DIRECTIONS = {"en-ko": ("en", "ko"), "ko-en": ("ko", "en"),
              "ko-ko": ("ko", "ko"), "en-en": ("en", "en")}  # name: (query, documents)
MULTI = {"multi-ko": "ko", "multi-en": "en"}  # run name: query language
RUNS = (*DIRECTIONS, *MULTI)
Queries = dict[str, dict[str, str]]  # qid -> language -> text


def load_queries(path: Path, qrels: Qrels) -> Queries:
    """Texts of the judged queries, in both languages."""
    rows = {r["qid"]: {"ko": r["ko"], "en": r["en"]}
            for r in read_table(path, ("qid", "ko", "en"))}
    missing = sorted(set(qrels) - set(rows))
    if missing:
        raise SystemExit(f"{path}: no text for judged query {missing[0]}")
    return {q: rows[q] for q in sorted(qrels)}


Runs = dict[str, dict[str, Run]]  # benchmark -> run name -> run


def dense_runs(index_dir: Path, queries: dict[str, Queries], p: EvaluateParams) -> Runs:
    """The model encodes each benchmark's queries once, for all its runs."""
    manifest = read_manifest(index_dir)
    if model_digest(Path(manifest["model_dir"])) != manifest["model"]:
        raise SystemExit(f"{index_dir} was built from other weights than those now in "
                         f"{manifest['model_dir']}: rebuild it with python -m stages.index")
    model = SentenceTransformer(manifest["model_dir"], device=p.device)
    precision = resolve(p.precision, p.device)
    out: Runs = {}
    for bench, texts in queries.items():
        qids = list(texts)
        vectors = {lang: dense.encode(model, [texts[q][lang] for q in qids], "query",
                                      p.batch_size, precision) for lang in LANGS}
        pools = index_dir / bench
        out[bench] = {d: dense.search(pools / docs, qids, vectors[lang], p.k, p.threads)
                      for d, (lang, docs) in DIRECTIONS.items()}
        out[bench] |= {m: dense.search(pools / "multi", qids, vectors[lang], p.multi_k,
                                       p.threads) for m, lang in MULTI.items()}
    return out


def bm25_runs(index_dir: Path, queries: dict[str, Queries], p: EvaluateParams) -> Runs:
    """Each query is analysed like the index it searches (Korean queries over `en` too)."""
    manifest = read_manifest(index_dir)

    def run(index: Path, texts: dict[str, str], k: int) -> Run:
        # Absolute: Java resolves a relative path against the directory the JVM started in.
        hits = bm25.search(index.resolve(), texts, k, BM25_ANALYZER[index.name], p.threads)
        return {q: dict(h) for q, h in hits.items()}

    out: Runs = {}
    for bench, texts in queries.items():
        pool = manifest["benchmarks"][bench]["docs"]["multi"]
        by_lang = {lang: {q: t[lang] for q, t in texts.items()} for lang in LANGS}
        out[bench] = {d: run(index_dir / bench / docs, by_lang[lang], p.k)
                      for d, (lang, docs) in DIRECTIONS.items()}
        out[bench] |= {m: run(index_dir / bench / "multi", by_lang[lang], p.multi_k or pool)
                       for m, lang in MULTI.items()}
    return out


def system_runs(name: str, queries: dict[str, Queries], p: EvaluateParams) -> Runs:
    if name == HYBRID:
        h = p.hybrid
        parts = [system_runs(h.dense, queries, p), system_runs(h.sparse, queries, p)]
        # Multi keeps the whole fused ranking (as long as the inputs), for an exact Max@R.
        return {b: {r: rrf([x[b][r] for x in parts], h.rrf_k, k=None if r in MULTI else p.k)
                    for r in RUNS} for b in queries}
    if name == SPARSE:
        return bm25_runs(p.indexes / name, queries, p)
    return dense_runs(p.indexes / name, queries, p)


def scores(runs: Runs, qrels: dict[str, Qrels], pools: dict[str, int]) -> dict[str, float]:
    """Flat metrics: `<benchmark>/<direction>/<metric>`, the paper's AVG per direction over the
    benchmarks (`avg_<direction>`) and OVRs, `<benchmark>/multi/<query lang>/<metric>`.

    `multi/<lang>/inclination`: share of queries whose best same-language relevant passage is
    outranked by a non-relevant passage in the other language (for Korean queries: English
    inclination). `multi/gap`: English minus Korean queries' Max@R_norm, in points.
    """
    out: dict[str, float] = {}
    ndcg: dict[str, dict[str, float]] = {}
    for bench, bench_runs in runs.items():
        q = qrels[bench]
        ndcg[bench] = {}
        for d, (_, docs) in DIRECTIONS.items():
            m = ir_metrics(bench_runs[d], in_language(q, docs))
            out |= {f"{bench}/{d}/{k}": v for k, v in m.items()}
            ndcg[bench][d] = m["ndcg@10"]
        for name, lang in MULTI.items():
            m = multi_metrics(bench_runs[name], q, pools[bench])
            m |= english_inclination(bench_runs[name], q, doc_lang, lang)
            out |= {f"{bench}/multi/{lang}/{k}": v for k, v in m.items()}
        out[f"{bench}/multi/gap"] = round2(out[f"{bench}/multi/en/max@r_norm"]
                                           - out[f"{bench}/multi/ko/max@r_norm"])
        out[f"{bench}/queries"] = len(q)
    return out | paper_summary(ndcg)


def top(run: Run, k: int) -> Run:
    return {q: {d: docs[d] for d in ranked(docs)[:k]} for q, docs in run.items()}


def stage_hash(inputs: list[Path], data: list[Path], p: EvaluateParams,
               hybrid: dict | None) -> str:
    """Digest of everything the metrics depend on: the index manifests (model and corpus
    digests), the benchmarks' queries and qrels, the params and this stage's code; a rerun with
    the same hash logs no second MLflow run."""
    code = code_digest(bm25, dense, fusion, indexes, metrics_module, sys.modules[__name__])
    what = {"inputs": [files_digest(x) for x in inputs], "data": files_digest(*data),
            "params": {"k": p.k, "multi_k": p.multi_k}, "hybrid": hybrid, "code": code}
    return json_digest(what)[:16]


def model_info(model_dir: Path) -> dict:
    """The model's `train_info.json` (written by the train stage) as MLflow params: scalars and
    nested mappings; the loss curve is left out, other lists become short JSON strings."""
    path = model_dir / TRAIN_INFO
    if not path.is_file():
        return {}

    def param(value: object) -> object:
        if isinstance(value, dict):
            return {k: param(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return json.dumps(value)[:500]
        return value

    info = json.loads(path.read_text(encoding="utf-8"))
    return {k: param(v) for k, v in info.items() if k != "loss"}


def evaluate(name: str, benchmarks: KeyedSection, p: EvaluateParams,
             pending: Path) -> dict[str, float]:
    """Evaluate system `name` on every benchmark; write runs and metrics; log to MLflow."""
    qrels = {b: read_qrels(benchmarks[b].qrels) for b in benchmarks}
    queries = {b: load_queries(benchmarks[b].queries, qrels[b]) for b in benchmarks}
    params: dict = {"model": name, "evaluate": {"benchmarks": ",".join(qrels), "k": p.k,
                                                "multi_k": p.multi_k or "pool",
                                                "precision": resolve(p.precision, p.device)}}
    systems = [name]
    if name == HYBRID:
        systems = [p.hybrid.dense, p.hybrid.sparse]
        params["hybrid"] = asdict(p.hybrid)
    runs = system_runs(name, queries, p)
    manifests = [read_manifest(p.indexes / s) for s in systems]
    pools = {b: manifests[0]["benchmarks"][b]["docs"]["multi"] for b in qrels}
    if name not in RESERVED:
        params["train"] = model_info(Path(manifests[0]["model_dir"]))
    if "shift" in manifests[0]:
        params["shift"] = manifests[0]["shift"]

    with atomic_dir(p.runs_dir / name) as tmp:
        for bench, bench_runs in runs.items():
            for run_name, run in bench_runs.items():
                write_trec_run(tmp / bench / f"{run_name}.trec", top(run, p.k), tag=name)
    metrics = scores(runs, qrels, pools)
    metrics_file = p.out_dir / f"{name}.json"
    write_json(metrics_file, metrics)

    commit = git_commit()
    data = [f for b in benchmarks for f in (benchmarks[b].queries, benchmarks[b].qrels)]
    h = stage_hash([p.indexes / s / MANIFEST for s in systems], data, p, params.get("hybrid"))
    tags = {"stage": "evaluate", "model": name, "stage_hash": h, "benchmarks": ",".join(qrels),
            **system_tags(None if name in RESERVED else Path(manifests[0]["model_dir"]))}
    if commit:
        tags["git_commit"] = commit
    record = {"key": f"evaluate/{name}/{h}", "name": f"evaluate {name}", "params": params,
              "metrics": metrics, "tags": tags,
              "artifacts": [[str(p.runs_dir / name / b / f"{r}.trec"), f"runs/{b}"]
                            for b in runs for r in RUNS] + [str(metrics_file)]}
    if group := run_group(commit):
        record["group"] = group
    print(f"mlflow: {mlflow_log.log_run(record, pending)}")
    return metrics
