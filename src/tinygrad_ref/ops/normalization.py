"""Batch normalization, as DeZero's ``batch_nrom`` (whose misspelt name it also answers to).

``mean`` and ``var`` are the running averages, **state** rather than constants: in training
mode (``Config.train``) each call normalizes with the batch's own statistics and updates the
arrays you pass *in place* (``avg = decay * avg + (1 - decay) * batch``, the variance unbiased),
as DeZero and Chainer do; so they are not copied when the call is recorded, unlike the constant
operands of other ops. In test mode (``test_mode()``) the call normalizes with them instead,
as they are at the call: a later update changes no gradient already recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_ref.config import Config, test_mode, using_config
from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import Sqrt
from tinygrad_ref.ops.reduction import Mean, Sum
from tinygrad_ref.ops.shape import Reshape, unbroadcast
from tinygrad_ref.spec import ANY, BOUNDED, Case, Domain, OpSpec, Sampler, Shape


def _axes(ndim: int) -> tuple[int, ...]:
    """The axes a batch norm averages over: all but the channels (axis 1)."""
    return (0,) if ndim == 2 else (0, 2, 3)


def _per_channel(t: Tensor, ndim: int) -> Tensor:
    """A ``(C,)`` array shaped to broadcast against an input of ``ndim`` dimensions."""
    return t if ndim == 2 else Reshape((1, -1, 1, 1)).apply(t)


def _state(a: object, name: str, channels: int) -> Array:
    """A running average: a floating ndarray of shape ``(channels,)``, updated in place."""
    data = a.data if isinstance(a, Variable) else a
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        raise TypeError(
            f"batch_norm: {name} must be a floating ndarray (it is updated in place), "
            f"got {type(a).__name__}"
        )
    if data.shape != (channels,):
        raise ValueError(f"batch_norm: {name} must have shape ({channels},), got {data.shape}")
    return data


def _pairs(x: Tensor) -> bool:
    """Whether each channel of ``x`` holds two elements."""
    return bool(x.size == 2 * x.shape[1])


class BatchNorm(Function):
    """``gamma * (x - mu) / sqrt(sigma2 + eps) + beta`` per channel (axis 1): with the batch's
    mean and variance in training mode, the running ones in test mode (see
    :func:`batch_norm`)."""

    __slots__ = ("avg_mean", "avg_var", "decay", "eps", "inv_std", "shift", "train", "xhat")

    def __init__(self, mean: Operand, var: Operand, decay: float = 0.9, eps: float = 2e-5) -> None:
        self.avg_mean = mean
        self.avg_var = var
        self.decay = decay
        self.eps = eps
        self.train = Config.train
        self.inv_std: Array | None = None
        self.shift: Array | None = None
        self.xhat: Array | None = None

    def forward(self, x: Array, gamma: Array, beta: Array) -> Array:
        if x.ndim not in (2, 4):
            raise ValueError(f"batch_norm expects x of shape (N, C) or (N, C, H, W), got {x.shape}")
        channels = x.shape[1]
        for name, a in (("gamma", gamma), ("beta", beta)):
            if a.shape != (channels,):
                raise ValueError(f"batch_norm: {name} must have shape ({channels},), got {a.shape}")
        avg_mean = _state(self.avg_mean, "mean", channels)
        avg_var = _state(self.avg_var, "var", channels)
        axes = _axes(x.ndim)
        if self.train:
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            var = (xc * xc).mean(axis=axes, keepdims=True)
            m = x.size // channels
            avg_mean *= self.decay
            avg_mean += (1 - self.decay) * mean.reshape(-1)
            avg_var *= self.decay
            avg_var += (1 - self.decay) * m / max(m - 1, 1) * var.reshape(-1)
        else:
            mean = _per_channel(avg_mean.astype(x.dtype), x.ndim)
            var = _per_channel(avg_var.astype(x.dtype), x.ndim)
            xc = x - mean
        inv_std = 1 / np.sqrt(var + self.eps)
        xhat = xc * inv_std
        # NOTE: kept also when nothing is recorded: forward mode's jvp reads them then
        self.inv_std, self.shift, self.xhat = inv_std, mean, xhat
        y: Array = _per_channel(gamma, x.ndim) * xhat + _per_channel(beta, x.ndim)
        return y

    def _normalized(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``xhat`` and ``1 / std`` as computed in forward: the kept arrays on arrays, recorded
        ops of ``x`` on Variables (in training mode, where they depend on ``x``)."""
        # NOTE: Any: the kept arrays are Tensors where they are used, on arrays
        xhat: Any = self.xhat
        inv_std: Any = self.inv_std
        shift: Any = self.shift
        axes = _axes(x.ndim)
        if not isinstance(x, Variable):
            return xhat, inv_std
        if not self.train:
            return (x - shift) * inv_std, inv_std
        # NOTE: the very operations of forward, so that both passes round alike; xhat through
        # this normalization itself (unscaled, its running averages thrown away), whose rules
        # keep their digits on channels of two elements, where those of xc * inv_std cancel
        xc = x - Mean(axes, keepdims=True).apply(x)
        inv_std_v = 1 / Sqrt().apply(Mean(axes, keepdims=True).apply(xc * xc) + self.eps)
        channels = x.shape[1]
        normalize = BatchNorm(np.zeros(channels), np.ones(channels), self.decay, self.eps)
        normalize.train = True
        ones, zeros = np.ones(channels, x.dtype), np.zeros(channels, x.dtype)
        return normalize(x, ones, zeros), inv_std_v

    def _pair_share(self, inv_std: Tensor) -> Tensor:
        """``eps / (var + eps)``: on a channel of two elements, what is left of the centered
        cotangent (or tangent) once its part along ``xhat`` is taken out.

        NOTE: in training mode the rules subtract from the centered cotangent its part along
        ``xhat``, scaled by ``mean(xhat ** 2) = var / (var + eps)``. On two elements the
        centered cotangent lies along ``xhat`` (both are +-d), so the difference is ``1 -
        var / (var + eps)`` of it, which cancels (1e4 ULP at a variance of 0.25): it is
        computed as the share itself, ``eps / std ** 2``."""
        return self.eps * (inv_std * inv_std)

    def vjp(
        self, gy: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        ndim, axes = x.ndim, _axes(x.ndim)
        xhat, inv_std = self._normalized(x)
        gbeta = Sum(axes).apply(gy)
        ggamma = Sum(axes).apply(gy * xhat)
        scale = _per_channel(gamma, ndim) * inv_std
        if not self.train:
            gx = gy * scale
        elif _pairs(x):
            gx = (gy - _per_channel(gbeta, ndim) / 2) * self._pair_share(inv_std) * scale
        else:
            m = x.size // x.shape[1]
            centered = gy - _per_channel(gbeta, ndim) / m - xhat * _per_channel(ggamma, ndim) / m
            gx = centered * scale
        return unbroadcast(gx, x), unbroadcast(ggamma, gamma), unbroadcast(gbeta, beta)

    def jvp(
        self,
        tx: Tensor,
        tgamma: Tensor,
        tbeta: Tensor,
        x: Tensor,
        gamma: Tensor,
        beta: Tensor,
        y: Tensor,
    ) -> Tensor:
        ndim, axes = x.ndim, _axes(x.ndim)
        xhat, inv_std = self._normalized(x)
        if not self.train:
            txhat = tx * inv_std
        elif _pairs(x):
            txhat = (tx - Mean(axes, keepdims=True).apply(tx)) * self._pair_share(inv_std) * inv_std
        else:
            # NOTE: xhat = xc / std: its tangent is (txc - xhat mean(xhat txc)) / std, txc = tx -
            # mean(tx), the batch's mean and variance moving with x
            txc = tx - Mean(axes, keepdims=True).apply(tx)
            txhat = (txc - xhat * Mean(axes, keepdims=True).apply(xhat * txc)) * inv_std
        ty: Tensor = (
            _per_channel(gamma, ndim) * txhat
            + _per_channel(tgamma, ndim) * xhat
            + _per_channel(tbeta, ndim)
        )
        return ty


def batch_norm(
    x: Operand,
    gamma: Operand,
    beta: Operand,
    mean: Operand,
    var: Operand,
    decay: float = 0.9,
    eps: float = 2e-5,
) -> Variable:
    """Batch normalization of ``x`` ``(N, C)`` or ``(N, C, H, W)`` per channel, scaled by
    ``gamma`` and shifted by ``beta`` (each ``(C,)``), as DeZero's.

    In training mode (``Config.train``, the default) it uses the batch's mean and variance and
    updates the running averages ``mean`` and ``var`` (floating ``(C,)`` ndarrays) in place; in
    ``test_mode()`` it uses them instead. The gradient flows to ``x``, ``gamma`` and ``beta``."""
    return BatchNorm(mean, var, decay, eps)(x, gamma, beta)


batch_nrom = batch_norm
"""DeZero's spelling of :func:`batch_norm`."""


# NOTE: as max pooling's, the strategy adds a permutation of 1, 2, ... to an operand within
# 0.25 of 0, so that no channel's variance is near 0 (where the normalization's scale changes
# within a few multiples of sqrt(eps), too fast for central differences), unless the channel
# has one element, where the output is exactly beta.
SPREAD_HALF_WIDTH = 0.25
SPREAD = Domain(-SPREAD_HALF_WIDTH, SPREAD_HALF_WIDTH)


def _batch_case(sampler: Sampler) -> tuple[Shape, np.random.Generator]:
    channels = sampler.integer(1, 2)
    if sampler.boolean():
        shape: Shape = (sampler.integer(1, 4), channels)
    else:
        shape = (sampler.integer(1, 2), channels, sampler.integer(1, 2), sampler.integer(1, 2))
    return shape, np.random.default_rng(sampler.integer(0, 2**32 - 1))


def _train_case(sampler: Sampler) -> Case:
    shape, rng = _batch_case(sampler)
    channels = (shape[1],)
    offsets = 1.0 + rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)
    state = {"mean": np.zeros(channels), "var": np.ones(channels)}
    return Case((shape, channels, channels), {"offsets": offsets, **state})


def _test_case(sampler: Sampler) -> Case:
    shape, rng = _batch_case(sampler)
    channels = (shape[1],)
    state = {"mean": rng.uniform(-2, 2, channels), "var": rng.uniform(0.5, 2, channels)}
    return Case((shape, channels, channels), state)


def _shifted(x: Operand, offsets: Array) -> Operand:
    dtype = x.dtype if isinstance(x, Variable) else np.asarray(x).dtype
    return x + offsets.astype(dtype)


def _train(x: Operand, gamma: Operand, beta: Operand, offsets: Array, **state: Array) -> Variable:
    with using_config("train", True):
        return batch_norm(_shifted(x, offsets), gamma, beta, state["mean"], state["var"])


def _test(x: Operand, gamma: Operand, beta: Operand, **state: Array) -> Variable:
    with test_mode():
        return batch_norm(x, gamma, beta, state["mean"], state["var"])


def _reference(x: Any, gamma: Any, beta: Any, mean: Array | None, var: Array | None) -> Array:
    """Batch norm in NumPy; with the batch's statistics when ``mean`` and ``var`` are None."""
    x = np.asarray(x)
    axes = _axes(x.ndim)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    if mean is None or var is None:
        mu, sigma2 = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    else:
        mu, sigma2 = mean.astype(x.dtype).reshape(shape), var.astype(x.dtype).reshape(shape)
    xhat = (x - mu) * (1 / np.sqrt(sigma2 + 2e-5))
    y: Array = np.asarray(gamma).reshape(shape) * xhat + np.asarray(beta).reshape(shape)
    return y


SPECS = [
    OpSpec(
        "batch_norm",
        BatchNorm,
        _train,
        lambda x, gamma, beta, offsets, **state: _reference(
            _shifted(x, offsets), gamma, beta, None, None
        ),
        (SPREAD, BOUNDED, BOUNDED),
        roles=("any",) * 3,
        case=_train_case,
        cost=10,
    ),
    OpSpec(
        "batch_norm_test_mode",
        BatchNorm,
        _test,
        lambda x, gamma, beta, mean, var: _reference(x, gamma, beta, mean, var),
        (ANY, BOUNDED, BOUNDED),
        roles=("any",) * 3,
        case=_test_case,
        cost=10,
    ),
]
