"""Hand-computed tangents of the shape, reduction, indexing, joining and matmul ops."""

import numpy as np

import tinygrad_ref as tg
from tinygrad_ref import Variable, jacobian, jvp
from tinygrad_ref.ops.indexing import get_item_grad


def test_the_tangent_of_a_sum_along_an_axis_sums_the_tangent_along_it() -> None:
    x = np.zeros((2, 3))
    tx = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    _, ty = jvp(lambda a: tg.sum(a, axis=1, keepdims=True), (x,), (tx,))
    np.testing.assert_array_equal(ty, [[6.0], [15.0]])


def test_repeated_indices_repeat_the_tangent_and_their_gradient_op_adds_it() -> None:
    idx = np.array([0, 0, 2])
    tx = np.array([1.0, 2.0, 3.0])
    _, ty = jvp(lambda a: a[idx], (np.zeros(3),), (tx,))
    np.testing.assert_array_equal(ty, [1.0, 1.0, 3.0])
    _, tgx = jvp(lambda g: get_item_grad(g, idx, (4,)), (np.zeros(3),), (tx,))
    np.testing.assert_array_equal(tgx, [3.0, 0.0, 3.0, 0.0])


def test_the_tangent_of_a_matrix_product_is_ta_b_plus_a_tb() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[5.0, 6.0], [7.0, 8.0]])
    ta = np.array([[1.0, 0.0], [0.0, 0.0]])
    tb = np.array([[0.0, 1.0], [0.0, 0.0]])
    # NOTE: ta @ b = [[5, 6], [0, 0]] and a @ tb = [[0, 1], [0, 3]]
    _, ty = jvp(tg.matmul, (a, b), (ta, tb))
    np.testing.assert_array_equal(ty, [[5.0, 7.0], [0.0, 3.0]])


def test_a_split_gives_one_tangent_per_part() -> None:
    tx = np.arange(5.0)
    parts, tangents = jvp(lambda a: tg.split(a, [2], axis=0), (np.zeros(5),), (tx,))
    assert len(parts) == len(tangents) == 2
    np.testing.assert_array_equal(tangents[0], [0.0, 1.0])
    np.testing.assert_array_equal(tangents[1], [2.0, 3.0, 4.0])


def test_a_tie_of_max_or_min_takes_the_mean_of_the_tied_tangents_as_the_gradient_splits() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]])
    tx = np.array([[10.0, 20.0, 40.0], [1.0, 2.0, 4.0]])
    _, t_max = jvp(lambda a: tg.max(a, axis=1), (x,), (tx,))
    _, t_min = jvp(lambda a: tg.min(a, axis=1), (x,), (tx,))
    np.testing.assert_array_equal(t_max, [30.0, 1.0])
    np.testing.assert_array_equal(t_min, [10.0, 3.0])
    np.testing.assert_array_equal(
        jacobian(lambda a: tg.max(a), mode="fwd")(np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5]
    )


def test_tangents_keep_float32_and_a_cast_casts_its_tangent() -> None:
    x = np.ones((2, 3), dtype=np.float32)
    tx = np.full((2, 3), 0.5, dtype=np.float32)
    for f in (
        lambda a: tg.mean(a, axis=0),
        lambda a: tg.transpose(a),
        lambda a: tg.broadcast_to(a, (4, 2, 3)),
        lambda a: tg.concatenate([a, a], axis=1),
        lambda a: tg.matmul(a, tg.transpose(a)),
    ):
        _, ty = jvp(f, (x,), (tx,))
        assert ty.dtype == np.float32
    _, ty = jvp(lambda a: tg.cast(a, np.float64), (x,), (tx,))
    assert ty.dtype == np.float64
    np.testing.assert_array_equal(ty, np.full((2, 3), 0.5))


def test_a_join_of_a_variable_and_a_constant_records_the_tangent_on_variables() -> None:
    c = np.array([7.0])
    _, ty = jvp(lambda a: tg.concatenate([c, a]), (Variable(np.ones(2)),), (np.ones(2),))
    assert isinstance(ty, Variable)
    np.testing.assert_array_equal(ty.data, [0.0, 1.0, 1.0])
