"""Run `python -m MODULE ARGS...` and SIGKILL it at a known point of its writing, not after a
race with a polling loop:

    python tests/kill_at.py --target data/indexes/lohelp/base --nth 2 --when before \
        stages.evaluate base lohelp tiny/model

counts the renames, swaps and touches (`os.rename`, `os.replace`, `koen.repro.atomic.exchange`,
`Path.touch`: the moments an output or a marker appears under its name) whose destination
contains `--target`, and kills the process just before (or just after) the `--nth` of them. A
process that ends first exits with its own code; a killed one is seen as -9 by the caller.
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import sys
from pathlib import Path

from koen.repro import atomic

_exchange = atomic.exchange
_rename, _replace, _touch = os.rename, os.replace, Path.touch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--nth", type=int, default=1)
    parser.add_argument("--when", choices=("before", "after"), default="before")
    parser.add_argument("module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    a = parser.parse_args()
    seen = 0

    def watch(destination: object, call, *args, **kwargs):  # noqa: ANN001, ANN202
        nonlocal seen
        hit = a.target in os.fspath(destination)
        seen += hit
        if hit and seen == a.nth and a.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = call(*args, **kwargs)
        if hit and seen == a.nth and a.when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    os.rename = lambda src, dst, **kw: watch(dst, _rename, src, dst, **kw)
    os.replace = lambda src, dst, **kw: watch(dst, _replace, src, dst, **kw)
    atomic.exchange = lambda a_, b_: watch(b_, _exchange, a_, b_)
    Path.touch = lambda self, *args, **kw: watch(self, _touch, self, *args, **kw)
    sys.argv = [a.module, *a.args]
    runpy.run_module(a.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
