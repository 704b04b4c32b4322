"""Step 49: the same training from a ``Spiral`` dataset, each mini-batch stacked from its
examples."""

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import tinygrad_ref
from tinygrad_ref import optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, epochs_by_hand, expected

EPOCHS = 20
"""The first 20 of the book's 300 epochs; the dataset gives step 48's data, so the book prints
what step 48 prints."""


def test_step49(capsys: pytest.CaptureFixture[str]) -> None:
    train_set = tinygrad_ref.datasets.Spiral(train=True)
    model = MLP((10, 3))
    optimizer = optimizers.SGD(1.0).setup(model)

    def batch(index: npt.NDArray[np.int_]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        examples = [train_set[i] for i in index]
        return np.array([x for x, _ in examples]), np.array([t for _, t in examples])

    epochs_by_hand(model, optimizer, len(train_set), batch, EPOCHS)
    assert_prints(capsys.readouterr().out, expected("step48.txt"))
