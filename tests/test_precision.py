from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_data import section

from koen.evaluation.evaluate import evaluated_on
from koen.models import machine, precision
from koen.models.profile import resolve_evaluate

ROOT = Path(__file__).resolve().parents[1]


def test_explicit_precisions_are_kept_and_auto_follows_the_hardware(monkeypatch):
    assert precision.resolve("fp32", "cpu") == "fp32"
    assert precision.resolve("bf16", "cpu") == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert precision.resolve("auto", "cpu") == "bf16"
    assert precision.resolve("auto", "cuda:1") == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.resolve("auto", "cpu") == "fp32"
    assert precision.resolve("auto", "cuda") == "fp16"  # older GPUs: fp16 autocast
    assert precision.resolve("auto", "mps") == "fp32"


def test_native_bf16_on_this_cpu_is_what_onednn_says():
    assert precision.native_bf16("cpu") == torch.ops.mkldnn._is_mkldnn_bf16_supported()


def test_autocast_lowers_matmuls_only_inside_and_fp32_is_a_no_op():
    a = torch.randn(4, 4)
    with precision.autocast("cpu", "bf16"):
        assert (a @ a).dtype == torch.bfloat16
    with precision.autocast("cpu", "fp32"):
        assert (a @ a).dtype == torch.float32
    assert (a @ a).dtype == torch.float32


@pytest.mark.parametrize("device", ["cpu", "cuda:1"])
def test_device_type_is_what_autocast_takes(device):
    assert precision.device_type(device) == device.split(":")[0]


def test_computed_on_names_the_paths_this_process_takes():
    record = machine.computed_on("cpu", "fp32")
    assert record["device"] == "cpu" and record["precision"] == "fp32"
    assert record["aten"] == torch.backends.cpu.get_cpu_capability()
    assert record["onednn"] != "unknown"  # oneDNN's own report, read once per process
    assert machine.computed_on("cpu", "fp32") == record
    assert "precision" not in machine.computed_on("cpu", None)  # BM25: no model computed


@pytest.mark.skipif("avx2" not in machine.CPUINFO.read_text() if machine.CPUINFO.is_file()
                    else True, reason="needs an x86 CPU with AVX2")
def test_computed_on_follows_the_paths_the_environment_narrows():
    """An AVX2-only machine's paths, as tests/tiny_grid_figures.py runs them: the record says
    what this process took, not what the CPU has, and `auto` then resolves to fp32."""
    code = ("import json; from koen.models import machine, precision; "
            "print(json.dumps([machine.computed_on('cpu', precision.resolve('auto', 'cpu')), "
            "machine.cpu_model()]))")
    env = os.environ | {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT)
    record, cpu = json.loads(out.stdout)
    assert record == {"device": "cpu", "precision": "fp32", "cpu": cpu, "aten": "AVX2",
                      "onednn": "Intel AVX2"}


def test_an_evaluation_records_the_passages_precision_where_it_differs():
    p = resolve_evaluate(section("evaluate", {"precision": "fp32"}), "cpu")
    bm25 = {"kind": "bm25"}
    assert evaluated_on(p, [{"kind": "dense", "precision": "bf16"}])["precision"] == \
        "bf16 passages, fp32 queries"
    hybrid = [{"kind": "dense", "precision": "fp32"}, bm25]
    assert evaluated_on(p, hybrid) == machine.computed_on("cpu", "fp32")
    assert "precision" not in evaluated_on(p, [bm25])  # no model computed
