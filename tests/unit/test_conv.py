"""Convolutions and pooling: hand-computed cases, DeZero's conventions, and bad input."""

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import (
    Variable,
    average_pooling,
    col2im,
    conv2d,
    conv2d_simple,
    deconv2d,
    gradcheck,
    im2col,
    no_grad,
    pooling,
    pooling_simple,
)
from tinygrad_ref.ops.conv import Conv2d, IntPair


def test_im2col_of_one_window_is_the_image_as_a_row() -> None:
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(im2col(x, 3, 3, 0).data, [list(range(9))])
    assert im2col(x, 3, 3, 0, to_matrix=False).shape == (1, 1, 3, 3, 1, 1)


def test_im2col_with_padding_and_stride() -> None:
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    # windows of 2x2 at stride 2 over the zero-padded 4x4 image: one element of x each
    col = im2col(x, 2, stride=2, pad=1).data
    np.testing.assert_array_equal(col, [[0, 0, 0, 0], [0, 0, 1, 0], [0, 2, 0, 0], [3, 0, 0, 0]])


def test_col2im_adds_overlapping_windows() -> None:
    col = np.ones((4, 4))  # 2x2 windows, stride 1, over a 3x3 image: 4 windows
    img = col2im(col, (1, 1, 3, 3), 2).data
    np.testing.assert_array_equal(img[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_the_gradient_of_im2col_counts_the_windows_of_each_element() -> None:
    x = Variable(np.zeros((1, 1, 3, 3)))
    im2col(x, 2, stride=1).backward()
    np.testing.assert_array_equal(grad_of(x)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_conv2d_by_hand() -> None:
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i, j] - x[i + 1, j + 1]
    y = conv2d(x, w, np.array([10.0])).data
    np.testing.assert_array_equal(y, [[[[6.0, 6.0], [6.0, 6.0]]]])
    # one row of windows (stride 2 down 3 rows), four across the width padded by one zero
    y = conv2d(x, w, stride=(2, 1), pad=(0, 1)).data
    np.testing.assert_array_equal(y, [[[[0 - 3, 0 - 4, 1 - 5, 2 - 0]]]])


def test_conv2d_gradients_by_hand() -> None:
    x = Variable(np.arange(9.0).reshape(1, 1, 3, 3))
    w = Variable(np.ones((1, 1, 2, 2)))
    b = Variable(np.zeros(1))
    conv2d(x, w, b).backward()
    np.testing.assert_array_equal(grad_of(x)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    # each weight sees the 2x2 block of x its offset selects
    np.testing.assert_array_equal(grad_of(w)[0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(grad_of(b), [4.0])


def test_conv2d_simple_matches_conv2d() -> None:
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    settings: list[tuple[IntPair, IntPair]] = [(1, 0), ((2, 1), (1, 0)), (3, 2)]
    for stride, pad in settings:
        simple, direct = conv2d_simple(x, w, b, stride, pad), conv2d(x, w, b, stride, pad)
        np.testing.assert_allclose(simple.data, direct.data, rtol=1e-12)
    gradcheck(lambda x, w: conv2d_simple(x, w, b, 2, 1), Variable(x), Variable(w))


def test_deconv2d_is_the_adjoint_of_conv2d() -> None:
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2))
    y = conv2d(x, w, stride=2, pad=1).data
    u = rng.normal(size=y.shape)
    back = deconv2d(u, w, stride=2, pad=1, outsize=(7, 6)).data
    assert np.sum(y * u) == pytest.approx(np.sum(x * back), rel=1e-12)


def test_deconv2d_default_size_and_bias() -> None:
    x = np.ones((1, 1, 2, 2))
    w = np.ones((1, 1, 2, 2))
    y = deconv2d(x, w, np.array([0.5]), stride=2).data
    assert y.shape == (1, 1, 4, 4)
    np.testing.assert_array_equal(y, np.full((1, 1, 4, 4), 1.5))
    # stride 1: the windows overlap and add up
    np.testing.assert_array_equal(deconv2d(x, w).data[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_max_pooling_by_hand() -> None:
    x = Variable(np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0]]]]))
    y = pooling(x, 2, stride=2)
    np.testing.assert_array_equal(y.data, [[[[5.0, 8.0]]]])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [[[[0, 1, 0, 0], [0, 0, 1, 0]]]])


def test_max_pooling_gives_a_tie_whole_to_the_first_maximum() -> None:
    # NOTE: DeZero and PyTorch: the first maximum of the window in row-major order
    x = Variable(np.array([[[[7.0, 7.0], [7.0, 7.0]]]]))
    pooling(x, 2).backward()
    np.testing.assert_array_equal(grad_of(x), [[[[1.0, 0.0], [0.0, 0.0]]]])
    x = Variable(np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0]]]]))
    (pooling(x, 2, stride=1) * np.array([1.0, 10.0])).backward()
    # window 1 ties at (0, 1) and (1, 0); window 2 at (0, 1), (0, 2) and (1, 2)
    np.testing.assert_array_equal(grad_of(x), [[[[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_max_pooling_padding_never_wins() -> None:
    x = Variable(-np.ones((1, 1, 2, 2)))
    y = pooling(x, 2, stride=2, pad=1)
    np.testing.assert_array_equal(y.data, -np.ones((1, 1, 2, 2)))
    y.backward()
    np.testing.assert_array_equal(grad_of(x), np.ones((1, 1, 2, 2)))


def test_pooling_simple_matches_pooling_without_padding() -> None:
    x = Variable(np.random.default_rng(2).normal(size=(2, 3, 5, 6)))
    np.testing.assert_array_equal(pooling_simple(x, 2, 2).data, pooling(x, 2, 2).data)
    gradcheck(lambda x: pooling_simple(x, (2, 3), (1, 2)), x)


def test_average_pooling_counts_the_padding_as_zeros() -> None:
    x = Variable(np.ones((1, 1, 2, 2)))
    y = average_pooling(x, 2, stride=2, pad=1)
    np.testing.assert_array_equal(y.data, np.full((1, 1, 2, 2), 0.25))
    y.backward()
    np.testing.assert_array_equal(grad_of(x), np.full((1, 1, 2, 2), 0.25))


def test_float32_stays_float32() -> None:
    x = Variable(np.ones((1, 2, 4, 4), dtype=np.float32))
    w = Variable(np.ones((3, 2, 3, 3), dtype=np.float32))
    for y in (conv2d(x, w, pad=1), pooling(x, 2, 2), average_pooling(x, 2, 2)):
        assert y.dtype == np.float32
        y.backward()
    assert grad_of(x).dtype == np.float32
    assert grad_of(w).dtype == np.float32


def test_no_grad_keeps_no_columns() -> None:
    f = Conv2d()
    with no_grad():
        f(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
    assert f.col is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: conv2d(np.ones((1, 2, 4, 4)), np.ones((3, 1, 3, 3))),
            r"x has 2 channels.*W expects 1",
        ),
        (
            lambda: conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 3)), pad=1),
            r"kernel \(5, 3\) is larger than the padded input \(4, 4\)",
        ),
        (
            lambda: conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=0),
            r"stride must be positive, got \(0, 0\)",
        ),
        (
            lambda: conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=(1, -2)),
            r"stride must be positive",
        ),
        (
            lambda: conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), pad=-1),
            r"pad must not be negative",
        ),
        (
            lambda: conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.ones(3)),
            r"b must have shape \(2,\)",
        ),
        (
            lambda: conv2d(np.ones((1, 4, 4)), np.ones((1, 1, 3, 3))),
            r"x of shape \(N, C, H, W\), got shape \(1, 4, 4\)",
        ),
        (lambda: conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 3, 3))), r"W of 4 dimensions"),
        (
            lambda: deconv2d(
                np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), stride=2, outsize=(9, 7)
            ),
            r"outsize \(9, 7\) does not fit.*default is \(7, 7\)",
        ),
        (lambda: deconv2d(np.ones((1, 2, 3, 3)), np.ones((1, 1, 3, 3))), r"x has 2 channels"),
        (
            lambda: pooling(np.ones((1, 1, 4, 4)), 2, pad=2),
            r"pad \(2, 2\) must be at most half the kernel",
        ),
        (lambda: pooling(np.ones((1, 1, 2, 2)), 3), r"kernel \(3, 3\) is larger"),
        (lambda: average_pooling(np.ones((1, 1, 4, 4)), 2, stride=-1), r"stride must be positive"),
        (lambda: im2col(np.ones((1, 1, 4, 4)), 0), r"kernel_size must be at least 1"),
        (
            lambda: col2im(np.ones((3, 4)), (1, 1, 3, 3), 2),
            r"needs columns of shape \(4, 4\), got \(3, 4\)",
        ),
    ],
)
def test_bad_input_is_refused_naming_it(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]  # NOTE: a lambda in a parametrize table


def test_a_stride_that_is_not_an_int_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints, got 1.5"):
        conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=1.5)  # type: ignore[arg-type]  # NOTE: the point is the runtime check
