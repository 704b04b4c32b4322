"""Joining arrays and splitting one: concatenate, stack and split, with NumPy's semantics.
``split`` is a Function of several outputs; the gradient of each op is the other op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.shape import (
    Reshape,
    batched,
    normalize_axes,
    tangent_axes,
    tangent_shape,
    unbroadcast,
)
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler

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
        return _joined(gys, axis)

    def jvp(self, tx: Tensor, x: Tensor, *ys: Tensor) -> tuple[Tensor, ...]:
        (axis,) = normalize_axes(tangent_axes(self.axis, tx, x), tx.shape)
        return _parts(tx, self.sections, axis)


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


def _join_case(sampler: Sampler, stacked: bool) -> Case:
    """Three operands to concatenate (two to stack) of up to 2 dimensions: enough for every
    way an axis can be wrong, at a tenth of the cost of 3-D ones; a quarter of the joins
    flatten (``axis=None``) operands of any shapes."""
    if not stacked and sampler.integer(0, 3) == 0:
        flattened = tuple(sampler.shape(max_dims=2) for _ in range(3))
        return Case(flattened, {"axis": None})
    shape = sampler.shape(min_dims=1, max_dims=2)
    ndim = len(shape)
    if stacked:
        return Case((shape,) * 2, {"axis": sampler.integer(-ndim - 1, ndim)})
    axis = sampler.integer(-ndim, ndim - 1)
    shapes = []
    for _ in range(3):
        sides = list(shape)
        sides[axis] = sampler.integer(1, 3)
        shapes.append(tuple(sides))
    return Case(tuple(shapes), {"axis": axis})


def _split_case(sampler: Sampler) -> Case:
    """Equal parts or sorted indices (no empty part), and which part to look at, or all."""
    shape = sampler.shape(min_dims=1)
    axis = sampler.integer(-len(shape), len(shape) - 1)
    size = shape[axis]
    divisors = [n for n in range(1, size + 1) if size % n == 0]
    count: int = sampler.choice(divisors)
    sections: Sections = count
    if sampler.boolean():
        sections = [i for i in range(1, size) if sampler.boolean()]
        count = len(sections) + 1
    part = None if sampler.boolean() else sampler.integer(0, count - 1)
    return Case((shape,), {"indices_or_sections": sections, "axis": axis, "part": part})


def _split_checked(
    x: Operand, indices_or_sections: Sections, axis: int, part: int | None
) -> Variable:
    """One part, or every part flattened and joined: what the verification checks of split."""
    return _checked_part(split(x, indices_or_sections, axis), part)


def _checked_part(parts: Sequence[Variable], part: int | None) -> Variable:
    return parts[part] if part is not None else concatenate([p.reshape(-1) for p in parts])


def _split_reference(x: Any, indices_or_sections: Sections, axis: int, part: int | None) -> Any:
    arrays = np.split(np.asarray(x), indices_or_sections, axis=axis)
    return arrays[part] if part is not None else np.concatenate([a.ravel() for a in arrays])


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
    OpSpec(
        "split",
        Split,
        _split_checked,
        _split_reference,
        (ANY,),
        case=_split_case,
        numpy=(np.split,),
        numpy_function=split,
        numpy_result=_checked_part,
    ),
]
