r"""Meta-learning by gradient descent: MAML on Finn et al.'s sine waves (Chapter 19).

A *task* is a sine wave :math:`y = A \sin(x - \varphi)` (:func:`sine_tasks` draws a batch
of them with their points). The model is a small ReLU network written as a function of an
explicit list of parameters (:func:`init_mlp`, :func:`mlp_forward`), so that the same code
runs with one set of parameters for all tasks or with one set per task. Adaptation is
plain gradient descent on a task's few support points (:func:`inner_update`,
:func:`adapt`); MAML trains the starting point through that descent
(:func:`maml_loss`), with the exact second-order meta-gradient or with its first-order
approximation; :func:`adaptation_curve` measures the query error step by step.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "adapt",
    "adaptation_curve",
    "init_mlp",
    "inner_update",
    "maml_loss",
    "mlp_forward",
    "mse_per_task",
    "sine_tasks",
]


def _generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}")
    return generator


def _range(name: str, value: object) -> tuple[float, float]:
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"`{name}` must be a pair (low, high), got {value!r}")
    low, high = _checks.number(f"{name}[0]", value[0]), _checks.number(f"{name}[1]", value[1])
    if not low <= high:
        raise ValueError(f"`{name}` must have low <= high, got {value!r}")
    return low, high


def _uniform(shape: tuple[int, ...], low: float, high: float, g: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=g, dtype=torch.float64)


def sine_tasks(
    num_tasks: int,
    num_points: int,
    *,
    generator: torch.Generator,
    amplitude_range: tuple[float, float] = (0.1, 5.0),
    phase_range: tuple[float, float] = (0.0, math.pi),
    x_range: tuple[float, float] = (-5.0, 5.0),
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Draw sine-wave regression tasks and points on each, as in Finn et al. (2017).

    .. math:: A_t \sim \mathcal U[0.1, 5], \quad \varphi_t \sim \mathcal U[0, \pi], \quad
        x_{tn} \sim \mathcal U[-5, 5], \quad y_{tn} = A_t \sin(x_{tn} - \varphi_t)

    (Chapter 19, section 19.6). The ranges are the paper's (section 5.1); the sign of
    the phase is a convention (the phase is uniform on an interval of length :math:`\pi`).
    Draws are made in float64 on the CPU (amplitudes, phases, then points) and cast, so
    a seed gives the same tasks on every device and dtype.

    Parameters
    ----------
    num_tasks, num_points : int
        :math:`T \ge 1` tasks with :math:`N \ge 1` points each.
    generator : torch.Generator
        Source of every draw (on the CPU).
    amplitude_range, phase_range, x_range : (float, float)
        The uniform ranges of :math:`A`, :math:`\varphi` and :math:`x`.
    dtype : torch.dtype, default torch.float32
        Floating-point type of the results.
    device : str or torch.device, optional
        Where the results are created (default: the CPU).

    Returns
    -------
    (Tensor, Tensor, Tensor, Tensor)
        ``x`` and ``y`` of shape (T, N, 1), ``amplitude`` and ``phase`` of shape (T,).

    Raises
    ------
    TypeError
        If a count is not an int, a range not a pair, or ``dtype`` not floating.
    ValueError
        If a count is below 1 or a range has low > high.

    References
    ----------
    Finn, Abbeel and Levine, "Model-agnostic meta-learning for fast adaptation of deep
    networks", ICML 2017, section 5.1.

    Examples
    --------
    >>> x, y, A, phi = sine_tasks(3, 5, generator=torch.Generator().manual_seed(0))
    >>> tuple(x.shape), tuple(A.shape)
    ((3, 5, 1), (3,))
    >>> bool(torch.allclose(y, A[:, None, None] * torch.sin(x - phi[:, None, None])))
    True
    """
    T = _checks.positive_int("num_tasks", num_tasks)
    N = _checks.positive_int("num_points", num_points)
    g = _generator(generator)
    a_lo, a_hi = _range("amplitude_range", amplitude_range)
    p_lo, p_hi = _range("phase_range", phase_range)
    x_lo, x_hi = _range("x_range", x_range)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"`dtype` must be a floating-point torch.dtype, got {dtype!r}")
    amplitude = _uniform((T,), a_lo, a_hi, g)
    phase = _uniform((T,), p_lo, p_hi, g)
    x = _uniform((T, N, 1), x_lo, x_hi, g)
    y = amplitude[:, None, None] * torch.sin(x - phase[:, None, None])  # y = A sin(x - phi)
    out = (x, y, amplitude, phase)
    return tuple(t.to(device=device, dtype=dtype) for t in out)  # type: ignore[return-value]


def init_mlp(
    sizes: Sequence[int],
    *,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
) -> list[Tensor]:
    r"""Parameters of an MLP with layer widths ``sizes``, initialised as ``nn.Linear`` does.

    Layer :math:`\ell` gets :math:`W_\ell` of shape (out, in) and :math:`\mathbf b_\ell` of
    shape (out,), both uniform on :math:`\pm 1/\sqrt{\text{in}}` (PyTorch's default,
    Chapter 9), drawn weight then bias, layer by layer. Finn et al.'s sine regressor is
    ``sizes = (1, 40, 40, 1)``.

    Parameters
    ----------
    sizes : sequence of int
        :math:`(d_0, d_1, \dots, d_M)`, at least two widths, each >= 1.
    generator : torch.Generator
        Source of the draws (on the CPU).
    dtype : torch.dtype, default torch.float32
    device : str or torch.device, optional

    Returns
    -------
    list of Tensor
        ``[W_1, b_1, ..., W_M, b_M]``, leaves with ``requires_grad=True``; the order and
        shapes of an ``nn.Sequential`` of ``nn.Linear`` layers' ``parameters()``.

    Raises
    ------
    TypeError, ValueError
        If ``sizes`` has fewer than two entries or one is not an int >= 1.

    Examples
    --------
    >>> [tuple(p.shape) for p in init_mlp([1, 40, 1], generator=torch.Generator())]
    [(40, 1), (40,), (1, 40), (1,)]
    """
    if not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"`sizes` must list at least two layer widths, got {sizes!r}")
    widths = [_checks.positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    g = _generator(generator)
    params: list[Tensor] = []
    for d_in, d_out in itertools.pairwise(widths):
        bound = 1.0 / math.sqrt(d_in)
        for shape in ((d_out, d_in), (d_out,)):
            p = (2 * torch.rand(shape, generator=g, dtype=torch.float64) - 1) * bound
            params.append(p.to(device=device, dtype=dtype).requires_grad_())
    return params


def _check_params(params: object) -> list[Tensor]:
    if not isinstance(params, (list, tuple)) or len(params) < 2 or len(params) % 2:
        raise TypeError("`params` must be a list [W_1, b_1, ..., W_M, b_M] of tensors")
    out = [_checks.float_tensor(f"params[{i}]", p) for i, p in enumerate(params)]
    _checks.same_device(**{f"params[{i}]": p for i, p in enumerate(out)})
    return out


def mlp_forward(params: Sequence[Tensor], x: Tensor) -> Tensor:
    r"""The ReLU network :math:`f_{\btheta}(\mathbf x)`, for shared or per-task parameters.

    .. math:: \mathbf h_0 = \mathbf x, \qquad
        \mathbf h_\ell = \operatorname{ReLU}(W_\ell \mathbf h_{\ell-1} + \mathbf b_\ell), \qquad
        f_{\btheta}(\mathbf x) = W_M \mathbf h_{M-1} + \mathbf b_M

    (Chapter 19; Chapter 8's MLP). Parameters either have ``nn.Linear``'s shapes, shared
    by every row of ``x``, or carry a leading task axis of length :math:`T` (then ``x``
    has shape (T, N, in) and task :math:`t` uses its own parameters).

    Parameters
    ----------
    params : list of Tensor
        ``[W_1, b_1, ..., W_M, b_M]``, :math:`W_\ell` of shape (out, in) or (T, out, in),
        :math:`\mathbf b_\ell` of shape (out,) or (T, out).
    x : Tensor, shape (..., in)
        Inputs, of the parameters' dtype and device; (T, N, in) for per-task parameters.

    Returns
    -------
    Tensor, shape (..., out)

    Raises
    ------
    TypeError
        If ``params`` is not a list of an even number of floating tensors, or ``x`` is not
        floating.
    ValueError
        If a shape does not fit or the devices differ.

    Examples
    --------
    >>> p = init_mlp([1, 8, 1], generator=torch.Generator().manual_seed(0))
    >>> tuple(mlp_forward(p, torch.zeros(5, 1)).shape)
    (5, 1)
    """
    ps = _check_params(params)
    h = _checks.float_tensor("x", x, min_ndim=1)
    _checks.same_device(x=h, **{"params[0]": ps[0]})
    M = len(ps) // 2
    for ell in range(M):
        W, b = ps[2 * ell], ps[2 * ell + 1]
        if W.ndim not in (2, 3) or b.ndim != W.ndim - 1 or b.shape[-1] != W.shape[-2]:
            raise ValueError(
                f"`params[{2 * ell}]` and `params[{2 * ell + 1}]` must have shapes (out, in) "
                f"and (out,) (or with a leading task axis), got {tuple(W.shape)} and "
                f"{tuple(b.shape)}"
            )
        if h.shape[-1] != W.shape[-1]:
            raise ValueError(
                f"layer {ell + 1} expects {W.shape[-1]} input features, got shape {tuple(h.shape)}"
            )
        if W.ndim == 2:
            h = h @ W.T + b  # (..., in) @ (in, out) -> (..., out)
        else:
            if h.ndim != 3 or h.shape[0] != W.shape[0]:
                raise ValueError(
                    f"per-task parameters for {W.shape[0]} tasks need `x` of shape "
                    f"({W.shape[0]}, N, in), got {tuple(h.shape)}"
                )
            h = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))  # (T, N, in) -> (T, N, out)
        if ell < M - 1:
            h = torch.relu(h)
    return h


def mse_per_task(y_hat: Tensor, y: Tensor) -> Tensor:
    r"""Mean squared error of each task, averaged over its points (and outputs).

    .. math:: L_t = \frac1N \sum_{n=1}^N \lVert \hat{\mathbf y}_{tn} - \mathbf y_{tn} \rVert^2
        / d_{\mathrm{out}}

    Parameters
    ----------
    y_hat, y : Tensor, shape (T, N, out)

    Returns
    -------
    Tensor, shape (T,)

    Raises
    ------
    TypeError, ValueError
        If the inputs are not 3-D floating tensors of one shape.

    Examples
    --------
    >>> mse_per_task(torch.ones(2, 3, 1), torch.zeros(2, 3, 1))
    tensor([1., 1.])
    """
    a = _checks.float_tensor("y_hat", y_hat, ndim=3)
    b = _checks.float_tensor("y", y, ndim=3)
    if a.shape != b.shape:
        raise ValueError(
            f"`y` must have the shape of `y_hat` {tuple(a.shape)}, got {tuple(b.shape)}"
        )
    return ((a - b) ** 2).mean(dim=(1, 2))


def inner_update(
    params: Sequence[Tensor], loss: Tensor, alpha: float, *, first_order: bool = False
) -> list[Tensor]:
    r"""One step of gradient descent on ``loss``, kept differentiable for MAML.

    .. math:: \btheta' = \btheta - \alpha \nabla_{\btheta} L(\btheta)

    (Chapter 19, eq. ``ssl-inner``). With ``first_order=False`` the gradient is computed
    with ``create_graph=True``, so a loss of :math:`\btheta'` can be differentiated with
    respect to :math:`\btheta` *through* the step: the Hessian term of eq.
    ``ssl-metagrad``. With ``first_order=True`` the gradient is treated as a constant
    (detached) and :math:`\partial \btheta' / \partial \btheta = I`: first-order MAML.

    Parameters
    ----------
    params : list of Tensor
        Tensors that ``loss`` depends on and that require gradients (leaves or not).
    loss : Tensor, shape ()
        A scalar computed from ``params``.
    alpha : float
        Step size :math:`\alpha \ge 0`.
    first_order : bool, default False
        Drop the second-order term.

    Returns
    -------
    list of Tensor
        :math:`\btheta'`, one tensor per parameter, same shapes.

    Raises
    ------
    TypeError
        If ``params`` is not a list of floating tensors or ``loss`` is not a tensor.
    ValueError
        If ``loss`` is not a scalar, a parameter does not require gradients, or ``alpha``
        is negative.

    References
    ----------
    Finn, Abbeel and Levine, ICML 2017, section 2.2 and section 5.2 (the first-order
    approximation).

    Examples
    --------
    >>> w = torch.tensor(2.0, requires_grad=True)
    >>> (w2,) = inner_update([w], w**2, 0.25)
    >>> w2.detach().item(), torch.autograd.grad(w2, w)[0].item()  # 2 - 0.25*4 and 1 - 0.25*2
    (1.0, 0.5)
    """
    ps = [_checks.float_tensor(f"params[{i}]", p) for i, p in enumerate(params)]
    if not isinstance(loss, Tensor):
        raise TypeError(f"`loss` must be a scalar torch.Tensor, got {type(loss).__name__}")
    if loss.ndim != 0:
        raise ValueError(f"`loss` must be a scalar (0-d) tensor, got shape {tuple(loss.shape)}")
    for i, p in enumerate(ps):
        if not p.requires_grad:
            raise ValueError(f"`params[{i}]` must require gradients (the step differentiates it)")
    a = _checks.non_negative("alpha", alpha)
    grads = torch.autograd.grad(loss, ps, create_graph=not first_order)
    if first_order:
        grads = tuple(g.detach() for g in grads)
    return [p - a * g for p, g in zip(ps, grads, strict=False)]  # eq. ssl-inner


def _per_task(params: Sequence[Tensor], T: int) -> list[Tensor]:
    """One copy of each parameter per task: (T, *shape), still attached to ``params``."""
    out = []
    for p in params:
        view = p.unsqueeze(0).expand(T, *p.shape)  # (shape) -> (T, *shape)
        if not view.requires_grad:
            view = view.clone().requires_grad_()
        out.append(view)
    return out


def _check_task_data(x: Tensor, y: Tensor, what: str) -> tuple[Tensor, Tensor]:
    a = _checks.float_tensor(f"x_{what}", x, ndim=3)
    b = _checks.float_tensor(f"y_{what}", y, ndim=3)
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(
            f"`y_{what}` must have the tasks and points of `x_{what}` {tuple(a.shape[:2])}, "
            f"got {tuple(b.shape)}"
        )
    return a, b


def adapt(
    params: Sequence[Tensor],
    x_support: Tensor,
    y_support: Tensor,
    *,
    alpha: float = 0.01,
    steps: int = 1,
    first_order: bool = False,
) -> list[Tensor]:
    r"""Adapt shared parameters to each of :math:`T` tasks by ``steps`` of gradient descent.

    .. math:: \btheta_t^{(0)} = \btheta, \qquad \btheta_t^{(s+1)} = \btheta_t^{(s)} - \alpha
        \nabla L_t^{\mathrm{sup}}(\btheta_t^{(s)})

    (Chapter 19, eq. ``ssl-inner``), every step on the same support points, every task
    with its own copy of the parameters (a leading task axis). Differentiable with
    respect to ``params`` as :func:`inner_update` says.

    Parameters
    ----------
    params : list of Tensor
        Shared parameters ``[W_1, b_1, ...]`` in ``nn.Linear``'s shapes.
    x_support, y_support : Tensor, shape (T, K, in) and (T, K, out)
        Each task's :math:`K` support points.
    alpha : float, default 0.01
        Inner step size (Finn et al.'s value for the sine waves).
    steps : int, default 1
        Number of steps, :math:`\ge 0`.
    first_order : bool, default False
        Use first-order MAML's constant gradients.

    Returns
    -------
    list of Tensor
        Per-task parameters, each of shape (T, *shape).

    Raises
    ------
    TypeError, ValueError
        On malformed parameters or data, a negative step size or step count.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> p = init_mlp([1, 8, 1], generator=g)
    >>> x, y, _, _ = sine_tasks(4, 5, generator=g)
    >>> [tuple(q.shape) for q in adapt(p, x, y, steps=2)][:2]
    [(4, 8, 1), (4, 8)]
    """
    ps = _check_params(params)
    xs, ys = _check_task_data(x_support, y_support, "support")
    S = _checks.positive_int("steps", steps, minimum=0)
    phi = _per_task(ps, xs.shape[0])
    for _ in range(S):
        with torch.enable_grad():
            # Summing over tasks gives each task's copy exactly its own gradient.
            loss = mse_per_task(mlp_forward(phi, xs), ys).sum()
            phi = inner_update(phi, loss, alpha, first_order=first_order)
    return phi


def maml_loss(
    params: Sequence[Tensor],
    x_support: Tensor,
    y_support: Tensor,
    x_query: Tensor,
    y_query: Tensor,
    *,
    alpha: float = 0.01,
    steps: int = 1,
    first_order: bool = False,
) -> Tensor:
    r"""MAML's meta-objective: the query loss after adapting on the support points.

    .. math:: \mathcal L_{\mathrm{meta}}(\btheta) = \frac1T \sum_{t=1}^T
        L_t^{\mathrm{qry}}\bigl(\btheta - \alpha \nabla L_t^{\mathrm{sup}}(\btheta)\bigr)

    (Chapter 19, eq. ``ssl-maml``; with ``steps > 1`` the inner step is repeated).
    Backpropagating it gives the exact meta-gradient (eq. ``ssl-metagrad``), or with
    ``first_order=True`` first-order MAML's approximation, which drops the Hessian.

    Parameters
    ----------
    params : list of Tensor
        Shared parameters that require gradients.
    x_support, y_support : Tensor, shape (T, K, in), (T, K, out)
    x_query, y_query : Tensor, shape (T, Q, in), (T, Q, out)
    alpha : float, default 0.01
    steps : int, default 1
    first_order : bool, default False

    Returns
    -------
    Tensor, shape ()
        The mean query MSE over the tasks.

    Raises
    ------
    TypeError, ValueError
        On malformed inputs; the support and query sets must hold the same tasks.

    References
    ----------
    Finn, Abbeel and Levine, ICML 2017, Algorithm 2.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> p = init_mlp([1, 8, 1], generator=g)
    >>> xs, ys, _, _ = sine_tasks(4, 10, generator=g)
    >>> maml_loss(p, xs[:, :5], ys[:, :5], xs[:, 5:], ys[:, 5:]).ndim
    0
    """
    xq, yq = _check_task_data(x_query, y_query, "query")
    xs = _checks.float_tensor("x_support", x_support, ndim=3)
    if xs.shape[0] != xq.shape[0]:
        raise ValueError(
            f"`x_query` must hold the {xs.shape[0]} tasks of `x_support`, got {xq.shape[0]}"
        )
    phi = adapt(params, x_support, y_support, alpha=alpha, steps=steps, first_order=first_order)
    return mse_per_task(mlp_forward(phi, xq), yq).mean()


def adaptation_curve(
    params: Sequence[Tensor],
    x_support: Tensor,
    y_support: Tensor,
    x_query: Tensor,
    y_query: Tensor,
    *,
    alpha: float = 0.01,
    steps: int = 10,
) -> Tensor:
    r"""Each task's query MSE after 0, 1, ..., ``steps`` steps of adaptation.

    The meta-test protocol of Finn et al.: every step is computed on the same :math:`K`
    support points, the error on fresh query points (Chapter 19). Nothing is kept for a
    meta-gradient.

    Parameters
    ----------
    params : list of Tensor
    x_support, y_support : Tensor, shape (T, K, in), (T, K, out)
    x_query, y_query : Tensor, shape (T, Q, in), (T, Q, out)
    alpha : float, default 0.01
    steps : int, default 10

    Returns
    -------
    Tensor, shape (steps + 1, T)
        Row :math:`s` holds each task's query MSE after :math:`s` steps.

    Raises
    ------
    TypeError, ValueError
        On malformed inputs.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> p = init_mlp([1, 8, 1], generator=g)
    >>> xs, ys, _, _ = sine_tasks(4, 10, generator=g)
    >>> tuple(adaptation_curve(p, xs[:, :5], ys[:, :5], xs[:, 5:], ys[:, 5:], steps=3).shape)
    (4, 4)
    """
    ps = [p.detach() for p in _check_params(params)]
    xs, ys = _check_task_data(x_support, y_support, "support")
    xq, yq = _check_task_data(x_query, y_query, "query")
    S = _checks.positive_int("steps", steps, minimum=0)
    phi = _per_task(ps, xs.shape[0])
    rows = []
    for s in range(S + 1):
        with torch.no_grad():
            rows.append(mse_per_task(mlp_forward(phi, xq), yq))
        if s < S:
            with torch.enable_grad():
                loss = mse_per_task(mlp_forward(phi, xs), ys).sum()
                phi = [
                    q.detach().requires_grad_()
                    for q in inner_update(phi, loss, alpha, first_order=True)
                ]
    return torch.stack(rows)  # (steps + 1, T)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
