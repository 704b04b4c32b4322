"""Activations over an axis: softmax, log_softmax and logsumexp, and DeZero's simple versions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.arithmetic import Div, neg
from tinygrad_ref.ops.elementwise import SIGMOID, Exp, _values, exp
from tinygrad_ref.ops.reduction import Reduction, Sum, _spread, sum
from tinygrad_ref.ops.shape import Axis, normalize_axes, tangent_axes
from tinygrad_ref.spec import (
    ANY,
    BOUNDED,
    Case,
    Domain,
    OpSpec,
    Sampler,
    draw_axis,
    reduction,
    unary,
)


def _shifted(x: Array, axes: tuple[int, ...]) -> tuple[Array, Array]:
    """``x`` minus its largest value over ``axes`` (kept as size 1), and that value: exp of the
    first never overflows, and its largest term is exactly 1."""
    shift = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(shift), shift, 0)
    return x - shift, shift


def _log_sum_exp_shifted(shifted: Array, axes: tuple[int, ...]) -> Array:
    """``log(sum(exp(shifted)))`` as ``log1p`` of the terms besides one largest (exactly 1),
    so that a sum near 1 keeps its digits."""
    top = shifted == 0
    others = np.sum(np.where(top, 0, np.exp(shifted)), axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):  # NOTE: log(0) of an empty sum is -inf, as SciPy's
        ties = np.sum(top, axis=axes, keepdims=True, dtype=shifted.dtype)
        y: Array = np.log1p(others + (ties - 1))
    return y


def _logsumexp(x: Array, axes: tuple[int, ...]) -> Array:
    """``log(sum(exp(x)))`` over ``axes``, kept as size 1, without overflow."""
    shifted, shift = _shifted(x, axes)
    y: Array = _log_sum_exp_shifted(shifted, axes) + shift
    return y


def log_softmax_of(x: Array, axes: tuple[int, ...]) -> Array:
    """``x - logsumexp(x)`` over ``axes``, computed from the shifted ``x`` so that logits of
    1e4 lose nothing to the rounding of a large logsumexp."""
    shifted, _ = _shifted(x, axes)
    y: Array = shifted - _log_sum_exp_shifted(shifted, axes)
    return y


def _exponentials(x: Tensor, axis: Axis) -> tuple[Tensor, Array]:
    """``exp(x - max(x))`` over ``axis``, and where ``x`` is largest (1, else 0)."""
    values = _values(x)
    axes = normalize_axes(axis, np.shape(values))
    # NOTE: the initial value lets an empty axis through (with nothing to be largest).
    high = np.max(values, axis=axes, keepdims=True, initial=-np.inf)
    largest = (values == high).astype(values.dtype)
    return Exp().apply(x - high), largest


def _sums_of_others(t: Tensor, largest: Array, axis: Axis) -> tuple[Tensor, Tensor]:
    """The sum of ``t`` over ``axis``, and at each element the sum of the others: at the
    largest logits summed from them, not as the sum less a term nearly as large."""
    total = Sum(axis, keepdims=True).apply(t)
    others = Sum(axis, keepdims=True).apply(t * (1 - largest))
    # NOTE: at a tie for the largest, the sum over the tied ones less t does not cancel.
    tied = Sum(axis, keepdims=True).apply(t * largest) - t
    return total, (total - t) * (1 - largest) + (others + tied) * largest


def _less_softmax_mean(t: Tensor, x: Tensor, axis: Axis) -> Tensor:
    """``t - sum(softmax(x) * t)`` over ``axis``: log_softmax's derivative along ``t``.

    NOTE: as (t (S - e) - (sum(e t) - e t)) / S, with e the shifted exponentials and S their
    sum; at the largest logits both differences are summed from the others, so nothing cancels
    where softmax is near 1."""
    e, largest = _exponentials(x, axis)
    s, complement = _sums_of_others(e, largest, axis)
    _, others = _sums_of_others(e * t, largest, tangent_axes(axis, t, x))
    centered: Tensor = (t * complement - others) / s
    return centered


class Softmax(Function):
    __slots__ = ("axis",)
    batched_jvp = True

    def __init__(self, axis: Axis = 1) -> None:
        self.axis = axis

    def forward(self, x: Array) -> Array:
        axes = normalize_axes(self.axis, np.shape(x))
        e = np.exp(_shifted(x, axes)[0])
        y: Array = e / np.sum(e, axis=axes, keepdims=True)
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: y * (gy - sum(y * gy)), without its cancellation where y is near 1.
        return y * _less_softmax_mean(gy, x, self.axis)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: the vjp's formula: the Jacobian diag(y) - y yᵀ is symmetric.
        return y * _less_softmax_mean(tx, x, self.axis)


class LogSoftmax(Function):
    __slots__ = ("axis",)
    batched_jvp = True

    def __init__(self, axis: Axis = 1) -> None:
        self.axis = axis

    def forward(self, x: Array) -> Array:
        return log_softmax_of(x, normalize_axes(self.axis, np.shape(x)))

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: gy - softmax * sum(gy) as (gy * (S - e) - e * (sum(gy) - gy)) / S, with e the
        # shifted exponentials and S their sum; S - e at the largest logits (e = 1) is summed
        # from the others, so nothing cancels where softmax is near 1 (the label of a confident
        # classifier)
        e, largest = _exponentials(x, self.axis)
        s, complement = _sums_of_others(e, largest, self.axis)
        gx: Tensor = (gy * complement - e * (Sum(self.axis, keepdims=True).apply(gy) - gy)) / s
        return gx

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _less_softmax_mean(tx, x, self.axis)


class LogSumExp(Reduction):
    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        axes = normalize_axes(self.axis, np.shape(x))
        y = _logsumexp(x, axes)
        return y if self.keepdims else np.squeeze(y, axis=axes)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: the softmax of x itself, not exp(x - y): y of 1e4 is rounded to 1e4's ulp.
        softmax = Softmax(normalize_axes(self.axis, x.shape)).apply(x)
        return _spread(gy, x, self.axis, self.keepdims) * softmax

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        softmax = Softmax(normalize_axes(self.axis, x.shape)).apply(x)
        return Sum(tangent_axes(self.axis, tx, x), self.keepdims).apply(softmax * tx)


def softmax(x: Operand, axis: Axis = 1) -> Variable:
    """``exp(x) / sum(exp(x))`` over ``axis`` (DeZero's default 1, an int, a tuple or
    ``None`` for all), computed from ``x - max(x)`` so that large logits do not overflow."""
    return Softmax(axis)(x)


def log_softmax(x: Operand, axis: Axis = 1) -> Variable:
    """``log(softmax(x, axis))``, computed as ``x - logsumexp(x)``: finite for any finite
    logits, where the log of a softmax that underflowed to 0 would be ``-inf``."""
    return LogSoftmax(axis)(x)


def logsumexp(x: Operand, axis: Axis = None, *, keepdims: bool = False) -> Variable:
    """``log(sum(exp(x)))`` over ``axis`` without overflow, as ``scipy.special.logsumexp``."""
    return LogSumExp(axis, keepdims)(x)


def softmax_simple(x: Operand, axis: Axis = 1) -> Variable:
    """DeZero's softmax written with exp, sum and division: it overflows for logits beyond
    about 700 (88 in float32); :func:`softmax` does not."""
    e = exp(x)
    return e / sum(e, axis, keepdims=True)


def sigmoid_simple(x: Operand) -> Variable:
    """DeZero's ``1 / (1 + exp(-x))`` written with its primitives."""
    return 1 / (1 + exp(neg(x)))


def _reference_log_sum(x: Any, axes: tuple[int, ...]) -> tuple[Any, Any]:
    """NumPy's: the largest value, and ``log1p`` of the other terms relative to it."""
    high = np.max(x, axis=axes, keepdims=True)
    rest = np.sum(np.exp(x - high), axis=axes, keepdims=True, where=x != high) + (
        np.sum(x == high, axis=axes, keepdims=True, dtype=x.dtype) - 1
    )
    return high, np.log1p(rest)


def _reference_logsumexp(x: Any, axis: Axis, keepdims: bool) -> Any:
    x = np.asarray(x)
    axes = normalize_axes(axis, x.shape)
    high, log_sum = _reference_log_sum(x, axes)
    y = high + log_sum
    return y if keepdims else np.squeeze(y, axis=axes)


def _reference_softmax(x: Any, axis: Axis) -> Any:
    x = np.asarray(x)
    axes = normalize_axes(axis, x.shape)
    e = np.exp(x - np.max(x, axis=axes, keepdims=True))
    return e / np.sum(e, axis=axes, keepdims=True)


def _reference_softmax_simple(x: Any, axis: Axis) -> Any:
    e = np.exp(np.asarray(x))
    return e / np.sum(e, axis=normalize_axes(axis, e.shape), keepdims=True)


def _reference_log_softmax(x: Any, axis: Axis) -> Any:
    x = np.asarray(x)
    high, log_sum = _reference_log_sum(x, normalize_axes(axis, x.shape))
    return (x - high) - log_sum


def _axis_case(sampler: Sampler) -> Case:
    shape = sampler.shape()
    return Case((shape,), {"axis": draw_axis(sampler, len(shape))})


SPECS = [
    OpSpec("softmax", Softmax, softmax, _reference_softmax, (ANY,), case=_axis_case),
    OpSpec("log_softmax", LogSoftmax, log_softmax, _reference_log_softmax, (ANY,), case=_axis_case),
    reduction("logsumexp", LogSumExp, logsumexp, (), reference=_reference_logsumexp, method=False),
    OpSpec(
        "softmax_simple",
        Exp,
        softmax_simple,
        _reference_softmax_simple,
        (ANY,),
        case=_axis_case,
        # NOTE: e / sum(e) differentiated twice cancels by the ratio of the largest e to the
        # others (forward over reverse: 66 eps of its terms at logits [8.75, 0, 0, 0], beyond
        # the 64 of any second derivative): its Hessian is checked against mpmath, to that
        # ratio's share of rounding, in tests/unit/test_activation.py instead
        second_order=False,
    ),
    # NOTE: the naive formula's derivative squares 1 + exp(-x), which overflows float32 below
    # -44: its accuracy domain ends there (sigmoid itself has the whole float range).
    unary(
        "sigmoid_simple",
        Div,
        sigmoid_simple,
        lambda x: 1 / (1 + np.exp(-x)),
        BOUNDED,
        *SIGMOID,
        defined=Domain(-44.0, math.inf),
        analytic=False,
    ),
]
