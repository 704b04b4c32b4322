"""Step 51: an MLP learns MNIST from ``DataLoader``s, on a tiny MNIST written in the format of
the files DeZero downloads (tinygrad_ref downloads nothing)."""

from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import DataLoader, optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, classify

BOOK = """
epoch: 1
train loss: 2.4518, accuracy: 0.1400
test loss: 2.3470, accuracy: 0.0800
epoch: 2
train loss: 2.3479, accuracy: 0.1300
test loss: 2.3315, accuracy: 0.0800
epoch: 3
train loss: 2.2976, accuracy: 0.1300
test loss: 2.3327, accuracy: 0.1600
epoch: 4
train loss: 2.2641, accuracy: 0.1650
test loss: 2.3401, accuracy: 0.1600
epoch: 5
train loss: 2.2589, accuracy: 0.2050
test loss: 2.3455, accuracy: 0.1000
"""
"""What DeZero prints for the book's step 51 on the same files after ``np.random.seed(0)``."""


def test_step51(tiny_mnist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002
    train_set = tinygrad_ref.datasets.MNIST(train=True)
    test_set = tinygrad_ref.datasets.MNIST(train=False)
    train_loader = DataLoader(train_set, 100)
    test_loader = DataLoader(test_set, 100, shuffle=False)
    model = MLP((1000, 10))
    optimizer = optimizers.SGD().setup(model)
    classify(model, optimizer, train_loader, test_loader, 5)
    assert_prints(capsys.readouterr().out, BOOK)
