"""NumPy's protocols for Variables: NumPy's own ufuncs and functions, given a Variable, run the
op that backs them and return a recorded Variable, as the operators do.

* ``__array_ufunc__``: a ufunc (``np.exp(v)``, ``ndarray * v``, ``np.add.reduce(v)``) runs the
  op whose spec lists it in ``OpSpec.numpy``; ``np.add.outer`` and the other binary ufuncs'
  ``outer`` run it on operands reshaped to pair every element with every other. Into ``out=``
  ndarrays (``x.data -= lr * x.grad``) a ufunc computes on the data and records nothing: a plain
  array cannot hold a graph. Comparisons and the other ufuncs that only inspect values give
  NumPy boolean arrays of the data.
* ``__array_function__``: a NumPy function (``np.sum(v, axis=0)``) runs the op whose spec lists
  it (``np.concatenate``, ``np.stack`` take a sequence as NumPy does; ``np.split`` gives
  ``split``'s tuple, not NumPy's list); ``np.dot``, ``np.vdot`` and ``np.ravel`` are composed from
  ops by NumPy's rules; the functions that only inspect values (``np.allclose``, ``np.shape``) run
  on the data.
* ``__array__``: ``np.asarray(v)`` is ``v.data``, without its graph.

Anything else given a Variable raises a ``TypeError`` naming it, never an array of objects:
a ufunc or function no op backs, a keyword the op cannot honour, ``out=`` a Variable.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref import ops
from tinygrad_ref.config import Config
from tinygrad_ref.core import Array, Operand, Variable, _is_python_number, active_traces
from tinygrad_ref.ops.linalg import REFUSED
from tinygrad_ref.ops.shape import operand_shape
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import OpSpec

UfuncKey = tuple[np.ufunc, str]
"""A ufunc and one of its methods: ``(np.add, "__call__")`` or ``(np.add, "reduce")``."""


@dataclass(frozen=True)
class Dispatch:
    """What a NumPy ufunc or function given a Variable runs: ``function``, whose first
    ``arity`` parameters are the operands (see :func:`parameter_names`)."""

    function: Callable[..., Variable | tuple[Variable, ...]]
    arity: int


def dispatch_of(spec: OpSpec) -> Dispatch:
    """What the NumPy spellings ``spec`` claims run: an op whose function takes its operands as
    ``*xs`` takes them through NumPy as one sequence (``np.concatenate(xs, axis=0)``)."""
    parameters = inspect.signature(spec.function).parameters.values()
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    return Dispatch(spec.numpy_function or spec.function, 1 if variadic else spec.arity)


def ufunc_key(target: object) -> UfuncKey | None:
    """``target`` as a ufunc and method, or ``None`` if it is a NumPy function."""
    if isinstance(target, np.ufunc):
        return target, "__call__"
    owner = getattr(target, "__self__", None)
    if isinstance(owner, np.ufunc):
        return owner, getattr(target, "__name__", "")
    return None


def _reshaped(x: Operand, shape: tuple[int, ...]) -> Operand:
    """``x`` in ``shape``: a recorded reshape for a Variable, NumPy's for a constant."""
    return ops.reshape(x, shape) if isinstance(x, Variable) else np.reshape(x, shape)


def _as_numpy_constant(x: Operand) -> Operand:
    # NOTE: np.dot and np.vdot make arrays of Python numbers, so that they are not "weak".
    return np.asarray(x) if _is_python_number(x) else x


def dot(a: Operand, b: Operand) -> Variable:
    """``np.dot``'s rules: a 0-d operand multiplies, vectors and matrices take the matrix
    product, and an N-d ``a`` pairs every stack of ``b`` (the sum over the last axis of ``a``
    and the second-to-last of ``b``)."""
    a, b = _as_numpy_constant(a), _as_numpy_constant(b)
    sa, sb = operand_shape(a), operand_shape(b)
    if not sa or not sb:
        return ops.mul(a, b)
    if len(sa) < 2 or len(sb) < 3:
        return ops.matmul(a, b)
    if sa[-1] != sb[-2]:
        raise ValueError(
            f"dot of shapes {sa} and {sb}: the last axis of the first ({sa[-1]}) and the "
            f"second-to-last of the second ({sb[-2]}) differ"
        )
    # NOTE: each row of a as a 1-row matrix, with axes of size 1 for b's stack axes to broadcast
    rows = _reshaped(a, (*sa[:-1], *(1,) * (len(sb) - 2), 1, sa[-1]))
    return ops.reshape(ops.matmul(rows, b), (*sa[:-1], *sb[:-2], sb[-1]))


def vdot(a: Operand, b: Operand) -> Variable:
    """``np.vdot``: the dot product of the flattened operands, which must have one size."""
    a, b = _as_numpy_constant(a), _as_numpy_constant(b)
    sa, sb = operand_shape(a), operand_shape(b)
    if np.prod(sa) != np.prod(sb):
        raise ValueError(f"vdot of shapes {sa} and {sb}: their sizes differ")
    return ops.matmul(_reshaped(a, (-1,)), _reshaped(b, (-1,)))


def ravel(a: Operand) -> Variable:
    """``np.ravel``: the values as a 1-d Variable."""
    return ops.reshape(a, -1)


def _tables() -> tuple[dict[UfuncKey, Dispatch], dict[object, Dispatch]]:
    """What each ufunc method and NumPy function runs: the op whose spec claims it first."""
    ufuncs: dict[UfuncKey, Dispatch] = {}
    functions: dict[object, Dispatch] = {
        np.dot: Dispatch(dot, 2),
        np.vdot: Dispatch(vdot, 2),
        np.ravel: Dispatch(ravel, 1),
    }
    for spec in REGISTRY.values():
        if spec.numpy_reflected:
            continue
        for target in spec.numpy:
            key = ufunc_key(target)
            dispatch = dispatch_of(spec)
            if key is None:
                functions.setdefault(target, dispatch)
            else:
                ufuncs.setdefault(key, dispatch)
    return ufuncs, functions


# NOTE: the ufunc methods and NumPy functions that run an op: those the specs claim in
# OpSpec.numpy, and np.dot, np.vdot and np.ravel.
UFUNCS: Mapping[UfuncKey, Dispatch]
FUNCTIONS: Mapping[object, Dispatch]
UFUNCS, FUNCTIONS = _tables()

INSPECTING_UFUNCS: frozenset[np.ufunc] = frozenset(
    {
        np.equal,
        np.not_equal,
        np.less,
        np.less_equal,
        np.greater,
        np.greater_equal,
        np.isfinite,
        np.isinf,
        np.isnan,
        np.signbit,
        np.logical_and,
        np.logical_or,
        np.logical_xor,
        np.logical_not,
    }
)
"""The ufuncs that only look at values: they run on the data and give a boolean ndarray."""

INSPECTING_FUNCTIONS: frozenset[object] = frozenset(
    {
        np.all,
        np.allclose,
        np.any,
        np.argmax,
        np.argmin,
        np.argsort,
        np.argwhere,
        np.array_equal,
        np.array_equiv,
        np.count_nonzero,
        np.flatnonzero,
        np.iscomplex,
        np.iscomplexobj,
        np.isclose,
        np.isneginf,
        np.isposinf,
        np.isreal,
        np.isrealobj,
        np.may_share_memory,
        np.ndim,
        np.nonzero,
        np.shape,
        np.shares_memory,
        np.size,
    }
)
"""The NumPy functions that only look at values (or indices): they run on the data and return
NumPy's result."""


def supported() -> list[str]:
    """The names of the NumPy ufuncs, ufunc methods and functions that take a Variable."""
    outer = [(u, "outer") for u, method in UFUNCS if method == "__call__" and _has_outer(u)]
    targets = [*UFUNCS, *outer, *FUNCTIONS, *INSPECTING_UFUNCS, *INSPECTING_FUNCTIONS]
    return sorted(name_of(target) for target in targets)


def _has_outer(ufunc: np.ufunc) -> bool:
    """Whether ``ufunc.outer`` exists: for elementwise ufuncs of two inputs (not ``matmul``)."""
    return ufunc.nin == 2 and ufunc.signature is None


def name_of(target: object) -> str:
    """How a NumPy ufunc, ufunc method (or ``(ufunc, method)``) or function is written:
    ``np.add.reduce``."""
    key = target if isinstance(target, tuple) else ufunc_key(target)
    return _function_name(target) if key is None else _ufunc_name(*key)


def _ufunc_name(ufunc: np.ufunc, method: str = "__call__") -> str:
    return f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")


def _function_name(func: object) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    name = f"{module}.{getattr(func, '__name__', func)}"
    return "np" + name[len("numpy") :] if module.split(".")[0] == "numpy" else name


def _not_supported(name: str) -> TypeError:
    return TypeError(
        f"{name} does not take a Variable: no tinygrad_ref op backs it "
        "(tinygrad_ref.interop.supported() lists the NumPy ufuncs and functions that do); "
        "to compute without a graph, give it the data, v.data"
    )


def _data(x: Any) -> Any:
    """``x`` with every Variable in it (also inside lists and tuples) replaced by its data."""
    if isinstance(x, Variable):
        return x._array()
    if isinstance(x, (list, tuple)):
        return type(x)(_data(item) for item in x)
    return x


def _on_data(func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """NumPy's own ``func`` on the data of the Variables among its arguments."""
    return func(*_data(args), **{k: _data(v) for k, v in kwargs.items()})


def _refuse_variable_targets(name: str, targets: Any) -> None:
    for target in targets if isinstance(targets, tuple) else (targets,):
        if isinstance(target, Variable):
            raise TypeError(
                f"{name} cannot write into a Variable: changing a recorded value in place would "
                "corrupt the graph that used it; take the result (y = ...) or write into an "
                "ndarray, such as its data (x.data -= lr * x.grad)"
            )


_OWN_TYPES = (Variable, np.ndarray, np.generic)


def _foreign(objects: Collection[Any]) -> bool:
    """Whether another library's array is among ``objects``: then NumPy asks it instead."""
    return any(
        not isinstance(x, _OWN_TYPES) and hasattr(type(x), "__array_ufunc__") for x in objects
    )


def array_ufunc(
    ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``Variable.__array_ufunc__``: ``ufunc``'s ``method`` called on ``inputs``."""
    out = kwargs.get("out")
    if _foreign(inputs) or (out is not None and _foreign(out)):
        return NotImplemented
    target = ufunc if method == "__call__" else getattr(ufunc, method)
    if out is not None or method == "at":
        # NOTE: the result goes into ndarrays (`at` writes into its first input): NumPy's own
        # computation on the data, as a plain array cannot hold a graph.
        _refuse_variable_targets(name_of(target), inputs[:1] if out is None else out)
        return _on_data(target, inputs, kwargs)
    if ufunc in INSPECTING_UFUNCS and method == "__call__":
        return np.asarray(_on_data(ufunc, inputs, kwargs))
    dispatch = UFUNCS.get((ufunc, method))
    if dispatch is not None:
        if method == "__call__" and not kwargs:
            return dispatch.function(*inputs)
        return _run(target, dispatch, _given(target, inputs, kwargs))
    call = UFUNCS.get((ufunc, "__call__"))
    if method == "outer" and call is not None and _has_outer(ufunc):
        _refuse_keywords(target, kwargs)
        a, b = inputs
        shape = operand_shape(a)
        if shape:
            a = _reshaped(a, (*shape, *(1,) * len(operand_shape(b))))
        return call.function(a, b)
    if ufunc.nout > 1:
        raise TypeError(
            f"{name_of(target)} has {ufunc.nout} outputs and no tinygrad_ref op backs it, so it "
            "does not take a Variable; to compute without a graph, give it the data, v.data"
        )
    raise _not_supported(name_of(target))


def array_function(
    func: Callable[..., Any],
    types: Collection[type],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """``Variable.__array_function__``: the NumPy function ``func`` called on ``args``."""
    if not all(issubclass(t, _OWN_TYPES) for t in types):
        return NotImplemented
    if func in INSPECTING_FUNCTIONS:
        return _on_data(func, args, kwargs)
    dispatch = FUNCTIONS.get(func)
    if dispatch is None:
        reason = REFUSED.get(func)
        if reason is not None:
            raise TypeError(f"{name_of(func)} does not take a Variable: {reason}")
        raise _not_supported(name_of(func))
    given = _given(func, args, kwargs)
    if given.get("out") is not None:
        _refuse_variable_targets(name_of(func), given["out"])
        return _on_data(func, args, kwargs)
    return _run(func, dispatch, given)


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


def _given(
    target: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """What NumPy's ``target`` was given, by parameter name."""
    return _signature(target).bind(*args, **kwargs).arguments


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@functools.cache
def parameter_names(target: Callable[..., Any], dispatch: Dispatch) -> Mapping[str, str]:
    """Which parameter of the op's function each parameter of NumPy's ``target`` is: the
    operands by position (NumPy's ``a`` is ``sum``'s ``x``), then the one of the same name, else
    the one at the same position that no name claims (``np.clip``'s ``a_min`` is ``x_min``)."""
    theirs = list(_signature(target).parameters.values())
    ours = list(_signature(dispatch.function).parameters.values())
    names = {t.name: o.name for t, o in zip(theirs, ours[: dispatch.arity], strict=False)}
    claimed = {t.name for t in theirs} & {o.name for o in ours}
    for i, t in enumerate(theirs[dispatch.arity :], dispatch.arity):
        if t.name in claimed:
            names[t.name] = t.name
        elif t.kind in _POSITIONAL and i < len(ours):
            o = ours[i]
            if o.kind in _POSITIONAL and o.name not in claimed:
                names[t.name] = o.name
    return names


def _run(
    target: Callable[..., Any], dispatch: Dispatch, given: dict[str, Any]
) -> Variable | tuple[Variable, ...]:
    """The op's function called with what NumPy's ``target`` was ``given``, with NumPy's
    defaults; a parameter the op does not take is dropped at its default (``order="C"``),
    refused otherwise."""
    names = parameter_names(target, dispatch)
    operands: tuple[Any, ...] = ()
    call: dict[str, Any] = {}
    for p in _signature(target).parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            operands = given.get(p.name, ())  # NOTE: np.atleast_1d(*arys), np.einsum(*operands)
            continue
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            _refuse_keywords(target, given.get(p.name, {}), dispatch)
            call.update(given.get(p.name, {}))
            continue
        value = given.get(p.name, p.default)
        if p.name in names:
            if value is not np._NoValue:
                call[names[p.name]] = value
        elif not _is_default(value, p.default, p.name):
            _refuse_keywords(target, {p.name: value})
    return dispatch.function(*operands, **call)


_NEUTRAL: Mapping[str, tuple[object, ...]] = {"where": (True, np.True_)}
"""NumPy parameters whose value, given, means what leaving them out means: ``where=True``
selects every element (np.sum, np.max..., the ufuncs)."""


def _is_default(value: object, default: object, name: str) -> bool:
    """Whether ``value``, given to NumPy's parameter ``name``, means what its ``default`` does."""
    if value is default or any(value is n for n in _NEUTRAL.get(name, ())):
        return True
    return type(value) in (bool, int, str) and type(value) is type(default) and value == default


def _refuse_keywords(
    target: object, params: Mapping[str, Any], dispatch: Dispatch | None = None
) -> None:
    """Refuse, naming it, a parameter given to NumPy's ``target`` that the op it runs (that of
    ``dispatch``, if it takes parameters of that name) does not take."""
    ours = set() if dispatch is None else set(_signature(dispatch.function).parameters)
    for keyword in params:
        if keyword not in ours:
            only = f" (only {keyword}=True, its default)" if keyword in _NEUTRAL else ""
            raise TypeError(
                f"{name_of(target)}(): {keyword}= is not supported with a Variable{only}, as the "
                "op it runs cannot honour it; to compute without a graph, give it the data "
                "(v.data) or out= an ndarray"
            )


def refuse_while_recording(conversion: str) -> None:
    """Refuse, with a ``TypeError`` saying what to use, a conversion of a Variable to a NumPy
    array or a Python number while a graph is recorded or a forward-mode pass traces: the
    result could not carry the graph, and what was computed from it would get a zero
    gradient without an error."""
    if Config.enable_backprop or active_traces():
        raise TypeError(
            f"{conversion} of a Variable while a graph is recorded would drop the graph (a "
            "silent zero gradient): build arrays that record with tinygrad_ref.stack or "
            "concatenate (np.stack, np.concatenate), take the values without a graph with "
            "v.data, or convert under no_grad()"
        )


def as_ndarray(v: Variable, dtype: npt.DTypeLike | None, copy: bool | None) -> Array:
    """``Variable.__array__``: outside recording, the data, converted to ``dtype`` and copied as
    NumPy 2's ``copy`` asks (``None``: only if needed; ``False``: never, or a ``ValueError``)."""
    refuse_while_recording("np.asarray(v) (or np.array, np.r_, np.c_, any conversion to ndarray)")
    data = v._array()
    if dtype is None or np.dtype(dtype) == data.dtype:
        return data.copy() if copy else data
    if copy is False:
        raise ValueError(
            f"np.asarray(v, dtype={np.dtype(dtype)}, copy=False): converting the {data.dtype} "
            "data of a Variable needs a copy"
        )
    converted: Array = data.astype(dtype)
    return converted


def as_float(v: Variable) -> float:
    """``Variable.__float__``: outside recording, the data as a Python float, as NumPy's."""
    refuse_while_recording("float(v) (or np.array([v, w]) of 0-d Variables)")
    return float(v._array())


def compare(v: Variable, method: str, other: object) -> npt.NDArray[np.bool_]:
    """``v == other`` and the other comparisons: NumPy's on the data, as a boolean ndarray."""
    data = other._array() if isinstance(other, Variable) else other
    result: npt.NDArray[np.bool_] = getattr(v._array(), method)(data)
    return result if result is NotImplemented else np.asarray(result)
