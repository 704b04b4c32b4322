"""The arithmetic behind Variable's operators: + - * / ** and unary minus."""

from __future__ import annotations

import operator

import numpy as np

from tinygrad_ref.core import (
    Array,
    Function,
    Operand,
    Tensor,
    Variable,
    _as_operand_data,
    _is_python_number,
)
from tinygrad_ref.ops.elementwise import Log
from tinygrad_ref.ops.shape import unbroadcast
from tinygrad_ref.spec import ANY, EXPONENT, NONZERO, POSITIVE, Case, Domain, OpSpec, Sampler


class Add(Function):
    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 + x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy, x0), unbroadcast(gy, x1)


class Mul(Function):
    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 * x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy * x1, x0), unbroadcast(gy * x0, x1)


class Neg(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return -x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return -gy


class Sub(Function):
    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 - x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy, x0), unbroadcast(-gy, x1)


class Div(Function):
    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 / x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        gx0 = gy / x1
        return unbroadcast(gx0, x0), unbroadcast(-gx0 * y, x1)


class Square(Function):
    __slots__ = ()

    def forward(self, x: Array) -> Array:
        return x * x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * (2 * x)


Constant = Array | float
"""A constant operand an op holds: Python numbers stay Python numbers, so that they stay weak
(NEP 50); integer arrays and NumPy scalars become the floats NumPy would compute them in."""


def _constant(c: Operand) -> Constant:
    if _is_python_number(c):
        return c
    if isinstance(c, Variable):
        raise TypeError("expected a constant, got a Variable")
    return _as_operand_data(np.asarray(c))


def _values(t: Array | Variable) -> Array:
    """The values of ``t``, an array or a Variable, as a constant."""
    return t.data if isinstance(t, Variable) else t


_CONSTANT_TYPES = (int, float, np.ndarray, np.generic)
"""The types of an operand that is not a Variable: a Python or NumPy number, or an array."""


def _scalar(x: Array) -> Array:
    """``x``, or for a 0-d ``x`` the NumPy scalar it holds: NumPy computes on it with a constant
    several times faster than on a 0-d array, to the same value and dtype. Function.__call__
    makes a 0-d result an array again."""
    return x[()] if x.ndim == 0 else x


# NOTE: x + c, x - c, x * c and x / c (and c + x, c * x) are ops of one input holding the
# constant, as x ** c is: no Variable is made for the constant, and no gradient is computed for it.


class AddConstant(Function):
    """``x + c`` (or ``c + x``) for a constant ``c``."""

    __slots__ = ("c",)

    def __init__(self, c: Operand) -> None:
        self.c = _constant(c)

    def forward(self, x: Array) -> Array:
        return _scalar(x) + self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy, x)


class SubConstant(Function):
    """``x - c`` for a constant ``c``."""

    __slots__ = ("c",)

    def __init__(self, c: Operand) -> None:
        self.c = _constant(c)

    def forward(self, x: Array) -> Array:
        return _scalar(x) - self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy, x)


class MulConstant(Function):
    """``x * c`` (or ``c * x``) for a constant ``c``."""

    __slots__ = ("c",)

    def __init__(self, c: Operand) -> None:
        self.c = _constant(c)

    def forward(self, x: Array) -> Array:
        return _scalar(x) * self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy * self.c, x)


class DivConstant(Function):
    """``x / c`` for a constant ``c``."""

    __slots__ = ("c",)

    def __init__(self, c: Operand) -> None:
        self.c = _constant(c)

    def forward(self, x: Array) -> Array:
        return _scalar(x) / self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy / self.c, x)


class Pow(Function):
    """``x ** c`` for a constant exponent ``c``; only ``x`` is differentiated, so a negative
    base with an integer exponent needs no logarithm."""

    __slots__ = ("c",)

    def __init__(self, c: Operand) -> None:
        self.c = _constant(c)

    def forward(self, x: Array) -> Array:
        return x**self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        c = self.c
        # NOTE: where c is 0 the derivative is c * x ** 1 = 0, also at x = 0 where
        # c * x ** (c - 1) would be 0 * inf; for c = 2, x itself saves a pass over memory.
        if _is_python_number(c):
            x_c1 = x if c in (0, 2) else x ** (c - 1)
        else:
            x_c1 = x ** np.where(c == 0, 1, c - 1)
        return unbroadcast(gy * c * x_c1, x)


class Rpow(Function):
    """``c ** x`` for a constant base ``c``."""

    __slots__ = ("c",)

    def __init__(self, c: Operand) -> None:
        self.c = _constant(c)

    def forward(self, x: Array) -> Array:
        return self.c**x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        c = np.asarray(self.c, dtype=y.dtype)
        # NOTE: 0 ** x is constant (for x > 0): its base gets log(1) = 0, not log(0) = -inf.
        log_c: Array = np.log(np.where(c == 0, 1, c))
        return unbroadcast(gy * y * log_c, x)


class Power(Function):
    """``x0 ** x1`` with both operands differentiated."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return x0**x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        # NOTE: at 0 ** 0 the base gets 0 (x0 ** 0 is constant), and where x0 is 0 the exponent
        # gets 0 (0 ** x1 is constant for x1 > 0): constant masks that keep 0 * inf (and
        # log 0) out, and leave every other point's derivatives alone.
        base_is_0 = _values(x0) == 0
        gx0 = gy * x1 * x0 ** (x1 - 1 + (base_is_0 & (_values(x1) == 0)))
        gx1 = gy * y * Log().apply(x0 + base_is_0)
        return unbroadcast(gx0, x0), unbroadcast(gx1, x1)


def add(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable) and isinstance(x1, _CONSTANT_TYPES):
        return AddConstant(x1)(x0)
    if isinstance(x1, Variable) and isinstance(x0, _CONSTANT_TYPES):
        return AddConstant(x0)(x1)
    return Add()(x0, x1)


def mul(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable) and isinstance(x1, _CONSTANT_TYPES):
        return MulConstant(x1)(x0)
    if isinstance(x1, Variable) and isinstance(x0, _CONSTANT_TYPES):
        return MulConstant(x0)(x1)
    return Mul()(x0, x1)


def neg(x: Operand) -> Variable:
    return Neg()(x)


def sub(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable) and isinstance(x1, _CONSTANT_TYPES):
        return SubConstant(x1)(x0)
    return Sub()(x0, x1)


def rsub(x0: Operand, x1: Operand) -> Variable:
    """``x1 - x0``: ``x0.__rsub__(x1)``."""
    return Sub()(x1, x0)


def div(x0: Operand, x1: Operand) -> Variable:
    if isinstance(x0, Variable) and isinstance(x1, _CONSTANT_TYPES):
        return DivConstant(x1)(x0)
    return Div()(x0, x1)


def rdiv(x0: Operand, x1: Operand) -> Variable:
    """``x1 / x0``: ``x0.__rtruediv__(x1)``."""
    return Div()(x1, x0)


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


SPECS = [
    OpSpec(
        "add",
        Add,
        add,
        operator.add,
        (ANY, ANY),
        operators=("__add__", "__radd__"),
        infix=operator.add,
        numpy=(np.add,),
    ),
    OpSpec(
        "sub",
        Sub,
        sub,
        operator.sub,
        (ANY, ANY),
        operators=("__sub__", "__rsub__"),
        infix=operator.sub,
        numpy=(np.subtract,),
    ),
    OpSpec(
        "mul",
        Mul,
        mul,
        operator.mul,
        (ANY, ANY),
        operators=("__mul__", "__rmul__"),
        infix=operator.mul,
        numpy=(np.multiply,),
    ),
    OpSpec(
        "div",
        Div,
        div,
        operator.truediv,
        (ANY, NONZERO),
        operators=("__truediv__", "__rtruediv__"),
        infix=operator.truediv,
        numpy=(np.divide,),
    ),
    # NOTE: x + c, x - c, x * c and x / c are ops of one input holding the constant; the specs
    # above reach them too, with mixed operand kinds
    OpSpec(
        "add_constant",
        AddConstant,
        add,
        operator.add,
        (ANY, ANY),
        roles=("variable", "constant"),
        operators=("__add__", "__radd__"),
        infix=operator.add,
        numpy=(np.add,),
    ),
    OpSpec(
        "sub_constant",
        SubConstant,
        sub,
        operator.sub,
        (ANY, ANY),
        roles=("variable", "constant"),
        operators=("__sub__",),
        infix=operator.sub,
        numpy=(np.subtract,),
    ),
    OpSpec(
        "mul_constant",
        MulConstant,
        mul,
        operator.mul,
        (ANY, ANY),
        roles=("variable", "constant"),
        operators=("__mul__", "__rmul__"),
        infix=operator.mul,
        numpy=(np.multiply,),
    ),
    OpSpec(
        "div_constant",
        DivConstant,
        div,
        operator.truediv,
        (ANY, NONZERO),
        roles=("variable", "constant"),
        operators=("__truediv__",),
        infix=operator.truediv,
        numpy=(np.divide,),
    ),
    OpSpec(
        "neg",
        Neg,
        neg,
        operator.neg,
        (ANY,),
        operators=("__neg__",),
        infix=operator.neg,
        numpy=(np.negative,),
    ),
    OpSpec("square", Square, square, np.square, (ANY,), numpy=(np.square,)),
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
    ),
]
