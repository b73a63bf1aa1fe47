"""dlbook.train: metrics, the training loop, evaluation and checkpoints."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from dlbook import data, train


def make_model(seed: int = 0, hidden: int = 16, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)).to(dtype)


def params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.state_dict().values()]


# ---------------------------------------------------------------- accuracy
def test_accuracy_matches_numpy(device: torch.device) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 7))
    targets = rng.integers(0, 7, 200)
    expected = float(np.mean(logits.argmax(axis=1) == targets))
    got = train.accuracy(torch.tensor(logits, device=device), torch.tensor(targets, device=device))
    assert got.device.type == device.type
    assert got.item() == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize(
    ("logits", "targets", "match"),
    [
        (torch.zeros(4), torch.zeros(4, dtype=torch.long), "logits must have shape"),
        (torch.zeros(3, 2), torch.zeros(2, dtype=torch.long), "targets must have shape"),
        (torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), "empty"),
    ],
)
def test_accuracy_rejects_bad_shapes(
    logits: torch.Tensor, targets: torch.Tensor, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        train.accuracy(logits, targets)


# ---------------------------------------------------------------- loaders and history
def test_loader_covers_every_example_once_and_shuffles_reproducibly() -> None:
    X, y = torch.arange(10.0)[:, None], torch.arange(10)
    order = [
        int(i) for _, b in train.make_loader(X, y, batch_size=3, shuffle=True, seed=1) for i in b
    ]
    again = [
        int(i) for _, b in train.make_loader(X, y, batch_size=3, shuffle=True, seed=1) for i in b
    ]
    other = [
        int(i) for _, b in train.make_loader(X, y, batch_size=3, shuffle=True, seed=2) for i in b
    ]
    assert sorted(order) == list(range(10)) and order == again and order != other


def test_loader_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="same length"):
        train.make_loader(torch.zeros(3, 1), torch.zeros(2))
    with pytest.raises(ValueError, match="batch_size"):
        train.make_loader(torch.zeros(3, 1), torch.zeros(3), batch_size=0)


def test_history_round_trip_and_errors() -> None:
    h = train.History()
    h.append(1, {"loss": 2.0})
    h.append(2, {"loss": 1.0})
    assert train.History.from_dict(h.to_dict()) == h and len(h) == 2 and h["loss"] == [2.0, 1.0]
    with pytest.raises(KeyError, match="no metric 'acc'"):
        h["acc"]


# ---------------------------------------------------------------- fit and evaluate
def test_fit_follows_a_hand_written_loop(device: torch.device) -> None:
    """fit's recorded losses and final weights equal a loop written out by hand (float64)."""
    split = data.load_digits(dtype=torch.float64)
    X, y = split.X_train[:200], split.y_train[:200]
    model = make_model(dtype=torch.float64)
    twin = copy.deepcopy(model)
    history = train.fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        nn.CrossEntropyLoss(),
        (X, y),
        epochs=3,
        batch_size=32,
        seed=5,
        device=device,
        progress=False,
    )

    optimizer = torch.optim.SGD(twin.parameters(), lr=0.1)
    loader = train.make_loader(X, y, batch_size=32, shuffle=True, seed=5)
    losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(twin(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        losses.append(total / len(y))
    np.testing.assert_allclose(history["train_loss"], losses, rtol=1e-9)
    for got, expected in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(got.cpu(), expected, rtol=1e-9, atol=1e-12)
    assert history.epochs == [1, 2, 3]


def test_fit_learns_the_digits(device: torch.device) -> None:
    split = data.load_digits(device)
    model = nn.Linear(64, 10).to(device)
    history = train.fit(
        model,
        torch.optim.Adam(model.parameters(), lr=0.05),
        nn.CrossEntropyLoss(),
        (split.X_train, split.y_train),
        val=(split.X_val, split.y_val),
        epochs=5,
        metrics={"accuracy": train.accuracy},
        progress=False,
    )
    assert set(history.metrics) == {"train_loss", "val_loss", "val_accuracy"}
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_accuracy"][-1] > 0.9


def test_fit_continues_a_history() -> None:
    split = data.load_digits()
    model = nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    h = train.fit(model, opt, loss, (split.X_train, split.y_train), epochs=2, progress=False)
    h = train.fit(
        model, opt, loss, (split.X_train, split.y_train), epochs=1, history=h, progress=False
    )
    assert h.epochs == [1, 2, 3] and len(h["train_loss"]) == 3


def test_fit_rejects_bad_arguments() -> None:
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(model, opt, nn.CrossEntropyLoss(), (torch.zeros(2, 2), torch.zeros(2)), epochs=-1)
    with pytest.raises(TypeError, match="train must be"):
        train.fit(model, opt, nn.CrossEntropyLoss(), torch.zeros(2, 2), epochs=1)


def test_progress_bar_respects_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    X, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monkeypatch.setenv("DLBOOK_PROGRESS", "0")
    train.fit(model, opt, nn.CrossEntropyLoss(), (X, y), epochs=1)
    assert "epochs" not in capsys.readouterr().err
    train.fit(model, opt, nn.CrossEntropyLoss(), (X, y), epochs=1, progress=True)
    assert "epochs" in capsys.readouterr().err


def test_evaluate_averages_over_examples(device: torch.device) -> None:
    split = data.load_digits(device, dtype=torch.float64)
    model = make_model(dtype=torch.float64).to(device)
    scores = train.evaluate(
        model,
        (split.X_val, split.y_val),
        nn.CrossEntropyLoss(),
        metrics={"accuracy": train.accuracy},
        batch_size=50,
    )
    with torch.no_grad():
        logits = model(split.X_val)
    expected_loss = nn.functional.cross_entropy(logits, split.y_val).item()
    expected_acc = (logits.argmax(1) == split.y_val).double().mean().item()
    assert scores["loss"] == pytest.approx(expected_loss, rel=1e-10)
    assert scores["accuracy"] == pytest.approx(expected_acc, rel=1e-7)
    assert model.training, "evaluate must restore the model's training mode"


# ---------------------------------------------------------------- checkpoints
def trained(tmp_path: Path) -> tuple[nn.Module, torch.optim.Optimizer, train.History, Path]:
    split = data.load_digits()
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train.fit(
        model, opt, nn.CrossEntropyLoss(), (split.X_train, split.y_train), epochs=1, progress=False
    )
    path = train.save_checkpoint(
        tmp_path / "ckpt" / "model.pt",
        model,
        opt,
        history=history,
        extra={"note": "digits", "seed": 0},
    )
    return model, opt, history, path


def test_checkpoint_round_trip(tmp_path: Path, device: torch.device) -> None:
    model, opt, history, path = trained(tmp_path)
    fresh = make_model(seed=99).to(device)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.01)
    info = train.load_checkpoint(path, fresh, fresh_opt)
    for got, expected in zip(params(fresh), params(model), strict=True):
        assert got.device.type == device.type
        assert torch.equal(got.cpu(), expected)
    assert info["history"] == history and info["extra"] == {"note": "digits", "seed": 0}
    state, fresh_state = opt.state_dict()["state"], fresh_opt.state_dict()["state"]
    for key in state:
        assert torch.equal(state[key]["exp_avg"], fresh_state[key]["exp_avg"].cpu())


def test_failed_save_keeps_the_old_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _, _, path = trained(tmp_path)
    before = path.read_bytes()

    def crash(obj: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        train.save_checkpoint(path, model)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]


def test_wrong_architecture_is_refused_and_model_untouched(tmp_path: Path) -> None:
    _, _, _, path = trained(tmp_path)
    other = make_model(hidden=8)
    before = params(other)
    with pytest.raises(ValueError, match="do not fit"):
        train.load_checkpoint(path, other)
    assert all(torch.equal(a, b) for a, b in zip(params(other), before, strict=True))
    with pytest.raises(ValueError, match=r"not in the model|missing"):
        train.load_checkpoint(path, nn.Linear(64, 10))


def test_mismatched_optimizer_is_refused_and_model_untouched(tmp_path: Path) -> None:
    _, _, _, path = trained(tmp_path)
    fresh = make_model(seed=3)
    before = params(fresh)
    only_last = torch.optim.Adam(list(fresh.parameters())[2:], lr=0.01)
    with pytest.raises(ValueError, match="optimiser"):
        train.load_checkpoint(path, fresh, only_last)
    assert all(torch.equal(a, b) for a, b in zip(params(fresh), before, strict=True))


def test_corrupt_and_foreign_files_are_clear_errors(tmp_path: Path) -> None:
    _, _, _, path = trained(tmp_path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:1000])
    model = make_model()
    before = params(model)
    with pytest.raises(ValueError, match="not a complete checkpoint"):
        train.load_checkpoint(truncated, model)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="not a dlbook checkpoint"):
        train.load_checkpoint(foreign, model)
    assert all(torch.equal(a, b) for a, b in zip(params(model), before, strict=True))
    with pytest.raises(FileNotFoundError):
        train.load_checkpoint(tmp_path / "absent.pt", model)


class Payload:
    """An arbitrary object: weights_only=True must refuse to unpickle it."""


def test_checkpoints_load_with_weights_only(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.pt"
    torch.save({"format": "dlbook-checkpoint", "version": 1, "model_state": Payload()}, sneaky)
    with pytest.raises(ValueError, match="could not be read"):
        train.load_checkpoint(sneaky, make_model())


def test_a_resumed_run_equals_one_that_never_stopped(tmp_path: Path, device: torch.device) -> None:
    split = data.load_digits(device, dtype=torch.float64)
    train_data = (split.X_train, split.y_train)
    loss = nn.CrossEntropyLoss()

    straight = make_model(dtype=torch.float64).to(device)
    opt = torch.optim.Adam(straight.parameters(), lr=0.01)
    full = train.fit(straight, opt, loss, train_data, epochs=3, seed=4, progress=False)

    first = make_model(dtype=torch.float64).to(device)
    opt1 = torch.optim.Adam(first.parameters(), lr=0.01)
    part = train.fit(first, opt1, loss, train_data, epochs=2, seed=4, progress=False)
    path = train.save_checkpoint(tmp_path / "mid.pt", first, opt1, history=part)

    resumed = make_model(seed=7, dtype=torch.float64).to(device)
    opt2 = torch.optim.Adam(resumed.parameters(), lr=0.01)
    history = train.load_checkpoint(path, resumed, opt2)["history"]
    history = train.fit(
        resumed, opt2, loss, train_data, epochs=1, seed=4, history=history, progress=False
    )
    assert history.epochs == [1, 2, 3]
    np.testing.assert_allclose(history["train_loss"], full["train_loss"], rtol=1e-12)
    for got, expected in zip(resumed.parameters(), straight.parameters(), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


def test_each_epoch_gets_its_own_order() -> None:
    batches = train.make_loader(
        torch.arange(20.0), torch.arange(20), batch_size=20, shuffle=True, seed=0
    )
    first, second = (next(iter(batches))[1].tolist() for _ in range(2))
    batches.set_epoch(1)
    assert next(iter(batches))[1].tolist() == first and first != second


# ---------------------------------------------------------------- train_epoch
def test_train_epoch_equals_explicit_sgd_updates(device: torch.device) -> None:
    # Independent reference: the SGD update theta -= lr * grad written out with autograd.grad,
    # and the mean loss computed example-weighted by hand.
    torch.manual_seed(3)
    X = torch.randn(50, 64, dtype=torch.float64, device=device)
    y = torch.randint(0, 10, (50,), device=device)
    batches = [(X[i : i + 16], y[i : i + 16]) for i in range(0, 50, 16)]  # sizes 16,16,16,2
    model = make_model(1, dtype=torch.float64).to(device)
    manual = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    loss_fn = nn.CrossEntropyLoss()
    lr = 0.3

    def forward(ps: list[torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(inputs @ ps[0].T + ps[1])
        return hidden @ ps[2].T + ps[3]

    total, count = 0.0, 0
    for inputs, targets in batches:
        loss = loss_fn(forward(manual, inputs), targets)
        grads = torch.autograd.grad(loss, manual)
        with torch.no_grad():
            manual = [(p - lr * g).requires_grad_(True) for p, g in zip(manual, grads, strict=True)]
        total += float(loss.detach()) * len(targets)
        count += len(targets)

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    got = train.train_epoch(model, optimizer, loss_fn, batches)
    assert got == pytest.approx(total / count, rel=1e-12)
    for p, q in zip(model.parameters(), manual, strict=True):
        assert p.device.type == device.type
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-12, atol=1e-12)
    assert model.training


def test_train_epoch_moves_batches_to_the_model_and_rejects_bad_input() -> None:
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    X, y = torch.randn(8, 64), torch.randint(0, 10, (8,))
    with pytest.raises(ValueError, match="batches holds no examples"):
        train.train_epoch(model, optimizer, nn.CrossEntropyLoss(), [])
    per_example = nn.CrossEntropyLoss(reduction="none")
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        train.train_epoch(model, optimizer, per_example, [(X, y)])


# ---------------------------------------------------------------- average_state_dicts
def test_average_state_dicts_matches_numpy_and_keeps_integer_buffers(device: torch.device) -> None:
    models = [nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(device) for _ in range(3)]
    for k, m in enumerate(models):
        m.train()
        for _ in range(k + 1):  # different running statistics and num_batches_tracked
            m(torch.randn(5, 3, device=device))
    states = [m.state_dict() for m in models]
    weights = [0.5, 2.0, 1.5]
    got = train.average_state_dicts(states, weights)
    assert list(got) == list(states[0])
    for key, value in got.items():
        assert value.device.type == device.type
        assert value.dtype == states[0][key].dtype
        if value.is_floating_point():
            stack = np.stack([s[key].double().cpu().numpy() for s in states])
            expected = np.average(stack, axis=0, weights=weights)
            np.testing.assert_allclose(value.double().cpu().numpy(), expected, rtol=1e-6)
        else:
            assert int(value) == int(states[-1][key]) == 3  # taken from the last state
    equal = train.average_state_dicts(states)
    w0 = np.mean([s["0.weight"].cpu().numpy() for s in states], axis=0)
    np.testing.assert_allclose(equal["0.weight"].cpu().numpy(), w0, rtol=1e-6)
    # Fresh tensors: changing the average leaves the inputs alone.
    equal["0.weight"].zero_()
    assert states[0]["0.weight"].abs().sum() > 0
    models[0].load_state_dict(got)


def test_average_of_one_state_is_a_copy() -> None:
    state = make_model().state_dict()
    got = train.average_state_dicts([state])
    for key in state:
        torch.testing.assert_close(got[key], state[key], rtol=0, atol=0)
        assert got[key].data_ptr() != state[key].data_ptr()


@pytest.mark.parametrize(
    ("states", "weights", "error", "match"),
    [
        ([], None, ValueError, "at least one"),
        ({"w": torch.ones(2)}, None, TypeError, "list of state dicts"),
        ([{"w": [1.0]}], None, TypeError, "must be a tensor"),
        ([{"w": torch.ones(2)}, {"v": torch.ones(2)}], None, ValueError, "different keys"),
        ([{"w": torch.ones(2)}, {"w": torch.ones(3)}], None, ValueError, "shape"),
        ([{"w": torch.ones(2)}, {"w": torch.ones(2).double()}], None, ValueError, "dtype"),
        ([{"w": torch.ones(2)}], [1.0, 2.0], ValueError, "one entry per state"),
        ([{"w": torch.ones(2)}], [-1.0], ValueError, ">= 0"),
        ([{"w": torch.ones(2)}], [0.0], ValueError, "not all zero"),
    ],
)
def test_average_state_dicts_rejects_bad_input(
    states: Any, weights: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        train.average_state_dicts(states, weights)
