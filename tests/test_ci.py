"""What CI checks besides the tests: dvc.lock belongs to the committed code and params (so the
committed metrics do), and the example workflow for users runs as written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import copy_project

ROOT = Path(__file__).resolve().parents[1]
DVC = str(Path(sys.executable).parent / "dvc")


def outputs(root: Path) -> set[Path]:
    """Every path a stage of dvc.lock writes."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    return {Path(out["path"]) for stage in lock.values() for out in stage.get("outs", [])}


def held_by_git(root: Path, dep: str, outs: set[Path]) -> bool:
    """A file git tracks, or a folder of them with no stage's output inside (a folder of
    outputs, such as data/runs, holds only their .gitignore files in a fresh clone)."""
    path = Path(dep)
    if any(out == path or path in out.parents for out in outs):
        return False
    return (root / dep).exists() and subprocess.run(
        ["git", "ls-files", "--error-unmatch", dep], cwd=root, capture_output=True).returncode == 0


def stale_stages(root: Path) -> dict[str, list]:
    """Stages whose command, params or code changed since dvc.lock was written. Missing data
    and models (a fresh clone has none) are not staleness: only what git holds counts."""
    status = json.loads(subprocess.run([DVC, "status", "--json"], cwd=root, check=True,
                                       capture_output=True, text=True).stdout or "{}")
    outs = outputs(root)
    stale = {}
    for stage, changes in status.items():
        found = []
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict):
                continue
            found += [k for k in ("changed command",) if k in change]
            found += [f"params {p}" for p in (change.get("changed params") or {})]
            for dep, how in (change.get("changed deps") or {}).items():
                if isinstance(how, dict):  # params.yaml: keys changed
                    found += [f"params {k}" for k in how]
                elif how == "modified" and held_by_git(root, dep, outs):
                    found.append(f"code {dep}")
        if found:
            stale[stage] = found
    return stale


def test_the_lock_belongs_to_the_committed_code_and_params():
    """A change to a stage's code, params or command without a rerun fails CI: the committed
    metrics would not be the committed code's."""
    assert stale_stages(ROOT) == {}


def test_a_code_change_without_a_rerun_is_found(tmp_path):
    project = copy_project(tmp_path / "repo")  # with the committed dvc.lock
    with open(project.root / "koen/report/frontier.py", "a") as f:
        f.write("\n# changed\n")
    project.set_params(report={"alpha": 0.01})
    stale = stale_stages(project.root)
    assert "code koen/report" in stale["report"]  # the stage depends on the package folder
    assert "params report" in stale["report"] or "params report.alpha" in stale["report"]
    assert "train@kokoen" not in stale


def test_the_example_workflow_runs_as_written(tmp_path):
    """docs/ci/github-actions.yml: its steps are `make test` (this suite) and a metrics diff
    against the target branch, run here on a copy whose branch moved one figure."""
    steps = yaml.safe_load((ROOT / "docs/ci/github-actions.yml").read_text())["jobs"]["test"][
        "steps"]
    commands = [s["run"] for s in steps if "run" in s]
    assert commands[0] == "make test"
    project = copy_project(tmp_path / "repo")
    project.run("git", "branch", "-M", "main")
    project.run("git", "remote", "add", "origin", str(project.root))
    project.run("git", "fetch", "-q", "origin")
    project.run("git", "checkout", "-qb", "change")
    metrics = project.root / "metrics/overall.json"
    figures = json.loads(metrics.read_text())
    figures["base"]["clir_ovr"] += 1.0
    metrics.write_text(json.dumps(figures, indent=2))
    project.commit("moved")
    summary = tmp_path / "summary.md"
    env = {**project.env, "GITHUB_BASE_REF": "main", "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    (project.root / ".venv").symlink_to(Path(sys.executable).parents[1])
    subprocess.run(commands[1], shell=True, cwd=project.root, env=env, check=True)
    table = summary.read_text()
    assert "metrics/overall.json" in table and "base.clir_ovr" in table and "1.0" in table
