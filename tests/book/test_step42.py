"""Step 42: linear regression by gradient descent, ``W`` and ``b`` updated by hand."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints, expected


def test_step42(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002  # NOTE: the book's calls, in its order
    x = np.random.rand(100, 1)  # noqa: NPY002
    y = 5 + 2 * x + np.random.rand(100, 1)  # noqa: NPY002
    xv, yv = Variable(x), Variable(y)
    W = Variable(np.zeros((1, 1)))
    b = Variable(np.zeros(1))

    def predict(x: Variable) -> Variable:
        return F.matmul(x, W) + b

    def mean_squared_error(x0: Variable, x1: Variable) -> Variable:
        diff = x0 - x1
        return F.sum(diff**2) / len(diff)

    for _ in range(100):
        loss = mean_squared_error(yv, predict(xv))
        W.cleargrad()
        b.cleargrad()
        loss.backward()
        assert W.grad is not None
        assert b.grad is not None
        W.data -= 0.1 * W.grad.data
        b.data -= 0.1 * b.grad.data
        print(W, b, loss)
    assert_prints(capsys.readouterr().out, expected("step42.txt"))
