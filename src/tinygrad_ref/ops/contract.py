"""Tensor contractions: ``einsum`` with NumPy's subscripts (implicit and explicit output,
repeated indices, ellipsis, any number of operands) and ``tensordot``, a composition of it.

The gradient of an operand is one more einsum: the output's gradient contracted with the other
operands back to the operand's indices. An index the operand repeats (``'ii'``) takes its
gradient on the diagonal: the contraction gives it once, and the result is put on the diagonal
of zeros; an index only it has (summed away, ``'ij->i'``) spreads its gradient along that axis,
through a vector of ones; an axis it broadcasts (size 1 against a larger one) gets its gradient
summed back. The parsed subscripts and each operand's plan are kept per subscripts and shapes,
so that a loop calling einsum again pays for neither."""

from __future__ import annotations

import functools
import operator
import string
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import (
    Array,
    Function,
    Operand,
    Tensor,
    Variable,
    _is_python_number,
    is_zero_tangent,
)
from tinygrad_ref.ops.indexing import GetItemGrad
from tinygrad_ref.ops.shape import BroadcastTo, SumTo, batched, operand_shape, unbroadcast
from tinygrad_ref.spec import ANY, Case, OpSpec, Sampler

LETTERS = string.ascii_uppercase + string.ascii_letters[:26]
"""The indices einsum takes, in NumPy's order: an implicit output lists its indices so."""

Optimize = bool | str | Sequence[Any]
"""einsum's ``optimize``: ``False``, ``True``, ``'greedy'``, ``'optimal'`` or a path."""


def _fresh(used: str, count: int) -> str:
    """``count`` indices not in ``used``."""
    free = [c for c in LETTERS if c not in used]
    if len(free) < count:
        raise ValueError(f"einsum needs {count} more indices than the 52 letters leave free")
    return "".join(free[:count])


def _term(term: str, k: int, ndim: int) -> tuple[str, int]:
    """The letters of operand ``k``'s subscripts ``term`` (its ellipsis, if any, as ``'.'``),
    and how many axes the ellipsis stands for."""
    for c in term.replace("...", ""):
        if c == ".":
            raise ValueError(
                f"einsum subscripts contain a '.' that is not part of an ellipsis ('...') in "
                f"operand {k}"
            )
        if c not in LETTERS:
            raise ValueError(f"einsum subscripts: invalid index {c!r}; indices must be letters")
    if term.count("...") > 1:
        raise ValueError(f"einsum subscripts: operand {k} has more than one ellipsis")
    letters = term.replace("...", ".")
    named = len(letters) - letters.count(".")
    if named > ndim or ("." not in letters and named != ndim):
        raise ValueError(
            f"einsum subscripts {term!r} of operand {k} name {named} axes; it has {ndim}"
        )
    return letters, ndim - named if "." in letters else 0


def parse(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> tuple[tuple[str, ...], str]:
    """NumPy's einsum ``subscripts`` for operands of ``shapes``, spelled out: one index per
    axis of each operand (an ellipsis as fresh indices, aligned on the right) and the output's
    indices (an implicit output as NumPy orders it). Raises ValueError naming what is wrong."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum subscripts must be a str, not {type(subscripts).__name__}")
    return _parsed(subscripts, tuple(map(tuple, shapes)))


@functools.lru_cache(maxsize=256)
def _parsed(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[str, ...], str]:
    """:func:`parse`'s work, kept per subscripts and shapes (an error is raised again, never
    kept)."""
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1 or spec.replace("->", "").count("-") or ">" in spec.replace("->", ""):
        raise ValueError(f"einsum subscripts {subscripts!r}: at most one '->', and no other")
    explicit = "->" in spec
    inputs, output = spec.split("->") if explicit else (spec, "")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum subscripts {subscripts!r} name {len(terms)} operands; {len(shapes)} given"
        )
    parsed = [_term(t, k, len(s)) for k, (t, s) in enumerate(zip(terms, shapes, strict=True))]
    broadcast = max((n for _, n in parsed), default=0)
    ellipsis = _fresh(spec, broadcast)
    spelled = tuple(letters.replace(".", ellipsis[broadcast - n :]) for letters, n in parsed)
    named = "".join(letters.replace(".", "") for letters, _ in parsed)
    if explicit:
        if output.count("...") > 1 or output.replace("...", "").count("."):
            raise ValueError(f"einsum subscripts {subscripts!r}: a stray '.' in the output")
        out_letters = output.replace("...", ".")
        for c in out_letters.replace(".", ""):
            if c not in LETTERS:
                raise ValueError(f"einsum subscripts: invalid output index {c!r}")
            if c not in named:
                raise ValueError(f"einsum output index {c!r} appears in no operand")
            if out_letters.count(c) > 1:
                raise ValueError(f"einsum output index {c!r} appears more than once")
        if "." not in out_letters and broadcast:
            raise ValueError(
                f"einsum subscripts {subscripts!r}: the operands have ellipsis axes, which an "
                "output without '...' has no place for"
            )
        return spelled, out_letters.replace(".", ellipsis)
    once = sorted((c for c in set(named) if named.count(c) == 1), key=LETTERS.index)
    return spelled, ellipsis + "".join(once)


def _sublists(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """NumPy's other spelling, ``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])``
    (integers 0-51 for the indices, ``Ellipsis``), as subscripts and operands."""

    def letters(sublist: Any) -> str:
        try:
            return "".join("..." if i is Ellipsis else LETTERS[operator.index(i)] for i in sublist)
        except (TypeError, IndexError):
            raise ValueError(
                f"einsum sublist {sublist!r}: indices must be integers 0 to 51 or Ellipsis"
            ) from None

    operands = list(args[0::2][: len(args) // 2])
    terms = [letters(s) for s in args[1::2][: len(args) // 2]]
    output = "->" + letters(args[-1]) if len(args) % 2 else ""
    return ",".join(terms) + output, operands


Moves = tuple[tuple[tuple[int, ...] | None, tuple[slice | None, ...] | None], ...]
"""How each operand of a product moves to the output's places: its axes' order (``None``: as
they are), then an index that puts a new axis (``None``) where it lacks one (``None``: it
lacks none)."""


@functools.lru_cache(maxsize=256)
def _product_moves(terms: tuple[str, ...], output: str) -> Moves | None:
    """For an einsum that sums no index and repeats none in an operand, a product (a gradient
    ``',ij->ij'``, an outer product), how its operands move to the output's places; ``None``
    for any other einsum."""
    if any(len(set(t)) < len(t) or set(t) - set(output) for t in terms):
        return None
    moves = []
    for t in terms:
        order = tuple(sorted(range(len(t)), key=lambda i: output.index(t[i])))
        places = tuple(slice(None) if c in t else None for c in output)
        moves.append(
            (
                None if order == tuple(range(len(t))) else order,
                None if len(t) == len(output) else places,
            )
        )
    return tuple(moves)


def _product(xs: Sequence[Array], moves: Moves) -> Array:
    """The einsum of ``xs`` that is a product, their axes moved by ``moves``: NumPy's
    ``multiply``, which costs half of einsum's loop (NumPy's optimized path multiplies so)."""
    y: Array | None = None
    for x, (order, places) in zip(xs, moves, strict=True):
        if order is not None:
            x = np.transpose(x, order)
        if places is not None:
            x = x[places]
        y = x if y is None else np.multiply(y, x)
    assert y is not None
    # NOTE: one operand is moved, not multiplied: its copy, so that a result owns its data
    return np.array(y) if len(xs) == 1 else np.asarray(y)


class _GradientPlan(NamedTuple):
    """How an einsum's gradient of one operand is contracted: ``terms`` (the output's
    gradient's, the other operands', then a vector of ones for each index only the operand
    has, of the lengths ``lonely``) into ``indices`` (the operand's, each once) with
    ``optimize``, giving an array of ``shape``, which ``diagonal`` (if the operand repeats an
    index) places in the operand."""

    terms: tuple[str, ...]
    indices: str
    optimize: bool
    lonely: tuple[int, ...]
    shape: tuple[int, ...]
    diagonal: tuple[npt.NDArray[np.intp], ...] | None


@functools.lru_cache(maxsize=256)
def _gradient_plan(
    terms: tuple[str, ...], output: str, k: int, shape: tuple[int, ...]
) -> _GradientPlan:
    """The plan of the gradient of operand ``k``, of ``shape``, of the einsum of ``terms``
    into ``output``."""
    term = terms[k]
    others = [t for i, t in enumerate(terms) if i != k]
    elsewhere = output + "".join(others)
    indices = "".join(dict.fromkeys(term))
    lonely = [c for c in indices if c not in elsewhere]
    contracted = (output, *others, *lonely)
    distinct = tuple(shape[term.index(c)] for c in indices)
    diagonal = None
    if len(indices) < len(term):
        # NOTE: each axis indexed by its index's range, laid along that index's axis of the
        # distinct ones: x[diagonal] is the array of distinct indices x's diagonal holds
        diagonal = tuple(
            _read_only(np.arange(n).reshape([n if d == c else 1 for d in indices]))
            for c, n in zip(term, shape, strict=True)
        )
    return _GradientPlan(
        contracted,
        indices,
        _ordered(contracted, indices),
        tuple(shape[term.index(c)] for c in lonely),
        distinct,
        diagonal,
    )


@functools.lru_cache(maxsize=64)
def _ones(n: int, dtype: np.dtype[Any]) -> Array:
    """A vector of ``n`` ones of ``dtype``, kept (read-only) for the gradients that need it."""
    return _read_only(np.ones(n, dtype=dtype))


Kept = TypeVar("Kept", bound=npt.NDArray[Any])


def _read_only(a: Kept) -> Kept:
    """``a``, made read-only: an array kept for later calls, which none may write into."""
    a.flags.writeable = False
    return a


class Einsum(Function):
    """``np.einsum`` of the spelled-out ``terms`` (one index per axis of each operand) into
    ``output``."""

    __slots__ = ("optimize", "output", "terms")
    batched_jvp = True

    def __init__(self, terms: tuple[str, ...], output: str, optimize: Optimize = False) -> None:
        self.terms = terms
        self.output = output
        # NOTE: an order of the contractions is a matter of several operands: for one, NumPy's
        # search for it would cost more than the einsum
        self.optimize = optimize if len(terms) > 1 else False

    @property
    def subscripts(self) -> str:
        return ",".join(self.terms) + "->" + self.output

    def forward(self, *xs: Array) -> Array:
        moves = _product_moves(self.terms, self.output)
        if moves is None:
            y: Array = np.asarray(np.einsum(self.subscripts, *xs, optimize=self.optimize))
        else:
            y = _product(xs, moves)
        # NOTE: einsum may return a view of an operand ('ij->ji', 'ii->i'): a result owns its data
        if y.base is not None and any(np.may_share_memory(y, x) for x in xs):
            y = y.copy()
        return y

    def vjp(self, gy: Tensor, *xs_and_y: Tensor) -> tuple[Tensor | None, ...]:
        xs = xs_and_y[:-1]
        return tuple(
            self._gradient(k, gy, xs) if self.needs_grad(k) else None for k in range(len(xs))
        )

    def _gradient(self, k: int, gy: Tensor, xs: Sequence[Tensor]) -> Tensor:
        """The gradient of operand ``k``: ``gy`` contracted with the other operands (and ones
        for each index only it has) to its distinct indices, put on its diagonal where it
        repeats an index."""
        x = xs[k]
        plan = _gradient_plan(self.terms, self.output, k, x.shape)
        ones: list[Array] = [_ones(n, gy.dtype) for n in plan.lonely]
        operands: list[Any] = [gy, *(t for i, t in enumerate(xs) if i != k), *ones]
        g = _contracted(Einsum(plan.terms, plan.indices, plan.optimize), gy, operands)
        if g.shape != plan.shape and np.broadcast_shapes(g.shape, plan.shape) != g.shape:
            # NOTE: an index of size 1 in every other operand, of more in this one
            g = BroadcastTo(np.broadcast_shapes(g.shape, plan.shape)).apply(g)
        if plan.diagonal is not None:
            if g.shape != plan.shape:
                g = SumTo(plan.shape).apply(g)
            g = GetItemGrad(plan.diagonal, x.shape, once=True).apply(g)
        return unbroadcast(g, x)

    def jvp(self, *txs_xs_and_y: Tensor) -> Tensor:
        count = len(self.terms)
        txs, xs = txs_xs_and_y[:count], txs_xs_and_y[count:-1]
        live = [k for k in range(count) if not is_zero_tangent(txs[k])] or [0]
        lead = _fresh(self.subscripts, 1) if batched(txs[live[0]], xs[live[0]]) else ""
        ty: Tensor | None = None
        gy_like = txs[live[0]]
        for k in live:
            terms = tuple(lead + t if i == k else t for i, t in enumerate(self.terms))
            operands = [txs[k] if i == k else x for i, x in enumerate(xs)]
            ordered = _ordered(terms, lead + self.output)
            term = _contracted(Einsum(terms, lead + self.output, ordered), gy_like, operands)
            ty = term if ty is None else ty + term
        assert ty is not None
        return ty


def _ordered(terms: Sequence[str], output: Sequence[str]) -> bool:
    """``optimize`` for a contraction of ``terms`` into ``output``: NumPy's ordering (which sums
    through BLAS) where an index is summed or there are more than two operands; none for a
    product of two that sums nothing, where its search would cost more than the product."""
    return len(terms) > 2 or bool(set("".join(terms)) - set(output))


def _contracted(f: Einsum, like: Tensor, operands: Sequence[Any]) -> Tensor:
    """``f`` of ``operands``, of the kind of ``like``: recorded if one of them is a Variable."""
    if (
        f.optimize
        and len({np.result_type(t.data if isinstance(t, Variable) else t) for t in operands}) > 1
    ):
        # NOTE: NumPy's ordered path contracts a float32 operand alone in float32 before the
        # promotion (the trace of b before x times it): mixed dtypes take the promoting way
        f.optimize = False
    recorded = any(isinstance(t, Variable) for t in operands)
    y: Any = f(*operands) if recorded else f.forward(*operands)
    return cast("Tensor", y)


def einsum(*operands: Any, optimize: Optimize = False) -> Variable:
    """NumPy's ``einsum``: ``einsum('ij,jk->ik', a, b)``, or its sublist spelling
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. Implicit output (the indices that appear once, in
    alphabetical order, uppercase first), repeated indices (``'ii->i'``, ``'ii'``), ellipsis
    (broadcast as NumPy does). ``optimize`` chooses the order of the contractions, as NumPy's;
    the gradients are contracted with ``optimize=True``."""
    if not operands:
        raise TypeError("einsum needs subscripts and at least one operand")
    if isinstance(operands[0], str):
        subscripts, arrays = operands[0], list(operands[1:])
    else:
        subscripts, arrays = _sublists(operands)
    for x in arrays:
        if isinstance(x, (str, list, tuple)):
            raise TypeError(
                "einsum takes its subscripts first and then the operands, or operands each "
                f"followed by its sublist of indices; got {type(x).__name__} among the operands"
            )
    # NOTE: NumPy's einsum takes a Python number as a float64 array, never as a "weak" scalar
    arrays = [np.asarray(x) if _is_python_number(x) else x for x in arrays]
    terms, output = parse(subscripts, [operand_shape(x) for x in arrays])
    return Einsum(terms, output, optimize)(*arrays)


def tensordot(a: Operand, b: Operand, axes: int | Sequence[Any] = 2) -> Variable:
    """NumPy's ``tensordot``: the sum over the last ``axes`` axes of ``a`` and the first ones of
    ``b``, or over the pairs ``axes = (axes_of_a, axes_of_b)``; an einsum of the two."""
    a, b = (np.asarray(x) if _is_python_number(x) else x for x in (a, b))
    sa, sb = operand_shape(a), operand_shape(b)
    if isinstance(axes, (int, np.integer)):
        n = operator.index(axes)
        if n < 0 or n > min(len(sa), len(sb)):
            raise ValueError(
                f"tensordot of shapes {sa} and {sb}: axes={n} must be between 0 and "
                f"{min(len(sa), len(sb))}"
            )
        pairs = (list(range(len(sa) - n, len(sa))), list(range(n)))
    else:
        try:
            first, second = axes
            pairs = (_axis_list(first), _axis_list(second))
        except (TypeError, ValueError):
            raise ValueError(
                f"tensordot's axes must be an int or a pair of axis sequences, got {axes!r}"
            ) from None
    if len(pairs[0]) != len(pairs[1]):
        raise ValueError(f"tensordot's axes {axes!r}: the two lists differ in length")
    in_a = [_axis(i, sa, "a") for i in pairs[0]]
    in_b = [_axis(i, sb, "b") for i in pairs[1]]
    if len(set(in_a)) < len(in_a) or len(set(in_b)) < len(in_b):
        raise ValueError(f"tensordot's axes {axes!r} repeat an axis")
    for i, j in zip(in_a, in_b, strict=True):
        if sa[i] != sb[j]:
            raise ValueError(
                f"tensordot of shapes {sa} and {sb}: axis {i} of a ({sa[i]}) and axis {j} of b "
                f"({sb[j]}) differ in length"
            )
    letters = _fresh("", len(sa) + len(sb))
    ta, tb = list(letters[: len(sa)]), list(letters[len(sa) :])
    for i, j in zip(in_a, in_b, strict=True):
        tb[j] = ta[i]
    output = [c for i, c in enumerate(ta) if i not in in_a]
    output += [c for j, c in enumerate(tb) if j not in in_b]
    return Einsum(("".join(ta), "".join(tb)), "".join(output), optimize=True)(a, b)


def _axis_list(axes: Any) -> list[int]:
    return [operator.index(axes)] if isinstance(axes, (int, np.integer)) else list(axes)


def _axis(axis: Any, shape: tuple[int, ...], name: str) -> int:
    i = operator.index(axis)
    if not -len(shape) <= i < len(shape):
        raise np.exceptions.AxisError(
            f"tensordot: axis {i} is out of bounds for {name} of shape {shape}"
        )
    return i % len(shape)


# The cases the verification draws.

_LABELS = "abcd"


def _einsum_case(sampler: Sampler) -> Case:
    """Two operands (a third, constant one in ``extra`` now and then) with random subscripts:
    repeated indices, indices summed away, one shared index or more, ellipsis axes that
    broadcast, implicit or explicit output."""
    sizes = {c: sampler.integer(1, 3) for c in _LABELS}
    ellipsis = sampler.integer(0, 2) if sampler.boolean() else 0
    broadcast = [sampler.integer(1, 3) for _ in range(ellipsis)]
    terms, shapes = [], []
    for _ in range(2):
        term = "".join(sampler.choice(_LABELS) for _ in range(sampler.integer(0, 3)))
        shape = [sizes[c] for c in term]
        if ellipsis:
            lead = [1 if sampler.boolean() else n for n in broadcast][
                : sampler.integer(0, ellipsis)
            ]
            at = sampler.integer(0, len(term))
            term = term[:at] + "..." + term[at:]
            shape[at:at] = lead
        terms.append(term)
        shapes.append(tuple(shape))
    named = "".join(t.replace("...", "") for t in terms)
    subscripts = ",".join(terms)
    if sampler.boolean():
        kept = [c for c in sorted(set(named)) if sampler.boolean()]
        if sampler.boolean():
            kept = kept[::-1]
        out = "".join(kept)
        if ellipsis:
            at = sampler.integer(0, len(out))
            out = out[:at] + "..." + out[at:]
        subscripts += "->" + out
    extra: tuple[Array, ...] = ()
    if sampler.boolean() and named:
        label = sampler.choice(sorted(set(named)))
        extra = (np.linspace(0.5, 1.5, sizes[label]),)
        left, arrow, out = subscripts.partition("->")
        subscripts = f"{left},{label}{arrow}{out}"
    return Case((shapes[0], shapes[1]), {"subscripts": subscripts, "extra": extra})


def _einsum_checked(a: Operand, b: Operand, subscripts: str, extra: tuple[Array, ...]) -> Variable:
    return einsum(subscripts, a, b, *extra)


def _einsum_reference(a: Any, b: Any, subscripts: str, extra: tuple[Array, ...]) -> Any:
    return np.einsum(subscripts, a, b, *extra)


def _tensordot_case(sampler: Sampler) -> Case:
    """Shapes that share a few axes, paired by an integer or by two lists."""
    shared = [sampler.integer(1, 3) for _ in range(sampler.integer(0, 2))]
    a_own = [sampler.integer(1, 3) for _ in range(sampler.integer(0, 2))]
    b_own = [sampler.integer(1, 3) for _ in range(sampler.integer(0, 2))]
    if sampler.boolean():
        return Case(((*a_own, *shared), (*shared, *b_own)), {"axes": len(shared)})
    a_shape, b_shape = [*a_own, *shared], [*shared[::-1], *b_own]
    a_axes = [len(a_own) + i for i in range(len(shared))]
    b_axes = [len(shared) - 1 - i for i in range(len(shared))]
    if sampler.boolean():
        a_axes = [i - len(a_shape) for i in a_axes]
    return Case((tuple(a_shape), tuple(b_shape)), {"axes": (a_axes, b_axes)})


SPECS = [
    OpSpec(
        "einsum",
        Einsum,
        _einsum_checked,
        _einsum_reference,
        (ANY, ANY),
        roles=("any", "any"),
        case=_einsum_case,
        numpy=(np.einsum,),
        numpy_function=einsum,
        analytic=True,
        cost=4,
    ),
    OpSpec(
        "tensordot",
        Einsum,
        tensordot,
        np.tensordot,
        (ANY, ANY),
        roles=("any", "any"),
        case=_tensordot_case,
        numpy=(np.tensordot,),
        analytic=True,
        cost=4,
    ),
]
