from typing import Any

import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import grad_of
from tinygrad_ref import Variable, gradcheck, gradgradcheck

npa: Any = np
"""NumPy, untyped: its stubs refuse Variables, which its functions take (interop)."""

X0 = np.array([[7.25, -7.25, 3.0], [0.5, -0.75, 9.5]])
X1 = np.array([2.0, -2.5, 1.25])


@pytest.mark.parametrize(
    ("function", "reference", "quotient"),
    [
        (tinygrad_ref.remainder, np.remainder, np.floor_divide),
        (tinygrad_ref.fmod, np.fmod, lambda a, b: np.trunc(a / b)),
    ],
)
def test_remainders_derivative_by_the_divisor_is_minus_the_quotient(
    function: Any, reference: Any, quotient: Any
) -> None:
    x0, x1 = Variable(X0.copy()), Variable(X1.copy())
    y = function(x0, x1)
    np.testing.assert_array_equal(y.data, reference(X0, X1))
    y.backward()
    np.testing.assert_array_equal(grad_of(x0), np.ones_like(X0))
    np.testing.assert_array_equal(grad_of(x1), -quotient(X0, X1).sum(axis=0))
    # NOTE: away from the jumps, against central differences, to second order
    assert gradcheck(function, Variable(X0 + 0.1), Variable(X1))
    assert gradgradcheck(function, Variable(X0 + 0.1), Variable(X1))


def test_percent_and_numpy_mod_record_the_remainder() -> None:
    x = Variable(np.array([7.25, -1.5]))
    assert isinstance((x % 2.0).creator, tinygrad_ref.ops.Remainder)
    np.testing.assert_array_equal((5.0 % x).data, 5.0 % np.array([7.25, -1.5]))
    np.testing.assert_array_equal(npa.mod(x, 2.0).data, np.mod([7.25, -1.5], 2.0))
    y = 5.0 % x
    y.backward()
    np.testing.assert_array_equal(grad_of(x), -np.floor_divide(5.0, [7.25, -1.5]))


@pytest.mark.parametrize(
    "name", ["sign", "floor", "ceil", "trunc", "fix", "rint", "round", "around", "angle", "imag"]
)
def test_step_functions_match_numpy_and_have_a_zero_gradient(name: str) -> None:
    data = np.array([-2.5, -1.0, -0.25, 0.0, 0.5, 1.5, 3.7], dtype=np.float32)
    x = Variable(data.copy())
    y = getattr(tinygrad_ref, name)(x)
    np.testing.assert_array_equal(y.data, getattr(np, name)(data))
    assert y.dtype == np.float32
    y.backward()
    np.testing.assert_array_equal(grad_of(x), np.zeros_like(data))


def test_round_takes_decimals_as_numpy() -> None:
    x = Variable(np.array([1.2345, -2.5678]))
    np.testing.assert_array_equal(tinygrad_ref.round(x, 2).data, np.round(x.data, 2))
    np.testing.assert_array_equal(npa.round(x, decimals=1).data, np.round(x.data, 1))
    with pytest.raises(TypeError):
        tinygrad_ref.round(x, 1.5)  # type: ignore[arg-type]  # NOTE: the refusal is the test


@pytest.mark.parametrize("name", ["real", "conj", "conjugate", "positive", "real_if_close"])
def test_the_complex_parts_of_real_numbers_are_the_identity(name: str) -> None:
    x = Variable(np.array([-1.5, 2.0]))
    y = getattr(npa, name)(x)
    assert isinstance(y, Variable)
    assert y.data is not x.data
    np.testing.assert_array_equal(y.data, x.data)
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [1.0, 1.0])


def test_nan_to_num_passes_the_gradient_where_finite_only() -> None:
    x = Variable(np.array([1.0, np.nan, np.inf, -np.inf, -2.0]))
    y = npa.nan_to_num(x, nan=5.0, posinf=9.0)
    np.testing.assert_array_equal(y.data, np.nan_to_num(x.data, nan=5.0, posinf=9.0, neginf=None))
    tinygrad_ref.sum(y).backward()
    np.testing.assert_array_equal(grad_of(x), [1.0, 0.0, 0.0, 0.0, 1.0])
