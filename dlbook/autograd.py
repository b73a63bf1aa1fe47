r"""A reverse-mode automatic differentiation engine over tensors, written from scratch.

Defined in Chapter 8 (Backpropagation). A :class:`Variable` wraps a torch tensor
``data`` and remembers how it was made: its ``parents`` and a local backward closure
``backward_fn`` that maps the gradient of the loss with respect to the node, the
*upstream* gradient, to one gradient per parent. Every op follows one pattern:

1. compute ``out`` from the parents' data;
2. attach its local backward (a vector-Jacobian product written with plain tensor ops);
3. return ``out``.

:func:`gradients` then visits the graph in reverse topological order
(:func:`topological_order`) and adds up the contributions reaching each node, so a node
used twice receives the sum of both. Broadcasting in the forward pass becomes a sum in
the backward pass (:func:`unbroadcast`). Backward passes run under ``torch.no_grad()``
and never call ``torch.autograd``: the tests compare this engine with it.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from dlbook import _checks
from dlbook.activations import gelu as gelu_value
from dlbook.activations import gelu_prime, relu_prime

__all__ = [
    "Variable",
    "add",
    "cross_entropy",
    "div",
    "gelu",
    "gradients",
    "linear",
    "linear_backward",
    "log_softmax",
    "matmul",
    "mean",
    "mul",
    "neg",
    "reduce_sum",
    "relu",
    "reshape",
    "sigmoid",
    "softmax_cross_entropy_backward",
    "sub",
    "tanh",
    "topological_order",
    "transpose",
    "unbroadcast",
]

#: A local backward: upstream gradient -> one gradient per parent (shaped like it).
BackwardFn = Callable[[Tensor], tuple[Tensor, ...]]


class Variable:
    r"""A tensor that remembers how it was computed, so gradients can flow back to it.

    Defined in Chapter 8 (A reverse-mode engine). Leaves are made by the user; every op
    on variables returns a new variable whose ``parents`` are its inputs and whose
    ``backward_fn`` is its local backward. After ``loss.backward()`` each node's
    ``grad`` holds :math:`\partial L / \partial \text{node}`, with the node's shape.

    Parameters
    ----------
    data : Tensor
        The value, any shape, floating point. Stored as given (not copied).
    requires_grad : bool, default True
        Whether gradients should flow to this leaf. Data (inputs, labels) use ``False``.

    Raises
    ------
    TypeError
        If ``data`` is not a floating-point tensor.

    Examples
    --------
    >>> x = Variable(torch.tensor([1.0, 2.0, 3.0]))
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    def __init__(self, data: Tensor, requires_grad: bool = True) -> None:
        if not isinstance(data, Tensor):
            raise TypeError(f"`data` must be a torch.Tensor, got {type(data).__name__}")
        if not data.is_floating_point():
            raise TypeError(f"`data` must be a floating-point tensor, got dtype {data.dtype}")
        self.data: Tensor = data
        self.grad: Tensor | None = None
        self.requires_grad: bool = requires_grad
        self.parents: tuple[Variable, ...] = ()
        self.backward_fn: BackwardFn | None = None
        self.op: str = ""

    @classmethod
    def from_op(
        cls, data: Tensor, parents: tuple[Variable, ...], backward_fn: BackwardFn, op: str
    ) -> Variable:
        """The output of an op: a node with parents and a local backward (if any needs it)."""
        out = cls(data, requires_grad=any(p.requires_grad for p in parents))
        if out.requires_grad:  # a constant needs no graph behind it
            out.parents, out.backward_fn, out.op = parents, backward_fn, op
        return out

    # ---------------------------------------------------------------- conveniences
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data`` as a tuple."""
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        """The number of axes of ``data``."""
        return self.data.ndim

    @property
    def device(self) -> torch.device:
        """The device ``data`` lives on (ops follow it)."""
        return self.data.device

    @property
    def T(self) -> Variable:  # noqa: N802 (the matrix transpose, as in torch)
        """The transpose of the last two axes (see :func:`transpose`)."""
        return transpose(self)

    def __repr__(self) -> str:
        made_by = f", op={self.op!r}" if self.op else ""
        return f"Variable(shape={self.shape}, dtype={self.data.dtype}{made_by})"

    def __add__(self, other: Variable | Tensor | float) -> Variable:
        return add(self, other)

    def __radd__(self, other: Variable | Tensor | float) -> Variable:
        return add(other, self)

    def __sub__(self, other: Variable | Tensor | float) -> Variable:
        return sub(self, other)

    def __rsub__(self, other: Variable | Tensor | float) -> Variable:
        return sub(other, self)

    def __mul__(self, other: Variable | Tensor | float) -> Variable:
        return mul(self, other)

    def __rmul__(self, other: Variable | Tensor | float) -> Variable:
        return mul(other, self)

    def __truediv__(self, other: Variable | Tensor | float) -> Variable:
        return div(self, other)

    def __rtruediv__(self, other: Variable | Tensor | float) -> Variable:
        return div(other, self)

    def __neg__(self) -> Variable:
        return neg(self)

    def __matmul__(self, other: Variable | Tensor) -> Variable:
        return matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Variable:
        return matmul(other, self)

    def sum(self, dim: int | None = None, keepdim: bool = False) -> Variable:
        """Sum over ``dim`` (all axes if None); see :func:`reduce_sum`."""
        return reduce_sum(self, dim, keepdim)

    def mean(self, dim: int | None = None, keepdim: bool = False) -> Variable:
        """Mean over ``dim`` (all axes if None); see :func:`mean`."""
        return mean(self, dim, keepdim)

    def reshape(self, *shape: int) -> Variable:
        """The same values in a new shape; see :func:`reshape`."""
        return reshape(self, shape)

    def backward(self, grad: Tensor | None = None) -> None:
        r"""Add :math:`\partial L / \partial v` to ``v.grad`` for every node ``v`` behind ``self``.

        ``grad`` is the upstream gradient :math:`\partial L / \partial \text{self}`; it may
        be left out only when ``self`` is a scalar (then it is 1). Gradients accumulate, as
        in PyTorch: reset them (:func:`dlbook.nn.sgd_step` does) before the next backward.

        Raises
        ------
        ValueError
            If ``self`` is not a scalar and no ``grad`` is given, or ``grad`` has the
            wrong shape.
        """
        order = topological_order(self)
        for node, g in zip(order, gradients(self, order, grad), strict=True):
            # gradients() returns fresh tensors, so no two nodes share (alias) a .grad
            node.grad = g if node.grad is None else node.grad + g


def _lift(value: Variable | Tensor | float, like: Variable) -> Variable:
    """Wrap a constant (a number or a tensor) as a leaf that needs no gradient."""
    if isinstance(value, Variable):
        return value
    if isinstance(value, Tensor):
        return Variable(value.to(like.data.dtype), requires_grad=False)
    number: object = value
    if isinstance(number, (bool, np.bool_)):
        raise TypeError(f"operand must be a Variable, a tensor or a number, got {number!r}")
    if isinstance(number, numbers.Real):  # Python or numpy scalars; inf allowed (masks)
        return Variable(
            torch.tensor(float(number), dtype=like.data.dtype, device=like.device), False
        )
    raise TypeError(f"operand must be a Variable, a tensor or a number, got {type(value).__name__}")


def _pair(
    a: Variable | Tensor | float, b: Variable | Tensor | float, op: str
) -> tuple[Variable, Variable]:
    """Lift two operands; check that they share a device and broadcast together."""
    like = a if isinstance(a, Variable) else b
    if not isinstance(like, Variable):
        raise TypeError(f"{op}: at least one operand must be a Variable")
    va, vb = _lift(a, like), _lift(b, like)
    if va.device != vb.device:
        raise ValueError(f"{op}: operands live on {va.device} and {vb.device}; move one of them")
    return va, vb


def _broadcast_shape(a: Variable, b: Variable, op: str) -> None:
    try:
        torch.broadcast_shapes(a.data.shape, b.data.shape)
    except RuntimeError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} do not broadcast together"
        ) from None


# --------------------------------------------------------------------------------------
# Broadcasting in reverse
# --------------------------------------------------------------------------------------
def unbroadcast(grad: Tensor, shape: Sequence[int]) -> Tensor:
    r"""Sum ``grad`` down to ``shape``: the backward pass of broadcasting.

    Defined in Chapter 8 (Broadcasting). If an operand of shape ``shape`` was broadcast
    to the shape of ``grad``, each of its entries was used once for every copy, so its
    gradient is the sum of the upstream gradient over the copies:

    .. math:: \bar{a}_{j} = \sum_{\text{copies } c \text{ of } a_j} \bar{g}_c .

    Leading axes that broadcasting added are summed away; axes where ``shape`` has size
    1 are summed with ``keepdim``.

    Parameters
    ----------
    grad : Tensor, shape (..., broadcast shape)
        Upstream gradient with the broadcast shape.
    shape : sequence of int
        The operand's shape, which broadcasts to ``grad.shape``.

    Returns
    -------
    Tensor, shape ``shape``
        (``grad`` itself when the shapes already agree.)

    Raises
    ------
    ValueError
        If ``shape`` does not broadcast to ``grad.shape``.

    Examples
    --------
    >>> unbroadcast(torch.ones(2, 3), (3,))
    tensor([2., 2., 2.])
    >>> unbroadcast(torch.ones(2, 3), (2, 1))
    tensor([[3.],
            [3.]])
    """
    _checks.tensor("grad", grad)
    if isinstance(shape, (str, bytes, Tensor)) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in list[object](shape)
    ):
        raise TypeError(f"`shape` must be a sequence of ints, got {shape!r}")
    target = tuple(int(s) for s in shape)
    if tuple(grad.shape) == target:
        return grad
    extra = grad.ndim - len(target)
    if extra < 0 or any(s != 1 and s != n for s, n in zip(target, grad.shape[extra:], strict=True)):
        raise ValueError(
            f"`shape` {target} does not broadcast to the gradient's shape {tuple(grad.shape)}"
        )
    if extra > 0:
        grad = grad.sum(dim=tuple(range(extra)))  # (extra..., *target-ish) -> (*target-ish)
    kept = tuple(i for i, s in enumerate(target) if s == 1 and grad.shape[i] != 1)
    if kept:
        grad = grad.sum(dim=kept, keepdim=True)
    return grad


# --------------------------------------------------------------------------------------
# Element-wise arithmetic
# --------------------------------------------------------------------------------------
def add(a: Variable | Tensor | float, b: Variable | Tensor | float) -> Variable:
    r"""Broadcasting sum :math:`a + b`; backward :math:`\bar a = \bar g,\ \bar b = \bar g`
    (each summed to its operand's shape).

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If the shapes do not broadcast or the devices differ.

    Examples
    --------
    >>> x = Variable(torch.zeros(2, 3)); b = Variable(torch.zeros(3))
    >>> (x + b).sum().backward(); b.grad
    tensor([2., 2., 2.])
    """
    va, vb = _pair(a, b, "add")
    _broadcast_shape(va, vb, "add")
    sa, sb = va.shape, vb.shape

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return unbroadcast(g, sa), unbroadcast(g, sb)

    return Variable.from_op(va.data + vb.data, (va, vb), backward, "add")


def sub(a: Variable | Tensor | float, b: Variable | Tensor | float) -> Variable:
    r"""Broadcasting difference :math:`a - b`; backward :math:`\bar a = \bar g,\ \bar b = -\bar g`.

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If the shapes do not broadcast or the devices differ.

    Examples
    --------
    >>> x = Variable(torch.ones(2)); (1.0 - x).sum().backward(); x.grad
    tensor([-1., -1.])
    """
    va, vb = _pair(a, b, "sub")
    _broadcast_shape(va, vb, "sub")
    sa, sb = va.shape, vb.shape

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return unbroadcast(g, sa), unbroadcast(-g, sb)

    return Variable.from_op(va.data - vb.data, (va, vb), backward, "sub")


def mul(
    a: Variable | Tensor | float,
    b: Variable | Tensor | float,
) -> Variable:
    r"""Broadcasting product :math:`a \odot b`; backward :math:`\bar a = \bar g \odot b,\
    \bar b = \bar g \odot a`.

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If the shapes do not broadcast or the devices differ.

    Examples
    --------
    >>> x = Variable(torch.tensor([3.0])); (x * x).backward(torch.ones(1)); x.grad
    tensor([6.])
    """
    va, vb = _pair(a, b, "mul")
    _broadcast_shape(va, vb, "mul")
    da, db = va.data, vb.data

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return unbroadcast(g * db, da.shape), unbroadcast(g * da, db.shape)

    return Variable.from_op(da * db, (va, vb), backward, "mul")


def div(a: Variable | Tensor | float, b: Variable | Tensor | float) -> Variable:
    r"""Broadcasting quotient :math:`a / b`; backward :math:`\bar a = \bar g / b,\
    \bar b = -\bar g\, a / b^2`.

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If the shapes do not broadcast or the devices differ.

    Examples
    --------
    >>> x = Variable(torch.tensor([2.0])); (1.0 / x).backward(torch.ones(1)); x.grad
    tensor([-0.2500])
    """
    va, vb = _pair(a, b, "div")
    _broadcast_shape(va, vb, "div")
    da, db = va.data, vb.data
    out = da / db

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return unbroadcast(g / db, da.shape), unbroadcast(-g * out / db, db.shape)

    return Variable.from_op(out, (va, vb), backward, "div")


def neg(a: Variable) -> Variable:
    r"""Negation :math:`-a`; backward :math:`\bar a = -\bar g`.

    Defined in Chapter 8 (A reverse-mode engine).

    Examples
    --------
    >>> x = Variable(torch.ones(2)); (-x).sum().backward(); x.grad
    tensor([-1., -1.])
    """

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (-g,)

    return Variable.from_op(-a.data, (a,), backward, "neg")


# --------------------------------------------------------------------------------------
# Linear algebra and shapes
# --------------------------------------------------------------------------------------
def _check_matmul(a: Variable, b: Variable) -> None:
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul needs operands with at least 2 axes, got {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: inner sizes differ: `a` has shape {a.shape}, `b` has shape {b.shape} "
            f"(expected a.shape[-1] == b.shape[-2])"
        )
    try:
        torch.broadcast_shapes(a.data.shape[:-2], b.data.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"matmul: batch axes of {a.shape} and {b.shape} do not broadcast"
        ) from None


def matmul(a: Variable | Tensor, b: Variable | Tensor) -> Variable:
    r"""Matrix product :math:`C = AB` (batched over leading axes, which broadcast).

    Defined in Chapter 8 (Backpropagation through a layer). With upstream gradient
    :math:`\bar C`,

    .. math:: \bar A = \bar C B^\top, \qquad \bar B = A^\top \bar C,

    each summed over any broadcast batch axes.

    Parameters
    ----------
    a, b : Variable or Tensor, shapes (..., n, m) and (..., m, p)
        At least 2-D.

    Returns
    -------
    Variable, shape (..., n, p)

    Raises
    ------
    ValueError
        If an operand has fewer than 2 axes, the inner sizes differ, or the devices
        differ.

    Examples
    --------
    >>> A = Variable(torch.ones(2, 3)); B = Variable(torch.ones(3, 4))
    >>> (A @ B).sum().backward(); A.grad
    tensor([[4., 4., 4.],
            [4., 4., 4.]])
    """
    va, vb = _pair(a, b, "matmul")
    _check_matmul(va, vb)
    da, db = va.data, vb.data

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        # A (n, p), B (p, m), g (n, m), all batched over any leading axes
        grad_a = unbroadcast(g @ db.mT, da.shape)  # (n, m) @ (m, p) -> (n, p)
        grad_b = unbroadcast(da.mT @ g, db.shape)  # (p, n) @ (n, m) -> (p, m)
        return grad_a, grad_b

    return Variable.from_op(da @ db, (va, vb), backward, "matmul")


def linear_backward(X: Tensor, W: Tensor, grad_Z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""Backward pass of a linear layer :math:`Z = X W^\top + \mathbf{1}\mathbf{b}^\top`.

    Defined in Chapter 8 (Backpropagation through a layer); also exported as
    ``dlbook.nn.linear_backward``. Given the upstream gradient
    :math:`\bar Z = \partial L / \partial Z`,

    .. math:: \bar X = \bar Z\, W, \qquad \bar W = \bar Z^\top X, \qquad
       \bar{\mathbf{b}} = \bar Z^\top \mathbf{1}.

    Parameters
    ----------
    X : Tensor, shape (N, D)
        The layer's input.
    W : Tensor, shape (K, D)
        Its weight (the layout of ``torch.nn.Linear(D, K).weight``).
    grad_Z : Tensor, shape (N, K)
        Upstream gradient with respect to the output.

    Returns
    -------
    (Tensor, Tensor, Tensor)
        ``grad_X`` (N, D), ``grad_W`` (K, D), ``grad_b`` (K,).

    Raises
    ------
    ValueError
        If the shapes do not fit together.

    Examples
    --------
    >>> gX, gW, gb = linear_backward(torch.ones(3, 2), torch.ones(4, 2), torch.ones(3, 4))
    >>> tuple(gX.shape), tuple(gW.shape), gb
    ((3, 2), (4, 2), tensor([3., 3., 3., 3.]))
    """
    for name, t in (("X", X), ("W", W), ("grad_Z", grad_Z)):
        _checks.float_tensor(name, t)
    _checks.same_dtype(X=X, W=W, grad_Z=grad_Z)
    if X.ndim != 2 or W.ndim != 2 or grad_Z.ndim != 2:
        raise ValueError(
            f"`X`, `W` and `grad_Z` must be matrices, got shapes {tuple(X.shape)}, "
            f"{tuple(W.shape)} and {tuple(grad_Z.shape)}"
        )
    if X.shape[1] != W.shape[1] or grad_Z.shape != (X.shape[0], W.shape[0]):
        raise ValueError(
            f"shapes do not fit: `X` {tuple(X.shape)} (N, D), `W` {tuple(W.shape)} (K, D), "
            f"`grad_Z` {tuple(grad_Z.shape)} (expected (N, K) = {(X.shape[0], W.shape[0])})"
        )
    # Written out (not delegated to calculus.linear_layer_gradients, Chapter 3's version for
    # one example or a batch): Exercise 8.2 grades a student against this function with
    # that one switched off, so the reference must stand on its own.
    grad_X = grad_Z @ W  # (N, K) @ (K, D) -> (N, D)
    grad_W = grad_Z.T @ X  # (K, N) @ (N, D) -> (K, D)
    grad_b = grad_Z.sum(dim=0)  # (N, K) -> (K,)
    return grad_X, grad_W, grad_b


def linear(X: Variable | Tensor, W: Variable, b: Variable) -> Variable:
    r"""A linear layer :math:`Z = X W^\top + \mathbf{1}\mathbf{b}^\top` as one node.

    Defined in Chapter 8 (Backpropagation through a layer). The same value as
    ``X @ W.T + b`` built from :func:`transpose`, :func:`matmul` and :func:`add`, in one
    node instead of three; its backward is :func:`linear_backward`.

    Parameters
    ----------
    X : Variable or Tensor, shape (N, D)
    W : Variable, shape (K, D)
    b : Variable, shape (K,)

    Returns
    -------
    Variable, shape (N, K)

    Raises
    ------
    ValueError
        If the shapes do not fit together or the devices differ.

    Examples
    --------
    >>> W = Variable(torch.ones(2, 3)); b = Variable(torch.zeros(2))
    >>> linear(torch.ones(4, 3), W, b).sum().backward(); b.grad
    tensor([4., 4.])
    """
    vX, vW = _pair(X, W, "linear")
    if vX.ndim != 2 or vW.ndim != 2 or b.shape != (vW.shape[0],) or vX.shape[1] != vW.shape[1]:
        raise ValueError(
            f"linear: expected X (N, D), W (K, D), b (K,), got {vX.shape}, {vW.shape}, {b.shape}"
        )
    dX, dW = vX.data, vW.data

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return linear_backward(dX, dW, g)

    out = torch.addmm(b.data, dX, dW.T)  # b + X W^T: (N, D) @ (D, K) -> (N, K)
    return Variable.from_op(out, (vX, vW, b), backward, "linear")


def transpose(a: Variable) -> Variable:
    r"""Swap the last two axes, :math:`A^\top`; backward :math:`\bar A = \bar G^\top`.

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If ``a`` has fewer than 2 axes.

    Examples
    --------
    >>> Variable(torch.zeros(2, 3)).T.shape
    (3, 2)
    """
    if a.ndim < 2:
        raise ValueError(f"transpose needs at least 2 axes, got shape {a.shape}")

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g.mT,)  # (..., m, n) -> (..., n, m)

    return Variable.from_op(a.data.mT, (a,), backward, "transpose")


def reshape(a: Variable, shape: Sequence[int]) -> Variable:
    r"""The same entries in shape ``shape``; backward reshapes :math:`\bar g` back.

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If ``shape`` does not hold ``a``'s number of entries.

    Examples
    --------
    >>> Variable(torch.zeros(2, 3)).reshape(3, 2).shape
    (3, 2)
    """
    target = tuple(int(s) for s in shape)
    known = math.prod(s for s in target if s != -1)
    fits = (
        math.prod(target) == a.data.numel()
        if -1 not in target
        else known > 0 and (a.data.numel() % known == 0)
    )
    if not fits or target.count(-1) > 1:
        raise ValueError(f"cannot reshape {a.shape} ({a.data.numel()} entries) to {target}")
    old = a.data.shape

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g.reshape(old),)  # new shape -> old shape

    return Variable.from_op(a.data.reshape(target), (a,), backward, "reshape")


def reduce_sum(a: Variable, dim: int | None = None, keepdim: bool = False) -> Variable:
    r"""Sum over axis ``dim`` (over everything if None); backward copies :math:`\bar g` back.

    Defined in Chapter 8 (A reverse-mode engine). Summing is the reverse of broadcasting:
    every entry contributed with weight 1, so each receives the upstream gradient.

    Raises
    ------
    ValueError
        If ``dim`` is not an axis of ``a``.

    Examples
    --------
    >>> x = Variable(torch.ones(2, 3)); x.sum(dim=1).sum().backward(); x.grad
    tensor([[1., 1., 1.],
            [1., 1., 1.]])
    """
    if dim is not None and not -a.ndim <= dim < max(a.ndim, 1):
        raise ValueError(f"`dim` must be an axis of a {a.ndim}-D variable, got {dim}")
    flag: object = keepdim
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"`keepdim` must be a bool, got {flag!r}")
    shape, ndim = a.data.shape, a.ndim
    if dim is None:
        # as torch.sum(x, dim=None, keepdim=True) and numpy: every axis kept with length 1
        out = a.data.sum().reshape((1,) * ndim if keepdim else ())
    else:
        out = a.data.sum(dim=dim, keepdim=keepdim)

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        if dim is not None and not keepdim and ndim > 0:
            g = g.unsqueeze(dim)  # put back the summed axis: (..., ...) -> (..., 1, ...)
        return (g.expand(shape),)

    return Variable.from_op(out, (a,), backward, "sum")


def mean(a: Variable, dim: int | None = None, keepdim: bool = False) -> Variable:
    r"""Mean over axis ``dim`` (over everything if None): :func:`reduce_sum` divided by the count.

    Defined in Chapter 8 (A reverse-mode engine).

    Raises
    ------
    ValueError
        If ``dim`` is not an axis of ``a``.

    Examples
    --------
    >>> x = Variable(torch.ones(4)); x.mean().backward(); x.grad
    tensor([0.2500, 0.2500, 0.2500, 0.2500])
    """
    if dim is not None and not -a.ndim <= dim < max(a.ndim, 1):
        raise ValueError(f"`dim` must be an axis of a {a.ndim}-D variable, got {dim}")
    count = a.data.numel() if dim is None or a.ndim == 0 else a.data.shape[dim]
    return div(reduce_sum(a, dim, keepdim), float(count))


# --------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------
def sigmoid(a: Variable) -> Variable:
    r"""Logistic sigmoid :math:`\sigma(a)`; backward :math:`\bar g\,\sigma(a)(1-\sigma(a))`.

    Defined in Chapter 8 (Activations).

    Examples
    --------
    >>> x = Variable(torch.zeros(1)); sigmoid(x).backward(torch.ones(1)); x.grad
    tensor([0.2500])
    """
    out = torch.sigmoid(a.data)

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g * out * (1 - out),)  # sigma' = sigma (1 - sigma), from the output

    return Variable.from_op(out, (a,), backward, "sigmoid")


def tanh(a: Variable) -> Variable:
    r"""Hyperbolic tangent; backward :math:`\bar a = \bar g\,(1 - \tanh^2 a)`.

    Defined in Chapter 8 (Activations).

    Examples
    --------
    >>> x = Variable(torch.zeros(1)); tanh(x).backward(torch.ones(1)); x.grad
    tensor([1.])
    """
    out = torch.tanh(a.data)

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g * (1 - out * out),)

    return Variable.from_op(out, (a,), backward, "tanh")


def relu(a: Variable) -> Variable:
    r"""Rectified linear unit :math:`\max(0, a)`; backward :math:`\bar a = \bar g\,[a > 0]`.

    Defined in Chapter 8 (Activations). At :math:`a = 0` the derivative is taken to be 0,
    as in PyTorch.

    Examples
    --------
    >>> x = Variable(torch.tensor([-1.0, 2.0])); relu(x).sum().backward(); x.grad
    tensor([0., 1.])
    """
    da = a.data

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g * relu_prime(da),)

    return Variable.from_op(torch.clamp_min(da, 0), (a,), backward, "relu")


def gelu(a: Variable) -> Variable:
    r"""Gaussian error linear unit :math:`a\,\Phi(a)`; backward :math:`\bar g\,\mathrm{GELU}'(a)`.

    Defined in Chapter 8 (Activations); the exact (erf) form of
    :func:`dlbook.activations.gelu`.

    Examples
    --------
    >>> x = Variable(torch.zeros(1)); gelu(x).backward(torch.ones(1)); x.grad
    tensor([0.5000])
    """
    da = a.data

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g * gelu_prime(da),)

    return Variable.from_op(gelu_value(da), (a,), backward, "gelu")


# --------------------------------------------------------------------------------------
# Softmax and cross-entropy
# --------------------------------------------------------------------------------------
def log_softmax(a: Variable, dim: int = -1) -> Variable:
    r"""Log-probabilities :math:`a_k - \log \sum_l e^{a_l}` along ``dim``.

    Defined in Chapter 8 (Softmax and cross-entropy). With :math:`p = \operatorname{softmax}(a)`,

    .. math:: \bar a = \bar g - p \sum_l \bar g_l .

    Raises
    ------
    ValueError
        If ``dim`` is not an axis of ``a``.

    Examples
    --------
    >>> z = log_softmax(Variable(torch.zeros(1, 4)))
    >>> z.data
    tensor([[-1.3863, -1.3863, -1.3863, -1.3863]])
    """
    if a.ndim == 0 or not -a.ndim <= dim < a.ndim:
        raise ValueError(f"`dim` must be an axis of a {a.ndim}-D variable, got {dim}")
    z = a.data
    m = z.amax(dim=dim, keepdim=True)
    shifted = z - torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # max entry exactly 0
    out = shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g - out.exp() * g.sum(dim=dim, keepdim=True),)

    return Variable.from_op(out, (a,), backward, "log_softmax")


def softmax_cross_entropy_backward(logits: Tensor, targets: Tensor) -> Tensor:
    r"""Gradient of the mean cross-entropy with respect to the logits: :math:`(P - Y)/N`.

    Defined in Chapter 8 (Softmax and cross-entropy). For
    :math:`L = -\frac{1}{N}\sum_i \log \operatorname{softmax}(\vz_i)_{y_i}`,

    .. math:: \frac{\partial L}{\partial Z} = \frac{1}{N}\bigl(\operatorname{softmax}(Z) - Y\bigr),

    where :math:`Y` holds the one-hot targets.

    Parameters
    ----------
    logits : Tensor, shape (N, K)
    targets : Tensor, shape (N,)
        Integer classes in :math:`\{0, \dots, K-1\}`.

    Returns
    -------
    Tensor, shape (N, K)
        On the device and in the dtype of ``logits``.

    Raises
    ------
    ValueError
        If the shapes do not fit, ``N`` is 0 or a target lies outside :math:`[0, K)`.
    TypeError
        If ``targets`` is not an integer tensor.

    Examples
    --------
    >>> softmax_cross_entropy_backward(torch.zeros(1, 2), torch.tensor([1]))
    tensor([[ 0.5000, -0.5000]])
    """
    return _softmax_minus_one_hot(logits, _check_targets(logits, targets))


def _softmax_minus_one_hot(logits: Tensor, targets: Tensor) -> Tensor:
    n = logits.shape[0]
    P = torch.softmax(logits, dim=1)
    P[torch.arange(n, device=logits.device), targets] -= 1  # P - Y without building Y
    return P / n


def _check_targets(logits: Tensor, targets: Tensor) -> Tensor:
    """The targets as int64 labels (any integer dtype accepted; never used as a mask)."""
    _checks.float_tensor("logits", logits)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(
            f"`logits` must have shape (N, K) with N, K > 0, got {tuple(logits.shape)}"
        )
    return _checks.labels(
        "targets",
        targets,
        num_classes=logits.shape[1],
        shape=logits.shape[:1],
        device=logits.device,
    )


def cross_entropy(logits: Variable, targets: Tensor) -> Variable:
    r"""Mean cross-entropy :math:`-\frac{1}{N}\sum_i \log \operatorname{softmax}(\vz_i)_{y_i}`.

    Defined in Chapter 8 (Softmax and cross-entropy). One fused node: its backward is
    :func:`softmax_cross_entropy_backward` times the (scalar) upstream gradient.

    Parameters
    ----------
    logits : Variable, shape (N, K)
    targets : Tensor, shape (N,)
        Integer classes.

    Returns
    -------
    Variable, shape ()

    Raises
    ------
    ValueError, TypeError
        As :func:`softmax_cross_entropy_backward`.

    Examples
    --------
    >>> loss = cross_entropy(Variable(torch.zeros(2, 4)), torch.tensor([0, 3]))
    >>> round(loss.data.item(), 4)
    1.3863
    """
    if not isinstance(logits, Variable):
        raise TypeError(f"`logits` must be a Variable, got {type(logits).__name__}")
    Z = logits.data
    targets = _check_targets(Z, targets)
    m = Z.amax(dim=1, keepdim=True)  # (N, 1)
    shifted = Z - torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # (N, K), max exactly 0
    log_p = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))  # (N, K)
    out = -log_p[torch.arange(Z.shape[0], device=Z.device), targets].mean()

    def backward(g: Tensor) -> tuple[Tensor, ...]:
        return (g * _softmax_minus_one_hot(Z, targets),)  # (P - Y) / N, checked above

    return Variable.from_op(out, (logits,), backward, "cross_entropy")


# --------------------------------------------------------------------------------------
# The backward pass
# --------------------------------------------------------------------------------------
def topological_order(output: Variable) -> list[Variable]:
    r"""The nodes behind ``output`` that need gradients, each after all of its parents.

    Defined in Chapter 8 (Topological order). A depth-first search from ``output``
    appends a node once every parent has been appended, so ``output`` comes last and the
    reversed list visits every node before any of its parents.

    Examples
    --------
    >>> x = Variable(torch.ones(1)); y = x * 2.0; z = y + x
    >>> [v.op or "leaf" for v in topological_order(z)]
    ['leaf', 'mul', 'add']
    """
    order: list[Variable] = []
    seen: set[int] = set()
    stack: list[tuple[Variable, bool]] = [(output, False)]
    while stack:  # iterative DFS: deep graphs do not hit Python's recursion limit
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen or not node.requires_grad:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in reversed(node.parents) if id(p) not in seen)
    return order


def _seed(output: Variable, grad: Tensor | None) -> Tensor:
    """The gradient the backward pass starts from: 1 for a scalar output, else ``grad``."""
    if grad is None:
        if output.data.numel() != 1:
            raise ValueError(
                f"backward on a non-scalar output of shape {output.shape} needs `grad`, the "
                "upstream gradient of that shape"
            )
        return torch.ones_like(output.data)
    if not isinstance(grad, Tensor) or not grad.dtype.is_floating_point:
        raise TypeError(
            "`grad` must be a floating-point tensor, got "
            + (f"dtype {grad.dtype}" if isinstance(grad, Tensor) else type(grad).__name__)
        )
    if grad.device != output.device:
        raise ValueError(
            f"`grad` must be on the output's device {output.device}, got {grad.device}"
        )
    if tuple(grad.shape) != output.shape:
        raise ValueError(
            f"`grad` must have the output's shape {output.shape}, got {tuple(grad.shape)}"
        )
    return grad


def gradients(
    output: Variable, inputs: Sequence[Variable], grad: Tensor | None = None
) -> list[Tensor]:
    r"""Reverse-mode gradients :math:`\partial L / \partial v` of ``output`` for each of ``inputs``.

    Defined in Chapter 8 (Backpropagation). Starting from
    :math:`\bar{L} = \partial L / \partial L = 1` (or ``grad``), visit the nodes in
    reverse topological order; each node hands its gradient to its local backward and
    *adds* the results to its parents' gradients, because a node used several times
    influences the output along several paths (the multivariate chain rule):

    .. math::

        \bar v = \sum_{c \,\in\, \text{children}(v)}
        \Big(\frac{\partial c}{\partial v}\Big)^{\!\top} \bar c .

    Runs under ``torch.no_grad()``; leaves nothing on the nodes.

    Parameters
    ----------
    output : Variable
        The quantity to differentiate, usually a scalar loss.
    inputs : sequence of Variable
        The nodes whose gradients to return.
    grad : Tensor, optional
        Upstream gradient with ``output``'s shape; required unless ``output`` is a scalar.

    Returns
    -------
    list of Tensor
        One gradient per input, shaped like it (zeros where the input does not influence
        ``output``).

    Raises
    ------
    ValueError
        If ``output`` is not a scalar and ``grad`` is missing, or ``grad`` has the wrong
        shape.

    Examples
    --------
    >>> x = Variable(torch.tensor([2.0])); y = x * x + x
    >>> gradients(y.sum(), [x])
    [tensor([5.])]
    """
    # dL/dL = 1 (or the given upstream gradient)
    grads: dict[int, Tensor] = {id(output): _seed(output, grad)}
    with torch.no_grad():
        for node in reversed(topological_order(output)):
            g = grads.get(id(node))
            if g is None or node.backward_fn is None:
                continue
            local = node.backward_fn(g)
            for parent, part in zip(node.parents, local, strict=True):
                if not parent.requires_grad:
                    continue
                # accumulate: a node used several times sums over its uses
                key = id(parent)
                grads[key] = grads[key] + part if key in grads else part
    if isinstance(inputs, Variable) or not all(isinstance(v, Variable) for v in inputs):
        raise TypeError("`inputs` must be a sequence of Variable")
    # Fresh, contiguous copies: a backward may hand the same tensor (or the caller's own
    # upstream `grad`, or an expanded view) to several parents, and gradients must not alias.
    return [
        torch.clone(grads[id(v)], memory_format=torch.contiguous_format)
        if id(v) in grads
        else torch.zeros_like(v.data)
        for v in inputs
    ]


def _takes_variable(fn: Callable[..., Variable]) -> Callable[..., Variable]:
    """``fn`` refusing a first argument that is not a Variable, with a clear TypeError."""

    @functools.wraps(fn)
    def wrapper(a: object, *args: object, **kwargs: object) -> Variable:
        if not isinstance(a, Variable):
            raise TypeError(f"{fn.__name__}: `a` must be a Variable, got {type(a).__name__}")
        return fn(a, *args, **kwargs)

    return wrapper


for _name in ("neg", "transpose", "reshape", "reduce_sum", "mean", "sigmoid", "tanh", "relu",
              "gelu", "log_softmax"):  # fmt: skip
    globals()[_name] = _takes_variable(globals()[_name])

# Every public function checks devices and numpy scalars the same way (dlbook._checks).
_checks.guard_module(globals(), __all__)
