"""Log chosen models to MLflow as sentence-transformers models and register them.

Only what a user would deploy goes into the MLflow store: the best merge (by the mean of its
CLIR and Mono OVR) and the systems named in `tracking.register.also`; the grid stays a DVC
output. Registering the same weights again makes no new version: a version's run carries the
model's content digest (tag `koen.key`, set as the version is created), and the alias is only
moved. Two workers registering the same weights at once both make a version; the later one
(its number is higher, and the earlier one exists with its tag by then) deletes its own.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import sentence_transformers
import torch
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from koen.errors import MissingError
from koen.models.load import load_model
from koen.repro.atomic import write_json
from koen.repro.provenance import model_digest
from koen.tracking.mlflow_log import (
    experiment_id,
    fail_fast,
    short,
    stage_record,
    tagged_runs,
    tracking_uri,
)
from koen.tracking.tags import system_tags

Metrics = dict[str, dict[str, float]]


def best_merge(metrics: Metrics, merges: list[str]) -> str:
    """The merge with the highest mean of CLIR OVR and Mono OVR."""
    scored = [m for m in merges if m in metrics]
    if not scored:
        raise MissingError(f"register: none of the merges {', '.join(merges)} is evaluated yet")
    return max(scored, key=lambda m: (metrics[m]["clir_ovr"] + metrics[m]["mono_ovr"]) / 2)


def existing_version(client: MlflowClient, registered: str, key: str) -> str | None:
    """The first version of `registered` made of the weights with digest `key`, if any."""
    found = [int(v.version) for v in client.search_model_versions(f"name = '{registered}'")
             if v.tags.get("koen.key") == key]
    return str(min(found)) if found else None


def create_registered(client: MlflowClient, registered: str) -> None:
    """The registered model, created unless it exists (another worker may create it now)."""
    if client.search_registered_models(f"name = '{registered}'"):
        return
    try:
        client.create_registered_model(registered)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def register(system: str, model_dir: Path, registered: str, alias: str | None,
             metrics: dict[str, float], trust_remote_code: bool) -> dict:
    """Log `model_dir` as a sentence-transformers MLflow model, register it as a version of
    `registered` (unless those weights are there already) and point `alias` at it."""
    key = f"register/{model_digest(model_dir)}"
    mlflow.set_tracking_uri(tracking_uri())
    client = MlflowClient()
    exp_id = experiment_id(client)
    create_registered(client, registered)
    version = existing_version(client, registered, key)
    status = "exists"
    if version is None:
        record = stage_record(key, f"register {system}",
                              {"stage": "register", "model": system, **system_tags(model_dir)})
        tags = record["tags"]
        group = record.get("group")
        if parents := group and tagged_runs(client, exp_id, "koen.group", group):
            # nested with the other runs of the commit or experiment
            tags["mlflow.parentRunId"] = parents[0].info.run_id
        with mlflow.start_run(experiment_id=exp_id, run_name=f"register {system}",
                              tags=tags) as run:
            mlflow.log_metrics({k: v for k, v in metrics.items() if k in ("clir_ovr",
                                                                            "mono_ovr")})
            logged = mlflow.sentence_transformers.log_model(
                load_model(model_dir, "cpu", trust_remote_code), name="model",
                pip_requirements=[f"sentence-transformers=={sentence_transformers.__version__}",
                                  f"torch=={torch.__version__.split('+')[0]}"])
            # tagged as it is made, after the weights are logged: no version lacks its key
            version = mlflow.register_model(logged.model_uri, registered,
                                            tags={"koen.key": key}).version
            mlflow.set_tag("koen.key", key)
        status = "registered"
        first = existing_version(client, registered, key)
        if int(first) != int(version):  # another worker's version came first
            client.delete_model_version(registered, version)
            client.delete_run(run.info.run_id)
            version, status = first, "exists"
    if alias:
        client.set_registered_model_alias(registered, alias, version)
    return {"system": system, "model_dir": str(model_dir), "registered_model": registered,
            "version": int(version), "alias": alias, "status": status}


def register_all(metrics: Metrics, merges: list[str], systems: dict[str, Path], name: str,
                 alias: str, also: list[str], out: Path, trust_remote_code: bool) -> list[dict]:
    """Register the best merge (with `alias`) and the `also` systems; write what was done to
    `out`. MLflow being unreachable is reported there and on stderr, not raised."""
    best = best_merge(metrics, merges)
    todo = [(best, name, alias)] + [(s, f"{name}-{s}", None) for s in also]
    done = []
    for system, registered, tag in todo:
        try:
            with fail_fast():
                done.append(register(system, systems[system], registered, tag,
                                     metrics.get(system, {}), trust_remote_code))
        except Exception as err:  # tracking never fails the pipeline
            reason = short(f"{type(err).__name__}: {err}")
            print(f"register: could not register {system} in {tracking_uri()} ({reason}); "
                  "rerun with dvc repro -f -s register")
            done.append({"system": system, "registered_model": registered,
                         "status": f"not registered: {reason}"})
    write_json(out, done)
    return done
