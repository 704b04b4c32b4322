"""NumPy's functions that rearrange an array's elements: repeat, tile, roll, flips and rotations,
axis moves, ``atleast_*d``, diagonals, triangles and padding. ``roll`` and ``pad`` are Functions of
their own; the others are exact compositions of indexing, reshapes, transposes and ``where``, so
that their derivatives are those verified ops'."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.indexing import GetItem, GetItemGrad, get_item, get_item_grad
from tinygrad_ref.ops.piecewise import Where, where
from tinygrad_ref.ops.shape import (
    BroadcastTo,
    Reshape,
    Transpose,
    batched,
    broadcast_to,
    normalize_axes,
    operand_shape,
    reshape,
    transpose,
)
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler, Shape

Counts = int | Sequence[int] | npt.NDArray[np.integer[Any]]
"""One count, or a sequence of them: ``repeat``'s ``repeats``, ``tile``'s ``reps``, ``roll``'s
``shift``."""


def _ints(value: Any, what: str) -> tuple[int, ...]:
    """``value``, an int or a 1-d sequence of ints, as a tuple; a TypeError naming ``what``
    for anything else (a float, which NumPy would truncate without a word)."""
    items = (value,) if np.ndim(value) == 0 else value
    if isinstance(value, np.ndarray) and value.ndim > 1:
        raise ValueError(
            f"{what} must be an int or a 1-d sequence of ints, got shape {value.shape}"
        )
    try:
        return tuple(operator.index(item) for item in items)
    except TypeError:
        raise TypeError(f"{what} must be an int or a 1-d sequence of ints, got {value!r}") from None


def _int(value: Any, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {value!r}") from None


def _axes(value: Any, shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """The axes ``value`` (an int or a sequence of them) names in an array of ``shape``."""
    return normalize_axes(_ints(value, what), shape)


class Roll(Function):
    """``np.roll`` along distinct ``axes`` (non-negative), each by its shift."""

    __slots__ = ("axes", "shifts")
    batched_jvp = True

    def __init__(self, shifts: tuple[int, ...], axes: tuple[int, ...]) -> None:
        self.shifts = shifts
        self.axes = axes

    def forward(self, x: Array) -> Array:
        return np.roll(x, self.shifts, self.axes) if self.axes else x.copy()

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Roll(tuple(-s for s in self.shifts), self.axes).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        moved = batched(tx, x)
        return Roll(self.shifts, tuple(a + moved for a in self.axes)).apply(tx)


class Pad(Function):
    """``np.pad(x, widths, constant_values=values)``: ``widths`` one ``(before, after)`` pair per
    axis; its gradient is the gradient's middle, where ``x`` went."""

    __slots__ = ("values", "widths")
    batched_jvp = True

    def __init__(self, widths: tuple[tuple[int, int], ...], values: Any = 0) -> None:
        self.widths = widths
        self.values = values

    def forward(self, x: Array) -> Array:
        if not self.widths:
            return x.copy()  # NOTE: NumPy reads a 0-d operand's empty widths as floats
        y: Array = np.pad(x, self.widths, constant_values=self.values)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        middle = tuple(
            slice(before, before + n) for (before, _), n in zip(self.widths, x.shape, strict=True)
        )
        return GetItem(middle).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: the padding is constant: its tangent is 0, along the batch axis too
        return Pad(((0, 0),) * batched(tx, x) + self.widths).apply(tx)


def repeat(x: Operand, repeats: Counts, axis: int | None = None) -> Variable:
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (``None``: of ``x``
    flattened), as NumPy's: ``repeats`` one count for every element or one count per element."""
    shape = operand_shape(x)
    if axis is None:
        x, shape, axis = reshape(x, -1), (int(np.prod(shape)),), 0
    (axis,) = normalize_axes(axis, shape)
    n = shape[axis]
    counts = _ints(repeats, "repeat's repeats")
    if any(count < 0 for count in counts):
        raise ValueError(f"repeat's repeats must not be negative, got {repeats!r}")
    scalar = isinstance(repeats, int) or np.ndim(repeats) == 0
    if not scalar and len(counts) not in (1, n):
        raise ValueError(
            f"repeat's repeats must be one count, or one per element along axis {axis} ({n}), "
            f"got {len(counts)}"
        )
    if scalar or len(counts) == 1:
        (count,) = counts
        ahead, behind = shape[: axis + 1], shape[axis + 1 :]
        spread = broadcast_to(reshape(x, (*ahead, 1, *behind)), (*ahead, count, *behind))
        return reshape(spread, (*shape[:axis], n * count, *behind))
    return get_item(x, (*(slice(None),) * axis, np.repeat(np.arange(n), counts)))


def tile(x: Operand, reps: Counts) -> Variable:
    """``x`` repeated as a block ``reps[i]`` times along each axis ``i``, as NumPy's: the
    shorter of ``x``'s shape and ``reps`` is padded with ones in front."""
    counts = _ints(reps, "tile's reps")
    if any(count < 0 for count in counts):
        raise ValueError(f"tile's reps must not be negative, got {reps!r}")
    shape = operand_shape(x)
    ndim = max(len(shape), len(counts))
    shape = (1,) * (ndim - len(shape)) + shape
    counts = (1,) * (ndim - len(counts)) + counts
    # NOTE: each axis of x after a size-1 axis, which the broadcast repeats
    pairs = [(1, n) for n in shape]
    blocks = broadcast_to(
        reshape(x, tuple(n for pair in pairs for n in pair)),
        tuple(n for count, size in zip(counts, shape, strict=True) for n in (count, size)),
    )
    return reshape(blocks, tuple(c * n for c, n in zip(counts, shape, strict=True)))


def roll(x: Operand, shift: Counts, axis: int | Sequence[int] | None = None) -> Variable:
    """``x`` with its elements moved ``shift`` places along ``axis``, those pushed past the
    end coming back at the start, as NumPy's: ``shift`` and ``axis`` may be sequences, paired
    after broadcasting, and an axis named twice moves by the sum; ``None``: ``x`` flattened."""
    shifts = _ints(shift, "roll's shift")
    shape = operand_shape(x)
    if axis is None:
        return reshape(roll(reshape(x, -1), sum(shifts), 0), shape)
    axes = tuple(normalize_axes(a, shape)[0] for a in _ints(axis, "roll's axis"))
    if len(shifts) != len(axes):
        if 1 not in (len(shifts), len(axes)):
            raise ValueError(
                f"roll's shift {shift!r} and axis {axis!r} must have one length, or one of them one"
            )
        shifts, axes = shifts * len(axes), axes * len(shifts)
    total: dict[int, int] = {}
    for s, a in zip(shifts, axes, strict=True):
        total[a] = total.get(a, 0) + s
    return Roll(tuple(total.values()), tuple(total))(x)


def flip(x: Operand, axis: int | Sequence[int] | None = None) -> Variable:
    """``x`` with the order of its elements reversed along ``axis`` (``None``: every axis; a
    sequence: those), as NumPy's."""
    shape = operand_shape(x)
    axes = normalize_axes(None if axis is None else _ints(axis, "flip's axis"), shape)
    reverse, keep = slice(None, None, -1), slice(None)
    return get_item(x, tuple(reverse if i in axes else keep for i in range(len(shape))))


def fliplr(x: Operand) -> Variable:
    """``x`` reversed along axis 1 (left to right), as NumPy's: at least 2 dimensions."""
    if len(operand_shape(x)) < 2:
        raise ValueError(f"fliplr needs at least 2 dimensions, got shape {operand_shape(x)}")
    return flip(x, 1)


def flipud(x: Operand) -> Variable:
    """``x`` reversed along axis 0 (up to down), as NumPy's: at least 1 dimension."""
    if not operand_shape(x):
        raise ValueError("flipud needs at least 1 dimension, got a 0-d operand")
    return flip(x, 0)


def rot90(x: Operand, k: int = 1, axes: Sequence[int] = (0, 1)) -> Variable:
    """``x`` rotated ``k`` quarter turns in the plane of ``axes``, from the first axis towards
    the second, as NumPy's."""
    shape = operand_shape(x)
    plane = _ints(axes, "rot90's axes")
    if len(plane) != 2:
        raise ValueError(f"rot90's axes must be two axes, got {axes!r}")
    first, second = normalize_axes(plane[0], shape)[0], normalize_axes(plane[1], shape)[0]
    if first == second:
        raise ValueError(f"rot90's axes must be two different axes, got {axes!r}")
    turns = _int(k, "rot90's k") % 4
    if turns == 0:
        return reshape(x, shape)  # NOTE: a new Variable, as every op gives, never x itself
    if turns == 2:
        return flip(x, (first, second))
    order = list(range(len(shape)))
    order[first], order[second] = order[second], order[first]
    if turns == 1:
        return transpose(flip(x, second), tuple(order))
    return flip(transpose(x, tuple(order)), second)


def swapaxes(x: Operand, axis1: int, axis2: int) -> Variable:
    """``x`` with its axes ``axis1`` and ``axis2`` interchanged, as NumPy's."""
    shape = operand_shape(x)
    (a,), (b,) = normalize_axes(axis1, shape), normalize_axes(axis2, shape)
    order = list(range(len(shape)))
    order[a], order[b] = order[b], order[a]
    return transpose(x, tuple(order))


def moveaxis(x: Operand, source: int | Sequence[int], destination: int | Sequence[int]) -> Variable:
    """``x`` with its axes ``source`` moved to the places ``destination``, the others keeping
    their order, as NumPy's."""
    shape = operand_shape(x)
    sources = _axes(source, shape, "moveaxis's source")
    destinations = _axes(destination, shape, "moveaxis's destination")
    if len(sources) != len(destinations):
        raise ValueError(
            f"moveaxis's source {source!r} and destination {destination!r} must name as many axes"
        )
    order = [a for a in range(len(shape)) if a not in sources]
    for to, a in sorted(zip(destinations, sources, strict=True)):
        order.insert(to, a)
    return transpose(x, tuple(order))


def rollaxis(x: Operand, axis: int, start: int = 0) -> Variable:
    """``x`` with ``axis`` moved to stand before the axis now at ``start`` (NumPy's older
    :func:`moveaxis`): ``start`` in ``[-ndim, ndim]``."""
    shape = operand_shape(x)
    ndim = len(shape)
    (axis,) = normalize_axes(axis, shape)
    start = _int(start, "rollaxis's start")
    if not -ndim <= start <= ndim:
        raise np.exceptions.AxisError(
            f"rollaxis's start must be in [{-ndim}, {ndim}] for an array of shape {shape}, "
            f"got {start}"
        )
    start += ndim if start < 0 else 0
    order = [a for a in range(ndim) if a != axis]
    order.insert(start - (axis < start), axis)
    return transpose(x, tuple(order))


def _at_least(ndim: int, arys: tuple[Operand, ...]) -> Variable | tuple[Variable, ...]:
    """Each of ``arys`` with axes of size 1 added to reach ``ndim`` dimensions, as NumPy's
    ``atleast_{ndim}d``: a 1-d one of ``n`` becomes ``(1, n)``, or ``(1, n, 1)``, a matrix
    ``(m, n, 1)``; one Variable for one operand, else a tuple."""
    results = []
    for x in arys:
        shape = operand_shape(x)
        if len(shape) < ndim:
            # NOTE: NumPy's placements: in front, and for 3-d also behind a vector or a matrix
            shape = {0: (1,) * ndim, 1: (1, *shape, 1)[:ndim], 2: (*shape, 1)}[len(shape)]
        results.append(reshape(x, shape))
    return results[0] if len(results) == 1 else tuple(results)


@overload
def atleast_1d(ary: Operand, /) -> Variable: ...
@overload
def atleast_1d(*arys: Operand) -> Variable | tuple[Variable, ...]: ...
def atleast_1d(*arys: Operand) -> Variable | tuple[Variable, ...]:
    """Each operand with at least 1 dimension (a 0-d one becomes ``(1,)``), as NumPy's: one
    Variable for one operand, else a tuple of them."""
    return _at_least(1, arys)


@overload
def atleast_2d(ary: Operand, /) -> Variable: ...
@overload
def atleast_2d(*arys: Operand) -> Variable | tuple[Variable, ...]: ...
def atleast_2d(*arys: Operand) -> Variable | tuple[Variable, ...]:
    """Each operand with at least 2 dimensions (a vector of ``n`` becomes a row, ``(1, n)``),
    as NumPy's: one Variable for one operand, else a tuple of them."""
    return _at_least(2, arys)


@overload
def atleast_3d(ary: Operand, /) -> Variable: ...
@overload
def atleast_3d(*arys: Operand) -> Variable | tuple[Variable, ...]: ...
def atleast_3d(*arys: Operand) -> Variable | tuple[Variable, ...]:
    """Each operand with at least 3 dimensions (a vector of ``n`` becomes ``(1, n, 1)``, a
    matrix ``(m, n, 1)``), as NumPy's: one Variable for one operand, else a tuple of them."""
    return _at_least(3, arys)


def _diagonal_places(
    rows: int, columns: int, offset: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The row and column indices of the diagonal at ``offset`` (above the main one if
    positive) of a ``rows`` by ``columns`` matrix."""
    start = np.arange(max(0, min(rows + min(offset, 0), columns - max(offset, 0))))
    return start - min(offset, 0), start + max(offset, 0)


def diagonal(x: Operand, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Variable:
    """The diagonal at ``offset`` of each plane of ``x``'s axes ``axis1`` and ``axis2``, as
    NumPy's: those axes removed, the diagonal along a new last axis (a copy, where NumPy gives
    a read-only view)."""
    shape = operand_shape(x)
    if len(shape) < 2:
        raise ValueError(f"diagonal needs at least 2 dimensions, got shape {shape}")
    (a,), (b,) = normalize_axes(axis1, shape), normalize_axes(axis2, shape)
    if a == b:
        raise ValueError(f"diagonal's axis1 and axis2 must differ, got {axis1} and {axis2}")
    rows, columns = _diagonal_places(shape[a], shape[b], _int(offset, "diagonal's offset"))
    planes = transpose(x, (*(i for i in range(len(shape)) if i not in (a, b)), a, b))
    return get_item(planes, (..., rows, columns))


def diag(x: Operand, k: int = 0) -> Variable:
    """For a 1-d ``x``, the square matrix with ``x`` on its diagonal at ``k`` (zeros
    elsewhere); for a 2-d one, its diagonal at ``k``; as NumPy's."""
    shape = operand_shape(x)
    k = _int(k, "diag's k")
    if len(shape) == 2:
        return diagonal(x, k)
    if len(shape) != 1:
        raise ValueError(f"diag needs a 1-d or 2-d operand, got shape {shape}")
    side = shape[0] + abs(k)
    return get_item_grad(x, _diagonal_places(side, side, k), (side, side))


def _triangle(x: Operand, k: int, name: str, lower: bool) -> Variable:
    shape = operand_shape(x)
    if not shape:
        raise ValueError(f"{name} needs at least 1 dimension, got a 0-d operand")
    k = _int(k, f"{name}'s k")
    rows, columns = shape[-2:] if len(shape) > 1 else shape * 2
    kept = np.tri(rows, columns, k, dtype=bool) if lower else ~np.tri(rows, columns, k - 1, bool)
    return where(kept, x, 0.0)


def tril(x: Operand, k: int = 0) -> Variable:
    """``x`` with the elements above the diagonal at ``k`` of its last two axes zeroed, as
    NumPy's; a 1-d ``x`` is taken as each row of a square matrix."""
    return _triangle(x, k, "tril", lower=True)


def triu(x: Operand, k: int = 0) -> Variable:
    """``x`` with the elements below the diagonal at ``k`` of its last two axes zeroed, as
    NumPy's; a 1-d ``x`` is taken as each row of a square matrix."""
    return _triangle(x, k, "triu", lower=False)


def _pad_widths(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """The ``(before, after)`` widths of each axis ``pad_width`` gives, read by NumPy itself
    (an int, a pair, one pair per axis, a dict of axes...), with NumPy's errors."""
    if isinstance(pad_width, Variable):
        raise TypeError("pad's pad_width must be ints, not a Variable")
    marker = np.pad(np.ones((1,) * ndim, dtype=bool), pad_width)
    before = np.argwhere(marker)[0]
    return tuple((int(b), int(n - b - 1)) for b, n in zip(before, marker.shape, strict=True))


def pad(
    x: Operand,
    pad_width: Any,
    mode: str = "constant",
    constant_values: npt.ArrayLike = 0,
) -> Variable:
    """``x`` with ``constant_values`` added around it, ``pad_width`` elements before and after
    along each axis, as NumPy's ``pad`` in its ``"constant"`` mode (the only one: the others
    are refused); ``pad_width`` and ``constant_values`` in any form NumPy takes."""
    if mode != "constant":
        raise ValueError(
            f"pad's mode={mode!r} is not supported: only mode='constant' (the gradients of "
            "the other modes are not built); pad v.data for values without a graph"
        )
    if isinstance(constant_values, Variable):
        raise TypeError(
            "pad's constant_values must be constants, not a Variable (no gradient flows to "
            "them); concatenate Variables to differentiate the padding"
        )
    widths = _pad_widths(pad_width, len(operand_shape(x)))
    return Pad(widths, np.asarray(constant_values))(x)


# Cases: shapes of up to 3 dimensions, each axis sometimes empty; every parameter value NumPy
# takes, negative axes and offsets past either end included.


def _shape(sampler: Sampler, min_dims: int = 0, max_dims: int = 3) -> Shape:
    """A shape, one of whose axes is sometimes of size 0."""
    shape = list(sampler.shape(min_dims, max_dims))
    if shape and not sampler.integer(0, 5):
        shape[sampler.integer(0, len(shape) - 1)] = 0
    return tuple(shape)


def _signed(sampler: Sampler, axis: int, ndim: int) -> int:
    """``axis``, or the same axis counted from the end."""
    return axis - ndim if sampler.boolean() else axis


def _counts(sampler: Sampler, n: int, high: int) -> int | list[int]:
    """An int in ``[0, high]``, or ``n`` of them (or one, in a list)."""
    kind = sampler.choice(["int", "one", "each"])
    if kind == "int":
        return sampler.integer(0, high)
    return [sampler.integer(0, high) for _ in range(1 if kind == "one" else n)]


def _repeat_case(sampler: Sampler) -> Case:
    shape = _shape(sampler)
    ndim = len(shape)
    axis = None if not ndim or sampler.boolean() else sampler.integer(-ndim, ndim - 1)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    return Case((shape,), {"repeats": _counts(sampler, n, 3), "axis": axis})


def _tile_case(sampler: Sampler) -> Case:
    shape = _shape(sampler)
    reps = _counts(sampler, sampler.integer(0, 4), 2)
    return Case((shape,), {"reps": tuple(reps) if isinstance(reps, list) else reps})


def _roll_case(sampler: Sampler) -> Case:
    shape = _shape(sampler)
    ndim = len(shape)
    kind = sampler.choice(["none", "int", "tuple"] if ndim else ["none"])
    if kind == "none":
        shift: Any = sampler.integer(-5, 5) if sampler.boolean() else (sampler.integer(-5, 5),)
        return Case((shape,), {"shift": shift, "axis": None})
    if kind == "int":
        return Case(
            (shape,), {"shift": sampler.integer(-5, 5), "axis": sampler.integer(-ndim, ndim - 1)}
        )
    count = sampler.integer(1, 3)
    axes = tuple(sampler.integer(-ndim, ndim - 1) for _ in range(count))
    shifts: Any = tuple(sampler.integer(-5, 5) for _ in axes)
    if sampler.boolean():
        shifts = shifts[0]
    return Case((shape,), {"shift": shifts, "axis": axes})


def _flip_case(sampler: Sampler) -> Case:
    shape = _shape(sampler)
    ndim = len(shape)
    kind = sampler.choice(["none", "int", "tuple"] if ndim else ["none", "tuple"])
    if kind == "none":
        return Case((shape,), {"axis": None})
    if kind == "int":
        return Case((shape,), {"axis": sampler.integer(-ndim, ndim - 1)})
    axes = tuple(_signed(sampler, a, ndim) for a in range(ndim) if sampler.boolean())
    return Case((shape,), {"axis": axes})


def _plane(sampler: Sampler, ndim: int) -> tuple[int, int]:
    """Two different axes of ``ndim`` (at least 2), each possibly negative."""
    first = sampler.integer(0, ndim - 1)
    second = sampler.choice([a for a in range(ndim) if a != first])
    return _signed(sampler, first, ndim), _signed(sampler, second, ndim)


def _rot90_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=2)
    return Case((shape,), {"k": sampler.integer(-5, 5), "axes": _plane(sampler, len(shape))})


def _swapaxes_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=1)
    ndim = len(shape)
    axis1, axis2 = (sampler.integer(-ndim, ndim - 1) for _ in range(2))
    return Case((shape,), {"axis1": axis1, "axis2": axis2})


def _moveaxis_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=1)
    ndim = len(shape)
    if sampler.boolean():
        source, destination = (sampler.integer(-ndim, ndim - 1) for _ in range(2))
        return Case((shape,), {"source": source, "destination": destination})
    count = sampler.integer(0, ndim)
    picks = [list(range(ndim)) for _ in range(2)]
    for axes in picks:
        for i in reversed(range(1, ndim)):
            j = sampler.integer(0, i)
            axes[i], axes[j] = axes[j], axes[i]
    sources, destinations = (
        tuple(_signed(sampler, a, ndim) for a in axes[:count]) for axes in picks
    )
    return Case((shape,), {"source": sources, "destination": destinations})


def _rollaxis_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=1)
    ndim = len(shape)
    return Case(
        (shape,),
        {"axis": sampler.integer(-ndim, ndim - 1), "start": sampler.integer(-ndim, ndim)},
    )


def _atleast_case(sampler: Sampler) -> Case:
    return Case((_shape(sampler, max_dims=4 if sampler.integer(0, 3) == 0 else 3),))


def _diagonal_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=2)
    axis1, axis2 = _plane(sampler, len(shape))
    offset = sampler.integer(-shape[axis1] - 1, shape[axis2] + 1)
    return Case((shape,), {"offset": offset, "axis1": axis1, "axis2": axis2})


def _diag_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=1, max_dims=2)
    return Case((shape,), {"k": sampler.integer(-shape[0] - 1, shape[-1] + 1)})


def _triangle_case(sampler: Sampler) -> Case:
    shape = _shape(sampler, min_dims=1)
    return Case((shape,), {"k": sampler.integer(-shape[-1] - 1, shape[-1] + 1)})


_PAD_DICTS = np.lib.NumpyVersion(np.__version__) >= "2.3.0"


def _pad_case(sampler: Sampler) -> Case:
    """Every form of ``pad_width`` (an int, a pair, a 1-tuple of a pair, one pair per axis, a
    dict of some axes) and of ``constant_values`` (a value, a pair, one pair per axis)."""
    shape = _shape(sampler)
    ndim = len(shape)

    def pair() -> tuple[int, int]:
        return sampler.integer(0, 2), sampler.integer(0, 2)

    # NOTE: NumPy reads an empty tuple or dict (the per-axis forms of a 0-d operand) as floats;
    # it takes a dict from NumPy 2.3 on
    forms = ["per axis", "dict"] if _PAD_DICTS else ["per axis"]
    form = sampler.choice(["int", "pair", "one pair", *(forms if ndim else [])])
    width: Any = sampler.integer(0, 2) if form == "int" else pair()
    if form == "one pair":
        width = (width,)
    elif form == "per axis":
        width = tuple(pair() for _ in range(ndim))
    elif form == "dict":
        width = {_signed(sampler, a, ndim): pair() for a in range(ndim) if sampler.boolean()}
    value = sampler.choice([0.0, -1.5, 2.0])
    per_axis = tuple((value, float(a)) for a in range(ndim))
    values: Any = sampler.choice([value, (value, 3.0), *([per_axis] if ndim else [])])
    return Case((shape,), {"pad_width": width, "constant_values": values})


SPECS = [
    OpSpec("repeat", BroadcastTo, repeat, np.repeat, (ANY,), case=_repeat_case,
           numpy=(np.repeat,), infix=lambda x, **params: x.repeat(**params), analytic=True),
    OpSpec("tile", BroadcastTo, tile, np.tile, (ANY,), case=_tile_case,
           numpy=(np.tile,), analytic=True),
    OpSpec("roll", Roll, roll, np.roll, (ANY,), case=_roll_case,
           numpy=(np.roll,), analytic=True),
    OpSpec("flip", GetItem, flip, np.flip, (ANY,), case=_flip_case,
           numpy=(np.flip,), analytic=True),
    OpSpec("fliplr", GetItem, fliplr, np.fliplr, (ANY,),
           case=lambda sampler: Case((_shape(sampler, min_dims=2),)), numpy=(np.fliplr,),
           analytic=True),
    OpSpec("flipud", GetItem, flipud, np.flipud, (ANY,),
           case=lambda sampler: Case((_shape(sampler, min_dims=1),)), numpy=(np.flipud,),
           analytic=True),
    OpSpec("rot90", GetItem, rot90, np.rot90, (ANY,), case=_rot90_case,
           numpy=(np.rot90,), analytic=True),
    OpSpec("swapaxes", Transpose, swapaxes, np.swapaxes, (ANY,),
           case=_swapaxes_case, numpy=(np.swapaxes,),
           infix=lambda x, **params: x.swapaxes(**params), analytic=True),
    OpSpec("moveaxis", Transpose, moveaxis, np.moveaxis, (ANY,),
           case=_moveaxis_case, numpy=(np.moveaxis,), analytic=True),
    OpSpec("rollaxis", Transpose, rollaxis, np.rollaxis, (ANY,),
           case=_rollaxis_case, numpy=(np.rollaxis,), analytic=True),
    OpSpec("atleast_1d", Reshape, atleast_1d, np.atleast_1d, (ANY,), case=_atleast_case,
           numpy=(np.atleast_1d,), analytic=True),
    OpSpec("atleast_2d", Reshape, atleast_2d, np.atleast_2d, (ANY,), case=_atleast_case,
           numpy=(np.atleast_2d,), analytic=True),
    OpSpec("atleast_3d", Reshape, atleast_3d, np.atleast_3d, (ANY,), case=_atleast_case,
           numpy=(np.atleast_3d,), analytic=True),
    OpSpec("diagonal", GetItem, diagonal, np.diagonal, (ANY,),
           case=_diagonal_case, numpy=(np.diagonal,),
           infix=lambda x, **params: x.diagonal(**params), analytic=True),
    OpSpec("diag", GetItemGrad, diag, np.diag, (ANY,), case=_diag_case,
           numpy=(np.diag,), analytic=True),
    OpSpec("tril", Where, tril, np.tril, (ANY,), case=_triangle_case,
           numpy=(np.tril,), analytic=True),
    OpSpec("triu", Where, triu, np.triu, (ANY,), case=_triangle_case,
           numpy=(np.triu,), analytic=True),
    OpSpec("pad", Pad, pad, np.pad, (ANY,), case=_pad_case, numpy=(np.pad,),
           analytic=True),
]  # fmt: skip
