"""Indexing, ``x[idx]``, and its gradient, which adds into the indexed places."""

from __future__ import annotations

import copy
from types import EllipsisType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable

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
    """A private copy of ``idx``, so that changing its arrays afterwards changes no gradient."""
    for item in idx if isinstance(idx, tuple) else (idx,):
        if isinstance(item, Variable):
            raise TypeError(
                "cannot index with a Variable: an index is a constant, not differentiated; "
                "index with an integer ndarray"
            )
    return copy.deepcopy(idx)


class GetItem(Function):
    """``x[idx]``; it keeps ``idx`` as given (``get_item`` and ``x[idx]`` pass a copy)."""

    __slots__ = ("idx",)

    def __init__(self, idx: Index) -> None:
        self.idx = idx

    def forward(self, x: Array) -> Array:
        y: Array = x[self.idx]
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return GetItemGrad(self.idx, x.shape).apply(gy)


class GetItemGrad(Function):
    """The gradient of ``x[idx]`` for an ``x`` of ``shape``: zeros, with ``gy`` added at
    ``idx``; an element indexed several times gets the sum of its gradients."""

    __slots__ = ("idx", "shape")

    def __init__(self, idx: Index, shape: tuple[int, ...]) -> None:
        self.idx = idx
        self.shape = tuple(shape)

    def forward(self, gy: Array) -> Array:
        gx = np.zeros(self.shape, dtype=gy.dtype)
        idx: Any = self.idx  # NOTE: NumPy's stubs type ufunc.at's index as integers only
        np.add.at(gx, idx, gy)
        return gx

    def vjp(self, ggx: Tensor, gy: Tensor, gx: Tensor) -> Tensor:
        return GetItem(self.idx).apply(ggx)


def get_item(x: Operand, idx: Index) -> Variable:
    """``x[idx]``, as NumPy indexes. Repeated integer indices select an element several times,
    and its gradient sums theirs."""
    return GetItem(_constant(idx))(x)


def get_item_grad(gy: Operand, idx: Index, shape: tuple[int, ...]) -> Variable:
    """Zeros of ``shape`` with ``gy`` added at ``idx`` (``np.add.at``): the gradient of
    ``x[idx]``."""
    return GetItemGrad(_constant(idx), shape)(gy)
