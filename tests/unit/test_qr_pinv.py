"""qr and pinv: NumPy's spellings and results, the refusals' messages, the derivatives against
the oracle (also of NumPy's own signs, away from a sign flip), the degeneracies on both sides
(the margin, and what the ops do at a rank-deficient matrix), and the accuracy at condition
numbers 1e2 to 1e8."""

import itertools
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest

from tinygrad_ref import Variable, gradcheck, gradgradcheck, jvp
from tinygrad_ref.ops import QRResult, pinv, qr, qr_probe
from tinygrad_ref.ops.linalg import MAX_CONDITION
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import SingularKink
from tinygrad_ref.verification.checks import check_gradients
from tinygrad_ref.verification.strategies import condition, conditioned

RNG = np.random.default_rng(2432)
npa: Any = np
"""NumPy, typed to take Variables (its stubs take arrays)."""


def with_singular_values(s: np.ndarray, m: int, n: int) -> np.ndarray:
    """A random ``m`` by ``n`` matrix with the singular values ``s``."""
    u, _ = np.linalg.qr(RNG.standard_normal((m, len(s))))
    v, _ = np.linalg.qr(RNG.standard_normal((n, len(s))))
    a: np.ndarray = (u * s) @ v.T
    return a


def rank_deficient(m: int, n: int, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """A product ``b @ c`` of rank ``rank``, and its factors stacked: ``(b, c)``."""
    b, c = RNG.standard_normal((m, rank)), RNG.standard_normal((rank, n))
    return b, c


# qr


def test_qr_through_numpy_gives_numpys_q_and_r_as_recorded_variables() -> None:
    a = RNG.standard_normal((2, 5, 3))
    x = Variable(a)
    result = npa.linalg.qr(x)
    assert isinstance(result, QRResult)
    q, r = result
    assert q.creator is not None
    expected = np.linalg.qr(a)
    np.testing.assert_array_equal(q.data, expected.Q)
    np.testing.assert_array_equal(r.data, expected.R)
    only_r = npa.linalg.qr(x, mode="r")
    assert isinstance(only_r, Variable)
    np.testing.assert_array_equal(only_r.data, expected.R)
    square = RNG.standard_normal((3, 3))
    complete = npa.linalg.qr(Variable(square), mode="complete")
    np.testing.assert_array_equal(complete.Q.data, np.linalg.qr(square, mode="complete").Q)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: qr(np.ones((2, 3))), r"qr of wide matrices \(shape \(2, 3\): 2 rows < 3"),
        (lambda: qr(np.ones(3)), r"qr needs matrices in the last two axes, got shape \(3,\)"),
        (lambda: qr(np.ones((3, 2)), mode="raw"), r"qr\(mode='raw'\) is not supported"),
        (lambda: qr(np.ones((3, 2)), mode="complete"), r"qr\(mode='complete'\) of non-square"),
        (lambda: qr(np.ones((3, 2)), mode="full"), r"qr's mode must be one of"),
    ],
)
def test_qr_refuses_by_name(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_numpys_signs_flip_where_a_pivot_crosses_zero_and_the_probe_does_not() -> None:
    """LAPACK's Householder QR gives ``R[k, k]`` the sign opposite to the pivot it reflects:
    Q and R jump where a pivot crosses 0, which is why the verification checks them with the
    signs of the QR with a positive diagonal (:func:`qr_probe`)."""
    a = RNG.standard_normal((4, 3))
    below, above = a.copy(), a.copy()
    below[0, 0], above[0, 0] = -1e-9, 1e-9
    r_below, r_above = np.linalg.qr(below).R, np.linalg.qr(above).R
    assert r_below[0, 0] > 0 > r_above[0, 0]
    probes = [qr_probe(qr(Variable(m))).data for m in (below, above)]
    np.testing.assert_allclose(probes[0], probes[1], atol=1e-8)


@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (2, 4, 3), (1, 1), (6, 1)])
def test_qr_against_the_oracle_to_second_order(shape: tuple[int, ...]) -> None:
    a = RNG.standard_normal(shape)
    for mode in ("reduced", "r"):
        assert gradcheck(lambda x, mode=mode: qr_probe(qr(x, mode)), Variable(a))
        assert gradgradcheck(lambda x, mode=mode: qr_probe(qr(x, mode)), Variable(a))


def test_numpys_q_and_r_themselves_have_the_derivative_with_their_signs_held() -> None:
    """Away from a sign flip (every pivot far from 0) NumPy's Q and R are smooth, and their
    derivative is the rule's: checked directly, each output element by the oracle."""
    a = RNG.standard_normal((5, 3)) + 3 * np.eye(5, 3)
    assert gradcheck(lambda x: qr(x).Q, Variable(a))
    assert gradcheck(lambda x: qr(x).R, Variable(a))
    t = RNG.standard_normal(a.shape)
    _, (tq, tr) = jvp(lambda x: tuple(qr(x)), (a,), (t,))
    h = 1e-6
    ahead, behind = np.linalg.qr(a + h * t), np.linalg.qr(a - h * t)
    np.testing.assert_allclose(tq, (ahead.Q - behind.Q) / (2 * h), atol=1e-8)
    np.testing.assert_allclose(tr, (ahead.R - behind.R) / (2 * h), atol=1e-8)


def test_qr_at_a_rank_deficient_matrix_is_numpys_and_its_derivative_refused() -> None:
    a = RNG.standard_normal((5, 3))
    a[:, 2] = a[:, 0] - 2 * a[:, 1]
    x = Variable(a)
    q, r = qr(x)
    expected = np.linalg.qr(a)
    np.testing.assert_array_equal(q.data, expected.Q)
    np.testing.assert_array_equal(r.data, expected.R)
    with pytest.raises(np.linalg.LinAlgError, match="qr: the derivative does not exist at a rank"):
        (q.sum() + r.sum()).backward()
    with pytest.raises(np.linalg.LinAlgError, match="rank-deficient"):
        jvp(lambda y: qr(y).R, (a,), (np.ones_like(a),))


@pytest.mark.parametrize("name", ["qr", "pinv"])
def test_the_strategies_keep_non_square_matrices_inside_the_margin(name: str) -> None:
    kink = REGISTRY[name].kink
    assert isinstance(kink, SingularKink)
    assert kink.max_condition == MAX_CONDITION
    for shape in ((50, 5, 3), (50, 2, 4)):
        rough = RNG.standard_normal(shape)
        rough[::2, :, -1] = rough[::2, :, 0] * (1 + 1e-9)  # NOTE: nearly rank-deficient
        if shape[-2] < shape[-1]:
            rough[::2, -1, :] = rough[::2, 0, :] * (1 + 1e-9)
        kept = conditioned(rough, kink)
        assert np.all(condition(kept, kink) <= kink.max_condition)
        inside = condition(rough, kink) <= kink.max_condition
        assert not np.all(inside)
        np.testing.assert_array_equal(kept[inside], rough[inside])


def test_qr_at_the_margin_passes_the_oracle() -> None:
    a = with_singular_values(np.array([1.0, 0.3, 1 / MAX_CONDITION]), 5, 3)
    assert gradcheck(lambda x: qr_probe(qr(x)), Variable(a))


# pinv


def test_pinv_is_numpys_with_its_cutoffs_and_through_numpy() -> None:
    a = RNG.standard_normal((2, 4, 3))
    x = Variable(a)
    y = npa.linalg.pinv(x)
    assert isinstance(y, Variable)
    assert y.creator is not None
    np.testing.assert_array_equal(y.data, np.linalg.pinv(a))
    # NOTE: a cutoff between the singular values drops the smallest, as NumPy's does
    b = with_singular_values(np.array([2.0, 1.0, 0.01]), 4, 3)
    for keywords in ({"rcond": 0.1}, {"rtol": 0.1}, {"rtol": None}, {"rcond": np.array(0.1)}):
        np.testing.assert_array_equal(
            npa.linalg.pinv(Variable(b), **keywords).data, np.linalg.pinv(b, **keywords)
        )
    symmetric = RNG.standard_normal((3, 3))
    np.testing.assert_array_equal(
        pinv(symmetric, hermitian=True).data, np.linalg.pinv(symmetric, hermitian=True)
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: pinv(np.ones(3)), ValueError, r"pinv needs matrices in the last two axes"),
        (lambda: pinv(np.eye(2), rcond=0.1, rtol=0.1), ValueError, "rcond or rtol"),
        (lambda: pinv(np.eye(2), rcond=Variable(0.1)), TypeError, "pinv's rcond is a constant"),
        (
            lambda: pinv(np.ones((2, 3)), hermitian=True),
            ValueError,
            r"pinv\(hermitian=True\) needs square matrices",
        ),
    ],
)
def test_pinv_refuses_by_name(call: Callable[[], Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (2, 4), (2, 3, 2), (1, 1)])
def test_pinv_against_the_oracle_to_second_order(shape: tuple[int, ...]) -> None:
    a = RNG.standard_normal(shape)
    assert gradcheck(pinv, Variable(a))
    assert gradgradcheck(pinv, Variable(a))


def test_pinv_hermitian_reads_the_lower_triangle() -> None:
    a = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
    x = Variable(a)
    (pinv(x, hermitian=True) * RNG.standard_normal((4, 4))).sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(np.triu(x.grad.data, 1), 0.0)
    assert gradcheck(lambda v: pinv(v, hermitian=True), Variable(a))
    assert gradgradcheck(lambda v: pinv(v, hermitian=True), Variable(a))


@pytest.mark.parametrize(("m", "n", "rank"), [(4, 3, 2), (3, 5, 1), (4, 4, 3)])
def test_pinv_at_a_rank_deficient_matrix_differentiates_along_the_rank(
    m: int, n: int, rank: int
) -> None:
    """At a rank-deficient matrix the rank is constant along ``(b + t db) (c + t dc)``: there
    the jvp is the derivative of NumPy's pinv, and the vjp its adjoint (Golub and Pereyra's
    formula at the rank the cutoff gives)."""
    b, c = rank_deficient(m, n, rank)
    db, dc = RNG.standard_normal(b.shape), RNG.standard_normal(c.shape)
    a, ta = b @ c, db @ c + b @ dc
    _, tp = jvp(pinv, (a,), (ta,))
    h = 1e-6
    numerical = (np.linalg.pinv((b + h * db) @ (c + h * dc)) - np.linalg.pinv(
        (b - h * db) @ (c - h * dc)
    )) / (2 * h)  # fmt: skip
    np.testing.assert_allclose(tp, numerical, atol=1e-7)
    x = Variable(a)
    g = RNG.standard_normal((n, m))
    (pinv(x) * g).sum().backward()
    assert x.grad is not None
    assert np.isclose(np.sum(x.grad.data * ta), np.sum(g * tp), rtol=1e-10)


def test_pinv_has_no_derivative_across_the_rank_change() -> None:
    """Off the rank (a generic step ``t e``) pinv jumps: its change grows as ``1 / t``, and the
    gradient (the convention) is finite, not that of either side."""
    b, c = rank_deficient(4, 3, 2)
    a = b @ c
    e = RNG.standard_normal(a.shape)
    changes = [np.abs(np.linalg.pinv(a + t * e) - np.linalg.pinv(a)).max() for t in (1e-4, 1e-6)]
    assert changes[1] > 50 * changes[0]
    x = Variable(a)
    pinv(x).sum().backward()
    assert x.grad is not None
    assert np.all(np.isfinite(x.grad.data))


def test_pinv_at_the_margin_passes_the_oracle() -> None:
    for m, n in ((4, 3), (3, 4)):
        a = with_singular_values(np.array([1.0, 0.3, 1 / MAX_CONDITION]), m, n)
        assert gradcheck(pinv, Variable(a))


# Accuracy at the hard cases: condition numbers 1e2 to 1e8.


def true_gradient(f: Callable[[Any], Any], a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The gradient of ``sum(w * f(a))`` by central differences in mpmath at 60 digits."""
    mpmath.mp.dps = 60
    step = mpmath.mpf(10) ** -25
    g = np.zeros(a.shape)
    for i, j in itertools.product(*map(range, a.shape)):
        values = []
        for sign in (1, -1):
            moved = mpmath.matrix(a.tolist())
            moved[i, j] += sign * step
            values.append(f(moved))
        difference = values[0] - values[1]
        total = sum(w[k, c] * difference[k, c] for k, c in itertools.product(*map(range, w.shape)))
        g[i, j] = float(total / (2 * step))
    return g


def mp_qr_r(a: Any) -> Any:
    """R of the QR with a positive diagonal, in mpmath."""
    _, r = mpmath.qr(a, mode="skinny")
    for k in range(r.rows):
        if r[k, k] < 0:
            for j in range(r.cols):
                r[k, j] = -r[k, j]
    return r


def mp_pinv(a: Any) -> Any:
    return (a.T * a) ** -1 * a.T


def analytic_qr(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Householder's QR with a positive diagonal, analytic (no conjugation: ``sqrt(x . x)``
    for a norm), so that the complex step differentiates it: an oracle exact to rounding."""
    m, n = a.shape
    r, q = a.astype(complex), np.eye(m, dtype=complex)
    for k in range(n):
        v = r[k:, k].copy()
        v[0] += np.sign(v[0].real) * np.sqrt(np.sum(v * v))
        beta = 2 / np.sum(v * v)
        r[k:, :] -= beta * np.outer(v, v @ r[k:, :])
        q[:, k:] -= beta * np.outer(q[:, k:] @ v, v)
    d = np.sign(np.diag(r).real)
    return q[:, :n] * d, d[:, None] * r[:n]


def analytic_pinv(a: np.ndarray) -> np.ndarray:
    q, r = analytic_qr(a)
    p: np.ndarray = np.linalg.solve(r, q.T)
    return p


HARD: dict[str, tuple[Callable[[Variable], Variable], Callable[[Any], Any], Any]] = {
    "qr": (
        lambda x: qr_probe(qr(x, "r")).reshape((3, 3)),
        mp_qr_r,
        lambda a: analytic_qr(a)[1],
    ),
    "pinv": (pinv, mp_pinv, analytic_pinv),
}


def hard_case(kappa: float) -> np.ndarray:
    """A 5 by 3 matrix with singular values spaced geometrically from 1 to ``1 / kappa``."""
    return with_singular_values(np.geomspace(1.0, 1.0 / kappa, 3), 5, 3)


def relative_error(name: str, a: np.ndarray) -> float:
    """The largest error of the gradient of ``sum(w * f(a))`` against the truth (mpmath),
    relative to its largest element."""
    function, exact, _ = HARD[name]
    x = Variable(a)
    y = function(x)
    w = RNG.standard_normal(y.shape)
    (y * w).sum().backward()
    assert x.grad is not None
    truth = true_gradient(exact, a, w)
    return float(np.abs(x.grad.data - truth).max() / np.abs(truth).max())


@pytest.mark.parametrize("name", ["qr", "pinv"])
def test_the_error_grows_as_kappa_eps(name: str) -> None:
    """Against the truth (mpmath at 60 digits), the gradient's relative error stays within a
    few ``kappa eps`` up to 1e8."""
    for kappa in (1e2, 1e4, 1e6, 1e8):
        error = relative_error(name, hard_case(kappa))
        assert error < 16 * kappa * np.finfo(np.float64).eps, (kappa, error)


@pytest.mark.parametrize("name", ["qr", "pinv"])
def test_the_checked_bound_grows_with_the_condition_number(name: str) -> None:
    """The oracle's check (the complex step through an analytic Householder QR) passes, its
    resolution growing with kappa, and still catches a gradient 0.1% off at 1e6."""
    function, _, reference = HARD[name]
    resolutions = []
    for kappa in (1e2, 1e4, 1e6):
        report = check_gradients(
            function, Variable(hard_case(kappa)), method="complex", reference=reference
        )
        assert report.failure is None, (kappa, report.failure)
        resolutions.append(report.resolution)
    assert all(later > earlier for earlier, later in itertools.pairwise(resolutions)), resolutions
    assert resolutions[-1] < 1e-3, resolutions


def test_pinv_refuses_the_derivative_where_its_cutoff_drops_a_singular_value_not_zero() -> None:
    # NOTE: singular values about 1, 0.5, 0.1: rcond=0.3 drops 0.1, and Golub and Pereyra's
    # formula, 22% off there, is not the truncated pseudo-inverse's derivative
    a = np.diag([1.0, 0.5, 0.1]) + 0.01 * np.arange(9.0).reshape(3, 3) / 9
    drops: list[Callable[[Any], Variable]] = [
        lambda v: pinv(v, rcond=0.3),
        lambda v: pinv(v, rtol=0.3),
    ]
    for dropping in drops:
        with pytest.raises(np.linalg.LinAlgError, match="drops a singular value that is not 0"):
            dropping(Variable(a)).sum().backward()
        with pytest.raises(np.linalg.LinAlgError, match="drops a singular value that is not 0"):
            jvp(dropping, (a,), (np.ones((3, 3)),))
    keeps: list[Callable[[Any], Variable]] = [
        lambda v: pinv(v, rcond=0.01),
        lambda v: pinv(v, rtol=None),
        pinv,
    ]
    for keeping in keeps:
        assert gradcheck(keeping, Variable(a))
