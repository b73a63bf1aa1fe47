r"""Executable history: threshold units, Hebb's rule, the perceptron, XOR and parity.

Defined in Chapter 1 (A short history of deep learning). The module follows the chapter:
McCulloch-Pitts threshold units and the logic gates they compute, Boolean functions as
two-layer threshold networks (disjunctive normal form), Hebb's rule, Rosenblatt's
perceptron with Novikoff's mistake bound, the XOR network, and parity built shallow and
deep. A *threshold network* is a list of layers ``(W, theta)``, with ``W`` of shape
``(d_out, d_in)`` and ``theta`` of shape ``(d_out,)``; each layer computes
:math:`\mathbf{h}' = [W\mathbf{h} \ge \boldsymbol{\theta}]`. The module ends with the
chapter's plain data: the timeline and the ILSVRC results, each with its citation key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "GATES",
    "ILSVRC_RESULTS",
    "TIMELINE",
    "Event",
    "IlsvrcResult",
    "MarginPerceptronResult",
    "PerceptronResult",
    "boolean_inputs",
    "count_units",
    "count_weights",
    "dnf_network",
    "gate",
    "hebb_update",
    "margin",
    "margin_perceptron",
    "mistake_bound",
    "parity_deep",
    "parity_dnf",
    "parity_shallow",
    "perceptron",
    "perceptron_epoch",
    "separable_data",
    "sigmoid_unit",
    "threshold_network",
    "threshold_unit",
    "xor_network",
]

Layer = tuple[Tensor, Tensor]


def _as_float(x: Tensor, name: str) -> Tensor:
    """``x`` as a floating-point tensor (booleans and integers become float32)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    return x if x.is_floating_point() else x.to(torch.float32)


# ------------------------------------------------------------------ McCulloch-Pitts units
def threshold_unit(x: Tensor, w: Tensor, theta: float | Tensor) -> Tensor:
    r"""A McCulloch-Pitts threshold unit: fire (1) when the weighted input reaches ``theta``.

    .. math::

        y = [\mathbf{w}^\top \mathbf{x} \ge \theta]

    Defined in Chapter 1 (McCulloch-Pitts units).

    Parameters
    ----------
    x : Tensor, shape (..., d)
        Inputs (usually 0/1); booleans and integers are converted to float32.
    w : Tensor, shape (d,)
        Weights.
    theta : float or scalar Tensor
        Threshold.

    Returns
    -------
    Tensor, shape (...)
        0.0 or 1.0, in the floating-point type of ``x`` and on its device.

    Raises
    ------
    ValueError
        If ``w`` is not 1-D or its length differs from the last dimension of ``x``.

    References
    ----------
    McCulloch and Pitts (1943), A logical calculus of the ideas immanent in nervous activity.

    Examples
    --------
    >>> x = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> threshold_unit(x, torch.tensor([1.0, 1.0]), 2.0).tolist()  # AND
    [0.0, 0.0, 0.0, 1.0]
    """
    x = _as_float(x, "x")
    w = _as_float(w, "w").to(device=x.device, dtype=x.dtype)
    if w.ndim != 1 or x.ndim == 0 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"`w` must be 1-D with as many entries as the last dimension of `x`, "
            f"got w of shape {tuple(w.shape)} and x of shape {tuple(x.shape)}"
        )
    return (x @ w >= theta).to(x.dtype)  # (..., d) @ (d,) -> (...)


#: Weights and threshold of the basic gates as McCulloch-Pitts units: name -> (w, theta).
GATES: dict[str, tuple[tuple[float, ...], float]] = {
    "AND": ((1.0, 1.0), 2.0),
    "OR": ((1.0, 1.0), 1.0),
    "NAND": ((-1.0, -1.0), -1.0),
    "NOR": ((-1.0, -1.0), 0.0),
    "NOT": ((-1.0,), 0.0),
}


def gate(name: str, x: Tensor) -> Tensor:
    r"""Evaluate a named logic gate (AND, OR, NAND, NOR, NOT) as a single threshold unit.

    .. math::

        \mathrm{AND}(x_1, x_2) = [x_1 + x_2 \ge 2], \quad
        \mathrm{OR} = [x_1 + x_2 \ge 1], \quad
        \mathrm{NAND} = [-x_1 - x_2 \ge -1], \quad
        \mathrm{NOT}(x) = [-x \ge 0]

    Defined in Chapter 1 (McCulloch-Pitts units). The weights are in :data:`GATES`.

    Parameters
    ----------
    name : str
        One of ``"AND"``, ``"OR"``, ``"NAND"``, ``"NOR"``, ``"NOT"``.
    x : Tensor, shape (..., 2) or (..., 1) for NOT
        0/1 inputs.

    Returns
    -------
    Tensor, shape (...)
        The gate's output, 0.0 or 1.0.

    Raises
    ------
    ValueError
        If ``name`` is not a known gate or ``x`` has the wrong number of inputs.

    Examples
    --------
    >>> gate("NAND", torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])).tolist()
    [1.0, 1.0, 1.0, 0.0]
    """
    if name not in GATES:
        raise ValueError(f"`name` must be one of {sorted(GATES)}, got {name!r}")
    w, theta = GATES[name]
    x = _as_float(x, "x")
    return threshold_unit(x, torch.tensor(w, dtype=x.dtype, device=x.device), theta)


def boolean_inputs(n: int, *, device: torch.device | str | None = None) -> Tensor:
    r"""All :math:`2^n` inputs in :math:`\{0,1\}^n`, row :math:`k` holding the bits of :math:`k`.

    .. math::

        X_{k j} = \lfloor k / 2^{n-1-j} \rfloor \bmod 2, \qquad k = 0, \dots, 2^n - 1

    Defined in Chapter 1 (Boolean functions). The first column is the most significant bit,
    so row :math:`k` is the truth-table row of :math:`k` written in binary.

    Parameters
    ----------
    n : int
        Number of inputs, 1 to 20.
    device : torch.device or str, optional
        Where to create the result (default: the CPU).

    Returns
    -------
    Tensor, shape (2**n, n)
        float32 zeros and ones.

    Raises
    ------
    ValueError
        If ``n`` is not an integer from 1 to 20.

    Examples
    --------
    >>> boolean_inputs(2).tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 20:
        raise ValueError(f"`n` must be an integer from 1 to 20, got {n!r}")
    k = torch.arange(2**n, device=device)
    shifts = torch.arange(n - 1, -1, -1, device=device)
    return ((k[:, None] >> shifts) & 1).to(torch.float32)  # (2^n, 1) >> (n,) -> (2^n, n)


# ---------------------------------------------------------------------- threshold networks
def _check_layers(layers: list[Layer]) -> None:
    if not isinstance(layers, list) or not layers:
        raise ValueError("`layers` must be a non-empty list of (W, theta) pairs")
    for i, (W, theta) in enumerate(layers):
        if W.ndim != 2 or theta.shape != (W.shape[0],):
            raise ValueError(
                f"layer {i} must hold W of shape (d_out, d_in) and theta of shape (d_out,), "
                f"got W {tuple(W.shape)} and theta {tuple(theta.shape)}"
            )
        if i > 0 and W.shape[1] != layers[i - 1][0].shape[0]:
            raise ValueError(
                f"layer {i} expects {W.shape[1]} inputs but layer {i - 1} has "
                f"{layers[i - 1][0].shape[0]} units"
            )


def threshold_network(x: Tensor, layers: list[Layer]) -> Tensor:
    r"""Evaluate a feed-forward network of threshold units, layer by layer.

    .. math::

        \mathbf{h}^{(0)} = \mathbf{x}, \qquad
        \mathbf{h}^{(\ell)} = [W^{(\ell)} \mathbf{h}^{(\ell-1)} \ge \boldsymbol{\theta}^{(\ell)}]

    Defined in Chapter 1 (Boolean functions).

    Parameters
    ----------
    x : Tensor, shape (N, d_in)
        Inputs (usually 0/1).
    layers : list of (W, theta)
        ``W`` of shape (d_out, d_in), ``theta`` of shape (d_out,).

    Returns
    -------
    Tensor, shape (N, d_out)
        The last layer's outputs, 0.0 or 1.0, on the device of ``x``.

    Raises
    ------
    ValueError
        If ``x`` is not 2-D or the layer shapes do not chain together.

    Examples
    --------
    >>> threshold_network(boolean_inputs(2), xor_network())[:, 0].tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    h = _as_float(x, "x")
    _check_layers(layers)
    if h.ndim != 2 or h.shape[1] != layers[0][0].shape[1]:
        raise ValueError(f"`x` must have shape (N, {layers[0][0].shape[1]}), got {tuple(h.shape)}")
    for W, theta in layers:
        W, theta = W.to(h.device, h.dtype), theta.to(h.device, h.dtype)
        h = (h @ W.T >= theta).to(h.dtype)  # (N, d_in) @ (d_in, d_out) -> (N, d_out)
    return h


def count_units(layers: list[Layer]) -> int:
    r"""Number of threshold units in a network (hidden and output, not the inputs).

    .. math::

        \text{units} = \sum_\ell d^{(\ell)}_{\text{out}}

    Defined in Chapter 1 (Parity: shallow versus deep).

    Parameters
    ----------
    layers : list of (W, theta)

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the layers do not chain together.

    Examples
    --------
    >>> count_units(xor_network())
    3
    """
    _check_layers(layers)
    return sum(int(W.shape[0]) for W, _ in layers)


def count_weights(layers: list[Layer]) -> int:
    r"""Number of connections (non-zero weights) in a network of threshold units.

    .. math::

        \text{weights} = \sum_\ell \big|\{(i, j) : W^{(\ell)}_{ij} \ne 0\}\big|

    Defined in Chapter 1 (Parity: shallow versus deep).

    Parameters
    ----------
    layers : list of (W, theta)

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the layers do not chain together.

    Examples
    --------
    >>> count_weights(xor_network())
    6
    """
    _check_layers(layers)
    return sum(int(torch.count_nonzero(W)) for W, _ in layers)


def dnf_network(truth_table: Tensor) -> list[Layer]:
    r"""A two-layer threshold network computing any Boolean function (its DNF).

    One hidden unit per input :math:`\mathbf{a}` with :math:`f(\mathbf{a}) = 1` fires on
    exactly that input (a minterm), and the output unit ORs them:

    .. math::

        h_{\mathbf{a}}(\mathbf{x}) = \Big[\sum_j (2a_j - 1)\, x_j \ge \sum_j a_j\Big],
        \qquad f(\mathbf{x}) = \Big[\sum_{\mathbf{a}} h_{\mathbf{a}}(\mathbf{x}) \ge 1\Big]

    Defined in Chapter 1 (Boolean functions).

    Parameters
    ----------
    truth_table : Tensor, shape (2**n,)
        :math:`f` on the rows of :func:`boolean_inputs` ``(n)``, as booleans or 0/1.

    Returns
    -------
    list of (W, theta)
        Hidden layer of shape (m, n) with m the number of true rows, output layer (1, m).

    Raises
    ------
    ValueError
        If the length of ``truth_table`` is not a power of two (at least 2), or its values
        are not 0/1.

    Examples
    --------
    >>> layers = dnf_network(torch.tensor([0, 1, 1, 0]))  # XOR
    >>> threshold_network(boolean_inputs(2), layers)[:, 0].tolist(), count_units(layers)
    ([0.0, 1.0, 1.0, 0.0], 3)
    """
    table = _as_float(truth_table, "truth_table")
    size = table.shape[0] if table.ndim == 1 else 0
    if size < 2 or size & (size - 1):
        raise ValueError(
            f"`truth_table` must be 1-D of length 2**n with n >= 1, got shape {tuple(table.shape)}"
        )
    if not bool(((table == 0) | (table == 1)).all()):
        raise ValueError("`truth_table` must hold only 0/1 (or booleans)")
    n = size.bit_length() - 1
    minterms = boolean_inputs(n, device=table.device)[table == 1]  # (m, n) true rows
    W1 = 2 * minterms - 1  # +1 where the bit must be on, -1 where it must be off
    theta1 = minterms.sum(dim=1)  # fires only when every on-bit is on and no off-bit is
    W2 = torch.ones(1, minterms.shape[0], device=table.device)
    theta2 = torch.ones(1, device=table.device)
    return [(W1, theta1), (W2, theta2)]


def xor_network(*, device: torch.device | str | None = None) -> list[Layer]:
    r"""The two-layer threshold network for XOR: :math:`\mathrm{AND}(\mathrm{OR}, \mathrm{NAND})`.

    .. math::

        x_1 \oplus x_2 = \big[\,[x_1 + x_2 \ge 1] + [-x_1 - x_2 \ge -1] \ge 2\,\big]

    Defined in Chapter 1 (XOR).

    Parameters
    ----------
    device : torch.device or str, optional
        Where to create the weights (default: the CPU).

    Returns
    -------
    list of (W, theta)
        Hidden layer (OR, NAND) of shape (2, 2) and output layer (AND) of shape (1, 2).

    Examples
    --------
    >>> [tuple(W.shape) for W, _ in xor_network()]
    [(2, 2), (1, 2)]
    """
    (w_or, t_or), (w_nand, t_nand), (w_and, t_and) = GATES["OR"], GATES["NAND"], GATES["AND"]
    W1 = torch.tensor([w_or, w_nand], device=device)
    theta1 = torch.tensor([t_or, t_nand], device=device)
    W2 = torch.tensor([w_and], device=device)
    theta2 = torch.tensor([t_and], device=device)
    return [(W1, theta1), (W2, theta2)]


# ----------------------------------------------------------------------------------- parity
def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 20:
        raise ValueError(f"`n` must be an integer from 2 to 20, got {n!r}")


def parity_dnf(n: int) -> list[Layer]:
    r"""Parity of ``n`` bits as a DNF network: one hidden unit per odd input pattern.

    .. math::

        \text{units} = 2^{n-1} + 1

    Defined in Chapter 1 (Parity: shallow versus deep). This is :func:`dnf_network` of the
    parity truth table.

    Parameters
    ----------
    n : int
        Number of bits, 2 to 20.

    Returns
    -------
    list of (W, theta)

    Raises
    ------
    ValueError
        If ``n`` is not an integer from 2 to 20.

    Examples
    --------
    >>> count_units(parity_dnf(4))
    9
    """
    _check_n(n)
    return dnf_network(boolean_inputs(n).sum(dim=1) % 2)


def parity_shallow(n: int) -> list[Layer]:
    r"""Parity of ``n`` bits with one hidden layer of ``n`` counting units.

    Hidden unit :math:`k` fires when at least :math:`k` bits are on; the output adds them
    with alternating signs, which gives 1 exactly when the count :math:`s` is odd:

    .. math::

        h_k = \Big[\sum_j x_j \ge k\Big], \qquad
        y = \Big[\sum_{k=1}^{n} (-1)^{k+1} h_k \ge 1\Big], \qquad \text{units} = n + 1

    Defined in Chapter 1 (Parity: shallow versus deep).

    Parameters
    ----------
    n : int
        Number of bits, 2 to 20.

    Returns
    -------
    list of (W, theta)
        Hidden layer (n, n) and output layer (1, n).

    Raises
    ------
    ValueError
        If ``n`` is not an integer from 2 to 20.

    Examples
    --------
    >>> threshold_network(boolean_inputs(3), parity_shallow(3))[:, 0].tolist()
    [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    """
    _check_n(n)
    k = torch.arange(1, n + 1, dtype=torch.float32)
    W1, theta1 = torch.ones(n, n), k  # h_k = [sum_j x_j >= k]
    W2 = (-1.0) ** (k + 1)  # +1, -1, +1, ...: h_1 - h_2 + h_3 - ... is s mod 2
    return [(W1, theta1), (W2[None, :], torch.ones(1))]


def parity_deep(n: int) -> list[Layer]:
    r"""Parity of ``n`` bits as a balanced tree of two-input XOR blocks.

    Each level pairs up its signals and XORs each pair with the block of
    :func:`xor_network` (two layers, three units); an unpaired signal is copied through
    both layers by the unit :math:`[x \ge 1]`. For :math:`n = 2^L`:

    .. math::

        \text{layers} = 2\lceil \log_2 n \rceil, \qquad \text{units} = 3(n - 1)

    and each copied signal adds two units otherwise.

    Defined in Chapter 1 (Parity: shallow versus deep).

    Parameters
    ----------
    n : int
        Number of bits, 2 to 20.

    Returns
    -------
    list of (W, theta)
        :math:`2\lceil\log_2 n\rceil` layers, each unit with fan-in at most 2.

    Raises
    ------
    ValueError
        If ``n`` is not an integer from 2 to 20.

    Examples
    --------
    >>> layers = parity_deep(4)
    >>> len(layers), count_units(layers)
    (4, 9)
    """
    _check_n(n)
    (w_or, t_or), (w_nand, t_nand), (w_and, t_and) = GATES["OR"], GATES["NAND"], GATES["AND"]
    layers: list[Layer] = []
    width = n
    while width > 1:
        pairs, carry = divmod(width, 2)
        # First layer of the level: (OR, NAND) of each pair, plus a copy of the odd one out.
        W1 = torch.zeros(2 * pairs + carry, width)
        theta1 = torch.zeros(2 * pairs + carry)
        for p in range(pairs):
            W1[2 * p, 2 * p : 2 * p + 2] = torch.tensor(w_or)
            W1[2 * p + 1, 2 * p : 2 * p + 2] = torch.tensor(w_nand)
            theta1[2 * p], theta1[2 * p + 1] = t_or, t_nand
        # Second layer: AND of each (OR, NAND) pair, plus the copy again.
        W2 = torch.zeros(pairs + carry, 2 * pairs + carry)
        theta2 = torch.zeros(pairs + carry)
        for p in range(pairs):
            W2[p, 2 * p : 2 * p + 2] = torch.tensor(w_and)
            theta2[p] = t_and
        if carry:
            W1[-1, -1], theta1[-1] = 1.0, 1.0  # copy unit [x >= 1]
            W2[-1, -1], theta2[-1] = 1.0, 1.0
        layers += [(W1, theta1), (W2, theta2)]
        width = pairs + carry
    return layers


# -------------------------------------------------------------------------- learning rules
def hebb_update(w: Tensor, x: Tensor, y: Tensor | float, lr: float = 1.0) -> Tensor:
    r"""Hebb's rule: strengthen each weight in proportion to joint pre- and post-activity.

    .. math::

        \mathbf{w} \leftarrow \mathbf{w} + \eta \sum_i y_i \mathbf{x}_i
        \qquad (\text{one example: } \mathbf{w} + \eta\, y\, \mathbf{x})

    Defined in Chapter 1 (Hebb's rule).

    Parameters
    ----------
    w : Tensor, shape (d,)
        Current weights.
    x : Tensor, shape (d,) or (N, d)
        Presynaptic activity of one example or of a batch.
    y : Tensor of shape () or (N,), or float
        Postsynaptic activity.
    lr : float, default 1.0
        Learning rate :math:`\eta`.

    Returns
    -------
    Tensor, shape (d,)
        The new weights (``w`` is not modified).

    Raises
    ------
    ValueError
        If the shapes do not fit together.

    References
    ----------
    Hebb (1949), The Organization of Behavior.

    Examples
    --------
    >>> hebb_update(torch.zeros(3), torch.tensor([1.0, 0.0, 1.0]), 1.0, lr=0.5).tolist()
    [0.5, 0.0, 0.5]
    """
    w = _as_float(w, "w")
    x = _as_float(x, "x").to(w.dtype)
    y_t = torch.as_tensor(y, dtype=w.dtype, device=w.device)
    if w.ndim != 1 or x.shape[-1:] != w.shape or x.ndim > 2:
        raise ValueError(
            f"`w` must be 1-D and `x` of shape (d,) or (N, d) with d = len(w), got w "
            f"{tuple(w.shape)} and x {tuple(x.shape)}"
        )
    if y_t.shape != x.shape[:-1]:
        raise ValueError(f"`y` must have shape {tuple(x.shape[:-1])}, got {tuple(y_t.shape)}")
    if x.ndim == 1:
        return w + lr * y_t * x
    return w + lr * (y_t @ x)  # (N,) @ (N, d) -> (d,): sum_i y_i x_i


@dataclass(frozen=True)
class PerceptronResult:
    r"""What :func:`perceptron` returns.

    Attributes
    ----------
    w : Tensor, shape (d,)
        Final weights.
    b : float
        Final bias.
    mistakes : int
        Total number of updates (misclassified examples met during training).
    epochs : int
        Passes over the data made.
    converged : bool
        Whether the last pass made no mistake.
    mistakes_per_epoch : list of int
        Updates in each pass.
    weights_per_epoch : list of tuple of float
        :math:`(w_1, \dots, w_d, b)` at the end of each pass (to see XOR cycle).
    """

    w: Tensor
    b: float
    mistakes: int
    epochs: int
    converged: bool
    mistakes_per_epoch: list[int]
    weights_per_epoch: list[tuple[float, ...]]


def _check_labelled(X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    X = _as_float(X, "X")
    y = _as_float(y, "y").to(X.dtype)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"`X` must have shape (N, d) with N >= 1, got {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"`y` must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("`y` must hold labels in {-1, +1}")
    return X, y.to(X.device)


def perceptron_epoch(
    w: Tensor, b: Tensor, X: Tensor, y: Tensor, lr: float = 1.0
) -> tuple[Tensor, Tensor, int]:
    r"""One pass of Rosenblatt's rule over the examples, in order.

    For :math:`i = 1, \dots, N`, with the weights as they are at that moment:

    .. math::

        y_i(\mathbf{w}^\top \mathbf{x}_i + b) \le 0 \;\Rightarrow\;
        \mathbf{w} \leftarrow \mathbf{w} + \eta\, y_i \mathbf{x}_i, \quad
        b \leftarrow b + \eta\, y_i

    Defined in Chapter 1 (The perceptron).

    Parameters
    ----------
    w : Tensor, shape (d,)
        Weights before the pass (not modified).
    b : Tensor, shape ()
        Bias before the pass.
    X : Tensor, shape (N, d)
    y : Tensor, shape (N,)
        Labels in {-1, +1}.
    lr : float, default 1.0
        Learning rate :math:`\eta > 0`.

    Returns
    -------
    w : Tensor, shape (d,)
    b : Tensor, shape ()
    mistakes : int
        Number of updates made during the pass.

    Raises
    ------
    ValueError
        If the shapes do not fit, a label is not -1 or +1, or ``lr <= 0``.

    Examples
    --------
    >>> X = boolean_inputs(2)
    >>> w, b, m = perceptron_epoch(torch.zeros(2), torch.tensor(0.0), X,
    ...                            torch.tensor([-1.0, 1.0, 1.0, 1.0]))  # OR
    >>> w.tolist(), b.item(), m
    ([1.0, 1.0], 1.0, 3)
    """
    X, y = _check_labelled(X, y)
    w = _as_float(w, "w").to(X.device, X.dtype)
    b = torch.as_tensor(b, dtype=X.dtype, device=X.device)
    if w.shape != (X.shape[1],) or b.ndim != 0:
        raise ValueError(
            f"`w` must have shape ({X.shape[1]},) and `b` be a scalar, got w "
            f"{tuple(w.shape)} and b {tuple(b.shape)}"
        )
    if not lr > 0:
        raise ValueError(f"`lr` must be positive, got {lr!r}")
    mistakes = 0
    for x_i, y_i in zip(X, y, strict=True):
        if y_i * (w @ x_i + b) <= 0:  # misclassified, or on the boundary
            w = w + lr * y_i * x_i
            b = b + lr * y_i
            mistakes += 1
    return w, b, mistakes


def perceptron(X: Tensor, y: Tensor, max_epochs: int = 100, lr: float = 1.0) -> PerceptronResult:
    r"""Rosenblatt's perceptron rule, cycling through the examples in order.

    Starting from :math:`\mathbf{w} = \mathbf{0}, b = 0`, whenever an example is on the
    wrong side (or on the boundary) the weights move towards it:

    .. math::

        y_i(\mathbf{w}^\top \mathbf{x}_i + b) \le 0 \;\Rightarrow\;
        \mathbf{w} \leftarrow \mathbf{w} + \eta\, y_i \mathbf{x}_i, \quad
        b \leftarrow b + \eta\, y_i

    Training stops after the first pass without a mistake, or after ``max_epochs``.

    Defined in Chapter 1 (The perceptron).

    Parameters
    ----------
    X : Tensor, shape (N, d)
        Inputs.
    y : Tensor, shape (N,)
        Labels in {-1, +1}.
    max_epochs : int, default 100
        Most passes over the data.
    lr : float, default 1.0
        Learning rate :math:`\eta > 0` (from zero weights it only rescales them).

    Returns
    -------
    PerceptronResult

    Raises
    ------
    ValueError
        If the shapes do not fit, a label is not -1 or +1, ``max_epochs < 1`` or ``lr <= 0``.

    References
    ----------
    Rosenblatt (1958), The perceptron: a probabilistic model for information storage and
    organization in the brain.

    Examples
    --------
    >>> X = boolean_inputs(2)
    >>> result = perceptron(X, torch.tensor([-1.0, -1.0, -1.0, 1.0]))  # AND
    >>> result.converged, result.epochs, result.mistakes
    (True, 9, 18)
    """
    X, y = _check_labelled(X, y)
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"`max_epochs` must be a positive integer, got {max_epochs!r}")
    if not lr > 0:
        raise ValueError(f"`lr` must be positive, got {lr!r}")
    w = torch.zeros(X.shape[1], dtype=X.dtype, device=X.device)
    b = torch.zeros((), dtype=X.dtype, device=X.device)
    per_epoch: list[int] = []
    weights: list[tuple[float, ...]] = []
    for _ in range(max_epochs):
        w, b, errors = perceptron_epoch(w, b, X, y, lr)
        per_epoch.append(errors)
        weights.append((*w.tolist(), float(b)))
        if errors == 0:
            break
    return PerceptronResult(
        w=w,
        b=float(b),
        mistakes=sum(per_epoch),
        epochs=len(per_epoch),
        converged=per_epoch[-1] == 0,
        mistakes_per_epoch=per_epoch,
        weights_per_epoch=weights,
    )


def margin(X: Tensor, y: Tensor, w: Tensor, b: float = 0.0) -> float:
    r"""Geometric margin of the separator :math:`(\mathbf{w}, b)` in the augmented space.

    With :math:`\tilde{\mathbf{x}} = (\mathbf{x}, 1)` and :math:`\tilde{\mathbf{w}} =
    (\mathbf{w}, b)`, the space in which the perceptron treats the bias as one more weight:

    .. math::

        \gamma = \min_i \frac{y_i\, \tilde{\mathbf{w}}^\top \tilde{\mathbf{x}}_i}
        {\lVert \tilde{\mathbf{w}} \rVert}

    Defined in Chapter 1 (The perceptron). Negative if some example is misclassified.

    Parameters
    ----------
    X : Tensor, shape (N, d)
    y : Tensor, shape (N,)
        Labels in {-1, +1}.
    w : Tensor, shape (d,)
    b : float, default 0.0

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes do not fit, a label is not -1 or +1, or :math:`(\mathbf{w}, b) = 0`.

    Examples
    --------
    >>> X = torch.tensor([[2.0, 0.0], [-1.0, 0.0]])
    >>> margin(X, torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.0]))
    1.0
    """
    X, y = _check_labelled(X, y)
    w = _as_float(w, "w").to(X.device, X.dtype)
    if w.shape != (X.shape[1],):
        raise ValueError(f"`w` must have shape ({X.shape[1]},), got {tuple(w.shape)}")
    norm = torch.sqrt(w @ w + b**2)  # || (w, b) ||
    if float(norm) == 0.0:
        raise ValueError("`(w, b)` must not be zero: a zero vector separates nothing")
    return float((y * (X @ w + b)).min() / norm)


def mistake_bound(X: Tensor, y: Tensor, w: Tensor, b: float = 0.0) -> float:
    r"""Novikoff's bound on the perceptron's mistakes, given a separator :math:`(\mathbf{w}, b)`.

    .. math::

        \text{mistakes} \le \left(\frac{R}{\gamma}\right)^2, \qquad
        R = \max_i \lVert (\mathbf{x}_i, 1) \rVert

    with :math:`\gamma` the :func:`margin` of :math:`(\mathbf{w}, b)`. Any separator gives a
    valid bound; the one with the largest margin gives the tightest.

    Defined in Chapter 1 (The perceptron).

    Parameters
    ----------
    X : Tensor, shape (N, d)
    y : Tensor, shape (N,)
        Labels in {-1, +1}.
    w : Tensor, shape (d,)
    b : float, default 0.0

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If :math:`(\mathbf{w}, b)` does not separate the data with a positive margin.

    References
    ----------
    Novikoff (1962), On convergence proofs on perceptrons.

    Examples
    --------
    >>> X = torch.tensor([[2.0, 0.0], [-1.0, 0.0]])
    >>> round(mistake_bound(X, torch.tensor([1.0, -1.0]), torch.tensor([1.0, 0.0])), 4)
    5.0
    """
    gamma = margin(X, y, w, b)
    if gamma <= 0:
        raise ValueError(f"`(w, b)` must separate the data with a positive margin, got {gamma}")
    X = _as_float(X, "X")
    R2 = float((X * X).sum(dim=1).max()) + 1.0  # max ||(x_i, 1)||^2
    return R2 / gamma**2


class MarginPerceptronResult(NamedTuple):
    r"""What :func:`margin_perceptron` returns.

    Attributes
    ----------
    w : Tensor, shape (d,)
        The weights.
    b : Tensor, shape ()
        The bias.
    converged : bool
        Whether a whole pass made no update (then every example has
        :math:`y_i(\mathbf{w}^\top\mathbf{x}_i + b) > \tau > 0`: the data are separated).
    epochs : int
        Passes made.
    """

    w: Tensor
    b: Tensor
    converged: bool
    epochs: int


def margin_perceptron(
    X: Tensor, y: Tensor, max_epochs: int = 1000, tau: float | None = None
) -> MarginPerceptronResult:
    r"""The perceptron with margin: update also on examples classified with too little room.

    With augmented inputs :math:`\tilde{\mathbf{x}}_i = (\mathbf{x}_i, 1)` and weights
    :math:`\tilde{\mathbf{w}} = (\mathbf{w}, b)`, starting from zero,

    .. math::

        y_i\, \tilde{\mathbf{w}}^\top \tilde{\mathbf{x}}_i \le \tau \;\Rightarrow\;
        \tilde{\mathbf{w}} \leftarrow \tilde{\mathbf{w}} + y_i \tilde{\mathbf{x}}_i ,
        \qquad \tau = 4R^2, \; R = \max_i \|\tilde{\mathbf{x}}_i\| .

    If some unit vector separates the data with augmented margin :math:`\gamma`, Novikoff's
    argument (Chapter 1) gives at most :math:`(2\tau + R^2)/\gamma^2` updates, and at the end
    :math:`\|\tilde{\mathbf{w}}\| \le (2\tau + R^2)/\gamma` while every
    :math:`y_i \tilde{\mathbf{w}}^\top\tilde{\mathbf{x}}_i > \tau`, so the margin of the
    result is at least :math:`\tau\gamma/(2\tau + R^2) = 4\gamma/9` of the best possible
    (the plain perceptron, :math:`\tau = 0`, guarantees none). On data that no hyperplane
    separates it never converges; it stops after ``max_epochs`` passes and says so.
    Defined in Chapter 1 (Exercise 1.4).

    Parameters
    ----------
    X : Tensor, shape (N, d)
    y : Tensor, shape (N,)
        Labels in {-1, +1}.
    max_epochs : int, default 1000
        Most passes over the data.
    tau : float, optional
        The margin asked for, :math:`\ge 0` (default :math:`4R^2`).

    Returns
    -------
    MarginPerceptronResult
        ``w`` (d,) and ``b`` () on ``X``'s device and dtype, ``converged``, ``epochs``.

    Raises
    ------
    ValueError
        If the shapes do not fit, a label is not -1 or +1, ``max_epochs < 1`` or
        ``tau < 0``.

    References
    ----------
    W. Krauth and M. Mezard, "Learning algorithms with optimal stability in neural
    networks", Journal of Physics A 20(11), L745, 1987.

    Examples
    --------
    >>> X = torch.tensor([[1.0, 1.0], [2.0, 0.0], [-1.0, -1.0], [0.0, -2.0]])
    >>> res = margin_perceptron(X, torch.tensor([1.0, 1.0, -1.0, -1.0]))
    >>> res.converged, margin(X, torch.tensor([1.0, 1.0, -1.0, -1.0]), res.w, float(res.b)) > 0
    (True, True)
    """
    X, y = _check_labelled(X, y)
    _checks.finite_tensor("X", X)
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f"`max_epochs` must be a positive integer, got {max_epochs!r}")
    Xa = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)  # (N, d + 1): constant 1 for b
    R2 = float((Xa * Xa).sum(dim=1).max())
    tau = 4.0 * R2 if tau is None else _checks.non_negative("tau", tau)
    rows = Xa.detach().cpu().double().tolist()  # the rule is sequential: plain floats
    labels = y.detach().cpu().double().tolist()
    w = [0.0] * Xa.shape[1]
    epochs, converged = 0, False
    while epochs < max_epochs and not converged:
        epochs += 1
        converged = True
        for xi, yi in zip(rows, labels, strict=True):
            if yi * sum(a * c for a, c in zip(w, xi, strict=True)) <= tau:
                w = [a + yi * c for a, c in zip(w, xi, strict=True)]
                converged = False
    out = torch.tensor(w, dtype=X.dtype, device=X.device)  # (d + 1,)
    return MarginPerceptronResult(out[:-1], out[-1], converged, epochs)


def separable_data(
    n: int, gamma: float, d: int = 2, *, seed: int = 0
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Linearly separable points with margin at least ``gamma`` about a random unit normal.

    Points are drawn uniformly from :math:`[-1, 1]^d`; those with
    :math:`|\mathbf{u}^\top\mathbf{x}| < \gamma` are rejected, and the label is
    :math:`y = \operatorname{sign}(\mathbf{u}^\top \mathbf{x})`, so
    :math:`\mathrm{margin}(X, y, \mathbf{u}, 0) \ge \gamma`.

    Defined in Chapter 1 (The perceptron).

    Parameters
    ----------
    n : int
        Number of points.
    gamma : float
        Margin, in (0, 0.5].
    d : int, default 2
        Dimension.
    seed : int, default 0
        Seed of the generator (the global one is not touched).

    Returns
    -------
    X : Tensor, shape (n, d)
    y : Tensor, shape (n,)
        Labels in {-1, +1}.
    u : Tensor, shape (d,)
        The unit normal of the separating hyperplane (through the origin).

    Raises
    ------
    ValueError
        If ``n < 1``, ``d < 1`` or ``gamma`` is outside (0, 0.5].

    Examples
    --------
    >>> X, y, u = separable_data(50, 0.1, seed=0)
    >>> X.shape, margin(X, y, u) >= 0.1
    (torch.Size([50, 2]), True)
    """
    if n < 1 or d < 1:
        raise ValueError(f"`n` and `d` must be positive, got n={n}, d={d}")
    if not 0 < gamma <= 0.5:
        raise ValueError(f"`gamma` must lie in (0, 0.5], got {gamma}")
    g = torch.Generator().manual_seed(_checks.positive_int("seed", seed, minimum=0))
    u = torch.randn(d, generator=g, dtype=torch.float64)
    u = u / u.norm()
    kept: list[Tensor] = []
    count = 0
    while count < n:
        candidates = 2 * torch.rand(4 * n, d, generator=g, dtype=torch.float64) - 1
        candidates = candidates[(candidates @ u).abs() >= gamma]  # reject the slab
        kept.append(candidates)
        count += candidates.shape[0]
    X = torch.cat(kept)[:n]
    return X.float(), torch.sign(X @ u).float(), u.float()


# ---------------------------------------------------------------- differentiable threshold
def sigmoid_unit(x: Tensor, w: Tensor, theta: float | Tensor, k: float = 1.0) -> Tensor:
    r"""A threshold unit with the step softened to a sigmoid of steepness ``k``.

    .. math::

        y = \sigma\big(k(\mathbf{w}^\top\mathbf{x} - \theta)\big)
        \;\xrightarrow{k \to \infty}\; [\mathbf{w}^\top \mathbf{x} \ge \theta]
        \quad (\mathbf{w}^\top \mathbf{x} \ne \theta;\ \text{at equality } y = 1/2)

    Defined in Chapter 1 (The sigmoid). Unlike the step, it has a useful gradient
    everywhere: :math:`\partial y / \partial \mathbf{w} = k\, y(1 - y)\, \mathbf{x}`.
    Uses ``torch.sigmoid``.

    Parameters
    ----------
    x : Tensor, shape (..., d)
    w : Tensor, shape (d,)
    theta : float or scalar Tensor
    k : float, default 1.0
        Steepness, positive.

    Returns
    -------
    Tensor, shape (...)
        Values in (0, 1).

    Raises
    ------
    ValueError
        If the shapes do not fit or ``k <= 0``.

    Examples
    --------
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    >>> y = sigmoid_unit(x, torch.tensor([1.0, 1.0]), 1.5, k=10.0)
    >>> [round(v, 4) for v in y.tolist()]
    [0.0, 0.9933]
    """
    x = _as_float(x, "x")
    w = _as_float(w, "w").to(device=x.device, dtype=x.dtype)
    if w.ndim != 1 or x.ndim == 0 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"`w` must be 1-D with as many entries as the last dimension of `x`, "
            f"got w of shape {tuple(w.shape)} and x of shape {tuple(x.shape)}"
        )
    if not k > 0:
        raise ValueError(f"`k` must be positive, got {k!r}")
    return torch.sigmoid(k * (x @ w - theta))  # (..., d) @ (d,) -> (...)


# ------------------------------------------------------------------- the chapter's data
class Event(NamedTuple):
    """One event on the timeline: year, short label, kind, citation key."""

    year: int
    label: str
    kind: str  # "idea", "setback", "milestone"
    key: str


#: The timeline of Chapter 1; every entry is cited by ``key`` in book/references.bib.
TIMELINE: tuple[Event, ...] = (
    Event(1873, "Bain: memory in nerve connections", "idea", "bain1873mind"),
    Event(1943, "McCulloch-Pitts neuron", "idea", "mcculloch1943logical"),
    Event(1948, "Turing's unorganised machines", "idea", "turing1948intelligent"),
    Event(1949, "Hebb's rule", "idea", "hebb1949organization"),
    Event(1951, "SNARC (Minsky, Edmonds)", "milestone", "crevier1993ai"),
    Event(1958, "Rosenblatt's perceptron", "idea", "rosenblatt1958perceptron"),
    Event(1962, "Perceptron convergence bound", "idea", "novikoff1962convergence"),
    Event(1969, "Minsky & Papert, Perceptrons", "setback", "minsky1969perceptrons"),
    Event(1973, "Lighthill report", "setback", "lighthill1973artificial"),
    Event(1980, "Neocognitron", "idea", "fukushima1980neocognitron"),
    Event(1982, "Hopfield network", "idea", "hopfield1982neural"),
    Event(1985, "Boltzmann machine", "idea", "ackley1985learning"),
    Event(1986, "Backpropagation (Rumelhart et al.)", "idea", "rumelhart1986learning"),
    Event(1989, "Convolutional net reads zip codes", "milestone", "lecun1989backpropagation"),
    Event(1991, "Vanishing gradients (Hochreiter)", "setback", "hochreiter1991untersuchungen"),
    Event(1997, "LSTM", "idea", "hochreiter1997long"),
    Event(1998, "LeNet-5 and MNIST", "milestone", "lecun1998gradient"),
    Event(2003, "Neural language model", "idea", "bengio2003neural"),
    Event(2006, "Deep belief nets", "idea", "hinton2006fast"),
    Event(2009, "ImageNet", "milestone", "deng2009imagenet"),
    Event(2012, "Deep nets for speech", "milestone", "hinton2012deep"),
    Event(2012, "The 'cat' network", "milestone", "le2012building"),
    Event(2012, "AlexNet wins ILSVRC", "milestone", "krizhevsky2012imagenet"),
    Event(2014, "Attention for translation", "idea", "bahdanau2015neural"),
    Event(2014, "Generative adversarial nets", "idea", "goodfellow2014generative"),
    Event(2015, "DQN plays Atari", "milestone", "mnih2015human"),
    Event(2015, "ResNet wins ILSVRC", "milestone", "he2016deep"),
    Event(2016, "AlphaGo", "milestone", "silver2016mastering"),
    Event(2016, "Google neural translation", "milestone", "wu2016google"),
    Event(2017, "Transformer", "idea", "vaswani2017attention"),
    Event(2018, "Turing Award: Bengio, Hinton, LeCun", "milestone", "acm2019turing"),
    Event(2020, "GPT-3", "milestone", "brown2020language"),
    Event(2020, "Diffusion models (DDPM)", "idea", "ho2020denoising"),
    Event(2021, "AlphaFold", "milestone", "jumper2021highly"),
    Event(2022, "InstructGPT (RLHF)", "idea", "ouyang2022training"),
    Event(2022, "ChatGPT", "milestone", "openai2022chatgpt"),
    Event(2024, "OpenAI o1: thinking before answering", "milestone", "openai2024learning"),
    Event(2024, "Physics Nobel: Hopfield, Hinton", "milestone", "nobel2024physics"),
    Event(2025, "DeepSeek-R1: reasoning by RL", "milestone", "deepseekai2025deepseek"),
)


class IlsvrcResult(NamedTuple):
    """One ILSVRC classification entry: top-5 test error in per cent."""

    year: int
    model: str
    top5_error: float
    place: int
    depth: int  # weight layers; 0 where not a network
    key: str


#: ILSVRC classification results quoted in Chapter 1 (top-5 error on the test set, %).
ILSVRC_RESULTS: tuple[IlsvrcResult, ...] = (
    IlsvrcResult(2012, "second-best entry", 26.2, 2, 0, "krizhevsky2012imagenet"),
    IlsvrcResult(2012, "AlexNet (SuperVision)", 15.3, 1, 9, "krizhevsky2012imagenet"),
    IlsvrcResult(2014, "VGG", 7.3, 2, 19, "simonyan2015very"),
    IlsvrcResult(2014, "GoogLeNet", 6.67, 1, 22, "szegedy2015going"),
    IlsvrcResult(2015, "ResNet", 3.57, 1, 152, "he2016deep"),
)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
