"""Exercise 8.5 keeping each node's gradient in `node.grad`, which the README forbids."""

import torch

from tests.wrong_solutions._engine import dfs_order

SET = "ex08_backprop"
TESTS = ["test_gradients"]
MATCH = ".grad written"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
    if grad is None:
        if output.data.numel() != 1:
            raise ValueError("a non-scalar output needs grad")
        grad = torch.ones_like(output.data)
    order = dfs_order(output)
    for node in order:
        node.grad = None
    output.grad = grad
    for node in reversed(order):
        if node.grad is None or node.backward_fn is None:
            continue
        for parent, part in zip(node.parents, node.backward_fn(node.grad), strict=False):
            if parent.requires_grad:
                parent.grad = part if parent.grad is None else parent.grad + part
    return [v.grad.clone() if v.grad is not None else torch.zeros_like(v.data) for v in inputs]
