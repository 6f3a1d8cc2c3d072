from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow.sentence_transformers
import numpy as np
import pytest
import torch
from conftest import free_port
from mlflow import MlflowClient
from mlflow.entities import ViewType
from sentence_transformers import SentenceTransformer
from tiny_data import train_record
from tiny_models import tiny_model

from koen.repro.atomic import write_json
from koen.tracking import mlflow_log
from koen.tracking.__main__ import main
from koen.tracking.mlflow_log import (
    log_run,
    pending_file,
    project_root,
    stage_record,
    sync,
    tracking_uri,
)
from koen.tracking.registry import best_merge, register_all
from koen.tracking.tags import dvc_md5, system_tags

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> None:
    """Local artifacts (./mlruns) and default settings land in tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


def record(key: str = "stagehash1-e5", group: str = "commit-abc") -> dict:
    Path("scores.json").write_text('{"ndcg@10": 51.2}\n')
    return {"key": key, "name": f"eval {key}", "group": group,
            "params": {"train": {"lr": 2e-5, "composition": "koenen"}},
            "metrics": {"ndcg@10": 51.2, "recall@100": 90.0},
            "tags": {"stage": "evaluate"}, "artifacts": ["scores.json", "missing.json"],
            "steps": {"train_loss": [[0, 2.5], [10, 1.25]]}}


def runs(uri: str) -> list:
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("koen-retrieval")
    return client.search_runs([experiment.experiment_id]) if experiment else []


def children(uri: str) -> list:
    return [r for r in runs(uri) if "koen.key" in r.data.tags]


def check_logged(uri: str) -> None:
    client = MlflowClient(uri)
    (child,) = children(uri)
    (parent,) = [r for r in runs(uri) if "koen.group" in r.data.tags]
    assert parent.info.run_name == "commit-abc"
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.tags["koen.key"] == "stagehash1-e5"
    assert child.data.tags["stage"] == "evaluate"
    assert child.data.params == {"train.lr": "2e-05", "train.composition": "koenen"}
    # data.metrics holds the latest value of a per-step metric too.
    assert child.data.metrics == {"ndcg_at_10": 51.2, "recall_at_100": 90.0, "train_loss": 1.25}
    history = client.get_metric_history(child.info.run_id, "train_loss")
    assert sorted((m.step, m.value) for m in history) == [(0, 2.5), (10, 1.25)]
    assert [a.path for a in client.list_artifacts(child.info.run_id)] == ["scores.json"]
    assert child.info.status == parent.info.status == "FINISHED"


def test_log_to_sqlite_and_read_back(tmp_path):
    pending = tmp_path / "pending"
    assert log_run(record(), pending) == "logged"
    check_logged("sqlite:///mlflow.db")  # the default URI, in the working directory
    assert list(pending.iterdir()) == []
    # the machine the figures came from: the CPU path torch's kernels took, native bf16
    (child,) = children("sqlite:///mlflow.db")
    assert child.data.tags["machine.cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert child.data.tags["machine.cpu_bf16"] in ("true", "false")
    assert child.data.tags["machine.cpu"]


def test_same_key_twice_logs_one_run_and_a_group_shares_one_parent(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/other.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert log_run(record(), tmp_path / "pending") == "logged"
    assert log_run(record(), tmp_path / "pending") == "exists"
    assert log_run(record(key="stagehash2-e5"), tmp_path / "pending") == "logged"
    assert len(children(uri)) == 2
    assert len(runs(uri)) == 3  # one parent for both


def test_a_stage_in_a_dvc_experiment_copy_logs_to_the_project_store(tmp_path, monkeypatch):
    """`dvc exp run --queue` runs the stages in <project>/.dvc/tmp/exps/<tmp>, deleted after."""
    copy = tmp_path / ".dvc/tmp/exps/tmpa1b2c3"
    copy.mkdir(parents=True)
    monkeypatch.chdir(copy)
    assert project_root() == tmp_path and project_root(tmp_path / "x") == tmp_path / "x"
    assert tracking_uri() == f"sqlite:///{tmp_path}/mlflow.db"
    assert log_run(record(), "metrics/pending") == "logged"
    assert not (copy / "mlflow.db").exists() and (tmp_path / "mlflow.db").is_file()
    assert len(children(f"sqlite:///{tmp_path}/mlflow.db")) == 1
    assert (tmp_path / "metrics/pending").is_dir() and not (copy / "metrics").exists()
    (run,) = children(f"sqlite:///{tmp_path}/mlflow.db")
    assert run.info.artifact_uri.startswith((tmp_path / "mlruns").as_uri())


def test_the_experiment_is_a_model_training_one_unless_the_user_said_otherwise(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    log_run(record(), tmp_path / "pending")
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("koen-retrieval")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    client.set_experiment_tag(experiment.experiment_id, "mlflow.experimentKind",
                              "genai_development")
    log_run(record(key="another"), tmp_path / "pending")
    assert client.get_experiment_by_name("koen-retrieval").tags["mlflow.experimentKind"] == \
        "genai_development"


def test_system_tags_say_kind_composition_seed_merge_weights_and_dvc_output(tmp_path):
    grid, merged, base = tmp_path / "models/grid/koenen", tmp_path / "models/merged/m", \
        tmp_path / "models/base"
    for d in (grid, merged, base):
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(d.name.encode())
    train_record(name="koenen", composition="koenen", canonical="koenen").write(
        grid / "train_info.json")
    (merged / "merge_info.json").write_text(json.dumps(
        {"name": "m", "method": "linear", "models": ["koenen", "base"], "weights": [0.3, 0.7]}))
    lock = tmp_path / "dvc.lock"
    lock.write_text("schema: '2.0'\nstages:\n  train@koenen:\n    cmd: python -m stages.train\n"
                    f"    outs:\n    - path: {grid}\n      md5: abc123.dir\n")
    assert dvc_md5(grid, lock) == "abc123.dir" and dvc_md5(merged, lock) is None
    tags = system_tags(grid, lock)
    assert tags["kind"] == "composition" and tags["composition"] == "koenen"
    assert tags["seed"] == "13" and tags["dvc.md5"] == "abc123.dir"
    assert tags["dvc.path"] == str(grid) and len(tags["model.sha256"]) == 64
    tags = system_tags(merged, lock)
    assert tags["kind"] == "merge" and tags["merge.weights"] == "0.3,0.7"
    assert tags["merge.models"] == "koenen,base" and "dvc.md5" not in tags
    assert system_tags(base, lock)["kind"] == "baseline"
    assert system_tags(None) == {"kind": "baseline"}


def test_register_logs_a_sentence_transformers_model_once_and_moves_the_alias(tmp_path):
    one, two = tiny_model(tmp_path / "one", seed=1), tiny_model(tmp_path / "two", seed=2)
    systems = {"one": one, "two": two}
    metrics = {"one": {"clir_ovr": 50.0, "mono_ovr": 70.0},   # mean 60.0
               "two": {"clir_ovr": 55.0, "mono_ovr": 66.0}}   # mean 60.5: the best
    assert best_merge(metrics, ["one", "two"]) == "two"
    out = tmp_path / "registry.json"
    done = register_all(metrics, ["one", "two"], systems, "koen", "champion", ["one"], out,
                        False)
    assert [(d["system"], d["registered_model"], d["version"], d["status"]) for d in done] == [
        ("two", "koen", 1, "registered"), ("one", "koen-one", 1, "registered")]
    assert json.loads(out.read_text()) == done
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    version = client.get_model_version_by_alias("koen", "champion")
    assert int(version.version) == 1
    loaded = mlflow.sentence_transformers.load_model("models:/koen@champion")
    expected = SentenceTransformer(str(two), device="cpu").encode(["표 삽입"])
    np.testing.assert_allclose(loaded.encode(["표 삽입"]), expected, atol=1e-6)
    tags = client.get_run(version.run_id).data.tags
    assert tags["stage"] == "register" and tags["model"] == "two"
    # the same weights again: no new version; new weights under the alias: version 2
    again = register_all(metrics, ["one", "two"], systems, "koen", "champion", [], out, False)
    assert again[0]["status"] == "exists" and again[0]["version"] == 1
    metrics["one"]["clir_ovr"] = 60.0
    moved = register_all(metrics, ["one", "two"], systems, "koen", "champion", [], out, False)
    assert moved[0]["system"] == "one" and moved[0]["version"] == 2
    assert int(client.get_model_version_by_alias("koen", "champion").version) == 2


def test_register_with_mlflow_down_says_so_and_does_not_fail(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    one = tiny_model(tmp_path / "one", seed=1)
    done = register_all({"one": {"clir_ovr": 1.0, "mono_ovr": 1.0}}, ["one"], {"one": one},
                        "koen", "champion", [], tmp_path / "registry.json", False)
    assert done[0]["status"].startswith("not registered: ")


def rest(url: str, path: str, body: dict | None = None) -> dict:
    """The MLflow REST API, as the UI calls it."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_log_to_a_real_server(tmp_path, monkeypatch, mlflow_server):
    url = mlflow_server()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    assert log_run(record(), tmp_path / "pending") == "logged"
    check_logged(url)
    # what the UI reads: the experiment kind that opens the runs table, runs filtered by tag
    experiment = rest(url, "/api/2.0/mlflow/experiments/get-by-name?experiment_name="
                      "koen-retrieval")["experiment"]
    assert {"key": "mlflow.experimentKind", "value": "custom_model_development"} in \
        experiment["tags"]
    found = rest(url, "/api/2.0/mlflow/runs/search", {
        "experiment_ids": [experiment["experiment_id"]],
        "filter": "tags.stage = 'evaluate'"})["runs"]
    assert [r["info"]["run_name"] for r in found] == ["eval stagehash1-e5"]
    # the registered best merge, as the UI's models page reads it
    one = tiny_model(tmp_path / "one", seed=1)
    register_all({"one": {"clir_ovr": 1.0, "mono_ovr": 1.0}}, ["one"], {"one": one}, "koen",
                 "champion", [], tmp_path / "registry.json", False)
    version = rest(url, "/api/2.0/mlflow/registered-models/alias?name=koen&alias=champion")
    assert version["model_version"]["version"] == "1"


@pytest.mark.slow
def test_unreachable_server_keeps_the_run_until_sync(tmp_path, monkeypatch, capsys,
                                                     mlflow_server):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    pending = tmp_path / "pending"
    start = time.monotonic()
    assert log_run(record(), pending) == "pending"
    assert time.monotonic() - start < 30
    kept = pending_file(pending, "stagehash1-e5")
    assert kept.is_file()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("mlflow:")]
    assert len(lines) == 1
    assert url in lines[0] and str(kept) in lines[0]
    assert "python -m koen.tracking sync" in lines[0]

    mlflow_server(port)
    assert main(["sync", "--pending", str(pending)]) == 0
    assert not kept.exists()
    write_json(kept, record())  # as if a crash came between logging and deleting the file
    assert sync(pending) == {"logged": 0, "exists": 1, "pending": 0}
    assert sync(pending) == {"logged": 0, "exists": 0, "pending": 0}
    check_logged(url)


WORKER = """
import sys, time
from koen.tracking import mlflow_log
mlflow_log.begin_stage()
time.sleep(float(sys.argv[2]))
for i in range(int(sys.argv[3])):
    key = f"same-{i}" if i % 2 else f"own-{sys.argv[1]}-{i}"
    print(mlflow_log.log_run({"key": key, "name": key, "group": "commit-race",
                              "metrics": {"x": i}}, "pending"))
"""


@pytest.mark.slow
def test_two_workers_log_every_run_once_under_one_parent(tmp_path, mlflow_server):
    """Two processes logging to one real server at once, as `dvc queue start -j 2` or two
    clones do: one experiment, one parent for their group, every key once (a record both log,
    the same stage run twice, is there once)."""
    url = mlflow_server()
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "PYTHONPATH": str(ROOT)}
    (tmp_path / "worker.py").write_text(WORKER)
    procs = [subprocess.Popen([sys.executable, "worker.py", str(w), "0", "8"], cwd=tmp_path,
                              env=env, stdout=subprocess.PIPE, text=True) for w in (1, 2)]
    outputs = [p.communicate(timeout=300)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(outputs[0] + outputs[1]).count("pending") == 0
    client = MlflowClient(url)
    (experiment,) = [e for e in client.search_experiments() if e.name == "koen-retrieval"]
    found = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in found if "koen.group" in r.data.tags]
    keys = [r.data.tags["koen.key"] for r in found if "koen.key" in r.data.tags]
    assert sorted(keys) == sorted({f"own-{w}-{i}" for w in (1, 2) for i in (0, 2, 4, 6)}
                                  | {f"same-{i}" for i in (1, 3, 5, 7)})
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in found
               if "koen.key" in r.data.tags)


def test_a_run_spans_its_stage_with_system_metrics_and_its_data(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setattr(mlflow_log, "_stage", None)
    monitor = mlflow_log.begin_stage()
    monitor.sample()  # as the sampling thread does every SAMPLE_SECONDS
    time.sleep(0.05)
    data = tmp_path / "triplets.parquet"
    data.write_bytes(b"rows")
    log_run({**record(), "datasets": [mlflow_log.dataset(data, "training")]}, "pending")
    monkeypatch.setattr(mlflow_log, "_stage", None)
    (run,) = children(uri)
    assert run.info.start_time == monitor.start
    assert run.info.end_time - run.info.start_time >= 50  # the stage's span, not the logging's
    history = MlflowClient(uri).get_metric_history(run.info.run_id,
                                                    "system/cpu_utilization_percentage")
    assert [m.step for m in history] == [0, 1]  # the sample above and one at the end
    assert "system/system_memory_usage_megabytes" in run.data.metrics
    (given,) = run.inputs.dataset_inputs
    assert given.dataset.name == "triplets.parquet"
    assert given.dataset.digest == hashlib.md5(b"rows").hexdigest()  # no lock: its own md5
    assert given.tags[0].value == "training"


REGISTER = """
import sys
from pathlib import Path
from koen.tracking.registry import register_all
done = register_all({"one": {"clir_ovr": 1.0, "mono_ovr": 1.0}}, ["one"],
                    {"one": Path(sys.argv[1])}, "koen", "champion", [], Path(sys.argv[2]), False)
print(done[0]["status"], done[0].get("version"))
"""


@pytest.mark.slow
def test_two_workers_registering_the_same_weights_make_one_version(tmp_path, mlflow_server):
    url = mlflow_server()
    model = tiny_model(tmp_path / "one", seed=1)
    (tmp_path / "register.py").write_text(REGISTER)
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "register.py", str(model), f"r{i}.json"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
             for i in (1, 2)]
    outputs = sorted(p.communicate(timeout=300)[0].split()[-2] for p in procs)
    assert outputs == ["exists", "registered"]  # one made the version, the other found it
    client = MlflowClient(url)
    (version,) = client.search_model_versions("name = 'koen'")
    assert client.get_model_version_by_alias("koen", "champion").version == version.version


RACER = """
import sys, time
from pathlib import Path
from koen.tracking import mlflow_log

me, other, meet_dir, mode, start = sys.argv[1:6]
keys = sys.argv[6:]
meet_dir = Path(meet_dir)


def arrive(step):
    (meet_dir / f"{step}.{me}").touch()


def wait_for(step, who):
    deadline = time.monotonic() + 60
    while not (meet_dir / f"{step}.{who}").exists():
        if time.monotonic() > deadline:  # SystemExit: log_run turns no Exception into pending
            sys.exit(f"{me}: {who} never reached {step!r}")
        time.sleep(0.01)


def meet(step):  # a barrier of the two processes
    arrive(step)
    wait_for(step, other)


real_tagged, real_keep = mlflow_log.tagged_runs, mlflow_log._keep_first
checked = set()


def tagged_runs(client, exp_id, tag, value):
    found = real_tagged(client, exp_id, tag, value)
    if (tag, value) not in checked:  # "already logged?": both pass it before either logs
        checked.add((tag, value))
        meet(f"checked {value}")
    return found


def keep_first(client, exp_id, tag, value, mine, **kwargs):
    if not (mode == "late-tag" and tag == "koen.key"):
        meet(f"made {value}")  # both runs exist before either reconciles
    first = mine if mode == "no-op" else real_keep(client, exp_id, tag, value, mine, **kwargs)
    arrive(f"kept {value}")
    return first


class Client(mlflow_log.MlflowClient):
    def set_tag(self, run_id, key, value, **kwargs):
        if mode == "late-tag" and key == "koen.key" and me == "early":
            wait_for(f"kept {value}", other)  # the other has logged and reconciled alone
        return super().set_tag(run_id, key, value, **kwargs)


mlflow_log.tagged_runs, mlflow_log._keep_first = tagged_runs, keep_first
mlflow_log.MlflowClient = Client
meet("start")
for key in keys:
    print("status", key, mlflow_log.log_run({"key": key, "name": key, "group": "commit-race",
                                   "start": int(start), "metrics": {"x": 1.0}}, "pending"))
"""


def race(tmp_path: Path, url: str, mode: str, keys: list[str]) -> dict[str, dict[str, str]]:
    """Two clones of a project (two roots, each with its own lock file) logging `keys` to one
    server at once, in two processes forced past the "already logged?" checks together.
    Returns what log_run said for each key in each process."""
    meet_dir = tmp_path / "meet"
    meet_dir.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "PYTHONPATH": str(ROOT)}
    now = int(time.time() * 1000)
    starts = {"early": now - 60_000, "late": now - 30_000}  # when each one's stage began
    procs = []
    for me, other in (("early", "late"), ("late", "early")):
        (tmp_path / me).mkdir()
        procs.append(subprocess.Popen(
            [sys.executable, "-c", RACER, me, other, str(meet_dir), mode, str(starts[me]),
             *keys], cwd=tmp_path / me, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-3000:] for _, err in outputs]
    for me in ("early", "late"):  # the lock of each root, which the other never took
        assert (tmp_path / me / mlflow_log.LOCK).exists()
    return {me: {line.split()[1]: line.split()[2] for line in out.splitlines()
                 if line.startswith("status ")} for me, (out, _) in zip(("early", "late"),
                                                                        outputs, strict=True)}


def key_and_group_runs(url: str, view: ViewType = ViewType.ACTIVE_ONLY) -> tuple[list, list]:
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name("koen-retrieval")
    found = client.search_runs([experiment.experiment_id], run_view_type=view)
    return ([r for r in found if "koen.key" in r.data.tags],
            [r for r in found if "koen.group" in r.data.tags])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["keep-first", "no-op", "late-tag"])
def test_two_clones_logging_the_same_keys_at_once_keep_one_run_of_each(tmp_path, mode,
                                                                        mlflow_server):
    """Across machines the lock file does not serialize the workers: both pass the "already
    logged?" check of every key and of the group before either logs, so both log each, and
    `_keep_first` must delete one of every pair.

    keep-first: both runs of a key are tagged before either process reconciles. no-op:
    `_keep_first` does nothing, and the test sees the duplicates. late-tag: the clone whose
    stage started later logs and reconciles each key before the other tags its run, so it keeps
    its own; the other, whose run sorts first, deletes it."""
    url = mlflow_server()
    keys = ["same-0", "same-1"]
    outputs = race(tmp_path, url, mode, keys)
    children, parents = key_and_group_runs(url)
    if mode == "no-op":
        assert sorted(r.data.tags["koen.key"] for r in children) == sorted(keys * 2)
        assert len(parents) == 2
        return
    assert sorted(r.data.tags["koen.key"] for r in children) == keys
    (parent,) = parents
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children)
    # each process logged each key, and one run of every pair (and one parent) was deleted
    deleted_children, deleted_parents = key_and_group_runs(url, ViewType.DELETED_ONLY)
    assert sorted(r.data.tags["koen.key"] for r in deleted_children) == keys
    assert len(deleted_parents) == 1
    if mode == "keep-first":  # the one that deleted its run says so
        for key in keys:
            assert sorted(said[key] for said in outputs.values()) == ["exists", "logged"], \
                outputs


def test_the_parent_is_named_for_people_and_holds_the_headline(tmp_path, monkeypatch):
    """The runs table opens on the parent row: `<branch> @ <short commit>` (the DVC experiment's
    name under `dvc exp run`), with the figures the report puts on it; the group stays the full
    commit, so every stage of the commit still finds it."""
    subprocess.run(["git", "init", "-q", "-b", "study"], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    uri = f"sqlite:///{tmp_path}/named.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    first = stage_record("k1", "evaluate base lohelp", {"stage": "evaluate"},
                         metrics={"ndcg@10": 50.0})
    assert first["group"] == commit and first["tags"]["git_commit"] == commit
    assert first["group_name"] == f"study @ {commit[:7]}"
    assert log_run(first, tmp_path / "pending") == "logged"
    report = stage_record("k2", "report", {"stage": "report"},
                          group_metrics={"base/clir_ovr": 44.18, "koenen+base/mono_ovr": 72.15})
    assert log_run(report, tmp_path / "pending") == "logged"
    (parent,) = [r for r in runs(uri) if "koen.group" in r.data.tags]
    assert parent.info.run_name == f"study @ {commit[:7]}"
    assert parent.data.tags["koen.group"] == commit
    assert parent.data.metrics == {"base/clir_ovr": 44.18, "koenen_base/mono_ovr": 72.15}
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children(uri))
    monkeypatch.setenv("DVC_EXP_NAME", "lr-sweep")
    assert stage_record("k3", "x", {})["group_name"] == f"lr-sweep @ {commit[:7]}"
