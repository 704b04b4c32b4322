"""Step 38: reshape and transpose, whose gradients take the input's shape back."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints

BOOK = """
variable([[1 1 1]
          [1 1 1]])
variable([[1 1 1]
          [1 1 1]])
"""


def test_step38(capsys: pytest.CaptureFixture[str]) -> None:
    x = Variable(np.array([[0, 1, 2], [3, 4, 5]]))
    y = F.reshape(x, (6,))
    y.backward(retain_grad=True)
    print(x.grad)
    x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
    y = F.transpose(x)
    y.backward()
    print(x.grad)
    assert_prints(capsys.readouterr().out, BOOK)


def test_step38_methods_as_the_books_comments() -> None:
    x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert x.reshape(6).shape == (6,)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.T.shape == (3, 2)
    assert x.transpose().shape == (3, 2)
