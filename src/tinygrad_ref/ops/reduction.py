"""Reductions over axes: sum, mean, prod, var, std, max, min and ptp; cumsum, cumprod and
trace."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import Sqrt, _masked, _values
from tinygrad_ref.ops.shape import (
    Axis,
    BroadcastTo,
    Cast,
    Reshape,
    Transpose,
    batched,
    in_dtype,
    normalize_axes,
    operand_shape,
    reshape,
    tangent_axes,
)
from tinygrad_ref.spec import (
    ANY,
    Case,
    Domain,
    OpSpec,
    RangeTieKink,
    Sampler,
    SpreadKink,
    TieKink,
    emptied,
    empty_slices_case,
    reduction,
    reduction_case,
)


def _kept_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    axes = normalize_axes(axis, shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(gy: Tensor, x: Tensor, axis: Axis, keepdims: bool) -> Tensor:
    """The gradient ``gy`` of a reduction of ``x``, repeated along the reduced axes."""
    if not keepdims:
        # NOTE: put the reduced axes back as size 1, or broadcasting would align gy's axes
        # with the wrong ones of x.
        gy = Reshape(_kept_shape(x.shape, axis)).apply(gy)
    return BroadcastTo(x.shape).apply(gy)


class Reduction(Function):
    """A reduction of its input over ``axis`` (as NumPy takes it), keeping the reduced axes as
    size 1 if ``keepdims``: NumPy's ``reduce`` unless a subclass computes its own ``forward``."""

    __slots__ = ("axis", "keepdims")
    batched_jvp = True

    reduce: Callable[..., Any]

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: Array) -> Array:
        y: Array = self.reduce(
            x, axis=normalize_axes(self.axis, np.shape(x)), keepdims=self.keepdims
        )
        return y


class Sum(Reduction):
    __slots__ = ()
    batched_jvp = True
    reduce = staticmethod(np.sum)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _spread(gy, x, self.axis, self.keepdims)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Sum(tangent_axes(self.axis, tx, x), self.keepdims).apply(tx)


class Mean(Reduction):
    __slots__ = ()
    batched_jvp = True
    reduce = staticmethod(np.mean)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        count = _count(x.shape, self.axis)
        return _divided_by_count(_spread(gy, x, self.axis, self.keepdims), count)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Mean(tangent_axes(self.axis, tx, x), self.keepdims).apply(tx)


def _divided_by_count(g: Tensor, count: int) -> Tensor:
    """``g / count``, in float32 where ``count`` overflows ``g``'s dtype: a weak Python int takes
    ``g``'s dtype, and a float16 count beyond 65,504 is inf (a gradient of 0)."""
    if count <= float(np.finfo(g.dtype).max):
        return g / count
    return Cast(g.dtype).apply(Cast(np.float32).apply(g) / count)


class Max(Reduction):
    __slots__ = ()
    batched_jvp = True
    reduce = staticmethod(np.max)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        shares = _shares(x, _values(y), self.axis)
        return _masked(_spread(gy, x, self.axis, self.keepdims), shares, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        shares = _shares(x, _values(y), self.axis)
        return Sum(tangent_axes(self.axis, tx, x), self.keepdims).apply(_masked(tx, shares, x))


def _shares(x: Tensor, extreme: Array, axis: Axis) -> Array:
    """Each element's share of the gradient of ``extreme``, the largest (or smallest) element
    of ``x`` over ``axis``: split evenly among the elements equal to it (a tie), 0 elsewhere;
    ``extreme`` tells which, so that Min and Ptp share this rule."""
    tied = _values(x) == np.reshape(extreme, _kept_shape(x.shape, axis))
    shares: Array = tied / np.sum(tied, axis=normalize_axes(axis, x.shape), keepdims=True)
    return shares


class Min(Max):
    """As DeZero's: :class:`Max` with the smallest element instead."""

    __slots__ = ()
    reduce = staticmethod(np.min)


class Ptp(Reduction):
    """The range ``max - min`` over ``axis`` (NumPy's ``ptp``); its derivative is max's share
    less min's, so 0 where every element of a slice is equal."""

    __slots__ = ()
    batched_jvp = True
    reduce = staticmethod(np.ptp)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(_spread(gy, x, self.axis, self.keepdims), self._shares(x), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        shares = self._shares(x)
        return Sum(tangent_axes(self.axis, tx, x), self.keepdims).apply(_masked(tx, shares, x))

    def _shares(self, x: Tensor) -> Array:
        axes = normalize_axes(self.axis, x.shape)
        values = _values(x)
        largest = _shares(x, np.max(values, axis=axes), self.axis)
        smallest = _shares(x, np.min(values, axis=axes), self.axis)
        return largest - smallest


class Prod(Reduction):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return _product(x, normalize_axes(self.axis, np.shape(x)), self.keepdims)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _spread(gy, x, self.axis, self.keepdims) * self._others(x, y)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Sum(tangent_axes(self.axis, tx, x), self.keepdims).apply(tx * self._others(x, y))

    def _others(self, x: Tensor, y: Tensor) -> Tensor:
        """``d y / d x``: each element's product of the other elements it is reduced with."""
        axes = normalize_axes(self.axis, x.shape)
        recording = isinstance(x, Variable)
        y_values = np.abs(_values(y))
        normal = (y_values >= np.finfo(y_values.dtype).smallest_normal) & np.isfinite(y_values)
        if recording or not np.all(normal):
            return _products_of_others(x, axes)
        # NOTE: on arrays whose products are normal numbers (no zero, no under- or overflow),
        # y / x is as accurate; not when recording, as its own derivative cancels (y / x**2).
        return Reshape(_kept_shape(x.shape, axes)).apply(y) / x


class Var(Reduction):
    """The variance over ``axis``, divided by the count less ``ddof`` (NumPy's ``var``)."""

    __slots__ = ("ddof",)
    batched_jvp = True

    def __init__(self, axis: Axis = None, keepdims: bool = False, ddof: float = 0) -> None:
        super().__init__(axis, keepdims)
        self.ddof = ddof

    def forward(self, x: Array) -> Array:
        axes = normalize_axes(self.axis, np.shape(x))
        y: Array = np.var(x, axis=axes, ddof=self.ddof, keepdims=self.keepdims)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _spread(gy, x, self.axis, self.keepdims) * self._slope(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Sum(tangent_axes(self.axis, tx, x), self.keepdims).apply(tx * self._slope(x))

    def _slope(self, x: Tensor) -> Tensor:
        """``d var / d x = 2 (x - mean) / (count - ddof)``."""
        return _deviations(x, self.axis) * (2 / (_count(x.shape, self.axis) - self.ddof))


class Std(Var):
    """The standard deviation, ``sqrt(var)`` (NumPy's ``std``). Where it is 0 (every element
    of a slice equal), its gradient is 0, as PyTorch's: a subgradient, as ``abs``'s at 0."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        # NOTE: each slice scaled by a power of two to about 1 (exact), so that the squares of
        # tiny deviations do not underflow where std itself does not (NumPy's does)
        axes = normalize_axes(self.axis, np.shape(x))
        s = _unit_scale(np.max(np.abs(x), axis=axes, keepdims=True))
        y = np.std(x * s, axis=axes, ddof=self.ddof, keepdims=True) / s
        shape = y.shape if self.keepdims else tuple(np.sum(y, axis=axes).shape)
        return np.reshape(y, shape).astype(x.dtype)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _spread(gy, x, self.axis, self.keepdims) * self._std_slope(x, y)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        axes = tangent_axes(self.axis, tx, x)
        return Sum(axes, self.keepdims).apply(tx * self._std_slope(x, y))

    def _std_slope(self, x: Tensor, y: Tensor) -> Tensor:
        """``(x - mean) / ((count - ddof) std)``, 0 where every element of a slice is equal
        (where ``std`` is 0 but for the rounding of the mean); ``std`` recomputed from
        :func:`_deviations`, not rounded to ``y``'s dtype."""
        axes = normalize_axes(self.axis, x.shape)
        values = _values(x)
        zero = np.max(values, axis=axes, keepdims=True) == np.min(values, axis=axes, keepdims=True)
        count = _count(x.shape, self.axis) - self.ddof
        centered = _deviations(x, self.axis, wide=True)
        # NOTE: scaled by a power of two per slice (the slope does not change), so that the
        # squares of tiny deviations do not underflow; 1 in the slices masked out, so that no
        # derivative there is infinite
        scaled = centered * _unit_scale(np.max(np.abs(_values(centered)), axis=axes, keepdims=True))
        std = Sqrt().apply(Sum(axes, True).apply(scaled * scaled) / count + zero)
        slope: Tensor = _masked(scaled / (std * count), ~zero, centered)
        return slope if x.dtype == np.float64 else Cast(x.dtype).apply(slope)


def _unit_scale(largest: Array) -> Array:
    """The power of two that brings ``largest`` (each slice's largest magnitude) to
    ``[0.5, 1)``, kept within ``2 ** +-1000``; 1 for 0."""
    scale: Array = np.ldexp(1.0, -np.clip(np.frexp(largest)[1], -1000, 1000))
    return scale


def _product(x: Array, axes: tuple[int, ...], keepdims: bool) -> Array:
    """NumPy's ``prod``, but rounded once per factor even where its partial products under- or
    overflow and the product does not (``1e8 * 3.9e-36 * 2.2e-16 * 3e7`` in float32): there
    each factor's mantissa and exponent are multiplied and added apart, as :func:`np.frexp`
    splits them, and the product is scaled back at the end."""
    with np.errstate(over="ignore", invalid="ignore"):  # NOTE: warned below if they stay
        y: Array = np.prod(x, axis=axes, keepdims=keepdims)
    if x.dtype.kind != "f" or x.size == 0 or _within_range(x, axes):
        return y
    rest = tuple(a for a in range(x.ndim) if a not in axes)
    rows = np.transpose(x, (*rest, *axes)).reshape(*(x.shape[a] for a in rest), -1)
    mantissas, exponent = np.frexp(rows.astype(np.promote_types(x.dtype, np.float64)))
    scale = np.sum(exponent, axis=-1, dtype=np.int64)
    product = np.ones(rows.shape[:-1], dtype=mantissas.dtype)
    for start in range(0, rows.shape[-1], _MANTISSAS_AT_ONCE):
        product, shift = np.frexp(
            product * np.prod(mantissas[..., start : start + _MANTISSAS_AT_ONCE], axis=-1)
        )
        scale += shift
    limit = 4 * np.finfo(product.dtype).maxexp
    scaled: Array = np.ldexp(product, np.clip(scale, -limit, limit)).astype(x.dtype)
    return scaled.reshape(y.shape)


def _within_range(x: Array, axes: tuple[int, ...]) -> bool:
    """Whether no partial product of ``x``'s slices along ``axes``, in any order, can leave the
    normal range of its dtype: the factors below 1 in magnitude (but 0) of each slice multiply
    to the least a partial product can be, those above 1 to the most. Two comparisons of the
    magnitudes first, which settle short slices."""
    magnitudes = np.abs(x)
    present = magnitudes[magnitudes != 0]
    if present.size == 0:
        return True
    if not np.isfinite(present).all():
        return False
    info = np.finfo(x.dtype)
    low, high = np.frexp(np.array([present.min(), present.max()]))[1]
    count = _count(x.shape, axes)
    if count * (low - 1) > info.minexp and count * high < info.maxexp:
        return True
    with np.errstate(divide="ignore"):
        logs = np.log2(magnitudes, where=magnitudes != 0, out=np.zeros(x.shape))
    least = np.minimum(logs, 0.0).sum(axis=axes)
    most = np.maximum(logs, 0.0).sum(axis=axes)
    # NOTE: a margin of 2 for the rounding of the logs' sums and of each partial product
    return bool((least > info.minexp + 2).all() and (most < info.maxexp - 2).all())


_MANTISSAS_AT_ONCE = 512
"""How many mantissas (each in ``[0.5, 1)``) :func:`_product` multiplies before it takes the
exponent out again: ``2 ** -512`` is far from float64's underflow."""


def _count(shape: tuple[int, ...], axis: Axis) -> int:
    """How many elements of an operand of ``shape`` a reduction over ``axis`` takes together."""
    return math.prod(shape[a] for a in normalize_axes(axis, shape))


def _deviations(x: Tensor, axis: Axis, wide: bool = False) -> Tensor:
    """``x - mean(x)`` over ``axis``, as ``(x - s) - mean(x - s)`` for a constant ``s`` of
    each slice (its largest element) and in float64: exact where the elements are close (then
    ``x - s`` is), where the plain form keeps the mean's rounding; in ``x``'s dtype unless
    ``wide``."""
    axes = normalize_axes(axis, x.shape)
    values = _values(x)
    shift = np.max(values, axis=axes, keepdims=True).astype(np.float64)
    shifted = (x if x.dtype == np.float64 else Cast(np.float64).apply(x)) - shift
    deviations: Tensor = shifted - Mean(axes, True).apply(shifted)
    return deviations if wide or x.dtype == np.float64 else Cast(x.dtype).apply(deviations)


class Cumsum(Function):
    """The running sum along ``axis`` (NumPy's ``cumsum``), from the end if ``reverse``."""

    __slots__ = ("axis", "reverse")
    batched_jvp = True

    def __init__(self, axis: int, reverse: bool = False) -> None:
        self.axis = axis
        self.reverse = reverse

    def forward(self, x: Array) -> Array:
        if not self.reverse:
            return np.cumsum(x, axis=self.axis)
        return np.flip(np.cumsum(np.flip(x, self.axis), axis=self.axis), self.axis)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Cumsum(self.axis, not self.reverse).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Cumsum(self.axis + batched(tx, x), self.reverse).apply(tx)


class Cumprod(Function):
    """The running product along ``axis`` (NumPy's ``cumprod``). Its derivative, as
    :class:`Prod`'s, is exact where the input has zeros."""

    __slots__ = ("axis",)
    batched_jvp = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Array) -> Array:
        return np.cumprod(x, axis=self.axis)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        if self._quotients_exact(x, y):
            return Cumsum(self.axis, reverse=True).apply(gy * y) / x
        # NOTE: gx[j] = sum over i of gy[i] d y[i] / d x[j]: j along the rows, i the columns
        moved: Tensor = _to_last(gy, self.axis)
        row = Reshape((*moved.shape[:-1], 1, moved.shape[-1])).apply(moved)
        return _from_last(Sum(-1).apply(row * self._slopes(x)), self.axis)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        axis = self.axis + batched(tx, x)
        if self._quotients_exact(x, y):
            return y * Cumsum(axis).apply(tx / x)
        moved: Tensor = _to_last(tx, axis)
        column = Reshape((*moved.shape, 1)).apply(moved)
        return _from_last(Sum(-2).apply(column * self._slopes(x)), axis)

    @staticmethod
    def _quotients_exact(x: Tensor, y: Tensor) -> bool:
        """Whether ``y / x`` gives the products of the others as accurately (see :class:`Prod`):
        not while recording, nor where a running product is 0 or not a normal number."""
        y_values = np.abs(_values(y))
        normal = (y_values >= np.finfo(y_values.dtype).smallest_normal) & np.isfinite(y_values)
        recording = isinstance(x, Variable)
        return not (recording or not np.all(normal))

    def _slopes(self, x: Tensor) -> Tensor:
        """``d y[i] / d x[j]`` with ``x``'s axis last and ``j``, ``i`` as two axes after the
        others: the running product of the row of ``x``'s elements whose ``j``-th is replaced by
        1, 0 for ``i < j``. Exact with zeros; ``n ** 2`` elements per slice."""
        moved: Tensor = _to_last(x, self.axis)
        n = moved.shape[-1]
        own = np.eye(n, dtype=bool)
        rows = BroadcastTo((*moved.shape, n)).apply(Reshape((*moved.shape[:-1], 1, n)).apply(moved))
        rows = _masked(rows, ~own, x) + own.astype(x.dtype)
        return _masked(Cumprod(rows.ndim - 1).apply(rows), np.triu(np.ones((n, n), dtype=bool)), x)


def _to_last(t: Tensor, axis: int) -> Tensor:
    """``t`` with its ``axis`` moved to the end."""
    order = (*(a for a in range(t.ndim) if a != axis), axis)
    return Transpose(order).apply(t)


def _from_last(t: Tensor, axis: int) -> Tensor:
    """``t`` with its last axis moved to ``axis``: the inverse of :func:`_to_last`."""
    order = (*range(axis), t.ndim - 1, *range(axis, t.ndim - 1))
    return Transpose(order).apply(t)


class Trace(Function):
    """The sum of the diagonal at ``offset`` of the planes of ``axis1`` and ``axis2`` (NumPy's
    ``trace``)."""

    __slots__ = ("axis1", "axis2", "offset")
    batched_jvp = True

    def __init__(self, offset: int, axis1: int, axis2: int) -> None:
        self.offset = offset
        self.axis1 = axis1
        self.axis2 = axis2

    def forward(self, x: Array) -> Array:
        y: Array = np.asarray(np.trace(x, self.offset, self.axis1, self.axis2), dtype=x.dtype)
        return y

    def _diagonal(self, x: Tensor) -> npt.NDArray[np.bool_]:
        """The elements summed, as a mask to broadcast against ``x``."""
        shape = [1] * x.ndim
        shape[self.axis1], shape[self.axis2] = x.shape[self.axis1], x.shape[self.axis2]
        eye = np.eye(shape[self.axis1], shape[self.axis2], self.offset, dtype=bool)
        order = (self.axis1, self.axis2) if self.axis1 < self.axis2 else (self.axis2, self.axis1)
        return np.reshape(eye if order[0] == self.axis1 else eye.T, shape)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        kept = _kept_shape(x.shape, (self.axis1, self.axis2))
        spread = BroadcastTo(x.shape).apply(Reshape(kept).apply(gy))
        return _masked(spread, self._diagonal(x), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        axes = tangent_axes((self.axis1, self.axis2), tx, x)
        return Sum(axes).apply(_masked(tx, self._diagonal(x), x))


def _products_of_others(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """For each element of ``x``, the product of the other elements of its slice along
    ``axes``, exact with zeros (one or several): each slice's ``n`` elements repeated as ``n``
    rows, a row's own element replaced by 1, multiplied along the rows."""
    rest: tuple[int, ...] = tuple(a for a in range(x.ndim) if a not in axes)
    order = (*rest, *axes)
    rest_shape: tuple[int, ...] = tuple(x.shape[a] for a in rest)
    n = math.prod(x.shape[a] for a in axes)
    flat = Reshape((*rest_shape, 1, n)).apply(Transpose(order).apply(x))
    own = np.eye(n, dtype=bool)
    rows = _masked(BroadcastTo((*rest_shape, n, n)).apply(flat), ~own, x) + own.astype(x.dtype)
    others = Reshape((*rest_shape, *(x.shape[a] for a in axes))).apply(Prod(-1).apply(rows))
    return Transpose(tuple(order.index(a) for a in range(x.ndim))).apply(others)


def sum(
    x: Operand, axis: Axis = None, dtype: npt.DTypeLike | None = None, *, keepdims: bool = False
) -> Variable:
    """``x`` summed over ``axis`` (an int, a tuple of ints, negative ones counting from the end,
    or ``None`` for all), keeping the reduced axes as size 1 if ``keepdims``; as NumPy's, which
    computes in and returns a floating ``dtype`` if given."""
    return Sum(axis, keepdims)(in_dtype(x, dtype, "sum"))


def mean(
    x: Operand, axis: Axis = None, dtype: npt.DTypeLike | None = None, *, keepdims: bool = False
) -> Variable:
    """The mean of ``x`` over ``axis``, as :func:`sum` takes it; keeps ``x``'s dtype."""
    return Mean(axis, keepdims)(in_dtype(x, dtype, "mean"))


def prod(
    x: Operand, axis: Axis = None, dtype: npt.DTypeLike | None = None, *, keepdims: bool = False
) -> Variable:
    """The product of ``x`` over ``axis``, as :func:`sum` takes it (NumPy's ``prod``). Its
    derivative by an element is the product of the others, exact where ``x`` has zeros."""
    return Prod(axis, keepdims)(in_dtype(x, dtype, "prod"))


def var(
    x: Operand,
    axis: Axis = None,
    dtype: npt.DTypeLike | None = None,
    *,
    ddof: float = 0,
    keepdims: bool = False,
    correction: float | None = None,
) -> Variable:
    """The variance of ``x`` over ``axis``, as :func:`sum` takes it: the mean squared
    deviation from the mean, its sum divided by the count less ``ddof`` (NumPy's ``var``;
    ``correction`` is NumPy 2's other name for ``ddof``)."""
    return Var(axis, keepdims, _ddof(ddof, correction))(in_dtype(x, dtype, "var"))


def std(
    x: Operand,
    axis: Axis = None,
    dtype: npt.DTypeLike | None = None,
    *,
    ddof: float = 0,
    keepdims: bool = False,
    correction: float | None = None,
) -> Variable:
    """The standard deviation ``sqrt(var(x, axis, ddof))`` (NumPy's ``std``, ``correction``
    as :func:`var`'s); its gradient is 0 where it is 0, as PyTorch's."""
    return Std(axis, keepdims, _ddof(ddof, correction))(in_dtype(x, dtype, "std"))


def _ddof(ddof: float, correction: float | None) -> float:
    """The ``ddof`` given as ``ddof`` or as ``correction`` (NumPy 2's array-API name), not
    both."""
    if correction is None:
        return ddof
    if ddof != 0:
        raise ValueError("var and std take ddof= or correction= (the same), not both")
    return correction


def cumprod(x: Operand, axis: int | None = None, dtype: npt.DTypeLike | None = None) -> Variable:
    """The running product of ``x`` along ``axis`` (NumPy's ``cumprod``); ``None``: of ``x``
    flattened. Its derivative is exact where ``x`` has zeros, one or several."""
    x = in_dtype(x, dtype, "cumprod")
    if axis is None:
        return Cumprod(0)(reshape(x, (-1,)))
    return Cumprod(normalize_axes(axis, operand_shape(x))[0])(x)


def ptp(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """The range ``max - min`` of ``x`` over ``axis``, as :func:`sum` takes it (NumPy's
    ``ptp``): the gradient is :func:`max`'s less :func:`min`'s, each split evenly among tied
    elements, so 0 in a slice whose elements are all equal."""
    return Ptp(axis, keepdims)(x)


def cumsum(x: Operand, axis: int | None = None, dtype: npt.DTypeLike | None = None) -> Variable:
    """The running sum of ``x`` along ``axis`` (NumPy's ``cumsum``); ``None``: of ``x``
    flattened."""
    x = in_dtype(x, dtype, "cumsum")
    if axis is None:
        return Cumsum(0)(reshape(x, (-1,)))
    return Cumsum(normalize_axes(axis, operand_shape(x))[0])(x)


def trace(
    x: Operand,
    offset: int = 0,
    axis1: int = 0,
    axis2: int = 1,
    dtype: npt.DTypeLike | None = None,
) -> Variable:
    """The sum of the diagonal at ``offset`` (above the main one if positive) of ``x``'s
    planes of ``axis1`` and ``axis2`` (NumPy's ``trace``)."""
    x = in_dtype(x, dtype, "trace")
    shape = operand_shape(x)
    if len(shape) < 2:
        raise ValueError(f"trace needs an array of at least 2 dimensions, got shape {shape}")
    axis1, axis2 = normalize_axes((axis1, axis2), shape)
    return Trace(int(offset), axis1, axis2)(x)


def max(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """The largest element of ``x`` over ``axis``, as :func:`sum` takes it (NumPy's ``max``).
    The gradient of a tie is split evenly among the tied elements, as ``torch.amax``'s."""
    return Max(axis, keepdims)(x)


def min(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """The smallest element of ``x`` over ``axis``; ties split the gradient as :func:`max`."""
    return Min(axis, keepdims)(x)


def _moment_case(sampler: Sampler) -> Case:
    """A reduction's case, with a ``ddof``: 0, or, where every slice has more than one element,
    any NumPy takes that leaves the divisor positive (an integer or not, up to the count less
    1), given as ``ddof`` or as ``correction``."""
    case = reduction_case(sampler)
    shape = case.shapes[0]
    count = _count(shape, case.params["axis"])
    ddof = sampler.choice([0, 1, 0.5, count - 1]) if count > 1 else 0
    name = "correction" if sampler.boolean() else "ddof"
    return Case(case.shapes, {**case.params, name: ddof})


def _scan_case(sampler: Sampler) -> Case:
    """One operand, empty ones included, and an ``axis``: one of its axes, possibly negative,
    or ``None`` (flattened)."""
    shape = emptied(sampler, sampler.shape())
    ndim = len(shape)
    flattened = not ndim or sampler.integer(0, 3) == 0
    return Case((shape,), {"axis": None if flattened else sampler.integer(-ndim, ndim - 1)})


def _product_case(sampler: Sampler) -> Case:
    """:func:`empty_slices_case`, its operand's magnitudes bounded as :func:`_in_range` does."""
    case = empty_slices_case(sampler)
    shape = case.shapes[0]
    return _in_range(case, _count(shape, case.params["axis"]))


def _cumulative_product_case(sampler: Sampler) -> Case:
    """:func:`_scan_case`, its operand's magnitudes bounded as :func:`_in_range` does."""
    case = _scan_case(sampler)
    shape, axis = case.shapes[0], case.params["axis"]
    return _in_range(case, math.prod(shape) if axis is None else shape[axis])


def _in_range(case: Case, count: int) -> Case:
    """``case`` with its operand's magnitudes at most ``2 ** (64 / count)`` (and 10), so that
    no product of up to ``count`` of them, nor a sum of such products, overflows float32: a
    float32 result past its largest number is infinite whatever the rule (the checks leave
    such elements out, but NumPy warns of the overflow)."""
    bound = float(np.minimum(ANY.high, 2.0 ** (64 / np.maximum(count, 1))))
    return replace(case, domains=(Domain(-bound, bound),))


def _trace_case(sampler: Sampler) -> Case:
    """An operand of 2 dimensions or more, two of its axes and an offset from the diagonal that
    reaches past either end."""
    shape = sampler.shape(min_dims=2)
    ndim = len(shape)
    axis1 = sampler.integer(-ndim, ndim - 1)
    axis2 = sampler.choice([a for a in range(-ndim, ndim) if (a - axis1) % ndim])
    offset = sampler.integer(-shape[axis1], shape[axis2])
    return Case((shape,), {"offset": offset, "axis1": axis1, "axis2": axis2})


_EVEN_SPLIT = "split evenly among the tied elements (torch.amax, JAX)"

SPECS = [
    reduction("sum", Sum, sum, (np.sum, np.add.reduce), analytic=True, case=empty_slices_case),
    reduction("mean", Mean, mean, (np.mean,), analytic=True),
    reduction("prod", Prod, prod, (np.prod, np.multiply.reduce), analytic=True,
              case=_product_case),
    reduction("var", Var, var, (np.var,), case=_moment_case),
    # NOTE: std's second derivatives are not fuzzed: near a slice of equal elements its
    # Hessian is a difference of terms of size 1 / std; the symmetry check counts them
    # (strategies._summed_terms), but the check of each element of H a against the oracle
    # still takes its allowance from the terms of the result alone (a forward-mode pass of
    # magnitudes would count them: not built yet). Checked in tests/unit/test_reduction.py.
    reduction("std", Std, std, (np.std,), case=_moment_case, second_order=False,
              kink=SpreadKink("every element of a slice equal", "0 (PyTorch)")),
    OpSpec("cumsum", Cumsum, cumsum, lambda x, axis: np.cumsum(x, axis=axis), (ANY,),
           case=_scan_case, numpy=(np.cumsum,), analytic=True),
    OpSpec("cumprod", Cumprod, cumprod, lambda x, axis: np.cumprod(x, axis=axis), (ANY,),
           case=_cumulative_product_case, numpy=(np.cumprod,),
           infix=lambda x, axis: x.cumprod(axis)),
    OpSpec("trace", Trace, trace, lambda x, **params: np.trace(x, **params), (ANY,),
           case=_trace_case, numpy=(np.trace,), analytic=True),
    reduction("max", Max, max, (np.max, np.amax, np.maximum.reduce),
              kink=TieKink("ties along axis", _EVEN_SPLIT, "axis")),
    reduction("min", Min, min, (np.min, np.amin, np.minimum.reduce),
              kink=TieKink("ties along axis", _EVEN_SPLIT, "axis")),
    reduction("ptp", Ptp, ptp, (np.ptp,), method=False,
              kink=RangeTieKink("ties along axis", "max's even split less min's", "axis")),
]  # fmt: skip
