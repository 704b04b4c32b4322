"""The reverse pass: order by generation, wide and uneven graphs, checks on what a vjp returns."""

import math
from collections.abc import Callable

import numpy as np
import pytest

import tinygrad_ref as tg
from tests.helpers import grad_of
from tinygrad_ref import Array, Function, Tensor, Variable


def test_wide_fan_in() -> None:
    x = Variable(1.5)
    y = Variable(0.0)
    for i in range(1000):
        y = y + x * i
    y.backward()
    assert grad_of(x) == sum(range(1000))


def test_branches_of_uneven_depth_meet_in_the_right_order() -> None:
    x = Variable(0.5)
    deep = x
    for _ in range(7):
        deep = tg.exp(deep) * 0.5  # NOTE: many generations on one side...
    y = deep * x + tg.log(x) * x  # ...one on the other; x is used by three functions
    y.backward()
    value, slope = 0.5, 1.0
    for _ in range(7):
        value, slope = math.exp(value) * 0.5, math.exp(value) * 0.5 * slope
    expected = slope * 0.5 + value + (1 / 0.5) * 0.5 + math.log(0.5)
    assert grad_of(x) == pytest.approx(expected)


def test_several_outputs_of_one_generation_accumulate_into_a_shared_input() -> None:
    x = Variable(np.array([1.0, 2.0]))
    a, b, c = x * 2.0, x * 3.0, x * x
    y = a * b + c  # a, b and c are all of generation 1
    y.backward()
    np.testing.assert_array_equal(grad_of(x), 12 * x.data + 2 * x.data)


LARGE = 100_000
"""Elements of an array large enough (800 KB) for NumPy to add into a temporary in place."""


class Returns(Function):
    """An op whose gradient is an array held elsewhere (``self.g``), not a new one."""

    def __init__(self, g: Array) -> None:
        super().__init__()
        self.g = g

    def forward(self, x: Array) -> Array:
        return x.copy()

    def vjp(self, gy: Array, x: Array, y: Array) -> Array:
        return self.g


def test_gradients_that_meet_are_added_without_writing_into_one_held_elsewhere() -> None:
    # NOTE: the pass adds a new gradient that nothing else holds into its input's in place
    # (large arrays); one a rule returns from elsewhere, or that feeds two inputs, stays as it is
    held = np.full(LARGE, 2.0)
    graphs: dict[str, tuple[Callable[[Variable], Variable], float]] = {
        # x gets gy from the Add, then the next function, run along the chain, adds its own
        "along a chain, held elsewhere": (lambda x: x + Returns(held)(x), 3.0),
        "along a chain, new": (lambda x: x + x * 5.0, 6.0),
        "in a bucket": (lambda x: x * 5.0 + Returns(held)(x) + Returns(held)(x) + x * x, 15.0),
        "one gradient for two inputs": (lambda x: x + x * 3.0 + x, 5.0),
    }
    for name, (f, expected) in graphs.items():
        x = Variable(np.full(LARGE, 3.0))
        f(x).backward()
        np.testing.assert_array_equal(held, 2.0, err_msg=name)
        np.testing.assert_array_equal(grad_of(x), expected, err_msg=name)


class TwoInputs(Function):
    def forward(self, x0: Array, x1: Array) -> Array:
        return x0 * x1

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        return gy * x1  # NOTE: wrong on purpose: one gradient for two inputs


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_vjp_returning_the_wrong_number_of_gradients_is_refused(create_graph: bool) -> None:
    y = TwoInputs()(Variable(2.0), Variable(3.0))
    with pytest.raises(ValueError, match=r"TwoInputs.vjp returned 1 gradients for 2 inputs"):
        y.backward(create_graph=create_graph)


def test_the_transforms_pass_tells_its_targets_by_identity_not_by_value() -> None:
    # NOTE: y = x * 1.0 equals x; a pass that compared by value took y for its target x.
    assert tg.grad(lambda x: x * 1.0)(2.0) == 1.0
    np.testing.assert_array_equal(tg.grad(lambda x: (x * x).sum())(np.ones(3)), [2.0, 2.0, 2.0])


class OneInput(Function):
    def __init__(self, gradients: int) -> None:
        super().__init__()
        self.gradients = gradients

    def forward(self, x: Array) -> Array:
        return 2 * x

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor | tuple[Tensor, ...]:
        return (gy * 2,) * self.gradients


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("depth", [0, 3])
def test_a_chain_checks_what_each_vjp_returns(create_graph: bool, depth: int) -> None:
    # NOTE: the plain pass runs a chain without its queue: the first function of the pass runs
    # as any other, the next ones along the chain
    x = Variable(1.5)
    y = OneInput(1)(tg.sin(x) * 1.0)  # a 1-tuple is one gradient
    for _ in range(depth):
        y = -y
    y.backward(create_graph=create_graph)
    assert grad_of(x) == (-1) ** depth * 2 * math.cos(1.5)
    y = OneInput(2)(x * 1.0)
    for _ in range(depth):
        y = -y
    with pytest.raises(ValueError, match=r"OneInput.vjp returned 2 gradients for 1 inputs"):
        y.backward(create_graph=create_graph)


def test_a_chain_stops_where_nothing_is_differentiated_and_clears_earlier_gradients() -> None:
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    a = (x * 2.0) * np.float32(3.0)
    b = (a + np.array([1.0, 1.0], dtype=np.float32)) / 2
    c = b * 1.0
    c.backward(retain_grad=True)
    assert a.grad is not None
    assert b.grad is not None
    x.cleargrad()
    assert c.creator is not None
    assert b.creator is not None
    c.creator.outputs  # noqa: B018 (read: the list is made, and the chain goes on through it)
    b.creator.inputs  # noqa: B018 (the same for the list of inputs)
    c.backward()
    assert all(v.grad is None for v in (a, b))  # NOTE: cleared, as DeZero does
    np.testing.assert_array_equal(grad_of(x), [3.0, 3.0])
    assert grad_of(x).dtype == np.float32
    # a chain from a constant operand: it gets no gradient
    k = tg.ops.AddConstant(1.0)(np.float64(2.0)) * 3.0
    k.backward()
    assert k.creator is not None
    assert k.creator.inputs[0].grad is None
