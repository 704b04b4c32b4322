import numpy as np
import pytest

from tinygrad_ref import Variable, broadcast_to, cast, sum_to


def grad_of(x: Variable) -> np.ndarray:
    assert x.grad is not None
    return x.grad.data


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
