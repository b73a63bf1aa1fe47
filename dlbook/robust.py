r"""Adversarial examples, attributions, fairness metrics and energy (Chapter 20).

Attacks: :func:`fgsm` (one signed-gradient step, Goodfellow et al. 2015) and :func:`pgd`
(projected gradient ascent, Madry et al. 2018) inside the :math:`L_\infty` ball that
:func:`project_linf` projects onto. Attributions: :func:`saliency` (the input gradient)
and :func:`integrated_gradients` (Sundararajan et al. 2017) with the quadrature rules
of Captum. Fairness: :func:`demographic_parity_difference` and
:func:`equalized_odds_difference` with fairlearn's signatures and meaning,
:func:`group_rates` and :func:`calibration_by_group`, and :func:`risk_population`, a
synthetic population with group-dependent base rates. Energy: :func:`energy_kwh` and
:func:`co2e_kg`, the arithmetic of Strubell et al. (2019).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook import _checks

__all__ = [
    "IG_METHODS",
    "STRUBELL_LBS_PER_KWH",
    "STRUBELL_PUE",
    "calibration_by_group",
    "co2e_kg",
    "demographic_parity_difference",
    "energy_kwh",
    "equalized_odds_difference",
    "fgsm",
    "group_rates",
    "integrated_gradients",
    "pgd",
    "project_linf",
    "risk_population",
    "saliency",
]

#: Power usage effectiveness (data-centre overhead) used by Strubell et al. (2019), eq. 1.
STRUBELL_PUE = 1.58
#: Pounds of CO2-equivalent per kWh (US average, EPA) used by Strubell et al. (2019), eq. 2.
STRUBELL_LBS_PER_KWH = 0.954
#: Quadrature rules accepted by :func:`integrated_gradients` (Captum's names).
IG_METHODS = (
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
    "gausslegendre",
)

_LB_TO_KG = 0.45359237


# --------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------
def _model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    return model


def _images(name: str, x: object) -> Tensor:
    x = _checks.float_tensor(name, x, min_ndim=2, non_empty=True)
    return _checks.finite_tensor(name, x)


def _box(clamp: object) -> tuple[float, float] | None:
    if clamp is None:
        return None
    if not isinstance(clamp, (tuple, list)) or len(clamp) != 2:
        raise TypeError(f"`clamp` must be None or a pair (low, high), got {clamp!r}")
    low, high = _checks.number("clamp[0]", clamp[0]), _checks.number("clamp[1]", clamp[1])
    if low >= high:
        raise ValueError(f"`clamp` must have low < high, got {clamp!r}")
    return low, high


def _targets(name: str, y: object, x: Tensor) -> Tensor:
    return _checks.labels(name, y, shape=(x.shape[0],), device=x.device)


def _loss_gradient(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Gradient of the summed cross-entropy with respect to the input (model left as it was)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


# --------------------------------------------------------------------------------------
# Attacks
# --------------------------------------------------------------------------------------
def project_linf(
    x_adv: Tensor, x: Tensor, eps: float, clamp: tuple[float, float] | None = (0.0, 1.0)
) -> Tensor:
    r"""Project onto the :math:`L_\infty` ball of radius ``eps`` around ``x`` and the pixel box.

    The set is :math:`\{\tilde{\mathbf{x}}: \|\tilde{\mathbf{x}} - \mathbf{x}\|_\infty \le
    \epsilon,\ a \le \tilde x_j \le b\}`; the projection is

    .. math::

        \Pi(\tilde{\mathbf{x}})_j = \min\bigl(\max(\tilde x_j,\ \max(x_j - \epsilon, a)),\
        \min(x_j + \epsilon, b)\bigr)

    (Chapter 20, eq. ``robust-project``). Both sets are boxes, so is their intersection,
    and the projection onto a box clips each coordinate on its own.

    Parameters
    ----------
    x_adv : Tensor, shape (N, ...)
        The point to project.
    x : Tensor, shape (N, ...)
        The clean inputs (the ball's centres), assumed to lie in the box.
    eps : float
        Radius :math:`\epsilon \ge 0`.
    clamp : (float, float) or None, default (0.0, 1.0)
        The pixel box :math:`[a, b]`; ``None`` for no box.

    Returns
    -------
    Tensor, shape of ``x``

    Raises
    ------
    TypeError, ValueError
        On non-floating tensors, differing shapes, dtypes or devices, a negative ``eps``
        or a bad ``clamp``.

    Examples
    --------
    >>> project_linf(torch.tensor([0.9, -0.5, 0.3]), torch.tensor([0.5, 0.1, 0.2]), 0.1)
    tensor([0.6000, 0.0000, 0.3000])
    """
    x_adv = _checks.float_tensor("x_adv", x_adv)
    x = _checks.float_tensor("x", x)
    _checks.same_device(x=x, x_adv=x_adv)
    _checks.same_dtype(x=x, x_adv=x_adv)
    if x_adv.shape != x.shape:
        raise ValueError(
            f"`x_adv` must have the shape of `x` {tuple(x.shape)}, got {tuple(x_adv.shape)}"
        )
    eps = _checks.non_negative("eps", eps)
    box = _box(clamp)
    low, high = x - eps, x + eps
    if box is not None:
        low, high = low.clamp(min=box[0]), high.clamp(max=box[1])
    return torch.minimum(torch.maximum(x_adv, low), high)


def fgsm(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    clamp: tuple[float, float] | None = (0.0, 1.0),
) -> Tensor:
    r"""Fast gradient sign method: one step of size :math:`\epsilon` up the loss's sign.

    .. math:: \tilde{\mathbf{x}} = \mathrm{clip}_{[a,b]}\bigl(\mathbf{x} + \epsilon\,
        \mathrm{sign}(\nabla_{\mathbf{x}} L(\mathbf{x}, y))\bigr)

    (Chapter 20, eq. ``robust-fgsm``), with :math:`L` the cross-entropy of
    ``model(x)`` against ``y``. It maximises the loss's linearisation over the
    :math:`L_\infty` ball exactly.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits of shape (N, K). Its parameters and mode are not changed.
    x : Tensor, shape (N, ...)
        Clean inputs, floating point.
    y : Tensor, shape (N,)
        Integer labels (any integer dtype).
    eps : float
        :math:`\epsilon \ge 0`.
    clamp : (float, float) or None, default (0.0, 1.0)
        The pixel range; ``None`` for none.

    Returns
    -------
    Tensor, shape, dtype and device of ``x``, detached.

    Raises
    ------
    TypeError, ValueError
        On a model that is not an ``nn.Module``, non-floating or non-finite ``x``, labels
        of the wrong shape, dtype or device, a negative ``eps`` or a bad ``clamp``.

    References
    ----------
    Goodfellow, Shlens and Szegedy, "Explaining and harnessing adversarial examples",
    ICLR 2015.

    Examples
    --------
    >>> model = nn.Linear(2, 2, bias=False)
    >>> _ = model.weight.data.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
    >>> fgsm(model, torch.tensor([[0.5, 0.5]]), torch.tensor([0]), 0.1)
    tensor([[0.4000, 0.6000]])
    """
    model = _model(model)
    x = _images("x", x)
    y = _targets("y", y, x)
    eps = _checks.non_negative("eps", eps)
    box = _box(clamp)
    x_adv = x.detach() + eps * _loss_gradient(model, x, y).sign()
    return x_adv.clamp(*box) if box is not None else x_adv


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = True,
    clamp: tuple[float, float] | None = (0.0, 1.0),
    generator: torch.Generator | None = None,
    return_iterates: bool = False,
) -> Any:
    r"""Projected gradient descent (ascent on the loss) in the :math:`L_\infty` ball.

    .. math:: \mathbf{x}^{(t+1)} = \Pi_{\mathbf{x},\epsilon}\bigl(\mathbf{x}^{(t)} + \alpha\,
        \mathrm{sign}(\nabla_{\mathbf{x}} L(\mathbf{x}^{(t)}, y))\bigr)

    (Chapter 20, eq. ``robust-pgd``), from :math:`\mathbf{x}^{(0)} = \mathbf{x}` or, with
    ``random_start``, from a uniform point of the ball (then projected into the box).
    :math:`\Pi` is :func:`project_linf`. With ``random_start=False``, ``steps=1`` and
    ``alpha=eps`` it is :func:`fgsm`.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` to logits (N, K); left unchanged.
    x : Tensor, shape (N, ...)
    y : Tensor, shape (N,)
        Integer labels.
    eps, alpha : float
        Radius :math:`\epsilon \ge 0` and step size :math:`\alpha > 0`.
    steps : int
        Number of steps :math:`T \ge 1`.
    random_start : bool, default True
    clamp : (float, float) or None, default (0.0, 1.0)
    generator : torch.Generator, optional
        Source of the random start (on ``x``'s device).
    return_iterates : bool, default False
        Also return the list of all iterates :math:`\mathbf{x}^{(0)}, \dots, \mathbf{x}^{(T)}`.

    Returns
    -------
    Tensor, shape of ``x`` (the last iterate), or (Tensor, list of Tensor)

    Raises
    ------
    TypeError, ValueError
        As :func:`fgsm`, and on a non-positive ``alpha`` or ``steps``.

    References
    ----------
    Madry, Makelov, Schmidt, Tsipras and Vladu, "Towards deep learning models resistant
    to adversarial attacks", ICLR 2018.

    Examples
    --------
    >>> model = nn.Linear(2, 2, bias=False)
    >>> _ = model.weight.data.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
    >>> pgd(model, torch.tensor([[0.5, 0.5]]), torch.tensor([0]), 0.1, 0.04, 5, False)
    tensor([[0.4000, 0.6000]])
    """
    model = _model(model)
    x = _images("x", x)
    y = _targets("y", y, x)
    eps = _checks.non_negative("eps", eps)
    alpha = _checks.positive("alpha", alpha)
    steps = _checks.positive_int("steps", steps)
    generator = _checks.generator("generator", generator)
    box = _box(clamp)
    x = x.detach()
    x_adv = x.clone()
    if random_start:
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x_adv = project_linf(x + eps * (2 * u - 1), x, eps, box)
    iterates = [x_adv]
    for _ in range(steps):
        step = alpha * _loss_gradient(model, x_adv, y).sign()
        x_adv = project_linf(x_adv + step, x, eps, box)  # eq. robust-pgd
        iterates.append(x_adv)
    return (x_adv, iterates) if return_iterates else x_adv


# --------------------------------------------------------------------------------------
# Attributions
# --------------------------------------------------------------------------------------
def _target_column(name: str, target: object, n: int, like: Tensor) -> Tensor | None:
    if target is None:
        return None
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return torch.full((n,), int(target), dtype=torch.int64, device=like.device)
    return _checks.labels(name, target, shape=(n,), device=like.device)


def _target_scores(model: nn.Module, x: Tensor, target: Tensor | None) -> Tensor:
    out: Tensor = model(x)
    if out.ndim != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(f"`model` must return scores of shape (N, K), got {tuple(out.shape)}")
    if target is None:
        if out.shape[1] != 1:
            raise ValueError(f"`target` is needed for a model with {out.shape[1]} outputs")
        return out[:, 0]
    if int(target.max()) >= out.shape[1]:
        raise ValueError(f"`target` must lie in [0, {out.shape[1]}), got {int(target.max())}")
    return out.gather(1, target[:, None])[:, 0]  # (N, K) -> (N,)


def saliency(
    model: nn.Module,
    inputs: Tensor,
    target: int | Tensor | None = None,
    abs: bool = True,  # noqa: A002 (Captum's name)
) -> Tensor:
    r"""Saliency map: the gradient of the target class's score with respect to the input.

    .. math:: M_j(\mathbf{x}) = \Bigl|\frac{\partial f_c(\mathbf{x})}{\partial x_j}\Bigr|

    (Chapter 20, eq. ``robust-saliency``; without ``abs``, the signed gradient), with
    :math:`f_c` the ``target`` column of ``model(x)`` (a logit, not a probability).
    The arguments are those of Captum's ``Saliency.attribute``.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` (N, ...) to scores (N, K).
    inputs : Tensor, shape (N, ...)
        The images :math:`\mathbf{x}`.
    target : int, Tensor of shape (N,), or None
        The class :math:`c` for every example, or one per example; ``None`` only for a
        model with one output.
    abs : bool, default True

    Returns
    -------
    Tensor, shape of ``x``

    Raises
    ------
    TypeError, ValueError
        On a bad model, input or target.

    References
    ----------
    Simonyan, Vedaldi and Zisserman, "Deep inside convolutional networks", ICLR 2014
    workshop.

    Examples
    --------
    >>> model = nn.Linear(3, 2, bias=False)
    >>> _ = model.weight.data.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]]))
    >>> saliency(model, torch.zeros(1, 3), 0)
    tensor([[1.0000, 2.0000, 0.5000]])
    """
    model = _model(model)
    x = _images("inputs", inputs)
    c = _target_column("target", target, x.shape[0], x)
    xg = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(_target_scores(model, xg, c).sum(), xg)
    return grad.abs() if abs else grad


def _quadrature(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """Nodes t_k in [0, 1] and weights w_k of the quadrature rule (Chapter 20, section 20.4)."""
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)  # on [-1, 1]
        return (0.5 * (nodes + 1)).tolist(), (0.5 * weights).tolist()
    if n_steps < 2:
        raise ValueError(f"`n_steps` must be >= 2 for {method}, got {n_steps}")
    if method == "riemann_trapezoid":  # n nodes, n - 1 intervals of width 1 / (n - 1)
        h = 1.0 / (n_steps - 1)
        return np.linspace(0, 1, n_steps).tolist(), [h / 2] + [h] * (n_steps - 2) + [h / 2]
    h = 1.0 / n_steps
    start = {"riemann_left": 0.0, "riemann_middle": h / 2, "riemann_right": h}[method]
    return [start + k * h for k in range(n_steps)], [h] * n_steps


def integrated_gradients(
    model: nn.Module,
    inputs: Tensor,
    baselines: Tensor | float | None = None,
    target: int | Tensor | None = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
) -> Tensor:
    r"""Integrated gradients of the target score along the straight path from a baseline.

    .. math::

        \mathrm{IG}_j(\mathbf{x}) = (x_j - x'_j) \int_0^1
            \frac{\partial f_c}{\partial x_j}\bigl(\mathbf{x}' + t(\mathbf{x} - \mathbf{x}')\bigr)
            \, dt
        \approx (x_j - x'_j) \sum_{k} w_k\, \frac{\partial f_c}{\partial x_j}
            \bigl(\mathbf{x}' + t_k(\mathbf{x} - \mathbf{x}')\bigr)

    (Chapter 20, eq. ``robust-ig`` and its quadrature). The exact integral satisfies
    *completeness*, :math:`\sum_j \mathrm{IG}_j = f_c(\mathbf{x}) - f_c(\mathbf{x}')`; the sum
    approximates it with the nodes :math:`t_k` and weights :math:`w_k` of ``method``.
    The arguments are those of Captum's ``IntegratedGradients.attribute``.

    Parameters
    ----------
    model : nn.Module
        Maps ``x`` (N, ...) to scores (N, K).
    inputs : Tensor, shape (N, ...)
        The images :math:`\mathbf{x}`.
    baselines : Tensor of the shape of ``inputs``, float, or None
        :math:`\mathbf{x}'`; ``None`` means zeros, a float a constant image.
    target : int, Tensor of shape (N,), or None
        As for :func:`saliency`.
    n_steps : int, default 50
        Number of nodes.
    method : str, default "gausslegendre"
        One of :data:`IG_METHODS`. ``"riemann_trapezoid"`` is the true trapezoid rule (n
        nodes 1/(n-1) apart, weights 1/(n-1), ends halved); Captum 0.9's weights are 1/n
        (ends 1/(2n)), so its result is (n-1)/n times this one. The other rules equal Captum's.

    Returns
    -------
    Tensor, shape of ``x``

    Raises
    ------
    TypeError, ValueError
        On a bad model, input, target, baseline, step count or method.

    References
    ----------
    Sundararajan, Taly and Yan, "Axiomatic attribution for deep networks", ICML 2017.

    Examples
    --------
    >>> model = nn.Linear(3, 2)
    >>> x = torch.tensor([[1.0, 2.0, 3.0]])
    >>> ig = integrated_gradients(model, x, target=1, n_steps=4)
    >>> bool(torch.isclose(ig.sum(), (model(x) - model(torch.zeros_like(x)))[0, 1]))
    True
    """
    model = _model(model)
    x = _images("inputs", inputs)
    c = _target_column("target", target, x.shape[0], x)
    if baselines is None or (
        isinstance(baselines, (int, float)) and not isinstance(baselines, bool)
    ):
        base = torch.full_like(x, 0.0 if baselines is None else float(baselines))
    else:
        base = _checks.float_tensor("baselines", baselines)
        _checks.same_device(inputs=x, baselines=base)
        _checks.same_dtype(inputs=x, baselines=base)
        if base.shape != x.shape:
            raise ValueError(
                f"`baselines` must have the shape of `inputs` {tuple(x.shape)}, got "
                f"{tuple(base.shape)}"
            )
    n_steps = _checks.positive_int("n_steps", n_steps)
    if method not in IG_METHODS:
        raise ValueError(f"`method` must be one of {IG_METHODS}, got {method!r}")
    nodes, weights = _quadrature(method, n_steps)
    x, base = x.detach(), base.detach()
    t = torch.tensor(nodes, dtype=x.dtype, device=x.device)
    w = torch.tensor(weights, dtype=x.dtype, device=x.device)
    shape = (n_steps,) + (1,) * x.ndim
    path = base + t.view(shape) * (x - base)  # (S, N, ...): the points on the path
    path = path.flatten(0, 1).requires_grad_(True)  # (S, N, ...) -> (S N, ...)
    with torch.enable_grad():
        scores = _target_scores(model, path, None if c is None else c.repeat(n_steps))
        (grad,) = torch.autograd.grad(scores.sum(), path)
    grad = grad.view(n_steps, *x.shape)  # (S N, ...) -> (S, N, ...)
    return (x - base) * (w.view(shape) * grad).sum(0)  # the quadrature of eq. robust-ig


# --------------------------------------------------------------------------------------
# Fairness
# --------------------------------------------------------------------------------------
def _vector(name: str, v: object) -> np.ndarray:
    if isinstance(v, Tensor):
        v = v.detach().cpu().numpy()
    if isinstance(v, (list, tuple)):
        v = np.asarray(v)
    if not isinstance(v, np.ndarray):
        raise TypeError(f"`{name}` must be a 1-D tensor, array or list, got {type(v).__name__}")
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"`{name}` must be 1-D and non-empty, got shape {v.shape}")
    return v


def _binary(name: str, v: object) -> np.ndarray:
    a = _vector(name, v)
    if a.dtype.kind not in "biuf" or not np.isin(a, (0, 1)).all():
        raise ValueError(f"`{name}` must hold only 0 and 1, got values {np.unique(a)[:5]}")
    return a.astype(np.int64)


def _fair_inputs(
    y_true: object, y_pred: object, sensitive_features: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yt, yp = _binary("y_true", y_true), _binary("y_pred", y_pred)
    s = _vector("sensitive_features", sensitive_features)
    if not len(yt) == len(yp) == len(s):
        raise ValueError(
            f"`y_true`, `y_pred` and `sensitive_features` must have one length, got "
            f"{len(yt)}, {len(yp)} and {len(s)}"
        )
    return yt, yp, s


def group_rates(
    y_true: object, y_pred: object, *, sensitive_features: object
) -> dict[Any, dict[str, float]]:
    r"""Per group :math:`a`: base rate, selection rate, TPR, FPR, FNR and PPV.

    .. math::

        \Pr(Y{=}1 \mid A{=}a),\ \Pr(\hat Y{=}1 \mid A{=}a),\
        \Pr(\hat Y{=}1 \mid Y{=}1, A{=}a),\ \Pr(\hat Y{=}1 \mid Y{=}0, A{=}a),\ \dots

    (Chapter 20, fairness criteria). A rate whose condition never occurs is ``nan``.

    Parameters
    ----------
    y_true, y_pred : 1-D tensor, array or list of 0/1
    sensitive_features : 1-D tensor, array or list
        The group of each example.

    Returns
    -------
    dict
        ``{group: {"base_rate", "selection_rate", "tpr", "fpr", "fnr", "ppv", "count"}}``.

    Raises
    ------
    TypeError, ValueError
        On non-vector inputs, labels other than 0/1 or differing lengths.

    Examples
    --------
    >>> r = group_rates([1, 0, 1, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> r["a"]["fpr"], r["b"]["tpr"]
    (1.0, 0.0)
    """
    yt, yp, s = _fair_inputs(y_true, y_pred, sensitive_features)

    def mean(v: np.ndarray) -> float:
        return float(v.mean()) if v.size else float("nan")

    out: dict[Any, dict[str, float]] = {}
    for g in np.unique(s):
        m = s == g
        t, p = yt[m], yp[m]
        out[g.item()] = {
            "count": float(m.sum()),
            "base_rate": mean(t),
            "selection_rate": mean(p),
            "tpr": mean(p[t == 1]),
            "fpr": mean(p[t == 0]),
            "fnr": mean(1 - p[t == 1]),
            "ppv": mean(t[p == 1]),
        }
    return out


def demographic_parity_difference(
    y_true: object, y_pred: object, *, sensitive_features: object
) -> float:
    r"""Largest gap in selection rate between groups.

    .. math:: \Delta_{\mathrm{DP}} = \max_a \Pr(\hat Y{=}1 \mid A{=}a)
        - \min_a \Pr(\hat Y{=}1 \mid A{=}a)

    (Chapter 20, section 20.5); fairlearn's function of the same name with its
    default ``method="between_groups"``. ``y_true`` is checked but not used.

    Parameters
    ----------
    y_true, y_pred : 1-D tensor, array or list of 0/1
    sensitive_features : 1-D tensor, array or list

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    TypeError, ValueError
        As :func:`group_rates`.

    References
    ----------
    Bird et al., "Fairlearn: a toolkit for assessing and improving fairness in AI", 2020.

    Examples
    --------
    >>> demographic_parity_difference([0, 0, 0, 0], [1, 1, 1, 0], sensitive_features=[0, 0, 1, 1])
    0.5
    """
    rates = group_rates(y_true, y_pred, sensitive_features=sensitive_features)
    sel = [r["selection_rate"] for r in rates.values()]
    return max(sel) - min(sel)


def equalized_odds_difference(
    y_true: object, y_pred: object, *, sensitive_features: object
) -> float:
    r"""The larger of the between-group gaps in true- and in false-positive rate.

    .. math:: \Delta_{\mathrm{EO}} = \max\Bigl(\max_a \mathrm{TPR}_a - \min_a \mathrm{TPR}_a,\
        \max_a \mathrm{FPR}_a - \min_a \mathrm{FPR}_a\Bigr)

    (Chapter 20, section 20.5); fairlearn's function of the same name with its
    defaults (``method="between_groups"``, ``agg="worst_case"``). Equalised odds
    (Hardt et al. 2016) holds exactly when it is zero.

    Parameters
    ----------
    y_true, y_pred : 1-D tensor, array or list of 0/1
    sensitive_features : 1-D tensor, array or list

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    TypeError, ValueError
        As :func:`group_rates`, and if a group has no positive or no negative example.

    Examples
    --------
    >>> equalized_odds_difference([1, 0, 1, 0], [1, 1, 1, 0], sensitive_features=[0, 0, 1, 1])
    1.0
    """
    rates = group_rates(y_true, y_pred, sensitive_features=sensitive_features)
    gaps = []
    for key in ("tpr", "fpr"):
        v = [r[key] for r in rates.values()]
        if any(np.isnan(v)):
            raise ValueError(f"every group needs positive and negative examples for its {key}")
        gaps.append(max(v) - min(v))
    return max(gaps)


def calibration_by_group(
    y_true: object, y_prob: object, *, sensitive_features: object, n_bins: int = 5
) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    r"""Reliability curve of each group: observed frequency against mean score per bin.

    .. math:: \Pr(Y{=}1 \mid S \in B_m, A{=}a) \quad \text{against} \quad
        \mathbb{E}[S \mid S \in B_m, A{=}a]

    for ``n_bins`` equal-width bins :math:`B_m` of :math:`[0, 1]` (empty bins dropped),
    as scikit-learn's ``calibration_curve(strategy="uniform")`` computes for one group.
    Calibration within groups (Chapter 20) holds when the two agree in every group.

    Parameters
    ----------
    y_true : 1-D tensor, array or list of 0/1
    y_prob : 1-D tensor, array or list of scores in [0, 1]
    sensitive_features : 1-D tensor, array or list
    n_bins : int, default 5

    Returns
    -------
    dict
        ``{group: (prob_true, prob_pred)}``, numpy arrays of equal length.

    Raises
    ------
    TypeError, ValueError
        On bad vectors, scores outside [0, 1] or a non-positive ``n_bins``.

    Examples
    --------
    >>> curve = calibration_by_group([0, 1, 1, 1], [0.25, 0.75, 0.75, 0.75],
    ...                              sensitive_features=[0, 0, 1, 1], n_bins=2)
    >>> curve[0][0].tolist(), curve[1][1].tolist()
    ([0.0, 1.0], [0.75])
    """
    yt = _binary("y_true", y_true)
    p = _vector("y_prob", y_prob).astype(np.float64)
    s = _vector("sensitive_features", sensitive_features)
    if not len(yt) == len(p) == len(s):
        raise ValueError(
            f"`y_true`, `y_prob` and `sensitive_features` must have one length, got "
            f"{len(yt)}, {len(p)} and {len(s)}"
        )
    if not ((p >= 0) & (p <= 1)).all():
        raise ValueError("`y_prob` must lie in [0, 1]")
    n_bins = _checks.positive_int("n_bins", n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    out: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
    for g in np.unique(s):
        m = s == g
        idx = np.searchsorted(
            edges[1:-1], p[m]
        )  # bin of each score (a score on an edge: the lower bin)
        count = np.bincount(idx, minlength=n_bins)
        hits = np.bincount(idx, weights=yt[m], minlength=n_bins)
        total = np.bincount(idx, weights=p[m], minlength=n_bins)
        keep = count > 0
        out[g.item()] = (hits[keep] / count[keep], total[keep] / count[keep])
    return out


def risk_population(
    n: int,
    base_rates: tuple[float, float] = (0.3, 0.5),
    concentration: float = 4.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""A synthetic population whose only bias mechanism is a difference in base rates.

    Each person gets a group :math:`A \in \{0, 1\}` (half each), a true risk
    :math:`R \sim \mathrm{Beta}(\kappa \mu_A, \kappa (1 - \mu_A))`, and an outcome
    :math:`Y \sim \mathrm{Bernoulli}(R)`, so :math:`\Pr(Y{=}1 \mid A{=}a) = \mu_a`.
    The score :math:`S = R` is then calibrated within each group by construction
    (Chapter 20, the impossibility theorem).

    Parameters
    ----------
    n : int
        Population size (>= 2).
    base_rates : (float, float), default (0.3, 0.5)
        :math:`\mu_0, \mu_1 \in (0, 1)`.
    concentration : float, default 4.0
        :math:`\kappa > 0`; larger means risks closer to the base rate.
    generator : torch.Generator, optional

    Returns
    -------
    (score, y, group) : Tensors of shape (n,)
        float64 scores, int64 outcomes and int64 groups.

    Raises
    ------
    TypeError, ValueError
        On bad sizes, rates or concentration.

    Examples
    --------
    >>> s, y, a = risk_population(10_000, generator=torch.Generator().manual_seed(0))
    >>> round(y[a == 0].double().mean().item(), 1), round(y[a == 1].double().mean().item(), 1)
    (0.3, 0.5)
    """
    n = _checks.positive_int("n", n, minimum=2)
    if not isinstance(base_rates, (tuple, list)) or len(base_rates) != 2:
        raise TypeError(f"`base_rates` must be a pair of probabilities, got {base_rates!r}")
    mu = [
        _checks.probability(f"base_rates[{i}]", b, closed=False) for i, b in enumerate(base_rates)
    ]
    if min(mu) <= 0:
        raise ValueError(f"`base_rates` must lie in (0, 1), got {base_rates!r}")
    kappa = _checks.positive("concentration", concentration)
    generator = _checks.generator("generator", generator)
    group = (torch.rand(n, generator=generator, dtype=torch.float64) < 0.5).long()
    mean = torch.tensor(mu, dtype=torch.float64)[group]
    # Beta(k m, k (1 - m)) as G1 / (G1 + G2) with Gamma draws from the explicit generator
    a, b = kappa * mean, kappa * (1 - mean)
    g1 = torch._standard_gamma(a, generator=generator)
    g2 = torch._standard_gamma(b, generator=generator)
    score = g1 / (g1 + g2)
    y = (torch.rand(n, generator=generator, dtype=torch.float64) < score).long()
    return score, y, group


# --------------------------------------------------------------------------------------
# Energy and carbon
# --------------------------------------------------------------------------------------
def energy_kwh(
    hours: float,
    cpu_watts: float,
    dram_watts: float = 0.0,
    gpu_watts: float = 0.0,
    n_gpus: int = 0,
    pue: float = STRUBELL_PUE,
) -> float:
    r"""Energy drawn from the grid by a training run, as Strubell et al. (2019) compute it.

    .. math:: E = \mathrm{PUE} \cdot t \cdot (p_c + p_r + g\, p_g) / 1000

    in kWh, for :math:`t` hours at average CPU, DRAM and per-GPU powers :math:`p_c`,
    :math:`p_r`, :math:`p_g` in watts with :math:`g` GPUs (Chapter 20, eq.
    ``robust-energy``).

    Parameters
    ----------
    hours, cpu_watts, dram_watts, gpu_watts : float
        Non-negative.
    n_gpus : int, default 0
    pue : float, default 1.58
        Power usage effectiveness, >= 1.

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        On negative or non-numeric values, or ``pue < 1``.

    References
    ----------
    Strubell, Ganesh and McCallum, "Energy and policy considerations for deep learning in
    NLP", ACL 2019.

    Examples
    --------
    >>> round(energy_kwh(10.0, 100.0, pue=1.0), 3)
    1.0
    """
    t = _checks.non_negative("hours", hours)
    pc = _checks.non_negative("cpu_watts", cpu_watts)
    pr = _checks.non_negative("dram_watts", dram_watts)
    pg = _checks.non_negative("gpu_watts", gpu_watts)
    g = _checks.positive_int("n_gpus", n_gpus, minimum=0)
    pue = _checks.number("pue", pue, minimum=1.0)
    return pue * t * (pc + pr + g * pg) / 1000.0  # eq. robust-energy


def co2e_kg(kwh: float, kg_per_kwh: float = STRUBELL_LBS_PER_KWH * _LB_TO_KG) -> float:
    r"""Carbon-dioxide equivalent of an energy use: :math:`\mathrm{CO_2e} = c \cdot E`.

    :math:`c` is the grid's carbon intensity in kg per kWh; the default is Strubell et
    al.'s US average, 0.954 lb/kWh = 0.433 kg/kWh (Chapter 20, eq. ``robust-energy``).

    Examples
    --------
    >>> round(co2e_kg(1.0) / 0.45359237, 3)  # back in pounds
    0.954
    """
    e = _checks.non_negative("kwh", kwh)
    c = _checks.non_negative("kg_per_kwh", kg_per_kwh)
    return c * e


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
