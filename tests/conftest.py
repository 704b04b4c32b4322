"""Hypothesis profiles: ``ci`` (chosen when CI is set), ``dev`` (the default) and ``fuzz``,
and the fixtures every test shares.

Select a profile with ``HYPOTHESIS_PROFILE=fuzz pytest -m properties`` or
``pytest --hypothesis-profile=fuzz``.
"""

import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from tinygrad_ref import utils

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100, database=None)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("fuzz", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _global_random_state() -> Iterator[None]:
    """NumPy's global random state, which dropout, the layers, the datasets and the data
    loaders draw from as DeZero's do, put back after each test: a test that seeds it changes
    no other test's numbers."""
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A random generator of the test's own, seeded by its name (parameters included): its
    draws are the same whichever tests run before it, alone (``-k``) or in any order."""
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


@pytest.fixture
def dezero_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory made :data:`tinygrad_ref.utils.cache_dir` for the test, where
    ``get_file`` (and so MNIST) looks for DeZero's downloads."""
    monkeypatch.setattr(utils, "cache_dir", str(tmp_path))
    return tmp_path
