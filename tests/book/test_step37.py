"""Step 37: functions on tensors; the gradients of an element-wise sum have the shapes of their
inputs."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints

# NOTE: DeZero keeps integer data as integers (``variable(1)``); tinygrad_ref makes it float64
# (``variable(1.)``), and assert_prints compares the numbers, not how they are written.
BOOK = """
variable(1)
variable([[1 1 1]
          [1 1 1]])
variable([[1 1 1]
          [1 1 1]])
variable([[1 1 1]
          [1 1 1]])
"""


def test_step37(capsys: pytest.CaptureFixture[str]) -> None:
    x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
    c = Variable(np.array([[10, 20, 30], [40, 50, 60]]))
    t = x + c
    y = F.sum(t)
    y.backward(retain_grad=True)
    print(y.grad)
    print(t.grad)
    print(x.grad)
    print(c.grad)
    assert_prints(capsys.readouterr().out, BOOK)
