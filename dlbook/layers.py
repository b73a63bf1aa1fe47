r"""Initialisation, normalisation and regularisation in functional form (Chapter 9).

Three things decide whether a deep network trains at all: the scale of its initial
weights (:func:`xavier_uniform`, :func:`kaiming_normal` and friends), layers that keep
activations at a fixed scale while it trains (:func:`batch_norm`, :func:`layer_norm`)
and noise that keeps it from leaning on any one unit (:func:`dropout`). Each is a pure
function here; state such as batch norm's running statistics goes in and comes out as
tensors, and randomness comes from an explicit generator.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "dropout",
    "kaiming_normal",
    "kaiming_uniform",
    "layer_norm",
    "xavier_normal",
    "xavier_uniform",
]


# --------------------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------------------
def _fans(fan_out: int, fan_in: int) -> None:
    for name, value in (("fan_out", fan_out), ("fan_in", fan_in)):
        _checks.positive_int(name, value)


def _non_negative(name: str, value: float) -> None:
    _checks.number(name, value, minimum=0.0, what="a number >= 0")


def _positive(name: str, value: float) -> None:
    _checks.number(name, value, minimum=0.0, strict=True, what="a number > 0")


def _draw(
    fan_out: int,
    fan_in: int,
    kind: str,
    scale: float,
    generator: torch.Generator | None,
    device: str | torch.device | None,
    dtype: torch.dtype,
) -> Tensor:
    """Uniform on [-scale, scale] or normal with std ``scale``, drawn on the generator's
    device (so a CPU generator serves every device) and moved to ``device``."""
    where = generator.device if generator is not None else device
    W = torch.empty(fan_out, fan_in, dtype=dtype, device=where)
    if kind == "uniform":
        W.uniform_(-scale, scale, generator=generator)
    else:
        W.normal_(0.0, scale, generator=generator)
    return W.to(device) if device is not None else W


def xavier_uniform(
    fan_out: int,
    fan_in: int,
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Glorot/Xavier uniform initialisation of a weight matrix of shape (fan_out, fan_in).

    .. math::

        W_{ij} \sim \mathcal{U}(-a, a), \qquad
        a = g \sqrt{\frac{6}{n_{\text{in}} + n_{\text{out}}}}, \qquad
        \operatorname{Var} W_{ij} = \frac{a^2}{3} = \frac{2 g^2}{n_{\text{in}} + n_{\text{out}}}

    Defined in Chapter 9 (initialisation).

    Parameters
    ----------
    fan_out, fan_in : int
        :math:`n_{\text{out}}, n_{\text{in}}`: the weight has the shape of
        ``nn.Linear(fan_in, fan_out).weight``.
    gain : float, default 1
        :math:`g` (e.g. :math:`5/3` for tanh, as ``nn.init.calculate_gain``).
    generator : torch.Generator, optional
        Source of randomness (default: PyTorch's global generator).
    device : str or torch.device, optional
        Where the result lives (default: the generator's device, else the CPU).
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor, shape (fan_out, fan_in)

    Raises
    ------
    ValueError
        If a fan is not a positive int or ``gain`` is not positive.

    References
    ----------
    .. [1] X. Glorot, Y. Bengio, "Understanding the difficulty of training deep
       feedforward neural networks", AISTATS 2010.

    Examples
    --------
    >>> W = xavier_uniform(3, 5, generator=torch.Generator().manual_seed(0))
    >>> tuple(W.shape), bool(W.abs().max() <= (6 / 8) ** 0.5)
    ((3, 5), True)
    """
    _fans(fan_out, fan_in)
    _positive("gain", gain)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _draw(fan_out, fan_in, "uniform", a, generator, device, dtype)


def xavier_normal(
    fan_out: int,
    fan_in: int,
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Glorot/Xavier normal initialisation of a weight matrix of shape (fan_out, fan_in).

    .. math::

        W_{ij} \sim \mathcal{N}\Bigl(0, \frac{2 g^2}{n_{\text{in}} + n_{\text{out}}}\Bigr)

    Defined in Chapter 9 (initialisation). Parameters and errors as :func:`xavier_uniform`.

    Parameters
    ----------
    fan_out, fan_in : int
    gain : float, default 1
    generator : torch.Generator, optional
    device : str or torch.device, optional
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor, shape (fan_out, fan_in)

    Raises
    ------
    ValueError
        If a fan is not a positive int or ``gain`` is not positive.

    References
    ----------
    .. [1] X. Glorot, Y. Bengio, AISTATS 2010 (see :func:`xavier_uniform`).

    Examples
    --------
    >>> xavier_normal(4, 2).shape
    torch.Size([4, 2])
    """
    _fans(fan_out, fan_in)
    _positive("gain", gain)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _draw(fan_out, fan_in, "normal", std, generator, device, dtype)


def kaiming_uniform(
    fan_out: int,
    fan_in: int,
    *,
    gain: float = math.sqrt(2.0),
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""He/Kaiming uniform initialisation (fan-in mode), shape (fan_out, fan_in).

    .. math::

        W_{ij} \sim \mathcal{U}(-a, a), \qquad a = g \sqrt{\frac{3}{n_{\text{in}}}}, \qquad
        \operatorname{Var} W_{ij} = \frac{g^2}{n_{\text{in}}}

    with :math:`g = \sqrt 2` for ReLU. Defined in Chapter 9 (initialisation).

    Parameters
    ----------
    fan_out, fan_in : int
    gain : float, default sqrt(2)
    generator : torch.Generator, optional
    device : str or torch.device, optional
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor, shape (fan_out, fan_in)

    Raises
    ------
    ValueError
        If a fan is not a positive int or ``gain`` is not positive.

    References
    ----------
    .. [1] K. He, X. Zhang, S. Ren, J. Sun, "Delving deep into rectifiers", ICCV 2015.

    Examples
    --------
    >>> W = kaiming_uniform(2, 6, generator=torch.Generator().manual_seed(0))
    >>> bool(W.abs().max() <= 1.0)
    True
    """
    _fans(fan_out, fan_in)
    _positive("gain", gain)
    a = gain * math.sqrt(3.0 / fan_in)
    return _draw(fan_out, fan_in, "uniform", a, generator, device, dtype)


def kaiming_normal(
    fan_out: int,
    fan_in: int,
    *,
    gain: float = math.sqrt(2.0),
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""He/Kaiming normal initialisation (fan-in mode), shape (fan_out, fan_in).

    .. math:: W_{ij} \sim \mathcal{N}\Bigl(0, \frac{g^2}{n_{\text{in}}}\Bigr)

    with :math:`g = \sqrt 2` for ReLU, which halves the variance of its input.
    Defined in Chapter 9 (initialisation).

    Parameters
    ----------
    fan_out, fan_in : int
    gain : float, default sqrt(2)
    generator : torch.Generator, optional
    device : str or torch.device, optional
    dtype : torch.dtype, default torch.float32

    Returns
    -------
    Tensor, shape (fan_out, fan_in)

    Raises
    ------
    ValueError
        If a fan is not a positive int or ``gain`` is not positive.

    References
    ----------
    .. [1] K. He, X. Zhang, S. Ren, J. Sun, "Delving deep into rectifiers", ICCV 2015.

    Examples
    --------
    >>> W = kaiming_normal(400, 100, generator=torch.Generator().manual_seed(0))
    >>> round(W.var().item() * 100, 1)
    2.0
    """
    _fans(fan_out, fan_in)
    _positive("gain", gain)
    std = gain / math.sqrt(fan_in)
    return _draw(fan_out, fan_in, "normal", std, generator, device, dtype)


# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------
def _check_affine(x: Tensor, gamma: Tensor, beta: Tensor, shape: tuple[int, ...]) -> None:
    if not all(isinstance(t, Tensor) for t in (x, gamma, beta)):
        raise TypeError("x, gamma and beta must be tensors")
    for name, t in (("x", x), ("gamma", gamma), ("beta", beta)):
        _checks.float_tensor(name, t)
    _checks.same_dtype(x=x, gamma=gamma, beta=beta)
    for name, t in (("gamma", gamma), ("beta", beta)):
        if tuple(t.shape) != shape:
            raise ValueError(f"{name} must have shape {shape} to match x, got {tuple(t.shape)}")


def batch_norm(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    *,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    In training mode, with batch statistics over the :math:`n = N` (or :math:`N L`)
    values of each channel,

    .. math::

        \mu_B = \frac{1}{n} \sum_i x_i, \quad
        \sigma_B^2 = \frac{1}{n} \sum_i (x_i - \mu_B)^2, \quad
        y_i = a \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + b,

    and the running statistics move towards the batch's, with PyTorch's momentum
    convention and the *unbiased* variance:

    .. math::

        \hat\mu \leftarrow (1 - \nu)\, \hat\mu + \nu\, \mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - \nu)\, \hat\sigma^2 + \nu\, \tfrac{n}{n-1} \sigma_B^2.

    In evaluation mode the running statistics replace the batch's and are returned
    unchanged. Defined in Chapter 9 (batch normalisation).

    Parameters
    ----------
    x : Tensor, shape (N, C) or (N, C, L)
    gamma, beta : Tensor, shape (C,)
        Scale :math:`a` and shift :math:`b` (Chapter 9's letters; PyTorch's ``weight``, ``bias``).
    running_mean, running_var : Tensor, shape (C,)
        :math:`\hat\mu, \hat\sigma^2` (start at zeros and ones, as ``nn.BatchNorm1d``).
    training : bool, default True
    momentum : float, default 0.1
        :math:`\nu \in [0, 1]`.
    eps : float, default 1e-5

    Returns
    -------
    (Tensor, Tensor, Tensor)
        ``y`` of the shape of ``x``, and the new running mean and variance. No input is
        modified.

    Raises
    ------
    ValueError
        If the shapes do not fit, ``momentum`` is outside :math:`[0, 1]`, ``eps`` is
        negative, or a training batch has one value per channel.

    References
    ----------
    .. [1] S. Ioffe, C. Szegedy, "Batch normalization: accelerating deep network training
       by reducing internal covariate shift", ICML 2015.

    Examples
    --------
    >>> x = torch.tensor([[1.0], [3.0]])
    >>> y, mean, var = batch_norm(x, torch.ones(1), torch.zeros(1), torch.zeros(1),
    ...                           torch.ones(1))
    >>> [round(v, 3) for v in y.flatten().tolist()], mean, var
    ([-1.0, 1.0], tensor([0.2000]), tensor([1.1000]))
    """
    if not isinstance(x, Tensor) or x.ndim not in (2, 3):
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (N, C) or (N, C, L), got {shape}")
    C = x.shape[1]
    _check_affine(x, gamma, beta, (C,))
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if not isinstance(t, Tensor) or tuple(t.shape) != (C,):
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{name} must have shape ({C},) to match x, got {got}")
    _checks.probability("momentum", momentum)
    _non_negative("eps", eps)
    dims = (0,) if x.ndim == 2 else (0, 2)  # every axis but the channels
    shape = (1, C) if x.ndim == 2 else (1, C, 1)  # (C,) -> broadcastable against x
    if training:
        m = x.numel() // C
        if m < 2:
            raise ValueError(
                f"batch_norm in training mode needs more than one value per channel, got x of "
                f"shape {tuple(x.shape)}"
            )
        mean = x.mean(dim=dims)
        var = x.var(dim=dims, unbiased=False)  # biased: normalises this batch
        unbiased = var * (m / (m - 1))  # unbiased: estimates the population's
        new_mean = (1 - momentum) * running_mean + momentum * mean.detach()
        new_var = (1 - momentum) * running_var + momentum * unbiased.detach()
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_mean, new_var


def batch_norm_backward(dy: Tensor, x: Tensor, gamma: Tensor, *, eps: float = 1e-5) -> Tensor:
    r"""Gradient of the training-mode batch norm with respect to its (N, C) input.

    With :math:`\hat x_i = (x_i - \mu_B)/\sigma` and :math:`\sigma = \sqrt{\sigma_B^2 +
    \epsilon}`, the chain rule through :math:`\mu_B` and :math:`\sigma_B^2` gives, per
    channel,

    .. math::

        \frac{\partial L}{\partial x_i} = \frac{a}{\sigma} \Bigl(
        \frac{\partial L}{\partial y_i}
        - \frac{1}{B} \sum_k \frac{\partial L}{\partial y_k}
        - \hat x_i \frac{1}{B} \sum_k \frac{\partial L}{\partial y_k} \hat x_k \Bigr).

    Defined in Chapter 9 (batch normalisation).

    Parameters
    ----------
    dy : Tensor, shape (N, C)
        :math:`\partial L / \partial y`.
    x : Tensor, shape (N, C)
        The input of the forward pass.
    gamma : Tensor, shape (C,)
        The scale :math:`a`.
    eps : float, default 1e-5

    Returns
    -------
    Tensor, shape (N, C)
        :math:`\partial L / \partial x`.

    Raises
    ------
    ValueError
        If the shapes do not fit or ``N < 2``.

    Examples
    --------
    >>> dx = batch_norm_backward(torch.ones(3, 1), torch.randn(3, 1), torch.ones(1))
    >>> bool(dx.abs().max() < 1e-5)  # a constant dy moves no normalised output
    True
    """
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[0] < 2:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (N, C) with N >= 2, got {got}")
    _checks.float_tensor("x", x)
    _checks.float_tensor("dy", dy)
    _checks.float_tensor("gamma", gamma)
    if not isinstance(dy, Tensor) or dy.shape != x.shape:
        got = tuple(dy.shape) if isinstance(dy, Tensor) else type(dy).__name__
        raise ValueError(f"dy must have the shape of x {tuple(x.shape)}, got {got}")
    if not isinstance(gamma, Tensor) or tuple(gamma.shape) != (x.shape[1],):
        got = tuple(gamma.shape) if isinstance(gamma, Tensor) else type(gamma).__name__
        raise ValueError(f"gamma must have shape ({x.shape[1]},), got {got}")
    _non_negative("eps", eps)
    sigma = torch.sqrt(x.var(dim=0, unbiased=False) + eps)  # (C,)
    x_hat = (x - x.mean(dim=0)) / sigma  # (N, C)
    return (gamma / sigma) * (dy - dy.mean(dim=0) - x_hat * (dy * x_hat).mean(dim=0))


def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, *, eps: float = 1e-5) -> Tensor:
    r"""Layer normalisation over the trailing axes that ``gamma`` spans.

    Each example is normalised by the mean and (biased) variance of its own :math:`d`
    features, so the result does not depend on the rest of the batch and training and
    evaluation agree:

    .. math::

        \mu = \frac{1}{d} \sum_j x_j, \quad
        \sigma^2 = \frac{1}{d} \sum_j (x_j - \mu)^2, \quad
        y_j = \gamma_j \frac{x_j - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta_j.

    Defined in Chapter 9 (layer normalisation).

    Parameters
    ----------
    x : Tensor, shape (..., *S)
    gamma, beta : Tensor, shape S
        The normalised shape (``nn.LayerNorm(S)``'s weight and bias).
    eps : float, default 1e-5

    Returns
    -------
    Tensor, shape of x

    Raises
    ------
    ValueError
        If the trailing shape of ``x`` is not the shape of ``gamma`` and ``beta``.

    References
    ----------
    .. [1] J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer normalization", arXiv:1607.06450.

    Examples
    --------
    >>> y = layer_norm(torch.tensor([[1.0, 3.0]]), torch.ones(2), torch.zeros(2))
    >>> [round(v, 3) for v in y.flatten().tolist()]
    [-1.0, 1.0]
    """
    if not all(isinstance(t, Tensor) for t in (x, gamma, beta)):
        raise TypeError("x, gamma and beta must be tensors")
    k = gamma.ndim
    S = tuple(gamma.shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != S:
        raise ValueError(
            f"the trailing shape of x {tuple(x.shape)} must equal gamma's shape {S} (k >= 1)"
        )
    _check_affine(x, gamma, beta, S)
    _non_negative("eps", eps)
    dims = tuple(range(x.ndim - k, x.ndim))  # the normalised (trailing) axes
    centred = x - x.mean(dim=dims, keepdim=True)
    var = (centred * centred).mean(dim=dims, keepdim=True)  # biased, from the centred x
    # One reciprocal square root per example and products, not a division per feature:
    # the same formula, with about half the autograd work of x.var and a division.
    return torch.addcmul(beta, centred * torch.rsqrt(var + eps), gamma)


# --------------------------------------------------------------------------------------
# Regularisation
# --------------------------------------------------------------------------------------
def dropout(
    x: Tensor,
    p: float = 0.5,
    *,
    training: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Inverted dropout: zero each entry with probability :math:`p`, scale the rest.

    .. math::

        y = \frac{\mathbf{r} \odot \vx}{1 - p}, \qquad r_j \sim \text{Bernoulli}(1 - p),
        \qquad \E[y_j] = x_j,

    so no rescaling is needed at test time, where dropout is the identity. Defined in
    Chapter 9 (dropout).

    Parameters
    ----------
    x : Tensor, any shape
    p : float, default 0.5
        Drop probability in :math:`[0, 1]` (:math:`p = 1` gives zeros).
    training : bool, default True
        If false, return ``x`` unchanged.
    generator : torch.Generator, optional
        Source of the mask (any device: the mask is drawn there and moved to ``x``'s).

    Returns
    -------
    Tensor, shape of x

    Raises
    ------
    ValueError
        If ``p`` is outside :math:`[0, 1]`.

    References
    ----------
    .. [1] N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov,
       "Dropout: a simple way to prevent neural networks from overfitting", JMLR 15, 2014.

    Examples
    --------
    >>> y = dropout(torch.ones(8), 0.5, generator=torch.Generator().manual_seed(0))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"p must lie in [0, 1], got {p!r}")
    if not training or p == 0:
        return x
    if p == 1:
        return torch.zeros_like(x)
    where = generator.device if generator is not None else x.device
    u = torch.rand(x.shape, generator=generator, device=where).to(x.device)
    keep = (u >= p).to(x.dtype)  # P(u >= p) = 1 - p
    return x * keep / (1 - p)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
