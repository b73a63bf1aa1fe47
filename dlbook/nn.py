r"""Activations and their derivatives, and multilayer perceptrons on :mod:`dlbook.autograd`.

Defined in Chapter 8 (Multilayer perceptrons and backpropagation). The first half is
plain functions on tensors: each activation :math:`g` and its derivative :math:`g'`,
the pieces a hand-written backward pass multiplies by, defined in
:mod:`dlbook.activations` and re-exported here, and :func:`linear_backward`, the
backward pass of a linear layer derived by hand. The second half builds networks on the
from-scratch engine: :class:`Linear` and :class:`MLP` hold :class:`~dlbook.autograd.Variable`
parameters, :func:`count_parameters` counts them and :func:`sgd_step` trains them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Protocol

import torch
from torch import Tensor

from dlbook import _checks, activations, autograd

# The activations live one level down, in dlbook.activations, which both this module and
# the engine import (the engine's backward passes need the derivatives): re-exported here
# under the names Chapter 8 uses.
from dlbook.activations import (
    elu,
    elu_prime,
    gelu,
    gelu_prime,
    leaky_relu,
    leaky_relu_prime,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    silu,
    silu_prime,
    tanh_prime,
)
from dlbook.autograd import Variable, linear_backward

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Linear",
    "count_parameters",
    "elu",
    "elu_prime",
    "gelu",
    "gelu_prime",
    "leaky_relu",
    "leaky_relu_prime",
    "linear_backward",
    "relu",
    "relu_prime",
    "sgd_step",
    "sigmoid",
    "sigmoid_prime",
    "silu",
    "silu_prime",
    "tanh_prime",
]

# The re-exported activations' doctests also run as this module's, so every tool that reads
# a module's doctests (the bad-input table of tests/test_bad_input.py) still finds them here.
# (Only those defined there: sigmoid and the two derivatives from Chapters 3 and 6 are
# covered by the bad-input table's rows for nn and by their own modules.)
__test__ = {
    name: fn
    for name in activations.__all__
    if getattr(fn := getattr(activations, name), "__module__", "") == "dlbook.activations"
}


#: The activations by name: (function on tensors, its derivative, the engine's op).
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime, autograd.sigmoid),
    "tanh": (torch.tanh, tanh_prime, autograd.tanh),
    "relu": (relu, relu_prime, autograd.relu),
    "gelu": (gelu, gelu_prime, autograd.gelu),
}


# --------------------------------------------------------------------------------------
# Networks on the from-scratch engine
# --------------------------------------------------------------------------------------
class Linear:
    r"""A fully connected layer :math:`Z = X W^\top + \mathbf{1}\mathbf{b}^\top` on Variables.

    Defined in Chapter 8 (Multilayer perceptrons). Weights and biases start uniform in
    :math:`[-1/\sqrt{D}, 1/\sqrt{D}]`, the default of ``torch.nn.Linear(D, K)``.

    Parameters
    ----------
    in_features, out_features : int
        :math:`D` and :math:`K`.
    generator : torch.Generator, optional
        Source of the initial values (a CPU generator; the values are then moved).
    device : torch.device or str, optional
    dtype : torch.dtype, default torch.float32

    Raises
    ------
    ValueError
        If a size is not a positive int.

    Examples
    --------
    >>> layer = Linear(3, 2, generator=torch.Generator().manual_seed(0))
    >>> layer.W.shape, layer.b.shape
    ((2, 3), (2,))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}")
        bound = 1 / math.sqrt(in_features)
        W = (
            torch.rand(out_features, in_features, generator=generator, dtype=dtype) * 2 - 1
        ) * bound
        b = (torch.rand(out_features, generator=generator, dtype=dtype) * 2 - 1) * bound
        self.W = Variable(W.to(device))
        self.b = Variable(b.to(device))

    def __call__(self, X: Variable) -> Variable:
        """Apply the layer to a batch ``X`` of shape (N, D); returns (N, K)."""
        return autograd.linear(X, self.W, self.b)  # (N, D) -> (N, K)

    def parameters(self) -> list[Variable]:
        """``[W, b]``."""
        return [self.W, self.b]


class MLP:
    r"""A multilayer perceptron on the from-scratch engine: linear layers with activations between.

    Defined in Chapter 8 (Multilayer perceptrons). For sizes :math:`(d_0, \dots, d_L)`,

    .. math:: H_0 = X, \quad H_l = g(H_{l-1} W_l^\top + \mathbf{1}\mathbf{b}_l^\top)
       \ (l < L), \quad Z = H_{L-1} W_L^\top + \mathbf{1}\mathbf{b}_L^\top,

    the last layer returning logits (no activation).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first: ``[64, 32, 10]`` is one hidden layer of 32.
    activation : {"relu", "sigmoid", "tanh", "gelu"}, default "relu"
    generator, device, dtype
        As for :class:`Linear`.

    Raises
    ------
    ValueError
        If fewer than two sizes are given or the activation is unknown.

    Examples
    --------
    >>> net = MLP([784, 16, 16, 10], generator=torch.Generator().manual_seed(0))
    >>> count_parameters(net)
    13002
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if len(sizes) < 2:
            raise ValueError(f"`sizes` needs an input and an output width, got {list(sizes)}")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"`activation` must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        self.activation = activation
        self.layers = [
            Linear(d_in, d_out, generator=generator, device=device, dtype=dtype)
            for d_in, d_out in itertools.pairwise(sizes)
        ]

    def __call__(self, X: Variable | Tensor) -> Variable:
        """Logits for a batch ``X`` of shape (N, d_0); returns (N, d_L)."""
        H = X if isinstance(X, Variable) else Variable(X, requires_grad=False)
        act = ACTIVATIONS[self.activation][2]
        for layer in self.layers[:-1]:
            H = act(layer(H))
        return self.layers[-1](H)

    def parameters(self) -> list[Variable]:
        """Every weight and bias, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]


class _HasParameters(Protocol):
    def parameters(self) -> Iterable[Variable] | Iterable[Tensor]: ...


def count_parameters(model: _HasParameters) -> int:
    r"""The number of trainable numbers in ``model``: :math:`\sum_l (d_{l-1} + 1)\, d_l` for an MLP.

    Defined in Chapter 8 (Multilayer perceptrons). Works for :class:`MLP` and for any
    ``torch.nn.Module``.

    Parameters
    ----------
    model : object with ``parameters()``

    Returns
    -------
    int

    Examples
    --------
    >>> count_parameters(torch.nn.Linear(784, 16))
    12560
    """
    total = 0
    for p in model.parameters():
        data = p.data
        total += int(data.numel())
    return total


def sgd_step(parameters: Iterable[Variable], lr: float) -> None:
    r"""One plain gradient-descent step, then clear the gradients.

    Defined in Chapter 8 (Training on the digits).

    .. math:: \btheta \leftarrow \btheta - \eta\, \nabla_{\btheta} \hat{R}

    Parameters
    ----------
    parameters : iterable of Variable
        Each updated in place; one without a gradient is left unchanged.
    lr : float
        The learning rate :math:`\eta > 0`.

    Raises
    ------
    ValueError
        If ``lr`` is not positive.

    Examples
    --------
    >>> w = Variable(torch.tensor([1.0])); (w * w).sum().backward()
    >>> sgd_step([w], lr=0.25); w.data, w.grad
    (tensor([0.5000]), None)
    """
    if not lr > 0:
        raise ValueError(f"`lr` must be positive, got {lr!r}")
    with torch.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.data -= lr * p.grad  # in place: the layers keep pointing at p.data
                p.grad = None


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
