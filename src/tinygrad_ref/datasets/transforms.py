"""DeZero's data transforms (``dezero.transforms``) for NumPy arrays: callables a
:class:`~tinygrad_ref.datasets.Dataset` applies to each example (``transform``) or label
(``target_transform``), chained by :class:`Compose`.

They live here, not in :mod:`tinygrad_ref.transforms`, which holds the functional transforms
(``grad``, ``jvp``, ...). DeZero's transforms of PIL images (``Convert``, ``Resize``,
``CenterCrop``, ``ToArray``, ``ToPIL``, ``RandomHorizontalFlip``) are not here: they need
Pillow, which tinygrad_ref does not depend on, and none of the book's steps uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import numpy.typing as npt

Transform = Callable[[Any], Any]
"""A transform: a function of one example (an array) that returns the transformed one."""


class Compose:
    """The ``transforms`` applied in turn, first to last; none gives the input back."""

    def __init__(self, transforms: Sequence[Transform] = ()) -> None:
        for i, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(f"Compose takes callables; item {i} is {transform!r}")
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img


def _per_channel(
    value: float | Sequence[float] | npt.NDArray[Any], array: npt.NDArray[Any], name: str
) -> Any:
    """A scalar as it is; a sequence of one value per channel (axis 0) as an array shaped to
    broadcast against ``array``, in its dtype if it is a floating one."""
    if np.ndim(value) == 0:
        return value
    dtype = array.dtype if array.dtype.kind == "f" else np.float64
    values = np.asarray(value, dtype=dtype).reshape(-1)
    if array.ndim == 0 or len(values) not in (1, array.shape[0]):
        raise ValueError(
            f"Normalize: {name} has {len(values)} values, one per channel (axis 0) of an array "
            f"of shape {array.shape} needs {array.shape[0] if array.ndim else 'none'}"
        )
    return values.reshape((-1,) + (1,) * (array.ndim - 1))


class Normalize:
    """``(array - mean) / std``; ``mean`` and ``std`` are numbers, or sequences of one value per
    channel (the array's first axis, as ``(C, H, W)`` images have it) or of one value for all.

    A floating array keeps its dtype (DeZero's float32 images stay float32); an integer one
    gives float64 (DeZero would cast per-channel values to the integer dtype)."""

    def __init__(
        self,
        mean: float | Sequence[float] | npt.NDArray[Any] = 0,
        std: float | Sequence[float] | npt.NDArray[Any] = 1,
    ) -> None:
        self.mean = mean
        self.std = std

    def __call__(self, array: npt.ArrayLike) -> npt.NDArray[Any]:
        array = np.asarray(array)
        mean = _per_channel(self.mean, array, "mean")
        std = _per_channel(self.std, array, "std")
        result: npt.NDArray[Any] = np.asarray((array - mean) / std)
        return result


class Flatten:
    """The array as one axis (``array.flatten()``): an MNIST image ``(1, 28, 28)`` becomes
    ``(784,)``."""

    def __call__(self, array: npt.ArrayLike) -> npt.NDArray[Any]:
        return np.asarray(array).flatten()


class AsType:
    """The array cast to ``dtype`` (float32 by default)."""

    def __init__(self, dtype: npt.DTypeLike = np.float32) -> None:
        self.dtype = np.dtype(dtype)

    def __call__(self, array: npt.ArrayLike) -> npt.NDArray[Any]:
        return np.asarray(array).astype(self.dtype)


ToFloat = AsType
"""DeZero's name for :class:`AsType`, float32 by default."""


class ToInt(AsType):
    """The array cast to an integer ``dtype`` (NumPy's default int by default)."""

    def __init__(self, dtype: npt.DTypeLike = int) -> None:
        super().__init__(dtype)


_PIL_TRANSFORMS = frozenset(
    {"CenterCrop", "Convert", "RandomHorizontalFlip", "Resize", "ToArray", "ToPIL"}
)
"""DeZero's transforms of PIL images, left out (see the module's docstring)."""

if not TYPE_CHECKING:
    # NOTE: at run time only, so that type checkers still flag a misspelt name here

    def __getattr__(name: str) -> NoReturn:
        """Say why one of DeZero's transforms of PIL images is not here."""
        reason = ""
        if name in _PIL_TRANSFORMS:
            reason = (
                f": DeZero's {name} transforms PIL images, which need Pillow (see the module's "
                "docstring); convert an image with np.asarray(image) first"
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}{reason}")


__all__ = ["AsType", "Compose", "Flatten", "Normalize", "ToFloat", "ToInt", "Transform"]
