"""Step 53: training resumes from saved weights: a first run trains and saves ``my_mlp.npz``,
a second one loads it and goes on (on the tiny MNIST of step 51's test)."""

import os
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import DataLoader, optimizers
from tinygrad_ref.models import MLP

from .book import assert_prints, mean_training_loss

BOOK = """
epoch: 1, loss: 2.4518
epoch: 2, loss: 2.3479
epoch: 3, loss: 2.2976
epoch: 1, loss: 2.2659
epoch: 2, loss: 2.2494
epoch: 3, loss: 2.2359
"""
"""What DeZero prints for the book's step 53 run twice in one directory, each run a process
that starts with ``np.random.seed(0)``."""


def run_step53() -> None:
    train_set = tinygrad_ref.datasets.MNIST(train=True)
    train_loader = DataLoader(train_set, 100)
    model = MLP((1000, 10))
    optimizer = optimizers.SGD().setup(model)
    if os.path.exists("my_mlp.npz"):
        model.load_weights("my_mlp.npz")
    for epoch in range(3):
        loss = mean_training_loss(model, optimizer, train_loader)
        print(f"epoch: {epoch + 1}, loss: {loss:.4f}")
    model.save_weights("my_mlp.npz")


def test_step53(
    tiny_mnist: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        np.random.seed(0)  # noqa: NPY002
        run_step53()
        assert (tmp_path / "my_mlp.npz").is_file()
    assert_prints(capsys.readouterr().out, BOOK)
