"""Shared fixtures for grading homework (see exercises/README.md)."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

from dlbook import available_devices
from dlbook.grading import load_submission
from exercises.report import Scores


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--solutions",
        choices=("student", "reference"),
        default="student",
        help="grade the stub files you edit (student, the default) or copies of the dlbook "
        "references (reference: CI's proof that every exercise test can pass)",
    )
    parser.addoption(
        "--submission-dir",
        default=None,
        help="read each set's file from DIR/<set>/ instead of exercises/<set>/ (CI's proof "
        "grades the stubs as committed there, so your solutions never break make test)",
    )
    parser.addoption(
        "--results-json",
        default=None,
        metavar="PATH",
        help="also write the scores to PATH in Gradescope's autograder results.json format",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): the points a grader test is worth (default 1)")
    config.pluginmanager.register(Scores(config.getoption("--results-json")), "dlbook-scores")


@pytest.fixture(params=available_devices(), ids=str)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Every device this machine has: the grader checks your code on the GPU too."""
    chosen: torch.device = request.param
    return chosen


@pytest.fixture
def submission(request: pytest.FixtureRequest) -> types.ModuleType:
    """The functions under test: the set's stub file, or copies of the references."""
    test_module = request.module
    folder = Path(str(test_module.__file__)).parent
    elsewhere = request.config.getoption("--submission-dir")
    if elsewhere is not None:
        folder = Path(elsewhere) / folder.name
    return load_submission(
        folder / test_module.SUBMISSION,
        test_module.REFERENCES,
        mode=request.config.getoption("--solutions"),
    )
