"""The library's packages form layers: no package imports one that imports it back, and
`koen.config` (params, read by every stage) imports nothing of the library, so an edit above it
never reruns what only depends on config."""

from __future__ import annotations

import shutil
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

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
    assert graph["formats"] <= {"repro", "errors"}
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
