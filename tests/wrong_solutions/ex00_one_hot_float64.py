"""Exercise 0.1 in float64 although the statement says float32 (the review: passed)."""

import torch

SET = "ex00_tools"
TESTS = ["test_one_hot_fixed_inputs"]
MATCH = "expected dtype torch.float32"


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError("labels must be integers")
    if labels.numel() and (bool((labels < 0).any()) or bool((labels >= num_classes).any())):
        raise ValueError("label out of range")
    return torch.eye(num_classes, dtype=torch.float64, device=labels.device)[labels]
