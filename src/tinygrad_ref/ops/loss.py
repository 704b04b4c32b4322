"""Losses, as DeZero names them: softmax and sigmoid cross entropy, binary cross entropy, mean
squared error; and accuracy, which is not differentiable. Labels and targets are constants: they
get no gradient."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.activation import (
    LogSoftmax,
    _reference_log_softmax,
    log_softmax,
    log_softmax_of,
)
from tinygrad_ref.ops.arithmetic import Pow, sub
from tinygrad_ref.ops.elementwise import Exp, _values, sigmoid_slope
from tinygrad_ref.ops.reduction import Sum, sum
from tinygrad_ref.ops.shape import lifted, reduced_shape, tangent_axes, unbroadcast
from tinygrad_ref.spec import ANY, Case, Domain, OpSpec, Sampler

Labels = npt.NDArray[np.intp]


def _raw(x: Operand) -> npt.NDArray[Any]:
    return np.asarray(x.data if isinstance(x, Variable) else x)


def integer_labels(t: Operand, classes: int, what: str = "labels") -> Labels:
    """``t`` (an array of any real dtype, or a Variable, holding integers in ``[0, classes)``)
    as an integer array; a ValueError naming ``what`` otherwise."""
    data = _raw(t)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be integers, not an array of dtype {data.dtype}")
    if data.dtype.kind == "f":
        bad = ~np.isfinite(data) | (data != np.round(data))
        if np.any(bad):
            raise ValueError(f"{what} must be integers; got {data[bad].flat[0]}")
    labels = data.astype(np.intp)
    # NOTE: seen as unsigned, a negative label exceeds every class: one pass checks both ends
    if labels.size and labels.view(np.uintp).max() >= classes:
        outside = (labels < 0) | (labels >= classes)
        raise ValueError(
            f"{what} must lie in [0, {classes}) for {classes} classes; got {labels[outside][0]}"
        )
    return labels


def _samples(shape: tuple[int, ...], what: str) -> int:
    """DeZero's N: the length of the first axis, by which the losses divide their sum."""
    if not shape or shape[0] == 0:
        raise ValueError(f"{what} needs at least one sample along its first axis; got {shape}")
    return shape[0]


def _class_labels(t: Operand, x_shape: tuple[int, ...], what: str) -> Labels:
    """The labels of logits of ``x_shape`` (N, C): N integers in [0, C), shaped (N,) or (N, 1)."""
    if len(x_shape) != 2:
        raise ValueError(f"{what} needs scores of shape (N, C); got shape {x_shape}")
    n, classes = x_shape
    labels = integer_labels(t, classes)
    if labels.shape not in ((n,), (n, 1)):
        raise ValueError(f"labels must have shape ({n},) for {n} samples; got {labels.shape}")
    return labels.ravel()


def _targets(t: Operand, shape: tuple[int, ...]) -> Array:
    """Targets for predictions of ``shape``: of its size, reshaped to it as DeZero does."""
    data = _raw(t)
    if data.size != np.prod(shape):
        raise ValueError(f"targets of shape {data.shape} do not match predictions of shape {shape}")
    targets: Array = data.reshape(shape).astype(np.float64)
    return targets


def _log_softmax_at(x: Array, labels: Labels) -> tuple[Array, Array | None]:
    """``log_softmax_of(x, (1,))`` of logits ``x`` (N, C) at each row's label alone: the
    largest logit of a row is the shift, and its term, exactly 1, is left out of the sum that
    ``log1p`` takes, so that a sum near 1 keeps its digits (the same numbers but for the order
    of summation at a tie). And ``exp(x - max)`` by rows, which the gradient reads (``None``
    where a row's largest logit is not finite)."""
    rows = np.arange(len(x))
    top = x.argmax(axis=1)
    shift = x[rows, top]
    if not np.isfinite(shift).all():
        log_p: Array = log_softmax_of(x, (1,))[rows, labels]
        return log_p, None
    shifted = x - shift[:, np.newaxis]
    e = np.exp(shifted)
    e[rows, top] = 0.0
    log_p = shifted[rows, labels] - np.log1p(e.sum(axis=1))
    e[rows, top] = 1.0  # NOTE: exp(0), so that e is exp(x - max) bit for bit
    return log_p, e


def _softmax_less_one_hot(e: Array, labels: Labels) -> Array:
    """``softmax(x) - one_hot(labels)`` over the rows of logits (N, C), from ``e``, the
    exponentials of the logits less each row's largest (overwritten): the label's ``p - 1`` is
    minus the other classes' share, which does not cancel where ``p`` is near 1 (the numbers
    of the rule written for Variables, with fewer passes and no one-hot)."""
    rows = np.arange(len(e))
    at_label = e[rows, labels]
    e[rows, labels] = 0.0
    others = e.sum(axis=1)
    e[rows, labels] = -others
    g: Array = e / (others + at_label)[:, np.newaxis]
    return g


class SoftmaxCrossEntropy(Function):
    """The mean over the N rows of logits ``x`` (N, C) of ``-log softmax(x)[label]``."""

    __slots__ = ("exponentials", "labels", "logits", "t")
    batched_jvp = True

    exponentials: Array | None
    """``exp(x - max)`` by rows from the forward pass of :attr:`logits`, which the gradient on
    arrays reads when it is given those logits (a later call may have made others)."""

    def __init__(self, t: Operand) -> None:
        self.t = t

    def forward(self, x: Array) -> Array:
        self.labels = _class_labels(self.t, x.shape, "softmax_cross_entropy")
        n = _samples(x.shape, "softmax_cross_entropy")
        self.logits = x
        log_p, self.exponentials = _log_softmax_at(x, self.labels)
        y: Array = np.asarray(-log_p.sum() / n)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        n, classes = x.shape
        if not isinstance(x, Variable):
            e = self.exponentials if x is self.logits else None
            # NOTE: a copy, which the rule overwrites: a graph may be differentiated again
            e = np.exp(x - x.max(axis=1, keepdims=True)) if e is None else e.copy()
            g: Array = _softmax_less_one_hot(e, self.labels) * (gy / n)
            return g
        one_hot: Array = np.eye(classes, dtype=x.dtype)[self.labels]
        # NOTE: softmax(x) - one_hot, with the label's p - 1 written as minus the other classes'
        # share, which does not cancel where p is near 1; the shift is a constant, as softmax
        # is shift-invariant
        e = Exp().apply(x - _values(x).max(axis=1, keepdims=True))
        e_others = e * (1 - one_hot)
        others = Sum((1,), True).apply(e_others)
        total = others + Sum((1,), True).apply(e * one_hot)
        gx: Tensor = (e_others - others * one_hot) / total * (gy / n)
        return gx

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        n, classes = x.shape
        others_mask: Array = 1 - np.eye(classes, dtype=x.dtype)[self.labels]
        # NOTE: sum(p tx) - tx[label] per row, as (sum of e tx - (sum of e) tx[label]) over the
        # other classes, divided by all of e: no 1 - p to cancel where p[label] is near 1
        e = Exp().apply(x - np.max(_values(x), axis=1, keepdims=True))
        e_others = e * others_mask
        classes_axis = tangent_axes(1, tx, x)
        tx_label = Sum(classes_axis, True).apply(tx * (1 - others_mask))
        total = Sum((1,), True).apply(e)
        rows = (
            Sum(classes_axis, True).apply(e_others * tx)
            - Sum((1,), True).apply(e_others) * tx_label
        )
        ty: Tensor = Sum(tangent_axes(None, tx, x)).apply(rows / total) / n
        return ty


class MeanSquaredError(Function):
    """``sum((x0 - x1) ** 2) / len(x0 - x1)``, as DeZero's: divided by the first axis."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x0: Array, x1: Array) -> Array:
        diff = x0 - x1
        y: Array = np.asarray(np.sum(diff * diff) / _samples(diff.shape, "mean_squared_error"))
        return y

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        diff = x0 - x1
        g = gy * diff * (2 / len(diff))
        return unbroadcast(g, x0), unbroadcast(-g, x1)

    def jvp(self, tx0: Tensor, tx1: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> Tensor:
        diff = x0 - x1
        tdiff = lifted(tx0, x0, diff.ndim) - lifted(tx1, x1, diff.ndim)
        ty: Tensor = Sum(tangent_axes(None, tdiff, diff)).apply(diff * tdiff) * (2 / len(diff))
        return ty


class SigmoidCrossEntropy(Function):
    """``-sum(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) / N``, computed from the logits
    as ``x (1 - t) + log1p(exp(-|x|))`` for ``x >= 0`` and ``-x t + log1p(exp(-|x|))`` below:
    for targets in [0, 1] a sum of terms of one sign, which neither overflows nor cancels (``x
    - x t`` would, for ``t`` near 1)."""

    __slots__ = ("t", "targets")
    batched_jvp = True

    def __init__(self, t: Operand) -> None:
        self.t = t

    def forward(self, x: Array) -> Array:
        n = _samples(np.shape(x), "sigmoid_cross_entropy")
        self.targets = t = _targets(self.t, x.shape).astype(x.dtype)
        linear = np.where(x >= 0, x * (1 - t), -x * t)
        y: Array = np.asarray(np.sum(linear + np.log1p(np.exp(-np.abs(x)))) / n)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return SigmoidCrossEntropyGrad(self.targets).apply(x) * gy

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        slope = SigmoidCrossEntropyGrad(self.targets).apply(x)
        ty: Tensor = Sum(tangent_axes(None, tx, x)).apply(slope * tx)
        return ty


def _sigmoid_less(x: Array, t: Array) -> Array:
    """``sigmoid(x) - t`` without cancellation, for any ``x`` and ``t``.

    NOTE: with e = exp(-|x|), it is (p - q e) / (1 + e) for x >= 0 with (p, q) = (1 - t, t),
    and minus that for x < 0 with (p, q) = (t, 1 - t). Where e > 1/2 the numerator is written
    (p - q) - q expm1(-|x|), p - q = +-(1 - 2t) exact: at t = 1/2 it is then q |expm1(-|x|)|,
    which keeps its digits for tiny x where p - q e would not. Either form cancels only near
    the root x = logit(t), by no more than the rounding of x itself moves the result."""
    magnitude = np.abs(x)
    e, m = np.exp(-magnitude), np.expm1(-magnitude)
    right = x >= 0
    p, q = np.where(right, 1 - t, t), np.where(right, t, 1 - t)
    near = np.where(right, 1 - 2 * t, 2 * t - 1) - q * m
    numerator = np.where(magnitude < math.log(2), near, p - q * e)
    less: Array = np.where(right, numerator, -numerator) / (1 + e)
    return less


class SigmoidCrossEntropyGrad(Function):
    """The gradient of :class:`SigmoidCrossEntropy` by the logits, ``(sigmoid(x) - t) / N``,
    without cancellation (see :func:`_sigmoid_less`); its derivative is ``sigmoid'(x) / N``."""

    __slots__ = ("t",)
    batched_jvp = True

    def __init__(self, t: Operand) -> None:
        self.t = t

    def forward(self, x: Array) -> Array:
        n = _samples(np.shape(x), "sigmoid_cross_entropy_grad")
        y: Array = _sigmoid_less(x, _targets(self.t, x.shape).astype(x.dtype)) / n
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * sigmoid_slope(x) / len(x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * sigmoid_slope(x) / len(x)


def _shortfall(d: Array | Variable, floor: float) -> Array:
    """How far each value of ``d`` lies below ``floor`` (0 where it does not)."""
    data = d.data if isinstance(d, Variable) else d
    shortfall: Array = np.maximum(data, floor) - data
    return shortfall


def _at_least(d: Tensor, floor: float) -> Tensor:
    """``d`` raised to ``floor`` where it is below, by a constant, so it stays differentiable."""
    shortfall = _shortfall(d, floor)
    return d + shortfall if np.any(shortfall) else d


class BinaryCrossEntropy(Function):
    """``-sum(t log p + (1 - t) log(1 - p)) / N`` for probabilities ``p`` in [0, 1]; as in
    PyTorch, each log is clamped at -100 and ``p (1 - p)`` in the gradient at 1e-12, so that
    ``p`` of exactly 0 or 1 gives a finite loss and gradient."""

    __slots__ = ("t", "targets")
    batched_jvp = True

    def __init__(self, t: Operand) -> None:
        self.t = t

    def forward(self, p: Array) -> Array:
        n = _samples(np.shape(p), "binary_cross_entropy")
        if np.any((p < 0) | (p > 1)):
            raise ValueError("binary_cross_entropy needs probabilities p in [0, 1]")
        self.targets = t = _targets(self.t, p.shape).astype(p.dtype)
        with np.errstate(divide="ignore"):
            log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        y: Array = np.asarray(-np.sum(t * log_p + (1 - t) * log_q) / n)
        return y

    def vjp(self, gy: Tensor, p: Tensor, y: Tensor) -> Tensor:
        return (p - self.targets) / _at_least(p * (1 - p), 1e-12) * (gy / len(p))

    def jvp(self, tp: Tensor, p: Tensor, y: Tensor) -> Tensor:
        slope = (p - self.targets) / _at_least(p * (1 - p), 1e-12)
        ty: Tensor = Sum(tangent_axes(None, tp, p)).apply(slope * tp) / len(p)
        return ty


def softmax_cross_entropy(x: Operand, t: Operand) -> Variable:
    """The cross entropy of the softmax of logits ``x`` (N, C) against integer labels ``t``
    (N,), averaged over the N samples. Labels may be of any real dtype or a Variable, as long
    as they hold integers in [0, C); they get no gradient. Finite for any finite logits."""
    return SoftmaxCrossEntropy(t)(x)


def softmax_cross_entropy_simple(x: Operand, t: Operand) -> Variable:
    """The same loss written with :func:`log_softmax`, indexing and a sum (DeZero's simple
    version takes the log of a clipped softmax instead)."""
    shape = np.shape(_raw(x))
    labels = _class_labels(t, shape, "softmax_cross_entropy_simple")
    n = _samples(shape, "softmax_cross_entropy_simple")
    return -sum(log_softmax(x)[np.arange(n), labels]) / n


def mean_squared_error(x0: Operand, x1: Operand) -> Variable:
    """``sum((x0 - x1) ** 2) / len(x0 - x1)``: DeZero's mean over the first axis (PyTorch's
    ``mse_loss`` divides by the number of elements instead)."""
    return MeanSquaredError()(x0, x1)


def mean_squared_error_simple(x0: Operand, x1: Operand) -> Variable:
    """:func:`mean_squared_error` written with subtraction, a power and a sum."""
    diff = sub(x0, x1)
    return sum(diff**2) / _samples(diff.shape, "mean_squared_error_simple")


def sigmoid_cross_entropy(x: Operand, t: Operand) -> Variable:
    """Binary cross entropy of the logits ``x`` against targets ``t`` (in [0, 1], reshaped to
    ``x``'s shape), summed and divided by ``len(x)``. Finite for any finite logits."""
    return SigmoidCrossEntropy(t)(x)


def sigmoid_cross_entropy_grad(x: Operand, t: Operand) -> Variable:
    """The gradient of :func:`sigmoid_cross_entropy` by the logits ``x``, ``(sigmoid(x) - t) /
    len(x)`` elementwise, without cancellation for any logits and targets (``sigmoid(x) - 1``
    at ``x = 30`` is ``-9.36e-14``, not 0 in float32 or ``-9.35e-14`` in float64); its rule
    is ``sigmoid'(x) / len(x)``. Its reverse and forward rules use it, as DeZero's
    ``get_item`` uses ``GetItemGrad``."""
    return SigmoidCrossEntropyGrad(t)(x)


def binary_cross_entropy(p: Operand, t: Operand) -> Variable:
    """Binary cross entropy of probabilities ``p`` against targets ``t``, summed and divided
    by ``len(p)``; prefer :func:`sigmoid_cross_entropy` on logits, which loses nothing."""
    return BinaryCrossEntropy(t)(p)


def accuracy(y: Operand, t: Operand) -> Variable:
    """The fraction of rows of scores ``y`` (N, C) whose largest score is at the label ``t``;
    not differentiable: a new leaf Variable, as DeZero's."""
    scores = _raw(y)
    labels = _class_labels(t, scores.shape, "accuracy")
    return Variable(np.asarray(np.mean(scores.argmax(axis=1) == labels)))


def _labelled_case(sampler: Sampler) -> Case:
    n, classes = sampler.integer(1, 4), sampler.integer(1, 5)
    t = np.array([sampler.integer(0, classes - 1) for _ in range(n)])
    return Case(((n, classes),), {"t": t})


def _target(sampler: Sampler) -> float:
    """A target in [0, 1]: a quarter (0, 1/2 and 1 are the likeliest), or any of 2 ** 10 + 1."""
    if sampler.boolean():
        return sampler.integer(0, 4) / 4
    return sampler.integer(0, 2**10) / 2**10


def _targets_case(sampler: Sampler) -> Case:
    shape = sampler.shape(min_dims=1, max_dims=2)
    t = np.array([_target(sampler) for _ in range(int(np.prod(shape)))])
    return Case((shape,), {"t": t.reshape(shape)})


def _mse_case(sampler: Sampler) -> Case:
    """Two shapes that broadcast, of at least one dimension together."""
    longer = sampler.shape(min_dims=1, max_dims=2)
    shapes = (longer, reduced_shape(sampler, longer))
    return Case(shapes[::-1] if sampler.boolean() else shapes)


def _reference_softmax_cross_entropy(x: Any, t: Any) -> Any:
    x = np.asarray(x)
    return -np.mean(_reference_log_softmax(x, 1)[np.arange(len(x)), t])


def _reference_mean_squared_error(x0: Any, x1: Any) -> Any:
    diff = np.asarray(x0 - x1)
    return np.sum(diff**2) / len(diff)


def _reference_sigmoid_cross_entropy(x: Any, t: Any) -> Any:
    """Through ``-log sigmoid(x) = logaddexp(0, -x)``, in float64."""
    x = np.asarray(x)
    wide = x.astype(np.float64)
    loss = np.sum(t * np.logaddexp(0, -wide) + (1 - t) * np.logaddexp(0, wide)) / len(x)
    return loss.astype(x.dtype)


def _reference_sigmoid_cross_entropy_grad(x: Any, t: Any) -> Any:
    x = np.asarray(x)
    wide = x.astype(np.float64)
    return ((1 / (1 + np.exp(-wide)) - t) / len(x)).astype(x.dtype)


def _reference_binary_cross_entropy(p: Any, t: Any) -> Any:
    p = np.asarray(p)
    return -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)).astype(p.dtype) / len(p)


PROBABILITY = Domain(0.05, 0.95)

SPECS = [
    OpSpec(
        "softmax_cross_entropy",
        SoftmaxCrossEntropy,
        softmax_cross_entropy,
        _reference_softmax_cross_entropy,
        (ANY,),
        case=_labelled_case,
    ),
    OpSpec(
        "softmax_cross_entropy_simple",
        LogSoftmax,
        softmax_cross_entropy_simple,
        _reference_softmax_cross_entropy,
        (ANY,),
        case=_labelled_case,
        # NOTE: the Richardson oracle's bound on this composite's Hessian-vector product is
        # too small (20x at logits near 6): its second derivatives are checked against mpmath
        # and against softmax_cross_entropy's in tests/unit/test_loss.py instead
        second_order=False,
    ),
    OpSpec(
        "mean_squared_error",
        MeanSquaredError,
        mean_squared_error,
        _reference_mean_squared_error,
        (ANY, ANY),
        case=_mse_case,
    ),
    OpSpec(
        "mean_squared_error_simple",
        Pow,
        mean_squared_error_simple,
        _reference_mean_squared_error,
        (ANY, ANY),
        case=_mse_case,
    ),
    OpSpec(
        "sigmoid_cross_entropy",
        SigmoidCrossEntropy,
        sigmoid_cross_entropy,
        _reference_sigmoid_cross_entropy,
        (ANY,),
        case=_targets_case,
    ),
    OpSpec(
        "sigmoid_cross_entropy_grad",
        SigmoidCrossEntropyGrad,
        sigmoid_cross_entropy_grad,
        _reference_sigmoid_cross_entropy_grad,
        (ANY,),
        case=_targets_case,
    ),
    OpSpec(
        "binary_cross_entropy",
        BinaryCrossEntropy,
        binary_cross_entropy,
        _reference_binary_cross_entropy,
        (PROBABILITY,),
        case=_targets_case,
    ),
]
