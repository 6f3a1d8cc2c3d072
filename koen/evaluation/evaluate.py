"""The retrieval directions and the Multi scenario of one system on one benchmark.

Directions (query language - document language) search one language's index: for the pair
ko-en (`languages`), en-ko and ko-en (CLIR), ko-ko and en-en (Mono), scored against the qrels
restricted to that language's twin. Multi: queries in each language over the pool of both,
where both twins are relevant (Max@R, Max@R_norm, Comp@10, inclination). A one-language
benchmark measures the directions its queries and corpus allow (its card says which) and has no
Multi pool. Dense and BM25 rank the whole multi pool by default (`multi_k: null`), so Max@R is
exact; BM25 searches its `multi` index, one analyzer for both languages, so the two languages'
scores are comparable.

Hybrid fuses the runs of `hybrid.dense` and `hybrid.sparse` with Pyserini's reciprocal rank
fusion, run by run. It searches both systems afresh rather than reading their saved top-k run
files, so its Multi ranking fuses whole-pool rankings and its Max@R is exact too.

Outputs: `<runs_dir>/<benchmark>/<name>/<run>.trec` (top `k`), flat metrics
`<out_dir>/<benchmark>/<name>.json` with the machine and precision they came from
(`computed_on`), and one MLflow run (kept under `tracking.pending` while MLflow is unreachable;
see `koen.tracking`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from koen.config.parse import untraced
from koen.config.schema import EvaluateParams, Params, snapshot
from koen.errors import KoenError
from koen.evaluation.metrics import (
    COMPUTED_ON,
    english_inclination,
    ir_metrics,
    multi_metrics,
    round2,
)
from koen.formats.benchmark import QRELS, QUERIES, Task, load_task
from koen.formats.train_info import TrainInfo
from koen.formats.trec import Run, doc_lang, ranked, write_trec_run
from koen.models.load import load_model
from koen.models.machine import computed_on
from koen.models.profile import resolve_evaluate, resolve_index
from koen.repro.atomic import atomic_dir, write_json
from koen.repro.closure import code_digest, entry_module
from koen.repro.provenance import (
    TRAIN_INFO,
    files_digest,
    json_digest,
    model_digest,
)
from koen.retrieval import bm25, dense
from koen.retrieval.fusion import rrf
from koen.retrieval.indexes import (
    MANIFEST,
    RESERVED,
    SHIFT,
    SPARSE,
    build,
    read_manifest,
)
from koen.tracking import mlflow_log
from koen.tracking.tags import system_tags

HYBRID = "hybrid"
# params sections a run key covers whole: all an evaluate stage reads, and more
KEYED = ("seed", "device", "languages", "benchmark", "index", "evaluate", "base_model", "tracking")
Runs = dict[str, Run]  # run name -> run


def dense_runs(index_dir: Path, task: Task, p: EvaluateParams, trust_remote_code: bool) -> Runs:
    """The model encodes each query language's queries once, for all its runs."""
    manifest = read_manifest(index_dir)
    if model_digest(Path(manifest["model_dir"])) != manifest["model"]:
        raise KoenError(f"{index_dir} was built from other weights than those now in "
                        f"{manifest['model_dir']}: rebuild it with its evaluate stage "
                        "(dvc repro)")
    model = load_model(manifest["model_dir"], p.device, trust_remote_code)
    precision = p.precision
    vectors = {}
    for lang in dict.fromkeys(task.query_lang(r) for r in task.runs):
        texts = task.texts(lang)
        vectors[lang] = (list(texts), dense.encode(model, list(texts.values()), "query",
                                                   p.batch_size, precision))
    out: Runs = {}
    for run in task.runs:
        qids, vecs = vectors[task.query_lang(run)]
        pool = task.pool(run)
        k = p.multi_k if pool == "multi" else p.k
        out[run] = dense.search(index_dir / pool, qids, vecs, k, p.threads)
    return out


def bm25_runs(index_dir: Path, task: Task, p: EvaluateParams) -> Runs:
    """Each query is analysed like the index it searches (Korean queries over `en` too)."""
    manifest = read_manifest(index_dir)
    out: Runs = {}
    for run in task.runs:
        pool = task.pool(run)
        k = (p.multi_k or manifest["docs"]["multi"]) if pool == "multi" else p.k
        # Absolute: Java resolves a relative path against the directory the JVM started in.
        hits = bm25.search((index_dir / pool).resolve(), task.texts(task.query_lang(run)), k,
                           manifest["analyzers"][pool], p.threads)
        out[run] = {q: dict(h) for q, h in hits.items()}
    return out


def system_runs(name: str, indexes: Path, task: Task, p: EvaluateParams,
                trust_remote_code: bool) -> Runs:
    """`indexes`: the benchmark's index folder (`<index.out_dir>/<benchmark>`)."""
    if name == HYBRID:
        h = p.hybrid
        parts = [system_runs(s, indexes, task, p, trust_remote_code)
                 for s in (h.dense, h.sparse)]
        # Multi keeps the whole fused ranking (as long as the inputs), for an exact Max@R.
        return {r: rrf([x[r] for x in parts], h.rrf_k,
                       k=None if task.pool(r) == "multi" else p.k)
                for r in task.runs}
    if name == SPARSE:
        return bm25_runs(indexes / name, task, p)
    return dense_runs(indexes / name, task, p, trust_remote_code)


def scores(runs: Runs, task: Task, pool: int | None) -> dict[str, float]:
    """Flat metrics of one benchmark: `<direction>/<metric>` and `multi/<query lang>/<metric>`.

    `multi/<lang>/inclination`: share of queries whose best same-language relevant passage is
    outranked by a non-relevant passage in the other language (for Korean queries: English
    inclination). `multi/gap`: the second language's (English) queries' Max@R_norm minus the
    first's (Korean), in points.
    """
    out: dict[str, float] = {"queries": len(task.queries)}
    for d in task.directions:
        out |= {f"{d}/{k}": v for k, v in ir_metrics(runs[d], task.judged(d)).items()}
    if task.multi and pool is not None:
        for name, lang in task.pair.multi.items():
            m = multi_metrics(runs[name], task.qrels, pool)
            m |= english_inclination(runs[name], task.qrels, doc_lang, lang)
            out |= {f"multi/{lang}/{k}": v for k, v in m.items()}
        a, b = task.pair.codes
        out["multi/gap"] = round2(out[f"multi/{b}/max@r_norm"] - out[f"multi/{a}/max@r_norm"])
    return out


def top(run: Run, k: int) -> Run:
    return {q: {d: docs[d] for d in ranked(docs)[:k]} for q, docs in run.items()}


def run_key(params: Params, name: str, benchmark: str, inputs: list[Path]) -> str:
    """The MLflow key of one evaluation, from what DVC hashes for its stage: every file its
    stage's command imports (`stages.evaluate`, or the sweep's or seed's; the closure the deps
    tests hold dvc.yaml to), the params sections it reads, whole, and the bytes of its inputs
    (index manifests, queries, qrels). A rerun with the same key logs no second MLflow run; any
    other rerun is a new one."""
    with untraced():  # the key covers more than the stage reads
        resolved = asdict(resolve_evaluate(params.evaluate, params.device))
    what = {"code": code_digest(entry_module("stages.evaluate")), "system": name,
            "benchmark": benchmark, "params": snapshot(params, KEYED), "resolved": resolved,
            "inputs": [files_digest(x) for x in inputs]}
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

    return {k: param(v) for k, v in TrainInfo.read(path).as_dict().items() if k != "loss"}


def index_and_evaluate(name: str, model_dir: Path | None, benchmark: str,
                       params: Params) -> dict[str, float]:
    """What an evaluate stage does, for the stage and for the sweeps and seeds alike: build
    system `name`'s indexes on one benchmark (a dense model's at `model_dir`; Shift's model is
    `index.shift.model`, BM25 has none; hybrid searches its two systems' instead), then
    evaluate it."""
    if name != HYBRID:
        model = params.index.shift.model if name == SHIFT else model_dir
        seed = params.seed if name == SHIFT else 0  # only Shift samples (its pairs)
        build(name, model, benchmark, params.benchmark.out_dir / benchmark,
              resolve_index(params.index, params.device), seed,
              name != SPARSE and params.base_model.trust_remote_code, params.pair)
    return evaluate(name, benchmark, params)


def evaluated_on(p: EvaluateParams, manifests: list[dict]) -> dict[str, str]:
    """The machine and precision the figures come from: the queries' (`evaluate.precision`),
    and the passages' (`index.precision`) where it differs; none for BM25."""
    indexed = [m["precision"] for m in manifests if m["kind"] == "dense"]
    precision = None
    if indexed:
        precision = (p.precision if set(indexed) == {p.precision}
                     else f"{indexed[0]} passages, {p.precision} queries")
    return computed_on(p.device, precision)


def headline(metrics: dict[str, float]) -> dict[str, float]:
    """nDCG@10 per direction: what a stage prints when it is done."""
    return {k: v for k, v in metrics.items() if k.endswith("ndcg@10")}


def evaluate(name: str, benchmark: str, params: Params) -> dict[str, float]:
    """Evaluate system `name` on one benchmark (its indexes built); write runs and metrics;
    log to MLflow."""
    p = resolve_evaluate(params.evaluate, params.device)
    trust_remote_code = name != SPARSE and params.base_model.trust_remote_code
    bench_dir = params.benchmark.out_dir / benchmark
    task = load_task(bench_dir, params.pair)
    indexes = params.index.out_dir / benchmark
    record_params: dict = {"model": name, "benchmark": benchmark,
                           "evaluate": {"k": p.k, "multi_k": p.multi_k or "pool",
                                        "precision": p.precision, "batch_size": p.batch_size,
                                        "device": p.device}}
    systems = [name]
    if name == HYBRID:
        systems = [p.hybrid.dense, p.hybrid.sparse]
        record_params["hybrid"] = asdict(p.hybrid)
    runs = system_runs(name, indexes, task, p, trust_remote_code)
    manifests = [read_manifest(indexes / s) for s in systems]
    pool = manifests[0]["docs"].get("multi")
    if name not in RESERVED:
        record_params["train"] = model_info(Path(manifests[0]["model_dir"]))
    if "shift" in manifests[0]:
        record_params["shift"] = manifests[0]["shift"]

    runs_dir = p.runs_dir / benchmark / name
    with atomic_dir(runs_dir) as tmp:
        for run_name, run in runs.items():
            write_trec_run(tmp / f"{run_name}.trec", top(run, p.k), tag=name)
    metrics = scores(runs, task, pool)
    metrics_file = p.out_dir / benchmark / f"{name}.json"
    write_json(metrics_file, metrics | {COMPUTED_ON: evaluated_on(p, manifests)})

    data = [bench_dir / QUERIES, bench_dir / QRELS]
    h = run_key(params, name, benchmark, [indexes / s / MANIFEST for s in systems] + data)
    tags = {"stage": "evaluate", "model": name, "stage_hash": h, "benchmark": benchmark,
            **system_tags(None if name in RESERVED else Path(manifests[0]["model_dir"]))}
    record = mlflow_log.stage_record(
        f"evaluate/{benchmark}/{name}/{h}", f"evaluate {name} {benchmark}", tags,
        params=record_params, metrics=metrics,
        datasets=[mlflow_log.dataset(bench_dir, "evaluation")],
        artifacts=[[str(runs_dir / f"{r}.trec"), "runs"] for r in runs] + [str(metrics_file)])
    print(f"mlflow: {mlflow_log.log_run(record, params.tracking.pending)}")
    return metrics
