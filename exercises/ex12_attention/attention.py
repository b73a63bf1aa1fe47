"""Exercise set 12: attention and transformers (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex12_attention

You may use torch and math. torch.nn.functional.scaled_dot_product_attention,
torch.nn.MultiheadAttention and the dlbook function each exercise is graded against are
switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)

import torch
from torch import Tensor


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Exercise 12.1: softmax(Q K^T / sqrt(d_k) + mask) V, PyTorch's conventions."""
    raise NotImplementedError("Exercise 12.1: scaled_dot_product_attention")


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """Exercise 12.2: (..., T, E) -> (..., h, T, E / h)."""
    raise NotImplementedError("Exercise 12.2: split_heads")


def merge_heads(x: Tensor) -> Tensor:
    """Exercise 12.2: (..., h, T, d) -> (..., T, h d)."""
    raise NotImplementedError("Exercise 12.2: merge_heads")


def sinusoidal_encoding(
    T: int,
    d_model: int,
    *,
    base: float = 10000.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Exercise 12.3: the (T, d_model) sinusoidal positional encoding."""
    raise NotImplementedError("Exercise 12.3: sinusoidal_encoding")


def apply_rope(x: Tensor, positions: Tensor | None = None, *, base: float = 10000.0) -> Tensor:
    """Exercise 12.4: rotate feature pairs (2i, 2i+1) of x by position * base^(-2i/d)."""
    raise NotImplementedError("Exercise 12.4: apply_rope")


def blockwise_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    *,
    block_size: int,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Exercise 12.5 (open): exact attention that never holds the whole score matrix."""
    raise NotImplementedError("Exercise 12.5: blockwise_attention")
