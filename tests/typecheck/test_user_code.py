"""Code as a user writes it: mypy --strict checks this file, pytest runs it.

Each ``assert_type`` fails the type check if the library's annotations change what a user's
own strict code sees.
"""

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import tinygrad_ref as tg
from tinygrad_ref import Array, Function, Tensor, Variable


class Cube(Function):
    """DeZero's style: forward on arrays, backward on Variables."""

    def forward(self, x: Array) -> Array:
        return x**3

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return gy * 3 * x**2


class Affine(Function):
    """The vjp style: one rule for arrays and for Variables."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def forward(self, x: Array, b: Array) -> Array:
        return self.scale * x + b

    def vjp(self, gy: Tensor, x: Tensor, b: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return gy * self.scale, gy


def test_operators_and_functions_are_typed_as_variables() -> None:
    x = Variable(np.array([1.0, 2.0]), name="x")
    a = np.ones(2)
    assert_type(x + 1.0, Variable)
    assert_type(1.0 + x, Variable)
    assert_type(2 * x, Variable)
    assert_type(a - x, Variable)
    assert_type(np.float64(2.0) * x, Variable)
    assert_type(x / a, Variable)
    assert_type(x**2, Variable)
    assert_type(2.0**x, Variable)
    assert_type(x**x, Variable)
    assert_type(-x, Variable)
    assert_type(tg.exp(x), Variable)
    assert_type(tg.sum_to(x, (1,)), Variable)
    assert_type(x.data, Array)
    assert_type(x.grad, Variable | None)
    assert_type(x.shape, tuple[int, ...])
    assert_type(x.name, str | None)


def test_new_ops_methods_and_operators_are_typed_as_variables() -> None:
    m = Variable(np.ones((2, 3)))
    a = np.ones((3, 2))
    assert_type(tg.sin(m), Variable)
    assert_type(tg.sigmoid(m), Variable)
    assert_type(tg.sum(m, axis=(0, -1), keepdims=True), Variable)
    assert_type(tg.mean(m), Variable)
    assert_type(tg.reshape(m, (3, 2)), Variable)
    assert_type(tg.transpose(m), Variable)
    assert_type(tg.matmul(m, a), Variable)
    assert_type(m.reshape(3, 2), Variable)
    assert_type(m.reshape((6,)), Variable)
    assert_type(m.transpose(1, 0), Variable)
    assert_type(m.transpose((1, 0)), Variable)
    assert_type(m.T, Variable)
    assert_type(m.sum(), Variable)
    assert_type(m.sum(1, keepdims=True), Variable)
    assert_type(m.mean(axis=0), Variable)
    assert_type(m @ a, Variable)
    assert_type(a @ m, Variable)
    assert_type(m @ m.T, Variable)
    assert_type(m[0], Variable)
    assert_type(m[:, np.array([0, 0])], Variable)
    assert_type(m[..., 1:], Variable)
    assert_type([row for row in m], list[Variable])
    assert (a @ m).shape == (3, 3)


def test_user_functions_and_higher_order_gradients() -> None:
    x = Variable(np.array(2.0))
    y = Cube()(Affine(2.0)(x, 1.0))  # (2x + 1)^3
    assert_type(y, Variable)
    y.backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    assert float(gx.data) == 6 * 5.0**2
    x.cleargrad()
    gx.backward()
    assert x.grad is not None
    assert float(x.grad.data) == 24 * 5.0


def test_parameter_update_under_no_grad() -> None:
    w = Variable(np.array([1.0, -1.0]))
    loss = tg.square(w) * 0.5
    loss.backward()
    assert w.grad is not None
    with tg.no_grad():
        w.data -= 0.5 * w.grad.data
    np.testing.assert_array_equal(w.data, [0.5, -0.5])


def test_numpy_interop_as_the_type_checker_sees_it() -> None:
    x = Variable(np.array([1.0, 2.0]))
    a = np.array([1.0, 3.0])
    assert_type(x == a, npt.NDArray[np.bool_])
    assert_type(x < 2.0, npt.NDArray[np.bool_])
    with tg.no_grad():  # NOTE: while a graph is recorded, a conversion is refused
        assert_type(np.asarray(x), npt.NDArray[Any])
        assert (np.asarray(x) == x.data).all()
    y = np.exp(x)  # NOTE: NumPy's stubs cannot see the dispatch, and type it as Any
    assert isinstance(y, Variable)
    assert_type(tg.exp(x), Variable)  # NOTE: the typed way


class MinAndMax(Function):
    """Several outputs: calling it gives a tuple of Variables."""

    def forward(self, x0: Array, x1: Array) -> tuple[Array, Array]:
        return np.minimum(x0, x1), np.maximum(x0, x1)

    def backward(self, g_min: Variable, g_max: Variable) -> tuple[Variable, Variable]:
        return g_min, g_max


class Doubled(Function):
    """A 1-tuple is one output, as in DeZero: calling it gives a Variable."""

    def forward(self, x: Array) -> tuple[Array]:
        return (x * 2.0,)

    def backward(self, gy: Variable) -> Variable:
        return gy * 2.0


def test_single_and_multiple_output_functions_are_typed_apart() -> None:
    x = Variable(np.array([1.0, 4.0]))
    assert_type(Cube()(x), Variable)
    assert_type(Affine(2.0)(x, x), Variable)
    assert_type(Doubled()(x), Variable)
    outputs = MinAndMax()(x, np.array([2.0, 3.0]))
    assert_type(outputs, tuple[Variable, ...])
    low, high = outputs
    assert_type(low, Variable)
    assert (low.data.tolist(), high.data.tolist()) == ([1.0, 3.0], [2.0, 4.0])
    assert_type(tg.split(x, 2), tuple[Variable, ...])
    assert_type(tg.concatenate([x, x]), Variable)
    assert_type(tg.stack([x, x], axis=1), Variable)


def test_the_transforms_are_typed_by_their_argument() -> None:
    def energy(w: Variable) -> Variable:
        return (tg.sin(w) * w).sum()

    w0 = np.array([0.5, 1.0])
    assert_type(tg.grad(energy)(w0), Array)
    assert_type(tg.grad(energy)(Variable(w0)), Variable)
    assert_type(tg.hessian(energy)(w0), Array)
    assert_type(tg.jacobian(tg.sin, mode="fwd")(w0), Array)
    assert_type(tg.hvp(energy, w0, np.ones(2)), Array)
    assert_type(tg.hvp(energy, Variable(w0), np.ones(2)), Variable)
    assert_type(tg.value_and_grad(energy)(w0), tuple[Array, Array])
    assert_type(tg.grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(w0, w0), tuple[Any, ...])
    _, tangent = tg.jvp(tg.sin, (w0,), (np.ones(2),))
    np.testing.assert_allclose(np.asarray(tangent), np.cos(w0))
    gradient = tg.grad(energy)(w0)
    np.testing.assert_allclose(gradient + 1.0, np.cos(w0) * w0 + np.sin(w0) + 1.0)


def test_nested_transforms_as_the_type_checker_sees_them() -> None:
    def outer(x: Variable) -> Variable:
        slope = tg.grad(lambda t: x * t)(3.0)  # NOTE: typed as an array, a Variable at run time
        assert_type(slope, Array)
        assert_type(x * slope, Variable)
        assert_type(slope * x, Variable)
        return tg.sin(slope) * x

    def energy(x: Variable) -> Variable:
        return (x * tg.grad(lambda t: (x * t * t).sum())(np.ones(2))).sum()  # sum(2 x^2)

    assert_type(tg.grad(outer)(2.0), Array)
    assert_type(tg.hessian(energy)(np.ones(2)), Array)
    # d/dx [sin(x) x] = cos(x) x + sin(x)
    np.testing.assert_allclose(tg.grad(outer)(2.0), np.cos(2.0) * 2.0 + np.sin(2.0))
    np.testing.assert_array_equal(tg.hessian(energy)(np.ones(2)), 4 * np.eye(2))
    v = Variable(2.0)
    linked = tg.as_variable(tg.grad(lambda t: v * t)(3.0))  # NOTE: the same Variable, so typed
    assert_type(linked, Variable)
    linked.backward()
    assert v.grad is not None
    assert float(v.grad.data) == 1.0


def test_checking_a_hand_written_rule_is_typed() -> None:
    def f(x: npt.NDArray[np.float64], scale: float) -> npt.NDArray[np.float64]:
        return scale * np.sin(x)

    def f_vjp(
        g: npt.NDArray[np.float64], x: npt.NDArray[np.float64], scale: float
    ) -> npt.NDArray[np.float64]:
        return scale * g * np.cos(x)

    x = np.linspace(-1.0, 1.0, 5)
    report = tg.check_vjp(f, f_vjp, x, constants={"scale": 2.0}, names=["x"], sample=3)
    assert_type(report, tg.RuleReport)
    assert_type(report.full_seconds, float)
    assert_type(report.derivative, str)
    assert report.failure is None
    assert_type(tg.vjpcheck(f, f_vjp, x, constants={"scale": 2.0}), bool)
    assert_type(tg.check_jvp(f, f_vjp, x, constants={"scale": 2.0}), tg.RuleReport)
