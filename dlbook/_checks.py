r"""Argument checks shared by every :mod:`dlbook` module.

Each check takes the argument's *name* first and raises a :class:`TypeError` (wrong kind
or dtype) or :class:`ValueError` (wrong value or shape) whose message names the argument,
says what it got and what was expected, so that bad input never reaches torch's internals.
Each returns the checked (and, where documented, converted) value.

Examples
--------
>>> positive_int("steps", 3)
3
>>> labels("y", torch.tensor([0, 2], dtype=torch.uint8), num_classes=3).dtype
torch.int64
>>> number("lr", np.float32(0.5))
0.5
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "dim",
    "finite_tensor",
    "float_tensor",
    "generator",
    "guard_module",
    "guarded",
    "invertible",
    "labels",
    "non_negative",
    "number",
    "positive",
    "positive_int",
    "probability",
    "same_device",
    "same_dtype",
    "shape",
    "tensor",
    "unit_interval",
]

INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _kind(x: object) -> str:
    if isinstance(x, Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)} on {x.device}"
    return f"{type(x).__name__} {x!r}" if not isinstance(x, (list, tuple)) else type(x).__name__


def tensor(
    name: str,
    x: object,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int = 0,
    non_empty: bool = False,
    convert: bool = False,
) -> Tensor:
    """``x`` as a tensor; lists, tuples and numpy arrays are converted if ``convert``."""
    value: object = x
    if convert and isinstance(value, (list, tuple, np.ndarray, numbers.Number)):
        try:
            x = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"`{name}` must be convertible to a tensor, got {_kind(x)}") from exc
    if not isinstance(x, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {_kind(x)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(f"{n}-D" for n in allowed)
            raise ValueError(f"`{name}` must be {want}, got shape {tuple(x.shape)}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"`{name}` must have at least {min_ndim} dimension(s), got shape {tuple(x.shape)}"
        )
    if non_empty and x.numel() == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(x.shape)}")
    return x


def float_tensor(
    name: str,
    x: object,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int = 0,
    non_empty: bool = False,
    convert: bool = False,
    complex_ok: bool = False,
) -> Tensor:
    """``x`` as a floating-point tensor (complex only if ``complex_ok``)."""
    x = tensor(name, x, ndim=ndim, min_ndim=min_ndim, non_empty=non_empty, convert=convert)
    if convert and not (x.dtype.is_floating_point or x.dtype.is_complex) and x.dtype != torch.bool:
        x = x.to(torch.get_default_dtype())
    if not (x.dtype.is_floating_point or (complex_ok and x.dtype.is_complex)):
        want = "a floating-point or complex" if complex_ok else "a floating-point"
        raise TypeError(f"`{name}` must be {want} tensor, got dtype {x.dtype}")
    return x


def finite_tensor(name: str, x: Tensor) -> Tensor:
    """``x`` unchanged if every entry is finite; else a ValueError."""
    if x.numel() and x.device.type != "meta" and not bool(torch.isfinite(x).all()):
        raise ValueError(f"`{name}` must hold finite values, got NaN or infinite entries")
    return x


def shape(name: str, x: Tensor, expected: Sequence[int | None], what: str = "") -> Tensor:
    """``x`` if its shape matches ``expected`` (``None`` matches any length)."""
    ok = x.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, x.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(
            f"`{name}` must have shape {want}{' ' + what if what else ''}, got {tuple(x.shape)}"
        )
    return x


def labels(
    name: str,
    y: object,
    *,
    num_classes: int | None = None,
    shape: Sequence[int] | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """Integer class labels of any integer dtype, returned as int64 (never a bool mask).

    ``uint8``, ``int8``, ``int16``, ``int32`` and ``int64`` are accepted; ``bool``,
    floating and complex dtypes are rejected with a TypeError, values outside
    ``[0, num_classes)`` with a ValueError.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor of integer labels, got {_kind(y)}")
    if y.dtype not in INTEGER_DTYPES:
        raise TypeError(
            f"`{name}` must hold integer class labels (uint8, int8, int16, int32 or int64), "
            f"got dtype {y.dtype}"
        )
    if shape is not None and tuple(y.shape) != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)}, got {tuple(y.shape)}")
    if device is not None and y.device != device:
        raise ValueError(f"`{name}` must be on {device} like the scores, got {y.device}")
    out = y.long()
    if num_classes is not None and out.numel() and out.device.type != "meta":
        lo, hi = int(out.min()), int(out.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(
                f"`{name}` must lie in [0, {num_classes}), got values from {lo} to {hi}"
            )
    return out


def dim(name: str, x: Tensor, d: object, *, non_empty: bool = False) -> int:
    """``d`` as a valid axis of ``x`` (negative counts from the end), as a non-negative int."""
    if isinstance(d, bool) or not isinstance(d, numbers.Integral):
        raise TypeError(f"`dim` must be an int, got {_kind(d)}")
    d = int(d)
    if x.ndim == 0:
        raise ValueError(f"`{name}` must have at least one axis, got a 0-d tensor")
    if not -x.ndim <= d < x.ndim:
        raise ValueError(
            f"`dim` must lie in [{-x.ndim}, {x.ndim}) for `{name}` of shape "
            f"{tuple(x.shape)}, got {d}"
        )
    d %= x.ndim
    if non_empty and x.shape[d] == 0:
        raise ValueError(f"`{name}` must not be empty along dim {d}, got shape {tuple(x.shape)}")
    return d


def same_device(**tensors: Tensor | None) -> None:
    """All given tensors on one device; else a ValueError naming the first that differs."""
    items = [(k, v) for k, v in tensors.items() if isinstance(v, Tensor)]
    if not items:
        return
    first, ref = items[0]
    for k, v in items[1:]:
        if v.device != ref.device:
            raise ValueError(
                f"`{k}` must be on the device of `{first}` ({ref.device}), got {v.device}"
            )


def same_dtype(**tensors: Tensor | None) -> None:
    """All given tensors of one dtype; else a TypeError naming the first that differs."""
    items = [(k, v) for k, v in tensors.items() if isinstance(v, Tensor)]
    if not items:
        return
    first, ref = items[0]
    for k, v in items[1:]:
        if v.dtype != ref.dtype:
            raise TypeError(f"`{k}` must have the dtype of `{first}` ({ref.dtype}), got {v.dtype}")


def number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    strict: bool = False,
    finite: bool = True,
    what: str = "",
) -> float:
    """A real number (Python, numpy or 0-d tensor scalar, never bool) as a float.

    ``minimum`` with ``strict`` asks for ``value > minimum``, else ``value >= minimum``.
    """
    if isinstance(value, Tensor) and value.ndim == 0 and not value.dtype.is_complex:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {_kind(value)}")
    v = float(value)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"`{name}` must be {what or 'a finite number'} (finite), got {v}")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        want = what or f"a number {'>' if strict else '>='} {minimum}"
        raise ValueError(f"`{name}` must be {want}, got {value!r}")
    return v


def positive(name: str, value: object) -> float:
    """A finite number > 0, as a float."""
    return number(name, value, minimum=0.0, strict=True, what="a positive number")


def non_negative(name: str, value: object) -> float:
    """A finite number >= 0, as a float."""
    return number(name, value, minimum=0.0, what="a non-negative number (a finite number >= 0)")


def probability(name: str, value: object, *, closed: bool = True) -> float:
    """A number in [0, 1] (or [0, 1) if not ``closed``), as a float."""
    v = number(name, value)
    if not (0.0 <= v <= 1.0) or (not closed and v == 1.0):
        raise ValueError(f"`{name}` must lie in [0, 1{']' if closed else ')'}, got {v}")
    return v


def unit_interval(name: str, x: Tensor) -> Tensor:
    """``x`` if every entry lies in [0, 1] (NaN rejected); else a ValueError."""
    if x.numel() and x.device.type != "meta" and not bool(((x >= 0) & (x <= 1)).all()):
        raise ValueError(f"`{name}` must hold values in [0, 1], got values outside (or NaN)")
    return x


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """An integer (Python or numpy, never bool) of at least ``minimum``, as an int."""
    if isinstance(value, Tensor) and value.ndim == 0 and not value.dtype.is_floating_point:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {_kind(value)}")
    if value < minimum:
        want = {0: "a non-negative int", 1: "a positive int (at least 1)"}.get(
            minimum, f"at least {minimum}"
        )
        raise ValueError(f"`{name}` must be {want}, got {value}")
    return int(value)


def invertible(name: str, A: Tensor) -> Tensor:
    """``A`` (square) if numerically invertible: sigma_min > n eps sigma_max.

    ``torch.linalg.inv`` reports only exact zero pivots, so a matrix that is singular but
    for rounding would give an inverse of size 1e16; this rejects it with a ValueError.
    """
    if A.numel() == 0 or A.device.type == "meta":
        return A
    if not bool(torch.isfinite(A).all()):
        raise ValueError(f"`{name}` must hold finite values, got NaN or infinite entries")
    sigma = torch.linalg.svdvals(A)
    eps = torch.finfo(A.real.dtype if A.is_complex() else A.dtype).eps
    if not float(sigma[-1]) > A.shape[-1] * eps * float(sigma[0]):
        raise ValueError(
            f"`{name}` must be invertible, got a singular matrix (condition number "
            f"{float(sigma[0]) / max(float(sigma[-1]), 1e-300):.3g})"
        )
    return A


def generator(name: str, g: object) -> torch.Generator | None:
    """``g`` if it is a ``torch.Generator`` or ``None``."""
    if g is not None and not isinstance(g, torch.Generator):
        raise TypeError(f"`{name}` must be a torch.Generator or None, got {_kind(g)}")
    return g


# --------------------------------------------------------------------------------------
# The guard every public function of a module wears
# --------------------------------------------------------------------------------------
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _tensors_in(name: str, value: object) -> Iterator[tuple[str, Tensor]]:
    if isinstance(value, Tensor):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, Tensor):
                yield f"{name}[{i}]", item


def _plain(value: object) -> object:
    """numpy scalars as the Python numbers they stand for (``np.float32(0.1)`` is a number)."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def guarded(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """``fn`` with the checks every public function shares.

    * numpy scalars become Python numbers (so ``lr=np.float32(0.1)`` works as in torch);
    * all tensor arguments (and tensors in list/tuple arguments) must share one device,
      else a ValueError names the argument that differs;
    * a meta tensor has no values to check: if ``fn`` fails on one, the error says so and
      names the argument, instead of torch's ``Tensor.item() cannot be called``.
    """
    params = list(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        args = tuple(_plain(a) for a in args)  # type: ignore[assignment]
        kwargs = {k: _plain(v) for k, v in kwargs.items()}  # type: ignore[assignment]
        named = [(params[i] if i < len(params) else f"args[{i}]", a) for i, a in enumerate(args)]
        found = [t for n, v in [*named, *kwargs.items()] for t in _tensors_in(n, v)]
        if found:
            first, ref = found[0]
            for n, t in found[1:]:
                if t.device != ref.device:
                    raise ValueError(
                        f"{fn.__name__}: `{n}` must be on the device of `{first}` "
                        f"({ref.device}), got {t.device}"
                    )
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, NotImplementedError) as exc:
            metas = [n for n, t in found if t.device.type == "meta"]
            bad = [
                n
                for n, t in found
                if t.device.type != "meta"
                and (t.dtype.is_floating_point or t.dtype.is_complex)
                and not bool(torch.isfinite(t).all())
            ]
            if type(exc).__name__.endswith("LinAlgError") and bad:
                raise ValueError(
                    f"{fn.__name__}: `{bad[0]}` must hold finite values, got NaN or infinite "
                    f"entries ({str(exc).splitlines()[0][:120]})"
                ) from None
            if metas:
                raise ValueError(
                    f"{fn.__name__}: `{metas[0]}` is on the meta device, which holds no "
                    f"values; {fn.__name__} needs them ({exc.__class__.__name__}: "
                    f"{str(exc).splitlines()[0][:120]})"
                ) from None
            raise

    return wrapper


def guard_module(namespace: dict[str, Any], names: Sequence[str]) -> None:
    """Wrap every public plain function among ``names`` in ``namespace`` with :func:`guarded`."""
    for name in names:
        value = namespace.get(name)
        if inspect.isfunction(value) and not hasattr(value, "__wrapped__"):
            namespace[name] = guarded(value)
