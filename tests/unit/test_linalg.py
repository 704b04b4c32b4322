"""numpy.linalg's det, slogdet, inv, solve, cholesky, matrix_power and multi_dot: values and
derivatives against the oracle (also on larger matrices than the fuzzing draws), NumPy's
spellings, the behaviour at singular matrices and at the strategies' margin, and the
refusals' messages."""

import itertools
from typing import Any

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, gradcheck, gradgradcheck, jvp
from tinygrad_ref.ops.linalg import (
    MAX_CONDITION,
    Inv,
    MatMul,
    cholesky,
    det,
    inv,
    matrix_power,
    multi_dot,
    slogdet,
    solve,
)
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import SingularKink
from tinygrad_ref.verification.checks import check_gradients
from tinygrad_ref.verification.strategies import condition, conditioned

numpy_linalg: Any = np.linalg  # NOTE: NumPy's stubs know no Variable


def well_conditioned(rng: np.random.Generator, *shape: int) -> np.ndarray:
    a: np.ndarray = rng.standard_normal(shape) + 2 * np.sqrt(shape[-1]) * np.eye(shape[-1])
    return a


def positive_definite(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, n))
    return m @ m.T + n * np.eye(n)


@pytest.mark.parametrize("n", [1, 3, 12])
def test_det_slogdet_inv_against_the_oracle_to_second_order(
    n: int, rng: np.random.Generator
) -> None:
    a = well_conditioned(rng, 2, n, n)
    for f in (det, lambda x: slogdet(x)[1], inv):
        assert gradcheck(f, Variable(a))
        if n < 12:
            assert gradgradcheck(f, Variable(a))


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((3, 3), (3,)),
        ((2, 3, 3), (3,)),
        ((3, 3), (3, 2)),
        ((2, 3, 3), (1, 3, 2)),
        ((3, 3), (2, 3, 1)),
    ],
)
def test_solve_with_vector_and_matrix_right_hand_sides(
    a_shape: tuple[int, ...], b_shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    a, b = well_conditioned(rng, *a_shape), rng.standard_normal(b_shape)
    x = solve(Variable(a), Variable(b))
    expected = np.linalg.solve(a, b)
    assert x.shape == expected.shape
    np.testing.assert_allclose(x.data, expected, rtol=1e-12)
    assert gradcheck(solve, Variable(a), Variable(b))
    assert gradgradcheck(solve, Variable(a), Variable(b))


def test_cholesky_reads_the_lower_triangle_and_its_gradient_stays_there(
    rng: np.random.Generator,
) -> None:
    s = positive_definite(rng, 4)
    garbage = s + np.triu(rng.standard_normal((4, 4)), 1)
    np.testing.assert_allclose(cholesky(Variable(garbage)).data, np.linalg.cholesky(s))
    a = Variable(garbage)
    (cholesky(a) * rng.standard_normal((4, 4))).sum().backward()
    np.testing.assert_array_equal(np.triu(grad_of(a), 1), 0)
    # NOTE: the oracle perturbs one element at a time, so it sees the convention
    assert gradcheck(cholesky, Variable(garbage))
    assert gradgradcheck(cholesky, Variable(garbage))


def test_cholesky_gradient_summed_over_each_pair_is_pytorchs_symmetrized_one(
    rng: np.random.Generator,
) -> None:
    s, w = positive_definite(rng, 3), rng.standard_normal((3, 3))
    a = Variable(s)
    (cholesky(a) * w).sum().backward()
    lower = grad_of(a)
    symmetrized = (lower + lower.T) / 2  # NOTE: the off-diagonal half on each side
    summed = symmetrized + symmetrized.T - np.diag(np.diag(symmetrized))
    np.testing.assert_allclose(np.tril(summed), lower, rtol=1e-13)


def test_cholesky_on_a_larger_matrix(rng: np.random.Generator) -> None:
    assert gradcheck(cholesky, Variable(positive_definite(rng, 10)))


@pytest.mark.parametrize("power", [-3, -1, 0, 1, 2, 5])
def test_matrix_power(power: int, rng: np.random.Generator) -> None:
    a = well_conditioned(rng, 2, 3, 3)
    y = matrix_power(Variable(a), power)
    np.testing.assert_allclose(y.data, np.linalg.matrix_power(a, power), rtol=1e-12)
    assert y.dtype == a.dtype
    assert gradcheck(lambda x: matrix_power(x, power), Variable(a))


def test_multi_dot_with_vector_ends(rng: np.random.Generator) -> None:
    v, m, n, w = (rng.standard_normal(s) for s in [(3,), (3, 4), (4, 2), (2,)])
    y = multi_dot([Variable(v), m, Variable(n), w])
    np.testing.assert_allclose(y.data, np.linalg.multi_dot([v, m, n, w]), rtol=1e-12)
    assert gradcheck(lambda *xs: multi_dot(xs), Variable(v), Variable(m), Variable(n), Variable(w))


def _chain_cost(y: Variable) -> tuple[int, str]:
    """The scalar multiplications of the products that made ``y`` from its leaves (the
    arrays, of two sides each: a 1-D one is a row first, a column last), and their order."""
    creator = y.creator
    if creator is None or not isinstance(creator, MatMul):
        return 0, "x"
    (left, left_order), (right, right_order) = (_chain_cost(x) for x in creator.inputs)
    a, b = creator.inputs
    rows = 1 if a.ndim == 1 else a.shape[0]
    cols = 1 if b.ndim == 1 else b.shape[-1]
    return left + right + rows * a.shape[-1] * cols, f"({left_order} {right_order})"


def _fewest(sides: list[int]) -> int:
    """The fewest scalar multiplications of the chain of ``sides``, over every order."""
    if len(sides) == 2:
        return 0
    return min(
        _fewest(sides[: k + 1]) + _fewest(sides[k:]) + sides[0] * sides[k] * sides[-1]
        for k in range(1, len(sides) - 1)
    )


@pytest.mark.parametrize(
    "shapes",
    [
        [(10, 100), (100, 5), (5, 50), (50, 1), (1, 80)],
        [(30, 35), (35, 15), (15, 5), (5, 10), (10, 20), (20, 25)],
        [(40,), (40, 2), (2, 60), (60, 3), (3,)],
        [(2, 50), (50, 2), (2, 50), (50, 2)],
    ],
)
def test_multi_dot_multiplies_in_the_order_of_fewest_multiplications(
    shapes: list[tuple[int, ...]], rng: np.random.Generator
) -> None:
    arrays = [rng.standard_normal(shape) for shape in shapes]
    y = multi_dot([Variable(a) for a in arrays])
    cost, order = _chain_cost(y)
    sides = [shapes[0][0] if len(shapes[0]) == 2 else 1, *(s[-1] for s in shapes[:-1])]
    sides.append(shapes[-1][-1] if len(shapes[-1]) == 2 else 1)
    assert cost == _fewest(sides), order
    left_to_right = sum(sides[0] * sides[k] * sides[k + 1] for k in range(1, len(shapes)))
    assert cost < left_to_right, order  # NOTE: a chain where the order matters
    np.testing.assert_allclose(y.data, np.linalg.multi_dot(arrays), rtol=1e-12)
    # NOTE: NumPy's order, so that float32 rounds as NumPy's does
    singles = [a.astype(np.float32) for a in arrays]
    np.testing.assert_array_equal(
        multi_dot([Variable(a) for a in singles]).data, np.linalg.multi_dot(singles)
    )


def test_multi_dot_gradients_in_a_reordered_chain(rng: np.random.Generator) -> None:
    arrays = [Variable(rng.standard_normal(shape)) for shape in [(3,), (3, 1), (1, 4), (4, 2)]]
    cost, order = _chain_cost(multi_dot(arrays))
    # NOTE: (v m1) (m2 m3): 3 + 8 + 2 multiplications; left to right, 3 + 4 + 8
    assert (cost, order) == (_fewest([1, 3, 1, 4, 2]), "((x x) (x x))")
    assert gradcheck(lambda *xs: multi_dot(xs), *arrays)
    assert gradgradcheck(lambda *xs: multi_dot(xs), *arrays)


def test_slogdet_gives_two_outputs_and_the_sign_no_gradient(rng: np.random.Generator) -> None:
    a = Variable(-well_conditioned(rng, 3, 3))
    sign, logdet = slogdet(a)
    expected = np.linalg.slogdet(a.data)
    assert sign.data == expected.sign
    np.testing.assert_allclose(logdet.data, expected.logabsdet, rtol=1e-14)
    sign.backward()
    np.testing.assert_array_equal(grad_of(a), 0)


def test_batched_tangents_equal_one_jvp_each(rng: np.random.Generator) -> None:
    a, b, s = well_conditioned(rng, 2, 3, 3), rng.standard_normal((3, 2)), positive_definite(rng, 3)
    cases: list[tuple[Any, list[np.ndarray]]] = [
        (det, [a]),
        (lambda x: slogdet(x)[1], [a]),
        (inv, [a]),
        (solve, [a, b]),
        (cholesky, [s]),
    ]
    for f, xs in cases:
        batch = [rng.standard_normal((4, *x.shape)) for x in xs]
        _, tangents = jvp(f, xs, batch, batched=True)
        for k in range(4):
            np.testing.assert_allclose(
                tangents[k], jvp(f, xs, [t[k] for t in batch])[1], rtol=1e-13
            )


def test_through_numpy(rng: np.random.Generator) -> None:
    a, b = Variable(well_conditioned(rng, 3, 3)), rng.standard_normal(3)
    for name in ("det", "inv", "cholesky"):
        arg = Variable(positive_definite(rng, 3)) if name == "cholesky" else a
        y = getattr(numpy_linalg, name)(arg)
        assert isinstance(y, Variable)
        np.testing.assert_allclose(y.data, getattr(np.linalg, name)(arg.data), rtol=1e-13)
    assert isinstance(numpy_linalg.solve(a, b), Variable)
    assert isinstance(numpy_linalg.matrix_power(a, -2), Variable)
    assert isinstance(numpy_linalg.multi_dot([a, a, b]), Variable)
    parts = numpy_linalg.slogdet(a)
    assert all(isinstance(part, Variable) for part in parts)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("eig", "complex"),
        ("eigvals", "complex"),
        ("lstsq", "rank"),
        ("matrix_rank", "integer"),
    ],
)
def test_refused_by_name_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(TypeError, match=rf"np.linalg.{name} does not take a Variable: .*{reason}"):
        getattr(numpy_linalg, name)(Variable(np.eye(2)), *([np.ones(2)] if name == "lstsq" else []))


# At the singular matrices, and at the margin the strategies keep.

SINGULAR = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 0.0]])


def test_det_at_a_singular_matrix_has_the_cofactors_as_gradient() -> None:
    a = Variable(SINGULAR)
    y = det(a)
    assert y.data == 0
    y.backward()
    cofactors = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-3.0, 6.0, -3.0]])
    np.testing.assert_allclose(grad_of(a), cofactors, atol=1e-15)


def test_det_at_a_rank_one_deficient_stack_and_a_larger_one(rng: np.random.Generator) -> None:
    a = rng.standard_normal((20, 20))
    a[-1] = 0.0
    b = Variable(a)
    det(b).backward()
    expected = np.zeros_like(a)
    expected[-1] = [
        (-1) ** (19 + j) * np.linalg.det(np.delete(a[:-1], j, axis=1)) for j in range(20)
    ]
    np.testing.assert_allclose(
        grad_of(b), expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max()
    )


def test_det_recorded_at_a_singular_matrix_is_refused_by_name() -> None:
    a = Variable(SINGULAR)
    with pytest.raises(np.linalg.LinAlgError, match=r"det's recorded gradient .* singular"):
        det(a).backward(create_graph=True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: inv(a), "inv of a singular matrix"),
        (lambda a: solve(a, np.ones(3)), "solve of a singular matrix"),
        (lambda a: solve(a, np.ones((3, 2))), "solve of a singular matrix"),
        (lambda a: cholesky(a), "not positive definite"),
    ],
)
def test_at_a_singular_matrix_inv_solve_cholesky_refuse_by_name(call: Any, message: str) -> None:
    with pytest.raises(np.linalg.LinAlgError, match=message):
        call(Variable(SINGULAR))
    assert issubclass(np.linalg.LinAlgError, ValueError)


def test_slogdet_at_a_singular_matrix_is_numpys_and_its_derivative_refused() -> None:
    a = Variable(SINGULAR)
    sign, logdet = slogdet(a)
    assert sign.data == 0
    assert logdet.data == -np.inf
    with pytest.raises(np.linalg.LinAlgError, match="derivative of slogdet of a singular"):
        logdet.backward()


def test_a_numerically_singular_inverse_that_overflows_is_refused() -> None:
    with pytest.raises(np.linalg.LinAlgError, match="overflows"):
        inv(Variable(np.array([[1e-320]])))


@pytest.mark.parametrize("name", ["det", "slogdet", "inv", "solve", "cholesky"])
def test_the_strategies_keep_matrices_inside_the_margin(
    name: str, rng: np.random.Generator
) -> None:
    kink = REGISTRY[name].kink
    assert isinstance(kink, SingularKink)
    assert kink.max_condition == MAX_CONDITION
    rough = rng.standard_normal((50, 4, 4))
    rough[::2, -1] = rough[::2, 0] * (1 + 1e-9)  # NOTE: nearly singular, on every other one
    kept = conditioned(rough, kink)
    assert np.all(condition(kept, kink) <= kink.max_condition)
    inside = condition(rough, kink) <= kink.max_condition
    assert not np.all(inside)
    np.testing.assert_array_equal(kept[inside], rough[inside])  # NOTE: the others untouched
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_array_equal(kept[:, off], rough[:, off])  # NOTE: repaired on the diagonal
    np.testing.assert_array_equal(conditioned(kept, kink), kept)  # NOTE: and it settles


def test_at_the_margin_the_gradients_pass_the_oracle(rng: np.random.Generator) -> None:
    u, _, vt = np.linalg.svd(rng.standard_normal((4, 4)))
    a = (u * np.array([1.0, 0.5, 0.1, 1 / MAX_CONDITION])) @ vt
    for f in (det, lambda x: slogdet(x)[1], inv, lambda x: solve(x, np.ones(4))):
        assert gradcheck(f, Variable(a))


# Accuracy at the hard cases: condition numbers 1e2 to 1e8.

REFERENCES: dict[str, Any] = {
    "slogdet": lambda x: np.log(np.linalg.det(x) + 0j),
    "solve": lambda x: np.linalg.solve(x, np.ones(4)),
    "inv": np.linalg.inv,
    "det": np.linalg.det,
}

KAPPAS = (1e2, 1e4, 1e6, 1e8)


def conditioned_matrices(rng: np.random.Generator, n: int = 4) -> list[np.ndarray]:
    """A matrix of each condition number of :data:`KAPPAS`, all of the same rotations: its
    singular values spaced geometrically from 1 to 1/κ."""
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return [(u * np.geomspace(1.0, 1.0 / kappa, n)) @ v.T for kappa in KAPPAS]


@pytest.mark.parametrize("name", ["slogdet", "solve", "inv", "det"])
def test_the_checked_bound_grows_with_the_condition_number(
    name: str, rng: np.random.Generator
) -> None:
    functions: dict[str, Any] = {
        "slogdet": lambda x: slogdet(x)[1],
        "solve": lambda x: solve(x, np.ones(4)),
        "inv": inv,
        "det": det,
    }
    typical = []
    for kappa, a in zip(KAPPAS, conditioned_matrices(rng), strict=True):
        report = check_gradients(
            functions[name], Variable(a), method="complex", reference=REFERENCES[name]
        )
        assert report.failure is None, (kappa, report.failure)
        # NOTE: the median element's resolution; the worst element's is that of an element
        # that nearly cancels (a cofactor, an entry of the inverse) at one κ and not at the
        # next, so that it need not grow at every step (det's did not, at 5 of 200 draws)
        typical.append(float(np.nanmedian(report.resolutions[0])))
        worst = report.resolution
    assert all(later > earlier for earlier, later in itertools.pairwise(typical)), typical
    assert typical[-1] > 1e3 * typical[0], typical
    # NOTE: at κ = 1e8, the median element's gradient 0.01% off is still caught, every
    # element's 1% off (the worst element's resolution measured up to 3.6e-3 in 15 draws)
    assert typical[-1] < 1e-4
    assert worst < 1e-2


def test_a_planted_error_above_the_resolution_is_caught_at_a_large_condition_number(
    rng: np.random.Generator,
) -> None:
    a = conditioned_matrices(rng)[KAPPAS.index(1e6)]
    report = check_gradients(inv, Variable(a), method="complex", reference=np.linalg.inv)
    assert report.failure is None
    factor = 1 + 10 * report.resolutions[0] * (np.arange(16).reshape(4, 4) == 5)

    class OffInv(Inv):
        """inv with element (1, 1) of its gradient ten resolutions off."""

        def vjp(self, gy: Any, a: Any, y: Any) -> Any:
            return super().vjp(gy, a, y) * factor

    planted = check_gradients(lambda x: OffInv()(x), Variable(a))
    assert planted.failure is not None
    assert "(1, 1)" in planted.failure
