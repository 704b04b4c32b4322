from typing import Any

import numpy as np
import pytest

from tests.helpers import first_and_second, grad_of
from tinygrad_ref import Variable, get_item
from tinygrad_ref.ops import get_item_grad

DATA = np.arange(12.0).reshape(3, 4)


@pytest.mark.parametrize(
    "idx",
    [
        1,
        -1,
        slice(1, None),
        slice(None, None, -2),
        (1, 2),
        (slice(None), 0),
        (Ellipsis, -1),
        (None, 1),
        [2, 0],
        np.array([0, 2, 2]),
        (np.array([0, 1]), np.array([3, 3])),
        DATA > 5,
        (),
    ],
)
def test_indexing_matches_numpy_and_scatters_ones_back(idx: Any) -> None:
    x = Variable(DATA.copy())
    y = x[idx]
    assert type(y.data) is np.ndarray
    np.testing.assert_array_equal(y.data, DATA[idx])
    y.backward()
    selected = np.zeros_like(DATA)
    np.add.at(selected, idx, 1.0)
    np.testing.assert_array_equal(grad_of(x), selected)


def test_repeated_indices_accumulate_their_gradients() -> None:
    x = Variable(np.array([10.0, 20.0, 30.0]))
    y = x[np.array([0, 0, 2, 0])] * np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(y.data, [10.0, 20.0, 90.0, 40.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [7.0, 0.0, 3.0])


def test_get_item_is_indexing() -> None:
    x = Variable(DATA)
    np.testing.assert_array_equal(get_item(x, (0, slice(1, 3))).data, DATA[0, 1:3])


def test_second_derivative_through_indexing() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0]))
    first, second = first_and_second(lambda x: x[[0, 0, 2]] ** 3, x)  # 2 x0^3 + x2^3
    np.testing.assert_array_equal(first, [6.0, 0.0, 27.0])
    np.testing.assert_array_equal(second, [12.0, 0.0, 18.0])


def test_changing_the_index_array_afterwards_changes_no_gradient() -> None:
    idx = np.array([0, 0])
    x = Variable(np.zeros(3))
    y = x[idx]
    idx[:] = 2
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [2.0, 0.0, 0.0])


def test_iterating_gives_the_rows_and_a_0d_variable_is_not_iterable() -> None:
    x = Variable(DATA)
    rows = list(x)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].data, DATA[2])
    with pytest.raises(TypeError, match="iteration over a 0-d Variable"):
        list(Variable(1.0))


def test_an_index_out_of_bounds_names_the_axis() -> None:
    x = Variable(DATA)
    with pytest.raises(IndexError, match="index 4 is out of bounds for axis 1 with size 4"):
        x[0, 4]
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0 with size 3"):
        x[np.array([0, -4])]


def test_bad_indices_are_refused() -> None:
    x = Variable(DATA)
    with pytest.raises(IndexError, match="only integers, slices"):
        x[1.5]  # type: ignore[index]  # NOTE: the point is the runtime check
    with pytest.raises(TypeError, match="cannot index with a Variable"):
        x[Variable(np.array([0.0]))]  # type: ignore[index]  # NOTE: the point is the runtime check


@pytest.mark.parametrize("create_graph", [False, True])
def test_get_item_grad_of_a_broadcasting_gradient_has_its_inputs_shape(create_graph: bool) -> None:
    gy = Variable(np.array([2.0]))
    gx = get_item_grad(gy, [0, 1, 1], (3,))
    np.testing.assert_array_equal(gx.data, [2.0, 4.0, 0.0])
    (gx * np.array([1.0, 10.0, 100.0])).sum().backward(create_graph=create_graph)
    assert grad_of(gy).shape == (1,)
    np.testing.assert_array_equal(grad_of(gy), [21.0])
