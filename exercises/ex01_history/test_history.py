"""Grader for exercise set 1 (README.md beside this file). Do not edit."""

from __future__ import annotations

import itertools
import types
from collections.abc import Sequence

import torch

from dlbook import history
from dlbook.grading import Case, check, check_raises

SUBMISSION = "history.py"
REFERENCES = {
    "threshold_network": history.threshold_network,
    "perceptron_epoch": history.perceptron_epoch,
    "parity_deep": history.parity_deep,
}


def all_bits(n: int, device: torch.device) -> torch.Tensor:
    """The 2**n inputs in {0, 1}^n, written here independently of dlbook."""
    rows = [[(k >> (n - 1 - j)) & 1 for j in range(n)] for k in range(2**n)]
    return torch.tensor(rows, dtype=torch.float32, device=device)


def random_network(g: torch.Generator, sizes: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Integer weights and half-integer thresholds: no unit sits exactly on its threshold."""
    layers = []
    for d_in, d_out in itertools.pairwise(sizes):
        W = torch.randint(-2, 3, (d_out, d_in), generator=g).float()
        theta = torch.randint(-2, 3, (d_out,), generator=g).float() + 0.5
        layers.append((W, theta))
    return layers


# ---------------------------------------------------------------------- Exercise 1.1
def test_threshold_network_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    x2 = all_bits(2, device)
    and_layer = [(torch.tensor([[1.0, 1.0]]), torch.tensor([2.0]))]
    xor_layers = [
        (torch.tensor([[1.0, 1.0], [-1.0, -1.0]]), torch.tensor([1.0, -1.0])),
        (torch.tensor([[1.0, 1.0]]), torch.tensor([2.0])),
    ]
    cases = [
        Case("AND: a unit exactly at its threshold fires", (x2, and_layer)),
        Case("XOR = AND(OR, NAND)", (x2, xor_layers)),
        Case("integer inputs become float32", (x2.long(), xor_layers)),
        Case("float64 inputs stay float64", (x2.double(), xor_layers)),
        Case(
            "three outputs",
            (all_bits(3, device), random_network(torch.Generator().manual_seed(0), [3, 3])),
        ),
    ]
    check(submission.threshold_network, history.threshold_network, cases, exercise="Exercise 1.1")


def test_threshold_network_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(11)
    cases = []
    for i in range(10):
        depth = int(torch.randint(1, 5, (1,), generator=g))
        sizes = [int(s) for s in torch.randint(1, 6, (depth + 1,), generator=g)]
        x = all_bits(sizes[0], device)
        cases.append(Case(f"random #{i}: sizes {sizes}", (x, random_network(g, sizes))))
    check(submission.threshold_network, history.threshold_network, cases, exercise="Exercise 1.1")


def test_threshold_network_rejects_bad_layers(submission: types.ModuleType) -> None:
    x = torch.zeros(4, 2)
    ok = (torch.ones(2, 2), torch.ones(2))
    cases = [
        Case("no layers", (x, [])),
        Case("theta of the wrong shape", (x, [(torch.ones(2, 2), torch.ones(3))])),
        Case("1-D W", (x, [(torch.ones(2), torch.ones(1))])),
        Case("layers that do not chain", (x, [ok, (torch.ones(1, 3), torch.ones(1))])),
        Case("x with too many columns", (torch.zeros(4, 3), [ok])),
        Case("1-D x", (torch.zeros(2), [ok])),
    ]
    check_raises(
        submission.threshold_network,
        history.threshold_network,
        cases,
        ValueError,
        exercise="Exercise 1.1",
    )


# ---------------------------------------------------------------------- Exercise 1.2
def test_perceptron_epoch_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    X = all_bits(2, device)
    zero_w, zero_b = torch.zeros(2, device=device), torch.tensor(0.0, device=device)

    def labels(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, device=device)

    cases = [
        Case(
            "OR from zero: boundary points count as mistakes",
            (zero_w, zero_b, X, labels([-1, 1, 1, 1])),
        ),
        Case("AND from zero", (zero_w, zero_b, X, labels([-1, -1, -1, 1]))),
        Case("XOR from zero", (zero_w, zero_b, X, labels([-1, 1, 1, -1]))),
        Case(
            "already right: no update",
            (
                torch.tensor([1.0, 1.0], device=device),
                torch.tensor(-1.5, device=device),
                X,
                labels([-1, -1, -1, 1]),
            ),
        ),
        Case("learning rate 0.5", (zero_w, zero_b, X, labels([1, -1, -1, -1])), {"lr": 0.5}),
        Case(
            "integer X becomes float32 (float32 w and b)",
            (zero_w, zero_b, X.long(), labels([-1, 1, 1, 1])),
        ),
        Case(
            "float64 X, float32 w and b, no update: w and b still become float64",
            (
                torch.tensor([1.0, 1.0], device=device),
                torch.tensor(-1.5, device=device),
                X.double(),
                labels([-1, -1, -1, 1]).double(),
            ),
        ),
    ]
    check(submission.perceptron_epoch, history.perceptron_epoch, cases, exercise="Exercise 1.2")


def test_perceptron_epoch_counts_in_a_python_int(
    submission: types.ModuleType, device: torch.device
) -> None:
    X = all_bits(2, device)
    cases = [
        Case("OR from zero", (torch.zeros(2), torch.tensor(0.0), X, torch.tensor([-1.0, 1, 1, 1])))
    ]
    check(
        submission.perceptron_epoch,
        history.perceptron_epoch,
        [Case(c.name, tuple(a.to(device) for a in c.args)) for c in cases],
        exercise="Exercise 1.2 (mistakes is a Python int, as the statement says)",
        observe=lambda out, args, kwargs: f"mistakes of type {type(out[2]).__name__}",
        meta=False,  # only the type of the count is graded here
    )


def test_perceptron_epoch_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(12)
    cases = []
    for i in range(10):
        n, d = (
            int(torch.randint(1, 40, (1,), generator=g)),
            int(torch.randint(1, 6, (1,), generator=g)),
        )
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
        w = torch.randn(d, generator=g, dtype=torch.float64)
        b = torch.randn((), generator=g, dtype=torch.float64)
        cases.append(
            Case(
                f"random #{i}: N={n}, d={d}",
                (w.to(device), b.to(device), X.to(device), y.to(device)),
            )
        )
    check(submission.perceptron_epoch, history.perceptron_epoch, cases, exercise="Exercise 1.2")


def test_perceptron_epoch_rejects_bad_input(submission: types.ModuleType) -> None:
    X, y, w, b = torch.zeros(3, 2), torch.ones(3), torch.zeros(2), torch.tensor(0.0)
    cases = [
        Case("labels 0/1 instead of -1/+1", (w, b, X, torch.tensor([0.0, 1.0, 1.0]))),
        Case("y too short", (w, b, X, torch.ones(2))),
        Case("1-D X", (w, b, torch.zeros(3), y)),
        Case("w of the wrong length", (torch.zeros(3), b, X, y)),
        Case("b not a scalar", (w, torch.zeros(2), X, y)),
        Case("lr = 0", (w, b, X, y), {"lr": 0.0}),
    ]
    check_raises(
        submission.perceptron_epoch,
        history.perceptron_epoch,
        cases,
        ValueError,
        exercise="Exercise 1.2",
    )


# ---------------------------------------------------------------------- Exercise 1.3
# Graded on behaviour: the number of layers and of units in each, float32 on the CPU, and
# what every unit computes on every input. Any weights and thresholds that give the same
# truth tables pass (NAND with threshold -1.5 as well as -1).
Layers = list[tuple[torch.Tensor, torch.Tensor]]


def _structure(layers: Layers) -> list[tuple[object, ...]]:
    return [
        (tuple(W.shape), tuple(theta.shape), str(W.dtype), str(theta.dtype), W.device.type)
        for W, theta in layers
    ]


def _unit_outputs(layers: Layers, n: int) -> list[torch.Tensor]:
    """Every layer's output on all 2**n inputs, evaluated here (not with dlbook)."""
    h, outputs = all_bits(n, torch.device("cpu")), []
    for W, theta in layers:
        h = (h @ W.to(h).T >= theta.to(h)).to(torch.float32)
        outputs.append(h)
    return outputs


def test_parity_deep_layers(submission: types.ModuleType) -> None:
    cases = [
        Case(f"n = {n}: layers, units per layer, dtype, device", (n,))
        for n in (2, 3, 4, 5, 7, 8, 11, 16, 20)
    ]
    check(
        submission.parity_deep,
        history.parity_deep,
        cases,
        exercise="Exercise 1.3",
        observe=lambda layers, args, kwargs: _structure(layers),
    )


def test_parity_deep_every_unit_computes_its_function(submission: types.ModuleType) -> None:
    cases = [
        Case(f"every unit on all inputs of n = {n} bits", (n,)) for n in (2, 3, 4, 5, 6, 7, 11)
    ]
    check(
        submission.parity_deep,
        history.parity_deep,
        cases,
        exercise="Exercise 1.3 (the truth table of each unit, layer by layer)",
        observe=lambda layers, args, kwargs: _unit_outputs(layers, args[0]),
    )


def test_parity_deep_computes_parity(submission: types.ModuleType) -> None:
    def true_parity(n: int) -> torch.Tensor:
        return all_bits(n, torch.device("cpu")).sum(dim=1) % 2

    def parity_of_all_inputs(
        layers: Layers, args: Sequence[object], kwargs: object
    ) -> torch.Tensor:
        (n,) = args
        assert isinstance(n, int)
        return _unit_outputs(layers, n)[-1][:, 0]

    cases = [Case(f"all inputs of n = {n} bits", (n,)) for n in (2, 3, 6, 9)]
    for n in (2, 3, 6, 9):  # the reference itself is checked against the definition
        assert torch.equal(_unit_outputs(history.parity_deep(n), n)[-1][:, 0], true_parity(n))
    check(
        submission.parity_deep,
        history.parity_deep,
        cases,
        exercise="Exercise 1.3",
        observe=parity_of_all_inputs,
    )


def test_parity_deep_rejects_bad_n(submission: types.ModuleType) -> None:
    cases = [Case("n = 1", (1,)), Case("n = 0", (0,)), Case("n = 21", (21,))]
    check_raises(
        submission.parity_deep, history.parity_deep, cases, ValueError, exercise="Exercise 1.3"
    )
