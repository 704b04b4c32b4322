"""Step 58 classifies a photograph with DeZero's pretrained VGG16, whose weights DeZero
downloads: tinygrad_ref downloads nothing, so a reader gets, at each of the step's first calls,
an error that says why and what to do instead."""

from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref.models import VGG16

URL = "https://github.com/oreilly-japan/deep-learning-from-scratch-3/raw/images/zebra.jpg"


def test_step58_says_which_file_to_put_where_and_refuses_the_pretrained_model(
    dezero_cache: Path,
) -> None:
    with pytest.raises(FileNotFoundError, match=f"Download {URL} and save it as"):
        tinygrad_ref.utils.get_file(URL)
    (dezero_cache / "zebra.jpg").write_bytes(b"")
    assert tinygrad_ref.utils.get_file(URL) == str(dezero_cache / "zebra.jpg")
    with pytest.raises(NotImplementedError, match="downloads nothing"):
        VGG16.preprocess(np.zeros((224, 224, 3)))
    with pytest.raises(NotImplementedError, match="downloads nothing"):
        VGG16(pretrained=True)
