"""A recorded graph does not depend on the caller's arrays: for every registered op, changing
an operand that is not a Variable (or an array parameter, such as an index) in place after the
forward pass changes no gradient, first or second, of a later backward."""

import copy
import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_ref import Variable
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.strategies import Example, examples

pytestmark = pytest.mark.properties


def _mutable_arrays(example: Example) -> list[np.ndarray]:
    """The arrays, among the operands that are not Variables and the parameters (and the items
    of a tuple parameter), that the caller could change in place."""
    items: list[Any] = [x for x in example.operands if not isinstance(x, Variable)]
    for value in example.params.values():
        items.extend(value if isinstance(value, tuple) else (value,))
    return [item for item in items if isinstance(item, np.ndarray)]


def _change_in_place(a: np.ndarray) -> None:
    """Change every element of ``a``: floats by +1, indices i to -i-1 (still in bounds), masks
    inverted."""
    if a.dtype.kind == "b":
        np.logical_not(a, out=a)
    elif a.dtype.kind in "iu":
        np.negative(a, out=a)
        a -= 1
    else:
        a += 1.0


def _gradients(example: Example, change: bool) -> list[np.ndarray]:
    """First derivatives by a plain pass and by a recorded one, then the second derivatives of
    the recorded ones, on private copies of the example; with ``change``, its arrays are
    changed in place right after each forward pass."""
    results = []
    for create_graph in (False, True):
        fresh = dataclasses.replace(
            example,
            operands=copy.deepcopy(example.operands),
            params=copy.deepcopy(dict(example.params)),
        )
        variables = [x for x in fresh.operands if isinstance(x, Variable)]
        y = fresh.fn(*fresh.operands)
        if change:
            for a in _mutable_arrays(fresh):
                _change_in_place(a)
        y.backward(create_graph=create_graph)
        grads = [x.grad for x in variables]
        results += [np.array(g.data) for g in grads if g is not None]
        if create_graph and fresh.spec.second_order:
            for x in variables:
                x.cleargrad()
            total: Variable | float = 0.0
            for g in grads:
                if g is not None:
                    total = total + (g * np.linspace(0.5, 1.5, g.size).reshape(g.shape)).sum()
            if isinstance(total, Variable) and total.creator is not None:
                total.backward()
                results += [np.array(x.grad.data) for x in variables if x.grad is not None]
    return results


@pytest.mark.parametrize("name", REGISTRY)
def test_changing_a_constant_after_the_forward_pass_changes_no_gradient(name: str) -> None:
    @settings(max_examples=10)
    @given(examples(REGISTRY[name]))
    def check(example: Example) -> None:
        expected = _gradients(example, change=False)
        got = _gradients(example, change=True)
        assert len(got) == len(expected), example
        for g, e in zip(got, expected, strict=True):
            assert g.dtype == e.dtype, example
            np.testing.assert_array_equal(g, e, err_msg=f"{example}")

    check()
