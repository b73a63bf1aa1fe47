"""Shared pieces of the Exercise 8.5 solutions below (not a solution itself)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Order = Callable[[object], list]


def run_backward(output, inputs: Sequence, grad, order: list, zeros: Callable) -> list:  # type: ignore[no-untyped-def]
    """The backward pass of the README, step 2 to 4, over a given order of the nodes."""
    if grad is None:
        if output.data.numel() != 1:
            raise ValueError("a non-scalar output needs grad")
        grad = torch.ones_like(output.data)
    elif tuple(grad.shape) != tuple(output.data.shape):
        raise ValueError("grad has the wrong shape")
    grads = {id(output): grad}
    for node in reversed(order):
        g = grads.get(id(node))
        if g is None or node.backward_fn is None:
            continue
        for parent, part in zip(node.parents, node.backward_fn(g), strict=False):
            if parent.requires_grad:
                key = id(parent)
                grads[key] = grads[key] + part if key in grads else part
    return [grads[id(v)].clone() if id(v) in grads else zeros(v) for v in inputs]


def dfs_order(output) -> list:  # type: ignore[no-untyped-def]
    """A correct iterative topological order."""
    order, seen, stack = [], set(), [(output, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen and node.requires_grad:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents)
    return order


def same_device_zeros(v) -> torch.Tensor:  # type: ignore[no-untyped-def]
    return torch.zeros_like(v.data)
