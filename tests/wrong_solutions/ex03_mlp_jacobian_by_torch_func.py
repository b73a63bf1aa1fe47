"""Exercise 3.4 by `torch.func.jacrev` instead of the chain rule (passed: autograd was "not
needed" but not switched off)."""

import torch

SET = "ex03_calculus"
TESTS = ["test_mlp_jacobian"]
MATCH = "torch.func"


def mlp_jacobian(x, weights, biases):  # type: ignore[no-untyped-def]
    if x.ndim != 1 or not weights or len(weights) != len(biases):
        raise ValueError("bad layers")
    d = x.shape[0]
    for W, b in zip(weights, biases, strict=True):
        if W.ndim != 2 or W.shape[1] != d or b.shape != (W.shape[0],):
            raise ValueError("shapes do not chain")
        d = W.shape[0]

    def f(v):  # type: ignore[no-untyped-def]
        for W, b in zip(weights[:-1], biases[:-1], strict=True):
            v = torch.tanh(W @ v + b)
        return weights[-1] @ v + biases[-1]

    return torch.func.jacrev(f)(x)
