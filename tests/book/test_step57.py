"""Step 57: ``im2col`` and ``conv2d_simple``, and the shapes they give."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints

BOOK = """
(9, 75)
(90, 75)
(1, 8, 15, 15)
(1, 5, 15, 15)
"""


def test_step57(capsys: pytest.CaptureFixture[str]) -> None:
    x1 = np.random.rand(1, 3, 7, 7)  # noqa: NPY002  # NOTE: the book's calls
    col1 = F.im2col(x1, kernel_size=5, stride=1, pad=0, to_matrix=True)
    print(col1.shape)
    x2 = np.random.rand(10, 3, 7, 7)  # noqa: NPY002
    col2 = F.im2col(x2, (5, 5), (1, 1), (0, 0), to_matrix=True)
    print(col2.shape)
    N, C, H, W = 1, 5, 15, 15
    OC, (KH, KW) = 8, (3, 3)
    x = Variable(np.random.randn(N, C, H, W))  # noqa: NPY002
    weights = np.random.randn(OC, C, KH, KW)  # noqa: NPY002
    y = F.conv2d_simple(x, weights, b=None, stride=1, pad=1)
    y.backward()
    assert x.grad is not None
    print(y.shape)
    print(x.grad.shape)
    assert_prints(capsys.readouterr().out, BOOK)
