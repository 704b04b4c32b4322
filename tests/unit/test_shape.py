from typing import Any

import numpy as np
import pytest

from tests.helpers import assert_float16_rounds, float16_gradients, grad_of
from tinygrad_ref import (
    Variable,
    broadcast_to,
    cast,
    expand_dims,
    flatten,
    reshape,
    squeeze,
    sum_to,
    transpose,
)


def test_sum_to_sums_leading_and_size_one_axes() -> None:
    x = Variable(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(sum_to(x, (3,)).data, [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(sum_to(x, (2, 1)).data, [[3.0], [12.0]])
    assert sum_to(x, ()).data == 15.0
    y = sum_to(x, (1, 3))
    y.backward()
    np.testing.assert_array_equal(grad_of(x), np.ones((2, 3)))


def test_sum_to_refuses_a_shape_that_does_not_broadcast() -> None:
    with pytest.raises(ValueError, match=r"cannot sum an array of shape \(2, 3\) to shape \(2,\)"):
        sum_to(Variable(np.ones((2, 3))), (2,))


def test_broadcast_to_copies_and_its_gradient_sums() -> None:
    x = Variable(np.array([1.0, 2.0]))
    y = broadcast_to(x, (3, 2))
    assert y.data.flags.writeable
    assert not np.shares_memory(y.data, x.data)
    np.testing.assert_array_equal(y.data, [[1.0, 2.0]] * 3)
    (y * np.array([[1.0], [2.0], [3.0]])).backward()
    np.testing.assert_array_equal(grad_of(x), [6.0, 6.0])


def test_broadcast_to_names_the_shapes_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        broadcast_to(Variable(np.ones(3)), (2,))


def test_cast_converts_and_its_gradient_converts_back() -> None:
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    y = cast(x, np.float64)
    assert y.dtype == np.float64
    (y * 3.0).backward()
    assert grad_of(x).dtype == np.float32
    np.testing.assert_array_equal(grad_of(x), [3.0, 3.0])


def test_cast_refuses_a_non_floating_dtype() -> None:
    with pytest.raises(TypeError, match="floating dtype, not int64"):
        cast(Variable(1.0), np.int64)


def test_reshape_in_every_form_numpy_takes() -> None:
    data = np.arange(6.0)
    x = Variable(data)
    for y in (reshape(x, (2, 3)), x.reshape(2, 3), x.reshape((2, 3)), x.reshape(-1, 3)):
        np.testing.assert_array_equal(y.data, data.reshape(2, 3))
    assert x.reshape([3, 2]).shape == (3, 2)
    assert Variable(np.ones((1, 1))).reshape(()).shape == ()
    assert Variable(5.0).reshape(1, 1).shape == (1, 1)


def test_reshape_gradient_has_the_input_shape() -> None:
    x = Variable(np.arange(6.0).reshape(2, 3))
    y = x.reshape(3, 2) * np.array([[1.0, 2.0]])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [[1.0, 2.0, 1.0], [2.0, 1.0, 2.0]])


def test_reshape_to_the_wrong_size_names_both_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"cannot reshape an array of shape \(2, 3\) into shape \(4,\)"
    ):
        Variable(np.ones((2, 3))).reshape(4)


def test_transpose_in_every_form_numpy_takes() -> None:
    data = np.arange(24.0).reshape(2, 3, 4)
    x = Variable(data)
    np.testing.assert_array_equal(x.T.data, data.T)
    np.testing.assert_array_equal(x.transpose().data, data.transpose())
    np.testing.assert_array_equal(x.transpose(None).data, data.transpose())
    np.testing.assert_array_equal(x.transpose(1, 0, 2).data, data.transpose(1, 0, 2))
    np.testing.assert_array_equal(x.transpose((2, 0, 1)).data, data.transpose(2, 0, 1))
    np.testing.assert_array_equal(transpose(x, (-1, 0, 1)).data, data.transpose(2, 0, 1))
    assert Variable(1.0).T.shape == ()
    assert Variable(np.ones(3)).T.shape == (3,)


def test_transpose_gradient_is_transposed_back() -> None:
    x = Variable(np.zeros((2, 3, 4)))
    weights = np.arange(24.0).reshape(3, 4, 2)
    (x.transpose(1, 2, 0) * weights).backward()
    np.testing.assert_array_equal(grad_of(x), weights.transpose(2, 0, 1))


def test_transpose_with_axes_that_are_not_a_permutation_is_refused() -> None:
    x = Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"axes \(0,\) are not a permutation .* \(2, 3\)"):
        x.transpose(0)
    with pytest.raises(ValueError, match=r"repeated axis in \(0, -2\)"):
        x.transpose(0, -2)
    with pytest.raises(np.exceptions.AxisError, match=r"axis 2 is out of bounds .* \(2, 3\)"):
        x.transpose(2, 0)


def test_float16_sum_to_and_broadcast_to_over_more_elements_than_float16_counts() -> None:
    size = 70_000
    small = float(np.float16(1e-3))
    for g in float16_gradients(lambda x: sum_to(x * 1e-3, (1, 2)), np.ones((size, 2))):
        assert_float16_rounds(g, small)
    for g in float16_gradients(lambda x: broadcast_to(x, (size, 2)) * 1e-3, np.ones(2)):
        assert_float16_rounds(g, small * size, ulps=4)


def test_expand_dims_inserts_axes_as_numpy() -> None:
    x = Variable(np.ones((2, 3)))
    for axis in (0, 1, 2, -1, -3, (0, 3), (-1, 0)):
        assert expand_dims(x, axis).shape == np.expand_dims(x.data, axis).shape
    y = expand_dims(x, -1)
    y.backward()
    assert grad_of(x).shape == (2, 3)
    with pytest.raises(np.exceptions.AxisError, match="axis 3"):
        expand_dims(x, 3)


def test_flatten_keeps_the_first_axis_as_dezero() -> None:
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    assert flatten(x).shape == (2, 12)
    assert flatten(np.ones(5)).shape == (5, 1)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        flatten(np.float64(1.0))


def test_squeeze_removes_size_one_axes_as_numpy() -> None:
    x = Variable(np.ones((1, 3, 1)))
    assert squeeze(x).shape == (3,)
    assert squeeze(x, 0).shape == (3, 1)
    assert squeeze(x, (0, -1)).shape == (3,)
    squeeze(x).backward()
    assert grad_of(x).shape == (1, 3, 1)
    with pytest.raises(ValueError, match=r"cannot squeeze axis 1 of size 3 \(shape \(1, 3, 1\)\)"):
        squeeze(x, 1)


def test_numpy_methods_ravel_flatten_squeeze_astype_record_and_take_the_gradient_back() -> None:
    x = Variable(np.arange(6.0).reshape(2, 1, 3))
    weights = np.arange(1.0, 7.0)
    npa: Any = np  # NOTE: NumPy's stubs take no Variable
    for y in (x.ravel(), x.flatten(), npa.ravel(x)):
        assert isinstance(y, Variable)
        np.testing.assert_array_equal(y.data, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
        x.cleargrad()
        (y * weights).sum().backward()
        np.testing.assert_array_equal(grad_of(x), weights.reshape(2, 1, 3))
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(1).shape == (2, 3)
    with pytest.raises(ValueError, match="cannot squeeze axis 0 of size 2"):
        x.squeeze(0)
    single = x.astype(np.float32)
    assert single.dtype == np.float32
    x.cleargrad()
    (single * 2.0).sum().backward()
    assert grad_of(x).dtype == np.float64
    np.testing.assert_array_equal(grad_of(x), np.full((2, 1, 3), 2.0))
    with pytest.raises(TypeError, match="can only cast to a floating dtype, not int64"):
        x.astype(np.int64)
    with pytest.raises(TypeError, match=r"np.ravel\(\): order= is not supported"):
        npa.ravel(x, order="F")
