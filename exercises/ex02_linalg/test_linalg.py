"""Grader for exercise set 2 (README.md beside this file). Do not edit."""

from __future__ import annotations

import math
import types

import torch

from dlbook import data, linalg
from dlbook.grading import Case, check, check_raises

SUBMISSION = "linalg.py"
REFERENCES = {
    "lp_norm": linalg.lp_norm,
    "convolution_matrix": linalg.convolution_matrix,
    "pca": linalg.pca,
    "ridge": linalg.ridge,
}
F64 = torch.float64


def randn(*shape: int, seed: int, device: torch.device, dtype: torch.dtype = F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).to(device)


# ---------------------------------------------------------------------- Exercise 2.1
def test_lp_norm_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    x = torch.tensor([3.0, -4.0, 0.0, 0.0], dtype=F64, device=device)
    cases = [Case(f"x = (3, -4, 0, 0), p = {p}", (x, p)) for p in (0, 0.5, 1, 2, 3, math.inf)]
    cases += [
        Case(
            "p = 0.1 on a vector with a zero",
            (torch.tensor([1.0, 0.0, 2.0], dtype=F64, device=device), 0.1),
        ),
        Case("the zero vector, p = 2", (torch.zeros(3, dtype=F64, device=device), 2)),
        Case("the zero vector, p = 0.5", (torch.zeros(3, dtype=F64, device=device), 0.5)),
        Case("a single entry, p = 1", (torch.tensor([-2.5], dtype=F64, device=device), 1)),
        Case(
            "huge entries 1e200, p = 2", (torch.tensor([1e200, 1e200], dtype=F64, device=device), 2)
        ),
        Case(
            "tiny entries 1e-200, p = 2",
            (torch.tensor([3e-200, 4e-200], dtype=F64, device=device), 2),
        ),
        Case("a batch of rows (3, 5), p = 1.5", (randn(3, 5, seed=0, device=device), 1.5)),
        Case("a batch (2, 3, 4), p = 0", (randn(2, 3, 4, seed=1, device=device).relu(), 0)),
    ]
    check(submission.lp_norm, linalg.lp_norm, cases, exercise="Exercise 2.1", rtol=1e-9)


def test_lp_norm_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)
    cases = []
    for i in range(15):
        n = int(torch.randint(1, 9, (1,), generator=g))
        p = [0, 0.25, 0.5, 1, 1.5, 2, 4, math.inf][i % 8]
        x = torch.randn(n, generator=g, dtype=F64) * 10 ** float(torch.randn(1, generator=g))
        x[torch.rand(n, generator=g) < 0.3] = 0.0  # some exact zeros
        cases.append(Case(f"random #{i}: n = {n}, p = {p}", (x.to(device), p)))
    check(submission.lp_norm, linalg.lp_norm, cases, exercise="Exercise 2.1", rtol=1e-9)
    x32 = randn(4, 6, seed=3, device=device, dtype=torch.float32)
    check(
        submission.lp_norm,
        linalg.lp_norm,
        [
            Case("float32 rows, p = 2", (x32, 2)),
            Case("float32 rows, p = 0", (x32, 0)),
            # the 1/p = 10th power of the sum multiplies its relative rounding by 10:
            # correct float32 solutions land 1.6e-7 (log form) to 3.3e-7 (vector_norm) off
            Case("float32, p = 0.1, with a zero", (torch.tensor([1.0, 0.0, 2.0]).to(device), 0.1)),
        ],
        exercise="Exercise 2.1",
        rtol=1e-5,
    )


def test_lp_norm_rejects_bad_input(submission: types.ModuleType) -> None:
    bad = [
        Case("p = -1", (torch.ones(3, dtype=F64), -1)),
        Case("a 0-D tensor", (torch.tensor(2.0, dtype=F64), 2)),
    ]
    check_raises(submission.lp_norm, linalg.lp_norm, bad, ValueError, exercise="Exercise 2.1")


# ---------------------------------------------------------------------- Exercise 2.2
def test_convolution_matrix_fixed_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    k = torch.tensor([1.0, 2.0, -1.0], dtype=F64, device=device)
    cases = [
        Case(f"kernel (1, 2, -1), n = 5, mode {m!r}", (k, 5, m)) for m in ("full", "valid", "same")
    ]
    cases += [
        Case("default mode", (k, 4)),
        Case("a single-tap kernel", (torch.tensor([2.0], dtype=F64, device=device), 3, "full")),
        Case("signal of length 1", (k, 1, "full")),
        Case("kernel longer than the signal, valid", (randn(6, seed=4, device=device), 3, "valid")),
        Case("kernel longer than the signal, same", (randn(6, seed=5, device=device), 3, "same")),
        Case("even kernel, same", (randn(4, seed=6, device=device), 7, "same")),
        Case("float32 kernel", (randn(3, seed=7, device=device, dtype=torch.float32), 4, "full")),
    ]
    check(
        submission.convolution_matrix,
        linalg.convolution_matrix,
        cases,
        exercise="Exercise 2.2",
    )


def test_convolution_matrix_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(8)
    cases = []
    for i in range(15):
        size, n = (int(v) for v in torch.randint(1, 10, (2,), generator=g))
        mode = ("full", "valid", "same")[i % 3]
        kernel = torch.randn(size, generator=g, dtype=F64).to(device)
        cases.append(Case(f"random #{i}: K = {size}, n = {n}, {mode}", (kernel, n, mode)))
    check(
        submission.convolution_matrix,
        linalg.convolution_matrix,
        cases,
        exercise="Exercise 2.2",
    )


def test_convolution_matrix_rejects_bad_input(submission: types.ModuleType) -> None:
    k = torch.tensor([1.0, -1.0], dtype=F64)
    bad = [
        Case("mode 'circular'", (k, 4, "circular")),
        Case("n = 0", (k, 0)),
        Case("an empty kernel", (torch.zeros(0, dtype=F64), 3)),
        Case("a 2-D kernel", (torch.ones(2, 2, dtype=F64), 3)),
    ]
    check_raises(
        submission.convolution_matrix,
        linalg.convolution_matrix,
        bad,
        ValueError,
        exercise="Exercise 2.2",
    )


# ---------------------------------------------------------------------- Exercise 2.3
def test_pca_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    line = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-2.0, 0.0]], dtype=F64, device=device)
    scaled = randn(40, 5, seed=9, device=device) * torch.tensor(
        [5.0, 3.0, 2.0, 1.0, 0.5], dtype=F64, device=device
    )
    digits = data.load_digits(device, dtype=F64).X_train[:300]
    cases = [
        Case("points on a line, k = 1", (line, 1)),
        Case("points on a line, k = 2", (line, 2)),
        Case("anisotropic Gaussian (40, 5), k = 3", (scaled, 3)),
        Case("anisotropic Gaussian (40, 5), k = 5", (scaled, 5)),
        Case("wide data (4, 6), k = 3", (randn(4, 6, seed=10, device=device), 3)),
        Case("300 digits, k = 10", (digits, 10)),
    ]
    check(submission.pca, linalg.pca, cases, exercise="Exercise 2.3", atol=1e-8)


def test_pca_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(11)
    cases = []
    for i in range(10):
        N, d = (int(v) for v in torch.randint(2, 12, (2,), generator=g))
        # k <= rank of the centred data (at most N - 1), so the components are unique
        k = int(torch.randint(1, min(N - 1, d) + 1, (1,), generator=g))
        X = torch.randn(N, d, generator=g, dtype=F64) * 3 + 1
        cases.append(Case(f"random #{i}: X ({N}, {d}), k = {k}", (X.to(device), k)))
    check(submission.pca, linalg.pca, cases, exercise="Exercise 2.3", atol=1e-8)


def test_pca_rejects_bad_input(submission: types.ModuleType) -> None:
    X = torch.randn(5, 3, dtype=F64)
    bad = [
        Case("k = 0", (X, 0)),
        Case("k larger than min(N, d)", (X, 4)),
        Case("a single example", (X[:1], 1)),
        Case("1-D data", (X[0], 1)),
    ]
    check_raises(submission.pca, linalg.pca, bad, ValueError, exercise="Exercise 2.3")


# ---------------------------------------------------------------------- Exercise 2.4
def test_ridge_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    eye = torch.eye(2, dtype=F64, device=device)
    b2 = torch.tensor([2.0, 4.0], dtype=F64, device=device)
    tall, rhs = randn(20, 4, seed=12, device=device), randn(20, seed=13, device=device)
    cases = [
        Case("A = I, lam = 1", (eye, b2, 1.0)),
        Case("tall A (20, 4), lam = 0.1", (tall, rhs, 0.1)),
        Case("tall A (20, 4), lam = 0 (least squares)", (tall, rhs, 0.0)),
        Case("tall A, two right-hand sides", (tall, randn(20, 2, seed=14, device=device), 2.0)),
        Case(
            "wide A (3, 6), lam = 0.5", (randn(3, 6, seed=15, device=device), b2[:1].repeat(3), 0.5)
        ),
        Case("large lam = 1e6", (tall, rhs, 1e6)),
    ]
    check(submission.ridge, linalg.ridge, cases, exercise="Exercise 2.4", atol=1e-8)


def test_ridge_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(16)
    cases = []
    for i in range(10):
        N, d = (int(v) for v in torch.randint(1, 10, (2,), generator=g))
        lam = float(10 ** (4 * torch.rand(1, generator=g) - 3))  # 1e-3 .. 10
        A = torch.randn(N, d, generator=g, dtype=F64)
        shape = (N,) if i % 2 else (N, 3)
        b = torch.randn(*shape, generator=g, dtype=F64)
        name = f"random #{i}: A ({N}, {d}), b {shape}, lam = {lam:.3g}"
        cases.append(Case(name, (A.to(device), b.to(device), lam)))
    check(submission.ridge, linalg.ridge, cases, exercise="Exercise 2.4", atol=1e-8)


def test_ridge_rejects_bad_input(submission: types.ModuleType) -> None:
    A = torch.randn(4, 3, dtype=F64)
    bad = [
        Case("negative lam", (A, torch.ones(4, dtype=F64), -1.0)),
        Case("b of the wrong length", (A, torch.ones(5, dtype=F64), 1.0)),
        Case("1-D A", (A[0], torch.ones(4, dtype=F64), 1.0)),
    ]
    check_raises(submission.ridge, linalg.ridge, bad, ValueError, exercise="Exercise 2.4")
