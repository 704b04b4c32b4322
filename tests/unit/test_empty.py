"""Arrays with a 0-size axis go through every elementwise op and back, as in NumPy."""

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, matmul
from tinygrad_ref.registry import REGISTRY

ELEMENTWISE = sorted(name for name, spec in REGISTRY.items() if spec.case is None)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_an_empty_operand_gives_an_empty_result_and_gradient(name: str) -> None:
    spec = REGISTRY[name]
    operands = [Variable(np.ones((0, 3))) for _ in range(spec.arity)]
    y = spec.function(*operands)
    assert y.shape == (0, 3)
    y.backward()
    for x in operands:
        assert grad_of(x).shape == (0, 3)


def test_sums_and_products_over_an_empty_axis_are_zero_with_empty_gradients() -> None:
    x = Variable(np.ones((0, 3)))
    y = x.sum(axis=0)
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 0.0])
    y.backward()
    assert grad_of(x).shape == (0, 3)
    w = Variable(np.ones((3, 2)))
    z = matmul(x, w)
    assert z.shape == (0, 2)
    z.backward()
    np.testing.assert_array_equal(grad_of(w), np.zeros((3, 2)))
