"""Step 51: an MLP learns MNIST from ``DataLoader``s, on a tiny MNIST written in the format of
the files DeZero downloads (tinygrad_ref downloads nothing)."""

from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
from tinygrad_ref import DataLoader, optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints

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
    for epoch in range(5):
        sum_loss, sum_acc = 0.0, 0.0
        for x, t in train_loader:
            y = model(x)
            loss = F.softmax_cross_entropy(y, t)
            acc = F.accuracy(y, t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(t)
            sum_acc += float(acc.data) * len(t)
        print(f"epoch: {epoch + 1}")
        print(
            f"train loss: {sum_loss / len(train_set):.4f}, accuracy: {sum_acc / len(train_set):.4f}"
        )
        sum_loss, sum_acc = 0.0, 0.0
        with tinygrad_ref.no_grad():
            for x, t in test_loader:
                y = model(x)
                loss = F.softmax_cross_entropy(y, t)
                acc = F.accuracy(y, t)
                sum_loss += float(loss.data) * len(t)
                sum_acc += float(acc.data) * len(t)
        print(f"test loss: {sum_loss / len(test_set):.4f}, accuracy: {sum_acc / len(test_set):.4f}")
    assert_prints(capsys.readouterr().out, BOOK)
