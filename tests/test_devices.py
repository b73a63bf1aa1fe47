"""dlbook.devices: device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import dlbook
from dlbook import devices


def test_default_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    if torch.cuda.is_available():
        expected = "cuda"
    elif torch.backends.mps.is_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert dlbook.device().type == expected


def test_order_with_faked_accelerators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert dlbook.device().type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dlbook.device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert dlbook.device().type == "cpu"


def test_environment_variable_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(devices.ENV_VAR, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dlbook.device() == torch.device("cpu")


def test_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(devices.ENV_VAR, "not-a-device")
    assert dlbook.device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["tpu", "gpu", "", "cuda:x"])
def test_unknown_device_names_are_rejected(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    with pytest.raises(ValueError, match="name"):
        dlbook.device(bad if bad else "  ")


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(devices.ENV_VAR, "tpu")
    with pytest.raises(ValueError, match=devices.ENV_VAR):
        dlbook.device()


def test_unavailable_cuda_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA"):
        dlbook.device("cuda")


def test_missing_gpu_index_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="GPU 3"):
        dlbook.device("cuda:3")


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="name"):
        dlbook.device(0)  # type: ignore[arg-type]


def test_available_devices_start_with_cpu_and_are_usable() -> None:
    found = dlbook.available_devices()
    assert found[0] == torch.device("cpu")
    for dev in found:
        assert torch.ones(2, device=dev).sum().item() == 2.0


def test_seed_everything_repeats_every_generator() -> None:
    def draw() -> tuple[float, float, list[float], list[float]]:
        g = dlbook.seed_everything(123)
        return (
            random.random(),
            float(np.random.rand()),  # noqa: NPY002 (the legacy global generator is what is tested)
            torch.rand(3).tolist(),
            torch.rand(3, generator=g).tolist(),
        )

    assert draw() == draw()
    first = draw()
    dlbook.seed_everything(124)
    assert torch.rand(3).tolist() != first[2]


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", True])
def test_bad_seeds_are_rejected(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="seed"):
        dlbook.seed_everything(bad)  # type: ignore[arg-type]


def test_generator_lives_on_the_device(device: torch.device) -> None:
    a = torch.rand(4, generator=dlbook.generator(7, device), device=device)
    b = torch.rand(4, generator=dlbook.generator(7, device), device=device)
    assert a.device.type == device.type
    assert torch.equal(a, b)


def test_submodules_are_reachable_from_the_package() -> None:
    import dlbook.data

    assert dlbook.data.load_digits is not None
    assert dlbook.plot.use_style is not None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        dlbook.nonsense  # noqa: B018
