r"""Recurrent networks: cells, backpropagation through time, LSTM and GRU layers (Chapter 11).

The module follows the chapter. :func:`rnn_forward` runs the vanilla recurrence
:math:`\mathbf{h}_t = \tanh(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} +
\mathbf{b}_{hh})`, :func:`rnn_bptt` differentiates it by hand (backpropagation through
time), :func:`state_jacobian_norms` measures how fast gradients vanish or explode along
the sequence and :func:`clip_grad_norm_` (Chapter 9's :func:`dlbook.optim.clip_grad_norm_`,
re-exported) is the cure for the second problem. The gated
cells :func:`lstm_cell` and :func:`gru_cell` follow PyTorch's conventions (gate order,
two biases, the GRU's reset gate applied after the hidden-state product). The layers
:class:`RNN`, :class:`LSTM` and :class:`GRU` take ``torch.nn.RNN``/``LSTM``/``GRU``'s
constructor arguments, load their state dicts and give the same outputs and gradients;
:class:`CharLSTM` is the character-level language model that Chapter 13 compares with.

Shapes: :math:`T` steps, :math:`B` sequences in a batch, :math:`F` input features,
:math:`H` hidden units, :math:`M` stacked layers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks
from dlbook.optim import clip_grad_norm_  # Chapter 9; re-exported: Chapter 11 uses it

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "CharLSTM",
    "RNNGradients",
    "clip_grad_norm_",
    "gru_cell",
    "lstm_cell",
    "lstm_init",
    "rnn_bptt",
    "rnn_cell",
    "rnn_forward",
    "state_jacobian_norms",
]

_NONLINEARITIES = ("tanh", "relu")


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _check_tensor(name: str, value: object, ndims: tuple[int, ...]) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.dim() not in ndims:
        wanted = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {wanted}, got shape {tuple(value.shape)}")
    return value


def _check_shape(name: str, value: Tensor, shape: tuple[int, ...]) -> None:
    if tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")


def _check_same(reference: Tensor, **others: Tensor | None) -> None:
    for name, other in others.items():
        if other is None:
            continue
        if other.device != reference.device:
            raise ValueError(
                f"{name} is on {other.device}, but the input is on {reference.device}: "
                "move all tensors to one device"
            )
        if other.dtype != reference.dtype:
            raise TypeError(f"{name} has dtype {other.dtype}, but the input has {reference.dtype}")


def _check_weights(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    gates: int,
) -> None:
    """Shapes of one cell's weights for ``gates`` gates: W_ih (G H, F), W_hh (G H, H)."""
    hidden = h.shape[-1]
    _check_tensor("weight_ih", weight_ih, (2,))
    _check_tensor("weight_hh", weight_hh, (2,))
    _check_shape("weight_ih", weight_ih, (gates * hidden, x.shape[-1]))
    _check_shape("weight_hh", weight_hh, (gates * hidden, hidden))
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None:
            _check_tensor(name, bias, (1,))
            _check_shape(name, bias, (gates * hidden,))
    _check_same(x, hx=h, weight_ih=weight_ih, weight_hh=weight_hh, bias_ih=bias_ih, bias_hh=bias_hh)


def _check_cell_input(x: object, h: object, what: str = "hx") -> tuple[Tensor, Tensor]:
    x = _check_tensor("input", x, (1, 2))
    h = _check_tensor(what, h, (1, 2))
    if h.dim() != x.dim() or (x.dim() == 2 and h.shape[0] != x.shape[0]):
        raise ValueError(
            f"{what} must be (B, H) for input (B, F) or (H,) for input (F,), got {what} "
            f"{tuple(h.shape)} for input {tuple(x.shape)}"
        )
    return x, h


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return F.linear(x, weight, bias)


# --------------------------------------------------------------------------------------
# The vanilla RNN and backpropagation through time
# --------------------------------------------------------------------------------------
def rnn_cell(
    input: Tensor,  # noqa: A002 (torch.nn's name)
    hx: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    r"""One step of the vanilla (Elman) recurrent network, as ``torch.nn.RNNCell``.

    .. math::

        \mathbf{h}_t = \phi\bigl(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih}
        + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}\bigr),
        \qquad \phi \in \{\tanh, \operatorname{ReLU}\}

    (Chapter 11, section "The vanilla RNN").

    Parameters
    ----------
    input : Tensor, shape (B, F) or (F,)
        :math:`\mathbf{x}_t`.
    hx : Tensor, shape (B, H) or (H,)
        :math:`\mathbf{h}_{t-1}`.
    weight_ih : Tensor, shape (H, F)
    weight_hh : Tensor, shape (H, H)
    bias_ih, bias_hh : Tensor, shape (H,), optional
    nonlinearity : {"tanh", "relu"}, default "tanh"

    Returns
    -------
    Tensor, shape of ``hx``
        :math:`\mathbf{h}_t`.

    Raises
    ------
    TypeError
        If an argument is not a floating-point tensor, or dtypes differ.
    ValueError
        If shapes do not fit, tensors are on different devices, or ``nonlinearity`` is
        unknown.

    References
    ----------
    J. L. Elman, "Finding structure in time", Cognitive Science 14 (1990).

    Examples
    --------
    >>> W_ih, W_hh = torch.eye(2), torch.zeros(2, 2)
    >>> rnn_cell(torch.tensor([0.0, 100.0]), torch.zeros(2), W_ih, W_hh)
    tensor([0., 1.])
    """
    x, h = _check_cell_input(input, hx)
    _check_weights(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    a = _linear(x, weight_ih, bias_ih) + _linear(h, weight_hh, bias_hh)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def rnn_forward(
    input: Tensor,  # noqa: A002 (torch.nn's name)
    h0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    r"""Run the vanilla RNN over a sequence and return every hidden state.

    .. math::

        \mathbf{h}_t = \phi\bigl(\mathbf{a}_t\bigr), \qquad
        \mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1}
        + \mathbf{b}_{hh}, \qquad t = 1, \dots, T

    (Chapter 11, section "The vanilla RNN").

    Parameters
    ----------
    input : Tensor, shape (T, B, F)
        The sequence, time first (PyTorch's ``batch_first=False`` layout).
    h0 : Tensor, shape (B, H)
        The initial state :math:`\mathbf{h}_0`.
    weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity
        As in :func:`rnn_cell`.

    Returns
    -------
    Tensor, shape (T, B, H)
        :math:`\mathbf{h}_1, \dots, \mathbf{h}_T`.

    Raises
    ------
    TypeError, ValueError
        As :func:`rnn_cell`, and if ``input`` is not 3-D or ``h0`` not 2-D.

    Examples
    --------
    >>> x = torch.ones(3, 1, 1)
    >>> rnn_forward(x, torch.zeros(1, 1), torch.ones(1, 1), torch.zeros(1, 1)).shape
    torch.Size([3, 1, 1])
    """
    x = _check_tensor("input", input, (3,))
    h = _check_tensor("h0", h0, (2,))
    if h.shape[0] != x.shape[1]:
        raise ValueError(f"h0 must have {x.shape[1]} rows (the batch), got {tuple(h.shape)}")
    _check_weights(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    # (T, B, F) -> (T, B, H): the input part of every a_t in one product
    a_input = _linear(x, weight_ih, bias_ih)
    states = []
    for t in range(x.shape[0]):
        h = act(a_input[t] + _linear(h, weight_hh, bias_hh))
        states.append(h)
    if not states:  # T = 0: no states, h_1..h_T is empty
        return h.new_empty(0, *h.shape)
    return torch.stack(states)  # T x (B, H) -> (T, B, H)


class RNNGradients(NamedTuple):
    """Gradients of a loss with respect to everything :func:`rnn_forward` reads."""

    input: Tensor
    h0: Tensor
    weight_ih: Tensor
    weight_hh: Tensor
    bias_ih: Tensor
    bias_hh: Tensor


def rnn_bptt(
    input: Tensor,  # noqa: A002 (torch.nn's name)
    h0: Tensor,
    states: Tensor,
    grad_states: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    nonlinearity: str = "tanh",
) -> RNNGradients:
    r"""Backpropagation through time for :func:`rnn_forward`, written out by hand.

    With :math:`\boldsymbol{\delta}_t = \partial L / \partial \mathbf{h}_t` the gradient that
    reaches :math:`\mathbf{h}_t` directly (from the output at step :math:`t`), the adjoint
    :math:`\bar{\mathbf{h}}_t` collects that and what flows back from step :math:`t+1`:

    .. math::

        \bar{\mathbf{h}}_T = \boldsymbol{\delta}_T, \quad
        \bar{\mathbf{a}}_t = \bar{\mathbf{h}}_t \odot \phi'(\mathbf{a}_t), \quad
        \bar{\mathbf{h}}_{t-1} = \boldsymbol{\delta}_{t-1} + W_{hh}^\top \bar{\mathbf{a}}_t,

    .. math::

        \frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \bar{\mathbf{a}}_t
        \mathbf{h}_{t-1}^\top, \quad
        \frac{\partial L}{\partial W_{ih}} = \sum_{t=1}^{T} \bar{\mathbf{a}}_t
        \mathbf{x}_t^\top, \quad
        \frac{\partial L}{\partial \mathbf{b}} = \sum_{t=1}^{T} \bar{\mathbf{a}}_t,
        \quad \frac{\partial L}{\partial \mathbf{x}_t} = W_{ih}^\top \bar{\mathbf{a}}_t

    (Chapter 11, section "Backpropagation through time"), summed over the batch.
    :math:`\phi'` is computed from the stored states: :math:`1 - \mathbf{h}_t^2` for
    tanh, :math:`[\mathbf{h}_t > 0]` for ReLU.

    Parameters
    ----------
    input : Tensor, shape (T, B, F)
    h0 : Tensor, shape (B, H)
    states : Tensor, shape (T, B, H)
        The output of :func:`rnn_forward`.
    grad_states : Tensor, shape (T, B, H)
        :math:`\boldsymbol{\delta}_1, \dots, \boldsymbol{\delta}_T`.
    weight_ih : Tensor, shape (H, F)
    weight_hh : Tensor, shape (H, H)
    nonlinearity : {"tanh", "relu"}, default "tanh"

    Returns
    -------
    RNNGradients
        ``(input, h0, weight_ih, weight_hh, bias_ih, bias_hh)``, each the shape of the
        tensor it differentiates (the two bias gradients are equal).

    Raises
    ------
    TypeError, ValueError
        If shapes, dtypes or devices do not fit, or ``nonlinearity`` is unknown.

    References
    ----------
    P. J. Werbos, "Backpropagation through time: what it does and how to do it",
    Proceedings of the IEEE 78 (1990).

    Examples
    --------
    >>> x, h0 = torch.ones(2, 1, 1), torch.zeros(1, 1)
    >>> W_ih, W_hh = torch.ones(1, 1), torch.ones(1, 1)
    >>> hs = rnn_forward(x, h0, W_ih, W_hh)
    >>> g = torch.zeros(2, 1, 1); g[-1] = 1.0
    >>> grads = rnn_bptt(x, h0, hs, g, W_ih, W_hh)
    >>> torch.allclose(grads.weight_hh, (1 - hs[1] ** 2) * hs[0])
    True
    """
    x = _check_tensor("input", input, (3,))
    h0 = _check_tensor("h0", h0, (2,))
    _check_weights(x, h0, weight_ih, weight_hh, None, None, gates=1)
    shape = (x.shape[0], x.shape[1], h0.shape[1])
    _check_shape("states", _check_tensor("states", states, (3,)), shape)
    _check_shape("grad_states", _check_tensor("grad_states", grad_states, (3,)), shape)
    _check_same(x, states=states, grad_states=grad_states)
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    previous = torch.cat([h0.unsqueeze(0), states[:-1]])  # (T, B, H): h_0 .. h_{T-1}
    # phi'(a_t) from the stored states: tanh' = 1 - h_t^2, ReLU' = [h_t > 0]
    local = 1 - states**2 if nonlinearity == "tanh" else (states > 0).to(states.dtype)
    grad_a = torch.empty_like(states)
    carried = torch.zeros_like(h0)  # W_hh^T a-bar_{t+1}, nothing after step T
    for t in range(x.shape[0] - 1, -1, -1):
        grad_a[t] = (grad_states[t] + carried) * local[t]
        carried = grad_a[t] @ weight_hh  # (B, H) @ (H, H): rows are W_hh^T a-bar_t
    # Sums over steps and batch: (T, B, H) x (T, B, .) -> (H, .)
    grad_w_hh = torch.einsum("tbh,tbk->hk", grad_a, previous)
    grad_w_ih = torch.einsum("tbh,tbi->hi", grad_a, x)
    grad_b = grad_a.sum(dim=(0, 1))
    grad_x = grad_a @ weight_ih  # (T, B, H) @ (H, F) -> (T, B, F)
    return RNNGradients(grad_x, carried, grad_w_ih, grad_w_hh, grad_b, grad_b.clone())


def state_jacobian_norms(
    states: Tensor, h0: Tensor, weight_hh: Tensor, nonlinearity: str = "tanh"
) -> Tensor:
    r"""Spectral norms of :math:`\partial \mathbf{h}_T / \partial \mathbf{h}_{T-k}` for every lag.

    The Jacobian of one step is :math:`\operatorname{diag}\bigl(\phi'(\mathbf{a}_t)\bigr)
    W_{hh}`, so by the chain rule

    .. math::

        \frac{\partial \mathbf{h}_T}{\partial \mathbf{h}_{T-k}} = \prod_{t=T-k+1}^{T}
        \operatorname{diag}\bigl(\phi'(\mathbf{a}_t)\bigr) W_{hh}, \qquad
        \Bigl\lVert \frac{\partial \mathbf{h}_T}{\partial \mathbf{h}_{T-k}} \Bigr\rVert_2
        \le \prod_{t} \lVert \operatorname{diag}(\phi'(\mathbf{a}_t)) \rVert_2\,
        \lVert W_{hh} \rVert_2^{k}

    (Chapter 11, section "Vanishing and exploding gradients").

    Parameters
    ----------
    states : Tensor, shape (T, H)
        :math:`\mathbf{h}_1, \dots, \mathbf{h}_T` of one sequence (from
        :func:`rnn_forward` with a batch of one, squeezed).
    h0 : Tensor, shape (H,)
        :math:`\mathbf{h}_0` (needed only for its device and size).
    weight_hh : Tensor, shape (H, H)
    nonlinearity : {"tanh", "relu"}, default "tanh"

    Returns
    -------
    Tensor, shape (T + 1,)
        Entry :math:`k` is :math:`\lVert \partial \mathbf{h}_T / \partial
        \mathbf{h}_{T-k} \rVert_2`, for :math:`k = 0, \dots, T` (entry 0 is 1).

    Raises
    ------
    TypeError, ValueError
        If shapes, dtypes or devices do not fit.

    Examples
    --------
    >>> W = 0.5 * torch.eye(2)
    >>> states = torch.zeros(3, 2)  # tanh'(0) = 1, so the norms are 0.5 ** k
    >>> state_jacobian_norms(states, torch.zeros(2), W)
    tensor([1.0000, 0.5000, 0.2500, 0.1250])
    """
    states = _check_tensor("states", states, (2,))
    h0 = _check_tensor("h0", h0, (1,))
    hidden = h0.shape[0]
    _check_shape("states", states, (states.shape[0], hidden))
    _check_tensor("weight_hh", weight_hh, (2,))
    _check_shape("weight_hh", weight_hh, (hidden, hidden))
    _check_same(states, h0=h0, weight_hh=weight_hh)
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    local = 1 - states**2 if nonlinearity == "tanh" else (states > 0).to(states.dtype)
    jacobian = torch.eye(hidden, dtype=states.dtype, device=states.device)
    norms = [torch.linalg.matrix_norm(jacobian, ord=2)]
    for t in range(states.shape[0] - 1, -1, -1):
        # J <- J diag(phi'(a_t)) W_hh: one more step back in time
        jacobian = (jacobian * local[t]) @ weight_hh
        norms.append(torch.linalg.matrix_norm(jacobian, ord=2))
    return torch.stack(norms)


# --------------------------------------------------------------------------------------
# Gated cells
# --------------------------------------------------------------------------------------
def lstm_cell(
    input: Tensor,  # noqa: A002 (torch.nn's name)
    hx: tuple[Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One step of the LSTM with PyTorch's gate order :math:`(i, f, g, o)`, as ``nn.LSTMCell``.

    .. math::

        \begin{pmatrix} \mathbf{i}_t \\ \mathbf{f}_t \\ \mathbf{g}_t \\ \mathbf{o}_t
        \end{pmatrix} =
        \begin{pmatrix} \sigma \\ \sigma \\ \tanh \\ \sigma \end{pmatrix}
        \bigl(W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1}
        + \mathbf{b}_{hh}\bigr), \qquad
        \mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot
        \mathbf{g}_t, \qquad \mathbf{h}_t = \mathbf{o}_t \odot \tanh \mathbf{c}_t

    (Chapter 11, section "LSTM"). The rows of the weights hold the four gates in that
    order, :math:`H` rows each.

    Parameters
    ----------
    input : Tensor, shape (B, F) or (F,)
    hx : (Tensor, Tensor), each of shape (B, H) or (H,)
        :math:`(\mathbf{h}_{t-1}, \mathbf{c}_{t-1})`.
    weight_ih : Tensor, shape (4H, F)
    weight_hh : Tensor, shape (4H, H)
    bias_ih, bias_hh : Tensor, shape (4H,), optional

    Returns
    -------
    (Tensor, Tensor)
        :math:`(\mathbf{h}_t, \mathbf{c}_t)`, each the shape of ``hx[0]``.

    Raises
    ------
    TypeError, ValueError
        If ``hx`` is not a pair, or shapes, dtypes or devices do not fit.

    References
    ----------
    S. Hochreiter, J. Schmidhuber, "Long short-term memory", Neural Computation 9 (1997);
    F. A. Gers, J. Schmidhuber, F. Cummins, "Learning to forget: continual prediction
    with LSTM", Neural Computation 12 (2000).

    Examples
    --------
    >>> W_ih, W_hh = torch.zeros(4, 1), torch.zeros(4, 1)
    >>> b = torch.tensor([100.0, -100.0, 100.0, 100.0])  # i = 1, f = 0, g = 1, o = 1
    >>> h, c = lstm_cell(torch.zeros(1), (torch.zeros(1), torch.full((1,), 5.0)), W_ih, W_hh, b)
    >>> c, h
    (tensor([1.]), tensor([0.7616]))
    """
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"hx must be a pair (h, c) of tensors, got {type(hx).__name__}")
    x, h = _check_cell_input(input, hx[0], "hx[0]")
    c = _check_tensor("hx[1]", hx[1], (1, 2))
    _check_shape("hx[1]", c, tuple(h.shape))
    _check_same(x, **{"hx[1]": c})
    _check_weights(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=4)
    gates = _linear(x, weight_ih, bias_ih) + _linear(h, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=-1)  # (B, 4H) -> 4 x (B, H), PyTorch's order
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def gru_cell(
    input: Tensor,  # noqa: A002 (torch.nn's name)
    hx: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None = None,
    bias_hh: Tensor | None = None,
    *,
    reset_after: bool = True,
) -> Tensor:
    r"""One step of the GRU, gate order :math:`(r, z, n)`, as ``nn.GRUCell``.

    .. math::

        \mathbf{r}_t = \sigma(W_{ir}\mathbf{x}_t + \mathbf{b}_{ir} + W_{hr}\mathbf{h}_{t-1}
        + \mathbf{b}_{hr}), \qquad
        \mathbf{z}_t = \sigma(W_{iz}\mathbf{x}_t + \mathbf{b}_{iz} + W_{hz}\mathbf{h}_{t-1}
        + \mathbf{b}_{hz}),

    .. math::

        \mathbf{n}_t = \tanh\bigl(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + \mathbf{r}_t
        \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn})\bigr), \qquad
        \mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot
        \mathbf{h}_{t-1}

    (Chapter 11, section "GRU"). This is PyTorch's (and cuDNN's) placement of the reset
    gate, *after* the hidden-state product, as in the first arXiv version (v1) of Cho et al.
    With ``reset_after=False`` the candidate is that of the paper's final version (EMNLP,
    arXiv v3), :math:`\mathbf{n}_t = \tanh\bigl(W_{in}\mathbf{x}_t +
    \mathbf{b}_{in} + W_{hn}(\mathbf{r}_t \odot \mathbf{h}_{t-1}) + \mathbf{b}_{hn}\bigr)`,
    a different function of the same parameters.

    Parameters
    ----------
    input : Tensor, shape (B, F) or (F,)
    hx : Tensor, shape (B, H) or (H,)
    weight_ih : Tensor, shape (3H, F)
    weight_hh : Tensor, shape (3H, H)
    bias_ih, bias_hh : Tensor, shape (3H,), optional
    reset_after : bool, default True
        PyTorch's formulation (True) or that of Cho et al. 2014's final version (False).

    Returns
    -------
    Tensor, shape of ``hx``
        :math:`\mathbf{h}_t`.

    Raises
    ------
    TypeError, ValueError
        If shapes, dtypes or devices do not fit.

    References
    ----------
    K. Cho et al., "Learning phrase representations using RNN encoder-decoder for
    statistical machine translation", EMNLP 2014.

    Examples
    --------
    >>> W_ih, W_hh = torch.zeros(3, 1), torch.zeros(3, 1)
    >>> b = torch.tensor([0.0, 100.0, 0.0])  # z = 1: the state is copied
    >>> gru_cell(torch.zeros(1), torch.tensor([0.3]), W_ih, W_hh, b)
    tensor([0.3000])
    """
    x, h = _check_cell_input(input, hx)
    _check_weights(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=3)
    x_r, x_z, x_n = _linear(x, weight_ih, bias_ih).chunk(3, dim=-1)  # 3 x (B, H)
    if reset_after:
        h_r, h_z, h_n = _linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        n = torch.tanh(x_n + r * h_n)
    else:
        hidden = h.shape[-1]
        w_hr, w_hz, w_hn = weight_hh.split(hidden)
        b_hr, b_hz, b_hn = bias_hh.split(hidden) if bias_hh is not None else (None,) * 3
        h_r, h_z = _linear(h, w_hr, b_hr), _linear(h, w_hz, b_hz)
        r = torch.sigmoid(x_r + h_r)
        n = torch.tanh(x_n + _linear(r * h, w_hn, b_hn))
    z = torch.sigmoid(x_z + h_z)
    return (1 - z) * n + z * h


def lstm_init(
    hidden_size: int,
    generator: torch.Generator,
    input_size: int = 1,
    forget_bias: float = 4.0,
) -> dict[str, Tensor]:
    r"""A state dict for ``nn.LSTM(input_size, hidden_size)`` whose forget gates start open.

    The weights are PyTorch's default, :math:`U(-1/\sqrt{H}, 1/\sqrt{H})`, except the
    forget gate's input-side bias, set to :math:`b_f`. With the gates held fixed the cell's
    Jacobian over :math:`k` steps is :math:`\prod_t \operatorname{diag}(\mathbf{f}_t)`
    (Chapter 11, section "LSTM"), so :math:`f \approx \sigma(b_f)` near 1 keeps gradients
    alive for about :math:`1/(1 - \sigma(b_f))` steps instead of the handful that
    :math:`\sigma(0) = 1/2` allows.

    Parameters
    ----------
    hidden_size : int
        :math:`H`.
    generator : torch.Generator
        The source of the random weights (on the CPU).
    input_size : int, default 1
        :math:`F`.
    forget_bias : float, default 4.0
        :math:`b_f`, added to ``bias_ih_l0[H:2H]`` (``bias_hh_l0[H:2H]`` is zeroed).

    Returns
    -------
    dict of str to Tensor
        ``weight_ih_l0`` (4H, F), ``weight_hh_l0`` (4H, H), ``bias_ih_l0`` and
        ``bias_hh_l0`` (4H,), float32, on the CPU.

    Raises
    ------
    ValueError
        If a size is not a positive int.

    Examples
    --------
    >>> state = lstm_init(8, torch.Generator().manual_seed(0))
    >>> _ = torch.nn.LSTM(1, 8).load_state_dict(state)
    >>> float(torch.sigmoid(state["bias_ih_l0"][8:16]).min()) > 0.98
    True
    """
    for name, value in (("hidden_size", hidden_size), ("input_size", input_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    bound = 1.0 / math.sqrt(hidden_size)
    shapes = {
        "weight_ih_l0": (4 * hidden_size, input_size),
        "weight_hh_l0": (4 * hidden_size, hidden_size),
        "bias_ih_l0": (4 * hidden_size,),
        "bias_hh_l0": (4 * hidden_size,),
    }
    state = {
        name: torch.empty(shape).uniform_(-bound, bound, generator=generator)
        for name, shape in shapes.items()
    }
    forget = slice(hidden_size, 2 * hidden_size)  # gate order i, f, g, o
    state["bias_ih_l0"][forget] = forget_bias
    state["bias_hh_l0"][forget] = 0.0
    return state


# --------------------------------------------------------------------------------------
# Multi-layer, optionally bidirectional layers with torch.nn's interface
# --------------------------------------------------------------------------------------
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _LSTMScan(torch.autograd.Function):
    r"""One direction of one LSTM layer over all steps, with backpropagation through time
    written out (Chapter 11, section "Backpropagation through time").

    The forward pass is the loop of :func:`lstm_cell` on precomputed input projections,
    run without building a graph; it keeps the gate activations
    :math:`(\mathbf{i}_t, \mathbf{f}_t, \mathbf{g}_t, \mathbf{o}_t)` and the cell states.
    The backward pass runs the steps in reverse with the LSTM's local derivatives,

    .. math::

        \bar{\mathbf{c}}_t \mathrel{+}= \bar{\mathbf{h}}_t \odot \mathbf{o}_t \odot
        (1 - \tanh^2 \mathbf{c}_t), \quad
        \bar{\mathbf{a}}_t = \bigl(\bar{\mathbf{c}}_t \odot \mathbf{g}_t,\;
        \bar{\mathbf{c}}_t \odot \mathbf{c}_{t-1},\;
        \bar{\mathbf{c}}_t \odot \mathbf{i}_t,\;
        \bar{\mathbf{h}}_t \odot \tanh \mathbf{c}_t\bigr) \odot \sigma'
        , \quad
        \bar{\mathbf{h}}_{t-1} = \bar{\mathbf{a}}_t W_{hh}, \quad
        \bar{\mathbf{c}}_{t-1} = \bar{\mathbf{c}}_t \odot \mathbf{f}_t,

    where :math:`\bar{\mathbf{a}}_t` is the gradient of the four gates' pre-activations
    and :math:`\sigma'` stands for each gate's derivative (:math:`s(1 - s)` for the
    sigmoids, :math:`1 - g^2` for the tanh). The weight gradient
    :math:`\bar W_{hh} = \sum_t \bar{\mathbf{a}}_t^\top \mathbf{h}_{t-1}` is one matrix
    product over all steps at the end, as cuDNN does. The arithmetic is autograd's on the
    same loop; what is saved is the bookkeeping of a graph with ten nodes per step. For
    gradients of gradients (``create_graph=True``) the backward pass instead runs the same
    loop again under autograd (:func:`_lstm_loop`) and differentiates that, so that every
    order of derivative is autograd's.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x_proj: Tensor,
        h: Tensor,
        c: Tensor,
        weight_hh: Tensor,
        reverse: bool,
    ) -> tuple[Tensor, Tensor, Tensor]:
        steps = x_proj.shape[0]
        H = weight_hh.shape[1]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        w_hh_t = weight_hh.t()  # (4H, H) -> (H, 4H)
        acts = torch.empty_like(x_proj)  # (T, B, 4H): i, f, g, o after their nonlinearity
        cells = x_proj.new_empty(steps, *c.shape)  # (T, B, H)
        hidden = x_proj.new_empty(steps, *h.shape)  # (T, B, H)
        h0, c0 = h, c
        for t in order:
            gates = torch.addmm(x_proj[t], h, w_hh_t)  # (B, 4H)
            a = acts[t]
            torch.sigmoid(gates, out=a)
            torch.tanh(gates[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
            i, f, g, o = a.chunk(4, dim=1)
            c = torch.addcmul(f * c, i, g, out=cells[t])  # f c + i g
            h = torch.mul(o, torch.tanh(c), out=hidden[t])
        ctx.save_for_backward(acts, cells, hidden, x_proj, h0, c0, weight_hh)
        ctx.reverse = reverse  # type: ignore[attr-defined]
        return hidden, h.clone(), c.clone()

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx,
        d_hidden: Tensor,
        d_h_last: Tensor,
        d_c_last: Tensor,
    ) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None, None]:
        saved = ctx.saved_tensors  # type: ignore[attr-defined]
        acts, cells, hidden, x_proj, h0, c0, weight_hh = saved
        reverse: bool = ctx.reverse  # type: ignore[attr-defined]
        if torch.is_grad_enabled():  # create_graph=True: differentiate the loop itself
            inputs = (x_proj, h0, c0, weight_hh)
            needed = [i for i, n in enumerate(ctx.needs_input_grad[:4]) if n]  # type: ignore[attr-defined]
            outputs = _lstm_loop(x_proj, h0, c0, weight_hh, reverse)
            found = torch.autograd.grad(
                outputs,
                [inputs[i] for i in needed],
                (d_hidden, d_h_last, d_c_last),
                create_graph=True,
                allow_unused=True,
            )
            grads: list[Tensor | None] = [None] * 4
            for i, grad in zip(needed, found, strict=True):
                grads[i] = grad
            return grads[0], grads[1], grads[2], grads[3], None
        steps, H = acts.shape[0], weight_hh.shape[1]
        order = list(range(steps - 1, -1, -1) if reverse else range(steps))
        # the states each step started from, in the order of the steps: (T, B, H)
        if reverse:
            c_prev = torch.cat((cells[1:], c0.unsqueeze(0)))
            h_prev = torch.cat((hidden[1:], h0.unsqueeze(0)))
        else:
            c_prev = torch.cat((c0.unsqueeze(0), cells[:-1]))
            h_prev = torch.cat((h0.unsqueeze(0), hidden[:-1]))
        # Everything that does not depend on the backward recursion, for all steps at once
        tanh_c = torch.tanh(cells)  # (T, B, H)
        o = acts[..., 3 * H :]
        dh_to_dc = o * (1 - tanh_c * tanh_c)  # d h_t / d c_t
        slope = acts * (1 - acts)  # sigmoid'(a) = s (1 - s) ...
        g = acts[..., 2 * H : 3 * H]
        slope[..., 2 * H : 3 * H] = 1 - g * g  # ... and tanh'(a) = 1 - g^2 for g
        # d gates = (dc, dc, dc, dh) * (g, c_{t-1}, i, tanh c) * slope: the second and third
        # factors are known from the forward pass, so they are multiplied once, for all t
        local = torch.cat((g, c_prev, acts[..., :H], tanh_c), dim=-1).mul_(slope)  # (T, B, 4H)
        d_gates = torch.empty_like(acts)  # (T, B, 4H)
        dh, dc = d_h_last, d_c_last
        for t in reversed(order):
            dh = dh + d_hidden[t]
            dc = torch.addcmul(dc, dh, dh_to_dc[t])
            torch.mul(torch.cat((dc, dc, dc, dh), dim=1), local[t], out=d_gates[t])
            dc = dc * acts[t, :, H : 2 * H]  # through f_t to c_{t-1}
            dh = d_gates[t] @ weight_hh  # (B, 4H) @ (4H, H) -> (B, H)
        # sum over steps and batch of the outer products a_t^T h_{t-1}: one product
        d_weight = d_gates.flatten(0, 1).t() @ h_prev.flatten(0, 1)  # (4H, T B) @ (T B, H)
        return d_gates, dh, dc, d_weight, None


def _lstm_loop(
    x_proj: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, reverse: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """The LSTM's steps as plain autograd operations (:func:`lstm_cell` without the input
    projection, which ``x_proj`` (T, B, 4H) holds): what :class:`_LSTMScan` computes."""
    steps = range(x_proj.shape[0] - 1, -1, -1) if reverse else range(x_proj.shape[0])
    H = weight_hh.shape[1]
    w_hh_t = weight_hh.t()  # (4H, H) -> (H, 4H)
    outputs = [x_proj.new_empty(0)] * x_proj.shape[0]
    for t in steps:
        gates = torch.addmm(x_proj[t], h, w_hh_t)  # (B, 4H)
        i, f, _, o = torch.sigmoid(gates).chunk(4, dim=1)
        g = torch.tanh(gates[:, 2 * H : 3 * H])
        c = torch.addcmul(f * c, i, g)  # f c + i g
        h = o * torch.tanh(c)
        outputs[t] = h
    return torch.stack(outputs), h, c  # T x (B, H) -> (T, B, H)


def _scan(
    mode: str,
    x_proj: Tensor,
    h: Tensor,
    c: Tensor | None,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    reverse: bool,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run one direction of one layer over precomputed input projections.

    ``x_proj`` (T, B, G H) holds :math:`W_{ih}\\mathbf{x}_t + \\mathbf{b}_{ih}` for every
    step (for the LSTM and the vanilla RNN also :math:`\\mathbf{b}_{hh}`, which then is
    ``None`` here): the loop does only the :math:`W_{hh}\\mathbf{h}_{t-1}` products.
    """
    if mode == "LSTM":
        assert c is not None and bias_hh is None
        out: tuple[Tensor, Tensor, Tensor] = _LSTMScan.apply(  # type: ignore[no-untyped-call]
            x_proj, h, c, weight_hh, reverse
        )
        return out
    steps = range(x_proj.shape[0] - 1, -1, -1) if reverse else range(x_proj.shape[0])
    H = weight_hh.shape[1]
    w_hh_t = weight_hh.t()  # (G H, H) -> (H, G H), so that h @ w_hh_t is W_hh h
    outputs: list[Tensor] = []
    for t in steps:
        if mode == "LSTM":
            assert c is not None
            gates = torch.addmm(x_proj[t], h, w_hh_t)  # (B, 4H)
            # One sigmoid over all 4H columns (g's quarter is unused): fewer, larger ops
            i, f, _, o = torch.sigmoid(gates).chunk(4, dim=1)
            g = torch.tanh(gates[:, 2 * H : 3 * H])
            c = torch.addcmul(f * c, i, g)  # f c + i g
            h = o * torch.tanh(c)
        elif mode == "GRU":
            h_proj = h @ w_hh_t if bias_hh is None else torch.addmm(bias_hh, h, w_hh_t)
            x_t = x_proj[t]
            r, z = torch.sigmoid(x_t[:, : 2 * H] + h_proj[:, : 2 * H]).chunk(2, dim=1)
            # PyTorch's reset gate: after the product, r (W_hn h + b_hn)
            n = torch.tanh(torch.addcmul(x_t[:, 2 * H :], r, h_proj[:, 2 * H :]))
            h = n + z * (h - n)  # (1 - z) n + z h
        else:
            a = torch.addmm(x_proj[t], h, w_hh_t)
            h = torch.tanh(a) if mode == "RNN_TANH" else torch.relu(a)
        outputs.append(h)
    if reverse:
        outputs.reverse()
    return torch.stack(outputs), h, c  # T x (B, H) -> (T, B, H)


class _Recurrent(nn.Module):
    """The machinery :class:`RNN`, :class:`LSTM` and :class:`GRU` share."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        # Registered in torch.nn's order, so parameters() and state_dict() line up.
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                weights = {
                    "weight_ih": torch.empty(gate_size, layer_input, device=device, dtype=dtype),
                    "weight_hh": torch.empty(gate_size, hidden_size, device=device, dtype=dtype),
                }
                if self.bias:
                    weights["bias_ih"] = torch.empty(gate_size, device=device, dtype=dtype)
                    weights["bias_hh"] = torch.empty(gate_size, device=device, dtype=dtype)
                for name, tensor in weights.items():
                    self.register_parameter(name + suffix, nn.Parameter(tensor))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight from :math:`U(-1/\\sqrt{H}, 1/\\sqrt{H})`, as torch.nn does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for weight in self.parameters():
                weight.uniform_(-bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text

    def _weights(
        self, layer: int, direction: int
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)

    def _check_state(
        self, name: str, state: object, batch: int, x: Tensor, batched: bool
    ) -> Tensor:
        layers = self.num_layers * (2 if self.bidirectional else 1)
        shape = (layers, batch, self.hidden_size) if batched else (layers, self.hidden_size)
        value = _check_tensor(name, state, (3,) if batched else (2,))
        _check_shape(name, value, shape)
        _check_same(x, **{name: value})
        return value

    def _run(
        self, sequence: object, h0: object, c0: object
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        if isinstance(sequence, nn.utils.rnn.PackedSequence):
            raise TypeError("PackedSequence input is not supported: pad the batch instead")
        x = _check_tensor("input", sequence, (2, 3))
        batched = x.dim() == 3
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input must have {self.input_size} features (input_size) on its last axis, "
                f"got shape {tuple(x.shape)}"
            )
        first = self.weight_ih_l0
        if x.device != first.device or x.dtype != first.dtype:
            raise ValueError(
                f"input is {x.dtype} on {x.device}, but the parameters are {first.dtype} on "
                f"{first.device}: move the input (or the module) with .to()"
            )
        if not batched:
            x = x.unsqueeze(1)  # (T, F) -> (T, 1, F)
        elif self.batch_first:
            x = x.transpose(0, 1)  # (B, T, F) -> (T, B, F)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError("input must have at least one time step, got 0")
        directions = 2 if self.bidirectional else 1
        layers = self.num_layers * directions
        if h0 is None:
            h_all = x.new_zeros(layers, batch, self.hidden_size)
        else:
            h_all = self._check_state("hx" if c0 is None else "h0", h0, batch, x, batched)
            h_all = h_all if batched else h_all.unsqueeze(1)  # (M D, H) -> (M D, 1, H)
        c_all: Tensor | None = None
        if self.mode == "LSTM":
            if c0 is None:
                c_all = x.new_zeros(layers, batch, self.hidden_size)
            else:
                c_all = self._check_state("c0", c0, batch, x, batched)
                c_all = c_all if batched else c_all.unsqueeze(1)
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = F.dropout(x, p=self.dropout, training=True)  # between layers, as torch
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
                index = layer * directions + direction
                if self.mode != "GRU" and b_hh is not None:
                    assert b_ih is not None
                    # b_ih + b_hh joins the input projection: one bias add for all steps
                    b_ih, b_hh = b_ih + b_hh, None
                x_proj = _linear(x, w_ih, b_ih)  # (T, B, F) -> (T, B, G H): all steps at once
                c_start = c_all[index] if c_all is not None else None
                out, h_last, c_last = _scan(
                    self.mode, x_proj, h_all[index], c_start, w_hh, b_hh, reverse=direction == 1
                )
                outputs.append(out)
                h_n.append(h_last)
                if c_last is not None:
                    c_n.append(c_last)
            x = outputs[0] if directions == 1 else torch.cat(outputs, dim=2)  # (T, B, D H)
        h_stack = torch.stack(h_n)  # (M D, B, H)
        c_stack = torch.stack(c_n) if c_n else None
        if not batched:
            x = x.squeeze(1)  # (T, 1, D H) -> (T, D H)
            h_stack = h_stack.squeeze(1)
            c_stack = c_stack.squeeze(1) if c_stack is not None else None
        elif self.batch_first:
            x = x.transpose(0, 1)  # (T, B, D H) -> (B, T, D H)
        return x, h_stack, c_stack


class RNN(_Recurrent):
    r"""A multi-layer vanilla RNN with ``torch.nn.RNN``'s interface and state dict.

    Layer :math:`m` runs :math:`\mathbf{h}^{(m)}_t = \phi\bigl(W^{(m)}_{ih}
    \mathbf{h}^{(m-1)}_t + \mathbf{b}^{(m)}_{ih} + W^{(m)}_{hh}\mathbf{h}^{(m)}_{t-1} +
    \mathbf{b}^{(m)}_{hh}\bigr)` with :math:`\mathbf{h}^{(0)}_t = \mathbf{x}_t`
    (Chapter 11, section "Layers with PyTorch's interface").

    Parameters
    ----------
    input_size, hidden_size : int
        :math:`F` and :math:`H`.
    num_layers : int, default 1
        :math:`M`, layers stacked in depth.
    nonlinearity : {"tanh", "relu"}, default "tanh"
    bias : bool, default True
    batch_first : bool, default False
        Input and output are (B, T, .) instead of (T, B, .); states are never batch-first.
    dropout : float, default 0.0
        Dropout on the outputs of every layer but the last, in training mode.
    bidirectional : bool, default False
        Run a second pass backwards in time; outputs concatenate both directions.
    device, dtype
        Where and in which precision the parameters are created.

    Shape
    -----
    ``forward(input, hx=None) -> (output, h_n)`` with input (T, B, F), (B, T, F) or
    unbatched (T, F); ``hx`` and ``h_n`` (M D, B, H) or (M D, H); output (T, B, D H)
    where D = 2 if bidirectional.

    Raises
    ------
    ValueError
        On a size that is not a positive int, a dropout outside [0, 1] or an unknown
        nonlinearity; in ``forward``, on inputs or states of the wrong shape or device.
    TypeError
        In ``forward``, on a non-float input or a PackedSequence.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> ours, theirs = RNN(3, 4, num_layers=2), torch.nn.RNN(3, 4, num_layers=2)
    >>> ours.load_state_dict(theirs.state_dict())
    <All keys matched successfully>
    >>> x = torch.randn(5, 2, 3)
    >>> torch.allclose(ours(x)[0], theirs(x)[0], atol=1e-6)
    True
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        output, h_n, _ = self._run(input, hx, None)
        return output, h_n


class GRU(_Recurrent):
    r"""A multi-layer GRU with ``torch.nn.GRU``'s interface, state dict and reset-gate placement.

    Every step is :func:`gru_cell` with ``reset_after=True``:
    :math:`\mathbf{n}_t = \tanh\bigl(W_{in}\mathbf{x}_t + \mathbf{b}_{in} + \mathbf{r}_t
    \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn})\bigr)`,
    :math:`\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot
    \mathbf{h}_{t-1}` (Chapter 11, section "GRU").

    Parameters
    ----------
    input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype
        As :class:`RNN`.

    Shape
    -----
    ``forward(input, hx=None) -> (output, h_n)``, shapes as :class:`RNN`.

    Raises
    ------
    ValueError, TypeError
        As :class:`RNN`.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> ours, theirs = GRU(3, 4, batch_first=True), torch.nn.GRU(3, 4, batch_first=True)
    >>> _ = ours.load_state_dict(theirs.state_dict())
    >>> x = torch.randn(2, 5, 3)
    >>> torch.allclose(ours(x)[1], theirs(x)[1], atol=1e-6)
    True
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        output, h_n, _ = self._run(input, hx, None)
        return output, h_n


class LSTM(_Recurrent):
    r"""A multi-layer LSTM with ``torch.nn.LSTM``'s interface and state dict.

    Every step is :func:`lstm_cell` (gate order :math:`i, f, g, o`). The input
    projection :math:`W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + \mathbf{b}_{hh}` of all
    :math:`T` steps is one matrix product before the loop; the loop does only
    :math:`W_{hh}\mathbf{h}_{t-1}` (Chapter 11, section "LSTM"). Its backward pass is
    backpropagation through time written out (:class:`_LSTMScan`), which gives autograd's
    gradients without a graph node per operation and step; gradients of gradients
    (``create_graph=True``) through it raise ``RuntimeError``: loop over
    :func:`lstm_cell` for those.

    Parameters
    ----------
    input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype
        As :class:`RNN`.
    proj_size : int, default 0
        Only 0 is supported (LSTM with projections is not implemented; any other value
        raises ``ValueError``).

    Shape
    -----
    ``forward(input, hx=None) -> (output, (h_n, c_n))``, with ``hx = (h_0, c_0)``; shapes as
    :class:`RNN`, ``c_0`` and ``c_n`` shaped like ``h_0``.

    Raises
    ------
    ValueError, TypeError
        As :class:`RNN`; ``TypeError`` also if ``hx`` is not a pair.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> ours, theirs = LSTM(3, 4, num_layers=2), torch.nn.LSTM(3, 4, num_layers=2)
    >>> _ = ours.load_state_dict(theirs.state_dict())
    >>> x = torch.randn(5, 2, 3)
    >>> out, (h, c) = ours(x)
    >>> out.shape, h.shape, torch.allclose(c, theirs(x)[1][1], atol=1e-6)
    (torch.Size([5, 2, 4]), torch.Size([2, 2, 4]), True)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if proj_size != 0:
            raise ValueError(
                f"proj_size must be 0 (projections are not implemented), got {proj_size}"
            )
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def forward(
        self,
        input: Tensor,  # noqa: A002 (torch.nn's name)
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h0: Tensor | None = None
        c0: Tensor | None = None
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"hx must be a pair (h_0, c_0) of tensors, got {type(hx).__name__}")
            h0, c0 = hx
            if c0 is None or h0 is None:
                raise TypeError("hx must hold two tensors (h_0, c_0), got None in it")
        output, h_n, c_n = self._run(input, h0, c0)
        assert c_n is not None
        return output, (h_n, c_n)


# --------------------------------------------------------------------------------------
# A character-level language model (compared with in Chapter 13)
# --------------------------------------------------------------------------------------
class CharLSTM(nn.Module):
    r"""A character-level language model: embedding, :class:`LSTM`, a linear read-out.

    .. math::

        \mathbf{e}_t = E[\,x_t\,], \qquad (\mathbf{h}_t, \mathbf{c}_t) =
        \operatorname{LSTM}(\mathbf{e}_t, (\mathbf{h}_{t-1}, \mathbf{c}_{t-1})), \qquad
        \mathbf{z}_t = W_{\text{out}}\mathbf{h}^{(M)}_t + \mathbf{b}_{\text{out}}

    and :math:`\operatorname{softmax}(\mathbf{z}_t)` is the model's distribution of the
    token :math:`x_{t+1}` (Chapter 11, section "A character-level language model").

    Parameters
    ----------
    vocab_size : int
        :math:`V`, the number of distinct tokens.
    embedding_dim : int
        Size of the token embeddings (the LSTM's input size).
    hidden_size : int
        :math:`H`.
    num_layers : int, default 1
        :math:`M`.

    Shape
    -----
    ``forward(tokens, state=None) -> (logits, state)``: tokens (B, T) of an integer
    dtype with values in [0, V); logits (B, T, V); state ``(h, c)``, each (M, B, H), to
    pass to the next call for text longer than one window.

    Raises
    ------
    ValueError
        If a size is not a positive int; in ``forward``, if ``tokens`` is not 2-D or
        holds values outside [0, V).
    TypeError
        In ``forward``, if ``tokens`` is not an integer tensor.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = CharLSTM(vocab_size=10, embedding_dim=8, hidden_size=16)
    >>> logits, (h, c) = model(torch.randint(0, 10, (2, 7)))
    >>> logits.shape, h.shape
    (torch.Size([2, 7, 10]), torch.Size([1, 2, 16]))
    """

    def __init__(
        self, vocab_size: int, embedding_dim: int, hidden_size: int, num_layers: int = 1
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("embedding_dim", embedding_dim),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(
        self, tokens: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if not isinstance(tokens, Tensor):
            raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}")
        if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
            raise TypeError(f"tokens must be an integer tensor, got dtype {tokens.dtype}")
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (B, T), got {tuple(tokens.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(
                f"tokens must lie in [0, {self.vocab_size}) (vocab_size), got values from "
                f"{int(tokens.min())} to {int(tokens.max())}"
            )
        embedded = self.embedding(tokens.long())  # (B, T) -> (B, T, E); .long(): uint8 is no index
        hidden, state = self.lstm(embedded, state)  # (B, T, E) -> (B, T, H)
        return self.head(hidden), state  # (B, T, H) -> (B, T, V)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
