"""Step 41: the matrix product and the shapes of its gradients."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints

BOOK = """
(2, 3)
(3, 4)
"""


def test_step41(capsys: pytest.CaptureFixture[str]) -> None:
    x = Variable(np.random.randn(2, 3))  # noqa: NPY002  # NOTE: the book's calls
    w = Variable(np.random.randn(3, 4))  # noqa: NPY002
    y = F.matmul(x, w)
    y.backward()
    assert x.grad is not None
    assert w.grad is not None
    print(x.grad.shape)
    print(w.grad.shape)
    assert_prints(capsys.readouterr().out, BOOK)
