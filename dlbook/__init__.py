r"""dlbook: the tested reference implementations of *Deep Learning, Executable*.

Each module serves one topic of the book and says which chapter defines what:

========================  ==================================================
``dlbook.devices``        device choice (:func:`device`) and seeding (Preface, App. A)
``dlbook.data``           the book's offline data sets and the IDX loader
``dlbook.train``          the training loop, metrics, checkpoints
``dlbook.plot``           the book's figure style and common plots
``dlbook.book``           numbers quoted in the prose, checked against bands
``dlbook.grading``        the homework grader used by ``exercises/``
========================  ==================================================
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from dlbook.devices import available_devices, device, generator, seed_everything

if TYPE_CHECKING:
    from dlbook import book, data, grading, plot, train

__version__ = "0.1.0"

_SUBMODULES = ("book", "data", "devices", "grading", "plot", "train")

__all__ = [
    "__version__",
    "available_devices",
    "book",
    "data",
    "device",
    "devices",
    "generator",
    "grading",
    "plot",
    "seed_everything",
    "train",
]


def __getattr__(name: str) -> ModuleType:
    # `import dlbook; dlbook.data.load_digits()` works without importing every module
    # (and matplotlib) up front.
    if name in _SUBMODULES:
        return importlib.import_module(f"dlbook.{name}")
    raise AttributeError(f"module 'dlbook' has no attribute {name!r}")
