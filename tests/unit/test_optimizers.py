"""tinygrad_ref.optimizers: each update rule against values computed by hand, the hooks, and
DeZero's optimizers where DeZero is installed."""

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Layer, Parameter, Variable, optimizers
from tinygrad_ref.core import Array

from ..helpers import import_dezero


class Weights(Layer):
    """Two parameters, whose gradients the tests set by hand."""

    def __init__(self, p: Sequence[float], q: Sequence[float] = (0.0,)) -> None:
        super().__init__()
        self.p = Parameter(np.array(p, dtype=np.float64))
        self.q = Parameter(np.array(q, dtype=np.float64))


def updated(
    optimizer: optimizers.Optimizer, start: Sequence[float], grads: Sequence[Sequence[float]]
) -> list[Array]:
    """The values of a parameter starting at ``start``, after each update with the gradients
    ``grads`` in turn."""
    model = Weights(start)
    optimizer.setup(model)
    values = []
    for g in grads:
        model.p.grad = Variable(np.array(g, dtype=np.float64))
        optimizer.update()
        values.append(model.p.data.copy())
    return values


def test_sgd() -> None:
    # NOTE: p - 0.1 g: 1 - 0.05, -2 - 0.4; then 0.95 - 0.1, -2.4 - 0.1
    values = updated(optimizers.SGD(lr=0.1), [1.0, -2.0], [[0.5, 4.0], [1.0, 1.0]])
    np.testing.assert_allclose(values, [[0.95, -2.4], [0.85, -2.5]], rtol=1e-15)
    assert optimizers.SGD().lr == 0.01


def test_momentum_sgd() -> None:
    # NOTE: v = 0.9 * 0 - 0.1 * 2 = -0.2, p = 0.8; v = 0.9 * -0.2 - 0.2 = -0.38, p = 0.42
    values = updated(optimizers.MomentumSGD(lr=0.1, momentum=0.9), [1.0], [[2.0], [2.0]])
    np.testing.assert_allclose(values, [[0.8], [0.42]], rtol=1e-15)
    default = optimizers.MomentumSGD()
    assert (default.lr, default.momentum) == (0.01, 0.9)


def test_adagrad() -> None:
    # NOTE: h = 4, p = 1 - 0.1 * 2 / 2; h = 4 + 1, p = 0.9 - 0.1 * 1 / sqrt(5)
    values = updated(optimizers.AdaGrad(lr=0.1, eps=0.0), [1.0], [[2.0], [1.0]])
    np.testing.assert_allclose(values, [[0.9], [0.9 - 0.1 / np.sqrt(5)]], rtol=1e-15)
    # NOTE: eps is added to the root: 1 - 0.001 * 3 / (3 + 1e-8)
    (value,) = updated(optimizers.AdaGrad(), [1.0], [[3.0]])
    np.testing.assert_allclose(value, [1 - 0.003 / (3 + 1e-8)], rtol=1e-15)


def test_adadelta() -> None:
    # NOTE: rho 0.5, eps 1. msg = 0.5 * 4 = 2, dx = sqrt((0 + 1) / (2 + 1)) * 2, msdx =
    # 0.5 * dx**2 = 2/3, p = 1 - 2 / sqrt(3). Then msg = 0.5 * 2 + 0.5 * 1 = 1.5, dx =
    # sqrt((2/3 + 1) / (1.5 + 1)) * 1 = sqrt(2/3)
    values = updated(optimizers.AdaDelta(rho=0.5, eps=1.0), [1.0], [[2.0], [1.0]])
    first = 1 - 2 / np.sqrt(3)
    # NOTE: 1 - 1.15... rounds in units of eps (of 1), which a relative tolerance misses
    eps = float(np.finfo(np.float64).eps)
    expected = [[first], [first - np.sqrt(2 / 3)]]
    np.testing.assert_allclose(values, expected, rtol=1e-15, atol=2 * eps)
    default = optimizers.AdaDelta()
    assert (default.rho, default.eps) == (0.95, 1e-6)


def test_adam() -> None:
    # NOTE: alpha 0.1, beta1 0.5, beta2 0.75, eps 0. t = 1: m = 0.5 * 2 = 1, v = 0.25 * 4 = 1,
    # lr = 0.1 sqrt(1 - 0.75) / (1 - 0.5) = 0.1, p = 1 - 0.1 * 1 / 1. t = 2, g = 3: m = 1 + 0.5 *
    # (3 - 1) = 2, v = 1 + 0.25 * (9 - 1) = 3, lr = 0.1 sqrt(1 - 0.5625) / (1 - 0.25)
    adam = optimizers.Adam(alpha=0.1, beta1=0.5, beta2=0.75, eps=0.0)
    values = updated(adam, [1.0], [[2.0], [3.0]])
    lr2 = 0.1 * np.sqrt(0.4375) / 0.75
    np.testing.assert_allclose(values, [[0.9], [0.9 - lr2 * 2 / np.sqrt(3)]], rtol=1e-15)
    assert adam.t == 2
    assert adam.lr == pytest.approx(lr2, rel=1e-15)
    default = optimizers.Adam()
    assert (default.alpha, default.beta1, default.beta2, default.eps) == (1e-3, 0.9, 0.999, 1e-8)
    # NOTE: before the first update, the rate of the first: 0.001 sqrt(0.001) / 0.1
    assert default.lr == pytest.approx(0.001 * np.sqrt(0.001) / 0.1, rel=1e-15)


def test_the_state_is_kept_per_parameter() -> None:
    model = Weights([1.0], [1.0])
    momentum = optimizers.MomentumSGD(lr=1.0, momentum=0.5).setup(model)
    for _ in range(2):
        model.p.grad = Variable(np.array([1.0]))
        model.q.grad = Variable(np.array([-1.0]))
        momentum.update()
    # NOTE: v = -1, then -1.5: 1 - 1 - 1.5 for p, 1 + 1 + 1.5 for q
    np.testing.assert_array_equal(model.p.data, [-1.5])
    np.testing.assert_array_equal(model.q.data, [3.5])
    assert len(momentum.vs) == 2


def test_parameters_without_a_gradient_are_left_alone() -> None:
    model = Weights([1.0], [5.0])
    model.p.grad = Variable(np.array([1.0]))
    adam = optimizers.Adam().setup(model)
    adam.update()
    np.testing.assert_array_equal(model.q.data, [5.0])
    assert list(adam.ms) == [model.p]


def test_float32_parameters_stay_float32() -> None:
    layer = L.Linear(2, in_size=3)
    layer(np.ones((1, 3))).sum().backward()
    for optimizer in (optimizers.SGD(), optimizers.AdaDelta(), optimizers.Adam()):
        optimizer.setup(layer).update()
    assert all(p.data.dtype == np.float32 for p in layer.params())


def test_weight_decay_adds_rate_times_the_parameter_to_its_gradient() -> None:
    sgd = optimizers.SGD(lr=0.1)
    sgd.add_hook(optimizers.WeightDecay(rate=0.5))
    # NOTE: g = 1 + 0.5 * 2 = 2, p = 2 - 0.1 * 2
    (value,) = updated(sgd, [2.0], [[1.0]])
    np.testing.assert_allclose(value, [1.8], rtol=1e-15)


def test_weight_decay_is_the_gradient_of_an_l2_penalty() -> None:
    x = np.random.default_rng(0).random((10, 2))
    t = np.zeros(10, dtype=int)
    results = []
    for decay in (True, False):
        layer = L.Linear(3, nobias=True, in_size=2)
        layer.W.data = np.ones_like(layer.W.data)
        sgd = optimizers.SGD().setup(layer)
        loss = F.softmax_cross_entropy(layer(x), t)
        if decay:
            sgd.add_hook(optimizers.WeightDecay(rate=0.4))
        else:
            loss = loss + 0.4 / 2 * (layer.W**2).sum()
        loss.backward()
        sgd.update()
        results.append(layer.W.data)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_clip_grad_scales_all_gradients_by_their_joint_norm() -> None:
    model = Weights([0.0], [0.0])
    sgd = optimizers.SGD(lr=1.0).setup(model)
    sgd.add_hook(optimizers.ClipGrad(max_norm=1.0))
    model.p.grad = Variable(np.array([3.0]))
    model.q.grad = Variable(np.array([4.0]))
    sgd.update()
    # NOTE: the norm is 5; the rate 1 / (5 + 1e-6)
    np.testing.assert_allclose(model.p.data, [-3 / (5 + 1e-6)], rtol=1e-15)
    np.testing.assert_allclose(model.q.data, [-4 / (5 + 1e-6)], rtol=1e-15)
    sgd.hooks.clear()
    sgd.add_hook(optimizers.ClipGrad(max_norm=10.0))
    model.p.grad = Variable(np.array([3.0]))
    sgd.update()
    np.testing.assert_allclose(model.p.data, [-3 / (5 + 1e-6) - 3], rtol=1e-15)


def test_freeze_param_keeps_a_layers_parameters_and_single_parameters() -> None:
    class WithInner(Weights):
        def __init__(self) -> None:
            super().__init__([1.0], [1.0])
            self.inner = L.Linear(1, in_size=1)

    model = WithInner()
    model.inner.W.data = np.array([[1.0]], dtype=np.float32)
    for p in model.params():
        p.grad = Variable(np.ones_like(p.data))
    sgd = optimizers.SGD(lr=1.0).setup(model)
    sgd.add_hook(optimizers.FreezeParam(model.inner, model.q))
    sgd.update()  # NOTE: DeZero fails here: its update reads the gradients the hook removed
    np.testing.assert_array_equal(model.p.data, [0.0])
    np.testing.assert_array_equal(model.q.data, [1.0])
    np.testing.assert_array_equal(model.inner.W.data, [[1.0]])


def test_hooks_run_in_order_before_the_update() -> None:
    model = Weights([1.0])
    seen: list[tuple[str, Any]] = []
    sgd = optimizers.SGD().setup(model)
    sgd.add_hook(lambda params: seen.append(("first", [p.data.copy() for p in params])))
    sgd.add_hook(lambda params: seen.append(("second", len(params))))
    model.p.grad = Variable(np.array([1.0]))
    sgd.update()
    assert seen == [("first", [np.array([1.0])]), ("second", 1)]


def test_misuse_is_named() -> None:
    with pytest.raises(RuntimeError, match=r"SGD.update: call setup\(model\) first"):
        optimizers.SGD().update()
    with pytest.raises(TypeError, match=r"Adam\.setup takes a Layer or Model, got Parameter"):
        optimizers.Adam().setup(Parameter(np.ones(2)))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="add_hook takes a function of the parameters"):
        optimizers.SGD().add_hook(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="FreezeParam takes layers or Parameters, got 'l1'"):
        optimizers.FreezeParam("l1")  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="Optimizer does not define update_one"):
        optimizers.Optimizer().setup(Weights([1.0])).update_one(Parameter(np.ones(1)))


def _run(
    module: ModuleType,
    make: Callable[[ModuleType], Any],
    hooks: Callable[[ModuleType, Any], list[Any]],
) -> list[Array]:
    """Four updates of two parameters with fixed gradients, with ``module``'s optimizers."""
    rng = np.random.default_rng(0)
    model = module.Layer()
    model.a = module.Parameter(rng.standard_normal((2, 3)))
    model.b = module.Parameter(rng.standard_normal(3))
    optimizer = make(module.optimizers).setup(model)
    for hook in hooks(module.optimizers, model):
        optimizer.add_hook(hook)
    for _ in range(4):
        # NOTE: by name: DeZero's params() comes in the order of a set
        for p in (model.a, model.b):
            p.grad = module.Variable(rng.standard_normal(p.data.shape))
        optimizer.update()
    return [model.a.data, model.b.data]


@pytest.mark.parametrize(
    "make",
    [
        lambda o: o.SGD(0.3),
        lambda o: o.MomentumSGD(0.1, 0.8),
        lambda o: o.AdaGrad(0.2),
        lambda o: o.AdaDelta(0.9, 1e-3),
        lambda o: o.Adam(0.1, 0.8, 0.9, 1e-3),
    ],
)
@pytest.mark.parametrize(
    "hooks",
    [
        lambda o, model: [],
        lambda o, model: [o.WeightDecay(0.1), o.ClipGrad(1.0)],
    ],
)
def test_the_optimizers_update_as_dezeros_do(
    make: Callable[[ModuleType], Any], hooks: Callable[[ModuleType, Any], list[Any]]
) -> None:
    dezero = import_dezero()
    theirs = _run(dezero, make, hooks)
    ours = _run(tinygrad_ref, make, hooks)
    for a, b in zip(theirs, ours, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-14)
