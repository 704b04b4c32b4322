import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import assert_float16_rounds, first_and_second, float16_gradients, grad_of
from tinygrad_ref import Variable, average, mean, sum

X = np.arange(24.0).reshape(2, 3, 4)
npa: Any = np
"""NumPy, untyped: its stubs refuse Variables, which its functions take (interop)."""


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 0), (), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_mean_match_numpy_with_every_kind_of_axis(
    axis: int | tuple[int, ...] | None, keepdims: bool
) -> None:
    for f, reference in ((sum, np.sum), (mean, np.mean)):
        x = Variable(X.copy())
        y = f(x, axis, keepdims=keepdims)
        expected = reference(X, axis=axis, keepdims=keepdims)
        assert type(y.data) is np.ndarray
        assert y.shape == np.shape(expected)
        np.testing.assert_array_equal(y.data, expected)
        y.backward()
        count = X.size // max(np.size(expected), 1)
        np.testing.assert_array_equal(grad_of(x), np.full(X.shape, 1.0 if f is sum else 1 / count))


def test_the_gradient_goes_back_to_the_reduced_axis_not_a_trailing_one() -> None:
    x = Variable(np.zeros((3, 3)))
    y = x.sum(axis=1) * np.array([1.0, 2.0, 3.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [[1.0] * 3, [2.0] * 3, [3.0] * 3])


def test_methods_are_the_functions() -> None:
    x = Variable(X)
    np.testing.assert_array_equal(x.sum().data, X.sum())
    np.testing.assert_array_equal(x.sum(-1, keepdims=True).data, X.sum(-1, keepdims=True))
    np.testing.assert_array_equal(x.mean((0, 1)).data, X.mean((0, 1)))


def test_reductions_keep_float32_and_give_0d_arrays() -> None:
    x = Variable(np.ones((2, 3), dtype=np.float32))
    for y in (x.sum(), x.mean(), x.mean(axis=0)):
        assert y.dtype == np.float32
        assert type(y.data) is np.ndarray
        y.backward()
        assert grad_of(x).dtype == np.float32
        x.cleargrad()
    assert x.sum().shape == ()


def test_second_derivative_through_a_reduction() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0]))
    first, second = first_and_second(lambda x: (x**3).mean(), x)  # x^2 and 2x
    np.testing.assert_allclose(first, [1.0, 4.0, 9.0])
    np.testing.assert_allclose(second, [2.0, 4.0, 6.0])


def test_an_axis_out_of_range_is_named_with_the_shape() -> None:
    x = Variable(np.ones((2, 3)))
    with pytest.raises(np.exceptions.AxisError, match=r"axis 2 is out of bounds .* \(2, 3\)"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match=r"axis -3 is out of bounds .* \(2, 3\)"):
        mean(x, (0, -3))
    with pytest.raises(IndexError, match=r"axis 0 is out of bounds for an array of shape \(\)$"):
        sum(Variable(1.0), 0)


def test_a_repeated_or_non_integer_axis_is_refused() -> None:
    x = Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"repeated axis in \(1, -1\) .* \(2, 3\)"):
        x.sum(axis=(1, -1))
    with pytest.raises(TypeError, match="must be an int, a tuple of ints or None, not float"):
        x.mean(axis=1.0)  # type: ignore[arg-type]  # NOTE: the point is the runtime check


def test_keepdims_is_keyword_only_as_in_numpy() -> None:
    # NOTE: ndarray.sum(0, True) would mean dtype=True; refusing it keeps ported code honest.
    x = Variable(np.ones((2, 3)))
    with pytest.raises(TypeError):
        x.sum(0, True)  # type: ignore[call-arg, arg-type]  # NOTE: the runtime check


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 0), (), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_and_min_match_numpy_and_pass_the_gradient_to_the_extreme(
    axis: int | tuple[int, ...] | None, keepdims: bool
) -> None:
    data = np.random.default_rng(0).permutation(24).reshape(2, 3, 4).astype(np.float64)
    for f, reference in ((tinygrad_ref.max, np.max), (tinygrad_ref.min, np.min)):
        x = Variable(data.copy())
        y = f(x, axis, keepdims=keepdims)
        expected = reference(data, axis=axis, keepdims=keepdims)
        assert type(y.data) is np.ndarray
        np.testing.assert_array_equal(y.data, expected)
        y.backward()
        extreme = reference(data, axis=axis, keepdims=True)
        np.testing.assert_array_equal(grad_of(x), (data == extreme).astype(np.float64))


def test_max_and_min_split_the_gradient_evenly_among_ties() -> None:
    x = Variable(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, -1.0]]))
    (x.max(axis=1) * np.array([1.0, 3.0, 2.0])).backward()
    np.testing.assert_array_equal(grad_of(x), [[0, 0.5, 0.5], [1, 1, 1], [0, 2, 0]])
    x.cleargrad()
    x.min().backward()
    np.testing.assert_array_equal(grad_of(x), [[0, 0, 0], [0, 0, 0], [0, 0, 1]])
    x.cleargrad()
    tinygrad_ref.min(x, 0, keepdims=True).backward()
    np.testing.assert_array_equal(grad_of(x), [[0, 0, 0], [0, 1, 0], [1, 0, 1]])


def test_max_keeps_float32_and_has_a_zero_second_derivative() -> None:
    x = Variable(np.array([1.0, 4.0, 2.0], dtype=np.float32))
    first, second = first_and_second(lambda v: v.max() * v.max(), x)
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, [0.0, 8.0, 0.0])
    np.testing.assert_array_equal(second, [0.0, 2.0, 0.0])


def test_average_is_dezeros_name_for_mean() -> None:
    x = Variable(X.copy())
    np.testing.assert_array_equal(average(x, 1, keepdims=True).data, X.mean(1, keepdims=True))
    average(x).backward()
    np.testing.assert_array_equal(grad_of(x), np.full(X.shape, 1 / X.size))


def test_max_and_min_take_keepdims_by_keyword_only() -> None:
    x = Variable(np.ones((2, 3)))
    with pytest.raises(TypeError):
        x.max(0, True)  # type: ignore[call-arg]  # NOTE: the point is the runtime check
    with pytest.raises(TypeError):
        tinygrad_ref.min(x, 0, True)  # type: ignore[call-arg]  # NOTE: the point is the runtime check


# NOTE: a size, count or scale meeting a low-precision dtype: more than 65,504 elements
# overflow float16 if the count is divided in it.
BIG = 70_000


@pytest.mark.parametrize(
    ("f", "shape", "exact"),
    [
        (lambda x: mean(x), (BIG,), 1 / BIG),
        (lambda x: mean(x, 0), (BIG, 2), 1 / BIG),
        (lambda x: mean(x, (0, 1), keepdims=True), (BIG // 2, 2, 3), 1 / BIG),
        (lambda x: x.mean(-1), (2, BIG), 1 / BIG),
        (lambda x: sum(x * 1e-3), (BIG,), float(np.float16(1e-3))),
        (lambda x: sum(x * 1e-3, 0, keepdims=True), (BIG, 2), float(np.float16(1e-3))),
    ],
    ids=["mean", "mean axis 0", "mean two axes", "mean method", "sum", "sum axis 0"],
)
def test_float16_reductions_over_more_elements_than_float16_counts(
    f: Callable[[Variable], Variable], shape: tuple[int, ...], exact: float
) -> None:
    for g in float16_gradients(f, np.ones(shape)):
        assert g.shape == shape
        assert_float16_rounds(g, exact)


def test_float16_mean_forward_is_numpys() -> None:
    data = np.full(BIG, 0.5, dtype=np.float16)
    y = mean(Variable(data))
    assert y.dtype == np.float16
    assert y.data == np.mean(data)


def _products_of_the_others(x: np.ndarray) -> np.ndarray:
    """The derivative of a product by each element, by brute force."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize(
    "values", [[2.0, 3.0, 4.0], [0.0, 3.0, 4.0], [0.0, 0.0, 4.0], [0.0, 0.0, 0.0], [5.0]]
)
def test_prod_gradient_is_the_product_of_the_others_also_with_zeros(values: list[float]) -> None:
    data = np.array(values)
    x = Variable(data.copy())
    y = tinygrad_ref.prod(x)
    assert y.data == np.prod(data)
    y.backward(create_graph=True)
    np.testing.assert_array_equal(grad_of(x), _products_of_the_others(data))
    # NOTE: the second derivative d2 y / dx_i dx_j is the product of all but i and j, also
    # where x_i or x_j is 0: what a rule that masks zeros out would get wrong.
    gx = x.grad
    assert gx is not None
    x.cleargrad()
    tinygrad_ref.sum(gx).backward()
    expected = [
        np.sum([np.prod(np.delete(data, [i, j])) for j in range(data.size) if j != i])
        for i in range(data.size)
    ]
    np.testing.assert_array_equal(grad_of(x), expected)


def test_prod_over_an_axis_with_a_zero_matches_the_product_of_the_others() -> None:
    data = np.array([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0]])
    for axis in (0, 1, -1, None):
        x = Variable(data.copy())
        tinygrad_ref.prod(x, axis).backward()
        rows = data.T if axis == 0 else data.reshape(1, -1) if axis is None else data
        expected = np.array([_products_of_the_others(r) for r in rows])
        expected = expected.T if axis == 0 else expected.reshape(data.shape)
        np.testing.assert_array_equal(grad_of(x), expected)


def _exact_product(values: np.ndarray) -> float:
    """The product of ``values`` rounded once, from exact rational arithmetic."""
    return float(math.prod((Fraction(float(v)) for v in values), start=Fraction(1)))


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        # NOTE: 1e8 * -3.85e-36 * 2.2e-16 is a float32 subnormal: NumPy's product in that order
        # keeps 7 of its 24 bits (0.7% off), or none with a smaller factor.
        ([1e8, -3.85e-36, 2.2e-16, 3e7, 1e5, 2.0], np.float32),
        ([3e-30, 4e-30, 5e29, 6e29, 0.5], np.float32),
        ([1e200, 1e200, 1e-300, 1e-100, 3.0], np.float64),  # NumPy: inf
        ([1e-300, 1e-300, 1e300, 1e300, 3.0], np.float64),  # NumPy: 0
    ],
)
@pytest.mark.parametrize("create_graph", [False, True])
def test_prod_and_its_gradient_round_once_where_partial_products_leave_the_range(
    values: list[float], dtype: type[np.floating[Any]], create_graph: bool
) -> None:
    data = np.array(values, dtype=dtype)
    x = Variable(data.copy())
    y = tinygrad_ref.prod(x)
    tolerance = 4 * float(np.finfo(dtype).eps)
    np.testing.assert_allclose(y.data, _exact_product(data), rtol=tolerance, atol=0)
    y.backward(create_graph=create_graph)
    others = [_exact_product(np.delete(data, i)) for i in range(data.size)]
    np.testing.assert_allclose(grad_of(x), others, rtol=tolerance, atol=0)


def test_std_gradient_is_zero_where_the_deviation_is_zero_as_pytorchs() -> None:
    x = Variable(np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]]))
    y = tinygrad_ref.std(x, axis=1)
    np.testing.assert_array_equal(y.data, [0.0, np.std([1.0, 2.0, 3.0])])
    y.backward()
    np.testing.assert_allclose(grad_of(x), [[0.0] * 3, [-1 / 3 / y.data[1], 0, 1 / 3 / y.data[1]]])


def test_var_and_std_take_ddof_as_numpy() -> None:
    x = Variable(X)
    for f, reference in ((tinygrad_ref.var, np.var), (tinygrad_ref.std, np.std)):
        np.testing.assert_allclose(f(x, (0, 2), ddof=1).data, reference(X, (0, 2), ddof=1))
        np.testing.assert_allclose(npa.var(x, axis=1, ddof=1).data, np.var(X, axis=1, ddof=1))
    np.testing.assert_allclose(x.std(-1, keepdims=True).data, X.std(-1, keepdims=True))


def test_cumsum_and_trace_match_numpy() -> None:
    x = Variable(X)
    np.testing.assert_array_equal(npa.cumsum(x).data, np.cumsum(X))
    np.testing.assert_array_equal(npa.cumsum(x, axis=-2).data, np.cumsum(X, axis=-2))
    np.testing.assert_array_equal(npa.trace(x).data, np.trace(X))
    np.testing.assert_array_equal(
        npa.trace(x, 1, axis1=2, axis2=0).data, np.trace(X, 1, axis1=2, axis2=0)
    )


def test_trace_of_fewer_than_two_dimensions_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"trace needs an array of at least 2 dimensions"):
        tinygrad_ref.trace(Variable(np.ones(3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_std_second_derivatives_away_from_equal_elements(dtype: type[np.floating]) -> None:
    """The property suite checks std's first derivatives only (see its spec)."""
    data: np.ndarray = np.array([[0.5, -1.25, 2.0], [3.0, 1.0, -2.5]], dtype=dtype)
    for axis, ddof in ((None, 0), (1, 1), (0, 0)):
        f = functools.partial(tinygrad_ref.std, axis=axis, ddof=ddof)
        assert tinygrad_ref.gradgradcheck(f, Variable(data.copy()))


def test_cumprod_gradient_with_one_zero_and_its_second_derivative() -> None:
    # NOTE: by hand, d/dx_j sum(cumprod(x)) = sum over i >= j of the product of x_k, k <= i,
    # k != j; for [2, 3, 0, 4]: [1 + 3, 2, 2*3 + 2*3*4, 0]. The second: d/dx_m of the sum of
    # those, the products leaving out x_j and x_m: [1 + 15, 1 + 10, 15 + 10 + 6, 6].
    x = Variable(np.array([2.0, 3.0, 0.0, 4.0]))
    y = tinygrad_ref.cumprod(x)
    np.testing.assert_array_equal(y.data, [2.0, 6.0, 0.0, 0.0])
    first, second = first_and_second(tinygrad_ref.cumprod, x)
    np.testing.assert_array_equal(first, [4.0, 2.0, 30.0, 0.0])
    np.testing.assert_array_equal(second, [16.0, 11.0, 31.0, 6.0])


def test_cumprod_gradient_with_several_zeros() -> None:
    # NOTE: [2, 0, 3, 0, 5]: x_0's is 1 (its own prefix); x_1's 2 + 2*3 (its prefixes until
    # the next zero); every later one's prefixes hold x_1 = 0.
    x = Variable(np.array([2.0, 0.0, 3.0, 0.0, 5.0]))
    tinygrad_ref.cumprod(x).backward()
    np.testing.assert_array_equal(grad_of(x), [1.0, 8.0, 0.0, 0.0, 0.0])


def test_cumprod_along_an_axis_matches_numpy_and_the_first_rows_gradient() -> None:
    data = np.array([[0.5, 2.0, 0.0], [4.0, 0.0, 3.0]])
    for axis, expected in [
        (0, [[5.0, 1.0, 4.0], [0.5, 2.0, 0.0]]),
        (1, [[1.0 + 2.0, 0.5, 1.0], [1.0, 4.0 + 12.0, 0.0]]),
    ]:
        x = Variable(data.copy())
        y = npa.cumprod(x, axis=axis)
        np.testing.assert_array_equal(y.data, np.cumprod(data, axis=axis))
        y.backward()
        np.testing.assert_array_equal(grad_of(x), expected)
    flat = Variable(data.copy()).cumprod()
    np.testing.assert_array_equal(flat.data, np.cumprod(data))
    assert flat.shape == (6,)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # NOTE: row j, d cumprod / d x_j by hand: [1, x1, x1 x2], [0, x0, x0 x2], [0, 0, x0 x1]
        ([2.0, 0.0, 3.0], [[1.0, 0.0, 0.0], [0.0, 2.0, 6.0], [0.0, 0.0, 0.0]]),
        ([2.0, 1.0, 3.0], [[1.0, 1.0, 3.0], [0.0, 2.0, 6.0], [0.0, 0.0, 2.0]]),
    ],
)
def test_cumprod_batched_tangents_are_each_tangents_product(
    values: list[float], expected: list[list[float]]
) -> None:
    for x in (Variable(np.array(values)), np.array(values)):
        _, columns = tinygrad_ref.jvp(tinygrad_ref.cumprod, (x,), (np.eye(3),), batched=True)
        np.testing.assert_array_equal(columns.data, expected)


def test_ptp_gradient_is_maxs_share_less_mins() -> None:
    x = Variable(np.array([[1.0, 2.0, 2.0], [3.0, 3.0, 0.0], [4.0, 4.0, 4.0]]))
    y = npa.ptp(x, axis=1)
    np.testing.assert_array_equal(y.data, [1.0, 3.0, 0.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [[-1.0, 0.5, 0.5], [0.5, 0.5, -1.0], [0.0, 0.0, 0.0]])
    whole = Variable(np.array([[1.0, 5.0], [5.0, 1.0]]))
    y = tinygrad_ref.ptp(whole, keepdims=True)
    assert y.shape == (1, 1)
    assert y.data[0, 0] == 4.0
    y.backward()
    np.testing.assert_array_equal(grad_of(whole), [[-0.5, 0.5], [0.5, -0.5]])
    assert not hasattr(whole, "ptp"), "NumPy 2 removed ndarray.ptp"
