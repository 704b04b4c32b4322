"""Sorting along an axis: ``sort`` and ``partition``. Each output element is one of the input's,
so the gradient follows the rearrangement; where elements tie, the gradient of the output
elements equal to them is split evenly among them, as :func:`max`'s is (the symmetric choice:
the mean of the gradients on either side of the tie)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import _values
from tinygrad_ref.ops.indexing import GetItem, GetItemGrad
from tinygrad_ref.ops.shape import batched, normalize_axes, operand_shape, reshape
from tinygrad_ref.spec import ANY, ArrangementTieKink, Case, OpSpec, Sampler, emptied

Ints = npt.NDArray[np.intp]

SORT_KINDS = (None, "quicksort", "mergesort", "heapsort", "stable", "Q", "m", "heap", "S")
"""``kind`` values NumPy's ``sort`` takes (it reads only the first letter, in either case): all
give the same values, so the same gradient."""


def _ranks(values: Array, axis: int) -> Ints:
    """Each element's rank among the distinct values of its slice along ``axis``: tied elements
    share one, each NaN has its own."""
    moved = np.moveaxis(values, axis, -1)
    order = np.argsort(moved, axis=-1, kind="stable")
    ordered = np.take_along_axis(moved, order, -1)
    steps = np.zeros(moved.shape, dtype=np.intp)
    steps[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.cumsum(steps, axis=-1), -1)
    return np.moveaxis(ranks, -1, axis)


def _counts(ranks: Ints, axis: int) -> Ints:
    """How many elements of each slice along ``axis`` have each rank, in the rank's place."""
    moved = np.moveaxis(ranks, axis, -1)
    n = moved.shape[-1]
    rows = moved.reshape(int(np.prod(moved.shape[:-1])), n)
    offsets = np.arange(rows.shape[0])[:, None] * n
    counts = np.bincount((rows + offsets).ravel(), minlength=rows.size).reshape(moved.shape)
    return np.moveaxis(counts, -1, axis)


def _places(at: Ints, axis: int, batch: bool) -> tuple[Any, ...]:
    """The index that takes, along ``axis``, the places ``at`` (of one slice's length) of each
    slice, after the batch axis of a batch of tangents if ``batch``."""
    index: list[Any] = list(np.indices(at.shape, sparse=True))
    index[axis] = at
    return (slice(None), *index) if batch else tuple(index)


def _rearranged(t: Tensor, source: Tensor, target: Tensor, axis: int, batch: bool) -> Tensor:
    """``t``, given along the elements of ``source``, taken to those of ``target`` (the same
    elements along ``axis``, rearranged): each element of ``target`` gets the mean of ``t`` over
    the elements of ``source`` equal to it."""
    source_ranks = _ranks(_values(source), axis)
    target_ranks = _ranks(_values(target), axis)
    counts = _counts(source_ranks, axis)
    if np.all(counts <= 1):
        # NOTE: no tie: a rank is one place, so one gather takes each target element's source
        place_of_rank = np.empty_like(source_ranks)
        places = np.broadcast_to(np.indices(source_ranks.shape)[axis], source_ranks.shape)
        np.put_along_axis(place_of_rank, source_ranks, places, axis)
        where = np.take_along_axis(place_of_rank, target_ranks, axis)
        return GetItem(_places(where, axis, batch)).apply(t)
    shape = t.shape
    summed = GetItemGrad(_places(source_ranks, axis, batch), shape).apply(t)
    mean = summed / np.maximum(counts, 1).astype(t.dtype)
    return GetItem(_places(target_ranks, axis, batch)).apply(mean)


class Sort(Function):
    """NumPy's ``sort`` along ``axis``. As its output rearranges the input's elements, the
    gradient of each output element goes to the input element it is, split evenly among tied
    ones."""

    __slots__ = ("axis",)
    batched_jvp = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Array) -> Array:
        return np.sort(x, axis=self.axis)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _rearranged(gy, y, x, self.axis, batch=False)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _rearranged(tx, x, y, self.axis, batched(tx, x))


class Partition(Sort):
    """NumPy's ``partition`` along ``axis``: the elements at ``kth`` where sorting would put
    them, the smaller ones before, the others after, each part in NumPy's order; its gradient
    follows that arrangement, as :class:`Sort`'s."""

    __slots__ = ("kth",)

    def __init__(self, kth: int | tuple[int, ...], axis: int) -> None:
        super().__init__(axis)
        self.kth = kth

    def forward(self, x: Array) -> Array:
        return np.partition(x, self.kth, axis=self.axis)


def _along(a: Operand, axis: int | None) -> tuple[Operand, int]:
    """``a`` and the axis to sort it along: flattened for ``None``."""
    if axis is None:
        return reshape(a, (-1,)), 0
    (along,) = normalize_axes(axis, operand_shape(a))
    return a, along


def sort(
    a: Operand, axis: int | None = -1, kind: str | None = None, *, stable: bool | None = None
) -> Variable:
    """``a`` sorted along ``axis`` (``None``: flattened), as NumPy's ``sort``: ``kind`` and
    ``stable`` take NumPy's values (NumPy refuses the others) and change nothing, as the sorted
    values are the same. The gradient of each sorted element goes to the element it is; tied
    elements share the gradients of the places they take evenly."""
    # NOTE: NumPy's own refusals of kind and stable, by value (its stubs list fewer kinds)
    numpy_sort: Any = np.sort
    numpy_sort(np.zeros(1), kind=kind, stable=stable)
    x, along = _along(a, axis)
    return Sort(along)(x)


def partition(
    a: Operand, kth: int | Sequence[int], axis: int | None = -1, kind: str = "introselect"
) -> Variable:
    """``a`` partitioned along ``axis`` (``None``: flattened) around the element(s) ``kth``, as
    NumPy's ``partition``: each ``kth`` element where sorting would put it, smaller ones before
    it and the others after, in NumPy's order. The gradient follows that arrangement, as
    :func:`sort`'s, tied elements sharing evenly."""
    if kind != "introselect":
        raise ValueError(f"partition's kind must be 'introselect' (NumPy's only one), got {kind!r}")
    x, along = _along(a, axis)
    return Partition(kth if isinstance(kth, int) else tuple(kth), along)(x)


def _axis(sampler: Sampler, shape: tuple[int, ...]) -> int | None:
    """An axis of ``shape``, possibly negative, or ``None`` (flattened)."""
    ndim = len(shape)
    return None if not ndim or sampler.integer(0, 3) == 0 else sampler.integer(-ndim, ndim - 1)


def _sort_case(sampler: Sampler) -> Case:
    """Any operand, empty ones included, an axis or ``None``, and a ``kind`` or a ``stable``."""
    shape = emptied(sampler, sampler.shape())
    params: dict[str, Any] = {"axis": _axis(sampler, shape)}
    if sampler.boolean():
        params["kind"] = sampler.choice(SORT_KINDS)
    else:
        params["stable"] = sampler.choice([None, True, False])
    return Case((shape,), params)


def _partition_case(sampler: Sampler) -> Case:
    """A non-empty operand, an axis or ``None``, and one ``kth`` or several, possibly
    negative."""
    shape = sampler.shape()
    axis = _axis(sampler, shape)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    kth: int | list[int] = sampler.integer(-n, n - 1)
    if sampler.boolean():
        kth = [sampler.integer(-n, n - 1) for _ in range(sampler.integer(1, 3))]
    return Case((shape,), {"kth": kth, "axis": axis})


_SHARED = "each input element gets the mean of the gradients of the output elements equal to it"

# NOTE: partition is not analytic for the complex step: NumPy orders the elements besides kth
# differently in a complex array, so the reference would be another arrangement
SPECS = [
    OpSpec("sort", Sort, sort, lambda a, **params: np.sort(a, **params), (ANY,),
           case=_sort_case, numpy=(np.sort,), analytic=True,
           kink=ArrangementTieKink("two elements along axis equal", _SHARED, "axis")),
    OpSpec("partition", Partition, partition, lambda a, **params: np.partition(a, **params),
           (ANY,), case=_partition_case, numpy=(np.partition,),
           kink=ArrangementTieKink("two elements along axis equal", _SHARED, "axis")),
]  # fmt: skip
