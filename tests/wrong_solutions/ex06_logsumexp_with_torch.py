"""Exercise 6.1 with `torch.logsumexp`, forbidden by the README (the review: passed)."""

import torch

SET = "ex06_classification"
TESTS = ["test_logsumexp_fixed_inputs"]
MATCH = "forbids"


def logsumexp(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    if not z.is_floating_point():
        raise TypeError("z must be floating point")
    return torch.logsumexp(z, dim=dim)
