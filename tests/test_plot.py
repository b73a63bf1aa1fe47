"""dlbook.plot: the figures draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from dlbook import data, plot, train


@pytest.fixture(autouse=True)
def close_figures() -> None:
    plt.close("all")


def test_use_style_sets_the_book_style() -> None:
    with matplotlib.rc_context():
        plot.use_style()
        assert plt.rcParams["axes.spines.top"] is False
        assert plt.rcParams["axes.prop_cycle"].by_key()["color"][0] == plot.PALETTE[0]


def test_plot_history_draws_each_metric() -> None:
    h = train.History()
    for epoch, (a, b) in enumerate([(1.0, 1.2), (0.5, 0.9), (0.25, 0.8)], start=1):
        h.append(epoch, {"train_loss": a, "val_loss": b, "val_accuracy": 0.5})
    ax = plot.plot_history(h)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"train_loss", "val_loss"}
    np.testing.assert_array_equal(lines["val_loss"].get_ydata(), [1.2, 0.9, 0.8])
    np.testing.assert_array_equal(lines["val_loss"].get_xdata(), [1, 2, 3])
    ax2 = plot.plot_history(h, ["val_accuracy"])
    assert [line.get_label() for line in ax2.get_lines()] == ["val_accuracy"]
    with pytest.raises(KeyError, match="nope"):
        plot.plot_history(h, ["nope"])
    with pytest.raises(ValueError, match="empty"):
        plot.plot_history(train.History())


@pytest.mark.parametrize(
    "images",
    [
        torch.rand(5, 64),
        torch.rand(5, 1, 8, 8),
        torch.rand(5, 3, 6, 4),
        np.random.default_rng(0).random((5, 7, 7)),
    ],
    ids=["flat", "one-channel", "colour", "numpy"],
)
def test_image_grid_shows_every_image(images: torch.Tensor | np.ndarray) -> None:
    fig = plot.image_grid(images, labels=list("abcde"), ncols=3)
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(fig.axes) == 6 and len(shown) == 5
    assert [ax.get_title() for ax in shown] == list("abcde")


def test_image_grid_pixels_are_the_input() -> None:
    split = data.load_digits()
    fig = plot.image_grid(split.X_train[:2], split.y_train[:2])
    first = fig.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(
        np.asarray(first, dtype=np.float64), split.X_train[0].reshape(8, 8).numpy()
    )
    assert fig.axes[0].get_title() == str(int(split.y_train[0]))


def test_image_grid_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="square"):
        plot.image_grid(torch.rand(3, 10))
    with pytest.raises(ValueError, match="channels"):
        plot.image_grid(torch.rand(3, 2, 4, 4))
    with pytest.raises(ValueError, match="labels"):
        plot.image_grid(torch.rand(3, 4, 4), labels=[1, 2])


def test_decision_boundary_colours_by_prediction() -> None:
    X, y = data.xor(60, noise=0.05)

    def predict(points: torch.Tensor) -> torch.Tensor:
        return (points[:, 0] > 0.5).long()

    ax = plot.decision_boundary(predict, X, y, resolution=50)
    scatter = ax.collections[-1]
    np.testing.assert_allclose(
        np.asarray(scatter.get_offsets(), dtype=np.float64), X.numpy(), rtol=1e-6
    )
    np.testing.assert_array_equal(scatter.get_array(), y.numpy())
    contour = next(c for c in ax.get_children() if hasattr(c, "levels"))
    np.testing.assert_array_equal(contour.levels, [-0.5, 0.5, 1.5])


def test_decision_boundary_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.decision_boundary(lambda p: p[:, 0], torch.zeros(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="y must"):
        plot.decision_boundary(lambda p: p[:, 0], torch.zeros(4, 2), torch.zeros(3))
