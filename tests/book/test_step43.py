"""Step 43: a two-layer network written with ``linear`` and ``sigmoid`` fits a noisy sine
curve, its four parameters updated by hand."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Variable

from .book import assert_prints, noisy_sine

UPDATES = 2001
"""The first 2,001 of the book's 10,000 updates: three printed losses."""

BOOK = """
variable(0.8473695850105871)
variable(0.2514286285183606)
variable(0.24759485466749875)
"""


def test_step43(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = noisy_sine()
    I, H, O = 1, 10, 1  # noqa: E741  # NOTE: the book's names
    W1 = Variable(0.01 * np.random.randn(I, H))  # noqa: NPY002
    b1 = Variable(np.zeros(H))
    W2 = Variable(0.01 * np.random.randn(H, O))  # noqa: NPY002
    b2 = Variable(np.zeros(O))

    def predict(x: np.ndarray) -> Variable:
        return F.linear(F.sigmoid(F.linear(x, W1, b1)), W2, b2)

    for i in range(UPDATES):
        loss = F.mean_squared_error(y, predict(x))
        for p in (W1, b1, W2, b2):
            p.cleargrad()
        loss.backward()
        for p in (W1, b1, W2, b2):
            assert p.grad is not None
            p.data -= 0.2 * p.grad.data
        if i % 1000 == 0:
            print(loss)
    assert_prints(capsys.readouterr().out, BOOK)
