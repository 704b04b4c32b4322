"""einsum and tensordot: NumPy's subscripts in all their spellings, gradients and tangents
against the oracle, NumPy's spellings, and the refusals' messages."""

from typing import Any

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import (
    Variable,
    einsum,
    gradcheck,
    gradgradcheck,
    hessian,
    jacobian,
    jvp,
    tensordot,
)
from tinygrad_ref.ops.contract import parse

RNG = np.random.default_rng(24)

SUBSCRIPTS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("i...->...", [(2, 3, 4)]),
    ("ij,ij->", [(3, 4), (1, 4)]),
    ("i,j", [(2,), (3,)]),
    ("bA", [(3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,jk,ki", [(2, 3), (3, 4), (4, 2)]),
    (",i->i", [(), (3,)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("iji,j->i", [(2, 3, 2), (3,)]),
    ("ii,i->", [(1, 1), (3,)]),
    ("iij,j->", [(2, 2, 3), (1,)]),
    ("i,kj->jik", [(2,), (3, 4)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), SUBSCRIPTS, ids=[s for s, _ in SUBSCRIPTS])
def test_einsum_matches_numpy_and_the_oracle_to_second_order(
    subscripts: str, shapes: list[tuple[int, ...]]
) -> None:
    xs = [RNG.standard_normal(shape) for shape in shapes]
    y = einsum(subscripts, *map(Variable, xs))
    expected = np.einsum(subscripts, *xs)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.data, expected, rtol=1e-13, atol=1e-13)
    assert gradcheck(lambda *v: einsum(subscripts, *v), *map(Variable, xs))
    assert gradgradcheck(lambda *v: einsum(subscripts, *v), *map(Variable, xs))


@pytest.mark.parametrize(("subscripts", "shapes"), SUBSCRIPTS, ids=[s for s, _ in SUBSCRIPTS])
def test_einsum_batched_tangents_equal_one_jvp_each(
    subscripts: str, shapes: list[tuple[int, ...]]
) -> None:
    xs = [RNG.standard_normal(shape) for shape in shapes]
    batch = [RNG.standard_normal((5, *shape)) for shape in shapes]

    def f(*v: Variable) -> Variable:
        return einsum(subscripts, *v)

    _, tangents = jvp(f, xs, batch, batched=True)
    for b in range(5):
        _, one = jvp(f, xs, [t[b] for t in batch])
        np.testing.assert_allclose(tangents[b], one, rtol=1e-13, atol=1e-13)


def test_the_sublist_spelling_and_optimize() -> None:
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    for optimize in (False, True, "greedy", "optimal"):
        y = einsum(Variable(a), [0, 1], b, [1, 2], [0, 2], optimize=optimize)
        np.testing.assert_allclose(y.data, a @ b, rtol=1e-13)
    y = einsum(Variable(a), [Ellipsis, 1], [Ellipsis])
    np.testing.assert_allclose(y.data, a.sum(axis=1), rtol=1e-13)


def test_through_numpy() -> None:
    a, b = Variable(RNG.standard_normal((2, 3))), RNG.standard_normal((3, 4))
    numpy_einsum: Any = np.einsum  # NOTE: NumPy's stubs know no Variable
    numpy_tensordot: Any = np.tensordot
    y = numpy_einsum("ij,jk->ik", a, b, optimize=True)
    assert isinstance(y, Variable)
    y.sum().backward()
    np.testing.assert_allclose(grad_of(a), np.broadcast_to(b.sum(axis=1), (2, 3)), rtol=1e-13)
    z = numpy_tensordot(a, b, axes=1)
    assert isinstance(z, Variable)
    np.testing.assert_allclose(z.data, a.data @ b, rtol=1e-13)
    out = np.zeros(3)
    numpy_einsum("ij->j", a, out=out)
    np.testing.assert_allclose(out, a.data.sum(axis=0))
    with pytest.raises(TypeError, match=r"np.einsum\(\): dtype= is not supported"):
        numpy_einsum("ij->j", a, dtype=np.float32)


def test_an_einsum_result_owns_its_data() -> None:
    for x in (Variable(np.arange(9.0).reshape(3, 3)), Variable(np.eye(3))):
        before = x.data.copy()
        for subscripts in ("ij->ji", "ii->i", "ij->ij", "ij"):
            y = einsum(subscripts, x)
            assert not np.shares_memory(y.data, x.data)
            y.data[...] = 0  # NOTE: writable
        np.testing.assert_array_equal(x.data, before)


@pytest.mark.parametrize(
    ("a", "b", "axes"),
    [
        ((2, 3, 4), (3, 4, 2), 2),
        ((2, 3), (3, 2), 1),
        ((2,), (3,), 0),
        ((2, 3), (2, 3), 2),
        ((2, 3, 4), (4, 2), ([2, 0], [0, 1])),
        ((2, 3, 4), (4, 3), ([-1, -2], [0, 1])),
        ((3, 2), (3,), (0, 0)),
    ],
)
def test_tensordot_matches_numpy_and_the_oracle(
    a: tuple[int, ...], b: tuple[int, ...], axes: Any
) -> None:
    xa, xb = RNG.standard_normal(a), RNG.standard_normal(b)
    y = tensordot(Variable(xa), Variable(xb), axes)
    np.testing.assert_allclose(y.data, np.tensordot(xa, xb, axes), rtol=1e-13, atol=1e-14)
    f = lambda u, v: tensordot(u, v, axes)  # noqa: E731
    assert gradcheck(f, Variable(xa), Variable(xb))
    assert gradgradcheck(f, Variable(xa), Variable(xb))


def test_jacobian_of_a_trace() -> None:
    jac = jacobian(lambda x: einsum("ii", x), mode="fwd")(RNG.standard_normal((3, 3)))
    np.testing.assert_array_equal(jac, np.eye(3))


def test_the_hessian_through_a_repeated_index() -> None:
    # NOTE: the gradient of sum_i x_ii**2 put on the diagonal, differentiated forward by a
    # batch of tangents: its hessian is 2 at (i, i, i, i)
    h = hessian(lambda v: einsum("ii,ii->", v, v))(RNG.standard_normal((3, 3)))
    expected = np.zeros((3, 3, 3, 3))
    expected[range(3), range(3), range(3), range(3)] = 2.0
    np.testing.assert_array_equal(h, expected)
    # NOTE: trace(x x) = sum_ij x_ij x_ji: its hessian is 2 where (a, b) = (d, c)
    h = hessian(lambda v: einsum("ii", einsum("ij,jk->ik", v, v)))(RNG.standard_normal((3, 3)))
    np.testing.assert_array_equal(h, 2 * np.einsum("ad,bc->abcd", np.eye(3), np.eye(3)))


def test_a_product_keeps_numpys_dtype() -> None:
    a, b = np.arange(1.0, 3.0, dtype=np.float32), np.linspace(0.1, 0.3, 3)
    y = einsum("i,j->ji", Variable(a), b)
    expected = np.einsum("i,j->ji", a, b)
    assert y.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(y.data, expected)


def test_a_refusal_is_raised_again_after_a_call_of_the_same_subscripts() -> None:
    # NOTE: the parsed subscripts are kept per shapes; a refusal never is
    einsum("ij,jk", Variable(np.ones((2, 3))), np.ones((3, 4)))
    for _ in range(2):
        with pytest.raises(ValueError, match="name 2 axes; it has 3"):
            einsum("ij,jk", Variable(np.ones((2, 3, 1))), np.ones((3, 4)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ij,jk->ik", np.ones((2, 3))), "name 2 operands; 1 given"),
        (("ij->k", np.ones((2, 3))), "output index 'k' appears in no operand"),
        (("ij->jj", np.ones((2, 3))), "output index 'j' appears more than once"),
        (("ijk", np.ones((2, 3))), "name 3 axes; it has 2"),
        (("i.j->i", np.ones((2, 3))), "a '.' that is not part of an ellipsis"),
        (("...ij->ij", np.ones((2, 3, 4))), "an output without '...'"),
        (("i1->i", np.ones((2, 3))), "invalid index '1'"),
        (("ij->i->j", np.ones((2, 3))), "at most one '->'"),
        ((np.ones(2), [60]), "indices must be integers 0 to 51"),
    ],
)
def test_bad_subscripts_are_refused_by_name(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        einsum(*(Variable(a) if isinstance(a, np.ndarray) else a for a in args))


def test_einsum_refuses_what_is_not_subscripts_or_operands() -> None:
    with pytest.raises(TypeError, match="at least one operand"):
        einsum()
    with pytest.raises(TypeError, match="subscripts first"):
        einsum("i,i", Variable(np.ones(2)), "i")


def test_mismatched_sizes_are_numpys_error() -> None:
    with pytest.raises(ValueError, match="operands could not be broadcast"):
        einsum("ij,jk", Variable(np.ones((2, 3))), np.ones((4, 2)))


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        (3, "axes=3 must be between 0 and 2"),
        (([0], [0, 1]), "the two lists differ in length"),
        (([0], [1]), r"axis 0 of a \(2\) and axis 1 of b \(3\) differ"),
        (([0, 0], [0, 0]), "repeat an axis"),
        (([5], [0]), "axis 5 is out of bounds for a"),
        ("x", "must be an int or a pair"),
    ],
)
def test_tensordot_refuses_bad_axes_by_name(axes: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tensordot(Variable(np.ones((2, 3))), np.ones((2, 3)), axes)  # type: ignore[arg-type]  # NOTE: bad on purpose


def test_parse_spells_out_implicit_output_and_ellipsis() -> None:
    assert parse("ij,jk", [(2, 3), (3, 4)]) == (("ij", "jk"), "ik")
    assert parse("bA", [(3, 2)]) == (("bA",), "Ab")
    assert parse("...i,i...", [(2, 3), (3, 2)]) == (("Ai", "iA"), "A")
    with pytest.raises(TypeError, match="subscripts must be a str"):
        parse(3, [()])  # type: ignore[arg-type]  # NOTE: bad on purpose
