"""Check analytic gradients against numerical oracles that know their own error.

``fn`` takes the inputs and returns a Variable. Its output is reduced to a number by a fixed
random weighting ``f(inputs) = sum(w * fn(*inputs))``, so that one reverse pass (seeded with
``w``) gives the analytic gradient of ``f`` for every input. Only Variable inputs are
differentiated; other inputs are constants. The numerical side runs in float64 whatever the
inputs' dtype, and the inputs are never modified.

Two oracles give each numerical derivative together with a bound on its error:

* ``"richardson"`` (the default, for any ``fn``): central differences over the shrinking steps
  ``h, h/2, h/4, ...`` with ``h = cbrt(eps) * max(|x_k|, rms(x))`` per element, extrapolated
  (Ridders' method); the bound is the extrapolation table's error estimate plus the rounding
  noise of the evaluations, ``eps * sum(|w| * |y|) / h``.
* ``"complex"`` (for a NumPy function that accepts complex input and is analytic, such as a
  registered op's ``reference``): ``Im f(x + i*h) / h``, exact to rounding.

A gradient element passes two checks (see :func:`check_gradients`): the float64 analytic
gradient against the oracle (correctness), and the working-dtype one against the float64 one
(precision).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
FAST_DIRECTIONS = 3
"""How many random directions ``fast=True`` checks."""
ROUNDING_MULTIPLE = 64.0
"""The analytic side of a first derivative may be off by this many ``eps`` of its dtype times
the magnitude of its terms (see :func:`check_gradients`)."""
SECOND_ORDER_ROUNDING_MULTIPLE = 64.0
"""The same for second derivatives: about twice as many operations, often with cancellation."""
MAX_MISMATCHES = 10
"""How many mismatches a report keeps."""


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


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one."""


@dataclass(frozen=True)
class Mismatch:
    """One element out of tolerance: what was compared, and by how much it missed."""

    where: str
    """The input, element or direction, such as ``input 1 at index (0, 2)``."""
    check: Literal["correctness", "precision", "recorded"]
    """Which comparison failed (see :func:`check_gradients`)."""
    analytic: float
    reference: float
    """What ``analytic`` was compared with: the numerical value, the float64 gradient, or the
    plain pass."""
    allowed: float
    detail: str

    @property
    def margin(self) -> float:
        """The error over the allowed error (more than 1: failed)."""
        return _margin(abs(self.analytic - self.reference), self.allowed)

    def __str__(self) -> str:
        return f"{self.where}: {self.detail}; margin {self.margin:.3g}"


@dataclass(frozen=True)
class GradcheckReport:
    """How far the analytic gradients are from the numerical ones."""

    max_abs_error: float
    """The largest ``|analytic - numerical|``."""
    max_rel_error: float
    """The largest ``|analytic - numerical| / max(|analytic|, |numerical|)`` over the pairs
    larger than their allowed error."""
    failure: str | None
    """What the first pair out of tolerance was, or ``None`` if all passed."""
    margin: float = 0.0
    """The worst error over allowed error of any pair: at most 1 when all passed."""
    oracle: str = ""
    """Which oracle decided: ``complex step``, ``Richardson`` (per element) or ``Richardson
    along directions`` (``fast=True``)."""
    mismatches: tuple[Mismatch, ...] = ()
    """The pairs out of tolerance (the first :data:`MAX_MISMATCHES`), each with its margin."""

    def merge(self, other: GradcheckReport) -> GradcheckReport:
        oracles = [name for name in (self.oracle, other.oracle) if name]
        return GradcheckReport(
            max(self.max_abs_error, other.max_abs_error),
            max(self.max_rel_error, other.max_rel_error),
            self.failure or other.failure,
            max(self.margin, other.margin),
            ", ".join(dict.fromkeys(", ".join(oracles).split(", "))) if oracles else "",
            (self.mismatches + other.mismatches)[:MAX_MISMATCHES],
        )


EMPTY_REPORT = GradcheckReport(0.0, 0.0, None)


def _margin(error: float, allowed: float) -> float:
    if error <= allowed:
        return 0.0 if error == 0 else error / allowed
    return float("inf") if allowed == 0 or np.isnan(error) else error / allowed


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
    floor: float = 0.0,
) -> Estimate:
    """The derivative of ``fn(*inputs)`` along ``tangents`` (one per input, ``None`` for one
    that stays fixed), ``d/ds fn(x + s v)`` at ``s = 0``, for every element of the output, with
    a bound on each one's error: the oracle of :func:`numerical_estimates` in the one variable
    ``s``, whose steps move each input by a step of ``s`` times its tangent. With
    ``method="complex"``, ``fn`` takes NumPy arrays (complex ones), as there. ``floor``: the
    least magnitude of the terms each output is computed from, when larger than the largest
    output (for an ``fn`` that is itself a derivative, whose terms may cancel), which scales
    the rounding noise of the differences."""
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
    objective = _Objective(
        along, [start], 0, raw=method == "complex", floor=floor, along_direction=True
    )
    return _per_element(objective, None, method, weighted=False)[0]


def _fresh(inputs: Sequence[Operand], dtype: npt.DTypeLike | None = None) -> list[Operand]:
    """Copies of the inputs with new Variables (of ``dtype`` if given) in place of the old."""
    return [
        Variable(np.array(x.data, dtype=dtype or x.dtype)) if isinstance(x, Variable) else x
        for x in inputs
    ]


def _analytic(
    fn: Callable[..., Variable],
    inputs: Sequence[Operand],
    weights: Float64Array,
    dtype: npt.DTypeLike | None = None,
    create_graph: bool = False,
) -> tuple[list[Float64Array], list[str]]:
    """The gradients one reverse pass gives, on fresh copies of the inputs (converted to
    ``dtype`` if given), as float64, with a message for each of the wrong shape or dtype."""
    fresh = _fresh(inputs, dtype)
    y = _call(fn, fresh)
    y.grad = Variable(weights.astype(y.dtype))
    y.backward(create_graph=create_graph)
    grads, problems = [], []
    for i, x in enumerate(fresh):
        if not isinstance(x, Variable):
            continue
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


@dataclass(frozen=True)
class _Setting:
    """How a check is run: the arguments of :func:`check_gradients` and its rounding multiple."""

    eps: float | None
    atol: float | None
    rtol: float | None
    fast: bool
    seed: int
    method: Method
    reference: Callable[..., Any] | None
    multiple: float

    @property
    def overridden(self) -> bool:
        return self.atol is not None or self.rtol is not None

    def override(self, numerical: Float64Array) -> Float64Array:
        allowed: Float64Array = (self.atol or 0.0) + (self.rtol or 0.0) * np.abs(numerical)
        return allowed


class _Side:
    """The analytic side of a check: the objective, and the gradients of one plain reverse
    pass in the working dtype (``plain``) and from float64 copies of the inputs (``precise``),
    with the magnitude of each element's terms. ``outer`` is, when ``fn`` is the gradient of
    another function, that function's largest weighted output."""

    def __init__(
        self,
        fn: Callable[..., Variable],
        inputs: Sequence[Operand],
        seed: int,
        outer: float = 0.0,
    ):
        self.fn = fn
        self.inputs = inputs
        points = [np.asarray(x.data, dtype=np.float64) for x in _variables(inputs).values()]
        widest = max(float(np.maximum(step_scale(p), 1.0).max(initial=1.0)) for p in points)
        self.objective = objective = _Objective(fn, inputs, seed, floor=outer / widest)
        self.plain, self.problems = _analytic(fn, inputs, objective.weights)
        same = all(x.dtype == np.float64 for x in objective.variables.values())
        self.precise = (
            self.plain if same else _analytic(fn, inputs, objective.weights, np.float64)[0]
        )
        self.terms = [
            _terms(a, objective.magnitude, p, outer)
            for a, p in zip(self.precise, objective.points, strict=True)
        ]
        self.dtypes = [
            _working_dtype(x.dtype, objective.output_dtype) for x in objective.variables.values()
        ]


def _rounding(dtype: npt.DTypeLike, terms: Float64Array) -> Float64Array:
    """One rounding error of ``dtype`` on terms of magnitude ``terms``: ``eps * terms``, and
    at least the spacing of ``dtype``'s subnormal numbers, ``eps * smallest_normal``."""
    info = np.finfo(dtype)
    bound: Float64Array = float(info.eps) * np.maximum(terms, float(info.smallest_normal))
    return bound


def _where(i: int, k: tuple[int, ...]) -> str:
    return f"input {i} at index {k}" if k else f"input {i}"


Describe = Callable[[tuple[int, ...], float, float, float], Mismatch]
"""Names a failing pair: its index, analytic value, reference value and allowed error."""


def _compare(
    analytic: Float64Array,
    reference: Float64Array,
    allowed: Float64Array,
    describe: Describe,
    oracle: str = "",
) -> GradcheckReport:
    """Pairs pass when ``|analytic - reference| <= allowed``; ``describe`` names a failure."""
    if analytic.shape != reference.shape:
        return GradcheckReport(
            float("inf"),
            float("inf"),
            f"analytic gradient has shape {analytic.shape}, numerical {reference.shape}",
            float("inf"),
            oracle,
        )
    diff = np.abs(analytic - reference)
    size = np.maximum(np.abs(analytic), np.abs(reference))
    large = size > allowed
    max_abs = float(diff.max(initial=0.0))
    max_rel = float((diff[large] / size[large]).max(initial=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        margins = np.where(diff == 0, 0.0, diff / allowed)
    margins = np.where(np.isnan(margins), np.inf, margins)
    margin = float(margins.max(initial=0.0))
    bad = ~(diff <= allowed)  # NOTE: catches NaN too
    if not bad.any():
        return GradcheckReport(max_abs, max_rel, None, margin, oracle)
    order = np.argsort(-margins, axis=None, kind="stable")[: min(int(bad.sum()), MAX_MISMATCHES)]
    mismatches = tuple(
        describe(k, float(analytic[k]), float(reference[k]), float(allowed[k]))
        for k in (tuple(int(i) for i in np.unravel_index(j, bad.shape)) for j in order)
    )
    return GradcheckReport(max_abs, max_rel, str(mismatches[0]), margin, oracle, mismatches)


def _terms(
    analytic: Float64Array, magnitude: float, point: Float64Array, outer: float = 0.0
) -> Float64Array:
    """The magnitude of the terms an analytic gradient element is made of: the larger of the
    element, the largest element of its array, and the largest weighted output over
    ``s = max(step scale, 1)`` (what a relative rounding error of the output becomes in a
    derivative, for a function that varies on the scale of its input), or the outer
    function's over ``s`` for a second derivative: one factor of the scale, not two, since many
    functions vary on a scale of 1 whatever their input's size (softmax is shift-invariant)."""
    largest = float(np.abs(analytic).max(initial=0.0))
    # NOTE: at least 1: functions of small arguments vary on a scale of their own (exp, tanh)
    scale = np.maximum(step_scale(point), 1.0)
    output = np.maximum(magnitude, outer) / scale
    terms: Float64Array = np.maximum(np.maximum(np.abs(analytic), largest), output)
    return terms


def check_gradients(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    method: Method = "richardson",
    reference: Callable[..., Any] | None = None,
) -> GradcheckReport:
    """Compare the analytic gradients of ``fn`` at ``inputs`` with a numerical oracle and
    report the errors and margins; :func:`gradcheck` raises on the first failure instead.

    Three comparisons, per element ``k`` of every Variable input:

    * **correctness**: the analytic gradient ``a64`` computed from float64 copies of the
      inputs against the oracle's ``n``: ``|a64 - n| <= E + 16 * eps * T``, where ``E`` is the
      oracle's error bound, ``eps`` that of ``fn``'s output from float64 inputs and ``T`` the
      magnitude of the element's terms: ``max(|a64_k|, max|a64|, max|w * y| / s_k)``, with
      ``s_k`` the element's step scale;
    * **precision**: the gradient ``a`` in the working dtype (the less precise of the input's
      and the output's) against ``a64``: ``|a - a64| <= 16 * eps(dtype) * T``;
    * **recorded**: the gradient a ``create_graph=True`` pass records against the plain one,
      within the same bound.

    ``atol``/``rtol`` override the correctness and precision bounds: then ``a`` is compared
    with ``n`` directly, within ``atol + rtol * |n|`` (a missing one counts as 0).

    ``method`` picks the oracle (see :func:`numerical_grad`); ``"complex"`` needs
    ``reference``, the same computation in NumPy called with complex arrays in place of the
    Variables (a registered op's ``reference`` is one). ``eps`` fixes the starting step.

    With ``fast=True``, instead of one numerical derivative per element, a few random
    directions ``v`` (``+-s_k`` per element) are checked: ``sum(a64 * v)`` against the
    oracle's derivative along ``v``, within its bound plus ``16 * eps * sum(T * |v|)``;
    precision and recorded stay per element, as they need no evaluation of ``fn``."""
    _refuse_empty(inputs)
    setting = _Setting(eps, atol, rtol, fast, seed, method, reference, ROUNDING_MULTIPLE)
    side = _Side(fn, inputs, seed)
    return _check(side, setting).merge(_recorded(side, setting.multiple))


def _check(side: _Side, setting: _Setting) -> GradcheckReport:
    if setting.method == "complex" and setting.reference is None:
        raise ValueError('method="complex" needs reference: a NumPy function to step')
    objective = side.objective
    report = EMPTY_REPORT if not side.problems else replace(EMPTY_REPORT, failure=side.problems[0])
    if not setting.overridden:
        for i, a, a64, dtype, t in zip(
            objective.variables, side.plain, side.precise, side.dtypes, side.terms, strict=True
        ):
            report = report.merge(_precision(i, a, a64, dtype, setting.multiple * t))
    checked = side.plain if setting.overridden else side.precise
    if setting.method == "complex":
        assert setting.reference is not None
        objective = _Objective(setting.reference, side.inputs, setting.seed, raw=True)
    if setting.fast:
        return report.merge(_check_directions(objective, side, checked, setting))
    floors = [float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0 for a in side.precise]
    estimates = _per_element(objective, setting.eps, setting.method, True, floors)
    oracle = "complex step" if setting.method == "complex" else "Richardson"
    for i, a, estimate, t in zip(objective.variables, checked, estimates, side.terms, strict=True):
        allowed = (
            setting.override(estimate.value)
            if setting.overridden
            else estimate.error + setting.multiple * _rounding(side.objective.rounding_dtype, t)
        )
        report = report.merge(
            _compare(a, estimate.value, allowed, _correctness(i, estimate, setting), oracle)
        )
    return report


def _correctness(i: int, estimate: Estimate, setting: _Setting) -> Describe:
    def describe(k: tuple[int, ...], a: float, n: float, allowed: float) -> Mismatch:
        how = (
            f"atol {setting.atol or 0.0:g} + rtol {setting.rtol or 0.0:g} * |numerical|"
            if setting.overridden
            else f"oracle error {float(estimate.error[k]):.3g} + analytic rounding"
        )
        detail = (
            f"analytic {a!r}, numerical {n!r}, |difference| {abs(a - n):.3g} > tolerance "
            f"{allowed:.3g} ({how})"
        )
        return Mismatch(_where(i, k), "correctness", a, n, allowed, detail)

    return describe


def _precision(
    i: int, a: Float64Array, a64: Float64Array, dtype: np.dtype[Any], terms: Float64Array
) -> GradcheckReport:
    """The working-dtype gradient ``a`` against the float64 one ``a64``."""
    eps = float(np.finfo(dtype).eps)
    if eps <= EPS64:
        return EMPTY_REPORT

    def describe(k: tuple[int, ...], value: float, exact: float, tolerance: float) -> Mismatch:
        detail = (
            f"the analytic gradient in the working dtype, {value!r}, differs from the float64 "
            f"one, {exact!r}, by {abs(value - exact):.3g} > tolerance {tolerance:.3g} "
            f"({tolerance / eps:.3g} eps of the working dtype)"
        )
        return Mismatch(_where(i, k), "precision", value, exact, tolerance, detail)

    return _compare(a, a64, _rounding(dtype, terms), describe)


def _recorded(side: _Side, multiple: float) -> GradcheckReport:
    """The first derivatives a ``create_graph=True`` pass records against the plain pass; the
    float64 gradient tells which of the two is off."""
    recorded, problems = _analytic(side.fn, side.inputs, side.objective.weights, create_graph=True)
    if problems:
        return replace(EMPTY_REPORT, failure=f"with create_graph=True, {problems[0]}")
    report = EMPTY_REPORT
    for number, (i, p, r, dtype, t) in enumerate(
        zip(side.objective.variables, side.plain, recorded, side.dtypes, side.terms, strict=True)
    ):

        def describe(
            k: tuple[int, ...],
            value: float,
            other: float,
            tolerance: float,
            i: int = i,
            number: int = number,
        ) -> Mismatch:
            truth = float(_one_element(side.objective, number, k).value)
            off = "create_graph=True" if abs(value - truth) > abs(other - truth) else "plain"
            detail = (
                f"the gradient recorded with create_graph=True, {value!r}, disagrees with the "
                f"plain pass, {other!r}, by {abs(value - other):.3g} > tolerance "
                f"{tolerance:.3g}; the {off} pass is the one off the numerical {truth!r}"
            )
            return Mismatch(_where(i, k), "recorded", value, other, tolerance, detail)

        report = report.merge(_compare(r, p, multiple * _rounding(dtype, t), describe))
    return report


def _one_element(objective: _Objective, number: int, index: tuple[int, ...]) -> Estimate:
    """The Richardson estimate of one element's derivative of the weighted objective."""
    point = objective.points[number]
    k = int(np.ravel_multi_index(index, point.shape)) if index else 0
    work = [p.copy() for p in objective.points]
    step = _element_steps(objective, None)[number]
    central = _element_central(objective, work, number, k, step, weighted=True)
    return _extrapolate(_inside_domain(central), LEVELS, 0.0)


def _check_directions(
    objective: _Objective, side: _Side, analytic: list[Float64Array], setting: _Setting
) -> GradcheckReport:
    rng = np.random.default_rng(setting.seed + 1)
    if setting.eps is not None:
        scales = [np.full_like(p, setting.eps) for p in objective.points]
        unit = 1.0
    else:
        scales = [step_scale(p) for p in objective.points]
        unit = float(np.cbrt(objective.eps))
    oracle = "complex step along directions" if objective.raw else "Richardson along directions"
    report = EMPTY_REPORT
    for d in range(FAST_DIRECTIONS):
        directions = [
            rng.choice([-1.0, 1.0], size=p.shape) * s
            for p, s in zip(objective.points, scales, strict=True)
        ]
        value = sum(float(np.sum(a * v)) for a, v in zip(analytic, directions, strict=True))
        residual = _directional(objective, analytic, directions, unit, setting.method)
        rounding = setting.multiple * sum(
            float(np.sum(_rounding(side.objective.rounding_dtype, t) * np.abs(v)))
            for t, v in zip(side.terms, directions, strict=True)
        )
        numerical = value + residual.value
        allowed = setting.override(numerical) if setting.overridden else residual.error + rounding

        def describe(
            k: tuple[int, ...], a: float, n: float, tolerance: float, d: int = d
        ) -> Mismatch:
            detail = (
                f"analytic {a!r}, numerical {n!r}, |difference| {abs(a - n):.3g} > tolerance "
                f"{tolerance:.3g}"
            )
            return Mismatch(f"direction {d}", "correctness", a, n, tolerance, detail)

        report = report.merge(
            _compare(np.array(value), np.asarray(numerical), np.asarray(allowed), describe, oracle)
        )
    return report


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


def gradcheck(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    method: Method = "richardson",
    reference: Callable[..., Any] | None = None,
) -> bool:
    """``True`` if the analytic gradients of ``fn`` at ``inputs`` pass
    :func:`check_gradients`; else raises :class:`GradcheckError` naming the input, the
    element, both values and the tolerance."""
    return _passed(
        check_gradients(
            fn,
            *inputs,
            eps=eps,
            atol=atol,
            rtol=rtol,
            fast=fast,
            seed=seed,
            method=method,
            reference=reference,
        )
    )


def _passed(report: GradcheckReport) -> bool:
    if report.failure is not None:
        raise GradcheckError(report.failure)
    return True


def _gradient_of(fn: Callable[..., Variable], seed: int) -> Callable[..., Variable]:
    """The function ``inputs -> sum_i sum(v_i * g_i)`` where ``g_i`` is the gradient of
    ``sum(w * fn(*inputs))`` with respect to the Variable input ``i``, recorded with
    ``create_graph=True``, and ``v_i`` fixed random weights: its gradient is the Hessian of
    ``sum(w * fn)`` times ``v``, and one evaluation covers every input's gradient."""
    weights: dict[tuple[tuple[int, ...], int], Float64Array] = {}

    def weight(shape: tuple[int, ...], offset: int) -> Float64Array:
        if (shape, offset) not in weights:
            weights[shape, offset] = _weights(shape, seed + offset)
        return weights[shape, offset]

    def gradient(*inputs: Any) -> Variable:
        y = _call(fn, inputs)
        y.grad = Variable(weight(y.shape, 0).astype(y.dtype))
        y.backward(create_graph=True)
        total: Variable | None = None
        for i, x in enumerate(inputs):
            if not isinstance(x, Variable):
                continue
            if x.grad is not None:
                term = (x.grad * weight(x.shape, i + 1).astype(x.dtype)).sum()
                total = term if total is None else total + term
            x.cleargrad()
        return total if total is not None else Variable(np.zeros((), dtype=y.dtype))

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
    ``create_graph=True``: the second derivatives of ``fn``, against the Richardson oracle,
    with a rounding multiple of 64. First, the first derivatives recorded with
    ``create_graph=True`` are compared with the plain pass, as :func:`check_gradients` does."""
    _refuse_empty(inputs)
    first = _Setting(eps, atol, rtol, fast, seed, "richardson", None, ROUNDING_MULTIPLE)
    outer = _Side(fn, inputs, seed)
    report = _recorded(outer, first.multiple)
    second = replace(first, seed=seed + 1, multiple=SECOND_ORDER_ROUNDING_MULTIPLE)
    inner = _check(_Side(_gradient_of(fn, seed), inputs, seed, outer.objective.magnitude), second)
    failure = None if inner.failure is None else f"Hessian-vector product, {inner.failure}"
    return report.merge(replace(inner, failure=failure))


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
