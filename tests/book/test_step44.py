"""Step 44: a two-layer network of ``Linear`` layers fits a noisy sine curve, its parameters
updated by hand."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Variable

from .book import assert_prints, noisy_sine, training_losses


def test_step44(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = noisy_sine()
    hidden, out = L.Linear(10), L.Linear(1)

    def predict(x: np.ndarray) -> Variable:
        return out(F.sigmoid(hidden(x)))

    for i in range(10000):
        loss = F.mean_squared_error(y, predict(x))
        hidden.cleargrads()
        out.cleargrads()
        loss.backward()
        for layer in (hidden, out):
            for p in layer.params():
                assert p.grad is not None
                p.data -= 0.2 * p.grad.data
        if i % 1000 == 0:
            print(loss)
    assert_prints(capsys.readouterr().out, *training_losses(10))
