"""Build the small pipeline of the suite (`built_grid` in test_pipeline.py) in a folder of its
own and keep its evaluation, to make or remeasure the expected figures in tests/regression/:

    python tests/tiny_grid_figures.py tests/regression/bf16-amx/eval
    ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 python tests/tiny_grid_figures.py \
        tests/regression/bf16-avx512/eval
    python tests/tiny_grid_figures.py --precision fp32 tests/regression/fp32-avx512/eval
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
        FAISS_OPT_LEVEL=avx2 python tests/tiny_grid_figures.py tests/regression/fp32-avx2/eval
    python -m koen.report.regression --update --sets tests/regression --precision bf16 \
        --eval-dir tests/regression/bf16-amx/eval --tolerance-from tests/regression/bf16-avx512/eval

The environment variables narrow the CPU paths torch, oneDNN, MKL and FAISS take, so one
machine runs the code paths of another kind (AVX2 only, AVX-512 BF16 without AMX).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_pipeline import build_grid, own_evaluations  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where the evaluation folder is copied")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "grid"
        build_grid(root, args.precision)
        shutil.rmtree(args.out, ignore_errors=True)
        own_evaluations(root / "repo", args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
