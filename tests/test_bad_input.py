"""Issue 13, bad input: a table-driven test over the public API of the Parts I-III modules.

Two tables.

1. *Derived from the docstrings*: every public function's own doctest example is recorded
   (its arguments), then each argument is replaced by a bad or unusual variant. The table
   ``MUTATIONS`` says what each variant must do: ``works`` (a transposed, non-contiguous
   copy of a tensor, a numpy scalar in place of a Python number: the same result as the
   example, as torch gives), ``error`` (a string for a tensor: ``TypeError``/``ValueError``)
   or ``clean`` (an empty tensor, an integer or NaN tensor, a list, a tensor on another
   device: it works or raises ``TypeError``/``ValueError``, never anything from torch).
2. *Hand-written rows* for the cases the issue names and the functions without a doctest
   call: ``(id, call, expected exception, message pattern)``.
"""

from __future__ import annotations

import doctest
import functools
import gzip
import importlib
import inspect
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from dlbook import autograd, calculus, data, layers, linalg, logistic, optim, prob, train

MODULES = [
    "activations",
    "linalg",
    "calculus",
    "prob",
    "linear",
    "logistic",
    "nn",
    "layers",
    "autograd",
    "optim",
    "data",
    "history",
]

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


@functools.cache
def recorded_calls(module: str) -> dict[str, Call]:
    """The first call each public function of ``module`` gets in the module's doctests."""
    mod = importlib.import_module(f"dlbook.{module}")
    names = list(getattr(mod, "__all__", []))
    calls: dict[str, Call] = {}
    globs = dict(mod.__dict__)
    for name in names:
        fn = getattr(mod, name)
        if inspect.isfunction(fn):

            def spy(*a: Any, _fn: Any = fn, _name: str = name, **k: Any) -> Any:
                snap = tuple(map(_freeze, a)), {key: _freeze(v) for key, v in k.items()}
                calls.setdefault(_name, (_fn, *snap))
                return _fn(*a, **k)

            globs[name] = spy
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(mod, f"dlbook.{module}", globs=globs):
        runner.run(test, out=lambda _: None, clear_globs=False)
    return calls


class _GeneratorState:
    """A generator's state at the time of the call, so every replay draws the same numbers."""

    def __init__(self, g: torch.Generator) -> None:
        self.state = g.get_state()


def _freeze(v: Any) -> Any:
    if isinstance(v, torch.Generator):
        return _GeneratorState(v)
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    return v


def _thaw(v: Any) -> Any:
    if isinstance(v, _GeneratorState):
        g = torch.Generator()
        g.set_state(v.state)
        return g
    if isinstance(v, torch.Tensor):
        return v.clone()  # a function may change its input in place
    return v


def _noncontiguous(t: torch.Tensor) -> torch.Tensor:
    out = t.mT.contiguous().mT  # same values, transposed strides
    assert not out.is_contiguous()
    return out


# kind -> (applies to, make the variant, expectation)
MUTATIONS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any], str]] = {
    "non-contiguous": (
        lambda v: isinstance(v, torch.Tensor) and v.ndim >= 2 and min(v.shape[-2:]) > 1,
        _noncontiguous,
        "works",
    ),
    "numpy float": (
        lambda v: isinstance(v, float) and not isinstance(v, bool),
        np.float32,
        "works",
    ),
    "numpy int": (
        lambda v: isinstance(v, int) and not isinstance(v, bool),
        np.int64,
        "works",
    ),
    "string": (lambda v: isinstance(v, torch.Tensor), lambda v: "not a tensor", "error"),
    "empty": (lambda v: isinstance(v, torch.Tensor) and v.ndim >= 1, lambda v: v[:0], "clean"),
    "meta device": (
        lambda v: isinstance(v, torch.Tensor) and v.ndim >= 1,
        lambda v: v.to("meta"),
        "clean",
    ),
    "integer dtype": (
        lambda v: isinstance(v, torch.Tensor) and v.dtype.is_floating_point,
        lambda v: v.round().to(torch.int64),
        "clean",
    ),
    "NaN": (
        lambda v: isinstance(v, torch.Tensor) and v.dtype.is_floating_point,
        lambda v: torch.full_like(v, math.nan),
        "clean",
    ),
    "list": (lambda v: isinstance(v, torch.Tensor), lambda v: v.tolist(), "clean"),
    "NaN number": (lambda v: isinstance(v, float), lambda v: math.nan, "clean"),
    "string number": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        lambda v: "3",
        "error",
    ),
}


def _cases() -> Iterator[Any]:
    for module in MODULES:
        for name, (fn, args, kwargs) in recorded_calls(module).items():
            slots = [(i, v) for i, v in enumerate(args)] + list(kwargs.items())
            for slot, value in slots:
                for kind, (applies, make, expect) in MUTATIONS.items():
                    if applies(value):
                        yield pytest.param(
                            fn,
                            args,
                            kwargs,
                            slot,
                            make,
                            expect,
                            id=f"{module}.{name}-{slot}-{kind}",
                        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return (
            isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and torch.allclose(a, b, equal_nan=True, atol=1e-6, rtol=1e-5)
        )
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float):
        return isinstance(b, float) and (math.isclose(a, b, rel_tol=1e-6) or a == b or a != a)
    if hasattr(a, "_fields") or hasattr(a, "__dataclass_fields__"):
        return (
            all(_same(getattr(a, f), getattr(b, f)) for f in vars(a))
            if hasattr(a, "__dict__")
            else all(map(_same, a, b))
        )
    return True  # other results (models, generators) are not compared


@pytest.mark.parametrize(("fn", "args", "kwargs", "slot", "make", "expect"), list(_cases()))
def test_docstring_calls_with_bad_arguments(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    slot: int | str,
    make: Callable[[Any], Any],
    expect: str,
) -> None:
    frozen_args, frozen_kwargs = args, kwargs
    args = tuple(map(_thaw, frozen_args))
    kwargs = {k: _thaw(v) for k, v in frozen_kwargs.items()}
    new_args = list(map(_thaw, frozen_args))
    new_kwargs = {k: _thaw(v) for k, v in frozen_kwargs.items()}
    if isinstance(slot, int):
        new_args[slot] = make(args[slot])
    else:
        new_kwargs[slot] = make(kwargs[slot])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if expect == "error":
            with pytest.raises((TypeError, ValueError)) as info:
                fn(*new_args, **new_kwargs)
            assert type(info.value) in (TypeError, ValueError), info.value
            return
        error: Exception | None = None
        try:
            torch.manual_seed(0)  # functions drawing from the global generator replay too
            got = fn(*new_args, **new_kwargs)
        except (TypeError, ValueError) as exc:
            error = exc
        if error is not None:
            assert expect == "clean", f"{fn.__name__} must accept this variant, raised {error!r}"
            assert type(error) in (TypeError, ValueError), f"not a plain error: {error!r}"
            return
        if expect == "works":
            torch.manual_seed(0)
            want = fn(*args, **kwargs)
            assert _same(want, got), f"{fn.__name__}: the variant changed the result"


def test_every_public_function_is_in_a_table() -> None:
    missing = []
    for module in MODULES:
        mod = importlib.import_module(f"dlbook.{module}")
        for name in getattr(mod, "__all__", []):
            fn = getattr(mod, name)
            recorded = name in recorded_calls(module)
            if inspect.isfunction(fn) and not recorded and f"{module}.{name}" not in HAND_COVERED:
                missing.append(f"{module}.{name}")
    assert not missing, f"public functions in neither table: {missing}"


# --------------------------------------------------------------------------------------
# Hand-written rows
# --------------------------------------------------------------------------------------
X = torch.randn(4, 3, dtype=torch.float64)
META = torch.zeros(4, 3, dtype=torch.float64, device="meta")
V = autograd.Variable(torch.ones(2, 3))


def _corrupt_gzip(tmp: Path) -> Path:
    raw = bytearray(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]) * 50))
    raw[20:30] = b"\xff" * 10
    path = tmp / "bad.idx.gz"
    path.write_bytes(bytes(raw))
    return path


ROWS: list[tuple[str, Callable[[Path], Any], type[Exception] | None, str]] = [
    # tensors on another device (meta simulates one)
    ("pinv/meta-b", lambda _: linalg.least_squares(X, META[:, 0]), ValueError, "device"),
    (
        "mse/meta",
        lambda _: importlib.import_module("dlbook.linear").mse(X, META),
        ValueError,
        "`y_true`|device",
    ),
    (
        "bayes/meta",
        lambda _: prob.bayes_posterior(torch.tensor([0.5, 0.5]), torch.ones(2, device="meta")),
        ValueError,
        "device",
    ),
    (
        "layer_norm/meta",
        lambda _: layers.layer_norm(X, torch.ones(3, device="meta"), torch.zeros(3)),
        ValueError,
        "device",
    ),
    (
        "adam/meta",
        lambda _: optim.adam_update(X, META, torch.zeros_like(X), torch.zeros_like(X), 1, lr=0.1),
        ValueError,
        "device",
    ),
    (
        "ce/meta-labels",
        lambda _: logistic.softmax_cross_entropy(
            X, torch.zeros(4, dtype=torch.long, device="meta")
        ),
        ValueError,
        "device",
    ),
    (
        "one_hot/meta",
        lambda _: data.one_hot(torch.zeros(3, dtype=torch.long, device="meta"), 2),
        ValueError,
        "meta",
    ),
    # numpy scalars are numbers
    (
        "SGD/np.float32-lr",
        lambda _: optim.SGD([torch.zeros(2, requires_grad=True)], lr=np.float32(0.1)),  # type: ignore[arg-type]
        None,
        "",
    ),
    (
        "Adam/np-betas",
        lambda _: optim.Adam(
            [torch.zeros(2, requires_grad=True)],
            lr=0.1,
            betas=(np.float32(0.9), np.float64(0.99)),  # type: ignore[arg-type]
        ),
        None,
        "",
    ),
    ("step_lr/np", lambda _: optim.step_lr(np.int64(3), lr=np.float32(1.0), step_size=2), None, ""),  # type: ignore[arg-type]
    (
        "lr/NaN",
        lambda _: optim.SGD([torch.zeros(2, requires_grad=True)], lr=math.nan),
        ValueError,
        r"`lr` must be .*\(finite\), got nan",
    ),
    ("lr/bool", lambda _: optim.sgd_update(X, X, lr=True), TypeError, "lr"),
    # integer labels of every dtype; non-integer labels rejected clearly
    (
        "ce/int16",
        lambda _: logistic.softmax_cross_entropy(X, torch.tensor([0, 1, 2, 0], dtype=torch.int16)),
        None,
        "",
    ),
    (
        "ce/bool",
        lambda _: logistic.softmax_cross_entropy(X, torch.tensor([True] * 4)),
        TypeError,
        "integer class labels",
    ),
    ("accuracy/float", lambda _: train.accuracy(X, torch.zeros(4)), TypeError, "integer"),
    # targets outside [0, 1]
    (
        "bce/targets>1",
        lambda _: logistic.binary_cross_entropy_with_logits(
            torch.zeros(3), torch.tensor([0.0, 2.0, 1.0])
        ),
        ValueError,
        r"\[0, 1\]",
    ),
    # shapes torch and numpy agree on: keepdim=True with dim=None keeps every axis
    (
        "reduce_sum/keepdim",
        lambda _: autograd.reduce_sum(V, None, True).shape == (1, 1) or 1 / 0,
        None,
        "",
    ),
    ("mean/keepdim", lambda _: autograd.mean(V, None, True).shape == (1, 1) or 1 / 0, None, ""),
    ("mean/dim-out-of-range", lambda _: autograd.mean(V, 5), ValueError, "`dim`"),
    # autograd ops without doctest calls
    ("add/bad", lambda _: autograd.add(V, "x"), TypeError, "operand"),  # type: ignore[arg-type]
    (
        "sub/shapes",
        lambda _: autograd.sub(V, autograd.Variable(torch.ones(4))),
        ValueError,
        "broadcast",
    ),
    (
        "mul/devices",
        lambda _: autograd.mul(V, torch.ones(2, 3, device="meta")),
        ValueError,
        "live on cpu and meta",
    ),
    ("div/number", lambda _: autograd.div(V, np.float32(2.0)), None, ""),  # type: ignore[arg-type]
    ("neg/not-variable", lambda _: autograd.neg(torch.ones(2)), TypeError, "Variable"),  # type: ignore[arg-type]
    ("matmul/inner", lambda _: autograd.matmul(V, V), ValueError, "inner sizes"),
    ("reshape/size", lambda _: autograd.reshape(V, (4,)), ValueError, "cannot reshape"),
    (
        "transpose/1d",
        lambda _: autograd.transpose(autograd.Variable(torch.ones(3))),
        ValueError,
        "2",
    ),
    (
        "gradients/grad-dtype",
        lambda _: autograd.gradients(V * 2.0, [V], torch.ones(2, 3, dtype=torch.int64)),
        TypeError,
        "`grad`",
    ),
    ("linear_backward/int", lambda _: autograd.linear_backward(X.long(), X, X), TypeError, "`X`"),
    # files and checkpoints
    (
        "read_idx/corrupt-gzip",
        lambda tmp: data.read_idx(_corrupt_gzip(tmp)),
        ValueError,
        "cannot be decompressed",
    ),
    (
        "save_checkpoint/dlbook-optim",
        lambda tmp: train.save_checkpoint(
            tmp / "c.pt",
            nn.Linear(2, 1),
            optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1),  # type: ignore[arg-type]
        ),
        TypeError,
        "optimizer",
    ),
    (
        "save_checkpoint/extra",
        lambda tmp: train.save_checkpoint(tmp / "c.pt", nn.Linear(2, 1), extra={"f": object()}),
        TypeError,
        "weights_only",
    ),
    # NaN where a linear-algebra routine would fail inside LAPACK
    ("pinv/NaN", lambda _: linalg.pinv(torch.full((2, 2), math.nan)), ValueError, "finite"),
    (
        "fit_least_squares/NaN",
        lambda _: importlib.import_module("dlbook.linear").fit_least_squares(
            torch.full((3, 2), math.nan), torch.zeros(3)
        ),
        ValueError,
        "finite",
    ),
    (
        "condition_number/inf",
        lambda _: linalg.condition_number(torch.tensor([[math.inf, 0], [0, 1.0]])),
        ValueError,
        "finite",
    ),
    # seeds and flags
    (
        "separable_data/seed",
        lambda _: importlib.import_module("dlbook.history").separable_data(10, 0.1, seed="0"),
        TypeError,
        "`seed`",
    ),
    (
        "lasso_lambda_max/flag",
        lambda _: importlib.import_module("dlbook.linear").lasso_lambda_max(
            X, X[:, 0], fit_intercept="yes"
        ),
        TypeError,
        "fit_intercept",
    ),
    (
        "numerical_gradient/transposed",
        lambda _: (
            calculus.numerical_gradient(lambda v: (v**2).sum(), _noncontiguous(X)).shape == X.shape
            or 1 / 0
        ),
        None,
        "",
    ),
    (
        "empirical_cdf/list-x",
        lambda _: prob.empirical_cdf(torch.tensor([1.0, 2.0]), [1.5]),  # type: ignore[arg-type]
        None,
        "",
    ),
]

HAND_COVERED = {
    "nn.linear_backward",
    "nn.relu_prime",
    "nn.sigmoid",
    "nn.sigmoid_prime",  # the same objects as in autograd, calculus and logistic
    "activations.relu_prime",
    "activations.sigmoid",
    "activations.sigmoid_prime",  # re-exports of calculus's and logistic's, tested there
    *(
        f"autograd.{n}"
        for n in (
            "add",
            "div",
            "matmul",
            "mean",
            "mul",
            "neg",
            "reduce_sum",
            "reshape",
            "sub",
            "transpose",
        )
    ),
    # data generators and file helpers: tests/test_data.py checks their arguments one by one
    *(
        f"data.{n}"
        for n in (
            "deduplicate_paragraphs",
            "download",
            "gaussian_grid",
            "gaussian_ring",
            "karate_club",
            "load_mnist",
            "photo",
            "read_idx",
            "spirals",
            "stock_prices",
            "text_corpus",
            "two_moons",
            "write_idx",
            "xor",
        )
    ),
}


@pytest.mark.parametrize(
    ("call", "error", "pattern"), [pytest.param(*r[1:], id=r[0]) for r in ROWS]
)
def test_hand_written_rows(
    tmp_path: Path, call: Callable[[Path], Any], error: type[Exception] | None, pattern: str
) -> None:
    if error is None:
        call(tmp_path)  # must work
        return
    with pytest.raises(error, match=pattern) as info:
        call(tmp_path)
    assert type(info.value) is error
