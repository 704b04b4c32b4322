"""Elementwise functions of one input."""

from __future__ import annotations

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.spec import ANY, BOUNDED, POSITIVE, Domain, OpSpec


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
        # NOTE: 1 / (1 + exp(-x)) would overflow (and warn) for large -x, and through tanh the
        # small values of large -x would cancel to 0; exp(-|x|) is at most 1.
        e = np.exp(-np.abs(x))
        y: Array = np.where(x >= 0, 1, e) / (1 + e)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y * (1 - y)


class Log1p(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.log1p(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (1 + x)


class Expm1(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.expm1(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: not y + 1, which cancels to 0 for large -x.
        return gy * Exp().apply(x)


class Softplus(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        # NOTE: max(x, 0) + log1p(exp(-|x|)): exp never overflows, small results keep their
        # digits.
        return np.logaddexp(0, x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sigmoid().apply(x)


class LogSigmoid(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return -np.logaddexp(0, -x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sigmoid().apply(-x)


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


def log1p(x: Operand) -> Variable:
    """``log(1 + x)``, accurate also for tiny ``x``."""
    return Log1p()(x)


def expm1(x: Operand) -> Variable:
    """``exp(x) - 1``, accurate also for tiny ``x``."""
    return Expm1()(x)


def softplus(x: Operand) -> Variable:
    """``log(1 + exp(x))``, as PyTorch's (with ``beta=1`` and no threshold), stable for any
    ``x``; its derivative is ``sigmoid(x)``."""
    return Softplus()(x)


def log_sigmoid(x: Operand) -> Variable:
    """``log(sigmoid(x)) = -softplus(-x)``, as PyTorch's, finite for any ``x``."""
    return LogSigmoid()(x)


WIDE = Domain(-40.0, 40.0)
"""Out to where softplus and log_sigmoid saturate; their accuracy beyond is tested in the unit
tests (the references here would overflow)."""

SPECS = [
    OpSpec("exp", Exp, exp, np.exp, (BOUNDED,)),
    OpSpec("log", Log, log, np.log, (POSITIVE,)),
    OpSpec("sin", Sin, sin, np.sin, (ANY,)),
    OpSpec("cos", Cos, cos, np.cos, (ANY,)),
    OpSpec("tanh", Tanh, tanh, np.tanh, (BOUNDED,)),
    OpSpec("sqrt", Sqrt, sqrt, np.sqrt, (POSITIVE,)),
    OpSpec("sigmoid", Sigmoid, sigmoid, lambda x: 1 / (1 + np.exp(-x)), (BOUNDED,)),
    OpSpec("log1p", Log1p, log1p, np.log1p, (Domain(-0.9, 10.0),)),
    OpSpec("expm1", Expm1, expm1, np.expm1, (BOUNDED,)),
    OpSpec("softplus", Softplus, softplus, lambda x: np.log1p(np.exp(x)), (WIDE,)),
    OpSpec("log_sigmoid", LogSigmoid, log_sigmoid, lambda x: -np.log1p(np.exp(-x)), (WIDE,)),
]
