"""How long `make setup` takes to install the project into a new venv, against plain pip.

    python bench/install.py

Both start from nothing: a new venv and an empty package cache each (CI starts so). Plain pip is
`pip install -e '.[dev]'` (what `make setup` did before); ours is `make setup`, which has pip
install torch (its CPU wheel lies on this machine's disk) and uv the rest, bytecode compiled.
Also times `import sentence_transformers` in each venv: a stage process pays it. Writes
metrics/bench/install.json.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import record  # noqa: E402  (bench/record.py)

PYTHON = "python3.11"


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def plain_pip(venv: Path, env: dict[str, str]) -> float:
    return timed(["bash", "-c", f"{PYTHON} -m venv {venv} && {venv}/bin/python -m pip install "
                  f"--quiet --upgrade pip && {venv}/bin/python -m pip install --quiet -e '.[dev]'"],
                 env)


def make_setup(venv: Path, env: dict[str, str]) -> float:
    return timed(["make", "--always-make", "setup", f"VENV={venv}"], env)


def import_seconds(venv: Path, repeat: int = 3) -> float:
    """Best of `repeat`: the first import also reads the files from disk."""
    return min(timed([str(venv / "bin" / "python"), "-c", "import sentence_transformers"],
                     dict(os.environ)) for _ in range(repeat))


def main() -> None:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="koen-install-") as tmp:
        for name, install in (("pip", plain_pip), ("make_setup", make_setup)):
            venv = Path(tmp) / name / ".venv"
            env = {**os.environ, "PIP_CACHE_DIR": f"{tmp}/{name}/pip-cache",
                   "UV_CACHE_DIR": f"{tmp}/{name}/uv-cache"}
            seconds = install(venv, env)
            figures[name] = {"install_s": round(seconds, 1),
                             "import_sentence_transformers_s": round(import_seconds(venv), 2)}
            print(f"{name}: installed in {seconds:.0f} s, import sentence_transformers "
                  f"{figures[name]['import_sentence_transformers_s']:.1f} s")
    ratio = figures["pip"]["install_s"] / figures["make_setup"]["install_s"]
    print(f"make setup vs plain pip: {ratio:.2f}x")
    record.write("install", {**figures, "ratio": round(ratio, 2)})


if __name__ == "__main__":
    main()
