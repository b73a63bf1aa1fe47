"""How fast is the book's from-scratch autograd? One training epoch against PyTorch autograd.

    python benchmarks/bench_autograd.py [--device cpu|cuda] [--repeats 7] [--threads N]

Trains the digits MLP of Chapter 8 (64-128-10, ReLU, mini-batches of 32, plain SGD) for
one epoch twice over, side by side in one process: with ``dlbook.autograd``/``dlbook.nn``
(forward ops in Python, backward closures, :func:`dlbook.nn.sgd_step`) and with the same
net as ``torch.nn.Sequential`` trained by ``loss.backward()`` and ``torch.optim.SGD``.
Both see the same batches and start from the same weights. The figure is the median of
``--repeats`` epochs of each, measured alternately, and their ratio (target: within 3x).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

import dlbook
from dlbook import autograd, data, train
from dlbook import nn as dnn


def seconds(work: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    work()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = dlbook.device(args.device)
    split = data.load_digits(device)
    sizes, lr, batch_size = [64, 128, 10], 0.5, 32

    ours = dnn.MLP(sizes, generator=torch.Generator().manual_seed(0), device=device)
    first, second = nn.Linear(64, 128), nn.Linear(128, 10)
    theirs = nn.Sequential(first, nn.ReLU(), second).to(device)
    with torch.no_grad():
        for linear, layer in zip((first, second), ours.layers, strict=True):
            linear.weight.copy_(layer.W.data)
            linear.bias.copy_(layer.b.data)
    opt = torch.optim.SGD(theirs.parameters(), lr=lr)
    batches = list(
        train.make_loader(split.X_train, split.y_train, batch_size=batch_size, shuffle=True)
    )

    def engine_epoch() -> None:
        for xb, yb in batches:
            loss = autograd.cross_entropy(ours(xb), yb)
            loss.backward()
            dnn.sgd_step(ours.parameters(), lr)

    def torch_epoch() -> None:
        for xb, yb in batches:
            opt.zero_grad()
            F.cross_entropy(theirs(xb), yb).backward()
            opt.step()

    engine_epoch()  # warm-up
    torch_epoch()
    engine_s, torch_s = [], []
    for _ in range(args.repeats):
        engine_s.append(seconds(engine_epoch, device))
        torch_s.append(seconds(torch_epoch, device))
    a, b = statistics.median(engine_s), statistics.median(torch_s)
    acc_ours = train.accuracy(ours(split.X_test).data, split.y_test).item()
    acc_theirs = train.accuracy(theirs(split.X_test), split.y_test).item()

    print(
        f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"median of {args.repeats} epochs of {len(batches)} batches"
    )
    print(f"{'what':34s} {'ms/epoch':>9s}")
    print(f"{'dlbook.autograd (from scratch)':34s} {1e3 * a:9.1f}")
    print(f"{'torch.autograd':34s} {1e3 * b:9.1f}")
    print(f"ratio (dlbook / torch): {a / b:.2f}   (target: <= 3)")
    print(f"test accuracy after {1 + args.repeats} epochs: {acc_ours:.4f} vs {acc_theirs:.4f}")


if __name__ == "__main__":
    main()
