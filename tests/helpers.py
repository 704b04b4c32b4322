"""Small helpers shared by the tests."""

import dataclasses
import gc
import importlib
import inspect
import io
import operator
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

from tinygrad_ref import Array, Function, Operand, Variable, interop
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import Domain, OpSpec
from tinygrad_ref.verification.strategies import arrays, dtypes, shapes

BinaryOp = Callable[[Any, Any], Any]

ARITHMETIC: dict[str, BinaryOp] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
"""The binary operators other than ``**``, by symbol."""

OPERATORS: dict[str, BinaryOp] = {**ARITHMETIC, "**": operator.pow}
"""Every binary operator of Variable, by symbol."""


def grad_of(x: Variable) -> np.ndarray:
    """``x.grad.data``, asserting that ``x`` has a gradient."""
    assert x.grad is not None
    return x.grad.data


def first_and_second(f: Callable[[Variable], Variable], x: Variable) -> tuple[Array, Array]:
    """The gradient of ``sum(f(x))`` and the gradient of that gradient's sum, the second
    through ``create_graph=True``."""
    f(x).backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    x.cleargrad()
    gx.backward()
    return gx.data, grad_of(x)


class Linear(Function):
    """``x * w``, written as DeZero's book writes a Function."""

    def forward(self, x: Array, w: Array) -> Array:
        return x * w

    def backward(self, gy: Variable) -> tuple[Variable, Variable]:
        x, w = self.inputs
        return gy * w, gy * x


def through_numpy(spec: OpSpec, target: Callable[..., Any]) -> OpSpec:
    """``spec`` with its function called through the NumPy ufunc or function ``target``: the
    operands reversed if the spelling is reflected, else each argument under NumPy's name for
    it, by position where NumPy takes it only so; what NumPy returns goes through
    ``spec.numpy_result``, if any, with the parameters NumPy does not take."""
    dispatch = interop.dispatch_of(spec)
    numpy_name = {
        ours: theirs for theirs, ours in interop.parameter_names(target, dispatch).items()
    }
    numpy_params = inspect.signature(target).parameters.values()
    positional_only = [p.name for p in numpy_params if p.kind is inspect.Parameter.POSITIONAL_ONLY]
    variadic = [p.name for p in numpy_params if p.kind is inspect.Parameter.VAR_POSITIONAL]

    def call(*operands: Any, **params: Any) -> Variable:
        if target is np.einsum:
            # NOTE: NumPy takes the subscripts and every operand as one *operands
            spelled: Variable = target(params["subscripts"], *operands, *params["extra"])
            return spelled
        if spec.numpy_reflected:
            reflected: Variable = target(*operands[::-1], **params)
            return reflected
        given = inspect.signature(spec.function).bind(*operands, **params).arguments
        ours = {name: given.pop(name) for name in list(given) if name not in numpy_name}
        if spec.numpy_result is None:
            given, ours = given | ours, {}
        named = {numpy_name.get(name, name): value for name, value in given.items()}
        by_position = [named.pop(name) for name in positional_only if name in named]
        by_position += [x for name in variadic if name in named for x in named.pop(name)]
        y: Any = target(*by_position, **named)
        return y if spec.numpy_result is None else spec.numpy_result(y, **ours)

    return dataclasses.replace(spec, function=call, infix=None)


def float16_gradients(f: Callable[[Variable], Variable], data: np.ndarray) -> list[Array]:
    """The gradient of ``sum(f(x))`` for a float16 ``x`` holding ``data``, by a plain pass and by
    a recorded one (``create_graph=True``)."""
    grads = []
    for create_graph in (False, True):
        x = Variable(data.astype(np.float16))
        f(x).sum().backward(create_graph=create_graph)
        grads.append(grad_of(x))
    return grads


def assert_float16_rounds(actual: Array, exact: Any, ulps: float = 2) -> None:
    """``actual`` is float16 and within ``ulps`` float16 spacings of the float64 ``exact``."""
    assert actual.dtype == np.float16
    exact = np.broadcast_to(np.asarray(exact, dtype=np.float64), actual.shape)
    spacing = np.spacing(np.abs(exact.astype(np.float16))).astype(np.float64)
    error = np.abs(actual.astype(np.float64) - exact)
    assert np.all(error <= ulps * spacing), (actual, exact)


def import_dezero() -> ModuleType:
    """DeZero 0.0.13 (``pip install -e ".[bench]"``), or the calling test is skipped.

    DeZero still names ``np.int``, which NumPy 1.24 removed, when it defines its transforms: the
    name is lent to NumPy while DeZero is imported, and taken back."""
    lent = not hasattr(np, "int")
    if lent:
        setattr(np, "int", int)  # noqa: B010  # NOTE: a name NumPy removed, on purpose
    try:
        dezero = importlib.import_module("dezero")
    except ImportError:
        pytest.skip('DeZero is not installed (pip install -e ".[bench]" installs dezero 0.0.13)')
    finally:
        if lent:
            delattr(np, "int")
    return dezero


# NOTE: without the non-smooth ops: a composed value lands on a kink easily (abs(x - x)), and
# how far the oracle's steps move it depends on the whole program; they are fuzzed on their own,
# with margins from their kinks.
ELEMENTWISE = sorted(
    name
    for name, spec in REGISTRY.items()
    if spec.case is None and spec.roles is None and spec.kink is None
)
INPUTS = Domain(-2.0, 2.0)


@dataclasses.dataclass(frozen=True)
class Program:
    """Steps ``(op name, operand positions)``; each step appends its result to the values."""

    inputs: tuple[Variable, ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]
    output: int = -1
    """The position of the value the program returns: the last step's by default."""

    def __call__(self, *inputs: Operand) -> Variable:
        values = list(inputs)
        for name, positions in self.steps:
            values.append(REGISTRY[name].function(*[values[i] for i in positions]))
        result = values[self.output]
        assert isinstance(result, Variable)
        return result


@st.composite
def programs(
    draw: st.DrawFn,
    inputs: int | None = None,
    shape: tuple[int, ...] | None = None,
    dtype: np.dtype[Any] | None = None,
) -> Program:
    """Random programs of the registered smooth elementwise ops, of ``inputs`` inputs (1 to 3
    if not given) of ``shape`` and ``dtype`` (drawn if not given), in ``INPUTS``."""
    dtype = draw(dtypes()) if dtype is None else dtype
    shape = draw(shapes(max_dims=2)) if shape is None else shape
    count = draw(st.integers(1, 3)) if inputs is None else inputs
    variables = tuple(Variable(draw(arrays(INPUTS, shape, dtype))) for _ in range(count))
    values = [x.data for x in variables]
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        spec = REGISTRY[draw(st.sampled_from(ELEMENTWISE))]
        positions = tuple(draw(st.integers(0, len(values) - 1)) for _ in range(spec.arity))
        operands = [values[i] for i in positions]
        # NOTE: a step whose operands leave the op's domain is dropped, not filtered for.
        if all(d.contains(x) for d, x in zip(spec.domains, operands, strict=True)):
            values.append(np.asarray(spec.reference(*operands)))
            steps.append((spec.name, positions))
    if not steps:
        steps.append(("neg", (0,)))
    return Program(variables, tuple(steps))


def cubic(x: Variable) -> Variable:
    """sum(x_i^3) + x_0 x_1 x_2: gradient 3 x^2 + (x_1 x_2, x_0 x_2, x_0 x_1)."""
    return (x * x * x).sum() + x[0] * x[1] * x[2]


def cubic_hessian(x: np.ndarray) -> np.ndarray:
    """The Hessian of :func:`cubic`: ``diag(6 x)`` and the cross terms."""
    cross = np.array([[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]])
    return np.asarray(np.diag(6 * x) + cross)


def assert_no_graph_outlives(call: Callable[[], object]) -> None:
    """Calling ``call`` (and dropping its result) leaves no Function alive, without the cycle
    collector."""
    call()
    gc.collect()
    gc.disable()
    try:
        before = _functions_alive()
        call()
        assert _functions_alive() == before
    finally:
        gc.enable()


def _functions_alive() -> int:
    # NOTE: by type(o), never o.__class__: an object of another library may warn when asked
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True
