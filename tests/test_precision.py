from __future__ import annotations

import pytest
import torch

from koen.models import precision


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
