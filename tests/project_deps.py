"""What a stage's command imports, and what its dvc.yaml entry declares, read from the real files.

Imports are read with `ast` (module-level and function-level alike), transitively, over the
project's own packages; the stages are expanded by DVC itself (foreach, matrix, vars).
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

from dvc.dependency.param import ParamsDependency
from dvc.repo import Repo

PACKAGES = ("stages", "koen")


def module_file(root: Path, module: str) -> Path | None:
    """The source file of a project module (`koen.data`: its __init__.py), else None."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(path: Path, module: str) -> set[str]:
    """Modules `path` imports, `from a import b` counting as a.b too (b may be a module)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                prefix = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{prefix}.{node.module}" if node.module else prefix
            else:
                base = node.module or ""
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return found


def closure(root: Path, module: str) -> set[Path]:
    """Project files that running `python -m module` imports, with every package __init__."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        for i in range(1, len(parts)):  # importing a.b.c runs a/__init__ and a/b/__init__
            todo.append(".".join(parts[:i]))
        path = module_file(root, name)
        if path is None:
            continue
        files.add(path.relative_to(root))
        todo.extend(imported_modules(path, name))
    return files


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
