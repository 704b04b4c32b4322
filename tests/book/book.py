"""What the tests of the book's steps share: the text a step prints, compared with the book's,
and the data of the steps that fit a noisy sine curve.

Each test makes its step's computations through the same calls as the book's step (the book's
code itself is not copied here) and prints what it prints. The expected text is DeZero 0.0.13's
output for the step, with DeZero's ``Linear`` keeping its initial weights in float32, as it did
under NumPy 1 when the book was written (NumPy 2 promotes ``W * np.sqrt(1 / I)`` to float64,
which moves every printed loss after the ninth digit; tinygrad_ref's ``Linear`` honours its
``dtype`` as DeZero meant it).
"""

import re
from collections.abc import Sequence

import numpy as np

from tinygrad_ref.core import Array

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")

EXACT = 4 * float(np.finfo(np.float64).eps)
"""A printed number that is the same computation as the book's, rounded alike: a few units in
the last place of float64 (or, for a number printed with fewer digits, every printed digit)."""


def skeleton(text: str) -> str:
    """``text`` with each number replaced by ``#`` and each run of spaces by one space."""
    return re.sub(r" +", " ", NUMBER.sub("#", text))


def assert_prints(actual: str, expected: str, rtol: Sequence[float] | float = EXACT) -> None:
    """``actual`` is ``expected``, line by line: the same text around the numbers (runs of
    spaces count as one), and each number within ``rtol`` (one for every line, or one per
    line) of the expected one."""
    got, want = actual.splitlines(), expected.strip("\n").splitlines()
    assert len(got) == len(want), (
        f"{len(got)} lines printed, the book prints {len(want)}:\n{actual}"
    )
    tolerances = [rtol] * len(want) if isinstance(rtol, float) else list(rtol)
    for number, (line, book, tolerance) in enumerate(zip(got, want, tolerances, strict=True), 1):
        assert skeleton(line) == skeleton(book), f"line {number}: {line!r}, the book: {book!r}"
        ours = [float(n) for n in NUMBER.findall(line)]
        theirs = [float(n) for n in NUMBER.findall(book)]
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, err_msg=f"line {number}")


def noisy_sine() -> tuple[Array, Array]:
    """Steps 42 to 46's data: 100 points of ``sin(2 pi x)`` plus uniform noise, drawn after
    ``np.random.seed(0)``."""
    np.random.seed(0)  # noqa: NPY002
    x = np.random.rand(100, 1)  # noqa: NPY002
    y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)  # noqa: NPY002
    return x, y


LOSSES = """
variable(0.8165178492839196)
variable(0.24990280802148895)
variable(0.24609876581126014)
variable(0.2372159081431807)
variable(0.20793216413350174)
variable(0.12311905720649353)
variable(0.07888166506355147)
variable(0.07655073683421637)
variable(0.0763780308623822)
variable(0.07618764131185572)
"""
"""What steps 44, 45 and 46 print: the loss every 1,000 of 10,000 updates of the same network
from the same initial weights, by hand, as a Model, with an optimizer."""

TRAINING = 1e-3
"""The tolerance of a loss printed after some training, relative. The first loss, before any
update, is the book's within :data:`EXACT` (it prints the same digits): same data, same
initial weights drawn in the same order, same values. The updates then round differently
(tinygrad_ref's sigmoid is computed from ``exp(-|x|)``, DeZero's from ``tanh``, among others),
and the training amplifies rounding: DeZero's own losses move by up to 7e-4 (at 8,000 updates)
when its initial weights are rounded to float64 instead of float32, and tinygrad_ref's are
within 6e-5 of DeZero's."""


def training_losses(lines: int) -> tuple[str, list[float]]:
    """The first ``lines`` losses of :data:`LOSSES`, and the tolerance of each."""
    text = "\n".join(LOSSES.strip().splitlines()[:lines])
    return text, [EXACT] + [TRAINING] * (lines - 1)
