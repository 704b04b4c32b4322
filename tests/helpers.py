"""Small helpers shared by the tests."""

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_ref import Array, Function, Variable

BinaryOp = Callable[[Any, Any], Any]

ARITHMETIC: dict[str, BinaryOp] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
"""The binary operators other than ``**``, by symbol."""

OPERATORS: dict[str, BinaryOp] = {**ARITHMETIC, "**": operator.pow}
"""Every binary operator of Variable, by symbol."""


def grad_of(x: Variable) -> np.ndarray:
    """``x.grad.data``, asserting that ``x`` has a gradient."""
    assert x.grad is not None
    return x.grad.data


def first_and_second(f: Callable[[Variable], Variable], x: Variable) -> tuple[Array, Array]:
    """The gradient of ``sum(f(x))`` and the gradient of that gradient's sum, the second
    through ``create_graph=True``."""
    f(x).backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    x.cleargrad()
    gx.backward()
    return gx.data, grad_of(x)


class Linear(Function):
    """``x * w``, written as DeZero's book writes a Function."""

    def forward(self, x: Array, w: Array) -> Array:
        return x * w

    def backward(self, gy: Variable) -> tuple[Variable, Variable]:
        x, w = self.inputs
        return gy * w, gy * x
