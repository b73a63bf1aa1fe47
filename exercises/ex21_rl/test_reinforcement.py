"""Grader for exercise set 21 (README.md beside this file). Do not edit."""

from __future__ import annotations

import types
from typing import Any

import torch

from dlbook import rl
from dlbook.grading import Case, check, check_raises

SUBMISSION = "reinforcement.py"
REFERENCES = {
    "discounted_returns": rl.discounted_returns,
    "value_iteration": rl.value_iteration,
    "q_learning_update": rl.q_learning_update,
    "reinforce_loss": rl.reinforce_loss,
    "solve_cartpole": rl.solve_cartpole,
}
F64 = torch.float64


def randn(g: torch.Generator, *shape: int, device: torch.device) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=F64).to(device)


def random_mdp(g: torch.Generator, S: int, A: int, device: torch.device) -> tuple[Any, Any]:
    P = torch.rand(S, A, S, generator=g, dtype=F64) + 0.01
    P = P / P.sum(dim=2, keepdim=True)
    return P.to(device), randn(g, S, A, device=device)


# ---------------------------------------------------------------------- Exercise 21.1
def test_discounted_returns_fixed_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(0)
    r = randn(g, 4, 9, device=device)
    ones = torch.ones(12, dtype=F64, device=device)
    ended = torch.arange(12, device=device) < 7
    cases = [
        Case("gamma 0.9, one episode of ones", (ones, 0.9)),
        # gamma = 1: the plain sum of the remaining rewards (not the sum of earlier ones)
        Case("gamma 1: undiscounted", (ones, 1.0)),
        Case("gamma 0: the rewards themselves", (r, 0.0)),
        Case("a batch (4, 9), gamma 0.99", (r, 0.99)),
        Case("a mask: the episode ended after 7 steps", (ones * 3, 0.5), {"mask": ended}),
        Case("a single step", (r[:, :1], 0.9)),
        Case("a 3-D batch (2, 2, 9)", (r.reshape(2, 2, 9), 0.8)),
        Case("non-contiguous (9, 4).T", (r.T.contiguous().T, 0.7)),
        Case("float32 rewards stay float32", (r.float(), 0.9)),
        Case("long episode of 600 steps", (torch.ones(600, dtype=F64, device=device), 0.999)),
    ]
    check(
        submission.discounted_returns,
        rl.discounted_returns,
        cases,
        exercise="Exercise 21.1",
        rtol=1e-10,
        atol=1e-10,
    )
    got = submission.discounted_returns(r.float(), 0.9)
    assert got.dtype == torch.float32, f"Exercise 21.1: float32 rewards gave {got.dtype}"


def test_discounted_returns_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(1)
    cases = []
    for i in range(8):
        T = int(torch.randint(1, 40, (1,), generator=g))
        rewards = randn(g, 3, T, device=device)
        lengths = torch.randint(0, T + 1, (3, 1), generator=g).to(device)
        mask = torch.arange(T, device=device) < lengths  # (3, T)
        kwargs = {"mask": mask} if i % 2 else {}
        cases.append(Case(f"random #{i}", (rewards, float(i) / 8), kwargs))
    check(
        submission.discounted_returns,
        rl.discounted_returns,
        cases,
        exercise="Exercise 21.1",
        rtol=1e-10,
        atol=1e-10,
    )


def test_discounted_returns_bad_inputs(submission: types.ModuleType) -> None:
    check_raises(
        submission.discounted_returns,
        rl.discounted_returns,
        [
            Case("integer rewards", (torch.ones(3, dtype=torch.long), 0.9)),
            Case("a float mask", (torch.ones(3), 0.9), {"mask": torch.ones(3)}),
        ],
        TypeError,
        exercise="Exercise 21.1",
    )
    check_raises(
        submission.discounted_returns,
        rl.discounted_returns,
        [
            Case("a scalar", (torch.tensor(1.0), 0.9)),
            Case("gamma 1.5", (torch.ones(3), 1.5)),
            Case("gamma -0.1", (torch.ones(3), -0.1)),
            Case(
                "mask of another shape",
                (torch.ones(3), 0.9),
                {"mask": torch.ones(2, dtype=torch.bool)},
            ),
        ],
        ValueError,
        exercise="Exercise 21.1",
    )


# ---------------------------------------------------------------------- Exercise 21.2
def test_value_iteration_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    P, R = (t.to(device) for t in rl.gridworld())
    P2, R2 = (t.to(device) for t in rl.gridworld(slip=0.0, step_reward=-0.5))
    g = torch.Generator().manual_seed(2)
    P3, R3 = random_mdp(g, 6, 3, device)
    cases = [
        Case("the 4 x 3 world, gamma 0.9", (P, R, 0.9)),
        Case("the 4 x 3 world, gamma 0.99", (P, R, 0.99)),
        Case("gamma 0: one sweep, v = max_a R", (P, R, 0.0)),
        Case("no slip, costly steps", (P2, R2, 0.9)),
        Case("a random MDP (6 states, 3 actions)", (P3, R3, 0.95)),
        Case("a loose tolerance", (P3, R3, 0.95), {"tol": 1e-3}),
    ]
    check(
        submission.value_iteration,
        rl.value_iteration,
        cases,
        exercise="Exercise 21.2",
        rtol=1e-9,
        atol=1e-11,
    )


def test_value_iteration_random_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(3)
    cases = []
    for i in range(6):
        S, A = (
            int(torch.randint(2, 9, (1,), generator=g)),
            int(torch.randint(1, 5, (1,), generator=g)),
        )
        P, R = random_mdp(g, S, A, device)
        cases.append(Case(f"random #{i}: S={S}, A={A}", (P, R, 0.5 + 0.08 * i)))
    check(
        submission.value_iteration,
        rl.value_iteration,
        cases,
        exercise="Exercise 21.2",
        rtol=1e-9,
        atol=1e-11,
    )


def test_value_iteration_bad_inputs(submission: types.ModuleType) -> None:
    P, R = rl.gridworld()
    check_raises(
        submission.value_iteration,
        rl.value_iteration,
        [
            Case("gamma 1", (P, R, 1.0)),
            Case("P of shape (S, A)", (P[:, :, 0], R, 0.9)),
            Case("R of the wrong shape", (P, R[:5], 0.9)),
            Case("rows of P that do not sum to 1", (P * 0.5, R, 0.9)),
            Case("tol 0", (P, R, 0.9), {"tol": 0.0}),
        ],
        ValueError,
        exercise="Exercise 21.2",
    )
    check_raises(
        submission.value_iteration,
        rl.value_iteration,
        [Case("integer R", (P, R.long(), 0.9))],
        TypeError,
        exercise="Exercise 21.2",
    )


# ---------------------------------------------------------------------- Exercise 21.3
def test_q_learning_update_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(4)
    q = randn(g, 5, 3, device=device)
    kw = {"alpha": 0.1, "gamma": 0.9}
    cases = [
        Case("a step in the middle of an episode", (q, 1, 2, 0.5, 3, False), kw),
        # terminated: no bootstrap from the next state
        Case("the last step of an episode", (q, 1, 2, 0.5, 3, True), kw),
        Case("next state is the same state", (q, 4, 0, -1.0, 4, False), kw),
        Case("alpha 1: jump to the target", (q, 0, 1, 2.0, 2, False), {"alpha": 1.0, "gamma": 0.5}),
        Case("gamma 1", (q, 2, 2, 0.0, 0, False), {"alpha": 0.3, "gamma": 1.0}),
        Case("gamma 0", (q, 2, 1, 1.0, 0, False), {"alpha": 0.3, "gamma": 0.0}),
        Case("a float32 table", (q.float(), 3, 0, 1.0, 1, False), kw),
        Case("a large reward", (q, 0, 0, 1e6, 1, False), kw),
    ]
    check(
        submission.q_learning_update,
        rl.q_learning_update,
        cases,
        exercise="Exercise 21.3",
        rtol=1e-10,
        atol=1e-10,
    )


def test_q_learning_update_random_inputs(
    submission: types.ModuleType, device: torch.device
) -> None:
    g = torch.Generator().manual_seed(5)
    cases = []
    for i in range(10):
        q = randn(g, 6, 4, device=device)
        s, a, s2 = (int(torch.randint(0, n, (1,), generator=g)) for n in (6, 4, 6))
        args = (q, s, a, float(randn(g, 1, device=device)), s2, i % 3 == 0)
        cases.append(Case(f"random #{i}", args, {"alpha": 0.05 * (i + 1), "gamma": 0.99}))
    check(
        submission.q_learning_update,
        rl.q_learning_update,
        cases,
        exercise="Exercise 21.3",
        rtol=1e-10,
        atol=1e-10,
    )


def test_q_learning_update_bad_inputs(submission: types.ModuleType) -> None:
    q = torch.zeros(3, 2, dtype=F64)
    kw = {"alpha": 0.1, "gamma": 0.9}
    check_raises(
        submission.q_learning_update,
        rl.q_learning_update,
        [
            Case("state out of range", (q, 3, 0, 1.0, 0, False), kw),
            Case("negative action", (q, 0, -1, 1.0, 0, False), kw),
            Case("next_state out of range", (q, 0, 0, 1.0, 7, False), kw),
            Case("alpha 0", (q, 0, 0, 1.0, 0, False), {"alpha": 0.0, "gamma": 0.9}),
            Case("gamma 1.5", (q, 0, 0, 1.0, 0, False), {"alpha": 0.1, "gamma": 1.5}),
            Case("a 1-D table", (q[0], 0, 0, 1.0, 0, False), kw),
        ],
        ValueError,
        exercise="Exercise 21.3",
    )
    check_raises(
        submission.q_learning_update,
        rl.q_learning_update,
        [
            Case("an integer table", (q.long(), 0, 0, 1.0, 0, False), kw),
            Case("a float state", (q, 0.0, 0, 1.0, 0, False), kw),
            Case("a bool action", (q, 0, True, 1.0, 0, False), kw),
        ],
        TypeError,
        exercise="Exercise 21.3",
    )


# ---------------------------------------------------------------------- Exercise 21.4
def loss_and_gradients(
    loss: torch.Tensor, log_probs: torch.Tensor, returns: torch.Tensor, *rest: Any
) -> Any:
    """The loss and the gradients it sends into log_probs and (wrongly, if the returns and
    the baseline are not treated as constants) into returns and the baseline."""
    loss.backward()
    result = {"loss": loss.detach(), "d loss / d log_probs": log_probs.grad}
    leaks = {"returns": returns}
    if rest and isinstance(rest[0], torch.Tensor):
        leaks["baseline"] = rest[0]
    for name, value in leaks.items():
        grad = value.grad if value.grad is not None else torch.zeros_like(value)
        result[f"d loss / d {name}"] = grad
    return result


def with_gradients(loss_fn: Any) -> Any:
    """The student's ``loss_fn`` followed by backward."""

    def reinforce_loss(log_probs: torch.Tensor, returns: torch.Tensor, *rest: Any) -> Any:
        return loss_and_gradients(loss_fn(log_probs, returns, *rest), log_probs, returns, *rest)

    return reinforce_loss


def reference_with_gradients(log_probs: torch.Tensor, returns: torch.Tensor, *rest: Any) -> Any:
    """The book's reinforce_loss followed by backward."""
    loss = rl.reinforce_loss(log_probs, returns, *rest)
    return loss_and_gradients(loss, log_probs, returns, *rest)


def test_reinforce_loss_fixed_inputs(submission: types.ModuleType, device: torch.device) -> None:
    g = torch.Generator().manual_seed(6)
    T, N = 7, 3

    def leaf(*shape: int) -> torch.Tensor:
        return randn(g, *shape, device=device).requires_grad_()

    lp = -randn(g, T, N, device=device).abs()
    G, b = 5 * randn(g, T, N, device=device), randn(g, T, N, device=device)
    mask = torch.rand(T, N, generator=g).to(device) < 0.6
    cases = [
        Case("no baseline, no mask", (lp, G)),
        Case("with a baseline", (lp, G, b)),
        Case("with a baseline and a mask", (lp, G, b, mask)),
        Case("a mask only", (lp, G), {"mask": mask}),
        Case("one episode", (lp[:, :1], G[:, :1])),
        Case("float32", (lp.float(), G.float(), b.float(), mask)),
    ]
    check(
        submission.reinforce_loss,
        rl.reinforce_loss,
        cases,
        exercise="Exercise 21.4",
        rtol=1e-10,
        atol=1e-12,
    )
    # gradients: into log_probs, divided by the number of episodes; none into the returns
    grad_cases = [
        Case("gradients, returns requiring grad", (leaf(T, N), leaf(T, N))),
        Case("gradients with baseline and mask", (leaf(T, N), leaf(T, N), leaf(T, N), mask)),
    ]
    check(
        with_gradients(submission.reinforce_loss),
        reference_with_gradients,
        grad_cases,
        exercise="Exercise 21.4",
        rtol=1e-10,
        atol=1e-12,
        also_hidden=[rl.reinforce_loss],
    )


def test_reinforce_loss_bad_inputs(submission: types.ModuleType) -> None:
    check_raises(
        submission.reinforce_loss,
        rl.reinforce_loss,
        [
            Case("shapes differ", (torch.ones(3, 2), torch.ones(2, 3))),
            Case("1-D inputs", (torch.ones(3), torch.ones(3))),
            Case("a float mask", (torch.ones(3, 2), torch.ones(3, 2)), {"mask": torch.ones(3, 2)}),
            Case("baseline of another shape", (torch.ones(3, 2), torch.ones(3, 2), torch.ones(3))),
        ],
        ValueError,
        exercise="Exercise 21.4",
    )
    check_raises(
        submission.reinforce_loss,
        rl.reinforce_loss,
        [Case("integer returns", (torch.ones(3, 2), torch.ones(3, 2, dtype=torch.long)))],
        TypeError,
        exercise="Exercise 21.4",
    )


# ---------------------------------------------------------------------- Exercise 21.5
def solved(result: Any, args: Any, kwargs: Any) -> Any:
    if not callable(result):
        return ("a network (a callable module)", type(result).__name__)
    scores = rl.evaluate_policy(result, episodes=100, seed=2026)
    return {"mean return over 100 episodes >= 475": float(scores.mean()) >= 475.0}


def test_open_task_solves_cartpole(submission: types.ModuleType) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest
    try:
        check(
            submission.solve_cartpole,
            rl.solve_cartpole,
            [Case("seed 0", (), {"seed": 0})],
            exercise="Exercise 21.5",
            observe=solved,
            timeout=120.0,
            also_hidden=[rl.train_reinforce, rl.train_dqn],
        )
    finally:
        torch.set_num_threads(before)
