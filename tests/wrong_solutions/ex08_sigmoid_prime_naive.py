"""Exercise 8.1's sigmoid derivative as e^-x / (1 + e^-x)^2: inf / inf = NaN at -100 in
float32 (the review: passed, the cases stopped at +-40)."""

import torch

SET = "ex08_backprop"
TESTS = ["test_sigmoid_prime"]
MATCH = "+-100"


def sigmoid_prime(x: torch.Tensor) -> torch.Tensor:
    e = torch.exp(-x)
    return e / (1 + e) ** 2
