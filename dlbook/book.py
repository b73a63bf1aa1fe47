r"""Numbers the prose quotes, taken from the executed run and checked against a band.

A chapter never types a result by hand. It computes the number, then calls
:func:`glue_number`, which checks that the value lies in the band the chapter declares
for it and hands it to myst-nb's ``glue`` so the text can quote it with
``{glue:text}`name```. A value outside its band raises, the cell fails, and so does the
book build: a regression in the code cannot slip into the prose unnoticed.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OutOfBandError", "check_band", "glue_number"]


class OutOfBandError(ValueError):
    """A number the book reports left the band its chapter declares for it."""


def check_band(name: str, value: float, low: float, high: float) -> float:
    r"""Return ``value`` as a float if :math:`\text{low} \le \text{value} \le \text{high}`.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If the band is empty or not finite.
    OutOfBandError
        If ``value`` lies outside the band, or is NaN.

    Examples
    --------
    >>> check_band("accuracy", 0.97, 0.95, 1.0)
    0.97
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: value must be a real number, got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"{name}: band [{low}, {high}] must be finite with low <= high")
    if not low <= number <= high:
        raise OutOfBandError(
            f"{name} = {number!r} lies outside the band [{low}, {high}] the chapter declares "
            "for it: the code changed the result, so check it and the prose that quotes it"
        )
    return number


def glue_number(name: str, value: float, low: float, high: float, fmt: str = "{:.3g}") -> str:
    """Check ``value`` against its band, glue it under ``name`` as text, return that text.

    The text is formatted with ``fmt`` (for example ``"{:.1%}"`` for an accuracy; Python
    and NumPy integers are formatted as integers) and quoted in the prose as
    ``{glue:text}`name```. End the call with ``;`` or assign it (``_ = ...``) as a cell's
    last line, or the notebook echoes the text. Without myst-nb installed (a chapter run
    outside the book's environment) the band is still checked and nothing is glued.
    """
    number = check_band(name, value, low, high)
    # An integer stays an integer, so "{:,}" gives "1,797", not "1,797.0".
    text = fmt.format(int(value) if isinstance(value, (int, np.integer)) else number)
    try:
        from myst_nb import glue
    except ImportError:  # running a chapter without the book's tools: the check still holds
        return text

    # glue:text shows the text/plain form, "'0.97'"; myst-nb strips the quotes itself.
    glue(name, text, display=False)
    return text
