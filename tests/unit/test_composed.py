from typing import Any

import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import grad_of
from tinygrad_ref import Variable

npa: Any = np
"""NumPy, untyped: its stubs refuse Variables, which its functions take (interop)."""

X = np.arange(12.0).reshape(3, 4) ** 1.5


def test_diff_matches_numpy_with_its_parameters() -> None:
    x = Variable(X)
    for params in ({}, {"n": 2}, {"axis": 0}, {"prepend": 0.5}, {"append": X[:, :1], "n": 3}):
        np.testing.assert_allclose(npa.diff(x, **params).data, np.diff(X, **params))
    y = tinygrad_ref.diff(x, n=2, axis=0)
    tinygrad_ref.sum(y).backward()
    # NOTE: each column y = x0 - 2 x1 + x2
    np.testing.assert_array_equal(grad_of(x), np.array([[1.0], [-2.0], [1.0]]) * np.ones(4))


def test_diff_refuses_a_negative_order_and_a_0d_array() -> None:
    with pytest.raises(ValueError, match="diff's order n must be non-negative, got -1"):
        tinygrad_ref.diff(Variable(X), n=-1)
    with pytest.raises(ValueError, match="diff needs an array of at least 1 dimension"):
        tinygrad_ref.diff(Variable(np.array(1.0)))


def test_average_with_weights_matches_numpy() -> None:
    x = Variable(X)
    w = np.array([1.0, 2.0, 0.5, 0.25])
    np.testing.assert_allclose(npa.average(x, axis=1, weights=w).data, np.average(X, 1, w))
    np.testing.assert_allclose(
        tinygrad_ref.average(x, None, np.ones_like(X)).data, np.average(X, weights=np.ones_like(X))
    )
    y = tinygrad_ref.average(x, 1, w)
    tinygrad_ref.sum(y).backward()
    np.testing.assert_allclose(grad_of(x), np.broadcast_to(w / w.sum(), X.shape))


def test_average_refuses_weights_it_cannot_use() -> None:
    x = Variable(X)
    with pytest.raises(ValueError, match=r"weights of shape \(3,\) must have x's shape"):
        tinygrad_ref.average(x, 1, np.ones(3))
    with pytest.raises(ZeroDivisionError, match="weights sum to zero"):
        tinygrad_ref.average(x, 0, np.zeros(3))
    with pytest.raises(TypeError, match="weights must be a constant array, not a Variable"):
        tinygrad_ref.average(x, 0, Variable(np.ones(3)))  # type: ignore[arg-type]  # NOTE: the refusal is the test
