import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import first_and_second, grad_of
from tinygrad_ref import (
    Variable,
    append,
    array_split,
    concatenate,
    dsplit,
    hsplit,
    split,
    stack,
    vsplit,
    vstack,
)


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


def test_split_at_indices_out_of_order_sends_each_part_its_own_gradient() -> None:
    # NOTE: NumPy slices x[0:4], x[4:2] (empty), x[2:8] and x[8:]: the first and third overlap
    x = Variable(np.arange(6.0))
    parts = split(x, [4, 2, 8])
    assert [p.shape for p in parts] == [(4,), (0,), (4,), (0,)]
    (parts[0].sum() + 10.0 * parts[2].sum()).backward()
    np.testing.assert_array_equal(grad_of(x), [1.0, 1.0, 11.0, 11.0, 10.0, 10.0])


def test_array_split_makes_the_first_parts_one_longer_as_numpy() -> None:
    x = Variable(np.arange(7.0))
    parts = array_split(x, 3)
    assert [p.shape for p in parts] == [(3,), (2,), (2,)]
    assert [p.shape for p in array_split(x, 9)] == [(1,)] * 7 + [(0,)] * 2
    (parts[1] * 3.0).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="array_split needs a number of sections of at least 1"):
        array_split(x, 0)


def test_the_stacks_give_numpys_shapes_and_route_the_gradients_back() -> None:
    a, b = Variable(np.array([1.0, 2.0])), Variable(np.array([3.0, 4.0]))
    for name, shape in [
        ("vstack", (2, 2)),
        ("hstack", (4,)),
        ("dstack", (1, 2, 2)),
        ("column_stack", (2, 2)),
    ]:
        ours, theirs = getattr(tinygrad_ref, name), getattr(np, name)
        y = ours([a, b])
        assert y.shape == shape
        np.testing.assert_array_equal(y.data, theirs([a.data, b.data]))
        a.cleargrad()
        (y * y).sum().backward()
        np.testing.assert_array_equal(grad_of(a), 2.0 * a.data)
    y = append(a, np.array([[5.0]]))
    np.testing.assert_array_equal(y.data, [1.0, 2.0, 5.0])


def test_a_join_takes_an_array_or_variable_as_the_sequence_of_its_rows() -> None:
    x = Variable(np.arange(6.0).reshape(2, 3))
    y = vstack(x)
    np.testing.assert_array_equal(y.data, np.vstack(list(x.data)))
    (y * 2.0).sum().backward()
    np.testing.assert_array_equal(grad_of(x), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(tinygrad_ref.hstack(x.data).data, np.hstack(list(x.data)))


def test_joins_and_splits_refuse_what_numpy_refuses_by_name() -> None:
    x = Variable(np.arange(4.0))
    with pytest.raises(TypeError, match="vstack takes a sequence of operands, not a 0-d array"):
        vstack(x[0])
    with pytest.raises(TypeError, match="vstack takes a sequence of operands, not float"):
        vstack(1.0)  # type: ignore[arg-type]  # NOTE: the refusal under test
    with pytest.raises(ValueError, match="hstack needs at least one operand to join, got none"):
        tinygrad_ref.hstack([])
    with pytest.raises(ValueError, match=r"vsplit needs an array of 2 or more dimensions"):
        vsplit(x, 2)
    with pytest.raises(ValueError, match=r"dsplit needs an array of 3 or more dimensions"):
        dsplit(x.reshape(2, 2), 2)
    with pytest.raises(ValueError, match="cannot split axis 0 of size 4"):
        hsplit(x, 3)
