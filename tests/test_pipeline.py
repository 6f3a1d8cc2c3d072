"""Real `dvc repro` / `dvc exp run` of the small profile in a throwaway copy of the repository."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import time
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, SMALL_PREPARE, Project, copy_project
from datasets import Dataset
from filelock import FileLock
from mlflow import MlflowClient
from project_deps import declared, interpolated_keys, stages
from sentence_transformers import SentenceTransformer
from tiny_models import tiny_model

from koen.config.parse import TRACE_ENV
from koen.report.regression import check, load_set, recorded_precision

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def test_dvc_repro_builds_data_then_skips_everything(project):
    project.dvc("repro", "prepare")
    prepared = project.root / "data/prepared"
    corpus = Dataset.from_parquet(str(prepared / "corpus.parquet"))
    queries = Dataset.from_parquet(str(prepared / "queries.parquet"))
    triplets = Dataset.from_parquet(str(prepared / "triplets.parquet"))
    assert sorted(set(corpus["lang"])) == ["en", "ko"]
    assert corpus.num_rows > 5000
    assert queries.filter(lambda r: r["split"] == "test").num_rows == 60
    assert 150 <= triplets.num_rows <= 200
    card = json.loads((project.root / "metrics/data.json").read_text())
    assert card["splits"]["test"]["ko"]["passages"] == card["splits"]["test"]["en"]["passages"]
    qrels = (prepared / "qrels.test.txt").read_text().split("\n")
    assert qrels[0].split()[1:] == ["0", qrels[0].split()[2], "1"]

    mtime = (prepared / "corpus.parquet").stat().st_mtime_ns
    again = project.dvc("repro", "prepare")
    assert "didn't change, skipping" in again.stdout and not ran(again.stdout)
    assert (prepared / "corpus.parquet").stat().st_mtime_ns == mtime


def undeclared_reads(root: Path, trace: Path) -> dict[str, list[str]]:
    """Per stage, the params keys its commands read (recorded at run time) that its dvc.yaml
    entry neither declares under `params` nor interpolates."""
    found = stages(root)
    by_cmd = {}
    for name, stage in found.items():
        for cmd in [stage["cmd"]] if isinstance(stage["cmd"], str) else stage["cmd"]:
            by_cmd[" ".join(shlex.split(cmd)[2:])] = name  # after `python -m`
    out: dict[str, list[str]] = {}
    seen = set()
    for record in (json.loads(f.read_text()) for f in trace.glob("*.json")):
        argv = record["argv"]
        module = Path(argv[0]).resolve().relative_to(root.resolve()).with_suffix("")
        name = by_cmd.get(" ".join([".".join(module.parts), *argv[1:]]))
        if name is None:
            continue
        seen.add(name)
        allowed = found[name]["params"] + sorted(interpolated_keys(root, name))
        bad = [k for k in record["read"] if not declared(k, allowed)]
        if bad:
            out[name] = bad
    assert seen, "no stage left a trace of its reads"
    return out


def set_tiny_grid(project: Project, base: Path) -> None:
    """The whole pipeline on a tiny base model: two compositions, one merge, one experiment,
    one sweep, a further training seed."""
    project.set_params(
        base_model={"source": str(base), "vocab": "full"},
        grid=["kokoen", "koenen"], composition="enkoko",
        train={"triplets": 32, "batch_size": 8, "max_seq_length": 32, "checkpoint_steps": 100,
               "more_seeds": [7]},
        merges={"avg": {"method": "linear", "models": ["kokoen", "koenen"]}},
        sweeps={"koenen~kokoen": {"models": ["koenen", "kokoen"], "weights": [0.25, 0.75]}},
        # one benchmark (the help's test split): each adds a stage per system; the other
        # formats are converted in test_benchmarks and evaluated in the own-benchmark test
        benchmarks={"lohelp": {"format": "prepared", "source": "data/prepared", "split": "test"}},
        replace=("merges", "sweeps", "benchmarks"))
    project.commit("tiny grid")


@pytest.fixture
def tiny_grid(project, tmp_path):
    set_tiny_grid(project, tiny_model(tmp_path / "tiny"))
    return project


@pytest.fixture(scope="session")
def built_grid(tmp_path_factory) -> Path:
    """The tiny grid after its first `dvc repro` (its output in `repro.out`, the params its
    stages read in `trace/`), built once per session for the tests that start from it.

    pytest-xdist's recipe for a once-per-session fixture: the first worker to need it builds it
    in the session's shared temp dir, under a file lock; another one waits, then copies it.
    """
    shared = tmp_path_factory.getbasetemp()  # under xdist: this worker's, in the session's
    root = (shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared) / "built-grid"
    with FileLock(f"{root}.lock", timeout=1800):
        if (root / "FAILED").is_file():
            raise AssertionError(f"the tiny grid failed to build:\n{(root / 'FAILED').read_text()}")
        if not (root / "repro.out").is_file():
            try:
                build_grid(root)
            except BaseException as error:
                (root / "FAILED").write_text(str(error)[-6000:])
                raise
    return root


def build_grid(root: Path, precision: str = "auto") -> None:
    root.mkdir()
    project = copy_project(root / "repo")
    project.dvc("cache", "dir", "--local", str(root / "cache"))
    project.set_params(prepare=SMALL_PREPARE)
    if precision != "auto":
        project.set_params(**{s: {"precision": precision} for s in ("train", "index", "evaluate")})
    set_tiny_grid(project, tiny_model(root / "tiny"))
    project.env[TRACE_ENV] = str(root / "trace")
    out = project.dvc("repro").stdout
    project.commit("reproduced")
    (root / "repro.out").write_text(out)


def copy_built(built: Path, dest: Path) -> Project:
    """A copy of the built grid with a tracking store of its own (the copied one would put
    artifacts in the shared build)."""
    shutil.copytree(built / "repo", dest, symlinks=True)
    (dest / "mlflow.db").unlink()
    shutil.rmtree(dest / "mlruns")
    return Project(dest)


@pytest.mark.longest
def test_grid_merges_seeds_and_sweeps(built_grid, tmp_path):
    project = copy_built(built_grid, tmp_path / "repo")
    assert {"train@kokoen", "train@koenen", "train_experiment", "merge@avg",
            "evaluate_shift@lohelp", "evaluate_merge@avg-lohelp", "evaluate_hybrid@lohelp",
            "benchmark@lohelp", "sweep@koenen~kokoen", "sweep_eval@koenen~kokoen-lohelp",
            "train_seed@kokoen-7", "train_seed@koenen-7", "seed@7", "seed_eval@7-lohelp",
            "report", "register"} <= ran((built_grid / "repro.out").read_text())
    # every key a stage read is declared: a change to it reruns the stage
    assert undeclared_reads(built_grid / "repo", built_grid / "trace") == {}
    for name in ("grid/kokoen", "grid/koenen", "experiment", "merged/avg"):
        model = SentenceTransformer(str(project.root / "models" / name), device="cpu")
        assert model.encode(["표 삽입"], prompt_name="query").shape == (1, 32)
    info = json.loads((project.root / "models/experiment/train_info.json").read_text())
    assert info["composition"] == "enkoko" and info["steps"] == 4
    assert (project.root / "metrics/train/grid-kokoen.csv").read_text().startswith("step,loss")
    (workspace,) = json.loads(project.dvc("metrics", "show", "--json").stdout).values()
    evaluated = workspace["data"]
    assert evaluated["metrics/eval/lohelp/hybrid.json"]["data"]["queries"] == 60
    assert {f"metrics/eval/lohelp/{n}.json" for n in ("base", "bm25", "kokoen", "koenen",
                                                      "experiment", "avg", "shift")} <= set(
        evaluated)
    overall = evaluated["metrics/overall.json"]["data"]
    assert set(overall) == {"base", "bm25", "hybrid", "kokoen", "koenen", "experiment", "avg",
                            "shift"} and "clir_ovr" in overall["avg"]
    report = (project.root / "metrics/report.md").read_text()
    assert "| hybrid |" in report and "| shift (alpha 0.5, base) |" in report
    # the sweep: two merged models between the parents, each evaluated, drawn and tested
    assert "### koenen~kokoen: (1 − w) · kokoen + w · koenen" in report
    assert "Best CLIR OVR without a significant Mono loss against" in report
    sweep = (project.root / "metrics/plots/sweeps.csv").read_text().splitlines()
    assert [line.split(",")[2] for line in sweep[1:]] == [
        "kokoen", "sweeps/koenen~kokoen/w0.25", "sweeps/koenen~kokoen/w0.75", "koenen"]
    merge = json.loads((project.root / "models/sweeps/koenen~kokoen/w0.25/merge_info.json")
                       .read_text())
    assert merge["weights"] == [0.25, 0.75] and merge["models"] == ["koenen", "kokoen"]
    # the further seed: its own grid (another seed, other weights), merge, evaluation, spread
    seven = json.loads((project.root / "models/seeds/s7/grid/koenen/train_info.json").read_text())
    assert seven["seed"] == 7 and seven["fingerprint"] != json.loads(
        (project.root / "models/grid/koenen/train_info.json").read_text())["fingerprint"]
    assert (project.root / "models/seeds/s7/merged/avg/merge_info.json").is_file()
    spread = json.loads((project.root / "metrics/seeds.json").read_text())
    assert spread["seeds"] == [13, 7]
    assert set(spread["spread"]["avg/clir_ovr"]["values"]) == {"13", "7"}
    assert "| Model | s13 | s7 | mean ± sd |" in report
    (registered,) = json.loads((project.root / "metrics/registry.json").read_text())
    assert registered["system"] == "avg" and registered["status"] == "registered"
    plots = json.loads(project.dvc("plots", "show", "--json").stdout)
    assert "errors" not in plots
    assert {f"metrics/plots/{n}" for n in ("tradeoff.csv", "directions.csv", "inclination.csv",
                                           "sweeps.csv", "tradeoff.png")} <= set(plots["data"])
    assert not ran(project.dvc("repro").stdout)


def own_evaluations(repo: Path, dest: Path) -> Path:
    """The metrics files a run of `repo` made (its benchmarks, the systems of its
    overall.json), copied to `dest`: a copy of the project also holds the committed run's."""
    systems = json.loads((repo / "metrics/overall.json").read_text())
    for benchmark in yaml.safe_load((repo / "params.yaml").read_text())["benchmarks"]:
        (dest / benchmark).mkdir(parents=True)
        for system in systems:
            shutil.copy(repo / "metrics/eval" / benchmark / f"{system}.json", dest / benchmark)
    return dest


@pytest.mark.last
def test_the_small_pipeline_gives_the_expected_figures_of_its_precision(built_grid, tmp_path):
    """The regression check a change of code can fail: the small pipeline's figures (every
    system's nDCG@10, AVGs, OVRs and Multi figures on the help's test split) against the set of
    the precision it ran in, whose tolerance is what builds on other CPU paths of that precision
    gave (tests/tiny_grid_figures.py says how they were made)."""
    own = own_evaluations(built_grid / "repo", tmp_path / "eval")
    expected = load_set(ROOT / "tests/regression", recorded_precision(own))
    assert check(expected, own) == []


# The tests that start from the built grid, longest first: xdist hands them out in this order
# to whichever worker is free, so the two workers end about together.
@pytest.mark.last
def test_own_benchmarks_through_params_rerun_only_what_they_touch(built_grid, tmp_path):
    """docs/own-benchmark.md, params alone: a parallel BEIR folder and a Korean-only one are
    evaluated by every system, and nothing else reruns."""
    project = copy_built(built_grid, tmp_path / "repo")
    for name in ("beir-parallel", "beir-ko"):
        shutil.copytree(FIXTURES / name, project.root / "data" / name)
    benchmarks = yaml.safe_load((project.root / "params.yaml").read_text())["benchmarks"]
    benchmarks |= {"mine": {"format": "beir", "source": "data/beir-parallel", "split": "test"},
                   "kobench": {"format": "beir", "source": "data/beir-ko", "split": "test"}}
    # without the further seed and the sweep, for the suite's time: removing them reruns nothing
    project.set_params(benchmarks=benchmarks, sweeps={}, train={"more_seeds": []},
                       replace=("benchmarks", "sweeps"))
    project.commit("own benchmarks")
    added = ran(project.dvc("repro").stdout)
    systems = {"base", "experiment", "shift", "bm25", "hybrid"}
    expected = {f"evaluate_{s}@{b}" for s in systems for b in ("mine", "kobench")}
    expected |= {f"evaluate_grid@{c}-{b}" for c in ("kokoen", "koenen")
                 for b in ("mine", "kobench")}
    expected |= {f"evaluate_merge@avg-{b}" for b in ("mine", "kobench")}
    assert added == expected | {"benchmark@mine", "benchmark@kobench", "report", "register"}
    report = (project.root / "metrics/report.md").read_text()
    clir = report.split("## Mono-lingual retrieval")[0]
    assert "| mine en-ko | mine ko-en | kobench en-ko | kobench ko-en |" in clir
    head = next(x for x in clir.splitlines() if x.startswith("| Model |")).split("|")
    base = next(x for x in clir.splitlines() if x.startswith("| base |")).split("|")
    assert base[head.index(" kobench ko-en ")].strip() == "–"  # no English documents
    assert "### mine" in report and "### kobench" not in report.split("## Multi")[1]
    overall = json.loads((project.root / "metrics/overall.json").read_text())
    assert {"clir_ovr", "mono_ovr"} <= set(overall["koenen"])


@pytest.mark.last
def test_own_triplets_through_params_retrain_and_keep_the_base_model(built_grid, tmp_path):
    """docs/own-data.md, params alone: a triplet file replaces the training data; it has no test
    split, so a BEIR benchmark replaces lohelp. The base model is not built again."""
    project = copy_built(built_grid, tmp_path / "repo")
    shutil.copytree(FIXTURES / "beir-parallel", project.root / "data/beir-parallel")
    shutil.copy(FIXTURES / "triplets.jsonl", project.root / "data/triplets.jsonl")
    mine = {"format": "beir", "source": "data/beir-parallel", "split": "test"}
    project.set_params(prepare={"source": "triplets", "data": "data/triplets.jsonl"},
                       benchmarks={"mine": mine}, sweeps={}, train={"more_seeds": []},
                       replace=("benchmarks", "sweeps"))
    project.commit("own triplets")
    retrained = ran(project.dvc("repro").stdout)
    assert "base_model" not in retrained
    # what depends on the training data runs; benchmark@mine and the evaluations of base, Shift,
    # BM25 and the hybrid do not, and come from DVC's run cache when the test beside this one
    # ran them first (the suite shares one cache)
    assert {"prepare", "train@kokoen", "train@koenen", "train_experiment", "merge@avg",
            "evaluate_grid@kokoen-mine", "evaluate_grid@koenen-mine", "evaluate_merge@avg-mine",
            "evaluate_experiment@mine", "report"} <= retrained
    assert (project.root / "metrics/eval/mine/base.json").is_file()
    card = json.loads((project.root / "metrics/data.json").read_text())
    assert card["source"] == "triplets" and card["triplets"] == 48
    report = (project.root / "metrics/report.md").read_text()
    assert "| lohelp" not in report and "| mine en-ko |" in report


@pytest.mark.last
def test_experiment_reruns_only_what_it_changes(built_grid, tmp_path):
    project = copy_built(built_grid, tmp_path / "repo")
    exp = project.dvc("exp", "run", "-S", "composition=ko+en")
    # register reads the report's overall.json, which the new row changes: it reruns, quickly
    assert ran(exp.stdout) == {"train_experiment", "evaluate_experiment@lohelp", "report",
                               "register"}
    info = json.loads((project.root / "models/experiment/train_info.json").read_text())
    assert info["composition"] == "ko+en" and "reused_from" not in info
    shown = json.loads(project.dvc("exp", "show", "--json").stdout)
    assert "ko+en" in json.dumps(shown)


@pytest.mark.last
def test_align_experiment_merged_with_base(built_grid, tmp_path):
    """The second study: align training, merged with base after training."""
    project = copy_built(built_grid, tmp_path / "repo")
    aligned = project.dvc("exp", "run", "-S", "train.method=align", "-S", "train.align.samples=16",
                          "-S", "experiment_merge={method: linear, models: [experiment, base]}")
    info = json.loads((project.root / "models/experiment/train_info.json").read_text())
    assert info["params"]["method"] == "align" and info["steps"] == 2
    assert info["merge"] == {"name": "experiment", "method": "linear",
                             "models": ["experiment", "base"], "weights": [0.5, 0.5]}
    assert "evaluate_experiment@lohelp" in ran(aligned.stdout)
    assert "| experiment (align, init base) |" in (project.root / "metrics/report.md").read_text()


@pytest.mark.last
def test_shift_alone_reruns_its_index_its_evaluation_and_the_readers(built_grid, tmp_path):
    project = copy_built(built_grid, tmp_path / "repo")
    shifted = project.dvc("exp", "run", "-S", "index.shift.alpha=1.0")
    # register follows the report's overall.json, which moves only if shift's figures do
    assert {"evaluate_shift@lohelp", "report"} <= ran(shifted.stdout) <= {
        "evaluate_shift@lohelp", "report", "register"}
    assert "| shift (alpha 1.0, base) |" in (project.root / "metrics/report.md").read_text()


@pytest.mark.last
def test_queued_experiment_logs_to_the_project_store(built_grid, tmp_path):
    """A queued experiment runs in a copy under .dvc/tmp/exps that DVC deletes: with the default
    store it still logs to the project's mlflow.db."""
    project = copy_built(built_grid, tmp_path / "repo")
    del project.env["MLFLOW_TRACKING_URI"]
    store = f"sqlite:///{project.root}/mlflow.db"
    before = report_runs(store)
    project.dvc("exp", "run", "--queue", "-S", "report.base=bm25")
    project.dvc("queue", "start")
    status = wait_for_queue(project)
    assert "Success" in status and "Failed" not in status, status
    assert len(report_runs(store)) == len(before) + 1
    assert not list(project.root.glob(".dvc/tmp/exps/*/mlflow.db"))


@pytest.mark.last
def test_two_queue_workers_log_every_run_once_to_a_server(built_grid, tmp_path, mlflow_server):
    """`dvc queue start -j 2` against a real `mlflow server`: both experiments' runs are logged
    once each, every one under its experiment's single parent run."""
    project = copy_built(built_grid, tmp_path / "repo")
    url = mlflow_server()
    project.env["MLFLOW_TRACKING_URI"] = url
    for base in ("bm25", "hybrid"):
        project.dvc("exp", "run", "--queue", "-n", f"base-{base}", "-S", f"report.base={base}")
    project.dvc("queue", "start", "-j", "2")
    status = wait_for_queue(project)
    assert status.count("Success") == 2 and "Failed" not in status, status
    client = MlflowClient(url)
    (experiment,) = [e for e in client.search_experiments() if e.name == "koen-retrieval"]
    found = client.search_runs([experiment.experiment_id])
    parents = {r.data.tags["koen.group"]: r.info.run_id for r in found
               if "koen.group" in r.data.tags}
    assert sorted(parents) == ["base-bm25", "base-hybrid"]  # one parent each
    logged = [r for r in found if "koen.key" in r.data.tags]
    keys = [r.data.tags["koen.key"] for r in logged]
    assert len(keys) == len(set(keys))  # every run once
    reports = [r for r in logged if r.data.tags["stage"] == "report"]
    assert sorted(r.data.tags["mlflow.parentRunId"] for r in reports) == sorted(parents.values())


@pytest.mark.last
def test_experiment_on_a_grid_composition_reuses_the_grid_model(built_grid, tmp_path):
    project = copy_built(built_grid, tmp_path / "repo")
    again = project.dvc("exp", "run", "-S", "composition=ko-ko-en", "train_experiment")
    info = json.loads((project.root / "models/experiment/train_info.json").read_text())
    assert info["reused_from"] == "models/grid/kokoen" and "train_experiment" in ran(again.stdout)


def report_runs(uri: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("koen-retrieval")
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], "tags.stage = 'report'")


def wait_for_queue(project, timeout: float = 900) -> str:
    """`dvc queue status` once no task is queued or running (the worker runs detached)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = project.dvc("queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            return status
        time.sleep(5)
    raise AssertionError(f"queue still busy after {timeout} s:\n{status}")


def test_invalid_composition_fails_with_the_valid_codes(tiny_grid):
    tiny_grid.set_params(composition="kokojp")
    proc = tiny_grid.dvc("repro", "train_experiment", check=False)
    assert proc.returncode != 0
    assert "valid codes are kokoko, kokoen" in proc.stdout + proc.stderr


def test_a_worker_clone_trains_and_the_head_restores_its_stages_from_the_remote(tiny_grid,
                                                                               tmp_path):
    """docs/several-machines.md: clones share a DVC remote and its run cache. A worker runs
    `dvc repro train@<code>` and pushes; the head pulls, and its `dvc repro` restores the
    worker's stages from the run cache instead of training again."""
    head = tiny_grid
    (head.root / "dvc.lock").unlink()  # the repository's, for other params: this grid is new
    remote = tmp_path / "remote"
    head.dvc("cache", "dir", "--local", str(tmp_path / "head-cache"))  # a machine's own cache
    head.dvc("remote", "add", "-d", "shared", str(remote))
    head.dvc("repro", "prepare", "base_model")
    head.dvc("push", "prepare", "base_model")
    head.commit("data and base model")
    worker = Project(tmp_path / "worker")
    head.run("git", "clone", "-q", str(head.root), str(worker.root))
    worker.env = {**head.env, "MLFLOW_TRACKING_URI": f"sqlite:///{worker.root}/mlflow.db"}
    worker.dvc("cache", "dir", "--local", str(tmp_path / "worker-cache"))
    worker.dvc("pull", "prepare", "base_model")
    trained = worker.dvc("repro", "train@kokoen")
    assert "Running stage 'train@kokoen'" in trained.stdout
    worker.dvc("push", "--run-cache")

    head.dvc("fetch", "--run-cache")  # the runs' records
    restored = head.dvc("repro", "--pull", "train@kokoen")  # their outputs, as they are needed
    assert not ran(restored.stdout)  # trained nothing
    assert "Stage 'train@kokoen' is cached - skipping run, checking out outputs" in \
        restored.stdout
    weights = "models/grid/kokoen/model.safetensors"
    assert (head.root / weights).read_bytes() == (worker.root / weights).read_bytes()
