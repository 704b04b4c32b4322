"""The operator registry: every differentiable primitive, declared once with its domain.

A spec says how to call an op (its public function, its operands, its non-array parameters),
which values its derivative is checked on, and what NumPy computes for it. The property suite and
``python -m tinygrad_ref verify`` fuzz every spec here: adding an op and its spec is all it takes
for the op to be verified.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol, TypeVar

import numpy as np

from tinygrad_ref import ops
from tinygrad_ref.core import Function, Variable

Shape = tuple[int, ...]
Role = Literal["any", "constant", "variable"]
"""What an operand may be: anything, only a constant (not a Variable), or only a Variable."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Domain:
    """The values of one operand on which an op's derivative exists and central differences
    are well conditioned: ``low <= x <= high`` and ``|x| >= min_abs`` (away from a pole at 0),
    integers only if ``integer``."""

    low: float = -10.0
    high: float = 10.0
    min_abs: float = 0.0
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high or self.min_abs > max(abs(self.low), abs(self.high)):
            raise ValueError(f"empty domain {self}")

    def contains(self, x: Any) -> bool:
        """Whether every value of the array or scalar ``x`` lies in this domain."""
        values = np.asarray(x, dtype=np.float64)
        inside = (self.low <= values) & (values <= self.high) & (np.abs(values) >= self.min_abs)
        if self.integer:
            inside &= values == np.round(values)
        return bool(np.all(inside))


class Sampler(Protocol):
    """The random choices a spec's ``case`` may make; :mod:`tinygrad_ref.testing` implements
    it with Hypothesis, so that failing cases shrink."""

    def shape(self, min_dims: int = 0, max_dims: int = 3) -> Shape: ...

    def broadcastable_shapes(self, count: int) -> tuple[Shape, ...]: ...

    def integer(self, low: int, high: int) -> int: ...

    def boolean(self) -> bool: ...

    def choice(self, options: Sequence[_T]) -> _T: ...


@dataclass(frozen=True)
class Case:
    """One way to call an op: the shape of each operand, the keyword parameters, and the
    domains of the operands when they differ from the spec's."""

    shapes: tuple[Shape, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    domains: tuple[Domain, ...] | None = None


def _elementwise(arity: int) -> Callable[[Sampler], Case]:
    def case(sampler: Sampler) -> Case:
        return Case(sampler.broadcastable_shapes(arity))

    return case


@dataclass(frozen=True)
class OpSpec:
    """Everything the verification needs to know about one differentiable primitive."""

    name: str
    primitive: type[Function]
    """The Function subclass this spec verifies."""
    function: Callable[..., Variable]
    """The public function: ``function(*operands, **case.params)``."""
    reference: Callable[..., Any]
    """The same computation in NumPy, on the raw operands and the same parameters."""
    domains: tuple[Domain, ...]
    """One per operand of ``function``; their number is the op's arity."""
    roles: tuple[Role, ...] | None = None
    """One per operand; ``None`` means any operand may be a Variable or a constant."""
    operators: tuple[str, ...] = ()
    """The Variable methods this op backs, such as ``("__sub__", "__rsub__")``."""
    infix: Callable[..., Any] | None = None
    """The operator or method form, called like ``function``: ``operator.sub`` for ``sub``,
    ``lambda x, shape: x.reshape(shape)`` for ``reshape``."""
    case: Callable[[Sampler], Case] | None = None
    """Draws shapes and parameters; ``None`` means elementwise operands that broadcast."""
    second_order: bool = True
    """Whether second derivatives are checked too."""

    @property
    def arity(self) -> int:
        return len(self.domains)

    @property
    def operand_roles(self) -> tuple[Role, ...]:
        anything: Role = "any"
        return self.roles if self.roles is not None else (anything,) * self.arity

    def draw_case(self, sampler: Sampler) -> Case:
        return (self.case or _elementwise(self.arity))(sampler)


ANY = Domain()
NONZERO = Domain(min_abs=0.5)
POSITIVE = Domain(0.5, 10.0)
EXPONENT = Domain(-3.0, 3.0)
BOUNDED = Domain(-5.0, 5.0)


def _pow_case(sampler: Sampler) -> Case:
    # NOTE: a negative base has a real power only for an integer exponent.
    shapes = sampler.broadcastable_shapes(2)
    if sampler.boolean():
        return Case(shapes)
    return Case(shapes, domains=(NONZERO, Domain(-3.0, 3.0, integer=True)))


def _reduced_shape(sampler: Sampler, shape: Shape) -> Shape:
    """A shape that broadcasts to ``shape``: leading axes dropped, some axes set to 1."""
    lead = sampler.integer(0, len(shape))
    return tuple(1 if sampler.boolean() else n for n in shape[lead:])


def _sum_to_case(sampler: Sampler) -> Case:
    shape = sampler.shape()
    return Case((shape,), {"shape": _reduced_shape(sampler, shape)})


def _broadcast_to_case(sampler: Sampler) -> Case:
    shape = sampler.shape()
    return Case((_reduced_shape(sampler, shape),), {"shape": shape})


def _cast_case(sampler: Sampler) -> Case:
    return Case((sampler.shape(),), {"dtype": sampler.choice([np.float32, np.float64])})


def _axis(sampler: Sampler, ndim: int) -> int | tuple[int, ...] | None:
    """``None``, one axis or a tuple of distinct axes, each possibly negative."""
    kind = sampler.choice(["none", "int", "tuple"] if ndim else ["none", "tuple"])
    if kind == "none":
        return None
    if kind == "int":
        return sampler.integer(-ndim, ndim - 1)
    axes = tuple(a - ndim if sampler.boolean() else a for a in range(ndim) if sampler.boolean())
    return axes[::-1] if sampler.boolean() else axes


def _reduction_case(sampler: Sampler) -> Case:
    shape = sampler.shape()
    return Case((shape,), {"axis": _axis(sampler, len(shape)), "keepdims": sampler.boolean()})


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors


def _reshape_case(sampler: Sampler) -> Case:
    shape = sampler.shape()
    size = math.prod(shape)
    target = [1] * sampler.integer(1 if size > 1 else 0, 4)
    for p in _prime_factors(size):
        target[sampler.integer(0, len(target) - 1)] *= p
    if target and sampler.boolean():
        target[sampler.integer(0, len(target) - 1)] = -1
    return Case((shape,), {"shape": tuple(target)})


def _transpose_case(sampler: Sampler) -> Case:
    shape = sampler.shape(min_dims=1)
    if sampler.boolean():
        return Case((shape,), {"axes": None})
    axes = list(range(len(shape)))
    for i in reversed(range(1, len(axes))):
        j = sampler.integer(0, i)
        axes[i], axes[j] = axes[j], axes[i]
    return Case((shape,), {"axes": tuple(a - len(axes) if sampler.boolean() else a for a in axes)})


def _matmul_case(sampler: Sampler) -> Case:
    """Vectors, matrices, and stacks of matrices with one batch axis, which broadcasts."""
    n, k, m = sampler.integer(1, 4), sampler.integer(1, 4), sampler.integer(1, 4)
    batch_a, batch_b = (shape[-1:] for shape in sampler.broadcastable_shapes(2))
    a = (k,) if sampler.boolean() else (*batch_a, n, k)
    b = (k,) if sampler.boolean() else (*batch_b, k, m)
    return Case((a, b))


def _index_item(sampler: Sampler, size: int, length: int) -> Any:
    """An int, a slice or an integer array (of ``length``, repeats likely) for an axis of
    ``size``; negative values included."""
    kind = sampler.choice(["int", "slice", "array"])
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
    shape = sampler.shape(min_dims=1)
    return Case((shape,), {"idx": _index(sampler, shape)})


def _get_item_grad_case(sampler: Sampler) -> Case:
    shape = sampler.shape(min_dims=1)
    idx = _index(sampler, shape)
    return Case((np.empty(shape)[idx].shape,), {"idx": idx, "shape": shape})


def _get_item_grad_reference(gy: Any, idx: Any, shape: Shape) -> Any:
    """One element at a time: every selection of an element adds to it."""
    gy = np.asarray(gy)
    gx = np.zeros(shape, dtype=gy.dtype)
    positions = np.arange(gx.size).reshape(shape)[idx]
    for position, g in zip(np.ravel(positions), np.ravel(gy), strict=True):
        gx.flat[position] += g
    return gx


def _sum_to_reference(x: Any, shape: Shape) -> Any:
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(axis for axis in range(x.ndim) if axis < lead or shape[axis - lead] == 1)
    return np.sum(x, axis=axes).reshape(shape)


_SPECS = [
    OpSpec(
        "add",
        ops.Add,
        ops.add,
        operator.add,
        (ANY, ANY),
        operators=("__add__", "__radd__"),
        infix=operator.add,
    ),
    OpSpec(
        "sub",
        ops.Sub,
        ops.sub,
        operator.sub,
        (ANY, ANY),
        operators=("__sub__", "__rsub__"),
        infix=operator.sub,
    ),
    OpSpec(
        "mul",
        ops.Mul,
        ops.mul,
        operator.mul,
        (ANY, ANY),
        operators=("__mul__", "__rmul__"),
        infix=operator.mul,
    ),
    OpSpec(
        "div",
        ops.Div,
        ops.div,
        operator.truediv,
        (ANY, NONZERO),
        operators=("__truediv__", "__rtruediv__"),
        infix=operator.truediv,
    ),
    # NOTE: x + c, x - c, x * c and x / c are ops of one input holding the constant; the specs
    # above reach them too, with mixed operand kinds
    OpSpec(
        "add_constant",
        ops.AddConstant,
        ops.add,
        operator.add,
        (ANY, ANY),
        roles=("variable", "constant"),
        operators=("__add__", "__radd__"),
        infix=operator.add,
    ),
    OpSpec(
        "sub_constant",
        ops.SubConstant,
        ops.sub,
        operator.sub,
        (ANY, ANY),
        roles=("variable", "constant"),
        operators=("__sub__",),
        infix=operator.sub,
    ),
    OpSpec(
        "mul_constant",
        ops.MulConstant,
        ops.mul,
        operator.mul,
        (ANY, ANY),
        roles=("variable", "constant"),
        operators=("__mul__", "__rmul__"),
        infix=operator.mul,
    ),
    OpSpec(
        "div_constant",
        ops.DivConstant,
        ops.div,
        operator.truediv,
        (ANY, NONZERO),
        roles=("variable", "constant"),
        operators=("__truediv__",),
        infix=operator.truediv,
    ),
    OpSpec(
        "neg", ops.Neg, ops.neg, operator.neg, (ANY,), operators=("__neg__",), infix=operator.neg
    ),
    OpSpec("square", ops.Square, ops.square, np.square, (ANY,)),
    OpSpec(
        "pow",
        ops.Pow,
        ops.pow,
        operator.pow,
        (POSITIVE, EXPONENT),
        roles=("any", "constant"),
        operators=("__pow__",),
        infix=operator.pow,
        case=_pow_case,
    ),
    OpSpec(
        "rpow",
        ops.Rpow,
        ops.rpow,
        lambda x, c: c**x,
        (EXPONENT, POSITIVE),
        roles=("any", "constant"),
        operators=("__rpow__",),
        infix=lambda x, c: c**x,
    ),
    OpSpec(
        "power",
        ops.Power,
        ops.pow,
        operator.pow,
        (POSITIVE, EXPONENT),
        roles=("variable", "variable"),
        operators=("__pow__",),
        infix=operator.pow,
    ),
    OpSpec("exp", ops.Exp, ops.exp, np.exp, (BOUNDED,)),
    OpSpec("log", ops.Log, ops.log, np.log, (POSITIVE,)),
    OpSpec("sin", ops.Sin, ops.sin, np.sin, (ANY,)),
    OpSpec("cos", ops.Cos, ops.cos, np.cos, (ANY,)),
    OpSpec("tanh", ops.Tanh, ops.tanh, np.tanh, (BOUNDED,)),
    OpSpec("sqrt", ops.Sqrt, ops.sqrt, np.sqrt, (POSITIVE,)),
    OpSpec("sigmoid", ops.Sigmoid, ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (BOUNDED,)),
    OpSpec(
        "sum",
        ops.Sum,
        ops.sum,
        lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
        (ANY,),
        infix=lambda x, axis, keepdims: x.sum(axis, keepdims=keepdims),
        case=_reduction_case,
    ),
    OpSpec(
        "mean",
        ops.Mean,
        ops.mean,
        lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
        (ANY,),
        infix=lambda x, axis, keepdims: x.mean(axis, keepdims=keepdims),
        case=_reduction_case,
    ),
    OpSpec(
        "reshape",
        ops.Reshape,
        ops.reshape,
        np.reshape,
        (ANY,),
        infix=lambda x, shape: x.reshape(*shape),
        case=_reshape_case,
    ),
    OpSpec(
        "transpose",
        ops.Transpose,
        ops.transpose,
        np.transpose,
        (ANY,),
        infix=lambda x, axes: x.T if axes is None else x.transpose(*axes),
        case=_transpose_case,
    ),
    OpSpec(
        "matmul",
        ops.MatMul,
        ops.matmul,
        np.matmul,
        (ANY, ANY),
        operators=("__matmul__", "__rmatmul__"),
        infix=operator.matmul,
        case=_matmul_case,
    ),
    OpSpec(
        "get_item",
        ops.GetItem,
        ops.get_item,
        lambda x, idx: np.asarray(x)[idx],
        (ANY,),
        operators=("__getitem__",),
        infix=lambda x, idx: x[idx],
        case=_get_item_case,
    ),
    OpSpec(
        "get_item_grad",
        ops.GetItemGrad,
        ops.get_item_grad,
        _get_item_grad_reference,
        (ANY,),
        case=_get_item_grad_case,
    ),
    OpSpec("sum_to", ops.SumTo, ops.sum_to, _sum_to_reference, (ANY,), case=_sum_to_case),
    OpSpec(
        "broadcast_to",
        ops.BroadcastTo,
        ops.broadcast_to,
        np.broadcast_to,
        (ANY,),
        case=_broadcast_to_case,
    ),
    OpSpec(
        "cast",
        ops.Cast,
        ops.cast,
        lambda x, dtype: np.asarray(x).astype(dtype),
        (ANY,),
        case=_cast_case,
    ),
]

REGISTRY: Mapping[str, OpSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every differentiable primitive of the library, by name."""
