"""Exercise 8.5 visiting the nodes breadth-first from the output, which is not a topological
order: wrong on v = tanh(x); (sigmoid(tanh(v)) + v).sum() (the review: passed all 11 tests)."""

from collections import deque

from tests.wrong_solutions._engine import run_backward, same_device_zeros

SET = "ex08_backprop"
TESTS = ["test_gradients_of_a_node_reused_at_two_depths_and_a_deep_chain"]
MATCH = "values differ"


def gradients(output, inputs, grad=None):  # type: ignore[no-untyped-def]
    order, seen, queue = [], {id(output)}, deque([output])
    while queue:
        node = queue.popleft()
        order.append(node)
        for parent in node.parents:
            if parent.requires_grad and id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    return run_backward(output, inputs, grad, order[::-1], same_device_zeros)
