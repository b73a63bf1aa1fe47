"""dlbook.grading: the homework grader catches what it promises to catch."""

from __future__ import annotations

import signal
import textwrap
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import dlbook.data
from dlbook import grading
from dlbook.grading import Case

CASES = [Case("three labels", (torch.tensor([2, 0, 1]), 3))]


def student(tmp_path: Path, source: str) -> types.ModuleType:
    path = tmp_path / "answers.py"
    path.write_text(textwrap.dedent(source))
    return grading.load_submission(path, {"one_hot": dlbook.data.one_hot})


def test_a_correct_answer_passes(tmp_path: Path) -> None:
    module = student(
        tmp_path,
        """
        import torch
        def one_hot(labels, num_classes):
            out = torch.zeros(*labels.shape, num_classes, device=labels.device)
            return out.scatter_(-1, labels.long().unsqueeze(-1), 1.0)
    """,
    )
    grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex")


def test_a_stub_says_not_implemented(tmp_path: Path) -> None:
    module = student(
        tmp_path,
        """
        def one_hot(labels, num_classes):
            raise NotImplementedError("Exercise 0.1")
    """,
    )
    with pytest.raises(grading.NotImplementedYetError, match="not implemented yet"):
        grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex")


@pytest.mark.parametrize(
    "source",
    [
        "from dlbook.data import one_hot as _answer\n"
        "def one_hot(labels, num_classes):\n    return _answer(labels, num_classes)\n",
        "import dlbook.data\n"
        "def one_hot(labels, num_classes):\n    return dlbook.data.one_hot(labels, num_classes)\n",
        "def one_hot(labels, num_classes):\n"
        "    from dlbook.data import one_hot as o\n    return o(labels, num_classes)\n",
        "import dlbook.data\n"
        "def one_hot(labels, num_classes):\n    try:\n"
        "        return dlbook.data.one_hot(labels, num_classes)\n"
        "    except Exception:\n        return None\n",
    ],
    ids=["imported-alias", "module-attribute", "import-inside", "swallowing-except"],
)
def test_delegating_to_the_reference_fails(tmp_path: Path, source: str) -> None:
    module = student(tmp_path, source)
    with pytest.raises(grading.ReferenceUsedError, match=r"dlbook\.data\.one_hot"):
        grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex")
    # ... and the reference is back in place afterwards.
    assert dlbook.data.one_hot(torch.tensor([1]), 2).tolist() == [[0.0, 1.0]]


@pytest.mark.parametrize(
    "source",
    [
        "from dlbook.data import one_hot\n",
        "import functools, dlbook.data\n"
        "@functools.wraps(dlbook.data.one_hot)\n"
        "def one_hot(*args):\n    return dlbook.data.one_hot.__wrapped__(*args)\n",
    ],
    ids=["re-export", "wrapper"],
)
def test_handing_in_the_reference_itself_fails(tmp_path: Path, source: str) -> None:
    module = student(tmp_path, source)
    with pytest.raises(grading.ReferenceUsedError, match="reference"):
        grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex")


def test_runaway_code_times_out_with_a_message(tmp_path: Path) -> None:
    module = student(
        tmp_path,
        """
        def one_hot(labels, num_classes):
            while True:
                try:
                    pass
                except Exception:
                    pass
    """,
    )
    started = time.monotonic()
    with pytest.raises(grading.GradingTimeoutError, match=r"did not return within 0\.5 s"):
        grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex", timeout=0.5)
    assert time.monotonic() - started < 5


def test_timeout_outside_the_main_thread() -> None:
    outcome: dict[str, Any] = {}

    def spin() -> None:
        while True:
            time.sleep(0.01)

    def run() -> None:
        try:
            grading.run_with_timeout(spin, seconds=0.3)
        except grading.GradingTimeoutError as err:
            outcome["error"] = err

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(5)
    assert isinstance(outcome.get("error"), grading.GradingTimeoutError)


def test_an_outer_timer_survives_a_graded_call() -> None:
    fired: list[int] = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        assert grading.run_with_timeout(lambda: 7, seconds=10) == 7
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0, "outer timer was cancelled"
        time.sleep(0.7)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_wrong_values_are_explained(tmp_path: Path) -> None:
    module = student(
        tmp_path,
        """
        import torch
        def one_hot(labels, num_classes):
            out = torch.eye(num_classes)[labels]
            out[0, 0] = 0.25
            return out
    """,
    )
    with pytest.raises(AssertionError) as info:
        grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Exercise 0.1")
    message = str(info.value)
    for part in (
        "Exercise 0.1",
        "three labels",
        "1 of 9 values differ",
        "largest error is 0.25",
        "index (0, 0)",
        "expected 0.0, got 0.25",
        "shape=(3,)",
    ):
        assert part in message, f"{part!r} missing from: {message}"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("return torch.eye(num_classes)[labels][:, :2]", r"expected shape \(3, 3\), got shape"),
        ("return torch.eye(num_classes, dtype=torch.long)[labels]", "expected dtype torch.float32"),
        ("return torch.eye(num_classes, dtype=torch.float64)[labels]", "got torch.float64"),
        ("return torch.eye(num_classes)[labels]", "meta"),
        ("return torch.eye(num_classes)[labels].numpy()", "expected a torch.Tensor"),
        ("return [1, 2]", "expected a torch.Tensor"),
        ("return labels[5]", "IndexError"),
        ("labels += 1\n    return torch.eye(num_classes + 1)[labels][:, 1:]", "in place"),
    ],
)
def test_other_mistakes_are_explained(tmp_path: Path, body: str, match: str) -> None:
    module = student(tmp_path, f"import torch\ndef one_hot(labels, num_classes):\n    {body}\n")
    with pytest.raises(AssertionError, match=match):
        grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex")


def test_a_tensor_on_the_wrong_device_is_explained() -> None:
    problem = grading._compare(
        torch.zeros(2),
        torch.zeros(2, device="meta"),
        where="output",
        rtol=0,
        atol=0,
        check_dtype=True,
    )
    assert problem is not None and "expected a tensor on meta" in problem


def test_nested_outputs_and_numbers_are_compared() -> None:
    def ref(x: float) -> tuple[float, np.ndarray]:
        return x * 2, np.array([x, x])

    def wrong(x: float) -> tuple[float, np.ndarray]:
        return x * 2, np.array([x, x + 1])

    def right(x: float) -> tuple[float, np.ndarray]:
        return 2 * x, np.array([x, x])

    grading.check(right, ref, [Case("x=1", (1.0,))], exercise="Ex")
    with pytest.raises(AssertionError, match=r"output\[1\]"):
        grading.check(wrong, ref, [Case("x=1", (1.0,))], exercise="Ex")


def test_numpy_string_and_object_inputs_are_checked_for_changes() -> None:
    """np.array_equal(..., equal_nan=True) raises on strings: the in-place check must not."""

    def ref(names: np.ndarray) -> int:
        return len(names)

    def right(names: np.ndarray) -> int:
        return int(names.shape[0])

    def mutates(names: np.ndarray) -> int:
        names[0] = "z"
        return len(names)

    groups = np.array(["a", "b", "a"])
    grading.check(right, ref, [Case("strings", (groups,))], exercise="Ex")
    with pytest.raises(AssertionError, match="changed"):
        grading.check(mutates, ref, [Case("strings", (groups.copy(),))], exercise="Ex")


def test_check_raises(tmp_path: Path) -> None:
    lax = student(
        tmp_path,
        """
        import torch
        def one_hot(labels, num_classes):
            return torch.eye(num_classes)[labels.clamp(0, num_classes - 1)]
    """,
    )
    bad = [Case("label too large", (torch.tensor([5]), 3))]
    with pytest.raises(AssertionError, match=r"should raise ValueError .* but returned"):
        grading.check_raises(lax.one_hot, dlbook.data.one_hot, bad, ValueError, exercise="Ex")
    strict = grading.load_submission(
        tmp_path / "unused.py", {"one_hot": dlbook.data.one_hot}, mode="reference"
    )
    grading.check_raises(strict.one_hot, dlbook.data.one_hot, bad, ValueError, exercise="Ex")
    with pytest.raises(ValueError, match="not a bad input"):
        grading.check_raises(lax.one_hot, dlbook.data.one_hot, CASES, ValueError, exercise="Ex")


def test_checks_need_cases() -> None:
    with pytest.raises(ValueError, match="cannot fail"):
        grading.check(dlbook.data.one_hot, dlbook.data.one_hot, [], exercise="Ex")


def test_reference_mode_copies_pass_and_are_not_the_reference(tmp_path: Path) -> None:
    module = grading.load_submission(
        tmp_path / "unused.py", {"one_hot": dlbook.data.one_hot}, mode="reference"
    )
    assert module.one_hot is not dlbook.data.one_hot
    grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex")


def test_missing_function_and_bad_mode(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(AttributeError, match="one_hot"):
        grading.load_submission(tmp_path / "empty.py", {"one_hot": dlbook.data.one_hot})
    with pytest.raises(ValueError, match="mode"):
        grading.load_submission(tmp_path / "empty.py", {}, mode="teacher")  # type: ignore[arg-type]


def test_describe_is_short() -> None:
    assert (
        grading.describe(torch.zeros(3, 3))
        == "tensor(shape=(3, 3), dtype=torch.float32, device=cpu)"
    )
    assert grading.describe(torch.tensor([1, 2])).endswith("= [1, 2]")
    assert len(grading.describe("x" * 500)) <= 80
    # a small tensor on the meta device (which holds no values) is described, not read
    assert grading.describe(torch.zeros(2, device="meta")).endswith("device=meta)")


def _double_in_place(x: torch.Tensor) -> None:
    x.mul_(2.0)


def _triple_in_place(x: torch.Tensor) -> None:
    x.mul_(3.0)


def _reference_double_in_place(x: torch.Tensor) -> None:
    x.copy_(2.0 * x)


def test_observe_grades_an_input_changed_by_design() -> None:
    def first_argument(result: Any, args: Any, kwargs: Any) -> Any:
        return args[0]

    cases = [Case("ones", (torch.ones(3),))]
    # The change an in-place function makes is what gets compared...
    grading.check(
        _double_in_place, _reference_double_in_place, cases, exercise="E", observe=first_argument
    )
    with pytest.raises(AssertionError, match=r"E: on input 'ones'"):
        grading.check(
            _triple_in_place,
            _reference_double_in_place,
            cases,
            exercise="E",
            observe=first_argument,
        )
    # ... and each function observes its own copy of the inputs, never the case itself.
    assert torch.equal(cases[0].args[0], torch.ones(3))


def test_mappings_are_compared_key_by_key() -> None:
    def state(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"w": x, "b": x.sum()}

    def swapped(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"b": x.sum(), "w": x}

    def off(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"w": x, "b": x.sum() + 1}

    cases = [Case("x", (torch.arange(3.0),))]
    grading.check(lambda x: {"w": x.clone(), "b": x.sum()}, state, cases, exercise="E")
    grading.check(swapped, state, cases, exercise="E")  # a dict's key order does not matter

    def missing(x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"w": x}

    with pytest.raises(AssertionError, match=r"keys \['w', 'b'\]"):
        grading.check(missing, state, cases, exercise="E")
    with pytest.raises(AssertionError, match=r"output\['b'\].*expected 3.0, got 4.0"):
        grading.check(off, state, cases, exercise="E")
    assert "'w': tensor(shape=(3,)" in grading.describe(state(torch.arange(3.0)))


def test_also_hidden_functions_are_switched_off_too(tmp_path: Path) -> None:
    # Chapter 3's linear_layer_gradients does the work of Chapter 8's linear_backward: a
    # student may not hand in the one for the other.
    import dlbook.autograd
    import dlbook.calculus

    path = tmp_path / "answers.py"
    path.write_text(
        "from dlbook.calculus import linear_layer_gradients\n"
        "def linear_backward(X, W, grad_Z):\n"
        "    gW, gb, gX = linear_layer_gradients(W, X, grad_Z)\n"
        "    return gX, gW, gb\n"
    )
    reference = dlbook.autograd.linear_backward
    module = grading.load_submission(path, {"linear_backward": reference})
    cases = [Case("2 x 3 input", (torch.ones(2, 3), torch.ones(4, 3), torch.ones(2, 4)))]
    grading.check(module.linear_backward, reference, cases, exercise="E")  # not hidden: passes
    with pytest.raises(grading.ReferenceUsedError, match="does this exercise's work"):
        grading.check(
            module.linear_backward,
            reference,
            cases,
            exercise="E",
            also_hidden=[dlbook.calculus.linear_layer_gradients],
        )
    # Everything is back in place afterwards.
    assert module.linear_layer_gradients is dlbook.calculus.linear_layer_gradients


def test_dtypes_are_compared_exactly_byte_order_included() -> None:
    def ref(x: np.ndarray) -> np.ndarray:
        return x.astype(np.int32)

    def big_endian(x: np.ndarray) -> np.ndarray:
        return x.astype(">i4")

    def int64(x: np.ndarray) -> np.ndarray:
        return x.astype(np.int64)

    def native(x: np.ndarray) -> np.ndarray:
        return np.array(x, dtype="=i4")

    cases = [Case("three numbers", (np.arange(3),))]
    grading.check(native, ref, cases, exercise="E")
    with pytest.raises(AssertionError, match="native byte order"):
        grading.check(big_endian, ref, cases, exercise="E")
    with pytest.raises(AssertionError, match="expected dtype int32"):
        grading.check(int64, ref, cases, exercise="E")
    # check_dtype=False still compares only values
    grading.check(int64, ref, cases, exercise="E", check_dtype=False, meta=False)


def test_a_tensor_made_on_the_cpu_fails_on_the_meta_pass(tmp_path: Path) -> None:
    # Validation that reads values (.any(), int()) keeps working on meta: it reads 0.
    right = student(
        tmp_path,
        """
        import torch
        def one_hot(labels, num_classes):
            if (labels < 0).any() or int(labels.max()) >= num_classes:
                raise ValueError("label out of range")
            return torch.eye(num_classes, device=labels.device)[labels]
        """,
    )
    grading.check(right.one_hot, dlbook.data.one_hot, CASES, exercise="E", meta=True)
    wrong = student(
        tmp_path,
        """
        import torch
        def one_hot(labels, num_classes):
            if (labels < 0).any() or int(labels.max()) >= num_classes:
                raise ValueError("label out of range")
            return torch.eye(num_classes)[labels]
        """,
    )
    grading.check(wrong.one_hot, dlbook.data.one_hot, CASES, exercise="E", meta=False)
    with pytest.raises(AssertionError, match="expected a tensor on meta"):
        grading.check(wrong.one_hot, dlbook.data.one_hot, CASES, exercise="E")


def test_mixing_devices_on_the_meta_pass_is_explained() -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        return x + torch.ones(3, device=x.device)

    def mixes(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > 0, torch.ones(3), torch.zeros(3))

    def needs_values(x: torch.Tensor) -> torch.Tensor:  # right, but cannot run on meta
        return torch.tensor([v + 1 for v in x.tolist()], dtype=x.dtype, device=x.device)

    cases = [Case("three numbers", (torch.tensor([1.0, 2.0, 3.0]),))]
    with pytest.raises(AssertionError, match="mixes devices"):
        grading.check(mixes, ref, cases, exercise="E", check_dtype=False, rtol=1e9, atol=1e9)
    grading.check(needs_values, ref, cases, exercise="E")  # not held to the meta pass


def test_meta_true_needs_a_reference_that_runs_on_meta() -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(x.tolist(), device=x.device)

    def same(x: torch.Tensor) -> torch.Tensor:
        return torch.tensor(x.tolist(), device=x.device)

    cases = [Case("three numbers", (torch.tensor([1.0, 2.0, 3.0]),))]
    grading.check(same, ref, cases, exercise="E")
    with pytest.raises(ValueError, match="meta=True"):
        grading.check(same, ref, cases, exercise="E", meta=True)


SOFTMAX_SOURCES = [
    "import torch\ndef softmax(x):\n    return torch.softmax(x, dim=-1)\n",
    "import torch\ndef softmax(x):\n    return x.softmax(-1)\n",
    "from torch import softmax as s\ndef softmax(x):\n    return s(x, dim=-1)\n",
    "import torch.nn.functional as F\ndef softmax(x):\n    return F.softmax(x, dim=-1)\n",
    (  # catching the error does not help: the call is recorded
        "import torch\ndef softmax(x):\n    try:\n        return torch.softmax(x, dim=-1)\n"
        "    except BaseException:\n        e = (x - x.max()).exp()\n        return e / e.sum()\n"
    ),
]


@pytest.mark.parametrize("source", SOFTMAX_SOURCES)
def test_forbidden_calls_are_unavailable_while_the_student_code_runs(
    tmp_path: Path, source: str
) -> None:
    def reference(x: torch.Tensor) -> torch.Tensor:
        e = (x - x.max()).exp()
        return e / e.sum()

    path = tmp_path / "answers.py"
    path.write_text(source)
    module = grading.load_submission(path, {"softmax": reference})
    cases = [Case("three logits", (torch.tensor([1.0, 2.0, 3.0]),))]
    grading.check(module.softmax, reference, cases, exercise="E")  # allowed without forbid
    forbid = ["torch.softmax", "torch.Tensor.softmax", "torch.nn.functional"]
    with pytest.raises(grading.ForbiddenCallError, match="forbids"):
        grading.check(module.softmax, reference, cases, exercise="E", forbid=forbid)
    with pytest.raises(grading.ForbiddenCallError):
        grading.check_raises(
            module.softmax, lambda x: x[5], cases, IndexError, exercise="E", forbid=forbid
        )
    # Everything is back afterwards, in the student's module too.
    x = torch.tensor([0.0, 1.0])
    assert torch.allclose(torch.softmax(x, 0), x.softmax(0))
    assert torch.allclose(torch.nn.functional.softmax(x, 0), torch.softmax(x, 0))
    assert "softmax" not in vars(torch.Tensor)
    assert getattr(module, "s", torch.softmax) is torch.softmax


def test_forbid_names_must_exist() -> None:
    cases = [Case("x", (torch.ones(2),))]
    with pytest.raises(ValueError, match="forbid"):
        grading.check(torch.negative, torch.neg, cases, exercise="E", forbid=["nosuchmodule.f"])
    with pytest.raises(AttributeError):
        grading.check(torch.negative, torch.neg, cases, exercise="E", forbid=["torch.no_such_fn"])


# ---------------------------------------------------------------------- open tasks
@pytest.mark.parametrize(
    "source",
    [
        "from dlbook.data import one_hot as _answer\n"
        "def one_hot(labels, num_classes):\n    return _answer(labels, num_classes)\n",
        "import dlbook.data\n"
        "def one_hot(labels, num_classes):\n    try:\n"
        "        return dlbook.data.one_hot(labels, num_classes)\n"
        "    except BaseException:\n        return None\n",
    ],
    ids=["imported-alias", "swallowing-except"],
)
def test_open_task_helpers_hide_the_reference_under_any_name(tmp_path: Path, source: str) -> None:
    """What an open task's grader calls itself: the reference is off under any binding."""
    module = student(tmp_path, source)
    run = grading.with_references_hidden(module.one_hot, [dlbook.data.one_hot], exercise="Ex")
    with pytest.raises(grading.ReferenceUsedError, match=r"dlbook\.data\.one_hot"):
        run(torch.tensor([1]), 2)
    with (
        grading.references_hidden(module.one_hot, [dlbook.data.one_hot], exercise="Ex") as call,
        pytest.raises(grading.ReferenceUsedError, match=r"dlbook\.data\.one_hot"),
    ):
        call(torch.tensor([1]), 2)
    assert dlbook.data.one_hot(torch.tensor([1]), 2).tolist() == [[0.0, 1.0]]  # back again


def test_open_task_helpers_forbid_calls_and_pass_right_answers(tmp_path: Path) -> None:
    module = student(
        tmp_path,
        """
        import math
        from math import erfc as tail
        def one_hot(labels, num_classes):
            try:
                tail(1.0)
            except BaseException:
                pass
            return math.sqrt(4.0)
        def right(x):
            return math.sqrt(x)
        def stub(x):
            raise NotImplementedError("Exercise")
    """,
    )
    forbid = ["math.erfc"]
    with pytest.raises(grading.ForbiddenCallError, match=r"math\.erfc"):
        grading.with_references_hidden(module.one_hot, [], exercise="Ex", forbid=forbid)(0, 0)
    assert module.tail is math_erfc() and math_erfc()(0.0) == 1.0  # put back
    with grading.references_hidden(module.right, [dlbook.data.one_hot], exercise="Ex") as call:
        assert [call(4.0), call(9.0)] == [2.0, 3.0]
    with pytest.raises(grading.NotImplementedYetError, match="not implemented yet"):
        grading.with_references_hidden(module.stub, [dlbook.data.one_hot], exercise="Ex")(1)
    with pytest.raises(grading.ReferenceUsedError, match="itself"):
        grading.with_references_hidden(dlbook.data.one_hot, [dlbook.data.one_hot], exercise="Ex")(
            torch.tensor([1]), 2
        )


def math_erfc() -> Any:
    import math

    return math.erfc
