"""Smooth elementwise functions of two inputs that broadcast, beyond arithmetic: hypot, arctan2,
logaddexp and logaddexp2."""

from __future__ import annotations

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import Exp2, Sigmoid, Sqrt, _masked, _values
from tinygrad_ref.ops.shape import Cast, lifted, unbroadcast
from tinygrad_ref.spec import ANY, NONZERO, binary


class _BySlopes:
    """The rules of a smooth function of two operands that broadcast, from its partial
    derivatives, ``slopes(x0, x1, y)``: a mixin of the Functions below."""

    __slots__ = ()
    batched_jvp = True

    def slopes(self, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        d0, d1 = self.slopes(x0, x1, y)
        return unbroadcast(gy * d0, x0), unbroadcast(gy * d1, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        d0, d1 = self.slopes(x0, x1, y)
        return lifted(tx0, x0, y.ndim) * d0 + lifted(tx1, x1, y.ndim) * d1


class Hypot(_BySlopes, Function):
    """``sqrt(x0 ** 2 + x1 ** 2)``, without overflow (NumPy's ``hypot``)."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.hypot(x0, x1)

    def slopes(self, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return _hypot_slopes(x0, x1)


def _scaled(x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor, Array]:
    """``s x0``, ``s x1`` and ``s``: a power of two (scaling by it is exact) that brings the
    larger of ``|x0|`` and ``|x1|`` to ``[0.5, 1)``, so that their squares neither over- nor
    underflow (``s`` itself kept within ``2 ** +-1000``)."""
    values = np.maximum(np.abs(_values(x0)), np.abs(_values(x1)))
    _, exponent = np.frexp(values)
    s: Array = np.ldexp(np.ones_like(values), -np.clip(exponent, -1000, 1000))
    return x0 * s, x1 * s, s


def _hypot_slopes(x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
    """``(x0, x1) / hypot(x0, x1)``, from the scaled operands: finite where ``hypot`` itself
    overflows."""
    sx0, sx1, _ = _scaled(x0, x1)
    r = Sqrt().apply(sx0 * sx0 + sx1 * sx1)
    return sx0 / r, sx1 / r


class Arctan2(_BySlopes, Function):
    """The angle of the point ``(x1, x0)``, in ``[-pi, pi]`` (NumPy's ``arctan2``)."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.arctan2(x0, x1)

    def slopes(self, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return _arctan2_slopes(x0, x1)


def _arctan2_slopes(x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
    """``(x1, -x0) / (x0 ** 2 + x1 ** 2)``, as ``s (s x1) / r2`` with ``r2 = (s x0) ** 2 +
    (s x1) ** 2`` (:func:`_scaled`): nothing over- or underflows before the result does."""
    sx0, sx1, s = _scaled(x0, x1)
    r2 = sx0 * sx0 + sx1 * sx1
    return sx1 / r2 * s, -sx0 / r2 * s


class LogAddExp(_BySlopes, Function):
    """``log(exp(x0) + exp(x1))``, without overflow (NumPy's ``logaddexp``)."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.logaddexp(x0, x1)

    def slopes(self, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`_shares` from float64 operands, in ``y``'s dtype: ``x0 - x1`` is then exact
        for float32 operands (its rounding is the shares' main error)."""
        if y.dtype == np.float64:
            return self._shares(x0, x1)
        shares = self._shares(Cast(np.float64).apply(x0), Cast(np.float64).apply(x1))
        return Cast(y.dtype).apply(shares[0]), Cast(y.dtype).apply(shares[1])

    def _shares(self, x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
        """Each exponential's share of the sum: ``sigmoid(x0 - x1)`` and ``sigmoid(x1 -
        x0)``, each accurate where it is small."""
        d = x0 - x1
        return Sigmoid().apply(d), Sigmoid().apply(-d)


class LogAddExp2(LogAddExp):
    """``log2(2 ** x0 + 2 ** x1)`` (NumPy's ``logaddexp2``)."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.logaddexp2(x0, x1)

    def _shares(self, x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
        """``1 / (1 + 2 ** (x1 - x0))`` and its complement, as sigmoid is computed: from
        ``e = 2 ** -|x0 - x1|``, ``1 / (1 + e)`` for the larger operand and ``e / (1 + e)``
        for the other (no ``ln 2`` factor to round the exponent)."""
        first = _values(x0) >= _values(x1)
        d = x0 - x1
        e = Exp2().apply(_masked(d, np.where(first, -1.0, 1.0), d))
        denominator = 1 + e
        larger, smaller = 1 / denominator, e / denominator
        share0 = _masked(larger, first, e) + _masked(smaller, ~first, e)
        share1 = _masked(larger, ~first, e) + _masked(smaller, first, e)
        return share0, share1


def hypot(x0: Operand, x1: Operand) -> Variable:
    """``sqrt(x0 ** 2 + x1 ** 2)`` elementwise, broadcasting, without overflow."""
    return Hypot()(x0, x1)


def arctan2(x0: Operand, x1: Operand) -> Variable:
    """The angle of ``(x1, x0)`` (``x0`` the ordinate), as NumPy's ``arctan2``."""
    return Arctan2()(x0, x1)


def logaddexp(x0: Operand, x1: Operand) -> Variable:
    """``log(exp(x0) + exp(x1))`` elementwise, broadcasting, without overflow."""
    return LogAddExp()(x0, x1)


def logaddexp2(x0: Operand, x1: Operand) -> Variable:
    """``log2(2 ** x0 + 2 ** x1)`` elementwise, broadcasting, without overflow."""
    return LogAddExp2()(x0, x1)


SPECS = [
    binary("hypot", Hypot, hypot, np.hypot, (NONZERO, ANY), lambda mp, a, b: mp.hypot(a, b),
           (lambda mp, a, b: a / mp.hypot(a, b), lambda mp, a, b: b / mp.hypot(a, b)),
           analytic=False),
    # NOTE: x0 away from 0, where the angle jumps by 2 pi for x1 < 0 (and is undefined at the
    # origin)
    binary("arctan2", Arctan2, arctan2, np.arctan2, (NONZERO, ANY),
           lambda mp, a, b: mp.atan2(a, b),
           (lambda mp, a, b: b / (a * a + b * b), lambda mp, a, b: -a / (a * a + b * b)),
           analytic=False),
    binary("logaddexp", LogAddExp, logaddexp, np.logaddexp, (ANY, ANY),
           lambda mp, a, b: max(a, b) + mp.log1p(mp.exp(-abs(a - b))),
           (lambda mp, a, b: 1 / (1 + mp.exp(b - a)), lambda mp, a, b: 1 / (1 + mp.exp(a - b))),
           analytic=False),
    binary("logaddexp2", LogAddExp2, logaddexp2, np.logaddexp2, (ANY, ANY),
           lambda mp, a, b: max(a, b) + mp.log1p(mp.power(2, -abs(a - b))) / mp.log(2),
           (lambda mp, a, b: 1 / (1 + mp.power(2, b - a)),
            lambda mp, a, b: 1 / (1 + mp.power(2, a - b))),
           analytic=False),
]  # fmt: skip
