"""Tests for dlbook.robust against closed forms (linear models), scipy's bounded least
squares (the projection), Captum (FGSM, PGD, saliency, integrated gradients), fairlearn (fairness
metrics), scikit-learn (calibration curves) and exact identities (Chouldechova's)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from dlbook import robust

F64 = torch.float64


def _linear(seed: int, d_in: int = 6, k: int = 3, device: Any = "cpu") -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d_in, k).to(device=device, dtype=F64)


class _TinyCNN(nn.Module):
    """A small smooth (tanh) network on 1x5x5 images, float64, for attribution tests."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.fc = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.tanh(self.conv(x))  # (N, 3, 3, 3)
        out: Tensor = self.fc(h.flatten(1))  # (N, 27) -> (N, 4)
        return out


def _tiny(device: Any = "cpu") -> _TinyCNN:
    torch.manual_seed(0)
    return _TinyCNN().to(device=device, dtype=F64)


# ---------------------------------------------------------------------- attacks
def test_fgsm_closed_form_for_softmax_regression(device: torch.device) -> None:
    """For z = W x + b, dL/dx = W^T (softmax(z) - e_y): FGSM is x + eps sign of that."""
    model = _linear(1, device=device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 6, generator=g, dtype=F64).to(device)
    y = torch.randint(0, 3, (8,), generator=g).to(device)
    p = torch.softmax(x @ model.weight.T + model.bias, dim=1)
    grad = (p - F.one_hot(y, 3).to(F64)) @ model.weight
    expected = (x + 0.1 * grad.sign()).clamp(0, 1)
    torch.testing.assert_close(robust.fgsm(model, x, y, 0.1), expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(
        robust.fgsm(model, x, y, 0.1, clamp=None), x + 0.1 * grad.sign(), rtol=0, atol=1e-15
    )


@pytest.mark.parametrize("scale", [1e4, 1e8])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_fgsm_at_extreme_logits(scale: float, dtype: torch.dtype) -> None:
    """Logits of 1e4 and 1e8: the softmax is one-hot, and FGSM must match the closed form."""
    w = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 1.0, 2.0]], dtype=F64)
    model = nn.Linear(3, 2, bias=False).to(dtype)
    with torch.no_grad():
        model.weight.copy_(scale * w)
    x = torch.tensor([[0.5, 0.2, 0.9], [0.1, 0.8, 0.3], [0.6, 0.6, 0.6]], dtype=F64)
    y = torch.tensor([1, 0, 1])
    p = F.one_hot((x @ w.T).argmax(1), 2).to(F64)  # the softmax of such logits, exactly
    expected = (x + 0.1 * ((p - F.one_hot(y, 2).to(F64)) @ w).sign()).clamp(0, 1)
    got = robust.fgsm(model, x.to(dtype), y, 0.1)
    assert got.dtype == dtype and bool(torch.isfinite(got).all())
    torch.testing.assert_close(got.double(), expected, rtol=0, atol=1e-7)


def test_risk_population_draws_the_stated_beta_distribution() -> None:
    from scipy import stats

    score, _, a = robust.risk_population(
        4000, (0.3, 0.5), concentration=4.0, generator=torch.Generator().manual_seed(3)
    )
    for g, mu in ((0, 0.3), (1, 0.5)):
        sample = score[a == g].numpy()
        assert stats.kstest(sample, stats.beta(4.0 * mu, 4.0 * (1 - mu)).cdf).pvalue > 0.001


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.01, 0.5))
def test_fgsm_maximises_the_linearised_loss(seed: int, eps: float) -> None:
    """Over the L-inf ball, g . delta is largest at delta = eps sign(g) (Chapter 20)."""
    model = _linear(seed % 7)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 6, generator=g, dtype=F64)
    y = torch.randint(0, 3, (1,), generator=g)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(xg), y), xg)
    best = (robust.fgsm(model, x, y, eps, clamp=None) - x) @ grad[0]
    others = (2 * torch.rand(200, 6, generator=g, dtype=F64) - 1) * eps
    assert bool((others @ grad[0] <= best + 1e-12).all())
    assert float(best) == pytest.approx(eps * float(grad.abs().sum()), rel=1e-12)


def test_project_linf_matches_bounded_least_squares() -> None:
    """The projection solves min ||z - v||^2 over the box; scipy's lsq_linear solves it too."""
    from scipy.optimize import lsq_linear

    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 10, generator=g, dtype=F64)
    v = x + 0.6 * torch.randn(1, 10, generator=g, dtype=F64)
    eps = 0.2
    ours = robust.project_linf(v, x, eps)[0].numpy()
    lo = np.maximum(x[0].numpy() - eps, 0.0)
    hi = np.minimum(x[0].numpy() + eps, 1.0)
    ref = lsq_linear(np.eye(10), v[0].numpy(), bounds=(lo, hi), tol=1e-12).x
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.0, 0.4), steps=st.integers(1, 6))
def test_every_pgd_iterate_lies_in_the_ball_and_the_box(seed: int, eps: float, steps: int) -> None:
    model = _tiny()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, 1, 5, 5, generator=g, dtype=F64)
    y = torch.randint(0, 4, (3,), generator=g)
    last, iterates = robust.pgd(model, x, y, eps, 0.1, steps, generator=g, return_iterates=True)
    assert len(iterates) == steps + 1 and torch.equal(last, iterates[-1])
    for it in iterates:
        assert float((it - x).abs().max()) <= eps + 1e-12
        assert float(it.min()) >= 0.0 and float(it.max()) <= 1.0


def test_pgd_one_step_from_the_centre_is_fgsm(device: torch.device) -> None:
    model = _tiny(device)
    g = torch.Generator().manual_seed(5)
    x = torch.rand(4, 1, 5, 5, generator=g, dtype=F64).to(device)
    y = torch.randint(0, 4, (4,), generator=g).to(device)
    one = robust.pgd(model, x, y, 0.1, 0.1, 1, random_start=False)
    torch.testing.assert_close(one, robust.fgsm(model, x, y, 0.1), rtol=0, atol=0)


def test_pgd_is_at_least_as_strong_as_fgsm() -> None:
    """On a trained softmax regression on the digits, PGD's loss and error exceed FGSM's."""
    import dlbook.data

    digits = dlbook.data.load_digits(dtype=F64)
    torch.manual_seed(0)
    model = nn.Linear(64, 10).to(F64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        loss = F.cross_entropy(model(digits.X_train), digits.y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = digits.X_test, digits.y_test
    for eps in (0.03, 0.1):
        x_f = robust.fgsm(model, x, y, eps)
        x_p = robust.pgd(model, x, y, eps, eps / 4, 20, random_start=False)
        with torch.no_grad():
            loss_f = F.cross_entropy(model(x_f), y).item()
            loss_p = F.cross_entropy(model(x_p), y).item()
            acc_f = (model(x_f).argmax(1) == y).double().mean().item()
            acc_p = (model(x_p).argmax(1) == y).double().mean().item()
        assert loss_p >= loss_f - 1e-9 and acc_p <= acc_f


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_attacks_match_captum_robust(device: torch.device) -> None:
    """Captum's FGSM and PGD (cross-entropy loss, pixel bounds [0, 1], no random start)."""
    from captum.robust import FGSM, PGD

    model = _tiny(device)
    g = torch.Generator().manual_seed(11)
    x = torch.rand(6, 1, 5, 5, generator=g, dtype=F64).to(device)
    y = torch.randint(0, 4, (6,), generator=g).to(device)
    ce = nn.CrossEntropyLoss(reduction="none")
    for eps in (0.05, 0.3):
        ref = FGSM(model, loss_func=ce, lower_bound=0.0, upper_bound=1.0).perturb(x, eps, y)
        torch.testing.assert_close(robust.fgsm(model, x, y, eps), ref, rtol=0, atol=1e-15)
        ref = PGD(model, loss_func=ce, lower_bound=0.0, upper_bound=1.0).perturb(
            x, eps, eps / 4, 7, y
        )
        ours = robust.pgd(model, x, y, eps, eps / 4, 7, random_start=False)
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)


def test_attacks_leave_the_model_unchanged() -> None:
    model = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    x = torch.rand(2, 1, 5, 5, dtype=F64)
    y = torch.tensor([0, 1])
    robust.pgd(model, x, y, 0.1, 0.05, 3, generator=torch.Generator().manual_seed(0))
    robust.fgsm(model, x, y, 0.1)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_every_integer_label_dtype_works(dtype: torch.dtype) -> None:
    model = _tiny()
    x = torch.rand(3, 1, 5, 5, dtype=F64)
    y = torch.tensor([0, 3, 1])
    ref = robust.fgsm(model, x, y, 0.1)
    assert torch.equal(robust.fgsm(model, x, y.to(dtype), 0.1), ref)


def test_attacks_work_on_non_contiguous_input() -> None:
    model = _tiny()
    x = torch.rand(3, 1, 5, 5, dtype=F64)
    y = torch.tensor([0, 3, 1])
    xt = x.transpose(2, 3).contiguous().transpose(2, 3)
    assert not xt.is_contiguous()
    torch.testing.assert_close(robust.fgsm(model, xt, y, 0.1), robust.fgsm(model, x, y, 0.1))


# ---------------------------------------------------------------------- attributions
def test_saliency_matches_captum(device: torch.device) -> None:
    from captum.attr import Saliency

    model = _tiny(device)
    x = torch.rand(3, 1, 5, 5, dtype=F64).to(device)
    target = torch.tensor([0, 2, 3], device=device)
    for absolute in (True, False):
        ref = Saliency(model).attribute(x, target=target, abs=absolute)
        torch.testing.assert_close(robust.saliency(model, x, target, absolute), ref)


@pytest.mark.parametrize("method", robust.IG_METHODS)
def test_integrated_gradients_matches_captum(method: str, device: torch.device) -> None:
    from captum.attr import IntegratedGradients

    model = _tiny(device)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 1, 5, 5, generator=g, dtype=F64).to(device)
    base = torch.rand(3, 1, 5, 5, generator=g, dtype=F64).to(device) * 0.3
    target = torch.tensor([1, 0, 3], device=device)
    ours = robust.integrated_gradients(model, x, base, target, n_steps=16, method=method)
    ref = IntegratedGradients(model).attribute(
        x, baselines=base, target=target, n_steps=16, method=method
    )
    if method == "riemann_trapezoid":
        # Captum 0.9's trapezoid puts its n nodes 1/(n-1) apart but weights them 1/n (ends
        # 1/(2n)), so they sum to (n-1)/n; ours are the trapezoid rule's: ours = captum's n/(n-1).
        ref = ref * 16 / 15
    # Captum builds its Riemann nodes with float32 torch.linspace (relative error ~1e-8),
    # hence rtol 1e-7 rather than float64's 1e-12; Gauss-Legendre nodes agree to 1e-12.
    tol = 1e-12 if method == "gausslegendre" else 1e-7
    torch.testing.assert_close(ours, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("n", [4, 10, 50])
def test_captum_trapezoid_misses_completeness_by_one_over_n(n: int) -> None:
    """The chapter's claim: on a linear model Captum 0.9's trapezoid sums to (n-1)/n of the
    gap f(x) - f(x'), while the true trapezoid rule (ours) is exact."""
    from captum.attr import IntegratedGradients

    lin = _linear(3)
    x = torch.rand(4, 6, generator=torch.Generator().manual_seed(3), dtype=F64) + 0.5
    with torch.no_grad():
        gap = lin(x)[:, 1] - lin(torch.zeros_like(x))[:, 1]
    theirs = IntegratedGradients(lin).attribute(x, target=1, n_steps=n, method="riemann_trapezoid")
    torch.testing.assert_close(
        theirs.sum(1) / gap, torch.full_like(gap, (n - 1) / n), rtol=1e-6, atol=0
    )
    ours = robust.integrated_gradients(lin, x, target=1, n_steps=n, method="riemann_trapezoid")
    torch.testing.assert_close(ours.sum(1), gap, rtol=1e-12, atol=1e-12)


def test_integrated_gradients_completeness() -> None:
    """sum_j IG_j = f(x) - f(baseline): exactly for a linear model, within 1 % for a CNN."""
    lin = _linear(2)
    x = torch.rand(4, 6, dtype=F64)
    ig = robust.integrated_gradients(lin, x, target=2, n_steps=2, method="riemann_trapezoid")
    with torch.no_grad():
        gap = lin(x)[:, 2] - lin(torch.zeros_like(x))[:, 2]
    torch.testing.assert_close(ig.sum(1), gap, rtol=1e-12, atol=1e-12)

    model = _tiny()
    x = torch.rand(5, 1, 5, 5, dtype=F64)
    ig = robust.integrated_gradients(model, x, 0.0, 1, n_steps=50)
    with torch.no_grad():
        gap = model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]
    rel = ((ig.flatten(1).sum(1) - gap).abs() / gap.abs()).max()
    assert float(rel) < 0.01


# ---------------------------------------------------------------------- fairness
def _fair_sample(seed: int, n: int = 300, groups: int = 3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    s = rng.choice(np.array(["a", "b", "c"][:groups]), size=n)
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, 1 - y_true)
    return y_true, y_pred, s


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fairness_metrics_match_fairlearn(seed: int) -> None:
    import fairlearn.metrics as fm

    y_true, y_pred, s = _fair_sample(seed, groups=2 + seed % 2)
    for name in ("demographic_parity_difference", "equalized_odds_difference"):
        ours = getattr(robust, name)(y_true, y_pred, sensitive_features=s)
        ref = getattr(fm, name)(y_true, y_pred, sensitive_features=s)
        assert ours == pytest.approx(ref, abs=1e-12), name
    # tensors in, the same numbers out
    t = robust.demographic_parity_difference(
        torch.as_tensor(y_true),
        torch.as_tensor(y_pred),
        sensitive_features=torch.as_tensor(s == "a"),
    )
    assert t == pytest.approx(
        fm.demographic_parity_difference(y_true, y_pred, sensitive_features=s == "a"), abs=1e-12
    )


def test_group_rates_match_scikit_learn() -> None:
    from sklearn.metrics import precision_score, recall_score

    y_true, y_pred, s = _fair_sample(4)
    rates = robust.group_rates(y_true, y_pred, sensitive_features=s)
    for g, r in rates.items():
        m = s == g
        assert r["tpr"] == pytest.approx(recall_score(y_true[m], y_pred[m]))
        assert r["fpr"] == pytest.approx(1 - recall_score(y_true[m], y_pred[m], pos_label=0))
        assert r["ppv"] == pytest.approx(precision_score(y_true[m], y_pred[m]))
        assert r["fnr"] == pytest.approx(1 - r["tpr"])


def test_calibration_by_group_matches_scikit_learn() -> None:
    from sklearn.calibration import calibration_curve

    score, y, a = robust.risk_population(2000, generator=torch.Generator().manual_seed(0))
    score = torch.cat([score, torch.tensor([0.2, 0.4, 0.0, 1.0], dtype=F64)])  # on bin edges
    y = torch.cat([y, torch.tensor([0, 1, 0, 1])])
    a = torch.cat([a, torch.tensor([0, 1, 0, 1])])
    curves = robust.calibration_by_group(y, score, sensitive_features=a, n_bins=5)
    for g in (0, 1):
        m = (a == g).numpy()
        ref_true, ref_pred = calibration_curve(y.numpy()[m], score.numpy()[m], n_bins=5)
        np.testing.assert_allclose(curves[g][0], ref_true, rtol=1e-12)
        np.testing.assert_allclose(curves[g][1], ref_pred, rtol=1e-12)


def test_risk_population_is_calibrated_with_the_stated_base_rates() -> None:
    score, y, a = robust.risk_population(
        40_000, (0.2, 0.6), generator=torch.Generator().manual_seed(1)
    )
    for g, mu in ((0, 0.2), (1, 0.6)):
        m = a == g
        assert float(y[m].double().mean()) == pytest.approx(mu, abs=0.015)
        assert float(score[m].mean()) == pytest.approx(mu, abs=0.01)
    curves = robust.calibration_by_group(y, score, sensitive_features=a, n_bins=5)
    for prob_true, prob_pred in curves.values():
        assert np.abs(prob_true - prob_pred).max() < 0.05


def test_chouldechova_identity_holds_exactly_on_counts() -> None:
    """FPR = p/(1-p) * (1-PPV)/PPV * (1-FNR) in every group (an identity of the counts)."""
    score, y, a = robust.risk_population(5000, generator=torch.Generator().manual_seed(2))
    y_hat = (score > 0.5).long()
    for r in robust.group_rates(y, y_hat, sensitive_features=a).values():
        p, ppv, fnr = r["base_rate"], r["ppv"], r["fnr"]
        assert r["fpr"] == pytest.approx(p / (1 - p) * (1 - ppv) / ppv * (1 - fnr), rel=1e-12)


# ---------------------------------------------------------------------- energy
def test_energy_and_carbon_arithmetic() -> None:
    # 2 hours at 100 W CPU + 20 W DRAM + 4 GPUs at 250 W, PUE 1.58: 1.58 * 2 * 1120 / 1000 kWh
    assert robust.energy_kwh(2.0, 100.0, 20.0, 250.0, 4) == pytest.approx(3.5392, rel=1e-12)
    assert robust.energy_kwh(1.0, 1000.0, pue=1.0) == pytest.approx(1.0)
    assert robust.co2e_kg(10.0, 0.5) == pytest.approx(5.0)
    # the default intensity is 0.954 lb/kWh in kilograms
    assert robust.co2e_kg(1.0) == pytest.approx(0.954 * 0.45359237, rel=1e-12)


# ---------------------------------------------------------------------- bad input
def _bad_cases() -> list[tuple[str, Any, tuple[Any, ...], dict[str, Any], type[Exception]]]:
    model = _tiny()
    x = torch.rand(2, 1, 5, 5, dtype=F64)
    y = torch.tensor([0, 1])
    r = robust
    dp, eo = r.demographic_parity_difference, r.equalized_odds_difference
    ig = r.integrated_gradients
    s01 = {"sensitive_features": [0, 1]}
    return [
        ("fgsm: model not a module", r.fgsm, (lambda v: v, x, y, 0.1), {}, TypeError),
        ("fgsm: integer images", r.fgsm, (model, x.long(), y, 0.1), {}, TypeError),
        ("fgsm: NaN in x", r.fgsm, (model, x * float("nan"), y, 0.1), {}, ValueError),
        ("fgsm: float labels", r.fgsm, (model, x, y.double(), 0.1), {}, TypeError),
        ("fgsm: bool labels", r.fgsm, (model, x, y.bool(), 0.1), {}, TypeError),
        ("fgsm: labels of wrong length", r.fgsm, (model, x, y[:1], 0.1), {}, ValueError),
        ("fgsm: labels on meta", r.fgsm, (model, x, y.to("meta"), 0.1), {}, ValueError),
        ("fgsm: negative eps", r.fgsm, (model, x, y, -0.1), {}, ValueError),
        ("fgsm: clamp reversed", r.fgsm, (model, x, y, 0.1, (1.0, 0.0)), {}, ValueError),
        ("fgsm: clamp not a pair", r.fgsm, (model, x, y, 0.1, 1.0), {}, TypeError),
        ("pgd: zero steps", r.pgd, (model, x, y, 0.1, 0.1, 0), {}, ValueError),
        ("pgd: float steps", r.pgd, (model, x, y, 0.1, 0.1, 2.0), {}, TypeError),
        ("pgd: zero alpha", r.pgd, (model, x, y, 0.1, 0.0, 2), {}, ValueError),
        ("pgd: bad generator", r.pgd, (model, x, y, 0.1, 0.1, 2), {"generator": 3}, TypeError),
        ("project: shapes differ", r.project_linf, (x[:1], x, 0.1), {}, ValueError),
        ("project: dtypes differ", r.project_linf, (x.float(), x, 0.1), {}, TypeError),
        ("project: devices differ", r.project_linf, (x.to("meta"), x, 0.1), {}, ValueError),
        ("saliency: target too large", r.saliency, (model, x, 4), {}, ValueError),
        ("saliency: no target, K > 1", r.saliency, (model, x), {}, ValueError),
        ("ig: bad method", ig, (model, x, None, 0), {"method": "simpson"}, ValueError),
        ("ig: one trapezoid node", ig, (model, x, None, 0, 1, "riemann_trapezoid"), {}, ValueError),
        ("ig: baseline shape", ig, (model, x, x[:1], 0), {}, ValueError),
        ("dp: labels not 0/1", dp, ([0, 2], [1, 1]), s01, ValueError),
        ("dp: lengths differ", dp, ([0, 1], [1, 1]), {"sensitive_features": [0]}, ValueError),
        ("dp: 2-D input", dp, ([[0, 1]], [[1, 1]]), {"sensitive_features": [[0, 1]]}, ValueError),
        ("dp: not array-like", dp, (3, 3), {"sensitive_features": 3}, TypeError),
        (
            "eo: group without negatives",
            eo,
            ([1, 1, 0], [1, 0, 0]),
            {"sensitive_features": [0, 0, 1]},
            ValueError,
        ),
        (
            "calibration: score above 1",
            r.calibration_by_group,
            ([0, 1], [0.5, 1.5]),
            s01,
            ValueError,
        ),
        ("population: rate 1", r.risk_population, (10, (0.5, 1.0)), {}, ValueError),
        ("population: n = 1", r.risk_population, (1,), {}, ValueError),
        ("energy: negative hours", r.energy_kwh, (-1.0, 10.0), {}, ValueError),
        ("energy: PUE below 1", r.energy_kwh, (1.0, 10.0), {"pue": 0.9}, ValueError),
        ("co2: string", r.co2e_kg, ("1",), {}, TypeError),
    ]


@pytest.mark.parametrize(
    ("name", "function", "args", "kwargs", "error"), _bad_cases(), ids=[c[0] for c in _bad_cases()]
)
def test_bad_input_gets_a_clear_error(
    name: str, function: Any, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """A table of bad inputs: each gets a TypeError/ValueError whose message names the problem."""
    with pytest.raises(error, match=r"`|must|needed|every group"):
        function(*args, **kwargs)
