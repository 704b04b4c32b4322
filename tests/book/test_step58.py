"""Step 58 classifies a photograph with DeZero's pretrained VGG16, whose weights DeZero
downloads: tinygrad_ref downloads nothing, so a reader gets, at each of the step's first calls,
an error that says why and what to do instead."""

from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref
from tinygrad_ref import utils
from tinygrad_ref.models import VGG16

URL = "https://github.com/oreilly-japan/deep-learning-from-scratch-3/raw/images/zebra.jpg"


def test_step58_says_which_file_to_put_where_and_refuses_the_pretrained_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(utils, "cache_dir", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"Download {URL} and save it as"):
        tinygrad_ref.utils.get_file(URL)
    (tmp_path / "zebra.jpg").write_bytes(b"")
    assert tinygrad_ref.utils.get_file(URL) == str(tmp_path / "zebra.jpg")
    with pytest.raises(NotImplementedError, match="downloads nothing"):
        VGG16.preprocess(np.zeros((224, 224, 3)))
    with pytest.raises(NotImplementedError, match="downloads nothing"):
        VGG16(pretrained=True)
