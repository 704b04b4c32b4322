"""Functions whose value jumps: those whose derivative is 0 wherever it exists (rounding,
sign, the angle of a real number) and the remainders of a division; and the complex parts of
real numbers (Variables hold real numbers): ``real`` and ``conj`` are the identity, ``imag``
is 0.

Where its value jumps a function has no derivative; there it takes the derivative it has on
either side (0 for a step function, as in HIPS autograd and PyTorch), and its spec declares
the jumps as its kink.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import _masked, _values
from tinygrad_ref.ops.shape import lifted, unbroadcast
from tinygrad_ref.spec import ANY, Case, OpSpec, Params, PointKink, Sampler, unary


class Step(Function):
    """``step(x)`` for a piecewise-constant NumPy function ``step``: its derivative is 0."""

    __slots__ = ("step",)
    batched_jvp = True

    def __init__(self, step: Callable[..., Any]) -> None:
        self.step = step

    def forward(self, x: Array) -> Array:
        y: Array = np.asarray(self.step(x), dtype=x.dtype)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(gy, np.zeros(x.shape, dtype=bool), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(tx, np.zeros(x.shape, dtype=bool), x)


class Identity(Function):
    """``x`` itself, a copy: ``real``, ``conj`` and ``positive`` of real numbers."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.positive(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx


class NanToNum(Function):
    """``x`` with NaN and infinities replaced by constants (NumPy's ``nan_to_num``): its
    derivative is 1 where ``x`` is finite, 0 where a constant replaced it."""

    __slots__ = ("nan", "neginf", "posinf")
    batched_jvp = True

    def __init__(self, nan: float, posinf: float | None, neginf: float | None) -> None:
        self.nan = nan
        self.posinf = posinf
        self.neginf = neginf

    def forward(self, x: Array) -> Array:
        return np.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(gy, np.isfinite(_values(x)), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(tx, np.isfinite(_values(x)), x)


class Remainder(Function):
    """``x0 - q x1`` for the integer quotient ``q = floor(x0 / x1)`` (NumPy's ``remainder``,
    Python's ``%``): its derivatives are 1 and ``-q``, ``q`` being constant between jumps."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.remainder(x0, x1)

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy, x0), unbroadcast(_masked(gy, -_quotient(x0, x1, y), y), x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        ones = np.ones(y.shape, dtype=bool)
        tx0, tx1 = lifted(tx0, x0, y.ndim), lifted(tx1, x1, y.ndim)
        return _masked(tx0, ones, y) + _masked(tx1, -_quotient(x0, x1, y), y)


class Fmod(Remainder):
    """:class:`Remainder` with the quotient rounded toward 0 (NumPy's ``fmod``, C's)."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.fmod(x0, x1)


def _quotient(x0: Tensor, x1: Tensor, y: Tensor) -> Array:
    """The integer ``q`` with ``y = x0 - q x1``, from the values."""
    with np.errstate(invalid="ignore", divide="ignore"):
        quotient: Array = np.round((_values(x0) - _values(y)) / _values(x1))
    return quotient


def nan_to_num(
    x: Operand,
    copy: bool = True,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Variable:
    """``x`` with NaN replaced by ``nan`` and infinities by ``posinf`` and ``neginf`` (the
    dtype's largest finite numbers by default), as NumPy's; always a new Variable (``copy``
    is accepted for NumPy's signature)."""
    return NanToNum(float(nan), posinf, neginf)(x)


def remainder(x0: Operand, x1: Operand) -> Variable:
    """``x0 - floor(x0 / x1) x1``, of the sign of ``x1`` (NumPy's ``remainder`` and ``mod``,
    Python's ``%``); its derivatives are 1 by ``x0`` and ``-floor(x0 / x1)`` by ``x1``."""
    return Remainder()(x0, x1)


def fmod(x0: Operand, x1: Operand) -> Variable:
    """``x0 - trunc(x0 / x1) x1``, of the sign of ``x0`` (NumPy's ``fmod``)."""
    return Fmod()(x0, x1)


def sign(x: Operand) -> Variable:
    """-1, 0 or 1 as ``x`` is negative, zero or positive (NumPy's ``sign``)."""
    return Step(np.sign)(x)


def floor(x: Operand) -> Variable:
    return Step(np.floor)(x)


def ceil(x: Operand) -> Variable:
    return Step(np.ceil)(x)


def trunc(x: Operand) -> Variable:
    """``x`` rounded toward 0 (NumPy's ``trunc`` and ``fix``)."""
    return Step(np.trunc)(x)


def rint(x: Operand) -> Variable:
    """``x`` rounded to the nearest integer, halves to even (NumPy's ``rint``)."""
    return Step(np.rint)(x)


def round(x: Operand, decimals: int = 0) -> Variable:
    """``x`` rounded to ``decimals`` decimal places, halves to even (NumPy's ``round``)."""
    return Step(functools.partial(np.round, decimals=operator.index(decimals)))(x)


def angle(x: Operand) -> Variable:
    """The angle of ``x`` as a complex number: 0 for ``x >= 0``, pi for ``x < 0`` (and -0)."""
    return Step(np.angle)(x)


def real(x: Operand) -> Variable:
    """The real part of ``x``: ``x`` itself, a copy (Variables hold real numbers)."""
    return Identity()(x)


def imag(x: Operand) -> Variable:
    """The imaginary part of ``x``: zeros of its shape (Variables hold real numbers)."""
    return Step(np.zeros_like)(x)


mod = remainder
fix = trunc
around = round
conj = real
conjugate = real
positive = real
real_if_close = real


def _integers(params: Params) -> tuple[float, ...]:
    return tuple(float(k) for k in range(-10, 11))


def _nonzero_integers(params: Params) -> tuple[float, ...]:
    return tuple(float(k) for k in range(-10, 11) if k)


def _halves(params: Params) -> tuple[float, ...]:
    return tuple(k + 0.5 for k in range(-11, 11))


def _zero(params: Params) -> tuple[float, ...]:
    return (0.0,)


def _slopes(points: Callable[[Params], tuple[float, ...]]) -> Callable[[Params], tuple[float, ...]]:
    return lambda params: (0.0,) * len(points(params))


def _jumps(where: str, points: Callable[[Params], tuple[float, ...]]) -> PointKink:
    """Where a step function's value jumps (in the gradient-check domain, -10 to 10)."""
    return PointKink(where, "0, as everywhere (HIPS autograd, PyTorch)", points, _slopes(points))


def _step(
    name: str,
    function: Callable[[Operand], Variable],
    step: Callable[[Array], Array],
    numpy: tuple[Callable[..., Any], ...],
    exact: Callable[..., Any],
    kink: PointKink | None,
) -> OpSpec:
    """The spec of a step function: its value measured exactly, its derivative 0."""
    return unary(name, Step, function, step, ANY, exact, lambda mp, x: mp.zero, numpy=numpy,
                 kink=kink, analytic=False)  # fmt: skip


_DIVISORS = (-3.5, -1.25, 0.75, 2.0, 4.5)


def _divisor_case(sampler: Sampler) -> Case:
    return Case(sampler.broadcastable_shapes(1), {"x2": sampler.choice(_DIVISORS)})


def _multiples(params: Params) -> tuple[float, ...]:
    """The dividends in -10 to 10 where the remainder by ``params["x2"]`` jumps."""
    d = params["x2"]
    return tuple(k * d for k in range(-math.floor(10 / abs(d)), math.floor(10 / abs(d)) + 1))


def _remainder(
    name: str,
    primitive: type[Remainder],
    function: Callable[..., Variable],
    numpy: tuple[Callable[..., Any], ...],
    operators: tuple[str, ...],
) -> OpSpec:
    """The spec of a remainder, by its dividend for a drawn divisor: its jumps are then points
    of its one operand. Its derivative by the divisor, ``-q``, is checked in the unit tests
    (tests/unit/test_steps.py): as an operand of the fuzzing its jumps, at ``x1 / k``, crowd
    together toward 0 past any list of points when the strategies scale it down."""
    reference = numpy[0]
    convention = "the derivative on either side (1 by x0, -q by x1; PyTorch, HIPS autograd)"
    return OpSpec(name, primitive, lambda x1, x2: function(x1, x2),
                  lambda x1, x2: reference(x1, x2), (ANY,), case=_divisor_case, numpy=numpy,
                  numpy_function=function, operators=operators,
                  infix=(lambda x1, x2: x1 % x2) if operators else None,
                  kink=PointKink("x1 / x2 an integer", convention, _multiples,
                                 lambda p: (1.0,) * len(_multiples(p))))  # fmt: skip


SPECS = [
    _remainder("remainder", Remainder, remainder, (np.remainder,), ("__mod__", "__rmod__")),
    _remainder("fmod", Fmod, fmod, (np.fmod,), ()),
    _step("sign", sign, np.sign, (np.sign,), lambda mp, x: mp.sign(x), _jumps("x == 0", _zero)),
    _step("floor", floor, np.floor, (np.floor,), lambda mp, x: mp.floor(x),
          _jumps("x an integer", _integers)),
    _step("ceil", ceil, np.ceil, (np.ceil,), lambda mp, x: mp.ceil(x),
          _jumps("x an integer", _integers)),
    _step("trunc", trunc, np.trunc, (np.trunc, np.fix), lambda mp, x: mp.sign(x) * mp.floor(abs(x)),
          _jumps("x a nonzero integer", _nonzero_integers)),
    _step("rint", rint, np.rint, (np.rint,), lambda mp, x: mp.nint(x),
          _jumps("x an integer and a half", _halves)),
    _step("round", round, np.round, (np.round, np.around), lambda mp, x: mp.nint(x),
          _jumps("x an integer and a half", _halves)),
    _step("angle", angle, np.angle, (np.angle,), lambda mp, x: mp.pi if x < 0 else mp.zero,
          _jumps("x == 0", _zero)),
    _step("imag", imag, np.imag, (np.imag,), lambda mp, x: mp.zero, None),
    unary("nan_to_num", NanToNum, nan_to_num, np.nan_to_num, ANY, lambda mp, x: x,
          lambda mp, x: mp.one, numpy=(np.nan_to_num,), analytic=False),
    unary("real", Identity, real, np.real, ANY, lambda mp, x: x, lambda mp, x: mp.one,
          numpy=(np.real, np.conjugate, np.positive, np.real_if_close), analytic=False,
          operators=("__pos__",), infix=operator.pos),
]  # fmt: skip
