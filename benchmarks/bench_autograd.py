"""How fast is the book's from-scratch autograd? One training epoch against PyTorch autograd.

    python benchmarks/bench_autograd.py [--device cpu|cuda] [--rounds 5] [--threads N]

Trains the digits MLP of Chapter 8 (64-128-10, ReLU, mini-batches of 32, plain SGD) for
one epoch twice over, side by side in one process: with ``dlbook.autograd``/``dlbook.nn``
(forward ops in Python, backward closures, :func:`dlbook.nn.sgd_step`) and with the same
net as ``torch.nn.Sequential`` trained by ``loss.backward()`` and ``torch.optim.SGD``.
Both see the same batches and start from the same weights; after two epochs each their
test accuracies are printed side by side. Then epochs are timed with
``benchmarks/harness.py`` (warm-up, ``blocked_autorange``, the two sides interleaved over
``--rounds`` rounds): the median of each and their ratio (target: within 3x).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from harness import compare, report
from torch import nn

import dlbook
from dlbook import autograd, data, train
from dlbook import nn as dnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--rounds", type=int, default=5)
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

    for _ in range(2):
        engine_epoch()
        torch_epoch()
    acc_ours = train.accuracy(ours(split.X_test).data, split.y_test).item()
    acc_theirs = train.accuracy(theirs(split.X_test), split.y_test).item()
    print(f"test accuracy after 2 epochs: dlbook {acc_ours:.4f}, torch {acc_theirs:.4f}")
    row = compare(
        f"one epoch ({len(batches)} batches)", engine_epoch, torch_epoch, rounds=args.rounds
    )
    report(
        [row],
        title=f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}",
    )
    print(f"ratio (dlbook / torch): {row.ratio:.2f}   (target: <= 3)")


if __name__ == "__main__":
    main()
