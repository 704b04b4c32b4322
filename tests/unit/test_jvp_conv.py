"""Forward mode of the convolutions and pooling: hand-computed tangents."""

import numpy as np

from tinygrad_ref import (
    Variable,
    average_pooling,
    col2im,
    conv2d,
    deconv2d,
    im2col,
    jvp,
    pooling,
)
from tinygrad_ref import sum as sum_


def test_the_tangent_of_im2col_is_im2col_of_the_tangent() -> None:
    x = np.zeros((1, 1, 2, 3))
    t = np.array([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]])
    _, ty = jvp(lambda x: im2col(x, (1, 2)), (x,), (t,))
    np.testing.assert_array_equal(ty, [[1, 2], [2, 3], [4, 5], [5, 6]])


def test_the_tangent_of_col2im_adds_overlapping_windows() -> None:
    col = np.zeros((2, 2))  # two windows of (1, 2) over an image (1, 1, 1, 3)
    t = np.array([[1.0, 2.0], [10.0, 20.0]])
    _, ty = jvp(lambda c: col2im(c, (1, 1, 1, 3), (1, 2)), (col,), (t,))
    np.testing.assert_array_equal(ty, [[[[1, 12, 20]]]])


def test_the_tangent_of_conv2d_with_a_constant_bias() -> None:
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w, b = np.array([[[[1.0, 2.0]]]]), np.array([5.0])
    tx, tw = np.array([[[[1.0, 0.0], [0.0, 1.0]]]]), np.array([[[[1.0, 0.0]]]])
    y, ty = jvp(lambda x, w: conv2d(x, w, b), (x, w), (tx, tw))
    np.testing.assert_array_equal(y, [[[[10], [16]]]])
    # conv(tx, W) + conv(x, tW) = [1, 2] + [1, 3]; the constant bias adds nothing
    np.testing.assert_array_equal(ty, [[[[2], [5]]]])


def test_the_tangent_of_conv2d_includes_the_bias_tangent_per_channel() -> None:
    x, w, b = np.ones((1, 1, 1, 1)), np.ones((2, 1, 1, 1)), np.zeros(2)
    zeros = np.zeros_like
    _, ty = jvp(conv2d, (x, w, b), (zeros(x), zeros(w), np.array([3.0, 7.0])))
    np.testing.assert_array_equal(ty, [[[[3]], [[7]]]])


def test_the_tangent_of_deconv2d() -> None:
    x, w = np.array([[[[2.0]]]]), np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    tw = np.array([[[[0.0, 1.0], [0.0, 0.0]]]])
    _, ty = jvp(lambda x, w: deconv2d(x, w, np.array([9.0])), (x, w), (np.ones_like(x), tw))
    np.testing.assert_array_equal(ty, [[[[1, 4], [3, 4]]]])  # W * tx + x * tW


def test_max_pooling_at_a_tie_takes_the_tangent_of_the_first_maximum() -> None:
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    t = np.array([[[[1.0, 2.0], [30.0, 4.0]]]])
    _, ty = jvp(lambda x: pooling(x, 2), (x,), (t,))
    np.testing.assert_array_equal(ty, [[[[2]]]])
    v = Variable(x)
    pooling(v, 2).backward()  # the vjp routes the gradient to the same element
    assert v.grad is not None
    np.testing.assert_array_equal(v.grad.data, [[[[0, 1], [0, 0]]]])


def test_max_pooling_padding_has_no_tangent() -> None:
    x = np.array([[[[-1.0, -2.0]]]])
    _, ty = jvp(
        lambda x: pooling(x, (1, 2), stride=2, pad=(0, 1)), (x,), (np.array([[[[5.0, 6.0]]]]),)
    )
    np.testing.assert_array_equal(ty, [[[[5, 6]]]])


def test_a_recorded_pooling_tangent_is_differentiable_in_the_tangent() -> None:
    t = Variable(np.array([[[[1.0, 2.0, 3.0]]]]))
    _, ty = jvp(lambda x: pooling(x, (1, 3)), (Variable(np.array([[[[4.0, 6.0, 6.0]]]])),), (t,))
    sum_(ty).backward()
    assert t.grad is not None
    np.testing.assert_array_equal(t.grad.data, [[[[0, 1, 0]]]])


def test_the_tangent_of_average_pooling_counts_the_padding() -> None:
    t = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    _, ty = jvp(lambda x: average_pooling(x, 2, stride=2, pad=1), (np.zeros_like(t),), (t,))
    np.testing.assert_array_equal(ty, [[[[0.25, 0.5], [0.75, 1.0]]]])


def test_float32_tangents_stay_float32() -> None:
    x = np.ones((1, 2, 3, 3), dtype=np.float32)
    w, b = np.ones((2, 2, 2, 2), dtype=np.float32), np.ones(2, dtype=np.float32)
    for ty in (
        jvp(conv2d, (x, w, b), (x, w, b))[1],
        jvp(deconv2d, (x, w, b), (x, w, b))[1],
        jvp(lambda x: pooling(x, 2), (x,), (x,))[1],
        jvp(lambda x: average_pooling(x, 2), (x,), (x,))[1],
        jvp(lambda x: im2col(x, 2), (x,), (x,))[1],
    ):
        assert ty.dtype == np.float32
