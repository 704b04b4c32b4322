import numpy as np
import pytest

from tests.helpers import first_and_second, grad_of
from tinygrad_ref import Variable, concatenate, split, stack


def test_concatenate_matches_numpy_and_routes_each_gradient_back() -> None:
    a, b = Variable(np.ones((2, 1))), Variable(np.zeros((2, 2)))
    y = concatenate([a, b, np.full((2, 1), 5.0)], axis=-1)
    np.testing.assert_array_equal(y.data, [[1.0, 0.0, 0.0, 5.0], [1.0, 0.0, 0.0, 5.0]])
    (y * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(grad_of(a), [[1.0], [1.0]])
    np.testing.assert_array_equal(grad_of(b), [[2.0, 3.0], [2.0, 3.0]])


def test_stack_adds_an_axis_and_its_gradient_removes_it() -> None:
    a, b = Variable(np.array([1.0, 2.0])), Variable(np.array([3.0, 4.0]))
    y = stack([a, b], axis=1)
    np.testing.assert_array_equal(y.data, [[1.0, 3.0], [2.0, 4.0]])
    (y * np.array([[1.0, 10.0], [2.0, 20.0]])).sum().backward()
    np.testing.assert_array_equal(grad_of(a), [1.0, 2.0])
    np.testing.assert_array_equal(grad_of(b), [10.0, 20.0])


def test_split_gives_a_tuple_and_an_unused_part_gets_zeros() -> None:
    x = Variable(np.arange(6.0))
    parts = split(x, [1, 4])
    assert isinstance(parts, tuple)
    assert [p.shape for p in parts] == [(1,), (3,), (2,)]
    (parts[1] * 2.0).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 2.0, 2.0, 2.0, 0.0, 0.0])
    (one,) = split(x, 1)
    np.testing.assert_array_equal(one.data, x.data)


def test_split_second_derivative_flows_through_every_part() -> None:
    def f(x: Variable) -> Variable:
        a, b = split(x, 2)
        return (a * a * b).sum()

    gx, ggx = first_and_second(f, Variable(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(gx, [6.0, 16.0, 1.0, 4.0])  # 2ab, a^2
    np.testing.assert_array_equal(ggx, [2 * 3 + 2 * 1, 2 * 4 + 2 * 2, 2 * 1, 2 * 2])


def test_a_split_that_does_not_divide_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"cannot split axis 0 of size 5 .* into 2 equal parts"):
        split(Variable(np.ones(5)), 2)


def test_joining_mismatched_shapes_is_refused_by_numpy() -> None:
    with pytest.raises(ValueError, match="must match exactly"):
        concatenate([Variable(np.ones((2, 2))), np.ones((3, 3))])
    with pytest.raises(ValueError, match="same shape"):
        stack([Variable(np.ones(2)), np.ones(3)])


def test_concatenate_axis_none_flattens_and_its_gradients_take_the_shapes_back() -> None:
    a, b = Variable(np.ones((2, 3))), Variable(np.array(2.0))
    for y in (concatenate([a, b], axis=None), np.concatenate([a, b], axis=None)):
        assert isinstance(y, Variable)
        np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0])
        a.grad = b.grad = None
        (y * np.arange(7.0)).sum().backward()
        np.testing.assert_array_equal(grad_of(a), [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
        assert grad_of(b) == 6.0
