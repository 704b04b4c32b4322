"""Operands that are not Variables are constants: never differentiated. In x + c, x - c, x * c,
x / c, c + x and c * x they are held by a one-input op (as in x ** c) rather than made into
Variables; in c - x and c / x they are inputs of Sub and Div that get no gradient."""

import tracemalloc
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import tinygrad_ref as tg
from tests.helpers import ARITHMETIC, Linear
from tinygrad_ref import Function, Variable
from tinygrad_ref.ops import (
    AddConstant,
    Div,
    DivConstant,
    MulConstant,
    Sub,
    SubConstant,
)


def grad_of(x: Variable) -> Variable | None:
    return x.grad


CONSTANT_OPS: dict[tuple[str, bool], type[Function]] = {
    ("+", True): AddConstant,
    ("+", False): AddConstant,
    ("-", True): SubConstant,
    ("-", False): Sub,
    ("*", True): MulConstant,
    ("*", False): MulConstant,
    ("/", True): DivConstant,
    ("/", False): Div,
}
CONSTANTS: dict[str, float | np.generic | npt.NDArray[Any]] = {
    "float": 0.75,
    "int": 3,
    "np.float64": np.float64(1.25),
    "0-d float32": np.array(1.5, dtype=np.float32),
    "broadcasting ndarray": np.array([[0.5], [2.0]]),
    "int ndarray": np.array([1, 2, 3], dtype=np.int8),
}


@pytest.mark.parametrize("symbol", ARITHMETIC)
@pytest.mark.parametrize("kind", CONSTANTS)
@pytest.mark.parametrize("variable_on_left", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_constant_operand_gives_what_the_same_operand_as_a_variable_gives(
    symbol: str, kind: str, variable_on_left: bool, dtype: type[np.floating[Any]]
) -> None:
    op = ARITHMETIC[symbol]
    data = np.array([0.5, 1.5, 4.0], dtype=dtype)
    constant = CONSTANTS[kind]

    def apply(x: Variable, c: object) -> Variable:
        y = op(x, c) if variable_on_left else op(c, x)
        assert isinstance(y, Variable)
        return y

    # NOTE: the same operand as a Variable, in the dtype NumPy computes with: x's for a Python
    # number (weak), else the result type of the two (an int8 array with float32 is float32)
    weak = isinstance(constant, (int, float)) and not isinstance(constant, np.generic)
    as_variable = Variable(
        np.asarray(constant, dtype=dtype if weak else np.result_type(constant, dtype))
    )
    x, reference_x = Variable(data), Variable(data)
    y = apply(x, constant)
    reference = apply(reference_x, as_variable)
    assert type(y.creator) is CONSTANT_OPS[symbol, variable_on_left]
    assert y.creator is not None
    assert y.creator.inputs[-1] is x if type(y.creator) in (Sub, Div) else y.creator.inputs == [x]
    assert y.dtype == reference.dtype
    assert (
        y.dtype == np.asarray(op(data, constant) if variable_on_left else op(constant, data)).dtype
    )
    np.testing.assert_array_equal(y.data, reference.data)

    y.backward(create_graph=True)
    reference.backward(create_graph=True)
    assert all(c.grad is None for c in y.creator.inputs if c is not x)
    assert x.grad is not None
    assert reference_x.grad is not None
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(x.grad.data, reference_x.grad.data, rtol=1e-6)

    gx, reference_gx = x.grad, reference_x.grad
    x.cleargrad()
    reference_x.cleargrad()
    gx.backward()
    reference_gx.backward()
    second, reference_second = grad_of(x), grad_of(reference_x)
    if reference_second is None:  # NOTE: a linear op: its gradient does not depend on x
        assert second is None
    else:
        assert second is not None
        np.testing.assert_allclose(second.data, reference_second.data, rtol=1e-6)


def test_python_numbers_stay_weak_and_unsupported_operands_are_still_named() -> None:
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    for y in (x + 1, 2.0 - x, x * 3, 0.5 / x):
        assert y.dtype == np.float32
    with pytest.raises(TypeError, match="unsupported operand type 'list'"):
        _ = x - [1.0]  # type: ignore[operator]  # NOTE: the point is the runtime check


def test_an_operand_of_a_user_function_that_is_not_a_variable_gets_no_gradient() -> None:
    x = Variable(np.array([1.0, 2.0]))
    y = Linear()(x, np.array([3.0, 4.0]))
    y.backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    assert y.creator is not None
    constant = y.creator.inputs[1]
    assert isinstance(constant, Variable)
    assert constant.grad is None


def test_a_constant_reused_as_an_operand_still_gets_no_gradient() -> None:
    x = Variable(2.0)
    y = Linear()(x, 3.0)
    assert y.creator is not None
    three = y.creator.inputs[1]
    z = x * three
    z.backward()
    assert x.grad is not None
    assert x.grad.data == 3.0
    assert three.grad is None


def test_an_op_of_two_constants_records_a_graph_with_nothing_to_differentiate() -> None:
    y = tg.add(1.0, np.float32(2.0))
    assert y.data == 3.0
    assert y.creator is not None
    y.backward()
    assert all(x.grad is None for x in y.creator.inputs)


@pytest.mark.parametrize("exponent", [2, 2.0, np.float64(2.0), 3])
def test_powers_with_a_constant_exponent_and_their_second_derivatives(exponent: float) -> None:
    data = np.array([-1.5, 0.5, 2.0], dtype=np.float32)
    x = Variable(data)
    y = x**exponent
    np.testing.assert_array_equal(y.data, data**exponent)
    y.backward(create_graph=True)
    gx = grad_of(x)
    assert gx is not None
    assert gx.dtype == np.float32
    n = float(exponent)
    np.testing.assert_allclose(gx.data, n * data ** (n - 1), rtol=1e-6)
    x.cleargrad()
    gx.backward()
    second = grad_of(x)
    assert second is not None
    np.testing.assert_allclose(second.data, n * (n - 1) * data ** (n - 2), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("symbol", ARITHMETIC)
@pytest.mark.parametrize(
    "constant",
    [0.1, 3, -0.0, 0, 2**70, 1e300, np.inf, np.nan, np.float32(2.5), np.array([1.0, -2.0])],
    ids=repr,
)
@pytest.mark.parametrize("value", [1.5, -0.0, 0.0])
def test_a_0d_variable_and_a_constant_give_numpys_result_bit_for_bit(
    dtype: type[np.floating[Any]], symbol: str, constant: object, value: float
) -> None:
    op = ARITHMETIC[symbol]
    data = np.array(value, dtype=dtype)
    with np.errstate(all="ignore"):  # NOTE: overflow, 0/0: the same warnings either way
        y = op(Variable(data), constant)
        expected = np.asarray(op(data, constant))
    assert type(y.data) is np.ndarray
    assert y.dtype == expected.dtype
    assert y.shape == expected.shape
    assert y.data.tobytes() == expected.tobytes()


def test_refilling_one_buffer_in_a_loop_gives_each_term_its_own_constant() -> None:
    x = Variable(np.ones(3))
    buf = np.empty(3)
    loss: Variable | float = 0.0
    for k in (1.0, 2.0, 3.0):
        buf[:] = k
        loss = loss + (x * buf).sum()
    assert isinstance(loss, Variable)
    loss.backward()
    np.testing.assert_array_equal(grad_of_array(x), [6.0, 6.0, 6.0])


def grad_of_array(x: Variable) -> npt.NDArray[Any]:
    assert x.grad is not None
    return x.grad.data


C = np.array([2.0, 3.0, 0.5])
M = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("expression", "constant", "expected"),
    [
        (lambda x, c: x / c, C, lambda x: 1 / C),
        (lambda x, c: x**c, C, lambda x: C * x ** (C - 1)),
        (lambda x, c: c * x, C, lambda x: C),
        (lambda x, c: c**x, C, lambda x: C**x * np.log(C)),
        (lambda x, c: c / x, C, lambda x: -C / x**2),
        (lambda x, c: x @ c, M, lambda x: M.sum(axis=1)),
        (lambda x, c: c @ x, M, lambda x: M.sum(axis=0)),
    ],
    ids=["x / c", "x ** c", "c * x", "c ** x", "c / x", "x @ c", "c @ x"],
)
@pytest.mark.parametrize("create_graph", [False, True])
def test_changing_an_array_constant_after_the_forward_pass_changes_no_gradient(
    expression: Any, constant: npt.NDArray[Any], expected: Any, create_graph: bool
) -> None:
    data = np.array([0.5, 1.5, 2.0])
    x = Variable(data.copy())
    buffer = constant.copy()
    y = expression(x, buffer)
    buffer[...] = 7.0
    y.sum().backward(create_graph=create_graph)
    np.testing.assert_allclose(grad_of_array(x), expected(data), rtol=1e-12)


def test_a_constant_used_under_no_grad_is_not_copied() -> None:
    x = Variable(np.ones(1_000_000))
    c = np.full(1_000_000, 2.0)
    with tg.no_grad():
        tracemalloc.start()
        try:
            y = c * x
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert y.creator is None
    assert peak < 1.5 * c.nbytes  # NOTE: the output alone, no copy of c


def recorded_with_its_peak(operation: Any) -> tuple[Variable, int]:
    """The Variable ``operation()`` records, and the peak memory it allocated."""
    tracemalloc.start()
    try:
        y = operation()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert y.creator is not None
    return y, peak


def test_a_recorded_constant_is_copied_once() -> None:
    x = Variable(np.ones(1_000_000))
    c = np.full(1_000_000, 2.0)
    for operation in (lambda: c * x, lambda: x @ c, lambda: c - x):
        _, peak = recorded_with_its_peak(operation)
        assert peak < 2.5 * c.nbytes  # NOTE: the output and one copy of c


def test_a_read_only_constant_is_held_without_a_copy() -> None:
    x = Variable(np.ones(1_000_000))
    c = np.full(1_000_000, 2.0)
    c.flags.writeable = False
    for operation, slope in ((lambda: c * x, 2.0), (lambda: x @ c, 2.0), (lambda: c - x, -1.0)):
        y, peak = recorded_with_its_peak(operation)
        assert peak < 1.5 * c.nbytes  # NOTE: the output alone, no copy of c
        y.sum().backward()
        np.testing.assert_array_equal(grad_of_array(x), np.full(c.shape, slope))
        x.cleargrad()


def test_linear_holds_read_only_data_as_it_is() -> None:
    data = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    data.flags.writeable = False
    w = Variable(np.ones((3, 2)))
    y = tg.linear(data, w)
    assert y.creator is not None
    assert y.creator.inputs[0].data is data
    y.sum().backward()
    np.testing.assert_array_equal(grad_of_array(w), [[3.0, 3.0], [5.0, 5.0], [7.0, 7.0]])


@pytest.mark.parametrize(
    "read_only_view",
    [
        lambda buffer: buffer[:],  # NOTE: the buffer it views stays writeable
        lambda buffer: np.broadcast_to(buffer, (2, 3)),
        lambda buffer: np.frombuffer(buffer.data.cast("B")),  # NOTE: owned by no array
    ],
    ids=["view", "broadcast_to", "frombuffer"],
)
def test_a_read_only_view_of_memory_that_can_change_is_copied(read_only_view: Any) -> None:
    buffer = np.array([1.0, 2.0, 3.0])
    c = read_only_view(buffer)
    c.flags.writeable = False
    x = Variable(np.ones(c.shape))
    y = x * c
    buffer[...] = 7.0
    y.sum().backward()
    np.testing.assert_array_equal(grad_of_array(x), np.broadcast_to([1.0, 2.0, 3.0], c.shape))
