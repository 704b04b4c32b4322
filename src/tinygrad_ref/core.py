"""The graph: Variable, Function and the reverse pass."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from heapq import heapify, heappop, heappush
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Protocol,
    TypeAlias,
    TypeGuard,
    TypeVar,
    cast,
    overload,
)

import numpy as np
import numpy.typing as npt

# NOTE: Variable's operator methods look the ops up on the package at call time, as DeZero's
# core does: the ops import this module, so this module cannot import them when it loads.
import tinygrad_ref
from tinygrad_ref.config import Config, using_config

Array: TypeAlias = npt.NDArray[np.floating[Any]]
"""The data of a Variable: a floating-point ndarray (0-d for scalars)."""


def as_array(x: npt.ArrayLike) -> npt.NDArray[Any]:
    """``x`` as an ndarray; NumPy and Python scalars become 0-d arrays."""
    if isinstance(x, Variable):
        raise TypeError("as_array takes array data, not a Variable; use its .data")
    return np.asarray(x)


def _as_data(x: object) -> Array:
    """``x`` as the data of a Variable: integers and bools become float64, floats keep their
    dtype, anything else is refused."""
    if isinstance(x, Variable):
        raise TypeError("expected array data, got a Variable; use as_variable() or its .data")
    array = np.asarray(x)
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(np.float64)
    if kind == "O" and all(isinstance(item, (int, float)) for item in array.flat):
        return _big_integers_as_float64(array)
    raise TypeError(
        f"Variable data must be real numbers; got {type(x).__name__} of dtype {array.dtype}"
    )


def _big_integers_as_float64(array: npt.NDArray[np.object_]) -> Array:
    """Python numbers NumPy keeps as objects (integers beyond 64 bits) as float64, as ``float()``
    converts them; one too large for float64 is refused by name."""
    try:
        return array.astype(np.float64)
    except OverflowError:
        big: int = max(array.ravel().tolist(), key=abs)
        digits = str(abs(big))
        shown = digits if len(digits) <= 20 else f"{digits[:4]}...({len(digits)} digits)"
        raise ValueError(
            f"integer {'-' if big < 0 else ''}{shown} is too large for float64 "
            f"(at most {np.finfo(np.float64).max:.4g})"
        ) from None


def _as_operand_data(x: npt.NDArray[Any] | np.generic) -> Array:
    """An array or NumPy scalar operand as floating data: integers and bools become the
    smallest floating dtype NumPy promotes them to, so that ``int8_array * float32_variable``
    is float32, as in NumPy."""
    array = np.asarray(x)
    if array.dtype.kind in "biu":
        return array.astype(np.result_type(array.dtype, np.float16))
    return _as_data(array)


class Variable:
    """A node of the graph: an ndarray ``data``, its gradient ``grad`` and the ``creator``
    Function that produced it (``None`` for a leaf)."""

    __slots__ = ("__weakref__", "_tangents", "creator", "data", "generation", "grad", "name")

    # NOTE: NumPy's protocols, implemented in tinygrad_ref.interop: a ufunc or NumPy function
    # given a Variable runs the op behind it (`ndarray * v` is np.multiply), comparisons compare
    # the data. Kept from DeZero, the priority no longer decides anything for ufuncs.
    __array_priority__ = 200
    __hash__ = object.__hash__  # NOTE: identity, as __eq__ compares values

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return tinygrad_ref.interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(
        self, func: Any, types: Collection[type], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return tinygrad_ref.interop.array_function(func, types, args, kwargs)

    if not TYPE_CHECKING:
        # NOTE: hidden from type checkers, as NumPy's stubs would then type `ndarray - v` as an
        # ndarray instead of a Variable.
        def __array__(self, dtype=None, copy=None):
            return tinygrad_ref.interop.as_ndarray(self, dtype, copy)

    def __float__(self) -> float:
        # NOTE: NumPy also calls it to store a 0-d Variable into an array: np.array([v, w]).
        return tinygrad_ref.interop.as_float(self)

    def __eq__(self, other: object) -> npt.NDArray[np.bool_]:  # type: ignore[override]
        # NOTE: object's __eq__ returns a bool; NumPy's ndarray overrides it the same way.
        return tinygrad_ref.interop.compare(self, "__eq__", other)

    def __ne__(self, other: object) -> npt.NDArray[np.bool_]:  # type: ignore[override]
        return tinygrad_ref.interop.compare(self, "__ne__", other)

    def __lt__(self, other: Operand) -> npt.NDArray[np.bool_]:
        return tinygrad_ref.interop.compare(self, "__lt__", other)

    def __le__(self, other: Operand) -> npt.NDArray[np.bool_]:
        return tinygrad_ref.interop.compare(self, "__le__", other)

    def __gt__(self, other: Operand) -> npt.NDArray[np.bool_]:
        return tinygrad_ref.interop.compare(self, "__gt__", other)

    def __ge__(self, other: Operand) -> npt.NDArray[np.bool_]:
        return tinygrad_ref.interop.compare(self, "__ge__", other)

    data: Array
    """The value. ``None`` only in an empty ``Variable(None)`` (DeZero's placeholder)."""
    name: str | None
    grad: Variable | None
    creator: Function | None
    generation: int
    _tangents: dict[_Trace, Any] | None
    """In forward mode, this variable's tangent in each active trace that reached it."""

    def __init__(self, data: npt.ArrayLike | None, name: str | None = None) -> None:
        # NOTE: typed as Array so that ordinary code needs no narrowing; the empty
        # placeholder is refused by every operation with a clear error. A floating ndarray,
        # the common case (a layer's parameters), is taken as it is without _as_data's call.
        if type(data) is np.ndarray and data.dtype.kind == "f":
            self.data = data
        else:
            self.data = None if data is None else _as_data(data)  # type: ignore[assignment]
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0
        self._tangents = None

    def set_creator(self, func: Function) -> None:
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self) -> None:
        self.grad = None

    def unchain(self) -> None:
        """Make this variable a leaf (DeZero's): it forgets the function that computed it, so
        a reverse pass stops here and the graph behind it is freed once nothing else uses it."""
        self.creator = None

    def unchain_backward(self) -> None:
        """:meth:`unchain` every variable this one was computed from (DeZero's, for truncated
        backpropagation): this variable keeps its creator, whose inputs become leaves."""
        functions = [] if self.creator is None else [self.creator]
        while functions:
            for x in functions.pop().inputs:
                if x.creator is not None:
                    functions.append(x.creator)
                    x.unchain()

    def cleargrad_backward(self) -> None:
        """:meth:`cleargrad` this variable and every variable it was computed from, leaves
        included. After ``backward(retain_grad=True, create_graph=True)`` each of them may hold
        a gradient whose recorded graph refers back to it, a reference cycle; clearing them
        all lets the graph be freed without the cycle collector."""
        self.grad = None
        seen: set[Function] = set()
        functions = [] if self.creator is None else [self.creator]
        while functions:
            for x in functions.pop().inputs:
                x.grad = None
                if x.creator is not None and x.creator not in seen:
                    seen.add(x.creator)
                    functions.append(x.creator)

    def __getstate__(self) -> dict[str, Any]:
        """What ``copy``, ``deepcopy`` and ``pickle`` copy: a leaf's data, name and gradient
        (the gradient's value: a graph it was recorded with is not copied). A variable computed
        by a function is refused: its graph refers to it by weak reference and cannot follow a
        copy."""
        if self.creator is not None:
            raise TypeError(
                f"cannot copy or pickle a variable computed by {type(self.creator).__name__} "
                "(a non-leaf): its graph would not follow the copy. Copy its value instead, "
                "Variable(y.data.copy()), or y.unchain() it first to make it a leaf"
            )
        state = {
            name: getattr(self, name)
            for cls in type(self).__mro__
            for name in getattr(cls, "__slots__", ())
            if name not in ("__weakref__", "_tangents") and hasattr(self, name)
        }
        grad = self.grad
        if grad is not None and grad.creator is not None:
            state["grad"] = _new_variable(grad.data)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._tangents = None
        for name, value in state.items():
            setattr(self, name, value)

    def _array(self) -> Array:
        """``data``, or a clear error for an empty Variable."""
        data = cast("Array | None", self.data)
        if data is None:
            raise ValueError(f"{self!r} is empty; give it data before using it")
        return data

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array().shape

    @property
    def ndim(self) -> int:
        return self._array().ndim

    @property
    def size(self) -> int:
        return self._array().size

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._array().dtype

    def __len__(self) -> int:
        return len(self._array())

    def __bool__(self) -> bool:
        return bool(self._array())

    def __repr__(self) -> str:
        return "variable(" + str(self.data).replace("\n", "\n" + " " * 9) + ")"

    def backward(self, retain_grad: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(x) into ``x.grad`` for every variable ``x`` self depends on.

        The reverse pass starts from ``self.grad`` if it is set, else from ones.
        ``retain_grad`` keeps the gradients of intermediate variables too;
        ``create_graph`` records the pass so that the gradients can be differentiated again.
        """
        if self.grad is None:
            data = self._array()
            # NOTE: a loss is 0-d: its seed made in one call (ones_like is several)
            seed = _new_variable(np.ones_like(data) if data.ndim else np.array(1, data.dtype))
            if retain_grad or self.creator is None:
                self.grad = seed
        else:
            seed = self.grad = _checked_grad(self.grad, self, "the seed y.grad of y.backward()")
        if self.creator is None:
            return
        # NOTE: using_config("enable_backprop", create_graph) spelled out
        recording = Config.enable_backprop
        Config.enable_backprop = create_graph
        try:
            _backpropagate({self: seed if create_graph else seed.data}, retain_grad, create_graph)
        finally:
            Config.enable_backprop = recording

    def __neg__(self) -> Variable:
        return tinygrad_ref.ops.neg(self)

    def __add__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.add(self, other)

    def __radd__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.add(other, self)

    def __sub__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.sub(self, other)

    def __rsub__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.sub(other, self)

    def __mul__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.mul(self, other)

    def __rmul__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.mul(other, self)

    def __truediv__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.div(self, other)

    def __rtruediv__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.div(other, self)

    def __mod__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.remainder(self, other)

    def __rmod__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.remainder(other, self)

    def __pos__(self) -> Variable:
        return tinygrad_ref.ops.positive(self)

    def __pow__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.pow(self, other)

    def __rpow__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.pow(other, self)

    def __matmul__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Variable:
        return tinygrad_ref.ops.matmul(other, self)

    def __getitem__(self, idx: tinygrad_ref.ops.Index) -> Variable:
        return tinygrad_ref.ops.get_item(self, idx)

    def __iter__(self) -> Iterator[Variable]:
        """``x[0]``, ``x[1]``, ... as NumPy iterates; without it Python would iterate through
        ``__getitem__`` and a 0-d Variable would silently look empty."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d Variable")
        return (self[i] for i in range(len(self)))

    @overload
    def reshape(self, shape: Sequence[int], /) -> Variable: ...
    @overload
    def reshape(self, *shape: int) -> Variable: ...
    def reshape(self, *shape: int | Sequence[int]) -> Variable:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``, as NumPy's."""
        if len(shape) == 1 and isinstance(shape[0], Sequence):
            return tinygrad_ref.ops.reshape(self, tuple(shape[0]))
        return tinygrad_ref.ops.reshape(self, cast("tuple[int, ...]", shape))

    @overload
    def transpose(self, axes: Sequence[int] | None, /) -> Variable: ...
    @overload
    def transpose(self, *axes: int) -> Variable: ...
    def transpose(self, *axes: int | Sequence[int] | None) -> Variable:
        """``x.transpose()`` (axes reversed), ``x.transpose(1, 0, 2)`` or
        ``x.transpose((1, 0, 2))``, as NumPy's."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], Sequence)):
            return tinygrad_ref.ops.transpose(self, None if axes[0] is None else tuple(axes[0]))
        return tinygrad_ref.ops.transpose(self, cast("tuple[int, ...]", axes) if axes else None)

    @property
    def T(self) -> Variable:
        """The axes reversed: the transpose of a matrix."""
        return tinygrad_ref.ops.transpose(self)

    # NOTE: dtype=, as NumPy's methods take it: a floating dtype to compute in and return
    def sum(
        self,
        axis: int | tuple[int, ...] | None = None,
        *,
        dtype: npt.DTypeLike | None = None,
        keepdims: bool = False,
    ) -> Variable:
        return tinygrad_ref.ops.sum(self, axis, dtype, keepdims=keepdims)

    def mean(
        self,
        axis: int | tuple[int, ...] | None = None,
        *,
        dtype: npt.DTypeLike | None = None,
        keepdims: bool = False,
    ) -> Variable:
        return tinygrad_ref.ops.mean(self, axis, dtype, keepdims=keepdims)

    def prod(
        self,
        axis: int | tuple[int, ...] | None = None,
        *,
        dtype: npt.DTypeLike | None = None,
        keepdims: bool = False,
    ) -> Variable:
        return tinygrad_ref.ops.prod(self, axis, dtype, keepdims=keepdims)

    def cumsum(self, axis: int | None = None, *, dtype: npt.DTypeLike | None = None) -> Variable:
        return tinygrad_ref.ops.cumsum(self, axis, dtype)

    def cumprod(self, axis: int | None = None, *, dtype: npt.DTypeLike | None = None) -> Variable:
        return tinygrad_ref.ops.cumprod(self, axis, dtype)

    def var(
        self,
        axis: int | tuple[int, ...] | None = None,
        *,
        dtype: npt.DTypeLike | None = None,
        ddof: float = 0,
        keepdims: bool = False,
        correction: float | None = None,
    ) -> Variable:
        return tinygrad_ref.ops.var(
            self, axis, dtype, ddof=ddof, keepdims=keepdims, correction=correction
        )

    def std(
        self,
        axis: int | tuple[int, ...] | None = None,
        *,
        dtype: npt.DTypeLike | None = None,
        ddof: float = 0,
        keepdims: bool = False,
        correction: float | None = None,
    ) -> Variable:
        return tinygrad_ref.ops.std(
            self, axis, dtype, ddof=ddof, keepdims=keepdims, correction=correction
        )

    # NOTE: the non-smooth reductions and abs(x), as DeZero's and NumPy's methods.
    def max(self, axis: int | tuple[int, ...] | None = None, *, keepdims: bool = False) -> Variable:
        return tinygrad_ref.ops.max(self, axis, keepdims=keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, *, keepdims: bool = False) -> Variable:
        return tinygrad_ref.ops.min(self, axis, keepdims=keepdims)

    def __abs__(self) -> Variable:
        return tinygrad_ref.ops.abs(self)

    def ravel(self) -> Variable:
        """The values as a 1-d Variable, as NumPy's."""
        return tinygrad_ref.ops.reshape(self, -1)

    def flatten(self) -> Variable:
        """The values as a 1-d Variable, as NumPy's method (DeZero's function
        ``F.flatten`` keeps the first axis instead)."""
        return tinygrad_ref.ops.reshape(self, -1)

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Variable:
        """Without the axes of size 1 named by ``axis`` (all of them for ``None``), as NumPy's."""
        return tinygrad_ref.ops.squeeze(self, axis)

    def astype(self, dtype: npt.DTypeLike) -> Variable:
        """Converted to the floating ``dtype`` (any other is a ``TypeError``); its gradient
        converts back."""
        return tinygrad_ref.ops.cast(self, dtype)

    def repeat(self, repeats: int | Sequence[int], axis: int | None = None) -> Variable:
        """Each element repeated ``repeats`` times along ``axis`` (``None``: flattened), as
        NumPy's."""
        return tinygrad_ref.ops.repeat(self, repeats, axis)

    def swapaxes(self, axis1: int, axis2: int) -> Variable:
        """With the axes ``axis1`` and ``axis2`` interchanged, as NumPy's."""
        return tinygrad_ref.ops.swapaxes(self, axis1, axis2)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Variable:
        """The diagonal at ``offset`` of each plane of ``axis1`` and ``axis2``, along a new last
        axis, as NumPy's."""
        return tinygrad_ref.ops.diagonal(self, offset, axis1, axis2)

    def dot(self, other: Operand) -> Variable:
        """``self @ other``: DeZero's name for the matrix product."""
        return tinygrad_ref.ops.matmul(self, other)

    def matmul(self, other: Operand) -> Variable:
        """``self @ other``."""
        return tinygrad_ref.ops.matmul(self, other)


class Parameter(Variable):
    """A Variable that a layer learns (DeZero's ``Parameter``): it behaves as a Variable, and
    its class tells a model's parameters from its other Variables."""

    __slots__ = ()


class _Constant(Variable):
    """A value no reverse pass differentiates: an operand given as a number or an array rather
    than a Variable (an input of the Function that used it), or, in forward mode, a value
    computed from such values alone (see :func:`_traced_call`)."""

    __slots__ = ()


class _Level:
    """One call of a reverse-mode transform (``grad``, ``vjp``, ``jacobian``): ``active`` while
    its function runs. A forward-mode call is a level too, its :class:`_Trace`."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = True


class _StandIn(Variable):
    """A reverse-mode transform's own leaf for one of its arguments: what its reverse pass
    differentiates by. To a transform outside it, it is a Variable of another level while that
    call runs (its ``level`` is active), and a constant once the call has returned."""

    __slots__ = ("level",)

    level: _Level

    @staticmethod
    def new(data: Array, level: _Level) -> _StandIn:
        stand_in = cast("_StandIn", _new_variable(data, _StandIn))
        stand_in.level = level
        return stand_in


def _new_variable(data: Array, cls: type[Variable] = Variable) -> Variable:
    """A Variable (or ``cls``) around ``data``, already a floating ndarray (skips validation)."""
    v = object.__new__(cls)
    v.data = data
    v.name = None
    v.grad = None
    v.creator = None
    v.generation = 0
    v._tangents = None
    return v


Operand: TypeAlias = Variable | npt.NDArray[Any] | np.number[Any] | np.bool_ | float | int
"""What an operation accepts: a Variable, an ndarray, a NumPy scalar or a Python number."""

Tensor = TypeVar("Tensor", Array, Variable)
"""What a ``vjp`` computes on: plain arrays when no graph is recorded (``create_graph=False``),
Variables when the reverse pass itself is recorded (``create_graph=True``)."""


def as_variable(x: Operand) -> Variable:
    """``x`` itself if it is a Variable, else a new leaf Variable holding it."""
    return x if isinstance(x, Variable) else Variable(x)


def _is_python_number(x: object) -> TypeGuard[int | float]:
    # NOTE: np.float64 subclasses float, but NumPy scalars are not weak.
    return type(x) in (float, int) or (
        isinstance(x, (int, float)) and not isinstance(x, np.generic)
    )


def _weak_dtype(inputs: tuple[Operand, ...]) -> np.dtype[Any]:
    """The dtype a Python number among ``inputs`` takes: as in NumPy 2 (NEP 50) it is "weak"
    and adopts that of the other operands, so that a float32 Variable times 2.0 stays float32."""
    dtypes = []
    for x in inputs:
        if isinstance(x, Variable):
            if x.data is not None:
                dtypes.append(x.data.dtype)
        elif not _is_python_number(x):
            dtypes.append(np.asarray(x).dtype)
    if not dtypes:
        return np.dtype(np.float64)
    dtype = dtypes[0] if len(dtypes) == 1 else np.result_type(*dtypes)
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def constant_data(x: npt.NDArray[Any] | np.generic) -> Array:
    """An array or NumPy scalar operand as the floating data of a constant. While a graph is
    recorded it is the graph's own copy, so that changing the caller's array afterwards changes
    no gradient, unless the array is read-only (see :func:`_read_only`); under ``no_grad()``
    nothing is recorded, so nothing is copied."""
    # NOTE: a floating ndarray, the common case (the data of a step), is its own data
    data = x if type(x) is np.ndarray and x.dtype.kind == "f" else _as_operand_data(x)
    if (
        Config.enable_backprop
        and isinstance(x, np.ndarray)
        and (data is x or np.may_share_memory(data, x))
        and not _read_only(x)
    ):
        return data.copy()
    return data


def _read_only(x: npt.NDArray[Any]) -> bool:
    """Whether nothing can write into ``x`` through NumPy: neither it nor any array it is a
    view of is writeable, and the memory they share belongs to one of them (or to ``bytes``)."""
    array: object = x
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return array is None or type(array) is bytes


def _as_input(x: Operand, inputs: tuple[Operand, ...]) -> Variable:
    """One operand of a call as a Variable: a constant unless it is one already."""
    if isinstance(x, Variable):
        return x
    if isinstance(x, (np.ndarray, np.generic)):  # NOTE: first: np.float64 is a float too
        return _new_variable(constant_data(x), _Constant)
    if _is_python_number(x):
        return _new_variable(np.asarray(x, dtype=_weak_dtype(inputs)), _Constant)
    raise TypeError(
        f"unsupported operand type {type(x).__name__!r}: expected a Variable, "
        "an ndarray, a NumPy scalar or a Python int or float"
    )


class _SeveralOutputs(Protocol):
    """A Function whose ``forward`` is typed to return a tuple other than a 1-tuple."""

    @property
    def forward(self) -> Callable[..., tuple[Any, ...]]: ...


class _OneOutputTuple(Protocol):
    """A Function whose ``forward`` is typed to return a 1-tuple: one output, as in DeZero."""

    @property
    def forward(self) -> Callable[..., tuple[Any]]: ...


class Function:
    """A differentiable operation, written DeZero's way: subclass it and define

    * ``forward(self, *xs)``: compute the output from the inputs' ndarrays, or a tuple of
      outputs (then calling the Function gives a tuple of Variables; a 1-tuple gives one);
    * ``backward(self, *gys)``: given one gradient per output, return one gradient (a
      Variable, or ``None``) per input, reading the inputs from ``self.inputs`` and the
      outputs from ``self.outputs[i]()``;

    or, instead of ``backward``, ``vjp(self, *gys, *xs, *ys)``: the same rule written once for
    plain arrays and for Variables (see :data:`Tensor`), given the gradients of the outputs,
    the inputs, then the outputs (``vjp(self, gy, x, y)`` for one input and one output). The
    built-in ops use ``vjp`` so that a reverse pass with ``create_graph=False`` runs on arrays
    and builds nothing. An output that got no gradient gets zeros of its shape.

    For forward mode (:func:`tinygrad_ref.jvp` and the transforms built on it) define also
    ``jvp(self, *txs, *xs, *ys)``: the tangent of each output given the tangents of the inputs,
    the inputs, then the outputs, written for arrays and Variables as ``vjp`` is. Every input
    gets a tangent of its shape (zeros, possibly a read-only broadcast view, for one that has
    none); return one tangent of its output's shape per output (a tuple with several). A class
    that defines its reverse rule below the class that defines its ``jvp`` is refused by
    forward mode: the inherited forward rule may no longer agree with the reverse one.

    A class whose ``jvp`` also takes a *batch* of tangents (each with a leading axis of size B,
    ``(B,) + x.shape``, one direction per row; it returns ``(B,) + y.shape``) says so with
    ``batched_jvp = True`` beside it; otherwise a batched pass (``jacobian(mode="fwd")``,
    ``hessian``, ``jvp(..., batched=True)``) calls its ``jvp`` once per row.

    Calling an instance records the graph: ``inputs`` (the input Variables), ``outputs`` (a
    ``weakref`` to each output, so that a graph has no reference cycle) and ``generation``.
    An instance is one node of the graph and can be called only once while recording.
    """

    __slots__ = ("__weakref__", "_inputs", "_outputs", "generation", "output_values")

    _inputs: Variable | list[Variable]
    """What :attr:`inputs` holds: a function of one input keeps that Variable here, and the
    list is made when it is first read (a node is then one object fewer for the cycle
    collector to scan). Unset until the call is recorded."""
    _outputs: weakref.ref[Variable] | list[weakref.ref[Variable]] | None
    """What :attr:`outputs` holds: a function of one output keeps its one weakref here, and
    the list is made when it is first read (a node is 64 bytes smaller). ``None`` until the
    call is recorded."""
    output_values: tuple[Array, ...]
    """With several outputs, their data, which ``vjp`` receives (and the shapes of the zeros
    an output that got no gradient gets) even when the output Variables are gone."""
    generation: int

    uses_vjp: ClassVar[bool] = False
    """Whether the reverse pass uses the class's ``vjp`` rather than its ``backward``: the one
    defined lowest in the class hierarchy wins (``backward`` if one class defines both), in a
    plain pass and in a recorded one alike."""

    forward_mode_error: ClassVar[str | None] = None
    """Why forward mode refuses this class (it has no ``jvp``, or its ``jvp`` is inherited from
    above its reverse rule), or ``None``."""

    batched_jvp: ClassVar[bool] = False
    """Whether ``jvp`` takes a batch of tangents, a leading axis of size B on each (declared
    by the class that defines ``jvp``; a subclass that defines its own is looped unless it
    declares it too). A batched pass calls a rule that does not once per tangent of the batch."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        rule = next(k for k in mro if "backward" in vars(k) or "vjp" in vars(k))
        cls.uses_vjp = rule is not Function and "backward" not in vars(rule)
        forward_rule = next(k for k in mro if "jvp" in vars(k))
        if forward_rule is Function:
            cls.forward_mode_error = (
                f"{cls.__name__} defines no jvp(self, *tangents, *inputs, *outputs), which "
                "forward mode (jvp, jacobian(mode='fwd'), hessian, hvp) needs"
            )
        elif mro.index(forward_rule) > mro.index(rule):
            cls.forward_mode_error = (
                f"{cls.__name__} overrides its reverse rule ({rule.__name__}."
                f"{'vjp' if cls.uses_vjp else 'backward'}) but inherits jvp from "
                f"{forward_rule.__name__}, which may no longer agree with it; define "
                f"{cls.__name__}.jvp"
            )
        else:
            cls.forward_mode_error = None
        if "jvp" in vars(cls) and "batched_jvp" not in vars(cls):
            cls.batched_jvp = False  # NOTE: a new rule is looped unless it says otherwise

    def __init__(self) -> None:
        # NOTE: set here so that a call tests it without the exception an unset slot raises
        # inside getattr (a subclass's __init__ that does not call this one still pays it).
        self._outputs = None

    @property
    def inputs(self) -> list[Variable]:
        """The input Variables, once the call is recorded."""
        try:
            inputs = self._inputs
        except AttributeError:
            raise AttributeError(
                f"this {type(self).__name__} has no inputs: it is not a node of a graph yet"
            ) from None
        if not isinstance(inputs, list):
            inputs = self._inputs = [inputs]
        return inputs

    @inputs.setter
    def inputs(self, xs: list[Variable]) -> None:
        self._inputs = xs if type(xs) is list else list(xs)

    @property
    def outputs(self) -> list[weakref.ref[Variable]]:
        """A ``weakref`` to each output, once the call is recorded."""
        # NOTE: getattr: an op whose __init__ skips Function's has no _outputs until called
        outputs = getattr(self, "_outputs", None)
        if outputs is None:
            raise AttributeError(
                f"this {type(self).__name__} has no outputs: it is not a node of a graph yet"
            )
        if not isinstance(outputs, list):
            outputs = self._outputs = [outputs]
        return outputs

    @outputs.setter
    def outputs(self, refs: list[weakref.ref[Variable]]) -> None:
        self._outputs = refs

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, *gys: Any) -> Any:
        if not self.uses_vjp:
            raise NotImplementedError(f"{type(self).__name__} defines neither backward() nor vjp()")
        return self.vjp(*gys, *self.inputs, *[ref() for ref in self.outputs])

    def vjp(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define vjp()")

    def jvp(self, *args: Any) -> Any:
        raise NotImplementedError(type(self).forward_mode_error)

    @overload
    def __call__(self: _OneOutputTuple, *inputs: Operand) -> Variable: ...
    @overload
    def __call__(self: _SeveralOutputs, *inputs: Operand) -> tuple[Variable, ...]: ...
    @overload
    def __call__(self, *inputs: Operand) -> Variable: ...
    def __call__(self, *inputs: Operand) -> Variable | tuple[Variable, ...]:
        if len(inputs) == 1:  # NOTE: one input spelled out, the common case
            operand = inputs[0]
            if type(operand) is Variable or type(operand) is _Constant:
                x = operand
            else:
                x = _as_input(operand, inputs)
            if x.data is None:
                raise ValueError(f"{x!r} is empty; give it data before using it")
            xs: list[Variable] | None = None  # NOTE: a recorded node keeps x without a list
            generation = x.generation
            y = self.forward(x.data)
        else:
            xs, arrays, generation = [], [], 0
            for operand in inputs:
                if type(operand) is Variable or type(operand) is _Constant:
                    x = operand
                else:
                    x = _as_input(operand, inputs)
                if x.data is None:
                    raise ValueError(f"{x!r} is empty; give it data before using it")
                xs.append(x)
                arrays.append(x.data)
                if x.generation > generation:
                    generation = x.generation
            y = self.forward(*arrays)
        if type(y) is not np.ndarray or y.dtype.kind != "f":
            # NOTE: on 0-d arrays NumPy returns NumPy scalars, the common case here
            if isinstance(y, np.floating):
                y = y.__array__()  # NOTE: its 0-d array, faster than np.asarray's dispatch
            elif type(y) is tuple and len(y) != 1:
                return self._several(y, [x] if xs is None else xs, generation)
            else:
                y = _as_output(y[0] if type(y) is tuple else y, self)
        if _active_traces:
            return _traced_call(self, [x] if xs is None else xs, y, generation)
        # NOTE: _new_variable spelled out: a call costs as much as the rest of this
        output = object.__new__(Variable)
        output.data = y
        output.name = None
        output.grad = None
        output._tangents = None
        if Config.enable_backprop:
            try:
                recorded = self._outputs
            except AttributeError:  # NOTE: a subclass whose __init__ does not call Function's
                recorded = None
            if recorded is not None:
                _refuse_a_second_call(self)
            self.generation = generation
            self._inputs = x if xs is None else xs
            self._outputs = weakref.ref(output)
            output.creator = self
            output.generation = generation + 1
        else:
            output.creator = None
            output.generation = 0
        return output

    def _several(
        self, ys: tuple[Any, ...], xs: list[Variable], generation: int
    ) -> tuple[Variable, ...]:
        """The outputs of a ``forward`` that returned the tuple ``ys`` (not a 1-tuple): a
        Variable each, recorded as one output is."""
        if not ys:
            raise TypeError(f"{type(self).__name__}.forward returned an empty tuple")
        values = tuple(
            np.asarray(y) if isinstance(y, np.floating) else _as_output(y, self) for y in ys
        )
        if _active_traces:
            return _traced_outputs(self, xs, values, generation)
        outputs = tuple(_new_variable(value) for value in values)
        if Config.enable_backprop:
            self._record(xs, outputs, generation)
        return outputs

    def _record(self, xs: list[Variable], outputs: tuple[Variable, ...], generation: int) -> None:
        """Make this call a node of the graph: its inputs ``xs``, its ``outputs``."""
        if getattr(self, "_outputs", None) is not None:
            _refuse_a_second_call(self)
        self.generation = generation
        self._inputs = xs[0] if len(xs) == 1 else xs
        if len(outputs) > 1:
            self.output_values = tuple(y.data for y in outputs)
            self._outputs = [weakref.ref(y) for y in outputs]
        else:
            self._outputs = weakref.ref(outputs[0])
        for y in outputs:
            y.creator, y.generation = self, generation + 1

    def _revived_output(self, i: int) -> Variable:
        """Output ``i`` again, after its Variable was dropped: a recorded pass needs it as a node
        of this Function, so that the gradients it records flow back through it."""
        y = _new_variable(self.output_values[i])
        y.creator, y.generation = self, self.generation + 1
        self.outputs[i] = weakref.ref(y)
        return y

    def needs_grad(self, i: int) -> bool:
        """Whether the reverse pass uses a gradient for input ``i``: every input but a constant
        (an operand given as a number or an array, never differentiated). A ``vjp`` may return
        ``None`` for the others instead of computing their gradient."""
        inputs = self._inputs
        return type(inputs[i] if type(inputs) is list else [inputs][i]) is not _Constant

    @overload
    def apply(self, x: Array) -> Array: ...
    @overload
    def apply(self, x: Variable) -> Variable: ...
    def apply(self, x: Array | Variable) -> Array | Variable:
        """Run this one-input op on ``x``: on an array just its forward, on a Variable as a
        recorded node. A ``vjp`` uses it to call other ops whatever it computes on."""
        if isinstance(x, Variable):
            return self(x)
        y: Array = self.forward(x)
        return y


class _Trace:
    """One forward-mode pass (one call of :func:`tinygrad_ref.jvp`): the tangents it carries
    are stored on the variables it reaches, under this key."""

    __slots__ = ("_on_variables", "batch", "closed", "side_effects")

    def __init__(self, batch: int | None = None, closed: bool = False) -> None:
        self._on_variables: list[weakref.ref[Variable]] = []
        """The variables given a tangent computed on Variables, which may refer back to them."""
        self.batch = batch
        """The size B of the leading batch axis of every tangent it carries, ``(B,) +
        x.shape``, or ``None``: one tangent of ``x``'s shape."""
        self.closed = closed
        """Whether every Variable it meets without a tangent is a constant of it: the pass of
        a transform whose values nothing outside it differentiates (``jacobian(mode="rev")``
        of a function that uses no Variable of the caller's), so that its rules run on arrays."""
        self.side_effects: list[str] = []
        """What the functions it ran said they changed besides their outputs
        (:func:`note_side_effect`)."""

    def forget(self) -> None:
        """Take this pass's tangents off the variables it computed them on Variables for: such a
        tangent may be recorded from its variable, a reference cycle, which would keep a graph
        alive until the cycle collector runs."""
        for ref in self._on_variables:
            x = ref()
            if x is not None and x._tangents is not None:
                x._tangents.pop(self, None)
        self._on_variables.clear()


class _ForwardState(threading.local):
    """This thread's forward-mode passes."""

    def __init__(self) -> None:
        self.traces: list[_Trace] = []
        """The active passes, outermost first, less those suspended while a rule runs on
        Variables; a call of a Function carries the tangents of each one that reached one of
        its inputs."""
        self.depth = 0
        """How many passes this thread is inside, suspended ones included."""


_forward = _ForwardState()

_active_traces = 0
"""How many forward-mode passes run, in all threads: while there are none, a call of a Function
reads no thread-local state."""

_counting = threading.Lock()


def active_traces() -> list[_Trace]:
    """This thread's active forward-mode passes, outermost first."""
    return _forward.traces


class tracing:  # NOTE: lower case, as the context managers of contextlib
    """Run the body of a ``with`` block in the forward-mode pass ``trace``, in this thread."""

    __slots__ = ("trace",)

    def __init__(self, trace: _Trace) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        global _active_traces
        with _counting:
            _active_traces += 1
        state = _forward
        state.traces.append(self.trace)
        state.depth += 1

    def __exit__(self, *exception: object) -> None:
        global _active_traces
        state = _forward
        state.depth -= 1
        state.traces.pop()
        with _counting:
            _active_traces -= 1


def note_side_effect(what: str) -> None:
    """Say that the ``forward`` calling it did ``what`` besides computing its outputs (it
    updated state, or drew random numbers): every forward-mode pass running in this thread
    notes it, so that a transform that would run its function several times (in chunks)
    refuses instead. Costs nothing when no pass runs."""
    if _active_traces:
        for trace in _forward.traces:
            trace.side_effects.append(what)


def tangent_of(x: Variable, trace: _Trace) -> Any:
    """The tangent ``trace`` carries on ``x``, or ``None``."""
    tangents = x._tangents
    return None if tangents is None else tangents.get(trace)


def set_tangent(x: Variable, trace: _Trace, tangent: Any) -> None:
    if x._tangents is None:
        x._tangents = {trace: tangent}
    else:
        x._tangents[trace] = tangent


def _traced_call(f: Function, xs: list[Variable], value: Array, generation: int) -> Variable:
    """The output of a call of ``f`` on ``xs`` (of one output, ``value``) while a forward-mode
    pass runs somewhere (see :func:`_traced_outputs`)."""
    traces = _forward.traces
    if len(traces) == 1 and len(xs) == 1:
        # NOTE: the common case spelled out: one trace, one input, on arrays
        trace, x = traces[0], xs[0]
        tangents = x._tangents
        tx = None if tangents is None else tangents.get(trace)
        if tx is None or type(tx) is np.ndarray:
            if type(x) is _Constant:
                y = _new_variable(value, _Constant)
            else:
                y = _new_variable(value)
                if Config.enable_backprop:
                    f._record(xs, (y,), generation)
            if tx is not None:
                if f.forward_mode_error is not None:
                    raise NotImplementedError(f.forward_mode_error)
                batch = trace.batch
                if batch is None or f.batched_jvp:
                    ty = f.jvp(tx, x.data, value)
                else:
                    ty = _looped_jvp(f, [tx], [x.data, value], batch)
                if type(ty) is tuple and len(ty) == 1:
                    ty = ty[0]
                if (
                    batch is not None
                    or type(ty) is not np.ndarray
                    or ty.shape != value.shape
                    or ty.dtype != value.dtype
                ):
                    ty = _checked_tangent(ty, y, f, batch)
                y._tangents = {trace: ty}
            return y
    return _traced_outputs(f, xs, (value,), generation)[0]


def _traced_outputs(
    f: Function, xs: list[Variable], values: tuple[Array, ...], generation: int
) -> tuple[Variable, ...]:
    """The outputs of a call of ``f`` on ``xs`` while a forward-mode pass runs somewhere. In a
    thread inside one, a call whose inputs are all constants gives constants, recorded by no
    graph (so a plain ``jvp`` on arrays records nothing); any other call is recorded as usual.
    Then the outputs get their tangents."""
    state = _forward
    constant = state.depth > 0
    for x in xs:  # NOTE: loops rather than all(...): a generator costs a call per element
        if type(x) is not _Constant:
            constant = False
            break
    cls = _Constant if constant else Variable
    if len(values) == 1:
        outputs: tuple[Variable, ...] = (_new_variable(values[0], cls),)
    else:
        outputs = tuple(_new_variable(value, cls) for value in values)
    if not constant and Config.enable_backprop:
        f._record(xs, outputs, generation)
    if state.traces:
        _carry_tangents(f, xs, outputs, state.traces)
    return outputs


_ZEROS: dict[np.dtype[Any], Array] = {}
"""A read-only 0-d zero of each dtype, which every tangent made up for an input that no tangent
reached is a view of."""


def _zero_tangent(x: Variable, batch: int | None) -> Array:
    """The tangent of an input no trace reached: zeros, as a read-only view of one zero, with
    a leading axis of size ``batch`` unless it is ``None``."""
    dtype = x.data.dtype
    zero = _ZEROS.get(dtype)
    if zero is None:
        zero = np.zeros((), dtype)
        zero.flags.writeable = False
        zero = _ZEROS.setdefault(dtype, zero)
    shape = x.data.shape if batch is None else (batch, *x.data.shape)
    return np.broadcast_to(zero, shape)


def is_zero_tangent(t: object) -> bool:
    """Whether the tangent ``t`` is one forward mode made up for an input that no tangent
    reached (or a view of one): all zeros, so that a rule may leave its term out, as JAX's
    symbolic zeros let a rule. A rule that cannot tell computes with the zeros, as before."""
    return type(t) is np.ndarray and t.base is not None and t.base is _ZEROS.get(t.dtype)


def _looped_jvp(f: Function, txs: list[Any], xs_and_ys: list[Any], batch: int) -> Any:
    """What ``f.jvp``, which takes one tangent per input, gives for a batch of them: called
    once per row of the batch (``txs[i][b]``), its tangents stacked along a new first axis."""
    ys = xs_and_ys[len(txs) :]
    rows: list[tuple[Any, ...]] = []
    for b in range(batch):
        tys = f.jvp(*[t[b] for t in txs], *xs_and_ys)
        tys = tys if type(tys) is tuple else (tys,)
        if len(tys) != len(ys):
            raise ValueError(
                f"{type(f).__name__}.jvp returned {len(tys)} tangents for {len(ys)} outputs"
            )
        rows.append(tuple(_checked_tangent(ty, y, f, None) for ty, y in zip(tys, ys, strict=True)))
    stacked: list[Any] = []
    for i, y in enumerate(ys):
        column = [row[i] for row in rows]
        if any(isinstance(t, Variable) for t in column):
            stacked.append(tinygrad_ref.ops.stack(column))
        else:
            data = y.data if isinstance(y, Variable) else y
            stacked.append(np.stack(column) if column else np.zeros((0, *data.shape), data.dtype))
    return tuple(stacked)


def _carry_tangents(
    f: Function, xs: list[Variable], ys: tuple[Variable, ...], traces: list[_Trace]
) -> None:
    """Give the outputs ``ys`` of ``f`` their tangents in every active trace that reached one of
    its inputs ``xs``, outermost first.

    The outermost trace's rule runs on arrays where it can: where each input is one of the
    trace's own values (its tangent an array, or a constant no tangent reached), which no graph
    outside the trace differentiates. Otherwise (an input recorded outside the trace, or a
    tangent that is a Variable) and for the traces inside it, the rule runs on Variables, and
    its tangents are Variables: so that what the trace computes from recorded Variables stays
    recorded, and so that the traces around it differentiate what an inner trace computes
    (forward over forward: the outputs already carry the outer tangents its rule reads). It
    runs with its trace and the ones inside it suspended: its own calls carry nothing of them.
    """
    for level in range(len(traces)):
        trace = traces[level]
        txs = [None if x._tangents is None else x._tangents.get(trace) for x in xs]
        reached, on_arrays = False, level == 0
        for x, t in zip(xs, txs, strict=False):  # NOTE: as many; strict is slower
            if t is not None:
                reached = True
                if type(t) is not np.ndarray:
                    on_arrays = False
            elif type(x) is not _Constant and not trace.closed:
                on_arrays = False
        if not reached:
            continue
        if f.forward_mode_error is not None:
            raise NotImplementedError(f.forward_mode_error)
        batch = trace.batch
        for i, t in enumerate(txs):
            if t is None:
                txs[i] = _zero_tangent(xs[i], batch)
        rest: list[Any]
        if on_arrays:
            rest = [x.data for x in xs] + [y.data for y in ys]
        else:
            rest = [*xs, *ys]
            inner = traces[level:]
            del traces[level:]
        try:
            if batch is None or f.batched_jvp:
                tys = f.jvp(*txs, *rest)
            else:
                tys = _looped_jvp(f, txs, rest, batch)
        finally:
            if not on_arrays:
                traces.extend(inner)
        if type(tys) is not tuple:
            tys = (tys,)
        if len(tys) != len(ys):
            raise ValueError(
                f"{type(f).__name__}.jvp returned {len(tys)} tangents for {len(ys)} outputs"
            )
        for y, ty in zip(ys, tys, strict=True):
            set_tangent(y, trace, _stored_tangent(ty, y, f, not on_arrays, batch))
            if not on_arrays:
                trace._on_variables.append(weakref.ref(y))


def _stored_tangent(t: Any, y: Variable, f: Function, variable: bool, batch: int | None) -> Any:
    """What ``f.jvp`` returned for its output ``y``: as it is if it is already an array of
    ``y``'s shape and dtype (the common case, checked cheaply), else checked (with a leading
    batch axis of size ``batch`` unless it is ``None``); a Variable (an array as a constant) if
    the rule ran on Variables."""
    if (
        batch is not None
        or type(t) is not np.ndarray
        or t.shape != y.data.shape
        or t.dtype != y.data.dtype
    ):
        t = _checked_tangent(t, y, f, batch)
    if variable and not isinstance(t, Variable):
        return _new_variable(t, _Constant)
    return t


def _checked_tangent(t: Any, y: Variable | Array, f: Function, batch: int | None) -> Any:
    """What ``f.jvp`` returned for its output ``y``, as an array or Variable of ``y``'s shape
    (after a leading axis of size ``batch``, unless it is ``None``) and dtype."""
    if not isinstance(t, (np.ndarray, Variable)):
        if not isinstance(t, np.generic) and not _is_python_number(t):
            raise TypeError(
                f"{type(f).__name__}.jvp must return arrays or Variables, not {type(t).__name__}"
            )
        t = np.asarray(t)
    data = y.data if isinstance(y, Variable) else y
    shape = data.shape if batch is None else (batch, *data.shape)
    if t.shape != shape:
        if batch is None:
            raise ValueError(
                f"{type(f).__name__}.jvp returned a tangent of shape {t.shape} for an output of "
                f"shape {data.shape}"
            )
        raise ValueError(
            f"{type(f).__name__}.jvp returned a tangent of shape {t.shape} for a batch of "
            f"{batch} tangents of an output of shape {data.shape}, which is {shape}: its rule "
            "mishandles the batch axis (declare batched_jvp = False to have it called once "
            "per tangent)"
        )
    if t.dtype != data.dtype:
        t = (
            tinygrad_ref.ops.cast(t, data.dtype)
            if isinstance(t, Variable)
            else t.astype(data.dtype)
        )
    return t


def _refuse_a_second_call(f: Function) -> None:
    raise RuntimeError(
        f"this {type(f).__name__} instance is already a node of a graph; "
        "create a new instance for each call"
    )


def _as_output(y: object, f: Function) -> Array:
    """What ``f.forward`` returned (or one item of the tuple it returned), when it is not a
    floating ndarray, as an output's data."""
    if isinstance(y, (tuple, list)):
        raise TypeError(
            f"{type(f).__name__}.forward must return arrays (one, or a tuple of them), "
            f"not a {type(y).__name__}"
        )
    return _as_data(y)


def _input_grads_from_backward(f: Function, *gys: Any) -> tuple[Any, ...]:
    """Gradients (arrays or None) of the inputs of ``f``, which has no ``vjp``, given the array
    gradients of its outputs: its ``backward`` runs on Variables, and records nothing."""
    gxs = _checked_grads(f, f.backward(*[_new_variable(np.asarray(gy)) for gy in gys]))
    return tuple(None if gx is None else gx.data for gx in gxs)


def _list_of_gradients(f: Function) -> TypeError:
    """The error for a rule that returned a list: a tuple holds one gradient per input, and a
    list would be taken as one gradient (an array) of the wrong shape."""
    return TypeError(f"{type(f).__name__}.vjp must return a tuple of gradients, not a list")


def _checked_grads(f: Function, gxs: object) -> tuple[Variable | None, ...]:
    """What a user-written ``backward`` returned, checked to hold one gradient (or ``None``) of
    the right shape per input; gradients of another dtype are cast to their input's."""
    name = type(f).__name__
    if not isinstance(gxs, tuple):
        if isinstance(gxs, list):
            raise TypeError(f"{name}.backward must return a tuple of gradients, not a list")
        gxs = (gxs,)
    if len(gxs) != len(f.inputs):
        raise ValueError(
            f"{name}.backward returned {len(gxs)} gradients for {len(f.inputs)} inputs"
        )
    return tuple(
        None if gx is None else _checked_grad(gx, x, f"{name}.backward's gradient for input {i}")
        for i, (x, gx) in enumerate(zip(f.inputs, gxs, strict=True))
    )


def _checked_grad(g: object, x: Variable, what: str) -> Variable:
    """``g`` as a gradient of ``x``: a Variable (an ndarray, NumPy scalar or Python number is
    wrapped) of ``x``'s shape, cast to ``x``'s dtype; else a clear error saying ``what`` it is."""
    if isinstance(g, (np.ndarray, np.generic)) or _is_python_number(g):
        g = Variable(g)
    if not isinstance(g, Variable):
        raise TypeError(f"{what} must be a Variable or an ndarray, not {type(g).__name__}")
    if g.shape != x.shape:
        raise ValueError(f"{what} has shape {g.shape}, but its variable has shape {x.shape}")
    return g if g.dtype == x.dtype else tinygrad_ref.ops.cast(g, x.dtype)


def _backpropagate(
    seeds: dict[Variable, Any],
    retain_grad: bool,
    create_graph: bool,
    only: set[Function] | None = None,
) -> dict[Variable, Any]:
    """The reverse pass from the variables ``seeds`` maps to their gradients (arrays, or
    Variables when ``create_graph``). Functions run in decreasing generation, each once, after
    every function that uses its output. Given ``only``, the pass of a transform: it runs
    only those functions, stores no ``grad`` and returns the gradients it reached."""
    grads: dict[Variable, Any] = dict(seeds)
    held = {_memory_id(seed.data if create_graph else seed) for seed in seeds.values()}
    # NOTE: a heap of generations, each with the functions waiting in it: functions of one
    # generation never use each other's outputs, so a whole bucket runs at once, and a wide
    # graph costs a heap operation per generation rather than per function.
    waiting: dict[int, list[Function]] = {}
    for start in seeds:
        if start.creator is not None and (only is None or start.creator in only):
            waiting.setdefault(start.creator.generation, []).append(start.creator)
    heap = [-generation for generation in waiting]
    heapify(heap)

    def queue(f: Function) -> None:
        bucket = waiting.get(f.generation)
        if bucket is None:
            waiting[f.generation] = [f]
            heappush(heap, -f.generation)
        else:
            bucket.append(f)

    # NOTE: the one function left to run when the heap is empty (a chain's next node) waits
    # outside it, which saves a heap push and pop and a bucket per node.
    pending: Function | None = None
    done: set[Function] = set()
    plain = only is None and not retain_grad and not create_graph
    while heap or pending is not None:
        if pending is None:
            bucket: Sequence[Function] = waiting.pop(-heappop(heap))
        else:
            if plain:
                pending = _along_chain(pending, grads)
                if pending is None:
                    continue
            bucket, pending = (pending,), None
        alone = len(bucket) == 1
        for f in bucket:
            xs = f._inputs
            inputs: Sequence[Variable] = xs if isinstance(xs, list) else (xs,)
            outputs = f._outputs
            if isinstance(outputs, list) and len(outputs) > 1:
                if f in done:  # NOTE: queued once for each output that got a gradient
                    continue
                done.add(f)
                gxs = _from_several_outputs(f, grads, seeds, held, retain_grad, create_graph, only)
            else:
                y = (
                    outputs[0]()
                    if isinstance(outputs, list)
                    else cast("weakref.ref[Variable]", outputs)()
                )
                assert y is not None  # NOTE: alive: it is a key of `grads`.
                gy = grads.pop(y)
                if only is not None:
                    pass
                elif not retain_grad:
                    y.grad = None  # NOTE: also one kept by an earlier pass, as DeZero does
                elif y not in seeds:
                    _store(y, gy, held, create_graph)
                if not f.uses_vjp:
                    gxs = (
                        _checked_grads(f, f.backward(gy))
                        if create_graph
                        else _input_grads_from_backward(f, gy)
                    )
                elif create_graph:
                    gxs = f.vjp(gy, *inputs, y)
                # NOTE: one and two inputs spelled out: in Python 3.11 a comprehension is a call
                elif len(inputs) == 1:
                    gxs = f.vjp(gy, inputs[0].data, y.data)
                elif len(inputs) == 2:
                    gxs = f.vjp(gy, inputs[0].data, inputs[1].data, y.data)
                else:
                    gxs = f.vjp(gy, *[x.data for x in inputs], y.data)
            if type(gxs) is list:
                raise _list_of_gradients(f)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            if len(gxs) != len(inputs):
                raise ValueError(
                    f"{type(f).__name__}.vjp returned {len(gxs)} gradients for {len(inputs)} inputs"
                )
            sums: list[Any] | None = None
            for x, gx in zip(inputs, gxs, strict=False):  # NOTE: counted above; strict is slower
                if gx is None or type(x) is _Constant:
                    continue
                if x in grads:
                    if sums is None:
                        sums = []
                    sums += (x, gx)
                    continue
                grads[x] = gx
                creator = x.creator
                if creator is not None and (only is None or creator in only):
                    if alone and pending is None and not heap:
                        pending = creator
                        continue
                    if pending is not None:
                        queue(pending)
                        pending = None
                    queue(creator)
            if sums is not None:
                del gx, gxs  # NOTE: `sums` holds the new gradients alone (see _add_in)
                _add_in(grads, sums)
    if only is None:
        with _accumulating:
            for x, gx in grads.items():
                _accumulate(x, gx, held, create_graph)
    return grads


def _along_chain(f: Function, grads: dict[Variable, Any]) -> Function | None:
    """The plain reverse pass (no ``retain_grad``, no ``create_graph``, not a transform's) from
    ``f``, the one function left to run, along the chain of functions of one input and one
    output that begins there: each one's input gets its whole gradient from it, which goes to
    the next one as it is, without the dict ``grads`` or the heap. Returns the function it
    stopped at, to run as any other (its output's gradient in ``grads``), or ``None`` at the
    end of the pass: at a leaf (its gradient left in ``grads``), at a constant, or where a
    rule gave no gradient (``None``)."""
    y: Variable | None = None
    gy: Any = None
    while True:
        ref = f._outputs
        xs = f._inputs
        x = xs if not isinstance(xs, list) else xs[0] if len(xs) == 1 else None
        if type(ref) is not weakref.ref or x is None or not f.uses_vjp:
            if y is not None:
                grads[y] = gy
            return f
        if y is None:
            y = ref()
            assert y is not None  # NOTE: alive: it is a key of `grads`.
            gy = grads.pop(y)
        y.grad = None  # NOTE: also one kept by an earlier pass, as DeZero does
        gx = f.vjp(gy, x.data, y.data)
        if type(gx) is tuple:
            if len(gx) != 1:
                raise ValueError(
                    f"{type(f).__name__}.vjp returned {len(gx)} gradients for 1 inputs"
                )
            gx = gx[0]
        elif type(gx) is list:
            raise _list_of_gradients(f)
        if gx is None or type(x) is _Constant:
            return None
        creator = x.creator
        if x in grads:
            sums = [x, gx]
            del gx  # NOTE: `sums` holds the new gradient alone (see _add_in)
            _add_in(grads, sums)
            return None
        if creator is None:
            grads[x] = gx
            return None
        # NOTE: x, the input of the one function left, gets no gradient from anything else.
        f, y, gy = creator, x, gx


def _add_in(grads: dict[Variable, Any], sums: list[Any]) -> None:
    """Add each new gradient into its variable's in ``grads``: ``sums`` is ``[x, gx, x', gx',
    ...]``, in the order they came. A new gradient that ``sums`` alone holds is handed to
    ``+`` as a temporary, which NumPy adds into in place where it is large (its elision of
    temporaries, which the same sum written by hand gets): no fresh array, no cold memory."""
    sums.reverse()
    while sums:
        x = sums.pop()
        grads[x] = grads[x] + sums.pop()


def _from_several_outputs(
    f: Function,
    grads: dict[Variable, Any],
    seeds: dict[Variable, Any],
    held: set[int],
    retain_grad: bool,
    create_graph: bool,
    only: set[Function] | None,
) -> Any:
    """What the rule of ``f``, a Function of several outputs, returns given one gradient per
    output: each output's from ``grads``, or zeros of its shape if it got none (PyTorch's)."""
    gys, ys, revived = [], [], []
    for i, ref in enumerate(f.outputs):
        y = ref()
        gy = None if y is None else grads.pop(y, None)
        if y is None or only is not None:
            pass
        elif not retain_grad:
            y.grad = None
        elif y not in seeds and gy is not None:
            _store(y, gy, held, create_graph)
        if gy is None:
            gy = np.zeros_like(f.output_values[i])
            # NOTE: a constant: a forward-mode pass over the recorded one gives it no tangent
            gy = _new_variable(gy, _Constant) if create_graph else gy
        gys.append(gy)
        if create_graph:
            if y is None:
                revived.append(i)
            ys.append(f._revived_output(i) if y is None else y)
    if revived and _forward.traces:
        # NOTE: a forward-mode pass over this recorded one reads the tangents of the outputs
        # the rule uses: a revived output gets them again from the rule's jvp (given to copies
        # of the live outputs, which keep theirs)
        targets = [y if i in revived else _new_variable(y.data) for i, y in enumerate(ys)]
        _carry_tangents(f, list(f.inputs), tuple(targets), _forward.traces)
    if not f.uses_vjp:
        if create_graph:
            return _checked_grads(f, f.backward(*gys))
        return _input_grads_from_backward(f, *gys)
    if create_graph:
        return f.vjp(*gys, *f.inputs, *ys)
    return f.vjp(*gys, *[x.data for x in f.inputs], *f.output_values)


def _memory_id(data: Array) -> int:
    """Identifies the memory ``data`` lives in: views of one array share it."""
    return id(data if data.base is None else data.base)


_accumulating = threading.Lock()
"""Held while a gradient is added into ``x.grad``: reverse passes in several threads may end
in one shared leaf, and ``x.grad = x.grad + gx`` is not atomic."""


def _store(x: Variable, gx: Any, held: set[int], create_graph: bool) -> None:
    """Accumulate ``gx`` into ``x.grad``; a gradient never shares memory with another's."""
    with _accumulating:
        _accumulate(x, gx, held, create_graph)


def _accumulate(x: Variable, gx: Any, held: set[int], create_graph: bool) -> None:
    old = x.grad
    if old is not None:
        if type(old) is not Variable or old.data.shape != x.data.shape or old.dtype != x.dtype:
            # NOTE: a gradient set by hand is checked here, when a pass first reads it.
            old = _checked_grad(old, x, "x.grad, set before this pass,")
        x.grad = old + gx if create_graph else _new_variable(np.asarray(old.data + gx))
        return
    grad = gx if create_graph else _new_variable(np.asarray(gx))
    if _memory_id(grad.data) in held:
        # NOTE: a cast to the same dtype is an identity op that copies, also in a graph.
        grad = (
            tinygrad_ref.ops.cast(grad, grad.dtype)
            if create_graph
            else _new_variable(grad.data.copy())
        )
    held.add(_memory_id(grad.data))
    x.grad = grad


def leading_to(
    starts: Collection[Variable], targets: Collection[Variable]
) -> tuple[set[Function], bool]:
    """The functions on a path from one of ``targets`` to one of ``starts``: those a pass from
    ``starts`` must run to reach the targets, and no other (not those behind the targets, nor
    those of variables the targets do not affect). And whether the ``starts`` depend on a
    Variable besides the targets (:func:`depends_on_others`)."""
    # NOTE: a set, whose membership is identity (a list's compares values with __eq__)
    targets = set(targets)
    reached, others = _reached(starts, targets)
    leading: set[Function] = set()
    # NOTE: a function's inputs come from functions of lower generations.
    for f in sorted(reached, key=lambda f: f.generation):
        if any(x in targets or x.creator in leading for x in f.inputs):
            leading.add(f)
    return leading, others


def depends_on_others(starts: Collection[Variable], targets: Collection[Variable]) -> bool:
    """Whether a value of ``starts`` depends on a Variable besides the ``targets``: on a leaf
    that is neither a constant nor the stand-in of a transform call that has returned (a
    stand-in is reached only through that call's linked result, which depends on something
    else too)."""
    return _reached(starts, set(targets))[1]


def _reached(starts: Collection[Variable], targets: set[Variable]) -> tuple[set[Function], bool]:
    """The functions ``starts`` were computed by, not through the ``targets``, and whether
    ``starts`` depend on a Variable besides them (:func:`depends_on_others`)."""
    others = any(_is_other_variable(y) for y in starts if y.creator is None and y not in targets)
    reached: set[Function] = set()
    stack = [y.creator for y in starts if y.creator is not None and y not in targets]
    while stack:
        f = stack.pop()
        if f in reached:
            continue
        reached.add(f)
        for x in f.inputs:
            if x.creator is not None:
                if x not in targets:
                    stack.append(x.creator)
            elif not others and x not in targets:
                others = _is_other_variable(x)
    return reached, others


def _is_other_variable(leaf: Variable) -> bool:
    if type(leaf) is _StandIn:
        return leaf.level.active
    return type(leaf) is not _Constant


def gradients(
    seeds: dict[Variable, Any],
    targets: Sequence[Variable],
    create_graph: bool,
    only: set[Function],
) -> list[Any]:
    """The gradients of the ``targets`` in a reverse pass from the variables ``seeds`` maps to
    their gradients, as the transforms need them: no ``grad`` is stored or cleared, and only the
    functions ``only`` (``leading_to(seeds, targets)[0]``) run. A target the seeds do not
    depend on gets zeros. Arrays, or recorded Variables when ``create_graph``."""
    with using_config("enable_backprop", create_graph):
        grads = _backpropagate(seeds, False, create_graph, only)
    found = []
    for x in targets:
        g = grads.get(x)
        if g is None:
            zeros = np.zeros_like(x.data)
            g = _new_variable(zeros, _Constant) if create_graph else zeros
        found.append(g)
    return found
