r"""Activation functions and their derivatives, on plain tensors.

Defined in Chapter 8 (Neurons and activations). This module sits below both
:mod:`dlbook.autograd` (whose ops call the derivatives in their backward passes) and
:mod:`dlbook.nn` (which re-exports every name here under the names Chapter 8 uses), so
neither of those two imports the other's functions: the engine imports only this module,
``nn`` imports the engine. ``sigmoid`` is :func:`dlbook.logistic.sigmoid`; ``sigmoid_prime``
and ``relu_prime`` are :func:`dlbook.calculus.sigmoid_derivative` and
:func:`dlbook.calculus.relu_subgradient`. :func:`leaky_relu`, :func:`elu` and :func:`silu`
have the names, arguments and defaults of their ``torch.nn.functional`` counterparts.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dlbook import _checks

# One definition each: the sigmoid is Chapter 6's stable one, and its derivative and the
# ReLU's (a subgradient, 0 at the kink as in PyTorch) are Chapter 3's.
from dlbook.calculus import relu_subgradient as relu_prime
from dlbook.calculus import sigmoid_derivative as sigmoid_prime
from dlbook.logistic import sigmoid

__all__ = [
    "elu",
    "elu_prime",
    "gelu",
    "gelu_prime",
    "leaky_relu",
    "leaky_relu_prime",
    "relu",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "silu",
    "silu_prime",
    "tanh_prime",
]


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


def _float_input(x: Tensor) -> Tensor:
    return _checks.float_tensor("input", x)


def _finish(x: Tensor, out: Tensor, inplace: bool) -> Tensor:
    """Return ``out``, or write it into ``x`` and return that when ``inplace``."""
    if not isinstance(inplace, bool):
        raise TypeError(f"`inplace` must be a bool, got {type(inplace).__name__}")
    if inplace:
        return x.copy_(out)
    return out


def leaky_relu(
    input: Tensor,  # noqa: A002 (torch's name)
    negative_slope: float = 0.01,
    inplace: bool = False,
) -> Tensor:
    r"""The leaky ReLU: the identity for positive inputs, a small slope for negative ones.

    Defined in Chapter 8 (Beyond the ReLU). With slope :math:`\alpha` (``negative_slope``),

    .. math:: \operatorname{LeakyReLU}(x) = \max(0, x) + \alpha \min(0, x),

    so a unit with a negative input still passes a gradient :math:`\alpha` and cannot die.
    The arguments are those of ``torch.nn.functional.leaky_relu``.

    Parameters
    ----------
    input : Tensor, any shape, floating point
    negative_slope : float, default 0.01
        :math:`\alpha`.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    Tensor, the shape of ``input``

    Raises
    ------
    TypeError
        If ``input`` is not a floating-point tensor or ``inplace`` is not a bool.

    References
    ----------
    A. L. Maas, A. Y. Hannun and A. Y. Ng, "Rectifier nonlinearities improve neural network
    acoustic models", ICML Workshop on Deep Learning for Audio, Speech and Language, 2013.

    Examples
    --------
    >>> leaky_relu(torch.tensor([-2.0, 0.0, 3.0]), negative_slope=0.1)
    tensor([-0.2000,  0.0000,  3.0000])
    """
    x = _float_input(input)
    slope = _checks.number("negative_slope", negative_slope)
    out = torch.where(x > 0, x, x * slope)
    return _finish(x, out, inplace)


def leaky_relu_prime(
    input: Tensor,  # noqa: A002 (torch's name)
    negative_slope: float = 0.01,
) -> Tensor:
    r"""Derivative of :func:`leaky_relu`: 1 for :math:`x > 0`, else :math:`\alpha`.

    Defined in Chapter 8 (Beyond the ReLU). At the kink :math:`x = 0` it takes
    :math:`\alpha`, the value PyTorch's autograd gives.

    .. math:: \operatorname{LeakyReLU}'(x) = [x > 0] + \alpha\,[x \le 0]

    Parameters
    ----------
    input : Tensor, any shape, floating point
    negative_slope : float, default 0.01

    Returns
    -------
    Tensor, the shape of ``input``

    Raises
    ------
    TypeError
        If ``input`` is not a floating-point tensor.

    Examples
    --------
    >>> leaky_relu_prime(torch.tensor([-2.0, 3.0]), negative_slope=0.1)
    tensor([0.1000, 1.0000])
    """
    x = _float_input(input)
    slope = _checks.number("negative_slope", negative_slope)
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, slope))


def elu(
    input: Tensor,  # noqa: A002 (torch's name)
    alpha: float = 1.0,
    inplace: bool = False,
) -> Tensor:
    r"""The exponential linear unit: the identity above zero, a saturating exponential below.

    Defined in Chapter 8 (Beyond the ReLU).

    .. math:: \operatorname{ELU}(x) = \begin{cases} x & x > 0 \\
       \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    Its negative outputs push the mean activation toward zero. The arguments are those of
    ``torch.nn.functional.elu``; ``expm1`` keeps small negative inputs accurate.

    Parameters
    ----------
    input : Tensor, any shape, floating point
    alpha : float, default 1.0
        The value :math:`-\alpha` the output approaches as :math:`x \to -\infty`.
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    Tensor, the shape of ``input``

    Raises
    ------
    TypeError
        If ``input`` is not a floating-point tensor or ``inplace`` is not a bool.

    References
    ----------
    D.-A. Clevert, T. Unterthiner and S. Hochreiter, "Fast and accurate deep network learning
    by exponential linear units (ELUs)", ICLR 2016, arXiv:1511.07289.

    Examples
    --------
    >>> elu(torch.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    x = _float_input(input)
    a = _checks.number("alpha", alpha)
    # expm1 of the clamped input: no overflow in the branch torch.where discards
    out = torch.where(x > 0, x, a * torch.expm1(torch.clamp_max(x, 0)))
    return _finish(x, out, inplace)


def elu_prime(
    input: Tensor,  # noqa: A002 (torch's name)
    alpha: float = 1.0,
) -> Tensor:
    r"""Derivative of :func:`elu`: 1 for :math:`x > 0`, else :math:`\alpha e^{x}`.

    Defined in Chapter 8 (Beyond the ReLU).

    .. math:: \operatorname{ELU}'(x) = [x > 0] + \alpha e^{x}\,[x \le 0]

    Parameters
    ----------
    input : Tensor, any shape, floating point
    alpha : float, default 1.0

    Returns
    -------
    Tensor, the shape of ``input``

    Raises
    ------
    TypeError
        If ``input`` is not a floating-point tensor.

    Examples
    --------
    >>> elu_prime(torch.tensor([0.0, 2.0]))
    tensor([1., 1.])
    """
    x = _float_input(input)
    a = _checks.number("alpha", alpha)
    return torch.where(x > 0, torch.ones_like(x), a * torch.exp(torch.clamp_max(x, 0)))


def silu(
    input: Tensor,  # noqa: A002 (torch's name)
    inplace: bool = False,
) -> Tensor:
    r"""The sigmoid-weighted linear unit (SiLU, also called swish): the input times its sigmoid.

    Defined in Chapter 8 (Beyond the ReLU).

    .. math:: \operatorname{SiLU}(x) = x\,\sigma(x)

    A smooth ReLU like the GELU, with the logistic CDF in place of the normal one. The
    arguments are those of ``torch.nn.functional.silu``.

    Parameters
    ----------
    input : Tensor, any shape, floating point
    inplace : bool, default False
        Overwrite ``input`` with the result.

    Returns
    -------
    Tensor, the shape of ``input``

    Raises
    ------
    TypeError
        If ``input`` is not a floating-point tensor or ``inplace`` is not a bool.

    References
    ----------
    S. Elfwing, E. Uchibe and K. Doya, "Sigmoid-weighted linear units for neural network
    function approximation in reinforcement learning", Neural Networks 107, 2018.

    Examples
    --------
    >>> silu(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    x = _float_input(input)
    out = x * sigmoid(x)
    return _finish(x, out, inplace)


def silu_prime(
    input: Tensor,  # noqa: A002 (torch's name)
) -> Tensor:
    r"""Derivative of :func:`silu`, by the product rule.

    Defined in Chapter 8 (Beyond the ReLU).

    .. math:: \operatorname{SiLU}'(x) = \sigma(x)\bigl(1 + x\,(1 - \sigma(x))\bigr)

    Parameters
    ----------
    input : Tensor, any shape, floating point

    Returns
    -------
    Tensor, the shape of ``input``

    Raises
    ------
    TypeError
        If ``input`` is not a floating-point tensor.

    Examples
    --------
    >>> silu_prime(torch.tensor([0.0]))
    tensor([0.5000])
    """
    x = _float_input(input)
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
