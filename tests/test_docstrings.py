"""Every public function of dlbook has a docstring, and every doctest in them passes."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import dlbook

# Every module of the package, subpackages (Part V's dlbook.generative) included.
MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(dlbook.__path__, prefix="dlbook.")
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_doctests_pass(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {module.__name__}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_public_functions_are_documented(module: ModuleType) -> None:
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{module.__name__}.{name} has no docstring"


def test_core_modules_have_doctests() -> None:
    for name in ("dlbook.devices", "dlbook.data", "dlbook.train", "dlbook.book"):
        finder = doctest.DocTestFinder()
        examples = sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
        assert examples > 0, f"{name} has no doctest examples"
