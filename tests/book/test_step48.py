"""Step 48: a multi-class classifier on DeZero's spiral, mini-batches cut by hand from a
permutation drawn each epoch."""

import math

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
from tinygrad_ref import optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, expected

EPOCHS = 20
"""The first 20 of the book's 300 epochs."""


def test_step48(capsys: pytest.CaptureFixture[str]) -> None:
    batch_size = 30
    x, t = tinygrad_ref.datasets.get_spiral(train=True)
    model = MLP((10, 3))
    optimizer = optimizers.SGD(1.0).setup(model)
    data_size = len(x)
    max_iter = math.ceil(data_size / batch_size)
    for epoch in range(EPOCHS):
        index = np.random.permutation(data_size)  # noqa: NPY002  # NOTE: the book's call
        sum_loss = 0.0
        for i in range(max_iter):
            batch_index = index[i * batch_size : (i + 1) * batch_size]
            batch_x, batch_t = x[batch_index], t[batch_index]
            y = model(batch_x)
            loss = F.softmax_cross_entropy(y, batch_t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(batch_t)
        print("epoch %d, loss %.2f" % (epoch + 1, sum_loss / data_size))  # noqa: UP031
    with tinygrad_ref.no_grad():
        score = model(np.array([[0.0, 0.0], [0.5, -0.5]]))
    assert score.creator is None
    assert np.argmax(score.data, axis=1).shape == (2,)
    assert_prints(capsys.readouterr().out, expected("step48.txt"))
