"""Step 49: the same training from a ``Spiral`` dataset, each mini-batch stacked from its
examples."""

import math

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
from tinygrad_ref import optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, expected

EPOCHS = 20
"""The first 20 of the book's 300 epochs; the dataset gives step 48's data, so the book prints
what step 48 prints."""


def test_step49(capsys: pytest.CaptureFixture[str]) -> None:
    batch_size = 30
    train_set = tinygrad_ref.datasets.Spiral(train=True)
    model = MLP((10, 3))
    optimizer = optimizers.SGD(1.0).setup(model)
    data_size = len(train_set)
    max_iter = math.ceil(data_size / batch_size)
    for epoch in range(EPOCHS):
        index = np.random.permutation(data_size)  # noqa: NPY002  # NOTE: the book's call
        sum_loss = 0.0
        for i in range(max_iter):
            batch_index = index[i * batch_size : (i + 1) * batch_size]
            batch = [train_set[i] for i in batch_index]
            batch_x = np.array([example[0] for example in batch])
            batch_t = np.array([example[1] for example in batch])
            y = model(batch_x)
            loss = F.softmax_cross_entropy(y, batch_t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(batch_t)
        print("epoch %d, loss %.2f" % (epoch + 1, sum_loss / data_size))  # noqa: UP031
    assert_prints(capsys.readouterr().out, expected("step48.txt"))
