"""Exercise 4.2 by `torch.linalg.inv` and `torch.logdet`, which the statement rules out (passed:
the rule was not enforced, and the covariances were well conditioned)."""

import math

import torch

SET = "ex04_probability"
TESTS = ["test_gaussian_fixed_inputs"]
MATCH = "torch.linalg.inv"


def gaussian_log_pdf(x, mean, cov):  # type: ignore[no-untyped-def]
    if mean.ndim != 1 or cov.shape != (len(mean), len(mean)) or x.shape[-1] != len(mean):
        raise ValueError("bad shapes")
    if not torch.allclose(cov, cov.T, rtol=1e-5, atol=1e-8):
        raise ValueError("not symmetric")
    if int(torch.linalg.cholesky_ex(cov).info) != 0:
        raise ValueError("not positive definite")
    d = x - mean
    quadratic = ((d @ torch.linalg.inv(cov)) * d).sum(-1)
    return -0.5 * quadratic - 0.5 * torch.logdet(cov) - len(mean) / 2 * math.log(2 * math.pi)
