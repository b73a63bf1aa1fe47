"""Fixtures shared by the package's tests."""

from __future__ import annotations

import pytest
import torch

from dlbook import available_devices


@pytest.fixture(params=available_devices(), ids=str)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Each device this machine has: the CPU always, CUDA and MPS where present."""
    chosen: torch.device = request.param
    return chosen
