"""Elementwise functions of one input."""

from __future__ import annotations

import math

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.spec import BOUNDED, NONNEGATIVE, REALS, Accuracy, Domain, OpSpec


class Exp(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.exp(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * y


class Log(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.log(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / x

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / x


class Sin(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.sin(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Cos().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Cos().apply(x)


class Cos(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.cos(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * -Sin().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * -Sin().apply(x)


class Tanh(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.tanh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: not 1 - y * y, which cancels where |y| is near 1.
        return gy * Sech2().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Sech2().apply(x)


class Sech2(Function):
    """``sech(x) ** 2 = 1 / cosh(x) ** 2``: tanh's derivative, and sigmoid's as
    ``sech2(x / 2) / 4``, without the cancellation of ``1 - tanh(x) ** 2`` or ``y (1 - y)``
    where ``y`` is near 1. A primitive of its own, so that its derivative ``-2 sech2(x)
    tanh(x)`` is a product of accurate factors: a graph of ``e (1 + e) ** -2`` differentiates
    to a difference that cancels near 0, and one with both forms doubles at every order."""

    __slots__ = ()

    def forward(self, x: Array) -> Array:
        # NOTE: 4 e / (1 + e) ** 2 with e = exp(-2 |x|): no overflow, small values keep their
        # digits; 2 |x| overflows only where e, and the result, is 0 anyway.
        with np.errstate(over="ignore"):
            e = np.exp(-2 * np.abs(x))
        y: Array = 4 * e / ((1 + e) * (1 + e))
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * (-2 * y * Tanh().apply(x))

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * (-2 * y * Tanh().apply(x))


class Sqrt(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.sqrt(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (2 * y)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (2 * y)


class Sigmoid(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        # NOTE: 1 / (1 + e) or e / (1 + e) with e = exp(-|x|): no cancellation on either side
        # (as tanh(x / 2) / 2 + 1 / 2 has for x < 0), and no overflow.
        e = np.exp(-np.abs(x))
        y: Array = np.where(x >= 0, 1, e) / (1 + e)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * sigmoid_slope(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * sigmoid_slope(x)


def _values(t: Array | Variable) -> Array:
    """The values of ``t``, an array or a Variable, as a constant."""
    return t.data if isinstance(t, Variable) else t


def sigmoid_slope(x: Tensor) -> Tensor:
    """``sigmoid'(x) = sigmoid(x) sigmoid(-x) = sech2(x / 2) / 4``: not ``y (1 - y)``, which
    cancels where ``y`` is near 1. Scaling by powers of two is exact."""
    return Sech2().apply(x * 0.5) * 0.25


class Log1p(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.log1p(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (1 + x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (1 + x)


class Expm1(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return np.expm1(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: not y + 1, which cancels to 0 for large -x.
        return gy * Exp().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Exp().apply(x)


class Softplus(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        # NOTE: max(x, 0) + log1p(exp(-|x|)): exp never overflows, small results keep their
        # digits.
        return np.logaddexp(0, x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sigmoid().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Sigmoid().apply(x)


class LogSigmoid(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return -np.logaddexp(0, -x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sigmoid().apply(-x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Sigmoid().apply(-x)


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


def sech2(x: Operand) -> Variable:
    """``sech(x) ** 2 = 1 / cosh(x) ** 2``: the derivative of :func:`tanh` (and
    ``sech2(x / 2) / 4`` that of :func:`sigmoid`), accurate for any ``x``, and differentiable
    to any order as ``-2 sech2(x) tanh(x)``."""
    return Sech2()(x)


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

# NOTE: gradient-check domains as wide as the central differences allow: the tails of sigmoid
# and tanh, where their derivatives are tiny, small arguments of log and sqrt, many periods.
_TAILS = Domain(-80.0, 80.0)
_SATURATING = Domain(-20.0, 20.0)
_BELL = Domain(-40.0, 40.0)
"""Out to where the reference's float32 ``cosh(x) ** 2`` would overflow (at 44.7)."""
_PERIODS = Domain(-100.0, 100.0)
_SCALES = Domain(0.01, 100.0)

_ZEROS_OF_SIN = (math.pi, 2 * math.pi, 1e3 * math.pi, 0.5 * math.pi, 1.5 * math.pi)
"""Where sin or cos crosses zero: their values there are small and need relative accuracy."""

SIGMOID_ACCURACY = Accuracy(
    lambda mp, x: 1 / (1 + mp.exp(-x)), (lambda mp, x: 1 / (4 * mp.cosh(x / 2) ** 2),), (REALS,)
)

SPECS = [
    OpSpec(
        "exp",
        Exp,
        exp,
        np.exp,
        (BOUNDED,),
        accuracy=Accuracy(lambda mp, x: mp.exp(x), (lambda mp, x: mp.exp(x),), (REALS,)),
        numpy=(np.exp,),
        analytic=True,
    ),
    OpSpec(
        "log",
        Log,
        log,
        np.log,
        (_SCALES,),
        accuracy=Accuracy(lambda mp, x: mp.log(x), (lambda mp, x: 1 / x,), (NONNEGATIVE,)),
        numpy=(np.log,),
        analytic=True,
    ),
    OpSpec(
        "sin",
        Sin,
        sin,
        np.sin,
        (_PERIODS,),
        accuracy=Accuracy(
            lambda mp, x: mp.sin(x), (lambda mp, x: mp.cos(x),), (REALS,), points=_ZEROS_OF_SIN
        ),
        numpy=(np.sin,),
        analytic=True,
    ),
    OpSpec(
        "cos",
        Cos,
        cos,
        np.cos,
        (_PERIODS,),
        accuracy=Accuracy(
            lambda mp, x: mp.cos(x), (lambda mp, x: -mp.sin(x),), (REALS,), points=_ZEROS_OF_SIN
        ),
        numpy=(np.cos,),
        analytic=True,
    ),
    OpSpec(
        "tanh",
        Tanh,
        tanh,
        np.tanh,
        (_SATURATING,),
        accuracy=Accuracy(lambda mp, x: mp.tanh(x), (lambda mp, x: mp.sech(x) ** 2,), (REALS,)),
        numpy=(np.tanh,),
        analytic=True,
    ),
    OpSpec(
        "sech2",
        Sech2,
        sech2,
        lambda x: 1 / np.cosh(x) ** 2,
        (_BELL,),
        accuracy=Accuracy(
            lambda mp, x: mp.sech(x) ** 2,
            (lambda mp, x: -2 * mp.sech(x) ** 2 * mp.tanh(x),),
            (REALS,),
        ),
        analytic=True,
    ),
    OpSpec(
        "sqrt",
        Sqrt,
        sqrt,
        np.sqrt,
        (_SCALES,),
        accuracy=Accuracy(
            lambda mp, x: mp.sqrt(x), (lambda mp, x: 1 / (2 * mp.sqrt(x)),), (NONNEGATIVE,)
        ),
        numpy=(np.sqrt,),
        analytic=True,
    ),
    OpSpec(
        "sigmoid",
        Sigmoid,
        sigmoid,
        lambda x: 1 / (1 + np.exp(-x)),
        (_TAILS,),
        accuracy=SIGMOID_ACCURACY,
        analytic=True,
    ),
    OpSpec(
        "log1p",
        Log1p,
        log1p,
        np.log1p,
        (Domain(-0.9, 10.0),),
        accuracy=Accuracy(
            lambda mp, x: mp.log1p(x), (lambda mp, x: 1 / (1 + x),), (Domain(-1.0, math.inf),)
        ),
        numpy=(np.log1p,),
    ),
    OpSpec(
        "expm1",
        Expm1,
        expm1,
        np.expm1,
        (BOUNDED,),
        accuracy=Accuracy(lambda mp, x: mp.expm1(x), (lambda mp, x: mp.exp(x),), (REALS,)),
        numpy=(np.expm1,),
    ),
    OpSpec(
        "softplus",
        Softplus,
        softplus,
        lambda x: np.log1p(np.exp(x)),
        (WIDE,),
        accuracy=Accuracy(
            lambda mp, x: mp.log1p(mp.exp(x)), (lambda mp, x: 1 / (1 + mp.exp(-x)),), (REALS,)
        ),
    ),
    OpSpec(
        "log_sigmoid",
        LogSigmoid,
        log_sigmoid,
        lambda x: -np.log1p(np.exp(-x)),
        (WIDE,),
        accuracy=Accuracy(
            lambda mp, x: -mp.log1p(mp.exp(-x)), (lambda mp, x: 1 / (1 + mp.exp(x)),), (REALS,)
        ),
    ),
]
