"""Step 50: the spiral's training and test sets through ``DataLoader``s, with the accuracy of
each epoch."""

import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
from tinygrad_ref import DataLoader, optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, expected

EPOCHS = 10
"""The first 10 of the book's 300 epochs."""


def test_step50(capsys: pytest.CaptureFixture[str]) -> None:
    train_set = tinygrad_ref.datasets.Spiral(train=True)
    test_set = tinygrad_ref.datasets.Spiral(train=False)
    train_loader = DataLoader(train_set, 30)
    test_loader = DataLoader(test_set, 30, shuffle=False)
    model = MLP((10, 3))
    optimizer = optimizers.SGD(1.0).setup(model)
    for epoch in range(EPOCHS):
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
    assert_prints(capsys.readouterr().out, expected("step50.txt"))
