r"""Classification with linear models: logistic and softmax regression (Chapter 6).

The module reads top to bottom in the order of the chapter:

1. numerically stable building blocks: :func:`logsumexp`, :func:`softmax`,
   :func:`log_softmax`, :func:`sigmoid`, :func:`log_sigmoid`;
2. the losses from logits, which are negative log-likelihoods:
   :func:`binary_cross_entropy_with_logits` and :func:`softmax_cross_entropy`;
3. binary logistic regression with an L2 penalty, its objective, hand-derived gradient and
   Hessian, and the two ways of minimising it, gradient descent (:func:`fit_logistic_gd`)
   and Newton's method, also called IRLS (:func:`newton_step`, :func:`fit_logistic_newton`);
4. multi-class softmax regression: the objective with its hand-derived gradient
   (:func:`softmax_regression_loss_grad`) and a full-batch L-BFGS fit
   (:func:`fit_softmax_regression`) returning a :class:`SoftmaxRegression`;
5. judging a classifier beyond accuracy: :func:`confusion_matrix`,
   :func:`precision_recall_f1`, :func:`roc_curve`, :func:`roc_auc_score`;
6. calibration: :func:`calibration_bins` (the reliability diagram),
   :func:`expected_calibration_error` and temperature scaling (:func:`fit_temperature`).

Binary models keep their parameters in one vector :math:`\btheta = (\vw, b) \in \R^{D+1}`,
the bias last; softmax regression has :math:`W \in \R^{K \times D}` and
:math:`\mathbf{b} \in \R^K`, as ``torch.nn.Linear(D, K)`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "CalibrationBins",
    "LogisticFit",
    "SoftmaxRegression",
    "binary_cross_entropy_with_logits",
    "calibration_bins",
    "confusion_matrix",
    "expected_calibration_error",
    "fit_logistic_gd",
    "fit_logistic_newton",
    "fit_softmax_regression",
    "fit_temperature",
    "log_sigmoid",
    "log_softmax",
    "logistic_gradient",
    "logistic_hessian",
    "logistic_objective",
    "logistic_predict_proba",
    "logsumexp",
    "newton_step",
    "precision_recall_f1",
    "roc_auc_score",
    "roc_curve",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softmax_regression_loss_grad",
    "temperature_scale",
]


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def _check_float(name: str, x: object) -> Tensor:
    return _checks.float_tensor(name, x)


def _check_dim(name: str, z: Tensor, dim: int) -> None:
    _checks.dim(name, z, dim, non_empty=True)


def _check_lam(lam: float) -> float:
    return _checks.non_negative("lam", lam)


def _check_design(X: object) -> Tensor:
    X = _check_float("X", X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"`X` must be a non-empty matrix of shape (N, D), got {tuple(X.shape)}")
    return X


def _check_binary(X: Tensor, y: object) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"`y` must be a torch.Tensor, got {type(y).__name__}")
    if y.shape != X.shape[:1]:
        raise ValueError(f"`y` must have shape ({X.shape[0]},) to match `X`, got {tuple(y.shape)}")
    if y.dtype.is_complex:
        raise TypeError(f"`y` must hold real 0/1 labels, got dtype {y.dtype}")
    if y.numel() and not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("`y` must hold binary labels 0 and 1 only")
    return y.to(X.dtype)


def _check_theta(theta: object, X: Tensor) -> Tensor:
    theta = _check_float("theta", theta)
    if theta.shape != (X.shape[1] + 1,):
        raise ValueError(
            f"`theta` must have shape (D + 1,) = ({X.shape[1] + 1},) for `X` of shape "
            f"{tuple(X.shape)} (weights, then the bias), got {tuple(theta.shape)}"
        )
    return theta


def _check_problem(
    theta: object, X: object, y: object, lam: float
) -> tuple[Tensor, Tensor, Tensor, float]:
    """The arguments every binary-logistic function takes, checked: (theta, X, y, lam)."""
    X = _check_design(X)
    theta = _check_theta(theta, X)
    _checks.same_device(X=X, theta=theta, y=y if isinstance(y, Tensor) else None)
    _checks.same_dtype(X=X, theta=theta)
    y_f = _check_binary(X, y)
    return theta, X, y_f, _check_lam(lam)


def _check_labels(y: object, n: int, num_classes: int, name: str = "y") -> Tensor:
    return _checks.labels(name, y, num_classes=num_classes, shape=(n,))


# --------------------------------------------------------------------------------------
# 1. Stable building blocks
# --------------------------------------------------------------------------------------
def logsumexp(z: Tensor, dim: int = -1, keepdim: bool = False) -> Tensor:
    r"""Log of a sum of exponentials, computed without overflow.

    .. math::

        \operatorname{logsumexp}(\vz) = \log \sum_{k} e^{z_k}
        = m + \log \sum_{k} e^{z_k - m}, \qquad m = \max_k z_k .

    Subtracting the maximum makes every exponent at most 0, so no term overflows and the
    largest term is exactly 1, so the sum never underflows to 0. Defined in Chapter 6
    (stable log-sum-exp).

    Parameters
    ----------
    z : Tensor, shape (..., K, ...)
        Floating-point scores.
    dim : int, default -1
        The axis to reduce.
    keepdim : bool, default False
        Keep the reduced axis with length 1.

    Returns
    -------
    Tensor
        ``z`` with axis ``dim`` reduced, same dtype and device.

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.
    ValueError
        If ``dim`` is out of range or ``z`` is empty along it.

    Examples
    --------
    >>> z = torch.tensor([1e4, 1e4], dtype=torch.float64)
    >>> round(float(logsumexp(z)) - 1e4, 6)  # log 2 on top of the maximum
    0.693147
    """
    z = _check_float("z", z)
    _check_dim("z", z, dim)
    m = z.amax(dim=dim, keepdim=True)
    # An all -inf slice would give (-inf) - (-inf) = nan; shift such slices by 0 instead.
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    out = m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))
    return out if keepdim else out.squeeze(dim)


def log_softmax(z: Tensor, dim: int = -1) -> Tensor:
    r"""Log of the softmax probabilities, :math:`z_k - \operatorname{logsumexp}(\vz)`.

    .. math::

        \log \operatorname{softmax}(\vz)_k = z_k - \log \sum_{l} e^{z_l} .

    Exact to rounding even where the probability itself underflows to 0. Defined in
    Chapter 6 (softmax).

    Parameters
    ----------
    z : Tensor, shape (..., K, ...)
        Floating-point logits.
    dim : int, default -1
        The class axis.

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``z``.

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.
    ValueError
        If ``dim`` is out of range or ``z`` is empty along it.

    Examples
    --------
    >>> log_softmax(torch.tensor([0.0, 1e4], dtype=torch.float64))
    tensor([-10000.,      0.], dtype=torch.float64)
    """
    s = _shifted(z, dim)  # z - max(z): the largest entry is exactly 0
    return s - torch.log(torch.exp(s).sum(dim=dim, keepdim=True))


def _shifted(z: Tensor, dim: int) -> Tensor:
    """``z - max(z)`` along ``dim`` (checked), with all ``-inf`` slices shifted by 0."""
    z = _check_float("z", z)
    _check_dim("z", z, dim)
    m = z.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    # Subtracting the maximum *before* taking logs keeps the result exact: computing
    # z - logsumexp(z) would round logsumexp to the spacing of z (1e8 + log 2 == 1e8 in float32).
    return z - m


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    r"""Turn scores into probabilities that are positive and sum to one.

    .. math::

        \operatorname{softmax}(\vz)_k = \frac{e^{z_k}}{\sum_l e^{z_l}}
        = \frac{e^{z_k - m}}{\sum_l e^{z_l - m}}, \qquad m = \max_l z_l .

    Defined in Chapter 6 (softmax).

    Parameters
    ----------
    z : Tensor, shape (..., K, ...)
        Floating-point logits.
    dim : int, default -1
        The class axis.

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``z``; sums to 1 along ``dim``.

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.
    ValueError
        If ``dim`` is out of range or ``z`` is empty along it.

    Examples
    --------
    >>> softmax(torch.tensor([0.0, 0.0, 1e4], dtype=torch.float64))
    tensor([0., 0., 1.], dtype=torch.float64)
    """
    e = torch.exp(_shifted(z, dim))  # every exponent <= 0, the largest exactly 1
    return e / e.sum(dim=dim, keepdim=True)


def log_sigmoid(z: Tensor) -> Tensor:
    r"""Log of the logistic sigmoid, without overflow for large :math:`|z|`.

    .. math::

        \log \sigma(z) = -\log(1 + e^{-z}) = \min(z, 0) - \log\bigl(1 + e^{-|z|}\bigr).

    Defined in Chapter 6 (logistic regression).

    Parameters
    ----------
    z : Tensor
        Floating-point logits, any shape.

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``z``.

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.

    Examples
    --------
    >>> log_sigmoid(torch.tensor([-1e4, 0.0], dtype=torch.float64))
    tensor([-1.0000e+04, -6.9315e-01], dtype=torch.float64)
    """
    z = _check_float("z", z)
    return torch.clamp(z, max=0.0) - torch.log1p(torch.exp(-z.abs()))


def sigmoid(z: Tensor) -> Tensor:
    r"""The logistic sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})`, stable for any :math:`z`.

    .. math::

        \sigma(z) = \frac{1}{1 + e^{-z}} = \frac{e^{z}}{1 + e^{z}}, \qquad
        1 - \sigma(z) = \sigma(-z).

    Computed as :math:`\exp(\log \sigma(z))`, so no exponential ever overflows. Defined in
    Chapter 6 (logistic regression).

    Parameters
    ----------
    z : Tensor
        Floating-point logits, any shape.

    Returns
    -------
    Tensor
        Probabilities in :math:`[0, 1]`, same shape, dtype and device as ``z``.

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.

    Examples
    --------
    >>> sigmoid(torch.tensor([-1e4, 0.0, 1e4], dtype=torch.float64))
    tensor([0.0000, 0.5000, 1.0000], dtype=torch.float64)
    """
    return torch.exp(log_sigmoid(z))


# --------------------------------------------------------------------------------------
# 2. Losses from logits (negative log-likelihoods)
# --------------------------------------------------------------------------------------
def binary_cross_entropy_with_logits(logits: Tensor, targets: Tensor) -> Tensor:
    r"""Mean negative Bernoulli log-likelihood of 0/1 targets, from logits.

    .. math::

        \ell(z, y) = -y \log \sigma(z) - (1 - y) \log \sigma(-z)
        = \log\bigl(1 + e^{z}\bigr) - y z ,

    averaged over all entries. Defined in Chapter 6 (cross-entropy as maximum likelihood).

    Parameters
    ----------
    logits : Tensor, shape (N,) or any shape
        Floating-point scores :math:`z_i = \vw^\top \vx_i + b`.
    targets : Tensor, same shape as ``logits``
        Labels in :math:`[0, 1]` (0/1 labels, or soft targets), any numeric dtype.

    Returns
    -------
    Tensor
        A scalar on the device of ``logits``.

    Raises
    ------
    TypeError
        If ``logits`` is not a floating-point tensor or ``targets`` not a tensor.
    ValueError
        If the shapes differ or ``logits`` is empty.

    Examples
    --------
    >>> z = torch.tensor([0.0, 1e4], dtype=torch.float64)
    >>> round(float(binary_cross_entropy_with_logits(z, torch.tensor([1.0, 0.0]))), 4)
    5000.3466
    """
    logits = _check_float("logits", logits)
    if not isinstance(targets, Tensor):
        raise TypeError(f"`targets` must be a torch.Tensor, got {type(targets).__name__}")
    if targets.shape != logits.shape:
        raise ValueError(
            f"`targets` must have the shape of `logits` {tuple(logits.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    if logits.numel() == 0:
        raise ValueError("`logits` must not be empty")
    if targets.dtype.is_complex:
        raise TypeError(f"`targets` must be real, got dtype {targets.dtype}")
    _checks.same_device(logits=logits, targets=targets)
    _checks.unit_interval("targets", targets)
    y = targets.to(logits.dtype)
    # log(1 + e^z) = -log sigma(-z), evaluated stably
    return (-log_sigmoid(-logits) - y * logits).mean()


def softmax_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    r"""Mean negative categorical log-likelihood of integer labels, from logits.

    .. math::

        \ell(\vz, y) = -\log \operatorname{softmax}(\vz)_y
        = \operatorname{logsumexp}(\vz) - z_y ,

    averaged over the :math:`N` rows. Same value as ``torch.nn.functional.cross_entropy``.
    Defined in Chapter 6 (cross-entropy as maximum likelihood).

    Parameters
    ----------
    logits : Tensor, shape (N, K)
        Floating-point scores, one row per example.
    targets : Tensor, shape (N,)
        Integer labels in :math:`\{0, \dots, K-1\}`.

    Returns
    -------
    Tensor
        A scalar on the device of ``logits``.

    Raises
    ------
    TypeError
        If ``logits`` is not floating-point or ``targets`` not an integer tensor.
    ValueError
        If ``logits`` is not a non-empty ``(N, K)`` matrix, ``targets`` not of shape
        ``(N,)``, or a label lies outside :math:`[0, K)`.

    Examples
    --------
    >>> Z = torch.tensor([[1e4, 0.0], [0.0, 0.0]], dtype=torch.float64)
    >>> round(float(softmax_cross_entropy(Z, torch.tensor([1, 0]))), 4)
    5000.3466
    """
    logits = _check_float("logits", logits)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(
            f"`logits` must be a non-empty matrix of shape (N, K), got {tuple(logits.shape)}"
        )
    y = _check_labels(targets, logits.shape[0], logits.shape[1], name="targets")
    log_p = log_softmax(logits, dim=1)  # (N, K)
    return -log_p.gather(1, y[:, None]).mean()  # pick log p_{i, y_i}: (N, 1) -> scalar


# --------------------------------------------------------------------------------------
# 3. Binary logistic regression: objective, gradient, Hessian, two optimisers
# --------------------------------------------------------------------------------------
def _logits(theta: Tensor, X: Tensor) -> Tensor:
    return X @ theta[:-1] + theta[-1]  # (N, D) @ (D,) + b -> (N,)


# The unchecked maths behind the public functions below; the fitting loops call these
# directly, so that the inputs are checked once and not at every step.
def _objective(theta: Tensor, X: Tensor, y: Tensor, lam: float) -> Tensor:
    z = _logits(theta, X)
    w = theta[:-1]
    # log(1 + e^z) - y z, with log(1 + e^z) = -log sigma(-z) evaluated stably
    return (-log_sigmoid(-z) - y * z).mean() + 0.5 * lam * (w @ w)


def _gradient(theta: Tensor, X: Tensor, y: Tensor, lam: float) -> Tensor:
    r = (sigmoid(_logits(theta, X)) - y) / X.shape[0]  # residuals (p - y) / N: (N,)
    grad_w = X.T @ r + lam * theta[:-1]  # (D, N) @ (N,) -> (D,)
    return torch.cat([grad_w, r.sum().reshape(1)])  # (D,) + (1,) -> (D + 1,)


def _hessian(theta: Tensor, X: Tensor, lam: float) -> Tensor:
    X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)  # (N, D) -> (N, D + 1)
    p = sigmoid(X1 @ theta)  # (N,)
    s = p * (1 - p) / X.shape[0]  # diagonal of S / N: (N,)
    H = X1.T @ (s[:, None] * X1)  # (D + 1, N) @ (N, D + 1) -> (D + 1, D + 1)
    penalty = torch.full_like(theta, lam)
    penalty[-1] = 0.0  # the bias is not penalised
    return H + torch.diag(penalty)


def _newton(theta: Tensor, X: Tensor, y: Tensor, lam: float) -> Tensor:
    step: Tensor = torch.linalg.solve(_hessian(theta, X, lam), _gradient(theta, X, y, lam))
    return theta - step  # H^{-1} g by a linear solve, never forming the inverse


def logistic_objective(theta: Tensor, X: Tensor, y: Tensor, lam: float = 0.0) -> Tensor:
    r"""The L2-regularised logistic-regression objective (mean loss plus penalty).

    .. math::

        \hat{R}(\btheta) = \frac{1}{N} \sum_{i=1}^N
        \Bigl[\log\bigl(1 + e^{z_i}\bigr) - y_i z_i\Bigr] + \frac{\lambda}{2} \lVert \vw \rVert^2,
        \qquad z_i = \vw^\top \vx_i + b ,

    with the bias unpenalised. It equals scikit-learn's
    :math:`C \sum_i \ell_i + \tfrac12 \lVert \vw \rVert^2` divided by :math:`C N`, so
    :math:`\lambda = 1 / (C N)`. Defined in Chapter 6 (logistic regression).

    Parameters
    ----------
    theta : Tensor, shape (D + 1,)
        Weights :math:`\vw`, then the bias :math:`b`.
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Labels 0 or 1.
    lam : float, default 0.0
        :math:`\lambda \ge 0`.

    Returns
    -------
    Tensor
        A scalar on the device of ``X``.

    Raises
    ------
    TypeError
        If a tensor argument is not a tensor (``X``, ``theta``: not floating-point).
    ValueError
        If the shapes do not fit, a label is not 0 or 1, or ``lam`` is negative.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> theta = torch.zeros(2, dtype=torch.float64)
    >>> round(float(logistic_objective(theta, X, torch.tensor([1, 0]))), 4)  # log 2
    0.6931
    """
    return _objective(*_check_problem(theta, X, y, lam))


def logistic_gradient(theta: Tensor, X: Tensor, y: Tensor, lam: float = 0.0) -> Tensor:
    r"""Hand-derived gradient of :func:`logistic_objective`.

    .. math::

        \nabla_{\btheta} \hat{R} = \frac{1}{N} \tilde{X}^\top (\mathbf{p} - \vy)
        + \lambda \begin{pmatrix} \vw \\ 0 \end{pmatrix},
        \qquad p_i = \sigma(z_i), \quad \tilde{X} = [X \;\; \mathbf{1}] .

    Defined in Chapter 6 (gradient of the logistic loss).

    Parameters
    ----------
    theta : Tensor, shape (D + 1,)
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Labels 0 or 1.
    lam : float, default 0.0

    Returns
    -------
    Tensor, shape (D + 1,)

    Raises
    ------
    TypeError, ValueError
        As :func:`logistic_objective`.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> logistic_gradient(torch.zeros(2, dtype=torch.float64), X, torch.tensor([1, 0]))
    tensor([-0.5000,  0.0000], dtype=torch.float64)
    """
    return _gradient(*_check_problem(theta, X, y, lam))


def logistic_hessian(theta: Tensor, X: Tensor, y: Tensor, lam: float = 0.0) -> Tensor:
    r"""Hand-derived Hessian of :func:`logistic_objective`.

    .. math::

        \nabla^2_{\btheta} \hat{R} = \frac{1}{N} \tilde{X}^\top S \tilde{X}
        + \lambda \begin{pmatrix} I_D & 0 \\ 0 & 0 \end{pmatrix},
        \qquad S = \operatorname{diag}\bigl(p_i (1 - p_i)\bigr) .

    It is positive semi-definite, so the objective is convex. ``y`` is not needed for
    the value but is checked, so that the three functions take the same arguments.
    Defined in Chapter 6 (Newton's method).

    Parameters
    ----------
    theta : Tensor, shape (D + 1,)
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Labels 0 or 1.
    lam : float, default 0.0

    Returns
    -------
    Tensor, shape (D + 1, D + 1)

    Raises
    ------
    TypeError, ValueError
        As :func:`logistic_objective`.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> logistic_hessian(torch.zeros(2, dtype=torch.float64), X, torch.tensor([1, 0]))
    tensor([[0.2500, 0.0000],
            [0.0000, 0.2500]], dtype=torch.float64)
    """
    theta, X, _, lam = _check_problem(theta, X, y, lam)
    return _hessian(theta, X, lam)


def newton_step(theta: Tensor, X: Tensor, y: Tensor, lam: float = 0.0) -> Tensor:
    r"""One Newton step for logistic regression (one iteration of IRLS).

    .. math::

        \btheta_{t+1} = \btheta_t - \bigl(\nabla^2 \hat{R}(\btheta_t)\bigr)^{-1}
        \nabla \hat{R}(\btheta_t) .

    The step solves the linear system rather than forming the inverse. Without a penalty
    it is a weighted least-squares solve with weights :math:`p_i(1-p_i)`, hence the
    name iteratively reweighted least squares. Defined in Chapter 6 (Newton's method).

    Parameters
    ----------
    theta : Tensor, shape (D + 1,)
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Labels 0 or 1.
    lam : float, default 0.0

    Returns
    -------
    Tensor, shape (D + 1,)
        The new parameters.

    Raises
    ------
    TypeError, ValueError
        As :func:`logistic_objective`.

    References
    ----------
    .. [1] McCullagh, P. and Nelder, J. A. *Generalized Linear Models*, 2nd ed.,
       Chapman and Hall, 1989.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> newton_step(torch.zeros(2, dtype=torch.float64), X, torch.tensor([1, 0]), lam=1.0)
    tensor([0.4000, 0.0000], dtype=torch.float64)
    """
    return _newton(*_check_problem(theta, X, y, lam))


@dataclass(frozen=True)
class LogisticFit:
    r"""The result of fitting binary logistic regression.

    Attributes
    ----------
    theta : Tensor, shape (D + 1,)
        The weights, then the bias.
    losses : list of float
        :math:`\hat{R}(\btheta_t)` for :math:`t = 0, 1, \dots`; the first entry is the
        objective at the starting point.
    converged : bool
        Whether the gradient norm fell below the tolerance.
    """

    theta: Tensor
    losses: list[float]
    converged: bool

    @property
    def iterations(self) -> int:
        """Number of steps taken."""
        return len(self.losses) - 1


def _check_fit_args(
    X: Tensor, y: Tensor, theta0: Tensor | None, steps: int, tol: float
) -> tuple[Tensor, Tensor]:
    X = _check_design(X)
    y_f = _check_binary(X, y)
    _checks.same_device(X=X, y=y, theta0=theta0)
    _checks.positive_int("steps", steps, minimum=0)
    _checks.non_negative("tol", tol)
    if theta0 is None:
        return torch.zeros(X.shape[1] + 1, dtype=X.dtype, device=X.device), y_f
    return _check_theta(theta0, X).clone(), y_f


def fit_logistic_gd(
    X: Tensor,
    y: Tensor,
    lam: float = 0.0,
    lr: float | None = None,
    steps: int = 1000,
    *,
    tol: float = 0.0,
    theta0: Tensor | None = None,
) -> LogisticFit:
    r"""Fit logistic regression by full-batch gradient descent.

    .. math::

        \btheta_{t+1} = \btheta_t - \eta \nabla \hat{R}(\btheta_t),
        \qquad \eta = 1/L \text{ by default}, \quad
        L = \tfrac{1}{4N} \lVert \tilde{X} \rVert_2^2 + \lambda ,

    where :math:`L` bounds the Hessian (because :math:`p(1-p) \le 1/4`), which makes
    every step decrease the objective. Defined in Chapter 6 (gradient descent vs Newton).

    Parameters
    ----------
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Labels 0 or 1.
    lam : float, default 0.0
    lr : float, optional
        Step size :math:`\eta`; default :math:`1/L`.
    steps : int, default 1000
        Maximum number of steps.
    tol : float, default 0.0
        Stop once :math:`\lVert \nabla \hat{R} \rVert \le` ``tol``.
    theta0 : Tensor, shape (D + 1,), optional
        Starting point (default zeros).

    Returns
    -------
    LogisticFit

    Raises
    ------
    TypeError, ValueError
        As :func:`logistic_objective`; also for a non-positive ``lr``, negative ``steps``
        or ``tol``.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0], [2.0], [-2.0]], dtype=torch.float64)
    >>> fit = fit_logistic_gd(X, torch.tensor([1, 0, 0, 1]), lam=0.1, steps=50)
    >>> fit.iterations, round(fit.losses[0], 4), round(fit.losses[-1], 4)
    (50, 0.6931, 0.6494)
    """
    theta, y_f = _check_fit_args(X, y, theta0, steps, tol)
    lam = _check_lam(lam)
    if lr is None:
        X1 = torch.cat([X, torch.ones_like(X[:, :1])], dim=1)  # (N, D) -> (N, D + 1)
        lipschitz = float(torch.linalg.matrix_norm(X1, ord=2)) ** 2 / (4 * X.shape[0]) + lam
        lr = 1.0 / lipschitz
    lr = _checks.positive("lr", lr)
    losses = [float(_objective(theta, X, y_f, lam))]
    converged = False
    for _ in range(steps + 1):  # the last pass only checks the final gradient
        g = _gradient(theta, X, y_f, lam)
        if float(torch.linalg.vector_norm(g)) <= tol:
            converged = True
            break
        if len(losses) > steps:
            break
        theta = theta - lr * g
        losses.append(float(_objective(theta, X, y_f, lam)))
    return LogisticFit(theta=theta, losses=losses, converged=converged)


def fit_logistic_newton(
    X: Tensor,
    y: Tensor,
    lam: float = 0.0,
    steps: int = 50,
    *,
    tol: float = 1e-10,
    theta0: Tensor | None = None,
) -> LogisticFit:
    r"""Fit logistic regression by Newton's method (IRLS), see :func:`newton_step`.

    .. math::

        \btheta_{t+1} = \btheta_t - \bigl(\nabla^2 \hat{R}(\btheta_t)\bigr)^{-1}
        \nabla \hat{R}(\btheta_t) .

    Pure Newton steps without a line search (no damping): from the zero start they
    converge on the well-posed (regularised, not separable) problems of Chapter 6,
    quadratically near the optimum, but nothing guarantees it far from the optimum.
    Defined in Chapter 6 (gradient descent vs Newton).

    Parameters
    ----------
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Labels 0 or 1.
    lam : float, default 0.0
        Use :math:`\lambda > 0` on separable data, where the unpenalised optimum is at
        infinity.
    steps : int, default 50
        Maximum number of steps.
    tol : float, default 1e-10
        Stop once :math:`\lVert \nabla \hat{R} \rVert \le` ``tol``.
    theta0 : Tensor, shape (D + 1,), optional
        Starting point (default zeros).

    Returns
    -------
    LogisticFit

    Raises
    ------
    TypeError, ValueError
        As :func:`fit_logistic_gd`.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0], [2.0], [-2.0]], dtype=torch.float64)
    >>> fit = fit_logistic_newton(X, torch.tensor([1, 0, 0, 1]), lam=0.1)
    >>> fit.converged, fit.iterations, round(fit.losses[-1], 4)
    (True, 4, 0.6494)
    """
    theta, y_f = _check_fit_args(X, y, theta0, steps, tol)
    lam = _check_lam(lam)
    losses = [float(_objective(theta, X, y_f, lam))]
    converged = False
    for _ in range(steps + 1):  # the last pass only checks the final gradient
        if float(torch.linalg.vector_norm(_gradient(theta, X, y_f, lam))) <= tol:
            converged = True
            break
        if len(losses) > steps:
            break
        theta = _newton(theta, X, y_f, lam)
        losses.append(float(_objective(theta, X, y_f, lam)))
    return LogisticFit(theta=theta, losses=losses, converged=converged)


def logistic_predict_proba(theta: Tensor, X: Tensor) -> Tensor:
    r"""Probability of class 1 under a binary logistic model, :math:`\sigma(\vw^\top \vx + b)`.

    .. math:: p(y = 1 \mid \vx) = \sigma(\vw^\top \vx + b)

    Defined in Chapter 6 (logistic regression).

    Parameters
    ----------
    theta : Tensor, shape (D + 1,)
    X : Tensor, shape (N, D)

    Returns
    -------
    Tensor, shape (N,)

    Raises
    ------
    TypeError, ValueError
        If ``X`` or ``theta`` is not a floating-point tensor of the right shape.

    Examples
    --------
    >>> theta = torch.tensor([2.0, 0.0])
    >>> logistic_predict_proba(theta, torch.tensor([[0.0], [100.0]]))
    tensor([0.5000, 1.0000])
    """
    X = _check_design(X)
    theta = _check_theta(theta, X)
    return sigmoid(_logits(theta, X))


# --------------------------------------------------------------------------------------
# 4. Softmax regression
# --------------------------------------------------------------------------------------
def _check_softmax_params(W: object, b: object, X: Tensor) -> tuple[Tensor, Tensor]:
    W = _check_float("W", W)
    b = _check_float("b", b)
    if W.ndim != 2 or W.shape[1] != X.shape[1] or W.shape[0] == 0:
        raise ValueError(
            f"`W` must have shape (K, D) with D = {X.shape[1]} to match `X`, got {tuple(W.shape)}"
        )
    if b.shape != (W.shape[0],):
        raise ValueError(f"`b` must have shape (K,) = ({W.shape[0]},), got {tuple(b.shape)}")
    _checks.same_device(X=X, W=W, b=b)
    _checks.same_dtype(X=X, W=W, b=b)
    return W, b


def softmax_regression_loss_grad(
    W: Tensor, b: Tensor, X: Tensor, y: Tensor, lam: float = 0.0
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Softmax-regression objective and its hand-derived gradient.

    .. math::

        \hat{R}(W, \mathbf{b}) = \frac{1}{N} \sum_{i=1}^N
        \bigl[\operatorname{logsumexp}(\vz_i) - z_{i y_i}\bigr]
        + \frac{\lambda}{2} \lVert W \rVert_F^2,
        \qquad Z = X W^\top + \mathbf{1} \mathbf{b}^\top ,

    .. math::

        \nabla_W \hat{R} = \frac{1}{N} (P - Y)^\top X + \lambda W, \qquad
        \nabla_{\mathbf{b}} \hat{R} = \frac{1}{N} (P - Y)^\top \mathbf{1},

    with :math:`P = \operatorname{softmax}(Z)` row by row and :math:`Y` the one-hot
    labels. The bias is not penalised. Defined in Chapter 6 (softmax regression).

    Parameters
    ----------
    W : Tensor, shape (K, D)
    b : Tensor, shape (K,)
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Integer labels in :math:`\{0, \dots, K-1\}`.
    lam : float, default 0.0

    Returns
    -------
    loss : Tensor
        The scalar objective.
    grad_W : Tensor, shape (K, D)
    grad_b : Tensor, shape (K,)

    Raises
    ------
    TypeError
        If ``W``, ``b`` or ``X`` is not floating-point, or ``y`` not integer.
    ValueError
        If the shapes do not fit, a label is out of range, or ``lam`` is negative.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> W, b = torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    >>> loss, gW, gb = softmax_regression_loss_grad(W, b, X, torch.tensor([1, 0]))
    >>> round(float(loss), 4), gW.flatten().tolist(), gb.tolist()
    (0.6931, [0.5, -0.5], [0.0, 0.0])
    """
    X = _check_design(X)
    W, b = _check_softmax_params(W, b, X)
    num_classes = W.shape[0]
    y = _check_labels(y, X.shape[0], num_classes)
    lam = _check_lam(lam)
    n = X.shape[0]
    Z = X @ W.T + b  # (N, D) @ (D, K) -> (N, K)
    log_p = log_softmax(Z, dim=1)  # (N, K)
    loss = -log_p.gather(1, y[:, None]).mean() + 0.5 * lam * (W * W).sum()
    R = torch.exp(log_p)  # P: (N, K)
    R[torch.arange(n, device=X.device), y] -= 1.0  # P - Y, without forming Y
    R = R / n
    grad_W = R.T @ X + lam * W  # (K, N) @ (N, D) -> (K, D)
    grad_b = R.sum(dim=0)  # (N, K) -> (K,)
    return loss, grad_W, grad_b


@dataclass(frozen=True)
class SoftmaxRegression:
    r"""A fitted softmax-regression classifier.

    It models :math:`p(y \mid \vx) = \operatorname{softmax}(W\vx + \mathbf{b})_y`.

    Attributes
    ----------
    W : Tensor, shape (K, D)
    b : Tensor, shape (K,)
    losses : list of float
        The training objective at each evaluation L-BFGS made (its line search may
        evaluate more than once per iteration), the starting value first.
    """

    W: Tensor
    b: Tensor
    losses: list[float]

    def logits(self, X: Tensor) -> Tensor:
        r"""Scores :math:`Z = X W^\top + \mathbf{1}\mathbf{b}^\top`, shape (N, K)."""
        X = _check_design(X)
        _check_softmax_params(self.W, self.b, X)
        return X @ self.W.T + self.b  # (N, D) @ (D, K) -> (N, K)

    def predict_proba(self, X: Tensor) -> Tensor:
        """Class probabilities, shape (N, K); each row sums to one."""
        return softmax(self.logits(X), dim=1)

    def predict(self, X: Tensor) -> Tensor:
        """The most probable class of each row, int64 of shape (N,)."""
        return self.logits(X).argmax(dim=1)


def fit_softmax_regression(
    X: Tensor,
    y: Tensor,
    num_classes: int,
    lam: float = 0.0,
    *,
    max_iter: int = 500,
    tol: float = 1e-9,
) -> SoftmaxRegression:
    r"""Fit softmax regression with full-batch L-BFGS on the hand-derived gradient.

    Minimises the objective of :func:`softmax_regression_loss_grad` from
    :math:`W = 0, \mathbf{b} = 0`. ``torch.optim.LBFGS`` (with a strong-Wolfe line search)
    chooses the steps, but the gradient it is given is the hand-derived
    :math:`\frac{1}{N}(P - Y)^\top X + \lambda W`, not autograd's. Defined in Chapter 6
    (softmax regression).

    Parameters
    ----------
    X : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Integer labels in :math:`\{0, \dots, K-1\}`.
    num_classes : int
        :math:`K \ge 2`.
    lam : float, default 0.0
    max_iter : int, default 500
        Maximum number of L-BFGS iterations.
    tol : float, default 1e-9
        Stop once the largest gradient entry is at most ``tol``.

    Returns
    -------
    SoftmaxRegression

    Raises
    ------
    TypeError, ValueError
        As :func:`softmax_regression_loss_grad`, and for ``num_classes < 2`` or
        ``max_iter < 1``.

    References
    ----------
    .. [1] Liu, D. C. and Nocedal, J. On the limited memory BFGS method for large scale
       optimization. *Mathematical Programming* 45, 503-528, 1989.

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    >>> model = fit_softmax_regression(X, torch.tensor([0, 1, 2]), num_classes=3, lam=0.01)
    >>> model.predict(X).tolist()
    [0, 1, 2]
    """
    X = _check_design(X)
    num_classes = _checks.positive_int("num_classes", num_classes, minimum=2)
    y = _check_labels(y, X.shape[0], num_classes)
    _checks.same_device(X=X, y=y)
    lam = _check_lam(lam)
    max_iter = _checks.positive_int("max_iter", max_iter)
    tol = _checks.non_negative("tol", tol)
    W = torch.zeros(num_classes, X.shape[1], dtype=X.dtype, device=X.device, requires_grad=True)
    b = torch.zeros(num_classes, dtype=X.dtype, device=X.device, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [W, b],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=tol,
        tolerance_change=0.0,
        history_size=20,
        line_search_fn="strong_wolfe",
    )
    losses: list[float] = []

    def closure() -> float:
        # Hand in the hand-derived gradient: L-BFGS reads .grad and the returned value.
        loss, grad_W, grad_b = softmax_regression_loss_grad(W.detach(), b.detach(), X, y, lam)
        W.grad, b.grad = grad_W, grad_b
        losses.append(float(loss))
        return losses[-1]

    optimizer.step(closure)
    return SoftmaxRegression(W=W.detach().clone(), b=b.detach().clone(), losses=losses)


# --------------------------------------------------------------------------------------
# 5. Beyond accuracy: confusion matrix, precision and recall, ROC
# --------------------------------------------------------------------------------------
def _check_pair(y_true: object, y_pred: object, num_classes: int) -> tuple[Tensor, Tensor]:
    num_classes = _checks.positive_int("num_classes", num_classes)
    t = _checks.labels("y_true", y_true, num_classes=num_classes)
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"`y_true` must be a non-empty vector (N,), got shape {tuple(t.shape)}")
    p = _checks.labels("y_pred", y_pred, num_classes=num_classes, shape=t.shape, device=t.device)
    return t, p


def confusion_matrix(y_true: Tensor, y_pred: Tensor, num_classes: int) -> Tensor:
    r"""The confusion matrix: how often class :math:`i` was predicted as class :math:`j`.

    .. math:: C_{ij} = \bigl\lvert \{ n : y_n = i,\ \hat y_n = j \} \bigr\rvert

    Rows are true classes, columns predictions, as ``sklearn.metrics.confusion_matrix``;
    the diagonal counts the correct predictions. Defined in Chapter 6 (beyond accuracy).

    Parameters
    ----------
    y_true, y_pred : Tensor
        Integer labels in :math:`[0, K)` of shape :math:`(N,)`, any integer dtype, same
        device.
    num_classes : int
        :math:`K`.

    Returns
    -------
    Tensor
        int64 counts of shape :math:`(K, K)` on the labels' device.

    Raises
    ------
    TypeError
        If the labels are not integer tensors.
    ValueError
        If the shapes differ, the labels are empty or lie outside :math:`[0, K)`.

    Examples
    --------
    >>> confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2]), 3)
    tensor([[1, 1, 0],
            [0, 1, 0],
            [0, 0, 1]])
    """
    t, p = _check_pair(y_true, y_pred, num_classes)
    flat = torch.bincount(t * num_classes + p, minlength=num_classes**2)  # (K * K,)
    return flat.reshape(num_classes, num_classes)  # (K * K,) -> (K, K)


def precision_recall_f1(
    y_true: Tensor, y_pred: Tensor, num_classes: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Per-class precision, recall, :math:`F_1` score and support.

    .. math:: \mathrm{precision}_k = \frac{C_{kk}}{\sum_i C_{ik}}, \qquad
              \mathrm{recall}_k = \frac{C_{kk}}{\sum_j C_{kj}}, \qquad
              F_{1,k} = \frac{2\,\mathrm{precision}_k\,\mathrm{recall}_k}
              {\mathrm{precision}_k + \mathrm{recall}_k}

    with :math:`C` the :func:`confusion_matrix`; a ratio with a zero denominator is 0, as
    ``sklearn.metrics.precision_recall_fscore_support(..., zero_division=0)``.
    Defined in Chapter 6 (beyond accuracy).

    Parameters
    ----------
    y_true, y_pred : Tensor
        Integer labels in :math:`[0, K)` of shape :math:`(N,)`.
    num_classes : int
        :math:`K`.

    Returns
    -------
    precision, recall, f1 : Tensor
        float64 of shape :math:`(K,)`.
    support : Tensor
        int64 of shape :math:`(K,)`, the number of true examples of each class.

    Raises
    ------
    TypeError, ValueError
        As :func:`confusion_matrix`.

    Examples
    --------
    >>> p, r, f1, n = precision_recall_f1(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1]), 2)
    >>> p.tolist(), r.tolist(), n.tolist()
    ([1.0, 0.6666666666666666], [0.5, 1.0], [2, 2])
    """
    C = confusion_matrix(y_true, y_pred, num_classes).double()
    tp = C.diagonal()
    predicted, support = C.sum(dim=0), C.sum(dim=1)  # column and row sums, (K,)

    def ratio(a: Tensor, b: Tensor) -> Tensor:
        return torch.where(b > 0, a / b.clamp(min=1e-300), torch.zeros_like(a))

    precision, recall = ratio(tp, predicted), ratio(tp, support)
    f1 = ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support.long()


def _check_scores(y_true: object, y_score: object) -> tuple[Tensor, Tensor]:
    s = _checks.float_tensor("y_score", y_score)
    if s.ndim != 1 or s.numel() == 0:
        raise ValueError(f"`y_score` must be a non-empty vector (N,), got shape {tuple(s.shape)}")
    t = _checks.labels("y_true", y_true, num_classes=2, shape=s.shape, device=s.device)
    if s.device.type != "meta" and not bool(torch.isfinite(s).all()):
        raise ValueError("`y_score` must be finite, got NaN or infinite scores")
    return t, s


def roc_curve(y_true: Tensor, y_score: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""The receiver operating characteristic: true- against false-positive rate.

    For every threshold :math:`c` among the distinct scores (largest first, after
    :math:`+\infty`), predict class 1 where :math:`s_n \ge c` and count

    .. math:: \mathrm{TPR}(c) = \frac{\lvert\{n : y_n = 1,\ s_n \ge c\}\rvert}{N_1},
              \qquad
              \mathrm{FPR}(c) = \frac{\lvert\{n : y_n = 0,\ s_n \ge c\}\rvert}{N_0}

    This is ``sklearn.metrics.roc_curve(y_true, y_score, drop_intermediate=False)``.
    Examples with tied scores cross the threshold together: one step of the curve.
    Defined in Chapter 6 (ROC curves).

    Parameters
    ----------
    y_true : Tensor
        Binary labels 0/1 of shape :math:`(N,)`, any integer dtype, both classes present.
    y_score : Tensor
        Finite scores of shape :math:`(N,)` (a probability or a logit of class 1),
        floating point, same device.

    Returns
    -------
    fpr, tpr : Tensor
        Rates of shape :math:`(T + 1,)`, from :math:`(0, 0)` to :math:`(1, 1)`, float64.
    thresholds : Tensor
        :math:`+\infty` followed by the :math:`T` distinct scores in decreasing order.

    Raises
    ------
    TypeError
        If the labels are not integers or the scores not floating point.
    ValueError
        If the shapes differ, a label is not 0 or 1, only one class is present, or a
        score is not finite.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve(torch.tensor([0, 1, 1, 0]), torch.tensor([0.1, 0.4, 0.4, 0.8]))
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.5, 0.5, 1.0], [0.0, 0.0, 1.0, 1.0])
    """
    t, s = _check_scores(y_true, y_score)
    n1 = int(t.sum())
    n0 = t.numel() - n1
    if n1 == 0 or n0 == 0:
        raise ValueError(f"`y_true` must contain both classes, got {n0} zeros and {n1} ones")
    order = torch.argsort(s, descending=True, stable=True)
    s_sorted, t_sorted = s[order], t[order].double()
    tp = torch.cumsum(t_sorted, dim=0)  # positives among the top n
    fp = torch.arange(1, t.numel() + 1, device=s.device, dtype=torch.float64) - tp
    # keep the last position of each run of tied scores: ties cross the threshold together
    last = torch.ones_like(s_sorted, dtype=torch.bool)
    last[:-1] = s_sorted[1:] != s_sorted[:-1]
    zero = s.new_zeros(1, dtype=torch.float64)
    fpr = torch.cat([zero, fp[last] / n0])
    tpr = torch.cat([zero, tp[last] / n1])
    thresholds = torch.cat([s.new_full((1,), math.inf), s_sorted[last]])
    return fpr, tpr, thresholds


def roc_auc_score(y_true: Tensor, y_score: Tensor) -> Tensor:
    r"""The area under the ROC curve.

    .. math:: \mathrm{AUC} = \int_0^1 \mathrm{TPR}\, d\,\mathrm{FPR}
              = \Pr(s^+ > s^-) + \tfrac12 \Pr(s^+ = s^-)

    for a random positive :math:`s^+` and negative :math:`s^-` (the Mann-Whitney
    statistic), computed by the trapezoid rule on :func:`roc_curve`: a tied step is a
    diagonal, which credits a tie with one half. As ``sklearn.metrics.roc_auc_score``.
    Defined in Chapter 6 (ROC curves).

    Parameters
    ----------
    y_true : Tensor
        Binary labels 0/1 of shape :math:`(N,)`, both classes present.
    y_score : Tensor
        Finite floating-point scores of shape :math:`(N,)`.

    Returns
    -------
    Tensor
        A float64 scalar in :math:`[0, 1]`.

    Raises
    ------
    TypeError, ValueError
        As :func:`roc_curve`.

    References
    ----------
    J. A. Hanley and B. J. McNeil, "The meaning and use of the area under a receiver
    operating characteristic (ROC) curve", Radiology 143(1), 1982.

    Examples
    --------
    >>> roc_auc_score(torch.tensor([0, 1, 1, 0]), torch.tensor([0.1, 0.4, 0.4, 0.8]))
    tensor(0.5000, dtype=torch.float64)
    """
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return torch.trapezoid(tpr, fpr)


# --------------------------------------------------------------------------------------
# 6. Calibration: reliability diagrams, ECE and temperature scaling
# --------------------------------------------------------------------------------------
class CalibrationBins(NamedTuple):
    r"""Per-bin statistics of a reliability diagram (:func:`calibration_bins`).

    Attributes
    ----------
    confidence : Tensor
        Mean confidence :math:`\mathrm{conf}(B_m)` of each bin, :math:`(M,)`; 0 where empty.
    accuracy : Tensor
        Fraction correct :math:`\mathrm{acc}(B_m)` of each bin, :math:`(M,)`; 0 where empty.
    counts : Tensor
        Number of examples :math:`\lvert B_m \rvert` in each bin, int64, :math:`(M,)`.
    """

    confidence: Tensor
    accuracy: Tensor
    counts: Tensor


def _check_probs(probs: object, labels: object, n_bins: int) -> tuple[Tensor, Tensor, int]:
    P = _checks.float_tensor("probs", probs)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] < 2:
        raise ValueError(
            f"`probs` must be a non-empty matrix (N, K) with K >= 2, got shape {tuple(P.shape)}"
        )
    y = _check_labels(labels, P.shape[0], P.shape[1], name="labels")
    _checks.same_device(probs=P, labels=y)
    outside = P.device.type != "meta" and not bool(((P >= 0) & (P <= 1)).all())
    if outside:  # NaN fails both comparisons
        raise ValueError("`probs` must hold probabilities in [0, 1] (rows of a softmax)")
    return P, y, _checks.positive_int("n_bins", n_bins)


def calibration_bins(probs: Tensor, labels: Tensor, n_bins: int = 15) -> CalibrationBins:
    r"""Bin predictions by confidence: the numbers behind a reliability diagram.

    The confidence of prediction :math:`n` is its largest probability
    :math:`\hat p_n = \max_k p_{nk}`, and :math:`\hat y_n = \argmax_k p_{nk}`. Bin
    :math:`B_m` holds the :math:`n` with :math:`\hat p_n \in \bigl(\frac{m-1}{M},
    \frac{m}{M}\bigr]`, and

    .. math:: \mathrm{acc}(B_m) = \frac{1}{\lvert B_m\rvert} \sum_{n \in B_m}
              [\hat y_n = y_n], \qquad
              \mathrm{conf}(B_m) = \frac{1}{\lvert B_m\rvert} \sum_{n \in B_m} \hat p_n

    Defined in Chapter 6 (calibration).

    Parameters
    ----------
    probs : Tensor
        Predicted probabilities :math:`(N, K)`, rows summing to one, floating point.
    labels : Tensor
        True classes :math:`(N,)`, any integer dtype, same device.
    n_bins : int, default 15
        Number of equal-width bins :math:`M`.

    Returns
    -------
    CalibrationBins
        ``confidence``, ``accuracy`` (``probs``' dtype) and ``counts`` (int64), each
        :math:`(M,)`.

    Raises
    ------
    TypeError
        If ``probs`` is not floating point or ``labels`` not integer.
    ValueError
        If the shapes do not fit, a label is out of range or ``probs`` is not in [0, 1].

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural
    networks", ICML 2017.

    Examples
    --------
    >>> P = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]])
    >>> calibration_bins(P, torch.tensor([0, 1, 1]), n_bins=2).counts.tolist()
    [0, 3]
    """
    P, y, n_bins = _check_probs(probs, labels, n_bins)
    confidence, predicted = P.max(dim=1)  # (N, K) -> (N,), (N,)
    correct = (predicted == y).to(P.dtype)
    # bin m (0-based) holds confidences in (m / M, (m + 1) / M]
    index = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(index, minlength=n_bins)  # (M,)
    conf_sum = P.new_zeros(n_bins).index_add_(0, index, confidence)
    acc_sum = P.new_zeros(n_bins).index_add_(0, index, correct)
    denominator = count.clamp(min=1).to(P.dtype)
    return CalibrationBins(conf_sum / denominator, acc_sum / denominator, count)


def expected_calibration_error(probs: Tensor, labels: Tensor, n_bins: int = 15) -> Tensor:
    r"""The expected calibration error (ECE) of predicted probabilities.

    .. math:: \mathrm{ECE} = \sum_{m=1}^{M} \frac{\lvert B_m \rvert}{N}
              \bigl\lvert \mathrm{acc}(B_m) - \mathrm{conf}(B_m) \bigr\rvert

    with the bins of :func:`calibration_bins`: the average gap, weighted by how many
    predictions fall in each bin, between how confident the model is and how often it is
    right. Defined in Chapter 6 (calibration).

    Parameters
    ----------
    probs : Tensor
        Predicted probabilities :math:`(N, K)`, floating point.
    labels : Tensor
        True classes :math:`(N,)`, any integer dtype.
    n_bins : int, default 15
        Number of equal-width bins :math:`M` (Guo et al. use 15).

    Returns
    -------
    Tensor
        A scalar in :math:`[0, 1]`, ``probs``' dtype and device.

    Raises
    ------
    TypeError, ValueError
        As :func:`calibration_bins`.

    References
    ----------
    M. P. Naeini, G. Cooper and M. Hauskrecht, "Obtaining well calibrated probabilities
    using Bayesian binning", AAAI 2015; C. Guo et al., ICML 2017.

    Examples
    --------
    >>> P = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]])
    >>> expected_calibration_error(P, torch.tensor([0, 1, 1]), n_bins=2)
    tensor(0.1000)
    """
    bins = calibration_bins(probs, labels, n_bins)
    weight = bins.counts.to(bins.accuracy.dtype) / bins.counts.sum()  # |B_m| / N
    return (weight * (bins.accuracy - bins.confidence).abs()).sum()


def fit_temperature(
    logits: Tensor, labels: Tensor, *, bounds: tuple[float, float] = (1e-2, 1e2)
) -> float:
    r"""Temperature scaling: the :math:`\tau > 0` that minimises the held-out cross-entropy.

    .. math:: \hat\tau = \argmin_{\tau > 0} \frac{1}{N} \sum_{n=1}^{N}
              \Bigl[\operatorname{logsumexp}(\vz_n / \tau) - z_{n y_n} / \tau\Bigr]

    fitted on a validation set the classifier was not trained on; the calibrated
    probabilities are :math:`\operatorname{softmax}(\vz / \hat\tau)`, which has the same
    argmax, so accuracy is unchanged. The objective is convex in :math:`\beta = 1/\tau`,
    hence unimodal in :math:`\log \tau`, and a golden-section search on :math:`\log \tau` over
    ``bounds`` finds its minimiser. Defined in Chapter 6 (temperature scaling).

    Parameters
    ----------
    logits : Tensor
        Validation logits :math:`(N, K)`, floating point.
    labels : Tensor
        Validation classes :math:`(N,)`, any integer dtype, same device.
    bounds : tuple of float, default (0.01, 100)
        The search interval for :math:`\tau`.

    Returns
    -------
    float
        :math:`\hat\tau` (to about :math:`10^{-10}` relative precision).

    Raises
    ------
    TypeError
        If ``logits`` is not floating point or ``labels`` not integer.
    ValueError
        If the shapes do not fit, a label is out of range, a logit is not finite, or the
        bounds are not :math:`0 < \tau_{\min} < \tau_{\max}`.

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural
    networks", ICML 2017.

    Examples
    --------
    >>> z = torch.tensor([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [4.0, 0.0]])
    >>> round(fit_temperature(z, torch.tensor([0, 1, 1, 0])), 3)  # sigmoid(4 / tau) = 3/4
    3.641
    """
    Z = _checks.float_tensor("logits", logits)
    if Z.ndim != 2 or Z.shape[0] == 0 or Z.shape[1] < 2:
        raise ValueError(
            f"`logits` must be a non-empty matrix (N, K) with K >= 2, got shape {tuple(Z.shape)}"
        )
    y = _check_labels(labels, Z.shape[0], Z.shape[1], name="labels")
    _checks.same_device(logits=Z, labels=y)
    if not bool(torch.isfinite(Z).all()):
        raise ValueError("`logits` must be finite, got NaN or infinite values")
    lo = _checks.positive("bounds[0]", bounds[0])
    hi = _checks.positive("bounds[1]", bounds[1])
    if not lo < hi:
        raise ValueError(f"`bounds` must satisfy 0 < tau_min < tau_max, got {bounds}")
    Z64 = Z.double()
    z_true = Z64.gather(1, y[:, None])[:, 0]  # (N, K) -> (N,)

    def nll(log_t: float) -> float:  # the mean cross-entropy of softmax(z / tau)
        beta = math.exp(-log_t)
        return float((torch.logsumexp(beta * Z64, dim=1) - beta * z_true).mean())

    a, b = math.log(lo), math.log(hi)
    ratio = (math.sqrt(5) - 1) / 2  # the golden section
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(c), nll(d)
    while b - a > 1e-10:
        if fc <= fd:  # the minimum lies in [a, d]
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(c)
        else:  # the minimum lies in [c, b]
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(d)
    return math.exp((a + b) / 2)


def temperature_scale(val_logits: Tensor, val_labels: Tensor, logits: Tensor) -> Tensor:
    r"""Calibrated probabilities: the softmax of ``logits`` at the validation temperature.

    .. math:: \mathbf{p} = \operatorname{softmax}(\vz / \hat\tau), \qquad
              \hat\tau = \argmin_{\tau > 0} \frac{1}{N_v} \sum_{n=1}^{N_v}
              -\log \operatorname{softmax}(\vz^{\mathrm{val}}_n / \tau)_{y_n}

    (:func:`fit_temperature`). The temperature is fitted on ``(val_logits, val_labels)``
    only; ``logits`` (e.g. the
    test set's) are merely divided by it, so their argmax is unchanged. This is the
    reference of the open Exercise 6.4. Defined in Chapter 6 (temperature scaling).

    Parameters
    ----------
    val_logits : Tensor
        Validation logits :math:`(N_v, K)`, floating point.
    val_labels : Tensor
        Validation classes :math:`(N_v,)`, any integer dtype.
    logits : Tensor
        Logits to calibrate, :math:`(N, K)`, same dtype and device as ``val_logits``.

    Returns
    -------
    Tensor
        Probabilities :math:`(N, K)`, rows summing to one, ``logits``' dtype and device.

    Raises
    ------
    TypeError, ValueError
        As :func:`fit_temperature`, or if ``logits`` does not have :math:`K` columns.

    References
    ----------
    C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural
    networks", ICML 2017.

    Examples
    --------
    >>> z = torch.tensor([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [4.0, 0.0]])
    >>> temperature_scale(z, torch.tensor([0, 1, 1, 0]), z[:1])  # tau = 4 / log 3
    tensor([[0.7500, 0.2500]])
    """
    tau = fit_temperature(val_logits, val_labels)
    Z = _checks.float_tensor("logits", logits)
    if Z.ndim != 2 or Z.shape[1] != val_logits.shape[1]:
        raise ValueError(
            f"`logits` must have shape (N, {val_logits.shape[1]}) like `val_logits`, got "
            f"{tuple(Z.shape)}"
        )
    _checks.same_device(val_logits=val_logits, logits=Z)
    return softmax(Z / tau, dim=1)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
