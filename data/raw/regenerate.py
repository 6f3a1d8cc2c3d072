"""Regenerate the committed raw text from the LibreOffice help Debian packages.

    python data/raw/regenerate.py              # apt-get download both packages, then extract
    python data/raw/regenerate.py --debs DIR   # use .deb files already in DIR

Writes `paragraphs.jsonl.gz`, `keywords.jsonl.gz` and `PROVENANCE.json` beside this file.
`dvc repro` never runs this: it reads the committed files, so it needs neither apt nor network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from koen.data.helpdocs import extract  # noqa: E402
from koen.formats.tables import write_jsonl_gz  # noqa: E402

PACKAGES = {"ko": "libreoffice-help-ko", "en": "libreoffice-help-en-us"}
HELP_DIRS = {"ko": "usr/share/libreoffice/help/ko", "en": "usr/share/libreoffice/help/en-US"}


def find_debs(deb_dir: Path) -> dict[str, Path]:
    debs = {}
    for lang, pkg in PACKAGES.items():
        hits = sorted(deb_dir.glob(f"{pkg}_*.deb"))
        if not hits:
            raise SystemExit(f"no {pkg}_*.deb in {deb_dir}")
        debs[lang] = hits[-1]
    return debs


def deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--debs", type=Path, help="directory holding the two .deb files")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        deb_dir = args.debs
        if deb_dir is None:
            deb_dir = tmp / "debs"
            deb_dir.mkdir()
            subprocess.run(["apt-get", "download", *PACKAGES.values()], cwd=deb_dir, check=True)
        debs = find_debs(deb_dir)
        roots = {}
        for lang, deb in debs.items():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / lang)], check=True)
            roots[lang] = tmp / lang / HELP_DIRS[lang]
        paragraphs, keywords = extract(roots["ko"], roots["en"])
    write_jsonl_gz(HERE / "paragraphs.jsonl.gz", paragraphs)
    write_jsonl_gz(HERE / "keywords.jsonl.gz", keywords)
    provenance = {
        "source": "LibreOffice help, Debian packages",
        "license": "MPL-2.0 (see LICENSE in this directory)",
        "packages": [{"name": deb_field(d, "Package"), "version": deb_field(d, "Version"),
                      "file": d.name, "sha256": hashlib.sha256(d.read_bytes()).hexdigest()}
                     for d in debs.values()],
        "extracted_by": "data/raw/regenerate.py (koen/data/helpdocs.py)",
        "records": {"paragraphs": len(paragraphs), "keywords": len(keywords)},
    }
    (HERE / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps(provenance["records"]))


if __name__ == "__main__":
    main()
