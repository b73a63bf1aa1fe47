r"""Probability and information theory: the reference implementations of Chapter 4.

In teaching order: discrete distributions as tables (marginals, conditionals, Bayes'
rule), the empirical CDF, change of variables with a Jacobian determinant, the
multivariate Gaussian (log-density via Cholesky, sampling, its ellipses, its conditionals),
Gaussian mixtures, estimation (maximum likelihood, MAP), Monte Carlo and importance
sampling, and information theory (entropy, cross-entropy, KL divergence, mutual
information). Everything works in nats (natural logarithms) and on the device of its
inputs. The loss computed from logits lives in ``dlbook.logistic`` (Chapter 6), not here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "bayes_posterior",
    "change_of_variables_log_pdf",
    "conditional",
    "cross_entropy",
    "effective_sample_size",
    "empirical_cdf",
    "entropy",
    "gaussian_conditional",
    "gaussian_ellipse",
    "gaussian_log_pdf",
    "gaussian_mean_posterior",
    "gaussian_mle",
    "gaussian_mutual_information",
    "gaussian_tail_probability",
    "gmm_log_pdf",
    "gmm_sample",
    "kl_divergence",
    "mahalanobis",
    "marginal",
    "mutual_information",
    "mutual_information_histogram",
    "sample_gaussian",
]


# --------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------
def _check_float(x: Tensor, name: str) -> None:
    _checks.float_tensor(name, x)


def _check_dim(x: Tensor, dim: int, name: str) -> int:
    return _checks.dim(name, x, dim)


def _sum_tolerance(x: Tensor) -> float:
    # Rounding in a sum of K numbers grows like sqrt(K) eps; sqrt(eps) / 3 is generous for
    # any realistic K (1.2e-4 in float32) and 1e-6 is the floor for float64.
    return max(1e-6, math.sqrt(torch.finfo(x.dtype).eps) / 3)


def _check_distribution(p: Tensor, dim: int, name: str) -> int:
    """Validate probability vectors along ``dim``; return the normalised axis."""
    _check_float(p, name)
    axis = _check_dim(p, dim, name)
    if p.shape[axis] == 0:
        raise ValueError(f"`{name}` must have at least one outcome along dim {dim}, got 0")
    if torch.isnan(p).any() or (p < 0).any():
        raise ValueError(f"`{name}` must be nonnegative (and not NaN), got min {p.min().item()}")
    total = p.sum(dim=axis)
    gap = (total - 1).abs().max().item()
    if gap > _sum_tolerance(p):
        raise ValueError(f"`{name}` must sum to 1 along dim {dim}, got sums off by up to {gap:.3g}")
    return axis


def _check_table(joint: Tensor, name: str = "joint") -> None:
    """A joint probability table: nonnegative, at least 2 axes, summing to 1 overall."""
    _check_float(joint, name)
    if joint.ndim < 2:
        raise ValueError(
            f"`{name}` must be a table with at least 2 axes, got shape {tuple(joint.shape)}"
        )
    _check_distribution(joint.reshape(-1), -1, name)  # (n1, n2, ...) -> (n1 * n2 * ...,)


# --------------------------------------------------------------------------------------
# Discrete distributions: marginals, conditionals, Bayes' rule
# --------------------------------------------------------------------------------------
def marginal(joint: Tensor, keep: int) -> Tensor:
    r"""Marginal distribution of one variable of a joint probability table.

    .. math::
        P(X = x) = \sum_{y} P(X = x, Y = y)

    (summing over every axis except ``keep``). Defined in Chapter 4 (marginalisation).

    Parameters
    ----------
    joint : Tensor
        Shape :math:`(n_1, n_2, \ldots)`, at least two axes, nonnegative, summing to 1.
    keep : int
        The axis of the variable whose marginal is wanted.

    Returns
    -------
    Tensor
        Shape :math:`(n_\text{keep},)`, summing to 1.

    Raises
    ------
    ValueError
        If ``joint`` is not a probability table or ``keep`` is not one of its axes.

    Examples
    --------
    >>> joint = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    >>> marginal(joint, 0).tolist(), marginal(joint, 1).tolist()
    ([0.30000001192092896, 0.7000000476837158], [0.4000000059604645, 0.6000000238418579])
    """
    _check_table(joint)
    axis = _check_dim(joint, keep, "joint")
    others = [d for d in range(joint.ndim) if d != axis]
    return joint.sum(dim=others)


def conditional(joint: Tensor, given: int = 0) -> Tensor:
    r"""Conditional distributions of a two-variable joint table.

    .. math::
        P(Y = y \mid X = x) = \frac{P(X = x, Y = y)}{P(X = x)}

    Defined in Chapter 4 (conditional probability).

    Parameters
    ----------
    joint : Tensor
        Shape :math:`(n_X, n_Y)`: ``joint[i, j]`` is :math:`P(X = i, Y = j)`.
    given : int, default 0
        The axis of the conditioning variable: 0 gives :math:`P(Y \mid X)`, 1 gives
        :math:`P(X \mid Y)`.

    Returns
    -------
    Tensor
        Shape :math:`(n_X, n_Y)`. With ``given=0`` row ``i`` is :math:`P(Y \mid X = i)`
        (rows sum to 1); with ``given=1`` column ``j`` is :math:`P(X \mid Y = j)`.

    Raises
    ------
    ValueError
        If ``joint`` is not a 2-D probability table, ``given`` is not 0 or 1, or a
        conditioning value has probability zero (the conditional is then undefined).

    Examples
    --------
    >>> joint = torch.tensor([[0.1, 0.3], [0.2, 0.4]], dtype=torch.float64)
    >>> conditional(joint, given=0).round(decimals=4).tolist()
    [[0.25, 0.75], [0.3333, 0.6667]]
    """
    _check_table(joint)
    if joint.ndim != 2:
        raise ValueError(f"`joint` must be a 2-D table, got shape {tuple(joint.shape)}")
    if given not in (0, 1):
        raise ValueError(f"`given` must be 0 or 1, got {given}")
    p_given = joint.sum(dim=1 - given, keepdim=True)  # (n_X, 1) or (1, n_Y)
    if (p_given == 0).any():
        raise ValueError(
            "`joint` gives probability zero to a conditioning value; "
            "the conditional distribution there is undefined"
        )
    return joint / p_given


def bayes_posterior(prior: Tensor, likelihood: Tensor, dim: int = -1) -> Tensor:
    r"""Posterior over hypotheses from a prior and the likelihood of one observation.

    .. math::
        P(h \mid o) = \frac{P(o \mid h)\, P(h)}{\sum_{h'} P(o \mid h')\, P(h')}

    Defined in Chapter 4 (Bayes' rule).

    Parameters
    ----------
    prior : Tensor
        Shape :math:`(\ldots, K)`: :math:`P(h)` over :math:`K` hypotheses along ``dim``.
    likelihood : Tensor
        Broadcastable with ``prior``: :math:`P(o \mid h)` for the observed :math:`o`,
        each in :math:`[0, 1]` (a likelihood need not sum to 1 over hypotheses).
    dim : int, default -1
        The axis of the hypotheses.

    Returns
    -------
    Tensor
        The posterior, summing to 1 along ``dim``.

    Raises
    ------
    ValueError
        If ``prior`` is not a distribution, ``likelihood`` leaves :math:`[0, 1]`, or the
        evidence :math:`P(o)` is zero (the observation is impossible under the prior).

    Examples
    --------
    >>> prior = torch.tensor([0.01, 0.99], dtype=torch.float64)  # ill, healthy
    >>> positive = torch.tensor([0.95, 0.10], dtype=torch.float64)  # P(+ | ill), P(+ | healthy)
    >>> round(bayes_posterior(prior, positive)[0].item(), 4)
    0.0876
    """
    axis = _check_distribution(prior, dim, "prior")
    _check_float(likelihood, "likelihood")
    if torch.isnan(likelihood).any() or (likelihood < 0).any() or (likelihood > 1).any():
        raise ValueError("`likelihood` must hold probabilities in [0, 1]")
    _checks.same_device(prior=prior, likelihood=likelihood)
    try:
        out_shape = torch.broadcast_shapes(prior.shape, likelihood.shape)
    except RuntimeError:
        raise ValueError(
            f"`likelihood` of shape {tuple(likelihood.shape)} does not broadcast with `prior` "
            f"of shape {tuple(prior.shape)}"
        ) from None
    # Broadcasting aligns trailing axes, so the hypotheses' axis counted from the end is the
    # same in the prior and in the result (counting from the front is not).
    back = axis - prior.ndim  # negative axis
    if out_shape[back] != prior.shape[axis]:
        raise ValueError(
            f"`likelihood` of shape {tuple(likelihood.shape)} must keep the {prior.shape[axis]} "
            f"hypotheses of `prior` along dim {dim}"
        )
    joint = prior * likelihood  # P(h, o) = P(o | h) P(h)
    evidence = joint.sum(dim=back, keepdim=True)  # P(o), marginalising h
    if (evidence == 0).any():
        raise ValueError(
            "the evidence P(o) is zero: the observation is impossible under "
            "`prior` and `likelihood`"
        )
    return joint / evidence


# --------------------------------------------------------------------------------------
# Distribution functions and change of variables
# --------------------------------------------------------------------------------------
def empirical_cdf(samples: Tensor, x: Tensor) -> Tensor:
    r"""The empirical CDF of ``samples``, evaluated at ``x``.

    .. math::
        \hat F_N(x) = \frac{1}{N} \sum_{i=1}^{N} [x_i \le x]

    Defined in Chapter 4 (PMF, PDF and CDF).

    Parameters
    ----------
    samples : Tensor
        Shape :math:`(N,)`, :math:`N \ge 1`.
    x : Tensor
        Any shape: where to evaluate.

    Returns
    -------
    Tensor
        The shape of ``x``, values in :math:`[0, 1]`.

    Raises
    ------
    ValueError
        If ``samples`` is not a non-empty 1-D tensor.

    Examples
    --------
    >>> empirical_cdf(torch.tensor([3.0, 1.0, 2.0, 2.0]), torch.tensor([0.0, 2.0, 5.0])).tolist()
    [0.0, 0.75, 1.0]
    """
    _check_float(samples, "samples")
    if samples.ndim != 1 or samples.numel() == 0:
        raise ValueError(
            f"`samples` must be a non-empty 1-D tensor, got shape {tuple(samples.shape)}"
        )
    x = _checks.float_tensor("x", x, convert=True).to(samples.device)
    ordered = torch.sort(samples).values
    # Number of samples <= x: the insertion point to the right of any ties.
    count = torch.searchsorted(ordered, x.to(ordered.dtype).contiguous(), right=True)
    return count.to(samples.dtype) / samples.numel()


def change_of_variables_log_pdf(
    y: Tensor,
    log_p: Callable[[Tensor], Tensor],
    f_inverse: Callable[[Tensor], Tensor],
    log_abs_det_jacobian: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    r"""Log-density of :math:`\vy = f(\vx)` for an invertible :math:`f` and :math:`\vx \sim p`.

    .. math::
        \log p_Y(\vy) = \log p_X\bigl(f^{-1}(\vy)\bigr)
        + \log \left| \det \frac{\partial f^{-1}(\vy)}{\partial \vy} \right|

    Defined in Chapter 4 (change of variables). The Jacobian of :math:`f^{-1}` is computed
    by automatic differentiation unless its log-determinant is supplied.

    Parameters
    ----------
    y : Tensor
        Shape :math:`(N, D)`: points at which to evaluate the density of :math:`\vy`.
    log_p : callable
        Maps :math:`(N, D)` points to their :math:`(N,)` log-densities under :math:`p_X`.
    f_inverse : callable
        Maps one point of shape :math:`(D,)` (or a batch :math:`(N, D)`, elementwise in
        the batch) to :math:`f^{-1}`; written with torch operations so that
        ``torch.func`` can differentiate it.
    log_abs_det_jacobian : callable, optional
        Maps :math:`(N, D)` to the :math:`(N,)` values
        :math:`\log|\det \partial f^{-1}(\vy) / \partial \vy|`, when known in closed form.

    Returns
    -------
    Tensor
        Shape :math:`(N,)`.

    Raises
    ------
    ValueError
        If ``y`` is not 2-D.

    References
    ----------
    .. [1] Rezende, D. J., Mohamed, S. "Variational inference with normalizing flows."
       ICML 2015.

    Examples
    --------
    >>> normal = torch.distributions.Normal(0.0, 1.0)
    >>> y = torch.tensor([[0.5], [2.0]], dtype=torch.float64)  # y = exp(x), x ~ N(0, 1)
    >>> out = change_of_variables_log_pdf(y, lambda x: normal.log_prob(x).sum(-1), torch.log)
    >>> expected = torch.distributions.LogNormal(0.0, 1.0).log_prob(y[:, 0])
    >>> torch.allclose(out, expected)
    True
    """
    _check_float(y, "y")
    if y.ndim != 2:
        raise ValueError(f"`y` must have shape (N, D), got shape {tuple(y.shape)}")
    x = f_inverse(y)  # (N, D)
    if log_abs_det_jacobian is not None:
        log_det = log_abs_det_jacobian(y)
    else:
        # One (D, D) Jacobian per point: vmap over the batch of jacrev of one point.
        jac = torch.func.vmap(torch.func.jacrev(f_inverse))(y)  # (N, D, D)
        log_det = torch.linalg.slogdet(jac).logabsdet  # (N,)
    return log_p(x) + log_det


# --------------------------------------------------------------------------------------
# The multivariate Gaussian
# --------------------------------------------------------------------------------------
def _check_gaussian(mean: Tensor, cov: Tensor) -> Tensor:
    """Validate a mean (D,) and covariance (D, D); return the Cholesky factor L."""
    _check_float(mean, "mean")
    _check_float(cov, "cov")
    if mean.ndim != 1:
        raise ValueError(f"`mean` must have shape (D,), got shape {tuple(mean.shape)}")
    d = mean.shape[0]
    if cov.shape != (d, d):
        raise ValueError(
            f"`cov` must have shape ({d}, {d}) to match `mean`, got shape {tuple(cov.shape)}"
        )
    if not torch.allclose(cov, cov.T, rtol=1e-5, atol=1e-8):
        raise ValueError("`cov` must be symmetric")
    chol: Tensor
    chol, info = torch.linalg.cholesky_ex(cov)
    if info.item() != 0:
        raise ValueError("`cov` must be positive definite (its Cholesky factorisation failed)")
    return chol


def mahalanobis(x: Tensor, mean: Tensor, cov: Tensor) -> Tensor:
    r"""Mahalanobis distance of points from a Gaussian's mean.

    .. math::
        \Delta(\vx) = \sqrt{(\vx - \boldsymbol{\mu})^\top \Sigma^{-1} (\vx - \boldsymbol{\mu})}
        = \lVert L^{-1} (\vx - \boldsymbol{\mu}) \rVert, \quad \Sigma = L L^\top

    Defined in Chapter 4 (the multivariate Gaussian).

    Parameters
    ----------
    x : Tensor
        Shape :math:`(\ldots, D)`.
    mean : Tensor
        Shape :math:`(D,)`.
    cov : Tensor
        Shape :math:`(D, D)`, symmetric positive definite.

    Returns
    -------
    Tensor
        Shape :math:`(\ldots,)`.

    Raises
    ------
    ValueError
        If the shapes disagree or ``cov`` is not symmetric positive definite.

    Examples
    --------
    >>> cov = torch.tensor([[4.0, 0.0], [0.0, 1.0]])
    >>> mahalanobis(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.zeros(2), cov).tolist()
    [1.0, 2.0]
    """
    chol = _check_gaussian(mean, cov)
    _check_float(x, "x")
    if x.ndim == 0 or x.shape[-1] != mean.shape[0]:
        raise ValueError(f"`x` must have shape (..., {mean.shape[0]}), got shape {tuple(x.shape)}")
    diff = (x - mean).reshape(-1, mean.shape[0]).T  # (..., D) -> (D, M)
    z = torch.linalg.solve_triangular(chol, diff, upper=False)  # L z = x - mu, (D, M)
    distance: Tensor = torch.linalg.vector_norm(z, dim=0)  # (M,)
    return distance.reshape(x.shape[:-1])  # (M,) -> (...,)


def gaussian_log_pdf(x: Tensor, mean: Tensor, cov: Tensor) -> Tensor:
    r"""Log-density of the multivariate Gaussian, computed through a Cholesky factor.

    .. math::
        \log \mathcal{N}(\vx; \boldsymbol{\mu}, \Sigma) = -\tfrac{1}{2} \Delta(\vx)^2
        - \sum_{j=1}^{D} \log L_{jj} - \tfrac{D}{2} \log 2\pi, \quad \Sigma = L L^\top

    since :math:`\log\det\Sigma = 2 \sum_j \log L_{jj}`. No inverse is ever formed.
    Defined in Chapter 4 (the multivariate Gaussian).

    Parameters
    ----------
    x : Tensor
        Shape :math:`(\ldots, D)`.
    mean : Tensor
        Shape :math:`(D,)`.
    cov : Tensor
        Shape :math:`(D, D)`, symmetric positive definite.

    Returns
    -------
    Tensor
        Shape :math:`(\ldots,)`.

    Raises
    ------
    ValueError
        If the shapes disagree or ``cov`` is not symmetric positive definite.

    Examples
    --------
    >>> out = gaussian_log_pdf(torch.zeros(1, 2), torch.zeros(2), torch.eye(2))
    >>> round(out.item(), 4)  # -log(2 pi)
    -1.8379
    """
    chol = _check_gaussian(mean, cov)
    d = mean.shape[0]
    delta = mahalanobis(x, mean, cov)
    half_log_det = torch.log(torch.diagonal(chol)).sum()  # (1/2) log det Sigma
    return -0.5 * delta**2 - half_log_det - 0.5 * d * math.log(2 * math.pi)


def sample_gaussian(
    mean: Tensor, cov: Tensor, n: int, generator: torch.Generator | None = None
) -> Tensor:
    r"""Draw samples of :math:`\mathcal{N}(\boldsymbol{\mu}, \Sigma)` by reparameterisation.

    .. math::
        \vx = \boldsymbol{\mu} + L \vz, \quad \vz \sim \mathcal{N}(\mathbf{0}, I_D),
        \quad \Sigma = L L^\top

    Defined in Chapter 4 (the multivariate Gaussian).

    Parameters
    ----------
    mean : Tensor
        Shape :math:`(D,)`.
    cov : Tensor
        Shape :math:`(D, D)`, symmetric positive definite.
    n : int
        Number of samples, :math:`n \ge 0`.
    generator : torch.Generator, optional
        Source of randomness, on the device of ``mean``.

    Returns
    -------
    Tensor
        Shape :math:`(n, D)`, on the device and dtype of ``mean``.

    Raises
    ------
    ValueError
        If ``n`` is negative, or ``mean``/``cov`` are not a valid Gaussian.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> sample_gaussian(torch.zeros(3), torch.eye(3), 5, g).shape
    torch.Size([5, 3])
    """
    chol = _check_gaussian(mean, cov)
    if n < 0:
        raise ValueError(f"`n` must be nonnegative, got {n}")
    z = torch.randn(n, mean.shape[0], generator=generator, dtype=mean.dtype, device=mean.device)
    return mean + z @ chol.T  # rows: (L z)^T = z^T L^T, (n, D)


def gaussian_ellipse(mean: Tensor, cov: Tensor, n_std: float = 1.0, n_points: int = 100) -> Tensor:
    r"""Points on the ellipse of constant Mahalanobis distance of a 2-D Gaussian.

    With the eigendecomposition :math:`\Sigma = U \Lambda U^\top`, the ellipse
    :math:`\Delta(\vx) = k` is the unit circle stretched by :math:`k\sqrt{\lambda_j}`
    along the eigenvector :math:`\mathbf{u}_j`:

    .. math::
        \vx(t) = \boldsymbol{\mu} + k\, U \Lambda^{1/2}
        \begin{pmatrix} \cos t \\ \sin t \end{pmatrix},
        \quad t_m = \frac{2\pi m}{M - 1},\ m = 0, \ldots, M-1

    (the first point is repeated at the end so the curve closes). Defined in Chapter 4
    (the Gaussian as an ellipse).

    Parameters
    ----------
    mean : Tensor
        Shape :math:`(2,)`.
    cov : Tensor
        Shape :math:`(2, 2)`, symmetric positive definite.
    n_std : float, default 1.0
        The Mahalanobis radius :math:`k > 0`.
    n_points : int, default 100
        :math:`M \ge 3`.

    Returns
    -------
    Tensor
        Shape :math:`(M, 2)`.

    Raises
    ------
    ValueError
        If the Gaussian is not 2-D and valid, ``n_std <= 0`` or ``n_points < 3``.

    Examples
    --------
    >>> points = gaussian_ellipse(torch.zeros(2), torch.diag(torch.tensor([4.0, 1.0])), 2.0, 5)
    >>> points.abs().max(dim=0).values.tolist()  # semi-axes 2 * sqrt(4) and 2 * sqrt(1)
    [4.0, 2.0]
    """
    _check_gaussian(mean, cov)
    if mean.shape[0] != 2:
        raise ValueError(f"`mean` must have shape (2,) for an ellipse, got {tuple(mean.shape)}")
    if not n_std > 0:
        raise ValueError(f"`n_std` must be positive, got {n_std}")
    if n_points < 3:
        raise ValueError(f"`n_points` must be at least 3, got {n_points}")
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # Sigma = U diag(lam) U^T
    t = torch.linspace(0, 2 * math.pi, n_points, dtype=mean.dtype, device=mean.device)
    circle = torch.stack([torch.cos(t), torch.sin(t)], dim=1)  # (M, 2)
    axes = eigenvectors * torch.sqrt(eigenvalues)  # column j = sqrt(lam_j) u_j, (2, 2)
    points: Tensor = mean + n_std * circle @ axes.T  # (M, 2) @ (2, 2) -> (M, 2)
    return points


# --------------------------------------------------------------------------------------
# Gaussian mixtures
# --------------------------------------------------------------------------------------
def _check_mixture(weights: Tensor, means: Tensor, covs: Tensor) -> None:
    _check_distribution(weights, -1, "weights")
    _check_float(means, "means")
    _check_float(covs, "covs")
    if weights.ndim != 1:
        raise ValueError(f"`weights` must have shape (C,), got shape {tuple(weights.shape)}")
    c = weights.shape[0]
    if means.ndim != 2 or means.shape[0] != c:
        raise ValueError(f"`means` must have shape ({c}, D), got shape {tuple(means.shape)}")
    d = means.shape[1]
    if covs.shape != (c, d, d):
        raise ValueError(f"`covs` must have shape ({c}, {d}, {d}), got shape {tuple(covs.shape)}")


def gmm_sample(
    weights: Tensor,
    means: Tensor,
    covs: Tensor,
    n: int,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Draw samples from a Gaussian mixture by ancestral sampling.

    .. math::
        c \sim \operatorname{Categorical}(\pi_1, \ldots, \pi_C), \quad
        \vx \mid c \sim \mathcal{N}(\boldsymbol{\mu}_c, \Sigma_c)

    Defined in Chapter 4 (Gaussian mixtures).

    Parameters
    ----------
    weights : Tensor
        Shape :math:`(C,)`: the mixing weights :math:`\pi_c`, summing to 1.
    means : Tensor
        Shape :math:`(C, D)`.
    covs : Tensor
        Shape :math:`(C, D, D)`, each symmetric positive definite.
    n : int
        Number of samples.
    generator : torch.Generator, optional
        Source of randomness, on the device of ``weights``.

    Returns
    -------
    (Tensor, Tensor)
        The samples, shape :math:`(n, D)`, and the component each came from, shape
        :math:`(n,)` (int64).

    Raises
    ------
    ValueError
        If the shapes disagree, ``weights`` is not a distribution, a covariance is not
        positive definite, or ``n`` is negative.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> w, mu = torch.tensor([0.5, 0.5]), torch.tensor([[-5.0], [5.0]])
    >>> x, c = gmm_sample(w, mu, 0.01 * torch.ones(2, 1, 1), 6, g)
    >>> bool(((x[:, 0] > 0) == (c == 1)).all())
    True
    """
    _check_mixture(weights, means, covs)
    if n < 0:
        raise ValueError(f"`n` must be nonnegative, got {n}")
    components = torch.multinomial(weights, n, replacement=True, generator=generator)  # (n,)
    chols = torch.stack([_check_gaussian(m, s) for m, s in zip(means, covs, strict=True)])
    z = torch.randn(n, means.shape[1], generator=generator, dtype=means.dtype, device=means.device)
    # x_i = mu_{c_i} + L_{c_i} z_i: (n, D, D) @ (n, D, 1) -> (n, D, 1) -> (n, D)
    x = means[components] + (chols[components] @ z.unsqueeze(-1)).squeeze(-1)
    return x, components


def gmm_log_pdf(x: Tensor, weights: Tensor, means: Tensor, covs: Tensor) -> Tensor:
    r"""Log-density of a Gaussian mixture, summed stably in log space.

    .. math::
        \log p(\vx) = \log \sum_{c=1}^{C} \pi_c\, \mathcal{N}(\vx; \boldsymbol{\mu}_c, \Sigma_c)
        = \operatorname{logsumexp}_c \bigl(\log \pi_c
        + \log \mathcal{N}(\vx; \boldsymbol{\mu}_c, \Sigma_c)\bigr)

    Defined in Chapter 4 (Gaussian mixtures).

    Parameters
    ----------
    x : Tensor
        Shape :math:`(\ldots, D)`.
    weights, means, covs : Tensor
        Shapes :math:`(C,)`, :math:`(C, D)`, :math:`(C, D, D)` as in :func:`gmm_sample`.

    Returns
    -------
    Tensor
        Shape :math:`(\ldots,)`.

    Raises
    ------
    ValueError
        If the shapes disagree or the mixture is invalid.

    Examples
    --------
    >>> w, mu, cov = torch.tensor([1.0]), torch.zeros(1, 2), torch.eye(2).unsqueeze(0)
    >>> bool(torch.allclose(gmm_log_pdf(torch.ones(3, 2), w, mu, cov),
    ...                     gaussian_log_pdf(torch.ones(3, 2), mu[0], cov[0])))
    True
    """
    _check_mixture(weights, means, covs)
    per_component = torch.stack(
        [gaussian_log_pdf(x, m, s) for m, s in zip(means, covs, strict=True)], dim=-1
    )  # (..., C)
    # A zero weight gives log 0 = -inf, which logsumexp handles.
    return torch.logsumexp(torch.log(weights) + per_component, dim=-1)


# --------------------------------------------------------------------------------------
# Information theory
# --------------------------------------------------------------------------------------
def entropy(p: Tensor, dim: int = -1) -> Tensor:
    r"""Shannon entropy of discrete distributions, in nats.

    .. math::
        H(p) = -\sum_{k} p_k \log p_k, \qquad 0 \log 0 = 0

    Defined in Chapter 4 (entropy).

    Parameters
    ----------
    p : Tensor
        Probability vectors along ``dim``: nonnegative, summing to 1.
    dim : int, default -1
        The axis of the outcomes.

    Returns
    -------
    Tensor
        The shape of ``p`` without ``dim``; values in :math:`[0, \log K]`.

    Raises
    ------
    TypeError
        If ``p`` is not a floating-point tensor.
    ValueError
        If ``p`` has a negative entry, does not sum to 1 along ``dim``, or ``dim`` is not
        one of its axes.

    References
    ----------
    .. [1] Shannon, C. E. "A mathematical theory of communication." Bell System Technical
       Journal 27 (1948).

    Examples
    --------
    >>> round(entropy(torch.tensor([0.5, 0.5, 0.0])).item(), 4)  # log 2
    0.6931
    """
    axis = _check_distribution(p, dim, "p")
    # xlogy(0, 0) = 0: the convention 0 log 0 = 0, with a finite gradient elsewhere.
    return -torch.xlogy(p, p).sum(dim=axis)


def cross_entropy(p: Tensor, q: Tensor, dim: int = -1) -> Tensor:
    r"""Cross-entropy of discrete distributions, in nats.

    .. math::
        H(p, q) = -\sum_{k} p_k \log q_k = H(p) + D_\mathrm{KL}(p \,\Vert\, q)

    with :math:`0 \log q = 0` and :math:`H(p, q) = +\infty` where :math:`q_k = 0 < p_k`.
    Defined in Chapter 4 (cross-entropy). For the loss computed from logits see
    Chapter 6 (``dlbook.logistic``).

    Parameters
    ----------
    p : Tensor
        The true distributions along ``dim``.
    q : Tensor
        The model's distributions, broadcastable with ``p``.
    dim : int, default -1
        The axis of the outcomes.

    Returns
    -------
    Tensor
        The broadcast shape without ``dim``.

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If an input is not a distribution along ``dim`` or the shapes do not broadcast.

    Examples
    --------
    >>> p = torch.tensor([1.0, 0.0])
    >>> round(cross_entropy(p, torch.tensor([0.5, 0.5])).item(), 4)
    0.6931
    """
    p, q, axis = _check_pair(p, q, dim)
    return -torch.xlogy(p, q).sum(dim=axis)


def kl_divergence(p: Tensor, q: Tensor, dim: int = -1) -> Tensor:
    r"""Kullback-Leibler divergence between discrete distributions, in nats.

    .. math::
        D_\mathrm{KL}(p \,\Vert\, q) = \sum_{k} p_k \log \frac{p_k}{q_k}

    with :math:`0 \log(0/q) = 0` and :math:`+\infty` where :math:`q_k = 0 < p_k`. It is
    nonnegative, zero exactly when :math:`p = q`, and not symmetric. Defined in Chapter 4
    (KL divergence).

    Parameters
    ----------
    p, q : Tensor
        Distributions along ``dim``, broadcastable with each other.
    dim : int, default -1
        The axis of the outcomes.

    Returns
    -------
    Tensor
        The broadcast shape without ``dim``.

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If an input is not a distribution along ``dim`` or the shapes do not broadcast.

    References
    ----------
    .. [1] Kullback, S., Leibler, R. A. "On information and sufficiency." Annals of
       Mathematical Statistics 22 (1951).

    Examples
    --------
    >>> p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])
    >>> round(kl_divergence(p, q).item(), 4), round(kl_divergence(q, p).item(), 4)
    (0.5108, 0.3681)
    """
    p, q, axis = _check_pair(p, q, dim)
    # xlogy(p, p) - xlogy(p, q): each term is 0 where p = 0, +inf where q = 0 < p.
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=axis)


def _check_pair(p: Tensor, q: Tensor, dim: int) -> tuple[Tensor, Tensor, int]:
    _check_float(p, "p")
    _check_float(q, "q")
    try:
        shape = torch.broadcast_shapes(p.shape, q.shape)
    except RuntimeError:
        raise ValueError(
            f"`p` and `q` must have broadcastable shapes, got {tuple(p.shape)} and {tuple(q.shape)}"
        ) from None
    p, q = p.expand(shape), q.expand(shape)
    axis = _check_distribution(p, dim, "p")
    _check_distribution(q, dim, "q")
    return p, q, axis


def mutual_information(joint: Tensor) -> Tensor:
    r"""Mutual information of two discrete variables from their joint table, in nats.

    .. math::
        I(X; Y) = D_\mathrm{KL}\bigl(P_{XY} \,\Vert\, P_X P_Y\bigr)
        = \sum_{x, y} P(x, y) \log \frac{P(x, y)}{P(x) P(y)}
        = H(X) + H(Y) - H(X, Y)

    Zero exactly when :math:`X` and :math:`Y` are independent. Defined in Chapter 4
    (mutual information).

    Parameters
    ----------
    joint : Tensor
        Shape :math:`(n_X, n_Y)`: ``joint[i, j]`` is :math:`P(X = i, Y = j)`.

    Returns
    -------
    Tensor
        A scalar, :math:`\ge 0`.

    Raises
    ------
    ValueError
        If ``joint`` is not a 2-D probability table.

    References
    ----------
    .. [1] Cover, T. M., Thomas, J. A. *Elements of Information Theory*, 2nd ed.
       Wiley, 2006.

    Examples
    --------
    >>> round(mutual_information(torch.tensor([[0.5, 0.0], [0.0, 0.5]])).item(), 4)  # log 2
    0.6931
    """
    _check_table(joint)
    if joint.ndim != 2:
        raise ValueError(f"`joint` must be a 2-D table, got shape {tuple(joint.shape)}")
    p_x = joint.sum(dim=1, keepdim=True)  # (n_X, 1)
    p_y = joint.sum(dim=0, keepdim=True)  # (1, n_Y)
    # KL(P_XY || P_X P_Y) with log(P_X P_Y) = log P_X + log P_Y, so that a product of two
    # tiny marginals cannot underflow to 0; where P(x, y) > 0 both marginals are positive.
    mi = (torch.xlogy(joint, joint) - torch.xlogy(joint, p_x) - torch.xlogy(joint, p_y)).sum()
    return mi.clamp(min=0.0)  # rounding can leave -1e-17 for independent tables


def mutual_information_histogram(x: Tensor, y: Tensor, bins: int = 20) -> Tensor:
    r"""Plug-in estimate of :math:`I(X; Y)` from paired samples, through a 2-D histogram.

    The samples are binned on a ``bins`` :math:`\times` ``bins`` grid spanning their
    ranges; the relative counts :math:`\hat P(i, j) = n_{ij} / N` are a joint table, and

    .. math::
        \hat I = \sum_{i, j} \hat P(i, j) \log \frac{\hat P(i, j)}{\hat P(i)\, \hat P(j)}

    The estimate is biased upwards, by about :math:`(B - 1)^2 / (2N)` for independent
    variables and :math:`B` bins per axis when every cell is well populated (Paninski,
    2003). Defined in Chapter 4 (mutual information).

    Parameters
    ----------
    x, y : Tensor
        Shape :math:`(N,)` each, :math:`N \ge 1`.
    bins : int, default 20
        Bins per axis, :math:`B \ge 1`.

    Returns
    -------
    Tensor
        A scalar, in nats.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` are not 1-D of the same nonzero length, or ``bins < 1``.

    Examples
    --------
    >>> x = torch.tensor([0.0, 0.0, 1.0, 1.0])
    >>> round(mutual_information_histogram(x, x, bins=2).item(), 4)  # log 2
    0.6931
    """
    _check_float(x, "x")
    _check_float(y, "y")
    if x.ndim != 1 or x.numel() == 0 or x.shape != y.shape:
        raise ValueError(
            f"`x` and `y` must be 1-D with the same nonzero length, got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if bins < 1:
        raise ValueError(f"`bins` must be at least 1, got {bins}")

    def bin_index(v: Tensor) -> Tensor:
        lo, hi = v.min(), v.max()
        width = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
        # Equal-width bins on [lo, hi]; the maximum goes into the last bin.
        return ((v - lo) / width * bins).floor().long().clamp(0, bins - 1)

    cell = bin_index(x) * bins + bin_index(y)  # (N,) flat index into the B x B grid
    counts = torch.bincount(cell, minlength=bins * bins).to(x.dtype)
    joint = (counts / x.numel()).reshape(bins, bins)  # (B * B,) -> (B, B)
    return mutual_information(joint)


def gaussian_mutual_information(rho: Tensor) -> Tensor:
    r"""Mutual information of a bivariate Gaussian with correlation :math:`\rho`, in nats.

    .. math::
        I(X; Y) = -\tfrac{1}{2} \log(1 - \rho^2)

    (independent of the means and variances; :math:`+\infty` at :math:`|\rho| = 1`).
    Defined in Chapter 4 (mutual information).

    Parameters
    ----------
    rho : Tensor
        Any shape, values in :math:`[-1, 1]`.

    Returns
    -------
    Tensor
        The shape of ``rho``.

    Raises
    ------
    ValueError
        If a value lies outside :math:`[-1, 1]`.

    Examples
    --------
    >>> round(gaussian_mutual_information(torch.tensor(0.5)).item(), 4)
    0.1438
    """
    _check_float(rho, "rho")
    if torch.isnan(rho).any() or (rho.abs() > 1).any():
        raise ValueError("`rho` must lie in [-1, 1]")
    return -0.5 * torch.log1p(-(rho**2))


# --------------------------------------------------------------------------------------
# Estimation: maximum likelihood and MAP
# --------------------------------------------------------------------------------------
def gaussian_mle(x: Tensor) -> tuple[Tensor, Tensor]:
    r"""Maximum-likelihood mean and variance of i.i.d. Gaussian samples along dimension 0.

    .. math::

        \hat\mu = \frac1N\sum_{i=1}^N x_i, \qquad
        \hat\sigma^2_{\mathrm{ML}} = \frac1N\sum_{i=1}^N (x_i - \hat\mu)^2 ,

    the maximiser of :math:`\sum_i \log\mathcal{N}(x_i; \mu, \sigma^2)`. The variance is
    biased, :math:`\E\,\hat\sigma^2_{\mathrm{ML}} = \frac{N-1}{N}\sigma^2`; multiply by
    :math:`N/(N-1)` (Bessel's correction, ``torch.var``'s default) for an unbiased one.
    Defined in Chapter 4 (maximum likelihood).

    Parameters
    ----------
    x : Tensor, shape (N, ...)
        Samples along dimension 0, :math:`N \ge 1`; other dimensions are separate variables.

    Returns
    -------
    tuple of Tensor
        ``(mean, variance)``, each of shape ``x.shape[1:]``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` is 0-d or has no samples.

    Examples
    --------
    >>> mean, var = gaussian_mle(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    >>> mean.item(), var.item()
    (3.0, 3.5)
    """
    x = _checks.float_tensor("x", x, min_ndim=1)
    if x.shape[0] == 0:
        raise ValueError(f"`x` must hold at least one sample, got shape {tuple(x.shape)}")
    mean = x.mean(dim=0)
    return mean, ((x - mean) ** 2).mean(dim=0)


def gaussian_mean_posterior(
    x: Tensor, noise_var: float, prior_mean: float = 0.0, prior_var: float = 1.0
) -> tuple[Tensor, Tensor]:
    r"""Posterior of a Gaussian mean under a Gaussian prior; its mean is the MAP estimate.

    With :math:`x_i \sim \mathcal{N}(\mu, \sigma^2)` (known :math:`\sigma^2` = ``noise_var``)
    and prior :math:`\mu \sim \mathcal{N}(\mu_0, \sigma_0^2)`, the posterior is Gaussian with

    .. math::

        \frac{1}{\sigma_N^2} = \frac{1}{\sigma_0^2} + \frac{N}{\sigma^2}, \qquad
        \mu_N = \sigma_N^2\Bigl(\frac{\mu_0}{\sigma_0^2} + \frac{1}{\sigma^2}\sum_i x_i\Bigr),

    so the MAP estimate :math:`\mu_N` shrinks the sample mean towards :math:`\mu_0` with
    weight :math:`\sigma^2/(\sigma^2 + N\sigma_0^2)`. Defined in Chapter 4 (MAP estimation).

    Parameters
    ----------
    x : Tensor, shape (N,)
        Observations (:math:`N = 0` returns the prior).
    noise_var : float
        :math:`\sigma^2 > 0`.
    prior_mean : float, default 0.0
        :math:`\mu_0`.
    prior_var : float, default 1.0
        :math:`\sigma_0^2 > 0`.

    Returns
    -------
    tuple of Tensor
        ``(posterior_mean, posterior_var)``, 0-d tensors in ``x``'s dtype and device.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` is not a vector or a variance is not positive.

    References
    ----------
    C. M. Bishop, *Pattern Recognition and Machine Learning*, Springer, 2006, Section 2.3.6.

    Examples
    --------
    >>> m, v = gaussian_mean_posterior(torch.tensor([2.0, 2.0]), noise_var=1.0)
    >>> round(m.item(), 4), round(v.item(), 4)
    (1.3333, 0.3333)
    """
    x = _checks.float_tensor("x", x, ndim=1)
    noise_var = _checks.positive("noise_var", noise_var)
    prior_var = _checks.positive("prior_var", prior_var)
    prior_mean = _checks.number("prior_mean", prior_mean)
    precision = 1.0 / prior_var + x.shape[0] / noise_var  # 1 / sigma_N^2
    post_var = torch.full((), 1.0 / precision, dtype=x.dtype, device=x.device)
    post_mean = post_var * (prior_mean / prior_var + x.sum() / noise_var)
    return post_mean, post_var


def gaussian_conditional(mean: Tensor, cov: Tensor, x_b: Tensor) -> tuple[Tensor, Tensor]:
    r"""Condition a Gaussian on its last coordinates: mean and covariance of the rest.

    Split :math:`\vx = (\vx_a, \vx_b)` with :math:`\vx_b` the last :math:`m` coordinates
    (``m = len(x_b)``). Then :math:`\vx_a \mid \vx_b` is Gaussian with

    .. math::

        \boldsymbol{\mu}_{a|b} = \boldsymbol{\mu}_a + \Sigma_{ab}\Sigma_{bb}^{-1}
        (\vx_b - \boldsymbol{\mu}_b), \qquad
        \Sigma_{a|b} = \Sigma_{aa} - \Sigma_{ab}\Sigma_{bb}^{-1}\Sigma_{ba},

    the Schur complement of :math:`\Sigma_{bb}`. The marginal of :math:`\vx_a` is just
    :math:`\mathcal{N}(\boldsymbol{\mu}_a, \Sigma_{aa})`. Defined in Chapter 4
    (the multivariate Gaussian).

    Parameters
    ----------
    mean : Tensor, shape (D,)
    cov : Tensor, shape (D, D)
        Symmetric positive definite.
    x_b : Tensor, shape (m,)
        Observed values of the last :math:`m` coordinates, :math:`1 \le m < D`.

    Returns
    -------
    tuple of Tensor
        ``(mean_a, cov_a)`` of shapes (D - m,) and (D - m, D - m).

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes do not match or ``cov`` is not positive definite.

    References
    ----------
    C. M. Bishop, *Pattern Recognition and Machine Learning*, Springer, 2006, Section 2.3.1.

    Examples
    --------
    >>> cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]])
    >>> m, c = gaussian_conditional(torch.zeros(2), cov, torch.tensor([1.0]))
    >>> round(m.item(), 4), round(c.item(), 4)
    (0.8, 0.36)
    """
    _check_gaussian(mean, cov)
    x_b = _checks.float_tensor("x_b", x_b, ndim=1)
    d, m = mean.shape[0], x_b.shape[0]
    if not 1 <= m < d:
        raise ValueError(f"`x_b` must have between 1 and {d - 1} entries, got {m}")
    k = d - m
    cov_aa, cov_ab, cov_bb = cov[:k, :k], cov[:k, k:], cov[k:, k:]  # blocks of Sigma
    chol_bb = torch.linalg.cholesky(cov_bb)
    # Sigma_bb^{-1} Sigma_ba and Sigma_bb^{-1} (x_b - mu_b) by two triangular solves each
    gain = torch.cholesky_solve(cov_ab.T, chol_bb).T  # Sigma_ab Sigma_bb^{-1}, (k, m)
    mean_a = mean[:k] + gain @ (x_b - mean[k:])
    cov_a = cov_aa - gain @ cov_ab.T
    return mean_a, (cov_a + cov_a.T) / 2  # exactly symmetric


# --------------------------------------------------------------------------------------
# Monte Carlo and importance sampling
# --------------------------------------------------------------------------------------
def effective_sample_size(log_weights: Tensor) -> Tensor:
    r"""Kish's effective sample size of importance weights, from their logarithms.

    .. math::

        N_{\mathrm{eff}} = \frac{\bigl(\sum_i w_i\bigr)^2}{\sum_i w_i^2}
        = \exp\bigl(2\operatorname{logsumexp}(\log w) - \operatorname{logsumexp}(2\log w)\bigr),

    between 1 (one weight dominates) and :math:`N` (equal weights). Zero weights are
    :math:`\log w = -\infty`. Defined in Chapter 4 (importance sampling).

    Parameters
    ----------
    log_weights : Tensor, shape (N,)
        Not all :math:`-\infty`.

    Returns
    -------
    Tensor
        0-d, in the input's dtype and device.

    Raises
    ------
    TypeError
        If ``log_weights`` is not a floating-point tensor.
    ValueError
        If it is not a non-empty vector, holds NaN or :math:`+\infty`, or every weight is 0.

    References
    ----------
    L. Kish, *Survey Sampling*, Wiley, 1965. A. B. Owen, *Monte Carlo theory, methods and
    examples*, 2013, Chapter 9.

    Examples
    --------
    >>> w = torch.tensor([1.0, 1.0, 0.0, 2.0], dtype=torch.float64)
    >>> round(effective_sample_size(torch.log(w)).item(), 6)
    2.666667
    """
    log_weights = _checks.float_tensor("log_weights", log_weights, ndim=1, non_empty=True)
    if log_weights.device.type != "meta":
        if bool(torch.isnan(log_weights).any()) or bool((log_weights == math.inf).any()):
            raise ValueError("`log_weights` must not hold NaN or +inf")
        if bool((log_weights == -math.inf).all()):
            raise ValueError("`log_weights` must not all be -inf (every weight zero)")
    return torch.exp(
        2 * torch.logsumexp(log_weights, dim=0) - torch.logsumexp(2 * log_weights, dim=0)
    )


def gaussian_tail_probability(
    threshold: float, n: int, generator: torch.Generator | None = None, shift: float | None = None
) -> Tensor:
    r"""Estimate :math:`P(Z > t)` for :math:`Z \sim \mathcal{N}(0, 1)` by importance sampling.

    Draw :math:`z_i \sim q = \mathcal{N}(s, 1)` and average the weighted indicator,

    .. math::

        \hat P = \frac1n\sum_{i=1}^n \mathbb{1}[z_i > t]\,\frac{p(z_i)}{q(z_i)},
        \qquad \frac{p(z)}{q(z)} = e^{-s z + s^2/2},

    an unbiased estimate for every shift :math:`s`. ``shift=0`` is plain Monte Carlo; the
    default :math:`s = t` puts half the proposal's mass in the tail, and the relative
    standard deviation per sample is then
    :math:`\sqrt{e^{t^2}\bar\Phi(2t)/\bar\Phi(t)^2 - 1}` (2.1 at :math:`t = 4`) instead of
    :math:`\sqrt{1/\bar\Phi(t) - 1}` (178 at :math:`t = 4`). Defined in Chapter 4 (importance
    sampling); the reference for the open Exercise 4.5.

    Parameters
    ----------
    threshold : float
        :math:`t`.
    n : int
        Number of samples, :math:`n \ge 1`.
    generator : torch.Generator, optional
        Source of randomness (CPU; the result is float64 on the CPU).
    shift : float, optional
        The proposal's mean :math:`s`; default :math:`t`.

    Returns
    -------
    Tensor
        0-d float64.

    Raises
    ------
    TypeError
        If ``threshold`` or ``shift`` is not a real number or ``n`` not an int.
    ValueError
        If ``n < 1`` or a number is not finite.

    References
    ----------
    A. B. Owen, *Monte Carlo theory, methods and examples*, 2013, Chapter 9.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> p = gaussian_tail_probability(4.0, 100_000, g)
    >>> abs(p.item() / 3.167124e-05 - 1) < 0.05
    True
    """
    t = _checks.number("threshold", threshold)
    n = _checks.positive_int("n", n)
    _checks.generator("generator", generator)
    s = t if shift is None else _checks.number("shift", shift)
    device = generator.device if generator is not None else torch.device("cpu")
    z = s + torch.randn(n, generator=generator, dtype=torch.float64, device=device)
    log_w = -s * z + 0.5 * s * s  # log p(z) - log q(z)
    return torch.where(z > t, torch.exp(log_w), torch.zeros_like(z)).mean().cpu()


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
