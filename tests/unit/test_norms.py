"""linalg.norm: NumPy's values and spelling for every order, the gradients of the orders
composed of other ops against central differences, the conventions at 0 and at ties, and the
orders refused by name."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_ref import Variable
from tinygrad_ref.interop import supported
from tinygrad_ref.ops import norm
from tinygrad_ref.transforms import jvp

RNG = np.random.default_rng(31)
npa: Any = np
"""NumPy, typed to take Variables (its stubs take arrays)."""
inf = np.inf

VECTOR_ORDERS = [None, 1, 2, 3, 0.5, 1.5, inf, -inf]
MATRIX_ORDERS = [None, "fro", "nuc", 1, -1, 2, -2, inf, -inf]


def gradient(f: Callable[[Variable], Variable], a: np.ndarray) -> np.ndarray:
    x = Variable(a)
    f(x).backward()
    assert x.grad is not None
    return x.grad.data


def central_differences(f: Callable[[np.ndarray], Any], a: np.ndarray) -> np.ndarray:
    """The gradient of the sum of ``f``, by central differences of step 1e-6."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[i] = 1e-6
        g[i] = (np.sum(f(a + step)) - np.sum(f(a - step))) / 2e-6
    return g


@pytest.mark.parametrize("ord", VECTOR_ORDERS)
@pytest.mark.parametrize("axis", [0, -1, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vector_norms_match_numpy_and_its_spelling(ord: Any, axis: int, keepdims: bool) -> None:
    a = RNG.standard_normal((3, 4))
    y = npa.linalg.norm(Variable(a), ord, axis, keepdims)
    assert isinstance(y, Variable)
    assert y.creator is not None
    np.testing.assert_allclose(y.data, np.linalg.norm(a, ord, axis, keepdims), rtol=1e-14)


@pytest.mark.parametrize("ord", MATRIX_ORDERS)
@pytest.mark.parametrize("axis", [(0, 1), (1, 0), (-1, 0), (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norms_of_stacks_match_numpy(
    ord: Any, axis: tuple[int, int], keepdims: bool
) -> None:
    a = RNG.standard_normal((3, 4, 2))
    y = npa.linalg.norm(Variable(a), ord, axis, keepdims)
    np.testing.assert_allclose(y.data, np.linalg.norm(a, ord, axis, keepdims), rtol=1e-13)


@pytest.mark.parametrize(("shape", "ord"), [((5,), 3), ((3, 4), "nuc"), ((2, 3, 4), None)])
def test_axis_none_takes_the_whole_array(shape: tuple[int, ...], ord: Any) -> None:
    a = RNG.standard_normal(shape)
    np.testing.assert_allclose(norm(a, ord).data, np.linalg.norm(a, ord), rtol=1e-14)


@pytest.mark.parametrize("ord", VECTOR_ORDERS)
def test_vector_gradients_match_central_differences(ord: Any) -> None:
    a = RNG.standard_normal((3, 5))
    actual = gradient(lambda x: norm(x, ord, axis=1), a)
    expected = central_differences(lambda b: np.linalg.norm(b, ord, axis=1), a)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ord", MATRIX_ORDERS)
def test_matrix_gradients_match_central_differences(ord: Any) -> None:
    a = RNG.standard_normal((2, 3, 4))
    actual = gradient(lambda x: norm(x, ord, axis=(1, 2)), a)
    expected = central_differences(lambda b: np.linalg.norm(b, ord, axis=(1, 2)), a)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ord", [*VECTOR_ORDERS, "fro", "nuc", 1, -1, 2, -2, inf, -inf])
def test_the_gradient_at_the_zero_vector_or_matrix_is_zero(ord: Any) -> None:
    matrix = isinstance(ord, str) or ord in (-1, 2, -2)
    a = np.zeros((3, 4) if matrix else (4,))
    g = gradient(lambda x: norm(x, ord, axis=(0, 1) if matrix else 0), a)
    np.testing.assert_array_equal(g, np.zeros_like(a), err_msg=f"ord={ord}: not 0 at 0")


def test_a_p_below_one_has_no_slope_at_a_zero_element() -> None:
    # NOTE: y = (|0|^.5 + |4|^.5)^2 = 4; dy/dx1 = (|x1| / y)^(p - 1) = 1
    g = gradient(lambda x: norm(x, 0.5), np.array([0.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


@pytest.mark.parametrize(
    ("ord", "a", "expected"),
    [
        (inf, [3.0, -3.0, 1.0], [0.5, -0.5, 0.0]),
        (-inf, [1.0, -1.0, 3.0], [0.5, -0.5, 0.0]),
        (1, [2.0, 0.0, -1.0], [1.0, 0.0, -1.0]),
    ],
)
def test_ties_of_the_largest_magnitude_split_the_gradient(
    ord: float, a: list[float], expected: list[float]
) -> None:
    np.testing.assert_array_equal(gradient(lambda x: norm(x, ord), np.array(a)), expected)


def test_tied_column_sums_split_the_matrix_1_norm() -> None:
    a = np.array([[1.0, -2.0], [-1.0, 0.0]])
    g = gradient(lambda x: norm(x, 1), a)
    np.testing.assert_array_equal(g, [[0.5, -0.5], [-0.5, 0.0]])


@pytest.mark.parametrize("ord", [2, 3, 0.5, "fro"])
def test_a_batch_of_tangents_gives_one_derivative_each(ord: Any) -> None:
    a = RNG.standard_normal((3, 4))
    tangents = RNG.standard_normal((5, 3, 4))
    axis = (0, 1) if ord == "fro" else 1
    _, batch = jvp(lambda x: norm(x, ord, axis), (a,), (tangents,), batched=True)
    for k in range(5):
        _, one = jvp(lambda x: norm(x, ord, axis), (a,), (tangents[k],))
        np.testing.assert_allclose(np.asarray(batch)[k], np.asarray(one), rtol=1e-14)


def test_it_is_listed_among_the_supported_numpy_functions() -> None:
    assert "np.linalg.norm" in supported()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x: norm(x, 0, axis=0),
            "ord=0 \\(NumPy's count of nonzero elements\\)",
        ),
        (lambda x: norm(x, -2, axis=0), "negative ord \\(-2\\) is not supported"),
        (lambda x: norm(x, -0.5, axis=0), "negative ord \\(-0.5\\) is not supported"),
        (lambda x: norm(x, "fro", axis=0), "norm of a vector: ord must be"),
        (lambda x: norm(x, 3, axis=(0, 1)), "norm of a matrix: ord must be .*got 3"),
        (lambda x: norm(x, "nucl", axis=(0, 1)), "norm of a matrix: ord must be"),
        (lambda x: norm(x, 1, axis=(0, 0)), "repeated axis in \\(0, 0\\)"),
        (lambda x: norm(x, None, axis=(0, 1, 2)), "one axis .* or two .*, got axis"),
        (lambda x: norm(x, 1), "needs a 1-d or 2-d array, got shape \\(2, 3, 4\\)"),
    ],
)
def test_refused_orders_and_axes_are_named(call: Callable[[Variable], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(Variable(np.ones((2, 3, 4))))
