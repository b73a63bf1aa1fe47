r"""Where tensors live, and how to make a run repeat itself.

The book's GPU rule (Preface, "The GPU rule"; Appendix A.3, "The device rule"): every
chapter asks :func:`device` once, creates its tensors there, and every ``dlbook`` function
follows the device of its inputs. :func:`seed_everything` fixes every random number
generator a chapter touches, so the book prints the same numbers on every build.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["ENV_VAR", "available_devices", "device", "generator", "seed_everything"]

#: Environment variable that overrides the automatic choice, e.g. ``DLBOOK_DEVICE=cpu``.
ENV_VAR = "DLBOOK_DEVICE"

_KINDS = ("cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[torch.device]:
    r"""List the devices this machine can run tensors on, CPU first.

    Returns
    -------
    list of torch.device
        ``cpu``, then ``cuda`` if an NVIDIA GPU is usable, then ``mps`` on Apple silicon.

    Examples
    --------
    >>> available_devices()[0]
    device(type='cpu')
    """
    found = [torch.device("cpu")]
    if torch.cuda.is_available():
        found.append(torch.device("cuda"))
    if _mps_available():
        found.append(torch.device("mps"))
    return found


def device(name: str | torch.device | None = None) -> torch.device:
    r"""Pick the device a chapter computes on: CUDA, then MPS, then the CPU.

    The order of precedence is: the ``name`` argument, then the environment variable
    ``DLBOOK_DEVICE``, then the first available of CUDA, MPS and CPU.

    Parameters
    ----------
    name : str or torch.device, optional
        An explicit choice such as ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``.

    Returns
    -------
    torch.device

    Raises
    ------
    TypeError
        If ``name`` is neither a string, a ``torch.device`` nor ``None``.
    ValueError
        If the requested device is not a CPU/CUDA/MPS device or is not available here.

    Examples
    --------
    >>> device("cpu")
    device(type='cpu')
    """
    source = "argument 'name'"
    if name is None:
        env = os.environ.get(ENV_VAR, "").strip()
        if env:
            name, source = env, f"environment variable {ENV_VAR}"
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not isinstance(name, (str, torch.device)):
        raise TypeError(
            f"{source} must be a str, a torch.device or None, got {type(name).__name__}"
        )
    try:
        chosen = torch.device(name)
    except RuntimeError as err:
        raise ValueError(
            f"{source} = {name!r} is not a device; expected 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from err
    if chosen.type not in _KINDS:
        raise ValueError(
            f"{source} = {name!r} names a {chosen.type!r} device; expected one of {_KINDS}"
        )
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{source} = {name!r} asks for CUDA, but torch {torch.__version__} sees no "
                f"CUDA GPU on this machine; use 'cpu' or unset {ENV_VAR}"
            )
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ValueError(
                f"{source} = {name!r} asks for GPU {chosen.index}, but this machine has "
                f"{torch.cuda.device_count()} (numbered from 0)"
            )
    if chosen.type == "mps" and not _mps_available():
        raise ValueError(f"{source} = {name!r} asks for MPS, which is not available here")
    return chosen


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must lie in [0, 2**32), got {seed}")
    return int(seed)


def seed_everything(seed: int, *, deterministic: bool = True) -> torch.Generator:
    r"""Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU).

    Chapters call this once at the top so that every build prints the same numbers.
    Library functions never call it: they take an explicit seed or generator instead.

    Parameters
    ----------
    seed : int
        A seed in :math:`[0, 2^{32})`.
    deterministic : bool, default True
        Also ask PyTorch for deterministic kernels (cuDNN autotuning off, a warning
        rather than an error for operations that have no deterministic version).

    Returns
    -------
    torch.Generator
        A fresh CPU generator seeded with ``seed``, for code that takes one explicitly.

    Raises
    ------
    TypeError, ValueError
        If ``seed`` is not an integer in range.

    Examples
    --------
    >>> g = seed_everything(0)
    >>> a = torch.rand(2, generator=g); b = torch.rand(2, generator=seed_everything(0))
    >>> bool((a == b).all())
    True
    """
    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (chapters may still use the legacy global API)
    torch.manual_seed(seed)  # seeds every CUDA device too
    if deterministic:
        # cuBLAS needs this set before its first use to be deterministic on CUDA >= 10.2.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    r"""A ``torch.Generator`` on ``device`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        A seed in :math:`[0, 2^{32})`.
    device : str or torch.device, default "cpu"
        Where the generator draws numbers (it must match the device of the tensors drawn).

    Returns
    -------
    torch.Generator

    Examples
    --------
    >>> torch.randint(10, (3,), generator=generator(1)).tolist() == torch.randint(
    ...     10, (3,), generator=generator(1)).tolist()
    True
    """
    return torch.Generator(device=device).manual_seed(_check_seed(seed))
