from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


class Project:
    """A throwaway copy of this repository (its own git and DVC) for running real stages."""

    def __init__(self, root: Path):
        self.root = root
        venv_bin = str(Path(sys.executable).parent)
        self.env = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}",
                    "MLFLOW_TRACKING_URI": f"sqlite:///{root}/mlflow.db",
                    "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, text=True, capture_output=True)
        if check and proc.returncode:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(Path(sys.executable).parent / "dvc"), *args, check=check)

    def set_params(self, **sections: dict) -> None:
        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        for name, values in sections.items():
            if isinstance(values, dict) and isinstance(params.get(name), dict):
                params[name].update(values)
            else:
                params[name] = values
        path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))

    def commit(self, message: str = "test") -> None:
        self.run("git", "add", "-A")
        self.run("git", "commit", "-qm", message, "--allow-empty")


def copy_project(dest: Path) -> Project:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        generated = name.startswith(("data/", "models/")) and not name.startswith("data/raw/")
        if src.is_file() and not generated and not name.startswith(("tests/", "bench/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    project = Project(dest)
    project.run("git", "init", "-q")
    project.commit("copy")
    return project


SMALL_PREPARE = {"test_queries": 60, "dev_queries": 20, "train_triplets": 200}


@pytest.fixture
def project(tmp_path) -> Project:
    """A copy of the repository with the small test profile of params."""
    p = copy_project(tmp_path / "repo")
    p.set_params(prepare=SMALL_PREPARE)
    p.commit("small params")
    return p
