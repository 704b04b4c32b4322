"""Functions of functions, as in JAX: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacobian``, ``hessian`` and ``hvp``.

Each call of a transform is a *level* (docs/DESIGN.md, "Levels: transforms that nest"). It
differentiates its function by its own stand-ins for the arguments it differentiates, and by
nothing else: the caller's Variables (the arguments, and any the function captures) are never
changed and their ``grad`` is never touched; a transform inside it differentiates by its own
stand-ins, and never mistakes this one's tangents or cotangents for its own. What it returns
depends on everything recorded that its function used: while a graph is being recorded (in eager
code, or inside another transform), a result that depends on a Variable besides the transform's
stand-ins (an argument it does not differentiate, one the function captured, a Variable argument
it differentiates) is a Variable linked to it, so that transforms compose; otherwise an array,
and no graph outlives the call.

Forward mode carries a tangent beside each value through the ``jvp`` rule of every op
(:class:`tinygrad_ref.Function`), in a trace (:class:`tinygrad_ref.core._Trace`) of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NoReturn,
    Protocol,
    TypeAlias,
    TypeGuard,
    TypeVar,
    overload,
)

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import Config, using_config
from tinygrad_ref.core import (
    Array,
    Function,
    Operand,
    Variable,
    _as_data,
    _Constant,
    _Level,
    _new_variable,
    _StandIn,
    _Trace,
    _zero_tangent,
    active_traces,
    depends_on_others,
    gradients,
    leading_to,
    set_tangent,
    tangent_of,
    tracing,
)
from tinygrad_ref.ops import cast, concatenate, reshape, transpose

Output: TypeAlias = Operand
"""What a transformed function returns: a Variable, or an array or number when it does not
depend on its arguments."""
Outputs: TypeAlias = Output | tuple[Output, ...]
"""What a function given to ``jvp`` or ``vjp`` returns: one output or a tuple of them."""
Result: TypeAlias = Array | Variable
"""A derivative: an array for array arguments, a Variable for Variable arguments. Where the
differentiated arguments are not the first one alone, the types cannot tell which: the
transforms are typed ``Any`` there."""

_A = TypeVar("_A", covariant=True)
_V = TypeVar("_V", covariant=True)


class Transformed(Protocol[_A, _V]):
    """A transformed function of one differentiated argument, the first: given a Variable it
    returns Variables (``_V``), given array data it returns arrays (``_A``)."""

    @overload
    def __call__(self, x: Variable, /, *args: Operand) -> _V: ...
    @overload
    def __call__(self, x: npt.ArrayLike, /, *args: Operand) -> _A: ...


# The arguments a transform differentiates.


def _any_variable(arguments: Sequence[object]) -> bool:
    return any(isinstance(x, Variable) for x in arguments)


def _linkable(x: object) -> TypeGuard[Variable]:
    """Whether ``x`` is a Variable that a graph may differentiate: not a constant."""
    return isinstance(x, Variable) and type(x) is not _Constant


def _data(x: Operand) -> Array:
    return x._array() if isinstance(x, Variable) else _as_data(x)


def _reverse_stand_in(x: Operand, level: _Level) -> tuple[Variable, bool]:
    """A reverse-mode transform's own variable for the argument ``x``, and whether it is linked
    to ``x``: an identity node of the Variable ``x`` while a graph is recorded, through which
    a transform outside differentiates what this one computes; else a new leaf holding its
    data, carrying the tangents ``x`` carries (zeros in the other active traces, of which it
    is a constant)."""
    if _linkable(x) and Config.enable_backprop:
        return reshape(x, x.shape), True
    stand_in = _StandIn.new(_data(x), level)
    if isinstance(x, Variable) and x._tangents:
        stand_in._tangents = dict(x._tangents)
    for trace in active_traces():
        if stand_in._tangents is None or trace not in stand_in._tangents:
            set_tangent(stand_in, trace, _zero_tangent(stand_in, trace.batch))
    return stand_in, False


def _forward_stand_in(x: Operand) -> Variable:
    """A forward-mode transform's own variable for the argument ``x``: an identity node of the
    Variable ``x`` while a graph is recorded, else a constant holding its data (and the
    tangents ``x`` carries), which no graph records."""
    if _linkable(x) and Config.enable_backprop:
        return reshape(x, x.shape)
    stand_in = _new_variable(_data(x), _Constant)
    if isinstance(x, Variable) and x._tangents:
        stand_in._tangents = dict(x._tangents)
    return stand_in


def _argnums(argnums: int | tuple[int, ...], count: int) -> tuple[int, ...]:
    numbers = argnums if isinstance(argnums, tuple) else (argnums,)
    if not numbers:
        raise ValueError("argnums must name at least one argument")
    for i in numbers:
        if type(i) is not int:
            raise TypeError(f"argnums must be an int or a tuple of ints, not {argnums!r}")
        if not -count <= i < count:
            raise ValueError(f"argnums {argnums!r} names argument {i}, but {count} were given")
    normalized = tuple(i % count for i in numbers)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"argnums {argnums!r} names an argument twice")
    return normalized


def _as_output(y: object, f: Callable[..., Any]) -> Variable:
    """What ``f`` returned, as a Variable: arrays and numbers become constants."""
    if isinstance(y, Variable):
        return y
    if isinstance(y, (np.ndarray, np.generic, int, float)):
        return _new_variable(_as_data(y), _Constant)
    raise TypeError(
        f"{_name(f)} must return a Variable, an array or a number, not {type(y).__name__}"
    )


def _name(f: Callable[..., Any]) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _returned(r: Variable | Array, linked: bool, traced: bool, variables: bool) -> Any:
    """A result as the caller gets it. If ``linked`` (a graph is being recorded and the results
    depend on a Variable besides the transform's stand-ins) and it is a recorded Variable: that
    Variable. Else, inside a forward-mode pass (``traced``): a constant carrying the pass's
    tangents, without the graph the transform recorded. Else an array, or a new Variable
    holding it if a differentiated argument was a Variable (``variables``)."""
    if isinstance(r, Variable):
        if linked and type(r) is not _Constant:
            return r
        if traced:
            if type(r) is _Constant:
                return r
            constant = _new_variable(r.data, _Constant)
            constant._tangents = None if r._tangents is None else dict(r._tangents)
            return constant
        data = r.data
    else:
        data = np.asarray(r)
        if traced:
            return _new_variable(data, _Constant)
    return _new_variable(data) if variables else data


def _shaped(
    t: Operand, like: Variable, what: str, keep_variables: bool, batch: int | None = None
) -> Any:
    """A tangent or cotangent ``t`` for ``like``: of its shape (after a leading axis of size
    ``batch``, unless it is ``None``), cast to its dtype."""
    data = t.data if isinstance(t, Variable) else np.asarray(t)
    shape = like.shape if batch is None else (batch, *like.shape)
    if data.shape != shape:
        raise ValueError(
            f"{what} has shape {data.shape}, but its value has shape {like.shape}"
            + ("" if batch is None else f": a batch of {batch} tangents of it has shape {shape}")
        )
    if isinstance(t, Variable) and keep_variables:
        return t if t.dtype == like.dtype else cast(t, like.dtype)
    return data.astype(like.dtype, copy=False)


# Reverse mode.


@dataclass(slots=True)
class _Call:
    """What one call of a transform gives, and how its results return to the caller."""

    ys: list[Variable]
    """The outputs of its function."""
    linked: bool
    """Whether its results are linked (see :func:`_returned`)."""
    traced: bool
    """Whether a forward-mode pass runs around the call, in this thread."""
    variables: bool
    """Whether a differentiated argument is a Variable."""

    def returned(self, r: Variable | Array) -> Any:
        return _returned(r, self.linked, self.traced, self.variables)


@dataclass(slots=True)
class _Recorded(_Call):
    """A function recorded by a reverse-mode transform at its stand-ins; ``linked``: it depends
    on a Variable besides them while a graph is recorded."""

    stand_ins: list[Variable]
    only: set[Function]
    """The functions between the stand-ins and the outputs: those a reverse pass runs."""
    depends: bool
    """Whether the outputs depend on a Variable besides the stand-ins (one the function
    captured, an argument it does not differentiate, or the Variable a stand-in is linked to)."""

    def pull(self, cotangents: Sequence[Any], linked: bool, traced: bool) -> list[Any]:
        """The gradients by the stand-ins of ``sum(u * y)`` over the outputs ``y`` and their
        cotangents ``u``: arrays, or Variables recorded for whatever ``linked`` or ``traced``
        needs them."""
        create_graph = linked or traced
        seeds: dict[Variable, Any] = {}
        for y, u in zip(self.ys, cotangents, strict=True):
            if create_graph and not isinstance(u, Variable):
                u = _new_variable(np.asarray(u), _Constant)
            elif not create_graph and isinstance(u, Variable):
                u = u.data
            seeds[y] = seeds[y] + u if y in seeds else u
        return gradients(seeds, self.stand_ins, create_graph, self.only)

    @property
    def reaches_stand_ins(self) -> bool:
        """Whether an output depends on a stand-in: through functions, or by being one."""
        return bool(self.only) or any(y is x for y in self.ys for x in self.stand_ins)

    @property
    def gradients_linked(self) -> bool:
        """Whether the gradients are linked: ``linked``, unless no output depends on the
        stand-ins (the gradients are zeros, constants)."""
        return self.linked and self.reaches_stand_ins


def _recorded_call(
    f: Callable[..., Any], args: Sequence[Operand], argnums: tuple[int, ...], several: bool
) -> tuple[_Recorded, bool]:
    """``f`` called on stand-ins for the differentiated arguments, recorded, and whether it
    returned a tuple (``several`` allows one)."""
    level = _Level()
    call = list(args)
    stand_ins, linked_to_arguments = [], False
    for i in argnums:
        stand_in, linked = _reverse_stand_in(args[i], level)
        call[i] = stand_in
        stand_ins.append(stand_in)
        linked_to_arguments = linked_to_arguments or linked
    recording = Config.enable_backprop
    try:
        with using_config("enable_backprop", True):
            value = f(*call)
    finally:
        level.active = False
    returned_tuple = several and isinstance(value, tuple)
    ys = [_as_output(y, f) for y in (value if returned_tuple else (value,))]
    only, others = leading_to(ys, stand_ins)
    depends = linked_to_arguments or others
    recorded = _Recorded(
        ys=ys,
        linked=depends and recording,
        traced=bool(active_traces()),
        variables=_any_variable([args[i] for i in argnums]),
        stand_ins=stand_ins,
        only=only,
        depends=depends,
    )
    return recorded, returned_tuple


def _one(values: list[Any], argnums: int | tuple[int, ...]) -> Any:
    return tuple(values) if isinstance(argnums, tuple) else values[0]


def _gradient_call(
    f: Callable[..., Any], argnums: int | tuple[int, ...], args: Sequence[Operand]
) -> tuple[Any, Any]:
    numbers = _argnums(argnums, len(args))
    recorded, _ = _recorded_call(f, args, numbers, several=False)
    (y,) = recorded.ys
    if y.size != 1:
        raise ValueError(
            f"grad needs a function whose output has one element; {_name(f)} returned "
            f"one of shape {y.shape} (use jacobian or vjp)"
        )
    linked, traced = recorded.gradients_linked, recorded.traced
    grads = recorded.pull([np.ones_like(y.data)], linked, traced)
    returned = [_returned(g, linked, traced, recorded.variables) for g in grads]
    return recorded.returned(y), _one(returned, argnums)


@overload
def grad(f: Callable[..., Output], argnums: Literal[0] = 0) -> Transformed[Array, Variable]: ...
@overload
def grad(f: Callable[..., Output], argnums: int) -> Callable[..., Any]: ...
@overload
def grad(f: Callable[..., Output], argnums: tuple[int, ...]) -> Callable[..., tuple[Any, ...]]: ...
def grad(f: Callable[..., Output], argnums: int | tuple[int, ...] = 0) -> Any:
    """The gradient of ``f`` by its argument ``argnums`` (an int, or a tuple of ints for a tuple
    of gradients), as JAX's ``grad``. ``f``'s output must have one element, of any shape."""

    def gradient(*args: Any) -> Any:
        return _gradient_call(f, argnums, args)[1]

    return gradient


@overload
def value_and_grad(
    f: Callable[..., Output], argnums: Literal[0] = 0
) -> Transformed[tuple[Array, Array], tuple[Variable, Variable]]: ...
@overload
def value_and_grad(
    f: Callable[..., Output], argnums: int | tuple[int, ...]
) -> Callable[..., tuple[Any, Any]]: ...
def value_and_grad(f: Callable[..., Output], argnums: int | tuple[int, ...] = 0) -> Any:
    """``f``'s value and its :func:`grad`, from one forward and one reverse pass."""

    def value_and_gradient(*args: Any) -> Any:
        return _gradient_call(f, argnums, args)

    return value_and_gradient


def vjp(f: Callable[..., Outputs], *primals: Operand) -> tuple[Any, Callable[..., tuple[Any, ...]]]:
    """``f``'s value at ``primals`` and its pullback, as JAX's ``vjp``: ``vjp_fn(cotangent)``
    (one per output, for an ``f`` that returns a tuple) gives the tuple of ``uᵀ J`` by each
    primal. The graph of ``f`` lives as long as ``vjp_fn``; each call of it is one reverse pass,
    linked while a graph is recorded if the pullback depends on a Variable (one ``f`` used
    besides its primals' stand-ins, or a cotangent)."""
    recorded, several = _recorded_call(f, primals, tuple(range(len(primals))), several=True)
    ys = recorded.ys

    def vjp_fn(*cotangents: Operand) -> tuple[Any, ...]:
        given = cotangents[0] if several and len(cotangents) == 1 else cotangents
        if not isinstance(given, tuple) or len(given) != len(ys):
            raise ValueError(f"vjp_fn takes one cotangent per output of {_name(f)} ({len(ys)})")
        traced = bool(active_traces())
        keep = Config.enable_backprop or traced
        us = [
            _shaped(u, y, f"cotangent {i}", keep)
            for i, (y, u) in enumerate(zip(ys, given, strict=True))
        ]
        linked = Config.enable_backprop and recorded.reaches_stand_ins
        linked = linked and (recorded.depends or any(map(_linkable, us)))
        grads = recorded.pull(us, linked, traced)
        return tuple(_returned(g, linked, traced, recorded.variables) for g in grads)

    results = tuple(recorded.returned(y) for y in ys)
    return (results if several else results[0]), vjp_fn


# Forward mode.


@dataclass(slots=True)
class _Traced(_Call):
    """What a forward-mode pass gives; ``linked``: a graph is being recorded and an output or
    a tangent depends on a Variable."""

    tangents: list[Any]
    """The outputs' tangents: arrays, or Variables (with a leading batch axis, in a batched
    pass)."""
    several: bool
    """Whether ``f`` returned a tuple."""
    side_effects: list[str]
    """What the functions ``f`` ran said they changed besides their outputs."""


def _forward(
    f: Callable[..., Outputs],
    args: Sequence[Operand],
    tangents: dict[int, Operand],
    batch: int | None = None,
    closed: bool = False,
) -> _Traced:
    """``f`` run at ``args`` in a trace of its own, argument ``i`` carrying ``tangents[i]``
    (a batch of ``batch`` of them, along a leading axis, unless it is ``None``); a ``closed``
    one (:class:`~tinygrad_ref.core._Trace`) if nothing outside differentiates what ``f``
    computes. The trace's tangents leave the outputs."""
    recording = Config.enable_backprop
    keep_variables = recording or bool(active_traces())
    trace = _Trace(batch, closed)
    call = list(args)
    stand_ins = []
    for k, (i, t) in enumerate(tangents.items()):
        call[i] = stand_in = _forward_stand_in(args[i])
        stand_ins.append(stand_in)
        tangent = _shaped(t, stand_in, f"tangent {k}", keep_variables, batch)
        if type(stand_in) is not _Constant and not isinstance(tangent, Variable):
            # NOTE: a stand-in linked to its argument is no value of the trace's own: its rules
            # run on Variables (see core._carry_tangents)
            tangent = _new_variable(tangent, _Constant)
        set_tangent(stand_in, trace, tangent)
    try:
        with tracing(trace):
            value = f(*call)
        several = isinstance(value, tuple)
        ys = [_as_output(y, f) for y in (value if isinstance(value, tuple) else (value,))]
        tys = [tangent_of(y, trace) for y in ys]
        for y in ys:
            if y._tangents is not None:
                y._tangents.pop(trace, None)
    finally:
        trace.forget()
    tys = [
        np.zeros(y.shape if batch is None else (batch, *y.shape), y.dtype) if t is None else t
        for y, t in zip(ys, tys, strict=True)
    ]
    linkable = [v for v in (*ys, *tys) if _linkable(v)]
    linked = recording and bool(linkable)
    if linked and not any(type(x) is not _Constant for x in stand_ins):
        # NOTE: no stand-in is linked to its argument
        linked = depends_on_others(linkable, stand_ins)
    variables = _any_variable([args[i] for i in tangents])
    traced = bool(active_traces())
    effects = trace.side_effects
    return _Traced(ys, linked, traced, variables, tys, several, effects)


def jvp(
    f: Callable[..., Outputs],
    primals: Sequence[Operand],
    tangents: Sequence[Operand],
    *,
    batched: bool = False,
) -> tuple[Any, Any]:
    """``f``'s value at ``primals`` and its directional derivative ``J v`` along ``tangents``
    (one per primal, of its shape), as JAX's ``jvp``: one pass carrying each tangent beside its
    value through the ops' ``jvp`` rules; for an ``f`` that returns a tuple, a tuple of each.
    No reverse graph is built unless one is being recorded and ``f`` uses a Variable.

    ``batched=True`` pushes B directions at once, as JAX's ``vmap`` of ``jvp``: each tangent
    has a leading axis of size B (the same for all), ``(B,) + primal.shape``, and so has each
    output tangent, ``J v`` for each ``v`` of the batch. ``f`` runs once."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp takes its primals and its tangents as tuples (or lists)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    batch = _batch_size(tangents) if batched else None
    traced = _forward(f, primals, dict(enumerate(tangents)), batch)
    values = tuple(traced.returned(y) for y in traced.ys)
    outs = tuple(traced.returned(t) for t in traced.tangents)
    return (values, outs) if traced.several else (values[0], outs[0])


def _batch_size(tangents: Sequence[Operand]) -> int:
    """The size of the leading batch axis of ``tangents``, which they share."""
    if not tangents:
        raise ValueError("jvp with batched=True needs a tangent: its leading axis is the batch")
    sizes = []
    for k, t in enumerate(tangents):
        shape = t.shape if isinstance(t, Variable) else np.shape(t)
        if not shape:
            raise ValueError(
                f"jvp with batched=True takes tangents with a leading batch axis; tangent {k} "
                "is 0-d"
            )
        sizes.append(shape[0])
    if len(set(sizes)) > 1:
        raise ValueError(f"jvp with batched=True got batches of different sizes {sizes}")
    return sizes[0]


# Second derivatives and Jacobians.


def _jacobian_call(
    f: Callable[..., Output],
    argnums: int | tuple[int, ...],
    mode: str,
    args: Sequence[Operand],
    name: str,
) -> Any:
    numbers = _argnums(argnums, len(args))
    if mode == "rev":
        return _one(_reverse_jacobians(f, numbers, args), argnums)
    if mode != "fwd":
        raise ValueError(f'jacobian mode must be "rev" or "fwd", not {mode!r}')
    return _one([_forward_jacobian(f, i, args, name) for i in numbers], argnums)


ROWS_ONE_BY_ONE = 4
"""Up to this many output elements, ``jacobian(mode="rev")`` pulls back one basis vector per
reverse pass rather than all of them in one batched pass (see benchmarks/run.py)."""


def _reverse_jacobians(
    f: Callable[..., Output], numbers: tuple[int, ...], args: Sequence[Operand]
) -> list[Any]:
    """The Jacobians by the arguments ``numbers``: ``f`` recorded once, and its pullback, linear
    in the cotangent ``u``, differentiated by ``u`` in forward mode along every element's basis
    vector at once (one recorded reverse pass carrying a batch of tangents; in chunks above
    ``Config.max_batch_bytes``, each another reverse pass, never another call of ``f``). Up to
    :data:`ROWS_ONE_BY_ONE` output elements, a plain reverse pass per element costs less."""
    recorded, _ = _recorded_call(f, args, numbers, several=False)
    (y,) = recorded.ys
    linked, traced = recorded.gradients_linked, recorded.traced
    rows: list[list[Any]] = [[] for _ in numbers]
    if y.size <= ROWS_ONE_BY_ONE:
        for k in range(y.size):
            grads = recorded.pull([_basis(y.data, k, 1)[0]], linked, traced)
            for row, g, x in zip(rows, grads, recorded.stand_ins, strict=True):
                g = _returned(g, linked, traced, False)
                row.append(reshape(g, (1, *x.shape)) if isinstance(g, Variable) else g[None])

    def pullback(u: Variable) -> tuple[Any, ...]:
        return tuple(recorded.pull([u], linked, True))

    chunk = _chunk_size(y.data)
    u = np.zeros(y.shape, y.dtype)
    for start in range(0, y.size if y.size > ROWS_ONE_BY_ONE else 0, chunk):
        count = min(chunk, y.size - start)
        pass_ = _forward(pullback, [u], {0: _basis(y.data, start, count)}, count, not linked)
        for row, t in zip(rows, pass_.tangents, strict=True):
            row.append(_returned(t, pass_.linked, pass_.traced, False))
    return [
        _returned(
            _jacobian(row, y.shape, x.shape, x.dtype, False), linked, traced, recorded.variables
        )
        for row, x in zip(rows, recorded.stand_ins, strict=True)
    ]


def _forward_jacobian(f: Callable[..., Output], i: int, args: Sequence[Operand], name: str) -> Any:
    """The Jacobian by argument ``i``: one forward pass carrying a batch of tangents, the basis
    vector of every element of the argument (in chunks above ``Config.max_batch_bytes``, each a
    call of ``f``, which a function with side effects, called ``name``, refuses)."""
    x = _data(args[i])
    chunk = _chunk_size(x)
    columns = []
    for start in range(0, max(x.size, 1), chunk):
        count = min(chunk, x.size - start)
        if x.size:
            traced = _forward(f, args, {i: _basis(x, start, count)}, count)
        else:  # NOTE: one pass of no batch for an empty argument, for the shape of the output
            traced = _forward(f, args, {i: x})
        if traced.several:
            raise TypeError(f"jacobian needs a function of one output; {name} gave a tuple")
        if traced.side_effects and count < x.size:
            raise _chunks_refused(name, traced.side_effects, x, chunk)
        if x.size:
            columns.append(_returned(traced.tangents[0], traced.linked, traced.traced, False))
    (y,) = traced.ys
    return traced.returned(_jacobian(columns, y.shape, x.shape, y.dtype, True))


def _chunk_size(x: Array) -> int:
    """How many tangents of ``x`` one pass carries: as many as ``Config.max_batch_bytes`` holds
    (at least one)."""
    return max(1, Config.max_batch_bytes // max(x.nbytes, 1))


def _basis(x: Array, start: int, count: int) -> Array:
    """The basis vectors of elements ``start`` to ``start + count`` of ``x``, each of ``x``'s
    shape and dtype, along a leading batch axis."""
    basis = np.zeros((count, x.size), x.dtype)
    basis[np.arange(count), start + np.arange(count)] = 1
    return basis.reshape((count, *x.shape))


def _chunks_refused(name: str, effects: list[str], x: Array, chunk: int) -> ValueError:
    passes = -(-x.size // chunk)
    needed = x.size * x.nbytes
    return ValueError(
        f"{name} {effects[0]}, which it would do once per pass: its Jacobian by an argument "
        f"of {x.size} elements needs {passes} passes of at most {chunk} tangents each, as "
        f"Config.max_batch_bytes = {Config.max_batch_bytes:,} allows; to run it once, raise the "
        f"limit to {needed:,} or more: with using_config('max_batch_bytes', {needed})"
    )


def _jacobian(
    parts: list[Any], y: tuple[int, ...], x: tuple[int, ...], dtype: np.dtype[Any], by_x: bool
) -> Any:
    """A Jacobian of shape ``y + x`` from the tangents of batched passes (Variables if they
    are), concatenated along their batch axis: over ``x``'s elements (``by_x``, each part of
    shape ``(B,) + y``), or over ``y``'s (each of shape ``(B,) + x``)."""
    if not parts:
        return np.zeros(y + x, dtype)
    if _any_variable(parts):
        whole = parts[0] if len(parts) == 1 else concatenate(parts)
        if by_x:
            whole = transpose(whole, (*range(1, len(y) + 1), 0))
        return reshape(whole, y + x)
    whole = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return (np.moveaxis(whole, 0, -1) if by_x else whole).reshape(y + x)


@overload
def jacobian(
    f: Callable[..., Output], argnums: Literal[0] = 0, *, mode: Literal["rev", "fwd"] = "rev"
) -> Transformed[Array, Variable]: ...
@overload
def jacobian(
    f: Callable[..., Output], argnums: int, *, mode: Literal["rev", "fwd"] = "rev"
) -> Callable[..., Any]: ...
@overload
def jacobian(
    f: Callable[..., Output], argnums: tuple[int, ...], *, mode: Literal["rev", "fwd"] = "rev"
) -> Callable[..., tuple[Any, ...]]: ...
def jacobian(
    f: Callable[..., Output],
    argnums: int | tuple[int, ...] = 0,
    *,
    mode: Literal["rev", "fwd"] = "rev",
) -> Any:
    """The Jacobian of ``f`` by its argument ``argnums``, of shape ``output.shape +
    argument.shape``, as JAX's ``jacrev`` (``mode="rev"``) or ``jacfwd`` (``mode="fwd"``),
    ``f`` called once either way. ``"rev"`` pulls back the basis vector of every output element
    at once (a reverse pass carrying them as a batch of tangents of its cotangent), ``"fwd"``
    pushes the basis vector of every argument element at once (a forward pass carrying a batch
    of tangents). Above ``Config.max_batch_bytes`` of tangents of the argument (``"fwd"``) or
    of the output (``"rev"``) a batch is split into chunks, a pass each: with ``"fwd"`` each
    calls ``f``, which is refused (a ``ValueError`` naming the limit) if ``f`` updates state or
    draws random numbers, as a training-mode ``batch_norm`` or ``dropout`` does."""
    if mode not in ("rev", "fwd"):
        raise ValueError(f'jacobian mode must be "rev" or "fwd", not {mode!r}')

    def jacobian_of_f(*args: Any) -> Any:
        return _jacobian_call(f, argnums, mode, args, _name(f))

    return jacobian_of_f


def hessian(f: Callable[..., Output], argnums: int = 0) -> Transformed[Array, Variable]:
    """The Hessian of ``f`` (a function of one output element) by its argument ``argnums``, of
    shape ``argument.shape * 2``: forward over reverse, ``jacobian(grad(f), mode="fwd")``, one
    pass that calls ``f`` once and carries the basis vector of every argument element as a
    batch of tangents (chunked as :func:`jacobian`'s, which ``f`` with side effects refuses)."""
    if type(argnums) is not int:
        raise TypeError(f"hessian's argnums must be an int, not {argnums!r}")
    gradient: Callable[..., Any] = grad(f, argnums)

    def hessian_of_f(*args: Any) -> Any:
        return _jacobian_call(gradient, argnums, "fwd", args, _name(f))

    return hessian_of_f


@overload
def hvp(f: Callable[..., Output], x: Variable, v: Operand) -> Variable: ...
@overload
def hvp(f: Callable[..., Output], x: npt.ArrayLike, v: Operand) -> Array: ...
def hvp(f: Callable[..., Output], x: Any, v: Operand) -> Result:
    """The Hessian of ``f`` at ``x`` times ``v`` (of ``x``'s shape), without the Hessian: the
    directional derivative of the gradient, forward over reverse, in one pass."""
    result: Result = jvp(grad(f), (x,), (v,))[1]
    return result


_DEZERO_DATA_TRANSFORMS = frozenset(
    {"AsType", "Compose", "Flatten", "Normalize", "ToFloat", "ToInt"}
)

if not TYPE_CHECKING:
    # NOTE: at run time only, so that type checkers still flag a misspelt name here

    def __getattr__(name: str) -> NoReturn:
        """Point a reader of DeZero, whose ``dezero.transforms`` holds data transforms, to
        :mod:`tinygrad_ref.datasets.transforms`."""
        hint = ""
        if name in _DEZERO_DATA_TRANSFORMS:
            hint = (
                f"; DeZero's data transform {name} (dezero.transforms) is "
                f"tinygrad_ref.datasets.transforms.{name}"
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}{hint}")
