"""Issue 13, silent wrong results: label dtypes, extreme logits, axes, complex inputs,
float32 tolerances, infinite and huge entries, singular matrices and leaking state.

Every expectation comes from an independent reference (torch built-ins in float64, numpy,
closed forms), never from dlbook itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook import autograd, calculus, data, linalg, logistic, prob

INT_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]
BAD_LABEL_DTYPES = [torch.bool, torch.float32, torch.float64, torch.complex64]


# ------------------------------------------------------------------- integer label dtypes
def _problem() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    Z = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 3, 1, 2, 1, 0])
    return Z, y


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_cross_entropies_take_every_integer_label_dtype(dtype: torch.dtype) -> None:
    Z, y = _problem()
    want = F.cross_entropy(Z, y)
    yd = y.to(dtype)
    torch.testing.assert_close(logistic.softmax_cross_entropy(Z, yd), want)
    torch.testing.assert_close(autograd.cross_entropy(autograd.Variable(Z), yd).data, want)
    Zg = Z.clone().requires_grad_(True)
    F.cross_entropy(Zg, y).backward()
    assert Zg.grad is not None
    torch.testing.assert_close(autograd.softmax_cross_entropy_backward(Z, yd), Zg.grad)
    W = torch.zeros(4, 3, dtype=torch.float64)
    b = torch.zeros(4, dtype=torch.float64)
    X = Z[:, :3]
    loss, _, _ = logistic.softmax_regression_loss_grad(W, b, X, yd)
    assert math.isclose(float(loss), math.log(4), rel_tol=1e-12)
    torch.testing.assert_close(data.one_hot(yd, 4), F.one_hot(y, 4).float())


@pytest.mark.parametrize("dtype", BAD_LABEL_DTYPES)
def test_cross_entropies_reject_non_integer_labels(dtype: torch.dtype) -> None:
    Z, y = _problem()
    yd = y.to(dtype) if dtype != torch.bool else y > 0
    with pytest.raises(TypeError, match="`targets` must hold integer class labels"):
        logistic.softmax_cross_entropy(Z, yd)
    with pytest.raises(TypeError, match="`targets` must hold integer class labels"):
        autograd.cross_entropy(autograd.Variable(Z), yd)


def test_uint8_labels_are_not_a_mask() -> None:
    Z, _ = _problem()
    y = torch.tensor([1, 0, 1, 1, 0, 1], dtype=torch.uint8)  # would select rows as a mask
    want = F.cross_entropy(Z, y.long())
    torch.testing.assert_close(autograd.cross_entropy(autograd.Variable(Z), y).data, want)


# ------------------------------------------------------------------- extreme logits
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1e4, 1e8])
def test_softmax_and_log_softmax_exact_at_extreme_logits(dtype: torch.dtype, scale: float) -> None:
    gen = torch.Generator().manual_seed(1)
    base = torch.randn(5, 7, generator=gen, dtype=torch.float64)
    z = (scale + base).to(dtype)  # huge common offset, O(1) differences
    z[0] = scale  # a row of ties: softmax must be exactly uniform
    for dim in (0, 1):
        want_log = torch.log_softmax(z.double(), dim=dim).to(dtype)
        want = torch.softmax(z.double(), dim=dim).to(dtype)
        torch.testing.assert_close(logistic.log_softmax(z, dim=dim), want_log)
        torch.testing.assert_close(logistic.softmax(z, dim=dim), want)
        got = autograd.log_softmax(autograd.Variable(z), dim=dim).data
        torch.testing.assert_close(got, want_log)
    torch.testing.assert_close(logistic.softmax(z)[0], torch.full((7,), 1 / 7, dtype=dtype))
    pair = torch.tensor([scale, scale], dtype=dtype)
    torch.testing.assert_close(logistic.softmax(pair), torch.tensor([0.5, 0.5], dtype=dtype))
    labels = torch.arange(5) % 7
    want_ce = F.cross_entropy(z.double(), labels).to(dtype)
    torch.testing.assert_close(logistic.softmax_cross_entropy(z, labels), want_ce)
    torch.testing.assert_close(autograd.cross_entropy(autograd.Variable(z), labels).data, want_ce)


# ------------------------------------------------------------------- axes and broadcasting
def test_bayes_posterior_broadcasts_over_leading_axes() -> None:
    prior = torch.tensor([0.3, 0.7], dtype=torch.float64)
    lik = torch.tensor([[0.9, 0.2], [0.5, 0.5], [0.1, 0.6]], dtype=torch.float64)  # (3, 2)
    post = prob.bayes_posterior(prior, lik)
    want = prior * lik / (prior * lik).sum(dim=1, keepdim=True)
    torch.testing.assert_close(post, want)
    with pytest.raises(ValueError, match="hypotheses"):
        prob.bayes_posterior(torch.ones(1, dtype=torch.float64), lik[:, 0])
    with pytest.raises(ValueError, match="does not broadcast"):
        prob.bayes_posterior(prior, lik[:, 0])


# ------------------------------------------------------------------- complex inputs
def test_pinv_least_squares_ridge_conjugate_complex_inputs() -> None:
    gen = torch.Generator().manual_seed(2)
    A = torch.randn(5, 3, generator=gen, dtype=torch.complex128)
    b = torch.randn(5, generator=gen, dtype=torch.complex128)
    torch.testing.assert_close(linalg.pinv(A), torch.linalg.pinv(A))
    torch.testing.assert_close(linalg.least_squares(A, b), torch.linalg.lstsq(A, b).solution)
    lam = 0.7
    want = torch.linalg.solve(A.mH @ A + lam * torch.eye(3, dtype=A.dtype), A.mH @ b)
    torch.testing.assert_close(linalg.ridge(A, b, lam), want)


# ------------------------------------------------------------------- float32 tolerances
def test_gram_schmidt_float32_rank_deficient() -> None:
    gen = torch.Generator().manual_seed(3)
    B = torch.randn(6, 2, generator=gen)
    A = B @ torch.randn(2, 4, generator=gen)  # rank 2, float32
    Q = linalg.gram_schmidt(A)
    assert Q.shape == (6, 2)
    assert np.linalg.matrix_rank(A.numpy()) == 2  # numpy, in float32
    torch.testing.assert_close(Q.T @ Q, torch.eye(2), atol=1e-5, rtol=0)


# ------------------------------------------------------------------- inf and huge entries
def test_norms_with_infinite_and_huge_entries() -> None:
    x = torch.tensor([1.0, math.inf, 2.0])
    for p in (0.5, 1, 2, 3):
        assert linalg.lp_norm(x, p).item() == math.inf
    big = torch.tensor([[3e30, 0.0], [0.0, 4e30]])  # float32: squares overflow
    fro = linalg.matrix_norm(big, "fro").item()
    assert math.isclose(fro, 5e30, rel_tol=1e-6)
    assert math.isclose(linalg.lp_norm(big.reshape(-1), 2).item(), 5e30, rel_tol=1e-6)
    assert linalg.matrix_norm(torch.tensor([[math.inf, 1.0]]), "fro").item() == math.inf
    with pytest.raises(ValueError, match="`A` must hold finite values"):
        linalg.matrix_norm(torch.tensor([[math.inf, 1.0]]), "spectral")
    tiny = torch.tensor([3e-30, 4e-30])  # float32: squares underflow
    assert math.isclose(linalg.lp_norm(tiny, 2).item(), 5e-30, rel_tol=1e-6)


# ------------------------------------------------------------------- singular matrices
def test_singular_matrices_are_reported() -> None:
    S = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="`A` must be invertible"):
        calculus.logdet_gradient(S)
    assert linalg.condition_number(S) == math.inf
    with pytest.raises(ValueError, match="singular"):
        calculus.newton(lambda x: S @ x, lambda x: S, torch.ones(2, dtype=torch.float64), 1)
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    torch.testing.assert_close(calculus.logdet_gradient(A), torch.linalg.inv(A).T)


# ------------------------------------------------------------------- leaking state
def test_autograd_gradients_never_alias() -> None:
    x = autograd.Variable(torch.ones(3))
    y = autograd.Variable(torch.ones(3))
    (x + y).sum().backward()
    assert x.grad is not None and y.grad is not None
    x.grad.zero_()
    torch.testing.assert_close(y.grad, torch.ones(3))
    up = torch.ones(2, 3)
    a = autograd.Variable(torch.zeros(2, 3))
    b = a + 1.0
    b.backward(up)
    assert a.grad is not None
    a.grad.add_(1.0)  # an expanded view would refuse this; the upstream must not change
    torch.testing.assert_close(up, torch.ones(2, 3))
    c = autograd.Variable(torch.ones(2, 3))
    c.sum().backward()
    assert c.grad is not None
    c.grad.mul_(2.0)  # works: a fresh, contiguous tensor, not an expanded view
    torch.testing.assert_close(c.grad, torch.full((2, 3), 2.0))


def test_evaluate_restores_training_mode_when_a_metric_raises() -> None:
    from torch import nn

    from dlbook import train

    model = nn.Linear(2, 2)
    model.train()

    def broken(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("metric failed")

    with pytest.raises(RuntimeError, match="metric failed"):
        train.evaluate(
            model, (torch.zeros(3, 2), torch.zeros(3, dtype=torch.long)), metrics={"m": broken}
        )
    assert model.training


def test_checkpoint_with_unloadable_extra_is_rejected_before_the_old_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from torch import nn

    from dlbook import optim, train

    model = nn.Linear(2, 1)
    path = tmp_path / "ck.pt"
    train.save_checkpoint(path, model, extra={"step": 1})
    before = path.read_bytes()

    class Opaque:
        pass

    for bad in ({"obj": Opaque()}, {"fn": lambda: 0}):
        with pytest.raises(TypeError, match="weights_only"):
            train.save_checkpoint(path, model, extra=bad)
        assert path.read_bytes() == before
    with pytest.raises(TypeError, match="optimizer must be"):
        train.save_checkpoint(path, model, optim.SGD(model.parameters(), lr=0.1))  # type: ignore[arg-type]
    assert path.read_bytes() == before
    assert train.load_checkpoint(path, model)["extra"] == {"step": 1}


def test_a_batch_in_another_dtype_than_the_model_is_named() -> None:
    from torch import nn

    from dlbook import train

    model = nn.Linear(2, 2)  # float32
    data_64 = (torch.zeros(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"evaluate: the inputs are torch\.float64"):
        train.evaluate(model, data_64, metrics={"acc": train.accuracy})
    assert model.training
