"""Step 60: an LSTM learns the noisy sine curve from a ``SeqDataLoader``'s batches of 30
stretches of the sequence."""

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Operand, SeqDataLoader, Variable

from .book import assert_prints, predict_the_next_value

BOOK = """
| epoch 1 | loss 0.483028
| epoch 2 | loss 0.383103
| epoch 3 | loss 0.296698
"""
"""What DeZero prints for the first three of the book's 100 epochs after
``np.random.seed(0)``."""


class BetterRNN(Model):
    def __init__(self, hidden_size: int, out_size: int) -> None:
        super().__init__()
        self.rnn = L.LSTM(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self) -> None:
        self.rnn.reset_state()

    def __call__(self, x: Operand) -> Variable:  # type: ignore[override]  # NOTE: as the book
        return self.fc(self.rnn(x))


def test_step60(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002
    train_set = tinygrad_ref.datasets.SinCurve(train=True)
    dataloader = SeqDataLoader(train_set, batch_size=30)
    model = BetterRNN(100, 1)
    optimizer = tinygrad_ref.optimizers.Adam().setup(model)
    predict_the_next_value(model, optimizer, dataloader, len(train_set), 3)
    assert_prints(capsys.readouterr().out, BOOK)
