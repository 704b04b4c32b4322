"""Check analytic gradients against the numerical oracle of
:mod:`tinygrad_ref.verification.oracle`.

``fn`` takes the inputs and returns a Variable. Its output is reduced to a number by a fixed
random weighting ``f(inputs) = sum(w * fn(*inputs))``, so that one reverse pass (seeded with
``w``) gives the analytic gradient of ``f`` for every input. Only Variable inputs are
differentiated; other inputs are constants.

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

from tinygrad_ref.core import Operand, Variable
from tinygrad_ref.verification.oracle import (
    EPS64,
    Estimate,
    Float64Array,
    Method,
    _call,
    _directional,
    _Objective,
    _one_element,
    _per_element,
    _refuse_empty,
    _variables,
    _weights,
    _working_dtype,
    step_scale,
)

FAST_DIRECTIONS = 3
"""How many random directions ``fast=True`` checks."""
ROUNDING_MULTIPLE = 64.0
"""The analytic side of a first derivative may be off by this many ``eps`` of its dtype times
the magnitude of its terms (see :func:`check_gradients`)."""
SECOND_ORDER_ROUNDING_MULTIPLE = 64.0
"""The same for second derivatives: about twice as many operations, often with cancellation."""
MAX_MISMATCHES = 10
"""How many mismatches a report keeps."""


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
