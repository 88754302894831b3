import pytest
import torch

from shopfusion.training.device import device


def test_cpu_override_wins(monkeypatch):
    monkeypatch.setenv("SHOPFUSION_DEVICE", "cpu")
    assert device() == torch.device("cpu")


def test_unknown_device_is_named_in_the_error(monkeypatch):
    monkeypatch.setenv("SHOPFUSION_DEVICE", "tpu")
    with pytest.raises(ValueError, match="'tpu'"):
        device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_one_fails_loudly(monkeypatch):
    monkeypatch.setenv("SHOPFUSION_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA"):
        device()


def test_default_device_compares_equal_to_a_parameters_device(monkeypatch):
    monkeypatch.delenv("SHOPFUSION_DEVICE", raising=False)
    dev = device()
    assert torch.nn.Linear(2, 2).to(dev).weight.device == dev
