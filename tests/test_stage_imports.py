"""bench/stage_imports.py: the modules it times are the ones dvc.yaml's stages run."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from stage_imports import stage_modules  # noqa: E402  (bench/ on the path first)


def test_every_stage_module_is_timed_with_the_stages_that_run_it():
    found = stage_modules()
    assert set(found) == {f"stages.{p.stem}" for p in (ROOT / "stages").glob("*.py")
                          if p.stem != "__init__"}
    # train: the grid, the further seeds and the experiment; merge: the merges and the
    # experiment's second command
    assert found["stages.train"] == 3 and found["stages.merge"] == 2
