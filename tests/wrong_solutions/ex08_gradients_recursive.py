"""Exercise 8.5 with a recursive depth-first search, which the README rules out (the review:
passed, the deepest graph had 100 nodes)."""

from tests.wrong_solutions._engine import run_backward, same_device_zeros

SET = "ex08_backprop"
TESTS = ["test_gradients_of_a_node_reused_at_two_depths_and_a_deep_chain"]
MATCH = "RecursionError"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
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
