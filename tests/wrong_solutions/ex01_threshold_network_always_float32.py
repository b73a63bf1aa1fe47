"""Exercise 1.1 always in float32, also for float64 inputs (the review: passed)."""

import torch

SET = "ex01_history"
TESTS = ["test_threshold_network_fixed_inputs"]
MATCH = "expected dtype torch.float64"


def threshold_network(x: torch.Tensor, layers: list) -> torch.Tensor:
    if not layers:
        raise ValueError("no layers")
    h = x.float()
    for W, theta in layers:
        h = (h @ W.to(h).T >= theta.to(h)).float()
    return h
