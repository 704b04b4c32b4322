from typing import Any

import numpy as np
import pytest

from tinygrad_ref import (
    Array,
    Function,
    GradcheckError,
    Variable,
    check_gradients,
    check_second_gradients,
    exp,
    gradcheck,
    gradgradcheck,
    numerical_grad,
)


class BrokenCube(Function):
    """x^3 with the derivative 3x^2 + 0.01 on purpose."""

    def forward(self, x: Array) -> Array:
        return x**3

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return gy * (3 * x**2 + 0.01)


class DetachedCube(Function):
    """x^3 whose derivative is right but computed from a constant: no second derivative."""

    def forward(self, x: Array) -> Array:
        return x**3

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return gy * Variable(3 * x.data**2)


def test_numerical_grad_of_a_square_is_twice_the_identity() -> None:
    x = Variable(np.array([[1.0, -2.0], [0.5, 3.0]]))
    (square_grad,) = numerical_grad(lambda v: v * v, x)
    (identity_grad,) = numerical_grad(lambda v: v + 0.0, x)
    assert square_grad is not None
    assert identity_grad is not None
    np.testing.assert_allclose(square_grad / identity_grad, 2 * x.data, rtol=1e-8)


def test_numerical_grad_has_none_for_constants() -> None:
    grads = numerical_grad(lambda a, c: a * c, Variable(1.0), 3.0)
    assert grads[1] is None
    assert grads[0] is not None


def test_numerical_side_runs_in_float64_for_float32_inputs() -> None:
    seen: list[np.dtype[np.floating]] = []

    def record(v: Variable) -> Variable:
        seen.append(v.dtype)
        return v * v

    numerical_grad(record, Variable(np.ones(2, dtype=np.float32)))
    assert set(seen) == {np.dtype(np.float64)}


def test_gradcheck_passes_a_correct_gradient() -> None:
    a = Variable(np.array([[0.5, 1.0, 2.0]]))
    b = Variable(np.array([[1.5], [-0.5]]))
    assert gradcheck(lambda a, b: exp(a) * b / (a + 3.0), a, b)
    assert gradcheck(lambda a, b: exp(a) * b / (a + 3.0), a, b, fast=True)


@pytest.mark.parametrize("fast", [False, True])
def test_gradcheck_names_the_input_element_values_and_tolerance(fast: bool) -> None:
    x = Variable(np.array([1.0, 2.0]))
    pattern = (
        r"direction 0, correctness check: analytic .*, numerical .*, \|difference\| .* "
        r"\(relative .*\) > tolerance"
        if fast
        else r"input 1 at index \(\d,\), correctness check: analytic .*, numerical .*, "
        r"\|difference\| .* \(relative .*\) > tolerance .* \(oracle error .* \+ analytic "
        r"rounding .*\); margin"
    )
    with pytest.raises(GradcheckError, match=pattern):
        gradcheck(lambda c, v: c * BrokenCube()(v), 2.0, x, fast=fast)


def test_gradcheck_error_is_an_assertion_error() -> None:
    assert issubclass(GradcheckError, AssertionError)


def test_tolerances_can_be_given() -> None:
    x = Variable(np.array([1.0, 2.0]))
    assert gradcheck(lambda v: BrokenCube()(v), x, atol=0.02, rtol=0.0)


def test_float32_inputs_get_float32_tolerances() -> None:
    x = Variable(np.array([0.3, 1.7], dtype=np.float32))
    report = check_gradients(lambda v: exp(v) * v, x)
    assert report.failure is None
    assert 0 < report.max_rel_error < 1e-3


def test_inputs_are_left_untouched_also_when_fn_raises() -> None:
    x = Variable(np.array([1.0, 2.0]))
    original = x.data.copy()
    calls = 0

    def flaky(v: Variable) -> Variable:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("boom")
        return v * v

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(flaky, x)
    np.testing.assert_array_equal(x.data, original)
    assert x.grad is None
    assert gradcheck(lambda v: v * v, x)
    np.testing.assert_array_equal(x.data, original)
    assert x.grad is None


def test_gradgradcheck_passes_a_correct_second_derivative() -> None:
    x = Variable(np.array([0.5, -1.0]))
    assert gradgradcheck(lambda v: exp(v) * v**3, x)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable() -> None:
    x = Variable(np.array([0.5, -1.0]))
    assert gradcheck(lambda v: DetachedCube()(v), x)
    with pytest.raises(
        GradcheckError, match=r"second derivatives: input 0 at index \(\d,\), second order check"
    ):
        gradgradcheck(lambda v: DetachedCube()(v), x)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="no input is a Variable"):
        gradcheck(lambda c: Variable(c), 1.0)
    with pytest.raises(TypeError, match="fn must return a Variable, got ndarray"):
        gradcheck(lambda v: v.data, Variable(1.0))


def test_fast_mode_catches_one_wrong_element_among_many() -> None:
    class OneWrong(Function):
        def forward(self, x: Array) -> Array:
            return x * 2.0

        def backward(self, gy: Variable) -> Variable:
            wrong = np.full(gy.shape, 2.0)
            wrong[123] = 3.0
            return gy * wrong

    x = Variable(np.linspace(-1.0, 1.0, 1000, dtype=np.float32))
    with pytest.raises(GradcheckError, match="direction"):
        gradcheck(lambda v: OneWrong()(v), x, fast=True)
    assert gradcheck(lambda v: v * 2.0, x, fast=True)


@pytest.mark.parametrize(
    "check", [gradcheck, gradgradcheck, numerical_grad, check_gradients, check_second_gradients]
)
def test_an_empty_variable_is_refused_as_everywhere(check: Any) -> None:
    with pytest.raises(ValueError, match=r"variable\(None\) is empty"):
        check(lambda x: x * 2.0, Variable(None))
    with pytest.raises(ValueError, match=r"variable\(None\) is empty"):
        check(lambda x, y: x * y, Variable(np.ones(2)), Variable(None))
