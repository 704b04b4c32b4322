"""Indexing, ``x[idx]``, and its gradient, which adds into the indexed places."""

from __future__ import annotations

import copy
import math
from types import EllipsisType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import Config
from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.shape import (
    Reshape,
    batch_first,
    batch_last,
    batched,
    reduced_shape,
    unbroadcast,
)
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler, Shape, emptied

IndexItem: TypeAlias = (
    int
    | np.integer[Any]
    | slice
    | EllipsisType
    | list[int]
    | npt.NDArray[np.integer[Any]]
    | npt.NDArray[np.bool_]
    | None
)
Index: TypeAlias = IndexItem | tuple[IndexItem, ...]
"""What NumPy indexes with: ints, slices, ``...``, ``None``, integer or boolean arrays (or
lists), or a tuple of them."""


def _constant(idx: Index) -> Index:
    """A private copy of ``idx`` while a graph is recorded, so that changing its arrays
    afterwards changes no gradient (under ``no_grad()``, or when it holds no array or list,
    ``idx`` itself)."""
    mutable = False
    for item in idx if isinstance(idx, tuple) else (idx,):
        if isinstance(item, Variable):
            raise TypeError(
                "cannot index with a Variable: an index is a constant, not differentiated; "
                "index with an integer ndarray"
            )
        mutable = mutable or isinstance(item, (np.ndarray, list))
    return copy.deepcopy(idx) if mutable and Config.enable_backprop else idx


class GetItem(Function):
    """``x[idx]``; it keeps ``idx`` as given (``get_item`` and ``x[idx]`` pass a copy)."""

    __slots__ = ("idx",)
    batched_jvp = True

    def __init__(self, idx: Index) -> None:
        self.idx = idx

    def forward(self, x: Array) -> Array:
        y: Array = x[self.idx]
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return GetItemGrad(self.idx, x.shape).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        if not batched(tx, x):
            return GetItem(self.idx).apply(tx)
        # NOTE: with the batch axis last, the index picks the same places whatever it holds
        # (NumPy may move the axes of integer arrays to the front, ahead of a batch axis there)
        return batch_first(GetItem(_spelled_out(self.idx, x.ndim)).apply(batch_last(tx)))


class GetItemGrad(Function):
    """The gradient of ``x[idx]`` for an ``x`` of ``shape``: zeros, with ``gy`` added at
    ``idx``; an element indexed several times gets the sum of its gradients."""

    __slots__ = ("idx", "once", "shape")
    batched_jvp = True

    def __init__(self, idx: Index, shape: tuple[int, ...], once: bool = False) -> None:
        self.idx = idx
        self.shape = tuple(shape)
        self.once = once
        """Whether the caller knows that ``idx`` selects no element twice (a diagonal's places),
        which its integer arrays alone would not tell."""

    def forward(self, gy: Array) -> Array:
        gx = np.zeros(self.shape, dtype=gy.dtype)
        idx: Any = self.idx  # NOTE: NumPy's stubs type ufunc.at's index as integers only
        if self.once or _selects_once(idx):
            gx[idx] = gy  # NOTE: as np.add.at, without its cost (several times an assignment's)
        else:
            np.add.at(gx, idx, gy)
        return gx

    def vjp(self, ggx: Tensor, gy: Tensor, gx: Tensor) -> Tensor:
        # NOTE: np.add.at broadcasts gy to the indexed places; the reverse sums it back.
        return unbroadcast(GetItem(self.idx).apply(ggx), gy)

    def jvp(self, tgy: Tensor, gy: Tensor, gx: Tensor) -> Tensor:
        if not batched(tgy, gy):
            return GetItemGrad(self.idx, self.shape, self.once).apply(tgy)
        # NOTE: as GetItem's, with the batch axis last; gy may broadcast to the indexed places,
        # so its batch axis needs size-1 axes before it up to theirs
        batch: int = tgy.shape[0]
        places: int = np.empty(self.shape, dtype=np.bool_)[self.idx].ndim
        gys = Reshape((*(1,) * (places - gy.ndim), *gy.shape, batch)).apply(batch_last(tgy))
        idx = _spelled_out(self.idx, len(self.shape))
        return batch_first(GetItemGrad(idx, (*self.shape, batch), self.once).apply(gys))


def _selects_once(idx: Index) -> bool:
    """Whether ``idx`` selects no element twice: it holds no integer array or list (NumPy's
    basic indexing: ints, slices, ``...`` and ``None``)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return not any(isinstance(item, (list, np.ndarray)) for item in items)


def _spelled_out(idx: Index, ndim: int) -> Index:
    """``idx`` with its ``...`` written as the slices it stands for in an array of ``ndim``
    dimensions: so that it indexes the same axes of an array with one more axis at the end."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if not any(item is Ellipsis for item in items):
        return idx
    used = 0
    for item in items:
        if item is None or item is Ellipsis:
            continue
        array = np.asarray(item) if isinstance(item, (list, np.ndarray)) else None
        used += array.ndim if array is not None and array.dtype == np.bool_ else 1
    at = next(i for i, item in enumerate(items) if item is Ellipsis)
    return (*items[:at], *(slice(None),) * (ndim - used), *items[at + 1 :])


def get_item(x: Operand, idx: Index) -> Variable:
    """``x[idx]``, as NumPy indexes. Repeated integer indices select an element several times,
    and its gradient sums theirs."""
    return GetItem(_constant(idx))(x)


def get_item_grad(gy: Operand, idx: Index, shape: tuple[int, ...]) -> Variable:
    """Zeros of ``shape`` with ``gy`` added at ``idx`` (``np.add.at``): the gradient of
    ``x[idx]``."""
    return GetItemGrad(_constant(idx), shape)(gy)


def _index_item(sampler: Sampler, size: int, length: int) -> Any:
    """An int, a slice or an integer array (of ``length``, repeats likely) for an axis of
    ``size``; negative values included; a slice for an empty axis."""
    kind = sampler.choice(["int", "slice", "array"]) if size else "slice"
    if kind == "int":
        return sampler.integer(-size, size - 1)
    if kind == "array":
        return np.array([sampler.integer(-size, size - 1) for _ in range(length)])
    start, stop = (None if sampler.boolean() else sampler.integer(-size, size) for _ in range(2))
    return slice(start, stop, sampler.choice([None, 1, 2, -1, -2]))


def _index(sampler: Sampler, shape: Shape) -> Any:
    """An index into an array of ``shape`` (at least 1-D): a boolean mask of its leading axes,
    one item, or a tuple of items for its leading (or, after ``...``, its trailing) axes, with
    a ``None`` (new axis) among them; its integer arrays have one length, so that they
    broadcast together."""
    count = sampler.integer(1, len(shape))
    if not sampler.integer(0, 4):
        # NOTE: alone: beside integer arrays, NumPy would need its count of True to match theirs
        mask = [sampler.boolean() for _ in range(math.prod(shape[:count]))]
        return np.array(mask, dtype=bool).reshape(shape[:count])
    length = sampler.integer(1, 4)
    if sampler.integer(0, 3):
        items = [_index_item(sampler, size, length) for size in shape[:count]]
    else:
        sizes = shape[len(shape) - count :]
        items = [Ellipsis, *[_index_item(sampler, size, length) for size in sizes]]
    if not sampler.integer(0, 3):
        items.insert(sampler.integer(0, len(items)), None)
    return items[0] if len(items) == 1 and sampler.boolean() else tuple(items)


def _get_item_case(sampler: Sampler) -> Case:
    shape = emptied(sampler, sampler.shape(min_dims=1))
    return Case((shape,), {"idx": _index(sampler, shape)})


def _get_item_grad_case(sampler: Sampler) -> Case:
    """A gradient of the indexed places' shape, or of one that broadcasts to it."""
    shape = sampler.shape(min_dims=1)
    idx = _index(sampler, shape)
    selected = np.empty(shape)[idx].shape
    if sampler.boolean():
        selected = reduced_shape(sampler, selected)
    return Case((selected,), {"idx": idx, "shape": shape})


def _get_item_grad_reference(gy: Any, idx: Any, shape: Shape) -> Any:
    """One element at a time: every selection of an element adds to it."""
    gx = np.zeros(shape, dtype=np.asarray(gy).dtype)
    positions = np.arange(gx.size).reshape(shape)[idx]
    gy = np.broadcast_to(gy, positions.shape)
    for position, g in zip(np.ravel(positions), np.ravel(gy), strict=True):
        gx.flat[position] += g
    return gx


SPECS = [
    OpSpec(
        "get_item",
        GetItem,
        get_item,
        lambda x, idx: np.asarray(x)[idx],
        (ANY,),
        operators=("__getitem__",),
        infix=lambda x, idx: x[idx],
        case=_get_item_case,
        analytic=True,
    ),
    OpSpec(
        "get_item_grad",
        GetItemGrad,
        get_item_grad,
        _get_item_grad_reference,
        (ANY,),
        case=_get_item_grad_case,
        analytic=True,
    ),
]
