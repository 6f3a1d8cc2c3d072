"""DVC entry points: one module per dvc.yaml stage, each a short main() over the koen library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from koen.config.parse import ParamsError
from koen.errors import KoenError


def parser(module: str, description: str) -> argparse.ArgumentParser:
    """The argument parser of stage `module` (`stages.train`), named as it is run."""
    return argparse.ArgumentParser(prog=f"python -m {module}", description=description)


def run(main: Callable[[], object]) -> None:
    """Run a stage's main(): bad params (a ParamsError), data or models (a KoenError) end it with
    their one-line message and exit status 1, not a traceback; anything else is a bug and keeps
    its traceback."""
    try:
        main()
    except (ParamsError, KoenError) as err:
        stage = Path(sys.argv[0]).stem
        sys.exit(str(err) if str(err).startswith(f"{stage}: ") else f"{stage}: {err}")
