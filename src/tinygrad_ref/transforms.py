"""Functions of functions, as in JAX: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacobian``, ``hessian`` and ``hvp``.

A transform differentiates its function with respect to the arguments it is given, and nothing
else: each argument is replaced by a new variable of the transform's own, so the caller's
Variables (the arguments, and any the function captures) are never changed and their ``grad``
is never touched. Given arrays, a transform returns arrays, and no graph outlives the call.
Given Variables while a graph is recorded (inside another transform, or by default at the top
level), it returns recorded Variables, linked to the arguments by an identity node, so that
transforms compose: ``grad(grad(f))``, ``jacobian(grad(f))``, ``hessian`` as forward over
reverse; under ``no_grad()``, Variables that record nothing.

Forward mode carries a tangent beside each value through the ``jvp`` rule of every op
(:class:`tinygrad_ref.Function`), in a trace (:class:`tinygrad_ref.core._Trace`) of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, overload

import numpy as np
import numpy.typing as npt

from tinygrad_ref import core
from tinygrad_ref.config import Config, using_config
from tinygrad_ref.core import (
    Array,
    Operand,
    Variable,
    _new_variable,
    _Trace,
    gradients,
    set_tangent,
    tangent_of,
)
from tinygrad_ref.ops import cast, reshape, stack

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


def _linked(arguments: Sequence[object]) -> bool:
    """Whether a transform given these arguments must record what it computes: one of them is
    a Variable, and a graph is being recorded or a forward-mode trace is running."""
    return _any_variable(arguments) and (Config.enable_backprop or bool(core._traces))


def _stand_in(x: Operand, linked: bool) -> Variable:
    """The transform's own variable for the argument ``x``: a new leaf holding its data, or,
    when ``linked``, an identity node of the Variable ``x``, through which an outer transform
    differentiates what this one computes."""
    if isinstance(x, Variable):
        return reshape(x, x.shape) if linked else _new_variable(x._array())
    return Variable(x)


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


def _substituted(
    args: Sequence[Operand], argnums: tuple[int, ...], linked: bool
) -> tuple[list[Operand], list[Variable]]:
    """The arguments with the differentiated ones replaced by stand-ins, and the stand-ins."""
    call = list(args)
    stand_ins = []
    for i in argnums:
        call[i] = stand_in = _stand_in(args[i], linked)
        stand_ins.append(stand_in)
    return call, stand_ins


def _as_output(y: object, f: Callable[..., Any]) -> Variable:
    """What ``f`` returned, as a Variable: arrays and numbers become constants of the pass."""
    if isinstance(y, Variable):
        return y
    if isinstance(y, (np.ndarray, np.generic, int, float)):
        return Variable(y)
    raise TypeError(
        f"{_name(f)} must return a Variable, an array or a number, not {type(y).__name__}"
    )


def _name(f: Callable[..., Any]) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _result(x: Variable | Array, variables: bool) -> Any:
    """A result as the caller gets it: a Variable when ``variables`` (a differentiated argument
    was one), else an array."""
    if variables:
        return x if isinstance(x, Variable) else _new_variable(np.asarray(x))
    return x.data if isinstance(x, Variable) else np.asarray(x)


def _shaped(t: Operand, like: Variable, what: str, keep_variables: bool) -> Any:
    """A tangent or cotangent ``t`` for ``like``: of its shape, cast to its dtype."""
    data = t.data if isinstance(t, Variable) else np.asarray(t)
    if data.shape != like.shape:
        raise ValueError(f"{what} has shape {data.shape}, but its value has shape {like.shape}")
    if isinstance(t, Variable) and keep_variables:
        return t if t.dtype == like.dtype else cast(t, like.dtype)
    return data.astype(like.dtype, copy=False)


# Reverse mode.


def _recorded_call(
    f: Callable[..., Any], args: Sequence[Operand], argnums: tuple[int, ...]
) -> tuple[Variable, list[Variable], bool]:
    """``f`` called on stand-ins for the differentiated arguments, recorded."""
    linked = _linked([args[i] for i in argnums])
    call, stand_ins = _substituted(args, argnums, linked)
    with using_config("enable_backprop", True):
        y = _as_output(f(*call), f)
    return y, stand_ins, linked


def _one(values: list[Any], argnums: int | tuple[int, ...]) -> Any:
    return tuple(values) if isinstance(argnums, tuple) else values[0]


def _gradient_call(
    f: Callable[..., Any], argnums: int | tuple[int, ...], args: Sequence[Operand]
) -> tuple[Any, Any]:
    numbers = _argnums(argnums, len(args))
    y, stand_ins, linked = _recorded_call(f, args, numbers)
    if y.size != 1:
        raise ValueError(
            f"grad needs a function whose output has one element; {_name(f)} returned "
            f"one of shape {y.shape} (use jacobian or vjp)"
        )
    seed = np.ones_like(y.data)
    grads = gradients({y: _new_variable(seed) if linked else seed}, stand_ins, linked)
    variables = _any_variable([args[i] for i in numbers])
    return _result(y, variables), _one([_result(g, variables) for g in grads], argnums)


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
    primal. The graph of ``f`` lives as long as ``vjp_fn``; each call of it is one reverse pass."""
    numbers = tuple(range(len(primals)))
    linked = _linked(primals)
    call, stand_ins = _substituted(primals, numbers, linked)
    with using_config("enable_backprop", True):
        value = f(*call)
    several = isinstance(value, tuple)
    ys = [_as_output(y, f) for y in (value if isinstance(value, tuple) else (value,))]

    def vjp_fn(*cotangents: Operand) -> tuple[Any, ...]:
        given = cotangents[0] if several and len(cotangents) == 1 else cotangents
        if not isinstance(given, tuple) or len(given) != len(ys):
            raise ValueError(f"vjp_fn takes one cotangent per output of {_name(f)} ({len(ys)})")
        seeds: dict[Variable, Any] = {}
        for i, (y, u) in enumerate(zip(ys, given, strict=True)):
            u = _shaped(u, y, f"cotangent {i}", linked)
            if linked and not isinstance(u, Variable):
                u = _new_variable(u)
            seeds[y] = seeds[y] + u if y in seeds else u
        grads = gradients(seeds, stand_ins, linked)
        return tuple(_result(g, variables) for g in grads)

    variables = _any_variable(primals)
    results = tuple(_result(y, variables) for y in ys)
    return (results if several else results[0]), vjp_fn


# Forward mode.


def _forward(
    f: Callable[..., Outputs],
    args: Sequence[Operand],
    tangents: dict[int, Operand],
) -> tuple[list[Variable], list[Any], bool, bool]:
    """``f`` run at ``args`` in a trace of its own, argument ``i`` carrying ``tangents[i]``:
    its outputs, their tangents, whether ``f`` returned a tuple, and whether the tangents are
    recorded with the arguments (``linked``). The trace's tangents leave the outputs."""
    differentiated = [args[i] for i in tangents]
    linked = _linked(differentiated)
    recorded = linked and Config.enable_backprop
    trace = _Trace(recorded)
    call, stand_ins = _substituted(args, tuple(tangents), linked)
    keep_variables = recorded or bool(core._traces)
    for i, (x, t) in enumerate(zip(stand_ins, tangents.values(), strict=True)):
        set_tangent(x, trace, _shaped(t, x, f"tangent {i}", keep_variables))
    core._traces.append(trace)
    try:
        with using_config("enable_backprop", recorded):
            value = f(*call)
    finally:
        core._traces.remove(trace)
    several = isinstance(value, tuple)
    ys = [_as_output(y, f) for y in (value if isinstance(value, tuple) else (value,))]
    tys = [tangent_of(y, trace) for y in ys]
    for y in ys:
        if y._tangents is not None:
            y._tangents.pop(trace, None)
    tys = [np.zeros_like(y.data) if t is None else t for y, t in zip(ys, tys, strict=True)]
    return ys, tys, several, linked


def jvp(
    f: Callable[..., Outputs], primals: Sequence[Operand], tangents: Sequence[Operand]
) -> tuple[Any, Any]:
    """``f``'s value at ``primals`` and its directional derivative ``J v`` along ``tangents``
    (one per primal, of its shape), as JAX's ``jvp``: one pass carrying each tangent beside its
    value through the ops' ``jvp`` rules; for an ``f`` that returns a tuple, a tuple of each.
    No reverse graph is built unless one is being recorded."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp takes its primals and its tangents as tuples (or lists)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    ys, tys, several, _ = _forward(f, primals, dict(enumerate(tangents)))
    variables = _any_variable(primals)
    values = tuple(_result(y, variables) for y in ys)
    outs = tuple(_result(t, variables) for t in tys)
    return (values, outs) if several else (values[0], outs[0])


# Second derivatives and Jacobians.


def _jacobian_call(
    f: Callable[..., Output], argnums: int | tuple[int, ...], mode: str, args: Sequence[Operand]
) -> Any:
    numbers = _argnums(argnums, len(args))
    if mode == "rev":
        y, stand_ins, linked = _recorded_call(f, args, numbers)
        rows: list[list[Any]] = [[] for _ in numbers]
        for k in range(y.size):
            seed = np.zeros(y.size, dtype=y.dtype)
            seed[k] = 1
            seed = seed.reshape(y.shape)
            grads = gradients({y: _new_variable(seed) if linked else seed}, stand_ins, linked)
            for row, g in zip(rows, grads, strict=True):
                row.append(g)
        shapes = [y.shape + x.shape for x in stand_ins]
        variables = _any_variable([args[i] for i in numbers])
        return _one(
            [
                _result(_stacked(row, 0, shape, linked), variables)
                for row, shape in zip(rows, shapes, strict=True)
            ],
            argnums,
        )
    if mode != "fwd":
        raise ValueError(f'jacobian mode must be "rev" or "fwd", not {mode!r}')
    jacobians = []
    for i in numbers:
        x = _as_output(args[i], f)
        columns = []
        out_shape: tuple[int, ...] = ()
        for k in range(x.size):
            basis = np.zeros(x.size, dtype=x.dtype)
            basis[k] = 1
            ys, tys, _, linked = _forward(f, args, {i: basis.reshape(x.shape)})
            if len(ys) != 1:
                raise TypeError(f"jacobian needs a function of one output; {_name(f)} gave a tuple")
            out_shape = ys[0].shape
            columns.append(_result(tys[0], linked))
        stacked = _stacked(columns, -1, out_shape + x.shape, _linked([args[i]]))
        jacobians.append(_result(stacked, _any_variable([args[i]])))
    return _one(jacobians, argnums)


def _stacked(parts: list[Any], axis: int, shape: tuple[int, ...], linked: bool) -> Any:
    """Rows (``axis=0``) or columns (``axis=-1``) of a Jacobian, flattened, as one of ``shape``."""
    if not parts:
        return _result(np.zeros(shape), linked)
    if linked:
        flat = [reshape(p, (-1,)) if isinstance(p, Variable) else p.reshape(-1) for p in parts]
        return reshape(stack(flat, axis=axis), shape)
    return np.stack([np.asarray(p).reshape(-1) for p in parts], axis=axis).reshape(shape)


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
    argument.shape``, as JAX's ``jacrev`` (``mode="rev"``: one reverse pass per output
    element) or ``jacfwd`` (``mode="fwd"``: one forward pass per argument element)."""
    if mode not in ("rev", "fwd"):
        raise ValueError(f'jacobian mode must be "rev" or "fwd", not {mode!r}')

    def jacobian_of_f(*args: Any) -> Any:
        return _jacobian_call(f, argnums, mode, args)

    return jacobian_of_f


def hessian(f: Callable[..., Output], argnums: int = 0) -> Transformed[Array, Variable]:
    """The Hessian of ``f`` (a function of one output element) by its argument ``argnums``, of
    shape ``argument.shape * 2``: forward over reverse, ``jacobian(grad(f), mode="fwd")``, one
    :func:`hvp`-sized pass per argument element."""
    if type(argnums) is not int:
        raise TypeError(f"hessian's argnums must be an int, not {argnums!r}")
    gradient: Callable[..., Any] = grad(f, argnums)

    def hessian_of_f(*args: Any) -> Any:
        return _jacobian_call(gradient, argnums, "fwd", args)

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
