"""dlbook.train.make_loader and fit on a map-style torch Dataset (Chapter 7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from dlbook import train


class Squares(Dataset[tuple[Tensor, Tensor]]):
    """A reader's own map-style dataset: example i is (features of i, label of i)."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.X = torch.randn(n, 3, generator=g)
        self.y = (self.X.sum(1) > 0).long()
        self.fetched = 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        self.fetched += 1
        return self.X[i], self.y[i]


def _net(seed: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def test_dataset_loader_gives_the_batches_of_the_tensors() -> None:
    data = Squares(23)
    for shuffle in (False, True):
        a = train.make_loader(data.X, data.y, batch_size=5, shuffle=shuffle, seed=4)
        b = train.make_loader(data, batch_size=5, shuffle=shuffle, seed=4)
        assert len(a) == len(b) == 5
        for epoch in (1, 2):
            a.set_epoch(epoch)
            b.set_epoch(epoch)
            pairs = list(zip(a, b, strict=True))
            assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in pairs)
    # every example once per epoch, a new order each epoch, fetched one by one
    loader = train.make_loader(data, batch_size=4, shuffle=True, seed=1)
    data.fetched = 0
    first = torch.cat([yb for _, yb in loader])
    order1 = torch.cat([x[:, 0] for x, _ in loader])  # epoch 2
    order2 = torch.cat([x[:, 0] for x, _ in loader])  # epoch 3
    assert len(first) == 23 and data.fetched == 3 * 23
    assert sorted(order1.tolist()) == sorted(data.X[:, 0].tolist())
    assert not torch.equal(order1, order2)


def test_fit_on_a_dataset_equals_a_plain_dataloader_loop() -> None:
    data, epochs, batch, seed = Squares(50), 3, 8, 7
    model = _net()
    train.fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.3),
        nn.CrossEntropyLoss(),
        data,
        epochs=epochs,
        batch_size=batch,
        seed=seed,
        progress=False,
    )
    # the same run written with torch's own DataLoader, in the documented order
    twin = _net()
    opt = torch.optim.SGD(twin.parameters(), lr=0.3)
    for epoch in range(1, epochs + 1):
        g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % 2**63)
        order = torch.randperm(len(data), generator=g).tolist()
        for xb, yb in DataLoader(data, batch_size=batch, sampler=order):
            opt.zero_grad()
            nn.functional.cross_entropy(twin(xb), yb).backward()
            opt.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    # and a TensorDataset trains exactly like the pair of tensors it wraps
    pair, wrapped = _net(), _net()
    for m, d in ((pair, (data.X, data.y)), (wrapped, TensorDataset(data.X, data.y))):
        train.fit(
            m,
            torch.optim.SGD(m.parameters(), lr=0.3),
            nn.CrossEntropyLoss(),
            d,
            epochs=2,
            batch_size=batch,
            seed=seed,
            val=d,
            progress=False,
        )
    for p, q in zip(pair.parameters(), wrapped.parameters(), strict=True):
        assert torch.equal(p, q)


def test_collate_fn_is_used() -> None:
    data = Squares(6)

    def collate(items: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
        xs, ys = zip(*items, strict=True)
        return torch.stack(xs) * 2, torch.stack(ys)

    (xb, _), *_ = train.make_loader(data, batch_size=6, collate_fn=collate)
    torch.testing.assert_close(xb, data.X * 2)


class _Stream(IterableDataset[Tensor]):
    def __iter__(self) -> Any:
        return iter([torch.zeros(1)])


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: train.make_loader([1, 2, 3]), TypeError, "map-style Dataset"),  # type: ignore[arg-type]
        (lambda: train.make_loader(_Stream()), TypeError, "map-style Dataset"),
        (lambda: train.make_loader(Squares(3), torch.zeros(3)), TypeError, "must be tensors"),
        (lambda: train.make_loader(Squares(3), num_workers=-1), ValueError, "num_workers"),
        (lambda: train.make_loader(Squares(3), batch_size=0), ValueError, "batch_size"),
        (lambda: train.make_loader(torch.zeros(3)), TypeError, "no y"),
    ],
)
def test_make_loader_rejects_bad_arguments(
    call: Callable[[], object], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        call()
