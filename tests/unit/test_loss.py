"""The losses and accuracy on hand-computed cases, extreme logits, and bad labels."""

import math
from typing import Any

import mpmath
import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import (
    Variable,
    accuracy,
    binary_cross_entropy,
    grad,
    hessian,
    jvp,
    mean_squared_error,
    mean_squared_error_simple,
    no_grad,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    softmax_cross_entropy_simple,
)
from tinygrad_ref.ops import sigmoid_cross_entropy_grad
from tinygrad_ref.ops.loss import SoftmaxCrossEntropy

DTYPES = [np.float32, np.float64]
LOGITS = [[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]]


def softmax_row(row: list[float]) -> list[float]:
    total = math.fsum(math.exp(v) for v in row)
    return [math.exp(v) / total for v in row]


def test_softmax_cross_entropy_by_hand() -> None:
    """DeZero's test case: rows [-1, 0, 1, 2] with label 3 and [2, 0, 1, -1] with label 0 have
    the same loss, log(e^-1 + 1 + e + e^2) - 2."""
    x = Variable(np.array(LOGITS))
    loss = softmax_cross_entropy(x, np.array([3, 0]))
    expected = math.log(math.exp(-1) + 1 + math.e + math.exp(2)) - 2
    assert loss.shape == ()
    assert loss.data == pytest.approx(expected, rel=1e-15)
    loss.backward()
    one_hot = np.array([[0, 0, 0, 1], [1, 0, 0, 0]])
    p = np.array([softmax_row(row) for row in LOGITS])
    np.testing.assert_allclose(grad_of(x), (p - one_hot) / 2, rtol=1e-14, atol=1e-16)
    simple = softmax_cross_entropy_simple(np.array(LOGITS), np.array([3, 0]))
    assert simple.data == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 0]),
        np.array([3, 0], dtype=np.uint8),
        np.array([3.0, 0.0], dtype=np.float32),
        np.array([[3], [0]]),
        Variable(np.array([3.0, 0.0])),
        [3, 0],
    ],
    ids=["int64", "uint8", "float32", "column", "Variable", "list"],
)
def test_labels_of_any_integer_valued_kind(labels: object) -> None:
    for loss in (softmax_cross_entropy, softmax_cross_entropy_simple):
        y = loss(np.array(LOGITS), labels)  # type: ignore[arg-type]  # NOTE: a list, on purpose
        assert y.data == pytest.approx(math.log(math.exp(-1) + 1 + math.e + math.exp(2)) - 2)
    assert accuracy(np.array(LOGITS), labels).data == 1.0  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_of_extreme_logits(dtype: type) -> None:
    """For logits (1e4, -1e4, 0), -log softmax is 2e4 + log1p(e^-2e4 + e^-1e4) = 2e4 (to far
    below any rounding) at label 1, 1e4 at label 2 and e^-1e4 = 0 at label 0, and the
    gradient is softmax - one_hot with softmax = (1, 0, 0)."""
    x = Variable(np.array([[1e4, -1e4, 0.0]] * 3, dtype=dtype))
    loss = softmax_cross_entropy(x, np.array([1, 2, 0]))
    assert loss.dtype == dtype
    assert loss.data == pytest.approx((2e4 + 1e4 + 0.0) / 3, rel=float(np.finfo(dtype).eps))
    loss.backward()
    expected = np.array([[1.0, -1.0, 0.0], [1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]) / 3
    np.testing.assert_allclose(grad_of(x), expected, rtol=float(np.finfo(dtype).eps))
    simple = softmax_cross_entropy_simple(x, np.array([1, 2, 0]))
    assert np.isfinite(simple.data)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_of_close_large_logits_keeps_its_digits(dtype: type) -> None:
    """Logits 1e4 + (0, -1, -2): the loss at label 0 is log(1 + e^-1 + e^-2), which the rounding
    of a logsumexp near 1e4 (an ulp of 1e-3 in float32) would swamp."""
    x: np.ndarray = np.array([[1e4, 1e4 - 1, 1e4 - 2]], dtype=dtype)
    expected = math.log(1 + math.exp(-1) + math.exp(-2))
    eps = float(np.finfo(dtype).eps)
    assert softmax_cross_entropy(x, np.array([0])).data == pytest.approx(expected, rel=4 * eps)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([4, 0]), r"labels must lie in \[0, 4\) for 4 classes; got 4"),
        (np.array([-1, 0]), r"labels must lie in \[0, 4\).*got -1"),
        (np.array([1.5, 0.0]), r"labels must be integers; got 1.5"),
        (Variable(np.array([np.nan, 0.0])), r"labels must be integers; got nan"),
        (np.array([1, 0, 2]), r"labels must have shape \(2,\) for 2 samples; got \(3,\)"),
        (np.array(["a", "b"]), r"labels must be integers, not an array of dtype <U1"),
    ],
)
def test_bad_labels_are_refused_by_name(labels: object, message: str) -> None:
    error = TypeError if "dtype" in message else ValueError
    for loss in (softmax_cross_entropy, softmax_cross_entropy_simple, accuracy):
        with pytest.raises(error, match=message):
            loss(np.array(LOGITS), labels)  # type: ignore[arg-type]  # NOTE: on purpose


def test_scores_that_are_not_a_matrix_are_refused() -> None:
    with pytest.raises(ValueError, match=r"softmax_cross_entropy needs scores of shape \(N, C\)"):
        softmax_cross_entropy(np.ones(4), np.array([0]))
    with pytest.raises(ValueError, match="at least one sample"):
        softmax_cross_entropy(np.ones((0, 3)), np.zeros(0))


def test_mean_squared_error_divides_by_the_first_axis_as_dezero() -> None:
    x0 = Variable(np.array([[1.0, 2.0], [3.0, 5.0], [0.0, 0.0]]))
    x1 = Variable(np.array([1.0, 1.0]))
    for mse in (mean_squared_error, mean_squared_error_simple):
        x0.cleargrad()
        x1.cleargrad()
        y = mse(x0, x1)
        assert y.data == pytest.approx((0 + 1 + 4 + 16 + 1 + 1) / 3)
        y.backward()
        diff = x0.data - x1.data
        np.testing.assert_allclose(grad_of(x0), diff * 2 / 3)
        np.testing.assert_allclose(grad_of(x1), -(diff * 2 / 3).sum(axis=0))
    with pytest.raises(ValueError, match="mean_squared_error needs at least one sample"):
        mean_squared_error(1.0, Variable(2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_cross_entropy_of_extreme_logits(dtype: type) -> None:
    """-log sigmoid(1e4) = log1p(e^-1e4) = 0 and -log sigmoid(-1e4) = 1e4 (+ e^-1e4)."""
    x = Variable(np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype))
    loss = sigmoid_cross_entropy(x, np.array([1, 1, 0, 0]))
    assert loss.dtype == dtype
    assert loss.data == pytest.approx((0 + 1e4 + 1e4 + 0) / 4, rel=float(np.finfo(dtype).eps))
    loss.backward()
    np.testing.assert_array_equal(grad_of(x), np.array([0.0, -1.0, 1.0, 0.0], dtype=dtype) / 4)


def test_sigmoid_cross_entropy_by_hand() -> None:
    x = Variable(np.array([[0.5], [-2.0]]))
    y = sigmoid_cross_entropy(x, np.array([1, 0]))  # NOTE: reshaped to x's shape, as DeZero
    expected = (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(-2.0))) / 2
    assert y.data == pytest.approx(expected, rel=1e-15)
    y.backward()
    sigmoid = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(grad_of(x), (sigmoid - [[1], [0]]) / 2, rtol=1e-15)
    with pytest.raises(ValueError, match=r"targets of shape \(3,\) do not match"):
        sigmoid_cross_entropy(x, np.array([1, 0, 1]))


def test_binary_cross_entropy_by_hand_and_at_the_ends() -> None:
    p = Variable(np.array([0.25, 0.9]))
    y = binary_cross_entropy(p, np.array([1.0, 0.0]))
    assert y.data == pytest.approx(-(math.log(0.25) + math.log(0.1)) / 2, rel=1e-15)
    y.backward()
    np.testing.assert_allclose(grad_of(p), [-1 / 0.25 / 2, 1 / 0.1 / 2], rtol=1e-14)
    ends = Variable(np.array([0.0, 1.0]))
    y = binary_cross_entropy(ends, np.array([1.0, 1.0]))
    assert y.data == pytest.approx(50.0)  # NOTE: log(0) clamped at -100, as PyTorch's
    y.backward()
    assert np.all(np.isfinite(grad_of(ends)))
    with pytest.raises(ValueError, match=r"probabilities p in \[0, 1\]"):
        binary_cross_entropy(np.array([1.5]), np.array([1.0]))


def test_accuracy_is_a_plain_value_as_dezero() -> None:
    y = Variable(np.array([[0.2, 0.8, 0.0], [0.1, 0.9, 0.0], [0.8, 0.1, 0.1]]))
    acc = accuracy(y, np.array([1, 2, 0]))
    assert isinstance(acc, Variable)
    assert acc.creator is None
    assert acc.data == pytest.approx(2 / 3)


def test_softmax_cross_entropy_simple_hessian_matches_mpmath() -> None:
    """H v = p * v - p (p . v), in 40-digit arithmetic, for both spellings of the loss."""
    mpmath.mp.dps = 40
    logits = np.array([[-0.62403516, 6.27645364, -6.63342962, -8.35916029]])
    v = np.array([[0.3, -1.2, 0.7, 0.5]])
    exps = [mpmath.exp(mpmath.mpf(float(a))) for a in logits[0]]
    p = [e / mpmath.fsum(exps) for e in exps]
    pv = mpmath.fsum(pi * float(vi) for pi, vi in zip(p, v[0], strict=True))
    exact = [float(pi * float(vi) - pi * pv) for pi, vi in zip(p, v[0], strict=True)]
    for loss in (softmax_cross_entropy, softmax_cross_entropy_simple):
        x = Variable(logits.copy())
        loss(x, np.array([1])).backward(create_graph=True)
        g = x.grad
        assert g is not None
        x.cleargrad()
        (g * v).sum().backward()
        np.testing.assert_allclose(grad_of(x)[0], exact, rtol=1e-13, atol=1e-18)


def ulp(exact: Any, dtype: type) -> float:
    """The unit in the last place of ``dtype`` at ``exact``."""
    return float(np.spacing(np.abs(np.dtype(dtype).type(float(exact)))))


def ulps_off(found: float, exact: Any, dtype: type) -> float:
    """How many units in the last place of ``dtype`` at ``exact`` ``found`` is off it."""
    return float(abs(mpmath.mpf(found) - exact)) / ulp(exact, dtype)


def exact_sigmoid_cross_entropy(x: float, t: float) -> tuple[Any, Any, Any]:
    """The loss of one logit, its first and its second derivative, to 60 digits."""
    with mpmath.workdps(60):
        x_, t_ = mpmath.mpf(x), mpmath.mpf(t)
        loss = t_ * mpmath.log1p(mpmath.exp(-x_)) + (1 - t_) * mpmath.log1p(mpmath.exp(x_))
        # NOTE: not sigmoid - t, whose digits 60 do not hold for t = 1 at x = 700
        sigmoid, complement = 1 / (1 + mpmath.exp(-x_)), 1 / (1 + mpmath.exp(x_))
        return loss, (1 - t_) * sigmoid - t_ * complement, sigmoid * complement


SCE_POINTS = [
    pytest.param(np.float32, 6.0, 1.0, id="float32-6-1"),  # NOTE: 4.96e-8 off before
    *(
        pytest.param(dtype, x, t, id=f"{dtype.__name__}-{x:g}-{t:g}")
        for dtype in DTYPES
        for x in (30.0, -30.0)
        for t in (0.0, 1.0, 0.5)
    ),
]


@pytest.mark.parametrize(("dtype", "x", "t"), SCE_POINTS)
def test_sigmoid_cross_entropy_to_second_order_against_mpmath(
    dtype: type, x: float, t: float
) -> None:
    """Value, gradient (reverse and forward) and second derivative (reverse over reverse and
    forward over reverse) within 4 ULP: sigmoid(x) - t at x = 30, t = 1 was 0 in float32 and
    1e-3 off in float64."""
    loss, first, second = exact_sigmoid_cross_entropy(x, t)
    point: np.ndarray = np.array([x], dtype=dtype)
    target = np.array([t])

    def f(v: Variable) -> Variable:
        return sigmoid_cross_entropy(v, target)

    found = {
        "value": float(f(Variable(point)).data),
        "gradient": float(grad(f)(point)[0]),
        "jvp": float(jvp(f, (point,), (np.ones_like(point),))[1]),
        "second (reverse)": float(grad(lambda v: grad(f)(v).sum())(point)[0]),
        "second (forward over reverse)": float(hessian(f)(point)[0, 0]),
    }
    for what, value in found.items():
        exact = {"value": loss, "gradient": first, "jvp": first}.get(what, second)
        assert ulps_off(value, exact, dtype) <= 4, f"{what}: {value!r}, exact {exact}"


TARGETS = [0.0, 2.0**-20, 1e-3, 0.25, 0.3, 0.5 - 2.0**-30, 0.5, 0.5 + 2.0**-30, 0.7, 0.999]
TARGETS += [1 - 2.0**-20, 1.0]
MAGNITUDES = [0.0, 1e-10, 1e-3, 0.5, math.log(2) * (1 - 2**-40), math.log(2), 1.0, 6.0, 17.0]
MAGNITUDES += [30.0, 100.0, 700.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("t", TARGETS)
def test_sigmoid_cross_entropy_gradient_keeps_its_digits_for_every_target(
    dtype: type, t: float
) -> None:
    """For any target in [0, 1] and any logit, the gradient sigmoid(x) - t is off the exact one
    by at most 4 ULP, or near its root x = logit(t) by what x's own rounding moves it (4 eps
    |x| sigmoid'(x)); the loss is within 4 ULP. sigmoid(x) - 1/2 at x = 1e-10 had 6 digits."""
    logits: np.ndarray = np.array([s * m for m in MAGNITUDES for s in (1.0, -1.0)], dtype=dtype)
    target = dtype(t)  # NOTE: the loss computes with the targets in the logits' dtype
    eps = float(np.finfo(dtype).eps)
    for x in logits:
        point = np.array([x])
        loss, first, second = exact_sigmoid_cross_entropy(float(x), float(target))
        y = sigmoid_cross_entropy(Variable(point), np.array([t]))
        assert ulps_off(float(y.data), loss, dtype) <= 4, f"loss at {x!r}: {y.data!r}"
        gradient = float(sigmoid_cross_entropy_grad(point, np.array([t])).data[0])
        allowed = 4 * ulp(first, dtype) + 4 * eps * abs(float(x)) * float(second)
        error = float(abs(mpmath.mpf(gradient) - first))
        assert error <= allowed, f"gradient at {x!r}: {gradient!r}, exact {first}"


@pytest.mark.parametrize("later", ["refused", "no_grad"])
def test_the_gradient_reads_its_own_call_after_a_later_one(later: str) -> None:
    """The gradient on arrays reads the forward pass's exponentials only for the logits they
    came from: a later call of the same instance (refused as a second node, or under
    ``no_grad``) made others, and the gradient was 0.29 off."""
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2])
    x = Variable(rng.normal(size=(3, 4)))
    f = SoftmaxCrossEntropy(labels)
    loss = f(x)
    other = rng.normal(size=(3, 4)) * 5
    if later == "refused":
        with pytest.raises(RuntimeError, match="already"):
            f(Variable(other))
    else:
        with no_grad():
            f(other)
    loss.backward()
    fresh = Variable(x.data.copy())
    softmax_cross_entropy(fresh, labels).backward()
    assert x.grad is not None
    assert fresh.grad is not None
    np.testing.assert_array_equal(x.grad.data, fresh.grad.data)
