"""tinygrad_ref.datasets: DeZero's datasets, their random order, and MNIST read from local files
in the format DeZero downloads."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ref import datasets, utils
from tinygrad_ref.datasets import MNIST, Dataset, Shakespear, SinCurve, Spiral, get_spiral

from ..book.book import TINY_MNIST, write_idx, write_tiny_mnist


class Squares(Dataset):
    def prepare(self) -> None:
        self.data = np.arange(5.0)
        self.label = self.data**2


class Unlabelled(Dataset):
    def prepare(self) -> None:
        self.data = np.arange(3)


def test_a_dataset_gives_examples_and_labels_through_its_transforms() -> None:
    plain = Squares()
    assert len(plain) == 5
    assert plain[2] == (2.0, 4.0)
    assert plain[np.int64(-1)] == (4.0, 16.0)
    shifted = Squares(transform=lambda x: x + 10, target_transform=lambda t: -t)
    assert shifted[3] == (13.0, -9.0)
    assert list(shifted) == [(10.0 + i, -float(i * i)) for i in range(5)]
    assert Unlabelled()[1] == (1, None)
    assert Squares(train=False).train is False


def test_a_dataset_refuses_what_it_cannot_index_and_a_prepare_that_sets_no_data() -> None:
    with pytest.raises(TypeError, match="a Dataset is indexed by one int, got slice"):
        Squares()[1:3]  # type: ignore[index]  # NOTE: what the test checks
    with pytest.raises(TypeError, match="got bool"):
        Squares()[True]
    with pytest.raises(IndexError):
        Squares()[5]
    with pytest.raises(TypeError, match=r"Dataset holds no data: its prepare\(\) must set"):
        Dataset()
    with pytest.raises(TypeError, match="transform must be a function of one example"):
        Squares(transform=3)  # type: ignore[arg-type]  # NOTE: what the test checks


def test_the_datasets_left_out_say_why() -> None:
    with pytest.raises(AttributeError, match=r"'CIFAR10': DeZero's CIFAR10 is left out \(it reads"):
        getattr(datasets, "CIFAR10")  # noqa: B009  # NOTE: a name mypy would reject
    with pytest.raises(AttributeError, match=r"'ImageNet': .* pretrained VGG16\)$"):
        getattr(datasets, "ImageNet")  # noqa: B009
    with pytest.raises(AttributeError, match=r"has no attribute 'CIFAR'$"):
        getattr(datasets, "CIFAR")  # noqa: B009


# NOTE: DeZero 0.0.13's get_spiral(True) and get_spiral(False), printed: the first three points,
# the first eight labels, the last point, and np.random.rand() drawn right after.
DEZERO_SPIRALS = {
    True: (
        [[-0.13981389, -0.0072165737], [0.37049392, 0.5820947], [0.1374263, -0.17179643]],
        [1, 1, 2, 0, 1, 2, 0, 0],
        [0.025064953, 0.07597202],
        0.8646111339647672,
    ),
    False: (
        [[0.13246453, 0.13620993], [-0.31427157, 0.24745378], [-0.4163083, -0.7525207]],
        [0, 1, 0, 1, 2, 2, 1, 2],
        [-0.166629, 0.033686437],
        0.4325824939257069,
    ),
}


@pytest.mark.parametrize("train", [True, False])
def test_get_spiral_is_dezeros_and_leaves_the_random_state_where_dezero_does(
    train: bool,
) -> None:
    first, labels, last, next_draw = DEZERO_SPIRALS[train]
    x, t = get_spiral(train)
    assert x.shape == (300, 2)
    assert x.dtype == np.float32
    assert t.dtype == np.int_
    np.testing.assert_array_equal(x[:3], np.array(first, dtype=np.float32))
    np.testing.assert_array_equal(x[-1], np.array(last, dtype=np.float32))
    np.testing.assert_array_equal(t[:8], labels)
    assert np.random.rand() == next_draw  # noqa: NPY002
    assert np.bincount(t).tolist() == [100, 100, 100]
    assert np.all(np.hypot(x[:, 0], x[:, 1]) < 1)


def test_spiral_holds_get_spirals_points() -> None:
    x, t = get_spiral(False)
    test_set = Spiral(train=False)
    np.testing.assert_array_equal(test_set.data, x)
    assert test_set.label is not None
    np.testing.assert_array_equal(test_set.label, t)
    point, label = test_set[0]
    np.testing.assert_array_equal(point, x[0])
    assert label == t[0]


@pytest.mark.parametrize("train", [True, False])
def test_sin_curve_pairs_each_value_with_the_next(train: bool) -> None:
    np.random.seed(5)  # noqa: NPY002
    curve = SinCurve(train=train)
    after = np.random.rand()  # noqa: NPY002
    np.random.seed(5)  # noqa: NPY002
    noise = np.random.uniform(-0.05, 0.05, size=1000)  # noqa: NPY002
    assert np.random.rand() == after  # noqa: NPY002  # NOTE: the noise is drawn for both sets
    x = np.linspace(0, 2 * np.pi, 1000)
    y = np.sin(x) + noise if train else np.cos(x)
    assert len(curve) == 999
    assert curve.label is not None
    assert curve.data.shape == curve.label.shape == (999, 1)
    assert curve.data.dtype == np.float64
    np.testing.assert_array_equal(curve.data[:, 0], y[:-1])
    np.testing.assert_array_equal(curve.label[:, 0], y[1:])
    value, label = curve[10]
    assert value.shape == label.shape == (1,)


def test_mnist_reads_dezeros_files_and_scales_each_image_to_784_floats(dezero_cache: Path) -> None:
    write_tiny_mnist(dezero_cache)
    train_set, test_set = MNIST(train=True), MNIST(train=False)
    assert len(train_set) == TINY_MNIST["train"]
    assert len(test_set) == TINY_MNIST["t10k"]
    assert train_set.data.shape == (TINY_MNIST["train"], 1, 28, 28)
    assert train_set.data.dtype == np.uint8
    assert train_set.label is not None
    assert train_set.label.dtype == np.uint8
    with gzip.open(dezero_cache / "train-images-idx3-ubyte.gz") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    np.testing.assert_array_equal(train_set.data.reshape(-1), raw)
    image, label = train_set[7]
    assert image.shape == (784,)
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, train_set.data[7].reshape(-1).astype(np.float32) / 255)
    assert label == train_set.label[7]
    raw_image, _ = MNIST(transform=None)[7]
    assert raw_image.shape == (1, 28, 28)
    assert MNIST.labels() == {i: str(i) for i in range(10)}


def test_mnist_says_which_file_to_put_where(dezero_cache: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        MNIST(train=False)
    message = str(error.value)
    assert str(dezero_cache / "t10k-images-idx3-ubyte.gz") in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in message
    assert "downloads nothing" in message


def test_mnist_refuses_files_that_are_not_in_its_format(dezero_cache: Path) -> None:
    write_tiny_mnist(dezero_cache)
    images = dezero_cache / "train-images-idx3-ubyte.gz"
    labels = dezero_cache / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"holds 200 images, train-labels-idx1-ubyte\.gz 3 labels"):
        MNIST()
    write_idx(images, np.zeros((2, 28), np.uint8))
    with pytest.raises(ValueError, match="starts with 0x00000802, not 0x00000803"):
        MNIST()
    with gzip.open(images, "wb") as f:
        f.write(np.array([0x803, 2, 28, 28], ">i4").tobytes() + bytes(100))
    with pytest.raises(
        ValueError, match=r"header gives shape \(2, 28, 28\) \(1568 bytes\), but 100"
    ):
        MNIST()
    with gzip.open(images, "wb") as f:
        f.write(b"\x00\x00")
    with pytest.raises(ValueError, match="2 bytes, no header"):
        MNIST()
    images.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="is not a gzipped MNIST images file"):
        MNIST()


def test_get_file_finds_a_file_in_the_cache_and_downloads_nothing(dezero_cache: Path) -> None:
    (dezero_cache / "zebra.jpg").write_bytes(b"")
    (dezero_cache / "other.txt").write_text("")
    assert utils.get_file("https://example.org/images/zebra.jpg") == str(dezero_cache / "zebra.jpg")
    assert utils.get_file("https://example.org/a", "other.txt") == str(dezero_cache / "other.txt")
    with pytest.raises(FileNotFoundError, match=r"Download https://example.org/b.txt and save"):
        utils.get_file("https://example.org/b.txt")
    with pytest.raises(ValueError, match="names no file; pass file_name"):
        utils.get_file("https://example.org/")
    assert not (dezero_cache / "b.txt").exists()


def test_shakespear_gives_each_character_and_the_next_as_ids(dezero_cache: Path) -> None:
    (dezero_cache / "shakespear.txt").write_text("to be, or not to be", encoding="utf-8")
    text = Shakespear()
    assert text.char_to_id == {"t": 0, "o": 1, " ": 2, "b": 3, "e": 4, ",": 5, "r": 6, "n": 7}
    assert text.id_to_char[3] == "b"
    assert len(text) == 18
    decoded = "".join(text.id_to_char[int(i)] for i in text.data)
    assert decoded == "to be, or not to b"
    assert text[0] == (0, 1)
