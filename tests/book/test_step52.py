"""Step 52: step 51's training timed per epoch, on the GPU where DeZero finds CuPy; here
``tinygrad_ref.cuda.gpu_enable`` is ``False``, as DeZero's without CuPy, so it runs on the CPU
(on the tiny MNIST of step 51's test)."""

import re
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import DataLoader, optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, mean_training_loss

BOOK = """
epoch: 1, loss: 2.4518, time: 0.4265[sec]
epoch: 2, loss: 2.3479, time: 0.3728[sec]
epoch: 3, loss: 2.2976, time: 0.3638[sec]
epoch: 4, loss: 2.2641, time: 0.3718[sec]
epoch: 5, loss: 2.2589, time: 0.3480[sec]
"""
"""What DeZero without CuPy prints for the book's step 52 after ``np.random.seed(0)``."""

TIME = re.compile(r", time: \d+\.\d{4}\[sec\]$", re.MULTILINE)


def test_step52(tiny_mnist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002
    train_set = tinygrad_ref.datasets.MNIST(train=True)
    train_loader = DataLoader(train_set, 100)
    model = MLP((1000, 10))
    optimizer = optimizers.SGD().setup(model)
    if tinygrad_ref.cuda.gpu_enable:
        train_loader.to_gpu()
        model.to_gpu()
    for epoch in range(5):
        start = time.time()
        loss = mean_training_loss(model, optimizer, train_loader)
        elapsed_time = time.time() - start
        print(f"epoch: {epoch + 1}, loss: {loss:.4f}, time: {elapsed_time:.4f}[sec]")
    out = capsys.readouterr().out
    # NOTE: the times are the machine's; the rest is compared with the book
    assert len(TIME.findall(out)) == 5
    assert_prints(TIME.sub("", out), TIME.sub("", BOOK))
