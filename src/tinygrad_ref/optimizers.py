"""DeZero's optimizers (``dezero.optimizers``): an :class:`Optimizer` updates, in place, the data
of every parameter of its target that has a gradient, after the hooks (:class:`WeightDecay`,
:class:`ClipGrad`, :class:`FreezeParam`, or any function of the list of those parameters) have
seen the gradients.

The update rules are DeZero's, computed on the arrays (no graph is recorded) in the parameter's
dtype. An optimizer's per-parameter state (momentum, running averages) is created at the first
update of each parameter, keyed by the parameter itself (DeZero keys it by ``id``, which a new
parameter may reuse once the old one is freed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from tinygrad_ref.core import Array, Parameter
from tinygrad_ref.layers import Layer

Hook = Callable[[list[Parameter]], None]
"""A function an optimizer calls with the parameters it is about to update, before it does."""

_Self = TypeVar("_Self", bound="Optimizer")


class Optimizer:
    """The base of every optimizer: ``setup(model)`` chooses what it updates, ``update()``
    updates it; define ``update_one(param)``."""

    target: Layer | None
    hooks: list[Hook]

    def __init__(self) -> None:
        self.target = None
        self.hooks = []

    def setup(self: _Self, target: Layer) -> _Self:
        """Update the parameters of ``target`` (a layer or model) from now on; returns the
        optimizer, so that ``SGD(lr).setup(model)`` is one expression."""
        if not isinstance(target, Layer):
            raise TypeError(
                f"{type(self).__name__}.setup takes a Layer or Model, got {type(target).__name__}"
            )
        self.target = target
        return self

    def update(self) -> None:
        """Call every hook with the parameters of the target that have a gradient, then update
        each of them that still has one (a hook such as :class:`FreezeParam` may have removed
        it: DeZero would then fail on a ``None`` gradient)."""
        if self.target is None:
            raise RuntimeError(f"{type(self).__name__}.update: call setup(model) first")
        params = [p for p in self.target.params() if p.grad is not None]
        for hook in self.hooks:
            hook(params)
        for param in params:
            if param.grad is not None:
                self.update_one(param)

    def update_one(self, param: Parameter) -> None:
        """Update ``param.data`` in place from ``param.grad``."""
        raise NotImplementedError(f"{type(self).__name__} does not define update_one()")

    def add_hook(self, f: Hook) -> None:
        """Call ``f(params)`` at each update, before the parameters are updated, after the hooks
        added before it."""
        if not callable(f):
            raise TypeError(f"add_hook takes a function of the parameters, got {f!r}")
        self.hooks.append(f)


def _grad(param: Parameter) -> Array:
    """The gradient's data: an optimizer is only given parameters that have one."""
    assert param.grad is not None  # NOTE: update() passes only those
    return param.grad.data


class WeightDecay:
    """L2 regularization as a hook: adds ``rate * param`` to each gradient, the gradient of
    ``rate / 2 * sum(param ** 2)``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, params: list[Parameter]) -> None:
        for param in params:
            _grad(param)[...] += self.rate * param.data


class ClipGrad:
    """A hook that scales every gradient by ``max_norm / (norm + 1e-6)`` when that is less than
    1, ``norm`` being the L2 norm of all the gradients together."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def __call__(self, params: list[Parameter]) -> None:
        total = math.sqrt(sum(float(np.sum(np.square(_grad(p)))) for p in params))
        rate = self.max_norm / (total + 1e-6)
        if rate < 1:
            for param in params:
                _grad(param)[...] *= rate


class FreezeParam:
    """A hook that keeps some parameters unchanged: it removes their gradients before the
    update. Give it layers (all their parameters) or parameters."""

    def __init__(self, *layers: Layer | Parameter) -> None:
        self.freeze_params: list[Parameter] = []
        for layer in layers:
            if isinstance(layer, Parameter):
                self.freeze_params.append(layer)
            elif isinstance(layer, Layer):
                self.freeze_params.extend(layer.params())
            else:
                raise TypeError(f"FreezeParam takes layers or Parameters, got {layer!r}")

    def __call__(self, params: list[Parameter]) -> None:
        for param in self.freeze_params:
            param.grad = None


def _zeros(state: dict[Parameter, Array], param: Parameter) -> Array:
    """The state array of ``param`` in ``state``, zeros at first."""
    if param not in state:
        state[param] = np.zeros_like(param.data)
    return state[param]


class SGD(Optimizer):
    """``param -= lr * grad``."""

    def __init__(self, lr: float = 0.01) -> None:
        super().__init__()
        self.lr = lr

    def update_one(self, param: Parameter) -> None:
        param.data -= self.lr * _grad(param)


class MomentumSGD(Optimizer):
    """``v = momentum * v - lr * grad; param += v``, ``v`` zeros at first."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__()
        self.lr = lr
        self.momentum = momentum
        self.vs: dict[Parameter, Array] = {}

    def update_one(self, param: Parameter) -> None:
        v = _zeros(self.vs, param)
        v *= self.momentum
        v -= self.lr * _grad(param)
        param.data += v


class AdaGrad(Optimizer):
    """``h += grad ** 2; param -= lr * grad / (sqrt(h) + eps)``."""

    def __init__(self, lr: float = 0.001, eps: float = 1e-8) -> None:
        super().__init__()
        self.lr = lr
        self.eps = eps
        self.hs: dict[Parameter, Array] = {}

    def update_one(self, param: Parameter) -> None:
        grad = _grad(param)
        h = _zeros(self.hs, param)
        h += grad * grad
        param.data -= self.lr * grad / (np.sqrt(h) + self.eps)


class AdaDelta(Optimizer):
    """Zeiler's AdaDelta: ``msg = rho msg + (1 - rho) grad ** 2``, ``dx = sqrt((msdx + eps) /
    (msg + eps)) grad``, ``msdx = rho msdx + (1 - rho) dx ** 2``, ``param -= dx``."""

    def __init__(self, rho: float = 0.95, eps: float = 1e-6) -> None:
        super().__init__()
        self.rho = rho
        self.eps = eps
        self.msg: dict[Parameter, Array] = {}
        self.msdx: dict[Parameter, Array] = {}

    def update_one(self, param: Parameter) -> None:
        grad, rho, eps = _grad(param), self.rho, self.eps
        msg, msdx = _zeros(self.msg, param), _zeros(self.msdx, param)
        msg *= rho
        msg += (1 - rho) * grad * grad
        dx = np.sqrt((msdx + eps) / (msg + eps)) * grad
        msdx *= rho
        msdx += (1 - rho) * dx * dx
        param.data -= dx


class Adam(Optimizer):
    """Kingma and Ba's Adam: at step ``t`` (counted by :meth:`update`), ``m += (1 - beta1)
    (grad - m)``, ``v += (1 - beta2) (grad ** 2 - v)``, ``param -= lr * m / (sqrt(v) + eps)``
    with the bias-corrected rate ``lr = alpha sqrt(1 - beta2 ** t) / (1 - beta1 ** t)``."""

    def __init__(
        self, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__()
        self.t = 0
        self.alpha = alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.ms: dict[Parameter, Array] = {}
        self.vs: dict[Parameter, Array] = {}

    def update(self) -> None:
        self.t += 1
        super().update()

    @property
    def lr(self) -> float:
        """The step size of step ``t``, bias correction included; before the first update,
        that of the first (DeZero's divides by zero there)."""
        t = max(self.t, 1)
        fix1 = 1.0 - math.pow(self.beta1, t)
        fix2 = 1.0 - math.pow(self.beta2, t)
        return self.alpha * math.sqrt(fix2) / fix1

    def update_one(self, param: Parameter) -> None:
        grad = _grad(param)
        m, v = _zeros(self.ms, param), _zeros(self.vs, param)
        m += (1 - self.beta1) * (grad - m)
        v += (1 - self.beta2) * (grad * grad - v)
        param.data -= self.lr * m / (np.sqrt(v) + self.eps)
