"""What produced a result: content digests, the git commit, the MLflow group of a run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

TRAIN_INFO = "train_info.json"  # the train stage's record inside a model directory
MERGE_INFO = "merge_info.json"  # the merge stage's record inside a model directory


def files_digest(*paths: Path) -> str:
    """sha256 over the bytes of `paths`, in the order given."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def model_digest(model_dir: Path) -> str:
    """Digest of a model directory's files (names and bytes), except its training record.

    Computed from the files rather than taken from dvc.lock, which is stale whenever a model
    is rebuilt by hand; hashing ~250 MB of weights takes well under a second.
    """
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.name != TRAIN_INFO)
    names = hashlib.sha256("\n".join(str(p.relative_to(model_dir)) for p in files).encode())
    return hashlib.sha256((names.hexdigest() + files_digest(*files)).encode()).hexdigest()


def json_digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def git_commit() -> str | None:
    """HEAD of the working directory's repository; None outside git or before a commit."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def run_group(commit: str | None) -> str | None:
    """MLflow parent of a run: the DVC experiment under `dvc exp run`, else the commit."""
    return os.environ.get("DVC_EXP_NAME") or commit


def group_name(commit: str | None) -> str | None:
    """The parent run's name, for people: `<experiment> @ <short commit>` under `dvc exp run`,
    else `<branch> @ <short commit>` (the group itself stays the full commit, its tag)."""
    if commit is None:
        return os.environ.get("DVC_EXP_NAME")
    where = os.environ.get("DVC_EXP_NAME")
    if not where:
        try:
            where = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"],
                                   capture_output=True, text=True, timeout=30,
                                   check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            where = None
    return f"{where} @ {commit[:7]}" if where and where != "HEAD" else commit[:7]
