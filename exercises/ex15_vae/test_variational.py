"""Grader for exercise set 15 (README.md beside this file). Do not edit."""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

import dlbook
from dlbook.generative import vae
from dlbook.grading import Case, check, check_raises

SUBMISSION = "variational.py"
REFERENCES = {
    "gaussian_kl_diagonal": vae.gaussian_kl_diagonal,
    "reparameterize": vae.reparameterize,
    "bernoulli_elbo": vae.bernoulli_elbo,
    "iwae_bound_from_samples": vae.iwae_bound_from_samples,
    "score_gradient_with_baseline": vae.score_gradient_leave_one_out,
}
F64 = torch.float64
KL_HIDDEN: list[Callable[..., Any]] = [vae.gaussian_kl]


def randn(
    g: torch.Generator, *shape: int, device: torch.device, dtype: torch.dtype = F64
) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device, dtype)


def dtype_and_device(result: Any, args: Sequence[Any], kwargs: Any) -> tuple[str, ...]:
    """What the README promises beyond the values: the exact dtype and device of each output."""
    outputs = result if isinstance(result, tuple) else (result,)
    return tuple(f"{t.dtype} on {t.device.type}" for t in outputs)


# ---------------------------------------------------------------------- Exercise 15.1
def test_kl_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    mu, lv = randn(g, 5, 3, device=device), randn(g, 5, 3, device=device)
    mu_p, lv_p = randn(g, 5, 3, device=device), randn(g, 5, 3, device=device)
    cases = [
        Case("standard-normal prior", (mu, lv)),
        Case("a general second Gaussian (the direction matters)", (mu, lv, mu_p, lv_p)),
        Case("per coordinate, reduce=False", (mu, lv), {"reduce": False}),
        Case("per coordinate, general p", (mu, lv, mu_p, lv_p), {"reduce": False}),
        Case("one vector", (mu[0], lv[0])),
        Case("q equals p: zero", (mu, lv, mu, lv)),
        Case("p broadcast from shape (3,)", (mu, lv, mu_p[0], lv_p[0])),
        Case("a batch of shape (2, 5, 3)", (torch.stack([mu, mu_p]), torch.stack([lv, lv_p]))),
        Case("extreme log-variances", (mu, 20 * lv.clamp(-1, 1))),
        Case("float32", (mu.float(), lv.float(), mu_p.float(), lv_p.float())),
    ]
    check(
        submission.gaussian_kl_diagonal,
        vae.gaussian_kl_diagonal,
        cases,
        exercise="Exercise 15.1",
        rtol=1e-6,
        atol=1e-9,
        also_hidden=KL_HIDDEN,
    )
    check(
        submission.gaussian_kl_diagonal,
        vae.gaussian_kl_diagonal,
        cases[-1:] + cases[:1],
        exercise="Exercise 15.1 (dtype and device of the result)",
        observe=dtype_and_device,
        also_hidden=KL_HIDDEN,
    )


def test_kl_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(10):
        n, d = (
            int(torch.randint(1, 6, (1,), generator=g)),
            int(torch.randint(1, 5, (1,), generator=g)),
        )
        args: tuple[Tensor, ...] = tuple(randn(g, n, d, device=device) for _ in range(4))
        cases.append(Case(f"random #{i}", args if i % 2 else args[:2], {"reduce": i % 3 != 0}))
    check(
        submission.gaussian_kl_diagonal,
        vae.gaussian_kl_diagonal,
        cases,
        exercise="Exercise 15.1",
        rtol=1e-9,
        atol=1e-12,
        also_hidden=KL_HIDDEN,
    )


def test_kl_rejects_bad_input(submission: types.ModuleType) -> None:
    z = torch.zeros(2)
    cases = [
        Case("log_var of another shape", (z, torch.zeros(3))),
        Case("mu_p without log_var_p", (z, z, z)),
        Case("log_var_p without mu_p", (z, z), {"log_var_p": z}),
    ]
    check_raises(
        submission.gaussian_kl_diagonal,
        vae.gaussian_kl_diagonal,
        cases,
        ValueError,
        exercise="Exercise 15.1",
    )


# ---------------------------------------------------------------------- Exercise 15.2
def values_and_gradients(result: Tensor, args: Sequence[Any], kwargs: Any) -> tuple[Tensor, ...]:
    """The samples, and the gradients of their sum with respect to mu and log_var."""
    mu, log_var = args[0], args[1]
    weights = torch.linspace(0.5, 1.5, result.numel(), dtype=result.dtype).to(result.device)
    (result * weights.reshape(result.shape)).sum().backward()
    assert mu.grad is not None and log_var.grad is not None, "no gradient reached mu or log_var"
    return result.detach(), mu.grad, log_var.grad


def test_reparameterize_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(2)

    def leaf(*shape: int, dtype: torch.dtype = F64) -> Tensor:
        return randn(g, *shape, device=device, dtype=dtype).requires_grad_()

    cases = [
        Case("one vector", (leaf(3), leaf(3)), {"generator": dlbook.generator(0)}),
        Case("a batch (4, 2)", (leaf(4, 2), leaf(4, 2)), {"generator": dlbook.generator(1)}),
        Case(
            "five samples of a batch",
            (leaf(4, 2), leaf(4, 2)),
            {"generator": dlbook.generator(2), "num_samples": 5},
        ),
        Case(
            "float32",
            (leaf(3, 2, dtype=torch.float32), leaf(3, 2, dtype=torch.float32)),
            {"generator": dlbook.generator(3), "num_samples": 2},
        ),
        Case(
            "a generator part-way through its stream",
            (leaf(6), leaf(6)),
            {"generator": _advanced(dlbook.generator(4))},
        ),
    ]
    check(
        submission.reparameterize,
        vae.reparameterize,
        cases,
        exercise="Exercise 15.2",
        rtol=1e-6,
        atol=1e-7,
        observe=values_and_gradients,
    )
    check(
        submission.reparameterize,
        vae.reparameterize,
        cases[3:4],
        exercise="Exercise 15.2 (dtype and device of the result)",
        observe=dtype_and_device,
    )


def _advanced(generator: torch.Generator) -> torch.Generator:
    torch.rand(7, generator=generator)
    return generator


def test_reparameterize_rejects_bad_input(submission: types.ModuleType) -> None:
    z = torch.zeros(2)
    cases = [
        Case("log_var of another shape", (z, torch.zeros(3)), {"generator": dlbook.generator(0)}),
        Case("num_samples 0", (z, z), {"generator": dlbook.generator(0), "num_samples": 0}),
    ]
    check_raises(
        submission.reparameterize, vae.reparameterize, cases, ValueError, exercise="Exercise 15.2"
    )


# ---------------------------------------------------------------------- Exercise 15.3
ELBO_HIDDEN: list[Callable[..., Any]] = [vae.bernoulli_log_likelihood, vae.binomial_log_likelihood]


def elbo_case(
    g: torch.Generator, S: int, N: int, D: int, d: int, device: torch.device, scale: float = 2.0
) -> tuple[Tensor, ...]:
    x = (randn(g, N, D, device=device) > 0).to(F64)
    shape = (S, N, D) if S else (N, D)
    return (
        x,
        scale * randn(g, *shape, device=device),
        randn(g, N, d, device=device),
        randn(g, N, d, device=device),
    )


def test_bernoulli_elbo_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    big = torch.tensor([[1e8, -1e8, 1e8, -1e8]], dtype=torch.float32).to(device)
    on_off = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float32).to(device)
    zeros = torch.zeros(1, 2, dtype=torch.float32, device=device)
    cases = [
        Case("three samples", elbo_case(g, 3, 4, 6, 2, device)),
        Case("logits of shape (N, D): one sample", elbo_case(g, 0, 4, 6, 2, device)),
        Case("one sample as (1, N, D)", elbo_case(g, 1, 5, 3, 3, device)),
        Case("large logits", elbo_case(g, 2, 3, 8, 2, device, scale=60.0)),
        Case("logits +-1e8 in float32", (on_off, big, zeros, zeros)),
        Case("logits +-1e4 in float32", (on_off, big * 1e-4, zeros, zeros)),
        Case(
            "float32",
            tuple(t.float() for t in elbo_case(g, 2, 3, 4, 2, device)),
        ),
    ]
    check(
        submission.bernoulli_elbo,
        vae.bernoulli_elbo,
        cases,
        exercise="Exercise 15.3",
        rtol=1e-6,
        atol=1e-6,
        also_hidden=ELBO_HIDDEN,
    )
    check(
        submission.bernoulli_elbo,
        vae.bernoulli_elbo,
        cases[-1:],
        exercise="Exercise 15.3 (dtype and device of the result)",
        observe=dtype_and_device,
        also_hidden=ELBO_HIDDEN,
    )


def test_bernoulli_elbo_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    cases = []
    for i in range(8):
        S, N, D, d = (int(v) for v in torch.randint(1, 6, (4,), generator=g))
        cases.append(Case(f"random #{i}", elbo_case(g, S if i % 2 else 0, N, D, d, device)))
    check(
        submission.bernoulli_elbo,
        vae.bernoulli_elbo,
        cases,
        exercise="Exercise 15.3",
        rtol=1e-9,
        atol=1e-9,
        also_hidden=ELBO_HIDDEN,
    )


def test_bernoulli_elbo_rejects_bad_input(submission: types.ModuleType) -> None:
    x, mu = torch.zeros(3, 4), torch.zeros(3, 2)
    cases = [
        Case("logits for another D", (x, torch.zeros(2, 3, 5), mu, mu)),
        Case("mu for another N", (x, torch.zeros(2, 3, 4), torch.zeros(4, 2), torch.zeros(4, 2))),
    ]
    check_raises(
        submission.bernoulli_elbo,
        vae.bernoulli_elbo,
        cases,
        ValueError,
        exercise="Exercise 15.3",
        also_hidden=ELBO_HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 15.4
IWAE_HIDDEN: list[Callable[..., Any]] = [
    vae.importance_log_weights,
    vae.log_mean_exp,
    vae.gaussian_log_likelihood,
]


def iwae_case(
    g: torch.Generator, k: int, N: int, d: int, device: torch.device, offset: float = 0.0
) -> tuple[Tensor, ...]:
    mu, log_var = randn(g, N, d, device=device), randn(g, N, d, device=device)
    z = mu + (0.5 * log_var).exp() * randn(g, k, N, d, device=device)
    log_likelihood = 5 * randn(g, k, N, device=device) + offset
    return log_likelihood, z, mu, log_var


def test_iwae_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(5)
    cases = [
        Case("k = 10", iwae_case(g, 10, 4, 2, device)),
        Case("k = 1: the one-sample ELBO estimate", iwae_case(g, 1, 4, 3, device)),
        Case("k = 500", iwae_case(g, 500, 2, 2, device)),
        Case("one-dimensional codes", iwae_case(g, 7, 3, 1, device)),
        Case(
            "log-likelihoods near -1e4 in float32",
            tuple(t.float() for t in iwae_case(g, 20, 3, 2, device, offset=-1e4)),
        ),
        Case(
            "log-likelihoods near +700 (exp overflows)",
            iwae_case(g, 20, 3, 2, device, offset=700.0),
        ),
    ]
    check(
        submission.iwae_bound_from_samples,
        vae.iwae_bound_from_samples,
        cases,
        exercise="Exercise 15.4",
        rtol=1e-6,
        atol=1e-6,
        also_hidden=IWAE_HIDDEN,
    )
    check(
        submission.iwae_bound_from_samples,
        vae.iwae_bound_from_samples,
        cases[4:5],
        exercise="Exercise 15.4 (dtype and device of the result)",
        observe=dtype_and_device,
        also_hidden=IWAE_HIDDEN,
    )


def test_iwae_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(6)
    cases = []
    for i in range(8):
        k, N, d = (int(v) for v in torch.randint(1, 9, (3,), generator=g))
        cases.append(Case(f"random #{i}", iwae_case(g, k, N, d, device)))
    check(
        submission.iwae_bound_from_samples,
        vae.iwae_bound_from_samples,
        cases,
        exercise="Exercise 15.4",
        rtol=1e-9,
        atol=1e-9,
        also_hidden=IWAE_HIDDEN,
    )


def test_iwae_rejects_bad_input(submission: types.ModuleType) -> None:
    ll, z, mu = torch.zeros(5, 3), torch.zeros(5, 3, 2), torch.zeros(3, 2)
    cases = [
        Case("log_likelihood for another k", (torch.zeros(4, 3), z, mu, mu)),
        Case("mu for another N", (ll, z, torch.zeros(4, 2), torch.zeros(4, 2))),
    ]
    check_raises(
        submission.iwae_bound_from_samples,
        vae.iwae_bound_from_samples,
        cases,
        ValueError,
        exercise="Exercise 15.4",
        also_hidden=IWAE_HIDDEN,
    )


# ---------------------------------------------------------------------- Exercise 15.5
REPEATS, SAMPLES = 2000, 5
OPEN_HIDDEN: list[Callable[..., Any]] = [vae.score_gradient_leave_one_out, vae.gradient_estimates]
MU = torch.tensor([0.5, -0.3, 1.0], dtype=F64)
LOG_VAR = torch.tensor([0.0, -0.5, 0.4], dtype=F64)


def black_box(z: Tensor) -> Tensor:
    """A function with a large mean that can only be evaluated: its input is detached."""
    z = z.detach()
    return ((z - 3) ** 2).sum(-1) + torch.sin(2 * z).sum(-1) + 20.0


def exact_gradients(mu: Tensor, log_var: Tensor) -> tuple[Tensor, Tensor]:
    """d/dmu and d/dlog s^2 of E[(z-3)^2 + sin 2z] = (mu-3)^2 + s^2 + sin(2 mu) e^(-2 s^2)."""
    s2 = log_var.exp()
    damp = torch.exp(-2 * s2)
    return 2 * (mu - 3) + 2 * torch.cos(2 * mu) * damp, s2 - 2 * s2 * torch.sin(2 * mu) * damp


def _collect(
    estimator: Callable[..., tuple[Tensor, Tensor]], mu: Tensor, log_var: Tensor, seed: int
) -> tuple[Tensor, Tensor]:
    estimates = [
        estimator(black_box, mu, log_var, num_samples=SAMPLES, generator=dlbook.generator(seed + r))
        for r in range(REPEATS)
    ]
    for grad_mu, grad_lv in estimates[:1]:
        for name, t in [("grad_mu", grad_mu), ("grad_log_var", grad_lv)]:
            if not isinstance(t, Tensor) or t.shape != mu.shape:
                raise AssertionError(f"{name} must be a tensor of shape {tuple(mu.shape)}")
    return torch.stack([e[0] for e in estimates]), torch.stack([e[1] for e in estimates])


def _property(result: tuple[Tensor, Tensor], args: Sequence[Any], kwargs: Any) -> list[str]:
    """Unbiasedness of both gradients and the variance of grad_mu, in words."""
    mu, log_var, bound = args[0], args[1], args[2]
    exact = exact_gradients(mu, log_var)
    verdicts = []
    for name, estimates, truth in [
        ("grad_mu", result[0], exact[0]),
        ("grad_log_var", result[1], exact[1]),
    ]:
        se = estimates.std(0) / math.sqrt(len(estimates))
        if ((estimates.mean(0) - truth).abs() < 5 * se).all():
            verdicts.append(f"{name}: unbiased")
        else:
            verdicts.append(
                f"{name}: biased, mean {estimates.mean(0).tolist()} against the exact "
                f"{truth.tolist()} (standard errors {se.tolist()})"
            )
    variance = result[0].var(0)
    if (variance < bound).all():
        verdicts.append("grad_mu: variance below a tenth of the plain estimator's")
    else:
        verdicts.append(
            f"grad_mu: variance {variance.tolist()}, not below the bound {bound.tolist()} "
            "(a tenth of the plain score-function estimator's)"
        )
    return verdicts


def test_open_task_estimator_is_unbiased_with_low_variance(
    submission: types.ModuleType, device: torch.device
) -> None:
    mu, log_var = MU.to(device), LOG_VAR.to(device)
    plain, _ = vae.gradient_estimates(
        black_box,
        mu,
        log_var,
        num_samples=SAMPLES,
        repeats=REPEATS,
        generator=dlbook.generator(99),
        estimator="score",
    )
    bound = plain.var(0) / 10
    student_estimator = submission.score_gradient_with_baseline

    def run_student(mu: Tensor, log_var: Tensor, bound: Tensor) -> tuple[Tensor, Tensor]:
        return _collect(student_estimator, mu, log_var, seed=1000)

    def run_reference(mu: Tensor, log_var: Tensor, bound: Tensor) -> tuple[Tensor, Tensor]:
        return _collect(vae.score_gradient_leave_one_out, mu, log_var, seed=1000)

    # the student's own module is searched for the functions switched off while it runs
    run_student.__module__ = student_estimator.__module__
    check(
        run_student,
        run_reference,
        [Case(f"{REPEATS} estimates with {SAMPLES} samples each", (mu, log_var, bound))],
        exercise="Exercise 15.5",
        observe=_property,
        timeout=60.0,
        also_hidden=OPEN_HIDDEN,
    )
