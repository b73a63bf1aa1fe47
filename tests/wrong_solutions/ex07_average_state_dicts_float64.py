"""Exercise 7.3 leaving the averages in float64 for float16/32 entries (the review: passed)."""

SET = "ex07_pytorch"
TESTS = ["test_average_state_dicts_fixed_inputs"]
MATCH = "expected dtype torch.float"


def average_state_dicts(states, weights=None):  # type: ignore[no-untyped-def]
    if not isinstance(states, (list, tuple)):
        raise TypeError("states must be a list")
    if not states:
        raise ValueError("no states")
    w = [1.0] * len(states) if weights is None else [float(v) for v in weights]
    total = sum(w)
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            acc = sum(wj * s[key].double() for wj, s in zip(w, states, strict=False))
            out[key] = acc / total  # forgot: .to(first.dtype)
        else:
            out[key] = states[-1][key].clone()
    return out
