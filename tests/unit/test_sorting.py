from typing import Any

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, partition, select, sort

npa: Any = np


def test_sort_sends_each_sorted_gradient_to_its_element() -> None:
    x = Variable(np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]]))
    y = sort(x, axis=-1)
    np.testing.assert_array_equal(y.data, np.sort(x.data))
    (y * np.array([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [[100.0, 1.0, 10.0], [10.0, 1.0, 100.0]])


def test_tied_elements_share_the_gradients_of_their_places_evenly() -> None:
    # NOTE: the two 1s take places 0 and 1: each gets (1 + 10) / 2, as max's tie splits evenly
    x = Variable(np.array([1.0, 3.0, 1.0]))
    (sort(x) * np.array([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [5.5, 100.0, 5.5])


def test_sort_flattens_for_axis_none_and_takes_every_kind() -> None:
    x = Variable(np.array([[2.0, 1.0], [0.0, 3.0]]))
    for kind in (None, "quicksort", "mergesort", "heapsort", "stable"):
        np.testing.assert_array_equal(sort(x, None, kind).data, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(npa.sort(x, axis=0, stable=True).data, [[0.0, 1.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="sort kind must be one of 'quick', 'heap', or 'stable'"):
        sort(x, kind="bubble")
    with pytest.raises(ValueError, match="`kind` and keyword parameters can't be provided"):
        sort(x, kind="stable", stable=True)
    with pytest.raises(TypeError, match=r"np.sort\(\): order= is not supported"):
        npa.sort(x, order="a")


def test_partition_follows_numpys_arrangement() -> None:
    data = np.array([5.0, -1.0, 3.0, 0.5, 2.0, 4.0])
    x = Variable(data)
    y = partition(x, [1, 4])
    np.testing.assert_array_equal(y.data, np.partition(data, [1, 4]))
    weights = np.arange(1.0, 7.0)
    (y * weights).sum().backward()
    arrangement = np.argpartition(data, [1, 4])
    expected = np.zeros(6)
    expected[arrangement] = weights
    np.testing.assert_array_equal(grad_of(x), expected)
    with pytest.raises(
        ValueError, match="partition's kind must be 'introselect' \\(NumPy's only one\\)"
    ):
        partition(x, 1, kind="quickselect")


def test_select_takes_the_first_choice_that_holds_and_its_gradient_goes_there() -> None:
    a, b = Variable(np.array([1.0, 2.0, 3.0])), Variable(np.array([10.0, 20.0, 30.0]))
    d = Variable(np.array([-1.0, -2.0, -3.0]))
    conditions = [np.array([True, False, False]), np.array([True, True, False])]
    y = select(conditions, [a, b], d)
    np.testing.assert_array_equal(y.data, [1.0, 20.0, -3.0])
    y.sum().backward()
    np.testing.assert_array_equal(grad_of(a), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(b), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(grad_of(d), [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="select needs one choice per condition"):
        select(conditions, [a])
    with pytest.raises(ValueError, match="select needs at least one condition"):
        select([], [])
    with pytest.raises(TypeError, match=r"select's condlist\[0\] must be a boolean array"):
        select([a.data], [a])
