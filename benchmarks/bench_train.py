"""How much do dlbook.train's conveniences cost? Ratios against plain PyTorch, side by side.

    python benchmarks/bench_train.py [--device cpu|cuda] [--repeats 5]

Each figure is the median of ``--repeats`` runs of dlbook's version divided by the median
of the same work written directly in PyTorch, measured alternately in one process:

* one training epoch with ``fit`` (metrics, history, validation) vs a bare loop over the
  same batches;
* one pass of ``make_loader``'s batches vs ``DataLoader(TensorDataset(X, y))``;
* ``evaluate`` over the validation set vs one batched forward pass under ``no_grad``;
* ``save_checkpoint`` (atomic write, fsync) vs a plain ``torch.save``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import dlbook
from dlbook import data, train


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        work()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = dlbook.device(args.device)
    split = data.load_digits(device)
    loss_fn = nn.CrossEntropyLoss()

    def model() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)

    net_a, net_b = model(), model()
    opt_a = torch.optim.SGD(net_a.parameters(), lr=0.05)
    opt_b = torch.optim.SGD(net_b.parameters(), lr=0.05)
    loader = train.make_loader(split.X_train, split.y_train, batch_size=64, shuffle=True)

    def with_fit() -> None:
        train.fit(
            net_a,
            opt_a,
            loss_fn,
            loader,
            epochs=1,
            val=(split.X_val, split.y_val),
            metrics={"accuracy": train.accuracy},
            progress=False,
        )

    def bare_loop() -> None:
        for xb, yb in loader:
            opt_b.zero_grad()
            loss_fn(net_b(xb), yb).backward()
            opt_b.step()
        with torch.no_grad():
            logits = net_b(split.X_val)
            loss_fn(logits, split.y_val).item()
            (logits.argmax(1) == split.y_val).float().mean().item()

    reference_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(split.X_train, split.y_train),
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )

    def our_batches() -> None:
        for _ in loader:
            pass

    def torch_batches() -> None:
        for _ in reference_loader:
            pass

    def with_evaluate() -> None:
        train.evaluate(
            net_a, (split.X_val, split.y_val), loss_fn, metrics={"accuracy": train.accuracy}
        )

    def bare_eval() -> None:
        with torch.no_grad():
            logits = net_b(split.X_val)
            loss_fn(logits, split.y_val).item()
            (logits.argmax(1) == split.y_val).float().mean().item()

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)

        def with_save() -> None:
            train.save_checkpoint(path / "a.pt", net_a, opt_a)

        def bare_save() -> None:
            torch.save({"model": net_b.state_dict(), "opt": opt_b.state_dict()}, path / "b.pt")

        for name, ours, theirs in [
            ("fit, one epoch + validation", with_fit, bare_loop),
            ("make_loader vs DataLoader", our_batches, torch_batches),
            ("evaluate", with_evaluate, bare_eval),
            ("save_checkpoint", with_save, bare_save),
        ]:
            ours(), theirs()  # warm-up
            ours_s = median_seconds(ours, args.repeats)
            theirs_s = median_seconds(theirs, args.repeats)
            rows.append((name, ours_s, theirs_s))

    print(f"device: {device}, torch {torch.__version__}, median of {args.repeats} runs")
    print(f"{'what':32s} {'dlbook ms':>10s} {'PyTorch ms':>11s} {'ratio':>7s}")
    for name, ours_s, theirs_s in rows:
        print(f"{name:32s} {1e3 * ours_s:10.2f} {1e3 * theirs_s:11.2f} {ours_s / theirs_s:7.2f}")


if __name__ == "__main__":
    main()
