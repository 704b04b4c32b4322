"""Step 39: sum, over everything, over an axis, and with ``keepdims``."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints

BOOK = """
variable(21)
variable([1 1 1 1 1 1])
variable(21)
variable([[1 1 1]
          [1 1 1]])
variable([5 7 9])
variable([[1 1 1]
          [1 1 1]])
(1, 1, 1, 1)
"""


def test_step39(capsys: pytest.CaptureFixture[str]) -> None:
    x = Variable(np.array([1, 2, 3, 4, 5, 6]))
    y = F.sum(x)
    y.backward()
    print(y)
    print(x.grad)
    for axis in (None, 0):
        x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
        y = F.sum(x, axis=axis)
        y.backward()
        print(y)
        print(x.grad)
    x = Variable(np.random.randn(2, 3, 4, 5))  # noqa: NPY002  # NOTE: the book's call
    y = x.sum(keepdims=True)
    print(y.shape)
    assert_prints(capsys.readouterr().out, BOOK)
