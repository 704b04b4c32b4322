import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.helpers import first_and_second, grad_of
from tinygrad_ref import (
    Variable,
    cos,
    exp,
    expm1,
    jvp,
    log,
    log1p,
    log_sigmoid,
    sech2,
    sigmoid,
    sin,
    sinc,
    softplus,
    sqrt,
    tanh,
)

npa: Any = np
"""NumPy, untyped: its stubs refuse Variables, which its functions take (interop)."""


@pytest.mark.parametrize(
    ("f", "at", "first", "second"),
    [
        (sin, 0.5, math.cos(0.5), -math.sin(0.5)),
        (cos, 0.5, -math.sin(0.5), -math.cos(0.5)),
        (tanh, 0.5, 1 - math.tanh(0.5) ** 2, -2 * math.tanh(0.5) * (1 - math.tanh(0.5) ** 2)),
        (sech2, 0.0, 0.0, -2.0),
        (sqrt, 4.0, 0.25, -1 / 32),
        (sigmoid, 0.0, 0.25, 0.0),
        (exp, 1.0, math.e, math.e),
        (log, 2.0, 0.5, -0.25),
        (log1p, 1.0, 0.5, -0.25),
        (expm1, 1.0, math.e, math.e),
        (softplus, 0.0, 0.5, 0.25),
        (log_sigmoid, 0.0, 0.5, -0.25),
        # NOTE: sinc' = (cos(pi x) - sinc(x)) / x, sinc'' = -pi**2 sinc - 2 sinc' / x
        (sinc, 0.0, 0.0, -(math.pi**2) / 3),
        (sinc, 0.5, -4 / math.pi, -2 * math.pi + 16 / math.pi),
        (sinc, 1.0, -1.0, 2.0),
        (sinc, 2.0, 0.5, -0.5),
        (sinc, -1.0, 1.0, 2.0),
    ],
)
def test_hand_computed_first_and_second_derivatives(
    f: Callable[[Variable], Variable], at: float, first: float, second: float
) -> None:
    derivatives = first_and_second(f, Variable(at))
    assert tuple(map(float, derivatives)) == pytest.approx((first, second), abs=1e-15)


@pytest.mark.parametrize(
    "f", [sin, cos, tanh, sech2, sqrt, sigmoid, log1p, expm1, softplus, log_sigmoid]
)
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


def value_and_derivative(f: Callable[[Variable], Variable], x: float) -> tuple[float, float]:
    v = Variable(np.array(x))
    y = f(v)
    y.backward()
    return float(y.data), float(grad_of(v))


EPS = float(np.finfo(np.float64).eps)

TAILS = [
    # NOTE: references from the math module and series whose next term is below rounding.
    (softplus, -40.0, math.exp(-40.0), math.exp(-40.0)),
    (softplus, -700.0, math.exp(-700.0), math.exp(-700.0)),
    (softplus, 40.0, 40.0, 1.0),
    (softplus, 1000.0, 1000.0, 1.0),
    (log_sigmoid, -40.0, -40.0, 1.0),
    (log_sigmoid, -1000.0, -1000.0, 1.0),
    (log_sigmoid, 40.0, -math.exp(-40.0), math.exp(-40.0)),
    (sigmoid, -40.0, math.exp(-40.0), math.exp(-40.0)),
    (sigmoid, -700.0, math.exp(-700.0), math.exp(-700.0)),
    (expm1, -40.0, -1.0, math.exp(-40.0)),
    (expm1, 1e-10, math.expm1(1e-10), math.exp(1e-10)),
    (log1p, 1e-20, 1e-20, 1.0),
    (log1p, -0.999999, math.log1p(-0.999999), 1 / (1 - 0.999999)),
]


@pytest.mark.parametrize(("f", "x", "value", "derivative"), TAILS)
def test_accurate_to_a_few_ulps_in_the_tails(
    f: Callable[[Variable], Variable], x: float, value: float, derivative: float
) -> None:
    assert value_and_derivative(f, x) == pytest.approx((value, derivative), rel=4 * EPS, abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_sigmoid_and_softplus_stay_finite_for_any_input(dtype: type[np.floating]) -> None:
    x = Variable(np.array([-1e4, -40.0, 0.0, 40.0, 1e4], dtype=dtype))
    for f in (log_sigmoid, softplus):
        y = f(x)
        y.backward()
        assert y.dtype == dtype
        assert np.all(np.isfinite(y.data))
        assert np.all(np.isfinite(grad_of(x)))
        x.cleargrad()
    np.testing.assert_array_equal(log_sigmoid(x).data[:2], [-1e4, -40.0])
    np.testing.assert_array_equal(softplus(x).data[3:], [40.0, 1e4])


def derivatives_by_backward(f: Callable[[Variable], Variable], x: float, order: int) -> list[float]:
    """The 1st to ``order``-th derivatives of ``f`` at ``x``, by repeated recorded backward."""
    v = Variable(np.array(x))
    f(v).backward(create_graph=True)
    found = []
    for n in range(1, order + 1):
        gx = v.grad
        assert gx is not None
        found.append(float(gx.data))
        v.cleargrad()
        if n < order:
            gx.backward(create_graph=True)
    return found


def derivative_by_jvp(f: Callable[[Variable], Variable], x: float, order: int) -> float:
    """The ``order``-th derivative of ``f`` at ``x``, by forward mode over forward mode."""

    def nested(n: int) -> Callable[[Any], Any]:
        if n == 0:
            return f
        inner = nested(n - 1)
        return lambda v: jvp(inner, (v,), (np.ones(()),))[1]

    return float(np.asarray(nested(order)(np.array(x))))


BELL_POINTS = [s * x for x in (1e-8, 1e-3, 0.5, 5.0, 20.0) for s in (1.0, -1.0)]


@pytest.mark.parametrize("x", BELL_POINTS)
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_derivatives_to_the_fourth_order_within_8_ulp_of_mpmath(name: str, x: float) -> None:
    # NOTE: their derivatives are graphs of sech2 and tanh, each accurate, multiplied: the old
    # graph of e (1 + e) ** -2 differentiated to a difference that cancelled near 0 (2.8e-8
    # relative error of the second derivative at 1e-8)
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 200
    f, exact = {
        "tanh": (tanh, mpmath.tanh),
        "sigmoid": (sigmoid, lambda t: 1 / (1 + mpmath.exp(-t))),
    }[name]
    reverse = derivatives_by_backward(f, x, 4)
    for n in range(1, 5):
        truth = mpmath.diff(exact, mpmath.mpf(x), n)
        ulp = float(np.spacing(abs(float(truth))))
        for way, found in (("backward", reverse[n - 1]), ("jvp", derivative_by_jvp(f, x, n))):
            ulps = float(abs(mpmath.mpf(found) - truth)) / ulp
            assert ulps <= 8, f"{name}^({n})({x}) by {way}: {found!r}, {ulps:.3g} ULP off"


def test_sinc_is_exactly_zero_at_the_integers_where_numpys_is_not() -> None:
    x = np.array([1.0, -2.0, 3.0, 1e6, 2.0**52 + 1])
    np.testing.assert_array_equal(npa.sinc(Variable(x)).data, np.zeros(5))
    assert np.sinc(1.0) != 0.0
    y = npa.sinc(Variable(np.array([0.0, 0.5, 1.5, -0.5], dtype=np.float32)))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(
        y.data, np.array([1.0, 2 / math.pi, -2 / (3 * math.pi), 2 / math.pi], dtype=np.float32)
    )
