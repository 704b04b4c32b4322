"""Step 54: dropout scales what it keeps while training and changes nothing in test mode."""

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F

from .book import assert_prints

BOOK = """
[1. 1. 1. 1. 1.]
variable([2. 2. 2. 2. 0.])
variable([1. 1. 1. 1. 1.])
"""
"""What DeZero prints for the book's step 54 after ``np.random.seed(0)`` (the book draws the
mask unseeded)."""


def test_step54(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002
    x = np.ones(5)
    print(x)
    y = F.dropout(x)
    print(y)
    with tinygrad_ref.test_mode():
        y = F.dropout(x)
        print(y)
    assert_prints(capsys.readouterr().out, BOOK)
