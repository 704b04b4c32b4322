"""NumPy's products of two arrays that are not matrix products: ``outer``, ``inner``, ``kron`` and
``cross``, each composed of verified ops (reshapes, products, sums and indexing), so that their
derivatives are those ops'. Each has a spec (its last op as the primitive), so that it is fuzzed
and reachable from NumPy like a primitive."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_ref.core import Operand, Variable
from tinygrad_ref.ops.arithmetic import Mul, Sub, mul, sub
from tinygrad_ref.ops.indexing import get_item
from tinygrad_ref.ops.reduction import Sum, sum
from tinygrad_ref.ops.shape import Reshape, normalize_axes, operand_shape, reshape, transpose
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler, emptied


def _array(x: Operand) -> Operand:
    """A constant as NumPy's products take it, an array (a Python number is not weak there)."""
    return x if isinstance(x, Variable) else np.asarray(x)


def _reshaped(x: Operand, shape: tuple[int, ...]) -> Operand:
    return reshape(x, shape) if isinstance(x, Variable) else np.reshape(x, shape)


def outer(a: Operand, b: Operand) -> Variable:
    """Every element of ``a`` times every element of ``b``, both flattened: a matrix of
    ``a.size`` rows (NumPy's ``outer``)."""
    return mul(_reshaped(_array(a), (-1, 1)), _reshaped(_array(b), (1, -1)))


def inner(a: Operand, b: Operand) -> Variable:
    """The sum over the last axes of ``a`` and ``b`` of their products, for every pair of their
    other indices: of shape ``a.shape[:-1] + b.shape[:-1]``; a 0-d operand multiplies (NumPy's
    ``inner``)."""
    a, b = _array(a), _array(b)
    sa, sb = operand_shape(a), operand_shape(b)
    if not sa or not sb:
        return mul(a, b)
    if sa[-1] != sb[-1]:
        raise ValueError(f"inner of shapes {sa} and {sb}: their last axes differ")
    # NOTE: a's other axes, then size-1 axes to pair each of them with b's other axes
    rows = _reshaped(a, (*sa[:-1], *(1,) * (len(sb) - 1), sa[-1]))
    return sum(mul(rows, b), -1)


def kron(a: Operand, b: Operand) -> Variable:
    """The Kronecker product: blocks of ``b`` scaled by each element of ``a`` (NumPy's
    ``kron``; the operand of fewer dimensions gets leading axes of size 1)."""
    a, b = _array(a), _array(b)
    sa, sb = operand_shape(a), operand_shape(b)
    ndim = max(len(sa), len(sb))
    sa, sb = (1,) * (ndim - len(sa)) + sa, (1,) * (ndim - len(sb)) + sb
    # NOTE: a's axes interleaved with b's: (a0, b0, a1, b1, ...), then each pair merged
    spread_a = _reshaped(a, tuple(n for side in sa for n in (side, 1)))
    spread_b = _reshaped(b, tuple(n for side in sb for n in (1, side)))
    return reshape(mul(spread_a, spread_b), tuple(m * n for m, n in zip(sa, sb, strict=True)))


_NEXT = np.array([1, 2, 0])
_PREVIOUS = np.array([2, 0, 1])


def cross(
    a: Operand,
    b: Operand,
    axisa: int = -1,
    axisb: int = -1,
    axisc: int = -1,
    axis: int | None = None,
) -> Variable:
    """The cross product of the 3-vectors along ``axisa`` of ``a`` and ``axisb`` of ``b``
    (their other axes broadcast), as axis ``axisc`` of the result; ``axis``, if given, is all
    three (NumPy's ``cross``). Vectors of 2 components, deprecated in NumPy 2.0, are refused."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _to_last(_array(a), axisa, "axisa"), _to_last(_array(b), axisb, "axisb")
    sizes = operand_shape(a)[-1], operand_shape(b)[-1]
    if 2 in sizes:
        raise ValueError(
            "cross of 2-dimensional vectors is deprecated in NumPy 2.0 and not supported: give "
            "3-dimensional ones (a zero third component), and take the third component of the "
            "result for their 2-d cross product"
        )
    if sizes != (3, 3):
        raise ValueError(
            f"cross needs vectors of 3 components along axisa and axisb, got {sizes[0]} and "
            f"{sizes[1]}"
        )

    def along(x: Operand, order: Any) -> Operand:
        return (
            get_item(x, (Ellipsis, order)) if isinstance(x, Variable) else np.asarray(x)[..., order]
        )

    c = sub(mul(along(a, _NEXT), along(b, _PREVIOUS)), mul(along(a, _PREVIOUS), along(b, _NEXT)))
    ndim = c.ndim
    (target,) = normalize_axes(axisc, c.shape)
    order = (*range(target), ndim - 1, *range(target, ndim - 1))
    return transpose(c, order) if target != ndim - 1 else c


def _to_last(x: Operand, axis: int, name: str) -> Operand:
    """``x`` with its ``axis`` moved to the end (``name``: the parameter, for an error)."""
    shape = operand_shape(x)
    if not shape:
        raise ValueError(f"cross needs arrays of at least 1 dimension for {name}, got a 0-d one")
    (a,) = normalize_axes(axis, shape)
    if a == len(shape) - 1:
        return x
    order = (*range(a), *range(a + 1, len(shape)), a)
    return transpose(x, order) if isinstance(x, Variable) else np.transpose(x, order)


def _pair_case(sampler: Sampler) -> Case:
    """Two operands of any shapes, 0-d and empty ones included: ``outer`` and ``kron`` take
    every pair."""
    return Case((emptied(sampler, sampler.shape(max_dims=2)), sampler.shape(max_dims=2)))


def _inner_case(sampler: Sampler) -> Case:
    """Two operands of one last axis (of size 0 to 3), or a 0-d one."""
    sa, sb = sampler.shape(max_dims=2), sampler.shape(max_dims=2)
    if sa and sb:
        side = sampler.integer(0, 3)
        sa, sb = (*sa[:-1], side), (*sb[:-1], side)
    return Case((sa, sb))


def _cross_case(sampler: Sampler) -> Case:
    """3-vectors along an axis of each operand (their other axes broadcast), the axes of the
    operands and the result, each possibly negative, or one ``axis`` for all three."""
    sa, sb = sampler.broadcastable_shapes(2)
    ndim = max(len(sa), len(sb)) + 1
    if sampler.boolean():
        axis = sampler.integer(-ndim, ndim - 1)
        sa, sb = (1,) * (ndim - 1 - len(sa)) + sa, (1,) * (ndim - 1 - len(sb)) + sb
        (a,) = normalize_axes(axis, (0,) * ndim)
        return Case(((*sa[:a], 3, *sa[a:]), (*sb[:a], 3, *sb[a:])), {"axis": axis})
    axisa = sampler.integer(-len(sa) - 1, len(sa))
    axisb = sampler.integer(-len(sb) - 1, len(sb))
    (at_a,) = normalize_axes(axisa, (0,) * (len(sa) + 1))
    (at_b,) = normalize_axes(axisb, (0,) * (len(sb) + 1))
    params = {"axisa": axisa, "axisb": axisb, "axisc": sampler.integer(-ndim, ndim - 1)}
    return Case(((*sa[:at_a], 3, *sa[at_a:]), (*sb[:at_b], 3, *sb[at_b:])), params)


SPECS = [
    OpSpec("outer", Mul, outer, np.outer, (ANY, ANY), case=_pair_case, numpy=(np.outer,),
           analytic=True),
    OpSpec("inner", Sum, inner, np.inner, (ANY, ANY), case=_inner_case, numpy=(np.inner,),
           analytic=True),
    OpSpec("kron", Reshape, kron, np.kron, (ANY, ANY), case=_pair_case, numpy=(np.kron,),
           analytic=True),
    OpSpec("cross", Sub, cross, lambda a, b, **params: np.cross(a, b, **params), (ANY, ANY),
           case=_cross_case, numpy=(np.cross,), analytic=True),
]  # fmt: skip
