"""Piecewise functions: relu, leaky_relu, abs, maximum, minimum, clip and where.

All but ``where`` have kinks, values where they have no derivative; each declares its kink and
the derivative it takes there (PyTorch's convention) in its spec, at the bottom.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import Config
from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import _masked, _values
from tinygrad_ref.ops.shape import lifted, unbroadcast
from tinygrad_ref.spec import (
    ANY,
    Case,
    OpSpec,
    Params,
    PointKink,
    Sampler,
    TieKink,
    binary,
    unary,
)


class ReLU(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.maximum(x, 0)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(gy, _values(x) > 0, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(tx, _values(x) > 0, x)


class LeakyReLU(Function):
    __slots__ = ("slope",)
    batched_jvp = True

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, x: Array) -> Array:
        return np.where(x > 0, x, x * self.slope)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(gy, np.where(_values(x) > 0, 1.0, self.slope), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(tx, np.where(_values(x) > 0, 1.0, self.slope), x)


class Abs(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        return np.abs(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: sign(0) = 0: abs'(0) = 0, as PyTorch's (JAX's is 1).
        return _masked(gy, np.sign(_values(x)), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(tx, np.sign(_values(x)), x)


class Maximum(Function):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.maximum(x0, x1)

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        # NOTE: all of gy goes to the operand y equals, half to each at a tie; y itself tells
        # which, so that Minimum shares this rule.
        is0, is1 = _values(x0) == _values(y), _values(x1) == _values(y)
        share0, share1 = is0 * (1 - 0.5 * is1), is1 * (1 - 0.5 * is0)
        return unbroadcast(_masked(gy, share0, y), x0), unbroadcast(_masked(gy, share1, y), x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        # NOTE: the tangent of the operand y equals, their mean at a tie, as the vjp splits it
        y_values = _values(y)
        is0, is1 = _values(x0) == y_values, _values(x1) == y_values
        weight0, weight1 = np.where(is1, 0.5 * is0, is0), np.where(is0, 0.5 * is1, is1)
        tx0, tx1 = lifted(tx0, x0, y.ndim), lifted(tx1, x1, y.ndim)
        return _masked(tx0, weight0, y) + _masked(tx1, weight1, y)


class Minimum(Maximum):
    """:class:`Maximum` with the smaller element instead."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.minimum(x0, x1)


class Fmax(Maximum):
    """:class:`Maximum` that takes the other operand where one is NaN (NumPy's ``fmax``); the
    gradient goes to the operand taken, as the rule tells it by equality."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.fmax(x0, x1)


class Fmin(Maximum):
    """:class:`Fmax` with the smaller element instead (NumPy's ``fmin``)."""

    __slots__ = ()

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.fmin(x0, x1)


class Clip(Function):
    __slots__ = ("x_max", "x_min")
    batched_jvp = True

    def __init__(self, x_min: float, x_max: float) -> None:
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x: Array) -> Array:
        return np.clip(x, self.x_min, self.x_max)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        x_values = _values(x)
        return _masked(gy, (self.x_min <= x_values) & (x_values <= self.x_max), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        inside = (self.x_min <= _values(x)) & (_values(x) <= self.x_max)
        return _masked(tx, inside, x)


class Where(Function):
    """``condition ? x0 : x1`` elementwise, for a constant boolean ``condition``."""

    __slots__ = ("condition",)
    batched_jvp = True

    def __init__(self, condition: npt.NDArray[np.bool_]) -> None:
        self.condition = condition

    def forward(self, x0: Array, x1: Array) -> Array:
        return np.where(self.condition, x0, x1)

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        # NOTE: a condition of more dimensions than both operands makes y larger than either:
        # unbroadcast sums the gradient back to each.
        return (
            unbroadcast(_masked(gy, self.condition, y), x0),
            unbroadcast(_masked(gy, ~self.condition, y), x1),
        )

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        tx0, tx1 = lifted(tx0, x0, y.ndim), lifted(tx1, x1, y.ndim)
        return _masked(tx0, self.condition, y) + _masked(tx1, ~self.condition, y)


def relu(x: Operand) -> Variable:
    """``max(x, 0)``; its derivative at 0 is 0."""
    return ReLU()(x)


def leaky_relu(x: Operand, slope: float = 0.2) -> Variable:
    """``x`` where it is positive, else ``slope * x``; its derivative at 0 is ``slope``."""
    return LeakyReLU(float(slope))(x)


def abs(x: Operand) -> Variable:
    """``|x|``; its derivative at 0 is 0."""
    return Abs()(x)


def maximum(x0: Operand, x1: Operand) -> Variable:
    """The larger of ``x0`` and ``x1`` elementwise, broadcasting; a tie gives each half."""
    return Maximum()(x0, x1)


def minimum(x0: Operand, x1: Operand) -> Variable:
    """The smaller of ``x0`` and ``x1`` elementwise, broadcasting; a tie gives each half."""
    return Minimum()(x0, x1)


def fmax(x0: Operand, x1: Operand) -> Variable:
    """:func:`maximum`, but where one operand is NaN, the other (NumPy's ``fmax``)."""
    return Fmax()(x0, x1)


def fmin(x0: Operand, x1: Operand) -> Variable:
    """:func:`minimum`, but where one operand is NaN, the other (NumPy's ``fmin``)."""
    return Fmin()(x0, x1)


def _bound(value: float | None, other: float | None, names: str, unbounded: float) -> float:
    """A bound of clip given as ``value`` or as ``other`` (NumPy 2.1's spelling of it), at most
    one of them: ``unbounded`` if neither is."""
    if value is not None and other is not None:
        raise TypeError(f"clip's bound is given twice, as {names}: give one of them")
    name = names.split()[0]
    value = other if value is None else value
    if value is None:
        return unbounded
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"clip's {name} must be a number or None, got {type(value).__name__}")
    return float(value)


def clip(
    x: Operand,
    x_min: float | None = None,
    x_max: float | None = None,
    *,
    min: float | None = None,
    max: float | None = None,
) -> Variable:
    """``x`` limited to ``[x_min, x_max]``, a bound ``None`` (or left out) for none, as NumPy's
    (``min=`` and ``max=``, NumPy 2.1's and PyTorch's spellings, name them too); the gradient is
    1 on the bounds (inclusive)."""
    low = _bound(x_min, min, "x_min (a_min) and min", -np.inf)
    high = _bound(x_max, max, "x_max (a_max) and max", np.inf)
    if not low <= high:
        raise ValueError(f"clip needs x_min <= x_max, got x_min={low!r} and x_max={high!r}")
    return Clip(low, high)(x)


def where(condition: npt.ArrayLike, x: Operand, y: Operand) -> Variable:
    """``x`` where ``condition`` is true, else ``y``, as NumPy's; ``condition`` is a constant
    boolean array (or bool) broadcasting with ``x`` and ``y``."""
    if isinstance(condition, Variable):
        raise TypeError(
            "where's condition must be a boolean array, not a Variable (its data is floating); "
            "pass a comparison of its data, such as x.data > 0"
        )
    mask = np.asarray(condition)
    if mask.dtype != np.bool_:
        raise TypeError(f"where's condition must be boolean, got an array of dtype {mask.dtype}")
    # NOTE: copied while recording, as every constant a vjp reads: changing the caller's array
    # afterwards must not change a recorded graph.
    return Where(mask.copy() if Config.enable_backprop else mask)(x, y)


def _leaky_relu_case(sampler: Sampler) -> Case:
    return Case((sampler.shape(),), {"slope": sampler.choice([0.0, 0.01, 0.2, 0.5])})


def _clip_case(sampler: Sampler) -> Case:
    """Two bounds, or one of them ``None`` (NumPy's spelling of no bound)."""
    low, high = sorted([sampler.integer(-10, 10) / 2, sampler.integer(-10, 10) / 2])
    bounds: list[float | None] = [low, high]
    if not sampler.integer(0, 3):
        bounds[sampler.integer(0, 1)] = None
    return Case((sampler.shape(),), {"x_min": bounds[0], "x_max": bounds[1]})


def _where_case(sampler: Sampler) -> Case:
    condition_shape, *shapes = sampler.broadcastable_shapes(3)
    size = int(np.prod(condition_shape))
    condition = np.array([sampler.boolean() for _ in range(size)]).reshape(condition_shape)
    return Case(tuple(shapes), {"condition": condition})


def _at_zero(params: Params) -> tuple[float, ...]:
    return (0.0,)


def _clip_bounds(params: Params) -> tuple[float, ...]:
    return tuple(params[name] for name in ("x_min", "x_max") if params[name] is not None)


def _zero_slope(params: Params) -> tuple[float, ...]:
    return (0.0,)


def _selection(
    select: Callable[[Any, Any], Any],
    name: str,
    primitive: type[Maximum],
    function: Callable[[Operand, Operand], Variable],
    ufunc: np.ufunc,
) -> OpSpec:
    """The spec of maximum (``select=max``) or minimum: exact value and derivatives 1 for the
    operand selected, 0 for the other, half each at a tie (on mpmath numbers)."""

    def share(mp: Any, x: Any, other: Any) -> Any:
        return mp.mpf(0.5) if x == other else mp.one if select(x, other) == x else mp.zero

    return binary(
        name,
        primitive,
        function,
        ufunc,
        (ANY, ANY),
        lambda mp, x0, x1: select(x0, x1),
        (lambda mp, x0, x1: share(mp, x0, x1), lambda mp, x0, x1: share(mp, x1, x0)),
        kink=TieKink("x0 == x1", "half the gradient to each (PyTorch, JAX)", "operands"),
        analytic=False,
    )


SPECS = [
    unary("relu", ReLU, relu, lambda x: np.maximum(x, 0), ANY,
          lambda mp, x: x if x > 0 else mp.zero, lambda mp, x: mp.one if x > 0 else mp.zero,
          kink=PointKink("x == 0", "relu'(0) = 0 (PyTorch, JAX, DeZero)", _at_zero, _zero_slope),
          analytic=False),
    OpSpec(
        "leaky_relu",
        LeakyReLU,
        leaky_relu,
        lambda x, slope: np.where(x > 0, x, x * slope),
        (ANY,),
        case=_leaky_relu_case,
        kink=PointKink(
            "x == 0",
            "leaky_relu'(0) = slope (PyTorch, DeZero)",
            _at_zero,
            lambda p: (p["slope"],),
        ),
    ),
    unary("abs", Abs, abs, np.abs, ANY, lambda mp, x: mp.fabs(x), lambda mp, x: mp.sign(x),
          kink=PointKink("x == 0", "abs'(0) = 0 (PyTorch, HIPS; JAX: 1)", _at_zero, _zero_slope),
          operators=("__abs__",), infix=operator.abs, numpy=(np.absolute, np.fabs),
          analytic=False),
    _selection(max, "maximum", Maximum, maximum, np.maximum),
    _selection(min, "minimum", Minimum, minimum, np.minimum),
    _selection(max, "fmax", Fmax, fmax, np.fmax),
    _selection(min, "fmin", Fmin, fmin, np.fmin),
    OpSpec(
        "clip",
        Clip,
        clip,
        lambda x, x_min, x_max: np.clip(x, x_min, x_max),
        (ANY,),
        case=_clip_case,
        kink=PointKink(
            "x == x_min or x == x_max",
            "gradient 1 on the bounds, inclusive (PyTorch, DeZero)",
            _clip_bounds,
            lambda p: (1.0,) * len(_clip_bounds(p)),
        ),
        numpy=(np.clip,),
    ),
    OpSpec(
        "where",
        Where,
        lambda x, y, condition: where(condition, x, y),
        lambda x, y, condition: np.where(condition, x, y),
        (ANY, ANY),
        case=_where_case,
        numpy=(np.where,),
        numpy_function=where,
    ),
]  # fmt: skip
