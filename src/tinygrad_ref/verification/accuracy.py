"""Full-range accuracy: every elementwise op's value and first derivatives against mpmath.

Needs the ``testing`` extra (mpmath). For each op that declares an
:class:`~tinygrad_ref.spec.Accuracy`, and for float32 and float64, the inputs are log-uniform
magnitudes over every binade of the op's accuracy domain (both signs where the domain has
them), the edge values (``±0``, the smallest normal, the largest finite number, ``±1``), the
op's own points (zeros, poles) with their neighbouring floats, and, for one-operand ops, the
floats on either side of each threshold where the exact value or derivative stops being a
normal number (found by bisection: overflow and underflow thresholds). The error of each
value and derivative is measured in units in the last place (ULP) of the exact result,
computed by mpmath at 128 bits, wherever that result is a normal number of the dtype (or an
exact zero, which must then be computed exactly).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import mpmath
import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Variable
from tinygrad_ref.spec import Accuracy, Domain, OpSpec
from tinygrad_ref.verification import terminal

DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))

SAMPLES_PER_BINADE: dict[np.dtype[Any], float] = {
    np.dtype(np.float32): 4.0,
    np.dtype(np.float64): 1.0,
}
"""How many random magnitudes each binade of each sign gets, at ``density=1``."""

PRECISION = 128
"""The bits mpmath computes the exact results with."""

FloatArray = npt.NDArray[np.floating[Any]]
Float64Array = npt.NDArray[np.float64]

_MP = mpmath.mp


@dataclass(frozen=True)
class Worst:
    """The largest error seen, in ULPs, and the inputs it was seen at."""

    ulps: float = 0.0
    at: tuple[float, ...] = ()
    operand: int | None = None
    """For a derivative: the operand it is taken by."""

    def merge(self, other: Worst) -> Worst:
        return other if other.ulps > self.ulps or math.isnan(other.ulps) else self


@dataclass
class AccuracyReport:
    """What :func:`check_accuracy` measured for one op in one dtype."""

    name: str
    dtype: np.dtype[Any]
    bounds: Accuracy
    value: Worst = field(default_factory=Worst)
    derivative: Worst = field(default_factory=Worst)
    values_checked: int = 0
    derivatives_checked: int = 0
    thresholds: tuple[float, ...] = ()
    """Where the exact value or derivative stops being a normal number (or zero): the first
    input past each overflow or underflow threshold, found by bisection (one-operand ops)."""
    inputs: Float64Array = field(default_factory=lambda: np.empty((0, 0)))
    """Every input checked: one row per operand, one column per sample."""
    value_errors: Float64Array = field(default_factory=lambda: np.empty(0))
    """The value's error in ULPs at each sample; NaN where it is not measured (the exact
    value is no normal number or zero)."""
    derivative_errors: Float64Array = field(default_factory=lambda: np.empty((0, 0)))
    """The error in ULPs of the derivative by each operand (rows) at each sample; NaN where it
    is not measured (a constant operand, or no normal number or zero exactly)."""

    @property
    def passed(self) -> bool:
        # NOTE: written so that a NaN error fails.
        return (
            self.value.ulps <= self.bounds.value_ulps
            and self.derivative.ulps <= self.bounds.derivative_ulps
        )

    def failure(self) -> str | None:
        """What exceeds its bound, with the inputs, or ``None``."""
        problems = []
        if not self.value.ulps <= self.bounds.value_ulps:
            problems.append(
                f"value {self.value.ulps:.3g} ULP > {self.bounds.value_ulps:g} "
                f"at {_show(self.value.at)}"
            )
        if not self.derivative.ulps <= self.bounds.derivative_ulps:
            problems.append(
                f"derivative by operand {self.derivative.operand} "
                f"{self.derivative.ulps:.3g} ULP > {self.bounds.derivative_ulps:g} "
                f"at {_show(self.derivative.at)}"
            )
        if not problems:
            return None
        return f"{self.name} ({self.dtype}): " + "; ".join(problems)


def _show(at: tuple[float, ...]) -> str:
    return "(" + ", ".join(repr(x) for x in at) + ")"


class _Format:
    """The numbers of one dtype, as the ULP measure needs them."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        info = np.finfo(dtype)
        self.dtype = dtype
        self.digits = info.nmant + 1
        self.min_exponent = int(info.minexp)
        self.tiny = float(info.smallest_normal)
        self.max = float(info.max)
        self._tiny = mpmath.mpf(self.tiny)
        self._max = mpmath.mpf(self.max)

    def ulps(self, exact: Any, computed: float) -> float | None:
        """The error of ``computed`` in ULPs of ``exact``, or ``None`` when ``exact`` is not a
        real normal number or zero (it is then not measured)."""
        if not isinstance(exact, mpmath.mpf) or not mpmath.isfinite(exact):
            return None
        if not exact:
            return 0.0 if computed == 0 else math.inf
        magnitude = abs(exact)
        if magnitude < self._tiny or magnitude > self._max:
            return None
        if not math.isfinite(computed):
            return math.inf
        exponent = int(mpmath.frexp(exact)[1]) - 1
        error = abs(mpmath.mpf(computed) - exact)
        return float(mpmath.ldexp(error, self.digits - 1 - exponent))

    def kind(self, exact: Any) -> str:
        """Which of zero, normal, subnormal, overflow or undefined ``exact`` is."""
        if not isinstance(exact, mpmath.mpf) or not mpmath.isfinite(exact):
            return "undefined"
        if not exact:
            return "zero"
        magnitude = abs(exact)
        if magnitude < self._tiny:
            return "subnormal"
        return "normal" if magnitude <= self._max else "overflow"


def _evaluate(reference: Callable[..., Any], args: Sequence[float]) -> Any:
    """The reference at ``args``, or ``None`` where it is undefined."""
    try:
        exact = reference(_MP, *[mpmath.mpf(x) for x in args])
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return mpmath.mpf(exact) if isinstance(exact, int | float) else exact


def _sign_intervals(domain: Domain, fmt: _Format) -> list[tuple[float, float, float]]:
    """The domain's finite normal numbers as ``(sign, smallest, largest magnitude)``."""
    parts = []
    for sign in (1.0, -1.0):
        low, high = (domain.low, domain.high) if sign > 0 else (-domain.high, -domain.low)
        smallest = max(low, domain.min_abs, fmt.tiny)
        largest = min(high, fmt.max)
        if smallest <= largest:
            parts.append((sign, smallest, largest))
    return parts


def _magnitudes(
    smallest: float, largest: float, count: int, fmt: _Format, rng: np.random.Generator
) -> FloatArray:
    """``count`` log-uniform magnitudes in ``[smallest, largest]``, spread evenly over its
    binades (each gets the same share) with a random mantissa."""
    first, last = math.frexp(smallest)[1] - 1, math.frexp(largest)[1] - 1
    binades = last - first + 1
    exponents = first + np.floor((np.arange(count) + rng.random()) * binades / count)
    mantissas = rng.uniform(1.0, 2.0, size=count)
    values = np.clip(np.ldexp(mantissas, exponents.astype(np.int64)), smallest, largest)
    return values.astype(fmt.dtype)


def _integers(domain: Domain, count: int, rng: np.random.Generator) -> list[float]:
    bound = min(max(abs(domain.low), abs(domain.high)), 2.0**53)
    magnitudes = np.round(np.exp2(rng.uniform(0.0, math.log2(max(bound, 1.0)), size=count)))
    signs = rng.choice([-1.0, 1.0], size=count)
    values = [0.0, 1.0, -1.0, 2.0, -2.0, *(signs * magnitudes).tolist()]
    return sorted({v for v in values if domain.contains(v)})


def _edges(domain: Domain, fmt: _Format, points: Iterable[float]) -> list[float]:
    """The edge values in ``domain``, each with its neighbouring floats."""
    base = [0.0, fmt.tiny, fmt.max, 1.0, *points]
    base += [domain.low, domain.high] if domain.min_abs == 0 else [domain.min_abs]
    values: set[float] = set()
    for x in base:
        if not math.isfinite(x):
            continue
        for signed in (x, -x):
            near = fmt.dtype.type(signed)
            for step in (-2, -1, 0, 1, 2):
                values.add(float(_step(near, step)))
    return sorted(v for v in values if _normal_or_zero(v, fmt) and domain.contains(v))


def _normal_or_zero(x: float, fmt: _Format) -> bool:
    """Whether ``x`` is an input the check uses: subnormal inputs are left out, as the
    property suite's strategies leave them out."""
    return x == 0 or fmt.tiny <= abs(x) <= fmt.max


def _step(x: np.floating[Any], steps: int) -> np.floating[Any]:
    """The float ``steps`` floats above ``x`` (below if negative)."""
    toward = x.dtype.type(math.inf if steps > 0 else -math.inf)
    with np.errstate(over="ignore"):
        for _ in range(abs(steps)):
            x = np.nextafter(x, toward)
    return x


def samples(
    domain: Domain,
    dtype: np.dtype[Any],
    density: float = 1.0,
    points: Iterable[float] = (),
    seed: int = 0,
) -> FloatArray:
    """The inputs one operand of ``domain`` is checked at, in ``dtype``, sorted: log-uniform
    magnitudes over every binade (``SAMPLES_PER_BINADE * density`` per binade and sign), and
    the edge values with their neighbours."""
    dtype = np.dtype(dtype)
    fmt = _Format(dtype)
    rng = np.random.default_rng(seed)
    values: list[float] = _edges(domain, fmt, points)
    if domain.integer:
        values += _integers(domain, max(8, int(64 * density)), rng)
    else:
        for sign, smallest, largest in _sign_intervals(domain, fmt):
            binades = math.frexp(largest)[1] - math.frexp(smallest)[1] + 1
            count = max(1, math.ceil(binades * SAMPLES_PER_BINADE[dtype] * density))
            values += (sign * _magnitudes(smallest, largest, count, fmt, rng)).tolist()
    unique = np.unique(np.array([v for v in values if domain.contains(v)], dtype=dtype))
    return unique


def _computed(spec: OpSpec, operands: Sequence[FloatArray]) -> tuple[Any, list[Any]]:
    """The op's values at ``operands`` and its derivative by each differentiated operand
    (``None`` for a constant one), from one forward and one reverse pass."""
    args = [
        x if role == "constant" else Variable(x.copy())
        for x, role in zip(operands, spec.operand_roles, strict=True)
    ]
    with np.errstate(all="ignore"):
        y = spec.function(*args)
        if not isinstance(y.creator, spec.primitive):
            raise TypeError(
                f"{spec.name}: the accuracy check called {type(y.creator).__name__}, "
                f"not {spec.primitive.__name__}"
            )
        y.backward()
    grads = [
        None if not isinstance(x, Variable) else np.zeros_like(x.data) if x.grad is None
        else x.grad.data
        for x in args
    ]  # fmt: skip
    return y.data, grads


class _Measure:
    """Accumulates the errors of one op in one dtype."""

    def __init__(self, spec: OpSpec, bounds: Accuracy, dtype: np.dtype[Any]) -> None:
        self.spec = spec
        self.bounds = bounds
        self.fmt = _Format(dtype)
        self.report = AccuracyReport(spec.name, dtype, bounds)
        self._exact: dict[tuple[int, tuple[float, ...]], Any] = {}

    def add(self, operands: Sequence[FloatArray]) -> None:
        value, grads = _computed(self.spec, operands)
        references = (self.bounds.exact, *self.bounds.derivatives)
        report = self.report
        count = len(operands[0])
        value_errors = np.full(count, math.nan)
        derivative_errors = np.full((len(operands), count), math.nan)
        for k in range(count):
            at = tuple(float(x[k]) for x in operands)
            error = self.fmt.ulps(self.exact(0, at), float(value[k]))
            if error is not None:
                value_errors[k] = error
                report.values_checked += 1
                report.value = report.value.merge(Worst(error, at))
            for i, grad in enumerate(grads, start=1):
                if references[i] is None or grad is None:
                    continue
                error = self.fmt.ulps(self.exact(i, at), float(grad[k]))
                if error is not None:
                    derivative_errors[i - 1, k] = error
                    report.derivatives_checked += 1
                    report.derivative = report.derivative.merge(Worst(error, at, i - 1))
        inputs = np.array([np.asarray(x, dtype=np.float64) for x in operands])
        report.inputs = np.concatenate([report.inputs.reshape(len(operands), -1), inputs], axis=1)
        report.value_errors = np.concatenate([report.value_errors, value_errors])
        report.derivative_errors = np.concatenate(
            [report.derivative_errors.reshape(len(operands), -1), derivative_errors], axis=1
        )

    def exact(self, which: int, at: tuple[float, ...]) -> Any:
        """The exact value (``which`` 0) or derivative by operand ``which - 1`` at ``at``,
        computed once."""
        key = (which, at)
        if key not in self._exact:
            reference = (self.bounds.exact, *self.bounds.derivatives)[which]
            assert reference is not None
            self._exact[key] = _evaluate(reference, at)
        return self._exact[key]

    def kinds(self, x: float) -> tuple[str, ...]:
        """What the exact value and derivative at ``x`` (one operand) are."""
        which = [0] + [i for i, d in enumerate(self.bounds.derivatives, 1) if d is not None]
        return tuple(self.fmt.kind(self.exact(i, (x,))) for i in which)

    def thresholds(self, xs: FloatArray) -> list[float]:
        """The floats on either side of each change of kind between consecutive ``xs``."""
        found: list[float] = []
        kinds = [self.kinds(float(x)) for x in xs]
        for k in range(len(xs) - 1):
            a, b = xs[k], xs[k + 1]
            if kinds[k] == kinds[k + 1] or (a < 0) != (b < 0) or a == 0 or b == 0:
                continue
            edge = self._bisect(a, b)
            self.report.thresholds += (float(edge),)
            found += [float(_step(edge, s)) for s in (-2, -1, 0, 1, 2)]
        return found

    def _bisect(self, a: np.floating[Any], b: np.floating[Any]) -> Any:
        """The float between ``a`` and ``b`` (same sign) where the kind stops being ``kind``."""
        sign = -1.0 if a < 0 else 1.0
        bits = np.dtype(f"i{a.dtype.itemsize}")
        lo, hi = int(abs(a).view(bits)), int(abs(b).view(bits))
        if lo > hi:
            lo, hi = hi, lo
        low_kind = self.kinds(sign * float(np.array(lo, dtype=bits).view(a.dtype)))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            x = sign * float(np.array(mid, dtype=bits).view(a.dtype))
            if self.kinds(x) == low_kind:
                lo = mid
            else:
                hi = mid
        return a.dtype.type(sign * float(np.array(hi, dtype=bits).view(a.dtype)))


def check_accuracy(
    spec: OpSpec, dtype: np.dtype[Any], density: float = 1.0, seed: int = 0
) -> AccuracyReport:
    """Measure the worst ULP error of ``spec``'s value and first derivatives over its whole
    accuracy domain in ``dtype``. ``density`` scales the samples per binade."""
    bounds = spec.accuracy
    if bounds is None:
        raise ValueError(f"{spec.name} declares no accuracy")
    dtype = np.dtype(dtype)
    measure = _Measure(spec, bounds, dtype)
    with mpmath.workprec(PRECISION):
        for number, region in enumerate(bounds.regions):
            if len(region) != spec.arity or len(bounds.derivatives) != spec.arity:
                raise ValueError(
                    f"{spec.name}: its accuracy needs one domain and one derivative per operand"
                )
            drawn = [
                samples(domain, dtype, density, bounds.points if spec.arity == 1 else (), seed + i)
                for i, domain in enumerate(region, start=number * spec.arity)
            ]
            if spec.arity == 1:
                (xs,) = drawn
                xs = np.unique(np.concatenate([xs, np.array(measure.thresholds(xs), dtype)]))
                measure.add([xs[np.isfinite(xs)]])
            else:
                measure.add(_pairs(drawn, dtype, seed + number))
    return measure.report


def _pairs(drawn: Sequence[FloatArray], dtype: np.dtype[Any], seed: int) -> list[FloatArray]:
    """Random combinations of the operands' samples, as many as the largest has, plus every
    combination of their edge values."""
    rng = np.random.default_rng(seed)
    count = max(len(x) for x in drawn)
    columns = [rng.choice(x, size=count) for x in drawn]
    edges = [x[np.isin(np.abs(x), _EDGE_MAGNITUDES[dtype])] for x in drawn]
    grid = np.meshgrid(*edges, indexing="ij")
    return [
        np.concatenate([column, g.reshape(-1)]).astype(dtype)
        for column, g in zip(columns, grid, strict=True)
    ]


_EDGE_MAGNITUDES = {
    dtype: np.array([0.0, 1.0, float(np.finfo(dtype).smallest_normal), float(np.finfo(dtype).max)])
    for dtype in DTYPES
}


def check_all(
    specs: Iterable[OpSpec],
    dtypes: Sequence[np.dtype[Any]] = DTYPES,
    density: float = 1.0,
    seed: int = 0,
    on_report: Callable[[AccuracyReport], None] | None = None,
) -> list[AccuracyReport]:
    """:func:`check_accuracy` for every spec that declares an accuracy, in every dtype."""
    reports = []
    for spec in specs:
        if spec.accuracy is None:
            continue
        for dtype in dtypes:
            report = check_accuracy(spec, dtype, density, seed)
            reports.append(report)
            if on_report is not None:
                on_report(report)
    return reports


def _ulps(x: float) -> str:
    return f"{x:.3g}" if x < 1e4 else f"{x:.1e}"


def print_table(
    specs: Sequence[OpSpec],
    dtypes: Sequence[np.dtype[Any]],
    density: float,
    seed: int,
    out: TextIO,
    progress: TextIO,
    on_report: Callable[[AccuracyReport], None] | None = None,
) -> int:
    """Check every op of ``specs`` that declares an accuracy and print one row per op: the
    worst error in ULPs of its value and first derivatives in each dtype, its bounds and
    whether it passes, then the failures; 1 if any op fails, else 0. ``on_report`` gets each
    op's report in each dtype."""
    checked = [spec for spec in specs if spec.accuracy is not None]
    width = terminal.name_width((spec.name for spec in checked), "op")
    columns = "".join(f" {f'{d} value':>14} {f'{d} deriv':>14}" for d in dtypes)
    header = f"{'op':<{width}}{columns} {'bounds':>7}  result"
    print(header, file=out)
    print("-" * len(header), file=out)
    status = terminal.Progress(progress)
    start = time.perf_counter()
    failures: list[str] = []
    for number, spec in enumerate(checked, 1):
        status.show(f"[{number}/{len(checked)}] {spec.name}")
        reports = [check_accuracy(spec, dtype, density, seed) for dtype in dtypes]
        status.clear()
        cells = "".join(
            f" {_ulps(r.value.ulps):>14} {_ulps(r.derivative.ulps):>14}" for r in reports
        )
        bounds = reports[0].bounds
        passed = all(r.passed for r in reports)
        failures += [f for f in (r.failure() for r in reports) if f is not None]
        limits = f"{bounds.value_ulps:g}/{bounds.derivative_ulps:g}"
        print(f"{spec.name:<{width}}{cells} {limits:>7}  {'pass' if passed else 'FAIL'}", file=out)
        out.flush()
        for report in reports:
            if on_report is not None:
                on_report(report)
    elapsed = time.perf_counter() - start
    for failure in failures:
        print(f"\nFAILED: {failure}", file=out)
    verdict = (
        f"{len(failures)} FAILED"
        if failures
        else f"all {terminal.plural(len(checked), 'op')} within bounds"
    )
    print(
        f"\n{verdict} (errors in ULPs of the exact result, mpmath at {PRECISION} bits; "
        f"density {density:g}, {elapsed:.1f} s, seed {seed})",
        file=out,
    )
    entries = [
        ("value", "the worst error of the value, in ULPs of the exact result"),
        ("deriv", "the worst error of the first derivative by any operand, in ULPs"),
        ("bounds", "the most each may be to pass, value/derivative, in ULPs"),
    ]
    print(f"\n{terminal.legend(entries)}", file=out)
    return 1 if failures else 0
