r"""Variational autoencoders: the ELBO, Gaussian KLs, reparameterisation and the IWAE bound.

The reference implementations of Chapter 15 (:ref:`ch-vae`). Order of the module follows
the chapter: Gaussian KL divergences in closed form, reparameterised sampling, the
log-likelihoods a decoder can use, a stable log-mean-exp, the two gradient estimators
(reparameterisation and score function) of :math:`\nabla \E_{q}[f(\vz)]`, the
linear-Gaussian model whose :math:`\log p(\vx)` is exact, and then the :class:`VAE` itself
with :meth:`VAE.elbo`, :meth:`VAE.iwae_bound` and :meth:`VAE.sample`, trained by
:func:`train_vae`, and the activity statistic of Burda et al. (:func:`active_units`).

Conventions: a diagonal Gaussian is given by its mean and its *log-variance*
(``log_var``), the last axis is the latent (or data) axis and is summed over, and every
random draw comes from an explicit ``torch.Generator``. Noise is drawn on the generator's
device and then moved to the data's device, so a seed gives the same numbers on the CPU
and on a GPU whenever the generator is a CPU one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks

__all__ = [
    "VAE",
    "active_units",
    "bernoulli_elbo",
    "bernoulli_log_likelihood",
    "binomial_log_likelihood",
    "gaussian_kl",
    "gaussian_kl_diagonal",
    "gaussian_log_likelihood",
    "gradient_estimates",
    "importance_log_weights",
    "iwae_bound_from_samples",
    "linear_gaussian_elbo",
    "linear_gaussian_log_marginal",
    "linear_gaussian_posterior",
    "log_mean_exp",
    "reparameterize",
    "score_gradient_leave_one_out",
    "train_vae",
]

Likelihood = Literal["gaussian", "bernoulli", "binomial"]
_LIKELIHOODS = ("gaussian", "bernoulli", "binomial")
#: Bounds on a Gaussian decoder's log-variance: a variance can neither collapse onto a
#: training point (log-likelihood to +inf) nor explode.
LOG_VAR_MIN, LOG_VAR_MAX = -12.0, 8.0


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _check_float(name: str, x: object, *, min_dim: int = 1) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} axis, got shape {tuple(x.shape)}")
    return x


def _check_same(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.device != b.device:
        raise ValueError(
            f"{name_a} and {name_b} must be on the same device, got {a.device} and {b.device}"
        )
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} and {name_b} must share a dtype, got {a.dtype} and {b.dtype}")


def _check_shapes(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    _check_same(name_a, a, name_b, b)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator (e.g. dlbook.generator(0)), got "
            f"{type(generator).__name__}"
        )
    return generator


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _randn(shape: Sequence[int], generator: torch.Generator, like: Tensor) -> Tensor:
    """Standard normal noise from ``generator``, with ``like``'s dtype and device."""
    eps = torch.randn(tuple(shape), generator=generator, device=generator.device, dtype=like.dtype)
    return eps.to(like.device)


# --------------------------------------------------------------------------------------
# Gaussian KL divergences (Section 15.3)
# --------------------------------------------------------------------------------------
def gaussian_kl_diagonal(
    mu: Tensor,
    log_var: Tensor,
    mu_p: Tensor | None = None,
    log_var_p: Tensor | None = None,
    *,
    reduce: bool = True,
) -> Tensor:
    r"""KL divergence between two diagonal Gaussians, in closed form.

    .. math::

        D_{\mathrm{KL}}\bigl(\mathcal N(\boldsymbol\mu, \operatorname{diag}\boldsymbol\sigma^2)
        \,\Vert\, \mathcal N(\boldsymbol\mu_p, \operatorname{diag}\boldsymbol\sigma_p^2)\bigr)
        = \frac12 \sum_j \Bigl(\frac{\sigma_j^2 + (\mu_j - \mu_{p,j})^2}{\sigma_{p,j}^2}
        - 1 - \log\frac{\sigma_j^2}{\sigma_{p,j}^2}\Bigr)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-kl-diagonal``). Without ``mu_p`` and
    ``log_var_p`` the second Gaussian is the standard normal :math:`\mathcal N(0, I)`, the
    VAE's prior, and the terms become :math:`\frac12(\sigma_j^2 + \mu_j^2 - 1 -
    \log\sigma_j^2)`.

    Parameters
    ----------
    mu, log_var : Tensor, shape (..., d)
        Mean and log-variance of the first Gaussian.
    mu_p, log_var_p : Tensor, shape (..., d), optional
        Those of the second (broadcast against the first); default zero.
    reduce : bool, default True
        Sum over the last axis (the KL of the whole vector). With ``False`` return the
        :math:`d` terms, one per coordinate (their sum is the KL).

    Returns
    -------
    Tensor
        Shape ``(...)`` (or ``(..., d)`` with ``reduce=False``), in nats.

    Raises
    ------
    TypeError
        If an argument is not a floating-point tensor, or dtypes differ.
    ValueError
        If shapes do not match or tensors are on different devices.

    References
    ----------
    Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Appendix B.

    Examples
    --------
    >>> gaussian_kl_diagonal(torch.zeros(3), torch.zeros(3)).item()
    0.0
    >>> round(gaussian_kl_diagonal(torch.ones(1), torch.zeros(1)).item(), 3)
    0.5
    """
    _check_float("mu", mu)
    _check_float("log_var", log_var)
    _check_shapes("mu", mu, "log_var", log_var)
    if (mu_p is None) != (log_var_p is None):
        raise ValueError("give both mu_p and log_var_p, or neither (the standard normal)")
    if mu_p is None or log_var_p is None:
        terms = 0.5 * (log_var.exp() + mu**2 - 1.0 - log_var)
    else:
        _check_float("mu_p", mu_p)
        _check_float("log_var_p", log_var_p)
        _check_shapes("mu_p", mu_p, "log_var_p", log_var_p)
        _check_same("mu", mu, "mu_p", mu_p)
        if mu_p.shape[-1] != mu.shape[-1]:
            raise ValueError(
                f"mu_p must have {mu.shape[-1]} entries on its last axis like mu, got shape "
                f"{tuple(mu_p.shape)}"
            )
        ratio = (log_var - log_var_p).exp()  # sigma^2 / sigma_p^2
        terms = 0.5 * (ratio + (mu - mu_p) ** 2 / log_var_p.exp() - 1.0 - (log_var - log_var_p))
    return terms.sum(-1) if reduce else terms


def gaussian_kl(mean_q: Tensor, cov_q: Tensor, mean_p: Tensor, cov_p: Tensor) -> Tensor:
    r"""KL divergence between two full-covariance Gaussians, in closed form.

    .. math::

        D_{\mathrm{KL}}\bigl(\mathcal N(\boldsymbol\mu_q, \Sigma_q)\,\Vert\,
        \mathcal N(\boldsymbol\mu_p, \Sigma_p)\bigr) = \frac12\Bigl(
        \operatorname{tr}(\Sigma_p^{-1}\Sigma_q)
        + (\boldsymbol\mu_p - \boldsymbol\mu_q)^\top \Sigma_p^{-1}
        (\boldsymbol\mu_p - \boldsymbol\mu_q) - d + \log\frac{\det\Sigma_p}{\det\Sigma_q}\Bigr)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-kl-full``), computed with Cholesky factors
    :math:`\Sigma = L L^\top`: :math:`\log\det\Sigma = 2\sum_j \log L_{jj}`, and the trace
    and quadratic form by triangular solves, never an explicit inverse.

    Parameters
    ----------
    mean_q, mean_p : Tensor, shape (..., d)
    cov_q, cov_p : Tensor, shape (..., d, d)
        Symmetric positive-definite covariances; batch axes broadcast.

    Returns
    -------
    Tensor, shape (...)
        In nats.

    Raises
    ------
    TypeError
        If an argument is not a floating-point tensor or dtypes differ.
    ValueError
        If shapes do not fit, devices differ, or a covariance is not positive definite.

    Examples
    --------
    >>> I = torch.eye(2, dtype=torch.float64)
    >>> kl = gaussian_kl(torch.zeros(2, dtype=torch.float64), 2 * I,
    ...                 torch.zeros(2, dtype=torch.float64), I)
    >>> round(kl.item(), 6)  # 0.5 (tr 2I - 2 - log det 2I) = 1 - log 2
    0.306853
    """
    for name, value, dims in [
        ("mean_q", mean_q, 1),
        ("cov_q", cov_q, 2),
        ("mean_p", mean_p, 1),
        ("cov_p", cov_p, 2),
    ]:
        _check_float(name, value, min_dim=dims)
        _check_same("mean_q", mean_q, name, value)
    d = mean_q.shape[-1]
    for name, cov in [("cov_q", cov_q), ("cov_p", cov_p)]:
        if cov.shape[-2:] != (d, d):
            raise ValueError(f"{name} must have shape (..., {d}, {d}), got {tuple(cov.shape)}")
    if mean_p.shape[-1] != d:
        raise ValueError(f"mean_p must have {d} entries on its last axis, got {mean_p.shape}")
    L_q, info_q = torch.linalg.cholesky_ex(cov_q)
    L_p, info_p = torch.linalg.cholesky_ex(cov_p)
    for name, info in [("cov_q", info_q), ("cov_p", info_p)]:
        if bool((info != 0).any()):
            raise ValueError(f"{name} must be symmetric positive definite (Cholesky failed)")
    batch = torch.broadcast_shapes(
        mean_q.shape[:-1], cov_q.shape[:-2], mean_p.shape[:-1], cov_p.shape[:-2]
    )
    L_q, L_p = L_q.expand(*batch, d, d), L_p.expand(*batch, d, d)
    # tr(Sigma_p^-1 Sigma_q) = ||L_p^-1 L_q||_F^2
    trace = torch.linalg.solve_triangular(L_p, L_q, upper=False).pow(2).sum((-2, -1))
    diff = (mean_p - mean_q).expand(*batch, d).unsqueeze(-1)  # (..., d) -> (..., d, 1)
    solved = torch.linalg.solve_triangular(L_p, diff, upper=False)  # L_p^-1 (mu_p - mu_q)
    quad = solved.pow(2).sum((-2, -1))
    logdet_p = 2 * torch.diagonal(L_p, dim1=-2, dim2=-1).log().sum(-1)
    logdet_q = 2 * torch.diagonal(L_q, dim1=-2, dim2=-1).log().sum(-1)
    result: Tensor = 0.5 * (trace + quad - d + logdet_p - logdet_q)
    return result


# --------------------------------------------------------------------------------------
# The reparameterisation trick (Section 15.4)
# --------------------------------------------------------------------------------------
def reparameterize(
    mu: Tensor, log_var: Tensor, *, generator: torch.Generator, num_samples: int | None = None
) -> Tensor:
    r"""Draw :math:`\vz \sim \mathcal N(\boldsymbol\mu, \operatorname{diag}\boldsymbol\sigma^2)`
    as a differentiable function of the parameters.

    .. math::

        \vz = \boldsymbol\mu + \boldsymbol\sigma \odot \boldsymbol\epsilon, \qquad
        \boldsymbol\sigma = \exp(\tfrac12 \log\boldsymbol\sigma^2), \qquad
        \boldsymbol\epsilon \sim \mathcal N(0, I)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-reparam``): the randomness is in
    :math:`\boldsymbol\epsilon`, which does not depend on the parameters, so gradients
    flow to ``mu`` and ``log_var`` through an ordinary expression.

    Parameters
    ----------
    mu, log_var : Tensor, shape (..., d)
    generator : torch.Generator
        The source of :math:`\boldsymbol\epsilon` (drawn on its device, then moved).
    num_samples : int, optional
        Draw this many samples for each mean, stacked on a new first axis.

    Returns
    -------
    Tensor
        Shape ``(..., d)``, or ``(num_samples, ..., d)``.

    Raises
    ------
    TypeError, ValueError
        On non-float tensors, mismatched shapes or devices, a missing generator or a
        non-positive ``num_samples``.

    Examples
    --------
    >>> import dlbook
    >>> z = reparameterize(torch.zeros(2), torch.zeros(2), generator=dlbook.generator(0),
    ...                    num_samples=5)
    >>> tuple(z.shape)
    (5, 2)
    """
    _check_float("mu", mu)
    _check_float("log_var", log_var)
    _check_shapes("mu", mu, "log_var", log_var)
    _check_generator(generator)
    shape = tuple(mu.shape)
    if num_samples is not None:
        shape = (_positive_int("num_samples", num_samples), *shape)
    eps = _randn(shape, generator, mu)
    return mu + (0.5 * log_var).exp() * eps


# --------------------------------------------------------------------------------------
# Decoder likelihoods (Section 15.5)
# --------------------------------------------------------------------------------------
def gaussian_log_likelihood(x: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    r"""Log-density of ``x`` under a diagonal Gaussian, summed over the last axis.

    .. math::

        \log \mathcal N(\vx; \boldsymbol\mu, \operatorname{diag}\boldsymbol\sigma^2)
        = -\frac12 \sum_j \Bigl(\log 2\pi + \log\sigma_j^2 + \frac{(x_j - \mu_j)^2}
        {\sigma_j^2}\Bigr)

    (Chapter 15, :ref:`ch-vae`). ``mean`` and ``log_var`` broadcast against ``x`` (e.g.
    ``x`` of shape ``(N, D)`` against parameters of shape ``(k, N, D)``).

    Returns
    -------
    Tensor
        The broadcast shape without its last axis.

    Examples
    --------
    >>> round(gaussian_log_likelihood(torch.zeros(1), torch.zeros(1), torch.zeros(1)).item(), 4)
    -0.9189
    """
    _check_float("x", x)
    _check_float("mean", mean)
    _check_float("log_var", log_var)
    _check_same("x", x, "mean", mean)
    _check_same("x", x, "log_var", log_var)
    terms = math.log(2 * math.pi) + log_var + (x - mean) ** 2 / log_var.exp()
    return -0.5 * terms.sum(-1)


def bernoulli_log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    r"""Log-probability of binary ``x`` under independent Bernoullis, summed over the last axis.

    .. math::

        \log p(\vx \mid \boldsymbol\ell) = \sum_j x_j \log\sigma(\ell_j)
        + (1 - x_j)\log\sigma(-\ell_j)

    written stably as :math:`-\sum_j \bigl(\max(\ell_j, 0) - x_j\ell_j +
    \log(1 + e^{-|\ell_j|})\bigr)`, minus the binary cross-entropy with logits (Chapter 15,
    :ref:`ch-vae`; Chapter 6 derived the stable form). It is a log-probability only for
    :math:`x_j \in \{0, 1\}`; for grey values in :math:`(0, 1)` it is a cross-entropy.

    Returns
    -------
    Tensor
        The broadcast shape without its last axis.

    Examples
    --------
    >>> round(bernoulli_log_likelihood(torch.ones(2), torch.zeros(2)).item(), 4)  # 2 log(1/2)
    -1.3863
    """
    _check_float("x", x)
    _check_float("logits", logits)
    _check_same("x", x, "logits", logits)
    x, logits = torch.broadcast_tensors(x, logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def binomial_log_likelihood(x: Tensor, logits: Tensor, total_count: int) -> Tensor:
    r"""Log-probability of counts :math:`c_j = n x_j` under independent binomials.

    .. math::

        \log p(\vx \mid \boldsymbol\ell) = \sum_j \log\binom{n}{c_j}
        + c_j \log\sigma(\ell_j) + (n - c_j)\log\sigma(-\ell_j)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-binomial``). Each entry of ``x`` is a fraction
    :math:`c_j/n` with :math:`c_j \in \{0, \dots, n\}`, the form ``dlbook.data.load_digits``
    returns (pixels :math:`c/16`); with :math:`n = 1` this is the Bernoulli. Unlike the
    Bernoulli cross-entropy on grey values, it is a normalised probability of the integer
    image, so its values are comparable between models.

    Parameters
    ----------
    x : Tensor, shape (..., D)
        Fractions in :math:`[0, 1]`.
    logits : Tensor, broadcastable against ``x``
    total_count : int
        :math:`n`, the number of trials per entry.

    Returns
    -------
    Tensor
        The broadcast shape without its last axis.

    Raises
    ------
    ValueError
        If ``total_count`` is not a positive int, ``x`` leaves :math:`[0, 1]` or an entry
        of ``x`` is not a multiple of :math:`1/n`.

    Examples
    --------
    >>> round(binomial_log_likelihood(torch.tensor([0.5]), torch.zeros(1), 2).item(), 4)
    -0.6931
    """
    _check_float("x", x)
    _check_float("logits", logits)
    _check_same("x", x, "logits", logits)
    n = _positive_int("total_count", total_count)
    if x.numel() and (float(x.min()) < 0 or float(x.max()) > 1):
        raise ValueError(f"x must lie in [0, 1] (counts / total_count), got [{x.min()}, {x.max()}]")
    c = torch.round(x * n)  # counts, exact integers
    if x.numel() and float((x * n - c).abs().max()) > 1e-3:
        raise ValueError(f"x must hold multiples of 1/{n} (counts / total_count)")
    log_choose = math.lgamma(n + 1) - torch.lgamma(c + 1) - torch.lgamma(n - c + 1)
    # log sigma(l) = -softplus(-l), log sigma(-l) = -softplus(l): stable for |l| of 1e8
    terms = log_choose - c * F.softplus(-logits) - (n - c) * F.softplus(logits)
    return terms.sum(-1)


def bernoulli_elbo(x: Tensor, logits: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    r"""The ELBO estimate of a Bernoulli decoder, from its logits at :math:`S` codes.

    .. math::

        \hat{\mathcal L}(\vx) = \frac1S\sum_{s=1}^S \log p(\vx\mid\vz_s)
        - D_{\mathrm{KL}}\bigl(\mathcal N(\boldsymbol\mu, \operatorname{diag}
        \boldsymbol\sigma^2)\,\Vert\,\mathcal N(0, I)\bigr)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-elbo``), with the Bernoulli log-likelihood of
    :func:`bernoulli_log_likelihood` and the KL of :func:`gaussian_kl_diagonal`.

    Parameters
    ----------
    x : Tensor, shape (N, D)
        Binary data.
    logits : Tensor, shape (S, N, D) or (N, D)
        The decoder's logits at :math:`S` reparameterised codes of each example (a 2-D
        ``logits`` is one code per example).
    mu, log_var : Tensor, shape (N, d_z)
        The encoder's outputs.

    Returns
    -------
    Tensor, shape (N,)

    Raises
    ------
    TypeError, ValueError
        On non-float tensors or shapes that do not fit.

    Examples
    --------
    >>> x = torch.ones(1, 2); logits = torch.zeros(1, 2)
    >>> round(bernoulli_elbo(x, logits, torch.zeros(1, 1), torch.zeros(1, 1)).item(), 4)
    -1.3863
    """
    _check_float("x", x, min_dim=2)
    _check_float("logits", logits, min_dim=2)
    _check_float("mu", mu, min_dim=2)
    _check_float("log_var", log_var, min_dim=2)
    _check_shapes("mu", mu, "log_var", log_var)
    if x.ndim != 2 or logits.ndim not in (2, 3) or logits.shape[-2:] != x.shape:
        raise ValueError(
            f"need x of shape (N, D) and logits of shape (S, N, D) or (N, D); got x "
            f"{tuple(x.shape)} and logits {tuple(logits.shape)}"
        )
    if mu.ndim != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu must have shape ({x.shape[0]}, d_z), got {tuple(mu.shape)}")
    if logits.ndim == 2:
        logits = logits.unsqueeze(0)  # (N, D) -> (1, N, D)
    # The Bernoulli log-likelihood written out (as in bernoulli_log_likelihood), so that
    # the grader can switch that function off while a student writes this one.
    bce = F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none")
    reconstruction = -bce.sum(-1).mean(0)  # (S, N, D) -> (S, N) -> (N,)
    return reconstruction - gaussian_kl_diagonal(mu, log_var)


# --------------------------------------------------------------------------------------
# Stable log-mean-exp (Section 15.7)
# --------------------------------------------------------------------------------------
def log_mean_exp(a: Tensor, dim: int = 0) -> Tensor:
    r"""Stable :math:`\log \frac1k \sum_{s=1}^k e^{a_s}` along ``dim``.

    .. math::

        \log \frac1k \sum_s e^{a_s} = m + \log\frac1k\sum_s e^{a_s - m}, \qquad
        m = \max_s a_s

    (Chapter 15, :ref:`ch-vae`; the log-sum-exp trick of Chapter 6). It is the IWAE bound
    of the :math:`k` log-weights :math:`a_s`. An axis of :math:`-\infty` gives
    :math:`-\infty`.

    Examples
    --------
    >>> log_mean_exp(torch.tensor([1000.0, 1000.0])).item()
    1000.0
    """
    _check_float("a", a)
    if not -a.ndim <= dim < a.ndim:
        raise ValueError(f"dim must lie in [{-a.ndim}, {a.ndim}) for shape {tuple(a.shape)}")
    k = a.shape[dim]
    if k == 0:
        raise ValueError(f"a must have at least one entry along dim {dim}, got shape {a.shape}")
    return torch.logsumexp(a, dim=dim) - math.log(k)


def importance_log_weights(
    log_likelihood: Tensor, z: Tensor, mu: Tensor, log_var: Tensor
) -> Tensor:
    r"""Log importance weights :math:`\log p(\vx\mid\vz_s) + \log p(\vz_s) - \log q(\vz_s\mid\vx)`.

    .. math::

        \log w_s = \log p(\vx\mid\vz_s) + \log\mathcal N(\vz_s; 0, I)
        - \log\mathcal N(\vz_s; \boldsymbol\mu, \operatorname{diag}\boldsymbol\sigma^2)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-iwae``), with :math:`\vz_s \sim q`.

    Parameters
    ----------
    log_likelihood : Tensor, shape (k, N)
        :math:`\log p(\vx_i\mid\vz_{s,i})` for each sample :math:`s` and example
        :math:`i`.
    z : Tensor, shape (k, N, d_z)
        The samples.
    mu, log_var : Tensor, shape (N, d_z)
        The proposal :math:`q(\vz\mid\vx_i)` the samples were drawn from.

    Returns
    -------
    Tensor, shape (k, N)

    Examples
    --------
    >>> z = torch.zeros(1, 1, 1)  # q = the prior: the weight is the likelihood
    >>> importance_log_weights(torch.tensor([[-2.0]]), z, torch.zeros(1, 1),
    ...                        torch.zeros(1, 1)).item()
    -2.0
    """
    _check_float("log_likelihood", log_likelihood, min_dim=2)
    _check_float("z", z, min_dim=3)
    _check_float("mu", mu, min_dim=2)
    _check_shapes("mu", mu, "log_var", log_var)
    _check_same("z", z, "mu", mu)
    _check_same("z", z, "log_likelihood", log_likelihood)
    if z.ndim != 3 or z.shape[1:] != mu.shape or log_likelihood.shape != z.shape[:2]:
        raise ValueError(
            f"need log_likelihood (k, N), z (k, N, d_z) and mu, log_var (N, d_z); got "
            f"{tuple(log_likelihood.shape)}, {tuple(z.shape)} and {tuple(mu.shape)}"
        )
    zeros = torch.zeros_like(mu)
    log_prior = gaussian_log_likelihood(z, zeros, zeros)  # (k, N)
    log_q = gaussian_log_likelihood(z, mu, log_var)  # (k, N)
    return log_likelihood + log_prior - log_q


def iwae_bound_from_samples(
    log_likelihood: Tensor, z: Tensor, mu: Tensor, log_var: Tensor
) -> Tensor:
    r"""The importance-weighted bound :math:`\mathcal L_k` of each example from its samples.

    .. math::

        \mathcal L_k(\vx) = \log\frac1k\sum_{s=1}^k w_s, \qquad
        \log w_s = \log p(\vx\mid\vz_s) + \log p(\vz_s) - \log q(\vz_s\mid\vx)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-iwae``; Burda et al. 2016): the log-mean-exp
    (:func:`log_mean_exp`) of :func:`importance_log_weights` over the :math:`k` samples.

    Parameters
    ----------
    log_likelihood : Tensor, shape (k, N)
    z : Tensor, shape (k, N, d_z)
    mu, log_var : Tensor, shape (N, d_z)

    Returns
    -------
    Tensor, shape (N,)

    Examples
    --------
    >>> z = torch.zeros(2, 1, 1)
    >>> ll = torch.tensor([[0.0], [-1000.0]])  # one weight 1, one e^-1000
    >>> round(iwae_bound_from_samples(ll, z, torch.zeros(1, 1), torch.zeros(1, 1)).item(), 4)
    -0.6931
    """
    _check_float("log_likelihood", log_likelihood, min_dim=2)
    _check_float("z", z, min_dim=3)
    _check_float("mu", mu, min_dim=2)
    _check_shapes("mu", mu, "log_var", log_var)
    _check_same("z", z, "mu", mu)
    _check_same("z", z, "log_likelihood", log_likelihood)
    if z.ndim != 3 or z.shape[1:] != mu.shape or log_likelihood.shape != z.shape[:2]:
        raise ValueError(
            f"need log_likelihood (k, N), z (k, N, d_z) and mu, log_var (N, d_z); got "
            f"{tuple(log_likelihood.shape)}, {tuple(z.shape)} and {tuple(mu.shape)}"
        )
    # Written out rather than calling importance_log_weights and log_mean_exp, so that the
    # grader can switch those off while a student writes this function (Exercise 15.4).
    # log N(z; 0, I) - log N(z; mu, s^2): the log 2 pi terms cancel
    log_ratio = -0.5 * (z**2 - log_var - (z - mu) ** 2 / log_var.exp()).sum(-1)  # (k, N)
    log_w = log_likelihood + log_ratio
    return torch.logsumexp(log_w, dim=0) - math.log(z.shape[0])


# --------------------------------------------------------------------------------------
# Two gradient estimators (Section 15.4)
# --------------------------------------------------------------------------------------
def gradient_estimates(
    f: Callable[[Tensor], Tensor],
    mu: Tensor,
    log_var: Tensor,
    *,
    num_samples: int,
    repeats: int,
    generator: torch.Generator,
    estimator: Literal["reparameterization", "score"] = "reparameterization",
) -> tuple[Tensor, Tensor]:
    r"""Monte Carlo estimates of the gradient of :math:`\E_{\vz\sim q}[f(\vz)]`.

    With :math:`q = \mathcal N(\boldsymbol\mu, \operatorname{diag}\boldsymbol\sigma^2)` and
    :math:`\vz_s = \boldsymbol\mu + \boldsymbol\sigma\odot\boldsymbol\epsilon_s`, the
    *reparameterisation* estimator averages the pathwise derivatives

    .. math::

        \nabla_{\boldsymbol\mu} \approx \frac1S\sum_s \nabla f(\vz_s), \qquad
        \nabla_{\log\boldsymbol\sigma^2} \approx \frac1S\sum_s \nabla f(\vz_s)\odot
        \tfrac12\boldsymbol\sigma\odot\boldsymbol\epsilon_s,

    and the *score-function* (REINFORCE) estimator weights :math:`f` by the score,
    :math:`\frac1S\sum_s f(\vz_s)\,\nabla\log q(\vz_s)`, with
    :math:`\nabla_{\boldsymbol\mu}\log q = \boldsymbol\epsilon/\boldsymbol\sigma` and
    :math:`\nabla_{\log\boldsymbol\sigma^2}\log q = \tfrac12(\boldsymbol\epsilon^2 - 1)`
    (Chapter 15, :ref:`ch-vae`, eqs. ``vae-pathwise`` and ``vae-score``). Both are unbiased;
    their variances differ.

    Parameters
    ----------
    f : callable
        Maps ``z`` of shape ``(..., d)`` to values of shape ``(...)``, one per sample,
        differentiably (for the reparameterisation estimator).
    mu, log_var : Tensor, shape (d,)
    num_samples : int
        :math:`S`, samples per estimate.
    repeats : int
        Independent estimates to return (to measure their spread).
    generator : torch.Generator
    estimator : {"reparameterization", "score"}

    Returns
    -------
    grad_mu, grad_log_var : Tensor, shape (repeats, d)

    Raises
    ------
    TypeError, ValueError
        On bad tensors, counts or an unknown estimator.

    References
    ----------
    Kingma and Welling 2014; Rezende, Mohamed and Wierstra 2014; Williams 1992.

    Examples
    --------
    >>> import dlbook
    >>> g_mu, g_lv = gradient_estimates(lambda z: (z**2).sum(-1), torch.zeros(1),
    ...     torch.zeros(1), num_samples=1000, repeats=1, generator=dlbook.generator(0))
    >>> abs(g_lv.item() - 1.0) < 0.1  # d/d log s^2 of E[z^2] = s^2 is s^2 = 1
    True
    """
    _check_float("mu", mu)
    _check_float("log_var", log_var)
    _check_shapes("mu", mu, "log_var", log_var)
    if mu.ndim != 1:
        raise ValueError(f"mu must be 1-D of shape (d,), got shape {tuple(mu.shape)}")
    _check_generator(generator)
    S = _positive_int("num_samples", num_samples)
    R = _positive_int("repeats", repeats)
    if estimator not in ("reparameterization", "score"):
        raise ValueError(f"estimator must be 'reparameterization' or 'score', got {estimator!r}")
    mu, log_var = mu.detach(), log_var.detach()
    eps = _randn((R, S, mu.shape[0]), generator, mu)  # (R, S, d)
    sigma = (0.5 * log_var).exp()
    if estimator == "score":
        with torch.no_grad():
            values = f(mu + sigma * eps).unsqueeze(-1)  # (R, S) -> (R, S, 1)
        g_mu = (values * eps / sigma).mean(1)
        g_lv = (values * 0.5 * (eps**2 - 1)).mean(1)
        return g_mu, g_lv
    with torch.enable_grad():
        z = (mu + sigma * eps).requires_grad_()
        (dz,) = torch.autograd.grad(f(z).sum(), z)  # samples independent: per-sample grads
    return dz.mean(1), (dz * 0.5 * sigma * eps).mean(1)


def score_gradient_leave_one_out(
    f: Callable[[Tensor], Tensor],
    mu: Tensor,
    log_var: Tensor,
    *,
    num_samples: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    r"""A score-function estimate of :math:`\nabla\E_q[f(\vz)]` with a leave-one-out baseline.

    .. math::

        \hat{\mathbf g} = \frac1S\sum_{s=1}^S \bigl(f(\vz_s) - b_s\bigr)
        \nabla\log q(\vz_s), \qquad b_s = \frac{1}{S-1}\sum_{t\ne s} f(\vz_t)

    (Chapter 15, :ref:`ch-vae`, Exercise 15.7). Because :math:`b_s` does not depend on
    :math:`\vz_s` and :math:`\E[\nabla\log q] = 0`, the baseline leaves the estimate
    unbiased while removing most of the variance that a large mean of :math:`f` causes.
    The scores are those of :func:`gradient_estimates`.

    Parameters
    ----------
    f : callable
        Maps ``z`` of shape (S, d) to values of shape (S,).
    mu, log_var : Tensor, shape (d,)
    num_samples : int
        :math:`S \ge 2`.
    generator : torch.Generator

    Returns
    -------
    grad_mu, grad_log_var : Tensor, shape (d,)

    Raises
    ------
    ValueError
        If ``num_samples < 2`` or the tensors are not 1-D of one shape.

    Examples
    --------
    >>> import dlbook
    >>> g_mu, _ = score_gradient_leave_one_out(lambda z: z.sum(-1) + 100.0, torch.zeros(1),
    ...     torch.zeros(1), num_samples=10_000, generator=dlbook.generator(0))
    >>> abs(g_mu.item() - 1.0) < 0.05  # d/dmu E[z + 100] = 1
    True
    """
    _check_float("mu", mu)
    _check_float("log_var", log_var)
    _check_shapes("mu", mu, "log_var", log_var)
    if mu.ndim != 1:
        raise ValueError(f"mu must be 1-D of shape (d,), got shape {tuple(mu.shape)}")
    _check_generator(generator)
    S = _positive_int("num_samples", num_samples)
    if S < 2:
        raise ValueError(f"num_samples must be at least 2 for a leave-one-out baseline, got {S}")
    mu, log_var = mu.detach(), log_var.detach()
    eps = _randn((S, mu.shape[0]), generator, mu)  # (S, d)
    sigma = (0.5 * log_var).exp()
    with torch.no_grad():
        values = f(mu + sigma * eps)  # (S,)
    baseline = (values.sum() - values) / (S - 1)  # b_s: the mean of the other samples
    weight = (values - baseline).unsqueeze(-1)  # (S,) -> (S, 1)
    return (weight * eps / sigma).mean(0), (weight * 0.5 * (eps**2 - 1)).mean(0)


# --------------------------------------------------------------------------------------
# The linear-Gaussian model (probabilistic PCA): log p(x) in closed form (Sections 15.1-15.2)
# --------------------------------------------------------------------------------------
def _check_linear_gaussian(x: Tensor, W: Tensor, b: Tensor, noise_var: float) -> None:
    _check_float("x", x)
    _check_float("W", W, min_dim=2)
    _check_float("b", b)
    _check_same("x", x, "W", W)
    _check_same("x", x, "b", b)
    D = W.shape[0]
    if W.ndim != 2 or x.shape[-1] != D or b.shape != (D,):
        raise ValueError(
            f"need W of shape (D, d), b of shape (D,) and x of shape (..., D); got W "
            f"{tuple(W.shape)}, b {tuple(b.shape)}, x {tuple(x.shape)}"
        )
    if not noise_var > 0:
        raise ValueError(f"noise_var must be positive, got {noise_var!r}")


def linear_gaussian_log_marginal(x: Tensor, W: Tensor, b: Tensor, noise_var: float) -> Tensor:
    r"""Exact :math:`\log p(\vx)` of the linear-Gaussian latent-variable model.

    With :math:`\vz\sim\mathcal N(0, I_d)` and :math:`\vx\mid\vz\sim\mathcal N(W\vz +
    \mathbf b, s^2 I_D)`, the marginal is Gaussian:

    .. math::

        p(\vx) = \mathcal N(\vx;\, \mathbf b,\, W W^\top + s^2 I_D)

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-ppca-marginal``; probabilistic PCA, Tipping and
    Bishop 1999).

    Parameters
    ----------
    x : Tensor, shape (..., D)
    W : Tensor, shape (D, d)
    b : Tensor, shape (D,)
    noise_var : float
        :math:`s^2 > 0`.

    Returns
    -------
    Tensor, shape (...)

    Examples
    --------
    >>> W = torch.zeros(1, 1); b = torch.zeros(1)
    >>> round(linear_gaussian_log_marginal(torch.zeros(1), W, b, 1.0).item(), 4)
    -0.9189
    """
    _check_linear_gaussian(x, W, b, noise_var)
    D = W.shape[0]
    cov = W @ W.T + noise_var * torch.eye(D, dtype=W.dtype, device=W.device)
    log_p: Tensor = torch.distributions.MultivariateNormal(b, covariance_matrix=cov).log_prob(x)
    return log_p


def linear_gaussian_posterior(
    x: Tensor, W: Tensor, b: Tensor, noise_var: float
) -> tuple[Tensor, Tensor]:
    r"""The exact posterior :math:`p(\vz\mid\vx)` of the linear-Gaussian model.

    .. math::

        p(\vz\mid\vx) = \mathcal N\bigl(\vz;\, \Sigma W^\top(\vx - \mathbf b)/s^2,\;
        \Sigma\bigr), \qquad \Sigma = (I_d + W^\top W / s^2)^{-1}

    (Chapter 15, :ref:`ch-vae`, eq. ``vae-ppca-posterior``).

    Returns
    -------
    mean : Tensor, shape (..., d)
    cov : Tensor, shape (d, d)
        The same for every :math:`\vx`.

    Examples
    --------
    >>> m, S = linear_gaussian_posterior(torch.ones(1), torch.ones(1, 1), torch.zeros(1), 1.0)
    >>> m.item(), S.item()
    (0.5, 0.5)
    """
    _check_linear_gaussian(x, W, b, noise_var)
    d = W.shape[1]
    precision = torch.eye(d, dtype=W.dtype, device=W.device) + W.T @ W / noise_var
    cov = torch.linalg.inv(precision)
    cov = 0.5 * (cov + cov.T)  # symmetric to rounding error
    mean = (x - b) @ W @ cov / noise_var  # (..., D) @ (D, d) @ (d, d) -> (..., d)
    return mean, cov


def linear_gaussian_elbo(
    x: Tensor, W: Tensor, b: Tensor, noise_var: float, mu: Tensor, log_var: Tensor
) -> Tensor:
    r"""The ELBO of the linear-Gaussian model for a diagonal Gaussian :math:`q`, exactly.

    .. math::

        \mathcal L(q) = -\frac D2\log(2\pi s^2) - \frac{\lVert\vx - W\boldsymbol\mu -
        \mathbf b\rVert^2 + \operatorname{tr}(W\operatorname{diag}(\boldsymbol\sigma^2)
        W^\top)}{2 s^2} - D_{\mathrm{KL}}\bigl(q\,\Vert\,\mathcal N(0, I)\bigr)

    for :math:`q(\vz) = \mathcal N(\boldsymbol\mu, \operatorname{diag}\boldsymbol\sigma^2)`
    (Chapter 15, :ref:`ch-vae`, eq. ``vae-ppca-elbo``): the expectation of the Gaussian
    log-likelihood, a quadratic in :math:`\vz`, needs only :math:`q`'s mean and variance.

    Parameters
    ----------
    x : Tensor, shape (..., D)
    W, b, noise_var
        As in :func:`linear_gaussian_log_marginal`.
    mu, log_var : Tensor, shape (..., d)

    Returns
    -------
    Tensor, shape (...)

    Examples
    --------
    >>> x = torch.ones(1); W = torch.ones(1, 1); b = torch.zeros(1)
    >>> m, S = linear_gaussian_posterior(x, W, b, 1.0)  # q = the posterior: no gap
    >>> elbo = linear_gaussian_elbo(x, W, b, 1.0, m, S.diagonal().log())
    >>> abs(elbo - linear_gaussian_log_marginal(x, W, b, 1.0)).item() < 1e-6
    True
    """
    _check_linear_gaussian(x, W, b, noise_var)
    _check_float("mu", mu)
    _check_float("log_var", log_var)
    _check_shapes("mu", mu, "log_var", log_var)
    D = W.shape[0]
    residual = x - mu @ W.T - b  # (..., d) @ (d, D) -> (..., D)
    spread = (log_var.exp() * (W**2).sum(0)).sum(-1)  # tr(W diag(s^2) W^T)
    expected = (
        -0.5 * D * math.log(2 * math.pi * noise_var)
        - 0.5 * ((residual**2).sum(-1) + spread) / noise_var
    )
    return expected - gaussian_kl_diagonal(mu, log_var)


# --------------------------------------------------------------------------------------
# The VAE (Sections 15.5-15.8)
# --------------------------------------------------------------------------------------
def _mlp(sizes: Sequence[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class VAE(nn.Module):
    r"""A variational autoencoder with MLP encoder and decoder.

    The generative model is :math:`p(\vz) = \mathcal N(0, I_{d_z})` and
    :math:`p_{\btheta}(\vx\mid\vz)` given by the decoder; the encoder gives
    :math:`q_{\boldsymbol\phi}(\vz\mid\vx) = \mathcal N(\boldsymbol\mu(\vx),
    \operatorname{diag}\boldsymbol\sigma^2(\vx))` (Chapter 15, :ref:`ch-vae`, eqs.
    ``vae-marginal`` and ``vae-elbo``). The encoder is an MLP ``data_dim -> hidden... ->
    2 latent_dim`` (means, then log-variances); the decoder an MLP ``latent_dim ->
    reversed(hidden)... -> out``, whose output depends on ``likelihood``:

    * ``"gaussian"``: ``2 data_dim`` outputs, the mean and the log-variance of each
      coordinate (clamped to ``[LOG_VAR_MIN, LOG_VAR_MAX]``), for real-valued data such
      as the 2-D benchmarks of ``dlbook.data``;
    * ``"bernoulli"``: ``data_dim`` logits, for binary data;
    * ``"binomial"``: ``data_dim`` logits of :math:`n` = ``total_count`` trials each, for
      counts stored as fractions :math:`c/n` (the digits: :math:`n = 16`).

    With ``hidden=()`` both maps are linear (the linear-Gaussian model of Section 15.1 is
    the Gaussian VAE whose decoder log-variance weights are zero).

    Parameters
    ----------
    data_dim : int
        :math:`D`.
    latent_dim : int
        :math:`d_z`.
    hidden : sequence of int, default (128, 128)
        Widths of the encoder's hidden layers; the decoder uses them reversed.
    likelihood : {"gaussian", "bernoulli", "binomial"}, default "gaussian"
    total_count : int, default 1
        :math:`n` of the binomial (ignored otherwise).
    activation : callable returning an nn.Module, default nn.ReLU

    Examples
    --------
    >>> import dlbook
    >>> _ = torch.manual_seed(0)
    >>> model = VAE(2, 2, hidden=(16,))
    >>> x = torch.randn(5, 2)
    >>> tuple(model.elbo(x, generator=dlbook.generator(0)).shape)
    (5,)
    >>> bool((model.iwae_bound(x, 10, generator=dlbook.generator(0)) < 0).all())
    True
    >>> tuple(model.sample(3, generator=dlbook.generator(1)).shape)
    (3, 2)
    """

    def __init__(
        self,
        data_dim: int,
        latent_dim: int,
        hidden: Sequence[int] = (128, 128),
        *,
        likelihood: Likelihood = "gaussian",
        total_count: int = 1,
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.data_dim = _positive_int("data_dim", data_dim)
        self.latent_dim = _positive_int("latent_dim", latent_dim)
        hidden = tuple(hidden)
        for h in hidden:
            _positive_int("each hidden width", h)
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}")
        self.likelihood: Likelihood = likelihood
        self.total_count = _positive_int("total_count", total_count)
        out = 2 * data_dim if likelihood == "gaussian" else data_dim
        self.encoder = _mlp((data_dim, *hidden, 2 * latent_dim), activation)
        self.decoder = _mlp((latent_dim, *reversed(hidden), out), activation)

    # ---------------------------------------------------------------- the two networks
    def _weight(self) -> Tensor:
        first = self.encoder[0]
        assert isinstance(first, nn.Linear)
        return first.weight

    def _check_x(self, x: object) -> Tensor:
        x = _check_float("x", x, min_dim=2)
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"x must have shape (N, {self.data_dim}), got {tuple(x.shape)}")
        weight = self._weight()
        if x.device != weight.device:
            raise ValueError(f"x is on device {x.device} but the model is on {weight.device}")
        if x.dtype != weight.dtype:
            raise TypeError(f"x has dtype {x.dtype} but the model has dtype {weight.dtype}")
        outside = x.numel() and (float(x.min()) < 0 or float(x.max()) > 1)
        if self.likelihood != "gaussian" and outside:
            raise ValueError(f"x must lie in [0, 1] for a {self.likelihood} decoder")
        return x

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""The encoder's :math:`(\boldsymbol\mu(\vx), \log\boldsymbol\sigma^2(\vx))`.

        Both have shape (N, d_z); ``x`` has shape (N, D).
        """
        x = self._check_x(x)
        mu, log_var = self.encoder(x).chunk(2, dim=-1)  # (N, 2 d_z) -> 2 x (N, d_z)
        return mu, log_var

    def decode(self, z: Tensor) -> tuple[Tensor, Tensor] | Tensor:
        r"""The decoder's parameters for latents ``z`` of shape (..., d_z).

        Returns ``(mean, log_var)``, each (..., D), for a Gaussian decoder; logits of shape
        (..., D) otherwise.
        """
        out: Tensor = self.decoder(z)
        if self.likelihood == "gaussian":
            mean, log_var = out.chunk(2, dim=-1)  # (..., 2D) -> 2 x (..., D)
            return mean, log_var.clamp(LOG_VAR_MIN, LOG_VAR_MAX)
        return out

    def log_likelihood(self, x: Tensor, z: Tensor) -> Tensor:
        r""":math:`\log p_{\btheta}(\vx\mid\vz)` for ``x`` (N, D), ``z`` (..., N, d_z).

        Returns shape (..., N).
        """
        params = self.decode(z)
        if isinstance(params, tuple):
            return gaussian_log_likelihood(x, params[0], params[1])
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, params)
        return binomial_log_likelihood(x, params, self.total_count)

    # ---------------------------------------------------------------- the objectives
    def elbo(
        self,
        x: Tensor,
        *,
        generator: torch.Generator,
        num_samples: int = 1,
        beta: float = 1.0,
    ) -> Tensor:
        r"""A reparameterised Monte Carlo estimate of the ELBO of each example.

        .. math::

            \mathcal L(\vx) = \E_{q_{\boldsymbol\phi}(\vz\mid\vx)}\bigl[\log
            p_{\btheta}(\vx\mid\vz)\bigr] - \beta\, D_{\mathrm{KL}}\bigl(
            q_{\boldsymbol\phi}(\vz\mid\vx)\,\Vert\,\mathcal N(0, I)\bigr)

        (Chapter 15, :ref:`ch-vae`, eq. ``vae-elbo``), the expectation estimated from
        ``num_samples`` reparameterised draws and the KL in closed form
        (:func:`gaussian_kl_diagonal`); :math:`\beta = 1` is the ELBO, other values the
        :math:`\beta`-VAE objective. Differentiable in the parameters.

        Parameters
        ----------
        x : Tensor, shape (N, D)
        generator : torch.Generator
        num_samples : int, default 1
        beta : float, default 1.0

        Returns
        -------
        Tensor, shape (N,)
            In nats per example.
        """
        mu, log_var = self.encode(x)
        z = reparameterize(mu, log_var, generator=generator, num_samples=num_samples)
        expected = self.log_likelihood(x, z).mean(0)  # (S, N) -> (N,)
        return expected - beta * gaussian_kl_diagonal(mu, log_var)

    def log_weights(self, x: Tensor, k: int, *, generator: torch.Generator) -> Tensor:
        r"""Importance log-weights :math:`\log p(\vx, \vz_s) - \log q(\vz_s\mid\vx)`, (k, N)."""
        mu, log_var = self.encode(x)
        k = _positive_int("k", k)
        eps = _randn((k, *mu.shape), _check_generator(generator), mu)  # (k, N, d_z)
        z = mu + (0.5 * log_var).exp() * eps
        return importance_log_weights(self.log_likelihood(x, z), z, mu, log_var)

    def iwae_bound(
        self, x: Tensor, k: int, *, generator: torch.Generator, chunk_size: int = 100
    ) -> Tensor:
        r"""The importance-weighted bound :math:`\mathcal L_k` of each example.

        .. math::

            \mathcal L_k(\vx) = \log\frac1k\sum_{s=1}^k
            \frac{p_{\btheta}(\vx, \vz_s)}{q_{\boldsymbol\phi}(\vz_s\mid\vx)}, \qquad
            \vz_s \sim q_{\boldsymbol\phi}(\vz\mid\vx)

        (Chapter 15, :ref:`ch-vae`, eq. ``vae-iwae``; Burda et al. 2016). Its expectation
        rises with :math:`k`, from the ELBO at :math:`k = 1` towards :math:`\log p(\vx)`,
        the held-out log-likelihood estimate of Chapter 17. The samples are drawn
        ``chunk_size`` at a time, so memory stays bounded for :math:`k` in the thousands.

        Parameters
        ----------
        x : Tensor, shape (N, D)
        k : int
            Number of importance samples.
        generator : torch.Generator
        chunk_size : int, default 100

        Returns
        -------
        Tensor, shape (N,)
            In nats per example.

        References
        ----------
        Burda, Grosse and Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016.
        """
        k = _positive_int("k", k)
        chunk_size = _positive_int("chunk_size", chunk_size)
        sums = []
        for start in range(0, k, chunk_size):
            log_w = self.log_weights(x, min(chunk_size, k - start), generator=generator)
            sums.append(torch.logsumexp(log_w, dim=0))  # (chunk, N) -> (N,)
        return torch.logsumexp(torch.stack(sums), dim=0) - math.log(k)

    def kl_per_dimension(self, x: Tensor) -> Tensor:
        r"""The KL of each latent coordinate, averaged over the examples: shape (d_z,).

        .. math:: \frac1N\sum_i \tfrac12\bigl(\sigma_j^2(\vx_i) + \mu_j^2(\vx_i) - 1 -
                  \log\sigma_j^2(\vx_i)\bigr)

        A coordinate whose KL is zero carries no information about :math:`\vx`: its
        posterior is the prior (posterior collapse, Chapter 15, :ref:`ch-vae`).
        """
        mu, log_var = self.encode(x)
        return gaussian_kl_diagonal(mu, log_var, reduce=False).mean(0)

    @torch.no_grad()
    def sample(self, num_samples: int, *, generator: torch.Generator, noise: bool = True) -> Tensor:
        r"""Draw from the model: :math:`\vz\sim\mathcal N(0, I)`, then :math:`\vx\sim
        p_{\btheta}(\vx\mid\vz)`.

        Parameters
        ----------
        num_samples : int
        generator : torch.Generator
        noise : bool, default True
            Draw :math:`\vx` from the decoder's distribution (a sample of the model). With
            ``False`` return the decoder's mean for each :math:`\vz` (for pictures: the
            mean of a binomial pixel is its probability).

        Returns
        -------
        Tensor, shape (num_samples, D)
            On the model's device; fractions :math:`c/n` for a binomial decoder.
        """
        n = _positive_int("num_samples", num_samples)
        _check_generator(generator)
        weight = self._weight()
        z = _randn((n, self.latent_dim), generator, weight)
        params = self.decode(z)
        if isinstance(params, tuple):
            mean, log_var = params
            if not noise:
                return mean
            return mean + (0.5 * log_var).exp() * _randn(mean.shape, generator, mean)
        p = torch.sigmoid(params)
        if not noise:
            return p
        n_trials = self.total_count if self.likelihood == "binomial" else 1
        u = torch.rand(
            (n_trials, *p.shape), generator=generator, device=generator.device, dtype=p.dtype
        ).to(p.device)
        return (u < p).to(p.dtype).mean(0)  # the fraction of n Bernoulli trials that succeed


# --------------------------------------------------------------------------------------
# Training (Section 15.5) and the activity statistic (Section 15.8)
# --------------------------------------------------------------------------------------
def train_vae(
    model: VAE,
    data: Tensor,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    beta: float = 1.0,
    kl_warmup_steps: int = 0,
    free_bits: float = 0.0,
    weight_decay: float = 0.0,
) -> list[float]:
    r"""Train ``model`` in place by Adam on mini-batches; return the loss of each step.

    The loss is the negative objective per example,

    .. math::

        -\frac1B\sum_{i\in\text{batch}}\log p_{\btheta}(\vx_i\mid\vz_i) + \beta_t
        \sum_{j=1}^{d_z}\max\Bigl(\lambda,\; \frac1B\sum_{i}
        D_{\mathrm{KL}}\bigl(q(z_j\mid\vx_i)\,\Vert\,\mathcal N(0, 1)\bigr)\Bigr)

    with one reparameterised sample per example (Chapter 15, :ref:`ch-vae`). With the
    defaults (:math:`\beta_t = 1`, :math:`\lambda = 0`) this is the negative ELBO.
    *KL annealing* (Bowman et al. 2016) raises :math:`\beta_t = \beta\min(1,
    t/T_{\text{warm}})` linearly over ``kl_warmup_steps``; *free bits* (Kingma et al.
    2016) give each latent coordinate :math:`\lambda` = ``free_bits`` nats of KL for free.
    Mini-batches are consecutive slices of a permutation of ``data`` drawn anew, from
    ``generator``, each epoch. The data are moved to the model's device.

    Parameters
    ----------
    model : VAE
    data : Tensor, shape (N, D)
    steps, batch_size : int
    lr : float
        Adam's learning rate.
    generator : torch.Generator
        Mini-batch order and the reparameterisation noise.
    beta : float, default 1.0
    kl_warmup_steps : int, default 0
    free_bits : float, default 0.0
    weight_decay : float, default 0.0

    Returns
    -------
    list of float
        The loss (nats per example) at every step.

    Raises
    ------
    TypeError, ValueError
        On a model that is not a :class:`VAE`, bad data or bad hyper-parameters.

    Examples
    --------
    >>> import dlbook
    >>> _ = torch.manual_seed(0)
    >>> model = VAE(2, 1, hidden=(8,))
    >>> X = dlbook.data.gaussian_ring(256)[0]
    >>> losses = train_vae(model, X, steps=50, batch_size=64, lr=1e-2,
    ...                    generator=dlbook.generator(0))
    >>> len(losses), losses[-1] < losses[0]
    (50, True)
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a dlbook.generative.vae.VAE, got {type(model).__name__}")
    _check_float("data", data, min_dim=2)
    if data.ndim != 2 or data.shape[1] != model.data_dim or len(data) == 0:
        raise ValueError(f"data must have shape (N, {model.data_dim}), got {tuple(data.shape)}")
    steps = _positive_int("steps", steps)
    batch_size = _positive_int("batch_size", batch_size)
    _check_generator(generator)
    for name, value in [("lr", lr), ("beta", beta), ("free_bits", free_bits)]:
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    if isinstance(kl_warmup_steps, bool) or not isinstance(kl_warmup_steps, int):
        raise ValueError(f"kl_warmup_steps must be an int, got {kl_warmup_steps!r}")
    if kl_warmup_steps < 0:
        raise ValueError(f"kl_warmup_steps must be non-negative, got {kl_warmup_steps}")
    weight = model._weight()
    data = data.to(device=weight.device, dtype=weight.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    N = len(data)
    order = torch.randperm(N, generator=generator, device=generator.device).to(data.device)
    position = 0
    losses: list[float] = []
    for t in range(steps):
        if position + batch_size > N:  # a new epoch: a new permutation
            order = torch.randperm(N, generator=generator, device=generator.device)
            order, position = order.to(data.device), 0
        x = data[order[position : position + batch_size]]
        position += batch_size
        mu, log_var = model.encode(x)
        z = reparameterize(mu, log_var, generator=generator)
        reconstruction = model.log_likelihood(x, z).mean()
        kl = gaussian_kl_diagonal(mu, log_var, reduce=False).mean(0)  # (d_z,)
        kl = kl.clamp(min=free_bits) if free_bits > 0 else kl
        scale = beta * min(1.0, (t + 1) / kl_warmup_steps) if kl_warmup_steps else beta
        loss = -reconstruction + scale * kl.sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def active_units(model: VAE, x: Tensor, *, threshold: float = 0.01) -> tuple[int, Tensor]:
    r"""Burda et al.'s activity statistic: how many latent coordinates the model uses.

    .. math::

        A_j = \operatorname{Cov}_{\vx}\bigl(\E_{q(\vz\mid\vx)}[z_j]\bigr)
            = \operatorname{Var}_i\, \mu_j(\vx_i),

    and coordinate :math:`j` is *active* if :math:`A_j > 0.01` (Chapter 15, :ref:`ch-vae`;
    Burda et al. 2016, Section 5.2). An inactive coordinate's posterior mean ignores the
    input.

    Parameters
    ----------
    model : VAE
    x : Tensor, shape (N, D)
        With :math:`N \ge 2`.
    threshold : float, default 0.01

    Returns
    -------
    count : int
    activity : Tensor, shape (d_z,)
        :math:`A_j` (the variance over the examples, with :math:`1/N`).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> n, A = active_units(VAE(2, 3, hidden=(4,)), torch.randn(50, 2))
    >>> tuple(A.shape)
    (3,)
    """
    if not isinstance(model, VAE):
        raise TypeError(f"model must be a dlbook.generative.vae.VAE, got {type(model).__name__}")
    mu, _ = model.encode(x)
    if len(mu) < 2:
        raise ValueError(f"x needs at least 2 examples to measure a variance, got {len(mu)}")
    activity = mu.var(0, unbiased=False)
    return int((activity > threshold).sum()), activity


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
