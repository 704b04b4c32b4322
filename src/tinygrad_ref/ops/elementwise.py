"""Elementwise functions of one input."""

from __future__ import annotations

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.spec import ANY, BOUNDED, POSITIVE, OpSpec


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


class Sin(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.sin(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Cos().apply(x)


class Cos(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.cos(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * -Sin().apply(x)


class Tanh(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.tanh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * (1 - y * y)


class Sqrt(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.sqrt(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (2 * y)


class Sigmoid(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        # NOTE: through tanh, 1 / (1 + exp(-x)) would overflow (and warn) for large -x.
        y: Array = np.tanh(x * 0.5) * 0.5 + 0.5
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y * (1 - y)


def exp(x: Operand) -> Variable:
    return Exp()(x)


def log(x: Operand) -> Variable:
    """The natural logarithm."""
    return Log()(x)


def sin(x: Operand) -> Variable:
    return Sin()(x)


def cos(x: Operand) -> Variable:
    return Cos()(x)


def tanh(x: Operand) -> Variable:
    return Tanh()(x)


def sqrt(x: Operand) -> Variable:
    return Sqrt()(x)


def sigmoid(x: Operand) -> Variable:
    """The logistic function ``1 / (1 + exp(-x))``."""
    return Sigmoid()(x)


SPECS = [
    OpSpec("exp", Exp, exp, np.exp, (BOUNDED,), numpy=(np.exp,)),
    OpSpec("log", Log, log, np.log, (POSITIVE,), numpy=(np.log,)),
    OpSpec("sin", Sin, sin, np.sin, (ANY,), numpy=(np.sin,)),
    OpSpec("cos", Cos, cos, np.cos, (ANY,), numpy=(np.cos,)),
    OpSpec("tanh", Tanh, tanh, np.tanh, (BOUNDED,), numpy=(np.tanh,)),
    OpSpec("sqrt", Sqrt, sqrt, np.sqrt, (POSITIVE,), numpy=(np.sqrt,)),
    OpSpec("sigmoid", Sigmoid, sigmoid, lambda x: 1 / (1 + np.exp(-x)), (BOUNDED,)),
]
