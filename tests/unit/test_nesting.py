"""Transforms that nest (issue 20): every pair of transforms at two levels, with the inner one's
function closing over the outer argument, given a plain number, or given the outer argument
through ``argnums``; the issue's table; perturbation confusion; what comes back; empty
arguments; threads. Expected values are derived by hand in the comments."""

import math
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.helpers import assert_no_graph_outlives, cubic, cubic_hessian, grad_of
from tinygrad_ref import (
    Variable,
    as_variable,
    core,
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

Transform = Callable[[Callable[..., Any], Any], Any]
"""A transform of a function of one argument, applied at a point: its derivative there."""

FIRST: dict[str, Transform] = {
    "grad": lambda f, x: grad(f)(x),
    "value_and_grad": lambda f, x: value_and_grad(f)(x)[1],
    "jvp": lambda f, x: jvp(f, (x,), (1.0,))[1],
    "vjp": lambda f, x: vjp(f, x)[1](1.0)[0],
    "jacobian_rev": lambda f, x: jacobian(f)(x),
    "jacobian_fwd": lambda f, x: jacobian(f, mode="fwd")(x),
}
"""Each gives the first derivative of a function of a 0-d argument."""
SECOND: dict[str, Transform] = {
    "hessian": lambda f, x: hessian(f)(x),
    "hvp": lambda f, x: hvp(f, x, 1.0),
}
"""Each gives the second derivative."""
TRANSFORMS = {**FIRST, **SECOND}

BY_ARGNUMS: dict[str, Callable[[Any, float], Any]] = {
    "grad": lambda x, t: grad(h, 1)(x, t),
    "value_and_grad": lambda x, t: value_and_grad(h, 1)(x, t)[1],
    "jvp": lambda x, t: jvp(h, (x, t), (0.0, 1.0))[1],
    "vjp": lambda x, t: vjp(h, x, t)[1](1.0)[1],
    "jacobian_rev": lambda x, t: jacobian(h, 1)(x, t),
    "jacobian_fwd": lambda x, t: jacobian(h, 1, mode="fwd")(x, t),
    "hessian": lambda x, t: hessian(h, 1)(x, t),
    "hvp": lambda x, t: hvp(lambda t: h(x, t), t, 1.0),
}
"""The inner transform by its second argument, the outer argument passed as the first (a
tangent of 0 or a cotangent read off for the second, where a transform takes every argument;
``hvp`` takes one)."""


def h(x: Any, t: Any) -> Any:
    """``x^2 t^3``: by ``t``, ``3 x^2 t^2`` and ``6 x^2 t``."""
    return x**2 * t**3


X0, T0 = 1.25, 1.5


def expected(outer: str, inner: str, style: str) -> float:
    """The outer derivative of ``q(x) = inner[t -> h(x, t)]`` at ``X0``. With ``t = x`` (the
    closure style) ``q`` is ``3 x^4`` (first order inside) or ``6 x^3``; with ``t = T0``,
    ``3 T0^2 x^2`` or ``6 T0 x^2``."""
    if style == "closure":
        c, power = (6.0, 3) if inner in SECOND else (3.0, 4)
    else:
        c, power = (6.0 * T0, 2) if inner in SECOND else (3.0 * T0**2, 2)
    if outer in SECOND:
        return c * power * (power - 1) * X0 ** (power - 2)
    return c * power * X0 ** (power - 1)


def nested(outer: str, inner: str, style: str) -> Any:
    def q(x: Any) -> Any:
        if style == "closure":  # NOTE: the inner argument is the outer one, captured too
            return TRANSFORMS[inner](lambda t: h(x, t), x)
        if style == "number":
            return TRANSFORMS[inner](lambda t: h(x, t), T0)
        return BY_ARGNUMS[inner](x, T0)

    return TRANSFORMS[outer](q, X0)


@pytest.mark.parametrize("style", ["closure", "number", "argnums"])
@pytest.mark.parametrize("inner", TRANSFORMS)
@pytest.mark.parametrize("outer", TRANSFORMS)
def test_every_pair_of_transforms_nests(outer: str, inner: str, style: str) -> None:
    result = nested(outer, inner, style)
    assert type(result) is np.ndarray  # NOTE: numbers in, arrays out, at the top
    np.testing.assert_allclose(result, expected(outer, inner, style), rtol=1e-14)


def test_the_issues_table() -> None:
    # d/dx [x * d/dt (x t)] = d/dx x^2 = 2x
    assert grad(lambda x: x * grad(lambda t: x * t)(3.0))(2.0) == 4.0
    # d/dx [d/dt (x t^2) at t = 3] = d/dx 6x = 6
    assert grad(lambda x: jvp(lambda t: x * t**2, (3.0,), (1.0,))[1])(2.0) == 6.0

    # sum(x * 2 x t) at t = 1 is sum(2 x^2): Hessian 4 I
    def f(x: Variable) -> Variable:
        inner = grad(lambda t: (x * t**2).sum())(np.ones(3))  # NOTE: a Variable typed as an array
        return (x * inner).sum()

    np.testing.assert_array_equal(hessian(f)(np.ones(3)), 4 * np.eye(3))

    # the pullback of t -> x t is u -> x u: d/dx of x * 1 is 1
    assert grad(lambda x: vjp(lambda t: x * t, 2.0)[1](1.0)[0])(5.0) == 1.0

    # d/dx d/dy sin(sin x + sin y) = -sin(sin x + sin y) cos x cos y
    def g(x: Variable, y: Variable) -> Variable:
        return sin(sin(x) + sin(y))

    mixed = grad(lambda x: grad(g, 1)(x, 0.7))(0.3)
    by_hand = -math.sin(math.sin(0.3) + math.sin(0.7)) * math.cos(0.3) * math.cos(0.7)
    np.testing.assert_allclose(mixed, by_hand, rtol=1e-15)

    x = Variable(2.0)
    y = x * grad(lambda t: x * t)(3.0)  # x * x
    y.backward()
    assert x.grad is not None
    assert x.grad.data == 4.0


@pytest.mark.parametrize("inner", ["grad", "jvp", "vjp", "jacobian_fwd"])
@pytest.mark.parametrize("outer", ["grad", "jvp", "vjp", "jacobian_rev"])
def test_no_perturbation_confusion(outer: str, inner: str) -> None:
    # Siskind and Pearlmutter: d/dx [x * d/dy (x + y)] at 1 is d/dx x = 1, not 2
    result = FIRST[outer](lambda x: x * FIRST[inner](lambda y: x + y, 1.0), 1.0)
    assert result == 1.0


def test_three_levels() -> None:
    # d/dx d/dy d/dz (x y z)^2 = 8 x y z
    def level2(x: Any) -> Any:
        return jvp(lambda y: grad(lambda z: (x * y * z) ** 2)(0.5), (1.5,), (1.0,))[1]

    assert jacobian(level2, mode="fwd")(2.0) == 8 * 2.0 * 1.5 * 0.5


def test_a_result_linked_to_a_captured_variable() -> None:
    w = Variable(3.0)
    # NOTE: typed as an array (numbers in), a Variable at run time; as_variable types it so
    g = as_variable(grad(lambda x: x * w)(2.0))  # w: the derivative by x only
    assert g.creator is not None
    assert g.data == 3.0
    assert w.grad is None  # NOTE: the caller's Variables are not touched
    g.backward()  # ... but the result stays linked to w, for whoever differentiates outside
    assert grad_of(w) == 1.0


def test_a_result_linked_to_an_argument_not_differentiated() -> None:
    w = Variable(np.array([1.0, 2.0]))
    g = as_variable(grad(lambda x, v: (x * v * v).sum())(np.array([3.0, 4.0]), w))
    assert g.creator is not None
    np.testing.assert_array_equal(g.data, [1.0, 4.0])
    g.sum().backward()  # d/dw sum(w^2) = 2 w
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])


def test_a_jvp_linked_to_a_captured_variable() -> None:
    w = Variable(np.array([1.0, 2.0]))
    value, tangent = jvp(lambda s: w * s * s, (np.array([3.0, 4.0]),), (np.ones(2),))
    assert isinstance(value, Variable)
    assert isinstance(tangent, Variable)
    np.testing.assert_array_equal(tangent.data, [6.0, 16.0])  # 2 w s
    tangent.sum().backward()  # d/dw sum(2 w s) = 2 s
    assert w.grad is not None
    np.testing.assert_array_equal(w.grad.data, [6.0, 8.0])


def test_a_vjp_linked_to_its_cotangent() -> None:
    # the pullback of sin is u -> cos(x) u; by u, cos(x)
    x = np.array([0.5, 1.0])
    pulled = grad(lambda u: vjp(sin, x)[1](u)[0].sum())(np.array([1.0, -1.0]))
    np.testing.assert_allclose(pulled, np.cos(x), rtol=1e-15)


def test_a_jvp_linked_to_its_tangent() -> None:
    x = np.array([0.5, 1.0])
    pushed = grad(lambda v: jvp(sin, (x,), (v,))[1].sum())(np.array([1.0, -1.0]))
    np.testing.assert_allclose(pushed, np.cos(x), rtol=1e-15)


def test_what_nothing_links_to_is_an_array() -> None:
    w = Variable(3.0)
    with no_grad():  # NOTE: no graph is being recorded
        assert type(grad(lambda x: x * w)(2.0)) is np.ndarray
        assert type(jvp(lambda x: x * w, (2.0,), (1.0,))[1]) is np.ndarray
    # the gradient does not depend on w: zeros, as an array
    assert type(grad(lambda x: w * w)(2.0)) is np.ndarray
    # a constant the function makes is no Variable
    assert type(grad(lambda x: x * np.float64(3.0) + np.ones(()))(2.0)) is np.ndarray
    # a Variable in still gives a Variable out, as before
    assert isinstance(grad(lambda x: x * 2.0)(Variable(1.0)), Variable)


def test_a_plain_jvp_records_no_graph() -> None:
    recorded = []

    def f(x: Variable) -> Variable:
        y = sin(x) * 2.0
        recorded.append(y.creator)
        return y

    jvp(f, (np.ones(2),), (np.ones(2),))
    assert recorded == [None]


EMPTY = np.zeros((0,))


@pytest.mark.parametrize(
    ("transform", "shape"),
    [
        (lambda: grad(lambda x: (x * x).sum())(EMPTY), (0,)),
        (lambda: value_and_grad(lambda x: (x * x).sum())(EMPTY)[1], (0,)),
        (lambda: jvp(lambda x: x * 2.0, (EMPTY,), (EMPTY,))[1], (0,)),
        (lambda: vjp(lambda x: x * 2.0, EMPTY)[1](EMPTY)[0], (0,)),
        (lambda: jacobian(lambda x: x.sum() * np.ones(3))(EMPTY), (3, 0)),
        (lambda: jacobian(lambda x: x.sum() * np.ones(3), mode="fwd")(EMPTY), (3, 0)),
        (lambda: jacobian(lambda x: x * 2.0)(EMPTY), (0, 0)),
        (lambda: jacobian(lambda x: x * 2.0, mode="fwd")(EMPTY), (0, 0)),
        (lambda: jacobian(lambda x, y: x * y, 1)(np.ones((2, 1)), np.zeros((0,))), (2, 0, 0)),
        (lambda: jacobian(lambda x, y: x.sum() * y.sum(), 1, mode="fwd")(np.ones(2), EMPTY), (0,)),
        (lambda: hessian(lambda x: (x * x).sum())(EMPTY), (0, 0)),
        (lambda: hessian(lambda x, y: (x * x).sum() * y.sum(), 1)(np.ones(2), EMPTY), (0, 0)),
        (lambda: hvp(lambda x: (x * x).sum(), EMPTY, EMPTY), (0,)),
    ],
)
def test_empty_arguments_give_output_shape_plus_argument_shape(
    transform: Callable[[], Any], shape: tuple[int, ...]
) -> None:
    result = transform()
    assert type(result) is np.ndarray
    assert result.shape == shape
    assert result.dtype == np.float64


W = Variable(np.array([2.0, 3.0]))


@pytest.mark.parametrize(
    "transform",
    [
        lambda: nested("grad", "grad", "closure"),
        lambda: nested("hessian", "vjp", "number"),
        lambda: nested("jacobian_fwd", "hvp", "argnums"),
        lambda: nested("vjp", "jacobian_rev", "closure"),
        lambda: nested("hvp", "jvp", "number"),
        lambda: jvp(lambda x: sin(x) * 2.0, (Variable(np.ones(2)),), (np.ones(2),)),
        lambda: jvp(lambda x: sin(x) * W, (np.ones(2),), (np.ones(2),)),
        lambda: grad(lambda x: (sin(x) * W).sum())(np.ones(2)),
    ],
)
def test_no_graph_outlives_what_links_to_it(transform: Callable[[], object]) -> None:
    assert_no_graph_outlives(transform)  # NOTE: its result, linked or not, dropped at once


def _work_in_a_thread(k: int, rounds: int, start: threading.Barrier, errors: list[str]) -> None:
    try:
        start.wait()
        v = np.array([1.0, 0.5, -2.0])
        for i in range(rounds):
            x = np.array([0.5, -1.25, 2.0]) * (0.25 * (k + 1) + 0.01 * i)
            _, t = jvp(lambda u: sin(u) * u, (x,), (v,))
            np.testing.assert_allclose(t, (np.cos(x) * x + np.sin(x)) * v, rtol=1e-14)
            np.testing.assert_allclose(hvp(cubic, x, v), cubic_hessian(x) @ v, rtol=1e-14)
            jac = jacobian(lambda u: sin(u), mode="fwd")(x)
            np.testing.assert_allclose(jac, np.diag(np.cos(x)), rtol=1e-15)
            w = Variable(x)
            (sin(w) * w).sum().backward(create_graph=True)
            g = w.grad
            assert g is not None
            w.cleargrad()
            g.sum().backward()
            assert w.grad is not None
            np.testing.assert_allclose(w.grad.data, 2 * np.cos(x) - x * np.sin(x), rtol=1e-14)
        assert core.active_traces() == []
    except BaseException as error:  # NOTE: reported by the main thread
        errors.append(f"thread {k}: {error!r}")


def test_forward_mode_is_safe_across_threads() -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # NOTE: switch threads often, inside the passes
    try:
        for _ in range(3):
            errors: list[str] = []
            start = threading.Barrier(4)
            threads = [
                threading.Thread(target=_work_in_a_thread, args=(k, 30, start, errors))
                for k in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
    finally:
        sys.setswitchinterval(interval)
    assert core._active_traces == 0
    assert core.active_traces() == []


def test_an_inner_pullback_of_a_constant_given_outer_cotangents_gives_zeros() -> None:
    # NOTE: f ignores x, so the inner pullback records nothing, while its cotangent u is the outer
    # vjp's stand-in (a Variable): the pass must use u's data (HIPS's test_no_relation)
    c = np.arange(6.0).reshape(3, 2)

    def inner_pullback(x: Any, u: Any) -> Any:
        return vjp(lambda y: c, x)[1](u)[0]

    value, pull = vjp(inner_pullback, np.ones((3, 2)), np.ones((3, 2)))
    np.testing.assert_array_equal(as_variable(value).data, np.zeros((3, 2)))
    for g in pull(np.ones((3, 2))):
        np.testing.assert_array_equal(g, np.zeros((3, 2)))


def test_the_pullback_of_the_identity_is_linked_to_its_cotangent() -> None:
    # NOTE: f(x) = x records no function, yet its pullback u -> u depends on u: the outer vjp by
    # u must see the identity (HIPS's test_len)
    def pullback(x: Any, u: Any) -> Any:
        return vjp(lambda y: y, x)[1](u)[0]

    x, u, w = np.ones((3, 2)), np.arange(6.0).reshape(3, 2), np.full((3, 2), 2.0)
    value, pull = vjp(pullback, x, u)
    np.testing.assert_array_equal(as_variable(value).data, u)
    by_x, by_u = pull(w)
    np.testing.assert_array_equal(by_x, np.zeros((3, 2)))
    np.testing.assert_array_equal(by_u, w)
