"""The numerical oracle and its derived tolerances: no false alarm on correct gradients at
awkward scales, no miss of small planted errors, in full and fast mode."""

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tinygrad_ref import (
    Array,
    Config,
    Function,
    GradcheckError,
    Variable,
    check_gradients,
    cos,
    exp,
    gradgradcheck,
    log,
    reshape,
    sin,
    sqrt,
    tanh,
)
from tinygrad_ref.core import Tensor
from tinygrad_ref.ops import Cos, solve
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification import oracle
from tinygrad_ref.verification.checks import check_second_gradients
from tinygrad_ref.verification.oracle import (
    ComplexStepUnderflowError,
    numerical_directional,
    numerical_estimates,
    numerical_grad,
    numerical_jacobian,
    oracle_reach,
    variation_scale,
)
from tinygrad_ref.verification.strategies import (
    Example,
    check_directional,
    check_example,
    check_forward_example,
    check_hessian,
)

MODES = [pytest.param(False, id="full"), pytest.param(True, id="fast")]
RNG = np.random.default_rng(2026)


class Planted(Function):
    """``f`` with the derivative ``df`` times ``1 + error``: everywhere, or in one element."""

    def __init__(
        self,
        f: Callable[[Array], Array],
        df: Callable[[Array], Array],
        error: float = 0.0,
        where: int | None = None,
    ) -> None:
        self.f, self.df, self.error, self.where = f, df, error, where

    def forward(self, x: Array) -> Array:
        return self.f(x)

    def factor(self, shape: tuple[int, ...]) -> Array:
        factor = np.full(shape, 1.0 + (self.error if self.where is None else 0.0))
        if self.where is not None:
            factor.reshape(-1)[self.where] += self.error
        return factor

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        data = self.inputs[0].data
        return gy * (self.df(data) * self.factor(data.shape))


FUNCTIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "sin": (np.sin, np.cos),
    "exp": (np.exp, np.exp),
    "cube": (lambda x: x**3, lambda x: 3 * x**2),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
}


def planted(name: str, error: float = 0.0, where: int | None = None) -> Callable[..., Variable]:
    f, df = FUNCTIONS[name]
    return lambda v: Planted(f, df, error, where)(v)


def passes(fn: Callable[..., Variable], *inputs: Variable, fast: bool) -> bool:
    report = check_gradients(fn, *inputs, fast=fast)
    assert (report.failure is None) == (report.margin <= 1)
    return report.failure is None


# --- no false alarms ---------------------------------------------------------------------


SMALL = {
    "log": lambda v: log(v),
    "sqrt": lambda v: sqrt(v),
    "reciprocal": lambda v: 1.0 / v,
    "log of a square root": lambda v: log(sqrt(v) * 3.0),
}


@pytest.mark.parametrize("fast", MODES)
@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functions_of_small_arguments_pass(name: str, dtype: type, fast: bool) -> None:
    x = Variable(RNG.uniform(3e-5, 3e-4, size=7).astype(dtype))
    assert passes(SMALL[name], x, fast=fast)


@pytest.mark.parametrize("fast", MODES)
@pytest.mark.parametrize("name", SMALL)
def test_small_and_large_arguments_in_one_array_pass(name: str, fast: bool) -> None:
    x = Variable(np.array([[2e-5, 6.0], [8e-4, 70.0], [1.5e-5, 0.3]]))
    assert passes(SMALL[name], x, fast=fast)


@pytest.mark.parametrize("fast", MODES)
@pytest.mark.parametrize("fn", [sin, cos, lambda v: sin(v) * cos(v * 0.5)])
def test_functions_of_large_arguments_pass(fn: Callable[..., Variable], fast: bool) -> None:
    x = Variable(RNG.uniform(2.5e4, 6e4, size=(3, 4)))
    assert passes(fn, x, fast=fast)


@pytest.mark.parametrize("fast", MODES)
def test_inputs_of_very_different_scales_pass(fast: bool) -> None:
    a = Variable(RNG.uniform(-8e4, -2e4, size=12))
    b = Variable(RNG.uniform(-3.0, 3.0, size=12))
    assert passes(lambda a, b: a + sin(b), a, b, fast=fast)
    assert passes(lambda a, b: a * 1e-3 - cos(b) * tanh(b), a, b, fast=fast)


@pytest.mark.parametrize("fast", MODES)
def test_a_step_that_would_leave_the_domain_shrinks(fast: bool) -> None:
    x = Variable(np.array([1e-7, 1e-6, 500.0, 2000.0]))
    assert passes(lambda v: log(v) + sqrt(v), x, fast=fast)


@pytest.mark.parametrize("fast", MODES)
def test_correct_gradients_of_a_large_input_pass(fast: bool) -> None:
    x = Variable(RNG.normal(size=(30, 30)) if not fast else RNG.normal(size=(100, 100)))
    for name in FUNCTIONS:
        assert passes(planted(name), x, fast=fast)


# --- no misses -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_fast_mode_catches_one_element_wrong_by_1e_4_in_100x100(name: str) -> None:
    # NOTE: a generator of its own: the draw does not depend on the tests' order. Fast mode
    # checks directions, so an element whose derivative is small beside the others' (cube's
    # 3x**2 near 0) is checked loosely, and its resolution says so: a miss there is honest
    rng = np.random.default_rng([2026, list(FUNCTIONS).index(name)])
    x = Variable(rng.normal(size=(100, 100)))
    (resolutions,) = check_gradients(planted(name), x, fast=True).resolutions
    assert np.mean(resolutions <= 1e-4) > 0.8
    for where in rng.integers(x.size, size=3).tolist():
        caught = not passes(planted(name, 1e-4, where), x, fast=True)
        assert caught or resolutions.flat[where] > 1e-4


@pytest.mark.parametrize("fast", MODES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_element_wrong_by_1e_6_is_caught(name: str, fast: bool) -> None:
    x = Variable(RNG.normal(size=(100, 100)) if fast else RNG.normal(size=(12, 12)))
    assert not passes(planted(name, 1e-6), x, fast=fast)
    assert not passes(planted(name, -1e-6), x, fast=fast)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_full_mode_catches_one_element_wrong_by_1e_6(name: str) -> None:
    x = Variable(RNG.normal(size=(6, 7)))
    report = check_gradients(planted(name, 1e-6, 25), x)
    assert report.failure is not None
    assert report.mismatches[0].where == "input 0 at index (3, 4)"
    assert report.mismatches[0].margin > 1


def test_the_complex_step_catches_errors_of_1e_9() -> None:
    x = Variable(RNG.normal(size=(4, 5)))
    report = check_gradients(
        planted("sin", 1e-9), x, method="complex", reference=lambda v: np.sin(v)
    )
    assert report.failure is not None
    assert report.oracle == "complex step"
    assert (
        check_gradients(planted("sin"), x, method="complex", reference=lambda v: np.sin(v)).failure
        is None
    )


def test_the_complex_steps_bound_holds_its_truncation_where_the_derivative_is_zero() -> None:
    # NOTE: Im (i h)**3 / h = -h**2: all truncation, where the derivative is 0
    (estimate,) = numerical_estimates(lambda v: v**3, Variable(np.zeros(2)), method="complex")
    assert estimate is not None
    assert np.all(estimate.value != 0)
    assert np.all(np.abs(estimate.value) <= estimate.error)


@pytest.mark.parametrize("fast", MODES)
def test_the_complex_step_passes_a_product_of_zeros(fast: bool) -> None:
    prod = REGISTRY["prod"]
    report = check_gradients(
        prod.function, Variable(np.zeros(3)), method="complex", reference=prod.reference, fast=fast
    )
    assert report.failure is None


def test_a_float32_gradient_off_by_1e_4_is_caught_by_the_precision_check() -> None:
    x = Variable(RNG.uniform(0.5, 2.0, size=10).astype(np.float32))

    class Float32Wrong(Function):
        def forward(self, x: Array) -> Array:
            return np.exp(x)

        def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
            return gy * y * (1.0 + (1e-4 if y.dtype == np.float32 else 0.0))

    report = check_gradients(lambda v: Float32Wrong()(v), x)
    assert report.failure is not None
    assert report.mismatches[0].check == "precision"
    assert check_gradients(lambda v: exp(v), x).failure is None


# --- recorded against plain ------------------------------------------------------------------


class WrongWhenRecorded(Function):
    """Right on arrays (a plain pass); off by 1e-6 when create_graph=True records its rule
    (one rule: the most-derived of backward and vjp is used in both passes)."""

    recorded_scale = 1 + 1e-6
    plain_scale = 1.0

    def forward(self, x: Array) -> Array:
        return np.sin(x)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        scale = self.recorded_scale if Config.enable_backprop else self.plain_scale
        return gy * Cos().apply(x) * scale


class WrongWhenPlain(WrongWhenRecorded):
    recorded_scale = 1.0
    plain_scale = 1 + 1e-6


@pytest.mark.parametrize("fast", MODES)
def test_a_gradient_wrong_only_when_recorded_is_named(fast: bool) -> None:
    x = Variable(RNG.normal(size=5))
    report = check_gradients(lambda v: WrongWhenRecorded()(v), x, fast=fast)
    assert report.failure is not None
    assert "the create_graph=True pass is the one off" in report.failure
    with pytest.raises(GradcheckError, match="recorded with create_graph=True"):
        gradgradcheck(lambda v: WrongWhenRecorded()(v), x, fast=fast)


def test_a_gradient_wrong_only_in_the_plain_pass_is_named() -> None:
    x = Variable(RNG.normal(size=5))
    report = check_second_gradients(lambda v: WrongWhenPlain()(v), x)
    assert report.failure is not None
    assert "the plain pass is the one off" in report.failure


def test_second_derivatives_of_correct_functions_pass() -> None:
    a, b = Variable(RNG.uniform(0.5, 2.0, size=(2, 3))), Variable(RNG.normal(size=3))
    for fast in (False, True):
        assert gradgradcheck(lambda a, b: exp(a) * sin(b) / (a + 1.0), a, b, fast=fast)


# --- the oracle itself ----------------------------------------------------------------------


def test_the_error_bounds_hold() -> None:
    x = Variable(np.array([3e-4, 0.2, 4.0, 3e4]))
    (weights,) = numerical_grad(lambda v: v, x, method="complex")
    assert weights is not None
    cases: list[tuple[Callable[[Variable], Variable], Callable[[Array], Array]]] = [
        (sin, np.cos),
        (log, np.reciprocal),
        (sqrt, lambda x: 0.5 / np.sqrt(x)),
    ]
    for fn, derivative in cases:
        (estimate,) = numerical_estimates(fn, x)
        assert estimate is not None
        truth = weights * derivative(x.data)
        assert np.all(np.abs(estimate.value - truth) <= estimate.error)
        # NOTE: tight on one scale: beside outputs 1e5 times larger, an element's rounding
        # floor is theirs (see _Objective.floor), so the bound is only valid there
        for k in range(x.size):
            alone = Variable(x.data[k : k + 1])
            (single,) = numerical_estimates(fn, alone)
            assert single is not None
            (w,) = numerical_grad(lambda v: v, alone, method="complex")
            assert w is not None
            exact = w * derivative(alone.data)
            assert np.all(np.abs(single.value - exact) <= single.error)
            assert np.all(single.error <= 1e-7 * np.abs(exact))


def test_methods_agree() -> None:
    x = Variable(RNG.normal(size=(2, 3)))
    (richardson,) = numerical_grad(lambda v: sin(v) * v, x)
    (complex_step,) = numerical_grad(lambda v: np.sin(v) * v, x, method="complex")
    assert richardson is not None
    assert complex_step is not None
    np.testing.assert_allclose(richardson, complex_step, rtol=1e-9)


def test_numerical_jacobian_of_a_matrix_product() -> None:
    a = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])
    x = Variable(np.array([0.3, -0.7, 2.0]))
    jacobian, constant = numerical_jacobian(lambda v, c: v * c, x, 2.0)
    assert constant is None
    assert jacobian is not None
    np.testing.assert_allclose(jacobian, 2.0 * np.eye(3), atol=1e-12)
    (product,) = numerical_jacobian(lambda v: (v * a).sum(axis=1), x)
    assert product is not None
    assert product.shape == (2, 3)
    np.testing.assert_allclose(product, a, atol=1e-12)


def test_the_oracle_never_evaluates_farther_than_its_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every evaluation that estimates a derivative stays within the reach; the dependence
    probe, which estimates nothing, moves one element only."""
    x = np.array([0.5, -3.0, 1e-3, 40.0])
    seen: list[Array] = []
    probed: list[Array] = []
    probing = False
    real_probe = oracle._probe

    def probe(*args: Any) -> Any:
        nonlocal probing
        probing = True
        try:
            return real_probe(*args)
        finally:
            probing = False

    def record(v: Variable) -> Variable:
        (probed if probing else seen).append(v.data.copy())
        return sin(v)

    monkeypatch.setattr(oracle, "_probe", probe)
    check_gradients(record, Variable(x))
    check_gradients(record, Variable(x), fast=True)
    assert np.all(np.abs(np.array(seen) - x) <= oracle_reach(x))
    assert probed  # NOTE: sin(40)'s rounding could hide a derivative by 1e-3's small step
    for point in probed:
        assert np.count_nonzero(point != x) == 1


def test_complex_method_needs_a_reference() -> None:
    with pytest.raises(ValueError, match="needs reference"):
        check_gradients(lambda v: sin(v), Variable(1.0), method="complex")


# --- replayable failures ------------------------------------------------------------------


def test_a_failing_example_prints_a_reproducer_that_fails_the_same_way() -> None:
    class OffMul(Function):
        def forward(self, a: Array, b: Array) -> Array:
            return a * b

        def vjp(self, gy: Tensor, a: Tensor, b: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
            return gy * b * (1 + 1e-7), gy * a

    spec = dataclasses.replace(REGISTRY["mul"], function=lambda a, b: OffMul()(a, b))
    operands = (Variable(np.array([0.1, -3.7], dtype=np.float32)), np.float64(2.5))
    with pytest.raises(GradcheckError, match="Reproduce with:") as error:
        check_example(Example(spec, operands))
    source = str(error.value).split("Reproduce with:\n")[1]
    assert "np.array([0.10000000149011612, -3.700000047683716], dtype=np.float32)" in source
    assert "np.float64(2.5)" in source
    assert "seed=0" in source
    exec(source, {})  # NOTE: the registered mul is right: its reproducer passes
    planted = source.replace("spec = REGISTRY[", "spec = PLANTED[")
    with pytest.raises(GradcheckError, match="input 0"):
        exec(planted, {"PLANTED": {"mul": spec}})


def test_view_ops_outputs_are_read_before_the_point_moves() -> None:
    """A view op's output shares memory with the evaluation point, which the oracle moves."""
    for x in (Variable(np.array(0.0)), Variable(np.array([1.5, -2.0]))):
        (grad,) = numerical_grad(lambda v: reshape(v, (1, -1)), x)
        assert grad is not None
        assert np.all(np.abs(grad) >= 0.5)
        assert check_gradients(lambda v: reshape(v, (1, -1)), x).failure is None


def test_the_directional_bound_holds_where_the_table_underestimates() -> None:
    mpmath = pytest.importorskip("mpmath")
    from tinygrad_ref import grad, softmax_simple
    from tinygrad_ref.verification.oracle import numerical_directional

    w = np.array([0.5, -1.25])
    x, a = np.array([8.0, 0.0]), np.array([8.0, 2.0**-15])

    def gradient(v: Variable) -> Variable:
        g: Variable = grad(lambda t: (softmax_simple(t, axis=None) * w).sum())(v)
        return g

    estimate = numerical_directional(gradient, [x], [a])
    mpmath.mp.dps = 40

    def phi(*t: object) -> object:
        e = [mpmath.exp(ti) for ti in t]
        return sum(wi * ei for wi, ei in zip(w, e, strict=True)) / sum(e)

    exact = [
        float(
            sum(
                aj * mpmath.diff(phi, (8, 0), tuple(int(k == i) + int(k == j) for k in range(2)))
                for j, aj in enumerate(a)
            )
        )
        for i in range(2)
    ]
    assert np.all(np.abs(estimate.value - exact) <= estimate.error)


def test_the_directional_oracle_without_its_noise_is_the_same_where_none_is_measured() -> None:
    from tinygrad_ref.verification.oracle import numerical_directional

    x, v = np.array([0.3, 1.7]), np.array([0.01, -0.02])
    measured = numerical_directional(sin, [Variable(x)], [v])
    quick = numerical_directional(sin, [Variable(x)], [v], noise=False)
    assert measured.noise == 0.0
    np.testing.assert_array_equal(quick.value, measured.value)
    np.testing.assert_array_equal(quick.error, measured.error)
    # NOTE: (x + 1e8) - 1e8 rounds to 1.5e-8: measured, that noise widens the bound
    noisy = [Variable(np.array([1.0]))], [np.array([1.0])]

    def cancels(t: Variable) -> Variable:
        return (t + 1e8) - 1e8

    with_noise = numerical_directional(cancels, *noisy)
    without = numerical_directional(cancels, *noisy, noise=False)
    assert with_noise.noise > 0
    assert without.noise == 0.0
    assert float(with_noise.error[0]) > float(without.error[0])


def test_a_forward_check_measures_the_noise_where_the_quick_bound_fails() -> None:
    from tinygrad_ref.verification.oracle import numerical_directional
    from tinygrad_ref.verification.strategies import Example, _against_oracle

    example = Example(REGISTRY["add"], (Variable(np.array([1.0])), 1e8))
    calls: list[bool] = []

    def estimate(noise: bool) -> oracle.Estimate:
        calls.append(noise)
        return numerical_directional(
            lambda t: (t + 1e8) - 1e8, [Variable(np.array([1.0]))], [np.array([1.0])], noise=noise
        )

    quick, measured = estimate(False), estimate(True)
    calls.clear()
    rounding = np.zeros(1)
    # NOTE: inside the bound with the noise measured, outside the one without
    within = measured.value + (quick.error + measured.error) / 2
    assert _against_oracle(example, within, estimate, rounding, "the oracle").margin <= 1
    assert calls == [False, True]
    calls.clear()
    assert _against_oracle(example, quick.value, estimate, rounding, "the oracle").margin <= 1
    assert calls == [False]
    with pytest.raises(GradcheckError, match="the oracle gives"):
        _against_oracle(
            example, measured.value + 2 * measured.error, estimate, rounding, "the oracle"
        )


def test_a_homogeneous_functions_scale_follows_its_input_below_1() -> None:
    """A power of two scales the variation scale of a homogeneous function's input exactly
    (its bound must follow, as its rounding does); any other function varies on 1's at least."""
    x = np.array([[1.0, 0.03, -0.5]])
    for power in (-1, -10, -60):
        c = 2.0**power
        np.testing.assert_array_equal(variation_scale(c * x, True), c * variation_scale(x, True))
        np.testing.assert_array_equal(variation_scale(c * x), np.ones(x.shape))
    np.testing.assert_array_equal(variation_scale(8 * x, True), variation_scale(8 * x))


def test_an_output_weighed_by_zero_adds_nothing_even_where_its_estimate_failed() -> None:
    # NOTE: the values beside a gradient in a second-order objective are weighed by 0; where
    # their estimate failed (NaN value, infinite truncation) they must not turn the sum NaN
    # (an entry's rows are elements, its columns outputs: one row here)
    entry = oracle._Entry(
        np.array([[1.0, np.nan]]), np.array([[0.1, np.inf]]), np.array([[0.0, np.inf]])
    )
    with np.errstate(all="ignore"):  # NOTE: as the oracle's entry points run its helpers
        summary = entry.weighted(np.array([2.0, 0.0]))
    assert (summary.value.shape, summary.truncation.shape, summary.noise.shape) == ((1, 1),) * 3
    assert (float(summary.value[0, 0]), float(summary.truncation[0, 0])) == (2.0, 0.2)
    assert float(summary.noise[0, 0]) == 0.0


def test_the_complex_step_refuses_where_its_imaginary_parts_underflow() -> None:
    """``solve`` with a right-hand side of float64's least normal numbers: along tangents of
    3.6e-304 the complex step's imaginary parts (1e-20 times them) round to subnormals inside
    LAPACK, and it gave 1.2e-302 for a derivative of 7.1e-307, beyond its bound; along single
    elements of a matrix, at a right-hand side of 1.6e-297, outputs' imaginary parts of
    1e-316 made a derivative 2.1e-7 off. The checks take Richardson there."""
    a = np.array([[0.0, 0.25, 0.0], [0.125, 0.25, 0.25], [0.25, 0.25, 0.75]])
    b = np.full(3, np.finfo(np.float64).smallest_normal)
    tangents = [np.full((3, 3), 0.25), np.full(3, 2.0**-1007)]
    exact = np.linalg.solve(a, tangents[1] - tangents[0] @ np.linalg.solve(a, b))
    spec = REGISTRY["solve"]
    with pytest.raises(ComplexStepUnderflowError, match="imaginary part of an input's step"):
        numerical_directional(spec.reference, [a, b], tangents, method="complex")
    richardson = numerical_directional(solve, [a, b], tangents)
    assert np.all(np.abs(richardson.value - exact) <= richardson.error)
    # NOTE: tangents far from underflow keep the complex step and its bound
    normal = numerical_directional(
        spec.reference, [a, np.ones(3)], [tangents[0], np.ones(3)], method="complex"
    )
    assert np.all(np.isfinite(normal.error))
    for dtype in (np.float32, np.float64):
        check_forward_example(Example(spec, (Variable(a.astype(dtype)), Variable(b)), {}))
    # NOTE: a float32 stack (its second matrix failed) and a right-hand side of 1.6e-297
    t = 0.1337728649377823
    matrices = np.array(
        [
            [
                [0.062437500804662704, t, -0.5153092741966248, 0.4194873571395874],
                [0.1933264583349228, -0.12161130458116531, t, t],
                [t, 0.0, 0.015625, t],
                [t, 0.0, t, 0.5789936780929565],
            ],
            [
                [0.604733407497406, -0.3353864550590515, t, 0.20231710374355316],
                [-0.607441782951355, t, 0.5530344247817993, t],
                [t, -0.4837222695350647, t, t],
                [t, t, t, 0.046875],
            ],
        ],
        dtype=np.float32,
    )
    rhs = np.array([1.575670163306404e-297, 0.0, -1.9113238906945924e-303, 0.0])
    with pytest.raises(ComplexStepUnderflowError, match="imaginary part of an output"):
        numerical_grad(spec.reference, Variable(matrices), Variable(rhs), method="complex")
    report = check_gradients(
        solve, Variable(matrices), Variable(rhs), method="complex", reference=spec.reference
    )
    assert report.failure is None
    assert report.oracle == "Richardson"


def test_a_gradient_computed_on_subnormal_numbers_is_reported_not_judged() -> None:
    """``solve`` at a right-hand side of 1e-312: its gradient by the matrix is subnormal, up to
    416 of their spacings off through LAPACK (against mpmath), and the oracle's derivative of
    it 1.1e-11 off (forward over reverse was 3e-16 off), beyond the oracle's bound of a few
    roundings of each output: those elements of the gradient are reported, not judged."""
    t = 0.1337890625
    matrices = np.array(
        [
            [
                [t, t, -0.51513671875, 0.41943359375],
                [0.193359375, -0.12158203125, 0.0625, t],
                [t, 0.0, 0.015625, t],
                [t, 0.0, t, 0.5791015625],
            ],
            [
                [0.6044921875, -0.33544921875, t, 0.2021484375],
                [-0.607421875, t, 0.55322265625, t],
                [t, -0.48388671875, t, t],
                [t, t, t, 0.046875],
            ],
        ],
        dtype=np.float32,
    )[None]
    rhs = np.array(
        [2.34302912697e-312, 3.395193265544e-312, 3.33529645748e-312, -3.3938728116e-314]
    )
    example = Example(REGISTRY["solve"], (Variable(matrices), Variable(rhs)), {})
    report = check_hessian(example).oracle
    assert report.failure is None
    assert report.unresolved_count == 32
    assert {str(f) for f in report.unresolved[:3]} == {
        f"element {k} of grad: subnormal" for k in range(3)
    }
    # NOTE: the op's own outputs, subnormal too, are judged: one rounding each is the bound
    assert check_directional(example).unresolved_count == 0


@pytest.mark.parametrize("weighted", [True, False])
def test_an_input_estimated_in_blocks_gives_the_numbers_of_one_table(
    monkeypatch: pytest.MonkeyPatch, weighted: bool
) -> None:
    # NOTE: log's domain edge shrinks some rows' steps, abs's kink grows none: rows differ
    x = Variable(np.array([1e-9, 0.5, -2.0, 3e-7, 7.0, 0.0, 1.5]))

    def fn(v: Variable) -> Variable:
        return log(v * v + 1e-12) + abs(v - 0.5) * v

    def estimate() -> list[npt.NDArray[Any]]:
        if weighted:
            (e,) = numerical_estimates(fn, x)
            assert e is not None
            assert e.terms is not None
            assert e.steps is not None
            return [e.value, e.error, e.terms, e.steps]
        (jacobian,) = numerical_jacobian(fn, x)
        assert jacobian is not None
        return [jacobian]

    whole = estimate()
    monkeypatch.setattr(oracle, "TABLE_ENTRIES", 2 * x.size)  # NOTE: blocks of 2, 2, 2, 1
    for one, blocked in zip(whole, estimate(), strict=True):
        assert one.tobytes() == blocked.tobytes()
