"""Step 50: the spiral's training and test sets through ``DataLoader``s, with the accuracy of
each epoch."""

import pytest

import tinygrad_ref
from tinygrad_ref import DataLoader, optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, classify, expected

EPOCHS = 10
"""The first 10 of the book's 300 epochs."""


def test_step50(capsys: pytest.CaptureFixture[str]) -> None:
    train_set = tinygrad_ref.datasets.Spiral(train=True)
    test_set = tinygrad_ref.datasets.Spiral(train=False)
    train_loader = DataLoader(train_set, 30)
    test_loader = DataLoader(test_set, 30, shuffle=False)
    model = MLP((10, 3))
    optimizer = optimizers.SGD(1.0).setup(model)
    classify(model, optimizer, train_loader, test_loader, EPOCHS)
    assert_prints(capsys.readouterr().out, expected("step50.txt"))
