"""The project files a stage's command imports, read with `ast`: what its code deps must cover
(the deps tests check dvc.yaml against it) and what its run key hashes, from one function.

Imports are followed transitively over the project's own packages, module-level and
function-level alike; `from a import b` counts a.b too, as b may be a module.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

PACKAGES = ("stages", "koen")
ROOT = Path(__file__).resolve().parents[2]  # the project: koen/ and stages/ sit here


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
    """Modules `path` imports, `from a import b` counting as a.b too."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
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
    """Project files (relative to `root`) that `python -m module` imports, with every package
    __init__ on the way."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # a.b.c runs a, a.b
        path = module_file(root, name)
        if path is None:
            continue
        files.add(path.relative_to(root))
        todo.extend(imported_modules(path, name))
    return files


def entry_module(default: str) -> str:
    """The stage module this process runs (`python -m stages.sweep` evaluates too), else
    `default` (the library called from elsewhere, e.g. a test)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return spec.name if spec is not None and spec.name.startswith("stages.") else default


def code_digest(module: str, root: Path = ROOT) -> str:
    """sha256 over the names and bytes of every file `module` imports: the code part of a run
    key, so an edit anywhere a stage reaches is new work, and nowhere else."""
    h = hashlib.sha256()
    for rel in sorted(closure(root, module)):
        h.update(f"{rel}\n".encode())
        h.update(hashlib.sha256((root / rel).read_bytes()).digest())
    return h.hexdigest()
