"""Exercise 8.1 through `torch.autograd.grad`, which the README puts off limits."""

import torch

SET = "ex08_backprop"
TESTS = ["test_sigmoid_prime"]
MATCH = "forbids"


def sigmoid_prime(x: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        leaf = x.detach().requires_grad_()
        (grad,) = torch.autograd.grad(torch.sigmoid(leaf).sum(), leaf)
    return grad
