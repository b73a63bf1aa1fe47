"""Exercise 6.1 trying `Tensor.logsumexp`, falling back when it raises: still a forbidden call."""

import torch

SET = "ex06_classification"
TESTS = ["test_logsumexp_fixed_inputs"]
MATCH = "forbids"


def logsumexp(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    try:
        return z.logsumexp(dim)
    except BaseException:
        m = z.amax(dim=dim, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        return ((z - m).exp().sum(dim=dim, keepdim=True).log() + m).squeeze(dim)
