"""Step 55: the output size of a convolution (the book defines the helper; DeZero's utils
has it)."""

import pytest

from tinygrad_ref.utils import get_conv_outsize

from .book import assert_prints


def test_step55(capsys: pytest.CaptureFixture[str]) -> None:
    H, W = 4, 4
    KH, KW = 3, 3
    SH, SW = 1, 1
    PH, PW = 1, 1
    print(get_conv_outsize(H, KH, SH, PH), get_conv_outsize(W, KW, SW, PW))
    assert_prints(capsys.readouterr().out, "4 4\n")
