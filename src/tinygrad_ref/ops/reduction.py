"""Reductions over axes: sum, mean, max and min."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import _values
from tinygrad_ref.ops.piecewise import _masked
from tinygrad_ref.ops.shape import Axis, BroadcastTo, Cast, Reshape, normalize_axes
from tinygrad_ref.spec import TieKink, reduction


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
    reduce = staticmethod(np.sum)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _spread(gy, x, self.axis, self.keepdims)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Sum(self.axis, self.keepdims).apply(tx)


class Mean(Reduction):
    __slots__ = ()
    reduce = staticmethod(np.mean)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        count: int = math.prod(x.shape[a] for a in normalize_axes(self.axis, x.shape))
        return _divided_by_count(_spread(gy, x, self.axis, self.keepdims), count)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Mean(self.axis, self.keepdims).apply(tx)


def _divided_by_count(g: Tensor, count: int) -> Tensor:
    """``g / count``, in float32 where ``count`` overflows ``g``'s dtype: a weak Python int takes
    ``g``'s dtype, and a float16 count beyond 65,504 is inf (a gradient of 0)."""
    if count <= float(np.finfo(g.dtype).max):
        return g / count
    return Cast(g.dtype).apply(Cast(np.float32).apply(g) / count)


class Max(Reduction):
    __slots__ = ()
    reduce = staticmethod(np.max)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: each output element's gradient is split evenly among the elements of x equal
        # to it; y tells which, so that Min shares this rule.
        x_values = _values(x)
        winners = x_values == np.reshape(_values(y), _kept_shape(x.shape, self.axis))
        counts = np.sum(winners, axis=normalize_axes(self.axis, x.shape), keepdims=True)
        return _masked(_spread(gy, x, self.axis, self.keepdims), winners / counts, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: the convention of vjp: at a tie, the mean of the tied elements' tangents.
        axes = normalize_axes(self.axis, x.shape)
        tied = _values(x) == np.reshape(_values(y), _kept_shape(x.shape, self.axis))
        weights = tied / np.sum(tied, axis=axes, keepdims=True)
        return Sum(self.axis, self.keepdims).apply(_masked(tx, weights, x))


class Min(Max):
    """As DeZero's: :class:`Max` with the smallest element instead."""

    __slots__ = ()
    reduce = staticmethod(np.min)


def sum(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """``x`` summed over ``axis`` (an int, a tuple of ints, negative ones counting from the end,
    or ``None`` for all), keeping the reduced axes as size 1 if ``keepdims``; as NumPy's."""
    return Sum(axis, keepdims)(x)


def mean(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """The mean of ``x`` over ``axis``, as :func:`sum` takes it; keeps ``x``'s dtype."""
    return Mean(axis, keepdims)(x)


def average(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """DeZero's name for :func:`mean`."""
    return mean(x, axis, keepdims=keepdims)


def max(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """The largest element of ``x`` over ``axis``, as :func:`sum` takes it (NumPy's ``max``).
    The gradient of a tie is split evenly among the tied elements, as ``torch.amax``'s."""
    return Max(axis, keepdims)(x)


def min(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """The smallest element of ``x`` over ``axis``; ties split the gradient as :func:`max`."""
    return Min(axis, keepdims)(x)


_EVEN_SPLIT = "split evenly among the tied elements (torch.amax, JAX)"

SPECS = [
    reduction("sum", Sum, sum, (np.sum, np.add.reduce), analytic=True),
    reduction("mean", Mean, mean, (np.mean,), analytic=True),
    reduction("max", Max, max, (np.max, np.amax, np.maximum.reduce),
              kink=TieKink("ties along axis", _EVEN_SPLIT, "axis")),
    reduction("min", Min, min, (np.min, np.amin, np.minimum.reduce),
              kink=TieKink("ties along axis", _EVEN_SPLIT, "axis")),
]  # fmt: skip
