"""DeZero-style framework code as a user writes it: mypy --strict checks this file, pytest runs
it. Each ``assert_type`` fails the type check if the framework's annotations change what a
user's own strict code sees."""

from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import tinygrad_ref
import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import (
    DataLoader,
    Dataset,
    Layer,
    Model,
    Parameter,
    SeqDataLoader,
    Variable,
    optimizers,
)
from tinygrad_ref.datasets import SinCurve, get_spiral
from tinygrad_ref.datasets.transforms import AsType, Compose, Normalize
from tinygrad_ref.models import MLP


class TwoLayerNet(Model):
    def __init__(self, hidden_size: int, out_size: int) -> None:
        super().__init__()
        self.l1 = L.Linear(hidden_size)
        self.l2 = L.Linear(out_size)

    def forward(self, x: Variable) -> Variable:
        return self.l2(F.sigmoid(self.l1(x)))


class Split(Layer):
    def forward(self, x: Variable) -> tuple[Variable, Variable]:
        return x[0], x[1]


def test_calling_a_layer_gives_what_its_forward_returns() -> None:
    x = np.ones((2, 3))
    model = TwoLayerNet(4, 1)
    assert_type(model(x), Variable)
    assert_type(L.Linear(2)(x), Variable)
    assert_type(L.LSTM(2)(x), Variable)
    assert_type(MLP((3, 1))(x), Variable)
    assert_type(Split()(Variable(x)), tuple[Variable, ...])
    assert_type(list(model.params()), list[Parameter])
    assert_type(model.l1.W, Parameter)
    assert_type(model.l1.b, Parameter | None)


def test_an_optimizer_is_typed_as_itself() -> None:
    model = MLP((3, 1))
    sgd = optimizers.SGD(0.1).setup(model)
    assert_type(sgd, optimizers.SGD)
    adam = optimizers.Adam().setup(model)
    assert_type(adam.lr, float)
    adam.add_hook(optimizers.WeightDecay(1e-4))
    adam.add_hook(lambda params: None)
    model(np.ones((1, 2))).backward()
    adam.update()
    assert adam.t == 1


class Evens(Dataset):
    def prepare(self) -> None:
        self.data = np.arange(0.0, 20.0, 2.0).reshape(10, 1)
        self.label = np.arange(10) % 2


def test_datasets_and_loaders_are_typed_as_a_user_reads_them() -> None:
    train_set = Evens(transform=Compose([Normalize(0.0, 10.0), AsType(np.float32)]))
    assert_type(train_set[0], tuple[Any, Any])
    assert_type(len(train_set), int)
    loader = DataLoader(train_set, batch_size=4)
    assert_type(iter(loader), DataLoader)
    model = MLP((3, 2))
    optimizer = optimizers.SGD().setup(model)
    if tinygrad_ref.cuda.gpu_enable:
        loader.to_gpu()
        model.to_gpu()
    sizes = []
    for x, t in loader:
        assert_type(x, npt.NDArray[Any])
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        sizes.append(len(t))
    assert sizes == [4, 4, 2]
    assert_type(loader.next(), tuple[npt.NDArray[Any], npt.NDArray[Any]])
    pairs = DataLoader([(np.zeros(2), 0), (np.ones(2), 1)], 2, shuffle=False)
    x, t = next(pairs)
    assert x.shape == (2, 2)
    assert t.tolist() == [0, 1]
    sequence = SeqDataLoader(SinCurve(train=True), batch_size=3)
    assert_type(next(sequence), tuple[npt.NDArray[Any], npt.NDArray[Any]])
    points, arms = get_spiral()
    assert_type(points, npt.NDArray[np.float32])
    assert_type(arms, npt.NDArray[np.int_])
    assert_type(tinygrad_ref.cuda.get_array_module(points), ModuleType)
    assert_type(tinygrad_ref.utils.cache_dir, str)
