"""Exercise 8.4 in one call of `Tensor.sum_to_size`, which does the whole exercise (passed)."""

SET = "ex08_backprop"
TESTS = ["test_unbroadcast"]
MATCH = "torch.Tensor.sum_to_size"


def unbroadcast(grad, shape):  # type: ignore[no-untyped-def]
    shape = tuple(shape)
    if len(shape) > grad.ndim:
        raise ValueError("shape has more axes than grad")
    for s, g in zip(reversed(shape), reversed(grad.shape), strict=False):
        if s not in (1, g):
            raise ValueError("shape does not broadcast")
    return grad.sum_to_size(shape)
