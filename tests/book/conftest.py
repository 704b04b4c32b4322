"""The tiny MNIST of the book's steps 51 to 53 (the global random state each step seeds is put
back after each test by ``tests/conftest.py``)."""

from pathlib import Path

import pytest

from .book import write_tiny_mnist


@pytest.fixture
def tiny_mnist(dezero_cache: Path) -> Path:
    """A directory holding the four files of a tiny MNIST, made tinygrad_ref.utils.cache_dir
    for the test (where DeZero would have downloaded the real ones)."""
    write_tiny_mnist(dezero_cache)
    return dezero_cache
