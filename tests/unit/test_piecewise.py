"""relu, leaky_relu, abs, maximum, minimum, clip and where: values, and each convention pinned
exactly at its kink."""

import builtins
from collections.abc import Callable

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import (
    Function,
    Variable,
    abs,
    clip,
    gradcheck,
    leaky_relu,
    maximum,
    minimum,
    numerical_grad,
    relu,
    where,
)
from tinygrad_ref.core import Array, Tensor
from tinygrad_ref.verification.oracle import numerical_estimates, oracle_reach
from tinygrad_ref.verification.strategies import KINK_MARGIN


def derivatives(f: Callable[[Variable], Variable], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first derivative of ``sum(f(x))`` and the second (zero when the first is a constant
    with no graph back to ``x``)."""
    v = Variable(x)
    f(v).backward(create_graph=True)
    gx = v.grad
    assert gx is not None
    v.cleargrad()
    gx.backward()
    return gx.data, np.zeros_like(x) if v.grad is None else v.grad.data


def test_relu_and_leaky_relu_as_dezero_computes_them() -> None:
    x = np.array([[-1, 0], [2, -3], [-2, 1]], np.float32)
    assert np.array_equal(relu(x).data, [[0, 0], [2, 0], [0, 1]])
    expected = np.array([[-0.2, 0.0], [2.0, -0.6], [-0.4, 1.0]], np.float32)
    assert np.array_equal(leaky_relu(x).data, expected)
    assert leaky_relu(x).dtype == np.float32


@pytest.mark.parametrize(
    ("f", "at_zero"),
    [
        (relu, 0.0),
        (abs, 0.0),
        (leaky_relu, 0.2),
        (lambda x: leaky_relu(x, slope=0.01), 0.01),
        (lambda x: leaky_relu(x, 0.5), 0.5),
    ],
)
def test_the_derivative_at_the_kink_is_the_declared_one(
    f: Callable[[Variable], Variable], at_zero: float
) -> None:
    first, second = derivatives(f, np.array([-2.0, 0.0, 3.0]))
    assert first[1] == at_zero
    assert np.array_equal(second, [0.0, 0.0, 0.0])


def test_derivatives_on_either_side_of_the_kinks() -> None:
    x = np.array([-2.0, 3.0])
    assert np.array_equal(derivatives(relu, x)[0], [0.0, 1.0])
    assert np.array_equal(derivatives(abs, x)[0], [-1.0, 1.0])
    assert np.array_equal(derivatives(leaky_relu, x)[0], [0.2, 1.0])


def test_abs_is_the_builtin_abs_of_a_variable() -> None:
    x = Variable(np.array([-1.5, 0.0, 2.0]))
    y = builtins.abs(x)
    assert np.array_equal(y.data, [1.5, 0.0, 2.0])
    y.backward()
    assert np.array_equal(grad_of(x), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize(("f", "winner"), [(maximum, [0, 1, 0]), (minimum, [1, 0, 0])])
def test_maximum_and_minimum_give_each_half_at_a_tie(
    f: Callable[[Variable, Variable], Variable], winner: list[int]
) -> None:
    x0 = Variable(np.array([3.0, 1.0, 2.0]))
    x1 = Variable(np.array([1.0, 3.0, 2.0]))
    y = f(x0, x1)
    y.backward()
    assert np.array_equal(grad_of(x0), [1 - winner[0], 1 - winner[1], 0.5])
    assert np.array_equal(grad_of(x1), [winner[0], winner[1], 0.5])


def test_a_tie_with_a_broadcast_operand_sums_its_halves() -> None:
    x = Variable(np.array([2.0, 2.0, 5.0]))
    c = Variable(np.array(2.0))
    maximum(x, c).backward()
    assert np.array_equal(grad_of(x), [0.5, 0.5, 1.0])
    assert grad_of(c) == 1.0


def test_maximum_with_a_constant_keeps_float32() -> None:
    x = Variable(np.array([1.0, -1.0], np.float32))
    y = maximum(x, 0.0)
    y.backward()
    assert y.dtype == np.float32
    assert grad_of(x).dtype == np.float32


def test_clip_has_gradient_one_on_its_bounds_inclusive() -> None:
    x = Variable(np.array([-3.0, -1.0, 0.0, 2.0, 4.0]))
    y = clip(x, -1.0, 2.0)
    assert np.array_equal(y.data, [-1.0, -1.0, 0.0, 2.0, 2.0])
    y.backward()
    assert np.array_equal(grad_of(x), [0.0, 1.0, 1.0, 1.0, 0.0])


def test_clip_to_a_single_value_passes_the_gradient_of_that_value() -> None:
    x = Variable(np.array([0.0, 1.0, 2.0]))
    clip(x, 1, 1).backward()
    assert np.array_equal(grad_of(x), [0.0, 1.0, 0.0])


def test_clip_with_crossed_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match=r"clip needs x_min <= x_max, got x_min=2.0 and x_max=1.0"):
        clip(Variable(np.ones(2)), 2.0, 1.0)
    with pytest.raises(ValueError, match="x_min <= x_max"):
        clip(Variable(np.ones(2)), float("nan"), 1.0)


def test_clip_bounds_must_be_numbers() -> None:
    with pytest.raises(TypeError, match="clip's x_max must be a number or None, got ndarray"):
        clip(Variable(np.ones(2)), 0.0, np.array([1.0, 2.0]))  # type: ignore[arg-type]  # NOTE: the point


def test_where_selects_and_routes_the_gradient() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = Variable(np.array(10.0))
    z = where(np.array([True, False, True]), x, y)
    assert np.array_equal(z.data, [1.0, 10.0, 3.0])
    z.backward()
    assert np.array_equal(grad_of(x), [1.0, 0.0, 1.0])
    assert grad_of(y) == 1.0


def test_where_with_a_condition_larger_than_its_operands() -> None:
    x = Variable(np.array(2.0))
    z = where(np.array([[True], [False]]), x, 0.0)
    assert z.shape == (2, 1)
    z.backward()
    assert grad_of(x) == 1.0


def test_where_refuses_a_condition_that_is_not_boolean() -> None:
    x = Variable(np.ones(3))
    with pytest.raises(TypeError, match="condition must be boolean, got an array of dtype float64"):
        where(np.array([1.0, 0.0, 1.0]), x, 0.0)
    with pytest.raises(TypeError, match="condition must be boolean, got an array of dtype int64"):
        where(np.array([1, 0, 1]), x, 0.0)
    with pytest.raises(TypeError, match="not a Variable"):
        where(x, x, 0.0)  # type: ignore[arg-type]  # NOTE: the point


def test_the_kink_margin_is_wider_than_the_oracles_reach_and_needed() -> None:
    """Central differences across a kink are wrong; at the strategies' margin they agree. The
    reach is that of an element at the kink in its array (here beside a 2)."""
    kink = 1.0

    def shifted(v: Variable) -> Variable:
        return relu(v - kink)

    beside_two = np.array([kink, 2.0])
    reach = float(oracle_reach(beside_two, at=np.array([kink]))[0])
    for v in (kink + KINK_MARGIN * reach, kink - KINK_MARGIN * reach):
        assert gradcheck(shifted, Variable(np.array([v, 2.0])))
        (estimate,) = numerical_estimates(shifted, Variable(np.array([v, 2.0])))
        assert estimate is not None
        assert estimate.error[0] < 1e-2
    # NOTE: inside the reach the steps straddle the kink: the oracle's estimate is then far off
    # its true value 1 (or 0), and it says so with a large error bound
    inside = Variable(np.array([kink + 0.1 * reach, 2.0]))
    (straddling,) = numerical_estimates(shifted, inside)
    (weights,) = numerical_grad(lambda v: v, inside, method="complex")
    assert straddling is not None
    assert weights is not None
    assert abs(straddling.value[0] / weights[0] - 1.0) > 0.1
    assert straddling.error[0] > 0.1 * abs(weights[0]) > 1e-2


def test_no_step_crosses_relus_kink_at_0() -> None:
    """A kink at 0 needs no margin for the oracle: no step goes farther than 1/8 of a nonzero
    element, so however near 0 it is, relu's derivative there is exact (on the flat side, its
    bound allows a derivative hidden in rounding: a far probe across the kink moves it)."""
    for v in (1e-300, -1e-300, 1e-9, -3e-7):
        (estimate,) = numerical_estimates(relu, Variable(np.array([v, 1.0])))
        (weights,) = numerical_grad(lambda x: x, Variable(np.array([v, 1.0])), method="complex")
        assert estimate is not None
        assert weights is not None
        assert estimate.value[0] == (weights[0] if v > 0 else 0.0)
        if v > 0:
            assert estimate.error[0] <= 1e-9 * abs(weights[0])
        assert gradcheck(relu, Variable(np.array([v, 1.0])))


def test_relu_gives_its_input_a_gradient_of_its_dtype() -> None:
    """A float32 gradient arriving at relu of a float64 input leaves it float64, as tanh's."""

    class Float32Gradient(Function):
        def forward(self, x: Array) -> Array:
            return x.copy()

        def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
            assert isinstance(gy, np.ndarray)
            return gy.astype(np.float32)

    x = Variable(np.array([1.0, -2.0, 3.0]))
    Float32Gradient()(relu(x)).backward()
    assert x.grad is not None
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])
