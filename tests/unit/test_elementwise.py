import math
from collections.abc import Callable

import numpy as np
import pytest

from tests.helpers import first_and_second, grad_of
from tinygrad_ref import Variable, cos, exp, log, sigmoid, sin, sqrt, tanh


@pytest.mark.parametrize(
    ("f", "at", "first", "second"),
    [
        (sin, 0.5, math.cos(0.5), -math.sin(0.5)),
        (cos, 0.5, -math.sin(0.5), -math.cos(0.5)),
        (tanh, 0.5, 1 - math.tanh(0.5) ** 2, -2 * math.tanh(0.5) * (1 - math.tanh(0.5) ** 2)),
        (sqrt, 4.0, 0.25, -1 / 32),
        (sigmoid, 0.0, 0.25, 0.0),
        (exp, 1.0, math.e, math.e),
        (log, 2.0, 0.5, -0.25),
    ],
)
def test_hand_computed_first_and_second_derivatives(
    f: Callable[[Variable], Variable], at: float, first: float, second: float
) -> None:
    derivatives = first_and_second(f, Variable(at))
    assert tuple(map(float, derivatives)) == pytest.approx((first, second), abs=1e-15)


@pytest.mark.parametrize("f", [sin, cos, tanh, sqrt, sigmoid])
def test_float32_stays_float32(f: Callable[[Variable], Variable]) -> None:
    x = Variable(np.array([0.5, 2.0], dtype=np.float32))
    y = f(x)
    assert y.dtype == np.float32
    y.backward()
    assert grad_of(x).dtype == np.float32


def test_sigmoid_saturates_without_overflow() -> None:
    # NOTE: 1 / (1 + exp(-x)) would overflow at -1000 and warn, which fails under
    # filterwarnings = error.
    x = Variable(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32))
    y = sigmoid(x)
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 0.25, 0.0])


def tanh_derivative(n: int, x: float) -> float:
    """d^n/dx^n tanh(x), as a polynomial in t = tanh(x): differentiate, times dt/dx = 1 - t^2."""
    p = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(n):
        p = p.deriv() * np.polynomial.Polynomial([1.0, 0.0, -1.0])
    return float(p(math.tanh(x)))


def test_the_sixth_derivative_of_tanh_by_repeated_backward() -> None:
    x = Variable(0.5)
    tanh(x).backward(create_graph=True)
    for _ in range(5):
        gx = x.grad
        assert gx is not None
        x.cleargrad()
        gx.backward(create_graph=True)
    assert float(grad_of(x)) == pytest.approx(tanh_derivative(6, 0.5), rel=1e-12)
