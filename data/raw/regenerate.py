"""Regenerate the committed help text of one language paired with English from the LibreOffice
help Debian packages.

    python data/raw/regenerate.py                    # Korean: apt-get download both, extract
    python data/raw/regenerate.py --lang ja          # Japanese-English, into data/help/ja-en/
    python data/raw/regenerate.py --debs DIR         # use .deb files already in DIR

Writes `paragraphs.jsonl.gz`, `keywords.jsonl.gz` and `PROVENANCE.json`: for Korean beside this
file (what the pipeline reads), for any other language of koen/config/languages.py in
data/help/<lang>-en/ with a copy of LICENSE, outside `data/raw` so that `prepare` (which depends
on that folder) does not rerun for them. `dvc repro` never runs this: it reads the committed
files, so it needs neither apt nor network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from koen.data.helpdocs import extract  # noqa: E402
from koen.config.languages import ENGLISH, LANGUAGES, Language, help_text_dir  # noqa: E402
from koen.formats.tables import write_jsonl_gz  # noqa: E402


def out_dir(lang: str) -> Path:
    """Korean beside this file, where `prepare` reads it; the other pairs outside its dep."""
    return HERE.parents[1] / help_text_dir(lang)


def find_debs(deb_dir: Path, languages: list[Language]) -> list[Path]:
    debs = []
    for language in languages:
        hits = sorted(deb_dir.glob(f"{language.package}_*.deb"))
        if not hits:
            raise SystemExit(f"no {language.package}_*.deb in {deb_dir}")
        debs.append(hits[-1])
    return debs


def deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lang", default="ko", choices=[c for c in LANGUAGES if c != ENGLISH.code],
                    help="the help language paired with English (default: ko)")
    ap.add_argument("--debs", type=Path, help="directory holding the two .deb files")
    args = ap.parse_args()
    languages = [LANGUAGES[args.lang], ENGLISH]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        deb_dir = args.debs
        if deb_dir is None:
            deb_dir = tmp / "debs"
            deb_dir.mkdir()
            subprocess.run(["apt-get", "download", *(language.package for language in languages)],
                           cwd=deb_dir, check=True)
        debs = find_debs(deb_dir, languages)
        packages = [{"name": deb_field(d, "Package"), "version": deb_field(d, "Version"),
                     "file": d.name, "sha256": hashlib.sha256(d.read_bytes()).hexdigest()}
                    for d in debs]  # read here: downloaded ones go with the temporary folder
        roots = []
        for language, deb in zip(languages, debs, strict=True):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / language.code)], check=True)
            roots.append(tmp / language.code / "usr/share/libreoffice/help" / language.help_dir)
        paragraphs, keywords = extract(*roots, args.lang)
    out = out_dir(args.lang)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_gz(out / "paragraphs.jsonl.gz", paragraphs)
    write_jsonl_gz(out / "keywords.jsonl.gz", keywords)
    if out != HERE:
        shutil.copyfile(HERE / "LICENSE", out / "LICENSE")
    provenance = {
        "source": "LibreOffice help, Debian packages",
        "license": "MPL-2.0 (see LICENSE in this directory)",
        "packages": packages,
        "extracted_by": "data/raw/regenerate.py (koen/data/helpdocs.py)",
        "records": {"paragraphs": len(paragraphs), "keywords": len(keywords)},
    }
    (out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps(provenance["records"]))


if __name__ == "__main__":
    main()
