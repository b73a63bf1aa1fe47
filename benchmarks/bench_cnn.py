"""What does im2col cost? dlbook.cnn.conv2d against F.conv2d, forward and backward, side by side.

    python benchmarks/bench_cnn.py [--device cpu|cuda] [--rounds 5] [--threads 2]

``dlbook.cnn.conv2d`` (Chapter 10) pads, copies every receptive field into a column with one
strided slice per kernel tap, and does one matrix product; autograd differentiates that.
``F.conv2d`` calls a tuned library (oneDNN on CPUs, cuDNN on GPUs). For each shape, first
the outputs and gradients of the two are compared, then one forward + backward pass of each
is timed with ``benchmarks/harness.py`` (warm-up, ``blocked_autorange``, both sides
interleaved over ``--rounds`` rounds, explicit ``num_threads``). The ratio is dlbook / torch:
its median and the range over rounds. GFLOP/s counts the three matrix products of a
forward + backward pass, 3 x 2 N O H_o W_o (C / groups) k_h k_w floating-point operations.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
import torch.nn.functional as F
from harness import compare, report

import dlbook
from dlbook import cnn

# (name, input shape, weight shape, conv2d keyword arguments)
SHAPES: list[tuple[str, tuple[int, ...], tuple[int, ...], dict[str, int]]] = [
    ("DigitsCNN conv1, 64x1x8x8", (64, 1, 8, 8), (32, 1, 3, 3), {"padding": 1}),
    ("DigitsCNN conv2, 64x32x4x4", (64, 32, 4, 4), (64, 32, 3, 3), {"padding": 1}),
    ("residual net, 64x8x8x8", (64, 8, 8, 8), (8, 8, 3, 3), {"padding": 1}),
    ("larger, 32x64x32x32", (32, 64, 32, 32), (64, 64, 3, 3), {"padding": 1}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    device = dlbook.device(args.device)
    torch.set_num_threads(args.threads)

    rows, diffs = [], []
    for name, x_shape, w_shape, kwargs in SHAPES:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(x_shape, generator=g).to(device).requires_grad_()
        w = torch.randn(w_shape, generator=g).to(device).requires_grad_()
        b = torch.randn(w_shape[0], generator=g).to(device).requires_grad_()
        out = F.conv2d(x, w, b, **kwargs)
        v = torch.randn(out.shape, generator=g).to(device)

        def step(conv: object, x: torch.Tensor = x, w: torch.Tensor = w, b: torch.Tensor = b,
                 v: torch.Tensor = v, kwargs: dict[str, int] = kwargs) -> None:  # fmt: skip
            y = conv(x, w, b, **kwargs)  # type: ignore[operator]
            y.backward(v)

        grads = []
        for conv in (cnn.conv2d, F.conv2d):
            x.grad = w.grad = b.grad = None
            step(conv)
            grads.append([t.grad.clone() for t in (x, w, b)])  # type: ignore[union-attr]
        diff = max(float((a - e).abs().max() / e.abs().max()) for a, e in zip(*grads, strict=True))
        diffs.append((name, diff))
        N, O, Ho, Wo = out.shape  # noqa: E741 (O output channels)
        flops = 3 * 2 * N * O * Ho * Wo * w_shape[1] * w_shape[2] * w_shape[3]
        rows.append(
            compare(
                f"{name}",
                partial(step, cnn.conv2d),
                partial(step, F.conv2d),
                rounds=args.rounds,
                num_threads=args.threads,
                flops=float(flops),
            )
        )
    report(
        rows,
        title=f"conv2d forward + backward; device: {device}, torch {torch.__version__}, "
        f"{args.threads} threads",
    )
    for name, diff in diffs:
        print(f"{name}: max relative |gradient difference| {diff:.1e}")


if __name__ == "__main__":
    main()
