"""Exercise 0.1 with `torch.eye(K)` made on the CPU (the review: passed on a CPU-only machine)."""

import torch

SET = "ex00_tools"
TESTS = ["test_one_hot_fixed_inputs", "test_one_hot_random_inputs"]
MATCH = "meta"


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError("labels must be integers")
    if labels.numel() and (bool((labels < 0).any()) or bool((labels >= num_classes).any())):
        raise ValueError("label out of range")
    return torch.eye(num_classes)[labels.long()]
