"""Exercise 6.1 as the last entry of `torch.logcumsumexp`, a stable log-sum-exp in disguise
(passed: only torch.logsumexp and its aliases were switched off)."""

import torch

SET = "ex06_classification"
TESTS = ["test_logsumexp_fixed_inputs"]
MATCH = "torch.logcumsumexp"


def logsumexp(z, dim=-1):  # type: ignore[no-untyped-def]
    if not z.is_floating_point():
        raise TypeError("z must be floating-point")
    if z.ndim == 0 or not -z.ndim <= dim < z.ndim or z.shape[dim] == 0:
        raise ValueError("bad z or dim")
    return torch.logcumsumexp(z, dim).select(dim, -1)
