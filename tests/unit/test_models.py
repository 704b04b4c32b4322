"""tinygrad_ref.models: Model, Sequential, MLP, and DeZero's pretrained models refused."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Variable, models

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it: apt-get install graphviz)",
)


@pytest.fixture(autouse=True)
def _global_random_state() -> Iterator[None]:
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


def test_mlp_registers_one_linear_per_size_and_applies_the_activation_between() -> None:
    np.random.seed(0)  # noqa: NPY002
    mlp = models.MLP((4, 3, 2), activation=F.relu)
    assert list(mlp._params) == ["l0", "l1", "l2"]
    x = np.linspace(-1, 1, 10).reshape(2, 5)
    y = mlp(x)
    l0, l1, l2 = mlp.layers
    h = np.maximum(np.maximum(x @ l0.W.data, 0) @ l1.W.data, 0)
    np.testing.assert_allclose(y.data, h @ l2.W.data, rtol=1e-6)
    assert len(list(mlp.params())) == 6


def test_mlp_uses_sigmoid_by_default() -> None:
    mlp = models.MLP((2, 1))
    x = np.ones((1, 3))
    y = mlp(x)
    l0, l1 = mlp.layers
    h = F.sigmoid(x @ l0.W.data).data
    np.testing.assert_allclose(y.data, h @ l1.W.data, rtol=1e-6)


def test_sequential_applies_layers_and_functions_in_turn() -> None:
    first, last = L.Linear(3, in_size=2), L.Linear(1, in_size=3)
    seq = models.Sequential(first, F.tanh, last)
    assert list(seq._params) == ["l0", "l2"]
    assert getattr(seq, "l2") is last  # noqa: B009  # NOTE: set by setattr, unknown to mypy
    x = np.ones((4, 2))
    expected = np.tanh(x @ first.W.data) @ last.W.data
    np.testing.assert_allclose(seq(x).data, expected, rtol=1e-6)
    assert isinstance(models.Sequential()(x), Variable)


def test_sequential_refuses_what_it_cannot_call() -> None:
    with pytest.raises(TypeError, match="Sequential takes layers or functions; item 1 is 3"):
        models.Sequential(L.Linear(2), 3)  # type: ignore[arg-type]


class TwoLayerNet(Model):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = L.Linear(3)
        self.l2 = L.Linear(1)

    def forward(self, x: Variable) -> Variable:
        return self.l2(F.sigmoid(self.l1(x)))


@needs_dot
def test_plot_draws_the_models_graph(tmp_path: Path) -> None:
    path = tmp_path / "model.png"
    TwoLayerNet().plot(np.ones((2, 4)), to_file=path)
    assert path.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "name", ["VGG16", "ResNet", "ResNet50", "ResNet101", "ResNet152", "SqueezeNet"]
)
def test_the_pretrained_models_are_refused_by_name_with_the_reason(name: str) -> None:
    with pytest.raises(NotImplementedError, match=f"{name} is not provided by tinygrad_ref") as e:
        getattr(models, name)(pretrained=True)
    assert "downloads nothing" in str(e.value)
