"""The arithmetic behind Variable's operators: + - * / ** and unary minus."""

from __future__ import annotations

import math
import operator
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from tinygrad_ref.core import (
    Array,
    Function,
    Operand,
    Tensor,
    Variable,
    _as_operand_data,
    _is_python_number,
    constant_data,
)
from tinygrad_ref.ops.elementwise import Log, _values
from tinygrad_ref.ops.shape import BroadcastTo, Cast, lifted, unbroadcast
from tinygrad_ref.spec import (
    ANY,
    EXPONENT,
    NONNEGATIVE,
    NONZERO,
    POSITIVE,
    REALS,
    Accuracy,
    Case,
    Domain,
    OpSpec,
    Sampler,
    binary,
    unary,
    with_constant,
)


class Add(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 + x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy, x0), unbroadcast(gy, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        return lifted(tx0, x0, y.ndim) + lifted(tx1, x1, y.ndim)


class Mul(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 * x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy * x1, x0), unbroadcast(gy * x0, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        return lifted(tx0, x0, y.ndim) * x1 + x0 * lifted(tx1, x1, y.ndim)


class Neg(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return -x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return -gy

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return -tx


class Sub(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 - x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy, x0), unbroadcast(-gy, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        return lifted(tx0, x0, y.ndim) - lifted(tx1, x1, y.ndim)


class Div(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 / x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        gx0 = gy / x1
        return unbroadcast(gx0, x0), unbroadcast(-gx0 * y, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        # NOTE: tx1 * y first, in the result's dtype: tx1 / x1 would round in a float32 pair's.
        return (lifted(tx0, x0, y.ndim) - lifted(tx1, x1, y.ndim) * y) / x1


class Square(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return x * x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * (2 * x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * (2 * x)


Constant = Array | float
"""A constant operand an op holds: Python numbers stay Python numbers, so that they stay weak
(NEP 50); integer arrays and NumPy scalars become the floats NumPy would compute them in."""


def _constant(c: Operand, *, read_by_vjp: bool = True) -> Constant:
    """``c`` as the constant an op holds: its own copy of an array if its ``vjp`` reads it."""
    if _is_python_number(c):
        return c
    if isinstance(c, Variable):
        raise TypeError("expected a constant, got a Variable")
    array = c if isinstance(c, (np.ndarray, np.generic)) else np.asarray(c)
    return constant_data(array) if read_by_vjp else _as_operand_data(array)


_PYTHON_NUMBERS = (float, int)
"""NOTE: with a Python number ``c`` (weak, NEP 50) the output has the input's shape and dtype,
and so has ``gy``: the vjp of ``x + c``, ``x - c``, ``x * c``, ``x / c`` needs no
``unbroadcast``."""

_CONSTANT_TYPES = (int, float, np.ndarray, np.generic)
"""The types of an operand that is not a Variable: a Python or NumPy number, or an array. NOTE:
the operators test ``type(c) is float`` first, the common case and 2-3x faster."""


def broadcast_like(t: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """The tangent ``t`` of the input ``x`` (or a batch of them), broadcast to the shape and
    cast to the dtype of the result ``y``: the forward counterpart of ``unbroadcast``."""
    shape = y.shape if t.ndim == x.ndim else (t.shape[0], *y.shape)
    if t.shape != shape:
        t = BroadcastTo(shape).apply(lifted(t, x, y.ndim))
    if t.dtype != y.dtype:
        t = Cast(y.dtype).apply(t)
    return t


# NOTE: x + c, x - c, x * c and x / c (and c + x, c * x) are ops of one input holding the
# constant, as x ** c is: no Variable is made for the constant, and no gradient is computed for it.
# Their forward computes a 0-d x as the NumPy scalar it holds, x[()]: NumPy computes on it with
# a constant several times faster than on a 0-d array, to the same value and dtype
# (Function.__call__ makes a 0-d result an array again).


class _HoldsConstant(Function):
    """An op of one input that holds a constant ``c``."""

    __slots__ = ("c",)

    reads_constant: ClassVar[bool] = True
    """Whether ``vjp`` reads ``c``: then the op holds its own copy of an array."""

    def __init__(self, c: Operand) -> None:
        Function.__init__(self)
        # NOTE: a Python float, the common case, tested first
        self.c = c if type(c) is float else _constant(c, read_by_vjp=self.reads_constant)


class AddConstant(_HoldsConstant):
    """``x + c`` (or ``c + x``) for a constant ``c``."""

    __slots__ = ()
    batched_jvp = True
    reads_constant = False

    def forward(self, x: Array) -> Array:
        return (x[()] if x.ndim == 0 else x) + self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy if type(self.c) in _PYTHON_NUMBERS else unbroadcast(gy, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return broadcast_like(tx, x, y)


class SubConstant(_HoldsConstant):
    """``x - c`` for a constant ``c``."""

    __slots__ = ()
    batched_jvp = True
    reads_constant = False

    def forward(self, x: Array) -> Array:
        return (x[()] if x.ndim == 0 else x) - self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy if type(self.c) in _PYTHON_NUMBERS else unbroadcast(gy, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return broadcast_like(tx, x, y)


class MulConstant(_HoldsConstant):
    """``x * c`` (or ``c * x``) for a constant ``c``."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return (x[()] if x.ndim == 0 else x) * self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        c = self.c
        return gy * c if type(c) in _PYTHON_NUMBERS else unbroadcast(gy * c, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        c = self.c
        if type(c) is np.ndarray and c.ndim > x.ndim:
            tx = lifted(tx, x, y.ndim)
        return tx * c


class DivConstant(_HoldsConstant):
    """``x / c`` for a constant ``c``."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return (x[()] if x.ndim == 0 else x) / self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        c = self.c
        return gy / c if type(c) in _PYTHON_NUMBERS else unbroadcast(gy / c, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        c = self.c
        if type(c) is np.ndarray and c.ndim > x.ndim:
            tx = lifted(tx, x, y.ndim)
        return tx / c


class Pow(_HoldsConstant):
    """``x ** c`` for a constant exponent ``c``; only ``x`` is differentiated, so a negative
    base with an integer exponent needs no logarithm."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return x**self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy * self.c * self._power_less_one(x, y), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: the factors first, so that a batch of tangents is multiplied once
        return lifted(tx, x, y.ndim) * (self.c * self._power_less_one(x, y))

    def _power_less_one(self, x: Tensor, y: Tensor) -> Tensor:
        """``x ** (c - 1)``, the derivative's power, as accurate as ``x ** c`` (``y``)."""
        c = self.c
        # NOTE: where c is 0 the derivative is c * x ** 1 = 0, also at x = 0 where
        # c * x ** (c - 1) would be 0 * inf; for c = 2, x itself saves a pass over memory.
        if _is_python_number(c) and (isinstance(c, int) or c in (0, 2)):
            return x if c in (0, 2) else x ** (c - 1)
        # NOTE: the exponent x ** c is computed with: c in the result's dtype.
        exponent = np.asarray(c, dtype=y.dtype)
        d = np.where(exponent == 0, 1, exponent - 1)
        power = float(d) if _is_python_number(c) else d
        return _times_rounding_of_minus_one(x**power, x, exponent)


def _times_rounding_of_minus_one(x_d: Tensor, x: Tensor, c: Array) -> Tensor:
    """``x ** (c - 1)`` from ``x_d = x ** d``, where ``d`` is ``c - 1`` rounded: times
    ``x ** r`` for its rounding error ``r`` where that is not 0.

    NOTE: c - 1 rounds for c < 1/2, and a power amplifies the error of its exponent by
    |log x|, up to hundreds of ULP (0.3 * x ** -0.7 at x = 1e-300); ``r`` is exact (TwoSum)."""
    d = c - 1
    r = (c - (d - (d - c))) + (-1 - (d - c))
    if not np.any(r):
        return x_d
    # NOTE: where x is 0, x ** d is already 0 or inf, and x ** r would make it nan.
    return x_d * x ** np.where(_values(x) == 0, 0, r)


class Rpow(_HoldsConstant):
    """``c ** x`` for a constant base ``c``."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return self.c**x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy * y * self._log_base(y), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return lifted(tx, x, y.ndim) * (y * self._log_base(y))

    def _log_base(self, y: Tensor) -> Array:
        """``log(c)`` in the result's dtype."""
        c = np.asarray(self.c, dtype=y.dtype)
        # NOTE: 0 ** x is constant (for x > 0): its base gets log(1) = 0, not log(0) = -inf.
        log_c: Array = np.log(np.where(c == 0, 1, c))
        return log_c


class Power(Function):
    """``x0 ** x1`` with both operands differentiated."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0**x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        power_less_one, log_base = _power_factors(x0, x1, y)
        gx0 = gy * x1 * power_less_one
        gx1 = gy * y * log_base
        return unbroadcast(gx0, x0), unbroadcast(gx1, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        power_less_one, log_base = _power_factors(x0, x1, y)
        tx0, tx1 = lifted(tx0, x0, y.ndim), lifted(tx1, x1, y.ndim)
        return tx0 * (x1 * power_less_one) + tx1 * (y * log_base)


def _power_factors(x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """``x0 ** (x1 - 1)`` and ``log(x0)`` (in the dtype of ``y = x0 ** x1``, so that a float32
    base does not round a float64 exponent's derivative), the factors of the derivatives of
    ``x0 ** x1``.

    NOTE: at 0 ** 0 the base gets 0 (x0 ** 0 is constant), and where x0 is 0 the exponent gets 0
    (0 ** x1 is constant for x1 > 0): constant masks that keep 0 * inf (and log 0) out, and
    leave every other point's derivatives alone."""
    base_is_0 = _values(x0) == 0
    x0_d = x0 ** (x1 - 1 + (base_is_0 & (_values(x1) == 0)))
    base = x0 if x0.dtype == y.dtype else Cast(y.dtype).apply(x0)
    return _times_rounding_of_minus_one(x0_d, x0, _values(x1)), Log().apply(base + base_is_0)


def add(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable):
        if type(x1) is float or isinstance(x1, _CONSTANT_TYPES):
            return AddConstant(x1)(x0)
    elif isinstance(x1, Variable) and isinstance(x0, _CONSTANT_TYPES):
        return AddConstant(x0)(x1)
    return Add()(x0, x1)


def mul(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable):
        if type(x1) is float or isinstance(x1, _CONSTANT_TYPES):
            return MulConstant(x1)(x0)
    elif isinstance(x1, Variable) and isinstance(x0, _CONSTANT_TYPES):
        return MulConstant(x0)(x1)
    return Mul()(x0, x1)


def neg(x: Operand) -> Variable:
    return Neg()(x)


def sub(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable) and (type(x1) is float or isinstance(x1, _CONSTANT_TYPES)):
        return SubConstant(x1)(x0)
    return Sub()(x0, x1)


def rsub(x0: Operand, x1: Operand) -> Variable:
    """``x1 - x0``: ``x0.__rsub__(x1)``."""
    return Sub()(x1, x0)


def div(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable) and (type(x1) is float or isinstance(x1, _CONSTANT_TYPES)):
        return DivConstant(x1)(x0)
    return Div()(x0, x1)


def rdiv(x0: Operand, x1: Operand) -> Variable:
    """``x1 / x0``: ``x0.__rtruediv__(x1)``."""
    return Div()(x1, x0)


def reciprocal(x: Operand) -> Variable:
    """``1 / x`` (NumPy's ``reciprocal``)."""
    return rdiv(x, 1.0)


def deg2rad(x: Operand) -> Variable:
    """``x`` degrees in radians, ``x pi / 180`` (NumPy's ``deg2rad`` and ``radians``)."""
    return mul(x, math.pi / 180)


def rad2deg(x: Operand) -> Variable:
    """``x`` radians in degrees, ``x 180 / pi`` (NumPy's ``rad2deg`` and ``degrees``)."""
    return mul(x, 180 / math.pi)


radians = deg2rad
degrees = rad2deg


def square(x: Operand) -> Variable:
    return Square()(x)


def pow(x: Operand, c: Operand) -> Variable:
    """``x ** c``. An operand that is not a Variable is a constant and is not differentiated."""
    if not isinstance(c, Variable):
        return Pow(c)(x)
    if not isinstance(x, Variable):
        return Rpow(x)(c)
    return Power()(x, c)


def rpow(x: Operand, c: Operand) -> Variable:
    """``c ** x``: ``x.__rpow__(c)``."""
    return pow(c, x)


def _pow_case(sampler: Sampler) -> Case:
    # NOTE: a negative base has a real power only for an integer exponent.
    shapes = sampler.broadcastable_shapes(2)
    if sampler.boolean():
        return Case(shapes)
    return Case(shapes, domains=(NONZERO, Domain(-3.0, 3.0, integer=True)))


def _power(mp: Any, x: Any, c: Any) -> Any:
    """``x ** c`` exactly, but inf or 0 when far out of every float's range, which mpmath would
    take long to compute."""
    if x and c:
        scale = c * mp.log(abs(x))
        if abs(scale) > 1e5:
            return mp.inf if scale > 0 else mp.zero
    return mp.power(x, c)


def _pow_derivative(mp: Any, x: Any, c: Any) -> Any:
    """d/dx x ** c, exactly: 0 for c = 0, also at x = 0."""
    return c * _power(mp, x, c - 1) if c else mp.zero


def _rpow_derivative(mp: Any, x: Any, c: Any) -> Any:
    """d/dx c ** x, exactly: 0 for c = 0 and x > 0, where 0 ** x is constant."""
    return _power(mp, c, x) * mp.log(c) if c or x <= 0 else mp.zero


_EXPONENTS = Domain(-64.0, 64.0)
_INTEGER_EXPONENTS = Domain(-64.0, 64.0, integer=True)
_POW = Accuracy(
    _power,
    (_pow_derivative, None),
    (NONNEGATIVE, _EXPONENTS),
    also=((REALS, _INTEGER_EXPONENTS),),
)


def _one(mp: Any, *xs: Any) -> int:
    """The derivative of a sum by each term."""
    return 1


# fmt: off
ADD = binary(
    "add", Add, add, operator.add, (ANY, ANY), lambda mp, a, b: a + b, (_one, _one),
    operators=("__add__", "__radd__"), infix=operator.add, numpy=(np.add,),
)
SUB = binary(
    "sub", Sub, sub, operator.sub, (ANY, ANY), lambda mp, a, b: a - b,
    (_one, lambda mp, a, b: -1),
    operators=("__sub__", "__rsub__"), infix=operator.sub, numpy=(np.subtract,),
)
MUL = binary(
    "mul", Mul, mul, operator.mul, (ANY, ANY), lambda mp, a, b: a * b,
    (lambda mp, a, b: b, lambda mp, a, b: a),
    operators=("__mul__", "__rmul__"), infix=operator.mul, numpy=(np.multiply,),
)
DIV = binary(
    "div", Div, div, operator.truediv, (ANY, NONZERO), lambda mp, a, b: a / b,
    (lambda mp, a, b: 1 / b, lambda mp, a, b: -a / b**2),
    operators=("__truediv__", "__rtruediv__"), infix=operator.truediv, numpy=(np.divide,),
)

SPECS = [
    ADD,
    SUB,
    MUL,
    DIV,
    # NOTE: x + c, x - c, x * c and x / c are ops of one input holding the constant; the specs
    # above reach them too, with mixed operand kinds
    with_constant(ADD, AddConstant),
    with_constant(SUB, SubConstant, operators=("__sub__",)),
    with_constant(MUL, MulConstant),
    with_constant(DIV, DivConstant, operators=("__truediv__",)),
    unary("neg", Neg, neg, operator.neg, ANY, lambda mp, x: -x, lambda mp, x: -1,
          operators=("__neg__",), infix=operator.neg, numpy=(np.negative,)),
    unary("square", Square, square, np.square, ANY, lambda mp, x: x * x, lambda mp, x: 2 * x),
    unary("reciprocal", Div, reciprocal, np.reciprocal, NONZERO, lambda mp, x: 1 / x,
          lambda mp, x: -1 / x**2),
    unary("deg2rad", MulConstant, deg2rad, np.deg2rad, ANY, lambda mp, x: x * mp.pi / 180,
          lambda mp, x: mp.pi / 180, numpy=(np.deg2rad, np.radians), analytic=False),
    unary("rad2deg", MulConstant, rad2deg, np.rad2deg, ANY, lambda mp, x: x * 180 / mp.pi,
          lambda mp, x: 180 / mp.pi, numpy=(np.rad2deg, np.degrees), analytic=False),
    OpSpec(
        "pow",
        Pow,
        pow,
        operator.pow,
        (POSITIVE, EXPONENT),
        roles=("any", "constant"),
        operators=("__pow__",),
        infix=operator.pow,
        case=_pow_case,
        numpy=(np.power,),
        accuracy=_POW,
        analytic=True,
    ),
    OpSpec(
        "rpow",
        Rpow,
        rpow,
        lambda x, c: c**x,
        (EXPONENT, POSITIVE),
        roles=("any", "constant"),
        operators=("__rpow__",),
        infix=lambda x, c: c**x,
        numpy=(np.power,),
        numpy_reflected=True,
        accuracy=Accuracy(
            lambda mp, x, c: _power(mp, c, x), (_rpow_derivative, None), (REALS, NONNEGATIVE)
        ),
        analytic=True,
    ),
    OpSpec(
        "power",
        Power,
        pow,
        operator.pow,
        (POSITIVE, EXPONENT),
        roles=("variable", "variable"),
        operators=("__pow__",),
        infix=operator.pow,
        numpy=(np.power,),
        accuracy=replace(
            _POW, derivatives=(_pow_derivative, lambda mp, x, c: _power(mp, x, c) * mp.log(x))
        ),
        analytic=True,
    ),
]
# fmt: on
