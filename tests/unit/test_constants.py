"""Operands given as numbers or arrays are constants: recorded as inputs, never differentiated."""

import numpy as np

from tinygrad_ref import Variable


def test_an_implicit_operand_is_an_input_that_gets_no_gradient() -> None:
    x = Variable(np.array([1.0, 2.0]))
    y = x * 3.0 + np.array([1.0, 1.0])
    y.backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    for f in (y.creator, y.creator.inputs[0].creator if y.creator else None):
        assert f is not None
        constant = f.inputs[1]
        assert isinstance(constant, Variable)
        assert constant.grad is None


def test_a_constant_reused_as_a_variable_operand_still_gets_no_gradient() -> None:
    x = Variable(2.0)
    y = x * 3.0
    assert y.creator is not None
    three = y.creator.inputs[1]
    z = x * three
    np.testing.assert_array_equal(z.data, 6.0)
    z.backward()
    assert x.grad is not None
    assert x.grad.data == 3.0
    assert three.grad is None
