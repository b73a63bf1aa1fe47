"""Grader for the open Exercise 9.5 (README.md beside this file). Do not edit.

Graded on measured properties of the run, not on equality with a reference. The grader
watches the optimiser: after the last step of every epoch it measures the validation loss
itself (in evaluation mode, without gradients) and keeps a copy of the weights. It then
requires that the function

1. trained whole epochs and stopped exactly when the rule says (the first epoch that ends
   ``patience`` epochs in a row without a strictly lower validation loss, or
   ``max_epochs``), judged on the losses the grader measured;
2. returned those losses, one per epoch;
3. left the model holding the weights of the best epoch (the earliest with the lowest
   validation loss).

The problem makes the difference visible: a network with dropout trained on digits with
30 % of the training labels redrawn at random, so that the validation loss falls and then
rises.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import dlbook.data
from dlbook import optim, train
from dlbook.grading import NotImplementedYetError, run_with_timeout, with_references_hidden

EXERCISE = "Exercise 9.5"
SUBMISSION = "training.py"


class _Repeat:
    """An iterable that yields the same list of batches every time it is iterated."""

    def __init__(self, batches: Sequence[tuple[Tensor, Tensor]]) -> None:
        self.batches = list(batches)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return iter(self.batches)


def reference_fit_early_stopping(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    batches: Sequence[tuple[Tensor, Tensor]],
    val: tuple[Tensor, Tensor],
    *,
    max_epochs: int,
    patience: int,
) -> list[float]:
    """The book's answer: ``dlbook.train.fit(..., early_stopping=...)`` (Chapter 9)."""
    if patience < 1 or max_epochs < 1:
        raise ValueError(f"patience and max_epochs must be >= 1, got {patience}, {max_epochs}")
    history = train.fit(
        model,
        optimizer,
        loss_fn,
        _Repeat(batches),
        epochs=max_epochs,
        val=val,
        early_stopping=optim.EarlyStopping(patience),
        progress=False,
    )
    return history["val_loss"]


REFERENCES = {"fit_early_stopping": reference_fit_early_stopping}


def problem(device: torch.device) -> tuple[nn.Module, list[tuple[Tensor, Tensor]], Any]:
    """A dropout MLP, 9 mini-batches of digits (30 % of labels redrawn), clean validation."""
    digits = dlbook.data.load_digits(device=device)
    g = torch.Generator().manual_seed(0)
    replace = torch.rand(len(digits.y_train), generator=g) < 0.3
    noise = torch.randint(0, 10, digits.y_train.shape, generator=g)
    y = torch.where(replace, noise, digits.y_train.cpu()).to(device)
    order = torch.randperm(len(y), generator=g).to(device)
    batches = [
        (digits.X_train[order[k : k + 128]], y[order[k : k + 128]]) for k in range(0, len(y), 128)
    ]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10)).to(
        device
    )
    return model, batches, (digits.X_val, digits.y_val)


class Watch:
    """Wrap ``optimizer.step``: after every epoch's last step, measure and snapshot."""

    def __init__(self, model: nn.Module, optimizer: Any, steps_per_epoch: int, val: Any) -> None:
        self.model, self.val, self.per_epoch = model, val, steps_per_epoch
        self.steps, self.losses, self.states = 0, [], []  # type: ignore[var-annotated]
        inner = optimizer.step

        def step(*args: Any, **kwargs: Any) -> Any:
            out = inner(*args, **kwargs)
            self.steps += 1
            if self.steps % self.per_epoch == 0:
                self.losses.append(self.measure())
                self.states.append(
                    {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                )
            return out

        optimizer.step = step

    @torch.no_grad()
    def measure(self) -> float:
        was_training = self.model.training
        self.model.eval()
        X, y = self.val
        loss = float(F.cross_entropy(self.model(X), y))
        self.model.train(was_training)
        return loss


def rule_stop(losses: list[float], patience: int, max_epochs: int) -> int:
    """The number of epochs the rule trains, given the losses it would see."""
    best, bad = float("inf"), 0
    for epoch, loss in enumerate(losses, start=1):
        if loss < best:
            best, bad = loss, 0
        else:
            bad += 1
        if bad >= patience or epoch == max_epochs:
            return epoch
    return len(losses) + 1  # the losses seen so far do not yet say stop


def _switched_off(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(
        f"{EXERCISE}: dlbook.train.fit and dlbook.optim.EarlyStopping are switched off: "
        "write the loop yourself"
    )


# ---------------------------------------------------------------------- Exercise 9.5
@pytest.mark.points(4)
@pytest.mark.parametrize(("patience", "max_epochs"), [(5, 60), (12, 60), (3, 6)])
def test_stops_by_the_rule_and_restores_the_best_epoch(
    submission: types.ModuleType,
    device: torch.device,
    patience: int,
    max_epochs: int,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    student = submission.fit_early_stopping
    if request.config.getoption("--solutions") != "reference":
        hidden: list[Callable[..., Any]] = [train.fit, optim.EarlyStopping]
        monkeypatch.setattr(train, "fit", _switched_off)
        monkeypatch.setattr(optim, "EarlyStopping", _switched_off)
        # and under any name the student's file imported them as
        student = with_references_hidden(student, hidden, exercise=EXERCISE)
    model, batches, val = problem(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    watch = Watch(model, opt, len(batches), val)
    try:
        returned = run_with_timeout(
            student,
            (model, opt, F.cross_entropy, batches, val),
            {"max_epochs": max_epochs, "patience": patience},
            seconds=120.0,
            what=EXERCISE,
        )
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{EXERCISE}: `fit_early_stopping` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "training.py with your code."
        ) from None
    # 1. whole epochs, and the stop the rule prescribes on the losses the grader measured
    assert watch.steps % len(batches) == 0, (
        f"{EXERCISE}: {watch.steps} optimiser steps is not a whole number of epochs of "
        f"{len(batches)} batches: train on every batch of every epoch"
    )
    epochs = len(watch.losses)
    assert epochs >= 1, f"{EXERCISE}: the function took no optimiser steps"
    should = rule_stop(watch.losses, patience, max_epochs)
    assert epochs == should, (
        f"{EXERCISE}: trained {epochs} epochs; with the validation losses measured after each "
        f"({[round(v, 4) for v in watch.losses]}), patience {patience} and max_epochs "
        f"{max_epochs}, the rule stops after epoch {min(should, max_epochs)}"
    )
    # 2. the losses returned are the losses of those epochs, measured in eval mode
    assert isinstance(returned, list) and len(returned) == epochs, (
        f"{EXERCISE}: return a list of {epochs} floats (one validation loss per epoch), got "
        f"{type(returned).__name__} of length {getattr(returned, '__len__', lambda: '?')()}"
    )
    for epoch, (got, want) in enumerate(zip(returned, watch.losses, strict=True), start=1):
        assert abs(float(got) - want) <= 1e-5 * max(1.0, abs(want)), (
            f"{EXERCISE}: the validation loss returned for epoch {epoch} is {float(got):.6f}, "
            f"but the model after that epoch has {want:.6f} (in evaluation mode, without "
            "gradients, over the whole validation set)"
        )
    # 3. the model holds the weights of the earliest epoch with the lowest loss
    best = min(range(epochs), key=lambda i: (watch.losses[i], i))
    final = model.state_dict()
    same = all(torch.equal(final[k], v) for k, v in watch.states[best].items())
    assert same, (
        f"{EXERCISE}: the model does not hold the weights of the best epoch ({best + 1}, "
        f"validation loss {watch.losses[best]:.4f}); its loss now is {watch.measure():.4f}"
    )
    assert watch.measure() == pytest.approx(watch.losses[best], rel=1e-6, abs=1e-7)


def test_rejects_bad_patience(submission: types.ModuleType, device: torch.device) -> None:
    model, batches, val = problem(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for patience, max_epochs in [(0, 5), (3, 0)]:
        try:
            with pytest.raises(ValueError, match=r"patience|max_epochs"):
                submission.fit_early_stopping(
                    model,
                    opt,
                    F.cross_entropy,
                    batches,
                    val,
                    max_epochs=max_epochs,
                    patience=patience,
                )
        except NotImplementedError:
            raise NotImplementedYetError(
                f"{EXERCISE}: `fit_early_stopping` is not implemented yet"
            ) from None
