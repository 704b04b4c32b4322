"""The matrix product."""

from __future__ import annotations

import math
import operator

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable, is_zero_tangent
from tinygrad_ref.ops.shape import Reshape, Transpose, batched, lifted, unbroadcast
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler


def _check_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Refuse, naming both shapes, the operands NumPy's matmul refuses."""
    if not a or not b:
        raise ValueError(
            f"matmul needs operands of at least 1 dimension, got shapes {a} and {b} "
            "(multiply by a scalar with *)"
        )
    inner = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner:
        raise ValueError(
            f"matmul of shapes {a} and {b}: the inner dimensions {a[-1]} and {inner} differ"
        )
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(
            f"matmul of shapes {a} and {b}: the batch dimensions {a[:-2]} and {b[:-2]} "
            "do not broadcast"
        ) from None


def _swap_last(t: Tensor) -> Tensor:
    """``t`` with its last two axes swapped: each matrix of a stack transposed."""
    return Transpose((*range(t.ndim - 2), t.ndim - 1, t.ndim - 2)).apply(t)


def _reshaped(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    return t if t.shape == shape else Reshape(shape).apply(t)


class MatMul(Function):
    """``a @ b`` with NumPy's rules: matrices, stacks of matrices whose batch axes broadcast,
    and vectors (1-D operands)."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array, b: Array) -> Array:
        _check_shapes(np.shape(a), np.shape(b))
        y: Array = np.matmul(a, b)
        return y

    def vjp(
        self, gy: Tensor, a: Tensor, b: Tensor, y: Tensor
    ) -> tuple[Tensor | None, Tensor | None]:
        # NOTE: a vector is a one-row matrix on the left and a one-column matrix on the right,
        # as in NumPy; gy gets back the axis the product dropped. A constant operand (the data
        # of a layer) needs no gradient: its product, as costly as the other, is skipped.
        a2 = _reshaped(a, (1, *a.shape) if a.ndim == 1 else a.shape)
        b2 = _reshaped(b, (*b.shape, 1) if b.ndim == 1 else b.shape)
        batch: tuple[int, ...] = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = _reshaped(gy, (*batch, a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad(0):
            ga = _reshaped(unbroadcast(gy2 @ _swap_last(b2), a2), a.shape)
        if self.needs_grad(1):
            gb = _reshaped(unbroadcast(_swap_last(a2) @ gy2, b2), b.shape)
        return ga, gb

    def jvp(self, ta: Tensor, tb: Tensor, a: Tensor, b: Tensor, y: Tensor) -> Tensor:
        # NOTE: the term of a constant operand (a layer's data), whose tangent is zeros, would
        # cost as much as the other, times the batch: it is left out
        if not batched(ta, a):
            if is_zero_tangent(ta):
                return a @ tb
            return ta @ b if is_zero_tangent(tb) else ta @ b + a @ tb
        # NOTE: a batch of tangents of a vector would be taken for a matrix: each operand as a
        # stack of matrices, its batch axis lifted ahead of the stack axes of the product
        batch: int = ta.shape[0]
        a_shape: tuple[int, ...] = (1, *a.shape) if a.ndim == 1 else a.shape
        b_shape: tuple[int, ...] = (*b.shape, 1) if b.ndim == 1 else b.shape
        a2, b2 = _reshaped(a, a_shape), _reshaped(b, b_shape)
        ndim = max(len(a_shape), len(b_shape))
        ta2 = lifted(_reshaped(ta, (batch, *a_shape)), a2, ndim)
        tb2 = lifted(_reshaped(tb, (batch, *b_shape)), b2, ndim)
        if is_zero_tangent(ta):
            ty = _product(a2, tb2)
        else:
            ty = _product(ta2, b2)
            ty = ty if is_zero_tangent(tb) else ty + _product(a2, tb2)
        return _reshaped(ty, (batch, *y.shape))


def _product(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for stacks of matrices, as one matrix product where one of them is a single
    matrix: NumPy multiplies a stack one matrix at a time, several times slower."""
    if b.ndim == 2 and a.ndim > 2:
        rows: int = math.prod(a.shape[:-1])
        return _reshaped(_reshaped(a, (rows, a.shape[-1])) @ b, (*a.shape[:-1], b.shape[-1]))
    if a.ndim == 2 and b.ndim > 2:
        return _swap_last(_product(_swap_last(b), _swap_last(a)))
    return a @ b


def matmul(a: Operand, b: Operand) -> Variable:
    """The matrix product ``a @ b``, as NumPy's: two 1-D vectors give their dot product (a 0-d
    result), a 1-D operand is a vector on its side, batch axes (beyond the last two)
    broadcast."""
    return MatMul()(a, b)


def _matmul_case(sampler: Sampler) -> Case:
    """Vectors, matrices, and stacks of matrices with one batch axis, which broadcasts."""
    n, k, m = sampler.integer(1, 4), sampler.integer(1, 4), sampler.integer(1, 4)
    batch_a, batch_b = (shape[-1:] for shape in sampler.broadcastable_shapes(2))
    a = (k,) if sampler.boolean() else (*batch_a, n, k)
    b = (k,) if sampler.boolean() else (*batch_b, k, m)
    return Case((a, b))


SPECS = [
    OpSpec(
        "matmul",
        MatMul,
        matmul,
        np.matmul,
        (ANY, ANY),
        operators=("__matmul__", "__rmatmul__"),
        infix=operator.matmul,
        case=_matmul_case,
        numpy=(np.matmul,),
        analytic=True,
    ),
]
