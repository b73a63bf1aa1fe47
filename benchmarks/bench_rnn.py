"""What does a readable LSTM cost? dlbook.rnn.LSTM against torch.nn.LSTM, forward + backward.

    python benchmarks/bench_rnn.py [--device cpu|cuda] [--threads 2] [--min-run-time 1.0]

For each shape, two LSTMs with the same weights (``nn.LSTM``'s, loaded into
``dlbook.rnn.LSTM`` by ``load_state_dict``) run the same forward and backward pass: the
output summed, then ``backward()``. ``dlbook.rnn.LSTM`` is a Python loop over time steps
that does the input projection of all steps in one matrix product first (Chapter 11);
``nn.LSTM`` is ATen's fused loop on the CPU (cuDNN on a GPU). The two sides are timed
alternately, in one process, with ``torch.utils.benchmark.Timer.blocked_autorange``,
several rounds each, at a fixed thread count. Printed: the median and the interquartile
range of each side, the ratio dlbook / torch, and the GFLOP/s each achieves on the
matrix products (forward: 2 T B 4H (F + H) flops per layer; backward twice that), and the
largest difference between the two sides' gradients, relative to each gradient's
largest entry.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.utils.benchmark as benchmark
from torch import nn

import dlbook
from dlbook import rnn

#: (label, T, B, F, H, layers): Chapter 11's character model, a small shape (MNIST-1D's
#: 40 steps of one feature; the chapter's GRU there has H = 32), then a larger one.
SHAPES = [
    ("ch11 char LM", 64, 32, 32, 128, 1),
    ("small, T = 40", 40, 100, 1, 64, 1),
    ("larger", 64, 64, 128, 256, 2),
]


def matmul_flops(T: int, B: int, F: int, H: int, layers: int) -> float:
    """Flops of the matrix products of forward + backward (backward: two products per one)."""
    forward = 0.0
    for layer in range(layers):
        inputs = F if layer == 0 else H
        forward += 2.0 * T * B * 4 * H * (inputs + H)
    return 3.0 * forward


def step(model: nn.Module, x: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    x.grad = None
    out, _ = model(x)
    out.sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-run-time", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    device = dlbook.device(args.device)
    torch.set_num_threads(args.threads)
    print(
        f"device: {device}, torch {torch.__version__}, {args.threads} threads, "
        f"{args.rounds} alternating rounds of blocked_autorange(min_run_time={args.min_run_time})"
    )
    header = (
        f"{'shape':15s}{'T':>5s}{'B':>5s}{'F':>5s}{'H':>5s}{'M':>3s}"
        f"{'dlbook ms':>12s}{'IQR':>7s}{'torch ms':>10s}{'IQR':>7s}{'ratio':>7s}"
        f"{'GF/s ours':>11s}{'GF/s torch':>11s}  max rel. diff"
    )
    print(header, flush=True)
    for label, T, B, F, H, layers in SHAPES:
        torch.manual_seed(0)
        theirs = nn.LSTM(F, H, num_layers=layers).to(device)
        ours = rnn.LSTM(F, H, num_layers=layers).to(device)
        ours.load_state_dict(theirs.state_dict())
        x = torch.randn(T, B, F, device=device, requires_grad=True)
        # the same arithmetic: outputs and gradients agree before anything is timed
        step(theirs, x)
        ref = [x.grad.clone()] + [p.grad.clone() for p in theirs.parameters()]  # type: ignore[union-attr]
        step(ours, x)
        got = [x.grad.clone()] + [p.grad.clone() for p in ours.parameters()]  # type: ignore[union-attr]
        # relative to each tensor's scale: float32 sums over T B terms differ in the last bits
        diff = max(
            float((a - b).abs().max() / a.abs().max().clamp_min(1e-30))
            for a, b in zip(ref, got, strict=True)
        )
        medians: dict[str, list[float]] = {"ours": [], "torch": []}
        iqrs: dict[str, list[float]] = {"ours": [], "torch": []}
        for _ in range(args.rounds):
            for key, model in (("ours", ours), ("torch", theirs)):
                timer = benchmark.Timer(
                    stmt="step(model, x)",
                    globals={"step": step, "model": model, "x": x},
                    num_threads=args.threads,
                    label=label,
                    sub_label=key,
                )
                measurement = timer.blocked_autorange(min_run_time=args.min_run_time)
                medians[key].append(measurement.median * 1e3)
                iqrs[key].append(measurement.iqr * 1e3)
        a, b = statistics.median(medians["ours"]), statistics.median(medians["torch"])
        ia, ib = statistics.median(iqrs["ours"]), statistics.median(iqrs["torch"])
        flops = matmul_flops(T, B, F, H, layers)
        print(
            f"{label:15s}{T:5d}{B:5d}{F:5d}{H:5d}{layers:3d}{a:12.2f}{ia:7.2f}{b:10.2f}{ib:7.2f}"
            f"{a / b:7.2f}{flops / a / 1e6:11.2f}{flops / b / 1e6:11.2f}  {diff:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
