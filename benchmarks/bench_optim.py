"""What does writing the optimisers out cost? dlbook.optim against torch.optim, side by side.

    python benchmarks/bench_optim.py [--device cpu|cuda] [--repeats 7] [--steps 200]

For each optimiser, two copies of the same network get the same gradients and take
``--steps`` steps, one with ``dlbook.optim`` (a readable per-tensor loop, Chapter 9) and
one with ``torch.optim`` (PyTorch's default, which fuses the update across tensors with
its ``foreach`` kernels). Each figure is the median over ``--repeats`` alternating runs in
one process; the ratio is dlbook / torch. The two copies' weights are compared at the end,
so the timing is of the same arithmetic.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

import dlbook
from dlbook import optim

Pair = tuple[
    Callable[[list[torch.Tensor]], object], Callable[[list[torch.Tensor]], torch.optim.Optimizer]
]

OPTIMISERS: dict[str, Pair] = {
    "SGD + momentum": (
        lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
    ),
    "RMSprop": (
        lambda p: optim.RMSprop(p, lr=1e-3),
        lambda p: torch.optim.RMSprop(p, lr=1e-3),
    ),
    "Adam": (lambda p: optim.Adam(p, lr=1e-3), lambda p: torch.optim.Adam(p, lr=1e-3)),
    "AdamW": (
        lambda p: optim.AdamW(p, lr=1e-3, weight_decay=0.01),
        lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
    ),
}


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    device = dlbook.device(args.device)

    def params() -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        net.append(nn.Linear(256, 10))
        ps = [p.detach().to(device).requires_grad_(True) for p in net.parameters()]
        for p in ps:  # fixed gradients: the benchmark times the update, not backprop
            p.grad = torch.randn_like(p)
        return ps

    print(
        f"device: {device}, torch {torch.__version__}, {args.steps} steps per run, "
        f"median of {args.repeats} runs"
    )
    print(f"{'optimiser':18s}{'dlbook ms':>11s}{'torch ms':>10s}{'ratio':>8s}  max |diff|")
    for name, (make_ours, make_torch) in OPTIMISERS.items():
        ours_p, torch_p = params(), params()
        ours, theirs = make_ours(ours_p), make_torch(torch_p)
        timings: dict[str, list[float]] = {"ours": [], "torch": []}
        for _ in range(args.repeats):
            for key, opt in (("ours", ours), ("torch", theirs)):
                synchronize()
                start = time.perf_counter()
                for _ in range(args.steps):
                    opt.step()  # type: ignore[attr-defined]
                synchronize()
                timings[key].append((time.perf_counter() - start) * 1e3)
        a, b = statistics.median(timings["ours"]), statistics.median(timings["torch"])
        diff = max(
            float((p - q).detach().abs().max()) for p, q in zip(ours_p, torch_p, strict=True)
        )
        print(f"{name:18s}{a:11.2f}{b:10.2f}{a / b:8.2f}  {diff:.1e}")


if __name__ == "__main__":
    main()
