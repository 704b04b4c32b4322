"""DeZero's data loaders (``dezero.dataloaders``): a :class:`DataLoader` cuts a dataset into
mini-batches, ``(x, t)`` pairs of arrays stacked from its examples and labels, one epoch per
loop.

As DeZero's, a loader is its own iterator: ``for x, t in loader`` runs from where the previous
loop stopped to the end of the epoch, and the end of an epoch resets it (a new order of the
examples when it shuffles, drawn with ``np.random.permutation`` from NumPy's global random
state, at the moments DeZero draws it: when the loader is made and at the end of each epoch).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt


class Examples(Protocol):
    """What a loader batches: a sized collection of ``(example, label)`` pairs indexed by int,
    such as a :class:`~tinygrad_ref.datasets.Dataset` or a list of pairs."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> tuple[Any, Any]: ...


def _batch_size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"batch_size must be a positive int, got {value!r}")
    return int(value)


class DataLoader:
    """Mini-batches of ``batch_size`` examples of ``dataset`` (the last one smaller when the
    size does not divide), in a new random order each epoch when ``shuffle``, else in order.

    Each batch is ``(x, t)``: ``x = np.array([example, ...])`` and ``t = np.array([label,
    ...])``. ``gpu`` and :meth:`to_gpu` are kept from DeZero and change nothing: tinygrad_ref
    computes with NumPy on the CPU (as :meth:`tinygrad_ref.layers.Layer.to_gpu`)."""

    def __init__(
        self, dataset: Examples, batch_size: int, shuffle: bool = True, gpu: bool = False
    ) -> None:
        self.dataset = dataset
        self.batch_size = _batch_size(batch_size)
        self.shuffle = shuffle
        self.data_size = len(dataset)
        self.max_iter = math.ceil(self.data_size / self.batch_size)
        """The number of batches in an epoch."""
        self.gpu = gpu
        self.iteration = 0
        self.index: npt.NDArray[np.int_] = np.arange(self.data_size)
        self.reset()

    def reset(self) -> None:
        """Start a new epoch: the first batch next, in a new random order if shuffling."""
        self.iteration = 0
        if self.shuffle:
            self.index = np.random.permutation(len(self.dataset))  # noqa: NPY002  # NOTE: DeZero's
        else:
            self.index = np.arange(len(self.dataset))

    def __iter__(self) -> DataLoader:
        return self

    def _batch(self, indices: npt.ArrayLike) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        examples = [self.dataset[int(i)] for i in np.asarray(indices)]
        x = np.array([example[0] for example in examples])
        t = np.array([example[1] for example in examples])
        self.iteration += 1
        return x, t

    def __next__(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        start = self.iteration * self.batch_size
        return self._batch(self.index[start : start + self.batch_size])

    def next(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """The next batch (DeZero's name for ``next(loader)``)."""
        return self.__next__()

    def __len__(self) -> int:
        """The number of batches in an epoch, :attr:`max_iter`."""
        return self.max_iter

    def to_cpu(self) -> None:
        """Does nothing: the batches are NumPy arrays."""

    def to_gpu(self) -> None:
        """Does nothing: tinygrad_ref has no GPU backend (kept from DeZero, whose loader then
        makes CuPy batches)."""


class SeqDataLoader(DataLoader):
    """Batches of a sequence for truncated backpropagation through time (DeZero's
    ``SeqDataLoader``): the sequence is cut into ``batch_size`` equal stretches, and batch ``k``
    holds example ``k`` of each stretch (indices ``i * (len // batch_size) + k``), so that row
    ``i`` of consecutive batches walks along stretch ``i``. An epoch has
    ``ceil(len / batch_size)`` batches; ``batch_size`` may not exceed the sequence's length
    (each stretch would be empty)."""

    def __init__(self, dataset: Examples, batch_size: int, gpu: bool = False) -> None:
        super().__init__(dataset, batch_size, shuffle=False, gpu=gpu)
        if self.batch_size > self.data_size:
            raise ValueError(
                f"SeqDataLoader: batch_size {self.batch_size} exceeds the sequence's length "
                f"{self.data_size}"
            )

    def __next__(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        jump = self.data_size // self.batch_size
        indices = (np.arange(self.batch_size) * jump + self.iteration) % self.data_size
        return self._batch(indices)


__all__ = ["DataLoader", "Examples", "SeqDataLoader"]
