r"""Training loops, evaluation and checkpoints for ``nn.Module``\ s.

The loop a chapter writes out by hand once (Chapter 7) is :func:`fit`: for each epoch,
for each mini-batch, compute the loss, back-propagate, step the optimiser; then evaluate
on the validation data and append every metric to a :class:`History`. Checkpoints are
written atomically and read back with ``torch.load(..., weights_only=True)``, which on
torch 2.10 or newer refuses to run code hidden in a file; it cannot vouch for the weights
themselves (Appendix A, "Saving your work").
"""

from __future__ import annotations

import io
import math
import os
import pickle
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dlbook._io import atomic_write
from dlbook.optim import EarlyStopping, clip_grad_norm_  # fit (Chapter 9)

__all__ = [
    "CHECKPOINT_FORMAT",
    "DatasetBatches",
    "History",
    "TensorBatches",
    "accuracy",
    "average_state_dicts",
    "evaluate",
    "fit",
    "load_checkpoint",
    "make_loader",
    "save_checkpoint",
    "train_epoch",
]

#: A metric maps (model outputs, targets) to a scalar tensor averaged over the batch.
Metric = Callable[[Tensor, Tensor], Tensor]
Data = tuple[Tensor, Tensor] | Iterable[tuple[Tensor, Tensor]] | torch.utils.data.Dataset[Any]

#: Tag stored in every checkpoint, with its version, so a foreign file is recognised.
CHECKPOINT_FORMAT = ("dlbook-checkpoint", 1)


def accuracy(logits: Tensor, targets: Tensor) -> Tensor:
    r"""Fraction of examples whose highest-scoring class is the target.

    .. math:: \mathrm{acc} = \frac{1}{N} \sum_{i=1}^{N} [\,\arg\max_k z_{ik} = y_i\,]

    Parameters
    ----------
    logits : Tensor, shape (N, K)
        Scores :math:`z_{ik}` (logits or probabilities: only their order matters).
    targets : Tensor, shape (N,)
        Integer class labels :math:`y_i`.

    Returns
    -------
    Tensor
        A float scalar in :math:`[0, 1]` on the device of ``logits``.

    Raises
    ------
    ValueError
        If the shapes do not fit together or ``N`` is zero.

    Examples
    --------
    >>> accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0]))
    tensor(0.5000)
    """
    if not isinstance(logits, Tensor) or not isinstance(targets, Tensor):
        raise TypeError(
            f"logits and targets must be tensors, got {type(logits).__name__} and "
            f"{type(targets).__name__}"
        )
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {tuple(logits.shape)}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(
            f"targets must have shape ({logits.shape[0]},) to match logits "
            f"{tuple(logits.shape)}, got {tuple(targets.shape)}"
        )
    if logits.shape[0] == 0:
        raise ValueError("accuracy of an empty batch is undefined (N = 0)")
    if targets.dtype not in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
        raise TypeError(f"targets must hold integer class labels, got dtype {targets.dtype}")
    hits = logits.argmax(dim=1) == targets.to(logits.device).long()
    return hits.to(torch.float32).mean()


@dataclass
class History:
    """Per-epoch record of a training run: ``history["val_accuracy"][-1]`` and so on."""

    epochs: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)

    def append(self, epoch: int, values: Mapping[str, float]) -> None:
        """Record one epoch's metric values."""
        self.epochs.append(epoch)
        for key, value in values.items():
            self.metrics.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.metrics:
            raise KeyError(f"no metric {key!r} in this history; it has {sorted(self.metrics)}")
        return self.metrics[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and floats (what ``torch.load(weights_only=True)`` accepts)."""
        return {
            "epochs": list(self.epochs),
            "metrics": {k: list(v) for k, v in self.metrics.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a history saved with :meth:`to_dict`."""
        return cls(list(data["epochs"]), {k: list(v) for k, v in data["metrics"].items()})


class TensorBatches:
    r"""Mini-batches ``(X[idx], y[idx])`` sliced straight from two tensors.

    Unlike a ``DataLoader`` over a ``TensorDataset``, which fetches examples one by one and
    stacks them again, this indexes whole batches at once, on the tensors' own device.
    With ``shuffle``, the order of epoch :math:`t` is a permutation drawn from a generator
    seeded with ``(seed, t)``: a run resumed at epoch :math:`t` from a checkpoint sees the
    same batches as one that never stopped. Epochs count from 1; each pass advances the
    epoch, and :meth:`set_epoch` sets it (as :func:`fit` does).

    Under ``torch.distributed`` (Chapter 22) every process draws the same order and keeps
    its own share of each batch (``tensor_split`` into one part per rank, in rank order),
    so the processes together see exactly the batches a single process would.
    """

    def __init__(self, X: Tensor, y: Tensor, batch_size: int, shuffle: bool, seed: int) -> None:
        self.X, self.y = X, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 1
        self.shard = True  # under torch.distributed: keep only this rank's share

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass epoch ``epoch`` (its shuffling order depends on it)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n, size = len(self.y), self.batch_size
        epoch, self.epoch = self.epoch, self.epoch + 1
        rank, world = _rank_and_world() if self.shard else (0, 1)
        if not self.shuffle:
            for start in range(0, n, size):
                if world == 1:
                    yield self.X[start : start + size], self.y[start : start + size]
                else:  # this rank's share of the batch
                    idx = torch.arange(start, min(start + size, n)).tensor_split(world)[rank]
                    idx = idx.to(self.X.device)
                    yield self.X[idx], self.y[idx]
            return
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)
        order = torch.randperm(n, generator=g).to(self.X.device)
        for start in range(0, n, size):
            idx = order[start : start + size]
            if world > 1:
                idx = idx.tensor_split(world)[rank]  # this rank's share of the batch
            yield self.X[idx], self.y[idx]


class DatasetBatches(TensorBatches):
    r"""Mini-batches drawn from a map-style ``torch.utils.data.Dataset`` by a ``DataLoader``.

    The same order as :class:`TensorBatches` (epoch :math:`t`'s permutation comes from a
    generator seeded with ``(seed, t)``, and under ``torch.distributed`` each process keeps
    its share of every batch), handed to a ``DataLoader`` as its batch sampler, which
    fetches ``dataset[i]`` for each index and stacks the examples with ``collate_fn``
    (default: ``torch.utils.data.default_collate``). So ``TensorDataset(X, y)`` gives
    exactly the batches of the pair ``(X, y)``; the examples stay where the dataset keeps
    them, and :func:`train_epoch` moves each batch to the model.
    """

    def __init__(
        self,
        dataset: torch.utils.data.Dataset[Any],
        batch_size: int,
        shuffle: bool,
        seed: int,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        num_workers: int = 0,
    ) -> None:
        n = len(dataset)  # type: ignore[arg-type]
        index = torch.arange(n)
        super().__init__(index, index, batch_size, shuffle, seed)
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.num_workers = num_workers

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        batches = [idx.tolist() for idx, _ in super().__iter__()]  # this epoch's index batches
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=batches,
            collate_fn=self.collate_fn,
            num_workers=self.num_workers,
        )
        yield from loader


def make_loader(
    X: Tensor | torch.utils.data.Dataset[Any],
    y: Tensor | None = None,
    *,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    num_workers: int = 0,
) -> TensorBatches:
    r"""Mini-batches of ``(X[i], y[i])``, or of a ``Dataset``; shuffled reproducibly from ``seed``.

    Two tensors are sliced a whole batch at a time (:class:`TensorBatches`); a map-style
    ``torch.utils.data.Dataset`` (``y`` omitted) is read example by example through a
    ``DataLoader`` in the same order (:class:`DatasetBatches`). Epoch :math:`t`'s order is
    a permutation drawn from a generator seeded with ``(seed, t)``.

    Parameters
    ----------
    X : Tensor of shape (N, ...), or Dataset
        The inputs, or a dataset whose items are ``(input, target)`` pairs.
    y : Tensor of shape (N, ...), optional
        The targets; required with a tensor ``X``, not allowed with a dataset.
    batch_size : int, default 64
    shuffle : bool, default False
    seed : int, default 0
    collate_fn : callable, optional
        For a dataset: how a list of examples becomes a batch (``DataLoader``'s argument).
    num_workers : int, default 0
        For a dataset: ``DataLoader`` worker processes (0: read in the main process).

    Returns
    -------
    TensorBatches
        An iterable of batches with ``set_epoch`` and ``len``.

    Raises
    ------
    TypeError
        If ``X`` is neither a tensor (with a tensor ``y``) nor a map-style dataset (without
        ``y``): an ``IterableDataset``, a list, a dataset given together with ``y``.
    ValueError
        If ``X`` and ``y`` have different lengths, ``batch_size`` is not positive or
        ``num_workers`` is negative.

    Examples
    --------
    >>> batches = make_loader(torch.arange(5.0), torch.arange(5), batch_size=2)
    >>> [b[1].tolist() for b in batches]
    [[0, 1], [2, 3], [4]]
    >>> pairs = torch.utils.data.TensorDataset(torch.arange(5.0), torch.arange(5))
    >>> [b[1].tolist() for b in make_loader(pairs, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if (
        isinstance(X, torch.utils.data.Dataset)
        and not isinstance(X, torch.utils.data.IterableDataset)
        and y is None
    ):
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
        if not hasattr(X, "__len__"):
            raise TypeError("the dataset must define __len__ (a map-style Dataset)")
        return DatasetBatches(X, batch_size, shuffle, seed, collate_fn, num_workers)
    if y is None:
        raise TypeError(
            f"make_loader needs X and y tensors or a map-style Dataset, got {type(X).__name__}"
            " and no y"
        )
    if not isinstance(X, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"X and y must be tensors, got {type(X).__name__} and {type(y).__name__}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    return TensorBatches(X, y, batch_size, shuffle, seed)


def _rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 outside ``torch.distributed``)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _as_loader(
    name: str, data: Data, batch_size: int, shuffle: bool, seed: int
) -> Iterable[tuple[Tensor, Tensor]]:
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data[0], data[1]
        if isinstance(X, Tensor) and isinstance(y, Tensor):
            return make_loader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, torch.utils.data.Dataset) and not isinstance(
        data, torch.utils.data.IterableDataset
    ):  # a map-style dataset: batched like a pair of tensors, in the same order
        return make_loader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, Iterable) and not isinstance(data, (Tensor, tuple, list, str)):
        return data
    raise TypeError(
        f"{name} must be a pair (X, y) of tensors, a map-style Dataset or an iterable of "
        f"(inputs, targets) batches such as a DataLoader, got {type(data).__name__}"
    )


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


def _check_batch_dtype(model: nn.Module, inputs: Tensor, name: str) -> None:
    """A floating batch must have the model's floating dtype (torch's matmul error is opaque)."""
    if not isinstance(inputs, Tensor) or not inputs.dtype.is_floating_point:
        return
    for p in model.parameters():
        if p.dtype.is_floating_point and p.dtype != inputs.dtype:
            raise TypeError(
                f"{name}: the inputs are {inputs.dtype} but the model's parameters are "
                f"{p.dtype}; convert one of them (model.to({inputs.dtype}) or x.to({p.dtype}))"
            )
        return


def evaluate(
    model: nn.Module,
    data: Data,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    *,
    metrics: Mapping[str, Metric] | None = None,
    batch_size: int = 512,
) -> dict[str, float]:
    r"""Average loss and metrics of ``model`` over ``data``, in eval mode and without grad.

    Batch values are weighted by batch size, so the result is the average over examples.

    Returns
    -------
    dict of str to float
        ``{"loss": ..., "<metric>": ...}`` (``"loss"`` only if ``loss_fn`` is given).
    """
    metrics = dict(metrics or {})
    loader = _as_loader("data", data, batch_size, False, 0)
    if isinstance(loader, TensorBatches):
        loader.shard = False  # every process evaluates all of the data
    device = _model_device(model)
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    try:  # a metric that raises must not leave the model in eval mode
        with torch.no_grad():
            for inputs, targets in loader:
                _check_batch_dtype(model, inputs, "evaluate")
                inputs, targets = inputs.to(device), targets.to(device)
                outputs = model(inputs)
                n = len(targets)
                count += n
                if loss_fn is not None:
                    loss = float(loss_fn(outputs, targets))
                    totals["loss"] = totals.get("loss", 0.0) + loss * n
                for key, metric in metrics.items():
                    totals[key] = totals.get(key, 0.0) + float(metric(outputs, targets)) * n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("data holds no examples")
    return {key: total / count for key, total in totals.items()}


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return os.environ.get("DLBOOK_PROGRESS", "1").strip().lower() not in {"0", "false", "no"}


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    batches: Iterable[tuple[Tensor, Tensor]],
    *,
    clip_grad_norm: float | None = None,
) -> float:
    r"""One pass of mini-batch training: the loop every chapter runs, written once.

    For each mini-batch :math:`B` in order: clear the gradients, compute the batch loss
    :math:`L_B(\theta) = \frac{1}{|B|} \sum_{i \in B} \ell(f_{\theta}(\mathbf{x}_i), y_i)`,
    back-propagate, and let the optimiser step (for plain SGD,
    :math:`\theta \leftarrow \theta - \eta \nabla_{\theta} L_B`). Defined in
    Chapter 7 (the training loop).

    Parameters
    ----------
    model : nn.Module
        Put in training mode; batches are moved to the device of its parameters.
    optimizer : torch.optim.Optimizer
        An optimiser over (some of) the model's parameters.
    loss_fn : callable
        ``loss_fn(outputs, targets)``, a scalar averaged over the batch.
    batches : iterable of (inputs, targets)
        The epoch's mini-batches, e.g. from :func:`make_loader`.
    clip_grad_norm : float, optional
        If given, rescale the gradients before each step so that their joint Euclidean
        norm is at most this (:func:`dlbook.optim.clip_grad_norm_`, Chapter 9).

    Returns
    -------
    float
        The epoch's training loss: the mean over examples of the batch losses as they were
        computed (each before its own step), i.e. :math:`\sum_B |B| L_B / \sum_B |B|`.

    Raises
    ------
    ValueError
        If ``batches`` holds no examples, or a batch's loss is not a scalar.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = nn.Linear(1, 1)
    >>> X = torch.linspace(-1, 1, 8).unsqueeze(1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    >>> losses = [train_epoch(model, optimizer, nn.MSELoss(), [(X, 3 * X)]) for _ in range(30)]
    >>> losses[-1] < 1e-3 < losses[0]
    True
    """
    device = _model_device(model)
    model.train()
    # Summed on the device: a float() per batch would wait for the GPU every time.
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for inputs, targets in batches:
        _check_batch_dtype(model, inputs, "train_epoch")
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        if loss.dim() != 0:
            raise ValueError(
                f"loss_fn must return a scalar (a loss averaged over the batch), got shape "
                f"{tuple(loss.shape)}"
            )
        loss.backward()
        if clip_grad_norm is not None:
            clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        total += loss.detach().double() * len(targets)
        count += len(targets)
    _, world = _rank_and_world()
    if world > 1:  # the mean over every process's examples
        both = torch.stack([total, torch.tensor(float(count), dtype=torch.float64, device=device)])
        torch.distributed.all_reduce(both)
        total, count = both[0], int(both[1])
    if count == 0:
        raise ValueError("batches holds no examples")
    return float(total) / count


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    train: Data,
    *,
    epochs: int,
    val: Data | None = None,
    metrics: Mapping[str, Metric] | None = None,
    batch_size: int = 64,
    seed: int = 0,
    device: str | torch.device | None = None,
    history: History | None = None,
    progress: bool | None = None,
    clip_grad_norm: float | None = None,
    early_stopping: int | EarlyStopping | None = None,
) -> History:
    r"""Train ``model`` by mini-batch gradient descent and record per-epoch metrics.

    For each epoch :math:`t` and mini-batch :math:`B`, take one optimiser step on
    :math:`\frac{1}{|B|}\sum_{i\in B} \ell(f_\theta(\mathbf{x}_i), y_i)`. After each epoch
    record ``train_loss`` (the mean over the epoch's batches, weighted by size) and, if
    ``val`` is given, ``val_loss`` and ``val_<metric>`` for every metric.

    Parameters
    ----------
    model, optimizer, loss_fn
        The network, an optimiser over its parameters, and a loss averaged over a batch.
    train : (X, y) or iterable of batches
        Training data; a pair of tensors is batched with :func:`make_loader`, shuffled
        from ``seed``; anything else (a ``DataLoader``, say) is iterated as it is.
    epochs : int
        Number of passes over ``train``.
    val : (X, y) or iterable of batches, optional
        Validation data evaluated after every epoch.
    metrics : mapping of str to callable, optional
        Extra metrics such as ``{"accuracy": accuracy}``.
    batch_size : int, default 64
    seed : int, default 0
        Seed of the shuffling order.
    device : str or torch.device, optional
        Move the model there first (default: leave it where it is). Batches follow the model.
    history : History, optional
        Continue this record (e.g. one restored from a checkpoint).
    progress : bool, optional
        Show a progress bar; by default on unless ``DLBOOK_PROGRESS=0`` (as in the book build).
    clip_grad_norm : float, optional
        Clip the gradients' joint Euclidean norm to this before every step
        (:func:`dlbook.optim.clip_grad_norm_`, Chapter 9).
    early_stopping : int or dlbook.optim.EarlyStopping, optional
        A patience, or an :class:`~dlbook.optim.EarlyStopping` (which then records the best
        and the stopping epoch): stop once ``val_loss`` has not improved for that many
        epochs, and load the weights of the best epoch back into the model at the end
        (Chapter 9). Needs ``val``.

    Returns
    -------
    History
        The epochs actually run (fewer than ``epochs`` if training stopped early).

    Notes
    -----
    Under ``torch.distributed`` with several processes (launched by ``torchrun``,
    Chapter 22) the same call trains data-parallel: the model is wrapped in
    ``DistributedDataParallel`` (unless it already is), each process takes its share of
    every batch of size ``batch_size`` from a pair ``(X, y)`` (an iterable of batches must
    be sharded by its own sampler, such as ``DistributedSampler``, whose ``set_epoch`` is
    called every epoch), the recorded losses are means over all processes, and only rank 0
    shows a progress bar. With every share of the same size, the parameters equal those of
    one process trained on the whole batches, up to round-off.
    """
    from tqdm.std import tqdm

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if clip_grad_norm is not None and (
        isinstance(clip_grad_norm, bool) or not float(clip_grad_norm) >= 0
    ):
        raise ValueError(f"clip_grad_norm must be a number >= 0, got {clip_grad_norm!r}")
    stopper = None
    if early_stopping is not None:
        if val is None:
            raise ValueError("early_stopping needs validation data: pass val=(X_val, y_val)")
        stopper = (
            early_stopping
            if isinstance(early_stopping, EarlyStopping)
            else EarlyStopping(early_stopping)
        )
    if device is not None:
        model.to(device)
    rank, world = _rank_and_world()
    if world > 1 and not isinstance(model, nn.parallel.DistributedDataParallel):
        on_gpu = _model_device(model).type == "cuda"
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[_model_device(model)] if on_gpu else None
        )
    history = history if history is not None else History()
    loader = _as_loader("train", train, batch_size, True, seed)
    start = history.epochs[-1] + 1 if history.epochs else 1
    # Off a terminal (a notebook, a log file) every refresh is a new output: refresh rarely.
    interactive = getattr(sys.stderr, "isatty", lambda: False)()
    bar = tqdm(
        range(start, start + epochs),
        desc="epochs",
        disable=not _progress_enabled(progress) or rank != 0,
        mininterval=0.1 if interactive else 5.0,
    )
    for epoch in bar:
        if isinstance(loader, TensorBatches):
            loader.set_epoch(epoch)
        elif callable(getattr(getattr(loader, "sampler", None), "set_epoch", None)):
            loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]  # DistributedSampler
        record = {
            "train_loss": train_epoch(
                model, optimizer, loss_fn, loader, clip_grad_norm=clip_grad_norm
            )
        }
        if val is not None:
            scores = evaluate(model, val, loss_fn, metrics=metrics, batch_size=max(batch_size, 512))
            record.update({f"val_{key}": value for key, value in scores.items()})
        history.append(epoch, record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items()})
        if stopper is not None and stopper.step(epoch, record["val_loss"], model):
            break
    bar.close()
    if stopper is not None and stopper.restore_best:
        stopper.restore(model)
    return history


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    history: History | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    r"""Save the model (and optimiser, history, extras) to ``path``, atomically.

    The file is complete or absent: it is written to a temporary file in the same folder
    and renamed over ``path`` only once fully on disk, so a crash or an error while saving
    leaves any earlier checkpoint at ``path`` intact.

    ``extra`` must hold only what ``torch.load(weights_only=True)`` accepts: tensors,
    numbers, strings, booleans, ``None`` and lists/tuples/dicts of them.

    Returns
    -------
    pathlib.Path
        The checkpoint's path.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not callable(getattr(optimizer, "state_dict", None)):
        raise TypeError(
            "optimizer must be a torch.optim.Optimizer (or have a state_dict()), got "
            f"{type(optimizer).__name__}"
        )
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(f"extra must be a mapping (dict), got {type(extra).__name__}")
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT[0],
        "version": CHECKPOINT_FORMAT[1],
        "model_class": type(model).__name__,
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "history": history.to_dict() if history is not None else None,
        "extra": dict(extra or {}),
    }
    # Check that the file will load *before* touching any earlier checkpoint at `path`:
    # an `extra` entry that weights_only refuses would otherwise replace a good file by
    # one that cannot be read.
    buffer = io.BytesIO()
    try:
        torch.save(payload, buffer)
        buffer.seek(0)
        torch.load(buffer, weights_only=True)
    except (pickle.PicklingError, pickle.UnpicklingError, TypeError, AttributeError) as exc:
        raise TypeError(
            "extra (and the optimizer's state) must hold only what torch.load(weights_only="
            "True) accepts: tensors, numbers, strings, booleans, None and lists/tuples/dicts "
            f"of them; got an entry it refuses ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0][:200]})"
        ) from None
    with atomic_write(path) as handle:
        handle.write(buffer.getbuffer())
    return Path(path)


def average_state_dicts(
    states: Sequence[Mapping[str, Tensor]], weights: Sequence[float] | None = None
) -> dict[str, Tensor]:
    r"""Average several ``state_dict``\ s of one architecture, entry by entry.

    .. math:: \bar{\theta} = \sum_{j=1}^{J} w_j \theta^{(j)} \Big/ \sum_{j=1}^{J} w_j

    with equal weights by default. Averaging the last few checkpoints of a run gives
    weights that are often better than any one of them: the noise of the last SGD steps
    averages out (the Transformer's results used the average of the last 5 or 20
    checkpoints). Floating-point entries are averaged (in
    float64, then cast back to their dtype); other entries (integer buffers such as a
    batch norm's ``num_batches_tracked``) are taken from the last state. Defined in
    Chapter 7 (saving and loading).

    Parameters
    ----------
    states : sequence of mappings str -> Tensor
        :math:`J \ge 1` state dicts with the same keys, shapes and dtypes.
    weights : sequence of float, optional
        :math:`w_j \ge 0`, not all zero; default all equal.

    Returns
    -------
    dict of str to Tensor
        A new state dict (fresh tensors, keys in the order of ``states[0]``), ready for
        ``model.load_state_dict``.

    Raises
    ------
    TypeError
        If ``states`` is not a sequence of mappings of tensors.
    ValueError
        If it is empty, the states disagree in keys, shapes or dtypes, or ``weights`` has
        the wrong length, a negative or non-finite entry, or sums to zero.

    References
    ----------
    A. Vaswani et al., "Attention is all you need", NeurIPS 2017, Section 6.1.

    Examples
    --------
    >>> a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    >>> b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(5)}
    >>> average_state_dicts([a, b])
    {'w': tensor([2., 4.]), 'n': tensor(5)}
    >>> average_state_dicts([a, b], weights=[3, 1])["w"]
    tensor([1.5000, 3.0000])
    """
    if isinstance(states, Mapping) or not isinstance(states, Sequence):
        raise TypeError(f"states must be a list of state dicts, got {type(states).__name__}")
    if len(states) == 0:
        raise ValueError("states must hold at least one state dict, got none")
    for j, state in enumerate(states):
        if not isinstance(state, Mapping):
            raise TypeError(
                f"states[{j}] must be a mapping (a state dict), got {type(state).__name__}"
            )
        for key, value in state.items():
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"states[{j}][{key!r}] must be a tensor, got {type(value).__name__}"
                )
    if weights is None:
        weights = [1.0] * len(states)
    if len(weights) != len(states):
        raise ValueError(
            f"weights must have one entry per state ({len(states)}), got {len(weights)}"
        )
    w = [float(x) for x in weights]
    if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) == 0:
        raise ValueError(f"weights must be finite, >= 0 and not all zero, got {list(weights)}")
    first = states[0]
    for j, state in enumerate(states[1:], start=1):
        if set(state) != set(first):
            diff = sorted(set(state) ^ set(first))
            raise ValueError(f"states[{j}] has different keys from states[0]: {diff[:5]}")
        for key, value in first.items():
            other = state[key]
            if other.shape != value.shape or other.dtype != value.dtype:
                raise ValueError(
                    f"states[{j}][{key!r}] has shape {tuple(other.shape)} and dtype "
                    f"{other.dtype}, but states[0] has {tuple(value.shape)} and {value.dtype}"
                )
    total = sum(w)
    averaged: dict[str, Tensor] = {}
    for key, value in first.items():
        if value.is_floating_point() or value.is_complex():
            acc_dtype = torch.complex128 if value.is_complex() else torch.float64
            acc = torch.zeros(value.shape, dtype=acc_dtype, device=value.device)
            for wj, state in zip(w, states, strict=True):
                acc += (wj / total) * state[key].to(device=value.device, dtype=acc_dtype)
            averaged[key] = acc.to(value.dtype)
        else:
            averaged[key] = states[-1][key].detach().to(value.device, copy=True)
    return averaged


def _state_mismatch(model: nn.Module, state: Mapping[str, Any]) -> str | None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = [
        f"{key}: file {tuple(state[key].shape)} vs model {tuple(own[key].shape)}"
        for key in own
        if key in state
        and isinstance(state[key], Tensor)
        and tuple(state[key].shape) != tuple(own[key].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing from the file: {missing[:5]}")
    if unexpected:
        problems.append(f"not in the model: {unexpected[:5]}")
    if wrong_shape:
        problems.append(f"different shapes: {wrong_shape[:5]}")
    return "; ".join(problems) or None


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device | None = None,
) -> dict[str, Any]:
    r"""Restore a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``).

    The file is read with ``torch.load(weights_only=True)``. It is checked against the
    model before anything is copied, so on any error the model is left unchanged.

    Parameters
    ----------
    path : path
        The checkpoint file.
    model : nn.Module
        A model of the same architecture; its parameters are overwritten.
    optimizer : torch.optim.Optimizer, optional
        Restored too if given and the file holds an optimiser state.
    map_location : str or torch.device, optional
        Where to load tensors (default: the model's device).

    Returns
    -------
    dict
        ``{"history": History or None, "extra": dict, "model_class": str}``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is corrupt, not a dlbook checkpoint, or made for another architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    location = map_location if map_location is not None else _model_device(model)
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a complete checkpoint: torch.save writes a zip archive, and this "
            "file is not one (truncated by an interrupted copy, or another kind of file)"
        )
    try:
        payload = torch.load(path, map_location=location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise ValueError(
            f"{path} could not be read as a checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'}); it may be truncated, "
            "corrupt, or not a PyTorch file"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT[0]:
        raise ValueError(f"{path} is a PyTorch file but not a dlbook checkpoint")
    if payload.get("version") != CHECKPOINT_FORMAT[1]:
        raise ValueError(
            f"{path} has checkpoint version {payload.get('version')}, this dlbook reads "
            f"version {CHECKPOINT_FORMAT[1]}"
        )
    problem = _state_mismatch(model, payload["model_state"])
    if problem is not None:
        raise ValueError(
            f"{path} was saved from a {payload.get('model_class')} whose parameters do not fit "
            f"this {type(model).__name__} ({problem})"
        )
    if optimizer is not None and payload.get("optimizer_state") is not None:
        # Before the model: torch checks the groups' sizes here, and a failure must leave
        # the model as it was.
        try:
            optimizer.load_state_dict(payload["optimizer_state"])
        except ValueError as err:
            raise ValueError(
                f"{path}: the optimiser state does not fit this optimiser ({err})"
            ) from err
    model.load_state_dict(payload["model_state"])
    saved = payload.get("history")
    return {
        "history": History.from_dict(saved) if saved is not None else None,
        "extra": payload.get("extra", {}),
        "model_class": payload.get("model_class"),
    }
