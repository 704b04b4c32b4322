"""Variable's operators with every kind of operand, on either side."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.helpers import OPERATORS, assert_float16_rounds, float16_gradients, grad_of
from tinygrad_ref import Variable, div, pow, rdiv, rpow, rsub, square, sub

OPERANDS: dict[str, object] = {
    "ndarray": np.array([1.5, 2.0, 2.5]),
    "0-d array": np.array(1.25),
    "np.float64": np.float64(1.5),
    "np.float32": np.float32(0.75),
    "float": 1.75,
    "int": 2,
}


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("kind", OPERANDS)
@pytest.mark.parametrize("variable_on_left", [True, False])
def test_operand_kinds_on_either_side_give_a_variable_with_numpys_value(
    symbol: str, kind: str, variable_on_left: bool
) -> None:
    op = OPERATORS[symbol]
    data = np.array([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0]])
    other = OPERANDS[kind]
    x = Variable(data)
    y = op(x, other) if variable_on_left else op(other, x)
    expected = op(data, other) if variable_on_left else op(other, data)
    assert isinstance(y, Variable)
    assert type(y.data) is np.ndarray
    assert y.dtype == expected.dtype
    np.testing.assert_array_equal(y.data, expected)
    y.backward()
    assert grad_of(x).shape == x.shape
    assert grad_of(x).dtype == x.dtype


def test_two_variables() -> None:
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([3.0, 4.0]))
    for op in OPERATORS.values():
        y = op(a, b)
        np.testing.assert_array_equal(y.data, op(a.data, b.data))


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("scalar", [2.0, 3])
def test_float32_stays_float32_with_python_scalars_on_either_side(
    symbol: str, scalar: float
) -> None:
    op = OPERATORS[symbol]
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    for y in (op(x, scalar), op(scalar, x)):
        assert y.dtype == np.float32
        y.backward()
        assert grad_of(x).dtype == np.float32
        x.cleargrad()


def test_a_numpy_float64_scalar_promotes_as_in_numpy_but_the_grad_keeps_the_input_dtype() -> None:
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    y = np.float64(2.0) * x
    assert y.dtype == np.float64
    y.backward()
    assert grad_of(x).dtype == np.float32
    np.testing.assert_array_equal(grad_of(x), [2.0, 2.0])


def test_unary_minus() -> None:
    x = Variable(np.array([1.0, -2.0]))
    y = -x
    np.testing.assert_array_equal(y.data, [-1.0, 2.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [-1.0, -1.0])


def test_0d_results_are_0d_arrays() -> None:
    x = Variable(2.0)
    for y in (x + 1, x * x, -x, x**2, 2.0**x, x / 3, np.float64(1) - x):
        assert type(y.data) is np.ndarray
        assert y.shape == ()


def test_hand_computed_gradients() -> None:
    x0, x1 = Variable(3.0), Variable(2.0)
    cases: list[tuple[Variable, float, float]] = [
        (x0 + x1, 1.0, 1.0),
        (x0 - x1, 1.0, -1.0),
        (x0 * x1, 2.0, 3.0),
        (x0 / x1, 0.5, -0.75),
        (x0**x1, 6.0, 9.0 * math.log(3.0)),
    ]
    for y, g0, g1 in cases:
        x0.cleargrad()
        x1.cleargrad()
        y.backward()
        assert grad_of(x0) == pytest.approx(g0)
        assert grad_of(x1) == pytest.approx(g1)


def test_reflected_functions_swap_their_operands() -> None:
    x = Variable(4.0)
    assert rsub(x, 10.0).data == 6.0
    assert sub(x, 10.0).data == -6.0
    assert rdiv(x, 2.0).data == 0.5
    assert div(x, 2.0).data == 2.0
    assert rpow(x, 2.0).data == 16.0
    assert pow(x, 0.5).data == 2.0
    assert square(x).data == 16.0


def test_broadcast_gradients_are_summed_back_to_each_input_shape() -> None:
    a = Variable(np.ones((2, 3)))
    b = Variable(np.array([1.0, 2.0, 3.0]))
    c = Variable(np.array([[1.0], [2.0]]))
    y = a * b + c
    y.backward()
    np.testing.assert_array_equal(grad_of(a), np.broadcast_to(b.data, (2, 3)))
    np.testing.assert_array_equal(grad_of(b), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(grad_of(c), [[3.0], [3.0]])


def test_pow_with_a_constant_exponent_takes_no_log_of_a_negative_base() -> None:
    x = Variable(np.array([-2.0, 3.0]))
    y = x**3
    y.backward()  # NOTE: any RuntimeWarning fails the test (filterwarnings = error)
    np.testing.assert_array_equal(grad_of(x), [12.0, 27.0])


def test_pow_with_a_constant_base() -> None:
    x = Variable(np.array([0.5, 2.0]))
    y = 3.0**x
    y.backward()
    np.testing.assert_allclose(grad_of(x), 3.0**x.data * math.log(3.0))


def test_pow_with_an_array_exponent_broadcasts() -> None:
    x = Variable(np.array([2.0, 3.0]))
    c = np.array([[1.0, 2.0], [2.0, 3.0]])
    y = x**c
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [1.0 + 4.0, 6.0 + 27.0])


def test_unsupported_operand_types_are_named() -> None:
    x = Variable(1.0)
    with pytest.raises(TypeError, match="unsupported operand type 'str'"):
        _ = x + "x"  # type: ignore[operator]  # NOTE: the point is the runtime check
    with pytest.raises(TypeError, match="unsupported operand type 'list'"):
        _ = [1.0] * x  # type: ignore[operator]  # NOTE: the point is the runtime check
    with pytest.raises(TypeError, match="dtype complex128"):
        _ = x * np.complex128(1j)


def test_shapes_that_do_not_broadcast_are_named() -> None:
    with pytest.raises(ValueError, match=r"could not be broadcast .* shapes \(2,\) \(3,\)"):
        _ = Variable(np.ones(2)) + np.ones(3)


@pytest.mark.parametrize("zero", [0, 0.0, np.float64(0.0), np.array(0.0)])
def test_the_power_zero_has_derivative_zero_also_at_zero(zero: object) -> None:
    x = Variable(np.array([0.0, 2.0, -3.0]))
    y = x**zero  # type: ignore[operator]  # NOTE: object stands for each kind of zero
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    y.backward()  # NOTE: a 0 * inf RuntimeWarning would fail the test
    np.testing.assert_array_equal(grad_of(x), [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "constant",
    [np.int8(3), np.array([1, 2], dtype=np.int16), np.uint8(2), np.True_, np.int64(5), np.array(7)],
)
def test_integer_and_bool_operands_promote_as_in_numpy(constant: object) -> None:
    data = np.array([1.5, 2.5], dtype=np.float32)
    for op in OPERATORS.values():
        for y, expected in (
            (op(Variable(data), constant), op(data, constant)),
            (op(constant, Variable(data)), op(constant, data)),
        ):
            assert y.dtype == np.asarray(expected).dtype
            np.testing.assert_array_equal(y.data, expected)


def test_an_array_exponent_with_zeros_has_derivative_zero_there_also_at_zero() -> None:
    x = Variable(np.array([0.0, 0.0, 3.0]))
    (x ** np.array([0.0, 2.0, 0.0])).backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 0.0, 0.0])


def test_powers_of_two_variables_at_zero_follow_pytorch() -> None:
    x, y = Variable(np.array([0.0, 0.0, 2.0])), Variable(np.array([2.0, 0.0, 0.0]))
    (x**y).backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 0.0, 0.0])  # 2 * 0 ** 1, then 0 * ...
    np.testing.assert_array_equal(grad_of(y), [0.0, 0.0, math.log(2.0)])


def test_a_zero_base_with_a_variable_exponent_has_derivative_zero() -> None:
    x = Variable(np.array([2.0, 0.5]))
    (0.0**x).backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 0.0])


X16 = np.array([0.5, 2.0, 10.0, 1e-3])
"""float16 data: their gradients are compared to float64 formulas of the float16 values."""
D16 = X16.astype(np.float16).astype(np.float64)


@pytest.mark.parametrize(
    ("f", "exact"),
    [
        (lambda x: square(x), 2 * D16),
        (lambda x: x * 3.0, 3.0),
        (lambda x: 3.0 * x, 3.0),
        (lambda x: x * np.float16(1e-4), float(np.float16(1e-4))),
        (lambda x: x / 3.0, 1 / 3),
        (lambda x: x / np.float32(7e4), 1 / 7e4),
        (lambda x: x**2.5, 2.5 * D16**1.5),
        (lambda x: 1.5**x, np.log(1.5) * 1.5**D16),
    ],
    ids=["square", "x * c", "c * x", "x * small c", "x / c", "x / big c", "x ** c", "c ** x"],
)
def test_float16_scaling_keeps_float16_and_rounds_right(
    f: Callable[[Variable], Variable], exact: Any
) -> None:
    for g in float16_gradients(f, X16):
        assert_float16_rounds(g, exact, ulps=4)
