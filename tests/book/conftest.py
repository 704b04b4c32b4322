"""The book's steps seed NumPy's global random state, as the book does: each test's is put back
afterwards."""

from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _global_random_state() -> Iterator[None]:
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002
