"""Log stage results to MLflow without ever making a stage fail.

A record is first saved as JSON under a pending directory, so a result produced while MLflow is
down is kept: `python -m koen.tracking sync` logs it later. Each record carries an idempotency
key (tag `koen.key`), so logging or syncing twice never duplicates a run. Runs of one group (a
commit, a DVC experiment) are children of one parent run, found again by its tag `koen.group`.

A run spans its stage: it starts when the stage process started and ends when the stage logs,
with the CPU, memory (and GPU) use sampled over the stage (`begin_stage`) as MLflow's system
metrics, and the data it read as MLflow dataset inputs (`dataset`, digest: the DVC md5).

Several workers may log at once (`dvc queue start -j 2`, clones sharing one server). Creating a
group's parent is serialized between the processes of one machine (a lock file in the project),
and every worker reconciles afterwards: of the parents (or the runs of one key) it finds, the
earliest created is kept, and a worker that made a later one deletes its own, so every group has
one parent and every key one run, also across machines.

The default store and the pending directory belong to the project, not to the working
directory: `dvc exp run --queue` / `--temp` run the stages in a copy under
`<project>/.dvc/tmp/exps/`, which DVC deletes afterwards; a relative `sqlite:///mlflow.db` there
would be a new, lost database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.system_metrics.metrics.cpu_monitor import CPUMonitor
from mlflow.system_metrics.metrics.gpu_monitor import GPUMonitor

from koen.repro.atomic import write_json
from koen.repro.provenance import git_commit, group_name, run_group
from koen.tracking.tags import dvc_md5, machine_tags

DEFAULT_STORE = "mlflow.db"  # sqlite, in the project root
DEFAULT_EXPERIMENT = "koen-retrieval"
# MLflow 3's UI opens an experiment of this kind on its runs table (GenAI ones on traces).
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
DVC_TEMP = (".dvc", "tmp", "exps")  # where DVC's queued and --temp experiments run
DEFAULT_PENDING = Path("metrics/mlflow_pending")
# mlflow's defaults retry 7 times with backoff (minutes) and wait 120 s per request.
FAIL_FAST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
LOCK = ".koen-mlflow.lock"  # in the project root: one worker logs at a time on one machine
LOCK_SECONDS = 600  # waiting longer leaves the run pending for `sync`
SAMPLE_SECONDS = 10.0  # MLflow's own system-metrics interval


class StageMonitor:
    """CPU, memory and GPU use of the machine while a stage runs, sampled in a daemon thread
    with MLflow's own monitors (the GPU's where NVML finds one), for the stage's runs."""

    def __init__(self, interval: float = SAMPLE_SECONDS) -> None:
        self.start = int(time.time() * 1000)
        self.samples: list[tuple[int, dict[str, float]]] = []
        self.monitors: list[Any] = [CPUMonitor()]
        with contextlib.suppress(ImportError, RuntimeError):  # no NVML, no GPU: CPU, memory
            self.monitors.append(GPUMonitor())
        self.interval, self._stop = interval, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def sample(self) -> None:
        values: dict[str, float] = {}
        for monitor in self.monitors:
            monitor.collect_metrics()
            values |= monitor.aggregate_metrics()
            monitor.clear_metrics()
        self.samples.append((int(time.time() * 1000), values))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def metrics(self) -> list[list[Any]]:
        """[name, value, timestamp, step] of every sample so far (one taken now besides)."""
        self.sample()
        return [[f"system/{name}", value, at, step] for step, (at, values)
                in enumerate(self.samples) for name, value in values.items()]


_stage: StageMonitor | None = None


def begin_stage() -> StageMonitor:
    """Start timing and sampling this stage process (its runs span it); call it first."""
    global _stage
    if _stage is None:
        _stage = StageMonitor()
    return _stage


def dataset(path: Path | str, context: str, lock: Path = Path("dvc.lock")) -> dict[str, str]:
    """An MLflow dataset input of a stage's data: its path, and as digest the md5 DVC recorded
    for it (a file's own md5 where the lock has none)."""
    path = Path(path)
    digest = dvc_md5(path, lock)
    if digest is None and path.is_file():
        digest = hashlib.md5(path.read_bytes()).hexdigest()
    return {"name": path.name, "path": str(path), "digest": digest or "unknown",
            "context": context}


def project_root(cwd: Path | None = None) -> Path:
    """The project a stage works for: `cwd`, or the project whose DVC experiment copy it is."""
    path = (cwd or Path.cwd()).resolve()
    parts = path.parts
    for i in range(len(parts) - len(DVC_TEMP)):
        if parts[i:i + len(DVC_TEMP)] == DVC_TEMP:
            return Path(*parts[:i])
    return path


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI, else the project's sqlite store (an absolute path)."""
    return (os.environ.get("MLFLOW_TRACKING_URI")
            or f"sqlite:///{project_root() / DEFAULT_STORE}")


def in_project(path: Path | str) -> Path:
    """A relative path of params.yaml (the pending directory) taken in the project root."""
    return project_root() / path if not Path(path).is_absolute() else Path(path)


def experiment_name() -> str:
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT


def pending_file(pending_dir: Path | str, key: str) -> Path:
    """A file name safe on any filesystem; the hash keeps two keys from sharing one."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:100]
    return Path(pending_dir) / f"{safe}-{hashlib.sha1(key.encode()).hexdigest()[:8]}.json"


def mlflow_name(name: str) -> str:
    """MLflow refuses '@' and most punctuation in metric and param names: ndcg@10 -> ndcg_at_10."""
    return re.sub(r"[^/\w.\- :]", "_", name.replace("@", "_at_"))


def _flat(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params (as in params.yaml) become dotted keys."""
    out = {}
    for k, v in params.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """Shorten mlflow's HTTP retries and timeout for one attempt, unless the user set them."""
    added = [k for k in FAIL_FAST if k not in os.environ]
    os.environ.update({k: FAIL_FAST[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def experiment_id(client: MlflowClient) -> str:
    """The project's experiment, created as a model-training one if missing (another worker
    creating it at the same moment is fine: its experiment is used)."""
    experiment = client.get_experiment_by_name(experiment_name())
    if experiment is None:
        # with the default store, artifacts too go to the project, not a DVC temp copy
        location = (None if os.environ.get("MLFLOW_TRACKING_URI")
                    else (project_root() / "mlruns" / experiment_name()).as_uri())
        try:
            return client.create_experiment(experiment_name(), artifact_location=location,
                                            tags=EXPERIMENT_TAGS)
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(experiment_name())
    for k, v in EXPERIMENT_TAGS.items():
        if k not in experiment.tags:  # a store made before; never override a user's choice
            client.set_experiment_tag(experiment.experiment_id, k, v)
    return experiment.experiment_id


def tagged_runs(client: Any, exp_id: str, tag: str, value: str) -> list[Any]:
    """The runs tagged `tag = value`, earliest created first (the one every worker keeps)."""
    runs = client.search_runs([exp_id], f"tags.`{tag}` = '{value}'", max_results=1000)
    return sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id))


def _keep_first(client: Any, exp_id: str, tag: str, value: str, mine: str,
                every_later: bool = True) -> str:
    """The earliest run tagged `tag = value`; the later ones are deleted, whoever made them (a
    worker that finished logging before an earlier-started one tagged its run saw only its own),
    or with `every_later=False` only `mine` (a parent: later ones may already hold children)."""
    first, *later = tagged_runs(client, exp_id, tag, value)
    for run in later:
        if every_later or run.info.run_id == mine:
            with contextlib.suppress(MlflowException):  # the other worker deleted it first
                client.delete_run(run.info.run_id)
    return first.info.run_id


def _parent_run(client: Any, exp_id: str, group: str, name: str | None) -> str:
    """The group's parent run, created (named `name`) the first time the group is seen."""
    if found := tagged_runs(client, exp_id, "koen.group", group):
        return found[0].info.run_id
    run_id = client.create_run(exp_id, run_name=name or group,
                               tags={"koen.group": group}).info.run_id
    client.set_terminated(run_id)
    return _keep_first(client, exp_id, "koen.group", group, run_id, every_later=False)


def _log(record: dict[str, Any], uri: str) -> str:
    """Log one record; raises on any failure. Returns "logged" or "exists".

    Workers of one machine (DVC queue workers) log one at a time, so a record or a parent two
    of them log at once is made once. Workers of several machines share no lock: each checks
    after logging and deletes every run of the record but the earliest (`_keep_first`): the
    worker that tags last sees them all."""
    client = MlflowClient(uri)
    exp_id = experiment_id(client)
    with FileLock(str(project_root() / LOCK), timeout=LOCK_SECONDS):
        return _log_locked(client, exp_id, record)


def _log_locked(client: Any, exp_id: str, record: dict[str, Any]) -> str:
    key = record["key"]
    if tagged_runs(client, exp_id, "koen.key", key):
        return "exists"

    tags = {k: str(v) for k, v in record.get("tags", {}).items()}
    if group := record.get("group"):
        parent = _parent_run(client, exp_id, group, record.get("group_name"))
        tags["mlflow.parentRunId"] = parent
        if headline := record.get("group_metrics"):  # the parent row's figures: the newest
            now = int(time.time() * 1000)
            client.log_batch(parent, metrics=[Metric(mlflow_name(k), float(v), now, 0)
                                              for k, v in headline.items()])
    start, end = record.get("start"), record.get("end")
    run_id = client.create_run(exp_id, run_name=record["name"], tags=tags,
                               start_time=start).info.run_id

    now = end or int(time.time() * 1000)
    metrics = [Metric(mlflow_name(k), float(v), now, 0)
               for k, v in record.get("metrics", {}).items()]
    metrics += [Metric(mlflow_name(k), float(v), now, int(step))
                for k, points in record.get("steps", {}).items() for step, v in points]
    metrics += [Metric(k, float(v), int(at), int(step))
                for k, v, at, step in record.get("system", [])]
    params = [Param(mlflow_name(k), str(v)) for k, v in _flat(record.get("params", {})).items()]
    client.log_batch(run_id, metrics=metrics, params=params)
    if data := record.get("datasets"):
        client.log_inputs(run_id, datasets=[
            DatasetInput(Dataset(d["name"], d["digest"], "local", json.dumps({"uri": d["path"]})),
                         tags=[InputTag("mlflow.data.context", d["context"])]) for d in data])
    for item in record.get("artifacts", []):  # a path, or [path, folder in the run]
        path, folder = (item, None) if isinstance(item, str) else item
        if Path(path).is_file():
            client.log_artifact(run_id, str(path), folder)
    # The key goes on last: a run cut off halfway has none, so the record is logged again.
    client.set_tag(run_id, "koen.key", key)
    client.set_terminated(run_id, end_time=end)
    if _keep_first(client, exp_id, "koen.key", key, run_id) != run_id:
        return "exists"  # another worker logged the same record first
    return "logged"


def short(text: str, keep: int = 120) -> str:
    """One line; both ends kept, since the cause of a connection error comes last."""
    text = " ".join(text.split())
    return text if len(text) <= 2 * keep else f"{text[:keep]} ... {text[-keep:]}"


def _attempt(record: dict[str, Any], pending: Path) -> str:
    """Log a pending record and delete its file, or leave it there and say so on one line."""
    uri = tracking_uri()
    try:
        with fail_fast():
            status = _log(record, uri)
    except Exception as err:  # never let tracking fail a stage
        reason = short(f"{type(err).__name__}: {err}")
        print(f"mlflow: could not log to {uri} ({reason}); run kept in {pending}; log it later "
              f"with: python -m koen.tracking sync --pending {pending.parent}", file=sys.stderr)
        return "pending"
    pending.unlink(missing_ok=True)
    return status


def stage_record(key: str, name: str, tags: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A stage's MLflow record: its key, name and tags, with what every record carries: the
    commit (tag `git_commit`) and the group whose parent run holds it (the DVC experiment or
    the commit), named for people (`main @ c4b2d62`). `fields`: see `log_run`."""
    commit = git_commit()
    record = {"key": key, "name": name,
              "tags": {**tags, **({"git_commit": commit} if commit else {})}, **fields}
    if group := run_group(commit):
        record |= {"group": group, "group_name": group_name(commit)}
    return record


def log_run(record: dict[str, Any], pending_dir: Path | str) -> str:
    """Save `record` under `pending_dir`, then log it: "logged", "exists" or "pending".

    record: {"key", "name", "group", "group_name", "group_metrics" (the parent row's figures),
    "params", "metrics", "tags", "artifacts" (paths, or [path, folder] pairs), "steps":
    {"train_loss": [[step, value], ...]}, "datasets": [`dataset(...)`, ...]}; only "key" and
    "name" are required; `stage_record` makes one. The run's start is the stage
    process's (`begin_stage`, else the process's start), its end now, with the system metrics
    sampled in between; the machine that computed it is tagged (`machine.*`).
    """
    monitor = _stage
    start = monitor.start if monitor else int(psutil.Process().create_time() * 1000)
    record = {"start": start, "end": int(time.time() * 1000),
              **({"system": monitor.metrics()} if monitor else {}), **record,
              "tags": machine_tags() | record.get("tags", {})}
    pending = pending_file(in_project(pending_dir), record["key"])
    write_json(pending, record)
    return _attempt(record, pending)


def sync(pending_dir: Path | str) -> dict[str, int]:
    """Log every pending record; returns how many were logged, already there, still pending."""
    counts = {"logged": 0, "exists": 0, "pending": 0}
    for pending in sorted(in_project(pending_dir).glob("*.json")):
        counts[_attempt(json.loads(pending.read_text(encoding="utf-8")), pending)] += 1
    return counts
