"""The index, evaluate and search commands on a tiny collection and a tiny model, for real:
FAISS and Lucene indexes, Pyserini searchers and fusion, ir_measures, MLflow."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import faiss
import ir_measures
import numpy as np
import pytest
import torch
from conftest import free_port
from datasets import Dataset
from ir_measures import RR, R, nDCG
from mlflow import MlflowClient
from sentence_transformers import SentenceTransformer
from tiny_data import PARAMS, QUERIES, train_record, write_collection, write_params
from tiny_models import tiny_model

from koen.config.languages import KO_EN
from koen.config.parse import ParamsError
from koen.config.schema import load
from koen.errors import KoenError
from koen.evaluation import evaluate
from koen.evaluation.metrics import COMPUTED_ON, combine, round2
from koen.formats.trec import doc_lang, read_qrels
from koen.models.machine import computed_on
from koen.models.profile import resolve_index
from koen.repro.provenance import model_digest
from koen.retrieval import bm25, indexes, search
from koen.retrieval.shift import unnormalised
from koen.tracking import mlflow_log
from koen.tracking.__main__ import main as tracking_main
from stages import evaluate as evaluate_stage

# every test starts from `built`: the dense and BM25 indexes built by indexes.build, and
# most evaluate a model with evaluate.evaluate or the evaluate stage
pytestmark = pytest.mark.slow
BENCH = Path("data/benchmarks/lohelp")  # the tiny collection, converted
RUNS = (*KO_EN.directions, *KO_EN.multi)


def run_evaluate(system: str) -> dict[str, float]:
    """The evaluate stage's scoring of `system` on the tiny benchmark (its index built)."""
    return evaluate.evaluate(system, "lohelp", load())


def index(system: str, model: Path | str | None = None) -> dict:
    """The evaluate stage's indexing of `system` on the tiny benchmark."""
    params = load()
    return indexes.build(system, None if model is None else Path(model), "lohelp", BENCH,
                         resolve_index(params.index, "cpu"), params.seed, False, KO_EN)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A git repository holding the tiny collection, a tiny model with a training record,
    and the dense (`base`) and BM25 indexes built by the index stage."""
    root = tmp_path_factory.mktemp("retrieval")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("HF_HUB_OFFLINE", "1")
        model = tiny_model(root / "tiny")
        train_record(name="base").write(model / "train_info.json")
        write_collection(root)
        # fp32: the tests compare index and query vectors with plain `encode` to 1e-5
        write_params(root, index={**PARAMS["index"], "precision": "fp32"},
                     evaluate={**PARAMS["evaluate"], "precision": "fp32"})
        for cmd in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                     "commit", "-qm", "fixture"]):
            subprocess.run(["git", *cmd], check=True)
        index("base", model)
        index("bm25")
        yield root


@pytest.fixture
def at(built, monkeypatch, tmp_path) -> Path:
    monkeypatch.chdir(built)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    return built


def raw_run(path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        qid, _, docid, _, score, _ = line.split()
        run.setdefault(qid, {})[docid] = float(score)
    return run


def head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_index_builds_three_pools_of_the_test_split(at):
    manifest = indexes.read_manifest(Path("data/indexes/lohelp/base"))
    assert manifest["kind"] == "dense" and manifest["benchmark"] == "lohelp"
    assert manifest["docs"] == {"ko": 9, "en": 9, "multi": 18}
    assert manifest["model"] == model_digest(Path(manifest["model_dir"]))
    ko = Path("data/indexes/lohelp/base/ko/docid").read_text().split()
    multi = Path("data/indexes/lohelp/base/multi/docid").read_text().split()
    assert len(ko) == 9 and all(d.endswith("-ko") for d in ko)
    assert len(multi) == 18 and "p00009-ko" not in multi  # p00009 is a train passage
    sparse = indexes.read_manifest(Path("data/indexes/lohelp/bm25"))
    assert sparse["docs"] == manifest["docs"]
    hits = bm25.search(Path("data/indexes/lohelp/bm25/ko").resolve(), {"q": "삽입 문서"}, 3, "ko")
    assert hits["q"][0][0] == "p00001-ko"


def test_evaluate_refuses_an_index_built_from_other_weights(at):
    shutil.copytree("tiny/model", "tiny/changed")
    index("changed", "tiny/changed")
    (Path("tiny/changed") / "modules.json").write_text(
        Path("tiny/model/modules.json").read_text() + "\n")
    with pytest.raises(KoenError, match="built from other weights"):
        run_evaluate("changed")  # as the hybrid stage searches another stage's index


def test_dense_metrics_equal_ir_measures_and_a_brute_force_multi_ranking(at):
    one = run_evaluate("base")
    written = json.loads(Path("metrics/eval/lohelp/base.json").read_text())
    manifest = indexes.read_manifest(Path("data/indexes/lohelp/base"))
    # the figures, and the machine and precision they came from
    assert written == one | {COMPUTED_ON: computed_on("cpu", manifest["precision"])}
    assert written[COMPUTED_ON]["aten"] == torch.backends.cpu.get_cpu_capability()
    metrics = combine({"lohelp": one})
    qrels = read_qrels("data/prepared/qrels.test.txt")
    for direction, (_, docs) in KO_EN.directions.items():
        judged = {q: {d: r for d, r in rel.items() if doc_lang(d) == docs}
                  for q, rel in qrels.items()}
        run = raw_run(Path(f"data/runs/lohelp/base/{direction}.trec"))
        assert all(doc_lang(d) == docs for r in run.values() for d in r)
        agg = ir_measures.calc_aggregate([nDCG @ 10, R @ 100, RR @ 10], judged, run)
        assert one[f"{direction}/ndcg@10"] == round2(100 * agg[nDCG @ 10])
        assert one[f"{direction}/recall@100"] == round2(100 * agg[R @ 100])
        assert one[f"{direction}/mrr@10"] == round2(100 * agg[RR @ 10])
    assert metrics["clir_ovr"] == round2((metrics["lohelp/en-ko/ndcg@10"]
                                          + metrics["lohelp/ko-en/ndcg@10"]) / 2)
    assert metrics["avg_ko-ko"] == metrics["lohelp/ko-ko/ndcg@10"]

    # Multi, recomputed from plain embeddings: rank of each twin among all 18 passages.
    model = SentenceTransformer("tiny/model", device="cpu")
    corpus = [r for r in Dataset.from_parquet("data/prepared/corpus.parquet")
              if r["split"] == "test"]
    docs = model.encode([r["text"] for r in corpus], prompt_name="passage")
    queries = {r["qid"]: r for r in Dataset.from_parquet("data/prepared/queries.parquet")}
    for lang in ("ko", "en"):
        qv = model.encode([queries[f"q{i:05d}"][lang] for i in range(QUERIES)],
                          prompt_name="query")
        max_r, norm, inclined = [], [], []
        for i, scores in enumerate(qv @ docs.T):
            order = [corpus[j]["doc_id"] for j in np.argsort(-scores, kind="stable")]
            twins = [order.index(f"p{i:05d}-{x}") + 1 for x in ("ko", "en")]
            max_r.append(max(twins))
            norm.append(100 * (math.log2(18) - math.log2(max(twins))) / (math.log2(18) - 1))
            same = order.index(f"p{i:05d}-{lang}")
            inclined.append(any(doc_lang(d) != lang for d in order[:same]
                                if not d.startswith(f"p{i:05d}")))
        assert one[f"multi/{lang}/max@r"] == round2(float(np.mean(max_r)))
        assert one[f"multi/{lang}/max@r_norm"] == round2(float(np.mean(norm)))
        assert one[f"multi/{lang}/inclination"] == round2(100 * float(np.mean(inclined)))
    assert one["multi/gap"] == round2(one["multi/en/max@r_norm"] - one["multi/ko/max@r_norm"])


def test_bm25_is_lexical_and_hybrid_is_the_reciprocal_rank_fusion_of_both(at):
    run_evaluate("base")
    sparse = run_evaluate("bm25")
    # Each query shares two words with its passage and at most one with any other.
    assert sparse["ko-ko/ndcg@10"] == sparse["en-en/ndcg@10"] == 100.0
    assert sparse["en-ko/ndcg@10"] == sparse["ko-en/ndcg@10"] == 0.0
    assert sparse["multi/ko/comp@10"] == 0.0  # no English twin is ever reached

    run_evaluate("hybrid")
    for name in RUNS:
        runs = [raw_run(Path(f"data/runs/lohelp/{s}/{name}.trec")) for s in ("base", "bm25")]
        fused = raw_run(Path(f"data/runs/lohelp/hybrid/{name}.trec"))
        for q in runs[0]:
            expected: dict[str, float] = {}
            for run in runs:
                order = sorted(run.get(q, {}), key=lambda d, r=run: (-r[q][d], d))
                for rank, d in enumerate(order, start=1):
                    expected[d] = expected.get(d, 0) + 1 / (60 + rank)
            best = sorted(expected, key=lambda d: (-expected[d], d))[:100]
            assert list(fused[q]) == best
            np.testing.assert_allclose([fused[q][d] for d in best],
                                       [expected[d] for d in best])


@pytest.mark.slow
def test_mlflow_server_gets_the_run_and_an_offline_run_syncs_once(at, monkeypatch,
                                                                   mlflow_server):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    pending = Path("metrics/mlflow_pending")
    before = set(pending.glob("*.json"))
    evaluate_stage.main(["base", "lohelp", "tiny/model"])  # nothing listens: still succeeds
    kept = set(pending.glob("*.json")) - before
    assert len(kept) == 1
    offline = json.loads(Path("metrics/eval/lohelp/base.json").read_text())
    assert offline["queries"] == QUERIES

    mlflow_server(port)
    assert tracking_main(["sync", "--pending", str(pending)]) == 0
    assert mlflow_log.sync(pending) == {"logged": 0, "exists": 0, "pending": 0}
    monkeypatch.setenv("DVC_EXP_NAME", "exp-tiny")
    evaluate_stage.main(["bm25", "lohelp"])  # server up: logged directly, under the exp's parent

    client = MlflowClient(url)
    exp = client.get_experiment_by_name("koen-retrieval")
    runs = {r.data.tags["model"]: r for r in client.search_runs([exp.experiment_id])
            if "koen.key" in r.data.tags}
    parents = {r.info.run_id: r.info.run_name for r in client.search_runs([exp.experiment_id])
               if "koen.group" in r.data.tags}
    assert sorted(runs) == ["base", "bm25"]
    base = runs["base"]
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert parents[base.data.tags["mlflow.parentRunId"]] == f"{branch} @ {head()[:7]}"
    assert parents[runs["bm25"].data.tags["mlflow.parentRunId"]] == f"exp-tiny @ {head()[:7]}"
    assert base.data.tags["git_commit"] == head()
    assert base.data.tags["koen.key"] == f"evaluate/lohelp/base/{base.data.tags['stage_hash']}"
    assert base.data.tags["benchmark"] == "lohelp"
    assert base.data.params["model"] == "base"
    assert base.data.params["train.composition"] == "kokoen"
    assert base.data.params["train.params.learning_rate"] == "5e-05"
    assert not any(k.startswith("train.loss") for k in base.data.params)
    system = {k: v for k, v in base.data.metrics.items() if k.startswith("system/")}
    assert system["system/cpu_utilization_percentage"] >= 0  # sampled over the stage
    machine = offline.pop(COMPUTED_ON)  # the figures are MLflow's metrics, the machine its tags
    assert {k: v for k, v in base.data.metrics.items() if k not in system} == {
        mlflow_log.mlflow_name(k): v for k, v in offline.items()}
    assert (base.data.tags["machine.cpu_capability"], base.data.tags["machine.onednn"]) == (
        machine["aten"], machine["onednn"])
    artifacts = sorted(a.path for a in client.list_artifacts(base.info.run_id))
    assert artifacts == ["base.json", "runs"]
    runs_logged = client.list_artifacts(base.info.run_id, "runs")
    assert sorted(a.path for a in runs_logged) == sorted(f"runs/{r}.trec" for r in RUNS)


def test_search_prints_passages_of_both_languages(at, capsys):
    search.main(["--k", "3", "표 삽입"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["1", "ko"] and "p00000-ko" in lines[0]
    assert "text/page0.html" in lines[0] and lines[1].strip() == "표 삽입 차트"
    assert len(lines) == 6
    search.main(["--method", "bm25", "--k", "2", "insert document"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["1", "en"] and "p00001-en" in lines[0]
    search.main(["--method", "hybrid", "--k", "4", "chart edit"])
    out = capsys.readouterr().out
    assert out.count("\n") == 8 and "p00004-en" in out.splitlines()[0]
    with pytest.raises(KoenError, match="no index at"):
        search.main(["--model", "missing", "표"])


def index_vectors(index_dir: Path) -> dict[str, np.ndarray]:
    idx = faiss.read_index(str(index_dir / "index"))
    docids = (index_dir / "docid").read_text().split()
    return dict(zip(docids, idx.reconstruct_n(0, idx.ntotal), strict=True))


def test_shift_moves_korean_passages_by_the_train_language_vector(at):
    shift = {"model": "tiny/model", "alpha": 1.0, "split": "train", "pairs": 5}
    write_params(at, index={**PARAMS["index"], "precision": "fp32", "shift": shift})
    index("shift", "tiny/model")
    manifest = indexes.read_manifest(Path("data/indexes/lohelp/shift"))
    assert manifest["shift"]["pairs_used"] == 1 and manifest["shift"]["alpha"] == 1.0

    # by hand: V_ko from the only train pair, unnormalised; Korean test passages move by -V_ko
    raw = unnormalised(SentenceTransformer("tiny/model", device="cpu"))
    corpus = {r["doc_id"]: r["text"] for r in Dataset.from_parquet("data/prepared/corpus.parquet")}
    ko, en = raw.encode([corpus["p00009-ko"], corpus["p00009-en"]], prompt_name="passage")
    v = ko - en
    assert np.linalg.norm(v) > 0
    shifted, plain = index_vectors(Path("data/indexes/lohelp/shift/multi")), index_vectors(
        Path("data/indexes/lohelp/base/multi"))
    for doc, vec in shifted.items():
        if doc.endswith("-en"):
            np.testing.assert_allclose(vec, plain[doc], atol=1e-5)
        else:
            z = raw.encode([corpus[doc]], prompt_name="passage")[0] - v
            np.testing.assert_allclose(vec, z / np.linalg.norm(z), atol=1e-5)
            assert not np.allclose(vec, plain[doc], atol=1e-3)
    metrics = run_evaluate("shift")
    assert 0 <= metrics["multi/ko/max@r_norm"] <= 100

    write_params(at, index={**PARAMS["index"], "precision": "fp32",
                            "shift": shift | {"alpha": 0.0}})
    index("shift", "tiny/model")
    for doc, vec in index_vectors(Path("data/indexes/lohelp/shift/multi")).items():
        np.testing.assert_allclose(vec, plain[doc], atol=1e-5)  # alpha 0: off

    write_params(at, index={**PARAMS["index"], "precision": "fp32",
                            "shift": shift | {"split": "test"}})
    with pytest.raises(ParamsError, match="the split benchmark lohelp indexes"):
        evaluate_stage.main(["shift", "lohelp"])
    write_params(at, index={**PARAMS["index"], "precision": "fp32",
                            "shift": shift | {"alpha": 1.5}})
    with pytest.raises(ParamsError, match="alpha"):
        evaluate_stage.main(["shift", "lohelp"])
    write_params(at)
