"""Exercise 0.1 as the hint's `torch.eye(K)[labels]` without `.long()`: uint8 labels index as a
boolean mask (passed: the grader had int32 and int64 labels only)."""

import torch

SET = "ex00_tools"
TESTS = ["test_one_hot_fixed_inputs"]
MATCH = "uint8 labels"


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError("labels must be integers")
    if labels.numel() and (bool((labels < 0).any()) or bool((labels >= num_classes).any())):
        raise ValueError("label out of range")
    return torch.eye(num_classes, device=labels.device)[labels]
