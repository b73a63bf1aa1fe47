"""Issue 13, the grader: fake submissions that cheat must fail; correct answers must pass.

Each cheat is a student file written to a temporary folder and loaded the way the exercise
graders load one (``load_submission``); ``dlbook.data.one_hot`` is the reference.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest
import torch
from torch import nn

import dlbook.data
from dlbook import grading
from dlbook.grading import Case

CASES = [Case("three labels", (torch.tensor([0, 2, 1]), 3))]
CORRECT = """
    import torch
    def one_hot(labels, num_classes):
        out = torch.zeros(*labels.shape, num_classes, device=labels.device)
        return out.scatter_(-1, labels.long().unsqueeze(-1), 1.0)
"""


def submit(tmp_path: Path, source: str, name: str = "answers") -> types.ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return grading.load_submission(path, {"one_hot": dlbook.data.one_hot})


def grade(module: types.ModuleType, timeout: float = 10.0) -> None:
    grading.check(module.one_hot, dlbook.data.one_hot, CASES, exercise="Ex", timeout=timeout)


CHEATS = {
    "default argument": """
        import dlbook.data
        def one_hot(labels, num_classes, _answer=dlbook.data.one_hot):
            return _answer(labels, num_classes)
    """,
    "functools.partial": """
        import functools
        import dlbook.data
        _answer = functools.partial(dlbook.data.one_hot)
        def one_hot(labels, num_classes):
            return _answer(labels, num_classes)
    """,
    "partial as the answer": """
        import functools
        import dlbook.data
        one_hot = functools.partial(dlbook.data.one_hot)
    """,
    "copy of the code object": """
        import types
        import dlbook.data
        _inner = dlbook.data.one_hot.__wrapped__
        _copy = types.FunctionType(_inner.__code__, _inner.__globals__, "mine")
        def one_hot(labels, num_classes):
            return _copy(labels, num_classes)
    """,
    "module imported again under another name": """
        import importlib.util
        import dlbook.data
        _spec = importlib.util.spec_from_file_location("my_data", dlbook.data.__file__)
        _mine = importlib.util.module_from_spec(_spec)
        import sys
        sys.modules["my_data"] = _mine
        _spec.loader.exec_module(_mine)
        def one_hot(labels, num_classes):
            return _mine.one_hot(labels, num_classes)
    """,
    "re-exported through a helper": """
        import sys, pathlib
        sys.path.insert(0, str(pathlib.Path(__file__).parent))
        import cheat_helper
        def one_hot(labels, num_classes):
            return cheat_helper.encode(labels, num_classes)
    """,
    "reloaded module": """
        import importlib
        import dlbook.data
        def one_hot(labels, num_classes):
            fresh = importlib.reload(dlbook.data)
            return fresh.one_hot(labels, num_classes)
    """,
    "swallowing the block": """
        import dlbook.data
        _answer = dlbook.data.one_hot
        def one_hot(labels, num_classes):
            for _ in range(3):
                try:
                    return _answer(labels, num_classes)
                except BaseException:
                    pass
            import torch
            return torch.zeros(len(labels), num_classes)
    """,
}


@pytest.mark.parametrize("source", list(CHEATS.values()), ids=list(CHEATS))
def test_reaching_the_reference_fails(tmp_path: Path, source: str) -> None:
    (tmp_path / "cheat_helper.py").write_text(
        "from dlbook.data import one_hot as _oh\n\ndef encode(l, n):\n    return _oh(l, n)\n"
    )
    module = submit(tmp_path, source)
    with pytest.raises(grading.ReferenceUsedError):
        grade(module)
    sys.modules.pop("cheat_helper", None)
    grade(submit(tmp_path, CORRECT, name="honest"))  # the reference works again afterwards


def test_patching_the_reference_at_import_time_fails(tmp_path: Path) -> None:
    module = submit(
        tmp_path,
        """
        import torch
        import dlbook.data
        def one_hot(labels, num_classes):
            return torch.zeros(len(labels), num_classes)
        # make the reference compute the same wrong answer
        dlbook.data.one_hot.__wrapped__.__code__ = one_hot.__code__
    """,
    )
    with pytest.raises(grading.ReferenceUsedError, match="changed the reference"):
        grade(module)
    # the grader restored it: the reference still gives the right answer
    assert dlbook.data.one_hot(torch.tensor([1]), 2).tolist() == [[0.0, 1.0]]


def test_reading_the_expected_value_from_the_frames_fails(tmp_path: Path) -> None:
    module = submit(
        tmp_path,
        """
        import sys, torch
        def one_hot(labels, num_classes):
            frame = sys._getframe(1)
            while frame is not None:  # look for the grader's expected answer
                for key in ("expected", "want", "ref_result"):
                    value = frame.f_locals.get(key)
                    if isinstance(value, torch.Tensor):
                        return value.clone()
                frame = frame.f_back
            return torch.zeros(len(labels), num_classes)
    """,
    )
    with pytest.raises(AssertionError, match="values differ"):
        grade(module)


TIME_CHEATS = {
    "catching the alarm": """
        def one_hot(labels, num_classes):
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
    """,
    "cancelling the timer": """
        import signal
        def one_hot(labels, num_classes):
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            signal.setitimer(signal.ITIMER_REAL, 0)
            while True:
                pass
    """,
    "try/except Exception in the loop": """
        def one_hot(labels, num_classes):
            while True:
                try:
                    pass
                except Exception:
                    pass
    """,
}


@pytest.mark.parametrize("source", list(TIME_CHEATS.values()), ids=list(TIME_CHEATS))
def test_the_time_limit_holds(tmp_path: Path, source: str) -> None:
    module = submit(tmp_path, source)
    started = time.monotonic()
    with pytest.raises(grading.GradingTimeoutError, match=r"did not return within 0\.5 s"):
        grade(module, timeout=0.5)
    assert time.monotonic() - started < 10


def test_a_not_implemented_stub_does_not_pass_check_raises_exception(tmp_path: Path) -> None:
    module = submit(
        tmp_path,
        """
        def one_hot(labels, num_classes):
            raise NotImplementedError
    """,
    )
    bad = [Case("label too large", (torch.tensor([5]), 3))]
    with pytest.raises(grading.NotImplementedYetError):
        grading.check_raises(module.one_hot, dlbook.data.one_hot, bad, Exception, exercise="E")


def _apply(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out: torch.Tensor = model(x)
    return out


def test_a_module_argument_changed_in_place_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "models.py"
    path.write_text(
        textwrap.dedent(
            """
            import torch
            def apply(model, x):
                with torch.no_grad():
                    out = model(x)
                    model.weight.add_(1.0)  # a side effect on the caller's model
                return out
            """
        )
    )
    module = grading.load_submission(path, {"apply": _apply})
    cases = [Case("linear", (nn.Linear(2, 2), torch.ones(1, 2)))]
    with pytest.raises(AssertionError, match="changed its argument 1 in place"):
        grading.check(module.apply, _apply, cases, exercise="E")


# --------------------------------------------------------------------------------------
# Correct answers that must pass
# --------------------------------------------------------------------------------------
def _identity(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


def _mean(x: torch.Tensor) -> float:
    return float(x.mean())


def _stats(x: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"mean": x.mean(), "max": x.max()}


@dataclasses.dataclass
class Summary:
    mean: torch.Tensor
    count: int


def _summary(x: torch.Tensor) -> Summary:
    return Summary(x.mean(), x.numel())


def test_correct_answers_pass(tmp_path: Path) -> None:
    path = tmp_path / "good.py"
    path.write_text(
        textwrap.dedent(
            """
            import torch
            from tests.test_grader_cheats import Summary
            def identity(x):
                return x + 0.0
            def mean(x):
                return x.sum().item() / x.numel()
            def stats(x):
                return {"max": x.max(), "mean": x.mean()}  # other key order
            def summary(x):
                return Summary(x.sum() / x.numel(), int(x.numel()))
            """
        )
    )
    refs = {"identity": _identity, "mean": _mean, "stats": _stats, "summary": _summary}
    module = grading.load_submission(path, refs)
    nan_input = [Case("NaN inside", (torch.tensor([1.0, math.nan, 3.0]),))]
    grading.check(module.identity, _identity, nan_input, exercise="E")  # NaN is not a change
    grading.check(module.mean, _mean, nan_input, exercise="E")  # NaN result equals NaN
    finite = [Case("finite", (torch.tensor([1.0, 2.0, 6.0]),))]
    grading.check(module.stats, _stats, finite, exercise="E")
    grading.check(module.summary, _summary, finite, exercise="E")


def test_a_wrong_dataclass_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text(
        "from tests.test_grader_cheats import Summary\n"
        "def summary(x):\n    return Summary(x.mean(), 0)\n"
    )
    module = grading.load_submission(path, {"summary": _summary})
    with pytest.raises(AssertionError, match=r"output\.count"):
        grading.check(module.summary, _summary, [Case("x", (torch.ones(2),))], exercise="E")
