"""Small helpers shared by the tests."""

import numpy as np

from tinygrad_ref import Variable


def grad_of(x: Variable) -> np.ndarray:
    """``x.grad.data``, asserting that ``x`` has a gradient."""
    assert x.grad is not None
    return x.grad.data
