"""Ops that change an array's shape or dtype, and the broadcasting helper of every backward."""

from __future__ import annotations

import math
import operator
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler, Shape, emptied

Axis: TypeAlias = int | tuple[int, ...] | None
"""Axes of an array, as NumPy takes them: one, several, negative ones counting from the end, or
``None`` for all of them."""


def operand_shape(x: Operand) -> tuple[int, ...]:
    """The shape of an operand: a Variable's, or NumPy's for anything else."""
    return x.shape if isinstance(x, Variable) else np.shape(x)


def normalize_axes(axis: Axis, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes ``axis`` names in an array of ``shape``, each in ``range(len(shape))``; raises
    NumPy's ``AxisError`` (a ValueError and an IndexError) naming the axis and the shape."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = []
    for a in axis if isinstance(axis, tuple) else (axis,):
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(
                f"an axis must be an int, a tuple of ints or None, not {type(a).__name__}"
            ) from None
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(
                f"axis {a} is out of bounds for an array of shape {shape}"
            )
        axes.append(a % ndim)
    if len(set(axes)) < len(axes):
        raise ValueError(f"repeated axis in {axis} for an array of shape {shape}")
    return tuple(axes)


# Batches of tangents: forward mode may push B tangents of a value ``x`` at once, as one array
# (or Variable) of shape ``(B,) + x.shape``; a jvp rule tells one from a single tangent by its
# number of dimensions, and these helpers move its shape arguments past the batch axis.


def batched(t: Tensor, x: Tensor) -> bool:
    """Whether ``t``, a tangent of ``x``, is a batch of them: one axis more, in front."""
    return t.ndim > x.ndim


def lifted(t: Tensor, x: Tensor, ndim: int) -> Tensor:
    """The tangent ``t`` of ``x``, to broadcast against values of ``ndim`` dimensions: as it
    is, or, for a batch of tangents of an ``x`` of fewer dimensions, with size-1 axes after
    the batch axis, so that broadcasting aligns ``x``'s axes with theirs and the batch axis with
    none of them (``x + c`` with a larger ``c``)."""
    if t.ndim == x.ndim or x.ndim >= ndim:
        return t
    return Reshape((t.shape[0], *(1,) * (ndim - x.ndim), *x.shape)).apply(t)


def tangent_axes(axis: Axis, t: Tensor, x: Tensor) -> Axis:
    """The axes ``axis`` names in ``x``, in its tangent ``t``: the same, or, in a batch of
    tangents, each one further along (``None``, all of ``x``'s, leaves the batch axis out)."""
    if t.ndim == x.ndim:
        return axis
    return tuple(a + 1 for a in normalize_axes(axis, x.shape))


def tangent_shape(t: Tensor, x: Tensor, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape``, for the tangent ``t`` of ``x``: after the batch axis of a batch of them."""
    return shape if t.ndim == x.ndim else (t.shape[0], *shape)


def batch_last(t: Tensor) -> Tensor:
    """A batch of tangents with its batch axis moved to the end, where an index or a
    reduction written for the tangent's own axes leaves it alone."""
    return Transpose((*range(1, t.ndim), 0)).apply(t)


def batch_first(t: Tensor) -> Tensor:
    """The inverse of :func:`batch_last`: the last axis moved to the front."""
    return Transpose((t.ndim - 1, *range(t.ndim - 1))).apply(t)


def _sum_to(x: Array, shape: tuple[int, ...]) -> Array:
    """``x`` summed over the axes that broadcasting ``shape`` to ``x.shape`` would repeat."""
    lead = x.ndim - len(shape)
    if lead < 0 or any(n not in (1, m) for n, m in zip(shape, x.shape[lead:], strict=True)):
        raise ValueError(f"cannot sum an array of shape {x.shape} to shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    # NOTE: float16 accumulates in float32, as np.mean does: summed in float16, a gradient
    # summed over more than a few thousand elements stalls (4 + 0.001 rounds to 4).
    accumulator = np.float32 if x.dtype.itemsize < 4 else x.dtype
    y: Array = x.sum(axis=axes, keepdims=True, dtype=accumulator).astype(x.dtype, copy=False)
    return y.reshape(shape) if lead else y


class SumTo(Function):
    __slots__ = ("shape",)
    batched_jvp = True

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        return _sum_to(x, self.shape)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return BroadcastTo(x.shape).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        if not batched(tx, x):
            return SumTo(self.shape).apply(tx)
        # NOTE: x's leading axes that the sum drops, kept as size 1 behind the batch axis
        kept = (tx.shape[0], *(1,) * (x.ndim - len(self.shape)), *self.shape)
        return Reshape((tx.shape[0], *self.shape)).apply(SumTo(kept).apply(tx))


class BroadcastTo(Function):
    __slots__ = ("shape",)
    batched_jvp = True

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        # NOTE: a copy, not NumPy's read-only view, so that the result owns its memory.
        return np.broadcast_to(x, self.shape).copy()

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return SumTo(x.shape).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        shape = tangent_shape(tx, x, self.shape)
        return BroadcastTo(shape).apply(lifted(tx, x, len(self.shape)))


class Reshape(Function):
    __slots__ = ("shape",)
    batched_jvp = True

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        try:
            return np.reshape(x, self.shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape an array of shape {np.shape(x)} into shape {self.shape}"
            ) from None

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Reshape(x.shape).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Reshape(tangent_shape(tx, x, y.shape)).apply(tx)


class Transpose(Function):
    __slots__ = ("axes",)
    batched_jvp = True

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = None if axes is None else tuple(axes)

    def permutation(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Where each axis of the result comes from, for an input of ``shape``."""
        if self.axes is None:
            return tuple(reversed(range(len(shape))))
        axes = normalize_axes(self.axes, shape)
        if len(axes) != len(shape):
            raise ValueError(
                f"axes {self.axes} are not a permutation of the axes of an array of shape {shape}"
            )
        return axes

    def forward(self, x: Array) -> Array:
        return np.transpose(x, self.permutation(np.shape(x)))

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        permutation = self.permutation(x.shape)
        return Transpose(tuple(permutation.index(i) for i in range(x.ndim))).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        if not batched(tx, x):
            return Transpose(self.axes).apply(tx)
        return Transpose((0, *(a + 1 for a in self.permutation(x.shape)))).apply(tx)


class Cast(Function):
    __slots__ = ("dtype",)
    batched_jvp = True

    def __init__(self, dtype: npt.DTypeLike) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"can only cast to a floating dtype, not {self.dtype}")

    def forward(self, x: Array) -> Array:
        return x.astype(self.dtype)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Cast(x.dtype).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Cast(self.dtype).apply(tx)


def in_dtype(x: Operand, dtype: npt.DTypeLike | None, name: str) -> Operand:
    """``x`` converted to ``dtype`` (``x`` itself for ``None``): what NumPy's ``dtype=`` of a
    reduction computes in and returns. Only a floating dtype: ``name``'s derivative needs one."""
    if dtype is None:
        return x
    target = np.dtype(dtype)
    if target.kind != "f":
        raise TypeError(
            f"{name}'s dtype= must be a floating dtype, not {target}: a derivative needs "
            "floating values (to compute without a graph, give NumPy the data, v.data)"
        )
    if isinstance(x, (Variable, np.ndarray, np.generic)) and x.dtype == target:
        return x
    return Cast(target)(x)


def sum_to(x: Operand, shape: tuple[int, ...]) -> Variable:
    """``x`` summed down to ``shape``: the reverse of ``broadcast_to(x, x.shape)``."""
    return SumTo(shape)(x)


def broadcast_to(x: Operand, shape: tuple[int, ...]) -> Variable:
    """``x`` repeated to ``shape`` by NumPy's broadcasting rules."""
    return BroadcastTo(shape)(x)


def reshape(x: Operand, shape: int | tuple[int, ...]) -> Variable:
    """``x`` with its values in ``shape`` (one entry may be -1; an int is a 1-d shape), as
    NumPy's; the result may be a view of ``x``'s data."""
    return Reshape((shape,) if isinstance(shape, int) else shape)(x)


def reshape_as_numpy(
    x: Operand, shape: int | tuple[int, ...] | None = None, *, newshape: Any = None
) -> Variable:
    """What ``np.reshape`` runs: :func:`reshape` to ``shape``, or to ``newshape``, its name
    before NumPy 2.1 (NumPy 2.1 to 2.3 take either; 2.4 refuses ``newshape`` itself)."""
    if shape is not None and newshape is not None:
        raise TypeError("np.reshape(): give shape= or newshape= (its older name), not both")
    if shape is None and newshape is None:
        raise TypeError("np.reshape(): the new shape is missing (shape=)")
    return reshape(x, newshape if shape is None else shape)


def transpose(x: Operand, axes: tuple[int, ...] | None = None) -> Variable:
    """``x`` with its axes permuted: axis ``i`` of the result is axis ``axes[i]`` of ``x``
    (negative ones count from the end); ``None`` reverses them, as NumPy's."""
    return Transpose(axes)(x)


def cast(x: Operand, dtype: npt.DTypeLike) -> Variable:
    """``x`` converted to the floating ``dtype``; its gradient converts back."""
    return Cast(dtype)(x)


def expand_dims(x: Operand, axis: int | tuple[int, ...]) -> Variable:
    """``x`` with a new axis of size 1 at each position ``axis`` of the result, as NumPy's
    (DeZero inserts a negative axis before that position instead)."""
    shape = np.shape(_data(x))
    axes = normalize_axes(axis, (0,) * (len(shape) + (len(axis) if isinstance(axis, tuple) else 1)))
    dims = iter(shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(len(shape) + len(axes))))


def flatten(x: Operand) -> Variable:
    """``x`` as a matrix of one row per sample: its first axis kept, the others flattened
    (DeZero's ``flatten``, for the batch of a network)."""
    shape = np.shape(_data(x))
    if not shape:
        raise ValueError("flatten keeps the first axis, so it needs at least 1 dimension")
    return reshape(x, (shape[0], -1))


def squeeze(x: Operand, axis: Axis = None) -> Variable:
    """``x`` without the axes of size 1 named by ``axis`` (all of them for ``None``), as
    NumPy's: naming an axis whose size is not 1 is a ValueError."""
    shape = np.shape(_data(x))
    axes = (
        tuple(i for i, n in enumerate(shape) if n == 1)
        if axis is None
        else normalize_axes(axis, shape)
    )
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a} of size {shape[a]} (shape {shape})")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def _data(x: Operand) -> Any:
    return x.data if isinstance(x, Variable) else x


def unbroadcast(g: Tensor, like: Tensor) -> Tensor:
    """The gradient ``g`` of a broadcast result, reduced to the shape and dtype of the input
    ``like``: the step every binary op's backward ends with."""
    if g.shape != like.shape:
        if type(g) is np.ndarray and like.ndim and g.shape[1:] == like.shape and g.itemsize >= 4:
            # NOTE: the sum over the first axis alone (a bias's gradient), as _sum_to sums it
            g = g.sum(axis=0)
        else:
            g = SumTo(like.shape).apply(g)
    if g.dtype != like.dtype:
        g = Cast(like.dtype).apply(g)
    return g


def reduced_shape(sampler: Sampler, shape: Shape) -> Shape:
    """A shape that broadcasts to ``shape``: leading axes dropped, some axes set to 1."""
    lead = sampler.integer(0, len(shape))
    return tuple(1 if sampler.boolean() else n for n in shape[lead:])


def _sum_to_case(sampler: Sampler) -> Case:
    shape = sampler.shape()
    return Case((shape,), {"shape": reduced_shape(sampler, shape)})


def _broadcast_to_case(sampler: Sampler) -> Case:
    shape = emptied(sampler, sampler.shape())
    return Case((reduced_shape(sampler, shape),), {"shape": shape})


def _cast_case(sampler: Sampler) -> Case:
    return Case((sampler.shape(),), {"dtype": sampler.choice([np.float32, np.float64])})


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


def _reshape_case(sampler: Sampler) -> Case:
    """A shape of the same size, with a ``-1`` or not; for an empty operand, a shape with a 0,
    or a ``-1`` among sizes that are not 0 (NumPy refuses one beside a 0: it is ambiguous)."""
    shape = emptied(sampler, sampler.shape())
    size = math.prod(shape)
    if size == 0:
        target = [sampler.integer(1, 3) for _ in range(sampler.integer(0, 2))]
        target.insert(sampler.integer(0, len(target)), -1 if sampler.boolean() else 0)
        return Case((shape,), {"shape": tuple(target)})
    target = [1] * sampler.integer(1 if size > 1 else 0, 4)
    for p in _prime_factors(size):
        target[sampler.integer(0, len(target) - 1)] *= p
    if target and sampler.boolean():
        target[sampler.integer(0, len(target) - 1)] = -1
    return Case((shape,), {"shape": tuple(target)})


def _transpose_case(sampler: Sampler) -> Case:
    shape = emptied(sampler, sampler.shape(min_dims=1))
    if sampler.boolean():
        return Case((shape,), {"axes": None})
    axes = list(range(len(shape)))
    for i in reversed(range(1, len(axes))):
        j = sampler.integer(0, i)
        axes[i], axes[j] = axes[j], axes[i]
    return Case((shape,), {"axes": tuple(a - len(axes) if sampler.boolean() else a for a in axes)})


def _sum_to_reference(x: Any, shape: Shape) -> Any:
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(axis for axis in range(x.ndim) if axis < lead or shape[axis - lead] == 1)
    return np.sum(x, axis=axes).reshape(shape)


def _expand_dims_case(sampler: Sampler) -> Case:
    shape = emptied(sampler, sampler.shape())
    count = sampler.integer(1, 2)
    ndim = len(shape) + count
    axes = sorted({sampler.integer(-ndim, ndim - 1) % ndim for _ in range(count)})
    if len(axes) < count:
        axes.append(next(a for a in range(ndim) if a not in axes))
    signed = tuple(a - ndim if sampler.boolean() else a for a in axes)
    return Case((shape,), {"axis": signed[0] if count == 1 else signed})


def _flatten_case(sampler: Sampler) -> Case:
    return Case((sampler.shape(min_dims=1),))


def _reference_flatten(x: Any) -> Any:
    return np.reshape(x, (np.shape(x)[0], -1))


def _squeeze_case(sampler: Sampler) -> Case:
    shape = tuple(n if sampler.boolean() else 1 for n in sampler.shape())
    ones = [i for i, n in enumerate(shape) if n == 1]
    kind = sampler.choice(["none", "int", "tuple"] if ones else ["none", "tuple"])
    if kind == "none":
        return Case((shape,), {"axis": None})
    if kind == "int":
        return Case(
            (shape,), {"axis": sampler.choice(ones) - (len(shape) if sampler.boolean() else 0)}
        )
    return Case((shape,), {"axis": tuple(a for a in ones if sampler.boolean())})


SPECS = [
    OpSpec(
        "reshape",
        Reshape,
        reshape,
        np.reshape,
        (ANY,),
        infix=lambda x, shape: x.reshape(*shape),
        case=_reshape_case,
        numpy=(np.reshape,),
        numpy_function=reshape_as_numpy,
        analytic=True,
    ),
    OpSpec(
        "transpose",
        Transpose,
        transpose,
        np.transpose,
        (ANY,),
        infix=lambda x, axes: x.T if axes is None else x.transpose(*axes),
        case=_transpose_case,
        numpy=(np.transpose,),
        analytic=True,
    ),
    OpSpec(
        "expand_dims",
        Reshape,
        expand_dims,
        np.expand_dims,
        (ANY,),
        case=_expand_dims_case,
        numpy=(np.expand_dims,),
    ),
    OpSpec("flatten", Reshape, flatten, _reference_flatten, (ANY,), case=_flatten_case),
    OpSpec(
        "squeeze", Reshape, squeeze, np.squeeze, (ANY,), case=_squeeze_case, numpy=(np.squeeze,)
    ),
    OpSpec(
        "sum_to",
        SumTo,
        sum_to,
        _sum_to_reference,
        (ANY,),
        case=_sum_to_case,
        analytic=True,
    ),
    OpSpec(
        "broadcast_to",
        BroadcastTo,
        broadcast_to,
        np.broadcast_to,
        (ANY,),
        case=_broadcast_to_case,
        numpy=(np.broadcast_to,),
        analytic=True,
    ),
    OpSpec(
        "cast",
        Cast,
        cast,
        lambda x, dtype: np.asarray(x).astype(dtype),
        (ANY,),
        case=_cast_case,
    ),
]
