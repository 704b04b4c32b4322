"""Step 45: the same network as a ``Model`` holding its layers, ``model.params()`` updated by
hand."""

import pytest

import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Variable

from .book import assert_prints, noisy_sine, training_losses

UPDATES = 3001
"""The book trains for 10,000 updates; step 44's test runs them all, and this one, which makes
the same computation through a Model, the first 3,001 (four printed losses) to save CI time."""


class TwoLayerNet(Model):
    def __init__(self, hidden_size: int, out_size: int) -> None:
        super().__init__()
        self.l1 = L.Linear(hidden_size)
        self.l2 = L.Linear(out_size)

    def forward(self, x: Variable) -> Variable:
        return self.l2(F.sigmoid(self.l1(x)))


def test_step45(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = noisy_sine()
    model = TwoLayerNet(10, 1)
    for i in range(UPDATES):
        loss = F.mean_squared_error(y, model(x))
        model.cleargrads()
        loss.backward()
        for p in model.params():
            assert p.grad is not None
            p.data -= 0.2 * p.grad.data
        if i % 1000 == 0:
            print(loss)
    assert_prints(capsys.readouterr().out, *training_losses(4))
