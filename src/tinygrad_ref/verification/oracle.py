"""The numerical oracle: derivatives of a function by finite differences or the complex step,
each with a bound on its error.

``fn`` takes the inputs and returns a Variable (or, for the complex step, a NumPy array). Its
output is reduced to a number by a fixed random weighting ``f(inputs) = sum(w * fn(*inputs))``.
Only Variable inputs are differentiated; other inputs are constants. The numerical side runs in
float64 whatever the inputs' dtype, and the inputs are never modified.

Two oracles give each numerical derivative together with a bound on its error:

* ``"richardson"`` (the default, for any ``fn``): central differences over the shrinking steps
  ``h, h/2, h/4, ...`` with ``h = cbrt(eps) * max(|x_k|, rms(x))`` per element, extrapolated
  (Ridders' method); the bound is the extrapolation table's error estimate plus the rounding
  noise of the evaluations, ``eps * sum(|w| * |y|) / h``.
* ``"complex"`` (for a NumPy function that accepts complex input and is analytic, such as a
  registered op's ``reference``): ``Im f(x + i*h) / h``, exact to rounding.

:mod:`tinygrad_ref.verification.checks` compares analytic gradients against them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import using_config
from tinygrad_ref.core import Operand, Variable

Float64Array = npt.NDArray[np.float64]
Method = Literal["richardson", "complex"]

EPS64 = float(np.finfo(np.float64).eps)

RATIO = 2.0
"""Each step of the Richardson sequence is the previous one divided by this."""
LEVELS = 6
"""The most steps the Richardson sequence takes (``h`` down to ``h / 2**5``)."""
TRUNCATION_SAFETY = 10.0
"""The truncation error of an extrapolated entry is taken as this many times the difference
between it and its neighbours in the table: that difference tracks the error only to within an
order of magnitude (it underestimated it by up to 2x for softmax's Hessian)."""
ERROR_SAFETY = 4.0
"""The oracle's error bound is its table's estimate (truncation and rounding) times this: the
estimate missed the true error by up to 1.2x on the registry's ops (log1p's Hessian at 0), and
by 2.7x along a direction (the derivative of softmax_simple's gradient at logits [8, 0] along
[8, 2**-15], against 40-digit mpmath: tests/unit/test_oracle.py)."""
TARGET = 1e-9
"""The sequence stops as soon as an estimate's error bound is within this fraction of its
value (or of the gradient's scale), or when a smaller step no longer improves the bound."""
NOISE_ULPS = 8.0
"""How many rounding errors each evaluation of the objective's terms may carry."""
COMPLEX_STEP = 1e-20
"""The imaginary step of the complex-step oracle, relative to each element's scale."""
ELEMENT_SHARE = float(np.cbrt(EPS64))
"""The share of its array's rms below which an element's step scale does not go."""
LEAST_SCALE = float(np.finfo(np.float64).smallest_normal) / EPS64
"""The least step scale: steps stay normal numbers, far from underflow."""


def step_scale(x: npt.ArrayLike, at: npt.ArrayLike | None = None) -> Float64Array:
    """The scale on which each element of the array ``x`` is perturbed:
    ``max(|x_k|, cbrt(eps) * rms(x))``, or 1 where both are 0. An element much smaller than
    the others keeps a step of its own size, which does not cross a pole at 0 (``1/x``); the
    rms share only gives a zero element a step. With ``at``, the scale the values ``at`` would
    get as elements of ``x``."""
    values = np.abs(np.asarray(x, dtype=np.float64))
    with np.errstate(under="ignore", over="ignore"):
        rms = float(np.sqrt(np.mean(np.square(values)))) if values.size else 0.0
    targets = values if at is None else np.abs(np.asarray(at, dtype=np.float64))
    scale: Float64Array = np.maximum(targets, ELEMENT_SHARE * rms)
    return np.where(scale > 0, np.maximum(scale, LEAST_SCALE), 1.0)


def oracle_reach(
    x: npt.ArrayLike, dtype: npt.DTypeLike = np.float64, at: npt.ArrayLike | None = None
) -> Float64Array:
    """How far from each element of the input array ``x`` the default numerical oracle
    evaluates the function (its widest step, whose sequence only shrinks from there):
    strategies keep a non-smooth op's operands farther than this from its kinks, so that no
    evaluation crosses one. ``dtype`` is that of ``fn``'s output from float64 inputs. With
    ``at``, the reach at the values ``at`` (kink points) were they elements of ``x``."""
    targets = np.asarray(x if at is None else at, dtype=np.float64)
    # NOTE: plus the spacing at x: x + h is rounded
    reach: Float64Array = np.cbrt(np.finfo(dtype).eps) * step_scale(x, at) + np.spacing(
        np.abs(targets)
    )
    return reach


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


@dataclass(frozen=True)
class Estimate:
    """Numerical derivatives and a bound on each one's error."""

    value: Float64Array
    error: Float64Array


class _Objective:
    """``fn`` in float64 as a function of the Variable inputs' values, weighted by ``w``."""

    def __init__(
        self,
        fn: Callable[..., Any],
        inputs: Sequence[Operand],
        seed: int,
        raw: bool = False,
        floor: float = 0.0,
        along_direction: bool = False,
    ) -> None:
        self.fn = fn
        self.raw = raw
        self.along_direction = along_direction
        """The one variable moves every input along a direction: then an output that did not
        change had its change rounded away, and keeps its rounding noise."""
        """``fn`` takes NumPy arrays (complex ones for the complex step), not Variables."""
        self.inputs = list(inputs)
        self.variables = _variables(inputs)
        self.points = [np.array(x.data, dtype=np.float64) for x in self.variables.values()]
        y = self._evaluate(self.points)
        self.output_dtype = y.dtype if np.issubdtype(y.dtype, np.floating) else np.dtype("f8")
        self.eps = float(np.finfo(self.output_dtype).eps)
        constants = [
            np.asarray(x).dtype
            for i, x in enumerate(inputs)
            if i not in self.variables and np.issubdtype(np.asarray(x).dtype, np.floating)
        ]
        self.rounding_dtype = _working_dtype(self.output_dtype, *constants)
        """The least precise dtype the computation may round to: its output's, or that of a
        constant operand (a float32 constant's arithmetic, such as ``c - 1``, is float32)."""
        self.weights = _weights(y.shape, seed)
        magnitudes = np.abs(np.asarray(y.real, dtype=np.float64))
        self.magnitude = float(np.abs(self.weights * magnitudes).max(initial=0.0))
        """The largest weighted output: a scale of the objective's terms."""
        # NOTE: an output near 0 is usually the cancellation of terms of the size of the
        # largest outputs (the mean of 0, 3 and -3): its rounding is theirs
        self.floor = max(floor, float(magnitudes.max(initial=0.0)))
        """The least magnitude of the terms each output is computed from: the largest output,
        or, for a gradient, the outer function's values over the scale, when larger."""

    def _evaluate(self, points: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        args = list(self.inputs)
        for i, point in zip(self.variables, points, strict=True):
            args[i] = point if self.raw else Variable(point)
        with np.errstate(all="ignore"):
            if self.raw:
                return np.asarray(self.fn(*args))
            return _call(self.fn, args).data

    def output(self, points: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        # NOTE: a copy: a view op's output shares memory with the point, which moves next
        y = self._evaluate(points)
        return np.array(y) if self.raw else np.array(y, dtype=np.float64)


Central = Callable[[float], tuple[Float64Array, Float64Array]]
"""A central difference at a fraction of the starting step: its value and rounding noise."""


def _difference(
    objective: _Objective,
    y_above: npt.NDArray[Any],
    y_below: npt.NDArray[Any],
    width: float,
    weighted: bool,
) -> tuple[Float64Array, Float64Array]:
    """``(y_above - y_below) / width`` (weighted and summed if ``weighted``) and a bound on its
    rounding noise: :data:`NOISE_ULPS` rounding errors of each output's terms, on each side,
    for the outputs that changed (the others do not depend on the element, or all of them
    if none changed: then the change may have been rounded away)."""
    # NOTE: at least the smallest normal number: an output may have underflowed
    floor = max(objective.floor, float(np.finfo(objective.output_dtype).smallest_normal))
    terms = np.maximum(np.abs(y_above), floor) + np.maximum(np.abs(y_below), floor)
    changed = y_above != y_below
    if changed.any() and not objective.along_direction:
        terms = terms * changed
    with np.errstate(all="ignore"):
        noise = NOISE_ULPS * objective.eps * terms / width
        diff = (y_above - y_below) / width
        if not weighted:
            return diff, noise
        w = objective.weights
        # NOTE: the rounding errors of distinct outputs are independent, so they add like
        # random errors, as the root of their summed squares (Higham and Mary's bound)
        return np.asarray(np.sum(w * diff)), np.asarray(_root_sum_square(w * noise))


def _root_sum_square(x: Float64Array) -> float:
    largest = float(np.abs(x).max(initial=0.0))
    if largest == 0 or not np.isfinite(largest):
        return largest
    return largest * float(np.sqrt(np.sum(np.square(x / largest))))


def _finite(value: Float64Array) -> bool:
    return bool(np.all(np.isfinite(value)))


def _extrapolate(central: Central, levels: int, floor: float) -> Estimate:
    """Ridders' method: central differences at steps ``h / RATIO**i``, extrapolated with
    Richardson's table; each entry's error is estimated from its neighbours in the table, plus
    the rounding noise carried through the table. Keeps the best estimate per element, and
    stops when it is within :data:`TARGET`, when rounding noise dominates it (smaller steps
    only add noise), or when a smaller step made it worse (Ridders' rule)."""
    previous: list[Float64Array] = []
    previous_noise: list[Float64Array] = []
    best: _Entry | None = None
    for i in range(levels):
        d, noise = central(RATIO**-i)
        row, row_noise = [d], [noise]
        row_best: _Entry | None = None
        for j in range(1, i + 1):
            factor = RATIO ** (2 * j) - 1
            value = row[j - 1] + (row[j - 1] - previous[j - 1]) / factor
            carried = row_noise[j - 1] * (1 + 1 / factor) + previous_noise[j - 1] / factor
            truncation = TRUNCATION_SAFETY * np.maximum(
                np.abs(value - row[j - 1]), np.abs(value - previous[j - 1])
            )
            truncation = np.where(np.isnan(value), np.inf, truncation)
            row_best = _Entry(value, truncation, carried).better(row_best)
            row.append(value)
            row_noise.append(carried)
        previous, previous_noise = row, row_noise
        if row_best is None:
            continue
        if best is not None and bool(np.all(row_best.error > 2 * best.error)):
            break
        best = row_best.better(best)
        if bool(np.all(best.truncation <= best.noise)) or bool(
            np.all(best.error <= TARGET * np.maximum(np.abs(best.value), floor))
        ):
            break
    if best is None:
        d, noise = central(1.0)
        return Estimate(d, np.full_like(d, np.inf))
    return Estimate(best.value, ERROR_SAFETY * best.error)


@dataclass(frozen=True)
class _Entry:
    """An entry of the extrapolation table: its value, truncation error and rounding noise."""

    value: Float64Array
    truncation: Float64Array
    noise: Float64Array

    @property
    def error(self) -> Float64Array:
        error: Float64Array = self.truncation + self.noise
        return error

    def better(self, other: _Entry | None) -> _Entry:
        """Per element, whichever of ``self`` and ``other`` has the smaller error."""
        if other is None:
            return self
        take = self.error < other.error
        return _Entry(
            np.where(take, self.value, other.value),
            np.where(take, self.truncation, other.truncation),
            np.where(take, self.noise, other.noise),
        )


def _inside_domain(central: Central) -> Central:
    """``central`` at the largest of ``1, 1/2, 1/4, ...`` times its step at which every
    evaluation is finite: steps never leave the function's domain when a smaller one would do.
    """
    shrink = 1.0
    first = central(shrink)
    for _ in range(60):
        if _finite(first[0]):
            break
        shrink /= RATIO
        first = central(shrink)
    else:
        shrink = 1.0

    def inside(fraction: float) -> tuple[Float64Array, Float64Array]:
        return first if fraction == 1.0 else central(fraction * shrink)

    return inside


def _element_steps(objective: _Objective, eps: float | None) -> list[Float64Array]:
    """The starting step of every element: a fixed ``eps``, or ``cbrt(eps)`` of the
    objective's output dtype times the element's :func:`step_scale`."""
    if eps is not None:
        return [np.full_like(point, eps) for point in objective.points]
    unit = float(np.cbrt(objective.eps))
    return [unit * step_scale(point) for point in objective.points]


def _per_element(
    objective: _Objective,
    eps: float | None,
    method: Method,
    weighted: bool,
    floors: Sequence[float] | None = None,
) -> list[Estimate]:
    """An estimate of the derivative of the objective with respect to every element of every
    Variable input: the weighted objective's gradient, or (``weighted=False``) a column of the
    Jacobian per element, shaped ``output shape + input shape``."""
    steps = _element_steps(objective, eps)
    work = [point.copy() for point in objective.points]
    estimates = []
    for number, (point, step) in enumerate(zip(objective.points, steps, strict=True)):
        values, errors = [], []
        floor = 0.0 if floors is None else floors[number]
        for k in range(point.size):
            if method == "complex":
                estimate = _complex_element(objective, number, k, weighted)
            else:
                central = _inside_domain(
                    _element_central(objective, work, number, k, step, weighted)
                )
                estimate = _extrapolate(central, LEVELS, floor)
            values.append(estimate.value)
            errors.append(estimate.error)
        shape = () if weighted else objective.weights.shape
        estimates.append(_stack(values, errors, shape, point.shape))
    return estimates


def _stack(
    values: list[Float64Array],
    errors: list[Float64Array],
    output_shape: tuple[int, ...],
    input_shape: tuple[int, ...],
) -> Estimate:
    def arrange(parts: list[Float64Array]) -> Float64Array:
        flat = np.array(parts, dtype=np.float64).reshape((len(parts), *output_shape))
        moved = np.moveaxis(flat, 0, -1) if output_shape else flat
        return np.asarray(moved.reshape((*output_shape, *input_shape)), dtype=np.float64)

    return Estimate(arrange(values), arrange(errors))


def _element_central(
    objective: _Objective,
    work: list[Float64Array],
    number: int,
    k: int,
    step: Float64Array,
    weighted: bool,
) -> Central:
    """Central differences in element ``k`` of input ``number``, evaluated on ``work``, a copy
    of the points that is restored after each evaluation."""
    flat = work[number].reshape(-1)

    def central(fraction: float) -> tuple[Float64Array, Float64Array]:
        x = flat[k]
        h = float(step.reshape(-1)[k]) * fraction
        try:
            flat[k] = x + h
            above = objective.output(work)
            flat[k] = x - h
            below = objective.output(work)
        finally:
            flat[k] = x
        # NOTE: divided by the steps actually taken, after rounding x + h and x - h
        return _difference(objective, above, below, (x + h) - (x - h), weighted)

    return central


def _complex_element(objective: _Objective, number: int, k: int, weighted: bool) -> Estimate:
    points: list[npt.NDArray[Any]] = [point.astype(np.complex128) for point in objective.points]
    scale = float(step_scale(objective.points[number]).reshape(-1)[k])
    h = COMPLEX_STEP * scale
    points[number].reshape(-1)[k] += 1j * h
    return _complex_estimate(objective, points, h, weighted)


def _complex_estimate(
    objective: _Objective, points: Sequence[npt.NDArray[Any]], h: float, weighted: bool
) -> Estimate:
    y = objective.output(points)
    if not np.iscomplexobj(y):
        y = y.astype(np.complex128)
    derivative = np.asarray(y.imag / h, dtype=np.float64)
    # NOTE: h * derivative may have underflowed: then the spacing of subnormals bounds it
    subnormal = float(np.finfo(np.float64).smallest_subnormal)
    noise = NOISE_ULPS * (EPS64 * np.abs(derivative) + subnormal / h)
    if not weighted:
        return Estimate(derivative, noise)
    w = objective.weights
    return Estimate(np.asarray(np.sum(w * derivative)), np.asarray(np.sum(np.abs(w) * noise) + 0.0))


def _estimates(
    fn: Callable[..., Any],
    inputs: Sequence[Operand],
    eps: float | None,
    seed: int,
    method: Method,
    weighted: bool,
) -> tuple[Estimate | None, ...]:
    objective = _Objective(fn, inputs, seed, raw=method == "complex")
    estimates = iter(_per_element(objective, eps, method, weighted))
    return tuple(next(estimates) if isinstance(x, Variable) else None for x in inputs)


def numerical_estimates(
    fn: Callable[..., Any],
    *inputs: Operand,
    eps: float | None = None,
    seed: int = 0,
    method: Method = "richardson",
) -> tuple[Estimate | None, ...]:
    """:func:`numerical_grad` with a bound on the error of every element."""
    return _estimates(fn, inputs, eps, seed, method, weighted=True)


def numerical_grad(
    fn: Callable[..., Any],
    *inputs: Operand,
    eps: float | None = None,
    seed: int = 0,
    method: Method = "richardson",
) -> tuple[Float64Array | None, ...]:
    """Numerical gradients of ``sum(w * fn(*inputs))`` for the fixed random weights ``w``
    drawn from ``seed``: one float64 array per Variable input, ``None`` for constants.

    ``method``: ``"richardson"`` (extrapolated central differences, steps from
    ``cbrt(eps) * max(|x_k|, rms(x))`` per element down, or from ``eps`` when given), or
    ``"complex"`` (the complex step:
    then ``fn`` is a NumPy function called with complex arrays in place of the Variables,
    analytic in them, returning an array). :func:`numerical_estimates` adds error bounds."""
    _refuse_empty(inputs)
    return tuple(
        None if e is None else e.value
        for e in _estimates(fn, inputs, eps, seed, method, weighted=True)
    )


def numerical_jacobian(
    fn: Callable[..., Any],
    *inputs: Operand,
    eps: float | None = None,
    method: Method = "richardson",
) -> tuple[Float64Array | None, ...]:
    """The full numerical Jacobian of ``fn`` with respect to each Variable input, shaped
    ``output shape + input shape`` (``None`` for constants); ``method`` and ``eps`` as in
    :func:`numerical_grad`."""
    _refuse_empty(inputs)
    return tuple(
        None if e is None else e.value
        for e in _estimates(fn, inputs, eps, 0, method, weighted=False)
    )


def numerical_directional(
    fn: Callable[..., Any],
    inputs: Sequence[Operand],
    tangents: Sequence[npt.ArrayLike | None],
    *,
    method: Method = "richardson",
) -> Estimate:
    """The derivative of ``fn(*inputs)`` along ``tangents`` (one per input, ``None`` for one
    that stays fixed), ``d/ds fn(x + s v)`` at ``s = 0``, for every element of the output, with
    a bound on each one's error: the oracle of :func:`numerical_estimates` in the one variable
    ``s``, whose steps move each input by a step of ``s`` times its tangent. With
    ``method="complex"``, ``fn`` takes NumPy arrays (complex ones), as there."""
    if len(tangents) != len(inputs):
        raise ValueError(f"{len(tangents)} tangents for {len(inputs)} inputs")
    points = [
        np.asarray(x.data if isinstance(x, Variable) else x, dtype=np.float64)
        if v is not None
        else x
        for x, v in zip(inputs, tangents, strict=True)
    ]
    directions = [None if v is None else np.asarray(v, dtype=np.float64) for v in tangents]

    def along(s: Any) -> Any:
        # NOTE: s is 1 at the point (a step scale of 1); s - 1 is exact near 1
        moved = [
            x if v is None else x + (s - 1) * v for x, v in zip(points, directions, strict=True)
        ]
        return fn(*moved)

    start = Variable(np.array(1.0))
    objective = _Objective(along, [start], 0, raw=method == "complex", along_direction=True)
    return _per_element(objective, None, method, weighted=False)[0]


def _one_element(objective: _Objective, number: int, index: tuple[int, ...]) -> Estimate:
    """The Richardson estimate of one element's derivative of the weighted objective."""
    point = objective.points[number]
    k = int(np.ravel_multi_index(index, point.shape)) if index else 0
    work = [p.copy() for p in objective.points]
    step = _element_steps(objective, None)[number]
    central = _element_central(objective, work, number, k, step, weighted=True)
    return _extrapolate(_inside_domain(central), LEVELS, 0.0)


def _directional(
    objective: _Objective,
    analytic: list[Float64Array],
    directions: list[Float64Array],
    unit: float,
    method: Method,
) -> Estimate:
    """The numerical derivative of the weighted objective along ``directions`` (one array per
    input) minus the analytic one, with its error bound."""
    if method == "complex":
        h = COMPLEX_STEP
        points = [p + 1j * h * v for p, v in zip(objective.points, directions, strict=True)]
        estimate = _complex_estimate(objective, points, h, weighted=True)
        value = sum(float(np.sum(a * v)) for a, v in zip(analytic, directions, strict=True))
        return Estimate(estimate.value - value, estimate.error)

    def central(fraction: float) -> tuple[Float64Array, Float64Array]:
        t = unit * fraction
        above = [p + t * v for p, v in zip(objective.points, directions, strict=True)]
        below = [p - t * v for p, v in zip(objective.points, directions, strict=True)]
        d, noise = _difference(
            objective, objective.output(above), objective.output(below), 2 * t, weighted=True
        )
        # NOTE: x +- t * v rounds each element, so the direction actually taken is the exact
        # (above - below) / 2t; the analytic derivative along it is subtracted at each step,
        # and the extrapolated residual is what is compared with zero
        taken = sum(
            float(np.sum(a * (u - b))) for a, u, b in zip(analytic, above, below, strict=True)
        )
        return d - np.asarray(taken / (2 * t)), noise

    return _extrapolate(_inside_domain(central), LEVELS, 0.0)
