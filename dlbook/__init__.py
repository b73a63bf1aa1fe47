r"""dlbook: the tested reference implementations of *Deep Learning, Executable*.

Each module serves one topic of the book and says which chapter defines what:

========================  ==================================================
``dlbook.devices``        device choice (:func:`device`) and seeding (Preface, App. A)
``dlbook.data``           the book's offline data sets and the IDX loader
``dlbook.train``          the training loop, metrics, checkpoints (Chapter 7)
``dlbook.plot``           the book's figure style and common plots
``dlbook.book``           numbers quoted in the prose, checked against bands
``dlbook.grading``        the homework grader used by ``exercises/``
``dlbook.history``        threshold units, the perceptron, parity (Chapter 1)
``dlbook.linalg``         norms, structured matrices, SVD, PCA, least squares (Ch. 2)
``dlbook.calculus``       gradients, Jacobians, gradient checks, GD and Newton (Ch. 3)
``dlbook.prob``           densities, Gaussians, entropy, KL, mutual information (Ch. 4)
``dlbook.linear``         linear regression: features, ridge, lasso (Chapter 5)
``dlbook.logistic``       log-sum-exp, softmax, logistic and softmax regression (Ch. 6)
``dlbook.activations``    activation functions and their derivatives (Chapter 8)
``dlbook.autograd``       a reverse-mode automatic differentiation engine (Chapter 8)
``dlbook.nn``             activations and an MLP on that engine (Chapter 8)
``dlbook.optim``          SGD, momentum, RMSProp, Adam(W), schedules (Chapter 9)
``dlbook.layers``         initialisation, batch/layer norm, dropout (Chapter 9)
``dlbook.cnn``            convolution from loops to im2col, pooling, CNNs (Chapter 10)
``dlbook.rnn``            RNN, LSTM and GRU layers, BPTT, clipping (Chapter 11)
``dlbook.attention``      attention, multi-head attention, transformer blocks (Ch. 12)
``dlbook.bpe``            tokenisers: characters and byte-level BPE (Chapter 13)
``dlbook.lm``             n-grams, a small GPT with KV cache, decoding, scaling (Ch. 13)
``dlbook.generative``     Part V: EBMs, VAEs, GANs, flows, diffusion (Ch. 14-17)
``dlbook.graphs``         adjacency, message passing, GCN, label propagation (Ch. 18)
``dlbook.ssl``            augmentations, InfoNCE / NT-Xent, linear probes (Ch. 19)
``dlbook.meta``           MAML, second- and first-order, on sine regression (Ch. 19)
``dlbook.robust``         FGSM, PGD, attributions, fairness metrics (Chapter 20)
``dlbook.rl``             MDPs, value iteration, Q-learning, CartPole, DQN, PG (Ch. 21)
``dlbook.distributed``    FLOPs, mixed precision, DDP under torchrun (Chapter 22)
========================  ==================================================
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from dlbook.devices import available_devices, device, generator, seed_everything

if TYPE_CHECKING:
    from dlbook import (
        activations,
        attention,
        autograd,
        book,
        bpe,
        calculus,
        cnn,
        data,
        distributed,
        generative,
        grading,
        graphs,
        history,
        layers,
        linalg,
        linear,
        lm,
        logistic,
        meta,
        nn,
        optim,
        plot,
        prob,
        rl,
        rnn,
        robust,
        ssl,
        train,
    )

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "attention",
    "autograd",
    "book",
    "bpe",
    "calculus",
    "cnn",
    "data",
    "devices",
    "distributed",
    "generative",
    "grading",
    "graphs",
    "history",
    "layers",
    "linalg",
    "linear",
    "lm",
    "logistic",
    "meta",
    "nn",
    "optim",
    "plot",
    "prob",
    "rl",
    "rnn",
    "robust",
    "ssl",
    "train",
)

__all__ = [
    "__version__",
    "activations",
    "attention",
    "autograd",
    "available_devices",
    "book",
    "bpe",
    "calculus",
    "cnn",
    "data",
    "device",
    "devices",
    "distributed",
    "generative",
    "generator",
    "grading",
    "graphs",
    "history",
    "layers",
    "linalg",
    "linear",
    "lm",
    "logistic",
    "meta",
    "nn",
    "optim",
    "plot",
    "prob",
    "rl",
    "rnn",
    "robust",
    "seed_everything",
    "ssl",
    "train",
]


def __getattr__(name: str) -> ModuleType:
    # `import dlbook; dlbook.data.load_digits()` works without importing every module
    # (and matplotlib) up front.
    if name in _SUBMODULES:
        return importlib.import_module(f"dlbook.{name}")
    raise AttributeError(f"module 'dlbook' has no attribute {name!r}")
