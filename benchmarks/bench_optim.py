"""What does writing the optimisers out cost? dlbook.optim against torch.optim, side by side.

    python benchmarks/bench_optim.py [--device cpu|cuda] [--rounds 5] [--steps 50]

For each optimiser, two copies of the same network get the same gradients, one updated by
``dlbook.optim`` (a readable per-tensor loop, Chapter 9) and one by ``torch.optim``
(PyTorch's default, which fuses the update across tensors with its ``foreach`` kernels).
First both take ``--steps`` steps and their weights are compared, so the timing is of the
same arithmetic; then one step of each is timed with ``benchmarks/harness.py`` (warm-up,
``blocked_autorange``, the two sides interleaved over ``--rounds`` rounds). The ratio is
dlbook / torch: its median and the range over rounds.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from harness import compare, report
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
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

    rows, diffs = [], []
    for name, (make_ours, make_torch) in OPTIMISERS.items():
        ours_p, torch_p = params(), params()
        ours, theirs = make_ours(ours_p), make_torch(torch_p)
        for _ in range(args.steps):
            ours.step()  # type: ignore[attr-defined]
            theirs.step()
        diffs.append(
            max(float((p - q).detach().abs().max()) for p, q in zip(ours_p, torch_p, strict=True))
        )
        rows.append(compare(f"{name}, one step", ours.step, theirs.step, rounds=args.rounds))  # type: ignore[attr-defined]
    report(
        rows,
        title=f"device: {device}, torch {torch.__version__}, {torch.get_num_threads()} threads",
    )
    for (name, _), diff in zip(OPTIMISERS.items(), diffs, strict=True):
        print(f"{name}: max |dlbook - torch| after {args.steps} steps {diff:.1e}")


if __name__ == "__main__":
    main()
