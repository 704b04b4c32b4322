"""Algebraic laws in value and gradient, and graph bookkeeping, for every registered op."""

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_ref import Variable, no_grad, square
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import ANY, NONZERO, POSITIVE, Domain
from tinygrad_ref.verification.strategies import (
    Example,
    arrays,
    broadcastable_shapes,
    dtypes,
    examples,
)

pytestmark = pytest.mark.properties

Pair = tuple[Variable, Variable]


@st.composite
def variable_pairs(draw: st.DrawFn, first: Domain = ANY, second: Domain = ANY) -> Pair:
    dtype = draw(dtypes())
    shape0, shape1 = draw(broadcastable_shapes(2))
    return Variable(draw(arrays(first, shape0, dtype))), Variable(
        draw(arrays(second, shape1, dtype))
    )


def values_and_grads(
    f: Callable[[Variable, Variable], Variable], x: Variable, y: Variable
) -> list[np.ndarray]:
    """f's value and the gradients of sum(f) for fresh copies of x and y."""
    a, b = Variable(x.data.copy()), Variable(y.data.copy())
    out = f(a, b)
    out.backward()
    assert a.grad is not None
    assert b.grad is not None
    return [out.data, a.grad.data, b.grad.data]


def assert_same(left: list[np.ndarray], right: list[np.ndarray], ulps: float = 0) -> None:
    for l_value, r_value in zip(left, right, strict=True):
        assert l_value.dtype == r_value.dtype
        assert l_value.shape == r_value.shape
        eps = float(np.finfo(l_value.dtype).eps)
        np.testing.assert_allclose(l_value, r_value, rtol=ulps * eps, atol=ulps * eps)


@given(variable_pairs())
def test_subtracting_is_adding_the_negation(pair: Pair) -> None:
    assert_same(
        values_and_grads(lambda x, y: x - y, *pair), values_and_grads(lambda x, y: x + (-y), *pair)
    )


@given(variable_pairs(second=NONZERO))
def test_dividing_is_multiplying_by_the_reciprocal(pair: Pair) -> None:
    assert_same(
        values_and_grads(lambda x, y: x / y, *pair),
        values_and_grads(lambda x, y: x * y**-1, *pair),
        ulps=8,
    )


@given(variable_pairs())
def test_squaring_is_the_power_two(pair: Pair) -> None:
    assert_same(
        values_and_grads(lambda x, y: x**2 + y, *pair),
        values_and_grads(lambda x, y: square(x) + y, *pair),
    )


@given(variable_pairs(POSITIVE, ANY))
def test_a_power_with_a_variable_exponent_matches_the_constant_one(pair: Pair) -> None:
    x, c = pair
    with_variable = values_and_grads(lambda x, y: x**y, x, c)
    with_constant = values_and_grads(lambda x, y: x**y.data + 0 * y, x, c)
    assert_same(with_variable[:2], with_constant[:2], ulps=8)


def variables_of(example: Example) -> list[Variable]:
    return [x for x in example.operands if isinstance(x, Variable)]


any_example = st.sampled_from(sorted(REGISTRY)).flatmap(lambda name: examples(REGISTRY[name]))


@given(any_example)
def test_no_grad_records_nothing(example: Example) -> None:
    with no_grad():
        y = example.fn(*example.operands)
    assert y.creator is None
    y.backward()  # NOTE: from a leaf: nothing reaches the operands
    assert all(x.grad is None for x in variables_of(example))


@given(any_example)
def test_retain_grad_keeps_the_gradient_of_an_intermediate_variable(example: Example) -> None:
    leaves = variables_of(example)
    intermediates = [x * 1 for x in leaves]
    swap = dict(zip(map(id, leaves), intermediates, strict=True))
    y = example.fn(*[swap.get(id(x), x) for x in example.operands])
    y.backward(retain_grad=True)
    assert y.grad is not None
    np.testing.assert_array_equal(y.grad.data, np.ones_like(y.data))
    for leaf, intermediate in zip(leaves, intermediates, strict=True):
        assert intermediate.grad is not None
        assert leaf.grad is not None
        np.testing.assert_array_equal(intermediate.grad.data, leaf.grad.data)
        assert not np.shares_memory(intermediate.grad.data, leaf.grad.data)


@given(any_example)
def test_gradients_never_share_memory(example: Example) -> None:
    leaves = variables_of(example)
    example.fn(*example.operands).backward()
    grads = [x.grad.data for x in leaves if x.grad is not None]
    for i, g in enumerate(grads):
        for h in grads[i + 1 :]:
            assert not np.shares_memory(g, h)
