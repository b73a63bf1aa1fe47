"""Exercise set 11: recurrent networks (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex11_rnn

You may use torch and math. The dlbook.rnn functions are switched off while your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Iterable

import torch
from torch import Tensor


def rnn_forward(
    input: Tensor,  # noqa: A002 (PyTorch's name)
    h0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """Exercise 11.1: the states h_1 .. h_T, shape (T, B, H), of the vanilla RNN."""
    raise NotImplementedError("Exercise 11.1: rnn_forward")


def lstm_cell(
    input: Tensor,  # noqa: A002 (PyTorch's name)
    hx: tuple[Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Exercise 11.2: one LSTM step, gates in the order i, f, g, o; return (h, c)."""
    raise NotImplementedError("Exercise 11.2: lstm_cell")


def gru_cell(
    input: Tensor,  # noqa: A002 (PyTorch's name)
    hx: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> Tensor:
    """Exercise 11.3: one GRU step, blocks r, z, n, reset gate after the product."""
    raise NotImplementedError("Exercise 11.3: gru_cell")


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Exercise 11.4: clip the gradients in place to a global norm <= max_norm."""
    raise NotImplementedError("Exercise 11.4: clip_grad_norm_")


def rnn_bptt(
    input: Tensor,  # noqa: A002 (PyTorch's name)
    h0: Tensor,
    states: Tensor,
    grad_states: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    nonlinearity: str = "tanh",
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Exercise 11.5: gradients w.r.t. (input, h0, weight_ih, weight_hh, bias_ih, bias_hh)."""
    raise NotImplementedError("Exercise 11.5: rnn_bptt")


def lstm_init(hidden_size: int, generator: torch.Generator) -> dict[str, Tensor]:
    """Exercise 11.6 (open): a state dict for nn.LSTM(1, hidden_size) that remembers."""
    raise NotImplementedError("Exercise 11.6: lstm_init")
