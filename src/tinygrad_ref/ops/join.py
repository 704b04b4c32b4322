"""Joining arrays and splitting one: concatenate, stack and split, with NumPy's semantics.
``split`` is a Function of several outputs; the gradient of each op is the other op."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.indexing import GetItemGrad
from tinygrad_ref.ops.shape import (
    Reshape,
    batched,
    normalize_axes,
    operand_shape,
    tangent_axes,
    tangent_shape,
    unbroadcast,
)
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler, emptied

Operands = Sequence[Operand] | Variable | Array
"""What the stacking joins take, as NumPy's: a sequence of operands, or an array or Variable as
the sequence of its rows."""

Sections = int | Sequence[int]
"""How ``split`` divides an axis: into that many equal parts, or at those indices."""


def _applied(f: Function, ts: Sequence[Tensor]) -> Tensor:
    """``f`` of the inputs ``ts``: recorded if one of them is a Variable (a tangent of no
    trace's is a plain array of zeros among Variables)."""
    inputs: list[Any] = list(ts)
    y: Any = f(*inputs) if any(isinstance(t, Variable) for t in inputs) else f.forward(*inputs)
    return cast("Tensor", y)


def _joined(ts: Sequence[Tensor], axis: int) -> Tensor:
    """``ts`` concatenated along ``axis``: recorded if one of them is a Variable."""
    return _applied(Concatenate(axis), ts)


def _parts(t: Tensor, sections: Sections, axis: int) -> tuple[Tensor, ...]:
    """``t`` split along ``axis``: recorded if it is a Variable."""
    value: Any = t
    parts: Any = (
        split(value, sections, axis)
        if isinstance(value, Variable)
        else Split(sections, axis).forward(value)
    )
    return cast("tuple[Tensor, ...]", parts)


class Concatenate(Function):
    """``np.concatenate(xs, axis)`` of the inputs; ``axis=None``: of the inputs flattened."""

    __slots__ = ("axis",)
    batched_jvp = True

    def __init__(self, axis: int | None = 0) -> None:
        self.axis = axis

    def forward(self, *xs: Array) -> Array:
        y: Array = np.concatenate(xs, axis=self.axis)
        return y

    def vjp(self, gy: Tensor, *xs_and_y: Tensor) -> tuple[Tensor | None, ...]:
        xs = xs_and_y[:-1]
        if self.axis is None:
            bounds = np.cumsum([x.size for x in xs[:-1]]).tolist()
            parts = _parts(gy, bounds, 0)
            return tuple(
                unbroadcast(Reshape(x.shape).apply(g), x) for g, x in zip(parts, xs, strict=True)
            )
        (axis,) = normalize_axes(self.axis, gy.shape)
        bounds = np.cumsum([x.shape[axis] for x in xs[:-1]]).tolist()
        return tuple(unbroadcast(g, x) for g, x in zip(_parts(gy, bounds, axis), xs, strict=True))

    def jvp(self, *txs_xs_and_y: Tensor) -> Tensor:
        count = (len(txs_xs_and_y) - 1) // 2
        txs, xs = txs_xs_and_y[:count], txs_xs_and_y[count:-1]
        if self.axis is None:
            flat = [
                Reshape(tangent_shape(t, x, (x.size,))).apply(t)
                for t, x in zip(txs, xs, strict=True)
            ]
            return _joined(flat, 1 if batched(txs[0], xs[0]) else 0)
        (axis,) = normalize_axes(tangent_axes(self.axis, txs[0], xs[0]), txs[0].shape)
        return _joined(txs, axis)


class Stack(Function):
    """``np.stack(xs, axis)`` of the inputs: along a new axis."""

    __slots__ = ("axis",)
    batched_jvp = True

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *xs: Array) -> Array:
        y: Array = np.stack(xs, axis=self.axis)
        return y

    def vjp(self, gy: Tensor, *xs_and_y: Tensor) -> tuple[Tensor | None, ...]:
        xs = xs_and_y[:-1]
        (axis,) = normalize_axes(self.axis, gy.shape)
        return tuple(
            unbroadcast(Reshape(x.shape).apply(g), x)
            for g, x in zip(_parts(gy, len(xs), axis), xs, strict=True)
        )

    def jvp(self, *txs_xs_and_y: Tensor) -> Tensor:
        count = (len(txs_xs_and_y) - 1) // 2
        tx0, x0, y = txs_xs_and_y[0], txs_xs_and_y[count], txs_xs_and_y[-1]
        # NOTE: the new axis is one of the result's
        axis = normalize_axes(self.axis, y.shape)[0] + 1 if batched(tx0, x0) else self.axis
        return _applied(Stack(axis), txs_xs_and_y[:count])


class Split(Function):
    """``np.split(x, sections, axis)``: one output per part."""

    __slots__ = ("axis", "sections")
    batched_jvp = True

    def __init__(self, sections: Sections, axis: int = 0) -> None:
        self.sections = sections if isinstance(sections, int) else tuple(sections)
        self.axis = axis

    def forward(self, x: Array) -> tuple[Array, ...]:
        if isinstance(self.sections, int):
            (axis,) = normalize_axes(self.axis, x.shape)
            size = x.shape[axis]
            if self.sections < 1 or size % self.sections:
                raise ValueError(
                    f"cannot split axis {self.axis} of size {size} (shape {x.shape}) into "
                    f"{self.sections} equal parts"
                )
        return tuple(np.split(x, self.sections, axis=self.axis))

    def vjp(self, *args: Tensor) -> Tensor:
        # NOTE: the gradients of the parts (zeros for a part that got none), x, then the parts
        count = (len(args) - 1) // 2
        gys, x = args[:count], args[count]
        (axis,) = normalize_axes(self.axis, x.shape)
        bounds = _bounds(self.sections, x.shape[axis])
        if _tiled(bounds):
            return _joined(gys, axis)
        # NOTE: indices out of order (NumPy takes them as slices): parts may overlap or leave
        # elements out, so each part's gradient goes back to its own slice
        ahead: tuple[slice, ...] = (slice(None),) * axis
        added = [
            GetItemGrad((*ahead, slice(start, stop)), x.shape).apply(g)
            for g, (start, stop) in zip(gys, bounds, strict=True)
        ]
        return functools.reduce(operator.add, added)

    def jvp(self, tx: Tensor, x: Tensor, *ys: Tensor) -> tuple[Tensor, ...]:
        (axis,) = normalize_axes(tangent_axes(self.axis, tx, x), tx.shape)
        return _parts(tx, self.sections, axis)


def _bounds(sections: int | tuple[int, ...], size: int) -> list[tuple[int, int]]:
    """Where each part of a split of an axis of ``size`` starts and stops, as NumPy slices it
    (an index past the end stops at it, a negative one counts from it)."""
    if isinstance(sections, int):
        return [(i * size // sections, (i + 1) * size // sections) for i in range(sections)]
    starts, stops = (0, *sections), (*sections, None)
    return [slice(a, b).indices(size)[:2] for a, b in zip(starts, stops, strict=True)]


def _tiled(bounds: Sequence[tuple[int, int]]) -> bool:
    """Whether parts of these bounds follow one another without a gap or an overlap."""
    ordered = all(start <= stop for start, stop in bounds)
    return ordered and all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def concatenate(xs: Sequence[Operand], axis: int | None = 0) -> Variable:
    """The operands joined along the existing ``axis``, as NumPy's; ``axis=None`` joins them
    flattened, of any shapes."""
    return Concatenate(axis)(*xs)


def stack(xs: Sequence[Operand], axis: int = 0) -> Variable:
    """The operands, all of one shape, joined along a new ``axis``, as NumPy's."""
    return Stack(axis)(*xs)


def split(x: Operand, indices_or_sections: Sections, axis: int = 0) -> tuple[Variable, ...]:
    """``x`` split along ``axis`` into that many equal parts (a ``ValueError`` if they are not
    equal) or at the given indices, as NumPy's; always a tuple, also of one part. The parts
    may be views of ``x``'s data, as NumPy's."""
    # NOTE: one part is one output, a bare Variable (DeZero's rule); split still gives a tuple
    parts: Any = Split(indices_or_sections, axis)(x)
    return parts if isinstance(parts, tuple) else (parts,)


def _at_least(x: Operand, ndim: int) -> Operand:
    """``x`` with at least ``ndim`` dimensions, as NumPy's ``atleast_1d/2d/3d`` add them: a
    0-d one as ``(1,) * ndim``, a 1-d ``(n,)`` as ``(1, n)`` and ``(1, n, 1)``, a 2-d ``(m, n)``
    as ``(m, n, 1)``; a reshape recorded for a Variable."""
    shape = operand_shape(x)
    if len(shape) >= ndim:
        return x
    new = {0: (1,) * ndim, 1: (1, *shape, 1)[:ndim], 2: (*shape, 1)}[len(shape)]
    return Reshape(new)(x) if isinstance(x, Variable) else np.reshape(x, new)


def _operands(tup: object, name: str) -> Sequence[Operand]:
    """The operands of a join: a list or tuple of them, or, as NumPy takes it, an array or
    Variable of at least 1 dimension as the sequence of its rows (each recorded)."""
    if isinstance(tup, (Variable, np.ndarray)):
        if not tup.ndim:
            raise TypeError(f"{name} takes a sequence of operands, not a 0-d array")
        rows: list[Operand] = [tup[i] for i in range(tup.shape[0])]
        tup = rows
    if not isinstance(tup, (list, tuple)):
        raise TypeError(f"{name} takes a sequence of operands, not {type(tup).__name__}")
    if not tup:
        raise ValueError(f"{name} needs at least one operand to join, got none")
    return tup


def vstack(tup: Operands) -> Variable:
    """The operands, each made at least 2-d, joined along the first axis (NumPy's ``vstack``:
    1-d arrays as rows)."""
    return concatenate([_at_least(x, 2) for x in _operands(tup, "vstack")], 0)


def hstack(tup: Operands) -> Variable:
    """The operands, each made at least 1-d, joined along the second axis, or the first if
    they are 1-d (NumPy's ``hstack``)."""
    xs = [_at_least(x, 1) for x in _operands(tup, "hstack")]
    return concatenate(xs, 0 if len(operand_shape(xs[0])) == 1 else 1)


def dstack(tup: Operands) -> Variable:
    """The operands, each made at least 3-d, joined along the third axis (NumPy's
    ``dstack``)."""
    return concatenate([_at_least(x, 3) for x in _operands(tup, "dstack")], 2)


def column_stack(tup: Operands) -> Variable:
    """The operands joined along the second axis, a 1-d one as a column and a 0-d one as a
    ``(1, 1)`` matrix (NumPy's ``column_stack``)."""
    xs = [_as_column(x) for x in _operands(tup, "column_stack")]
    return concatenate(xs, 1)


def _as_column(x: Operand) -> Operand:
    shape = operand_shape(x)
    if len(shape) >= 2:
        return x
    column = (shape[0] if shape else 1, 1)
    return Reshape(column)(x) if isinstance(x, Variable) else np.reshape(x, column)


def append(arr: Operand, values: Operand, axis: int | None = None) -> Variable:
    """``values`` joined after ``arr`` along ``axis``; ``None``: both flattened (NumPy's
    ``append``: a Python number is a float64 array there, never weak)."""
    constants = [x if isinstance(x, Variable) else np.asarray(x) for x in (arr, values)]
    return concatenate(constants, axis)


def array_split(x: Operand, indices_or_sections: Sections, axis: int = 0) -> tuple[Variable, ...]:
    """``x`` split along ``axis`` as :func:`split`, but into ``n`` parts that need not be
    equal: the first ``size % n`` one element longer (NumPy's ``array_split``)."""
    if isinstance(indices_or_sections, Sequence):
        return split(x, indices_or_sections, axis)
    count = operator.index(indices_or_sections)
    if count < 1:
        raise ValueError(f"array_split needs a number of sections of at least 1, got {count}")
    (a,) = normalize_axes(axis, operand_shape(x))
    size = operand_shape(x)[a]
    lengths = [size // count + (i < size % count) for i in range(count)]
    return split(x, np.cumsum(lengths[:-1]).tolist(), axis)


def _split_at_least(
    x: Operand, sections: Sections, name: str, min_ndim: int, axis: int
) -> tuple[Variable, ...]:
    """:func:`split` along ``axis``, for an ``x`` of at least ``min_ndim`` dimensions."""
    shape = operand_shape(x)
    if len(shape) < min_ndim:
        raise ValueError(
            f"{name} needs an array of {min_ndim} or more dimensions, got shape {shape}"
        )
    return split(x, sections, axis)


def hsplit(x: Operand, indices_or_sections: Sections) -> tuple[Variable, ...]:
    """``x`` split along its second axis, or its first if it is 1-d (NumPy's ``hsplit``)."""
    axis = 1 if len(operand_shape(x)) > 1 else 0
    return _split_at_least(x, indices_or_sections, "hsplit", 1, axis)


def vsplit(x: Operand, indices_or_sections: Sections) -> tuple[Variable, ...]:
    """``x`` of at least 2 dimensions split along its first axis (NumPy's ``vsplit``)."""
    return _split_at_least(x, indices_or_sections, "vsplit", 2, 0)


def dsplit(x: Operand, indices_or_sections: Sections) -> tuple[Variable, ...]:
    """``x`` of at least 3 dimensions split along its third axis (NumPy's ``dsplit``)."""
    return _split_at_least(x, indices_or_sections, "dsplit", 3, 2)


def _join_case(sampler: Sampler, stacked: bool) -> Case:
    """Three operands to concatenate (two to stack) of up to 2 dimensions: enough for every
    way an axis can be wrong, at a tenth of the cost of 3-D ones; a quarter of the joins
    flatten (``axis=None``) operands of any shapes; empty operands (of size 0 along the axis
    joined, or stacked) among them."""
    if not stacked and sampler.integer(0, 3) == 0:
        flattened = tuple(sampler.shape(max_dims=2) for _ in range(3))
        return Case(flattened, {"axis": None})
    shape = sampler.shape(min_dims=1, max_dims=2)
    ndim = len(shape)
    if stacked:
        return Case((emptied(sampler, shape),) * 2, {"axis": sampler.integer(-ndim - 1, ndim)})
    axis = sampler.integer(-ndim, ndim - 1)
    shapes = []
    for _ in range(3):
        sides = list(shape)
        sides[axis] = sampler.integer(0, 3)
        shapes.append(tuple(sides))
    return Case(tuple(shapes), {"axis": axis})


def _indices(sampler: Sampler, size: int) -> list[int]:
    """Indices to split an axis of ``size`` at, as NumPy takes them: in order or not, repeated,
    negative, past the end; none at all."""
    return [sampler.integer(-size - 1, size + 1) for _ in range(sampler.integer(0, 3))]


def _split_case(
    sampler: Sampler, equal: bool = True, min_dims: int = 1, axis: int | None = None
) -> Case:
    """A number of parts (dividing the axis if ``equal``, as ``split`` needs; any from 1 to
    past the axis's size if not, as ``array_split`` takes) or indices (:func:`_indices`),
    and which part to look at, or all; the axis drawn, or ``axis`` (not a parameter) if
    given."""
    shape = sampler.shape(min_dims=min_dims)
    along = sampler.integer(-len(shape), len(shape) - 1) if axis is None else axis
    if axis is not None and len(shape) == 1:
        along = 0
    size = shape[along]
    counts = [n for n in range(1, size + 1) if size % n == 0] if equal else range(1, size + 3)
    count: int = sampler.choice(counts)
    sections: Sections = count
    if sampler.boolean():
        sections = _indices(sampler, size)
        count = len(sections) + 1
    part = None if sampler.boolean() else sampler.integer(0, count - 1)
    params = {"indices_or_sections": sections, "part": part}
    return Case((shape,), params if axis is not None else {**params, "axis": along})


def _checked(splitter: Callable[..., tuple[Variable, ...]]) -> Callable[..., Variable]:
    """``splitter``'s parts as the verification checks them: one part, or every part
    flattened and joined."""

    def checked(
        x: Operand, indices_or_sections: Sections, axis: int | None = None, part: int | None = None
    ) -> Variable:
        along = {} if axis is None else {"axis": axis}
        return _checked_part(splitter(x, indices_or_sections, **along), part)

    return checked


def _checked_part(parts: Sequence[Variable], part: int | None) -> Variable:
    return parts[part] if part is not None else concatenate([p.reshape(-1) for p in parts])


def _checked_reference(splitter: Callable[..., list[Any]]) -> Callable[..., Any]:
    """What NumPy's ``splitter`` gives, as :func:`_checked` checks it."""

    def reference(
        x: Any, indices_or_sections: Sections, axis: int | None = None, part: int | None = None
    ) -> Any:
        along = {} if axis is None else {"axis": axis}
        arrays = splitter(np.asarray(x), indices_or_sections, **along)
        return arrays[part] if part is not None else np.concatenate([a.ravel() for a in arrays])

    return reference


def _stacked_case(
    sampler: Sampler, axis: Callable[[int], int | None], ndim: int | None = None
) -> Case:
    """Two operands (of ``ndim`` dimensions, or from 0 to 3) for a join that first gives each
    enough dimensions: of one shape, or, where ``axis(ndim)`` names the axis they are joined
    along, of sizes from 0 to 3 there."""
    ndim = sampler.integer(0, 3) if ndim is None else ndim
    shape = sampler.shape(min_dims=ndim, max_dims=ndim)
    along = axis(ndim)
    if along is None:
        return Case((shape, shape))
    sides = [list(shape), list(shape)]
    for side in sides:
        side[along] = sampler.integer(0, 3)
    return Case(tuple(tuple(side) for side in sides))


def _column_case(sampler: Sampler) -> Case:
    """Two operands for ``column_stack``: 0-d ones, columns (1-d) and matrices of as many rows
    (2-d), or 3-d ones of sizes from 0 to 3 along their second axis."""
    ndim = sampler.integer(0, 3)
    if ndim == 0:
        return Case(((), ()))
    if ndim == 3:
        return _stacked_case(sampler, lambda ndim: 1, ndim)
    rows = sampler.shape(min_dims=1, max_dims=1)[0]
    shapes = [(rows,) if sampler.boolean() else (rows, sampler.integer(0, 3)) for _ in range(2)]
    return Case(tuple(shapes))


def _append_case(sampler: Sampler) -> Case:
    """Operands of any shapes flattened (``axis=None``), or of one number of dimensions with
    sizes from 0 to 3 along the ``axis`` they are joined along."""
    if sampler.boolean():
        return Case((sampler.shape(max_dims=2), sampler.shape(max_dims=2)), {"axis": None})
    shape = sampler.shape(min_dims=1, max_dims=2)
    axis = sampler.integer(-len(shape), len(shape) - 1)
    sides = [list(shape), list(shape)]
    for side in sides:
        side[axis] = sampler.integer(0, 3)
    return Case(tuple(tuple(side) for side in sides), {"axis": axis})


def _stacking(
    name: str, function: Callable[[Sequence[Operand]], Variable], case: Callable[[Sampler], Case]
) -> OpSpec:
    """The spec of a join of two operands that NumPy spells ``np.{name}``."""
    numpy_join = getattr(np, name)
    return OpSpec(
        name,
        Concatenate,
        lambda *tup: function(tup),
        lambda *tup: numpy_join(tup),
        (ANY, ANY),
        roles=("any", "any"),
        case=case,
        numpy=(numpy_join,),
        numpy_function=function,
    )


def _splitting(
    name: str, splitter: Callable[..., tuple[Variable, ...]], case: Callable[[Sampler], Case]
) -> OpSpec:
    """The spec of a split that NumPy spells ``np.{name}``, checked as :func:`_checked` does."""
    numpy_split = getattr(np, name)
    return OpSpec(
        name,
        Split,
        _checked(splitter),
        _checked_reference(numpy_split),
        (ANY,),
        case=case,
        numpy=(numpy_split,),
        numpy_function=splitter,
        numpy_result=_checked_part,
    )


SPECS = [
    OpSpec(
        "concatenate",
        Concatenate,
        lambda *xs, axis: concatenate(xs, axis),
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        (ANY, ANY, ANY),
        # NOTE: roles spelled out, so that the exhaustive mix of operand kinds per dtype
        # (matmul's, in the property suite) is not run for every join: the main fuzz draws
        # each operand's kind at random, and every kind is an array here.
        roles=("any", "any", "any"),
        case=lambda sampler: _join_case(sampler, stacked=False),
        numpy=(np.concatenate,),
        numpy_function=concatenate,
    ),
    OpSpec(
        "stack",
        Stack,
        lambda *xs, axis: stack(xs, axis),
        lambda *xs, axis: np.stack(xs, axis=axis),
        (ANY, ANY),
        roles=("any", "any"),
        case=lambda sampler: _join_case(sampler, stacked=True),
        numpy=(np.stack,),
        numpy_function=stack,
    ),
    _splitting("split", split, _split_case),
    _splitting("array_split", array_split, lambda sampler: _split_case(sampler, equal=False)),
    _splitting("hsplit", hsplit, lambda sampler: _split_case(sampler, axis=1)),
    _splitting("vsplit", vsplit, lambda sampler: _split_case(sampler, min_dims=2, axis=0)),
    _splitting("dsplit", dsplit, lambda sampler: _split_case(sampler, min_dims=3, axis=2)),
    _stacking("vstack", vstack, lambda s: _stacked_case(s, lambda n: 0 if n >= 2 else None)),
    _stacking("hstack", hstack, lambda s: _stacked_case(s, lambda n: min(n, 2) - 1 if n else None)),
    _stacking("dstack", dstack, lambda s: _stacked_case(s, lambda n: 2 if n >= 3 else None)),
    _stacking("column_stack", column_stack, _column_case),
    OpSpec(
        "append",
        Concatenate,
        append,
        np.append,
        (ANY, ANY),
        roles=("any", "any"),
        case=_append_case,
        numpy=(np.append,),
    ),
]
