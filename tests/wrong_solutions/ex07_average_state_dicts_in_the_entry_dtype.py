"""Exercise 7.3 averaging in each entry's own dtype instead of float64 (float16 sums overflow;
passed: the float16 case's sums were small and exact)."""

import torch

SET = "ex07_pytorch"
TESTS = ["test_average_state_dicts_fixed_inputs"]
MATCH = "overflows float16"


def average_state_dicts(states, weights=None):  # type: ignore[no-untyped-def]
    if not isinstance(states, (list, tuple)):
        raise TypeError("states must be a list")
    if not states:
        raise ValueError("no states")
    w = [1.0] * len(states) if weights is None else [float(x) for x in weights]
    if len(w) != len(states) or min(w) < 0 or sum(w) == 0:
        raise ValueError("bad weights")
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            total = sum(wj * s[key] for wj, s in zip(w, states, strict=True)) / sum(w)
            out[key] = torch.as_tensor(total).to(first.dtype).to(first.device).clone()
        else:
            out[key] = states[-1][key].clone().to(first.device)
    return out
