"""RIGHT: Exercise 2.1 through `torch.linalg.vector_norm`, 3.3e-7 off in float32 at p = 0.1.

The review: the float32 p = 0.1 case was graded at rtol 1e-9 and rejected this; it must pass.
"""

import math

import torch

SET = "ex02_linalg"
TESTS = ["test_lp_norm_random_inputs"]
EXPECT = "pass"


def lp_norm(x: torch.Tensor, p: float) -> torch.Tensor:
    if p == 0:
        return (x != 0).sum(dim=-1).to(x.dtype)
    if p == math.inf:
        return x.abs().amax(dim=-1)
    scale = x.abs().amax(dim=-1, keepdim=True)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return scale.squeeze(-1) * torch.linalg.vector_norm(x / scale, ord=p, dim=-1)
