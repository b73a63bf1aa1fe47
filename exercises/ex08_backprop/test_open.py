"""Grader for the open Exercise 8.6 (README.md beside this file). Do not edit.

Graded on measured properties, not on equality with a reference: after the student's
``init_for_depth`` has set the weights of a 30-layer engine MLP (``dlbook.nn.MLP``, tanh or
ReLU, width 128), the grader runs a batch of 256 standardised training digits through it
with the chapter's engine and measures

1. the forward signal: the standard deviation of the last hidden layer's activations
   over that of the first hidden layer's;
2. the backward signal: the norm of the gradient of the cross-entropy with respect to the
   first hidden layer's activations over the norm with respect to the last's;

both must lie in [1/8, 8], for three nets and both activations. The hidden units of a
layer must differ (a constant initialisation keeps them identical forever), and the
weights must come from the ``generator`` argument alone.
"""

from __future__ import annotations

import functools
import math
import types

import pytest
import torch

import dlbook.autograd as ag
from dlbook import data
from dlbook import nn as dnn
from dlbook.autograd import Variable
from dlbook.grading import NotImplementedYetError, run_with_timeout

EXERCISE = "Exercise 8.6"
SUBMISSION = "backprop.py"
F64 = torch.float64
SIZES = [64] + [128] * 29 + [10]  # M = 30 weight layers
BAND = (1 / 8, 8.0)


def reference_init_for_depth(net: dnn.MLP, generator: torch.Generator) -> None:
    """Variance-preserving: Var W = gain / fan_in (gain 2 for ReLU, 1 for tanh), zero biases."""
    gain = 2.0 if net.activation == "relu" else 1.0
    last = len(net.layers) - 1
    for k, layer in enumerate(net.layers):
        d_out, d_in = layer.W.shape
        like = layer.W.data
        std = math.sqrt((1.0 if k == last else gain) / d_in)
        W = torch.randn(d_out, d_in, generator=generator, dtype=like.dtype) * std
        layer.W.data = W.to(like.device)
        layer.b.data = torch.zeros_like(layer.b.data)


REFERENCES = {"init_for_depth": reference_init_for_depth}


# ---------------------------------------------------------------------- Exercise 8.6


@functools.cache
def _batch(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    split = data.load_digits()
    X = split.X_train[:256].to(F64)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)  # standardised pixels
    return X.to(device), split.y_train[:256].to(device)


def _initialised(
    submission: types.ModuleType, activation: str, seed: int, device: torch.device
) -> dnn.MLP:
    net = dnn.MLP(
        SIZES,
        activation=activation,
        generator=torch.Generator().manual_seed(seed),
        device=device,
        dtype=F64,
    )
    try:
        run_with_timeout(
            submission.init_for_depth,
            (net, torch.Generator().manual_seed(1000 + seed)),
            seconds=60.0,
            what=EXERCISE,
        )
    except NotImplementedError:
        raise NotImplementedYetError(
            f"{EXERCISE}: `init_for_depth` is not implemented yet (it raises "
            "NotImplementedError). Replace the `raise NotImplementedError` line in "
            "backprop.py with your code."
        ) from None
    for k, layer in enumerate(net.layers, start=1):
        for name, p, shape in (
            ("W", layer.W, (SIZES[k], SIZES[k - 1])),
            ("b", layer.b, (SIZES[k],)),
        ):
            t = p.data
            assert isinstance(t, torch.Tensor) and tuple(t.shape) == shape, (
                f"{EXERCISE}: layer {k}'s {name} must stay a tensor of shape {shape}, got "
                f"{getattr(t, 'shape', type(t).__name__)}"
            )
            assert t.dtype == F64 and t.device == device, (
                f"{EXERCISE}: layer {k}'s {name} must keep the net's dtype float64 and device "
                f"{device}, got {t.dtype} on {t.device}"
            )
            assert torch.isfinite(t).all(), f"{EXERCISE}: layer {k}'s {name} is not finite"
    return net


def _signal(net: dnn.MLP, device: torch.device) -> tuple[float, float]:
    X, y = _batch(device)
    act = dnn.ACTIVATIONS[net.activation][2]
    H = Variable(X, requires_grad=False)
    hidden = []
    for layer in net.layers[:-1]:
        H = act(layer(H))
        hidden.append(H)
    loss = ag.cross_entropy(net.layers[-1](H), y)
    grads = ag.gradients(loss, hidden)
    forward = float(hidden[-1].data.std() / hidden[0].data.std())
    backward = float(grads[0].norm() / grads[-1].norm())
    return forward, backward


@pytest.mark.points(3)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_signal_propagates_both_ways(
    submission: types.ModuleType, device: torch.device, activation: str
) -> None:
    for seed in range(3):
        net = _initialised(submission, activation, seed, device)
        first = net.layers[1].W.data
        gaps = torch.cdist(first, first) + torch.eye(len(first), dtype=F64, device=device)
        assert gaps.min() > 1e-6 * first.norm(), (
            f"{EXERCISE}: two hidden units of layer 2 have identical incoming weights; units "
            "that start equal get equal gradients and stay equal forever: break the symmetry"
        )
        forward, backward = _signal(net, device)
        low, high = BAND
        assert math.isfinite(forward) and low <= forward <= high, (
            f"{EXERCISE}: {activation} net #{seed}: the last hidden layer's activations have "
            f"{forward:.3g} times the standard deviation of the first's; it must be within "
            f"[{low}, {high}] (the forward signal must neither die nor blow up)"
        )
        assert math.isfinite(backward) and low <= backward <= high, (
            f"{EXERCISE}: {activation} net #{seed}: the gradient reaching the first hidden "
            f"layer is {backward:.3g} times the one at the last; it must be within "
            f"[{low}, {high}] (the gradient vanishes or explodes on its way down)"
        )


@pytest.mark.points(1)
def test_weights_come_from_the_generator(
    submission: types.ModuleType, device: torch.device
) -> None:
    torch.manual_seed(1)
    a = _initialised(submission, "relu", 0, device)
    torch.manual_seed(2)  # a different global state: must not matter
    b = _initialised(submission, "relu", 0, device)
    c = _initialised(submission, "relu", 1, device)  # another generator seed
    for k, (la, lb) in enumerate(zip(a.layers, b.layers, strict=True), start=1):
        assert torch.equal(la.W.data, lb.W.data), (
            f"{EXERCISE}: with the same `generator` seed, layer {k}'s weights differ between "
            "two calls: draw every random number from `generator`, not the global RNG"
        )
    assert not torch.equal(a.layers[0].W.data, c.layers[0].W.data), (
        f"{EXERCISE}: different generators gave the same weights: use `generator`"
    )
