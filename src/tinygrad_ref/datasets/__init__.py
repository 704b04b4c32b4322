"""DeZero's datasets (``dezero.datasets``): a :class:`Dataset` gives ``(example, label)`` pairs
by index, each passed through its ``transform`` and ``target_transform``; a
:class:`~tinygrad_ref.dataloaders.DataLoader` batches them.

The toy datasets are DeZero's, drawn from NumPy's global random state in DeZero's order, so that
the book's steps print what the book prints: :func:`get_spiral` (and :class:`Spiral`) seeds it,
as DeZero's does; :class:`SinCurve` draws its noise from it unseeded. :class:`MNIST` and
:class:`Shakespear` read the files DeZero downloads, from DeZero's cache directory
(:func:`tinygrad_ref.utils.get_file`); tinygrad_ref downloads nothing.
"""

from __future__ import annotations

import gzip
import operator
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, SupportsIndex

import numpy as np
import numpy.typing as npt

from tinygrad_ref.datasets import transforms
from tinygrad_ref.datasets.transforms import Compose, Flatten, Normalize, ToFloat, Transform
from tinygrad_ref.utils import get_file


def _identity(x: Any) -> Any:
    return x


class Dataset:
    """Examples and their labels, indexed by an int (DeZero's ``Dataset``).

    A subclass sets ``self.data`` (an array whose first axis runs over the examples) and, if it
    has labels, ``self.label`` in :meth:`prepare`, which the constructor calls. ``dataset[i]``
    is ``(transform(data[i]), target_transform(label[i]))``, or ``(transform(data[i]), None)``
    without labels; ``len`` and iteration run over the examples."""

    data: npt.NDArray[Any]
    label: npt.NDArray[Any] | None

    def __init__(
        self,
        train: bool = True,
        transform: Transform | None = None,
        target_transform: Transform | None = None,
    ) -> None:
        for name, value in (("transform", transform), ("target_transform", target_transform)):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be a function of one example or None, got {value!r}")
        self.train = train
        self.transform: Transform = _identity if transform is None else transform
        self.target_transform: Transform = (
            _identity if target_transform is None else target_transform
        )
        self.label = None
        self.prepare()
        if getattr(self, "data", None) is None:
            raise TypeError(
                f"{type(self).__name__} holds no data: its prepare() must set self.data "
                "(subclass Dataset and define prepare)"
            )

    def prepare(self) -> None:
        """Set ``self.data`` and ``self.label``; called once, by the constructor."""

    def __getitem__(self, index: SupportsIndex) -> tuple[Any, Any]:
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise TypeError(
                f"a Dataset is indexed by one int, got {type(index).__name__}; a DataLoader "
                "makes batches"
            )
        i = operator.index(index)
        x = self.transform(self.data[i])
        if self.label is None:
            return x, None
        return x, self.target_transform(self.label[i])

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for i in range(len(self)):
            yield self[i]


# NOTE: DeZero's spirals: 100 points on each of 3 arms, in DeZero's order of random draws
_SPIRAL_POINTS, _SPIRAL_ARMS = 100, 3


def get_spiral(train: bool = True) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int_]]:
    """DeZero's three-armed spiral: 300 points ``x`` (float32, shape (300, 2)) and their arm
    ``t`` (0, 1 or 2), shuffled. It seeds NumPy's global random state (1984 for the training
    set, 2020 for the test set) and leaves it where DeZero's leaves it."""
    np.random.seed(1984 if train else 2020)  # noqa: NPY002  # NOTE: DeZero's seeds and order
    rate = np.arange(_SPIRAL_POINTS) / _SPIRAL_POINTS
    arm = np.arange(_SPIRAL_ARMS)[:, np.newaxis]
    noise = np.random.randn(_SPIRAL_ARMS, _SPIRAL_POINTS)  # noqa: NPY002
    theta = arm * 4.0 + 4.0 * rate + noise * 0.2
    radius = 1.0 * rate
    points = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=-1)
    x = points.reshape(-1, 2).astype(np.float32)
    t = np.repeat(np.arange(_SPIRAL_ARMS), _SPIRAL_POINTS)
    indices = np.random.permutation(_SPIRAL_ARMS * _SPIRAL_POINTS)  # noqa: NPY002
    return x[indices], t[indices]


class Spiral(Dataset):
    """:func:`get_spiral`'s points as a dataset: ``Spiral(train=False)`` is the test set."""

    def prepare(self) -> None:
        self.data, self.label = get_spiral(self.train)


class SinCurve(Dataset):
    """DeZero's sequence of 1,000 values over ``[0, 2 pi]``: ``sin(x)`` plus uniform noise in
    ``[-0.05, 0.05)`` for the training set, ``cos(x)`` for the test set (the noise is drawn from
    NumPy's global random state for both, as DeZero does). Example ``i`` is value ``i`` and its
    label value ``i + 1``, each of shape ``(1,)``: 999 pairs."""

    def prepare(self) -> None:
        x = np.linspace(0, 2 * np.pi, 1000)
        noise = np.random.uniform(-0.05, 0.05, size=x.shape)  # noqa: NPY002  # NOTE: DeZero's
        y = (np.sin(x) + noise) if self.train else np.cos(x)
        self.data = y[:-1, np.newaxis]
        self.label = y[1:, np.newaxis]


def _read_idx(path: str, magic: int, what: str) -> npt.NDArray[np.uint8]:
    """The uint8 array of a gzipped IDX file (MNIST's format): a big-endian header of the magic
    number (whose last byte is the number of axes) and the size of each axis, then the bytes."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a gzipped MNIST {what} file: {error}") from error
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise ValueError(f"{path} is not an MNIST {what} file: {len(raw)} bytes, no header")
    found, *shape = (int(n) for n in np.frombuffer(raw, ">i4", count=1 + ndim))
    if found != magic:
        raise ValueError(
            f"{path} is not an MNIST {what} file: it starts with {found:#010x}, not {magic:#010x}"
        )
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise ValueError(
            f"{path}: its header gives shape {tuple(shape)} ({size} bytes), but {len(raw) - header}"
            " bytes follow"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


class MNIST(Dataset):
    """The MNIST digits (DeZero's ``MNIST``): images ``data`` of shape ``(N, 1, 28, 28)`` and
    labels ``label`` ``(N,)``, both uint8; by default each image is flattened to 784 float32
    values in ``[0, 1]``.

    It reads the four files DeZero downloads (``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
    ``t10k-labels-idx1-ubyte.gz``, gzipped IDX files) from :data:`tinygrad_ref.utils.cache_dir`
    (``~/.dezero``); a missing one is a ``FileNotFoundError`` saying where to get it and where to
    put it, a malformed one a ``ValueError`` naming it."""

    url: ClassVar[str] = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    """Where DeZero downloads the files from (a mirror of Yann LeCun's page)."""
    train_files: ClassVar[tuple[str, str]] = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    )
    test_files: ClassVar[tuple[str, str]] = (
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )

    def __init__(
        self,
        train: bool = True,
        transform: Transform | None = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)]),  # noqa: B008
        target_transform: Transform | None = None,
    ) -> None:
        super().__init__(train, transform, target_transform)

    def prepare(self) -> None:
        images, labels = self.train_files if self.train else self.test_files
        self.data = self._load_data(get_file(self.url + images))
        self.label = self._load_label(get_file(self.url + labels))
        if len(self.data) != len(self.label):
            raise ValueError(
                f"MNIST: {images} holds {len(self.data)} images, {labels} {len(self.label)} labels"
            )

    def _load_data(self, path: str) -> npt.NDArray[np.uint8]:
        images = _read_idx(path, 0x00000803, "images")
        return images.reshape(len(images), 1, *images.shape[1:])

    def _load_label(self, path: str) -> npt.NDArray[np.uint8]:
        return _read_idx(path, 0x00000801, "labels")

    @staticmethod
    def labels() -> dict[int, str]:
        """The name of each class: its digit."""
        return {i: str(i) for i in range(10)}


class Shakespear(Dataset):
    """Karpathy's tiny Shakespeare as a sequence of character ids (DeZero's ``Shakespear``, its
    spelling kept): example ``i`` is the id of character ``i``, its label the id of the next
    one; ``char_to_id`` and ``id_to_char`` give ids in order of first appearance. It reads
    ``shakespear.txt`` from :data:`tinygrad_ref.utils.cache_dir`, as DeZero saves it."""

    url: ClassVar[str] = (
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
    )
    char_to_id: dict[str, int]
    id_to_char: dict[int, str]

    def prepare(self) -> None:
        with open(get_file(self.url, "shakespear.txt"), encoding="utf-8") as f:
            text = f.read()
        self.char_to_id = {}
        for char in text:
            self.char_to_id.setdefault(char, len(self.char_to_id))
        self.id_to_char = {i: char for char, i in self.char_to_id.items()}
        indices = np.array([self.char_to_id[char] for char in text], dtype=np.int_)
        self.data = indices[:-1]
        self.label = indices[1:]


_LEFT_OUT = {
    "CIFAR10": "it reads a download of about 170 MB that no step of the book uses",
    "CIFAR100": "it reads a download of about 170 MB that no step of the book uses",
    "ImageNet": "it downloads its labels; the book's step 58 uses them with the pretrained VGG16",
    "load_cache_npz": "DeZero's cache of CIFAR's arrays, which tinygrad_ref does not read",
    "save_cache_npz": "DeZero's cache of CIFAR's arrays, which tinygrad_ref does not read",
}
"""DeZero's datasets and helpers that tinygrad_ref leaves out, and why."""

if not TYPE_CHECKING:
    # NOTE: at run time only, so that type checkers still flag a misspelt name here

    def __getattr__(name: str) -> NoReturn:
        """Say why one of DeZero's datasets is not here."""
        reason = f": DeZero's {name} is left out ({_LEFT_OUT[name]})" if name in _LEFT_OUT else ""
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}{reason}")


__all__ = [
    "MNIST",
    "Dataset",
    "Shakespear",
    "SinCurve",
    "Spiral",
    "get_spiral",
    "transforms",
]
