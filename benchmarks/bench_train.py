"""How much do dlbook.train's conveniences cost? Ratios against plain PyTorch, side by side.

    python benchmarks/bench_train.py [--device cpu|cuda] [--rounds 5]

Each figure is dlbook's version against the same work written directly in PyTorch, timed
with ``benchmarks/harness.py`` (warm-up, ``blocked_autorange``, the two sides interleaved
over ``--rounds`` rounds; the ratio's median and its range over rounds):

* one training epoch with ``fit`` (metrics, history, validation) vs a bare loop over the
  same batches;
* one pass of ``make_loader``'s batches vs ``DataLoader(TensorDataset(X, y))``;
* ``evaluate`` over the validation set vs one batched forward pass under ``no_grad``;
* ``save_checkpoint`` (atomic write, fsync) vs a plain ``torch.save``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from harness import compare, report
from torch import nn

import dlbook
from dlbook import data, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--rounds", type=int, default=5)
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
            rows.append(compare(name, ours, theirs, rounds=args.rounds))
    report(rows, title=f"device: {device}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
