"""Step 46: the same network as an ``MLP``, updated by an ``SGD`` optimizer."""

import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, noisy_sine, training_losses

UPDATES = 3001
"""The first 3,001 of the book's 10,000 updates (four printed losses), as in step 45."""


def test_step46(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = noisy_sine()
    model = MLP((10, 1))
    optimizer = optimizers.SGD(0.2).setup(model)
    for i in range(UPDATES):
        loss = F.mean_squared_error(y, model(x))
        model.cleargrads()
        loss.backward()
        optimizer.update()
        if i % 1000 == 0:
            print(loss)
    assert_prints(capsys.readouterr().out, *training_losses(4))
