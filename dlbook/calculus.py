r"""Calculus and optimisation: derivatives you can check, and the simplest optimisers.

Defined in Chapter 3 (Calculus and optimisation). The module reads top to bottom in the
chapter's order:

1. numerical differentiation: :func:`numerical_gradient`, :func:`numerical_jacobian`,
   :func:`numerical_hessian`, :func:`relative_error` and :func:`gradient_check`, the
   gradient checker the rest of the book (Chapter 8's autodiff engine among others) uses;
2. the chain rule through a stack of layers: :func:`tanh_mlp`, :func:`mlp_jacobian`;
3. the matrix-calculus identities the book uses later, each as a closed form;
4. gradient descent on quadratics: :func:`quadratic_matrix`, :func:`gradient_descent`,
   :func:`gd_rate`; Armijo line search (:func:`backtracking_line_search`,
   :func:`line_search_descent`); minibatch gradients and SGD (:func:`minibatch_gradient`,
   :func:`least_squares_sgd`); Hessian-vector products (:func:`hessian_vector_product`);
5. subgradients and the subgradient method;
6. Newton's method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from dlbook import _checks

__all__ = [
    "GradientCheck",
    "LineSearchRun",
    "abs_subgradient",
    "backtracking_line_search",
    "gd_rate",
    "gradient_check",
    "gradient_descent",
    "hessian_vector_product",
    "hinge_subgradient",
    "least_squares_gradient",
    "least_squares_sgd",
    "line_search_descent",
    "linear_layer_gradients",
    "logdet_gradient",
    "logsumexp_gradient",
    "minibatch_gradient",
    "mlp_jacobian",
    "newton",
    "numerical_gradient",
    "numerical_hessian",
    "numerical_jacobian",
    "quadratic_form_gradient",
    "quadratic_matrix",
    "relative_error",
    "relu_subgradient",
    "sigmoid_derivative",
    "softmax_jacobian",
    "subgradient_method",
    "tanh_mlp",
    "trace_product_gradient",
]

TensorFn = Callable[[Tensor], Tensor]


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def _check_float_tensor(x: object, name: str) -> Tensor:
    return _checks.float_tensor(name, x)


def _check_positive(value: float, name: str) -> float:
    return _checks.number(name, value, minimum=0.0, strict=True, what="positive and finite")


def _check_steps(steps: int) -> int:
    return _checks.positive_int("steps", steps, minimum=0)


def _check_square(A: object, name: str) -> Tensor:
    A = _check_float_tensor(A, name)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"`{name}` must be a square matrix, got shape {tuple(A.shape)}")
    return A


def _evaluate(f: TensorFn, x: Tensor) -> Tensor:
    # A copy: f may return a view of x, which the next perturbation would change.
    out: object = f(x)
    if not isinstance(out, Tensor):
        out = torch.as_tensor(out, dtype=x.dtype, device=x.device)
    return out.detach().clone()


# --------------------------------------------------------------------------------------
# 1. Numerical differentiation
# --------------------------------------------------------------------------------------
def numerical_jacobian(f: TensorFn, x: Tensor, eps: float = 1e-6) -> Tensor:
    r"""Jacobian of ``f`` at ``x`` by central differences.

    .. math::

        \frac{\partial f_i}{\partial x_j}(\vx) \approx
        \frac{f_i(\vx + \epsilon \mathbf{e}_j) - f_i(\vx - \epsilon \mathbf{e}_j)}{2\epsilon},

    with error :math:`O(\epsilon^2)` from truncation plus :math:`O(u/\epsilon)` from
    round-off (:math:`u` the unit round-off of ``x.dtype``). Defined in Chapter 3
    (numerical gradient checking).

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x`` to a tensor of any shape (a number is accepted too).
    x : Tensor, shape (...)
        Floating-point point at which to differentiate; it is not modified (``f`` sees a
        perturbed copy).
    eps : float, default 1e-6
        Half the difference step. About ``1e-6`` suits float64, ``1e-3`` float32.

    Returns
    -------
    Tensor, shape ``f(x).shape + x.shape``
        On the device and in the dtype of ``f``'s output.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` is empty or ``eps`` is not positive.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> J = numerical_jacobian(lambda v: torch.stack([v[0] * v[1], v[0] ** 2]), x)
    >>> [[round(v, 6) for v in row] for row in J.tolist()]
    [[2.0, 1.0], [2.0, 0.0]]
    """
    x = _check_float_tensor(x, "x")
    eps = _check_positive(eps, "eps")
    if x.numel() == 0:
        raise ValueError(f"`x` must have at least one element, got shape {tuple(x.shape)}")
    point = x.detach().clone(memory_format=torch.contiguous_format)  # transposed x works too
    flat = point.view(-1)  # (n,) view into the copy: perturb one coordinate at a time
    columns = []
    for j in range(flat.numel()):
        old = flat[j].clone()
        flat[j] = old + eps
        f_plus = _evaluate(f, point)
        flat[j] = old - eps
        f_minus = _evaluate(f, point)
        flat[j] = old
        columns.append((f_plus - f_minus) / (2 * eps))  # column j of J, shaped like f(x)
    J = torch.stack(columns, dim=-1)  # f(x).shape + (n,)
    return J.reshape((*columns[0].shape, *x.shape))  # (..., n) -> f(x).shape + x.shape


def numerical_gradient(f: TensorFn, x: Tensor, eps: float = 1e-6) -> Tensor:
    r"""Gradient of a scalar function ``f`` at ``x`` by central differences.

    .. math::

        [\nabla f(\vx)]_j \approx
        \frac{f(\vx + \epsilon \mathbf{e}_j) - f(\vx - \epsilon \mathbf{e}_j)}{2\epsilon}.

    Costs :math:`2n` evaluations of ``f`` for :math:`n` = ``x.numel()``, so it is a
    checking tool, never a training tool. Defined in Chapter 3 (numerical gradient
    checking).

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x`` to a scalar (a tensor with one element, or a number).
    x : Tensor, shape (...)
        Floating-point point at which to differentiate; it is not modified.
    eps : float, default 1e-6
        Half the difference step. About ``1e-6`` suits float64, ``1e-3`` float32 (Chapter 3
        shows why: truncation error grows like ``eps**2``, round-off like ``1/eps``).

    Returns
    -------
    Tensor, same shape, dtype and device as ``x``

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``f(x)`` has more than one element, ``x`` is empty, or ``eps`` is not positive.

    Examples
    --------
    >>> x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    >>> g = numerical_gradient(lambda v: (v**2).sum(), x)
    >>> [[round(v, 6) for v in row] for row in g.tolist()]
    [[2.0, -4.0], [1.0, 6.0]]
    """
    x = _check_float_tensor(x, "x")
    out = _evaluate(f, x.detach().clone())
    if out.numel() != 1:
        raise ValueError(
            f"`f` must return a scalar for numerical_gradient, got shape {tuple(out.shape)}; "
            "use numerical_jacobian for vector-valued functions"
        )
    J = numerical_jacobian(lambda v: _evaluate(f, v).reshape(()), x, eps)  # x.shape
    return J.to(dtype=x.dtype, device=x.device)


def numerical_hessian(f: TensorFn, x: Tensor, eps: float = 1e-4) -> Tensor:
    r"""Hessian of a scalar function by central differences of central differences.

    .. math::

        H_{jk} = \frac{\partial^2 f}{\partial x_j \partial x_k}
        \approx \frac{g_j(\vx + \epsilon \mathbf{e}_k) - g_j(\vx - \epsilon \mathbf{e}_k)}
        {2\epsilon},

    where :math:`g` is :func:`numerical_gradient` with the same ``eps``; the result is
    symmetrised, :math:`(H + H^\top)/2`. Defined in Chapter 3 (Hessians).

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x`` to a scalar.
    x : Tensor, shape (n,)
        Floating-point vector (use float64: the nested differences lose about half the
        digits).
    eps : float, default 1e-4
        Half the difference step of both levels.

    Returns
    -------
    Tensor, shape (n, n)

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``x`` is not a non-empty vector, ``f`` is not scalar, or ``eps`` is not positive.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> H = numerical_hessian(lambda v: v[0] ** 2 * v[1] + v[1] ** 3, x)
    >>> [[round(v, 4) for v in row] for row in H.tolist()]
    [[4.0, 2.0], [2.0, 12.0]]
    """
    x = _check_float_tensor(x, "x")
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"`x` must be a non-empty vector, got shape {tuple(x.shape)}")
    H = numerical_jacobian(lambda v: numerical_gradient(f, v, eps), x, eps)  # (n, n)
    return (H + H.T) / 2


def relative_error(a: Tensor, b: Tensor, eps: float = 1e-12) -> float:
    r"""Relative distance between two tensors, symmetric in its arguments.

    .. math::

        \mathrm{err}(\mathbf{a}, \mathbf{b}) =
        \frac{\lVert \mathbf{a} - \mathbf{b} \rVert_2}
        {\max(\lVert \mathbf{a} \rVert_2 + \lVert \mathbf{b} \rVert_2, \epsilon)}

    (Euclidean norms of the flattened tensors). It lies in :math:`[0, 1]`, is :math:`0`
    only for equal tensors, and near :math:`10^{-k}` when they agree to about :math:`k`
    significant digits. Defined in Chapter 3 (numerical gradient checking).

    Parameters
    ----------
    a, b : Tensor
        Tensors of the same shape (on the same device).
    eps : float, default 1e-12
        Floor of the denominator, so two zero tensors have error 0, not NaN.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not a tensor.
    ValueError
        If the shapes differ or ``eps`` is not positive.

    Examples
    --------
    >>> relative_error(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0]))
    0.0
    >>> relative_error(torch.tensor([3.0, 4.0]), torch.tensor([-3.0, -4.0]))
    1.0
    """
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"`{name}` must be a torch.Tensor, got {type(t).__name__}")
    if a.shape != b.shape:
        raise ValueError(
            f"`a` and `b` must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    eps = _check_positive(eps, "eps")
    a64, b64 = a.detach().double(), b.detach().double()
    numerator = torch.linalg.vector_norm(a64 - b64)
    denominator = torch.linalg.vector_norm(a64) + torch.linalg.vector_norm(b64)
    return float(numerator / denominator.clamp_min(eps))


@dataclass(frozen=True)
class GradientCheck:
    r"""Outcome of :func:`gradient_check`; true (in ``if`` and ``assert``) when it passed.

    Attributes
    ----------
    passed : bool
        Whether ``error <= rtol``.
    error : float
        :func:`relative_error` between the given and the numerical gradient.
    numerical : Tensor
        The central-difference gradient, shaped like ``x``.
    """

    passed: bool
    error: float
    numerical: Tensor

    def __bool__(self) -> bool:
        return self.passed


def gradient_check(
    f: TensorFn, x: Tensor, grad: Tensor, eps: float = 1e-6, rtol: float = 1e-6
) -> GradientCheck:
    r"""Check a claimed gradient against central differences.

    Passes when :math:`\mathrm{err}(\texttt{grad}, \hat{\mathbf{g}}) \le \texttt{rtol}`
    with :math:`\hat{\mathbf{g}}` = ``numerical_gradient(f, x, eps)`` and ``err`` the
    :func:`relative_error`. In float64 a correct gradient typically gives
    :math:`10^{-10}` or less, a wrong one :math:`10^{-2}` or more, so the default
    ``rtol = 1e-6`` separates them widely; in float32 use ``eps = 1e-3`` and
    ``rtol = 1e-2``. Defined in Chapter 3 (numerical gradient checking).

    Parameters
    ----------
    f : callable
        Scalar function of a tensor shaped like ``x``.
    x : Tensor, shape (...)
        Floating-point point of the check; not modified.
    grad : Tensor, same shape as ``x``
        The gradient to check (from a hand derivation, or an autodiff engine).
    eps : float, default 1e-6
        Half the difference step.
    rtol : float, default 1e-6
        Largest relative error that passes.

    Returns
    -------
    GradientCheck
        ``(passed, error, numerical)``; its truth value is ``passed``, so
        ``assert gradient_check(f, x, g)`` works.

    Raises
    ------
    TypeError
        If ``x`` or ``grad`` is not a floating-point tensor.
    ValueError
        If ``grad`` is not shaped like ``x``, ``f`` is not scalar, or ``eps``/``rtol`` is
        not positive.

    Examples
    --------
    >>> x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    >>> f = lambda v: torch.sin(v).sum()
    >>> bool(gradient_check(f, x, torch.cos(x)))
    True
    >>> bool(gradient_check(f, x, -torch.sin(x)))
    False
    """
    x = _check_float_tensor(x, "x")
    grad = _check_float_tensor(grad, "grad")
    if grad.shape != x.shape:
        raise ValueError(
            f"`grad` must have the shape of `x` {tuple(x.shape)}, got {tuple(grad.shape)}"
        )
    rtol = _check_positive(rtol, "rtol")
    numerical = numerical_gradient(f, x, eps)
    error = relative_error(grad.detach().to(numerical.device), numerical)
    return GradientCheck(passed=error <= rtol, error=error, numerical=numerical)


# --------------------------------------------------------------------------------------
# 2. The chain rule through a stack of layers
# --------------------------------------------------------------------------------------
def _check_layers(x: Tensor, weights: Sequence[Tensor], biases: Sequence[Tensor]) -> None:
    x = _check_float_tensor(x, "x")
    if x.ndim != 1:
        raise ValueError(f"`x` must be a vector, got shape {tuple(x.shape)}")
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError(
            "`weights` and `biases` must be non-empty and of equal length, got "
            f"{len(weights)} and {len(biases)}"
        )
    width = x.shape[0]
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        _check_float_tensor(W, f"weights[{i}]")
        _check_float_tensor(b, f"biases[{i}]")
        if W.ndim != 2 or W.shape[1] != width or b.shape != (W.shape[0],):
            raise ValueError(
                f"layer {i} expects `weights[{i}]` of shape (d_out, {width}) and "
                f"`biases[{i}]` of shape (d_out,), got {tuple(W.shape)} and {tuple(b.shape)}"
            )
        width = W.shape[0]


def tanh_mlp(x: Tensor, weights: Sequence[Tensor], biases: Sequence[Tensor]) -> Tensor:
    r"""A stack of layers: tanh after every affine map except the last.

    .. math::

        \mathbf{h}_0 = \vx, \quad
        \mathbf{h}_l = \tanh(W_l \mathbf{h}_{l-1} + \mathbf{b}_l)
        \;(l < k), \quad
        f(\vx) = W_k \mathbf{h}_{k-1} + \mathbf{b}_k.

    Defined in Chapter 3 (the chain rule).

    Parameters
    ----------
    x : Tensor, shape (d_0,)
    weights : sequence of Tensor, shapes (d_l, d_{l-1})
    biases : sequence of Tensor, shapes (d_l,)

    Returns
    -------
    Tensor, shape (d_k,)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes do not chain.

    Examples
    --------
    >>> W = [torch.eye(2), 2 * torch.eye(2)]
    >>> b = [torch.zeros(2), torch.ones(2)]
    >>> [round(v, 4) for v in tanh_mlp(torch.tensor([0.0, 1.0]), W, b).tolist()]
    [1.0, 2.5232]
    """
    _check_layers(x, weights, biases)
    h = x
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        h = torch.tanh(W @ h + b)
    return weights[-1] @ h + biases[-1]


def mlp_jacobian(x: Tensor, weights: Sequence[Tensor], biases: Sequence[Tensor]) -> Tensor:
    r"""Jacobian of :func:`tanh_mlp` at ``x``, as a product of the layers' Jacobians.

    By the chain rule the Jacobian of a composition is the product of the Jacobians,
    the last layer's on the left:

    .. math::

        \frac{\partial f}{\partial \vx} = W_k \, D_{k-1} W_{k-1} \cdots D_1 W_1,
        \qquad D_l = \operatorname{diag}(1 - \mathbf{h}_l^2),

    since :math:`\tanh' = 1 - \tanh^2`. Defined in Chapter 3 (the chain rule).

    Parameters
    ----------
    x : Tensor, shape (d_0,)
    weights : sequence of Tensor, shapes (d_l, d_{l-1})
    biases : sequence of Tensor, shapes (d_l,)

    Returns
    -------
    Tensor, shape (d_k, d_0)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes do not chain.

    Examples
    --------
    >>> W = [torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0]])]
    >>> b = [torch.zeros(1), torch.zeros(1)]
    >>> mlp_jacobian(torch.zeros(2), W, b).tolist()
    [[3.0, 0.0]]
    """
    _check_layers(x, weights, biases)
    h = x
    J = torch.eye(x.shape[0], dtype=x.dtype, device=x.device)  # d h_0 / d x
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        h = torch.tanh(W @ h + b)
        # D_l W_l J: scaling the rows of W_l J by 1 - h_l^2 is the product with diag(...)
        J = (1 - h**2)[:, None] * (W @ J)  # (d_l, d_0)
    return weights[-1] @ J  # (d_k, d_0)


# --------------------------------------------------------------------------------------
# 3. Matrix-calculus identities (each is checked against autograd in the tests)
# --------------------------------------------------------------------------------------
def quadratic_form_gradient(A: Tensor, x: Tensor) -> Tensor:
    r"""Gradient of the quadratic form :math:`\vx^\top A \vx`.

    .. math::

        \nabla_{\vx} (\vx^\top A \vx) = (A + A^\top)\vx \quad (= 2A\vx \text{ if } A = A^\top).

    Defined in Chapter 3 (matrix calculus).

    Parameters
    ----------
    A : Tensor, shape (n, n)
    x : Tensor, shape (n,)

    Returns
    -------
    Tensor, shape (n,)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If ``A`` is not square or ``x`` does not match it.

    Examples
    --------
    >>> A = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    >>> quadratic_form_gradient(A, torch.tensor([1.0, 1.0])).tolist()
    [4.0, 8.0]
    """
    A = _check_square(A, "A")
    x = _check_float_tensor(x, "x")
    if x.shape != (A.shape[0],):
        raise ValueError(f"`x` must have shape ({A.shape[0]},), got {tuple(x.shape)}")
    return (A + A.T) @ x


def least_squares_gradient(A: Tensor, x: Tensor, b: Tensor) -> Tensor:
    r"""Gradient of the squared residual :math:`\lVert A\vx - \mathbf{b} \rVert_2^2`.

    .. math::

        \nabla_{\vx} \lVert A\vx - \mathbf{b} \rVert_2^2 = 2 A^\top (A\vx - \mathbf{b}).

    Defined in Chapter 3 (matrix calculus).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    x : Tensor, shape (n,)
    b : Tensor, shape (m,)

    Returns
    -------
    Tensor, shape (n,)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> A = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> least_squares_gradient(A, torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0])).tolist()
    [2.0, 4.0]
    """
    A = _check_float_tensor(A, "A")
    x = _check_float_tensor(x, "x")
    b = _check_float_tensor(b, "b")
    if A.ndim != 2 or x.shape != (A.shape[1],) or b.shape != (A.shape[0],):
        raise ValueError(
            "expected `A` (m, n), `x` (n,), `b` (m,), got "
            f"{tuple(A.shape)}, {tuple(x.shape)}, {tuple(b.shape)}"
        )
    return 2 * A.T @ (A @ x - b)


def trace_product_gradient(A: Tensor, B: Tensor) -> Tensor:
    r"""Gradient of :math:`\operatorname{tr}(AB)` with respect to :math:`A`.

    .. math::

        \frac{\partial}{\partial A} \operatorname{tr}(AB) = B^\top,
        \quad\text{since } \operatorname{tr}(AB) = \textstyle\sum_{ij} A_{ij} B_{ji}.

    Defined in Chapter 3 (matrix calculus).

    Parameters
    ----------
    A : Tensor, shape (m, n)
    B : Tensor, shape (n, m)

    Returns
    -------
    Tensor, shape (m, n)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If ``AB`` is not square.

    Examples
    --------
    >>> trace_product_gradient(torch.zeros(1, 2), torch.tensor([[1.0], [2.0]])).tolist()
    [[1.0, 2.0]]
    """
    A = _check_float_tensor(A, "A")
    B = _check_float_tensor(B, "B")
    if A.ndim != 2 or B.ndim != 2 or A.shape != B.T.shape:
        raise ValueError(
            f"`B` must have the transposed shape of `A`, got {tuple(A.shape)} and {tuple(B.shape)}"
        )
    return B.T.clone()


def logdet_gradient(A: Tensor) -> Tensor:
    r"""Gradient of :math:`\log\lvert\det A\rvert` with respect to :math:`A`.

    .. math::

        \frac{\partial}{\partial A} \log\lvert\det A\rvert = A^{-\top}.

    Defined in Chapter 3 (matrix calculus); Chapter 4 uses it for the Gaussian's covariance.

    Parameters
    ----------
    A : Tensor, shape (n, n)
        Invertible.

    Returns
    -------
    Tensor, shape (n, n)

    Raises
    ------
    TypeError
        If ``A`` is not a floating-point tensor.
    ValueError
        If ``A`` is not square or is singular.

    Examples
    --------
    >>> logdet_gradient(torch.tensor([[2.0, 0.0], [1.0, 4.0]])).tolist()
    [[0.5, -0.125], [0.0, 0.25]]
    """
    A = _check_square(A, "A")
    _checks.invertible("A", A)
    inverse, info = torch.linalg.inv_ex(A)
    if int(info) != 0:
        raise ValueError("`A` must be invertible, got a singular matrix")
    result: Tensor = inverse.T
    return result


def softmax_jacobian(z: Tensor) -> Tensor:
    r"""Jacobian of the softmax :math:`\mathbf{s} = \operatorname{softmax}(\vz)`.

    .. math::

        \frac{\partial s_i}{\partial z_j} = s_i(\delta_{ij} - s_j), \qquad
        \frac{\partial \mathbf{s}}{\partial \vz} =
        \operatorname{diag}(\mathbf{s}) - \mathbf{s}\mathbf{s}^\top.

    Defined in Chapter 3 (matrix calculus).

    Parameters
    ----------
    z : Tensor, shape (..., K)
        Logits; leading dimensions are a batch.

    Returns
    -------
    Tensor, shape (..., K, K)

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.
    ValueError
        If ``z`` is 0-dimensional.

    Examples
    --------
    >>> softmax_jacobian(torch.zeros(2)).tolist()
    [[0.25, -0.25], [-0.25, 0.25]]
    """
    z = _check_float_tensor(z, "z")
    if z.ndim == 0:
        raise ValueError("`z` must have at least one dimension (the K logits), got a scalar")
    s = torch.softmax(z, dim=-1)
    # (..., K) -> (..., K, K): diag(s) - s s^T
    return torch.diag_embed(s) - s[..., :, None] * s[..., None, :]


def logsumexp_gradient(z: Tensor) -> Tensor:
    r"""Gradient of log-sum-exp, which is the softmax.

    .. math::

        \nabla_{\vz} \log \sum_k e^{z_k} = \frac{e^{\vz}}{\sum_k e^{z_k}}
        = \operatorname{softmax}(\vz).

    Defined in Chapter 3 (matrix calculus).

    Parameters
    ----------
    z : Tensor, shape (..., K)

    Returns
    -------
    Tensor, shape (..., K)

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.
    ValueError
        If ``z`` is 0-dimensional.

    Examples
    --------
    >>> logsumexp_gradient(torch.tensor([0.0, 0.0, 0.0, 0.0])).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    z = _check_float_tensor(z, "z")
    if z.ndim == 0:
        raise ValueError("`z` must have at least one dimension (the K logits), got a scalar")
    # The max-shift inside torch.softmax keeps this finite for large logits.
    return torch.softmax(z, dim=-1)


def sigmoid_derivative(z: Tensor) -> Tensor:
    r"""Derivative of the logistic sigmoid, elementwise.

    .. math::

        \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)\,(1 - \sigma(z)).

    Defined in Chapter 3 (matrix calculus).

    Parameters
    ----------
    z : Tensor, any shape

    Returns
    -------
    Tensor, same shape

    Raises
    ------
    TypeError
        If ``z`` is not a floating-point tensor.

    Examples
    --------
    >>> sigmoid_derivative(torch.tensor([0.0])).tolist()
    [0.25]
    """
    z = _check_float_tensor(z, "z")
    s = torch.sigmoid(z)
    return s * (1 - s)


def linear_layer_gradients(W: Tensor, x: Tensor, delta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""Gradients of a loss through a linear layer :math:`\mathbf{y} = W\vx + \mathbf{b}`.

    Given :math:`\boldsymbol{\delta} = \partial L / \partial \mathbf{y}`,

    .. math::

        \frac{\partial L}{\partial W} = \boldsymbol{\delta} \vx^\top, \qquad
        \frac{\partial L}{\partial \mathbf{b}} = \boldsymbol{\delta}, \qquad
        \frac{\partial L}{\partial \vx} = W^\top \boldsymbol{\delta}.

    For a batch (rows :math:`\vx_i`, :math:`\boldsymbol{\delta}_i`) the weight and bias
    gradients are summed over the rows: :math:`\sum_i \boldsymbol{\delta}_i \vx_i^\top`.
    Defined in Chapter 3 (matrix calculus); Chapter 8 builds backpropagation from it.

    Parameters
    ----------
    W : Tensor, shape (d_out, d_in)
    x : Tensor, shape (d_in,) or (N, d_in)
    delta : Tensor, shape (d_out,) or (N, d_out)

    Returns
    -------
    (dW, db, dx) : tuple of Tensor
        Shapes (d_out, d_in), (d_out,), and the shape of ``x``.

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> W = torch.tensor([[1.0, 2.0]])
    >>> dW, db, dx = linear_layer_gradients(W, torch.tensor([3.0, 4.0]), torch.tensor([2.0]))
    >>> dW.tolist(), db.tolist(), dx.tolist()
    ([[6.0, 8.0]], [2.0], [2.0, 4.0])
    """
    W = _check_float_tensor(W, "W")
    x = _check_float_tensor(x, "x")
    delta = _check_float_tensor(delta, "delta")
    batched = x.ndim == 2
    ok = (
        W.ndim == 2
        and x.ndim in (1, 2)
        and delta.ndim == x.ndim
        and x.shape[-1] == W.shape[1]
        and delta.shape[-1] == W.shape[0]
        and (not batched or x.shape[0] == delta.shape[0])
    )
    if not ok:
        raise ValueError(
            "expected `W` (d_out, d_in), `x` (d_in,) or (N, d_in), `delta` (d_out,) or "
            f"(N, d_out), got {tuple(W.shape)}, {tuple(x.shape)}, {tuple(delta.shape)}"
        )
    if batched:
        # (N, d_out)^T (N, d_in) -> (d_out, d_in): the sum of outer products delta_i x_i^T
        return delta.T @ x, delta.sum(dim=0), delta @ W
    return torch.outer(delta, x), delta.clone(), W.T @ delta


# --------------------------------------------------------------------------------------
# 4. Gradient descent on quadratics
# --------------------------------------------------------------------------------------
def quadratic_matrix(
    kappa: float,
    dim: int = 2,
    *,
    L: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""A symmetric positive definite matrix with chosen curvature and condition number.

    The eigenvalues are spread evenly from :math:`\mu = L/\kappa` to :math:`L`, so
    :math:`f(\vx) = \tfrac12 \vx^\top A \vx` is :math:`L`-smooth and :math:`\mu`-strongly
    convex with condition number :math:`\kappa = L/\mu`:

    .. math::

        A = Q \operatorname{diag}(\lambda_1, \dots, \lambda_n) Q^\top, \qquad
        \lambda_i = \mu + (L - \mu)\frac{i-1}{n-1}.

    :math:`Q = I` (axis-aligned ellipses) unless a ``generator`` is given, in which case
    :math:`Q` is a random orthogonal matrix. Defined in Chapter 3 (gradient descent).

    Parameters
    ----------
    kappa : float
        Condition number, at least 1.
    dim : int, default 2
        Size :math:`n \ge 2`.
    L : float, default 1.0
        Largest eigenvalue (the smoothness constant).
    generator : torch.Generator, optional
        Draws the random rotation :math:`Q` (on the CPU).
    dtype : torch.dtype, default torch.float64
    device : torch.device or str, optional

    Returns
    -------
    Tensor, shape (dim, dim)

    Raises
    ------
    TypeError
        If ``dim`` is not an int.
    ValueError
        If ``kappa < 1``, ``dim < 2`` or ``L`` is not positive.

    Examples
    --------
    >>> quadratic_matrix(10.0).tolist()
    [[0.1, 0.0], [0.0, 1.0]]
    """
    L = _check_positive(L, "L")
    kappa = _check_positive(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"`kappa` must be at least 1, got {kappa}")
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"`dim` must be an int, got {type(dim).__name__}")
    if dim < 2:
        raise ValueError(f"`dim` must be at least 2, got {dim}")
    eigenvalues = torch.linspace(L / kappa, L, dim, dtype=torch.float64)
    if generator is None:
        A = torch.diag(eigenvalues)
    else:
        G = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
        Q, R = torch.linalg.qr(G)
        Q = Q * torch.sign(torch.diagonal(R))  # sign fix: Q uniform over O(n)
        A = (Q * eigenvalues) @ Q.T  # Q diag(lambda) Q^T
        A = (A + A.T) / 2  # exactly symmetric
    return A.to(dtype=dtype, device=device)


def gradient_descent(grad_fn: TensorFn, x0: Tensor, lr: float, steps: int) -> Tensor:
    r"""Run gradient descent with a constant step and return the whole trajectory.

    .. math::

        \vx_{t+1} = \vx_t - \eta \nabla f(\vx_t), \qquad t = 0, \dots, T-1.

    On :math:`f(\vx) = \tfrac12 \vx^\top A \vx` this is :math:`\vx_t = (I - \eta A)^t \vx_0`.
    Nothing stops a diverging run: its iterates grow (to ``inf``), which is the point of
    Chapter 3's divergence figure. Defined in Chapter 3 (gradient descent).

    Parameters
    ----------
    grad_fn : callable
        Maps a tensor shaped like ``x0`` to the gradient, same shape.
    x0 : Tensor, shape (...)
        Starting point (not modified).
    lr : float
        Step size :math:`\eta > 0`.
    steps : int
        Number of steps :math:`T \ge 0`.

    Returns
    -------
    Tensor, shape (T + 1, ...)
        ``trajectory[t]`` is :math:`\vx_t`; ``trajectory[0]`` is ``x0``.

    Raises
    ------
    TypeError
        If ``x0`` is not a floating-point tensor or ``steps`` not an int.
    ValueError
        If ``lr`` is not positive, ``steps`` is negative, or ``grad_fn`` returns the wrong
        shape.

    Examples
    --------
    >>> A = torch.diag(torch.tensor([1.0, 0.5]))
    >>> path = gradient_descent(lambda x: A @ x, torch.tensor([1.0, 1.0]), lr=1.0, steps=2)
    >>> path.tolist()
    [[1.0, 1.0], [0.0, 0.5], [0.0, 0.25]]
    """
    x0 = _checks.float_tensor("x0", x0, non_empty=True)
    lr = _check_positive(lr, "lr")
    steps = _check_steps(steps)
    path = [x0.detach().clone()]
    for _ in range(steps):
        g = grad_fn(path[-1])
        if g.shape != x0.shape:
            raise ValueError(f"`grad_fn` must return shape {tuple(x0.shape)}, got {tuple(g.shape)}")
        path.append(path[-1] - lr * g)
    return torch.stack(path)  # (T + 1, ...)


def gd_rate(A: Tensor, lr: float) -> float:
    r"""Contraction factor of gradient descent on :math:`\tfrac12\vx^\top A\vx`.

    .. math::

        \rho(\eta) = \max_i \lvert 1 - \eta\lambda_i \rvert, \qquad
        \lVert \vx_t \rVert_2 \le \rho^t \lVert \vx_0 \rVert_2 .

    With :math:`\eta = 1/L` it is :math:`1 - 1/\kappa`; with
    :math:`\eta = 2/(L + \mu)` the smallest possible, :math:`(\kappa-1)/(\kappa+1)`; and it
    exceeds 1 (divergence) exactly when :math:`\eta > 2/L`. Defined in Chapter 3
    (gradient descent).

    Parameters
    ----------
    A : Tensor, shape (n, n)
        Symmetric.
    lr : float
        Step size :math:`\eta > 0`.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``A`` is not a floating-point tensor.
    ValueError
        If ``A`` is not square and symmetric, or ``lr`` is not positive.

    Examples
    --------
    >>> round(gd_rate(quadratic_matrix(10.0), lr=1.0), 6)
    0.9
    """
    A = _check_square(A, "A")
    lr = _check_positive(lr, "lr")
    if not torch.allclose(A, A.T):
        raise ValueError("`A` must be symmetric")
    eigenvalues = torch.linalg.eigvalsh(A)
    return float((1 - lr * eigenvalues).abs().max())


# --------------------------------------------------------------------------------------
# 4b. Line search, stochastic gradients, Hessian-vector products
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineSearchRun:
    r"""Outcome of :func:`backtracking_line_search`.

    Attributes
    ----------
    path : Tensor, shape (T + 1, ...)
        The iterates; ``path[0]`` is the start.
    lrs : Tensor, shape (T,)
        The accepted step :math:`\eta_t` of every step (0 where no decrease was found).
    f_evals : int
        How many times ``f`` was evaluated (the gradient is evaluated :math:`T` times).
    """

    path: Tensor
    lrs: Tensor
    f_evals: int


def _scalar_value(f: TensorFn, x: Tensor) -> float:
    value = f(x)
    if not isinstance(value, Tensor) or value.numel() != 1:
        raise ValueError("`f` must return a one-element tensor (a scalar loss)")
    return float(value)


def backtracking_line_search(
    f: TensorFn,
    grad_fn: TensorFn,
    x0: Tensor,
    steps: int,
    lr0: float = 1.0,
    c: float = 1e-4,
    shrink: float = 0.5,
    grow: float = 1.0,
    max_backtracks: int = 60,
) -> LineSearchRun:
    r"""Gradient descent whose step is chosen by Armijo's backtracking rule.

    At each iterate, try :math:`\eta`, then :math:`\beta\eta`, :math:`\beta^2\eta`, ...
    (``shrink`` :math:`= \beta`) and accept the first that passes the sufficient-decrease
    (Armijo) condition

    .. math::

        f\bigl(\vx_t - \eta\nabla f(\vx_t)\bigr) \le f(\vx_t) - c\,\eta\,
        \lVert\nabla f(\vx_t)\rVert^2 .

    The first trial is ``lr0`` at every step when ``grow`` is 1 (the textbook rule), or
    ``grow`` times the previous accepted step when ``grow > 1``, which lets the step
    also lengthen on flat functions. On an :math:`L`-smooth function every
    :math:`\eta \le 2(1 - c)/L` passes, so the accepted step is at least
    :math:`\min(\eta_0, 2\beta(1 - c)/L)`. If ``max_backtracks`` trials all fail (at a
    stationary point, or where rounding hides the decrease), the iterate stays put and
    the step is recorded as 0. Defined in Chapter 3 (line search).

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x0`` to a one-element tensor.
    grad_fn : callable
        Maps a tensor shaped like ``x0`` to the gradient, same shape.
    x0 : Tensor, shape (...)
        Starting point (not modified).
    steps : int
        Number of steps :math:`T \ge 0`.
    lr0 : float, default 1.0
        First trial step :math:`\eta_0 > 0`.
    c : float, default 1e-4
        Sufficient-decrease constant, in (0, 1).
    shrink : float, default 0.5
        Backtracking factor :math:`\beta`, in (0, 1).
    grow : float, default 1.0
        Factor (at least 1) applied to the last accepted step to start the next search.
    max_backtracks : int, default 60
        Trials per step before giving up.

    Returns
    -------
    LineSearchRun
        ``path`` (T + 1, ...), ``lrs`` (T,), ``f_evals``.

    Raises
    ------
    TypeError
        If ``x0`` is not a floating-point tensor or ``steps`` not an int.
    ValueError
        If a constant is out of range, or ``f`` or ``grad_fn`` return the wrong shape.

    References
    ----------
    L. Armijo, "Minimization of functions having Lipschitz continuous first partial
    derivatives", Pacific J. Math. 16(1), 1966. J. Nocedal and S. J. Wright, *Numerical
    Optimization*, 2nd ed., Springer, 2006, Algorithm 3.1.

    Examples
    --------
    >>> A = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    >>> run = backtracking_line_search(
    ...     lambda x: 0.5 * x @ A @ x, lambda x: A @ x, torch.ones(2, dtype=torch.float64), 3
    ... )
    >>> run.lrs.tolist()
    [0.5, 0.5, 0.5]
    >>> run.f_evals
    7
    """
    x0 = _checks.float_tensor("x0", x0, non_empty=True)
    steps = _check_steps(steps)
    lr0 = _check_positive(lr0, "lr0")
    c = _checks.number("c", c, minimum=0.0, strict=True)
    shrink = _checks.number("shrink", shrink, minimum=0.0, strict=True)
    grow = _checks.number("grow", grow, minimum=1.0)
    max_backtracks = _checks.positive_int("max_backtracks", max_backtracks)
    if not c < 1.0:
        raise ValueError(f"`c` must lie in (0, 1), got {c}")
    if not shrink < 1.0:
        raise ValueError(f"`shrink` must lie in (0, 1), got {shrink}")
    path = [x0.detach().clone()]
    lrs: list[float] = []
    f_x = _scalar_value(f, path[0])
    f_evals = 1
    trial = lr0
    for _ in range(steps):
        x = path[-1]
        g = grad_fn(x)
        if g.shape != x0.shape:
            raise ValueError(f"`grad_fn` must return shape {tuple(x0.shape)}, got {tuple(g.shape)}")
        g_sq = float((g * g).sum())  # ||grad f||^2
        lr, accepted = trial, 0.0
        for _ in range(max_backtracks):
            candidate = x - lr * g
            f_new = _scalar_value(f, candidate)
            f_evals += 1
            if f_new <= f_x - c * lr * g_sq:  # Armijo's sufficient decrease
                accepted = lr
                break
            lr *= shrink
        if accepted > 0.0:
            path.append(candidate)
            f_x = f_new
            trial = accepted * grow if grow > 1.0 else lr0
        else:
            path.append(x.clone())
        lrs.append(accepted)
    return LineSearchRun(
        torch.stack(path),  # (T + 1, ...)
        torch.tensor(lrs, dtype=x0.dtype, device=x0.device),
        f_evals,
    )


def line_search_descent(
    f: TensorFn, grad_fn: TensorFn, x0: Tensor, tol: float, max_steps: int = 10_000
) -> Tensor:
    r"""Minimise ``f`` by gradient descent with line search to a relative gradient tolerance.

    Gradient descent with Armijo backtracking (:func:`backtracking_line_search`,
    :math:`c = 10^{-4}`, :math:`\beta = 1/2`) whose every search starts at twice the
    last accepted step, so the step adapts both down (steep functions) and up (flat
    ones) without knowing :math:`L`:

    .. math::

        \vx_{t+1} = \vx_t - \eta_t\nabla f(\vx_t), \qquad
        \eta_t = \max\{2\eta_{t-1}\beta^j : \text{Armijo holds}\}.

    It stops at the first iterate with
    :math:`\lVert\nabla f(\vx)\rVert \le \mathrm{tol}\,\lVert\nabla f(\vx_0)\rVert`,
    and is the reference for the open Exercise 3.5. Defined in Chapter 3 (line search).

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x0`` to a one-element tensor.
    grad_fn : callable
        Maps a tensor shaped like ``x0`` to the gradient.
    x0 : Tensor, shape (...)
        Starting point (not modified).
    tol : float
        Relative gradient-norm tolerance, > 0.
    max_steps : int, default 10000
        Give up (returning the last iterate) after this many steps.

    Returns
    -------
    Tensor, shape like ``x0``
        The first iterate meeting the tolerance (or the last one).

    Raises
    ------
    TypeError
        If ``x0`` is not a floating-point tensor.
    ValueError
        If ``tol`` is not positive or a function returns the wrong shape.

    References
    ----------
    J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006,
    Section 3.1.

    Examples
    --------
    >>> A = torch.diag(torch.tensor([100.0, 1.0], dtype=torch.float64))
    >>> x0 = torch.ones(2, dtype=torch.float64)
    >>> x = line_search_descent(lambda x: 0.5 * x @ A @ x, lambda x: A @ x, x0, 1e-8)
    >>> bool(torch.linalg.vector_norm(A @ x) <= 1e-8 * torch.linalg.vector_norm(A @ x0))
    True
    """
    x0 = _checks.float_tensor("x0", x0, non_empty=True)
    tol = _check_positive(tol, "tol")
    max_steps = _checks.positive_int("max_steps", max_steps)
    x = x0.detach().clone()
    g = grad_fn(x)
    if g.shape != x0.shape:
        raise ValueError(f"`grad_fn` must return shape {tuple(x0.shape)}, got {tuple(g.shape)}")
    target = tol * float(torch.linalg.vector_norm(g))
    f_x = _scalar_value(f, x)
    lr = 1.0
    for _ in range(max_steps):
        g_norm = float(torch.linalg.vector_norm(g))
        if g_norm <= target:
            break
        lr *= 2.0  # start each search at twice the last accepted step
        for _ in range(100):
            candidate = x - lr * g
            f_new = _scalar_value(f, candidate)
            if f_new <= f_x - 1e-4 * lr * g_norm**2:  # Armijo
                break
            lr *= 0.5
        else:
            break  # no decrease representable: return the current iterate
        x, f_x = candidate, f_new
        g = grad_fn(x)
    return x


def minibatch_gradient(
    A: Tensor, x: Tensor, b: Tensor, batch_size: int, generator: torch.Generator | None = None
) -> Tensor:
    r"""An unbiased minibatch estimate of the mean-squared-error gradient.

    For :math:`f(\vx) = \frac1N\sum_{i=1}^N (\mathbf{a}_i^\top\vx - b_i)^2` draw
    :math:`B` row indices :math:`i_1, \dots, i_B` uniformly *with replacement* and return

    .. math::

        \hat{\mathbf{g}} = \frac{2}{B}\sum_{k=1}^{B}
        \mathbf{a}_{i_k}\bigl(\mathbf{a}_{i_k}^\top\vx - b_{i_k}\bigr),
        \qquad \mathbb{E}\,\hat{\mathbf{g}} = \nabla f(\vx), \qquad
        \mathbb{E}\lVert\hat{\mathbf{g}} - \nabla f(\vx)\rVert^2 = \frac{\sigma^2(\vx)}{B},

    with :math:`\sigma^2(\vx) = \frac1N\sum_i \lVert\mathbf{g}_i - \nabla f\rVert^2` the
    spread of the per-example gradients :math:`\mathbf{g}_i`. Defined in Chapter 3 (SGD).

    Parameters
    ----------
    A : Tensor, shape (N, n)
        One example per row.
    x : Tensor, shape (n,)
        Where to estimate the gradient.
    b : Tensor, shape (N,)
        Targets.
    batch_size : int
        :math:`B \ge 1`.
    generator : torch.Generator, optional
        Source of the indices (on ``A``'s device).

    Returns
    -------
    Tensor, shape (n,)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor or ``batch_size`` not an int.
    ValueError
        If the shapes do not match.

    Examples
    --------
    >>> A = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> g0 = torch.Generator().manual_seed(0)
    >>> g = minibatch_gradient(A, torch.zeros(2), torch.ones(2), 1, g0)
    >>> g.tolist() in ([-2.0, 0.0], [0.0, -2.0])
    True
    """
    A = _check_float_tensor(A, "A")
    x = _check_float_tensor(x, "x")
    b = _check_float_tensor(b, "b")
    batch_size = _checks.positive_int("batch_size", batch_size)
    _checks.generator("generator", generator)
    if A.ndim != 2 or A.shape[0] == 0 or x.shape != (A.shape[1],) or b.shape != (A.shape[0],):
        raise ValueError(
            f"need A (N, n), x (n,), b (N,) with N >= 1, got {tuple(A.shape)}, "
            f"{tuple(x.shape)}, {tuple(b.shape)}"
        )
    rows = torch.randint(A.shape[0], (batch_size,), generator=generator, device=A.device)
    A_batch, b_batch = A[rows], b[rows]  # (B, n), (B,)
    return 2.0 / batch_size * A_batch.T @ (A_batch @ x - b_batch)


def least_squares_sgd(
    A: Tensor,
    x0: Tensor,
    b: Tensor,
    lrs: Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Stochastic gradient descent on the mean squared error, returning the trajectory.

    .. math::

        \vx_{t+1} = \vx_t - \eta_t\,\hat{\mathbf{g}}_t(\vx_t),

    with :math:`\hat{\mathbf{g}}_t` from :func:`minibatch_gradient` (a fresh batch every
    step). A constant :math:`\eta` stalls at a noise floor of order
    :math:`\eta\sigma^2/B`; steps with :math:`\sum\eta_t = \infty`,
    :math:`\sum\eta_t^2 < \infty` (Robbins and Monro) converge. Defined in Chapter 3
    (SGD).

    Parameters
    ----------
    A : Tensor, shape (N, n)
    x0 : Tensor, shape (n,)
        Starting point (not modified).
    b : Tensor, shape (N,)
    lrs : Tensor, shape (T,)
        The step of every step, each > 0.
    batch_size : int
    generator : torch.Generator, optional

    Returns
    -------
    Tensor, shape (T + 1, n)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If shapes do not match or a step is not positive.

    References
    ----------
    H. Robbins and S. Monro, "A stochastic approximation method", Ann. Math. Statist.
    22(3), 1951.

    Examples
    --------
    >>> A = torch.eye(2)
    >>> path = least_squares_sgd(A, torch.zeros(2), torch.ones(2), torch.full((3,), 0.25), 2,
    ...                          torch.Generator().manual_seed(0))
    >>> path.shape
    torch.Size([4, 2])
    """
    lrs = _check_float_tensor(lrs, "lrs")
    x0 = _check_float_tensor(x0, "x0")
    if lrs.ndim != 1:
        raise ValueError(f"`lrs` must be a vector of steps, got shape {tuple(lrs.shape)}")
    if lrs.numel() and lrs.device.type != "meta" and not bool((lrs > 0).all()):
        raise ValueError("`lrs` must be positive in every entry")
    path = [x0.detach().clone()]
    for lr in lrs.tolist() if lrs.device.type != "meta" else []:
        path.append(path[-1] - lr * minibatch_gradient(A, path[-1], b, batch_size, generator))
    if lrs.device.type == "meta" or not lrs.numel():
        minibatch_gradient(A, x0, b, batch_size, generator)  # the shape checks
    return torch.stack(path)  # (T + 1, n)


def hessian_vector_product(f: TensorFn, x: Tensor, v: Tensor) -> Tensor:
    r"""The Hessian of a scalar function times a vector, without forming the Hessian.

    Differentiate the scalar :math:`\nabla f(\vx)^\top\mathbf{v}` once more (double
    backward, Pearlmutter's trick):

    .. math::

        H(\vx)\,\mathbf{v} = \nabla_{\vx}\bigl(\nabla f(\vx)^\top \mathbf{v}\bigr),

    two reverse passes, a small constant multiple of the cost of one gradient, and
    memory of order :math:`n` rather than :math:`n^2`. Defined in Chapter 3 (Hessian-vector
    products).

    Parameters
    ----------
    f : callable
        Maps a tensor shaped like ``x`` to a one-element tensor, differentiably (torch ops).
    x : Tensor, shape (...)
        The point (not modified; need not require grad).
    v : Tensor, shape like ``x``
        The direction.

    Returns
    -------
    Tensor, shape like ``x``
        :math:`H(\vx)\mathbf{v}`, detached.

    Raises
    ------
    TypeError
        If ``x`` or ``v`` is not a floating-point tensor.
    ValueError
        If the shapes differ or ``f`` does not return a scalar.

    References
    ----------
    B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation
    6(1), 1994.

    Examples
    --------
    >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> hessian_vector_product(lambda z: (z**3).sum(), x, torch.ones(2, dtype=torch.float64))
    tensor([ 6., 12.], dtype=torch.float64)
    """
    x = _check_float_tensor(x, "x")
    v = _check_float_tensor(v, "v")
    if v.shape != x.shape:
        raise ValueError(f"`v` must have the shape of `x`, {tuple(x.shape)}, got {tuple(v.shape)}")
    with torch.enable_grad():
        z = x.detach().clone().requires_grad_(True)
        value = f(z)
        if not isinstance(value, Tensor) or value.numel() != 1:
            raise ValueError("`f` must return a one-element tensor (a scalar)")
        if not value.requires_grad:
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(value.sum(), z, create_graph=True)  # grad f(x)
        if not g.requires_grad:  # f is affine in x: the Hessian is zero
            return torch.zeros_like(x)
        (hv,) = torch.autograd.grad((g * v).sum(), z, allow_unused=True)  # d(g . v)/dx
    return torch.zeros_like(x) if hv is None else hv.detach()


# --------------------------------------------------------------------------------------
# 5. Subgradients
# --------------------------------------------------------------------------------------
def abs_subgradient(x: Tensor) -> Tensor:
    r"""A subgradient of :math:`\lVert\vx\rVert_1 = \sum_i |x_i|`: the sign, 0 at 0.

    .. math::

        \partial |x| = \{\operatorname{sign}(x)\} \; (x \ne 0), \qquad
        \partial |x| \big|_{x=0} = [-1, 1] \ni 0.

    Defined in Chapter 3 (subgradients).

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, same shape

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.

    Examples
    --------
    >>> abs_subgradient(torch.tensor([-2.0, 0.0, 3.0])).tolist()
    [-1.0, 0.0, 1.0]
    """
    return torch.sign(_check_float_tensor(x, "x"))


def relu_subgradient(x: Tensor) -> Tensor:
    r"""A subgradient of :math:`\max(0, x)`, elementwise: 1 for :math:`x > 0`, else 0.

    .. math::

        \partial \max(0, x) = \{0\}\;(x<0), \quad [0, 1]\;(x=0), \quad \{1\}\;(x>0);

    at :math:`x = 0` it picks 0, as PyTorch's ReLU does. Defined in Chapter 3
    (subgradients).

    Parameters
    ----------
    x : Tensor, any shape

    Returns
    -------
    Tensor, same shape

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.

    Examples
    --------
    >>> relu_subgradient(torch.tensor([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    x = _check_float_tensor(x, "x")
    return (x > 0).to(x.dtype)


def hinge_subgradient(w: Tensor, X: Tensor, y: Tensor) -> Tensor:
    r"""A subgradient of the mean hinge loss of a linear classifier.

    .. math::

        f(\vw) = \frac1N \sum_{i=1}^N \max(0, 1 - y_i \vw^\top \vx_i), \qquad
        \mathbf{g} = -\frac1N \sum_{i:\, y_i \vw^\top \vx_i < 1} y_i \vx_i \in \partial f(\vw).

    At a kink (:math:`y_i \vw^\top \vx_i = 1`) it picks 0 for that term. Defined in
    Chapter 3 (subgradients).

    Parameters
    ----------
    w : Tensor, shape (d,)
    X : Tensor, shape (N, d)
    y : Tensor, shape (N,)
        Labels in :math:`\{-1, +1\}` (as floats).

    Returns
    -------
    Tensor, shape (d,)

    Raises
    ------
    TypeError
        If an input is not a floating-point tensor.
    ValueError
        If the shapes do not fit together or ``N = 0``.

    Examples
    --------
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> hinge_subgradient(torch.zeros(2), X, torch.tensor([1.0, -1.0])).tolist()
    [-0.5, 0.5]
    """
    w = _check_float_tensor(w, "w")
    X = _check_float_tensor(X, "X")
    y = _check_float_tensor(y, "y")
    if X.ndim != 2 or X.shape[0] == 0 or w.shape != (X.shape[1],) or y.shape != (X.shape[0],):
        raise ValueError(
            "expected `w` (d,), `X` (N, d) with N > 0, `y` (N,), got "
            f"{tuple(w.shape)}, {tuple(X.shape)}, {tuple(y.shape)}"
        )
    active = (y * (X @ w) < 1).to(X.dtype)  # (N,): the terms past their kink
    return -(active * y) @ X / X.shape[0]


def subgradient_method(
    subgrad_fn: TensorFn,
    x0: Tensor,
    lr: float,
    steps: int,
    schedule: str = "sqrt",
) -> Tensor:
    r"""The subgradient method, with a constant or a diminishing step.

    .. math::

        \vx_{t+1} = \vx_t - \eta_t \mathbf{g}_t, \quad \mathbf{g}_t \in \partial f(\vx_t),
        \qquad \eta_t = \frac{\eta}{\sqrt{t+1}} \;(\texttt{"sqrt"}) \text{ or }
        \eta \;(\texttt{"constant"}).

    It is not a descent method (a step can raise :math:`f`), so track the best value seen.
    With :math:`\eta_t \to 0` and :math:`\sum_t \eta_t = \infty` the best value converges to
    the minimum for convex Lipschitz :math:`f`; a constant step only reaches a band of
    width proportional to :math:`\eta` around it. Defined in Chapter 3 (subgradients).

    Parameters
    ----------
    subgrad_fn : callable
        Maps a tensor shaped like ``x0`` to a subgradient, same shape.
    x0 : Tensor, shape (...)
        Starting point (not modified).
    lr : float
        Base step :math:`\eta > 0`.
    steps : int
        Number of steps :math:`T \ge 0`.
    schedule : {"sqrt", "constant"}, default "sqrt"

    Returns
    -------
    Tensor, shape (T + 1, ...)

    Raises
    ------
    TypeError
        If ``x0`` is not a floating-point tensor or ``steps`` not an int.
    ValueError
        If ``lr`` is not positive, ``steps`` is negative or ``schedule`` is unknown.

    Examples
    --------
    >>> path = subgradient_method(abs_subgradient, torch.tensor([1.0]), lr=1.0, steps=2)
    >>> [round(v, 4) for v in path.flatten().tolist()]
    [1.0, 0.0, 0.0]
    """
    x0 = _check_float_tensor(x0, "x0")
    lr = _check_positive(lr, "lr")
    steps = _check_steps(steps)
    if schedule not in ("sqrt", "constant"):
        raise ValueError(f"`schedule` must be 'sqrt' or 'constant', got {schedule!r}")
    path = [x0.detach().clone()]
    for t in range(steps):
        g = subgrad_fn(path[-1])
        if g.shape != x0.shape:
            raise ValueError(
                f"`subgrad_fn` must return shape {tuple(x0.shape)}, got {tuple(g.shape)}"
            )
        step = lr / math.sqrt(t + 1) if schedule == "sqrt" else lr
        path.append(path[-1] - step * g)
    return torch.stack(path)  # (T + 1, ...)


# --------------------------------------------------------------------------------------
# 6. Newton's method
# --------------------------------------------------------------------------------------
def newton(grad_fn: TensorFn, hess_fn: TensorFn, x0: Tensor, steps: int) -> Tensor:
    r"""Newton's method for minimisation, returning the whole trajectory.

    Minimise the second-order Taylor model at each iterate:

    .. math::

        \vx_{t+1} = \vx_t - H(\vx_t)^{-1} \nabla f(\vx_t).

    On a quadratic :math:`\tfrac12\vx^\top A\vx - \mathbf{b}^\top\vx` one step lands on the
    minimiser :math:`A^{-1}\mathbf{b}`; near the minimiser of a smooth strongly convex
    function the error squares at every step. Defined in Chapter 3 (Newton's method).

    Parameters
    ----------
    grad_fn : callable
        Maps ``x`` of shape (n,) to the gradient, shape (n,).
    hess_fn : callable
        Maps ``x`` to the Hessian, shape (n, n).
    x0 : Tensor, shape (n,)
        Starting point (not modified).
    steps : int
        Number of steps :math:`T \ge 0`.

    Returns
    -------
    Tensor, shape (T + 1, n)

    Raises
    ------
    TypeError
        If ``x0`` is not a floating-point tensor or ``steps`` not an int.
    ValueError
        If ``x0`` is not a vector, a gradient or Hessian has the wrong shape, or a Hessian
        is singular.

    Examples
    --------
    >>> A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    >>> b = torch.tensor([1.0, 1.0], dtype=torch.float64)
    >>> path = newton(lambda x: A @ x - b, lambda x: A, torch.zeros(2, dtype=torch.float64), 1)
    >>> [round(v, 6) for v in path[1].tolist()]
    [0.4, 0.2]
    """
    x0 = _checks.float_tensor("x0", x0, non_empty=True)
    steps = _check_steps(steps)
    if x0.ndim != 1:
        raise ValueError(f"`x0` must be a vector, got shape {tuple(x0.shape)}")
    n = x0.shape[0]
    path = [x0.detach().clone()]
    for _ in range(steps):
        g, H = grad_fn(path[-1]), hess_fn(path[-1])
        if g.shape != (n,) or H.shape != (n, n):
            raise ValueError(
                f"`grad_fn` and `hess_fn` must return shapes ({n},) and ({n}, {n}), got "
                f"{tuple(g.shape)} and {tuple(H.shape)}"
            )
        if not isinstance(g, Tensor) or not isinstance(H, Tensor):
            raise TypeError("`grad_fn` and `hess_fn` must return tensors")
        try:
            _checks.invertible("the Hessian", H.to(x0.dtype))
        except ValueError:
            raise ValueError("the Hessian is singular; Newton's step is undefined there") from None
        step, info = torch.linalg.solve_ex(H.to(x0.dtype), g.to(x0.dtype))  # H^{-1} g
        if int(info) != 0:
            raise ValueError("the Hessian is singular; Newton's step is undefined there")
        path.append(path[-1] - step)
    return torch.stack(path)  # (T + 1, n)


# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
