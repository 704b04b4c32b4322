"""eigh and eigvalsh: NumPy's spellings, the triangle read, the conventions at repeated
eigenvalues and the refusals, and the accuracy of the vectors' gradient at small gaps."""

from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest

from tinygrad_ref import Variable, grad, gradgradcheck, jvp
from tinygrad_ref.ops import EighResult, eigh, eigh_probe, eigvalsh, svd, svd_probe, svdvals
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import SpectralKink
from tinygrad_ref.verification.strategies import (
    Example,
    check_example,
    check_forward_example,
    check_hessian,
    check_kink_example,
)

RNG = np.random.default_rng(24)
npa: Any = np
"""NumPy, typed to take Variables (its stubs take arrays)."""
C = np.array([1.0, 1.5, 2.0])


def gradient(f: Callable[[Variable], Variable], a: np.ndarray) -> np.ndarray:
    x = Variable(a)
    f(x).backward()
    assert x.grad is not None
    return x.grad.data


def test_numpy_spellings_give_recorded_variables() -> None:
    x = Variable(RNG.standard_normal((2, 3, 3)))
    result = npa.linalg.eigh(x)
    assert isinstance(result, EighResult)
    assert isinstance(result.eigenvalues, Variable)
    assert isinstance(result.eigenvectors, Variable)
    assert result.eigenvalues.creator is not None
    values = npa.linalg.eigvalsh(x, UPLO="U")
    assert isinstance(values, Variable)
    np.testing.assert_array_equal(values.data, np.linalg.eigvalsh(x.data, UPLO="U"))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_the_gradient_is_on_the_triangle_read(uplo: str) -> None:
    """The gradient of the function as it is: 0 off the triangle read, ``g_ij + g_ji`` of the
    symmetric gradient (PyTorch's convention) on it."""
    a = RNG.standard_normal((4, 4))
    g = gradient(lambda x: (eigvalsh(x, uplo) * np.arange(1.0, 5.0)).sum(), a)
    v = npa.linalg.eigh(a, UPLO=uplo)[1]
    symmetric = (v * np.arange(1.0, 5.0)) @ v.T
    read = np.tril(np.ones((4, 4))) if uplo == "L" else np.triu(np.ones((4, 4)))
    expected = read * (2 * symmetric - np.diag(np.diag(symmetric)))
    np.testing.assert_allclose(g, expected, atol=1e-12)


def test_tied_eigenvalues_share_their_gradient() -> None:
    """At a repeated eigenvalue each tied one gets the mean of their gradients: whatever basis
    LAPACK picks, the gradient is the projector of their space times that mean."""
    q, _ = np.linalg.qr(RNG.standard_normal((3, 3)))
    a = (q * np.array([2.0, 2.0, 5.0])) @ q.T
    g = gradient(lambda x: (eigvalsh(x) * C).sum(), a)
    projector = q[:, :2] @ q[:, :2].T
    symmetric = 1.25 * projector + 2.0 * np.outer(q[:, 2], q[:, 2])
    expected = np.tril(2 * symmetric - np.diag(np.diag(symmetric)))
    np.testing.assert_allclose(g, expected, atol=1e-12)


def test_the_vectors_gradient_refuses_repeated_eigenvalues() -> None:
    x = Variable(np.eye(3))
    y = eigh_probe(eigh(x))
    with pytest.raises(ValueError, match="eigh: the derivative of the eigenvectors does not "
                       "exist at repeated eigenvalues"):  # fmt: skip
        y.backward()


def test_bad_arguments_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"eigh needs square matrices .* shape \(2, 3\)"):
        eigh(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"eigvalsh needs square matrices .* shape \(3,\)"):
        eigvalsh(np.ones(3))
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U', got 'X'"):
        eigvalsh(np.eye(2), UPLO="X")


def _exact_probe_gradient(a: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The gradient of ``sum(weights * V diag(C) Vᵀ)`` by the lower triangle, by central
    differences on mpmath's eigenvectors at 40 digits."""
    mpmath.mp.dps = 40

    def probe(b: list[list[mpmath.mpf]]) -> mpmath.mpf:
        values, vectors = mpmath.eigsy(mpmath.matrix(b))
        order = sorted(range(3), key=lambda i: values[i])
        total = mpmath.mpf(0)
        for k, i in enumerate(order):
            for r in range(3):
                for s in range(3):
                    total += C[k] * vectors[r, i] * vectors[s, i] * weights[r, s]
        return total

    exact = np.zeros((3, 3))
    h = mpmath.mpf("1e-25")
    for i in range(3):
        for j in range(i + 1):
            moved = []
            for step in (h, -h):
                b = [[mpmath.mpf(float(t)) for t in row] for row in a]
                b[i][j] += step
                if i != j:
                    b[j][i] += step
                moved.append(probe(b))
            exact[i, j] = float((moved[0] - moved[1]) / (2 * h))
    return exact


@pytest.mark.parametrize("gap", [1e-1, 1e-3, 1e-6])
def test_the_vectors_gradient_loses_accuracy_as_eps_over_the_gap(gap: float) -> None:
    """The gradient grows as ``|W| / gap``, and its error as ``eps / gap`` times that
    (docs/decompositions.md has the sweep: at most 1.3 ``eps |W| / gap**2`` over 300 random
    draws per gap; relative to the largest element, up to 91 ``eps / gap`` where ``W`` nearly
    cancels the ``1 / gap`` term). One draw for every gap, whatever the tests' order."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = (q * np.array([0.0, gap, 1.0])) @ q.T
    a = (a + a.T) / 2
    weights = rng.standard_normal((3, 3))
    g = gradient(lambda x: ((eigh(x).eigenvectors * C) @ eigh(x).eigenvectors.T * weights).sum(), a)
    exact = _exact_probe_gradient(a, weights)
    scale = np.abs(weights).max() / gap
    assert np.abs(exact).max() > 0.1 * scale
    assert np.abs(g - exact).max() <= 16 * np.finfo(np.float64).eps * scale / gap


def test_svd_through_numpy_and_its_refusals() -> None:
    x = Variable(RNG.standard_normal((2, 4, 3)))
    u, s, vh = npa.linalg.svd(x, full_matrices=False)
    assert (u.shape, s.shape, vh.shape) == ((2, 4, 3), (2, 3), (2, 3, 3))
    np.testing.assert_allclose((u.data * s.data[..., None, :]) @ vh.data, x.data, atol=1e-12)
    values = npa.linalg.svd(x, compute_uv=False)
    np.testing.assert_array_equal(values.data, npa.linalg.svdvals(x).data)
    square = npa.linalg.svd(Variable(np.eye(2) + 1.0))  # full and reduced agree
    assert square.U.shape == (2, 2)
    with pytest.raises(ValueError, match=r"full_matrices=True\) of non-square matrices"):
        npa.linalg.svd(x)
    with pytest.raises(ValueError, match=r"hermitian=True\) is not supported"):
        svd(np.eye(2), hermitian=True)
    with pytest.raises(ValueError, match=r"svd needs matrices .* shape \(3,\)"):
        svd(np.ones(3), full_matrices=False)


def test_singular_values_conventions_and_refusals() -> None:
    """A zero singular value gets no gradient (as abs at 0), tied ones share theirs, and the
    vectors' gradient is refused at either."""
    x = Variable(np.diag([3.0, 0.0]))
    (svdvals(x) * np.array([1.0, 2.0])).sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, np.diag([1.0, 0.0]), atol=1e-15)
    x = Variable(np.diag([2.0, 2.0]))
    (svdvals(x) * np.array([1.0, 2.0])).sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, np.diag([1.5, 1.5]), atol=1e-15)
    for matrix, what in ((np.diag([2.0, 2.0]), "repeated singular values"),
                         (np.diag([3.0, 0.0]), "a zero singular value")):  # fmt: skip
        result = svd(Variable(matrix), full_matrices=False)
        assert isinstance(result, tuple)
        with pytest.raises(ValueError, match=f"svd: the derivative .* does not exist at {what}"):
            svd_probe(result).backward()


@pytest.mark.parametrize("power", [0, -10, -43])
def test_second_derivatives_pass_at_any_scale_of_the_matrix(power: int) -> None:
    """A power of two scales a decomposition and its rounding exactly: svdvals' second
    derivatives at a singular vector near an axis (1 - v0**2 cancels: ~285 float32 ULPs of
    H00) pass at ``2**-43`` of the matrix as at the matrix (seed 7 drew it, scaled toward the
    float32 spectrum floor), judged on the matrix's own scale (``homogeneous=True``)."""
    matrix = np.array([[1.0, 4.4408836e-16 / 2.2737324e-13]]) * 2.0**power
    x = Variable(matrix.astype(np.float32))
    assert gradgradcheck(svdvals, x, seed=0, homogeneous=True)


@pytest.mark.parametrize("used", [0, 1, 2])
def test_forward_over_reverse_through_an_output_left_unused(used: int) -> None:
    """An output nothing uses is dropped and revived for the recorded pass; a forward-mode pass
    over it still reads its tangent (it had none: the Hessian of the eigenvalues alone, through
    eigh's vectors, came out 1.66 off), and agrees with reverse over reverse."""
    a = RNG.standard_normal((3, 3))
    t = RNG.standard_normal((3, 3))

    def f(x: Any) -> Any:
        parts = svd(x, full_matrices=False)
        assert isinstance(parts, tuple)
        return (parts[used] * C[: parts[used].shape[-1]]).sum()

    forward = np.asarray(jvp(grad(f), (a,), (t,))[1])
    reverse = grad(lambda x: (grad(f)(x) * t).sum())(a)
    np.testing.assert_allclose(forward, np.asarray(reverse), atol=1e-10)
    values = grad(lambda x: (eigh(x)[0] * C).sum())
    reverse_values = grad(lambda x: (values(x) * t).sum())(a)
    np.testing.assert_allclose(
        np.asarray(jvp(values, (a,), (t,))[1]), np.asarray(reverse_values), atol=1e-10
    )


def test_float32_tangents_are_judged_with_the_rounding_of_the_vectors() -> None:
    """LAPACK's float32 eigenvectors are off by about ``eps |A| / gap`` in every element, so
    an element 0 in exact arithmetic (here the coupling of the third vector to the fourth
    row, through ``-1e-28``) carries that error into the tangents; a probe element whose own
    terms were 1e-24 was judged to 7.7e-30 and missed by 1.3e-25 (a random example of the
    property suite, at operands of 2**-42)."""
    t = 2.0**-42
    a = np.diag([t, 2 * t, 2 * t, 2 * t, 3 * t]).astype(np.float32)
    a[3, 1], a[3, 2] = 2 * t, -1.009742e-28
    check_forward_example(Example(REGISTRY["eigh"], (Variable(a),), {"UPLO": "L"}))


def test_a_batched_second_derivative_is_judged_on_the_terms_its_pass_sums() -> None:
    """svd's Hessian of a 1x4 matrix with a singular value of 1.5e-4: the rules divide by it,
    and H v by one batched pass differed from the pass of v alone by 5.8e-14 (relative),
    four times the bound from ``|H| |v|`` alone, which does not see those terms cancel."""
    a = np.array([[-3.6975448613843227e-06, 0.0, 0.0001452838623178913, 0.0]])
    check_hessian(Example(REGISTRY["svd"], (Variable(a),), {"full_matrices": False}))


def test_a_gradient_read_from_the_singular_vectors_is_judged_on_their_rounding() -> None:
    """svdvals' second derivatives, reverse over reverse, at a stack whose spectra have gaps of
    2.2e-4 beside singular values up to 1.1e-3: the oracle's differences of the gradient (read
    from LAPACK's vectors, off by about ``n eps max|s| / gap``) over a step of 1e-14 gave
    -661.13 for -665.32 (mpmath: ours to 1e-12), beyond a bound of 3.08 from the measured
    noise: the second-order check counts that rounding, as the forward checks do (a random
    example of the property suite, at seed 22)."""
    tiny = [4.18128153e-19, -2.48918231e-19, -3.2299382e-19, -2.26183988e-19]
    first = [
        [-0.0010899818, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, -1.38009617e-18, 0.000348981069, 0.000259565211, 7.3307632e-05, 7.3307632e-05],
        [0.0, 2.54627485e-18, 0.000336813059, 1.1966063e-05, 0.000203191211, 0.000203191211],
        [0.0, -1.66082099e-18, -0.00011942297, 0.000294839884, 0.000289872315, 0.000289872315],
        [0.0, -0.000871985441, *tiny],
    ]
    u, v, w = 0.000376995823, 0.000332263138, -3.29576349e-05
    second = [
        [-0.000512970591, *[0.000341397166] * 5],
        [u, -0.00034317388, *[0.000290048324] * 4],
        [u, v, 0.000429482479, *[1.84246e-05] * 3],
        [u, v, w, 4.67110473e-05, 0.000235501433, 0.000235501433],
        [u, v, w, 0.000298431562, 0.000109641176, 0.000109641176],
    ]
    a = np.array([first, second, second])
    check_example(Example(REGISTRY["svdvals"], (Variable(a),), {}))


def test_the_oracle_grows_its_steps_only_within_the_spectrum_gaps() -> None:
    """svd's second derivatives at float32 diagonal matrices whose singular values are 2.2e-4
    apart: with its evaluations' rounding counted (above), an element's first step of 4.4e-12
    is lost in it, and the oracle grows the step; grown to 9.2e-4 (an eighth of the stack's
    rms), across the gaps, it gave 8349.83 for 4147.37 with a bound of 3.73e3. Its steps now
    stay within an eighth of half the least gap, where it gives 4147.374561922 (ours:
    4147.374561921)."""
    gap = np.float32(2.1799636e-04)
    small = np.diag(gap * np.arange(6, 0, -1, dtype=np.float32))
    a = np.stack([np.diag(np.array([1, 0.1, 0.5, 0.4, 0.3, 0.2], dtype=np.float32)), small, small])
    check_example(Example(REGISTRY["svd"], (Variable(a),), {"full_matrices": False}))


def test_a_spectrum_is_as_far_from_degenerate_as_half_its_least_gap() -> None:
    """``SpectralKink.distance``: a change of one element moves each singular value by at most
    its size, so two values ``g`` apart need a change of ``g / 2`` to meet; for svd's values
    the gap from 0 counts too."""
    a = np.diag([3.0, 2.0, 0.5])
    svd_kink = REGISTRY["svd"].kink
    eigh_kink = REGISTRY["eigh"].kink
    assert isinstance(svd_kink, SpectralKink)
    assert isinstance(eigh_kink, SpectralKink)
    assert svd_kink.distance(a, {"full_matrices": False}) == 0.25
    assert eigh_kink.distance(a, {"UPLO": "L"}) == 0.5
    assert svd_kink.distance(np.diag([3.0, 2.5, 2.0]), {"full_matrices": False}) == 0.25


def test_each_matrix_of_a_stack_is_conditioned_on_its_own_scale() -> None:
    """``SpectralKink.conditioning`` of a stack is its matrices' largest ``n max|s| / gap``, not
    the stack's largest value over its least gap: LAPACK decomposes each matrix on its own
    scale, and ``[A, 1e-6 A]`` taken whole (9e6 instead of 9) let the second-order check pass a
    rule that drops a second derivative (the review's reproducer)."""
    a = np.diag([3.0, 2.0, 1.0])
    stack = np.stack([a, 1e-6 * a])
    kink = REGISTRY["svd"].kink
    assert isinstance(kink, SpectralKink)
    assert kink.conditioning(stack, {"full_matrices": False}) == kink.conditioning(
        a, {"full_matrices": False}
    )
    assert kink.conditioning(a, {"full_matrices": False}) == 9.0


def test_a_tied_runs_convention_is_judged_on_the_gaps_between_runs() -> None:
    """At a tied largest singular value, the op's gradient and the declared convention (the
    mean over the tie, from NumPy's vectors) both read the tied pair's space from LAPACK's
    vectors, each rounded by the gaps between distinct values: 48 of 400 such stacks were
    more than 4 eps apart (seed 27: 8.9 eps), so the check allows the conditioning between
    runs (ties left out) times that."""
    rng = np.random.default_rng(0)
    u, _ = np.linalg.qr(rng.normal(size=(6, 4)))
    v, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    x = (u * np.array([1.8545, 1.8545, 0.627, 0.0])) @ v.T
    params = {"ord": 2, "axis": (-1, -2), "keepdims": True}
    check_kink_example(Example(REGISTRY["norm_spectral"], (Variable(x),), params))
    kink = REGISTRY["norm_spectral"].kink
    assert isinstance(kink, SpectralKink)
    assert kink.conditioning(x, params, ties=False) == pytest.approx(4 * 1.8545 / 0.627)
    assert kink.conditioning(x, params) > 1e12  # the tie itself, split by rounding
