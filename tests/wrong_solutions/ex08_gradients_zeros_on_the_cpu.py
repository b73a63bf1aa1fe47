"""Exercise 8.5 returning `torch.zeros(shape)` (on the CPU) for an input the output does not
use: wrong on a GPU, now caught on the meta device."""

import torch

from tests.wrong_solutions._engine import dfs_order, run_backward

SET = "ex08_backprop"
TESTS = ["test_gradients_of_a_node_reused_at_two_depths_and_a_deep_chain"]
MATCH = "meta"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
    zeros = lambda v: torch.zeros(v.data.shape, dtype=v.data.dtype)  # noqa: E731
    return run_backward(output, inputs, grad, dfs_order(output), zeros)
