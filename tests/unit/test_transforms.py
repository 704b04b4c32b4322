"""The functional transforms (grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp): their
values on functions with known derivatives, their composition, and what they leave alone."""

from collections.abc import Callable

import numpy as np
import pytest

from tests.helpers import assert_no_graph_outlives, cubic, cubic_hessian
from tinygrad_ref import (
    Function,
    Variable,
    cos,
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    no_grad,
    sin,
    value_and_grad,
    vjp,
)
from tinygrad_ref.core import Tensor
from tinygrad_ref.ops import Sin

X = np.array([0.5, -1.25, 2.0])
V = np.array([1.0, 0.5, -2.0])


def cubic_gradient(x: np.ndarray) -> np.ndarray:
    return np.array(3 * x**2 + np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]]))


def test_grad_of_arrays_is_an_array() -> None:
    g = grad(cubic)(X)
    assert type(g) is np.ndarray
    np.testing.assert_allclose(g, cubic_gradient(X), rtol=1e-15)


def test_grad_by_several_arguments() -> None:
    gx, gy = grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(X, V)
    np.testing.assert_array_equal(gx, V)
    np.testing.assert_array_equal(gy, X)
    (gy_alone,) = grad(lambda x, y: (x * y).sum(), argnums=(1,))(X, V)
    np.testing.assert_array_equal(gy_alone, X)
    np.testing.assert_array_equal(grad(lambda x, y: (x * y).sum(), argnums=-1)(X, V), X)


def test_grad_needs_one_output_element_of_any_shape() -> None:
    g = grad(lambda x: (x * x).sum(keepdims=True))(X)
    np.testing.assert_array_equal(g, 2 * X)
    with pytest.raises(ValueError, match=r"one element; <lambda> returned one of shape \(3,\)"):
        grad(lambda x: x * x)(X)


def test_grad_of_a_function_not_depending_on_its_argument_is_zeros() -> None:
    np.testing.assert_array_equal(grad(lambda x: np.float64(3.0))(X), np.zeros(3))
    w = Variable(np.array(2.0))
    np.testing.assert_array_equal(grad(lambda x: w * w)(X), np.zeros(3))
    assert w.grad is None


def test_value_and_grad() -> None:
    value, g = value_and_grad(cubic)(X)
    assert value == pytest.approx(np.sum(X**3) + np.prod(X), rel=1e-15)
    np.testing.assert_allclose(g, cubic_gradient(X), rtol=1e-15)


def test_argnums_errors_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="names argument 1, but 1 were given"):
        grad(cubic, argnums=1)(X)
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        grad(cubic, argnums=(0.5,))(X)  # type: ignore[arg-type]  # NOTE: the error tested
    with pytest.raises(ValueError, match="names an argument twice"):
        grad(lambda x, y: (x * y).sum(), argnums=(0, -2))(X, V)


def test_a_function_returning_something_else_is_refused() -> None:
    with pytest.raises(TypeError, match="must return a Variable, an array or a number, not list"):
        grad(lambda x: [x])(X)  # type: ignore[arg-type, return-value]  # NOTE: the error tested


def test_the_callers_variables_are_not_touched() -> None:
    w = Variable(np.array([1.0, 2.0, 3.0]))
    x = Variable(X.copy())
    g = grad(lambda x: (w * x * x).sum())(x)
    np.testing.assert_array_equal(g.data, 2 * w.data * X)
    assert x.grad is None
    assert w.grad is None
    np.testing.assert_array_equal(x.data, X)
    # NOTE: a captured Variable is a constant, even the argument itself
    g = grad(lambda y: (y * x).sum())(x)
    np.testing.assert_array_equal(g.data, X)


def test_variables_while_recording_give_recorded_variables() -> None:
    x = Variable(X.copy())
    g = grad(cubic)(x)
    assert g.creator is not None
    np.testing.assert_allclose(g.data, cubic_gradient(X), rtol=1e-15)
    g.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, cubic_hessian(X).sum(axis=0), rtol=1e-15)


def test_variables_under_no_grad_give_plain_variables() -> None:
    with no_grad():
        g = grad(cubic)(Variable(X.copy()))
    assert isinstance(g, Variable)
    assert g.creator is None


def test_transforms_compose() -> None:
    def f(x: Variable) -> Variable:
        return x * x * x

    np.testing.assert_allclose(grad(grad(f))(np.array(2.0)), 12.0)
    np.testing.assert_allclose(grad(grad(grad(f)))(np.array(2.0)), 6.0)
    np.testing.assert_allclose(jacobian(grad(cubic))(X), cubic_hessian(X), rtol=1e-15)
    forward_twice = jacobian(jacobian(cubic, mode="fwd"), mode="fwd")(X)
    np.testing.assert_allclose(forward_twice, cubic_hessian(X), rtol=1e-15)


def test_jacobian_shapes_and_modes_agree() -> None:
    def f(x: Variable, y: Variable) -> Variable:
        return sin(x).reshape(3, 1) * y

    y = np.array([[1.0, 2.0]])
    for mode in ("rev", "fwd"):
        jx, jy = jacobian(f, argnums=(0, 1), mode=mode)(X, y)
        assert jx.shape == (3, 2, 3)
        assert jy.shape == (3, 2, 1, 2)
        expected = np.zeros((3, 2, 3))
        for i in range(3):
            expected[i, :, i] = np.cos(X[i]) * y[0]
        np.testing.assert_allclose(jx, expected, rtol=1e-15)
        np.testing.assert_allclose(jy[:, :, 0, :], np.sin(X)[:, None, None] * np.eye(2))
    with pytest.raises(ValueError, match='mode must be "rev" or "fwd"'):
        jacobian(f, mode="sideways")  # type: ignore[call-overload]  # NOTE: the error tested


def test_hessian_and_hvp() -> None:
    h = hessian(cubic)(X)
    np.testing.assert_allclose(h, cubic_hessian(X), rtol=1e-15)
    np.testing.assert_allclose(hvp(cubic, X, V), cubic_hessian(X) @ V, rtol=1e-15)
    assert isinstance(hvp(cubic, Variable(X), V), Variable)


def test_jvp() -> None:
    y, t = jvp(lambda x: sin(x) * 2.0, (X,), (V,))
    np.testing.assert_allclose(y, 2 * np.sin(X), rtol=1e-15)
    np.testing.assert_allclose(t, 2 * np.cos(X) * V, rtol=1e-15)
    _, (ts, tc) = jvp(lambda x: (sin(x), cos(x)), [X], [V])
    np.testing.assert_allclose(ts, np.cos(X) * V, rtol=1e-15)
    np.testing.assert_allclose(tc, -np.sin(X) * V, rtol=1e-15)
    y, t = jvp(lambda x: np.ones(2), (X,), (V,))
    np.testing.assert_array_equal(t, np.zeros(2))


def test_jvp_checks_its_tangents() -> None:
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(2,\), but its value has shape"):
        jvp(sin, (X,), (np.ones(2),))
    with pytest.raises(ValueError, match="1 primals but 2 tangents"):
        jvp(sin, (X,), (V, V))
    with pytest.raises(TypeError, match="as tuples"):
        jvp(sin, X, V)  # type: ignore[arg-type]  # NOTE: the error tested
    x32 = X.astype(np.float32)
    y, t = jvp(sin, (x32,), (V,))
    assert y.dtype == t.dtype == np.float32


def test_jvp_builds_no_reverse_graph() -> None:
    recorded = []

    def f(x: Variable) -> Variable:
        y = sin(x)
        recorded.append(y.creator is not None)
        return y

    jvp(f, (X,), (V,))
    assert recorded == [False]
    x = Variable(X)
    _, t = jvp(f, (x,), (V,))
    assert recorded[-1]
    assert isinstance(t, Variable)
    assert t.creator is not None


def test_reverse_over_forward() -> None:
    def directional(x: Variable) -> Variable:
        tangent: Variable = jvp(cubic, (x,), (V,))[1]
        return tangent

    np.testing.assert_allclose(grad(directional)(X), cubic_hessian(X) @ V, rtol=1e-15)


def test_vjp() -> None:
    _, pullback = vjp(lambda x: (sin(x), cos(x)), X)
    (g,) = pullback((V, V))
    np.testing.assert_allclose(g, (np.cos(X) - np.sin(X)) * V, rtol=1e-15)
    (g_again,) = pullback(V, np.zeros(3))
    np.testing.assert_allclose(g_again, np.cos(X) * V, rtol=1e-15)
    with pytest.raises(ValueError, match="one cotangent per output of <lambda> \\(2\\)"):
        pullback(V)
    _, pullback = vjp(sin, X)
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(2,\)"):
        pullback(np.ones(2))


@pytest.mark.parametrize(
    "transform",
    [
        lambda: grad(cubic)(X),
        lambda: hessian(cubic)(X),
        lambda: hvp(cubic, X, V),
        lambda: jacobian(grad(cubic), mode="rev")(X),
        lambda: jvp(cubic, (X,), (V,)),
        lambda: vjp(cubic, X)[1](np.array(1.0)),
    ],
)
def test_no_graph_outlives_the_call(transform: Callable[[], object]) -> None:
    assert_no_graph_outlives(transform)


class NoForwardRule(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * 2


class NewReverseRule(Sin):
    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * 0


class Twice(Function):
    """A user Function with both rules, DeZero's backward style for the reverse one."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * 2

    def backward(self, gy: Variable) -> Variable:
        return gy * 2

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * 2


def test_forward_mode_refuses_a_function_without_a_forward_rule() -> None:
    with pytest.raises(NotImplementedError, match="NoForwardRule defines no jvp"):
        jvp(lambda x: NoForwardRule()(x), (X,), (V,))
    np.testing.assert_array_equal(grad(lambda x: NoForwardRule()(x).sum())(X), 2 * np.ones(3))


def test_forward_mode_refuses_an_inherited_forward_rule_under_a_new_reverse_rule() -> None:
    with pytest.raises(NotImplementedError, match=r"NewReverseRule overrides its reverse rule"):
        jvp(lambda x: NewReverseRule()(x), (X,), (V,))


def test_a_user_function_in_forward_mode() -> None:
    _, t = jvp(lambda x: Twice()(x), (X,), (V,))
    np.testing.assert_array_equal(t, 2 * V)
    np.testing.assert_array_equal(hessian(lambda x: (Twice()(x) * x).sum())(X), 4 * np.eye(3))


def test_forward_over_forward_through_rules_that_read_their_output() -> None:
    from tinygrad_ref import exp, sqrt

    def first(x: Variable) -> Variable:
        tangent: Variable = jvp(exp, (x,), (np.array(1.0),))[1]
        return tangent

    _, second = jvp(first, (np.array(0.7),), (np.array(1.0),))
    np.testing.assert_allclose(second, np.exp(0.7), rtol=1e-15)
    forward_twice = jacobian(jacobian(lambda x: sqrt(x).sum(), mode="fwd"), mode="fwd")(X**2)
    np.testing.assert_allclose(forward_twice, np.diag(-0.25 * (X**2) ** -1.5), rtol=1e-14)


def test_an_output_returned_twice() -> None:
    def twice(x: Variable) -> tuple[Variable, Variable]:
        y = sin(x)
        return y, y

    _, (t1, t2) = jvp(twice, (X,), (V,))
    np.testing.assert_allclose(t1, np.cos(X) * V, rtol=1e-15)
    np.testing.assert_array_equal(t2, t1)
