r"""What every generative family of Part V is measured with.

A generative model is judged on samples, so every measurement here compares a tensor of
generated samples with something known about the data:

* **modes and high-quality samples** (Chapter 16), for mixtures whose component means
  are known, such as the 8-Gaussian ring and the 25-Gaussian grid of ``dlbook.data``:
  the protocol of VEEGAN (Srivastava et al. 2017), also used by PacGAN (Lin et al. 2018);
* **sample-quality distances to held-out data** (Chapter 16): the unbiased maximum mean
  discrepancy with a Gaussian kernel (Gretton et al. 2012) and the energy distance
  (Szekely and Rizzo 2013).

Samples are ``(N, D)`` floating-point tensors; every function works on the device of its
inputs and returns a tensor there (or plain Python numbers where the result is a count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "VEEGAN_NUM_SAMPLES",
    "ModeCoverage",
    "energy_distance",
    "grid_centres",
    "median_bandwidth",
    "mmd2",
    "mode_coverage",
    "ring_centres",
]

#: Samples drawn from each trained model in the VEEGAN protocol (Srivastava et al. 2017).
VEEGAN_NUM_SAMPLES = 2500


# --------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------
def _check_samples(x: object, name: str, *, min_rows: int = 1) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"`{name}` must have shape (N, D), got shape {tuple(x.shape)}")
    if x.shape[0] < min_rows:
        raise ValueError(f"`{name}` must have at least {min_rows} rows, got {x.shape[0]}")
    if x.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one column, got shape {tuple(x.shape)}")
    return x


def _check_pair(x: object, y: object, *, min_rows: int = 1) -> tuple[Tensor, Tensor]:
    x = _check_samples(x, "x", min_rows=min_rows)
    y = _check_samples(y, "y", min_rows=min_rows)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"`x` and `y` must have the same number of columns D, got {x.shape[1]} and {y.shape[1]}"
        )
    if x.device != y.device:
        raise ValueError(f"`x` and `y` must be on the same device, got {x.device} and {y.device}")
    if x.dtype != y.dtype:
        raise TypeError(f"`x` and `y` must have the same dtype, got {x.dtype} and {y.dtype}")
    return x, y


def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be positive and finite, got {value}")
    return float(value)


def _sq_distances(x: Tensor, y: Tensor) -> Tensor:
    # Exact pairwise ||x_i - y_j||^2: the "mm" shortcut ||x||^2 + ||y||^2 - 2 x.y loses
    # all accuracy for nearby points far from the origin.
    d = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist")  # (N, M)
    return d * d


# --------------------------------------------------------------------------------------
# Modes and high-quality samples (VEEGAN's protocol)
# --------------------------------------------------------------------------------------
def ring_centres(
    modes: int = 8,
    radius: float = 2.0,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    r"""The means of :func:`dlbook.data.gaussian_ring`'s components.

    .. math:: \boldsymbol\mu_k = R\,\bigl(\cos(2\pi k/K), \sin(2\pi k/K)\bigr),
       \qquad k = 0, \dots, K-1.

    Parameters
    ----------
    modes : int, default 8
        The number of components :math:`K`.
    radius : float, default 2.0
        The radius :math:`R`.
    device, dtype
        Where and in which floating-point type the result is made.

    Returns
    -------
    Tensor, shape (K, 2)
        Row :math:`k` is the mean of the component labelled :math:`k` by the data.

    Raises
    ------
    ValueError
        If ``modes < 1`` or ``radius`` is not positive.

    Examples
    --------
    >>> ring_centres(4, 1.0).round(decimals=6).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [-0.0, -1.0]]
    """
    if isinstance(modes, bool) or not isinstance(modes, int) or modes < 1:
        raise ValueError(f"`modes` must be a positive int, got {modes!r}")
    radius = _positive(radius, "radius")
    k = torch.arange(modes, dtype=torch.float64)
    angle = 2 * math.pi * k / modes
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)  # (K, 2)
    return centres.to(device=device, dtype=dtype)


def grid_centres(
    side: int = 5,
    spacing: float = 2.0,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    r"""The means of :func:`dlbook.data.gaussian_grid`'s components, in its label order.

    .. math:: \boldsymbol\mu_{k} = s\,\bigl(\lfloor k/S \rfloor - \tfrac{S-1}{2},\;
       (k \bmod S) - \tfrac{S-1}{2}\bigr), \qquad k = 0, \dots, S^2 - 1,

    so the defaults give the 25 points of :math:`\{-4, -2, 0, 2, 4\}^2`.

    Parameters
    ----------
    side : int, default 5
        Points per side :math:`S`.
    spacing : float, default 2.0
        Distance :math:`s` between neighbouring points.
    device, dtype
        Where and in which floating-point type the result is made.

    Returns
    -------
    Tensor, shape (S * S, 2)

    Raises
    ------
    ValueError
        If ``side < 1`` or ``spacing`` is not positive.

    Examples
    --------
    >>> grid_centres(2, 2.0).tolist()
    [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    """
    if isinstance(side, bool) or not isinstance(side, int) or side < 1:
        raise ValueError(f"`side` must be a positive int, got {side!r}")
    spacing = _positive(spacing, "spacing")
    k = torch.arange(side * side)
    offset = (side - 1) / 2
    rows_cols = torch.stack([k // side, k % side], dim=1).double()  # (S*S, 2)
    return (spacing * (rows_cols - offset)).to(device=device, dtype=dtype)


@dataclass(frozen=True)
class ModeCoverage:
    r"""The result of :func:`mode_coverage`.

    Attributes
    ----------
    modes : int
        Modes captured: components that are the nearest mode of at least one
        high-quality sample.
    high_quality : float
        Fraction of the samples that are high quality, in :math:`[0, 1]`.
    counts : Tensor, shape (K,), int64
        High-quality samples whose nearest mode is each component.
    num_modes : int
        The number of components :math:`K`, the most ``modes`` can be.
    """

    modes: int
    high_quality: float
    counts: Tensor
    num_modes: int


def mode_coverage(
    samples: Tensor, centres: Tensor, std: float, *, num_std: float = 3.0
) -> ModeCoverage:
    r"""Modes captured and the fraction of high-quality samples (VEEGAN's protocol).

    A sample :math:`\mathbf{x}` is *high quality* when it lies within ``num_std``
    standard deviations of its nearest mode,

    .. math:: \min_k \lVert \mathbf{x} - \boldsymbol\mu_k \rVert \le c\,\sigma,
       \qquad c = 3,

    and a mode is *captured* when it is the nearest mode of at least one high-quality
    sample (defined in Chapter 16, measuring mode collapse). Srivastava et al. draw
    :data:`VEEGAN_NUM_SAMPLES` = 2,500 samples from each trained model and average the
    two numbers over runs; this function scores one set of samples. For a perfect sampler
    of an isotropic 2-D mixture with well-separated modes the expected high-quality
    fraction is :math:`1 - e^{-c^2/2} \approx 98.9\,\%`, not 100 %.

    Parameters
    ----------
    samples : Tensor, shape (N, D)
        Generated samples.
    centres : Tensor, shape (K, D)
        The component means (e.g. :func:`ring_centres`, :func:`grid_centres`).
    std : float
        The components' standard deviation :math:`\sigma` (0.02 for the ring and 0.05
        for the grid of ``dlbook.data``).
    num_std : float, default 3.0
        The radius :math:`c` in standard deviations.

    Returns
    -------
    ModeCoverage
        ``modes``, ``high_quality``, ``counts`` and ``num_modes``.

    Raises
    ------
    TypeError
        If a tensor is not floating point or the dtypes differ.
    ValueError
        If a shape is wrong, the devices differ, or ``std`` or ``num_std`` is not positive.

    References
    ----------
    A. Srivastava, L. Valkov, C. Russell, M. U. Gutmann and C. Sutton, "VEEGAN: Reducing
    mode collapse in GANs using implicit variational learning", NeurIPS 2017, section 5.1.
    Z. Lin, A. Khetan, G. Fanti and S. Oh, "PacGAN: The power of two samples in
    generative adversarial networks", NeurIPS 2018.

    Examples
    --------
    >>> centres = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> samples = torch.tensor([[0.01, 0.0], [0.02, 0.01], [0.5, 0.0]])
    >>> result = mode_coverage(samples, centres, std=0.02)
    >>> result.modes, round(result.high_quality, 3), result.counts.tolist()
    (1, 0.667, [2, 0])
    """
    samples = _check_samples(samples, "samples")
    centres = _check_samples(centres, "centres")
    if samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"`samples` and `centres` must have the same number of columns, got "
            f"{samples.shape[1]} and {centres.shape[1]}"
        )
    if samples.device != centres.device:
        raise ValueError(
            f"`samples` and `centres` must be on the same device, got {samples.device} and "
            f"{centres.device}"
        )
    std = _positive(std, "std")
    num_std = _positive(num_std, "num_std")
    # Distances in float64: a float32 sample and float64 centres compare exactly.
    distance = torch.cdist(
        samples.double(), centres.double(), compute_mode="donot_use_mm_for_euclid_dist"
    )  # (N, K)
    nearest_distance, nearest = distance.min(dim=1)  # (N,), (N,)
    good = nearest_distance <= num_std * std
    counts = torch.bincount(nearest[good], minlength=centres.shape[0])  # (K,)
    return ModeCoverage(
        modes=int((counts > 0).sum().item()),
        high_quality=float(good.double().mean().item()),
        counts=counts,
        num_modes=int(centres.shape[0]),
    )


# --------------------------------------------------------------------------------------
# Distances between two samples
# --------------------------------------------------------------------------------------
def median_bandwidth(x: Tensor, y: Tensor, *, max_points: int = 1000) -> Tensor:
    r"""The median heuristic: the median distance between points of the pooled sample.

    .. math:: \ell = \operatorname{median}\{\lVert \mathbf{z}_i - \mathbf{z}_j \rVert :
       i < j\}, \qquad \{\mathbf{z}_i\} = \{\mathbf{x}_i\} \cup \{\mathbf{y}_j\},

    the bandwidth Gretton et al. (2012, section 8) use for the Gaussian kernel. To keep
    the cost bounded, only the first ``max_points`` rows of each sample enter the pool
    (a fixed rule, so the result is reproducible).

    Parameters
    ----------
    x : Tensor, shape (N, D)
    y : Tensor, shape (M, D)
    max_points : int, default 1000
        Rows of each sample used.

    Returns
    -------
    Tensor, shape ()
        The bandwidth, in the dtype and on the device of the inputs.

    Raises
    ------
    TypeError, ValueError
        On bad inputs (as :func:`mmd2`), if ``max_points < 1``, or if every pooled
        distance is zero.

    Examples
    --------
    >>> x = torch.tensor([[0.0], [1.0]]); y = torch.tensor([[3.0]])
    >>> median_bandwidth(x, y).item()
    2.0
    """
    x, y = _check_pair(x, y)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"`max_points` must be a positive int, got {max_points!r}")
    pooled = torch.cat([x[:max_points], y[:max_points]])  # (N' + M', D)
    if pooled.shape[0] < 2:
        raise ValueError("the median heuristic needs at least two points in all")
    distances = torch.nn.functional.pdist(pooled)  # (P,), P = n (n - 1) / 2
    # The lower median, as torch.median: the value is a distance that actually occurs.
    ell = distances.median()
    if not ell > 0:
        raise ValueError("the median pairwise distance is zero: pass `bandwidth` explicitly")
    return ell


def mmd2(x: Tensor, y: Tensor, *, bandwidth: float | Tensor | None = None) -> Tensor:
    r"""The unbiased estimate of the squared maximum mean discrepancy, Gaussian kernel.

    With :math:`k(\mathbf{a}, \mathbf{b}) = \exp\bigl(-\lVert\mathbf{a} -
    \mathbf{b}\rVert^2 / (2\ell^2)\bigr)`,

    .. math:: \widehat{\mathrm{MMD}}{}^2_u = \frac{1}{N(N-1)} \sum_{i \ne i'}
       k(\mathbf{x}_i, \mathbf{x}_{i'}) + \frac{1}{M(M-1)} \sum_{j \ne j'}
       k(\mathbf{y}_j, \mathbf{y}_{j'}) - \frac{2}{NM} \sum_{i, j}
       k(\mathbf{x}_i, \mathbf{y}_j)

    (Gretton et al. 2012, Lemma 6; defined in Chapter 16, distances to held-out data).
    It is unbiased for the squared MMD, which is zero exactly when the two distributions
    are equal (the Gaussian kernel is characteristic), so the estimate can be slightly
    negative.

    Parameters
    ----------
    x : Tensor, shape (N, D)
        One sample (e.g. generated), :math:`N \ge 2`.
    y : Tensor, shape (M, D)
        The other (e.g. held-out data), :math:`M \ge 2`.
    bandwidth : float or Tensor, optional
        The kernel width :math:`\ell`; by default :func:`median_bandwidth` of the two.

    Returns
    -------
    Tensor, shape ()
        The estimate, in the dtype and on the device of the inputs.

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor or the dtypes differ.
    ValueError
        If a shape is not (N, D) with N >= 2, the widths D differ, the devices differ, or
        ``bandwidth`` is not positive.

    References
    ----------
    A. Gretton, K. M. Borgwardt, M. J. Rasch, B. Schoelkopf and A. Smola, "A kernel
    two-sample test", JMLR 13 (2012), 723-773.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(200, 2, generator=g, dtype=torch.float64)
    >>> y = torch.randn(200, 2, generator=g, dtype=torch.float64)
    >>> bool(abs(mmd2(x, y)) < 0.01), bool(mmd2(x, y + 1.0) > 0.1)
    (True, True)
    """
    x, y = _check_pair(x, y, min_rows=2)
    if bandwidth is None:
        ell = median_bandwidth(x, y)
    elif isinstance(bandwidth, Tensor):
        if bandwidth.numel() != 1 or not bool(bandwidth > 0):
            raise ValueError(f"`bandwidth` must be one positive number, got {bandwidth}")
        ell = bandwidth.to(device=x.device, dtype=x.dtype).reshape(())
    else:
        ell = torch.tensor(_positive(bandwidth, "bandwidth"), dtype=x.dtype, device=x.device)
    n, m = x.shape[0], y.shape[0]
    scale = 2 * ell * ell

    def kernel_sum(a: Tensor, b: Tensor) -> Tensor:
        return torch.exp(-_sq_distances(a, b) / scale).sum()

    # The diagonals k(x_i, x_i) = 1 are left out of the within-sample sums.
    xx = (kernel_sum(x, x) - n) / (n * (n - 1))
    yy = (kernel_sum(y, y) - m) / (m * (m - 1))
    xy = kernel_sum(x, y) / (n * m)
    return xx + yy - 2 * xy


def energy_distance(x: Tensor, y: Tensor) -> Tensor:
    r"""The energy distance between the empirical distributions of two samples.

    .. math:: \mathcal{E}(\mathbf{x}, \mathbf{y}) = \Bigl(\frac{2}{NM}\sum_{i,j}
       \lVert\mathbf{x}_i - \mathbf{y}_j\rVert - \frac{1}{N^2}\sum_{i,i'}
       \lVert\mathbf{x}_i - \mathbf{x}_{i'}\rVert - \frac{1}{M^2}\sum_{j,j'}
       \lVert\mathbf{y}_j - \mathbf{y}_{j'}\rVert\Bigr)^{1/2}

    (Szekely and Rizzo 2013; defined in Chapter 16, distances to held-out data): the
    square root of the energy statistic, with every average over all pairs, as
    ``scipy.stats.energy_distance`` computes it in one dimension. The quantity under the
    root is never negative, and it is zero exactly when the two samples have the same
    empirical distribution.

    Parameters
    ----------
    x : Tensor, shape (N, D)
    y : Tensor, shape (M, D)

    Returns
    -------
    Tensor, shape ()
        The distance, in the dtype and on the device of the inputs.

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor or the dtypes differ.
    ValueError
        If a shape is not (N, D), the widths D differ or the devices differ.

    References
    ----------
    G. J. Szekely and M. L. Rizzo, "Energy statistics: A class of statistics based on
    distances", Journal of Statistical Planning and Inference 143 (2013), 1249-1272.

    Examples
    --------
    >>> x = torch.tensor([[0.0], [1.0]]); y = torch.tensor([[0.0], [3.0]])
    >>> energy_distance(x, y).item()  # (2 * 6/4 - 2/4 - 6/4) ** 0.5
    1.0
    """
    x, y = _check_pair(x, y)

    def mean_distance(a: Tensor, b: Tensor) -> Tensor:
        return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist").mean()

    statistic = 2 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)
    # Rounding can push an exact zero a hair below it.
    return statistic.clamp(min=0).sqrt()


# ======================================================================================
# Chapter 17: held-out log-likelihood and cost, for the table of every family
# (written by the Chapter 17 author; everything above is Chapter 16's)
# ======================================================================================
from collections.abc import Callable  # noqa: E402 (this section's own imports)
from typing import TYPE_CHECKING, TypeVar  # noqa: E402

if TYPE_CHECKING:
    import numpy as np

T_co = TypeVar("T_co")

__all__ += [
    "cpu_seconds",
    "dequantize",
    "discrete_log_likelihood_bound",
    "gmm_log_likelihood",
    "kde_log_likelihood",
]


def dequantize(x: Tensor, levels: int, *, generator: torch.Generator) -> Tensor:
    r"""Spread data on the grid :math:`\{0, \frac{1}{L-1}, \dots, 1\}` uniformly over its cells.

    .. math::
        y_j = \frac{c_j + u_j}{L}, \qquad c_j = (L-1)\,x_j \in \{0, \dots, L-1\},
        \quad u_j \sim \mathcal U[0, 1)

    (Chapter 17). A density :math:`p` on :math:`[0, 1]^D` then bounds the probability of
    the discrete :math:`\vc`: by Jensen's inequality,
    :math:`\log P(\vc) \ge \E_{\mathbf u}[\log p(\vy)] - D \log L`
    (:func:`discrete_log_likelihood_bound`; Theis et al. 2016).

    Parameters
    ----------
    x : Tensor
        Shape :math:`(N, D)`, values :math:`c/(L-1)` (the digits: :math:`L = 17`).
    levels : int
        :math:`L \ge 2`.
    generator : torch.Generator
        Draws :math:`\mathbf u` (on its device; the result is moved to ``x``'s).

    Returns
    -------
    Tensor
        Shape of ``x``, values in :math:`[0, 1)`.

    Raises
    ------
    ValueError
        If ``levels < 2`` or ``x`` is not on the grid.

    References
    ----------
    L. Theis, A. van den Oord and M. Bethge, "A note on the evaluation of generative
    models", ICLR 2016.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> y = dequantize(torch.tensor([[0.0, 1.0]]), 17, generator=g)
    >>> bool((y[0, 0] < 1 / 17) and (16 / 17 <= y[0, 1] < 1))
    True
    """
    x = _check_samples(x, "x")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
        raise ValueError(f"`levels` must be an integer >= 2, got {levels!r}")
    counts = x * (levels - 1)
    rounded = counts.round()
    if not bool(((counts - rounded).abs() < 1e-4).all()):
        raise ValueError(f"`x` must hold multiples of 1/{levels - 1} (data on the grid)")
    u = torch.rand(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return (rounded + u.to(x.device)) / levels


def discrete_log_likelihood_bound(log_density: Tensor, *, dim: int, levels: int) -> Tensor:
    r"""Turn log-densities of dequantised points into bounds on discrete log-probabilities.

    .. math::
        \log P(\vc) \ge \log p(\vy) - D \log L

    in expectation over the dequantisation noise (Chapter 17, see :func:`dequantize`).
    The result is in nats per example and comparable with a model of the discrete data,
    such as a VAE with a binomial decoder.

    Parameters
    ----------
    log_density : Tensor
        Shape :math:`(N,)`, :math:`\log p(\vy_i)` of the dequantised points.
    dim : int
        :math:`D`.
    levels : int
        :math:`L`.

    Returns
    -------
    Tensor
        Shape :math:`(N,)`.

    Examples
    --------
    >>> round(discrete_log_likelihood_bound(torch.zeros(1), dim=64, levels=17).item(), 2)
    -181.33
    """
    return log_density - dim * math.log(levels)


def _numpy64(x: Tensor) -> "np.ndarray":  # noqa: UP037 (numpy is imported lazily)
    return x.detach().cpu().double().numpy()


def gmm_log_likelihood(
    X_train: Tensor,
    X_val: Tensor,
    X_test: Tensor,
    *,
    n_components: tuple[int, ...] = (1, 2, 4, 8, 16),
    covariance_type: str = "full",
    seed: int = 0,
) -> tuple[Tensor, int]:
    r"""Held-out log-likelihood of scikit-learn's ``GaussianMixture``, size chosen on validation.

    .. math::
        \log p(\vx) = \log \sum_{k=1}^{K} \pi_k\, \mathcal N(\vx; \boldsymbol\mu_k, \Sigma_k)

    fitted by EM on ``X_train`` for every :math:`K` in ``n_components``; the :math:`K` with
    the best mean log-likelihood on ``X_val`` is scored on ``X_test`` (Chapter 17, the
    classical baseline of the Part's table).

    Parameters
    ----------
    X_train, X_val, X_test : Tensor
        Shapes :math:`(N, D)`.
    n_components : tuple of int
        The candidate :math:`K`.
    covariance_type : str, default "full"
        As scikit-learn's.
    seed : int, default 0
        ``random_state`` of the fits.

    Returns
    -------
    log_likelihood : Tensor
        Shape :math:`(N_{\text{test}},)`, float64 on ``X_test``'s device, in nats.
    K : int
        The chosen number of components.

    References
    ----------
    A. P. Dempster, N. M. Laird and D. B. Rubin, "Maximum likelihood from incomplete data
    via the EM algorithm", Journal of the Royal Statistical Society B 39(1), 1-38, 1977.

    Examples
    --------
    >>> X = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    >>> ll, k = gmm_log_likelihood(X[:100], X[100:150], X[150:], n_components=(1, 2))
    >>> ll.shape, k in (1, 2)
    (torch.Size([50]), True)
    """
    from sklearn.mixture import GaussianMixture

    for name, x in (("X_train", X_train), ("X_val", X_val), ("X_test", X_test)):
        _check_samples(x, name)
    best: tuple[float, int, GaussianMixture] | None = None
    for k in n_components:
        gmm = GaussianMixture(k, covariance_type=covariance_type, random_state=seed)
        gmm.fit(_numpy64(X_train))
        score = float(gmm.score(_numpy64(X_val)))
        if best is None or score > best[0]:
            best = (score, k, gmm)
    if best is None:
        raise ValueError("`n_components` must not be empty")
    log_lik = best[2].score_samples(_numpy64(X_test))
    return torch.as_tensor(log_lik, dtype=torch.float64, device=X_test.device), best[1]


def kde_log_likelihood(
    X_train: Tensor,
    X_val: Tensor,
    X_test: Tensor,
    *,
    bandwidths: tuple[float, ...] | Tensor,
) -> tuple[Tensor, float]:
    r"""Held-out log-likelihood of a Gaussian kernel density, bandwidth chosen on validation.

    .. math::
        \log p(\vx) = \log \frac1N \sum_{i=1}^{N} \mathcal N(\vx; \vx_i, h^2 I)

    with scikit-learn's ``KernelDensity`` on ``X_train`` (Chapter 17; Parzen 1962). The
    bandwidth :math:`h` with the best mean log-likelihood on ``X_val`` is scored on
    ``X_test``.

    Parameters
    ----------
    X_train, X_val, X_test : Tensor
        Shapes :math:`(N, D)`.
    bandwidths : tuple of float or Tensor
        The candidate :math:`h > 0`.

    Returns
    -------
    log_likelihood : Tensor
        Shape :math:`(N_{\text{test}},)`, float64 on ``X_test``'s device, in nats.
    h : float
        The chosen bandwidth.

    References
    ----------
    E. Parzen, "On estimation of a probability density function and mode", The Annals of
    Mathematical Statistics 33(3), 1065-1076, 1962.

    Examples
    --------
    >>> X = torch.randn(300, 1, generator=torch.Generator().manual_seed(0))
    >>> ll, h = kde_log_likelihood(X[:200], X[200:250], X[250:], bandwidths=(0.05, 0.4, 3.0))
    >>> h
    0.4
    """
    from sklearn.neighbors import KernelDensity

    for name, x in (("X_train", X_train), ("X_val", X_val), ("X_test", X_test)):
        _check_samples(x, name)
    best: tuple[float, float, KernelDensity] | None = None
    for h in [float(b) for b in bandwidths]:
        if h <= 0:
            raise ValueError(f"every bandwidth must be positive, got {h}")
        kde = KernelDensity(bandwidth=h).fit(_numpy64(X_train))
        score = float(kde.score_samples(_numpy64(X_val)).mean())
        if best is None or score > best[0]:
            best = (score, h, kde)
    if best is None:
        raise ValueError("`bandwidths` must not be empty")
    log_lik = best[2].score_samples(_numpy64(X_test))
    return torch.as_tensor(log_lik, dtype=torch.float64, device=X_test.device), best[1]


def cpu_seconds(fn: Callable[[], T_co]) -> tuple[T_co, float]:
    r"""Run ``fn()`` and return its result with the CPU seconds it took (``time.process_time``).

    .. math::
        \text{cost} = t_{\text{CPU}}(\text{after}) - t_{\text{CPU}}(\text{before})

    CPU time of the whole process, every thread counted, so it does not depend on how
    loaded the machine is, as wall time does (Chapter 17's table). On a GPU it counts only
    the host's work: synchronise inside ``fn`` before comparing devices.

    Parameters
    ----------
    fn : callable
        Called with no arguments.

    Returns
    -------
    result
        What ``fn`` returned.
    seconds : float

    Examples
    --------
    >>> result, seconds = cpu_seconds(lambda: sum(range(1000)))
    >>> result, seconds >= 0
    (499500, True)
    """
    import time

    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
