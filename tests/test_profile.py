"""`device: auto` and the device profile: what `auto` stands for, that explicit values win, that
every entry cites the measurement behind it, and that the resolved values are what is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tiny_data import section

from koen.config.languages import KO_EN
from koen.config.parse import parse
from koen.config.schema import EvaluateParams, IndexParams, TrainParams
from koen.models import profile
from koen.models.precision import resolve
from koen.models.profile import (
    NOT_MEASURED,
    PROFILE,
    resolve_device,
    resolve_evaluate,
    resolve_index,
    resolve_train,
)
from koen.training.run import fingerprint, hyper

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())  # as committed, `auto` and all


def train(data: Path | None = None, **kw: object) -> TrainParams:
    return section("train", kw, **({"data": data} if data else {}))


def test_every_entry_names_a_record_that_exists_or_says_it_was_not_measured():
    for kind, entries in PROFILE.items():
        assert set(entries) == set(PROFILE["cpu"]), kind
        for name, entry in entries.items():
            assert entry.record == NOT_MEASURED or \
                (ROOT / "metrics/bench" / f"{entry.record}.json").is_file(), (kind, name)


def test_auto_is_the_first_device_found_and_a_section_may_override_it(monkeypatch):
    monkeypatch.setattr(profile.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(profile.torch.backends.mps, "is_available", lambda: False)
    assert resolve_device(None, "auto") == "cpu"
    monkeypatch.setattr(profile.torch.backends.mps, "is_available", lambda: True)
    assert resolve_device(None, "auto") == "mps"
    monkeypatch.setattr(profile.torch.cuda, "is_available", lambda: True)
    assert resolve_device(None, "auto") == "cuda"
    assert resolve_device("cpu", "auto") == "cpu"  # the section's own
    assert resolve_device(None, "cuda:1") == "cuda:1"  # null: the top-level one


def test_on_a_cpu_auto_gives_the_settings_of_the_committed_run():
    p = resolve_train(train(), "cpu")
    assert (p.device, p.sorted_forward, p.group_by_length, p.logging_steps) == ("cpu", 16, True,
                                                                               1)
    assert p.precision == resolve("auto", "cpu")
    assert p.attn_implementation == ("eager" if p.precision == "bf16" else "sdpa")
    index = resolve_index(parse(IndexParams, DEFAULTS["index"], "index"), "cpu")
    queries = resolve_evaluate(parse(EvaluateParams, DEFAULTS["evaluate"], "evaluate"), "cpu")
    assert (index.batch_size, queries.batch_size) == (16, 64)


def test_on_a_gpu_auto_takes_the_gpu_profile_and_explicit_values_win(monkeypatch):
    monkeypatch.setattr(profile, "resolve", lambda precision, device: (
        "bf16" if precision == "auto" else precision))  # a GPU with bf16
    p = resolve_train(train(), "cuda")
    assert (p.device, p.precision, p.attn_implementation, p.sorted_forward,
            p.logging_steps) == ("cuda", "bf16", "sdpa", None, 8)
    p = resolve_train(train(device="cpu", sorted_forward=8, precision="fp32"), "cuda")
    assert (p.device, p.sorted_forward, p.precision) == ("cpu", 8, "fp32")
    index = resolve_index(parse(IndexParams, DEFAULTS["index"], "index"), "cuda")
    assert index.batch_size == 128


def test_the_resolved_values_are_recorded_and_fingerprinted(tmp_path):
    cpu, gpu = resolve_train(train(), "cpu"), resolve_train(train(sorted_forward=None), "cpu")
    assert hyper(cpu, "contrastive")["sorted_forward"] == 16
    assert hyper(gpu, "contrastive")["sorted_forward"] is None
    assert "auto" not in hyper(cpu, "contrastive").values()
    data, init = tmp_path / "t.parquet", tmp_path / "init"
    data.write_bytes(b"x")
    init.mkdir()
    (init / "model.safetensors").write_bytes(b"w")
    cpu = resolve_train(train(data), "cpu")
    other = resolve_train(train(data, logging_steps=4), "cpu")
    assert fingerprint("kokoen", "contrastive", cpu, 13, init, {}, KO_EN) != \
        fingerprint("kokoen", "contrastive", other, 13, init, {}, KO_EN)


def test_an_unknown_device_kind_says_to_set_the_values(monkeypatch):
    with pytest.raises(ValueError, match="no speed profile for xpu"):
        profile.kind("xpu")
