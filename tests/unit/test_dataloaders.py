"""tinygrad_ref.dataloaders: DeZero's DataLoader and SeqDataLoader, their batches and the order
in which they draw from NumPy's global random state."""

import numpy as np
import pytest

from tinygrad_ref import DataLoader, SeqDataLoader, dataloaders
from tinygrad_ref.datasets import Dataset


class Numbers(Dataset):
    """Example ``i`` is ``[i, -i]``, its label ``10 i``."""

    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__()

    def prepare(self) -> None:
        self.data = np.stack([np.arange(self.size), -np.arange(self.size)], axis=1)
        self.label = 10 * np.arange(self.size)


def test_batches_in_order_with_a_smaller_last_one() -> None:
    loader = DataLoader(Numbers(7), 3, shuffle=False)
    assert len(loader) == loader.max_iter == 3
    batches = list(loader)
    assert [x[:, 0].tolist() for x, _ in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [t.tolist() for _, t in batches] == [[0, 10, 20], [30, 40, 50], [60]]
    assert batches[0][0].shape == (3, 2)
    again = list(loader)
    assert [t.tolist() for _, t in again] == [[0, 10, 20], [30, 40, 50], [60]]


def test_shuffling_draws_a_permutation_when_made_and_at_the_end_of_each_epoch() -> None:
    np.random.seed(3)  # noqa: NPY002
    orders = [np.random.permutation(10) for _ in range(3)]  # noqa: NPY002
    np.random.seed(3)  # noqa: NPY002
    loader = DataLoader(Numbers(10), 4)
    for order in orders[:2]:
        seen = np.concatenate([t // 10 for _, t in loader])
        np.testing.assert_array_equal(seen, order)
    np.testing.assert_array_equal(loader.index, orders[2])


def test_a_loader_is_its_own_iterator_and_resumes_where_a_loop_stopped() -> None:
    loader = DataLoader(Numbers(6), 2, shuffle=False)
    assert iter(loader) is loader
    _, t = loader.next()
    assert t.tolist() == [0, 10]
    assert [t.tolist() for _, t in loader] == [[20, 30], [40, 50]]
    _, t = next(loader)
    assert t.tolist() == [0, 10]
    loader.reset()
    assert loader.iteration == 0
    assert next(loader)[1].tolist() == [0, 10]


def test_a_list_of_pairs_is_a_dataset_too_and_none_labels_stay_none() -> None:
    pairs = [(np.array([i, i]), i) for i in range(4)]
    x, t = next(DataLoader(pairs, 4, shuffle=False))
    assert x.shape == (4, 2)
    assert t.tolist() == [0, 1, 2, 3]

    class Unlabelled(Dataset):
        def prepare(self) -> None:
            self.data = np.arange(3.0)

    x, t = next(DataLoader(Unlabelled(), 3, shuffle=False))
    assert x.tolist() == [0.0, 1.0, 2.0]
    assert t.tolist() == [None, None, None]


def test_gpu_changes_nothing() -> None:
    loader = DataLoader(Numbers(2), 2, shuffle=False, gpu=True)
    loader.to_gpu()
    loader.to_cpu()
    x, _ = next(loader)
    assert isinstance(x, np.ndarray)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True, None])
def test_batch_size_is_a_positive_int(batch_size: object) -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive int, got"):
        DataLoader(Numbers(3), batch_size)  # type: ignore[arg-type]  # NOTE: what is checked


def test_seq_data_loader_walks_along_equal_stretches_of_the_sequence() -> None:
    loader = SeqDataLoader(Numbers(10), batch_size=3)
    assert not loader.shuffle
    rows = [t // 10 for _, t in loader]
    # NOTE: 10 // 3 = 3 per stretch: rows start at 0, 3 and 6, and an epoch has ceil(10 / 3)
    assert [r.tolist() for r in rows] == [[0, 3, 6], [1, 4, 7], [2, 5, 8], [3, 6, 9]]
    x, _ = next(loader)
    assert x.tolist() == [[0, 0], [3, -3], [6, -6]]
    with pytest.raises(ValueError, match="batch_size 11 exceeds the sequence's length 10"):
        SeqDataLoader(Numbers(10), 11)


def test_the_modules_names() -> None:
    assert dataloaders.DataLoader is DataLoader
    assert issubclass(SeqDataLoader, DataLoader)
