"""Ops that change an array's shape or dtype, and the broadcasting helper of every backward."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable


def _sum_to(x: Array, shape: tuple[int, ...]) -> Array:
    """``x`` summed over the axes that broadcasting ``shape`` to ``x.shape`` would repeat."""
    lead = x.ndim - len(shape)
    if lead < 0 or any(n not in (1, m) for n, m in zip(shape, x.shape[lead:], strict=True)):
        raise ValueError(f"cannot sum an array of shape {x.shape} to shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    y: Array = x.sum(axis=axes, keepdims=True)
    return y.reshape(shape) if lead else y


class SumTo(Function):
    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        return _sum_to(x, self.shape)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return BroadcastTo(x.shape).apply(gy)


class BroadcastTo(Function):
    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: Array) -> Array:
        # NOTE: a copy, not NumPy's read-only view, so that the result owns its memory.
        return np.broadcast_to(x, self.shape).copy()

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return SumTo(x.shape).apply(gy)


class Cast(Function):
    __slots__ = ("dtype",)

    def __init__(self, dtype: npt.DTypeLike) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"can only cast to a floating dtype, not {self.dtype}")

    def forward(self, x: Array) -> Array:
        return x.astype(self.dtype)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Cast(x.dtype).apply(gy)


def sum_to(x: Operand, shape: tuple[int, ...]) -> Variable:
    """``x`` summed down to ``shape``: the reverse of ``broadcast_to(x, x.shape)``."""
    return SumTo(shape)(x)


def broadcast_to(x: Operand, shape: tuple[int, ...]) -> Variable:
    """``x`` repeated to ``shape`` by NumPy's broadcasting rules."""
    return BroadcastTo(shape)(x)


def cast(x: Operand, dtype: npt.DTypeLike) -> Variable:
    """``x`` converted to the floating ``dtype``; its gradient converts back."""
    return Cast(dtype)(x)


def unbroadcast(g: Tensor, like: Tensor) -> Tensor:
    """The gradient ``g`` of a broadcast result, reduced to the shape and dtype of the input
    ``like``: the step every binary op's backward ends with."""
    if g.shape != like.shape:
        g = SumTo(like.shape).apply(g)
    if g.dtype != like.dtype:
        g = Cast(like.dtype).apply(g)
    return g
