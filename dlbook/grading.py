r"""Grading homework: compare a student's function with the book's reference.

The exercise tests in ``exercises/`` call :func:`check` with the student's function, the
``dlbook`` reference and a list of :class:`Case`\ s. For every case the reference computes
the expected output first; then the student's function runs

* on fresh copies of the inputs (so an in-place change is caught and reported),
* in a child process forked for the check (on POSIX, while no GPU is in use), so that the
  time limit is enforced from outside (the parent kills the child: no signal to catch, no
  timer to cancel, on every Python version) and nothing the student's code does reaches
  the grader: the expected value is computed in the parent *after* the student's call,
  so no frame holds it while student code runs;
* with the reference it is compared against switched off wherever the student's code could
  reach it: every binding of it, and any function running the reference's code under
  another name (a default argument, a ``functools.partial``, a copy of its code object, its
  module imported again under another name, a helper that re-exports it) is stopped by a
  profile hook that recognises the reference's code by file and line;
* with the references' code snapshotted when the grader is imported, so a submission that
  patches a reference at import time is caught and the reference is restored.

A failure names the exercise, the input, the expected and the received value, the
shapes, and the largest error. :func:`load_submission` loads a student's stub file, or, to
prove the grading is real, a stand-in built from copies of the references.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "Case",
    "ForbiddenCallError",
    "GradingTimeoutError",
    "NotImplementedYetError",
    "ReferenceUsedError",
    "check",
    "check_raises",
    "describe",
    "load_submission",
    "references_hidden",
    "run_with_timeout",
    "with_references_hidden",
]


class NotImplementedYetError(AssertionError):
    """The student's function still raises ``NotImplementedError``."""


class ReferenceUsedError(AssertionError):
    """The student's function called (or is) the reference it is graded against."""


class ForbiddenCallError(ReferenceUsedError):
    """The student's function called something its exercise's statement forbids."""


class GradingTimeoutError(AssertionError):
    """The student's function did not return within its time limit."""


class _Alarm(BaseException):
    """Raised inside student code by the timer; a BaseException so ``except Exception``
    in the student's code cannot swallow it."""


class _ReferenceCalled(BaseException):
    """Raised inside student code when it calls the hidden reference (see _Alarm)."""


@dataclass(frozen=True)
class Case:
    """One input to grade on: a name for messages, positional and keyword arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Describing values in messages
# --------------------------------------------------------------------------------------
def describe(value: Any, *, limit: int = 8) -> str:
    """A short description of ``value`` for a failure message: type, shape, a few values."""
    if isinstance(value, Tensor):
        head = f"tensor(shape={tuple(value.shape)}, dtype={value.dtype}, device={value.device})"
        flat = value.detach().flatten()
        if 0 < flat.numel() <= limit and value.device.type != "meta":  # meta holds no values
            return f"{head} = {flat.cpu().tolist()}"
        return head
    if isinstance(value, np.ndarray):
        head = f"ndarray(shape={value.shape}, dtype={value.dtype})"
        if 0 < value.size <= limit:
            return f"{head} = {value.ravel().tolist()}"
        return head
    if isinstance(value, (bytes, bytearray)):
        return f"{type(value).__name__} of length {len(value)}: {bytes(value[:limit])!r}..."
    if isinstance(value, (tuple, list)):
        inner = ", ".join(describe(v, limit=limit) for v in value[:limit])
        return f"{type(value).__name__}[{inner}{', ...' if len(value) > limit else ''}]"
    if isinstance(value, Mapping):
        keys = list(value)
        inner = ", ".join(f"{k!r}: {describe(value[k], limit=limit)}" for k in keys[:limit])
        return f"{type(value).__name__}{{{inner}{', ...' if len(keys) > limit else ''}}}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe_case(case: Case) -> str:
    parts = [describe(a) for a in case.args]
    parts += [f"{k}={describe(v)}" for k, v in case.kwargs.items()]
    return f"input '{case.name}': ({', '.join(parts)})"


# --------------------------------------------------------------------------------------
# Loading a submission
# --------------------------------------------------------------------------------------
def _copy_function(
    function: Callable[..., Any], namespace: dict[str, Any] | None = None
) -> Callable[..., Any]:
    """A new function object running the same code, so it is not the reference object.

    The copy gets a private copy of its module's namespace in which the module's other
    functions are copies too, so a reference that calls a helper the grader hides (Chapter
    8's ``gradients`` calls ``topological_order``) still runs in reference mode.
    """
    if not isinstance(function, types.FunctionType):
        raise TypeError(f"reference must be a plain Python function, got {type(function)}")
    inner = getattr(function, "__wrapped__", None)
    if isinstance(inner, types.FunctionType):  # a dlbook function wearing _checks.guarded
        from dlbook import _checks

        wrapped = _checks.guarded(_copy_function(inner, namespace))
        wrapped.__module__ = "reference_solutions"
        return wrapped
    if namespace is None:
        home = function.__globals__
        namespace = dict(home)
        for key, value in list(namespace.items()):
            core = _innermost(value)
            if (
                isinstance(value, types.FunctionType)
                and isinstance(core, types.FunctionType)
                and core.__globals__ is home
            ):
                namespace[key] = _copy_function(value, namespace)
    # A copy marked as such, so the grader's call watch (which recognises the reference by
    # file and line) lets this sanctioned copy run.
    clone = types.FunctionType(
        function.__code__.replace(co_filename=f"{function.__code__.co_filename} (reference copy)"),
        namespace,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    clone.__kwdefaults__ = copy.copy(function.__kwdefaults__)
    clone.__doc__ = function.__doc__
    clone.__qualname__ = function.__qualname__
    clone.__module__ = "reference_solutions"
    return clone


def load_submission(
    path: str | Path,
    references: Mapping[str, Callable[..., Any]],
    *,
    mode: Literal["student", "reference"] = "student",
) -> types.ModuleType:
    """Load the functions to grade.

    Parameters
    ----------
    path : path
        The student's file (``exercises/<set>/<name>.py``).
    references : mapping of str to function
        The exercise names and the ``dlbook`` references they are graded against.
    mode : {"student", "reference"}
        ``"student"`` imports ``path`` afresh; ``"reference"`` returns a module holding a
        copy of each reference under the exercise's name (CI uses it to prove that every
        exercise test passes with a correct answer).

    Raises
    ------
    ValueError
        If ``mode`` is unknown.
    AttributeError
        If the student's file lacks a function an exercise needs.
    """
    path = Path(path)
    if mode == "reference":
        module = types.ModuleType("reference_solutions", f"copies of the references for {path}")
        for name, reference in references.items():
            setattr(module, name, _copy_function(reference))
        return module
    if mode != "student":
        raise ValueError(f"mode must be 'student' or 'reference', got {mode!r}")
    module_name = f"student_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # fresh every time: a re-run sees the student's edits
    before = {name: [_snapshot(f) for f in _chain(ref)] for name, ref in references.items()}
    spec.loader.exec_module(module)
    tampered = [  # a reference patched while the file was imported: put it back, and remember
        _label(references[name])
        for name, snaps in before.items()
        if any([_restore(snap) for snap in snaps])
    ]
    module.__dict__["__dlbook_tampered__"] = tampered
    missing = [name for name in references if not callable(getattr(module, name, None))]
    if missing:
        raise AttributeError(f"{path} must define the function(s) {missing}; did you rename one?")
    return module


# --------------------------------------------------------------------------------------
# Running student code: time limit and hidden reference
# --------------------------------------------------------------------------------------
def run_with_timeout(
    function: Callable[..., Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    seconds: float,
    what: str = "the function",
) -> Any:
    """Call ``function(*args, **kwargs)``; raise :class:`GradingTimeoutError` after ``seconds``.

    On POSIX, in the main thread, a timer signal interrupts the call (any Python-level
    loop stops). Elsewhere the call runs in a helper thread that is abandoned, still
    running, when time is up.
    """
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    kwargs = dict(kwargs or {})
    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    message = (
        f"{what} did not return within {seconds:g} s. Look for a loop that never ends, or "
        "work that grows much faster than the input (the reference takes milliseconds)."
    )
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return _run_with_alarm(function, args, kwargs, seconds, message)
    return _run_in_thread(function, args, kwargs, seconds, message)


def _run_with_alarm(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    seconds: float,
    message: str,
) -> Any:
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's

    def on_alarm(signum: int, frame: types.FrameType | None) -> None:
        raise _Alarm

    # Another timer (pytest-timeout's, say) may be running: put it back afterwards.
    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        return function(*args, **kwargs)
    except _Alarm:
        raise GradingTimeoutError(message) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay > 0:
            remaining = old_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-3), old_interval)


def _run_in_thread(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    seconds: float,
    message: str,
) -> Any:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as err:
            outcome["error"] = err

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise GradingTimeoutError(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _can_fork() -> bool:
    """Whether student code can run in a forked child (POSIX, and no CUDA context to lose)."""
    if not hasattr(os, "fork") or os.environ.get("DLBOOK_GRADING_IN_PROCESS") == "1":
        return False
    return not (torch.cuda.is_available() and torch.cuda.is_initialized())


class _FallbackError(Exception):
    """The inputs or the outcome of a call cannot cross between processes (a local function,
    a closure): that call runs in the grading process instead."""


def _autograd_bound(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` holds gradients or an autograd graph, which pickling would lose."""
    if depth > 6:
        return False
    if isinstance(value, Tensor):
        return value.grad is not None or value.grad_fn is not None
    if isinstance(value, torch.nn.Module):
        return any(p.grad is not None for p in value.parameters())
    if isinstance(value, (list, tuple)):
        return any(_autograd_bound(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return any(_autograd_bound(v, depth + 1) for v in value.values())
    return False


def _rebuild_array(data: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()


class _Pickler(pickle.Pickler):
    """A pickler that keeps a NumPy array's byte order (plain pickling makes it native)."""

    def reducer_override(self, obj: Any) -> Any:
        if (
            isinstance(obj, np.ndarray)
            and obj.dtype.byteorder not in "=|"
            and obj.dtype.isnative is False
        ):
            return _rebuild_array, (obj.tobytes(), obj.dtype.str, obj.shape)
        return NotImplemented


class _PickleModule:
    """What ``torch.save`` needs of a pickle module, with :class:`_Pickler`."""

    Pickler = _Pickler
    Unpickler = pickle.Unpickler
    load = staticmethod(pickle.load)
    __name__ = "pickle"


def _dumps(payload: Any) -> bytes:
    """Serialise what crosses between processes. ``torch.save`` writes each storage once,
    so a returned view of an input is still a view of it on the other side (plain pickling
    would give it a storage of its own, and an aliasing mistake would pass)."""
    import io

    buffer = io.BytesIO()
    torch.save(payload, buffer, pickle_module=_PickleModule)
    return buffer.getvalue()


def _loads(data: bytes) -> Any:
    import io

    return torch.load(io.BytesIO(data), weights_only=False)


def _send(fd: int, payload: Any) -> None:
    try:
        data = _dumps(payload)
    except Exception:  # the result (or the inputs after the call) cannot be sent back
        data = _dumps((("fallback",), [], True))
    os.write(fd, len(data).to_bytes(8, "big"))
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _receive(fd: int, length: int) -> bytes:
    chunks, left = [], length
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the grading child closed its pipe early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _error_info(err: BaseException) -> dict[str, Any]:
    pickled: bytes | None = None
    with contextlib.suppress(Exception):
        data = pickle.dumps(err)
        pickle.loads(data)  # it must also come back (its class importable, its args fit)
        pickled = data
    return {
        "pickled": pickled,
        "mro": [c.__name__ for c in type(err).__mro__],
        "message": str(err),
        "traceback": traceback.format_exc(),
    }


def _rebuild_error(info: Mapping[str, Any]) -> BaseException:
    """The child's exception, in the parent: itself if it travels, else its builtin base."""
    err: BaseException | None = None
    if info["pickled"] is not None:
        with contextlib.suppress(Exception):
            err = pickle.loads(info["pickled"])
    if err is None:
        import builtins

        for name in info["mro"]:
            cls = getattr(builtins, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                with contextlib.suppress(Exception):
                    err = cls(info["message"])
                    break
    if err is None:
        err = RuntimeError(info["message"])
    add_note = getattr(err, "add_note", None)
    if add_note is not None and not isinstance(err, _ReferenceCalled):
        add_note("In the grading child process:\n" + str(info["traceback"]))
    return err


def _run_forked(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    seconds: float,
    message: str,
    hits: list[str],
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """Run the call in a forked child; kill it after ``seconds`` (a limit no code inside can
    catch or cancel). Returns (result, args, kwargs) as they are after the call."""
    if _autograd_bound((tuple(args), dict(kwargs))):
        raise _FallbackError
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, send the outcome, exit without any cleanup
        try:
            os.close(read_fd)
            torch.set_num_threads(1)
            profile = sys.getprofile()
            sys.setprofile(profile)
            try:
                result = function(*args, **kwargs)
                outcome: tuple[Any, ...] = ("ok", result, tuple(args), dict(kwargs))
                if _autograd_bound(outcome[1:]):  # gradients do not survive pickling
                    outcome = ("fallback",)
            except BaseException as err:
                outcome = ("raise", _error_info(err))
            _send(write_fd, (outcome, list(hits), sys.getprofile() is profile))
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        import select

        ready, _, _ = select.select([read_fd], [], [], seconds)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            raise GradingTimeoutError(message)
        length = int.from_bytes(_receive(read_fd, 8), "big")
        outcome, child_hits, watched = _loads(_receive(read_fd, length))
    except EOFError:
        raise AssertionError(
            f"{message.split(' did not return')[0]} ended the process it ran in (os._exit, a "
            "crash, or a signal) without returning"
        ) from None
    finally:
        os.close(read_fd)
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return _unpack(outcome, child_hits, watched, message, hits)


class _ForkSession:
    """One forked child that runs every case of one ``check`` (one fork per check, not per
    case). It is forked at the first call, while the reference is hidden and the call watch
    is on, and keeps them for its whole life; it never holds an expected value."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.pid = 0
        self.requests = self.replies = -1

    def _start(self, hits: list[str]) -> None:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(from_parent)
                os.close(to_parent)
                self._serve(to_child, from_child, hits)
            finally:
                os._exit(0)
        os.close(to_child)
        os.close(from_child)
        self.pid, self.requests, self.replies = pid, from_parent, to_parent

    def _serve(self, read_fd: int, write_fd: int, hits: list[str]) -> None:
        torch.set_num_threads(1)
        profile = sys.getprofile()
        while True:
            header = os.read(read_fd, 8)
            if len(header) < 8:
                return
            args, kwargs, meta = _loads(_receive(read_fd, int.from_bytes(header, "big")))
            sys.setprofile(profile)  # re-armed: a hook that raised is switched off by Python
            function = _under_meta_scalars(self.function) if meta else self.function
            try:
                result = function(*args, **kwargs)
                outcome: tuple[Any, ...] = ("ok", result, tuple(args), dict(kwargs))
                if _autograd_bound(outcome[1:]):  # gradients do not survive pickling
                    outcome = ("fallback",)
            except BaseException as err:
                outcome = ("raise", _error_info(err))
            watched = sys.getprofile() is profile
            _send(write_fd, (outcome, list(hits), watched))
            hits.clear()

    def call(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        seconds: float,
        message: str,
        hits: list[str],
        meta: bool = False,
    ) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        if _autograd_bound((tuple(args), dict(kwargs))):  # .grad would be lost on the way
            raise _FallbackError
        try:
            request = _dumps((tuple(args), dict(kwargs), meta))
        except Exception:  # inputs that cannot travel (a local function): run in-process
            raise _FallbackError from None
        if not self.pid:
            self._start(hits)
        os.write(self.requests, len(request).to_bytes(8, "big"))
        view = memoryview(request)
        while view:
            view = view[os.write(self.requests, view) :]
        import select

        ready, _, _ = select.select([self.replies], [], [], seconds)
        if not ready:
            self.close()
            raise GradingTimeoutError(message)
        try:
            length = int.from_bytes(_receive(self.replies, 8), "big")
            outcome, child_hits, watched = _loads(_receive(self.replies, length))
        except EOFError:
            self.close()
            raise AssertionError(
                f"{message.split(' did not return')[0]} ended the process it ran in "
                "(os._exit, a crash, or a signal) without returning"
            ) from None
        return _unpack(outcome, child_hits, watched, message, hits)

    def close(self) -> None:
        if self.pid:
            for fd in (self.requests, self.replies):
                with contextlib.suppress(OSError):
                    os.close(fd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


#: The fork session of the check in progress (see check and check_raises).
_SESSIONS: list[_ForkSession] = []


@contextlib.contextmanager
def _fork_session(function: Callable[..., Any]) -> Iterator[None]:
    session = _ForkSession(function)
    _SESSIONS.append(session)
    try:
        yield
    finally:
        _SESSIONS.remove(session)
        session.close()


def _unpack(
    outcome: tuple[Any, ...], child_hits: list[str], watched: bool, message: str, hits: list[str]
) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    hits.extend(child_hits)
    if not watched and not child_hits:
        hits.append("the grader's call watch (sys.setprofile was changed)")
    if outcome[0] == "fallback":
        raise _FallbackError
    if outcome[0] == "raise":
        raise _rebuild_error(outcome[1])
    return outcome[1], outcome[2], outcome[3]


#: The label of a forbidden call starts with this (see _forbidden).
_FORBIDDEN = "forbidden: "


def _resolve_forbidden(name: str) -> list[tuple[Any, str, str]]:
    """(owner, attribute, label) for each callable a dotted name stands for.

    ``"torch.logsumexp"`` and ``"torch.Tensor.softmax"`` stand for themselves; a module
    (``"torch.nn.functional"``, ``"torch.distributions"``, ``"scipy.stats"``) for every
    public function, class or distribution object it defines (or, for torch, re-exports
    from torch's core), but not for what it merely imports (``typing``, ``Tensor``).
    """
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        break
    else:
        raise ValueError(f"forbid: cannot import any prefix of {name!r}")
    owner: Any = None
    for attribute in parts[i:]:
        owner, target = target, getattr(target, attribute)
    if isinstance(target, types.ModuleType):
        found = []
        for key, value in vars(target).items():
            if key.startswith("_") or not callable(value) or isinstance(value, types.ModuleType):
                continue
            origin = str(getattr(value, "__module__", "") or "")
            own = origin == name or origin.startswith(name + ".")
            core = origin in ("torch", "torch._C._nn") and not isinstance(value, type)
            if own or core or isinstance(value, np.ufunc):
                found.append((target, key, f"{name}.{key}"))
        return found
    if owner is None or not callable(target):
        raise ValueError(f"forbid: {name!r} is not a function, method or module")
    return [(owner, parts[-1], name)]


@contextlib.contextmanager
def _forbidden(
    names: Sequence[str], namespaces: Sequence[MutableMapping[str, Any]]
) -> Iterator[None]:
    """Make each named callable raise while the student's code runs; put them back after.

    The call is recorded (like a call of the hidden reference), so catching the exception
    does not help; bindings of the same objects in ``namespaces`` (``from torch import
    softmax`` in the student's file) are replaced too.
    """
    patched: list[tuple[Any, str, bool, Any]] = []
    rebound: list[tuple[MutableMapping[str, Any], str, Any]] = []
    try:
        blockers: dict[int, tuple[Any, _Blocked]] = {}
        for name in names:
            for owner, attribute, label in _resolve_forbidden(name):
                original = getattr(owner, attribute)
                blocker = _Blocked(_FORBIDDEN + label)
                blockers.setdefault(id(original), (original, blocker))
                patched.append((owner, attribute, attribute in vars(owner), original))
                setattr(owner, attribute, blocker)
        spaces = list(namespaces)
        spaces += [  # the same objects under their submodules' names (torch.distributions.normal)
            vars(module)
            for module_name, module in list(sys.modules.items())
            if module is not None and any(module_name.startswith(f"{n}.") for n in names)
        ]
        for space in spaces:
            for key, value in list(space.items()):
                hit = blockers.get(id(value))
                if hit is not None and hit[0] is value:
                    rebound.append((space, key, value))
                    space[key] = hit[1]
        yield
    finally:
        for space, key, value in reversed(rebound):
            space[key] = value
        for owner, attribute, own, original in reversed(patched):
            if own:
                setattr(owner, attribute, original)
            else:  # it was inherited (a method of torch._C.TensorBase): unshadow it
                delattr(owner, attribute)


def _map_tensors(value: Any, function: Callable[[Tensor], Any], depth: int = 0) -> Any:
    """``value`` with ``function`` applied to every tensor in it (containers, modules)."""
    if depth > 8:
        return value
    if isinstance(value, Tensor):
        return function(value)
    if isinstance(value, torch.nn.Module):
        module = copy.deepcopy(value)
        return module._apply(function)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(_map_tensors(v, function, depth + 1) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(v, function, depth + 1) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _map_tensors(v, function, depth + 1)) for k, v in value.items())
    return value


def _has_tensor(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if isinstance(value, Tensor):
        return True
    if isinstance(value, torch.nn.Module):
        return any(True for _ in value.parameters()) or any(True for _ in value.buffers())
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return any(_has_tensor(v, depth + 1) for v in value.values())
    return False


def _meta_copy(t: Tensor) -> Tensor:
    moved = t.detach().to("meta")
    return moved.requires_grad_() if t.requires_grad and moved.is_floating_point() else moved


def _on_meta(case: Case) -> Case | None:
    """The case with every input tensor (and every module) moved to the meta device."""
    if not _has_tensor((case.args, dict(case.kwargs))):
        return None
    return Case(
        f"{case.name}, every tensor on the meta device",
        tuple(_map_tensors(a, _meta_copy) for a in case.args),
        {k: _map_tensors(v, _meta_copy) for k, v in case.kwargs.items()},
    )


def _meta_scalars() -> Any:
    """A dispatch mode under which reading a number out of a meta tensor gives 0 (False).

    A meta tensor has a shape, a dtype and a device but no values; ``bool(t)``, ``t.item()``
    and ``int(t)`` would raise. Validation such as ``if (labels < 0).any(): raise`` then
    reads False and the computation goes on, so the devices of the results can be seen.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    local_scalar = torch.ops.aten._local_scalar_dense.default

    class MetaScalars(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]

        def __torch_dispatch__(
            self,
            func: Any,
            types: Any,
            args: Sequence[Any] = (),
            kwargs: Mapping[str, Any] | None = None,
        ) -> Any:
            if func is local_scalar and args and args[0].device.type == "meta":
                dtype = args[0].dtype
                if dtype == torch.bool:
                    return False
                return 0.0 if dtype.is_floating_point or dtype.is_complex else 0
            return func(*args, **(kwargs or {}))

    return MetaScalars()


def _under_meta_scalars(function: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with _meta_scalars():
            return function(*args, **kwargs)

    run.__name__ = getattr(function, "__name__", "run")
    return run


def _is_device_error(err: BaseException) -> bool:
    """Whether ``err`` is PyTorch refusing to mix tensors of two devices."""
    text = str(err)
    return any(
        clue in text
        for clue in (
            "not on the expected device",
            "same device",
            "two devices",
            "Expected all tensors",
            "on device cpu",
            "device type cpu",
        )
    )


def _device_problem(got: Any, expected: Any, where: str, depth: int = 0) -> str | None:
    """Where a result that should be on the meta device is not (or has another dtype)."""
    if depth > 8:
        return None
    if isinstance(expected, Tensor):
        if expected.device.type != "meta":
            return None
        if not isinstance(got, Tensor):
            return f"{where}: expected a torch.Tensor, got {describe(got)}"
        if got.device != expected.device:
            return (
                f"{where}: expected a tensor on {expected.device} (the inputs' device), got "
                f"one on {got.device}; create new tensors with device=<input>.device (and "
                "move tensors you were given nowhere)"
            )
        problem = _dtype_problem(got.dtype, expected.dtype)
        return f"{where}: {problem}" if problem else None
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        for i, (g, e) in enumerate(zip(got, expected, strict=False)):
            problem = _device_problem(g, e, f"{where}[{i}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(expected, Mapping) and isinstance(got, Mapping):
        for key in expected:
            if key in got:
                problem = _device_problem(got[key], expected[key], f"{where}[{key!r}]", depth + 1)
                if problem:
                    return problem
        return None
    if dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        for f in dataclasses.fields(expected):
            if hasattr(got, f.name):
                problem = _device_problem(
                    getattr(got, f.name), getattr(expected, f.name), f"{where}.{f.name}", depth + 1
                )
                if problem:
                    return problem
    return None


class _Blocked:
    """Stands in for the reference while the student's code runs."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _WATCHES:  # recorded, so that swallowing the exception does not help
            _WATCHES[-1].append(self.label)
        raise _ReferenceCalled(self.label)


#: The hit lists of the call watches in force (see _watch_calls).
_WATCHES: list[list[str]] = []


def _label(reference: Callable[..., Any]) -> str:
    return f"{reference.__module__}.{getattr(reference, '__qualname__', reference)}"


@contextlib.contextmanager
def _reference_hidden(
    reference: Callable[..., Any],
    namespaces: Sequence[MutableMapping[str, Any]],
    also: Sequence[Callable[..., Any]] = (),
) -> Iterator[None]:
    """Replace every binding of ``reference`` (and of ``also``) in dlbook and ``namespaces``."""
    blockers = {id(f): (f, _Blocked(_label(f))) for f in (reference, *also)}
    spaces: list[MutableMapping[str, Any]] = [
        vars(module)
        for name, module in list(sys.modules.items())
        if (name == "dlbook" or name.startswith("dlbook.")) and module is not None
    ]
    spaces.extend(namespaces)
    patched: list[tuple[MutableMapping[str, Any], str, Any]] = []
    for space in spaces:
        for key, value in list(space.items()):
            hit = blockers.get(id(value))
            if hit is not None and hit[0] is value:
                patched.append((space, key, value))
                space[key] = hit[1]
    try:
        yield
    finally:
        for space, key, value in reversed(patched):
            space[key] = value


_Snapshot = tuple[Any, Any, Any, Any]


def _snapshot(function: Callable[..., Any]) -> _Snapshot:
    """What a reference runs: its code, defaults and keyword defaults."""
    return (
        function,
        getattr(function, "__code__", None),
        getattr(function, "__defaults__", None),
        copy.copy(getattr(function, "__kwdefaults__", None)),
    )


def _restore(snap: _Snapshot) -> bool:
    """Put a reference back as snapshotted; True if something had changed."""
    function, code, defaults, kwdefaults = snap
    if code is None:
        return False
    changed = (
        function.__code__ is not code
        or function.__defaults__ is not defaults
        or function.__kwdefaults__ != kwdefaults
    )
    if changed:
        function.__code__, function.__defaults__ = code, defaults
        function.__kwdefaults__ = kwdefaults
    return bool(changed)


def _code_keys(functions: Sequence[Callable[..., Any]]) -> dict[tuple[str, int], str]:
    """(file, first line) of each function's code: any frame running it is the reference,
    whatever name, module copy or wrapper it was reached through."""
    keys: dict[tuple[str, int], str] = {}
    for f in functions:
        code = getattr(_innermost(f), "__code__", None)
        if code is not None:  # the function's own code, not a shared checking wrapper's
            keys[(code.co_filename, code.co_firstlineno)] = _label(f)
    return keys


def _chain(function: Any) -> list[Any]:
    """``function`` and every function it wraps (``__wrapped__``), outermost first."""
    chain = [function]
    while len(chain) < 16 and getattr(chain[-1], "__wrapped__", None) is not None:
        chain.append(chain[-1].__wrapped__)
    return chain


def _innermost(function: Any) -> Any:
    for _ in range(16):
        inner = getattr(function, "__wrapped__", None)
        if inner is None:
            break
        function = inner
    return function


@contextlib.contextmanager
def _watch_calls(keys: Mapping[tuple[str, int], str]) -> Iterator[list[str]]:
    """A profile hook that stops any call into the code in ``keys``; yields the hits."""
    hits: list[str] = []

    def hook(frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            label = keys.get((code.co_filename, code.co_firstlineno))
            if label is not None:
                hits.append(label)
                raise _ReferenceCalled(label)

    _WATCHES.append(hits)
    old = sys.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        yield hits
    finally:
        switched_off = sys.getprofile() is not hook and not hits
        sys.setprofile(old)
        threading.setprofile(None)
        _WATCHES.remove(hits)
        if switched_off:
            hits.append("the grader's call watch (sys.setprofile was changed)")


def _is_reference(function: Callable[..., Any], reference: Callable[..., Any]) -> bool:
    seen = 0
    current: Any = function
    target = getattr(_innermost(reference), "__code__", object())
    while current is not None and seen < 16:
        if current is reference or getattr(current, "__code__", None) is target:
            return True
        current = getattr(current, "__wrapped__", None)
        seen += 1
    return False


def _not_implemented(exercise: str, name: str, student: Callable[..., Any]) -> Exception:
    """The error for a student function that still raises ``NotImplementedError``."""
    return NotImplementedYetError(
        f"{exercise}: `{name}` is not implemented yet (it raises NotImplementedError). "
        f"Replace the `raise NotImplementedError` line in {_source_file(student)} with "
        "your code."
    )


def _forbidden_called(exercise: str, name: str, label: str) -> Exception:
    """The error for a student function that called what its statement forbids."""
    return ForbiddenCallError(
        f"{exercise}: `{name}` called {label[len(_FORBIDDEN) :]}, which the exercise's "
        "statement (README.md) forbids; it is unavailable while your code runs. Write "
        "that step yourself."
    )


def _call_student(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    case: Case,
    *,
    exercise: str,
    timeout: float,
    inputs_may_change: bool = False,
    also_hidden: Sequence[Callable[..., Any]] = (),
    forbid: Sequence[str] = (),
    meta: bool = False,
) -> tuple[Any, Sequence[Any], dict[str, Any]]:
    """Run ``student`` on copies of the case's inputs; return (result, args, kwargs).

    With ``meta``, reading a number out of a meta tensor gives 0 while it runs (see
    :func:`_meta_scalars`).
    """
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    name = getattr(student, "__name__", "your function")
    if _is_reference(student, reference):
        raise ReferenceUsedError(
            f"{exercise}: `{name}` is the reference {_label(reference)} itself. Write the "
            "function yourself; the grader compares it with that reference."
        )
    module = sys.modules.get(getattr(student, "__module__", "") or "")
    namespaces = [vars(module)] if module is not None else []
    tampered = getattr(module, "__dlbook_tampered__", None) if module is not None else None
    if tampered:
        raise ReferenceUsedError(
            f"{exercise}: importing your file changed the reference(s) {tampered}; the "
            "grader put them back. Write the function yourself."
        )
    args = copy.deepcopy(case.args)
    kwargs = copy.deepcopy(dict(case.kwargs))
    keys = _code_keys([reference, *also_hidden])
    try:
        what = f"{exercise}: `{name}` on {_describe_case(case)}"
        with (
            _reference_hidden(reference, namespaces, also_hidden),
            _forbidden(forbid, namespaces),
            _watch_calls(keys) as hits,
        ):
            target = _under_meta_scalars(student) if meta else student
            if _can_fork() and timeout > 0:
                message = (
                    f"{what} did not return within {timeout:g} s. Look for a loop that never "
                    "ends, or work that grows much faster than the input."
                )
                session = _SESSIONS[-1] if _SESSIONS else None
                try:
                    if session is not None and session.function is student:
                        result, args, kwargs = session.call(
                            args, kwargs, timeout, message, hits, meta
                        )
                    else:
                        result, args, kwargs = _run_forked(
                            target, args, kwargs, timeout, message, hits
                        )
                except _FallbackError:  # fresh copies, in this process, with the signal timer
                    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(dict(case.kwargs))
                    result = run_with_timeout(target, args, kwargs, seconds=timeout, what=what)
            else:
                result = run_with_timeout(target, args, kwargs, seconds=timeout, what=what)
        if hits:
            raise _ReferenceCalled(hits[0])
    except NotImplementedError:
        raise _not_implemented(exercise, name, student) from None
    except _ReferenceCalled as called:
        label = str(called.args[0])
        if label.startswith(_FORBIDDEN):
            raise _forbidden_called(exercise, name, label) from None
        what = (
            "the reference it is graded against"
            if called.args[0] == _label(reference)
            else "a dlbook function that does this exercise's work"
        )
        raise ReferenceUsedError(
            f"{exercise}: `{name}` called {called.args[0]}, {what}. That function is "
            "unavailable while your code runs: write it yourself (torch and numpy are allowed)."
        ) from None
    if not inputs_may_change:
        _check_inputs_untouched(case, args, kwargs, exercise=exercise, name=name)
    return result, args, kwargs


@contextlib.contextmanager
def references_hidden(
    function: Callable[..., Any],
    references: Sequence[Callable[..., Any]],
    *,
    exercise: str,
    forbid: Sequence[str] = (),
) -> Iterator[Callable[..., Any]]:
    """A block in which ``references`` are switched off; yields ``function``, watched.

    For graders that call the student's function themselves (the open tasks, graded on a
    measured property rather than with :func:`check`): inside the block the references
    are hidden as :func:`check` hides them, every binding of them in ``dlbook`` and in
    the student's module (``from dlbook.history import margin_perceptron as helper``
    included, which patching the dlbook module alone would miss), and any call running
    their code under another name is stopped; ``forbid`` is as for :func:`check`. Each
    call of the yielded function that used a hidden reference raises
    :class:`ReferenceUsedError` (:class:`ForbiddenCallError` for a forbidden call), even
    if the student's code caught the exception; ``NotImplementedError`` becomes
    :class:`NotImplementedYetError`. The references may be functions or classes (a class
    is switched off as a callable). The grader's own code inside the block must not call
    what is switched off. :func:`with_references_hidden` is the same, one call at a time.
    """
    references = list(references)
    for forbidden in forbid:  # a name that does not resolve is the test's mistake: say so now
        _resolve_forbidden(forbidden)
    name = getattr(function, "__name__", "your function")
    functions = [r for r in references if isinstance(_innermost(r), types.FunctionType)]
    for reference in references:
        if function is reference or (reference in functions and _is_reference(function, reference)):
            raise ReferenceUsedError(
                f"{exercise}: `{name}` is the dlbook function {_label(reference)} itself. "
                "Write the function yourself."
            )
    module = sys.modules.get(getattr(function, "__module__", "") or "")
    namespaces = [vars(module)] if module is not None else []

    def watched(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
        try:
            try:
                result = function(*args, **kwargs)
            finally:
                sys.setprofile(hook)  # re-armed: a hook that raised is switched off by Python
            if hits:
                raise _ReferenceCalled(hits[0])
        except NotImplementedError:
            raise _not_implemented(exercise, name, function) from None
        except _ReferenceCalled as called:
            label = str(called.args[0])
            if label.startswith(_FORBIDDEN):
                raise _forbidden_called(exercise, name, label) from None
            raise ReferenceUsedError(
                f"{exercise}: `{name}` called {label}, a dlbook function that does this "
                "exercise's work. It is unavailable while your code runs: write it yourself."
            ) from None
        return result

    watched.__name__ = name
    with contextlib.ExitStack() as stack:
        if references:
            stack.enter_context(_reference_hidden(references[0], namespaces, references[1:]))
        stack.enter_context(_forbidden(forbid, namespaces))
        hits = stack.enter_context(_watch_calls(_code_keys(functions)))
        hook = sys.getprofile()
        yield watched


def with_references_hidden(
    function: Callable[..., Any],
    references: Sequence[Callable[..., Any]],
    *,
    exercise: str,
    forbid: Sequence[str] = (),
) -> Callable[..., Any]:
    """``function`` wrapped so that each call runs inside :func:`references_hidden`."""

    def run(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
        with references_hidden(function, references, exercise=exercise, forbid=forbid) as call:
            return call(*args, **kwargs)

    run.__name__ = getattr(function, "__name__", "your function")
    return run


def _source_file(function: Callable[..., Any]) -> str:
    code = getattr(function, "__code__", None)
    return str(code.co_filename) if code is not None else "your file"


def _check_inputs_untouched(
    case: Case,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    exercise: str,
    name: str,
    allowed: set[int | str] | None = None,
) -> None:
    allowed = allowed or set()
    pairs = [
        (f"argument {i + 1}", a, b)
        for i, (a, b) in enumerate(zip(case.args, args, strict=True))
        if i not in allowed
    ]
    pairs += [(f"argument {k}", case.kwargs[k], kwargs[k]) for k in case.kwargs if k not in allowed]
    for where, before, after in pairs:
        if _differs(before, after):
            raise AssertionError(
                f"{exercise}: `{name}` changed its {where} in place on {_describe_case(case)}. "
                "Return a new value instead of modifying the input."
            )


def _differs(before: Any, after: Any) -> bool:
    if isinstance(before, Tensor) and isinstance(after, Tensor):
        if before.shape != after.shape or before.dtype != after.dtype:
            return True
        if before.device.type == "meta" or after.device.type == "meta":
            return False
        b, a = before.detach().cpu(), after.detach().cpu()
        both_nan = torch.isnan(b) & torch.isnan(a) if b.is_floating_point() else None
        if both_nan is not None:  # NaN inputs are unchanged if they are still NaN
            b, a = b.masked_fill(both_nan, 0), a.masked_fill(both_nan, 0)
        return not torch.equal(b, a)
    if isinstance(before, torch.nn.Module) and isinstance(after, torch.nn.Module):
        return before.training != after.training or _differs(
            dict(before.state_dict()), dict(after.state_dict())
        )
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        nan_able = before.dtype.kind in "fc"  # equal_nan raises on strings and objects
        return before.shape != after.shape or not np.array_equal(before, after, equal_nan=nan_able)
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        return len(before) != len(after) or any(map(_differs, before, after))
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return list(before) != list(after) or any(_differs(before[k], after[k]) for k in before)
    if dataclasses.is_dataclass(before) and not isinstance(before, type):
        return type(before) is not type(after) or any(
            _differs(getattr(before, f.name), getattr(after, f.name))
            for f in dataclasses.fields(before)
        )
    return False


# --------------------------------------------------------------------------------------
# Comparing outputs
# --------------------------------------------------------------------------------------
def _compare(
    got: Any, expected: Any, *, where: str, rtol: float, atol: float, check_dtype: bool
) -> str | None:
    """Return a description of how ``got`` differs from ``expected``, or None if it agrees."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return (
                f"{where}: expected a {type(expected).__name__} of {len(expected)} values, "
                f"got {describe(got)}"
            )
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = _compare(
                g, e, where=f"{where}[{i}]", rtol=rtol, atol=atol, check_dtype=check_dtype
            )
            if problem:
                return problem
        return None
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping) or set(got) != set(expected):
            return (  # the keys matter, not their order (a dict built in another order is fine)
                f"{where}: expected a mapping with keys {list(expected)}, got {describe(got)}"
            )
        for key in expected:
            problem = _compare(
                got[key],
                expected[key],
                where=f"{where}[{key!r}]",
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
            )
            if problem:
                return problem
        return None
    if dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        if type(got) is not type(expected):
            return f"{where}: expected a {type(expected).__name__}, got {describe(got)}"
        for f in dataclasses.fields(expected):
            problem = _compare(
                getattr(got, f.name),
                getattr(expected, f.name),
                where=f"{where}.{f.name}",
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
            )
            if problem:
                return problem
        return None
    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            return f"{where}: expected a torch.Tensor, got {describe(got)}"
        if got.device != expected.device:
            return (
                f"{where}: expected a tensor on {expected.device} (the inputs' device), got "
                f"one on {got.device}; create new tensors with device=<input>.device"
            )
    elif isinstance(expected, np.ndarray) and not isinstance(got, np.ndarray):
        return f"{where}: expected a numpy.ndarray, got {describe(got)}"
    if isinstance(expected, Tensor) and expected.device.type == "meta":  # no values to compare
        if tuple(got.shape) != tuple(expected.shape):
            return f"{where}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        problem = _dtype_problem(got.dtype, expected.dtype) if check_dtype else None
        return f"{where}: {problem}" if problem else None
    if isinstance(expected, (Tensor, np.ndarray)):
        return _compare_arrays(
            _values(got),
            _values(expected),
            got.dtype,
            expected.dtype,
            where=where,
            rtol=rtol,
            atol=atol,
            check_dtype=check_dtype,
        )
    if isinstance(expected, (bool, int, float, np.number)) and not isinstance(expected, bool):
        if isinstance(got, Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.number)):
            return f"{where}: expected a number like {expected!r}, got {describe(got)}"
        if not np.isclose(float(got), float(expected), rtol=rtol, atol=atol, equal_nan=True):
            return f"{where}: expected {expected!r}, got {got!r} (error {abs(got - expected):.3g})"
        return None
    try:
        same = bool(got == expected)
    except Exception:  # objects whose == is not a plain truth value
        same = got is expected
    if not same:
        return f"{where}: expected {describe(expected)}, got {describe(got)}"
    return None


def _values(array: Tensor | np.ndarray) -> np.ndarray:
    """A NumPy copy for comparison: float64 (or complex) values, on the host."""
    if isinstance(array, np.ndarray):
        return array
    array = array.detach().cpu()
    return (array if array.is_complex() else array.double()).numpy()


def _dtype_kind(dtype: Any) -> str:
    if isinstance(dtype, torch.dtype):
        if dtype == torch.bool:
            return "boolean"
        if dtype.is_complex:
            return "complex"
        return "floating-point" if dtype.is_floating_point else "integer"
    kind = np.dtype(dtype).kind
    return {"b": "boolean", "c": "complex", "f": "floating-point"}.get(kind, "integer")


def _dtype_problem(got: Any, expected: Any) -> str | None:
    """How the dtype ``got`` differs from ``expected`` (exactly, byte order included)."""
    if isinstance(expected, torch.dtype) or isinstance(got, torch.dtype):
        if got == expected:
            return None
        return (
            f"expected dtype {expected} ({_dtype_kind(expected)}), got {got} "
            f"({_dtype_kind(got)}); the statement fixes the result's dtype"
        )
    g, e = np.dtype(got), np.dtype(expected)
    if g == e:
        return None
    if g.newbyteorder("=") == e.newbyteorder("="):
        return (
            f"expected dtype {e.str!r} (the machine's native byte order), got {g.str!r}: "
            "convert with .astype(<dtype>.newbyteorder('='))"
        )
    return (
        f"expected dtype {e} ({_dtype_kind(e)}), got {g} ({_dtype_kind(g)}); the statement "
        "fixes the result's dtype"
    )


def _compare_arrays(
    got: np.ndarray,
    expected: np.ndarray,
    got_dtype: Any,
    expected_dtype: Any,
    *,
    where: str,
    rtol: float,
    atol: float,
    check_dtype: bool,
) -> str | None:
    if got.shape != expected.shape:
        return f"{where}: expected shape {expected.shape}, got shape {got.shape}"
    if check_dtype:
        problem = _dtype_problem(got_dtype, expected_dtype)
        if problem:
            return f"{where}: {problem}"
    if got.size == 0:
        return None
    g = got.astype(np.complex128 if np.iscomplexobj(got) else np.float64)
    e = expected.astype(np.complex128 if np.iscomplexobj(expected) else np.float64)
    close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    error = np.abs(g - e)
    error = np.where(np.isnan(error), np.inf, error)
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    return (
        f"{where}: {int((~close).sum())} of {close.size} values differ (rtol={rtol:g}, "
        f"atol={atol:g}); the largest error is {float(error[worst]):.3g} at index "
        f"{tuple(int(i) for i in worst)}: expected {e[worst].item()!r}, got {g[worst].item()!r}"
    )


def check(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    *,
    exercise: str,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    check_dtype: bool = True,
    timeout: float = 10.0,
    observe: Callable[[Any, Sequence[Any], Mapping[str, Any]], Any] | None = None,
    also_hidden: Sequence[Callable[..., Any]] = (),
    forbid: Sequence[str] = (),
    meta: bool | None = None,
) -> None:
    """Assert that ``student`` agrees with ``reference`` on every case.

    Values are compared in float64 with ``numpy.isclose(got, expected, rtol, atol)``;
    shapes must match exactly, and with ``check_dtype`` so must the dtype, exactly
    (``float32`` is not ``float64``; a NumPy array's byte order counts too). Output
    tensors must be on the inputs' device. Tuples, lists and mappings (e.g. a
    ``state_dict``) are compared entry by entry.

    **A second device.** Once every case agrees, the first few cases holding a tensor
    (at most four, within about a CPU second, and none whose reference took over a
    quarter of a CPU second, such as a training run) are graded again with their tensors
    (and modules) moved to PyTorch's ``meta`` device, which has shapes and dtypes but no
    values: a stand-in for a GPU on a CPU-only machine. Where the reference runs there,
    the student's results must be on ``meta`` too, with the same dtypes (values are not
    compared): a tensor made with ``torch.eye(n)`` instead of ``torch.eye(n,
    device=x.device)`` ends up on the CPU and fails. Reading a number out of a meta tensor
    gives 0 (``False``); a student's function that fails on meta for a reason other than
    mixing devices (it needs real values) is not held to it. ``meta=None`` (the default)
    does this, ``meta=False`` skips it (for a function that needs values: say why in the
    test), ``meta=True`` also takes slow cases and requires that at least one case runs.

    ``forbid`` names callables the statement forbids (``"torch.logsumexp"``,
    ``"torch.Tensor.softmax"``, or a whole module such as ``"torch.nn.functional"``):
    while the student's code runs they raise, and the call is recorded so that catching
    the error does not help (:class:`ForbiddenCallError`). They are put back afterwards.

    ``observe(result, args, kwargs)``, if given, says what to compare: it receives each
    function's result together with the (copied) inputs that function ran on, after the
    call. Use it when the effect to grade is on an input that is meant to change, e.g. a
    model trained in place: ``observe=lambda loss, args, kwargs: args[0].state_dict()``.
    With ``observe``, inputs may change; without it, changing an input is a failure.

    ``also_hidden`` lists other dlbook functions that would do the exercise's work (the
    reference is always hidden); they are switched off too while the student's code runs.

    Raises
    ------
    AssertionError
        (or a subclass) describing the first case that fails.
    """
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    if not cases:
        raise ValueError("cases must not be empty: a check with no input cannot fail")
    for forbidden in forbid:  # a name that does not resolve is the test's mistake: say so now
        _resolve_forbidden(forbidden)
    with _fork_session(student):
        seconds = _check_cases(
            student, reference, cases, exercise, rtol, atol, check_dtype, timeout, observe,
            also_hidden, forbid,
        )  # fmt: skip
        if meta is not False:
            # Meta operations are far slower than CPU ones (each goes through Python here):
            # unless meta=True, a case whose reference took long (a training run) is not
            # repeated on meta.
            chosen = [
                case
                for case, spent in zip(cases, seconds, strict=True)
                if meta is True or spent < _META_CPU_SECONDS
            ]
            if chosen:
                _check_on_meta(
                    student, reference, chosen, exercise, timeout, observe, also_hidden,
                    forbid, required=meta is True,
                )  # fmt: skip


#: A case whose reference needs more CPU seconds than this is not repeated on meta.
_META_CPU_SECONDS = 0.25
#: The meta pass grades at most this many cases, and stops taking new ones once it has
#: spent this many CPU seconds in the grading process.
_META_CASES = 4
_META_BUDGET = 1.0


def _check_on_meta(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    exercise: str,
    timeout: float,
    observe: Callable[[Any, Sequence[Any], Mapping[str, Any]], Any] | None,
    also_hidden: Sequence[Callable[..., Any]],
    forbid: Sequence[str],
    *,
    required: bool,
) -> None:
    """Grade each case again on the meta device: the results' devices and dtypes."""
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    name = getattr(student, "__name__", "your function")
    graded = 0
    if not any(_has_tensor((c.args, dict(c.kwargs))) for c in cases):
        return
    # PyTorch loads its meta kernels at the first meta operation (seconds): load them here,
    # once, and fork the child for this pass afresh, so that it inherits them.
    torch.empty(1, device="meta") + 1
    if _SESSIONS:
        _SESSIONS[-1].close()
    started = time.process_time()
    for plain in cases:
        if graded >= _META_CASES or (graded and time.process_time() - started > _META_BUDGET):
            break  # meta operations are slow: a few cases show where results are made
        case = _on_meta(plain)
        if case is None:
            continue
        try:
            with _meta_scalars():
                ref_args = copy.deepcopy(case.args)
                ref_kwargs = copy.deepcopy(dict(case.kwargs))
                expected = reference(*ref_args, **ref_kwargs)
                if observe is not None:
                    expected = observe(expected, ref_args, ref_kwargs)
        except Exception:  # the reference needs values here: nothing to grade on meta
            continue
        if not _has_meta(expected):
            continue
        graded += 1
        try:
            got, args, kwargs = _call_student(
                student,
                reference,
                case,
                exercise=exercise,
                timeout=timeout,
                inputs_may_change=True,
                also_hidden=also_hidden,
                forbid=forbid,
                meta=True,
            )
            if observe is not None:
                with _meta_scalars():
                    got = observe(got, args, kwargs)
        except ReferenceUsedError:
            raise
        except Exception as err:  # AssertionError included: a student's own `assert`
            if isinstance(err, (GradingTimeoutError, NotImplementedYetError)):
                continue  # a loop that waits for a value, or a meta kernel PyTorch lacks
            if not _is_device_error(err):
                continue  # it needs real values (.tolist(), .cpu(), nonzero): cannot tell
            raise AssertionError(
                f"{exercise}: `{name}` mixes devices. The grader ran it again with every "
                "input tensor on PyTorch's `meta` device (a stand-in for a GPU), and it "
                f"raised {type(err).__name__}: {err}\n  on {_describe_case(case)}. Create "
                "new tensors with device=<input>.device and move tensors you were given "
                "nowhere."
            ) from err
        problem = _device_problem(got, expected, "output")
        del expected
        if problem:
            raise AssertionError(
                f"{exercise}: the grader ran `{name}` again with every input tensor on "
                "PyTorch's `meta` device (a stand-in for a GPU, with no values) on "
                f"{_describe_case(case)}\n  {problem}"
            )
    if required and not graded:
        raise ValueError(
            f"{exercise}: meta=True, but the reference cannot run on the meta device on any "
            "case (pass meta=False for a function that needs values)"
        )


def _has_meta(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if isinstance(value, Tensor):
        return value.device.type == "meta"
    if isinstance(value, (list, tuple)):
        return any(_has_meta(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return any(_has_meta(v, depth + 1) for v in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_has_meta(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    return False


def _check_cases(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    exercise: str,
    rtol: float,
    atol: float,
    check_dtype: bool,
    timeout: float,
    observe: Callable[[Any, Sequence[Any], Mapping[str, Any]], Any] | None,
    also_hidden: Sequence[Callable[..., Any]],
    forbid: Sequence[str] = (),
) -> list[float]:
    """Grade every case; return the CPU seconds the reference took on each."""
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    seconds: list[float] = []
    for case in cases:
        # The student's function runs first: while it runs, no frame holds the expected value.
        try:
            got, args, kwargs = _call_student(
                student,
                reference,
                case,
                exercise=exercise,
                timeout=timeout,
                inputs_may_change=True,  # checked below, once the reference has run
                also_hidden=also_hidden,
                forbid=forbid,
            )
            if observe is not None:
                got = observe(got, args, kwargs)
        except AssertionError:
            raise
        except Exception as err:
            name = getattr(student, "__name__", "your function")
            raise AssertionError(
                f"{exercise}: `{name}` raised {type(err).__name__}: {err}\n  on "
                f"{_describe_case(case)} (see the traceback above for the line)"
            ) from err
        ref_args = copy.deepcopy(case.args)
        ref_kwargs = copy.deepcopy(dict(case.kwargs))
        started = time.process_time()
        expected = reference(*ref_args, **ref_kwargs)
        seconds.append(time.process_time() - started)
        if observe is None:
            # An argument the reference itself changes in place (a model it trains) may
            # change; any other change is the student's mistake.
            allowed: set[int | str] = {
                i
                for i, (a, b) in enumerate(zip(case.args, ref_args, strict=True))
                if _differs(a, b)
            }
            allowed |= {k for k in case.kwargs if _differs(case.kwargs[k], ref_kwargs[k])}
            name = getattr(student, "__name__", "your function")
            _check_inputs_untouched(
                case, args, kwargs, exercise=exercise, name=name, allowed=allowed
            )
        else:
            expected = observe(expected, ref_args, ref_kwargs)
        problem = _compare(
            got, expected, where="output", rtol=rtol, atol=atol, check_dtype=check_dtype
        )
        del expected, ref_args, ref_kwargs  # nothing of this case's answer outlives it
        if problem:
            raise AssertionError(f"{exercise}: on {_describe_case(case)}\n  {problem}")
    return seconds


def check_raises(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    error: type[Exception],
    *,
    exercise: str,
    timeout: float = 10.0,
    also_hidden: Sequence[Callable[..., Any]] = (),
    forbid: Sequence[str] = (),
) -> None:
    """Assert that ``student`` rejects each (bad) case with ``error``, as the reference does.

    ``also_hidden`` and ``forbid`` are as for :func:`check`.

    Raises
    ------
    ValueError
        If the reference itself does not raise ``error`` on a case (a broken test).
    AssertionError
        If the student's function returns, or raises something else.
    """
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    if not cases:
        raise ValueError("cases must not be empty: a check with no input cannot fail")
    for forbidden in forbid:  # a name that does not resolve is the test's mistake: say so now
        _resolve_forbidden(forbidden)
    with _fork_session(student):
        _check_raises_cases(
            student, reference, cases, error, exercise, timeout, also_hidden, forbid
        )


def _check_raises_cases(
    student: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Case],
    error: type[Exception],
    exercise: str,
    timeout: float,
    also_hidden: Sequence[Callable[..., Any]],
    forbid: Sequence[str] = (),
) -> None:
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    for case in cases:
        try:
            reference(*copy.deepcopy(case.args), **copy.deepcopy(dict(case.kwargs)))
        except error:
            pass
        else:
            raise ValueError(f"the reference accepts {_describe_case(case)}; not a bad input")
        name = getattr(student, "__name__", "your function")
        try:
            result, _, _ = _call_student(
                student,
                reference,
                case,
                exercise=exercise,
                timeout=timeout,
                also_hidden=also_hidden,
                forbid=forbid,
            )
        except (NotImplementedYetError, ReferenceUsedError, GradingTimeoutError):
            raise  # first: a stub's NotImplementedError must not pass as `error=Exception`
        except error:
            continue
        except Exception as err:
            raise AssertionError(
                f"{exercise}: `{name}` should raise {error.__name__} on {_describe_case(case)}, "
                f"but raised {type(err).__name__}: {err}"
            ) from err
        raise AssertionError(
            f"{exercise}: `{name}` should raise {error.__name__} on {_describe_case(case)}, "
            f"but returned {describe(result)}"
        )
