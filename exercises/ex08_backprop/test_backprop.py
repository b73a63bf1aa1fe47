"""Grader for exercise set 8 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any

import torch

from dlbook import autograd, calculus, nn
from dlbook.autograd import Variable
from dlbook.grading import Case, check, check_raises

SUBMISSION = "backprop.py"
REFERENCES = {
    "sigmoid_prime": nn.sigmoid_prime,
    "tanh_prime": nn.tanh_prime,
    "gelu_prime": nn.gelu_prime,
    "linear_backward": nn.linear_backward,
    "softmax_cross_entropy_backward": autograd.softmax_cross_entropy_backward,
    "unbroadcast": autograd.unbroadcast,
    "gradients": autograd.gradients,
}
# Other dlbook functions that would do an exercise's work; switched off like the reference.
SAME_WORK: dict[str, list[Callable[..., Any]]] = {
    "linear_backward": [calculus.linear_layer_gradients],
    "gradients": [autograd.gradients, autograd.topological_order],
}
# torch.autograd is off limits (README.md): switched off while the submission runs.
FORBID = [
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "torch.func",
    "torch.autograd.functional",
]
# Exercise 8.4's whole job in one call: switched off there (README.md).
SUM_TO_SIZE = [*FORBID, "torch.Tensor.sum_to_size"]
F64 = torch.float64


# ---------------------------------------------------------------------- Exercise 8.1
def activation_cases(device: torch.device) -> list[Case]:
    g = torch.Generator().manual_seed(1)
    cases = [
        Case("a grid from -6 to 6", (torch.linspace(-6, 6, 25, dtype=F64, device=device),)),
        Case("zero", (torch.zeros(1, dtype=F64, device=device),)),
        Case("large inputs", (torch.tensor([-40.0, -15.0, 15.0, 40.0], device=device),)),
        # exp(100) overflows float32: e^x / (1 + e^x)^2 gives inf / inf = NaN at -100
        Case(
            "float32 at +-100 (exp overflows)",
            (torch.tensor([-100.0, -88.0, 88.0, 100.0], device=device),),
        ),
        Case("float64 at +-800", (torch.tensor([-800.0, 800.0], dtype=F64, device=device),)),
        Case("float32 matrix", (torch.randn(3, 4, generator=g).to(device),)),
    ]
    for i in range(5):
        shape = tuple(int(s) for s in torch.randint(1, 5, (1 + i % 3,), generator=g))
        x = (3 * torch.randn(shape, generator=g, dtype=F64)).to(device)
        cases.append(Case(f"random #{i}: shape {shape}", (x,)))
    return cases


def test_sigmoid_prime(submission: types.ModuleType, device: torch.device) -> None:
    check(
        submission.sigmoid_prime,
        nn.sigmoid_prime,
        activation_cases(device),
        forbid=FORBID,
        exercise="Exercise 8.1",
        rtol=1e-5,
        atol=1e-7,
    )


def test_tanh_prime(submission: types.ModuleType, device: torch.device) -> None:
    check(
        submission.tanh_prime,
        nn.tanh_prime,
        activation_cases(device),
        forbid=FORBID,
        exercise="Exercise 8.1",
        rtol=1e-5,
        atol=1e-7,
    )


def test_gelu_prime(submission: types.ModuleType, device: torch.device) -> None:
    check(
        submission.gelu_prime,
        nn.gelu_prime,
        activation_cases(device),
        forbid=FORBID,
        exercise="Exercise 8.1",
        rtol=1e-5,
        atol=1e-7,
    )


# ---------------------------------------------------------------------- Exercise 8.2
def test_linear_backward(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=F64).to(device)

    cases = [
        Case("one example, one output", (rand(1, 3), rand(1, 3), rand(1, 1))),
        Case(
            "ones everywhere",
            (
                torch.ones(2, 3, device=device),
                torch.ones(4, 3, device=device),
                torch.ones(2, 4, device=device),
            ),
        ),
    ]
    for i in range(6):
        n, d, k = (int(v) for v in torch.randint(1, 8, (3,), generator=g))
        cases.append(
            Case(f"random #{i}: N={n}, D={d}, K={k}", (rand(n, d), rand(k, d), rand(n, k)))
        )
    check(
        submission.linear_backward,
        nn.linear_backward,
        cases,
        forbid=FORBID,
        exercise="Exercise 8.2",
        also_hidden=SAME_WORK["linear_backward"],
    )


def test_linear_backward_rejects_bad_shapes(submission: types.ModuleType) -> None:
    cases = [
        Case("W has the wrong width", (torch.ones(4, 3), torch.ones(2, 5), torch.ones(4, 2))),
        Case("grad_Z has the wrong shape", (torch.ones(4, 3), torch.ones(2, 3), torch.ones(4, 3))),
        Case("a vector for X", (torch.ones(3), torch.ones(2, 3), torch.ones(2))),
    ]
    check_raises(
        submission.linear_backward,
        nn.linear_backward,
        cases,
        ValueError,
        forbid=FORBID,
        exercise="Exercise 8.2",
        also_hidden=SAME_WORK["linear_backward"],
    )


# ---------------------------------------------------------------------- Exercise 8.3
def test_softmax_cross_entropy_backward(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    cases = [
        Case(
            "equal logits", (torch.zeros(2, 3, device=device), torch.tensor([0, 2], device=device))
        ),
        Case(
            "huge logits (subtract the maximum)",
            (
                torch.tensor([[1000.0, 0.0], [0.0, -1000.0]], device=device),
                torch.tensor([1, 1], device=device),
            ),
        ),
    ]
    for i in range(6):
        n, k = (int(v) for v in torch.randint(1, 9, (2,), generator=g))
        k += 1
        Z = (4 * torch.randn(n, k, generator=g, dtype=F64)).to(device)
        y = torch.randint(0, k, (n,), generator=g).to(device)
        cases.append(Case(f"random #{i}: N={n}, K={k}", (Z, y)))
    check(
        submission.softmax_cross_entropy_backward,
        autograd.softmax_cross_entropy_backward,
        cases,
        forbid=FORBID,
        exercise="Exercise 8.3",
    )


def test_softmax_cross_entropy_backward_rejects_bad_input(submission: types.ModuleType) -> None:
    bad = [
        Case("targets too short", (torch.zeros(3, 4), torch.tensor([0, 1]))),
        Case("a target equal to K", (torch.zeros(2, 4), torch.tensor([0, 4]))),
        Case("1-D logits", (torch.zeros(4), torch.tensor([0, 1, 2, 3]))),
    ]
    check_raises(
        submission.softmax_cross_entropy_backward,
        autograd.softmax_cross_entropy_backward,
        bad,
        ValueError,
        forbid=FORBID,
        exercise="Exercise 8.3",
    )
    check_raises(
        submission.softmax_cross_entropy_backward,
        autograd.softmax_cross_entropy_backward,
        [Case("float targets", (torch.zeros(2, 3), torch.tensor([0.0, 1.0])))],
        TypeError,
        forbid=FORBID,
        exercise="Exercise 8.3",
    )


# ---------------------------------------------------------------------- Exercise 8.4
def test_unbroadcast(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    pairs = [
        ((2, 3), (2, 3)),
        ((2, 3), (3,)),
        ((2, 3), (1, 3)),
        ((2, 3), (2, 1)),
        ((2, 3), ()),
        ((4, 2, 3), (2, 1)),
        ((4, 2, 3), (4, 1, 3)),
        ((5, 1, 3), (1,)),
        ((2, 3, 4, 5), (3, 1, 5)),
    ]
    cases = [
        Case(f"{full} -> {shape}", (torch.randn(full, generator=g, dtype=F64).to(device), shape))
        for full, shape in pairs
    ]
    check(
        submission.unbroadcast,
        autograd.unbroadcast,
        cases,
        forbid=SUM_TO_SIZE,
        exercise="Exercise 8.4",
    )


def test_unbroadcast_rejects_shapes_that_do_not_broadcast(submission: types.ModuleType) -> None:
    cases = [
        Case("(2, 3) -> (4,)", (torch.ones(2, 3), (4,))),
        Case("(2, 3) -> (2, 2)", (torch.ones(2, 3), (2, 2))),
        Case("(3,) -> (2, 3): more axes than the gradient", (torch.ones(3), (2, 3))),
    ]
    check_raises(
        submission.unbroadcast,
        autograd.unbroadcast,
        cases,
        ValueError,
        forbid=SUM_TO_SIZE,
        exercise="Exercise 8.4",
    )


# ---------------------------------------------------------------------- Exercise 8.5
def graph_cases(device: torch.device) -> list[Case]:
    g = torch.Generator().manual_seed(5)

    def leaf(*shape: int) -> Variable:
        return Variable(torch.randn(*shape, generator=g, dtype=F64).to(device))

    cases = []
    x = leaf(3)
    cases.append(Case("x * x + x: x used three times", ((x * x + x).sum(), [x])))
    a, b = leaf(2, 2), leaf(2, 2)
    c = a @ b
    cases.append(Case("a diamond: (a @ b) * a + c", ((c * a + c).sum(), [a, b])))
    X, W, bias = leaf(5, 4), leaf(3, 4), leaf(3)
    y = torch.tensor([0, 2, 1, 1, 0], device=device)
    H = autograd.tanh(X @ W.T + bias)
    loss = autograd.cross_entropy(H * H - H, y)
    cases.append(Case("a layer and a loss, reused H", (loss, [W, bias, X])))
    u, unused = leaf(4), leaf(2)
    cases.append(Case("an input the output does not use", ((u * 2.0).sum(), [u, unused])))
    v = leaf(3, 1)
    w = leaf(4)
    cases.append(Case("broadcasting: (3, 1) + (4,)", (autograd.sigmoid(v + w).mean(), [w, v])))
    z = leaf(2, 3)
    out = autograd.relu(z) * z
    upstream = torch.randn(2, 3, generator=g, dtype=F64).to(device)
    cases.append(Case("a non-scalar output with an upstream grad", (out, [z], upstream)))
    t = leaf(1)
    s = t
    for _ in range(50):
        s = s * t + 0.1
    cases.append(Case("a chain of 100 nodes", (s.sum(), [t])))
    return cases


def _grads_written(output: Variable) -> int:
    """How many nodes behind ``output`` have a ``.grad`` (the README forbids writing it)."""
    count, seen, stack = 0, set(), [output]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        count += node.grad is not None
        stack.extend(node.parents)
    return count


def _and_grads_written(result: object, args: Sequence[object], kwargs: object) -> object:
    output = args[0]
    assert isinstance(output, Variable)
    return result, _grads_written(output)


def test_gradients(submission: types.ModuleType, device: torch.device) -> None:
    check(
        submission.gradients,
        autograd.gradients,
        graph_cases(device),
        forbid=FORBID,
        exercise="Exercise 8.5 (the gradients, and no node's .grad written)",
        rtol=1e-9,
        atol=1e-12,
        also_hidden=SAME_WORK["gradients"],
        observe=_and_grads_written,
    )


# Graphs built from tensors inside the call, so that they can be deep (no copy of a graph
# 10,000 nodes deep) and can be graded again on the meta device (see dlbook.grading.check).
def _two_depths(x: torch.Tensor, unused: torch.Tensor) -> tuple[Variable, list[Variable]]:
    """v = tanh(x); L = sum(sigmoid(tanh(v)) + v): v is reused one and three steps below
    the output, so a breadth-first order visits v before all its gradient has arrived."""
    leaf, other = Variable(x), Variable(unused)
    v = autograd.tanh(leaf)
    return (autograd.sigmoid(autograd.tanh(v)) + v).sum(), [leaf, other]


def _deep_chain(x: torch.Tensor, unused: torch.Tensor) -> tuple[Variable, list[Variable]]:
    """10,000 nodes in a chain: a recursive traversal exceeds Python's recursion limit."""
    leaf, other = Variable(x), Variable(unused)
    s = leaf
    for _ in range(5_000):
        s = s * 0.999 + 0.001
    return s.sum(), [leaf, other]


BUILDERS = {"two depths": _two_depths, "deep chain": _deep_chain}


def reference_built_gradients(name: str, x: torch.Tensor, unused: torch.Tensor) -> object:
    output, inputs = BUILDERS[name](x, unused)
    return autograd.gradients(output, inputs)


def test_gradients_of_a_node_reused_at_two_depths_and_a_deep_chain(
    submission: types.ModuleType, device: torch.device
) -> None:
    def built_gradients(name: str, x: torch.Tensor, unused: torch.Tensor) -> object:
        output, inputs = BUILDERS[name](x, unused)
        return submission.gradients(output, inputs)

    g = torch.Generator().manual_seed(8)
    two_depths = Case(
        "v = tanh(x); (sigmoid(tanh(v)) + v).sum(), with an unused input",
        (
            "two depths",
            torch.randn(3, generator=g, dtype=F64).to(device),
            torch.ones(2, device=device),
        ),
    )
    deep = Case(
        "a chain of 10,000 nodes (s = 0.999 s + 0.001), with an unused input",
        (
            "deep chain",
            torch.randn(4, generator=g, dtype=F64).to(device),
            torch.ones(2, device=device),
        ),
    )
    for cases, meta in (
        ([two_depths], True),
        ([deep], False),
    ):  # meta ops are slow: 10,000 is too many
        check(
            built_gradients,
            reference_built_gradients,
            cases,
            forbid=[*FORBID, "sys.setrecursionlimit"],
            exercise="Exercise 8.5",
            rtol=1e-9,
            atol=1e-12,
            timeout=60.0,
            also_hidden=SAME_WORK["gradients"],
            meta=meta,
        )


def test_gradients_rejects_non_scalar_output_without_grad(submission: types.ModuleType) -> None:
    x = Variable(torch.ones(3, dtype=F64))
    check_raises(
        submission.gradients,
        autograd.gradients,
        [Case("output of shape (3,), no grad", (x * 2.0, [x]))],
        ValueError,
        forbid=FORBID,
        exercise="Exercise 8.5",
    )
