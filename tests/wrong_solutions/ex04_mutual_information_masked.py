"""Exercise 4.3 masking out cells whose marginal product is 0, the approach the README warns
against (the review: passed, no table had a positive cell with an underflowing product)."""

import torch

SET = "ex04_probability"
TESTS = ["test_mutual_information_fixed_inputs"]
MATCH = "1e-170"


def mutual_information(joint: torch.Tensor) -> torch.Tensor:
    if not joint.is_floating_point():
        raise TypeError("joint must be floating point")
    if joint.ndim != 2:
        raise ValueError("joint must be 2-D")
    if bool((joint < 0).any()) or abs(float(joint.sum()) - 1) > 1e-6:
        raise ValueError("not a distribution")
    p_x = joint.sum(dim=1, keepdim=True)
    p_y = joint.sum(dim=0, keepdim=True)
    product = p_x * p_y
    keep = (joint > 0) & (product > 0)
    ratio = torch.where(keep, joint / torch.where(keep, product, 1.0), 1.0)
    return torch.where(keep, joint * ratio.log(), 0.0).sum().clamp_min(0.0)
