"""Exercise 8.5 recursive, raising Python's recursion limit to get through deep graphs."""

import sys

from tests.wrong_solutions._engine import run_backward, same_device_zeros

SET = "ex08_backprop"
TESTS = ["test_gradients_of_a_node_reused_at_two_depths_and_a_deep_chain"]
MATCH = "sys.setrecursionlimit"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
    sys.setrecursionlimit(100_000)
    order, seen = [], set()

    def visit(node) -> None:  # type: ignore[no-untyped-def]
        if id(node) in seen or not node.requires_grad:
            return
        seen.add(id(node))
        for parent in node.parents:
            visit(parent)
        order.append(node)

    visit(output)
    return run_backward(output, inputs, grad, order, same_device_zeros)
