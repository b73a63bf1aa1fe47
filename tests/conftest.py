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


@pytest.fixture(autouse=True)
def _global_backend_flags_unfrozen() -> None:
    """Undo a side effect of importing PyTorch's OpInfo database (the tests of Chapters 10
    and 12 do): ``torch.testing._internal`` calls ``torch.backends.disable_global_flags()``,
    after which ``dlbook.seed_everything`` may no longer set cuDNN's determinism flags."""
    # The flag is a global of torch/backends/__init__.py, whose namespace is not the
    # module object's (torch wraps the module), so it is reached through a function there.
    torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
