"""What the tests of the book's steps share: the text a step prints, compared with the book's,
and the data of the steps that fit a noisy sine curve.

Each test makes its step's computations through the same calls as the book's step (the book's
code itself is not copied here) and prints what it prints. The expected text is DeZero 0.0.13's
output for the step, with DeZero's ``Linear`` keeping its initial weights in float32, as it did
under NumPy 1 when the book was written (NumPy 2 promotes ``W * np.sqrt(1 / I)`` to float64,
which moves every printed loss after the ninth digit; tinygrad_ref's ``Linear`` honours its
``dtype`` as DeZero meant it).
"""

import gzip
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

import tinygrad_ref.functions as F
from tinygrad_ref import DataLoader, Model, Operand, Variable, no_grad
from tinygrad_ref.core import Array
from tinygrad_ref.optimizers import Optimizer

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")

EXACT = 4 * float(np.finfo(np.float64).eps)
"""A printed number that is the same computation as the book's, rounded alike: a few units in
the last place of float64 (or, for a number printed with fewer digits, every printed digit)."""


def expected(name: str) -> str:
    """The text of ``expected/<name>``: what DeZero prints for a step (see the module's
    docstring), kept in a file when it is long."""
    return (Path(__file__).parent / "expected" / name).read_text()


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


def write_idx(path: Path, array: npt.NDArray[np.uint8]) -> None:
    """``array`` as a gzipped IDX file, the format of the MNIST files DeZero downloads: the
    magic number ``0x0000080N`` (uint8 data, N axes), each axis's size as a big-endian int32,
    then the bytes."""
    header = np.array([0x800 + array.ndim, *array.shape], dtype=">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


TINY_MNIST = {"train": 200, "t10k": 50}
"""How many digits each of :func:`write_tiny_mnist`'s two sets holds."""


def write_tiny_mnist(directory: Path) -> None:
    """The four MNIST files (``train-images-idx3-ubyte.gz``, ...) in ``directory``, holding
    :data:`TINY_MNIST`'s numbers of 28x28 images: each digit ``k`` a bright horizontal band at
    rows ``2k + 3`` to ``2k + 6`` over noise, so that a network learns them in a few updates.
    Drawn from a generator of its own: NumPy's global random state is left alone."""
    rng = np.random.default_rng(51)
    for prefix, count in TINY_MNIST.items():
        labels = rng.integers(0, 10, size=count).astype(np.uint8)
        images = rng.integers(0, 60, size=(count, 28, 28))
        rows = np.arange(28)
        band = (rows >= 2 * labels[:, None] + 3) & (rows < 2 * labels[:, None] + 7)
        images[:, :, 4:24] += 180 * band[:, :, None]
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)


def fit(
    model: Model, optimizer: Optimizer, x: npt.NDArray[Any], t: npt.NDArray[Any]
) -> tuple[Variable, Variable]:
    """The book's update on one mini-batch (steps 48 to 53): ``model``'s scores ``y`` for
    ``x``, their softmax cross entropy ``loss`` with the labels ``t``, backpropagated from
    cleared gradients, and one step of ``optimizer``; returns ``(y, loss)``."""
    y = model(x)
    loss = F.softmax_cross_entropy(y, t)
    model.cleargrads()
    loss.backward()
    optimizer.update()
    return y, loss


def epochs_by_hand(
    model: Model,
    optimizer: Optimizer,
    data_size: int,
    batch: Callable[[npt.NDArray[np.int_]], tuple[npt.NDArray[Any], npt.NDArray[Any]]],
    epochs: int,
) -> None:
    """Steps 48 and 49's loop: each epoch draws a permutation of the ``data_size`` examples
    (``np.random.permutation``, the book's call), cuts it into mini-batches of 30 indices,
    fits each (``batch(indices)`` gives their examples and labels), and prints the epoch's
    mean loss, as the book does."""
    batch_size = 30
    max_iter = math.ceil(data_size / batch_size)
    for epoch in range(epochs):
        index = np.random.permutation(data_size)  # noqa: NPY002  # NOTE: the book's call
        sum_loss = 0.0
        for i in range(max_iter):
            x, t = batch(index[i * batch_size : (i + 1) * batch_size])
            _, loss = fit(model, optimizer, x, t)
            sum_loss += float(loss.data) * len(t)
        print("epoch %d, loss %.2f" % (epoch + 1, sum_loss / data_size))  # noqa: UP031


def mean_training_loss(model: Model, optimizer: Optimizer, loader: DataLoader) -> float:
    """Steps 52 and 53's epoch: :func:`fit` on every batch of ``loader``, and the mean loss
    over its examples."""
    sum_loss = 0.0
    for x, t in loader:
        _, loss = fit(model, optimizer, x, t)
        sum_loss += float(loss.data) * len(t)
    return sum_loss / loader.data_size


def classify(
    model: Model,
    optimizer: Optimizer,
    train_loader: DataLoader,
    test_loader: DataLoader,
    epochs: int,
) -> None:
    """Steps 50 and 51's loop: each epoch trains ``model`` on every batch of ``train_loader``,
    then measures it on ``test_loader`` without a graph, and prints the mean loss and accuracy
    of each, as the book does."""
    for epoch in range(epochs):
        sum_loss, sum_acc = 0.0, 0.0
        for x, t in train_loader:
            y, loss = fit(model, optimizer, x, t)
            acc = F.accuracy(y, t)
            sum_loss += float(loss.data) * len(t)
            sum_acc += float(acc.data) * len(t)
        print(f"epoch: {epoch + 1}")
        size = train_loader.data_size
        print(f"train loss: {sum_loss / size:.4f}, accuracy: {sum_acc / size:.4f}")
        sum_loss, sum_acc = 0.0, 0.0
        with no_grad():
            for x, t in test_loader:
                y = model(x)
                loss = F.softmax_cross_entropy(y, t)
                acc = F.accuracy(y, t)
                sum_loss += float(loss.data) * len(t)
                sum_acc += float(acc.data) * len(t)
        size = test_loader.data_size
        print(f"test loss: {sum_loss / size:.4f}, accuracy: {sum_acc / size:.4f}")


class Recurrent(Protocol):
    """Steps 59 and 60's models: a layer with a state to forget."""

    def __call__(self, x: Operand, /) -> Variable: ...
    def reset_state(self) -> None: ...
    def cleargrads(self) -> None: ...


def predict_the_next_value(
    model: Recurrent,
    optimizer: Optimizer,
    batches: Iterable[tuple[Array, Array]],
    seqlen: int,
    epochs: int,
) -> None:
    """Steps 59 and 60's loop: each epoch runs ``model`` along ``batches`` from a fresh
    state, adds up the losses, and every 30 batches (and at batch ``seqlen``) backpropagates
    through them, cuts the graph there (truncated backpropagation through time) and updates;
    it prints the epoch's loss, as the book does (the losses since the last cut, over every
    batch of the epoch)."""
    bptt_length = 30
    for epoch in range(epochs):
        model.reset_state()
        loss: Variable | int = 0
        count = 0
        for x, t in batches:
            y = model(x)
            loss += F.mean_squared_error(y, t)
            count += 1
            if count % bptt_length == 0 or count == seqlen:
                assert isinstance(loss, Variable)
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
        assert isinstance(loss, Variable)
        print("| epoch %d | loss %f" % (epoch + 1, float(loss.data) / count))  # noqa: UP031
