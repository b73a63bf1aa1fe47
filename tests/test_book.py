"""dlbook.book: numbers quoted in the prose are checked against their bands."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest

from dlbook import book


def test_value_inside_band_is_returned() -> None:
    assert book.check_band("acc", 0.97, 0.95, 1.0) == 0.97
    assert book.check_band("edge", 0.95, 0.95, 1.0) == 0.95


@pytest.mark.parametrize("value", [0.94, 1.01, math.nan, math.inf])
def test_value_outside_band_raises_and_names_it(value: float) -> None:
    with pytest.raises(book.OutOfBandError, match="acc"):
        book.check_band("acc", value, 0.95, 1.0)


def test_bad_band_and_value() -> None:
    with pytest.raises(ValueError, match="band"):
        book.check_band("x", 1.0, 2.0, 1.0)
    with pytest.raises(TypeError, match="real number"):
        book.check_band("x", "high", 0.0, 1.0)  # type: ignore[arg-type]


def test_glue_number_formats_and_glues(monkeypatch: pytest.MonkeyPatch) -> None:
    glued: dict[str, Any] = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: value}))
    assert book.glue_number("acc", 0.9712, 0.9, 1.0, "{:.1%}") == "97.1%"
    assert glued == {"acc": "97.1%"}
    assert book.glue_number("n", 1797, 1000, 2000, "{:,}") == "1,797"
    assert book.glue_number("half", 898.5, 0, 2000, "{:,}") == "898.5"
    glued.pop("n"), glued.pop("half")
    with pytest.raises(book.OutOfBandError):
        book.glue_number("acc", 0.5, 0.9, 1.0)
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # as if myst-nb were not installed
    assert book.glue_number("acc2", 0.95, 0.9, 1.0, "{:.0%}") == "95%"
    with pytest.raises(book.OutOfBandError):
        book.glue_number("acc2", 0.5, 0.9, 1.0)
    assert glued == {"acc": "97.1%"}, "an out-of-band value must not be glued"
