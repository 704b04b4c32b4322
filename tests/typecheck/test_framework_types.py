"""DeZero-style framework code as a user writes it: mypy --strict checks this file, pytest runs
it. Each ``assert_type`` fails the type check if the framework's annotations change what a
user's own strict code sees."""

import numpy as np
from typing_extensions import assert_type

import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Layer, Model, Parameter, Variable, optimizers
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
