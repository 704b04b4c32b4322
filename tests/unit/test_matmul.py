import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, matmul
from tinygrad_ref.ops import MatMul

A = np.arange(6.0).reshape(2, 3)
B = np.arange(12.0).reshape(3, 4) - 5.0


def test_matrix_times_matrix_and_its_gradients() -> None:
    a, b = Variable(A), Variable(B)
    y = a @ b
    np.testing.assert_array_equal(y.data, A @ B)
    y.backward()
    np.testing.assert_array_equal(grad_of(a), np.ones((2, 4)) @ B.T)
    np.testing.assert_array_equal(grad_of(b), A.T @ np.ones((2, 4)))


def test_two_vectors_give_their_dot_product_as_a_0d_array() -> None:
    a, b = Variable(np.array([1.0, 2.0, 3.0])), Variable(np.array([4.0, 5.0, 6.0]))
    y = matmul(a, b)
    assert type(y.data) is np.ndarray
    assert y.shape == ()
    assert y.data == 32.0
    y.backward()
    np.testing.assert_array_equal(grad_of(a), b.data)
    np.testing.assert_array_equal(grad_of(b), a.data)


def test_a_vector_is_a_row_on_the_left_and_a_column_on_the_right() -> None:
    v, w = Variable(np.array([1.0, -1.0])), Variable(np.array([1.0, 0.0, 2.0]))
    m = Variable(A)
    left, right = v @ m, m @ w
    np.testing.assert_array_equal(left.data, v.data @ A)
    np.testing.assert_array_equal(right.data, A @ w.data)
    (left.sum() + right.sum()).backward()
    np.testing.assert_array_equal(grad_of(v), A.sum(axis=1))
    np.testing.assert_array_equal(grad_of(w), A.sum(axis=0))
    np.testing.assert_array_equal(
        grad_of(m), np.outer(v.data, np.ones(3)) + np.outer(np.ones(2), w.data)
    )


def test_batch_axes_broadcast_and_their_gradients_sum_back() -> None:
    a = Variable(np.arange(24.0).reshape(2, 1, 3, 4))
    b = Variable(np.ones((5, 4, 2)))
    y = a @ b
    assert y.shape == (2, 5, 3, 2)
    y.backward()
    np.testing.assert_array_equal(grad_of(a), np.full((2, 1, 3, 4), 10.0))
    np.testing.assert_array_equal(
        grad_of(b), np.broadcast_to(a.data.sum(axis=(0, 1, 2))[:, None], (5, 4, 2))
    )


def test_an_ndarray_on_either_side() -> None:
    a = Variable(A)
    left, right = B.T @ a.T, a @ B
    assert isinstance(left, Variable)
    np.testing.assert_array_equal(left.data, B.T @ A.T)
    np.testing.assert_array_equal(right.data, A @ B)
    (left.sum() + right.sum()).backward()
    np.testing.assert_array_equal(grad_of(a), 2 * np.ones((2, 4)) @ B.T)


def test_float32_with_float64_gives_float64_and_keeps_each_gradient_dtype() -> None:
    a = Variable(A.astype(np.float32))
    b = Variable(B)
    y = a @ b
    assert y.dtype == np.float64
    y.backward()
    assert grad_of(a).dtype == np.float32
    assert grad_of(b).dtype == np.float64


def test_second_derivative_of_a_quadratic_form() -> None:
    m = np.array([[2.0, 1.0], [0.0, 3.0]])
    x = Variable(np.array([1.0, -2.0]))
    y = x @ m @ x  # gradient (m + m.T) x, Hessian m + m.T
    y.backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    np.testing.assert_array_equal(gx.data, (m + m.T) @ x.data)
    x.cleargrad()
    (gx @ np.array([1.0, 0.0])).backward()
    np.testing.assert_array_equal(grad_of(x), (m + m.T)[0])


def test_mismatched_inner_dimensions_name_the_shapes() -> None:
    with pytest.raises(
        ValueError, match=r"matmul of shapes \(2, 3\) and \(2, 4\): the inner dimensions 3 and 2"
    ):
        Variable(A) @ np.ones((2, 4))
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(2,\): the inner dimensions 3 and 2"):
        matmul(np.ones(3), Variable(np.ones(2)))


def test_a_scalar_operand_is_refused() -> None:
    with pytest.raises(ValueError, match=r"at least 1 dimension, got shapes \(\) and \(2, 3\)"):
        matmul(2.0, Variable(A))


def test_batch_axes_that_do_not_broadcast_are_named() -> None:
    with pytest.raises(
        ValueError, match=r"the batch dimensions \(2,\) and \(3,\) do not broadcast"
    ):
        Variable(np.ones((2, 2, 3))) @ np.ones((3, 3, 1))


def test_the_gradient_of_a_constant_operand_is_not_computed() -> None:
    x, w = np.ones((4, 3)), Variable(np.ones((3, 2)))
    y = x @ w
    assert isinstance(y.creator, MatMul)
    gy = np.ones((4, 2))
    ga, gb = y.creator.vjp(gy, x, w.data, y.data)
    assert ga is None
    np.testing.assert_array_equal(gb, x.T @ gy)
    z = w.T @ x.T
    assert isinstance(z.creator, MatMul)
    ga, gb = z.creator.vjp(gy.T, w.data.T, x.T, z.data)
    assert gb is None
    np.testing.assert_array_equal(ga, gy.T @ x)


@pytest.mark.parametrize("create_graph", [False, True])
def test_the_skipped_gradient_is_right_when_that_operand_is_a_variable(create_graph: bool) -> None:
    a = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    b = np.array([[1.0, -1.0], [2.0, 0.5]])
    (a @ b).sum().backward(create_graph=create_graph)
    np.testing.assert_array_equal(grad_of(a), np.ones((2, 2)) @ b.T)
    c = Variable(b.copy())
    (a.data @ c).sum().backward(create_graph=create_graph)
    np.testing.assert_array_equal(grad_of(c), a.data.T @ np.ones((2, 2)))
