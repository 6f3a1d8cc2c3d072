"""DVC reads dvc.lock with ruamel.yaml's C parser (pyproject: `ruamel.yaml[oldlibyaml]`): without
it every `dvc` command parses the lock in pure Python, about 7 times slower a parse. The MLflow
tags read it with PyYAML's libyaml loader, and must find the md5s DVC recorded. DVC keeps the
entries of renamed or removed stages: each is parsed on every read, and holds an output's
older md5."""

from __future__ import annotations

from pathlib import Path

from dvc.repo import Repo
from dvc.utils.serialize import parse_yaml
from ruamel.yaml import YAML
from ruamel.yaml.main import CParser

from koen.tracking.tags import dvc_md5

ROOT = Path(__file__).resolve().parents[1]


def test_dvc_parses_the_lock_file_with_the_c_parser_and_reads_the_same():
    assert CParser is not None, "ruamel.yaml's C parser is missing: pip install -e ."
    assert YAML(typ="safe").Parser is CParser  # what DVC's parse_yaml builds
    lock = (ROOT / "dvc.lock").read_text(encoding="utf-8")
    assert parse_yaml(lock, "dvc.lock") == YAML(typ="safe", pure=True).load(lock)


def test_tags_read_the_output_md5s_dvc_recorded():
    lock = ROOT / "dvc.lock"
    stages = parse_yaml(lock.read_text(encoding="utf-8"), "dvc.lock")["stages"]
    outs = {out["path"]: out["md5"] for stage in stages.values() for out in stage.get("outs", [])}
    assert len(outs) > 50
    sample = sorted(outs)[::10]  # a read is 0.2 s
    assert {path: dvc_md5(Path(path), lock) for path in sample} == {p: outs[p] for p in sample}


def test_the_lock_holds_only_stages_of_dvc_yaml():
    stages = {stage.addressing for stage in Repo(str(ROOT)).index.stages}
    lock = parse_yaml((ROOT / "dvc.lock").read_text(encoding="utf-8"), "dvc.lock")["stages"]
    assert sorted(set(lock) - stages) == []
