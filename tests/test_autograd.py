"""Tests for dlbook.autograd: every op against torch.autograd (float64) and central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import autograd as ag
from dlbook.autograd import Variable
from dlbook.calculus import numerical_gradient, relative_error

F64 = torch.float64


def rand(shape: tuple[int, ...], device: torch.device, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=F64).to(device)


def compare(
    ours: Callable[..., Variable],
    theirs: Callable[..., torch.Tensor],
    inputs: list[torch.Tensor],
) -> None:
    """Value and gradient of sum(out * weights) in the engine and in torch.autograd."""
    vs = [Variable(x.clone()) for x in inputs]
    out = ours(*vs)
    ts = [x.clone().requires_grad_(True) for x in inputs]
    ref = theirs(*ts)
    torch.testing.assert_close(out.data, ref.detach(), rtol=1e-10, atol=1e-12)
    assert out.device == inputs[0].device
    weights = rand(tuple(ref.shape), inputs[0].device, seed=99)  # a generic upstream gradient
    (ref * weights).sum().backward()
    out.backward(weights)
    for v, t in zip(vs, ts, strict=True):
        assert v.grad is not None and t.grad is not None
        assert v.grad.shape == t.grad.shape
        assert v.grad.device == inputs[0].device
        torch.testing.assert_close(v.grad, t.grad, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# Each op, including broadcasting
# --------------------------------------------------------------------------------------
BINARY: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "add": (ag.add, torch.add),
    "sub": (ag.sub, torch.sub),
    "mul": (ag.mul, torch.mul),
    "div": (lambda a, b: ag.div(a, b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "operators": (lambda a, b: (a + b) * a - b / 2.0, lambda a, b: (a + b) * a - b / 2.0),
}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((5,), ())]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_ops_match_torch(name: str, shapes: Any, device: torch.device) -> None:
    ours, theirs = BINARY[name]
    compare(ours, theirs, [rand(shapes[0], device, 1), rand(shapes[1], device, 2)])


UNARY: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "neg": (ag.neg, torch.neg),
    "sigmoid": (ag.sigmoid, torch.sigmoid),
    "tanh": (ag.tanh, torch.tanh),
    "relu": (ag.relu, torch.relu),
    "gelu": (ag.gelu, F.gelu),
    "sum": (ag.reduce_sum, torch.sum),
    "sum_dim0": (lambda a: a.sum(dim=0), lambda a: a.sum(dim=0)),
    "sum_keepdim": (lambda a: a.sum(dim=-1, keepdim=True), lambda a: a.sum(-1, keepdim=True)),
    "mean": (ag.mean, torch.mean),
    "mean_dim1": (lambda a: a.mean(dim=1), lambda a: a.mean(dim=1)),
    "reshape": (lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1)),
    "transpose": (lambda a: a.T, lambda a: a.mT),
    "log_softmax": (ag.log_softmax, lambda a: torch.log_softmax(a, dim=-1)),
    "log_softmax_dim0": (
        lambda a: ag.log_softmax(a, dim=0),
        lambda a: torch.log_softmax(a, dim=0),
    ),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_torch(name: str, device: torch.device) -> None:
    ours, theirs = UNARY[name]
    compare(
        ours,
        theirs,
        [rand((2, 3, 4), device, 3) if "transpose" in name else rand((3, 4), device, 3)],
    )


@pytest.mark.parametrize(
    "shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2))], ids=str
)
def test_matmul_matches_torch_with_broadcast_batches(shapes: Any, device: torch.device) -> None:
    compare(ag.matmul, torch.matmul, [rand(shapes[0], device, 4), rand(shapes[1], device, 5)])


def test_linear_matches_torch_and_the_three_op_version(device: torch.device) -> None:
    inputs = [rand((5, 4), device, 8), rand((3, 4), device, 9), rand((3,), device, 10)]
    compare(ag.linear, F.linear, inputs)
    compare(lambda X, W, b: X @ W.T + b, F.linear, inputs)
    with pytest.raises(ValueError, match="linear: expected"):
        ag.linear(Variable(inputs[0]), Variable(inputs[1]), Variable(inputs[1]))


def test_cross_entropy_matches_torch(device: torch.device) -> None:
    targets = torch.tensor([0, 3, 2, 3, 1], device=device)
    compare(
        lambda z: ag.cross_entropy(z, targets),
        lambda z: F.cross_entropy(z, targets),
        [rand((5, 4), device, 6) * 5],
    )


def test_softmax_cross_entropy_backward_is_p_minus_y_over_n(device: torch.device) -> None:
    Z = rand((6, 3), device, 7).requires_grad_(True)
    y = torch.tensor([0, 1, 2, 2, 1, 0], device=device)
    F.cross_entropy(Z, y).backward()
    got = ag.softmax_cross_entropy_backward(Z.detach(), y)
    assert Z.grad is not None
    torch.testing.assert_close(got, Z.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got.sum(dim=1), torch.zeros(6, dtype=F64, device=device))


def test_log_softmax_survives_huge_logits() -> None:
    z = Variable(torch.tensor([[1000.0, 0.0, -1000.0]], dtype=F64))
    out = ag.log_softmax(z)
    torch.testing.assert_close(out.data, torch.log_softmax(z.data, dim=-1))
    out.backward(torch.ones(1, 3, dtype=F64))
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_constants_are_lifted_and_get_no_gradient(device: torch.device) -> None:
    x = Variable(rand((3,), device))
    c = rand((3,), device, 1)
    y = (2.0 * x + c - 1).sum()
    y.backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, torch.full((3,), 2.0, dtype=F64, device=device))
    assert not ag.add(Variable(c, requires_grad=False), 1.0).requires_grad
    M = rand((2, 3), device, 2)
    (M @ ag.reshape(x, (3, 1))).sum().backward()  # a tensor on the left of @
    torch.testing.assert_close(x.grad, 2.0 + M.sum(dim=0), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------
# Graph mechanics: reuse, order, accumulation
# --------------------------------------------------------------------------------------
def test_reused_node_accumulates_gradients(device: torch.device) -> None:
    x0 = rand((4,), device)
    x = Variable(x0.clone())
    y = x * x + x  # x used three times
    z = (y * y).sum()  # y used twice
    z.backward()
    expected = 2 * (x0 * x0 + x0) * (2 * x0 + 1)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, expected, rtol=1e-10, atol=1e-12)


def test_backward_accumulates_across_calls_like_torch() -> None:
    x = Variable(torch.tensor([1.0, 2.0], dtype=F64))
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, torch.tensor([4.0, 8.0], dtype=F64))


def test_topological_order_puts_parents_first() -> None:
    a, b = Variable(torch.ones(2)), Variable(torch.ones(2))
    c = a * b
    d = c + a
    e = (d * c).sum()
    order = ag.topological_order(e)
    position = {id(v): i for i, v in enumerate(order)}
    assert len(order) == len(position) == 6  # a, b, c, d, d*c, e: each once
    assert order[-1] is e
    for v in order:
        for p in v.parents:
            assert position[id(p)] < position[id(v)]


def test_long_chain_needs_no_recursion() -> None:
    x = Variable(torch.tensor([0.5], dtype=F64))
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, torch.tensor([1.0001**3000], dtype=F64))


def test_gradients_returns_zeros_for_unused_inputs() -> None:
    x, unused = Variable(torch.ones(3, dtype=F64)), Variable(torch.ones(2, dtype=F64))
    gx, gu = ag.gradients((3.0 * x).sum(), [x, unused])
    torch.testing.assert_close(gx, torch.full((3,), 3.0, dtype=F64))
    torch.testing.assert_close(gu, torch.zeros(2, dtype=F64))
    assert x.grad is None  # gradients() leaves the nodes alone


def test_backward_runs_without_torch_autograd() -> None:
    x = Variable(torch.randn(3, 4, dtype=F64))
    W = Variable(torch.randn(5, 4, dtype=F64))
    loss = ag.cross_entropy(ag.gelu(x @ W.T), torch.tensor([0, 1, 4]))
    loss.backward()
    assert not x.data.requires_grad and loss.data.grad_fn is None


# --------------------------------------------------------------------------------------
# unbroadcast
# --------------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=4),
    st.data(),
)
def test_unbroadcast_is_the_adjoint_of_broadcasting(full: list[int], data: st.DataObject) -> None:
    # The operand's shape: drop some leading axes, set some of the rest to 1.
    drop = data.draw(st.integers(0, len(full)))
    ones = data.draw(st.lists(st.booleans(), min_size=len(full), max_size=len(full)))
    shape = tuple(1 if o else s for s, o in zip(full[drop:], ones[drop:], strict=True))
    x = torch.randn(shape, dtype=F64, requires_grad=True)
    G = torch.randn(full, dtype=F64)
    (x.expand(full) * G).sum().backward()  # d/dx <broadcast(x), G> = unbroadcast(G)
    assert x.grad is not None
    torch.testing.assert_close(ag.unbroadcast(G, shape), x.grad, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# Random graphs (Hypothesis): the engine agrees with torch.autograd and with differences
# --------------------------------------------------------------------------------------
LEAF_SHAPES = [(3, 4), (4,), (1, 4), (3, 1), (1,)]
OPS = ["add", "sub", "mul", "div", "neg", "sigmoid", "tanh", "gelu", "sum", "matmul", "lsm"]


def run_program(
    lib: dict[str, Callable[..., Any]], leaves: list[Any], W: Any, program: list[Any]
) -> Any:
    """Evaluate a random program with either library; every node feeds the output."""
    pool = list(leaves)
    for name, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if name == "add":
            out = a + b
        elif name == "sub":
            out = a - b
        elif name == "mul":
            out = a * b
        elif name == "div":
            out = a / (b * b + 1.0)
        elif name == "neg":
            out = -a
        elif name == "sum":
            out = a.sum(dim=-1, keepdim=True)
        elif name == "matmul":
            out = a @ W if len(a.shape) == 2 and a.shape[-1] == 4 else a + b
        elif name == "lsm":
            out = lib["log_softmax"](a)
        else:
            out = lib[name](a)
        pool.append(out)
    total = pool[0].sum()
    for k, node in enumerate(pool[1:]):
        total = total + node.sum() * (0.5 + 0.1 * k)
    return total


ENGINE: dict[str, Callable[..., Any]] = {
    "sigmoid": ag.sigmoid,
    "tanh": ag.tanh,
    "gelu": ag.gelu,
    "log_softmax": ag.log_softmax,
}
TORCH: dict[str, Callable[..., Any]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": F.gelu,
    "log_softmax": lambda a: torch.log_softmax(a, dim=-1),
}

programs = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 20), st.integers(0, 20)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.sampled_from(LEAF_SHAPES), min_size=1, max_size=3),
    programs,
    st.integers(0, 2**31 - 1),
)
def test_random_graphs_match_torch_autograd(
    shapes: list[tuple[int, ...]], program: list[Any], seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    values = [torch.randn(s, generator=g, dtype=F64) for s in shapes]
    W0 = torch.randn(4, 4, generator=g, dtype=F64)
    leaves = [Variable(v.clone()) for v in values]
    W = Variable(W0.clone())
    out = run_program(ENGINE, leaves, W, program)
    out.backward()
    ts = [v.clone().requires_grad_(True) for v in values]
    tW = W0.clone().requires_grad_(True)
    ref = run_program(TORCH, ts, tW, program)
    ref.backward()
    torch.testing.assert_close(out.data, ref.detach(), rtol=1e-10, atol=1e-10)
    for v, t in zip([*leaves, W], [*ts, tW], strict=True):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        got = v.grad if v.grad is not None else torch.zeros_like(v.data)
        torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(programs, st.integers(0, 2**31 - 1))
def test_random_graphs_match_central_differences(program: list[Any], seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(3, 4, generator=g, dtype=F64)
    W = Variable(torch.randn(4, 4, generator=g, dtype=F64), requires_grad=False)
    x = Variable(x0.clone())
    run_program(ENGINE, [x], W, program).backward()
    numeric = numerical_gradient(lambda v: run_program(ENGINE, [Variable(v)], W, program).data, x0)
    assert x.grad is not None
    # Relative error alone fails where the true gradient is exactly zero (x - x): central
    # differences then return round-off of order u |f| / eps ~ 1e-10, so allow that floor.
    torch.testing.assert_close(x.grad, numeric, rtol=1e-6, atol=1e-8)


def test_mlp_loss_gradient_matches_central_differences() -> None:
    g = torch.Generator().manual_seed(3)
    X = torch.randn(8, 5, generator=g, dtype=F64)
    y = torch.randint(0, 3, (8,), generator=g)
    W0 = torch.randn(3, 5, generator=g, dtype=F64)

    def loss(W: torch.Tensor) -> Variable:
        h = ag.tanh(Variable(X, requires_grad=False) @ Variable(W).T)
        return ag.cross_entropy(h * 2.0, y)

    W = Variable(W0.clone())
    (grad,) = ag.gradients(ag.cross_entropy(ag.tanh(Variable(X, False) @ W.T) * 2.0, y), [W])
    numeric = numerical_gradient(lambda v: loss(v).data, W0)
    assert relative_error(grad, numeric) < 1e-7


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors() -> None:
    A, B = Variable(torch.ones(2, 3)), Variable(torch.ones(4, 5))
    with pytest.raises(ValueError, match="inner sizes differ"):
        A @ B
    with pytest.raises(ValueError, match="at least 2 axes"):
        ag.matmul(Variable(torch.ones(3)), A)
    with pytest.raises(ValueError, match="do not broadcast"):
        A + B
    with pytest.raises(ValueError, match="non-scalar"):
        (A * 2.0).backward()
    with pytest.raises(ValueError, match="must have the output's shape"):
        (A * 2.0).backward(torch.ones(3, 2))
    with pytest.raises(TypeError, match="floating-point"):
        Variable(torch.ones(2, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        Variable([1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="operand"):
        A + "one"  # type: ignore[operator]
    with pytest.raises(ValueError, match="cannot reshape"):
        A.reshape(4, 2)
    with pytest.raises(ValueError, match="`dim`"):
        A.sum(dim=2)
    with pytest.raises(ValueError, match="`dim`"):
        ag.log_softmax(A, dim=3)
    with pytest.raises(ValueError, match="transpose"):
        _ = Variable(torch.ones(3)).T
    with pytest.raises(ValueError, match="does not broadcast"):
        ag.unbroadcast(torch.ones(2, 3), (4,))
    with pytest.raises(ValueError, match="live on"):
        Variable(torch.ones(2, device="meta")) + Variable(torch.ones(2))


def test_cross_entropy_rejects_bad_targets() -> None:
    Z = Variable(torch.zeros(3, 4))
    with pytest.raises(TypeError, match="integer"):
        ag.cross_entropy(Z, torch.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        ag.cross_entropy(Z, torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"lie in \[0, 4\)"):
        ag.cross_entropy(Z, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        ag.softmax_cross_entropy_backward(torch.zeros(4), torch.zeros(4, dtype=torch.int64))
