"""RIGHT: Exercise 8.5 with an iterative topological order, as the README asks: must pass."""

from tests.wrong_solutions._engine import dfs_order, run_backward, same_device_zeros

SET = "ex08_backprop"
TESTS = ["test_gradients", "test_gradients_of_a_node_reused_at_two_depths_and_a_deep_chain"]
EXPECT = "pass"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
    return run_backward(output, inputs, grad, dfs_order(output), same_device_zeros)
