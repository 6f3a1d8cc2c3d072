"""DVC reads dvc.lock with ruamel.yaml's C parser (pyproject: `ruamel.yaml[oldlibyaml]`): without
it every `dvc` command parses the lock in pure Python, about 7 times slower a parse."""

from __future__ import annotations

from pathlib import Path

from dvc.utils.serialize import parse_yaml
from ruamel.yaml import YAML
from ruamel.yaml.main import CParser

ROOT = Path(__file__).resolve().parents[1]


def test_dvc_parses_the_lock_file_with_the_c_parser_and_reads_the_same():
    assert CParser is not None, "ruamel.yaml's C parser is missing: pip install -e ."
    assert YAML(typ="safe").Parser is CParser  # what DVC's parse_yaml builds
    lock = (ROOT / "dvc.lock").read_text(encoding="utf-8")
    assert parse_yaml(lock, "dvc.lock") == YAML(typ="safe", pure=True).load(lock)
