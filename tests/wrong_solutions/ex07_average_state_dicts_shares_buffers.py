"""Exercise 7.3 handing back the last state's integer buffers themselves (and a single
state's tensors), not new tensors: writing into the result changes the inputs."""

SET = "ex07_pytorch"
TESTS = ["test_average_state_dicts_returns_new_tensors"]
MATCH = "must be new"


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
            acc = sum(wj * s[key].double() for wj, s in zip(w, states, strict=True))
            out[key] = (acc / total).to(first.dtype)
        else:
            out[key] = states[-1][key]  # not a copy
    return out
