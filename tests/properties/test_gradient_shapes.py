"""Every gradient has its input's shape and dtype, for every case the registry draws: first
derivatives by a plain and by a recorded pass, and the second derivatives of the recorded ones."""

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_ref import Variable
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.strategies import Example, examples

pytestmark = pytest.mark.properties


def _assert_like_its_input(example: Example, variables: list[Variable], what: str) -> None:
    for i, x in enumerate(variables):
        g = x.grad
        if g is None:
            continue
        assert isinstance(g, Variable), f"{example}: {what} of Variable {i} is {type(g).__name__}"
        assert type(g.data) is np.ndarray, f"{example}: {what} of Variable {i} holds no ndarray"
        assert (g.shape, g.dtype) == (x.shape, x.dtype), (
            f"{example}: {what} of Variable {i} has shape {g.shape} and dtype {g.dtype}; "
            f"its input has shape {x.shape} and dtype {x.dtype}"
        )


def _check(example: Example) -> None:
    for create_graph in (False, True):
        variables = [Variable(x.data.copy()) for x in example.operands if isinstance(x, Variable)]
        fresh = iter(variables)
        operands = [next(fresh) if isinstance(x, Variable) else x for x in example.operands]
        example.fn(*operands).backward(create_graph=create_graph)
        what = "the recorded gradient" if create_graph else "the gradient"
        _assert_like_its_input(example, variables, what)
        if not create_graph or not example.spec.second_order:
            continue
        grads = [x.grad for x in variables]
        for x in variables:
            x.cleargrad()
        total: Variable | float = 0.0
        for g in grads:
            if g is not None:
                total = total + (g * np.linspace(-1.0, 1.0, g.size).reshape(g.shape)).sum()
        if isinstance(total, Variable) and total.creator is not None:
            total.backward()
            _assert_like_its_input(example, variables, "the second derivative")


@pytest.mark.parametrize("name", REGISTRY)
def test_every_gradient_has_its_inputs_shape_and_dtype(name: str) -> None:
    @settings(max_examples=8)
    @given(examples(REGISTRY[name]))
    def check(example: Example) -> None:
        _check(example)

    check()
