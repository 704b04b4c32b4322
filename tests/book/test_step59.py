"""Step 59: an RNN learns the noisy sine curve one value at a time, with truncated
backpropagation through time (``unchain_backward`` every 30 values)."""

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Operand, Variable

from .book import assert_prints, predict_the_next_value

BOOK = """
| epoch 1 | loss 0.290638
| epoch 2 | loss 0.018005
"""
"""What DeZero prints for the first two of the book's 100 epochs after ``np.random.seed(0)``
(the book draws the curve's noise and the initial weights unseeded)."""


class SimpleRNN(Model):
    def __init__(self, hidden_size: int, out_size: int) -> None:
        super().__init__()
        self.rnn = L.RNN(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self) -> None:
        self.rnn.reset_state()

    # NOTE: the book overrides __call__ rather than forward; a Layer allows both
    def __call__(self, x: Operand) -> Variable:  # type: ignore[override]  # NOTE: as the book
        return self.fc(self.rnn(x))


def test_step59(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002
    train_set = tinygrad_ref.datasets.SinCurve(train=True)
    model = SimpleRNN(100, 1)
    optimizer = tinygrad_ref.optimizers.Adam().setup(model)
    # NOTE: the book iterates over the dataset itself, and reshapes each value to (1, 1)
    values = [(x.reshape(1, 1), t) for x, t in train_set]
    predict_the_next_value(model, optimizer, values, len(train_set), 2)
    assert_prints(capsys.readouterr().out, BOOK)
