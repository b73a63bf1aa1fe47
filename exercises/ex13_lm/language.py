"""Exercise set 13: language models (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex13_lm

You may use torch and math (and, where the README allows it, torch.nn.functional). The
dlbook function each exercise is graded against is switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Sequence

import torch  # noqa: F401 (you will want it)
from torch import Tensor


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new: int) -> list[int]:
    """Exercise 13.1: one BPE merge: replace each adjacent ``pair`` by ``new``, left to right."""
    raise NotImplementedError("Exercise 13.1: merge_pair")


def add_k_nll(
    train: Sequence[int], test: Sequence[int], order: int, k: float, vocab_size: int
) -> float:
    """Exercise 13.2: mean test NLL (nats per token) of an add-k smoothed n-gram model."""
    raise NotImplementedError("Exercise 13.2: add_k_nll")


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Exercise 13.3a: keep the k largest logits of each row (and ties), -inf elsewhere."""
    raise NotImplementedError("Exercise 13.3: top_k_filter")


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Exercise 13.3b: keep the smallest set of most likely tokens with mass >= p."""
    raise NotImplementedError("Exercise 13.3: top_p_filter")


def cached_causal_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    past: tuple[Tensor, Tensor] | None = None,
    *,
    dropout_p: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """Exercise 13.4: causal attention of new positions over cached + new keys and values."""
    raise NotImplementedError("Exercise 13.4: cached_causal_attention")


def bradley_terry_loss(r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
    """Exercise 13.5: mean of -log sigmoid(r_chosen - r_rejected), finite for any input."""
    raise NotImplementedError("Exercise 13.5: bradley_terry_loss")


def choose_add_k(train: Sequence[int], valid: Sequence[int], order: int, vocab_size: int) -> float:
    """Exercise 13.6 (open): choose the add-k pseudo-count on the validation tokens."""
    raise NotImplementedError("Exercise 13.6: choose_add_k")
