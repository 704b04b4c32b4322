"""NumPy functions composed of other ops, so that their derivatives are those ops': ``diff``,
``average`` with ``weights`` and ``select``. Each has a spec (its last op as the primitive), so
that it is fuzzed and reachable from NumPy like a primitive."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Operand, Variable
from tinygrad_ref.ops.arithmetic import DivConstant, Sub, div, mul, sub
from tinygrad_ref.ops.indexing import get_item
from tinygrad_ref.ops.join import concatenate
from tinygrad_ref.ops.piecewise import Where, where
from tinygrad_ref.ops.reduction import mean, sum
from tinygrad_ref.ops.shape import Axis, normalize_axes, operand_shape, reshape
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler, reduction, reduction_case


def diff(
    x: Operand,
    n: int = 1,
    axis: int = -1,
    prepend: Operand | None = None,
    append: Operand | None = None,
) -> Variable:
    """The ``n``-th differences of ``x`` along ``axis``, after joining ``prepend`` and
    ``append`` to it there (a scalar is repeated across the other axes), as NumPy's."""
    if n < 0:
        raise ValueError(f"diff's order n must be non-negative, got {n}")
    shape = operand_shape(x)
    if not shape:
        raise ValueError("diff needs an array of at least 1 dimension, got a 0-d one")
    if n == 0:
        return reshape(x, shape)  # NOTE: a new Variable, as every op gives, never x itself
    (axis,) = normalize_axes(axis, shape)
    parts = [_along(p, shape, axis) for p in (prepend,) if p is not None]
    parts += [x, *(_along(p, shape, axis) for p in (append,) if p is not None)]
    y = concatenate(parts, axis) if len(parts) > 1 else x
    ahead = (slice(None),) * axis
    for _ in range(n):
        y = sub(get_item(y, (*ahead, slice(1, None))), get_item(y, (*ahead, slice(None, -1))))
    return y if isinstance(y, Variable) else reshape(y, operand_shape(y))


def _along(part: Operand, shape: tuple[int, ...], axis: int) -> Operand:
    """``part`` as NumPy's ``diff`` joins it: a scalar as one slice along ``axis``."""
    if operand_shape(part):
        return part
    return np.broadcast_to(np.asarray(part), (*shape[:axis], 1, *shape[axis + 1 :]))


def average(
    x: Operand,
    axis: Axis = None,
    weights: npt.ArrayLike | None = None,
    *,
    keepdims: bool = False,
) -> Variable:
    """The mean of ``x`` over ``axis`` (DeZero's name for :func:`mean`), or, with constant
    ``weights`` (of ``x``'s shape, or 1-d along a single ``axis``), the weighted mean
    ``sum(x w) / sum(w)``, as NumPy's ``average``."""
    if weights is None:
        return mean(x, axis, keepdims=keepdims)
    if isinstance(weights, Variable):
        raise TypeError("average's weights must be a constant array, not a Variable")
    shape = operand_shape(x)
    w = np.asarray(weights)
    if w.shape != shape:
        if not isinstance(axis, int) or w.shape != (shape[normalize_axes(axis, shape)[0]],):
            raise ValueError(
                f"average's weights of shape {w.shape} must have x's shape {shape}, or be 1-d "
                "of the length of a single axis"
            )
        (a,) = normalize_axes(axis, shape)
        w = np.reshape(w, (*(1,) * a, w.size, *(1,) * (len(shape) - a - 1)))
    total = np.sum(np.broadcast_to(w, shape), axis=normalize_axes(axis, shape), keepdims=keepdims)
    if np.any(total == 0):
        raise ZeroDivisionError("average's weights sum to zero along the axis")
    return div(sum(mul(x, w), axis, keepdims=keepdims), total)


def select(
    condlist: Sequence[npt.ArrayLike], choicelist: Sequence[Operand], default: Operand = 0
) -> Variable:
    """Each element from the first choice whose condition holds there, else from ``default``
    (NumPy's ``select``): the conditions are constant boolean arrays; they, the choices and
    ``default`` broadcast together. Each choice (and ``default``) gets the gradient of the
    places it fills, as :func:`where`'s operands."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select needs one choice per condition, got {len(condlist)} conditions and "
            f"{len(choicelist)} choices"
        )
    if not condlist:
        raise ValueError("select needs at least one condition, got an empty condlist")
    for i, condition in enumerate(condlist):
        if isinstance(condition, Variable) or np.asarray(condition).dtype != np.bool_:
            raise TypeError(
                f"select's condlist[{i}] must be a boolean array (a comparison of data, such as "
                "x.data > 0), not a Variable or numbers"
            )
    # NOTE: constants in the dtype NumPy gives the whole selection (Python numbers weak), as
    # where's of two Python numbers alone would be float64
    dtype = np.result_type(
        *(x.dtype if isinstance(x, Variable) else x for x in (*choicelist, default))
    )
    choices = [x if isinstance(x, Variable) else np.asarray(x, dtype) for x in choicelist]
    otherwise = default if isinstance(default, Variable) else np.asarray(default, dtype)
    result = where(condlist[-1], choices[-1], otherwise)
    for condition, choice in zip(condlist[-2::-1], choices[-2::-1], strict=True):
        result = where(condition, choice, result)
    return result


def _select_case(sampler: Sampler) -> Case:
    """Two conditions and two choices, and a ``default`` (0, a number or a constant array),
    all of shapes that broadcast together."""
    shapes = sampler.broadcastable_shapes(5)
    rng = np.random.default_rng(sampler.integer(0, 2**32 - 1))
    conditions = [rng.random(shape) < 0.5 for shape in shapes[2:4]]
    default: Any = sampler.choice([0, 1.5, rng.uniform(-2.0, 2.0, shapes[4])])
    return Case(shapes[:2], {"condlist": conditions, "default": default})


def _diff_case(sampler: Sampler) -> Case:
    shape = sampler.shape(min_dims=1)
    ndim = len(shape)
    axis = sampler.integer(-ndim, ndim - 1)
    # NOTE: n up to past the axis's length, where NumPy's result is empty
    params: dict[str, Any] = {"n": sampler.integer(0, shape[axis] + 1), "axis": axis}
    if sampler.boolean():
        params["prepend"] = 0.5
    if sampler.boolean():
        params["append"] = np.linspace(-1, 1, math.prod(shape)).reshape(shape)
    return Case((shape,), params)


def _weights_case(sampler: Sampler) -> Case:
    case = reduction_case(sampler)
    shape = case.shapes[0]
    rng = np.random.default_rng(sampler.integer(0, 2**32 - 1))
    weights: Array = rng.uniform(0.25, 2.0, shape)
    return Case(case.shapes, {**case.params, "weights": weights})


SPECS = [
    OpSpec("diff", Sub, diff, lambda x, **params: np.diff(x, **params), (ANY,), case=_diff_case,
           numpy=(np.diff,), analytic=True),
    reduction("average", DivConstant, average, (np.average,), case=_weights_case,
              method=False, analytic=True),
    OpSpec("select", Where,
           lambda *choicelist, condlist, default: select(condlist, choicelist, default),
           lambda *choicelist, condlist, default: np.select(condlist, choicelist, default),
           (ANY, ANY), roles=("any", "any"), case=_select_case, numpy=(np.select,),
           numpy_function=select, analytic=True),
]  # fmt: skip
