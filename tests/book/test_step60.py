"""Step 60: an LSTM learns the noisy sine curve from a ``SeqDataLoader``'s batches of 30
stretches of the sequence."""

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Operand, SeqDataLoader, Variable

from .book import assert_prints

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
    bptt_length = 30
    train_set = tinygrad_ref.datasets.SinCurve(train=True)
    dataloader = SeqDataLoader(train_set, batch_size=30)
    seqlen = len(train_set)
    model = BetterRNN(100, 1)
    optimizer = tinygrad_ref.optimizers.Adam().setup(model)
    for epoch in range(3):
        model.reset_state()
        loss: Variable | int = 0
        count = 0
        for x, t in dataloader:
            y = model(x)
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
