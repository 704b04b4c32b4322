"""linear, embed_id, dropout, Parameter and the Variable methods dot and matmul."""

import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import grad_of
from tinygrad_ref import (
    Config,
    Parameter,
    Variable,
    dropout,
    embed_id,
    linear,
    linear_simple,
    using_config,
)


def test_linear_by_hand() -> None:
    x = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    w = Variable(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]))
    b = Variable(np.array([10.0, 20.0, 30.0]))
    for f in (linear, linear_simple):
        for grads in (x, w, b):
            grads.cleargrad()
        y = f(x, w, b)
        np.testing.assert_array_equal(y.data, [[11.0, 22.0, 30.0], [13.0, 24.0, 32.0]])
        (y * np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]])).backward()
        # NOTE: gx = gy @ W.T, gW = x.T @ gy, gb = gy summed over the batch, written out
        np.testing.assert_array_equal(grad_of(x), [[7.0, -1.0], [2.0, -1.0]])
        np.testing.assert_array_equal(grad_of(w), [[1.0, 2.0, 6.0], [2.0, 4.0, 10.0]])
        np.testing.assert_array_equal(grad_of(b), [1.0, 2.0, 4.0])


def test_linear_without_bias_and_with_integer_data_as_dezero() -> None:
    x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
    y = linear(x, x.data.T)
    np.testing.assert_array_equal(y.data, [[14.0, 32.0], [32.0, 77.0]])
    assert linear_simple(x, x.data.T).data.tolist() == [[14.0, 32.0], [32.0, 77.0]]


def test_linear_gradients_keep_each_input_dtype() -> None:
    x = Variable(np.ones((2, 3), dtype=np.float32))
    w = Variable(np.ones((3, 4)))
    linear(x, w, np.zeros(4, dtype=np.float32)).backward()
    assert grad_of(x).dtype == np.float32
    assert grad_of(w).dtype == np.float64


def test_linear_refuses_shapes_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match=r"x of shape \(\.\.\., n\) and W of shape \(n, m\)"):
        linear(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"a bias of shape \(3,\) for a result of \(2, 4\)"):
        linear(np.ones((2, 3)), np.ones((3, 4)), np.ones(3))


def test_embed_id_selects_rows_and_accumulates_repeated_ids() -> None:
    w = Variable(np.arange(6.0).reshape(3, 2))
    for ids in (np.array([2, 0, 2]), np.array([2.0, 0.0, 2.0]), Variable(np.array([2, 0, 2]))):
        w.cleargrad()
        y = embed_id(ids, w)
        np.testing.assert_array_equal(y.data, [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]])
        y.backward()
        np.testing.assert_array_equal(grad_of(w), [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match=r"embed_id's ids must lie in \[0, 3\).*got 3"):
        embed_id(np.array([3]), w)
    with pytest.raises(ValueError, match=r"embed_id's ids must be integers; got 0\.5"):
        embed_id(np.array([0.5]), w)


def test_dropout_mask_comes_from_numpys_global_seed() -> None:
    x = Variable(np.arange(1.0, 13.0).reshape(3, 4))
    np.random.seed(0)  # noqa: NPY002  # NOTE: DeZero's tests fix the mask this way
    kept = np.random.rand(3, 4) > 0.5  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    y = dropout(x, 0.5)
    np.testing.assert_allclose(y.data, np.where(kept, x.data / 0.5, 0.0), rtol=1e-15)
    y.backward()
    np.testing.assert_allclose(grad_of(x), np.where(kept, 1 / 0.5, 0.0), rtol=1e-15)
    assert 0 < kept.sum() < kept.size


def test_dropout_keeps_the_dtype_and_is_the_identity_at_ratio_0() -> None:
    x = np.ones((5, 5), dtype=np.float32)
    assert dropout(x).dtype == np.float32
    np.testing.assert_array_equal(dropout(x, 0.0).data, x)


def test_dropout_in_test_mode_is_the_input_itself() -> None:
    x = Variable(np.ones(4))
    with tinygrad_ref.test_mode():
        assert not Config.train
        assert dropout(x) is x
    with using_config("train", False):
        np.testing.assert_array_equal(dropout(np.ones(3)).data, np.ones(3))
    assert Config.train


@pytest.mark.parametrize("ratio", [1.0, -0.1, 1.5])
def test_dropout_ratio_outside_0_1_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match=r"dropout_ratio must lie in \[0, 1\); got"):
        dropout(np.ones(3), ratio)


def test_parameter_is_a_variable_with_dot_and_matmul() -> None:
    w = Parameter(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert isinstance(w, Variable)
    x = Variable(np.array([1.0, -1.0]))
    for y in (w.dot(x), w.matmul(x), w @ x):
        np.testing.assert_array_equal(y.data, [-1.0, -1.0])
    w.dot(x).backward()
    np.testing.assert_array_equal(grad_of(w), [[1.0, -1.0], [1.0, -1.0]])
    assert isinstance(w, Parameter)


def test_linear_skips_the_gradient_of_constant_data_only() -> None:
    data = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = Variable(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]))
    y = linear(data, w)
    assert y.creator is not None
    assert [y.creator.needs_grad(i) for i in range(2)] == [False, True]
    y.backward()
    x = Variable(data)
    w_again = Variable(w.data)
    linear(x, w_again).backward()
    np.testing.assert_array_equal(grad_of(w), grad_of(w_again))
    np.testing.assert_array_equal(grad_of(x), [[3.0, 0.0], [3.0, 0.0]])
