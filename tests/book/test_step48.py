"""Step 48: a multi-class classifier on DeZero's spiral, mini-batches cut by hand from a
permutation drawn each epoch."""

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, epochs_by_hand, expected

EPOCHS = 20
"""The first 20 of the book's 300 epochs."""


def test_step48(capsys: pytest.CaptureFixture[str]) -> None:
    x, t = tinygrad_ref.datasets.get_spiral(train=True)
    model = MLP((10, 3))
    optimizer = optimizers.SGD(1.0).setup(model)
    epochs_by_hand(model, optimizer, len(x), lambda index: (x[index], t[index]), EPOCHS)
    with tinygrad_ref.no_grad():
        score = model(np.array([[0.0, 0.0], [0.5, -0.5]]))
    assert score.creator is None
    assert np.argmax(score.data, axis=1).shape == (2,)
    assert_prints(capsys.readouterr().out, expected("step48.txt"))
