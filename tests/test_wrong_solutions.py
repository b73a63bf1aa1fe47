"""The wrong solutions a review of the graders tried (and a few right but unusual ones).

Each module in ``tests/wrong_solutions/`` is a submission for one exercise set: ``SET``
names the set, ``TESTS`` the grader tests that must catch it, ``MATCH`` a phrase the
failure must contain (so it fails for the reason it was written for, not by accident),
and ``EXPECT = "pass"`` marks a right solution that an earlier grader wrongly rejected.
``GRADER = "test_open"`` points it at the set's open task (default: the main grader); a
parametrized grader test runs on its first parameters, or on ``PARAMS`` where given.
The functions a module does not define are stubs. The grader tests are called directly,
in this process, on the CPU (their ``device`` fixture's first value), as pytest would call
them with ``--solutions=student``; only the tests named in ``TESTS`` run, so the whole
file takes seconds.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from _pytest.fixtures import FixtureFunctionDefinition

from dlbook.grading import load_submission

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "tests" / "wrong_solutions"
SOLUTIONS = sorted(p for p in FOLDER.glob("*.py") if not p.name.startswith("_"))


HEADER = ("SET", "TESTS", "MATCH", "EXPECT", "GRADER", "PARAMS")


def header(path: Path) -> dict[str, Any]:
    """The module's SET, TESTS, MATCH, EXPECT, GRADER and PARAMS, read without importing it."""
    values: dict[str, Any] = {"EXPECT": "fail", "MATCH": "", "GRADER": None, "PARAMS": {}}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in HEADER:
                values[target.id] = ast.literal_eval(node.value)
    return values


def grader_of(exercise_set: str, name: str | None = None) -> types.ModuleType:
    """The set's grader module ``name``, by default the main one (not test_open.py)."""
    folder = ROOT / "exercises" / exercise_set
    if name is None:
        (path,) = (p for p in folder.glob("test_*.py") if p.name != "test_open.py")
        name = path.stem
    return importlib.import_module(f"exercises.{exercise_set}.{name}")


def submission_for(path: Path, grader: types.ModuleType, tmp_path: Path) -> types.ModuleType:
    """The wrong solution as a submission file, with stubs for the functions it leaves out."""
    source = path.read_text()
    defined = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    stubs = [
        f"\n\ndef {name}(*args, **kwargs):\n    raise NotImplementedError('not implemented yet')\n"
        for name in grader.REFERENCES
        if name not in defined
    ]
    file = tmp_path / str(grader.SUBMISSION)
    file.write_text(source + "".join(stubs))
    return load_submission(file, grader.REFERENCES)


class _Config:
    """What a grader test reads of pytest's configuration: it grades a student's file."""

    def getoption(self, name: str) -> Any:
        return {"--solutions": "student", "--submission-dir": None}[name]


class _Request:
    config = _Config()


def first_parameters(test: Any) -> dict[str, Any]:
    """The first value of each ``pytest.mark.parametrize`` on ``test``."""
    values: dict[str, Any] = {}
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, sets = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        first = sets[0].values if hasattr(sets[0], "values") else sets[0]
        values.update(zip(names, first if len(names) > 1 else [first], strict=True))
    return values


def run_grader_test(
    grader: types.ModuleType,
    name: str,
    submission: types.ModuleType,
    params: dict[str, Any] | None = None,
) -> None:
    test = getattr(grader, name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        arguments = {
            "submission": submission,
            "device": torch.device("cpu"),
            "monkeypatch": monkeypatch,
            "request": _Request(),
            **first_parameters(test),
            **(params or {}),
        }
        with contextlib.ExitStack() as stack:
            for fixture in vars(grader).values():  # the module's autouse fixtures, set up
                if (
                    isinstance(fixture, FixtureFunctionDefinition)
                    and fixture._fixture_function_marker.autouse
                ):
                    stack.enter_context(set_up(fixture._get_wrapped_function(), arguments))
            test(**{k: arguments[k] for k in inspect.signature(test).parameters})


@contextlib.contextmanager
def set_up(fixture: Any, arguments: dict[str, Any]) -> Iterator[None]:
    """Run a fixture function (a plain or a generator one) around the test."""
    made = fixture(**{k: arguments[k] for k in inspect.signature(fixture).parameters})
    if not inspect.isgenerator(made):
        yield
        return
    next(made)
    try:
        yield
    finally:
        next(made, None)


def test_there_are_wrong_solutions() -> None:
    assert len(SOLUTIONS) >= 20
    for path in SOLUTIONS:
        spec = header(path)
        assert spec["SET"] and spec["TESTS"], f"{path.name} needs SET and TESTS"
        assert spec["EXPECT"] in ("fail", "pass")
        assert spec["EXPECT"] == "pass" or spec["MATCH"], f"{path.name} needs MATCH"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_the_grader_catches_it(path: Path, tmp_path: Path) -> None:
    spec = header(path)
    grader = grader_of(spec["SET"], spec["GRADER"])
    submission = submission_for(path, grader, tmp_path)
    for name in spec["TESTS"]:
        if spec["EXPECT"] == "pass":
            run_grader_test(grader, name, submission, spec["PARAMS"])  # a right one must pass
            continue
        with pytest.raises(AssertionError) as caught:
            run_grader_test(grader, name, submission, spec["PARAMS"])
        message = str(caught.value)
        assert "not implemented yet" not in message, f"{name} failed on a stub: {message}"
        assert spec["MATCH"] in message, f"{name} failed for another reason: {message}"
