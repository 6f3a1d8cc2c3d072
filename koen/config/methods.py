"""The merge methods a recipe may name, and the options each takes: the names params are checked
against (`koen.merging.methods` holds the methods themselves)."""

from __future__ import annotations

# sentence-transformers / mergekit methods offered in recipes; those of LIBRARY_NEEDS_BASE take
# `base` as their reference model.
LIBRARY = ("slerp", "nuslerp", "multislerp", "karcher", "model_stock", "dare_linear", "dare_ties",
           "della", "della_linear", "breadcrumbs", "breadcrumbs_ties", "sce")

LIBRARY_NEEDS_BASE = {"model_stock", "dare_linear", "dare_ties", "della", "della_linear",
                      "breadcrumbs", "breadcrumbs_ties", "sce"}

NEEDS_BASE = {"task_arithmetic", "ties"}

# Recipe options each method uses (`scale` is lambda); giving another one is an error.
OPTIONS: dict[str, tuple[str, ...]] = {"linear": (), "task_arithmetic": ("scale",),
                                       "ties": ("scale", "density"),
                                       "cocktail": ("examples", "temperature")}
