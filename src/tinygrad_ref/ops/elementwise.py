"""Elementwise functions of one input."""

from __future__ import annotations

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable


class Exp(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.exp(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y


class Log(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.log(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / x


def exp(x: Operand) -> Variable:
    return Exp()(x)


def log(x: Operand) -> Variable:
    """The natural logarithm."""
    return Log()(x)
