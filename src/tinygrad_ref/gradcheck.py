"""Check analytic gradients against central differences.

``fn`` takes the inputs and returns a Variable. Its output is reduced to a number by a fixed
random weighting ``f(inputs) = sum(w * fn(*inputs))``, so that one reverse pass (seeded with
``w``) gives the analytic gradient of ``f`` for every input, and central differences of ``f``
give the numerical one. Only Variable inputs are differentiated; other inputs are constants.
The numerical side runs in float64 whatever the inputs' dtype, and the inputs are never
modified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import using_config
from tinygrad_ref.core import Operand, Variable

Float64Array = npt.NDArray[np.float64]

Tolerances = dict[np.dtype[Any], tuple[float, float]]

TOLERANCES: Tolerances = {
    np.dtype(np.float64): (1e-6, 1e-5),
    np.dtype(np.float32): (1e-5, 1e-4),
    np.dtype(np.float16): (1e-2, 1e-2),
}
"""Default (atol, rtol) of first derivatives by the working precision: the less precise of an
input's and the output's dtype. A pair ``a``, ``n`` passes when
``|a - n| <= atol + rtol * |n|``. float64 is limited by the central differences (computed in
float64 for every dtype), float32 by the analytic side's own rounding."""

SECOND_ORDER_TOLERANCES: Tolerances = {
    **TOLERANCES,
    np.dtype(np.float32): (1e-4, 1e-3),
}
"""Defaults for second derivatives: a float32 one goes through about twice as many float32
operations, often with cancellation."""

FAST_DIRECTIONS = 3
"""How many random directions ``fast=True`` checks."""


def oracle_reach(x: npt.ArrayLike) -> Float64Array:
    """How far from each element of the input array ``x`` the default numerical oracle
    evaluates the function (its widest step): strategies keep a non-smooth op's operands
    farther than this from its kinks, so that no evaluation crosses one."""
    values = np.asarray(x, dtype=np.float64)
    reach: Float64Array = np.cbrt(np.finfo(np.float64).eps) * np.maximum(1.0, np.abs(values))
    return reach


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one."""


@dataclass(frozen=True)
class GradcheckReport:
    """How far the analytic gradients are from the numerical ones."""

    max_abs_error: float
    """The largest ``|analytic - numerical|``."""
    max_rel_error: float
    """The largest ``|analytic - numerical| / max(|analytic|, |numerical|)`` over the pairs
    larger than their absolute tolerance."""
    failure: str | None
    """What the first pair out of tolerance was, or ``None`` if all passed."""

    def merge(self, other: GradcheckReport) -> GradcheckReport:
        return GradcheckReport(
            max(self.max_abs_error, other.max_abs_error),
            max(self.max_rel_error, other.max_rel_error),
            self.failure or other.failure,
        )


def _working_dtype(*dtypes: np.dtype[Any]) -> np.dtype[Any]:
    """The least precise of ``dtypes``."""
    return max(dtypes, key=lambda dtype: np.finfo(dtype).eps)


def _weights(shape: tuple[int, ...], seed: int) -> Float64Array:
    """Fixed random weights of magnitude 0.5 to 1.5 and random sign: no output is ignored."""
    rng = np.random.default_rng(seed)
    magnitudes = rng.uniform(0.5, 1.5, size=shape)
    return np.where(rng.random(size=shape) < 0.5, -magnitudes, magnitudes)


def _call(fn: Callable[..., Variable], inputs: Sequence[Any]) -> Variable:
    with using_config("enable_backprop", True):
        y = fn(*inputs)
    if not isinstance(y, Variable):
        raise TypeError(f"fn must return a Variable, got {type(y).__name__}")
    return y


def _refuse_empty(inputs: Sequence[Operand]) -> None:
    """The ValueError every other use of an empty ``Variable(None)`` raises."""
    for x in inputs:
        if isinstance(x, Variable) and x.data is None:
            raise ValueError(f"{x!r} is empty; give it data before using it")


def _variables(inputs: Sequence[Operand]) -> dict[int, Variable]:
    """The Variable inputs by position: the ones that are differentiated."""
    variables = {i: x for i, x in enumerate(inputs) if isinstance(x, Variable)}
    if not variables:
        raise ValueError("nothing to check: no input is a Variable")
    return variables


class _Objective:
    """``sum(w * fn(*inputs))`` in float64, as a function of the Variable inputs' values."""

    def __init__(self, fn: Callable[..., Variable], inputs: Sequence[Operand], seed: int) -> None:
        self.fn = fn
        self.inputs = list(inputs)
        self.variables = _variables(inputs)
        self.points = [np.array(x.data, dtype=np.float64) for x in self.variables.values()]
        y = self.output(self.points)
        self.output_dtype = y.dtype
        self.weights = _weights(y.shape, seed)

    def output(self, points: Sequence[Float64Array]) -> Variable:
        args = list(self.inputs)
        for i, point in zip(self.variables, points, strict=True):
            args[i] = Variable(point)
        return _call(self.fn, args)

    def value(self, points: Sequence[Float64Array]) -> float:
        y = self.output(points).data
        return float(np.sum(np.asarray(y, dtype=np.float64) * self.weights))

    def step(self, x: Float64Array | float, eps: float | None) -> Any:
        """Central-difference steps: ``cbrt(machine eps) * max(1, |x|)`` unless ``eps`` is given.

        The machine eps is that of the output computed from float64 inputs: float64, unless
        ``fn`` itself rounds to a lower precision."""
        if eps is not None:
            return np.full_like(np.asarray(x, dtype=np.float64), eps)
        unit = np.cbrt(np.finfo(self.output_dtype).eps)
        return unit * np.maximum(1.0, np.abs(x))


def _numerical(objective: _Objective, eps: float | None) -> list[Float64Array]:
    points = [point.copy() for point in objective.points]
    grads = []
    for point in points:
        grad = np.zeros_like(point)
        flat = point.reshape(-1)
        for k in range(flat.size):
            x = flat[k]
            h = float(objective.step(x, eps))
            flat[k] = x + h
            above = objective.value(points)
            flat[k] = x - h
            below = objective.value(points)
            flat[k] = x
            grad.reshape(-1)[k] = (above - below) / ((x + h) - (x - h))
        grads.append(grad)
    return grads


def numerical_grad(
    fn: Callable[..., Variable], *inputs: Operand, eps: float | None = None, seed: int = 0
) -> tuple[Float64Array | None, ...]:
    """Central-difference gradients of ``sum(w * fn(*inputs))`` for the fixed random weights
    ``w`` drawn from ``seed``: one float64 array per Variable input, ``None`` for constants.

    The step is ``cbrt(machine eps) * max(1, |x|)`` per element unless ``eps`` is given."""
    _refuse_empty(inputs)
    objective = _Objective(fn, inputs, seed)
    grads = iter(_numerical(objective, eps))
    return tuple(next(grads) if isinstance(x, Variable) else None for x in inputs)


def _analytic(
    fn: Callable[..., Variable], inputs: Sequence[Operand], objective: _Objective
) -> tuple[list[Float64Array], list[str]]:
    """The gradients one reverse pass gives, on fresh copies of the inputs, as float64, with
    a message for each that has the wrong shape or dtype."""
    fresh = [Variable(x.data.copy()) if isinstance(x, Variable) else x for x in inputs]
    y = _call(fn, fresh)
    y.grad = Variable(objective.weights.astype(y.dtype))
    y.backward()
    grads, problems = [], []
    for i in objective.variables:
        x = fresh[i]
        assert isinstance(x, Variable)  # NOTE: a fresh copy of a Variable input
        g = x.grad
        if g is None:
            grads.append(np.zeros(x.shape))
            continue
        if g.shape != x.shape or g.dtype != x.dtype:
            problems.append(
                f"the gradient of input {i} has shape {g.shape} and dtype {g.dtype}; "
                f"its input has shape {x.shape} and dtype {x.dtype}"
            )
        grads.append(np.asarray(g.data, dtype=np.float64))
    return grads, problems


def _tolerance(
    table: Tolerances,
    input_dtype: np.dtype[Any],
    output_dtype: np.dtype[Any],
    atol: float | None,
    rtol: float | None,
) -> tuple[float, float]:
    default_atol, default_rtol = table[_working_dtype(input_dtype, output_dtype)]
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


def _compare(
    analytic: Float64Array,
    numerical: Float64Array,
    atol: float,
    rtol: float,
    where: str,
    scale: Float64Array | None = None,
) -> GradcheckReport:
    """Pairs pass when ``|a - n| <= atol + rtol * scale``; ``scale`` is ``|n|`` by default."""
    if analytic.shape != numerical.shape:
        return GradcheckReport(
            float("inf"),
            float("inf"),
            f"{where}: analytic gradient has shape {analytic.shape}, numerical {numerical.shape}",
        )
    diff = np.abs(analytic - numerical)
    tolerance = atol + rtol * (np.abs(numerical) if scale is None else scale)
    size = np.maximum(np.abs(analytic), np.abs(numerical))
    large = size > atol
    max_abs = float(diff.max(initial=0.0))
    max_rel = float((diff[large] / size[large]).max(initial=0.0))
    bad = ~(diff <= tolerance)  # NOTE: catches NaN too
    if not bad.any():
        return GradcheckReport(max_abs, max_rel, None)
    k = tuple(int(i) for i in np.argwhere(bad)[0])
    at = f" at index {k}" if k else ""
    failure = (
        f"{where}{at}: analytic {float(analytic[k])!r}, "
        f"numerical {float(numerical[k])!r}, "
        f"|difference| {diff[k]:.3g} > tolerance {tolerance[k]:.3g} "
        f"(atol {atol:g} + rtol {rtol:g} * {'|numerical|' if scale is None else 'scale'})"
    )
    return GradcheckReport(max_abs, max_rel, failure)


def check_gradients(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
) -> GradcheckReport:
    """Compare the analytic gradients of ``fn`` at ``inputs`` with central differences and
    report the largest errors; :func:`gradcheck` raises on the first failure instead.
    ``atol`` and ``rtol`` default to :data:`TOLERANCES` for the working precision.

    With ``fast=True``, instead of one numerical derivative per element (``2 * size``
    evaluations of ``fn``), a few random signed directions ``v`` are checked: the analytic
    ``sum(grad * v)`` against the numerical derivative along ``v`` (the dot-product test of
    JAX and HIPS autograd), in ``O(1)`` evaluations."""
    _refuse_empty(inputs)
    return _check(fn, inputs, eps, atol, rtol, fast, seed, TOLERANCES)


def _check(
    fn: Callable[..., Variable],
    inputs: Sequence[Operand],
    eps: float | None,
    atol: float | None,
    rtol: float | None,
    fast: bool,
    seed: int,
    table: Tolerances,
) -> GradcheckReport:
    objective = _Objective(fn, inputs, seed)
    analytic, problems = _analytic(fn, inputs, objective)
    report = GradcheckReport(0.0, 0.0, problems[0] if problems else None)
    dtypes = [x.dtype for x in objective.variables.values()]
    if fast:
        tol = _tolerance(table, _working_dtype(*dtypes), objective.output_dtype, atol, rtol)
        return report.merge(_check_directions(objective, analytic, eps, *tol, seed))
    for i, a, n, dtype in zip(
        objective.variables, analytic, _numerical(objective, eps), dtypes, strict=True
    ):
        tol = _tolerance(table, dtype, objective.output_dtype, atol, rtol)
        report = report.merge(_compare(a, n, *tol, where=f"input {i}"))
    return report


def _check_directions(
    objective: _Objective,
    analytic: list[Float64Array],
    eps: float | None,
    atol: float,
    rtol: float,
    seed: int,
) -> GradcheckReport:
    rng = np.random.default_rng(seed + 1)
    largest = max(float(np.abs(p).max(initial=0.0)) for p in objective.points)
    h = float(objective.step(largest, eps))
    report = GradcheckReport(0.0, 0.0, None)
    for d in range(FAST_DIRECTIONS):
        directions = [rng.choice([-1.0, 1.0], size=p.shape) for p in objective.points]
        above = objective.value(
            [p + h * v for p, v in zip(objective.points, directions, strict=True)]
        )
        below = objective.value(
            [p - h * v for p, v in zip(objective.points, directions, strict=True)]
        )
        numerical = (above - below) / (2 * h)
        terms = [g * v for g, v in zip(analytic, directions, strict=True)]
        value = sum(float(t.sum()) for t in terms)
        # NOTE: the rounding errors of single elements add up along a random direction like a
        # random walk, so the tolerance scales with the norm of the terms, not with their
        # (possibly cancelling) sum; a larger scale would let one wrong element through.
        scale = max(abs(numerical), math.sqrt(sum(float(np.square(t).sum()) for t in terms)))
        report = report.merge(
            _compare(
                np.array(value),
                np.array(numerical),
                atol,
                rtol,
                where=f"direction {d}",
                scale=np.array(scale),
            )
        )
    return report


def gradcheck(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
) -> bool:
    """``True`` if the analytic gradients of ``fn`` at ``inputs`` match central differences;
    else raises :class:`GradcheckError` naming the input, the element, both values and the
    tolerance. See :func:`check_gradients` for the arguments."""
    return _passed(
        check_gradients(fn, *inputs, eps=eps, atol=atol, rtol=rtol, fast=fast, seed=seed)
    )


def _passed(report: GradcheckReport) -> bool:
    if report.failure is not None:
        raise GradcheckError(report.failure)
    return True


def _gradient_of(fn: Callable[..., Variable], index: int, seed: int) -> Callable[..., Variable]:
    """The function ``inputs -> d sum(w * fn(*inputs)) / d inputs[index]``, recorded as a graph
    so that it can be differentiated again."""

    def gradient(*inputs: Any) -> Variable:
        y = _call(fn, inputs)
        y.grad = Variable(_weights(y.shape, seed).astype(y.dtype))
        y.backward(create_graph=True)
        x = inputs[index]
        g = x.grad if x.grad is not None else Variable(np.zeros_like(x.data))
        for v in inputs:
            if isinstance(v, Variable):
                v.cleargrad()
        return g

    return gradient


def check_second_gradients(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
) -> GradcheckReport:
    """:func:`check_gradients` for the gradient of every Variable input, computed with
    ``create_graph=True``: the second derivatives of ``fn``. ``atol`` and ``rtol`` default to
    :data:`SECOND_ORDER_TOLERANCES`."""
    _refuse_empty(inputs)
    report = GradcheckReport(0.0, 0.0, None)
    for i in _variables(inputs):
        inner = _check(
            _gradient_of(fn, i, seed),
            inputs,
            eps,
            atol,
            rtol,
            fast,
            seed + 1,
            SECOND_ORDER_TOLERANCES,
        )
        failure = None if inner.failure is None else f"gradient of input {i}, {inner.failure}"
        report = report.merge(GradcheckReport(inner.max_abs_error, inner.max_rel_error, failure))
    return report


def gradgradcheck(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
) -> bool:
    """:func:`gradcheck` for second derivatives: ``True``, or :class:`GradcheckError`."""
    return _passed(
        check_second_gradients(fn, *inputs, eps=eps, atol=atol, rtol=rtol, fast=fast, seed=seed)
    )
