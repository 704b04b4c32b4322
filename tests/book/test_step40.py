"""Step 40: broadcasting, and the gradient summed back to the shape of the broadcast input."""

import numpy as np
import pytest

from tinygrad_ref import Variable

from .book import assert_prints

BOOK = """
variable([11 12 13])
variable([3])
"""


def test_step40(capsys: pytest.CaptureFixture[str]) -> None:
    x0 = Variable(np.array([1, 2, 3]))
    x1 = Variable(np.array([10]))
    y = x0 + x1
    print(y)
    y.backward()
    print(x1.grad)
    assert_prints(capsys.readouterr().out, BOOK)
