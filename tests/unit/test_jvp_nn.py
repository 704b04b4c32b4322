"""Forward mode of the losses, linear, dropout, the piecewise functions and batch norm: tangents
computed by hand, each kink's convention, and the dtype each rule keeps."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_ref import (
    Variable,
    abs,
    batch_norm,
    clip,
    dropout,
    jvp,
    leaky_relu,
    linear,
    maximum,
    mean_squared_error,
    minimum,
    relu,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    using_config,
    where,
)
from tinygrad_ref.ops.layer import Linear
from tinygrad_ref.ops.loss import (
    BinaryCrossEntropy,
    MeanSquaredError,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
)
from tinygrad_ref.ops.normalization import BatchNorm
from tinygrad_ref.ops.piecewise import Maximum

X = np.array([-1.0, 0.0, 2.0])
T = np.array([3.0, 5.0, 7.0])


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (relu, [0.0, 0.0, 7.0]),  # relu'(0) = 0
        (lambda x: leaky_relu(x, 0.5), [1.5, 2.5, 7.0]),  # leaky_relu'(0) = slope
        (abs, [-3.0, 0.0, 7.0]),  # abs'(0) = 0
        (lambda x: clip(x, 0.0, 2.0), [0.0, 5.0, 7.0]),  # 1 on both bounds
    ],
)
def test_the_tangent_of_a_point_kink_follows_its_convention(
    f: Callable[[Variable], Variable], expected: list[float]
) -> None:
    _, tangent = jvp(f, (X,), (T,))
    np.testing.assert_array_equal(tangent, expected)


def test_maximum_and_minimum_give_the_mean_of_the_tangents_at_a_tie() -> None:
    x0, x1 = np.array([1.0, 2.0, 5.0]), np.array([1.0, 3.0, 4.0])
    t0, t1 = np.full(3, 2.0), np.full(3, 4.0)
    np.testing.assert_array_equal(jvp(maximum, (x0, x1), (t0, t1))[1], [3.0, 4.0, 2.0])
    np.testing.assert_array_equal(jvp(minimum, (x0, x1), (t0, t1))[1], [3.0, 2.0, 4.0])


def test_maximum_broadcasts_each_tangent_to_the_result() -> None:
    x0, x1 = np.array([[1.0], [-1.0]]), np.array([0.0, 1.0])
    t0, t1 = np.array([[10.0], [20.0]]), np.array([1.0, 2.0])
    _, tangent = jvp(maximum, (x0, x1), (t0, t1))
    np.testing.assert_array_equal(tangent, [[10.0, 6.0], [1.0, 2.0]])


def test_where_takes_the_tangent_of_the_operand_it_selects() -> None:
    condition = np.array([[True, False], [False, True]])
    _, tangent = jvp(
        lambda a, b: where(condition, a, b),
        (np.zeros(2), np.zeros((2, 1))),
        (np.array([1.0, 2.0]), np.array([[3.0], [4.0]])),
    )
    np.testing.assert_array_equal(tangent, [[1.0, 3.0], [4.0, 2.0]])


def test_linear_with_a_constant_bias_has_the_tangent_tx_w_plus_x_tw() -> None:
    x, w = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    tx, tw = np.array([[1.0, 1.0]]), np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    b = np.array([10.0, 20.0, 30.0])
    _, tangent = jvp(lambda x, w: linear(x, w, b), (x, w), (tx, tw))
    # tx W = [1, 1, 2] and x tW = [2, 0, 1]
    np.testing.assert_array_equal(tangent, [[3.0, 1.0, 3.0]])


def test_dropout_carries_the_tangent_through_the_mask_of_its_forward_pass() -> None:
    np.random.seed(0)  # noqa: NPY002  # NOTE: what dropout reads
    x, t = np.full((4, 5), 2.0), np.arange(20.0).reshape(4, 5)
    y, tangent = jvp(lambda x: dropout(x, 0.5), (x,), (t,))
    mask = y / x
    assert set(np.unique(mask)) == {0.0, 2.0}
    np.testing.assert_array_equal(tangent, t * mask)


def test_mean_squared_error_tangent_divides_by_the_first_axis() -> None:
    x0, x1 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])
    t0, t1 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])
    # 2 / 2 * sum([[1, 1], [2, 3]] * [[1, 0], [-1, 1]])
    assert jvp(mean_squared_error, (x0, x1), (t0, t1))[1] == 2.0


def test_softmax_cross_entropy_tangent_keeps_a_label_probability_near_1() -> None:
    x, t = np.array([[40.0, 0.0]]), np.array([0])
    _, tangent = jvp(lambda x: softmax_cross_entropy(x, t), (x,), (np.array([[1.0, 0.0]]),))
    # p0 - 1 = -exp(-40) / (1 + exp(-40)), which 1 - p0 would round to 0
    expected = -np.exp(-40.0) / (1 + np.exp(-40.0))
    assert tangent == pytest.approx(expected, rel=1e-14)


def test_sigmoid_cross_entropy_tangent_at_zero_logit() -> None:
    _, tangent = jvp(
        lambda x: sigmoid_cross_entropy(x, np.array([[1.0]])),
        (np.zeros((1, 1)),),
        (np.full((1, 1), 2.0),),
    )
    assert tangent == -1.0  # (sigmoid(0) - 1) * 2 / 1


def test_batch_norm_in_test_mode_scales_the_tangent_by_the_running_statistics() -> None:
    x, gamma, beta = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2.0, 3.0]), np.zeros(2)
    mean, var, eps = np.array([1.0, 2.0]), np.array([4.0, 1.0]), 0.0
    tx, tgamma, tbeta = (
        np.array([[1.0, 1.0], [2.0, 0.0]]),
        np.array([1.0, 0.0]),
        np.array([0.0, 5.0]),
    )
    with using_config("train", False):
        _, tangent = jvp(
            lambda x, g, b: batch_norm(x, g, b, mean, var, eps=eps),
            (x, gamma, beta),
            (tx, tgamma, tbeta),
        )
    # gamma / sqrt(var) * tx + tgamma * xhat + tbeta, with xhat = [[0, 0], [1, 2]]
    np.testing.assert_array_equal(tangent, [[1.0, 8.0], [3.0, 5.0]])


def test_batch_norm_in_training_is_invariant_to_shifting_a_channel() -> None:
    x = np.array([[1.0, -2.0], [3.0, 0.5], [-4.0, 2.0]])
    c = np.ones(2)
    with using_config("train", True):
        _, tangent = jvp(
            lambda x: batch_norm(x, c, c, np.zeros(2), np.ones(2)),
            (x,),
            (np.broadcast_to([1.0, -3.0], x.shape),),
        )
    np.testing.assert_array_equal(tangent, np.zeros_like(x))


def _float32(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.uniform(0.1, 0.9, shape).astype(np.float32) for shape in shapes]


def _rules() -> list[tuple[str, Callable[[], Any]]]:
    def run(f: Any, *shapes: tuple[int, ...]) -> Any:
        xs = _float32(*shapes)
        y = f.forward(*xs)
        return f.jvp(*_float32(*shapes), *xs, y)

    labels = np.array([0, 1])
    return [
        ("linear", lambda: run(Linear(), (2, 3), (3, 2), (2,))),
        ("maximum", lambda: run(Maximum(), (2, 3), (3,))),
        ("mean_squared_error", lambda: run(MeanSquaredError(), (2, 3), (3,))),
        ("softmax_cross_entropy", lambda: run(SoftmaxCrossEntropy(labels), (2, 3))),
        ("sigmoid_cross_entropy", lambda: run(SigmoidCrossEntropy(np.ones(6)), (2, 3))),
        ("binary_cross_entropy", lambda: run(BinaryCrossEntropy(np.ones(6)), (2, 3))),
        ("batch_norm", lambda: run(BatchNorm(np.zeros(3), np.ones(3)), (2, 3), (3,), (3,))),
    ]


@pytest.mark.parametrize(("name", "tangent"), _rules(), ids=[name for name, _ in _rules()])
def test_each_rule_keeps_float32(name: str, tangent: Callable[[], Any]) -> None:
    assert tangent().dtype == np.float32
