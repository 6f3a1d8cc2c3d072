from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from koen.tracking import mlflow_log

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the `longest` tests first, each followed by one short test, and the `last` ones at
    the end: xdist's load scheduler (`make test`: `-n 2 --maxschedchunk 1`) hands each worker
    two consecutive tests at the start, so one worker begins with the long test while the other
    works through the short ones; the `last` tests, which start from what the long one builds,
    come once the short ones are done."""
    longest = [item for item in items if item.get_closest_marker("longest")]
    last = [item for item in items if item.get_closest_marker("last")]
    rest = [item for item in items if item not in longest and item not in last]
    order = []
    for item in longest:
        order += [item, *rest[:1]]
        rest = rest[1:]
    items[:] = order + rest + last


@pytest.fixture(autouse=True)
def no_stage_monitor(monkeypatch) -> None:
    """A stage main() run in this worker started the stage's system-metrics sampler
    (mlflow_log.begin_stage); each test starts without one, as a stage process does."""
    monkeypatch.setattr(mlflow_log, "_stage", None)


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

    def set_params(self, replace: tuple[str, ...] = (), **sections: dict) -> None:
        """Update params sections key by key; sections named in `replace` are replaced whole."""
        path = self.root / "params.yaml"
        params = yaml.safe_load(path.read_text())
        for name, values in sections.items():
            if isinstance(values, dict) and isinstance(params.get(name), dict) \
                    and name not in replace:
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
        generated = (name.startswith(("data/", "models/"))
                     and not name.startswith(("data/raw/", "data/help/")))
        if src.is_file() and not generated and not name.startswith(("tests/", "bench/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    project = Project(dest)
    project.run("git", "init", "-q")
    project.commit("copy")
    return project


SMALL_PREPARE = {"test_queries": 60, "dev_queries": 20, "train_triplets": 200}


@pytest.fixture(scope="session")
def dvc_cache(tmp_path_factory) -> Path:
    """One DVC cache for every copy: its run-cache restores stages already run by another test."""
    return tmp_path_factory.mktemp("dvc-cache")


@pytest.fixture
def project(tmp_path, dvc_cache) -> Project:
    """A copy of the repository with the small test profile of params."""
    p = copy_project(tmp_path / "repo")
    p.dvc("cache", "dir", "--local", str(dvc_cache))
    p.set_params(prepare=SMALL_PREPARE)
    p.commit("small params")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path) -> Iterator[Callable[..., str]]:
    """Start a real `mlflow server` (on a given port or a free one); returns its URL.

    Every server started is stopped at teardown.
    """
    procs: list[subprocess.Popen] = []

    def start(port: int | None = None) -> str:
        port = port or free_port()
        root = tmp_path / f"mlflow-server-{port}"
        root.mkdir()
        log = root / "server.log"
        with open(log, "w") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                 f"sqlite:///{root}/srv.db", "--default-artifact-root", str(root / "art"),
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                # No job runner: starts in half the time and leaves no dirs in /dev/shm.
                env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if procs[-1].poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    return url
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"mlflow server not healthy in 60 s:\n{log.read_text()[-3000:]}")

    yield start
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: workers stop too
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
