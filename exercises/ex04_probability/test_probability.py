"""Grader for exercise set 4 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types

import torch

from dlbook import prob
from dlbook.grading import Case, check, check_raises

SUBMISSION = "probability.py"
REFERENCES = {
    "kl_divergence": prob.kl_divergence,
    "gaussian_log_pdf": prob.gaussian_log_pdf,
    "mutual_information": prob.mutual_information,
    "gmm_log_pdf": prob.gmm_log_pdf,
}
# The statement (README.md) leaves these out: unavailable while the submission runs.
FORBID = ["torch.distributions", "scipy.stats", "scipy.special"]
# Exercises 4.2 and 4.4 go through a Cholesky factor: "do not invert Sigma or compute its
# determinant directly" (README.md), so inverses and determinants are unavailable too.
NO_INVERSE = [
    *FORBID,
    *(f"torch.linalg.{f}" for f in ("inv", "inv_ex", "pinv", "det", "slogdet")),
    *(f"torch.{f}" for f in ("inverse", "det", "logdet", "slogdet", "pinverse")),
    *(f"torch.Tensor.{f}" for f in ("inverse", "det", "logdet", "slogdet", "pinverse")),
]
F64 = torch.float64


def t(values: object, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.tensor(values, dtype=F64, device=device)


def distributions(shape: tuple[int, ...], g: torch.Generator, zeros: bool = False) -> torch.Tensor:
    """Random probability vectors along the last axis, some entries exactly 0 if asked."""
    raw = torch.rand(shape, generator=g, dtype=F64)
    if zeros:
        raw = raw * (torch.rand(shape, generator=g, dtype=F64) > 0.3)
        raw[..., 0] += 0.05  # never an all-zero vector
    return raw / raw.sum(dim=-1, keepdim=True)


def spd(d: int, g: torch.Generator) -> torch.Tensor:
    a = torch.randn(d, d, generator=g, dtype=F64)
    return a @ a.T + 0.3 * torch.eye(d, dtype=F64)


# ---------------------------------------------------------------------- Exercise 4.1
def test_kl_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    cases = [
        Case("p = q", (t([0.2, 0.3, 0.5], device), t([0.2, 0.3, 0.5], device))),
        Case("two coins", (t([0.5, 0.5], device), t([0.9, 0.1], device))),
        Case("the same coins reversed", (t([0.9, 0.1], device), t([0.5, 0.5], device))),
        Case("0 log(0/q) = 0", (t([1.0, 0.0], device), t([0.5, 0.5], device))),
        Case("0 log(0/0) = 0", (t([1.0, 0.0], device), t([1.0, 0.0], device))),
        Case("q = 0 < p gives +inf", (t([0.5, 0.5], device), t([1.0, 0.0], device))),
        Case(
            "a batch, one row with +inf",
            (
                t([[0.5, 0.5, 0.0], [0.2, 0.2, 0.6]], device),
                t([[0.3, 0.3, 0.4], [0.5, 0.5, 0.0]], device),
            ),
        ),
        Case(
            "distributions along dim=0",
            (t([[0.1, 0.7], [0.9, 0.3]], device), t([[0.5, 0.2], [0.5, 0.8]], device)),
            {"dim": 0},
        ),
        Case(
            "one q broadcast against a batch of p",
            (t([[0.1, 0.9], [0.6, 0.4], [1.0, 0.0]], device), t([0.3, 0.7], device)),
        ),
    ]
    check(
        submission.kl_divergence, prob.kl_divergence, cases, forbid=FORBID, exercise="Exercise 4.1"
    )


def test_kl_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(41)
    cases = []
    for i in range(12):
        k = int(torch.randint(1, 12, (1,), generator=g))
        shape = (int(torch.randint(1, 5, (1,), generator=g)), k) if i % 2 else (k,)
        p = distributions(shape, g, zeros=i % 3 == 0).to(device)
        q = distributions(shape, g).to(device)
        cases.append(Case(f"random #{i}: shape {shape}", (p, q)))
    check(
        submission.kl_divergence, prob.kl_divergence, cases, forbid=FORBID, exercise="Exercise 4.1"
    )


def test_kl_rejects_bad_input(submission: types.ModuleType) -> None:
    good = t([0.5, 0.5])
    bad_values = [
        Case("p does not sum to 1", (t([0.5, 0.6]), good)),
        Case("q does not sum to 1", (good, t([0.3, 0.3]))),
        Case("a negative entry", (t([1.5, -0.5]), good)),
        Case("dim is not an axis", (good, good), {"dim": 1}),
        Case("shapes do not broadcast", (good, t([0.2, 0.3, 0.5]))),
    ]
    check_raises(
        submission.kl_divergence,
        prob.kl_divergence,
        bad_values,
        ValueError,
        forbid=FORBID,
        exercise="Exercise 4.1",
    )
    check_raises(
        submission.kl_divergence,
        prob.kl_divergence,
        [Case("integer tensors", (torch.tensor([1, 0]), torch.tensor([1, 0])))],
        TypeError,
        forbid=FORBID,
        exercise="Exercise 4.1",
    )


# ---------------------------------------------------------------------- Exercise 4.2
def test_gaussian_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    cases = [
        Case(
            "1-D standard normal",
            (t([[0.0], [1.0], [-2.5]], device), t([0.0], device), t([[1.0]], device)),
        ),
        Case(
            "2-D identity at the mean",
            (
                torch.zeros(1, 2, dtype=F64, device=device),
                t([0.0, 0.0], device),
                torch.eye(2, dtype=F64, device=device),
            ),
        ),
        Case(
            "2-D correlated",
            (
                t([[1.0, 2.0], [0.0, 0.0], [-1.0, 3.0]], device),
                t([0.5, 1.0], device),
                t([[2.0, 1.2], [1.2, 1.0]], device),
            ),
        ),
        Case(
            "a batch of shape (2, 3, 2)",
            (
                t([[[0.0, 1.0]] * 3, [[2.0, -1.0]] * 3], device),
                t([0.0, 0.0], device),
                t([[1.0, 0.3], [0.3, 0.5]], device),
            ),
        ),
        Case(
            "a narrow Gaussian: large log-density",
            (t([[0.0, 0.0]], device), t([0.0, 0.0], device), t([[1e-6, 0.0], [0.0, 1e-6]], device)),
        ),
    ]
    check(
        submission.gaussian_log_pdf,
        prob.gaussian_log_pdf,
        cases,
        forbid=NO_INVERSE,
        exercise="Exercise 4.2",
    )


def test_gaussian_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(42)
    cases = []
    for i in range(10):
        d = int(torch.randint(1, 7, (1,), generator=g))
        n = int(torch.randint(1, 20, (1,), generator=g))
        mean = torch.randn(d, generator=g, dtype=F64)
        x = mean + 2 * torch.randn(n, d, generator=g, dtype=F64)
        cases.append(
            Case(
                f"random #{i}: N={n}, D={d}", (x.to(device), mean.to(device), spd(d, g).to(device))
            )
        )
    check(
        submission.gaussian_log_pdf,
        prob.gaussian_log_pdf,
        cases,
        forbid=NO_INVERSE,
        exercise="Exercise 4.2",
    )


def test_gaussian_rejects_bad_input(submission: types.ModuleType) -> None:
    x, mean = torch.zeros(3, 2, dtype=F64), t([0.0, 0.0])
    cases = [
        Case("cov not positive definite", (x, mean, t([[1.0, 2.0], [2.0, 1.0]]))),
        Case("cov not symmetric", (x, mean, t([[1.0, 0.5], [0.0, 1.0]]))),
        Case("cov of the wrong size", (x, mean, torch.eye(3, dtype=F64))),
        Case(
            "x with the wrong last axis",
            (torch.zeros(3, 3, dtype=F64), mean, torch.eye(2, dtype=F64)),
        ),
        Case("mean not 1-D", (x, torch.zeros(1, 2, dtype=F64), torch.eye(2, dtype=F64))),
    ]
    check_raises(
        submission.gaussian_log_pdf,
        prob.gaussian_log_pdf,
        cases,
        ValueError,
        forbid=NO_INVERSE,
        exercise="Exercise 4.2",
    )


# ---------------------------------------------------------------------- Exercise 4.3
def test_mutual_information_fixed_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    cases = [
        Case("independent: a product table", (t([[0.06, 0.14], [0.24, 0.56]], device),)),
        Case("a perfect copy", (t([[0.5, 0.0], [0.0, 0.5]], device),)),
        Case("a 2 x 2 table", (t([[0.3, 0.2], [0.1, 0.4]], device),)),
        Case("a 2 x 3 table with zeros", (t([[0.2, 0.0, 0.3], [0.0, 0.5, 0.0]], device),)),
        Case("a single cell", (t([[1.0]], device),)),
        Case(
            "tiny probabilities (underflow)", (t([[1.0 - 2e-200, 1e-200], [1e-200, 0.0]], device),)
        ),
    ]
    check(
        submission.mutual_information,
        prob.mutual_information,
        cases,
        forbid=FORBID,
        exercise="Exercise 4.3",
    )
    # A positive cell whose marginal product underflows: P_X(0) P_Y(0) = 1e-340 is 0 in
    # float64, so a solution that masks out cells with a zero product (instead of working
    # with log P(i, j) - log P_X(i) - log P_Y(j)) drops the only informative term. The whole
    # answer is tiny (3.9e-168), hence atol = 0.
    rare = [
        Case("a rare copied state: P(0, 0) = 1e-170", (t([[1e-170, 0.0], [0.0, 1.0]], device),)),
        Case(
            "rare states in both margins",
            (t([[1e-170, 1e-170], [1e-170, 1.0 - 3e-170]], device),),
        ),
    ]
    check(
        submission.mutual_information,
        prob.mutual_information,
        rare,
        forbid=FORBID,
        exercise="Exercise 4.3",
        rtol=1e-9,
        atol=0.0,
    )


def test_mutual_information_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(43)
    cases = []
    for i in range(12):
        nx, ny = (int(v) for v in torch.randint(1, 7, (2,), generator=g))
        joint = distributions((nx * ny,), g, zeros=i % 2 == 0).reshape(nx, ny)
        cases.append(Case(f"random #{i}: {nx} x {ny}", (joint.to(device),)))
    check(
        submission.mutual_information,
        prob.mutual_information,
        cases,
        forbid=FORBID,
        exercise="Exercise 4.3",
    )


def test_mutual_information_rejects_bad_input(submission: types.ModuleType) -> None:
    cases = [
        Case("a 1-D vector", (t([0.5, 0.5]),)),
        Case("a 3-D table", (torch.full((2, 2, 2), 0.125, dtype=F64),)),
        Case("does not sum to 1", (torch.ones(2, 2, dtype=F64),)),
        Case("a negative entry", (t([[0.6, -0.1], [0.25, 0.25]]),)),
    ]
    check_raises(
        submission.mutual_information,
        prob.mutual_information,
        cases,
        ValueError,
        forbid=FORBID,
        exercise="Exercise 4.3",
    )
    check_raises(
        submission.mutual_information,
        prob.mutual_information,
        [Case("an integer table", (torch.tensor([[1, 0], [0, 0]]),))],
        TypeError,
        forbid=FORBID,
        exercise="Exercise 4.3",
    )


# ---------------------------------------------------------------------- Exercise 4.4
def mixture(device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    weights = t([0.5, 0.3, 0.2], device)
    means = t([[-2.0, 0.0], [1.5, 1.5], [2.0, -2.0]], device)
    covs = t(
        [[[0.8, 0.5], [0.5, 0.6]], [[0.5, -0.2], [-0.2, 0.4]], [[0.3, 0.0], [0.0, 1.0]]], device
    )
    return weights, means, covs


def test_gmm_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    w, mu, cov = mixture(device)
    cases = [
        Case("one component", (t([[0.0, 1.0]], device), t([1.0], device), mu[:1], cov[:1])),
        Case("three components near the means", (mu.clone(), w, mu, cov)),
        Case("far from every component", (t([[40.0, 40.0], [-60.0, 10.0]], device), w, mu, cov)),
        Case(
            "a zero weight",
            (t([[0.0, 0.0], [2.0, -2.0]], device), t([0.5, 0.5, 0.0], device), mu, cov),
        ),
        Case(
            "1-D mixture",
            (
                t([[-1.0], [0.0], [3.0]], device),
                t([0.4, 0.6], device),
                t([[-2.0], [2.0]], device),
                t([[[0.36]], [[0.36]]], device),
            ),
        ),
    ]
    check(
        submission.gmm_log_pdf, prob.gmm_log_pdf, cases, forbid=NO_INVERSE, exercise="Exercise 4.4"
    )


def test_gmm_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(44)
    cases = []
    for i in range(8):
        c = int(torch.randint(1, 5, (1,), generator=g))
        d = int(torch.randint(1, 4, (1,), generator=g))
        weights = distributions((c,), g)
        means = 3 * torch.randn(c, d, generator=g, dtype=F64)
        covs = torch.stack([spd(d, g) for _ in range(c)])
        x = 4 * torch.randn(5, d, generator=g, dtype=F64)
        args = tuple(v.to(device) for v in (x, weights, means, covs))
        cases.append(Case(f"random #{i}: C={c}, D={d}", args))
    check(
        submission.gmm_log_pdf, prob.gmm_log_pdf, cases, forbid=NO_INVERSE, exercise="Exercise 4.4"
    )


def test_gmm_rejects_bad_input(submission: types.ModuleType) -> None:
    w, mu, cov = mixture("cpu")
    x = torch.zeros(2, 2, dtype=F64)
    cases = [
        Case("weights do not sum to 1", (x, t([0.5, 0.6, 0.1]), mu, cov)),
        Case("means of the wrong shape", (x, w, mu[:2], cov)),
        Case("covs of the wrong shape", (x, w, mu, cov[:, :1, :1])),
        Case(
            "a covariance not positive definite",
            (x, w, mu, cov * t([1.0, -1.0, 1.0])[:, None, None]),
        ),
    ]
    check_raises(
        submission.gmm_log_pdf,
        prob.gmm_log_pdf,
        cases,
        ValueError,
        forbid=NO_INVERSE,
        exercise="Exercise 4.4",
    )
