"""Grader for the open Exercise 7.4 (README.md beside this file). Do not edit.

Graded on measured properties, not on equality with a reference. The grader hands the
function a map-style ``Dataset`` of the training digits that counts every example it
serves, and requires that the returned model

1. classifies at least 95 % of the validation digits correctly (evaluated by the grader,
   in evaluation mode, without gradients);
2. was trained on at most 10 epochs' worth of examples (fetches counted by the dataset);
3. is reproducible: two calls with the same ``seed``, from different global random
   states, give the same validation logits, and the call leaves the global (CPU) random
   state as it found it; another seed gives a different model.

``dlbook.train``'s loop helpers are switched off while the function runs.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

import dlbook.data
from dlbook import train
from dlbook.grading import NotImplementedYetError, run_with_timeout, with_references_hidden

EXERCISE = "Exercise 7.4"
SUBMISSION = "practice.py"
ACCURACY = 0.95
EPOCH_BUDGET = 10


class CountingDigits(Dataset[tuple[Tensor, Tensor]]):
    """The training digits, (pixels (64,), label) one at a time, counting what it serves."""

    def __init__(self) -> None:
        split = dlbook.data.load_digits()
        self.X, self.y = split.X_train.clone(), split.y_train.clone()
        self.served = 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        self.served += 1
        return self.X[i], self.y[i]


def reference_train_digits(
    dataset: Dataset[Any], *, seed: int, device: torch.device | str = "cpu"
) -> nn.Module:
    """An MLP trained by Adam for 8 epochs, shuffled by a seeded generator."""
    with torch.random.fork_rng(devices=[]):  # seed the initial weights without leaking
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)
    loader = DataLoader(
        dataset, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(8):
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(inputs), targets).backward()
            optimizer.step()
    return model


REFERENCES = {"train_digits": reference_train_digits}


def _switched_off(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(
        f"{EXERCISE}: dlbook.train's fit, train_epoch and make_loader are switched off: "
        "write the DataLoader and the loop yourself"
    )


def _run(
    submission: types.ModuleType,
    seed: int,
    device: torch.device,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> tuple[nn.Module, CountingDigits]:
    student = submission.train_digits
    if request.config.getoption("--solutions") != "reference":
        hidden: list[Callable[..., Any]] = [train.fit, train.train_epoch, train.make_loader]
        for name in ("fit", "train_epoch", "make_loader"):
            monkeypatch.setattr(train, name, _switched_off)
        # and under any name the student's file imported them as; the digits themselves are
        # read through the dataset only (loading them otherwise escapes the budget, and
        # reaches the validation digits the grader measures on)
        hidden += [dlbook.data.load_digits, dlbook.data.digits_split_indices]
        student = with_references_hidden(
            student, hidden, exercise=EXERCISE, forbid=["sklearn.datasets"]
        )
    dataset = CountingDigits()
    try:
        model = run_with_timeout(
            student,
            (dataset,),
            {"seed": seed, "device": device},
            seconds=120.0,
            what=EXERCISE,
        )
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{EXERCISE}: `train_digits` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "practice.py with your code."
        ) from None
    assert isinstance(model, nn.Module), (
        f"{EXERCISE}: return the trained nn.Module, got {type(model).__name__}"
    )
    return model, dataset


def _validation_logits(model: nn.Module, device: torch.device) -> Tensor:
    split = dlbook.data.load_digits()
    model.eval()
    with torch.no_grad():
        logits = model(split.X_val.to(device))
    assert isinstance(logits, Tensor) and logits.shape == (len(split.y_val), 10), (
        f"{EXERCISE}: the model must map (N, 64) pixels to (N, 10) logits, got "
        f"{getattr(logits, 'shape', type(logits).__name__)}"
    )
    assert logits.device.type == device.type, (
        f"{EXERCISE}: the model must live on {device}, its outputs are on {logits.device}"
    )
    return logits.float().cpu()


# ---------------------------------------------------------------------- Exercise 7.4
@pytest.mark.points(3)
def test_accurate_within_the_data_budget(
    submission: types.ModuleType,
    device: torch.device,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    model, dataset = _run(submission, 0, device, monkeypatch, request)
    budget = EPOCH_BUDGET * len(dataset)
    assert 0 < dataset.served <= budget, (
        f"{EXERCISE}: the dataset served {dataset.served:,} examples; the budget is "
        f"{EPOCH_BUDGET} epochs, {budget:,} examples (and it must be read through, not "
        "bypassed via its attributes)"
    )
    y_val = dlbook.data.load_digits().y_val
    accuracy = (_validation_logits(model, device).argmax(1) == y_val).float().mean().item()
    assert accuracy >= ACCURACY, (
        f"{EXERCISE}: validation accuracy {accuracy:.3f}; at least {ACCURACY} is required"
    )


@pytest.mark.points(1)
def test_reproducible_from_the_seed(
    submission: types.ModuleType,
    device: torch.device,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    torch.manual_seed(11)
    before = torch.random.get_rng_state()
    first, _ = _run(submission, 3, device, monkeypatch, request)
    assert torch.equal(torch.random.get_rng_state(), before), (
        f"{EXERCISE}: `train_digits` changed the global random state (torch.manual_seed, "
        "or a DataLoader shuffling without a generator): seed a torch.Generator for the "
        "shuffling and draw the initial weights inside torch.random.fork_rng"
    )
    torch.manual_seed(12)  # another global state: the result must not depend on it
    torch.rand(5)
    second, _ = _run(submission, 3, device, monkeypatch, request)
    other, _ = _run(submission, 4, device, monkeypatch, request)
    a, b = _validation_logits(first, device), _validation_logits(second, device)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5), (
        f"{EXERCISE}: two runs with seed 3 gave different models (largest logit difference "
        f"{(a - b).abs().max().item():.3g}): seed the initial weights and the shuffling "
        "from `seed` (a torch.Generator for the DataLoader), not from the global state"
    )
    c = _validation_logits(other, device)
    assert not torch.allclose(a, c, rtol=1e-3, atol=1e-3), (
        f"{EXERCISE}: seeds 3 and 4 gave the same model: use `seed`"
    )
