r"""Activations and their derivatives, and multilayer perceptrons on :mod:`dlbook.autograd`.

Defined in Chapter 8 (Multilayer perceptrons and backpropagation). The first half is
plain functions on tensors: each activation :math:`g` and its derivative :math:`g'`,
the pieces a hand-written backward pass multiplies by, and :func:`linear_backward`, the
backward pass of a linear layer derived by hand. ``sigmoid`` is
:func:`dlbook.logistic.sigmoid`; ``sigmoid_prime`` and ``relu_prime`` are
:func:`dlbook.calculus.sigmoid_derivative` and :func:`dlbook.calculus.relu_subgradient`,
exported here under the names Chapter 8 uses. The second half builds networks on the
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

from dlbook import _checks, autograd
from dlbook.autograd import Variable, linear_backward

# One definition each: the sigmoid is Chapter 6's stable one, and its derivative and the
# ReLU's (a subgradient, 0 at the kink as in PyTorch) are Chapter 3's.
from dlbook.calculus import relu_subgradient as relu_prime
from dlbook.calculus import sigmoid_derivative as sigmoid_prime
from dlbook.logistic import sigmoid

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Linear",
    "count_parameters",
    "gelu",
    "gelu_prime",
    "linear_backward",
    "relu",
    "relu_prime",
    "sgd_step",
    "sigmoid",
    "sigmoid_prime",
    "tanh_prime",
]


# --------------------------------------------------------------------------------------
# Activations and their derivatives (plain tensors)
# --------------------------------------------------------------------------------------
def tanh_prime(x: Tensor) -> Tensor:
    r"""Derivative of the hyperbolic tangent.

    Defined in Chapter 8 (Activations).

    .. math:: \tanh'(x) = 1 - \tanh^2(x)

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, the shape of ``x``

    Examples
    --------
    >>> tanh_prime(torch.tensor([0.0]))
    tensor([1.])
    """
    t = torch.tanh(x)
    return 1 - t * t


def relu(x: Tensor) -> Tensor:
    r"""The rectified linear unit.

    Defined in Chapter 8 (Activations).

    .. math:: \operatorname{ReLU}(x) = \max(0, x)

    Examples
    --------
    >>> relu(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return torch.clamp_min(x, 0)


def gelu(x: Tensor) -> Tensor:
    r"""The Gaussian error linear unit, exact (erf) form.

    Defined in Chapter 8 (Activations). The input scaled by the standard normal CDF
    :math:`\Phi`:

    .. math:: \operatorname{GELU}(x) = x\,\Phi(x)
       = \frac{x}{2}\Bigl(1 + \operatorname{erf}\frac{x}{\sqrt 2}\Bigr)

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, the shape of ``x``

    References
    ----------
    D. Hendrycks and K. Gimpel, "Gaussian error linear units (GELUs)", arXiv:1606.08415, 2016.

    Examples
    --------
    >>> gelu(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8413])
    """
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def gelu_prime(x: Tensor) -> Tensor:
    r"""Derivative of the exact GELU.

    Defined in Chapter 8 (Activations). By the product rule, with :math:`\varphi` the
    standard normal density,

    .. math:: \operatorname{GELU}'(x) = \Phi(x) + x\,\varphi(x),
       \qquad \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, the shape of ``x``

    Examples
    --------
    >>> gelu_prime(torch.tensor([0.0]))
    tensor([0.5000])
    """
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))  # Phi(x)
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # phi(x)
    return cdf + x * pdf


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
