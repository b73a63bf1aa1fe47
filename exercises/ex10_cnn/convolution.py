"""Exercise set 10: convolutional networks (statements in README.md beside this file).

Replace each ``raise NotImplementedError(...)`` with your code, then grade your work:

    make grade EX=ex10_cnn

You may use torch and math (Exercise 10.1 without F.conv2d/F.unfold, Exercise 10.2 without
F.max_pool2d). The dlbook function each exercise is graded against is switched off while
your code runs.
"""

from __future__ import annotations

import math  # noqa: F401 (you will want it)
from collections.abc import Sequence

import torch  # noqa: F401 (you will want it)
from torch import Tensor, nn


def conv2d(
    input: Tensor,  # noqa: A002 (torch's name)
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Exercise 10.1: 2-D convolution by im2col and one matrix product."""
    raise NotImplementedError("Exercise 10.1: conv2d")


def max_pool2d(
    input: Tensor,  # noqa: A002 (torch's name)
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
) -> Tensor:
    """Exercise 10.2: 2-D max pooling with PyTorch's conventions."""
    raise NotImplementedError("Exercise 10.2: max_pool2d")


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Exercise 10.3: the output length of a convolution or pooling along one axis."""
    raise NotImplementedError("Exercise 10.3: conv_output_size")


def receptive_field(layers: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Exercise 10.3: (receptive field, output spacing) after each (k, s, dilation) layer."""
    raise NotImplementedError("Exercise 10.3: receptive_field")


def residual_block(
    x: Tensor,
    weight1: Tensor,
    bias1: Tensor,
    weight2: Tensor,
    bias2: Tensor,
    shortcut: bool = True,
) -> Tensor:
    """Exercise 10.4: ReLU(x + conv2(ReLU(conv1(x)))), or without the x + ."""
    raise NotImplementedError("Exercise 10.4: residual_block")


def make_classifier(seed: int) -> nn.Module:
    """Exercise 10.5 (open): an untrained digits classifier with at most 25,000 parameters."""
    raise NotImplementedError("Exercise 10.5: make_classifier")
