"""softmax, log_softmax and logsumexp against values computed independently, in 50-digit
decimal arithmetic, also for logits of +-1e4 where a naive formula overflows."""

import decimal
from collections.abc import Sequence

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import (
    Variable,
    log_softmax,
    logsumexp,
    sigmoid_simple,
    softmax,
    softmax_simple,
)

DTYPES = [np.float32, np.float64]
EXTREME_ROWS = [
    [1e4, -1e4, 0.0],
    [-1e4, -1e4, -1e4 + 1],
    [1e4, 1e4 - 1, 1e4 - 2],
    [-1e4, 1e4, 1e4],
]


def exact_logsumexp(row: Sequence[float]) -> decimal.Decimal:
    with decimal.localcontext() as context:
        context.prec = 50
        return sum((decimal.Decimal(v).exp() for v in row), decimal.Decimal(0)).ln()


def exact_softmax(row: Sequence[float]) -> list[float]:
    lse = exact_logsumexp(row)
    with decimal.localcontext() as context:
        context.prec = 50
        return [float((decimal.Decimal(v) - lse).exp()) for v in row]


def assert_close(
    actual: np.ndarray, expected: Sequence[float] | Sequence[Sequence[float]], dtype: type
) -> None:
    """Within a few rounding errors of ``dtype``, relative to the larger of 1 and the value."""
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(actual, np.array(expected), rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_extreme_logits_is_exact_to_rounding(dtype: type) -> None:
    x = Variable(np.array(EXTREME_ROWS, dtype=dtype))
    y = logsumexp(x, axis=1)
    assert y.dtype == dtype
    assert_close(y.data, [float(exact_logsumexp(row)) for row in EXTREME_ROWS], dtype)
    y.backward()
    assert_close(grad_of(x), [exact_softmax(row) for row in EXTREME_ROWS], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_softmax_of_extreme_logits(dtype: type) -> None:
    x = Variable(np.array(EXTREME_ROWS, dtype=dtype))
    p = softmax(x)
    expected = [exact_softmax(row) for row in EXTREME_ROWS]
    assert p.dtype == dtype
    assert_close(p.data, expected, dtype)
    log_p = log_softmax(x)
    assert np.all(np.isfinite(log_p.data))
    exact = [
        [float(decimal.Decimal(v) - exact_logsumexp(row)) for v in row] for row in EXTREME_ROWS
    ]
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(log_p.data, exact, rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_gradient_at_extreme_logits(dtype: type) -> None:
    """d/dx sum(w * softmax(x)) = p * (w - sum(p * w)), with p from decimal arithmetic."""
    x = Variable(np.array(EXTREME_ROWS, dtype=dtype))
    w: np.ndarray = np.array([1.0, 2.0, 3.0], dtype=dtype)
    (softmax(x) * w).backward()
    p = np.array([exact_softmax(row) for row in EXTREME_ROWS])
    expected = p * (w - (p * w).sum(axis=1, keepdims=True))
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(grad_of(x), expected, rtol=8 * eps, atol=8 * eps)
    x.cleargrad()
    (log_softmax(x) * w).backward()
    np.testing.assert_allclose(grad_of(x), w - p * w.sum(), rtol=8 * eps, atol=8 * eps)


def test_softmax_default_axis_is_one_as_in_dezero() -> None:
    x = np.arange(24.0).reshape(2, 3, 4) / 10
    e = np.exp(x)
    np.testing.assert_allclose(softmax(x).data, e / e.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax_simple(x).data, e / e.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(x).data, np.log(e / e.sum(axis=1, keepdims=True)))


def test_logsumexp_reduces_as_scipy() -> None:
    x = np.log(np.array([[1.0, 2.0, 5.0], [3.0, 3.0, 2.0]]))
    np.testing.assert_allclose(logsumexp(x).data, np.log(16.0))
    np.testing.assert_allclose(logsumexp(x, axis=0).data, np.log([4.0, 5.0, 7.0]))
    kept = logsumexp(x, axis=1, keepdims=True)
    assert kept.shape == (2, 1)
    np.testing.assert_allclose(kept.data, np.log([[8.0], [8.0]]))
    assert logsumexp(x, axis=(0, 1)).shape == ()


def test_logsumexp_second_derivative_is_the_softmax_covariance() -> None:
    """The Hessian of logsumexp is diag(p) - p p^T: its product with w is p*w - p*(p.w)."""
    x = Variable(np.array([0.5, -1.0, 2.0]))
    w = np.array([1.0, -2.0, 0.5])
    logsumexp(x).backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    x.cleargrad()
    (gx * w).backward()
    p = np.exp(x.data) / np.exp(x.data).sum()
    np.testing.assert_allclose(grad_of(x), p * w - p * (p @ w), rtol=1e-12)


def test_sigmoid_simple_is_the_logistic_function() -> None:
    x = Variable(np.array([-2.0, 0.0, 3.0]))
    y = sigmoid_simple(x)
    np.testing.assert_allclose(y.data, 1 / (1 + np.exp(-x.data)))
    y.backward()
    np.testing.assert_allclose(grad_of(x), y.data * (1 - y.data))


def test_a_bad_axis_is_refused_with_the_shape() -> None:
    with pytest.raises(np.exceptions.AxisError, match=r"axis 1 .* shape \(3,\)"):
        softmax(np.ones(3))
    with pytest.raises(np.exceptions.AxisError, match=r"axis 2"):
        logsumexp(np.ones((2, 2)), axis=2)


@pytest.mark.parametrize("logits", [[8.75, 0.0, 0.0, 0.0], [0.0, 6.0], [-3.0, 4.0, 10.0]])
def test_softmax_simple_hessian_against_mpmath(logits: list[float]) -> None:
    """Its Hessian, forward over reverse and reverse over reverse, within 64 rounding errors
    of the largest entry times the ratio of the largest exponential to the smallest: the
    cancellation of e / sum(e) differentiated twice."""
    mpmath = pytest.importorskip("mpmath")
    from tinygrad_ref import grad, hessian, jacobian, softmax_simple

    x = np.array(logits)
    w = np.linspace(-1.0, 1.5, len(logits))

    def phi(v: Variable) -> Variable:
        return (softmax_simple(v, axis=None) * w).sum()

    mpmath.mp.dps = 40

    def exact_phi(*t: object) -> object:
        e = [mpmath.exp(ti) for ti in t]
        return sum(wi * ei for wi, ei in zip(w, e, strict=True)) / sum(e)

    n = len(logits)

    def order(i: int, j: int) -> tuple[int, ...]:
        return tuple(int(k == i) + int(k == j) for k in range(n))

    exact = np.array(
        [[float(mpmath.diff(exact_phi, logits, order(i, j))) for j in range(n)] for i in range(n)]
    )
    ratio = np.exp(x.max() - x.min())
    allowed = 64 * np.finfo(np.float64).eps * ratio * np.abs(exact).max()
    for h in (hessian(phi)(x), jacobian(grad(phi))(x)):
        assert np.abs(h - exact).max() <= allowed
