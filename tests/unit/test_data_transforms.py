"""tinygrad_ref.datasets.transforms: DeZero's transforms of NumPy arrays."""

import numpy as np
import pytest

from tinygrad_ref import transforms as functional
from tinygrad_ref.datasets import transforms
from tinygrad_ref.datasets.transforms import (
    AsType,
    Compose,
    Flatten,
    Normalize,
    ToFloat,
    ToInt,
)


def test_compose_applies_its_transforms_first_to_last() -> None:
    double_then_shift = Compose([lambda x: 2 * x, lambda x: x + 1])
    assert double_then_shift(3) == 7
    assert Compose()(5) == 5
    with pytest.raises(TypeError, match="Compose takes callables; item 1 is 3"):
        Compose([Flatten(), 3])  # type: ignore[list-item]  # NOTE: what the test checks


def test_mnists_transform_flattens_and_scales_an_image_to_float32() -> None:
    image = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    x = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])(image)
    assert x.shape == (12,)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, np.arange(12, dtype=np.float32) / np.float32(255))


def test_normalize_takes_numbers_or_one_value_per_channel() -> None:
    image = np.ones((3, 2, 2), dtype=np.float32)
    per_channel = Normalize(mean=[0.0, 1.0, 2.0], std=[1.0, 2.0, 4.0])(image)
    assert per_channel.dtype == np.float32
    np.testing.assert_array_equal(per_channel[:, 0, 0], [1.0, 0.0, -0.25])
    np.testing.assert_array_equal(Normalize(mean=[0.5], std=0.5)(image), np.ones_like(image))
    np.testing.assert_array_equal(Normalize()(image), image)
    integers = Normalize(mean=[1, 2, 3])(np.full((3, 1), 4, dtype=np.uint8))
    assert integers.dtype == np.float64
    np.testing.assert_array_equal(integers[:, 0], [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"mean has 2 values, one per channel \(axis 0\) of an"):
        Normalize(mean=[0.0, 1.0])(image)
    with pytest.raises(ValueError, match="std has 3 values"):
        Normalize(std=[1.0, 2.0, 3.0])(np.float64(2.0))


def test_astype_and_its_names() -> None:
    x = np.array([[1.7, -2.2]])
    assert AsType()(x).dtype == np.float32
    assert AsType(np.float16)(x).dtype == np.float16
    assert ToFloat is AsType
    as_int = ToInt()(x)
    assert as_int.dtype == np.dtype(int)
    assert as_int.tolist() == [[1, -2]]
    assert Flatten()(x).shape == (2,)


def test_the_functional_transforms_point_dezero_readers_here() -> None:
    for name in ("Compose", "Normalize", "ToInt"):
        with pytest.raises(AttributeError, match=rf"tinygrad_ref\.datasets\.transforms\.{name}$"):
            getattr(functional, name)
        assert getattr(transforms, name) is not None
    missing = "nothing"
    with pytest.raises(AttributeError, match=r"has no attribute 'nothing'$"):
        getattr(functional, missing)


def test_the_transforms_of_pil_images_are_left_out_with_the_reason() -> None:
    with pytest.raises(AttributeError, match=r"'Resize': DeZero's Resize transforms PIL images"):
        getattr(transforms, "Resize")  # noqa: B009  # NOTE: a name mypy would reject
    with pytest.raises(AttributeError, match=r"has no attribute 'Resized'$"):
        getattr(transforms, "Resized")  # noqa: B009
