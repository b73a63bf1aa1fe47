r"""Linear regression: feature maps, least squares, ridge and the lasso (Chapter 5).

Read top to bottom, the module follows the chapter:

* feature maps that turn a scalar input into :math:`M` features -
  :func:`polynomial_features`, :func:`gaussian_features`;
* the loss and the predictor - :func:`mse`, :class:`LinearModel`, :func:`predict`;
* closed-form fits - :func:`fit_least_squares` (the minimum-norm solution of the normal
  equations) and :func:`fit_ridge`, both built on :mod:`dlbook.linalg` after centring;
* the lasso - :func:`soft_threshold` (the proximal map of :math:`t\lvert x \rvert`),
  :func:`lasso_objective`, :func:`lasso_ista` (proximal gradient),
  :func:`lasso_subgradient`, :func:`lasso_lambda_max` and :func:`lasso_path`;
* model selection - :func:`kfold_indices` (scikit-learn's ``KFold`` splits) and
  :func:`cross_validate_ridge` (:math:`K`-fold cross-validation error of ridge over a grid
  of :math:`\lambda`, with standard errors and the one-standard-error rule).

Objective scalings (they differ, on purpose, to match scikit-learn and
:func:`dlbook.linalg.ridge`):

* :func:`fit_ridge` minimises :math:`\lVert \vy - X\vw - b\mathbf{1} \rVert^2 +
  \lambda \lVert \vw \rVert^2`, a *sum* of squares: ``sklearn.linear_model.Ridge(alpha=lam)``.
* The lasso functions minimise :math:`\frac{1}{2N}\lVert \vy - X\vw - b\mathbf{1} \rVert^2 +
  \lambda \lVert \vw \rVert_1`, a *mean*: ``sklearn.linear_model.Lasso(alpha=lam)``.

The intercept :math:`b` is never penalised. Minimising over :math:`b` first gives
:math:`b = \bar y - \bar{\vx}^\top \vw`, and what is left is the same problem on centred
data, which is how every fit here handles ``fit_intercept=True``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from dlbook import _checks, linalg

__all__ = [
    "CrossValidation",
    "LinearModel",
    "choose_ridge_lambda",
    "cross_validate_ridge",
    "fit_least_squares",
    "fit_ridge",
    "gaussian_features",
    "kfold_indices",
    "lasso_ista",
    "lasso_lambda_max",
    "lasso_objective",
    "lasso_path",
    "lasso_subgradient",
    "mse",
    "polynomial_features",
    "predict",
    "soft_threshold",
]


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _float_tensor(name: str, value: object) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(value).__name__}")
    if not value.dtype.is_floating_point:
        raise TypeError(f"`{name}` must hold floating-point numbers, got dtype {value.dtype}")
    return value


def _non_negative(name: str, value: object) -> float:
    return _checks.number(name, value, minimum=0.0, what="finite and non-negative")


def _positive(name: str, value: object) -> float:
    return _checks.number(name, value, minimum=0.0, strict=True, what="finite and positive")


def _positive_int(name: str, value: object) -> int:
    return _checks.positive_int(name, value)


def _data(X: object, y: object) -> tuple[Tensor, Tensor]:
    """Check a design matrix ``X`` (N, D) and targets ``y`` (N,) or (N, m)."""
    X = _float_tensor("X", X)
    y = _float_tensor("y", y)
    if X.ndim != 2:
        raise ValueError(f"`X` must be a matrix of shape (N, D), got shape {tuple(X.shape)}")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"`y` must have shape (N,) or (N, m) with N = {X.shape[0]} rows like `X`, got "
            f"shape {tuple(y.shape)}"
        )
    if X.shape[0] == 0:
        raise ValueError("`X` must hold at least one example, got N = 0")
    if y.dtype != X.dtype or y.device != X.device:
        raise TypeError(
            f"`y` must match `X` in dtype and device, got {y.dtype} on {y.device} and "
            f"{X.dtype} on {X.device}"
        )
    return X, y


def _model(w: Tensor, x_mean: Tensor, y_mean: Tensor) -> LinearModel:
    """The model from solver weights (D,) or (D, m), stored as (D,) or (m, D) like nn.Linear."""
    bias = y_mean - x_mean @ w  # b = y_mean - x_mean^T w, () or (m,)
    return LinearModel(w if w.ndim == 1 else w.T.contiguous(), bias)  # (D, m) -> (m, D)


def _centre(X: Tensor, y: Tensor, fit_intercept: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Centred data and the means (zeros without an intercept): ``b = y_mean - x_mean @ w``."""
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"`fit_intercept` must be a bool, got {type(fit_intercept).__name__}")
    if not fit_intercept:
        return X, y, X.new_zeros(X.shape[1]), y.new_zeros(y.shape[1:])
    x_mean, y_mean = X.mean(dim=0), y.mean(dim=0)  # (D,), () or (m,)
    return X - x_mean, y - y_mean, x_mean, y_mean


# --------------------------------------------------------------------------------------
# Feature maps (basis functions)
# --------------------------------------------------------------------------------------
def polynomial_features(x: Tensor, degree: int, *, include_bias: bool = False) -> Tensor:
    r"""Monomial features of a scalar input: :math:`\phi_j(x) = x^j`.

    .. math:: \Phi_{ij} = x_i^{\,j}, \qquad j = 1, \dots, \text{degree}
              \;(\text{from } j = 0 \text{ with ``include_bias``})

    Defined in Chapter 5 (basis functions).

    Parameters
    ----------
    x : Tensor
        Inputs of shape :math:`(N,)`, floating point.
    degree : int
        The largest power, at least 1.
    include_bias : bool, default False
        Start with the constant column :math:`x^0 = 1` (leave it out when the model fits
        its own intercept).

    Returns
    -------
    Tensor
        :math:`\Phi` of shape ``(N, degree)``, or ``(N, degree + 1)`` with the bias column.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``degree`` not an int.
    ValueError
        If ``x`` is not 1-D or ``degree < 1``.

    Examples
    --------
    >>> polynomial_features(torch.tensor([2.0, -1.0]), 3)
    tensor([[ 2.,  4.,  8.],
            [-1.,  1., -1.]])
    """
    x = _float_tensor("x", x)
    degree = _positive_int("degree", degree)
    if x.ndim != 1:
        raise ValueError(f"`x` must be a vector of shape (N,), got shape {tuple(x.shape)}")
    start = 0 if include_bias else 1
    powers = torch.arange(start, degree + 1, device=x.device, dtype=x.dtype)
    return x[:, None] ** powers  # (N, 1) ** (M,) -> (N, M)


def gaussian_features(x: Tensor, centres: Tensor, width: float) -> Tensor:
    r"""Gaussian radial basis features: one bump of width :math:`s` per centre.

    .. math:: \Phi_{ij} = \exp\!\Big(-\frac{\lVert \vx_i - \mathbf{m}_j \rVert^2}{2 s^2}\Big)

    Defined in Chapter 5 (basis functions).

    Parameters
    ----------
    x : Tensor
        Inputs of shape :math:`(N,)` (scalars) or :math:`(N, d)`.
    centres : Tensor
        Centres :math:`\mathbf{m}_j` of shape :math:`(M,)` or :math:`(M, d)`, same dtype
        and device as ``x``.
    width : float
        The width :math:`s > 0`.

    Returns
    -------
    Tensor
        :math:`\Phi` of shape :math:`(N, M)`, entries in :math:`(0, 1]`.

    Raises
    ------
    TypeError
        If ``x`` or ``centres`` is not a floating-point tensor, or they differ in dtype
        or device.
    ValueError
        If the shapes do not fit together or ``width`` is not positive.

    Examples
    --------
    >>> gaussian_features(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0]), 1.0)
    tensor([[1.0000, 0.1353],
            [0.6065, 0.6065]])
    """
    x = _float_tensor("x", x)
    centres = _float_tensor("centres", centres)
    width = _positive("width", width)
    if centres.dtype != x.dtype or centres.device != x.device:
        raise TypeError(
            f"`centres` must match `x` in dtype and device, got {centres.dtype} on "
            f"{centres.device} and {x.dtype} on {x.device}"
        )
    if x.ndim == 1 and centres.ndim == 1:
        x, centres = x[:, None], centres[:, None]  # (N,) -> (N, 1), (M,) -> (M, 1)
    if x.ndim != 2 or centres.ndim != 2 or x.shape[1] != centres.shape[1]:
        raise ValueError(
            f"`x` and `centres` must have shapes (N,) and (M,), or (N, d) and (M, d), got "
            f"{tuple(x.shape)} and {tuple(centres.shape)}"
        )
    diff = x[:, None, :] - centres[None, :, :]  # (N, 1, d) - (1, M, d) -> (N, M, d)
    return torch.exp(-(diff**2).sum(dim=-1) / (2 * width**2))


# --------------------------------------------------------------------------------------
# Loss and predictor
# --------------------------------------------------------------------------------------
def mse(y_hat: Tensor, y: Tensor) -> Tensor:
    r"""Mean squared error, the empirical risk of the squared loss.

    .. math:: \operatorname{mse}(\hat{\vy}, \vy) = \frac{1}{N} \sum_{i=1}^{N} (\hat y_i - y_i)^2

    For targets of shape :math:`(N, m)` the mean runs over all :math:`Nm` entries, as in
    ``sklearn.metrics.mean_squared_error``. Defined in Chapter 5 (empirical risk).

    Parameters
    ----------
    y_hat, y : Tensor
        Predictions and targets of the same shape, floating point.

    Returns
    -------
    Tensor
        A scalar tensor on the inputs' device.

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes differ or the tensors are empty.

    Examples
    --------
    >>> mse(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    tensor(2.)
    """
    y_hat = _float_tensor("y_hat", y_hat)
    y = _float_tensor("y", y)
    if y_hat.shape != y.shape:
        raise ValueError(
            f"`y_hat` and `y` must have the same shape, got {tuple(y_hat.shape)} and "
            f"{tuple(y.shape)}"
        )
    if y.numel() == 0:
        raise ValueError("`y` must not be empty")
    return ((y_hat - y) ** 2).mean()


class LinearModel(NamedTuple):
    r"""A fitted linear model :math:`f(\vx) = \vw^\top \vx + b`.

    Attributes
    ----------
    weight : Tensor
        :math:`\vw` of shape :math:`(D,)`, or :math:`W` of shape :math:`(m, D)` for
        :math:`m` outputs (out, in), like ``torch.nn.Linear(D, m).weight``, so that
        :math:`f(\vx) = W\vx + \mathbf{b}`.
    bias : Tensor
        :math:`b`, a scalar tensor, or shape :math:`(m,)`.
    """

    weight: Tensor
    bias: Tensor


def predict(model: LinearModel, X: Tensor) -> Tensor:
    r"""Predictions of a linear model for the rows of ``X``.

    .. math:: \hat{\vy} = X \vw + b \mathbf{1}, \qquad
              \hat{Y} = X W^\top + \mathbf{1}\mathbf{b}^\top

    Defined in Chapter 5 (hypothesis spaces).

    Parameters
    ----------
    model : LinearModel
        Weight :math:`(D,)` or :math:`(m, D)` and bias.
    X : Tensor
        Inputs of shape :math:`(N, D)`.

    Returns
    -------
    Tensor
        :math:`\hat{\vy}` of shape :math:`(N,)` or :math:`(N, m)`.

    Raises
    ------
    TypeError
        If ``X`` is not a floating-point tensor.
    ValueError
        If ``X`` is not :math:`(N, D)` with the model's :math:`D`.

    Examples
    --------
    >>> model = LinearModel(torch.tensor([1.0, -1.0]), torch.tensor(0.5))
    >>> predict(model, torch.tensor([[3.0, 1.0]]))
    tensor([2.5000])
    """
    X = _float_tensor("X", X)
    w, b = model
    if X.ndim != 2 or X.shape[1] != w.shape[-1]:
        raise ValueError(
            f"`X` must have shape (N, {w.shape[-1]}) for this model, got {tuple(X.shape)}"
        )
    if w.ndim == 1:
        return X @ w + b  # (N, D) @ (D,) -> (N,)
    return X @ w.T + b  # (N, D) @ (D, m) -> (N, m)


# --------------------------------------------------------------------------------------
# Closed-form fits
# --------------------------------------------------------------------------------------
def fit_least_squares(X: Tensor, y: Tensor, *, fit_intercept: bool = True) -> LinearModel:
    r"""Least squares: the minimum-norm solution of the normal equations.

    .. math:: X^\top X \vw = X^\top \vy, \qquad \hat{\vw} = X^+ \vy

    (on centred data when ``fit_intercept``; then :math:`b = \bar y - \bar{\vx}^\top
    \hat{\vw}`). When :math:`X^\top X` is singular (for instance :math:`D > N`) this picks,
    among all minimisers, the one of smallest :math:`\lVert \vw \rVert`, as
    ``numpy.linalg.lstsq`` and ``sklearn.linear_model.LinearRegression`` do. Defined in
    Chapter 5 (the closed-form solution); the solver is :func:`dlbook.linalg.least_squares`.

    Parameters
    ----------
    X : Tensor
        Design matrix of shape :math:`(N, D)`.
    y : Tensor
        Targets of shape :math:`(N,)` or :math:`(N, m)`, same dtype and device as ``X``.
    fit_intercept : bool, default True
        Fit an unpenalised bias :math:`b`; otherwise :math:`b = 0`.

    Returns
    -------
    LinearModel
        ``weight`` of shape :math:`(D,)` or :math:`(m, D)`, ``bias`` of shape ``y.shape[1:]``.

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is not a floating-point tensor, or they differ in dtype or device.
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0], [2.0]], dtype=torch.float64)
    >>> model = fit_least_squares(X, 1.0 + 2.0 * X[:, 0])
    >>> round(model.weight.item(), 6), round(model.bias.item(), 6)
    (2.0, 1.0)
    """
    X, y = _data(X, y)
    Xc, yc, x_mean, y_mean = _centre(X, y, fit_intercept)
    w = linalg.least_squares(Xc, yc)  # (D,) or (D, m)
    return _model(w, x_mean, y_mean)


def fit_ridge(X: Tensor, y: Tensor, lam: float, *, fit_intercept: bool = True) -> LinearModel:
    r"""Ridge regression in closed form.

    .. math:: \min_{\vw, b}\; \lVert \vy - X\vw - b\mathbf{1} \rVert^2 + \lambda
              \lVert \vw \rVert^2, \qquad \hat{\vw} = (X^\top X + \lambda I)^{-1} X^\top \vy

    (on centred data when ``fit_intercept``; the bias is not penalised). This is the
    objective of ``sklearn.linear_model.Ridge(alpha=lam)``. Written with the mean,
    :math:`\frac{1}{2N}\lVert \cdot \rVert^2 + \lambda' \lVert \vw \rVert^2`, it is the same
    problem with :math:`\lambda = 2N\lambda'`. Defined in Chapter 5 (ridge regression);
    the solver is :func:`dlbook.linalg.ridge`.

    Parameters
    ----------
    X : Tensor
        Design matrix of shape :math:`(N, D)`.
    y : Tensor
        Targets of shape :math:`(N,)` or :math:`(N, m)`, same dtype and device as ``X``.
    lam : float
        :math:`\lambda \ge 0`; ``lam = 0`` gives :func:`fit_least_squares`'s
        minimum-norm solution (the limit :math:`\lambda \to 0^+`).
    fit_intercept : bool, default True
        Fit an unpenalised bias :math:`b`; otherwise :math:`b = 0`.

    Returns
    -------
    LinearModel
        ``weight`` of shape :math:`(D,)` or :math:`(m, D)`, ``bias`` of shape ``y.shape[1:]``.

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is not a floating-point tensor, they differ in dtype or device,
        or ``lam`` is not a real number.
    ValueError
        If the shapes do not fit together or ``lam`` is negative or not finite.

    References
    ----------
    A. E. Hoerl and R. W. Kennard, "Ridge regression: biased estimation for nonorthogonal
    problems", Technometrics 12(1), 1970.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> model = fit_ridge(X, torch.tensor([2.0, -2.0], dtype=torch.float64), 2.0)
    >>> round(model.weight.item(), 6)  # 4 / (2 + 2)
    1.0
    """
    X, y = _data(X, y)
    lam = _non_negative("lam", lam)
    Xc, yc, x_mean, y_mean = _centre(X, y, fit_intercept)
    w = linalg.ridge(Xc, yc, lam)  # (D,) or (D, m)
    return _model(w, x_mean, y_mean)


# --------------------------------------------------------------------------------------
# The lasso
# --------------------------------------------------------------------------------------
def soft_threshold(x: Tensor, t: float) -> Tensor:
    r"""Soft-thresholding, the proximal map of :math:`t \lvert \cdot \rvert`.

    .. math:: S_t(x) = \operatorname{sign}(x) \max(\lvert x \rvert - t, 0)
              = \argmin_{z} \tfrac12 (z - x)^2 + t \lvert z \rvert

    applied entrywise. Defined in Chapter 5 (proximal gradient).

    Parameters
    ----------
    x : Tensor
        Any shape, floating point.
    t : float
        The threshold :math:`t \ge 0`.

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``t`` not a real number.
    ValueError
        If ``t`` is negative or not finite.

    Examples
    --------
    >>> soft_threshold(torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0]), 1.0)
    tensor([-2., -0., 0., 0., 2.])
    """
    x = _float_tensor("x", x)
    t = _non_negative("t", t)
    return torch.sign(x) * torch.clamp(x.abs() - t, min=0.0)


def lasso_objective(model: LinearModel, X: Tensor, y: Tensor, lam: float) -> Tensor:
    r"""The lasso objective in scikit-learn's scaling.

    .. math:: J(\vw, b) = \frac{1}{2N} \lVert \vy - X\vw - b\mathbf{1} \rVert^2
              + \lambda \lVert \vw \rVert_1

    (for :math:`m` outputs, squared Frobenius and entrywise :math:`\ell_1` norms, as
    ``sklearn.linear_model.Lasso`` documents). Defined in Chapter 5 (the lasso).

    Parameters
    ----------
    model : LinearModel
        Weight :math:`(D,)` or :math:`(m, D)` and bias.
    X, y : Tensor
        Data of shapes :math:`(N, D)` and :math:`(N,)` or :math:`(N, m)`.
    lam : float
        :math:`\lambda \ge 0`.

    Returns
    -------
    Tensor
        A scalar tensor.

    Raises
    ------
    TypeError, ValueError
        As :func:`fit_ridge` for bad data or ``lam``.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]])
    >>> model = LinearModel(torch.tensor([1.0]), torch.tensor(0.0))
    >>> lasso_objective(model, X, torch.tensor([3.0, -3.0]), 0.5)
    tensor(2.5000)
    """
    X, y = _data(X, y)
    lam = _non_negative("lam", lam)
    r = y - predict(model, X)  # residuals, (N,) or (N, m)
    return (r**2).sum() / (2 * X.shape[0]) + lam * model.weight.abs().sum()


def _lipschitz(Xc: Tensor) -> float:
    r"""L = sigma_max(X)^2 / N, the Lipschitz constant of the gradient of (1/2N)||Xw - y||^2."""
    return float(torch.linalg.matrix_norm(Xc, ord=2)) ** 2 / Xc.shape[0]


def _lasso_setup(
    X: Tensor, y: Tensor, lam: float, steps: int, lr: float | None, fit_intercept: bool
) -> tuple[Tensor, Tensor, Tensor, Tensor, float, float, int]:
    X, y = _data(X, y)
    lam = _non_negative("lam", lam)
    steps = _positive_int("steps", steps)
    Xc, yc, x_mean, y_mean = _centre(X, y, fit_intercept)
    if lr is None:
        lipschitz = _lipschitz(Xc)
        lr = 1.0 / lipschitz if lipschitz > 0 else 1.0  # L = 0: the loss is flat in w
    else:
        lr = _positive("lr", lr)
    return Xc, yc, x_mean, y_mean, lam, lr, steps


def _initial_weight(weight_init: Tensor | None, Xc: Tensor, yc: Tensor) -> Tensor:
    shape = (*yc.shape[1:], Xc.shape[1])  # (D,) or (m, D), the model's layout
    if weight_init is None:
        return Xc.new_zeros(shape[::-1])  # the solvers iterate on (D,) or (D, m)
    weight_init = _float_tensor("weight_init", weight_init)
    if tuple(weight_init.shape) != shape:
        raise ValueError(f"`weight_init` must have shape {shape}, got {tuple(weight_init.shape)}")
    w0 = weight_init.to(device=Xc.device, dtype=Xc.dtype)
    return (w0 if w0.ndim == 1 else w0.T).clone()  # (m, D) -> (D, m)


def lasso_ista(
    X: Tensor,
    y: Tensor,
    lam: float,
    *,
    steps: int = 1000,
    lr: float | None = None,
    fit_intercept: bool = True,
    weight_init: Tensor | None = None,
) -> tuple[LinearModel, Tensor]:
    r"""The lasso by proximal gradient descent (ISTA).

    Each step is a gradient step on the smooth part followed by soft-thresholding:

    .. math:: \vw_{t+1} = S_{\eta\lambda}\Big(\vw_t - \frac{\eta}{N} X^\top (X\vw_t - \vy)\Big),
              \qquad \eta = \frac{1}{L} = \frac{N}{\sigma_{\max}(X)^2}

    for the objective of :func:`lasso_objective`, which is
    ``sklearn.linear_model.Lasso(alpha=lam)``'s. With :math:`\eta \le 1/L` the objective
    never increases, and it approaches its minimum at rate :math:`O(1/t)`. With
    ``lam = 0`` this is plain gradient descent on :math:`\frac{1}{2N}\lVert \vy - X\vw
    \rVert^2`. Defined in Chapter 5 (proximal gradient).

    Parameters
    ----------
    X : Tensor
        Design matrix of shape :math:`(N, D)`.
    y : Tensor
        Targets of shape :math:`(N,)` or :math:`(N, m)`, same dtype and device as ``X``.
    lam : float
        :math:`\lambda \ge 0`.
    steps : int, default 1000
        Number of ISTA steps.
    lr : float, optional
        Step size :math:`\eta`; default :math:`1/L` from the largest singular value of the
        (centred) :math:`X`.
    fit_intercept : bool, default True
        Fit an unpenalised bias on centred data; otherwise :math:`b = 0`.
    weight_init : Tensor, optional
        Starting :math:`\vw_0` (default zeros) of the model's weight shape, :math:`(D,)`
        or :math:`(m, D)`, e.g. a warm start along a path.

    Returns
    -------
    model : LinearModel
        The last iterate :math:`\vw_T` and its bias.
    objective : Tensor
        :math:`J(\vw_t, b_t)` for :math:`t = 0, \dots, T`, shape ``(steps + 1,)``.

    Raises
    ------
    TypeError, ValueError
        For bad data (as :func:`fit_ridge`), a negative ``lam``, ``steps < 1``, a
        non-positive ``lr`` or a ``weight_init`` of the wrong shape.

    References
    ----------
    A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear
    inverse problems", SIAM J. Imaging Sciences 2(1), 2009.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> model, objective = lasso_ista(X, torch.tensor([3.0, -3.0], dtype=torch.float64), 1.0)
    >>> round(model.weight.item(), 6)  # soft-threshold of the least-squares 3 at 1
    2.0
    """
    Xc, yc, x_mean, y_mean, lam, lr, steps = _lasso_setup(X, y, lam, steps, lr, fit_intercept)
    n = Xc.shape[0]
    w = _initial_weight(weight_init, Xc, yc)
    objective = Xc.new_empty(steps + 1)

    def value(w: Tensor) -> Tensor:  # J on the centred data equals J at b = y_mean - x_mean @ w
        return ((Xc @ w - yc) ** 2).sum() / (2 * n) + lam * w.abs().sum()

    objective[0] = value(w)
    for t in range(steps):
        grad = Xc.T @ (Xc @ w - yc) / n  # gradient of the smooth part, (D,) or (D, m)
        w = soft_threshold(w - lr * grad, lr * lam)  # prox of lr * lam * ||w||_1
        objective[t + 1] = value(w)
    return _model(w, x_mean, y_mean), objective


def lasso_subgradient(
    X: Tensor,
    y: Tensor,
    lam: float,
    *,
    steps: int = 1000,
    lr: float | None = None,
    fit_intercept: bool = True,
) -> tuple[LinearModel, Tensor]:
    r"""The lasso by the subgradient method with step sizes :math:`\eta_t = \eta_0/\sqrt{t+1}`.

    .. math:: \vw_{t+1} = \vw_t - \eta_t \Big(\frac{1}{N} X^\top (X\vw_t - \vy)
              + \lambda \operatorname{sign}(\vw_t)\Big)

    where :math:`\operatorname{sign}(0) = 0` picks a valid subgradient of :math:`\lvert
    \cdot \rvert` at zero. The method is not a descent method, so the best iterate seen
    is returned. Defined in Chapter 5 (the lasso).

    Parameters
    ----------
    X : Tensor
        Design matrix of shape :math:`(N, D)`.
    y : Tensor
        Targets of shape :math:`(N,)` or :math:`(N, m)`, same dtype and device as ``X``.
    lam : float
        :math:`\lambda \ge 0`.
    steps : int, default 1000
        Number of steps :math:`T`.
    lr : float, optional
        :math:`\eta_0`; default :math:`1/L` as in :func:`lasso_ista`.
    fit_intercept : bool, default True
        Fit an unpenalised bias on centred data; otherwise :math:`b = 0`.

    Returns
    -------
    model : LinearModel
        The iterate with the smallest objective.
    objective : Tensor
        :math:`J(\vw_t, b_t)` for :math:`t = 0, \dots, T`, shape ``(steps + 1,)``.

    Raises
    ------
    TypeError, ValueError
        As :func:`lasso_ista`.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> model, objective = lasso_subgradient(X, torch.tensor([3.0, -3.0], dtype=torch.float64),
    ...                                      1.0, steps=2000)
    >>> round(model.weight.item(), 2)
    2.0
    """
    Xc, yc, x_mean, y_mean, lam, lr, steps = _lasso_setup(X, y, lam, steps, lr, fit_intercept)
    n = Xc.shape[0]
    w = _initial_weight(None, Xc, yc)
    objective = Xc.new_empty(steps + 1)

    def value(w: Tensor) -> Tensor:
        return ((Xc @ w - yc) ** 2).sum() / (2 * n) + lam * w.abs().sum()

    objective[0] = value(w)
    best, best_value = w, objective[0]
    for t in range(steps):
        g = Xc.T @ (Xc @ w - yc) / n + lam * torch.sign(w)  # a subgradient of J at w
        w = w - lr / math.sqrt(t + 1) * g
        objective[t + 1] = value(w)
        if objective[t + 1] < best_value:
            best, best_value = w, objective[t + 1]
    return _model(best, x_mean, y_mean), objective


def lasso_lambda_max(X: Tensor, y: Tensor, *, fit_intercept: bool = True) -> float:
    r"""The smallest :math:`\lambda` for which the lasso's solution is :math:`\vw = 0`.

    .. math:: \lambda_{\max} = \frac{1}{N} \lVert X^\top \vy \rVert_\infty

    (on centred data with ``fit_intercept``): at :math:`\vw = 0` the optimality condition
    :math:`\frac1N X^\top \vy \in \lambda\, \partial \lVert \mathbf{0} \rVert_1 =
    [-\lambda, \lambda]^D` holds exactly when :math:`\lambda \ge \lambda_{\max}`.
    Defined in Chapter 5 (the lasso path).

    Parameters
    ----------
    X, y : Tensor
        Data of shapes :math:`(N, D)` and :math:`(N,)` or :math:`(N, m)`.
    fit_intercept : bool, default True
        Centre the data first.

    Returns
    -------
    float
        :math:`\lambda_{\max} \ge 0`.

    Raises
    ------
    TypeError, ValueError
        For bad data, as :func:`fit_ridge`.

    Examples
    --------
    >>> X = torch.tensor([[1.0, 0.0], [-1.0, 2.0]])
    >>> lasso_lambda_max(X, torch.tensor([3.0, -3.0]), fit_intercept=False)
    3.0
    """
    X, y = _data(X, y)
    Xc, yc, _, _ = _centre(X, y, fit_intercept)
    return float((Xc.T @ yc).abs().max()) / X.shape[0]  # (D, N) @ (N, ...) -> (D, ...)


def lasso_path(
    X: Tensor,
    y: Tensor,
    lams: Sequence[float] | Tensor,
    *,
    steps: int = 500,
    fit_intercept: bool = True,
) -> Tensor:
    r"""Lasso coefficients along a sequence of :math:`\lambda`, by warm-started ISTA.

    .. math:: \hat{\vw}(\lambda_k) = \argmin_{\vw} \frac{1}{2N} \lVert \vy - X\vw - b
              \mathbf{1} \rVert^2 + \lambda_k \lVert \vw \rVert_1, \quad k = 1, \dots, K

    Each :math:`\lambda_k` starts ISTA from the solution for :math:`\lambda_{k-1}`, so pass
    the values in decreasing order (from :func:`lasso_lambda_max` down) for the fastest
    convergence. Defined in Chapter 5 (the lasso path).

    Parameters
    ----------
    X, y : Tensor
        Data of shapes :math:`(N, D)` and :math:`(N,)` or :math:`(N, m)`.
    lams : sequence of float or 1-D Tensor
        The :math:`\lambda_k \ge 0`, at least one.
    steps : int, default 500
        ISTA steps per :math:`\lambda_k`.
    fit_intercept : bool, default True
        Fit an unpenalised bias.

    Returns
    -------
    Tensor
        Coefficients of shape :math:`(K, D)` (or :math:`(K, m, D)`), row :math:`k` for
        :math:`\lambda_k`.

    Raises
    ------
    TypeError, ValueError
        For bad data, an empty ``lams`` or a negative :math:`\lambda_k`.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> y = torch.tensor([3.0, -3.0], dtype=torch.float64)
    >>> lasso_path(X, y, [4.0, 2.0, 0.0], steps=50).flatten().tolist()
    [0.0, 1.0, 3.0]
    """
    X, y = _data(X, y)
    values = lams.tolist() if isinstance(lams, Tensor) else list(lams)
    if not values:
        raise ValueError("`lams` must hold at least one value, got none")
    weight: Tensor | None = None
    rows = []
    for lam in values:
        model, _ = lasso_ista(
            X, y, lam, steps=steps, fit_intercept=fit_intercept, weight_init=weight
        )
        weight = model.weight
        rows.append(weight)
    return torch.stack(rows)  # K x (D,) -> (K, D), or K x (m, D) -> (K, m, D)


# --------------------------------------------------------------------------------------
# Model selection: K-fold cross-validation
# --------------------------------------------------------------------------------------
def kfold_indices(
    n: int, n_splits: int = 5, *, generator: torch.Generator | None = None
) -> list[tuple[Tensor, Tensor]]:
    r"""The (train, validation) index pairs of :math:`K`-fold cross-validation.

    The :math:`N` indices are cut into :math:`K` contiguous folds, the first
    :math:`N \bmod K` of them one longer than the others, exactly as
    ``sklearn.model_selection.KFold(n_splits)`` does; fold :math:`k` validates and the
    other :math:`K - 1` train:

    .. math:: \mathcal{I} = \mathcal{V}_1 \cup \dots \cup \mathcal{V}_K, \qquad
              \mathcal{T}_k = \mathcal{I} \setminus \mathcal{V}_k

    With a ``generator`` the indices are shuffled first (by ``torch.randperm``, so the
    folds differ from scikit-learn's shuffled ones). Defined in Chapter 5
    (cross-validation).

    Parameters
    ----------
    n : int
        Number of examples :math:`N`, at least ``n_splits``.
    n_splits : int, default 5
        Number of folds :math:`K \ge 2`.
    generator : torch.Generator, optional
        Shuffle the examples with it before cutting the folds.

    Returns
    -------
    list of (Tensor, Tensor)
        :math:`K` pairs of sorted int64 index vectors (training, validation), on the CPU.

    Raises
    ------
    TypeError
        If ``n`` or ``n_splits`` is not an int, or ``generator`` not a ``torch.Generator``.
    ValueError
        If ``n_splits < 2`` or ``n < n_splits``.

    Examples
    --------
    >>> [val.tolist() for _, val in kfold_indices(5, 2)]
    [[0, 1, 2], [3, 4]]
    """
    n_splits = _checks.positive_int("n_splits", n_splits, minimum=2)
    n = _checks.positive_int("n", n, minimum=n_splits)
    generator = _checks.generator("generator", generator)
    order = torch.arange(n) if generator is None else torch.randperm(n, generator=generator)
    sizes = [n // n_splits + (1 if k < n % n_splits else 0) for k in range(n_splits)]
    folds = []
    start = 0
    for size in sizes:
        val = order[start : start + size]
        train = torch.cat([order[:start], order[start + size :]])
        folds.append((train.sort().values, val.sort().values))
        start += size
    return folds


class CrossValidation(NamedTuple):
    r"""The result of :func:`cross_validate_ridge`.

    Attributes
    ----------
    lams : Tensor
        The grid :math:`\lambda_1, \dots, \lambda_L`, shape :math:`(L,)`.
    fold_errors : Tensor
        Validation mean squared error of each :math:`\lambda` on each fold, :math:`(L, K)`.
    mean : Tensor
        The cross-validation error :math:`\mathrm{CV}(\lambda)`, the mean over folds, :math:`(L,)`.
    standard_error : Tensor
        :math:`s(\lambda)/\sqrt{K}` with the Bessel-corrected standard deviation
        :math:`s` over folds, :math:`(L,)`.
    best : float
        The :math:`\lambda` of smallest :math:`\mathrm{CV}(\lambda)`.
    one_standard_error : float
        The largest :math:`\lambda` whose :math:`\mathrm{CV}(\lambda)` is within one
        standard error of the smallest: :math:`\mathrm{CV}(\lambda) \le
        \mathrm{CV}(\lambda^\star) + \mathrm{SE}(\lambda^\star)`.
    """

    lams: Tensor
    fold_errors: Tensor
    mean: Tensor
    standard_error: Tensor
    best: float
    one_standard_error: float


def cross_validate_ridge(
    X: Tensor,
    y: Tensor,
    lams: Sequence[float] | Tensor,
    *,
    n_splits: int = 5,
    fit_intercept: bool = True,
    generator: torch.Generator | None = None,
) -> CrossValidation:
    r""":math:`K`-fold cross-validation of :func:`fit_ridge` over a grid of :math:`\lambda`.

    .. math:: \mathrm{CV}(\lambda) = \frac{1}{K} \sum_{k=1}^{K} \frac{1}{\lvert
              \mathcal{V}_k \rvert} \sum_{i \in \mathcal{V}_k} \bigl(y_i -
              \hat f_\lambda^{(-k)}(\vx_i)\bigr)^2, \qquad
              \mathrm{SE}(\lambda) = \frac{s_\lambda}{\sqrt K}

    where :math:`\hat f_\lambda^{(-k)}` is fitted on every fold but the :math:`k`-th
    (centring included: the held-out fold never touches the fit) and :math:`s_\lambda` is
    the standard deviation of the :math:`K` fold errors with Bessel's correction. This is
    ``-cross_val_score(Ridge(alpha=lam), X, y, cv=KFold(K),
    scoring="neg_mean_squared_error").mean()``. Defined in Chapter 5 (cross-validation).

    Parameters
    ----------
    X : Tensor
        Design matrix of shape :math:`(N, D)`.
    y : Tensor
        Targets of shape :math:`(N,)` or :math:`(N, m)`, same dtype and device as ``X``.
    lams : sequence of float or 1-D Tensor
        The grid of :math:`\lambda \ge 0`, at least one value.
    n_splits : int, default 5
        Number of folds :math:`K \ge 2`.
    fit_intercept : bool, default True
        Passed to :func:`fit_ridge`.
    generator : torch.Generator, optional
        Shuffle before cutting the folds (:func:`kfold_indices`).

    Returns
    -------
    CrossValidation
        Fold errors, their mean and standard error per :math:`\lambda`, the minimiser and
        the one-standard-error choice; tensors in ``X``'s dtype, on ``X``'s device.

    Raises
    ------
    TypeError, ValueError
        For bad data (as :func:`fit_ridge`), an empty or negative ``lams``, or a bad
        ``n_splits``.

    References
    ----------
    T. Hastie, R. Tibshirani and J. Friedman, *The Elements of Statistical Learning*, 2nd
    ed., Springer, 2009, Section 7.10 (the one-standard-error rule).

    Examples
    --------
    >>> X = torch.arange(12.0, dtype=torch.float64).reshape(6, 2)
    >>> cv = cross_validate_ridge(X, X[:, 0] + 1.0, [0.0, 1e6], n_splits=3)
    >>> cv.best
    0.0
    """
    X, y = _data(X, y)
    values = lams.tolist() if isinstance(lams, Tensor) else list(lams)
    if not values:
        raise ValueError("`lams` must hold at least one value, got none")
    values = [_non_negative("lams", lam) for lam in values]
    folds = kfold_indices(X.shape[0], n_splits, generator=generator)
    errors = X.new_empty(len(values), len(folds))  # (L, K)
    for k, (train, val) in enumerate(folds):
        train, val = train.to(X.device), val.to(X.device)
        for j, lam in enumerate(values):
            model = fit_ridge(X[train], y[train], lam, fit_intercept=fit_intercept)
            errors[j, k] = mse(predict(model, X[val]), y[val])
    mean = errors.mean(dim=1)  # (L, K) -> (L,)
    se = errors.std(dim=1, correction=1) / math.sqrt(len(folds))  # Bessel-corrected
    best = int(torch.argmin(mean))
    within = (mean <= mean[best] + se[best]).tolist()
    one_se = max(lam for lam, ok in zip(values, within, strict=True) if ok)
    return CrossValidation(X.new_tensor(values), errors, mean, se, values[best], float(one_se))


def choose_ridge_lambda(X: Tensor, y: Tensor, lams: Sequence[float] | Tensor) -> float:
    r"""The ridge :math:`\lambda` chosen by 5-fold cross-validation and the one-SE rule.

    .. math:: \hat\lambda = \max\bigl\{\lambda : \mathrm{CV}(\lambda) \le
              \mathrm{CV}(\lambda^\star) + \mathrm{SE}(\lambda^\star)\bigr\}, \qquad
              \lambda^\star = \argmin_\lambda \mathrm{CV}(\lambda)

    with the contiguous folds of ``sklearn.model_selection.KFold(5)`` and
    :func:`fit_ridge` with an intercept (:func:`cross_validate_ridge`). This is the
    reference of the open Exercise 5.5. Defined in Chapter 5 (cross-validation).

    Parameters
    ----------
    X : Tensor
        Design matrix of shape :math:`(N, D)`, :math:`N \ge 5`.
    y : Tensor
        Targets of shape :math:`(N,)`, same dtype and device.
    lams : sequence of float or 1-D Tensor
        The candidate :math:`\lambda \ge 0`.

    Returns
    -------
    float
        One of ``lams``.

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_validate_ridge`.

    Examples
    --------
    >>> X = torch.arange(20.0, dtype=torch.float64).reshape(10, 2)
    >>> choose_ridge_lambda(X, X[:, 0] - X[:, 1] ** 0.5, [0.0, 1e6])
    0.0
    """
    return cross_validate_ridge(X, y, lams, n_splits=5).one_standard_error


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
