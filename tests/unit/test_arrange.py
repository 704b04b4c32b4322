"""NumPy's rearranging functions (repeat, tile, roll, flips, rotations, axis moves, atleast_*d,
diagonals, triangles, pad): the values and parameters the property suite does not draw, and
every refusal by name."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import grad_of
from tinygrad_ref import (
    Variable,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    diag,
    diagonal,
    fliplr,
    flipud,
    moveaxis,
    no_grad,
    pad,
    repeat,
    roll,
    rollaxis,
    rot90,
    tile,
    tril,
    triu,
)
from tinygrad_ref.ops import GetItem, Pad, Roll, Transpose

npa: Any = np  # NOTE: NumPy's stubs type its functions on arrays; these take Variables
untyped: Any = tinygrad_ref  # NOTE: for the calls with arguments of the wrong type
M = np.arange(6.0).reshape(2, 3)


def test_the_methods_numpy_arrays_have() -> None:
    x = Variable(M)
    np.testing.assert_array_equal(x.repeat(2).data, M.repeat(2))
    np.testing.assert_array_equal(x.repeat([1, 0, 2], axis=-1).data, M.repeat([1, 0, 2], -1))
    assert isinstance(x.swapaxes(0, -1).creator, Transpose)
    np.testing.assert_array_equal(x.swapaxes(0, -1).data, M.swapaxes(0, -1))
    np.testing.assert_array_equal(x.diagonal(1).data, M.diagonal(1))
    (x.repeat(2, axis=0).sum() + x.diagonal(-1).sum() * 10).backward()
    np.testing.assert_array_equal(grad_of(x), [[2.0, 2.0, 2.0], [12.0, 2.0, 2.0]])


def test_numpy_spellings_record_and_keep_the_dtype() -> None:
    x = Variable(M.astype(np.float32))
    ops: list[Callable[[Any], Any]] = [
        lambda v: npa.repeat(v, 2, axis=1),
        lambda v: npa.tile(v, (2, 1)),
        lambda v: npa.roll(v, 1),
        lambda v: npa.flip(v),
        lambda v: npa.rot90(v),
        lambda v: npa.moveaxis(v, 0, 1),
        lambda v: npa.atleast_3d(v),
        lambda v: npa.diag(v),
        lambda v: npa.tril(v, -1),
        lambda v: npa.triu(v),
        lambda v: npa.pad(v, 1, "constant", constant_values=0.5),
    ]
    for op in ops:
        y = op(x)
        assert isinstance(y, Variable)
        assert y.dtype == np.float32
        with no_grad():
            np.testing.assert_array_equal(y.data, op(x.data))


def test_roll_and_pad_are_their_own_functions() -> None:
    x = Variable(M)
    assert isinstance(roll(x, (1, 2), (0, -1)).creator, Roll)
    assert isinstance(pad(x, 1).creator, Pad)
    assert isinstance(npa.flipud(x).creator, GetItem)


def test_roll_moves_an_axis_named_twice_by_the_sum() -> None:
    x = Variable(M)
    np.testing.assert_array_equal(roll(x, (1, 1), (1, -1)).data, np.roll(M, 2, 1))
    np.testing.assert_array_equal(roll(x, 1, (0, 1)).data, np.roll(M, 1, (0, 1)))
    np.testing.assert_array_equal(roll(x, (), ()).data, M)


def test_axes_may_be_lists() -> None:
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    for y, expected in [
        (npa.flip(x, [0, -1]), npa.flip(x.data, [0, -1])),
        (npa.rot90(x, 1, [2, 0]), npa.rot90(x.data, 1, [2, 0])),
        (npa.moveaxis(x, [0, 1], [-1, 0]), np.moveaxis(x.data, [0, 1], [-1, 0])),
        (npa.roll(x, [1, -1], [0, 2]), np.roll(x.data, [1, -1], [0, 2])),
        (npa.tile(x, [2, 1, 1]), np.tile(x.data, [2, 1, 1])),
    ]:
        np.testing.assert_array_equal(y.data, expected)


def test_atleast_of_several_operands_is_a_tuple() -> None:
    x, c = Variable(np.float64(2.0)), np.ones(3)
    ys = npa.atleast_2d(x, c)
    assert isinstance(ys, tuple)
    assert [y.shape for y in ys] == [(1, 1), (1, 3)]
    assert atleast_1d(x).shape == (1,)
    assert atleast_3d(np.ones((2, 3))).shape == (2, 3, 1)
    ys[0].backward()
    assert grad_of(x) == 1.0
    assert atleast_2d(x, x) != ()


def test_a_triangle_of_a_vector_is_a_square_matrix() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(tril(x).data, np.tril(x.data))
    triu(x, 1).sum().backward()
    np.testing.assert_array_equal(grad_of(x), [0.0, 1.0, 2.0])


def test_diagonal_is_a_writeable_copy() -> None:
    x = Variable(M)
    y = diagonal(x)
    assert y.data.flags.writeable
    assert not np.shares_memory(y.data, x.data)


def test_pad_takes_each_form_of_constant_values() -> None:
    x = Variable(M)
    for values in (7.0, (1.0, 2.0), ((1.0, 2.0), (3.0, 4.0))):
        y = npa.pad(x, ((1, 0), (0, 2)), constant_values=values)
        np.testing.assert_array_equal(y.data, np.pad(M, ((1, 0), (0, 2)), constant_values=values))
    pad(x, 1, constant_values=np.array([5.0, 6.0])).sum().backward()
    np.testing.assert_array_equal(grad_of(x), np.ones((2, 3)))


REFUSALS: list[tuple[Callable[[], object], type[Exception], str]] = [
    (lambda: repeat(Variable(M), -1), ValueError, r"repeat's repeats must not be negative"),
    (
        lambda: untyped.repeat(Variable(M), 2.0),
        TypeError,
        r"repeat's repeats must be an int or a 1-d",
    ),
    (
        lambda: repeat(Variable(M), [1, 2], axis=1),
        ValueError,
        r"one per element along axis 1 \(3\), got 2",
    ),
    (lambda: untyped.repeat(Variable(M), np.ones((2, 2), int)), ValueError, r"got shape \(2, 2\)"),
    (lambda: tile(Variable(M), (2, -1)), ValueError, r"tile's reps must not be negative"),
    (lambda: untyped.tile(Variable(M), 1.5), TypeError, r"tile's reps must be an int or a 1-d"),
    (lambda: untyped.roll(Variable(M), 1.5), TypeError, r"roll's shift must be an int or a 1-d"),
    (lambda: roll(Variable(M), (1, 2), (0, 1, 1)), ValueError, r"must have one length"),
    (lambda: roll(Variable(M), 1, 2), ValueError, r"axis 2 is out of bounds .* \(2, 3\)"),
    (lambda: fliplr(Variable(np.ones(3))), ValueError, r"fliplr needs at least 2 dimensions"),
    (lambda: flipud(Variable(np.float64(1.0))), ValueError, r"flipud needs at least 1"),
    (lambda: rot90(Variable(M), 1, (0,)), ValueError, r"rot90's axes must be two axes"),
    (lambda: rot90(Variable(M), 1, (0, -2)), ValueError, r"two different axes"),
    (lambda: untyped.rot90(Variable(M), 1.0), TypeError, r"rot90's k must be an int, got 1.0"),
    (lambda: moveaxis(Variable(M), (0, 1), 0), ValueError, r"must name as many axes"),
    (lambda: moveaxis(Variable(M), (0, 0), (0, 1)), ValueError, r"repeated axis"),
    (lambda: rollaxis(Variable(M), 0, 3), ValueError, r"start must be in \[-2, 2\]"),
    (lambda: diag(Variable(np.ones((2, 2, 2)))), ValueError, r"diag needs a 1-d or 2-d"),
    (lambda: untyped.diag(Variable(np.ones(2)), 0.5), TypeError, r"diag's k must be an int"),
    (lambda: diagonal(Variable(np.ones(2))), ValueError, r"diagonal needs at least 2"),
    (lambda: diagonal(Variable(M), 0, 1, -1), ValueError, r"axis1 and axis2 must differ"),
    (lambda: tril(Variable(np.float64(1.0))), ValueError, r"tril needs at least 1 dimension"),
    (lambda: untyped.triu(Variable(M), 1.5), TypeError, r"triu's k must be an int"),
    (lambda: pad(Variable(M), 1, "edge"), ValueError, r"pad's mode='edge' is not supported"),
    (
        lambda: npa.pad(Variable(M), 1, mode="reflect"),
        ValueError,
        r"pad's mode='reflect' is not supported: only mode='constant'",
    ),
    (
        lambda: npa.pad(Variable(M), 1, stat_length=2),
        TypeError,
        r"np.pad\(\): stat_length= is not supported",
    ),
    (
        lambda: untyped.pad(Variable(M), 1, constant_values=Variable(np.float64(1.0))),
        TypeError,
        r"pad's constant_values must be constants, not a Variable",
    ),
    (
        lambda: untyped.pad(Variable(M), Variable(np.float64(1.0))),
        TypeError,
        r"pad_width must be ints",
    ),
    (lambda: pad(Variable(M), -1), ValueError, r"index can't contain negative values"),
]


@pytest.mark.parametrize(("call", "error", "message"), REFUSALS)
def test_refusals_name_what_was_wrong(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
