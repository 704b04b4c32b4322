"""Step 59: an RNN learns the noisy sine curve one value at a time, with truncated
backpropagation through time (``unchain_backward`` every 30 values)."""

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Operand, Variable

from .book import assert_prints

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
    bptt_length = 30
    train_set = tinygrad_ref.datasets.SinCurve(train=True)
    seqlen = len(train_set)
    model = SimpleRNN(100, 1)
    optimizer = tinygrad_ref.optimizers.Adam().setup(model)
    for epoch in range(2):
        model.reset_state()
        loss: Variable | int = 0
        count = 0
        for x, t in train_set:
            y = model(x.reshape(1, 1))
            loss += F.mean_squared_error(y, t)
            count += 1
            if count % bptt_length == 0 or count == seqlen:
                assert isinstance(loss, Variable)
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
        assert isinstance(loss, Variable)
        print("| epoch %d | loss %f" % (epoch + 1, float(loss.data) / count))  # noqa: UP031
    assert_prints(capsys.readouterr().out, BOOK)
