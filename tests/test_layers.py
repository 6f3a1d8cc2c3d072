"""The library's packages form layers: no package imports one that imports it back, and
`koen.config` (params, read by every stage) imports nothing of the library, so an edit above it
never reruns what only depends on config."""

from __future__ import annotations

import shutil
import sys
import tomllib
from graphlib import CycleError, TopologicalSorter
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from koen.config.methods import OPTIONS
from koen.merging.methods import METHODS
from koen.repro.closure import imported_modules

ROOT = Path(__file__).resolve().parents[1]


def package_of(module: str) -> str | None:
    """`koen.data.parallel` -> `data`; `koen.errors` -> `errors`; not the library: None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "koen" and len(parts) > 1 else None


def package_imports(root: Path) -> dict[str, set[str]]:
    """Each koen package (or top-level module) and the other ones it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / "koen").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        own = package_of(module)
        if own is None:
            continue
        found = {package_of(m) for m in imported_modules(path, module)}
        graph.setdefault(own, set()).update(p for p in found if p and p != own)
    return graph


def layers(root: Path) -> list[str]:
    """The packages bottom first; a circle raises CycleError naming it."""
    return list(TopologicalSorter(package_imports(root)).static_order())


def test_the_packages_form_layers_with_no_circle():
    order = layers(ROOT)
    assert order.index("config") < order.index("data") < order.index("evaluation")
    assert order.index("formats") < order.index("retrieval") < order.index("evaluation")
    assert order.index("evaluation") < order.index("studies")


def test_config_imports_nothing_of_the_library():
    assert package_imports(ROOT)["config"] == set()


def test_the_bottom_imports_only_the_bottom():
    graph = package_imports(ROOT)
    assert graph["formats"] <= {"config", "repro", "errors"}
    assert graph["repro"] <= {"errors"}
    assert graph["errors"] == set()


def test_a_circle_is_found_and_named(tmp_path):
    shutil.copytree(ROOT / "koen", tmp_path / "koen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "koen/formats/trec.py", "a") as f:
        f.write("\nfrom koen.evaluation.metrics import ir_metrics  # noqa\n")
    with pytest.raises(CycleError) as err:
        layers(tmp_path)
    assert {"formats", "evaluation"} <= set(err.value.args[1])


def test_config_knows_exactly_the_merge_methods_merging_implements():
    assert set(METHODS) == set(OPTIONS)


def imported_packages(root: Path) -> set[str]:
    """Top-level modules that koen/ and stages/ import from outside the project and stdlib."""
    found = set()
    for path in [*(root / "koen").rglob("*.py"), *(root / "stages").rglob("*.py")]:
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        found |= {m.split(".")[0] for m in imported_modules(path, module) if m}
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("koen", "stages")}


def test_every_package_the_library_imports_is_declared():
    """A clean install gets what koen imports from pyproject's own list, not by luck through
    another package's dependencies."""
    declared = {canonicalize_name(Requirement(r).name)
                for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
                    "dependencies"]}
    providers = packages_distributions()
    missing = {m: providers.get(m) for m in imported_packages(ROOT)
               if not {canonicalize_name(d) for d in providers.get(m, [m])} & declared}
    assert missing == {}
