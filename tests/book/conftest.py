"""The book's steps seed NumPy's global random state, as the book does: each test's is put back
afterwards."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ref import utils

from .book import write_tiny_mnist


@pytest.fixture(autouse=True)
def _global_random_state() -> Iterator[None]:
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


@pytest.fixture
def tiny_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory holding the four files of a tiny MNIST, made tinygrad_ref.utils.cache_dir
    for the test (where DeZero would have downloaded the real ones)."""
    write_tiny_mnist(tmp_path)
    monkeypatch.setattr(utils, "cache_dir", str(tmp_path))
    return tmp_path
