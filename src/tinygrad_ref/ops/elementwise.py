"""Elementwise functions of one input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.spec import ANY, BOUNDED, NONNEGATIVE, Domain, Exact, unary


class Exp(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.exp(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * y


class Log(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.log(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / x

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / x


class Sin(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.sin(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Cos().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Cos().apply(x)


class Cos(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.cos(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * -Sin().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * -Sin().apply(x)


class Tanh(Function):
    __slots__ = ()
    batched_jvp = True

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
    batched_jvp = True

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
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.sqrt(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (2 * y)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (2 * y)


class Sigmoid(Function):
    __slots__ = ()
    batched_jvp = True

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


def _masked(gy: Tensor, factor: npt.NDArray[Any], like: Tensor) -> Tensor:
    """``gy`` times a constant ``factor`` (a mask, or slopes), in the dtype of ``like``."""
    dtype = _values(like).dtype
    if factor.dtype == np.bool_ and type(gy) is np.ndarray and gy.dtype == dtype:
        # NOTE: times the boolean mask itself, which keeps gy's dtype: the same numbers as
        # times the mask cast, without making that cast
        masked: Array = gy * factor
        return masked
    return gy * factor.astype(dtype)


def sigmoid_slope(x: Tensor) -> Tensor:
    """``sigmoid'(x) = sigmoid(x) sigmoid(-x) = sech2(x / 2) / 4``: not ``y (1 - y)``, which
    cancels where ``y`` is near 1. Scaling by powers of two is exact."""
    return Sech2().apply(x * 0.5) * 0.25


class Log1p(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.log1p(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (1 + x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (1 + x)


class Expm1(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.expm1(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: not y + 1, which cancels to 0 for large -x.
        return gy * Exp().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Exp().apply(x)


class Softplus(Function):
    __slots__ = ()
    batched_jvp = True

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
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return -np.logaddexp(0, -x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sigmoid().apply(-x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Sigmoid().apply(-x)


class Sinh(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.sinh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Cosh().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Cosh().apply(x)


class Cosh(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.cosh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sinh().apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Sinh().apply(x)


class Tan(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.tan(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * (1 + y * y)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * (1 + y * y)


class Arcsin(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.arcsin(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / _cos_of_arcsin(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / _cos_of_arcsin(x)


class Arccos(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.arccos(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return -gy / _cos_of_arcsin(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return -tx / _cos_of_arcsin(x)


def _cos_of_arcsin(x: Tensor) -> Tensor:
    """``sqrt(1 - x ** 2)``, as ``sqrt((1 - x) (1 + x))``: no cancellation near ``|x| = 1``."""
    return Sqrt().apply((1 - x) * (1 + x))


class Arctan(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.arctan(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (1 + x * x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (1 + x * x)


class Arcsinh(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.arcsinh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * _arcsinh_slope(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * _arcsinh_slope(x)


def _scale(x: Tensor) -> Array:
    """A power of two near ``1 / max(1, |x|)``, a constant: scaling by it is exact and keeps
    ``x ** 2`` from overflowing."""
    values = _values(x)
    _, exponent = np.frexp(np.maximum(1, np.abs(values)))
    scale: Array = np.ldexp(np.ones_like(values), -exponent)
    return scale


def _arcsinh_slope(x: Tensor) -> Tensor:
    """``1 / sqrt(1 + x ** 2)``, as ``s / sqrt(s ** 2 + (s x) ** 2)`` with ``s`` of
    :func:`_scale`: equal for any constant ``s``, and nothing overflows."""
    s = _scale(x)
    sx = x * s
    return s / Sqrt().apply(s * s + sx * sx)


class Arccosh(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.arccosh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / _sinh_of_arccosh(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / _sinh_of_arccosh(x)


def _sinh_of_arccosh(x: Tensor) -> Tensor:
    """``sqrt(x ** 2 - 1)``, as ``sqrt((x - 1) (x + 1))``, no cancellation near ``x = 1``,
    and as ``sqrt((s x - s) (s x + s)) / s`` with ``s`` of :func:`_scale`, no overflow."""
    s = _scale(x)
    sx = x * s
    return Sqrt().apply((sx - s) * (sx + s)) / s


class Arctanh(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.arctanh(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / ((1 - x) * (1 + x))

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / ((1 - x) * (1 + x))


class Log2(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.log2(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (x * _LN2)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (x * _LN2)


class Log10(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.log10(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy / (x * _LN10)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx / (x * _LN10)


class Exp2(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.exp2(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * _exp2_slope(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * _exp2_slope(x)


def _exp2_slope(x: Tensor) -> Tensor:
    """``2 ** x ln 2``, as ``2 ** (x - 1) (2 ln 2)``: finite up to where it overflows itself,
    past where ``2 ** x`` does; ``x - 1`` is exact for ``|x| >= 1`` and rounds by at most an
    ulp of 1 below, as accurate as ``2 ** x``."""
    return Exp2().apply(x - 1) * (2 * _LN2)


_LN2 = math.log(2)
_LN10 = math.log(10)


class Sinc(Function):
    """NumPy's normalized ``sinc(x) = sin(pi x) / (pi x)``, 1 at 0, or its derivative of
    ``order``: by Leibniz's rule from ``sin(pi x)`` and ``1 / (pi x)`` where ``|x| >= 1/2``,
    from ``x`` less its nearest integer (exact), so that it keeps its digits near every integer
    (NumPy's ``sin(pi * x)`` keeps the rounding of ``pi * x``); from the Taylor series nearer
    0, where that form cancels (``sinc' = (cos(pi x) - sinc(x)) / x``)."""

    __slots__ = ("order",)
    batched_jvp = True

    def __init__(self, order: int = 0) -> None:
        self.order = order

    def forward(self, x: Array) -> Array:
        return _sinc_values(x, self.order)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * Sinc(self.order + 1).apply(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * Sinc(self.order + 1).apply(x)


_PI = np.longdouble("3.14159265358979323846264338327950288")
"""pi in long double."""


def _sin_cos_pi(x: npt.NDArray[Any], pi: Any) -> tuple[Array, Array]:
    """``sin(pi x)`` and ``cos(pi x)`` of a real or complex array (``pi`` in its precision),
    from ``r = x - n`` for ``n`` the nearest integer to its real part (exact, ``|r| <= 1/2``):
    ``(-1)**n sin(pi r)`` and ``(-1)**n sin(pi (1/2 - |r|))``, so that each keeps its digits
    near its zeros."""
    n = np.round(np.real(x))
    r = x - n
    sign = 1 - 2 * np.fmod(np.abs(n), 2)
    half = 0.5 - np.where(np.real(r) < 0, -r, r)
    return sign * np.sin(pi * r), sign * np.sin(pi * half)


def _sinc_values(x: Array, order: int = 0) -> Array:
    """The ``order``-th derivative of ``sinc`` at ``x``, computed in long double (complex128 for
    complex ``x``, which the complex step differentiates without the cancellation of a
    quotient's imaginary part near 0) and given back in ``x``'s dtype (float64 for ints)."""
    values = np.asarray(x)
    dtype = values.dtype if np.issubdtype(values.dtype, np.inexact) else np.dtype(np.float64)
    # NOTE: sinc' cancels at its zeros (x = 1.4303, 2.4590, ...) whatever the formula; long
    # double's 11 more bits (x86-64; elsewhere it is float64) keep float64's digits near them.
    complex_ = np.issubdtype(dtype, np.complexfloating)
    wide = values.astype(np.complex128 if complex_ else np.longdouble)
    pi = np.pi if complex_ else _PI
    near = np.abs(wide) < 0.5
    t = pi * np.where(near, wide, 0)
    # NOTE: sinc = sum (-1)**k t**(2k) / (2k+1)!, differentiated order times; to t**40, whose
    # term at |t| = pi / 2 is 1e-40 of the sum
    series = [(-1) ** k * math.perm(2 * k, order) / math.factorial(2 * k + 1) for k in range(21)]
    powers = np.zeros(2 * len(series))
    powers[[2 * k - order for k in range(len(series)) if 2 * k >= order]] = [
        c for k, c in enumerate(series) if 2 * k >= order
    ]
    taylor = pi**order * np.polynomial.polynomial.polyval(t, powers)
    sin_pi, cos_pi = _sin_cos_pi(wide, pi)
    # NOTE: Leibniz: sum over j of C(order, j) (pi**j sin(pi x + j pi / 2)) (1 / (pi x))^(order-j)
    turns = (sin_pi, cos_pi, -sin_pi, -cos_pi)
    far = np.zeros_like(wide)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for j in range(order + 1):
            k = order - j
            term = math.comb(order, j) * pi**j * (-1) ** k * math.factorial(k) / pi
            far = far + term * turns[j % 4] / wide ** (k + 1)
    return np.where(near, taylor, far).astype(dtype)


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


def sinh(x: Operand) -> Variable:
    return Sinh()(x)


def cosh(x: Operand) -> Variable:
    return Cosh()(x)


def tan(x: Operand) -> Variable:
    return Tan()(x)


def arcsin(x: Operand) -> Variable:
    return Arcsin()(x)


def arccos(x: Operand) -> Variable:
    return Arccos()(x)


def arctan(x: Operand) -> Variable:
    return Arctan()(x)


def arcsinh(x: Operand) -> Variable:
    return Arcsinh()(x)


def arccosh(x: Operand) -> Variable:
    return Arccosh()(x)


def arctanh(x: Operand) -> Variable:
    return Arctanh()(x)


def log2(x: Operand) -> Variable:
    return Log2()(x)


def log10(x: Operand) -> Variable:
    return Log10()(x)


def exp2(x: Operand) -> Variable:
    """``2 ** x``."""
    return Exp2()(x)


def sinc(x: Operand) -> Variable:
    """NumPy's normalized sinc, ``sin(pi x) / (pi x)`` and 1 at 0."""
    return Sinc()(x)


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
_BRANCH = Domain(-1.4, 1.4)
"""tan's central branch, short of its poles at +-pi / 2."""
_INSIDE_ONE = Domain(-0.99, 0.99)

_ZEROS_OF_SIN = (math.pi, 2 * math.pi, 1e3 * math.pi, 0.5 * math.pi, 1.5 * math.pi)
"""Where sin or cos crosses zero: their values there are small and need relative accuracy."""

_INTEGERS = (1.0, 2.0, 3.0, 1e3, 2.0**52 + 1, 0.5, 1.5)
"""Where sinc crosses zero (and half-integers, where cos(pi x) does): sinc's values there are
small and need relative accuracy. Not the zeros of its slope (the first at 1.4303): no float64
formula keeps the slope's relative accuracy there (docs/verification.md, the accuracy table)."""


def _exact_sinc_slope(mp: Any, x: Any) -> Any:
    """``sinc'(x) = (cos(pi x) - sinc(x)) / x``, at enough more bits to cover its cancellation
    near 0 (``x ** 2``) and at its zeros."""
    if x == 0:
        return mp.mpf(0)
    with mp.workprec(mp.prec + 64 + max(0, -2 * int(mp.frexp(x)[1]))):
        slope = (mp.cospi(x) - mp.sincpi(x)) / x
    return +slope


SIGMOID: tuple[Exact, Exact] = (
    lambda mp, x: 1 / (1 + mp.exp(-x)),
    lambda mp, x: 1 / (4 * mp.cosh(x / 2) ** 2),
)
"""sigmoid's exact value and derivative."""

SPECS = [
    unary("exp", Exp, exp, np.exp, BOUNDED, lambda mp, x: mp.exp(x), lambda mp, x: mp.exp(x)),
    unary("log", Log, log, np.log, _SCALES, lambda mp, x: mp.log(x), lambda mp, x: 1 / x,
          defined=NONNEGATIVE),
    unary("sin", Sin, sin, np.sin, _PERIODS, lambda mp, x: mp.sin(x), lambda mp, x: mp.cos(x),
          points=_ZEROS_OF_SIN),
    unary("cos", Cos, cos, np.cos, _PERIODS, lambda mp, x: mp.cos(x), lambda mp, x: -mp.sin(x),
          points=_ZEROS_OF_SIN),
    unary("tanh", Tanh, tanh, np.tanh, _SATURATING, lambda mp, x: mp.tanh(x),
          lambda mp, x: mp.sech(x) ** 2),
    unary("sech2", Sech2, sech2, lambda x: 1 / np.cosh(x) ** 2, _BELL,
          lambda mp, x: mp.sech(x) ** 2, lambda mp, x: -2 * mp.sech(x) ** 2 * mp.tanh(x)),
    unary("sqrt", Sqrt, sqrt, np.sqrt, _SCALES, lambda mp, x: mp.sqrt(x),
          lambda mp, x: 1 / (2 * mp.sqrt(x)), defined=NONNEGATIVE),
    unary("sigmoid", Sigmoid, sigmoid, lambda x: 1 / (1 + np.exp(-x)), _TAILS, *SIGMOID),
    unary("log1p", Log1p, log1p, np.log1p, Domain(-0.9, 10.0), lambda mp, x: mp.log1p(x),
          lambda mp, x: 1 / (1 + x), defined=Domain(-1.0, math.inf), analytic=False),
    unary("expm1", Expm1, expm1, np.expm1, BOUNDED, lambda mp, x: mp.expm1(x),
          lambda mp, x: mp.exp(x), analytic=False),
    unary("softplus", Softplus, softplus, lambda x: np.log1p(np.exp(x)), WIDE,
          lambda mp, x: mp.log1p(mp.exp(x)), lambda mp, x: 1 / (1 + mp.exp(-x)), analytic=False),
    unary("log_sigmoid", LogSigmoid, log_sigmoid, lambda x: -np.log1p(np.exp(-x)), WIDE,
          lambda mp, x: -mp.log1p(mp.exp(-x)), lambda mp, x: 1 / (1 + mp.exp(x)), analytic=False),
    unary("sinh", Sinh, sinh, np.sinh, BOUNDED, lambda mp, x: mp.sinh(x),
          lambda mp, x: mp.cosh(x)),
    unary("cosh", Cosh, cosh, np.cosh, BOUNDED, lambda mp, x: mp.cosh(x),
          lambda mp, x: mp.sinh(x)),
    unary("tan", Tan, tan, np.tan, _BRANCH, lambda mp, x: mp.tan(x),
          lambda mp, x: mp.sec(x) ** 2, points=_ZEROS_OF_SIN),
    unary("arcsin", Arcsin, arcsin, np.arcsin, _INSIDE_ONE, lambda mp, x: mp.asin(x),
          lambda mp, x: 1 / mp.sqrt((1 - x) * (1 + x)), defined=Domain(-1.0, 1.0)),
    unary("arccos", Arccos, arccos, np.arccos, _INSIDE_ONE, lambda mp, x: mp.acos(x),
          lambda mp, x: -1 / mp.sqrt((1 - x) * (1 + x)), defined=Domain(-1.0, 1.0)),
    unary("arctan", Arctan, arctan, np.arctan, _PERIODS, lambda mp, x: mp.atan(x),
          lambda mp, x: 1 / (1 + x * x)),
    unary("arcsinh", Arcsinh, arcsinh, np.arcsinh, _PERIODS, lambda mp, x: mp.asinh(x),
          lambda mp, x: 1 / mp.sqrt(1 + x * x)),
    unary("arccosh", Arccosh, arccosh, np.arccosh, Domain(1.01, 100.0), lambda mp, x: mp.acosh(x),
          lambda mp, x: 1 / mp.sqrt((x - 1) * (x + 1)), defined=Domain(1.0, math.inf)),
    unary("arctanh", Arctanh, arctanh, np.arctanh, _INSIDE_ONE, lambda mp, x: mp.atanh(x),
          lambda mp, x: 1 / ((1 - x) * (1 + x)), defined=Domain(-1.0, 1.0)),
    unary("log2", Log2, log2, np.log2, _SCALES, lambda mp, x: mp.log(x, 2),
          lambda mp, x: 1 / (x * mp.log(2)), defined=NONNEGATIVE),
    unary("log10", Log10, log10, np.log10, _SCALES, lambda mp, x: mp.log10(x),
          lambda mp, x: 1 / (x * mp.log(10)), defined=NONNEGATIVE),
    unary("exp2", Exp2, exp2, np.exp2, BOUNDED, lambda mp, x: mp.power(2, x),
          lambda mp, x: mp.power(2, x) * mp.log(2)),
    # NOTE: the reference is the op's own computation: NumPy's sinc keeps the rounding of
    # pi * x (3.9e-17 for sinc(1), not 0); verify --accuracy measures it against mpmath.
    unary("sinc", Sinc, sinc, _sinc_values, ANY, lambda mp, x: mp.sincpi(x), _exact_sinc_slope,
          points=_INTEGERS, numpy=(np.sinc,)),
]  # fmt: skip
