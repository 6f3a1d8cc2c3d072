"""What a stage's command imports (`koen.repro.closure`, which the run keys hash too) and what
its dvc.yaml entry declares; the stages are expanded by DVC itself (foreach, matrix, vars)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from dvc.dependency.param import ParamsDependency
from dvc.repo import Repo

from koen.repro.closure import closure


def command_modules(cmd: str | list[str]) -> list[str]:
    """The `python -m <module>` modules a stage's command (or list of commands) runs."""
    cmds = [cmd] if isinstance(cmd, str) else cmd
    modules = []
    for c in cmds:
        words = shlex.split(c)
        modules += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-m"]
    return modules


def stages(root: Path) -> dict[str, dict]:
    """Every expanded stage: its command, deps (paths) and declared params."""
    out = {}
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            params = [p for d in stage.deps if isinstance(d, ParamsDependency) for p in d.params]
            deps = [d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)]
            out[stage.name] = {"cmd": stage.cmd, "deps": deps, "params": params}
    return out


def covered(path: Path, deps: list[str]) -> bool:
    return any(path == Path(d) or Path(d) in path.parents for d in deps)


def missing_deps(root: Path) -> dict[str, list[str]]:
    """Per stage, the project files its command imports that its deps do not cover."""
    out = {}
    for name, stage in stages(root).items():
        files = set().union(*(closure(root, m) for m in command_modules(stage["cmd"])))
        missing = sorted(str(f) for f in files if not covered(f, stage["deps"]))
        if missing:
            out[name] = missing
    return out


def interpolated_keys(root: Path, stage: str) -> set[str]:
    """Params keys a stage's dvc.yaml definition interpolates (`${train.grid_dir}`): a change
    of those changes the stage itself, so DVC reruns it as surely as for a declared param."""
    text = (root / "dvc.yaml").read_text(encoding="utf-8")
    block = re.search(rf"^  {re.escape(stage.split('@')[0])}:\n((?:    .*\n|\s*\n)*)", text,
                      re.MULTILINE)
    return set(re.findall(r"\$\{([^}]+)\}", block.group(1))) if block else set()


def declared(key: str, params: list[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in params)
