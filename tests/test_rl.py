"""Tests for dlbook.rl against independent references: brute-force enumeration of policies,
NumPy/SciPy solves and filters, gymnasium's CartPole-v1, torch.distributions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import rl


def random_mdp(seed: int, S: int = 3, A: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    P = torch.rand(S, A, S, generator=g, dtype=torch.float64) + 0.05
    P = P / P.sum(dim=2, keepdim=True)
    R = torch.randn(S, A, generator=g, dtype=torch.float64)
    return P, R


def numpy_policy_value(
    P: np.ndarray, R: np.ndarray, policy: tuple[int, ...], gamma: float
) -> np.ndarray:
    """v_pi by NumPy's solver, written independently of the package."""
    S = P.shape[0]
    P_pi = np.array([P[s, policy[s]] for s in range(S)])
    r_pi = np.array([R[s, policy[s]] for s in range(S)])
    return np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)


# ------------------------------------------------------------------------- grid world
def test_gridworld_rows_are_distributions_and_rewards_match_layout() -> None:
    P, R = rl.gridworld()
    torch.testing.assert_close(
        P.sum(dim=2), torch.ones(12, 4, dtype=torch.float64), rtol=0, atol=1e-15
    )
    # from the cell left of the goal (state 2), "right" reaches G with 0.8, else slips
    # up (wall: stays, -0.04) or down (state 6, -0.04)
    assert P[2, 1, 3] == pytest.approx(0.8)
    assert R[2, 1] == pytest.approx(0.8 * 1 + 0.2 * -0.04)
    assert P[3, :, 3].tolist() == [1.0] * 4 and R[3].tolist() == [0.0] * 4


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.95])
def test_value_and_policy_iteration_equal_brute_force(seed: int, gamma: float) -> None:
    # Independent reference: evaluate all A^S deterministic policies with NumPy and take
    # the elementwise maximum (an optimal policy dominates every other one).
    P, R = random_mdp(seed)
    values = [
        numpy_policy_value(P.numpy(), R.numpy(), pol, gamma)
        for pol in itertools.product(range(2), repeat=3)
    ]
    v_star = np.max(values, axis=0)
    v_vi, pi_vi, _ = rl.value_iteration(P, R, gamma)
    v_pi, pi_pi, _ = rl.policy_iteration(P, R, gamma)
    np.testing.assert_allclose(v_vi.numpy(), v_star, rtol=0, atol=1e-10)
    np.testing.assert_allclose(v_pi.numpy(), v_star, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        numpy_policy_value(P.numpy(), R.numpy(), tuple(pi_pi.tolist()), gamma), v_star, atol=1e-12
    )
    np.testing.assert_allclose(
        numpy_policy_value(P.numpy(), R.numpy(), tuple(pi_vi.tolist()), gamma), v_star, atol=1e-10
    )


def test_gridworld_value_iteration_equals_linear_solve_of_its_policy() -> None:
    P, R = rl.gridworld()
    v, pi, _ = rl.value_iteration(P, R, 0.9)
    reference = numpy_policy_value(P.numpy(), R.numpy(), tuple(pi.tolist()), 0.9)
    np.testing.assert_allclose(v.numpy(), reference, rtol=0, atol=1e-11)
    # Bellman optimality holds, and the classic policy: from the start go up, not right
    q, _ = rl.greedy_policy(P, R, v, 0.9)
    torch.testing.assert_close(q.max(dim=1).values, v, rtol=0, atol=1e-11)
    assert pi[8].item() == 0


def test_policy_evaluation_stochastic_policy_against_scipy_and_iteration() -> None:
    import scipy.linalg

    P, R = random_mdp(7, S=4, A=3)
    g = torch.Generator().manual_seed(0)
    pi = torch.softmax(torch.randn(4, 3, generator=g, dtype=torch.float64), dim=1)
    v = rl.policy_evaluation(P, R, pi, 0.8)
    P_pi = np.einsum("sa,sat->st", pi.numpy(), P.numpy())
    r_pi = (pi.numpy() * R.numpy()).sum(1)
    np.testing.assert_allclose(
        v.numpy(), scipy.linalg.solve(np.eye(4) - 0.8 * P_pi, r_pi), rtol=1e-12
    )
    # and iterating the Bellman expectation backup converges to it
    w = np.zeros(4)
    for _ in range(400):
        w = r_pi + 0.8 * P_pi @ w
    np.testing.assert_allclose(v.numpy(), w, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.99))
def test_value_iteration_is_a_contraction(seed: int, gamma: float) -> None:
    # the Bellman optimality operator: ||T u - T w||_inf <= gamma ||u - w||_inf
    P, R = random_mdp(seed, S=5, A=3)
    g = torch.Generator().manual_seed(seed)
    u, w = torch.randn(2, 5, generator=g, dtype=torch.float64)
    Tu = rl.greedy_policy(P, R, u, gamma)[0].max(dim=1).values
    Tw = rl.greedy_policy(P, R, w, gamma)[0].max(dim=1).values
    assert float((Tu - Tw).abs().max()) <= gamma * float((u - w).abs().max()) + 1e-12


# ------------------------------------------------------------------------- Q-learning
def test_q_learning_update_by_hand_and_not_in_place() -> None:
    q = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    new = rl.q_learning_update(q, 0, 0, 0.5, 1, False, alpha=0.1, gamma=0.9)
    assert new[0, 0].item() == pytest.approx(0.1 * (0.5 + 0.9 * 2.0))
    assert q[0, 0].item() == 0.0  # input untouched
    end = rl.q_learning_update(q, 0, 1, 0.5, 1, True, alpha=0.1, gamma=0.9)
    assert end[0, 1].item() == pytest.approx(1.0 + 0.1 * (0.5 - 1.0))
    assert torch.equal(end[1], q[1])


def test_q_learning_converges_to_value_iteration_on_a_random_mdp() -> None:
    # Asynchronous Q-learning with every (s, a) visited and alpha_n = 1/n converges to Q*.
    P, R = random_mdp(3)
    v, _, _ = rl.value_iteration(P, R, 0.5)
    q_star, _ = rl.greedy_policy(P, R, v, 0.5)
    rng = np.random.default_rng(0)
    q = torch.zeros(3, 2, dtype=torch.float64)
    counts = np.zeros((3, 2))
    for _ in range(6000):
        s, a = int(rng.integers(3)), int(rng.integers(2))
        s2 = int(rng.choice(3, p=P[s, a].numpy()))
        counts[s, a] += 1
        # R is an expectation: use it as the (deterministic) reward so only s' is random
        q = rl.q_learning_update(
            q, s, a, float(R[s, a]), s2, False, alpha=1 / counts[s, a] ** 0.7, gamma=0.5
        )
    torch.testing.assert_close(q, q_star, rtol=0, atol=0.05)


# ------------------------------------------------------------------------- CartPole
@pytest.mark.parametrize("seed", [0, 1, 7, 42, 123, 2024])
def test_cartpole_matches_gymnasium_step_for_step(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = gym.make("CartPole-v1")
    ours = rl.CartPole()
    obs_ref, _ = ref.reset(seed=seed)
    obs = ours.reset(seed=seed)
    assert obs.dtype == torch.float32 and np.array_equal(obs_ref, obs[0].numpy())
    for episode in range(4):
        if episode:
            obs_ref, _ = ref.reset()
            obs = ours.reset()
            assert np.array_equal(obs_ref, obs[0].numpy())
        controller = episode % 2 == 1  # a balancing controller reaches the 500-step truncation
        while True:
            a = int(obs_ref[2] + 0.5 * obs_ref[3] > 0) if controller else int(rng.integers(2))
            obs_ref, r, term, trunc, _ = ref.step(a)
            obs, reward, terminated, truncated = ours.step(torch.tensor([a]))
            assert np.array_equal(obs_ref, obs[0].numpy())  # bit for bit
            assert np.array_equal(ref.unwrapped.state, ours.state[0])  # type: ignore[attr-defined]  # float64 state too
            assert (term, trunc, r) == (bool(terminated[0]), bool(truncated[0]), float(reward[0]))
            if term or trunc:
                break
        if controller:
            assert trunc and ours.elapsed[0] == 500


def test_cartpole_vectorised_equals_gymnasium_vector_env() -> None:
    ref = gym.make_vec("CartPole-v1", num_envs=5, vectorization_mode="sync")
    obs_ref, _ = ref.reset(seed=10)
    ours = rl.CartPole(5)
    obs = ours.reset(seed=10)
    assert np.array_equal(obs_ref, obs.numpy())
    rng = np.random.default_rng(0)
    for _ in range(8):  # short enough that no copy ends (gymnasium would autoreset)
        a = rng.integers(2, size=5)
        obs_ref, *_ = ref.step(a)
        obs, *_ = ours.step(torch.from_numpy(a))
        assert np.array_equal(obs_ref, obs.numpy())


def test_cartpole_partial_reset_keeps_other_envs() -> None:
    env = rl.CartPole(3)
    env.reset(seed=0)
    env.step(torch.tensor([1, 0, 1]))
    before = env.state.copy()
    env.reset(mask=torch.tensor([False, True, False]))
    assert np.array_equal(env.state[[0, 2]], before[[0, 2]])
    second = np.random.default_rng(1)
    second.uniform(-0.05, 0.05, 4)
    assert np.array_equal(env.state[1], second.uniform(-0.05, 0.05, 4))
    assert env.elapsed.tolist() == [1, 0, 1]


# ------------------------------------------------------------------------- returns, losses
@pytest.mark.parametrize("gamma", [0.0, 0.9, 1.0])
def test_discounted_returns_equal_scipy_lfilter(gamma: float) -> None:
    # G_t = r_t + gamma G_{t+1} is the IIR filter y[n] = x[n] + gamma y[n-1] run backwards
    g = torch.Generator().manual_seed(0)
    r = torch.randn(3, 17, generator=g, dtype=torch.float64)
    expected = scipy.signal.lfilter([1.0], [1.0, -gamma], r.numpy()[:, ::-1], axis=1)[:, ::-1]
    np.testing.assert_allclose(
        rl.discounted_returns(r, gamma).numpy(), expected, rtol=1e-12, atol=1e-12
    )
    mask = torch.arange(17) < 5
    masked = rl.discounted_returns(r, gamma, mask=mask.expand(3, 17))
    np.testing.assert_allclose(
        masked[:, :5].numpy(), rl.discounted_returns(r[:, :5], gamma).numpy(), rtol=1e-12
    )
    assert float(masked[:, 5:].abs().max()) == 0.0


def test_discounted_returns_non_contiguous_and_float32() -> None:
    r = torch.ones(6, 4).T  # (4, 6), non-contiguous
    out = rl.discounted_returns(r, 0.5)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0], torch.tensor([2 - 0.5**k for k in range(5, -1, -1)]))


def test_reinforce_loss_against_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    actions = torch.randint(0, 2, (5, 3), generator=g)
    returns = torch.randn(5, 3, generator=g, dtype=torch.float64)
    baseline = torch.randn(5, 3, generator=g, dtype=torch.float64)
    mask = torch.rand(5, 3, generator=g) < 0.7
    dist = torch.distributions.Categorical(logits=logits)
    lp = dist.log_prob(actions)
    ours = rl.reinforce_loss(lp, returns, baseline, mask)
    expected = (
        -sum(
            float(lp[t, n]) * float(returns[t, n] - baseline[t, n])
            for t in range(5)
            for n in range(3)
            if mask[t, n]
        )
        / 3
    )
    assert float(ours) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(-5, 5))
def test_baseline_leaves_the_expected_gradient_unchanged(seed: int, b: float) -> None:
    # Exact expectation over a softmax bandit: sum_a pi(a) grad log pi(a) (r_a - b) is the
    # same for every b, and equals the gradient of J = sum_a pi(a) r_a (by autograd).
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    r = torch.randn(4, generator=g, dtype=torch.float64)
    pi = torch.softmax(theta, 0)
    (grad_j,) = torch.autograd.grad((pi * r).sum(), theta)
    expected = torch.zeros(4, dtype=torch.float64)
    for a in range(4):
        lp = torch.log_softmax(theta, 0)[a].reshape(1, 1)
        loss = rl.reinforce_loss(lp, r[a].reshape(1, 1), torch.full((1, 1), b, dtype=torch.float64))
        (grad,) = torch.autograd.grad(loss, theta)
        expected += pi[a].detach() * -grad
    torch.testing.assert_close(expected, grad_j, rtol=1e-10, atol=1e-12)


def test_td_target_bootstraps_only_when_not_terminated() -> None:
    r = torch.tensor([1.0, 0.5, -1.0], dtype=torch.float64)
    next_q = torch.tensor(
        [[1.0, 3.0], [2.0, -1.0], [7.0, 7.0]], dtype=torch.float64, requires_grad=True
    )
    y = rl.td_target(r, next_q, torch.tensor([False, False, True]), 0.9)
    torch.testing.assert_close(y, torch.tensor([1 + 2.7, 0.5 + 1.8, -1.0], dtype=torch.float64))
    assert not y.requires_grad


def test_replay_buffer_ring_and_uniform_sampling() -> None:
    buf = rl.ReplayBuffer(10, 2)
    for i in range(25):
        x = torch.full((1, 2), float(i))
        buf.add(
            x, torch.tensor([i % 2]), torch.tensor([float(i)]), x + 1, torch.tensor([i % 3 == 0])
        )
    assert len(buf) == 10 and sorted(buf.reward.tolist()) == [float(i) for i in range(15, 25)]
    s, a, r, s2, d = buf.sample(20_000, torch.Generator().manual_seed(0))
    assert torch.equal(s[:, 0], r) and torch.equal(s2[:, 0], r + 1)
    assert torch.equal(a, r.long() % 2) and torch.equal(d, r.long() % 3 == 0)
    # uniform over the 10 stored: chi-square test at the 0.1 % level
    counts = torch.bincount(r.long() - 15, minlength=10).numpy()
    import scipy.stats

    assert scipy.stats.chisquare(counts).pvalue > 1e-3


def test_evaluate_policy_of_a_balancing_controller_and_of_always_right() -> None:
    def controller(obs: torch.Tensor) -> torch.Tensor:
        right = obs[:, 2] + 0.5 * obs[:, 3] > 0
        return torch.stack([(~right).float(), right.float()], dim=1)

    # reference: run the same episodes in gymnasium one by one
    expected = []
    for i in range(6):
        env = gym.make("CartPole-v1")
        o, _ = env.reset(seed=3 + i)
        n = 0
        while True:
            o, _, term, trunc, _ = env.step(int(o[2] + 0.5 * o[3] > 0))
            n += 1
            if term or trunc:
                break
        expected.append(float(n))
    assert rl.evaluate_policy(controller, episodes=6, seed=3).tolist() == expected
    always_right = rl.evaluate_policy(
        lambda o: torch.tensor([[0.0, 1.0]]).expand(len(o), 2), episodes=6
    )
    assert float(always_right.max()) < 20


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread (several spin-wait on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_train_reinforce_improves_a_short_run() -> None:
    _, history = rl.train_reinforce(iterations=15, num_envs=8, lr=0.02, seed=0)
    assert np.mean(history[-5:]) > 1.5 * np.mean(history[:5])


@pytest.mark.usefixtures("one_thread")
def test_train_dqn_runs_and_logs_episodes() -> None:
    _, log = rl.train_dqn(steps=300, learning_starts=100, seed=0)
    assert len(log["episode_returns"]) == len(log["episode_end_step"]) > 0
    assert all(r >= 1 for r in log["episode_returns"])


@pytest.mark.usefixtures("one_thread")
def test_train_dqn_stores_terminated_not_truncated_and_the_true_next_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With a 5-step time limit every episode is truncated (the pole cannot fall in 0.1 s):
    # no stored transition may be marked terminated, and the stored next state of the last
    # step must be where the cart-pole went, not the fresh state of the reset after it.
    stored: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    class Recording(rl.ReplayBuffer):
        def add(
            self,
            obs: torch.Tensor,
            action: torch.Tensor,
            reward: torch.Tensor,
            next_obs: torch.Tensor,
            terminated: torch.Tensor,
        ) -> None:
            stored.append((obs.clone(), next_obs.clone(), terminated.clone()))
            super().add(obs, action, reward, next_obs, terminated)

    class FiveSteps(rl.CartPole):
        def __init__(self, num_envs: int = 1, **kwargs: object) -> None:
            super().__init__(num_envs, max_episode_steps=5, device="cpu")

    monkeypatch.setattr(rl, "ReplayBuffer", Recording)
    monkeypatch.setattr(rl, "CartPole", FiveSteps)
    _, log = rl.train_dqn(steps=20, num_envs=2, learning_starts=10, seed=0)
    assert log["episode_returns"] == [5.0] * 8
    assert not any(bool(d.any()) for _, _, d in stored)
    for step in range(19):
        follows = torch.equal(stored[step][1], stored[step + 1][0])
        # a transition's next state is the next one's state, except across the resets
        # (storing the reset's observation instead would make them agree there too)
        assert follows == (step % 5 != 4), step


# ------------------------------------------------------------------------- errors
P0, R0 = rl.gridworld()
ERRORS = [
    (
        "P not a tensor",
        lambda: rl.value_iteration(P0.numpy(), R0, 0.9),  # type: ignore[arg-type]
        TypeError,
        "P must be a torch.Tensor",
    ),
    ("integer P", lambda: rl.value_iteration(P0.long(), R0, 0.9), TypeError, "floating-point"),
    ("P 2-D", lambda: rl.value_iteration(P0[0], R0, 0.9), ValueError, "shape \\(S, A, S\\)"),
    (
        "R wrong shape",
        lambda: rl.policy_iteration(P0, R0[:3], 0.9),
        ValueError,
        "R must have shape",
    ),
    ("P not stochastic", lambda: rl.value_iteration(2 * P0, R0, 0.9), ValueError, "probability"),
    (
        "gamma 1",
        lambda: rl.value_iteration(P0, R0, 1.0),
        ValueError,
        "gamma must lie in \\[0, 1\\)",
    ),
    (
        "gamma str",
        lambda: rl.policy_evaluation(P0, R0, torch.zeros(12, dtype=torch.long), "0.9"),  # type: ignore[arg-type]
        TypeError,
        "gamma",
    ),
    (
        "policy bad action",
        lambda: rl.policy_evaluation(P0, R0, torch.full((12,), 4), 0.9),
        ValueError,
        "actions",
    ),
    (
        "policy bad shape",
        lambda: rl.policy_evaluation(P0, R0, torch.zeros(5, dtype=torch.long), 0.9),
        ValueError,
        "shape",
    ),
    (
        "policy float 1-D",
        lambda: rl.policy_evaluation(P0, R0, torch.zeros(12), 0.9),
        TypeError,
        "policy",
    ),
    ("P on meta", lambda: rl.value_iteration(P0.to("meta"), R0, 0.9), ValueError, "device"),
    ("bad layout", lambda: rl.gridworld(("..", "...")), ValueError, "equal length"),
    ("bad slip", lambda: rl.gridworld(slip=1.5), ValueError, "slip"),
    (
        "q int",
        lambda: rl.q_learning_update(
            torch.zeros(2, 2, dtype=torch.long), 0, 0, 1.0, 1, False, alpha=0.1, gamma=0.9
        ),
        TypeError,
        "floating",
    ),
    (
        "state range",
        lambda: rl.q_learning_update(torch.zeros(2, 2), 2, 0, 1.0, 1, False, alpha=0.1, gamma=0.9),
        ValueError,
        "state must lie",
    ),
    (
        "state float",
        lambda: rl.q_learning_update(
            torch.zeros(2, 2),
            0.0,  # type: ignore[arg-type]
            0,
            1.0,
            1,
            False,
            alpha=0.1,
            gamma=0.9,
        ),
        TypeError,
        "state must be an int",
    ),
    (
        "alpha 0",
        lambda: rl.q_learning_update(torch.zeros(2, 2), 0, 0, 1.0, 1, False, alpha=0.0, gamma=0.9),
        ValueError,
        "alpha",
    ),
    (
        "returns int",
        lambda: rl.discounted_returns(torch.ones(3, dtype=torch.long), 0.9),
        TypeError,
        "rewards",
    ),
    ("returns scalar", lambda: rl.discounted_returns(torch.tensor(1.0), 0.9), ValueError, "scalar"),
    (
        "returns mask",
        lambda: rl.discounted_returns(torch.ones(3), 0.9, mask=torch.ones(3)),
        TypeError,
        "mask",
    ),
    ("returns gamma", lambda: rl.discounted_returns(torch.ones(3), 1.5), ValueError, "gamma"),
    (
        "loss shapes",
        lambda: rl.reinforce_loss(torch.ones(3, 2), torch.ones(2, 3)),
        ValueError,
        "\\(T, N\\)",
    ),
    (
        "td bool",
        lambda: rl.td_target(torch.ones(2), torch.ones(2, 2), torch.zeros(2), 0.9),
        TypeError,
        "terminated",
    ),
    (
        "td shapes",
        lambda: rl.td_target(
            torch.ones(2), torch.ones(3, 2), torch.zeros(2, dtype=torch.bool), 0.9
        ),
        ValueError,
        "expected",
    ),
    ("env action float", lambda: _stepped(torch.tensor([0.5])), ValueError, "integer tensor"),
    ("env action value", lambda: _stepped(torch.tensor([2])), ValueError, "0 or 1"),
    ("env action shape", lambda: _stepped(torch.tensor([0, 1])), ValueError, "shape \\(1,\\)"),
    ("env num_envs", lambda: rl.CartPole(0), ValueError, "num_envs"),
    ("env seed", lambda: rl.CartPole().reset(seed=-1), ValueError, "seed"),
    (
        "evaluate episodes",
        lambda: rl.evaluate_policy(lambda o: o[:, :2], episodes=0),
        ValueError,
        "episodes",
    ),
]


def _stepped(action: torch.Tensor) -> object:
    env = rl.CartPole()
    env.reset(seed=0)
    return env.step(action)


@pytest.mark.parametrize(("label", "call", "error", "match"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(label: str, call: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


def test_step_before_reset_raises() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        rl.CartPole().step(torch.tensor([0]))


# ------------------------------------------------------------------------- devices
def test_results_follow_the_inputs_device(device: torch.device) -> None:
    P, R = (t.to(device) for t in rl.gridworld())
    v, pi, _ = rl.value_iteration(P, R, 0.9)
    v_cpu, pi_cpu, _ = rl.value_iteration(*rl.gridworld(), 0.9)
    assert v.device == device and pi.device == device
    torch.testing.assert_close(v.cpu(), v_cpu, rtol=1e-12, atol=1e-12)
    assert torch.equal(pi.cpu(), pi_cpu)
    assert rl.policy_evaluation(P, R, pi, 0.9).device == device
    r = torch.ones(2, 5, device=device)
    assert rl.discounted_returns(r, 0.9).device == device
    y = rl.td_target(r[:, 0], r, torch.zeros(2, dtype=torch.bool, device=device), 0.9)
    assert y.device == device
    env = rl.CartPole(2, device=device)
    obs = env.reset(seed=0)
    out = env.step(torch.tensor([0, 1], device=device))
    assert obs.device == device and all(t.device == device for t in out)


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool]
)
def test_every_integer_action_dtype_works(dtype: torch.dtype) -> None:
    reference, ours = rl.CartPole(3), rl.CartPole(3)
    reference.reset(seed=5)
    ours.reset(seed=5)
    actions = torch.tensor([1, 0, 1])
    expected = reference.step(actions)[0]
    assert torch.equal(ours.step(actions.to(dtype))[0], expected)
    P, R = rl.gridworld()
    policy = torch.ones(12, dtype=torch.long)
    torch.testing.assert_close(
        rl.policy_evaluation(P, R, policy.to(dtype) if dtype != torch.bool else policy, 0.9),
        rl.policy_evaluation(P, R, policy, 0.9),
    )
