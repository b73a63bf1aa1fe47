"""Exercise set 7: PyTorch in practice (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex07_pytorch

You may use torch and numpy. The dlbook function each exercise is graded against is
switched off while your code runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn


def sliding_windows(
    series: Tensor, length: int, horizon: int = 1, *, stride: int = 1
) -> tuple[Tensor, Tensor]:
    """Exercise 7.1: cut a series (T,) or (T, F) into inputs (N, L, F) and targets (N, P, F)."""
    raise NotImplementedError("Exercise 7.1: sliding_windows")


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    batches: Iterable[tuple[Tensor, Tensor]],
) -> float:
    """Exercise 7.2: one epoch of mini-batch training; return the example-weighted mean loss."""
    raise NotImplementedError("Exercise 7.2: train_epoch")


def average_state_dicts(
    states: Sequence[Mapping[str, Tensor]], weights: Sequence[float] | None = None
) -> dict[str, Tensor]:
    """Exercise 7.3: the (weighted) average of several state dicts of one architecture."""
    raise NotImplementedError("Exercise 7.3: average_state_dicts")


def train_digits(
    dataset: torch.utils.data.Dataset[tuple[Tensor, Tensor]],
    *,
    seed: int,
    device: torch.device | str = "cpu",
) -> nn.Module:
    """Exercise 7.4 (open): train a digit classifier from ``dataset`` through a DataLoader."""
    raise NotImplementedError("Exercise 7.4: train_digits")
