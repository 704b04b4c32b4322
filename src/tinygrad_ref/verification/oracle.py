"""The numerical oracle: derivatives of a function by finite differences or the complex step,
each with a bound on its error.

``fn`` takes the inputs and returns a Variable (or, for the complex step, a NumPy array). Only
Variable inputs are differentiated; other inputs are constants. The numerical side runs in
float64 whatever the inputs' dtype, and the inputs are never modified.

Every element ``k`` of every Variable input gets a column of the Jacobian: the derivative
``D_jk`` of every output ``j``, each with its own error bound. A gradient of the weighted
objective ``sum(w * fn(*inputs))`` (fixed random weights ``w``) weights the columns afterwards,
``n_k = sum_j w_j D_jk``: outputs a step does not move add no noise, and an output that varies
fast does not blur the others. Two oracles:

* ``"richardson"`` (the default, for any ``fn``): central differences over the shrinking steps
  ``h, h/2, h/4, ...``, extrapolated per output (Ridders' method). The first step is
  ``cbrt(eps) * max(|x_k|, cbrt(eps) * rms(x))``, at most :data:`HOME` of ``|x_k|`` and of the
  distance to the edges of the domain where ``fn`` is defined: no step crosses 0, a pole at 0
  or a sign change. Each output's bound is the table's error estimate plus the noise of its
  evaluations: :data:`NOISE_ULPS` rounding errors of its value, or :data:`NOISE_SIGMAS` times
  its computational noise measured by Moré and Wild's ECnoise (:func:`ecnoise`), whichever is
  larger: a function that cancels inside widens its own bound. The tables of all the elements
  of an input are the rows of one array, which advance together, one step at a time: each
  element evaluates its own next step and stops by its own rules (:func:`_extrapolate`).
* ``"complex"`` (for a NumPy function that accepts complex input and is analytic, such as a
  registered op's ``reference``): ``Im f(x + i*h) / h``, exact to rounding.

:mod:`tinygrad_ref.verification.checks` compares analytic gradients against them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import Config, using_config
from tinygrad_ref.core import Operand, Variable

Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Method = Literal["richardson", "complex"]
Bounds = tuple[float, float]
"""Where ``fn`` is defined in one input: ``low < x < high`` (either may be infinite)."""

EPS64 = float(np.finfo(np.float64).eps)

RATIO = 2.0
"""Each step of the Richardson sequence is the previous one divided by this."""
LEVELS = 6
"""The most steps the Richardson sequence takes (``h`` down to ``h / 2**5``)."""
TABLE_ENTRIES = 2**16
"""The most entries (elements times outputs) in the rows of one table: an input's elements
are estimated together in blocks of at most this many."""
KINK_LEVELS = 4
"""How many of the first steps :meth:`_Table.kinked` judges a kink by."""
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
"""The sequence stops as soon as an estimate's error bound is within this fraction of the
magnitude of its terms, or when a smaller step no longer improves the bound."""
NOISE_ULPS = 8.0
"""How many rounding errors of its value each evaluation of an output may carry."""
NOISE_SIGMAS = 4.0
"""How many of its measured noise levels (standard deviations, :func:`ecnoise`) each
evaluation of an output may be off, when that is more than :data:`NOISE_ULPS` of its value."""
NOISE_POINTS = 6
"""The evaluations ECnoise makes besides the point itself, half on each side along one random
direction, once per oracle run (not per element)."""
NOISE_JITTER = 0.25
"""ECnoise's points are moved off the regular spacing by up to this fraction of it, at random:
rounding to a quantum that the spacing is nearly a multiple of would repeat along a regular
line, and look smooth."""
NOISE_SPACING = (math.sqrt(5.0) - 1.0) / 32.0
"""The spacing of ECnoise's evaluations, relative to each element's first step (about 1/52):
small enough that a smooth function's differences of order 3 and up are below its rounding,
and an irrational fraction of it, so that the line's points share nothing with the steps'
binary structure: there, rounding errors of a function linear at the scale of the steps may
repeat exactly, halving with the step, and look smooth to every difference (sigmoid(x) - 1/2
near 0)."""
NOISE_WIDENING = 8.0
"""How much farther the noise line goes for the outputs it did not move by more than their
quantum: twice at most, and never farther than the first steps (the reach the strategies keep
kinks out of)."""
COMPLEX_STEP = 1e-20
"""The imaginary step of the complex-step oracle, relative to each element's scale."""
ELEMENT_SHARE = float(np.cbrt(EPS64))
"""The share of its array's rms below which an element's step scale does not go."""
LEAST_SCALE = float(np.finfo(np.float64).smallest_normal) / EPS64
"""The least step scale: steps stay normal numbers, far from underflow."""
GROWTH = 1e-6
"""An element whose estimate is bound beyond this fraction of its terms (it would be checked
only loosely) tries a larger first step, up to :func:`largest_steps`: a function whose outputs
are large beside its derivative (a sum of many terms, a loss) needs steps larger than
``cbrt(eps)`` of its input; and only then do outputs no step moved get probed."""
HOME = 0.125
"""No step goes farther from its element than this fraction of the element's magnitude (unless
it is 0), nor than this fraction of its distance to the edges of the domain where ``fn`` is
defined: no step crosses 0, a pole at 0 or a sign change, or leaves the domain."""
NEAR_OVERFLOW = float(np.finfo(np.float64).max) / 16
"""An element whose steps evaluate outputs beyond this (or its derivative not finite) is near
overflow: its differences cannot be trusted, and it is reported instead of judged."""
SUBNORMAL = "subnormal"
NEAR_OVERFLOW_REASON = "near overflow"
NOT_FINITE_REASON = "unresolvable: no step is small enough for fn to stay finite"

_quiet = np.errstate(all="ignore")
"""The oracle's entry points run with NumPy's floating-point warnings off (its evaluations
leave the domain on purpose; inf and NaN are judged, not warned of): the helpers they call,
many times per element, enter no context of their own."""


def step_scale(x: npt.ArrayLike, at: npt.ArrayLike | None = None) -> Float64Array:
    """The scale on which each element of the array ``x`` is perturbed:
    ``max(|x_k|, cbrt(eps) * rms(x))``, or 1 where both are 0. The rms share only gives a zero
    element a step; the steps themselves stay within :data:`HOME` of a nonzero element's
    magnitude (:func:`first_steps`). With ``at``, the scale the values ``at`` would get as
    elements of ``x``."""
    values = np.abs(np.asarray(x, dtype=np.float64))
    targets = values if at is None else np.abs(np.asarray(at, dtype=np.float64))
    scale: Float64Array = np.maximum(targets, ELEMENT_SHARE * _rms(values))
    return np.where(scale > 0, np.maximum(scale, LEAST_SCALE), 1.0)


def variation_scale(x: npt.ArrayLike, homogeneous: bool = False) -> Float64Array:
    """The scale on which a function varies with each element of its input ``x``: the
    element's :func:`step_scale`, at least 1 (a function with no scale of its own, as ``exp``,
    varies on 1's); if ``homogeneous`` (``f(c x) = c**d f(x)``, as a norm or a matrix
    decomposition), at least the least of 1 and ``max|x|``: it varies on its input's scale
    however small. Scaling its input by a power of two scales its values and their rounding
    errors exactly, and so must it scale the bound on them: with a floor of 1, svdvals' second
    derivatives at ``2**-10`` times a matrix were bounded ``2**10`` times tighter than at the
    matrix itself."""
    values = np.asarray(x, dtype=np.float64)
    floor = 1.0
    if homogeneous and values.size:
        floor = min(1.0, float(np.max(np.abs(values))))
    scale: Float64Array = np.maximum(step_scale(values), floor)
    return scale


def _home(point: Float64Array, steps: Float64Array, bounds: Bounds | None) -> Float64Array:
    """``steps``, at most :data:`HOME` of each element's magnitude (when not 0) and of its
    distance to the edges of ``bounds``."""
    magnitude = np.abs(point)
    kept: Float64Array = np.where(magnitude > 0, np.minimum(steps, HOME * magnitude), steps)
    if bounds is not None:
        with np.errstate(all="ignore"):
            distance = np.minimum(point - bounds[0], bounds[1] - point)
        kept = np.where(distance > 0, np.minimum(kept, HOME * distance), kept)
    return kept


def first_steps(
    point: npt.ArrayLike, unit: float, bounds: Bounds | None = None, eps: float | None = None
) -> Float64Array:
    """The first step of the Richardson sequence at each element of the array ``point``:
    ``unit * step_scale(point)`` (or ``eps`` if given), at most :data:`HOME` of the element's
    magnitude (when not 0) and of its distance to the edges of ``bounds``."""
    values = np.asarray(point, dtype=np.float64)
    steps = np.full(values.shape, eps) if eps is not None else unit * step_scale(values)
    return _home(values, steps, bounds)


def largest_steps(point: npt.ArrayLike, bounds: Bounds | None = None) -> Float64Array:
    """How large a first step each element of the array ``point`` may take when smaller ones
    are lost in noise: :data:`HOME` of its magnitude, or of its array's rms (else 1) for an
    element at 0; never nearer the edges of ``bounds`` than :data:`HOME` of its distance."""
    values = np.asarray(point, dtype=np.float64)
    rms = _rms(values)
    steps = np.where(values != 0, HOME * np.abs(values), HOME * (rms if rms > 0 else 1.0))
    return _home(values, steps, bounds)


def oracle_reach(
    x: npt.ArrayLike, dtype: npt.DTypeLike = np.float64, at: npt.ArrayLike | None = None
) -> Float64Array:
    """How far from each element of the input array ``x`` the default numerical oracle
    evaluates the function to estimate a derivative (its first step, whose sequence only
    shrinks from there): strategies keep a non-smooth op's operands farther than this from its
    kinks, so that no evaluation crosses one. ``dtype`` is that of ``fn``'s output from float64
    inputs. With ``at``, the reach at the values ``at`` (kink points) were they elements of
    ``x``. (Only the dependence probe goes farther, see :func:`_probe`: it estimates nothing.)"""
    targets = np.asarray(x if at is None else at, dtype=np.float64)
    steps = _home(targets, float(np.cbrt(np.finfo(dtype).eps)) * step_scale(x, at), None)
    # NOTE: plus the spacing at x: x + h is rounded
    reach: Float64Array = steps + np.spacing(np.abs(targets))
    return reach


def ecnoise(values: npt.ArrayLike, positions: npt.ArrayLike | None = None) -> Float64Array:
    """The computational noise (a standard deviation) of each column of ``values``, the
    evaluations of outputs at points along a line (equally spaced, or at ``positions``), by
    Moré and Wild's ECnoise ("Estimating computational noise", SIAM J. Sci. Comput. 33(3),
    2011): the differences of order ``k`` of noise of level ``s`` have mean square ``s**2 /
    gamma_k``, ``gamma_k = (k!)**2 / (2k)!``, while a smooth function's shrink with the order.
    At ``positions``, divided differences take their place, each over the root of its
    coefficients' summed squares (``gamma_k`` again where the points are equally spaced). The
    estimate of the first order whose differences change sign and whose estimates agree with
    the next two orders' within a factor of 4 is the noise; 0 where none does (the noise is
    below what the spacing resolves). Where at least half the differences of order 1 or 2
    are exactly 0 but not all (the output moves by discrete jumps, which may recur with the
    spacing and so not look random), at least the largest of them over ``sqrt(12)``, the
    deviation of rounding to steps of that size."""
    f = np.asarray(values, dtype=np.float64)
    count, shape = f.shape[0], f.shape[1:]
    flat = f.reshape(count, -1)
    t = tuple(range(count)) if positions is None else tuple(np.asarray(positions).tolist())
    widths, norms, real = _divisors(t)
    columns = flat.shape[1]
    # NOTE: the divided differences of every order in one array (order, difference, column),
    # each order's count - order differences followed by zeros
    divided = np.zeros((count - 1, count - 1, columns))
    jumps = np.zeros(columns)
    with np.errstate(all="ignore"):
        raw = last = flat
        for order in range(1, count):
            if order <= 2:
                raw = raw[1:] - raw[:-1]
                zeros = np.count_nonzero(raw == 0, axis=0)
                sparse = (zeros >= raw.shape[0] / 2) & (zeros < raw.shape[0])
                if sparse.any():
                    largest = np.max(np.abs(raw), axis=0) / math.sqrt(12.0)
                    jumps = np.where(sparse, np.maximum(jumps, largest), jumps)
            last = (last[1:] - last[:-1]) / widths[order - 1]
            divided[order - 1, : count - order] = last
        # NOTE: the zeros add nothing to the sums of squares, and the where leaves them out of
        # the least and largest differences
        scaled = divided / norms
        levels = np.sqrt(np.einsum("oij,oij->oj", scaled, scaled) / real.sum(axis=1))
        signs = (divided.min(axis=1, where=real, initial=np.inf) < 0) & (
            divided.max(axis=1, where=real, initial=-np.inf) > 0
        )
        if count > 3:
            trio = np.stack([levels[:-2], levels[1:-1], levels[2:]])
            agree = (trio.max(axis=0) <= 4 * trio.min(axis=0)) & signs[:-2]
            first = np.argmax(agree, axis=0)
            found = agree[first, np.arange(columns)]
            noise = np.where(found, levels[first, np.arange(columns)], 0.0)
        else:
            noise = np.zeros(columns)
        noise = np.maximum(noise, jumps)
    result: Float64Array = np.where(np.isfinite(noise), noise, 0.0).reshape(shape)
    return result


@functools.lru_cache(maxsize=256)
def _divisors(points: tuple[float, ...]) -> tuple[list[Float64Array], Float64Array, BoolArray]:
    """For the divided differences of each order ``1, 2, ...`` over consecutive ``points``: the
    widths each divides by (as a column per order); and, as :func:`ecnoise` holds them (order,
    difference, column), the deviation each has for independent noise of deviation 1 (1 past
    the last difference of an order) and which differences there are."""
    t = np.array(points)
    rows = len(points) - 1
    widths = []
    norms = np.ones((rows, rows, 1))
    for order in range(1, len(points)):
        widths.append((t[order:] - t[:-order]).reshape(-1, 1))
        spreads = [_spread(points[i : i + order + 1]) for i in range(len(points) - order)]
        norms[order - 1, : len(spreads), 0] = spreads
    real = np.arange(rows) < np.arange(rows, 0, -1)[:, None]
    return widths, norms, real[:, :, None]


def _spread(points: tuple[float, ...]) -> float:
    """The root of the summed squares of the coefficients of the divided difference over
    ``points``: its deviation for independent noise of deviation 1."""
    coefficients = [
        1.0 / math.prod(p - q for j, q in enumerate(points) if j != i) for i, p in enumerate(points)
    ]
    return math.sqrt(sum(c * c for c in coefficients))


def granularity(values: npt.ArrayLike) -> Float64Array:
    """The largest power of two of which every value in each column of ``values`` is a
    multiple (0 for a column that never changes): the quantum to which an output is rounded.
    A value computed with full precision has the spacing of its last bit; one that is the
    difference of large terms (``(x + 1e8) - 1e8``) keeps the spacing of those terms, however
    small it is: its noise is that quantum, wherever it is evaluated."""
    f = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        finest = _quanta(f).min(axis=0)
    moving = (f != f[:1]).any(axis=0) & np.isfinite(finest)
    result: Float64Array = np.where(moving, finest, 0.0)
    return result


def _quanta(f: Float64Array) -> Float64Array:
    """The largest power of two of which each value is a multiple (``inf`` for 0; a negative
    number, which no caller counts, for NaN and infinities; NumPy's warnings off, as the
    oracle's entry points have them)."""
    fraction, exponent = np.frexp(f)
    # NOTE: the mantissa as a 53-bit integer (exact); its lowest set bit, which two's
    # complement keeps for a negative one, is the quantum in units of its last place
    mantissa = (fraction * 2.0**53).astype(np.int64)
    lowest = (mantissa & -mantissa).astype(np.float64)
    quanta: Float64Array = np.where(f != 0, np.ldexp(lowest, exponent - 53), np.inf)
    return quanta


def _working_dtype(*dtypes: np.dtype[Any]) -> np.dtype[Any]:
    """The least precise of ``dtypes``."""
    return max(dtypes, key=lambda dtype: np.finfo(dtype).eps)


def _weights(shape: tuple[int, ...], seed: int) -> Float64Array:
    """Fixed random weights of magnitude 0.5 to 1.5 and random sign: no output is ignored.
    A fresh copy of the ones drawn once per shape and seed."""
    return _drawn_weights(shape, seed).copy()


@functools.lru_cache(maxsize=256)
def _drawn_weights(shape: tuple[int, ...], seed: int) -> Float64Array:
    rng = np.random.default_rng(seed)
    magnitudes = rng.uniform(0.5, 1.5, size=shape)
    drawn: Float64Array = np.where(rng.random(size=shape) < 0.5, -magnitudes, magnitudes)
    return drawn


def _call(fn: Callable[..., Variable], inputs: Sequence[Any]) -> Variable:
    if Config.enable_backprop:
        # NOTE: recording already (the oracle's inner calls): no context to enter
        y = fn(*inputs)
    else:
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


def _rms(values: Float64Array) -> float:
    """The root mean square of ``values`` (0 for none)."""
    if not values.size:
        return 0.0
    with np.errstate(all="ignore"):
        # NOTE: np.mean's bits (the sum over the count) without its Python wrapper
        return math.sqrt(np.square(values).sum() / values.size)


def _rms_or_1(values: Float64Array) -> float:
    """The rms of ``values``, at least 1."""
    return max(_rms(values), 1.0)


def _root_sum_square(x: Float64Array) -> float:
    flat = np.ravel(x)
    total = float(np.dot(flat, flat))
    if 1e-290 < total < 1e290:
        return math.sqrt(total)
    # NOTE: scaled where the squares would overflow or underflow
    largest = float(np.abs(flat).max(initial=0.0))
    if largest == 0 or not np.isfinite(largest):
        return largest
    return largest * float(np.sqrt(np.sum(np.square(flat / largest))))


def _finite(value: Float64Array) -> bool:
    return bool(np.isfinite(value).all())


Unresolved = tuple[tuple[tuple[int, ...], str], ...]
"""Elements the oracle cannot judge, each with the reason: :data:`SUBNORMAL`,
:data:`NEAR_OVERFLOW_REASON` or :data:`NOT_FINITE_REASON` (a pole or an edge of the domain
within a rounding error, as ``log(cos(x))`` one ULP below pi/2)."""


@dataclass(frozen=True)
class Estimate:
    """Numerical derivatives and a bound on each one's error, with what the checks need to
    judge each element on its own scale."""

    value: Float64Array
    error: Float64Array
    terms: Float64Array | None = None
    """The magnitude of each derivative's terms, ``sum_j |w_j| |D_jk|`` for a gradient,
    ``|D_jk|`` for a Jacobian."""
    steps: Float64Array | None = None
    """The first step at each element of the input (the shrunk one where evaluations were not
    finite)."""
    unresolved: Unresolved = ()
    """The elements the oracle could not judge, by index, with the reason."""
    noise: float = 0.0
    """The largest computational noise measured in an output (:func:`ecnoise`), in its units."""
    outputs: Float64Array | None = None
    """The magnitude of the weighted outputs each element moves, ``sum_j |w_j| |y_j|`` over
    the outputs that depend on it (a gradient only): a rule reads them, so their rounding
    reaches the derivative."""


@dataclass(frozen=True)
class Degeneracy:
    """Where ``fn`` is computed from a matrix decomposition (its point a stack of matrices):
    how many times the rounding of its largest value its results may be off (``n max|s| / gap``
    for LAPACK's vectors, a condition number for its solutions), and how far the point is from
    a degenerate matrix, in any one element (half the least gap of a spectrum, the least
    singular value): a step the oracle grows goes no farther than :data:`HOME` of that (the
    strategies keep the first steps far nearer), as across it ``fn`` is not smooth (a grown
    step of 9e-4 across gaps of 2.2e-4 gave ``svd``'s second derivative 2x off with a bound of
    0.9x)."""

    conditioning: float
    distance: float


class _Objective:
    """``fn`` in float64 as a function of the Variable inputs' values, with fixed weights ``w``
    for its outputs and each output's measured noise."""

    def __init__(
        self,
        fn: Callable[..., Any],
        inputs: Sequence[Operand],
        seed: int,
        raw: bool = False,
        along_direction: bool = False,
        bounds: Sequence[Bounds | None] | None = None,
        counted: int | None = None,
        far: tuple[float, ...] | None = None,
        floor: float = 0.0,
        degeneracy: Degeneracy | None = None,
    ) -> None:
        self.fn = fn
        self.seed = seed
        self.raw = raw
        """``fn`` takes NumPy arrays (complex ones for the complex step), not Variables."""
        self.along_direction = along_direction
        """The one variable moves every input along a direction: then an output that did not
        change had its change rounded away, and keeps its rounding noise."""
        self.inputs = list(inputs)
        self.variables = _variables(inputs)
        self.points = [np.array(x.data, dtype=np.float64) for x in self.variables.values()]
        self.bounds: list[Bounds | None] = (
            [None] * len(self.points) if bounds is None else list(bounds)
        )
        with np.errstate(all="ignore"):
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
        self.value = np.array(np.real(y), dtype=np.float64)
        """The outputs at the point."""
        self.weights = _weights(y.shape, seed)
        self.magnitudes = np.abs(self.weights * self.value)
        """The magnitude of each weighted output, of which the rounding reaches the
        derivatives of the elements that move it."""
        if counted is not None:
            # NOTE: the outputs after the first `counted` are the weighted values of the
            # function whose gradient the first ones are: they only show which values each
            # element moves, and how large they are
            flat = self.weights.reshape(-1)
            flat[counted:] = 0.0
            self.magnitudes.reshape(-1)[counted:] = np.abs(self.value.reshape(-1)[counted:])
        self.sigma = np.zeros(self.value.shape)
        self.far = far
        """How far the dependence probes move an element, toward 0 and past it (else by
        :attr:`reach`, then to ``2**1000`` away from 0)."""
        self.distance = math.inf
        """How far from the point ``fn`` stays smooth in any one element (see
        :class:`Degeneracy`)."""
        if degeneracy is not None:
            # NOTE: the counted outputs (a gradient) are read from a decomposition, whose
            # rounding is that of its largest output times its conditioning
            counted_values = self.value.reshape(-1)[
                : self.value.size if counted is None else counted
            ]
            largest = float(np.max(np.abs(counted_values), initial=0.0))
            floor = max(floor, degeneracy.conditioning * largest)
            self.distance = degeneracy.distance
        self.floor = floor
        """The least magnitude of the terms each output is computed from, given by the caller
        when larger than the outputs (an ``fn`` that is itself a derivative, whose terms may
        cancel; or the conditioning of a :class:`Degeneracy` times the largest output): its
        rounding errors are the least noise of every evaluation."""
        self.tiny = max(float(np.finfo(self.output_dtype).smallest_normal), floor)
        """The least magnitude whose rounding :meth:`error` counts."""

    def _evaluate(self, points: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        args = list(self.inputs)
        for i, point in zip(self.variables, points, strict=True):
            args[i] = point if self.raw else Variable(point)
        if self.raw:
            return np.asarray(self.fn(*args))
        return _call(self.fn, args).data

    def output(self, points: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """The outputs at moved ``points``; NaN where ``fn`` refuses them with a ValueError
        (they left its domain, as a probability above 1 does)."""
        try:
            y = self._evaluate(points)
        except ValueError:
            return np.full(self.value.shape, np.nan)
        # NOTE: a copy: a view op's output shares memory with the point, which moves next
        return np.array(y) if self.raw else np.array(y, dtype=np.float64)

    def error(self, y: Float64Array) -> Float64Array:
        """A bound on the computational error of evaluations that gave the outputs ``y``
        (flattened, one evaluation per row):
        :data:`NOISE_ULPS` rounding errors of each (at least of the smallest normal number: an
        output may have underflowed), or :data:`NOISE_SIGMAS` of its measured noise."""
        rounding: Float64Array = NOISE_ULPS * self.eps * np.maximum(np.abs(y), self.tiny)
        if self._noise_bound is None:
            return rounding
        bound: Float64Array = np.maximum(rounding, self._noise_bound)
        return bound

    @property
    def sigma(self) -> Float64Array:
        """Each output's computational noise, once :meth:`measure_noise` has run."""
        return self._sigma

    @sigma.setter
    def sigma(self, sigma: Float64Array) -> None:
        self._sigma = sigma
        # NOTE: None where no output is noisy, the common case: rounding alone bounds them;
        # flattened, as the outputs in the rows of the oracle's tables
        self._noise_bound = NOISE_SIGMAS * sigma.reshape(-1) if sigma.any() else None

    def beyond_rounding(
        self, line: Float64Array, positions: Float64Array | None = None
    ) -> Float64Array:
        """The noise of evaluations ``line`` along a line (:func:`ecnoise`, and at least
        the deviation of rounding to their :func:`granularity`) where it is more than the
        rounding :meth:`error` allows the values themselves, else 0 (the values may be far
        larger than at the point, where an element at 0 moved)."""
        # NOTE: rounding to a quantum of size q has deviation q / sqrt(12)
        found = np.maximum(ecnoise(line, positions), granularity(line) / math.sqrt(12.0))
        with np.errstate(all="ignore"):
            rounding = NOISE_ULPS / NOISE_SIGMAS * self.eps * np.max(np.abs(line), axis=0)
        beyond: Float64Array = np.where(found > rounding, found, 0.0)
        return beyond

    @_quiet
    def measure_noise(self, steps: Sequence[Float64Array]) -> None:
        """Each output's noise by :func:`ecnoise` (and at least the deviation of rounding to
        its :func:`granularity`), where it is more than the rounding :meth:`error` allows the
        values evaluated (else 0: the model covers it; the values may be far larger than at the
        point, where an element at 0 moved), from :data:`NOISE_POINTS` evaluations along a random
        direction whose component at each element is :data:`NOISE_SPACING` of its first step
        ``steps``, with a random sign; :data:`HOME` of that again where an evaluation is not
        finite (the line reached the edge of the domain), up to three times. Where half the
        evaluations of an output or more equal their neighbours (the line moved it by less than
        its quantum), :data:`NOISE_WIDENING` times farther, up to twice but never beyond the
        first steps: the steps move it more,
        and an output that is the difference of larger terms changes by a few of their quanta
        there, whose rounding may repeat as the step halves and look converged. Two evaluations
        at the widest line's ends (the first steps) tell first whether any such output moves at
        all (none of ``sum``'s gradient does): then no wider line is drawn."""
        signs, positions = _noise_draws(self.seed, tuple(p.shape for p in self.points))
        half = NOISE_POINTS // 2
        spacing = NOISE_SPACING
        for _ in range(4):
            line = self._line(steps, signs, positions, spacing)
            if _finite(line) or not _finite(self.value):
                break
            spacing *= HOME
        self.sigma = self.beyond_rounding(line, positions)
        # NOTE: only outputs the objective weighs (not the values beside a gradient)
        still = (np.sum(np.diff(line, axis=0) == 0, axis=0) >= half) & (self.weights != 0)
        if not still.any():
            return
        # NOTE: no point of a wider line goes farther than the first steps (the strategies keep
        # kinks out of their reach only); first its two ends: outputs they leave unmoved are
        # constant (sum's gradient), and need no wider line
        widest = 1.0 / (half + NOISE_JITTER)
        ends = self._line(steps, signs, positions[[0, -1]], widest)
        with np.errstate(invalid="ignore"):
            still &= np.any(ends != self.value, axis=0)
        for _ in range(2):
            if not still.any() or spacing >= widest:
                break
            spacing = min(spacing * NOISE_WIDENING, widest)
            line = self._line(steps, signs, positions, spacing)
            if not _finite(line):
                break
            self.sigma = np.where(still, self.beyond_rounding(line, positions), self.sigma)
            still &= np.sum(np.diff(line, axis=0) == 0, axis=0) >= half

    def _line(
        self,
        steps: Sequence[Float64Array],
        signs: Sequence[Float64Array],
        positions: Float64Array,
        spacing: float,
    ) -> Float64Array:
        """The outputs at ``positions`` along the line of :meth:`measure_noise`."""
        directions = [spacing * sign * s for sign, s in zip(signs, steps, strict=True)]
        values = [
            self.value
            if u == 0
            else self.output([p + u * v for p, v in zip(self.points, directions, strict=True)])
            for u in positions
        ]
        line: Float64Array = np.stack(values)
        return line

    @property
    def reach(self) -> float:
        """The scale of a far move, for the dependence probe: the rms of every Variable
        input's values, and at least 1."""
        return _rms_or_1(np.concatenate([np.ravel(p) for p in self.points]))


@functools.lru_cache(maxsize=256)
def _noise_draws(
    seed: int, shapes: tuple[tuple[int, ...], ...]
) -> tuple[tuple[Float64Array, ...], Float64Array]:
    """The random signs of :meth:`_Objective.measure_noise`'s direction in each input of
    ``shapes``, and the positions of its line's points: drawn once per seed and shapes, and
    read-only."""
    rng = np.random.default_rng(seed + 7)
    signs = tuple(rng.choice([-1.0, 1.0], size=shape) for shape in shapes)
    half = NOISE_POINTS // 2
    # NOTE: jittered, so that no regular spacing aliases with the quantum of the noise
    jitter = rng.uniform(-NOISE_JITTER, NOISE_JITTER, size=2 * half + 1)
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    positions: Float64Array = offsets + np.where(offsets != 0, jitter, 0.0)
    for drawn in (*signs, positions):
        drawn.flags.writeable = False
    return signs, positions


IntArray = npt.NDArray[np.intp]
_EVERY_ROW = slice(None)


# NOTE: the oracle's own records are plain slotted dataclasses: a frozen one's __init__ sets
# each field through object.__setattr__, three times slower
@dataclass(slots=True)
class _Difference:
    """Central differences of every output at one step, one row per element (the outputs
    flattened along the row)."""

    value: Float64Array
    error: Float64Array
    """A bound on its error from the evaluations' noise."""
    changed: BoolArray
    """The outputs that changed."""
    width: Float64Array
    """Per row, the distance between the two points differenced."""
    peak: Float64Array
    """Per row, the largest magnitude evaluated among the outputs that changed."""

    def put(
        self, rows: IntArray, other: _Difference, chosen: IntArray | slice = _EVERY_ROW
    ) -> None:
        """Take ``other``'s rows ``chosen`` as the rows ``rows`` of this one."""
        self.value[rows], self.error[rows] = other.value[chosen], other.error[chosen]
        self.changed[rows] = other.changed[chosen]
        self.width[rows], self.peak[rows] = other.width[chosen], other.peak[chosen]


Central = Callable[[IntArray, Float64Array], _Difference]
"""The central differences of the rows ``rows`` at fractions (one per row) of their first
steps."""


def _difference(
    objective: _Objective, y_above: Float64Array, y_below: Float64Array, width: Float64Array
) -> _Difference:
    """``(y_above - y_below) / width`` per output and the bound on its noise: each side's
    :meth:`_Objective.error`, over ``width``; one row per element, one width per row."""
    across = width[:, None]
    changed = y_above != y_below
    value = (y_above - y_below) / across
    error = (objective.error(y_above) + objective.error(y_below)) / across
    sides = np.maximum(np.abs(y_above), np.abs(y_below))
    peak = np.where(changed, sides, 0.0).max(axis=-1, initial=0.0)
    return _Difference(value, error, changed, width, peak)


@dataclass(slots=True)
class _Entry:
    """Entries of the extrapolation table, one row per element: their values, truncation
    errors and rounding noise."""

    value: Float64Array
    truncation: Float64Array
    noise: Float64Array

    @property
    def error(self) -> Float64Array:
        error: Float64Array = self.truncation + self.noise
        return error

    def put(self, rows: IntArray, other: _Entry) -> None:
        """Take ``other``'s rows as the rows ``rows`` of this one."""
        self.value[rows], self.truncation[rows] = other.value, other.truncation
        self.noise[rows] = other.noise

    def rows(self, kept: BoolArray | IntArray) -> _Entry:
        """The rows where ``kept``."""
        return _Entry(self.value[kept], self.truncation[kept], self.noise[kept])

    def better(self, other: _Entry | None) -> _Entry:
        """Per output, whichever of ``self`` and ``other`` has the smaller error."""
        if other is None:
            return self
        take = self.error < other.error
        return _Entry(
            np.where(take, self.value, other.value),
            np.where(take, self.truncation, other.truncation),
            np.where(take, self.noise, other.noise),
        )

    def among(self, moved: BoolArray) -> _Entry:
        """The entry with no noise for the outputs outside ``moved``."""
        return _Entry(self.value, self.truncation, np.where(moved, self.noise, 0.0))

    def weighted(self, weights: Float64Array | None) -> _Entry:
        """The entry of ``sum(w * value)`` along each row (a column of one): truncations add
        up; the noise of distinct outputs is independent, so it adds like random errors, as
        the root of the summed squares."""
        if weights is None:
            return self
        counted = weights != 0
        return _Entry(
            _weigh(weights, self.value, counted).sum(axis=-1, keepdims=True),
            _weigh(np.abs(weights), self.truncation, counted).sum(axis=-1, keepdims=True),
            _root_sum_squares(_weigh(weights, self.noise, counted)),
        )


def _weigh(
    weights: Float64Array, values: Float64Array, counted: BoolArray | None = None
) -> Float64Array:
    """``weights * values``, 0 where a weight is 0 even if its value is not finite: an output
    weighed by 0 adds nothing to the sum, nor to its error where its estimate failed.
    ``counted``: ``weights != 0``, if the caller has it."""
    weighed: Float64Array = np.where(
        weights != 0 if counted is None else counted, weights * values, 0.0
    )
    return weighed


def _root_sum_squares(rows: Float64Array) -> Float64Array:
    """:func:`_root_sum_square` of each row, as a column."""
    # NOTE: vecdot is BLAS's dot of each (contiguous) row, the same bits as np.dot of the row
    totals = np.vecdot(rows, rows)
    roots: Float64Array = np.sqrt(totals)
    unscaled = (totals > 1e-290) & (totals < 1e290)
    if not unscaled.all():
        for r in np.flatnonzero(~unscaled):
            roots[r] = _root_sum_square(rows[r])
    return roots[:, None]


@dataclass(slots=True)
class _Table:
    """What the extrapolation found, one row per element: the best entry per output (no noise
    for an output no step moved), which outputs any step moved (or all, along a direction)
    and which changed, and the first step's difference."""

    best: _Entry
    moved: BoolArray
    changed: BoolArray
    first: _Difference
    levels: list[tuple[IntArray, Float64Array]]
    """The rows that took each of the first :data:`KINK_LEVELS` steps, and their central
    differences there (all :meth:`kinked` reads)."""

    def quantized(self, quantum: Float64Array) -> _Table:
        """The table with each moved output's noise at least that of differencing values
        rounded to ``quantum`` (their :func:`granularity` over every step) at the first, widest
        step: :data:`NOISE_SIGMAS` deviations of that rounding on each side. An output that is
        the difference of larger terms (``1 - sech2(x)`` near 0) moves by a few of their quanta
        at each step, and their rounding may repeat as the step halves and look converged, or
        cancel on the two sides of every step: only all the values seen together show it."""
        floor = 2 * NOISE_SIGMAS / math.sqrt(12.0) * quantum / self.first.width[:, None]
        noise = np.where(self.moved, np.maximum(self.best.noise, floor), self.best.noise)
        best = _Entry(self.best.value, self.best.truncation, noise)
        return _Table(best, self.moved, self.changed, self.first, self.levels)

    def kinked(self, weights: Float64Array) -> BoolArray:
        """Per row, whether the weighted differences behave as across a kink between the point
        and the smallest step: a piecewise linear function's ``D(h) = m + c / h`` changes twice
        as much from each step to the next (a smooth one's four times less, noise's at random).
        Also where fewer than :data:`KINK_LEVELS` steps were taken (nothing to tell)."""
        sums = np.full((len(self.first.width), KINK_LEVELS), np.nan)
        for level, (rows, values) in enumerate(self.levels):
            sums[rows, level] = (weights * values).sum(axis=-1)
        changes = np.diff(sums, axis=1)
        ratios = changes[:, 1:] / changes[:, :-1]
        fewer = np.ones(len(sums), dtype=bool)
        if len(self.levels) == KINK_LEVELS:
            fewer[self.levels[-1][0]] = False
        kinked: BoolArray = fewer | np.all((ratios >= 1.5) & (ratios <= 2.5), axis=1)
        return kinked

    def put(self, rows: IntArray, other: _Table, chosen: IntArray) -> None:
        """Take ``other``'s rows ``chosen`` (all but their levels) as the rows ``rows``."""
        self.best.put(rows, other.best.rows(chosen))
        self.moved[rows], self.changed[rows] = other.moved[chosen], other.changed[chosen]
        self.first.put(rows, other.first, chosen)


def _extrapolate(
    central: Central,
    first: _Difference,
    levels: int,
    weights: Float64Array | None = None,
    least: int = 2,
    everywhere: bool = False,
) -> _Table:
    """Ridders' method: central differences at steps ``h / RATIO**i`` from the ``first``,
    extrapolated with Richardson's table per output; each entry's error is estimated from its
    neighbours in the table, plus the noise carried through the table. Keeps the best estimate
    per output, and stops when it is within :data:`TARGET` of its terms, when noise dominates
    it (smaller steps only add noise), or when a smaller step made it worse (Ridders' rule);
    with ``weights``, these are judged on the weighted sum of the outputs; never before
    ``least`` steps. An output no step has moved yet counts no noise there (it does not depend
    on the element, or its change rounded away), unless ``everywhere`` (along a direction: a
    change rounded away is noise).

    The rows (elements) advance together, level by level: the table's arithmetic is done once
    for all the rows still going, and each row stops on its own, by the rules above applied to
    it alone."""
    count = len(first.width)
    changed = first.changed.copy()
    final = _Entry(first.value.copy(), np.full_like(first.value, np.inf), first.error.copy())
    # NOTE: a copy: a table's first differences are replaced where a grown table is taken
    taken = [(np.arange(count), first.value.copy())]
    active = np.arange(count)
    previous, previous_noise = [first.value], [first.error]
    best: _Entry | None = None
    summary: _Entry | None = None
    for i in range(1, levels):
        step = central(active, np.full(active.size, RATIO**-i))
        changed[active] |= step.changed
        if i < KINK_LEVELS:
            taken.append((active, step.value))
        row, row_noise = [step.value], [step.error]
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
        assert row_best is not None
        previous_best, best = best, row_best.better(best)
        worse = np.zeros(active.size, dtype=bool)
        if i + 1 >= least and previous_best is not None and summary is not None:
            # NOTE: Ridders' rule: a row whose smaller step made it worse stops with its best
            # so far
            row_summary = row_best.among(changed[active] | everywhere).weighted(weights)
            worse = _everywhere(row_summary.error > 2 * summary.error)
            if worse.any():
                best.put(np.flatnonzero(worse), previous_best.rows(worse))
        summary = best.among(changed[active] | everywhere).weighted(weights)
        previous, previous_noise = row, row_noise
        if i + 1 >= least:
            stop = worse | _converged(summary, best, weights)
            if stop.all():
                final.put(active, best)
                break
            if stop.any():
                final.put(active[stop], best.rows(stop))
                go = ~stop
                active, best, summary = active[go], best.rows(go), summary.rows(go)
                previous, previous_noise = [p[go] for p in row], [p[go] for p in row_noise]
    else:
        # NOTE: the rows still going after the last level keep their best
        if best is not None:
            final.put(active, best)
    moved = changed | everywhere
    return _Table(final.among(moved), moved, changed, first, taken)


def _everywhere(condition: BoolArray) -> BoolArray:
    """Per row, whether ``condition`` holds for every output."""
    every: BoolArray = np.logical_and.reduce(condition, axis=-1)
    return every


def _converged(summary: _Entry, best: _Entry, weights: Float64Array | None) -> BoolArray:
    """Per row, whether ``summary`` (of ``best``, weighted) is noise-bound or within
    :data:`TARGET` of its terms."""
    terms = (
        best.value if weights is None else np.abs(weights * best.value).sum(axis=-1, keepdims=True)
    )
    return _everywhere(summary.truncation <= summary.noise) | _everywhere(
        summary.error <= TARGET * np.abs(terms)
    )


def _inside_domain(central: Central, count: int) -> tuple[Central, _Difference]:
    """``central`` for ``count`` rows, each at the largest of ``1, 1/2, 1/4, ...`` times its
    step at which every evaluation is finite, and then :data:`HOME` of that: the edge of the
    domain lies within twice the largest finite step, so the steps stay home, never near it;
    and the rows' differences at those first steps."""
    first = central(np.arange(count), np.ones(count))
    shrink = np.ones(count)
    outside: Sequence[int] = ()
    if not _finite(first.value):
        outside = np.flatnonzero(~_everywhere(np.isfinite(first.value))).tolist()
    for r in outside:
        row = np.array([r])
        fraction, value = 1.0, first.value[r]
        for _ in range(60):
            if _finite(value):
                break
            fraction /= RATIO
            value = central(row, np.array([fraction])).value
        else:
            # NOTE: no step is small enough: the row keeps its first step
            continue
        shrink[r] = fraction * HOME
        first.put(row, central(row, shrink[row]))

    def inside(rows: IntArray, fractions: Float64Array) -> _Difference:
        return central(rows, fractions * shrink[rows])

    return inside, first


class ComplexStepUnderflowError(ValueError):
    """The complex step cannot bound its error: an imaginary part would underflow."""


@dataclass(slots=True)
class _Columns:
    """The oracle's derivatives of every output (flattened) with respect to elements of an
    input (or along one direction), one row per element."""

    value: Float64Array
    truncation: Float64Array
    noise: Float64Array
    hidden: Float64Array
    """A bound on the derivative of each output no step moved but which may depend on the
    element (its change was rounded away): 0 for the others."""
    step: Float64Array
    """Per row, the first step."""
    moved: BoolArray
    """The outputs that depend on the element: some step moved them, or they may hide a
    derivative."""
    reasons: list[str]
    """Per row, why the element cannot be judged, or ``""``."""
    safety: float = ERROR_SAFETY

    def put(self, rows: IntArray, other: _Columns) -> None:
        """Take ``other``'s rows as the rows ``rows`` of these columns."""
        self.value[rows], self.truncation[rows] = other.value, other.truncation
        self.noise[rows], self.hidden[rows] = other.noise, other.hidden
        self.step[rows], self.moved[rows] = other.step, other.moved
        for row, reason in zip(rows.tolist(), other.reasons, strict=True):
            self.reasons[row] = reason

    @property
    def error(self) -> Float64Array:
        """Each output's error bound."""
        error: Float64Array = self.safety * (self.truncation + self.noise) + self.hidden
        return error

    def weighted(
        self, weights: Float64Array, magnitudes: Float64Array
    ) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array]:
        """Per row, the derivative of ``sum(w * outputs)``, its error bound, the magnitude of
        its terms ``sum_j |w_j| |D_j|``, and the sum of the ``magnitudes`` of the outputs it
        moves (``weights`` and ``magnitudes`` flattened as the outputs)."""
        entry = _Entry(self.value, self.truncation, self.noise).weighted(weights)
        hidden = _weigh(np.abs(weights), self.hidden).sum(axis=-1)
        terms = np.abs(_weigh(weights, self.value)).sum(axis=-1)
        moved = np.where(self.moved, magnitudes, 0.0).sum(axis=-1)
        return entry.value[:, 0], self.safety * entry.error[:, 0] + hidden, terms, moved


class _Granularity:
    """The :func:`granularity` of the outputs evaluated in each element's column, the point's
    included: each output's finest quantum and whether it moved, updated as evaluations come in."""

    def __init__(self, value: Float64Array, elements: int) -> None:
        self.value = value
        self.finest = np.tile(_quanta(value), (elements, 1))
        # NOTE: as granularity's comparison with the first value: NaN at the point moves
        self.moving = np.tile(value != value, (elements, 1))

    def add(self, ks: IntArray, above: Float64Array, below: Float64Array) -> None:
        """The outputs ``above`` and ``below`` evaluated in the columns of the (distinct)
        elements ``ks``, one row each."""
        sides = np.stack((above, below))
        self.finest[ks] = np.minimum(self.finest[ks], _quanta(sides).min(axis=0))
        self.moving[ks] |= (sides != self.value).any(axis=0)

    def __getitem__(self, ks: IntArray) -> Float64Array:
        finest, moving = self.finest[ks], self.moving[ks]
        quantum: Float64Array = np.where(moving & np.isfinite(finest), finest, 0.0)
        return quantum


class _ElementSteps:
    """Central differences in the elements ``ks`` of input ``number`` (one row each) from
    their first steps ``starts``, evaluated on ``work``, a copy of the points that is restored
    after each evaluation; every output evaluated goes to the columns' ``quanta``."""

    def __init__(
        self,
        objective: _Objective,
        work: list[Float64Array],
        number: int,
        ks: IntArray,
        starts: Float64Array,
        quanta: _Granularity,
    ) -> None:
        self.objective, self.work, self.ks, self.starts = objective, work, ks, starts
        self.flat = work[number].reshape(-1)
        self.quanta = quanta

    def __call__(self, rows: IntArray, fractions: Float64Array) -> _Difference:
        size = self.objective.value.size
        above, below = np.empty((rows.size, size)), np.empty((rows.size, size))
        width = np.empty(rows.size)
        ks = self.ks[rows]
        for i, (k, h) in enumerate(
            zip(ks.tolist(), (self.starts[rows] * fractions).tolist(), strict=True)
        ):
            x = self.flat[k]
            try:
                self.flat[k] = x + h
                above[i] = self.objective.output(self.work).reshape(-1)
                self.flat[k] = x - h
                below[i] = self.objective.output(self.work).reshape(-1)
            finally:
                self.flat[k] = x
            # NOTE: divided by the steps actually taken, after rounding x + h and x - h
            width[i] = (x + h) - (x - h)
        self.quanta.add(ks, above, below)
        return _difference(self.objective, above, below, width)


def _probe(
    objective: _Objective, work: list[Float64Array], number: int, k: int
) -> tuple[BoolArray, Float64Array]:
    """Which outputs (flattened) depend on element ``k`` of input ``number`` at all: those
    that some far move of it changes, or makes not finite (unless it makes every output not
    finite: it left the domain); and the largest magnitude each output takes at the point and
    under the moves toward 0. The first move goes by the inputs' rms (at least 1) toward 0 and
    past it (a function that saturates away from 0 moves there); unless every output moved, a
    second one goes to ``2**1000`` away from 0 (a dependence too weak for the first). Along a
    direction, the moves are the objective's ``far``, both toward 0. A move by the scale that
    leaves the domain is halved until it is inside; where no move tells anything, every output
    may depend on the element. Made only when outputs that no step moved could hide a
    derivative larger than the estimate's own error. They estimate nothing, so they may go
    farther than the steps."""
    flat = work[number].reshape(-1)
    x = float(flat[k])
    if objective.far is None:
        far = max(abs(x), objective.reach)
        targets = [(x - math.copysign(far, x), True), (math.copysign(2.0**1000, x), False)]
    else:
        targets = [(x - math.copysign(far, x), True) for far in objective.far]
    value = objective.value.reshape(-1)
    dependent: BoolArray = np.zeros(value.shape, dtype=bool)
    scale = np.abs(value)
    told = False
    try:
        for target, scaled in targets:
            flat[k] = target
            moved = objective.output(work).reshape(-1)
            # NOTE: a move that left the domain (cholesky's, past positive definiteness) is
            # made again half as far, until it is inside, for the moves by the inputs' scale
            for _ in range(PROBE_RETREATS if scaled else 0):
                if np.isfinite(moved).any():
                    break
                target = x + (target - x) / RATIO
                flat[k] = target
                moved = objective.output(work).reshape(-1)
            finite = np.isfinite(moved)
            if finite.any() or not moved.size:
                # NOTE: nothing finite (the move left the domain) tells nothing
                told = True
                with np.errstate(invalid="ignore"):
                    dependent |= (moved != value) | ~finite
            if scaled:
                scale = np.maximum(scale, np.where(finite, np.abs(moved), 0.0))
            elif dependent.all():
                break
    finally:
        flat[k] = x
    if not told:
        # NOTE: no move told anything: every output may depend on the element
        dependent[...] = True
    return dependent, scale


PROBE_RETREATS = 60
"""How many times :func:`_probe` halves a move that left the function's domain before it
gives up on it."""


Wanted = Callable[[int, int, float, float, float], bool]
"""Whether element ``k`` of input ``number`` is worth refining, given the weighted estimate,
its error bound and its terms: a larger step where noise bounds it, probes of the outputs no
step moved. A check asks where its judgement depends on it; refining only tightens the bound
(except where nothing moved: there it may also find the rounding of an exact 0 hidden)."""


def _larger(a: Float64Array, b: Float64Array) -> Float64Array:
    """Python's ``max(a, b)`` per element: ``a`` unless ``b > a`` (NaN as Python has it)."""
    larger: Float64Array = np.where(b > a, b, a)
    return larger


def _richardson_columns(
    objective: _Objective,
    work: list[Float64Array],
    number: int,
    ks: IntArray,
    steps: Float64Array,
    weights: Float64Array | None,
    largest: Float64Array,
    wanted: Wanted | None = None,
) -> _Columns:
    """The Richardson estimate of every output's derivative by each element ``ks`` of input
    ``number`` (one row each), from the first steps ``steps``; an output no step moved
    contributes its noise over the first step as a bound on a hidden derivative. Where
    ``wanted`` (else always), refined: when the weighted estimate is lost in noise beyond
    :data:`GROWTH` of its terms, from a larger step up to ``largest`` too, if better; and the
    outputs no step moved are probed: where others moved, those that do not depend on the
    element drop out; where nothing moved, those that do count the rounding of the values they
    take nearby. ``weights`` are flattened as the outputs. All the elements' tables advance
    together (:func:`_extrapolate`), each element deciding on its own."""
    x = work[number].reshape(-1)[ks]
    subnormal = (np.abs(x) > 0) & (np.abs(x) < float(np.finfo(np.float64).smallest_normal))
    if subnormal.any():
        # NOTE: a subnormal element is not judged: its rounding has no bound
        size = objective.value.size
        columns = _Columns(
            np.zeros((ks.size, size)),
            np.zeros((ks.size, size)),
            np.zeros((ks.size, size)),
            np.full((ks.size, size), np.inf),
            steps.copy(),
            np.ones((ks.size, size), dtype=bool),
            [SUBNORMAL] * ks.size,
        )
        rows = np.flatnonzero(~subnormal)
        if rows.size:
            columns.put(
                rows,
                _richardson_columns(
                    objective, work, number, ks[rows], steps[rows], weights, largest[rows], wanted
                ),
            )
        return columns
    quanta = _Granularity(objective.value.reshape(-1), work[number].size)

    def table_from(chosen: IntArray, starts: Float64Array, least: int = 2) -> _Table:
        central, first = _inside_domain(
            _ElementSteps(objective, work, number, ks[chosen], starts, quanta), chosen.size
        )
        table = _extrapolate(central, first, LEVELS, weights, least, objective.along_direction)
        return table.quantized(quanta[ks[chosen]])

    table = table_from(np.arange(ks.size), steps)
    refine = np.ones(ks.size, dtype=bool)
    if weights is not None:
        summary = table.best.weighted(weights)
        error = ERROR_SAFETY * summary.error[:, 0]
        terms = np.abs(weights * table.best.value).sum(axis=-1)
        if wanted is not None:
            unmoved = np.where(table.moved, 0.0, table.first.error)
            hidden_sum = (np.abs(weights) * unmoved).sum(axis=-1)
            refine = np.array(
                [
                    wanted(number, k, v, e, t)
                    for k, v, e, t in zip(
                        ks.tolist(),
                        summary.value[:, 0].tolist(),
                        (error + hidden_sum).tolist(),
                        terms.tolist(),
                        strict=True,
                    )
                ],
                dtype=bool,
            )
        grow = np.flatnonzero(refine & (error > GROWTH * terms) & (largest > RATIO * steps))
        if grow.size:
            # NOTE: noise falls as 1 / step: as far as the target, if the element allows; kept
            # only where no kink lies across it (the strategies keep kinks out of the first
            # steps' reach only)
            target = np.maximum(TARGET * terms[grow], 1e-300)
            grown = table_from(
                grow, np.minimum(largest[grow], steps[grow] * error[grow] / target), 4
            )
            better = ERROR_SAFETY * grown.best.weighted(weights).error[:, 0] < error[grow]
            taken = np.flatnonzero(better & ~grown.kinked(weights))
            table.put(grow[taken], grown, taken)
    best, first = table.best, table.first
    still = ~table.changed
    # NOTE: along a direction, an output that did not move kept its noise in the table
    hidden = np.where(table.moved, 0.0, first.error)
    nothing = _everywhere(still)
    along = objective.along_direction & still.any(axis=-1) & refine
    probed = ~along & refine & hidden.any(axis=-1)
    if weights is not None and probed.any():
        # NOTE: worth probing where the outputs no step moved could hide more than the
        # estimate's own error, and more than GROWTH of its terms (always, for a Jacobian)
        shown = ERROR_SAFETY * best.weighted(weights).error[:, 0]
        terms = np.abs(weights * best.value).sum(axis=-1)
        worth = (np.abs(weights) * hidden).sum(axis=-1) > _larger(shown, GROWTH * terms)
        probed &= nothing | worth
    for r in np.flatnonzero(along | probed).tolist():
        dependent, scale = _probe(objective, work, number, int(ks[r]))
        nearby = 2 * objective.error(scale) / first.width[r]
        if along[r]:
            # NOTE: along a direction, an output that never moved may be an exact 0 that
            # cancels terms as large as the values it takes nearby (sigmoid(x) - 1/2 at 1e-16)
            hidden[r] = np.where(still[r] & dependent, nearby, 0.0)
        elif nothing[r]:
            # NOTE: where nothing moved, probes cannot show the outputs independent (beta +
            # gamma * f(x) with gamma 1e-103 never moves); those that depend round as the
            # values they take nearby: an exact 0 may be the cancellation of terms that large
            hidden[r] = np.maximum(hidden[r], np.where(dependent, nearby, 0.0))
        else:
            hidden[r] = np.where(dependent, hidden[r], 0.0)
    overflow = (first.peak > NEAR_OVERFLOW) | (np.abs(x) > NEAR_OVERFLOW)
    finite = _everywhere(np.isfinite(best.value))
    reasons = [
        NEAR_OVERFLOW_REASON if near else "" if resolved else NOT_FINITE_REASON
        for near, resolved in zip(overflow.tolist(), finite.tolist(), strict=True)
    ]
    moved = ~still | (hidden > 0)
    return _Columns(
        best.value, best.truncation, best.noise, hidden, first.width / 2, moved, reasons
    )


def _complex_column(objective: _Objective, number: int, k: int, scale: float) -> _Columns:
    """The complex step's column (one row) for element ``k`` of input ``number``, whose
    :func:`step_scale` is ``scale``."""

    def stepped(h: float) -> list[npt.NDArray[Any]]:
        points = [point.astype(np.complex128) for point in objective.points]
        points[number].reshape(-1)[k] += 1j * h
        return points

    # NOTE: an imaginary step stays a normal number (see _complex_estimate)
    return _complex_estimate(objective, stepped, max(COMPLEX_STEP * scale, LEAST_SCALE))


def _complex_columns(objective: _Objective, number: int, scales: Float64Array) -> _Columns:
    """The complex step's columns for every element of input ``number``, whose
    :func:`step_scale` are ``scales`` (flattened)."""
    parts = [
        _complex_column(objective, number, k, scale) for k, scale in enumerate(scales.tolist())
    ]
    size = objective.value.size

    def rows(fields: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        return np.array(fields).reshape(len(parts), size)

    return _Columns(
        rows([p.value[0] for p in parts]),
        rows([p.truncation[0] for p in parts]),
        rows([p.noise[0] for p in parts]),
        rows([p.hidden[0] for p in parts]),
        np.array([p.step[0] for p in parts], dtype=np.float64),
        rows([p.moved[0] for p in parts]).astype(bool),
        ["" for _ in parts],
        safety=1.0,
    )


def _complex_estimate(
    objective: _Objective, stepped: Callable[[float], Sequence[npt.NDArray[Any]]], h: float
) -> _Columns:
    """``Im f(x + i h) / h`` at the points ``stepped(h)``, with its rounding and its truncation,
    ``-h**2 / 6`` times the third derivative (and terms in ``h**4``): a third of the change from
    the step ``h`` to ``2 h``, counted three times over (for the higher orders, and the rounding
    of that change). It is far below rounding unless the first derivative is: along a tangent
    of ones, ``prod([0, 0, 0])``'s estimate is all truncation, ``-h**2`` where the derivative
    is 0.

    Raises :class:`ComplexStepUnderflowError` where an output's imaginary part
    ``h * derivative`` (not 0) is below :data:`LEAST_SCALE`, as the callers do where an
    imaginary step of an input would be (the steps of single elements are kept above it): there
    the rounding to subnormal numbers inside the function, which no bound counts, may exceed
    the one of its result (``solve`` with a right-hand side of float64's least normal numbers,
    along tangents of 3.6e-304, gave 1.2e-302 for a derivative of 7.1e-307; along single
    elements, at a right-hand side of 1.6e-297, a derivative 2.1e-7 off)."""
    points = stepped(h)
    derivative = _imaginary_slope(objective, points, h)
    doubled = _imaginary_slope(objective, stepped(RATIO * h), RATIO * h)
    truncation = np.abs(doubled - derivative)
    truncation = np.where(np.isnan(truncation), np.inf, truncation)
    # NOTE: h * derivative may have underflowed to 0: then the spacing of subnormals bounds it
    subnormal = float(np.finfo(np.float64).smallest_subnormal)
    noise = NOISE_ULPS * (EPS64 * np.abs(derivative) + subnormal / h)
    _refuse_underflow("an output", derivative, h)
    row = derivative.reshape(1, -1)
    return _Columns(
        row,
        truncation.reshape(1, -1),
        noise.reshape(1, -1),
        np.zeros(row.shape),
        np.array([h]),
        row != 0,
        [""],
        safety=1.0,
    )


def _refuse_underflow(what: str, parts: npt.NDArray[Any], factor: float) -> None:
    """Raise :class:`ComplexStepUnderflowError` if ``factor`` times a nonzero element of
    ``parts``, an imaginary part, is below :data:`LEAST_SCALE` (see :func:`_complex_estimate`;
    compared before the product can underflow to 0)."""
    magnitudes = np.abs(parts)
    least = float(np.min(magnitudes[magnitudes > 0], initial=np.inf))
    if least < LEAST_SCALE / factor:
        raise ComplexStepUnderflowError(
            f"the complex step's imaginary part of {what} ({factor:.3g} times {least:.3g}) is "
            f"below {LEAST_SCALE:.3g} (the least normal number over eps): its rounding to "
            'subnormal numbers inside the function has no bound; use method="richardson"'
        )


def _imaginary_slope(
    objective: _Objective, points: Sequence[npt.NDArray[Any]], h: float
) -> Float64Array:
    y = objective.output(points)
    if not np.iscomplexobj(y):
        y = y.astype(np.complex128)
    return np.asarray(y.imag / h, dtype=np.float64)


@_quiet
def _per_element(
    objective: _Objective,
    eps: float | None,
    method: Method,
    weighted: bool,
    wanted: Wanted | None = None,
    noise: bool = True,
) -> list[Estimate]:
    """An estimate of the derivative of the objective with respect to every element of every
    Variable input: the weighted objective's gradient, or (``weighted=False``) a column of the
    Jacobian per element, shaped ``output shape + input shape``; refined where ``wanted``
    (else everywhere it is worth it, see :func:`_richardson_columns`). Without ``noise``, the
    outputs' noise is not measured: each evaluation carries its rounding alone."""
    unit = float(np.cbrt(objective.eps))
    steps = [
        first_steps(point, unit, bounds, eps)
        for point, bounds in zip(objective.points, objective.bounds, strict=True)
    ]
    # NOTE: a step fixed by eps is not grown
    largest = [
        np.minimum(largest_steps(point, bounds), HOME * objective.distance)
        if eps is None
        else np.zeros(point.shape)
        for point, bounds in zip(objective.points, objective.bounds, strict=True)
    ]
    if method == "richardson" and noise:
        objective.measure_noise(steps)
    measured = float(np.max(objective.sigma, initial=0.0))
    weights = objective.weights.reshape(-1) if weighted else None
    work = [point.copy() for point in objective.points]
    estimates = []
    # NOTE: the rows of a table hold every output: an input's elements go a block at a time
    block = max(1, TABLE_ENTRIES // max(1, objective.value.size))
    for number, (point, step, most) in enumerate(
        zip(objective.points, steps, largest, strict=True)
    ):
        blocks = (
            [_complex_columns(objective, number, step_scale(point).reshape(-1))]
            if method == "complex"
            else [
                _richardson_columns(
                    objective,
                    work,
                    number,
                    ks,
                    step.reshape(-1)[ks],
                    weights,
                    most.reshape(-1)[ks],
                    wanted,
                )
                for ks in np.split(np.arange(point.size), range(block, point.size, block))
            ]
        )
        taken = np.concatenate([c.step for c in blocks]).reshape(point.shape)
        unresolved = tuple(
            (tuple(int(i) for i in np.unravel_index(k, point.shape)), reason)
            for k, reason in enumerate(r for c in blocks for r in c.reasons)
            if reason
        )
        if weights is None:
            value = _stack(
                np.concatenate([c.value for c in blocks]), objective.value.shape, point.shape
            )
            error = _stack(
                np.concatenate([c.error for c in blocks]), objective.value.shape, point.shape
            )
            estimates.append(Estimate(value, error, np.abs(value), taken, unresolved, measured))
            continue
        magnitudes = objective.magnitudes.reshape(-1)
        summaries = np.concatenate(
            [np.stack(c.weighted(weights, magnitudes), axis=-1) for c in blocks]
        )
        parts = summaries.reshape((*point.shape, 4))
        estimates.append(
            Estimate(
                parts[..., 0],
                parts[..., 1],
                parts[..., 2],
                taken,
                unresolved,
                measured,
                parts[..., 3],
            )
        )
    return estimates


def _stack(
    rows: Float64Array, output_shape: tuple[int, ...], input_shape: tuple[int, ...]
) -> Float64Array:
    """The columns ``rows`` (one per element of the input, the outputs flattened) as an array
    shaped ``output shape + input shape``."""
    flat = rows.reshape((len(rows), *output_shape))
    moved = np.moveaxis(flat, 0, -1) if output_shape else flat
    return np.asarray(moved.reshape((*output_shape, *input_shape)), dtype=np.float64)


def _estimates(
    fn: Callable[..., Any],
    inputs: Sequence[Operand],
    eps: float | None,
    seed: int,
    method: Method,
    weighted: bool,
    domains: Sequence[Bounds | None] | None,
) -> tuple[Estimate | None, ...]:
    bounds = None if domains is None else _variable_bounds(inputs, domains)
    objective = _Objective(fn, inputs, seed, raw=method == "complex", bounds=bounds)
    estimates = iter(_per_element(objective, eps, method, weighted))
    return tuple(next(estimates) if isinstance(x, Variable) else None for x in inputs)


def _variable_bounds(
    inputs: Sequence[Operand], domains: Sequence[Bounds | None]
) -> list[Bounds | None]:
    """The domains of the Variable inputs, from one per input."""
    if len(domains) != len(inputs):
        raise ValueError(f"{len(domains)} domains for {len(inputs)} inputs")
    return [d for x, d in zip(inputs, domains, strict=True) if isinstance(x, Variable)]


def numerical_estimates(
    fn: Callable[..., Any],
    *inputs: Operand,
    eps: float | None = None,
    seed: int = 0,
    method: Method = "richardson",
    domains: Sequence[Bounds | None] | None = None,
) -> tuple[Estimate | None, ...]:
    """:func:`numerical_grad` with a bound on the error of every element, the magnitude of its
    terms, the steps taken, the elements it could not judge and the noise measured."""
    _refuse_empty(inputs)
    return _estimates(fn, inputs, eps, seed, method, True, domains)


def numerical_grad(
    fn: Callable[..., Any],
    *inputs: Operand,
    eps: float | None = None,
    seed: int = 0,
    method: Method = "richardson",
    domains: Sequence[Bounds | None] | None = None,
) -> tuple[Float64Array | None, ...]:
    """Numerical gradients of ``sum(w * fn(*inputs))`` for the fixed random weights ``w``
    drawn from ``seed``: one float64 array per Variable input, ``None`` for constants.

    ``method``: ``"richardson"`` (extrapolated central differences of every output, from the
    first step ``cbrt(eps) * max(|x_k|, cbrt(eps) * rms(x))`` per element down, or from ``eps``
    when given; at most 1/8 of ``|x_k|`` and of the distance to the edges of ``domains``, one
    ``(low, high)`` per input or ``None``, where ``fn`` is defined), or ``"complex"`` (the
    complex step: then ``fn`` is a NumPy function called with complex arrays in place of the
    Variables, analytic in them, returning an array). :func:`numerical_estimates` adds error
    bounds."""
    return tuple(
        None if e is None else e.value
        for e in numerical_estimates(
            fn, *inputs, eps=eps, seed=seed, method=method, domains=domains
        )
    )


def numerical_jacobian(
    fn: Callable[..., Any],
    *inputs: Operand,
    eps: float | None = None,
    method: Method = "richardson",
    domains: Sequence[Bounds | None] | None = None,
) -> tuple[Float64Array | None, ...]:
    """The full numerical Jacobian of ``fn`` with respect to each Variable input, shaped
    ``output shape + input shape`` (``None`` for constants); ``method``, ``eps`` and
    ``domains`` as in :func:`numerical_grad`."""
    _refuse_empty(inputs)
    return tuple(
        None if e is None else e.value
        for e in _estimates(fn, inputs, eps, 0, method, False, domains)
    )


def numerical_directional(
    fn: Callable[..., Any],
    inputs: Sequence[Operand],
    tangents: Sequence[npt.ArrayLike | None],
    *,
    method: Method = "richardson",
    floor: float = 0.0,
    noise: bool = True,
) -> Estimate:
    """The derivative of ``fn(*inputs)`` along ``tangents`` (one per input, ``None`` for one
    that stays fixed), ``d/ds fn(x + s v)`` at ``s = 0``, for every element of the output, with
    a bound on each one's error: the oracle of :func:`numerical_estimates` in the one variable
    ``s``, whose steps move each input by a step of ``s`` times its tangent. With
    ``method="complex"``, ``fn`` takes NumPy arrays (complex ones), as there, and an element
    raises :class:`ComplexStepUnderflowError` where an imaginary part would leave the normal
    range (see :func:`_complex_estimate`). ``floor``: the
    least magnitude of the terms each output is computed from, when larger than the outputs
    (an ``fn`` that is itself a derivative, whose terms may cancel): every evaluation may carry
    :data:`NOISE_ULPS` of its rounding errors besides the noise measured. Without ``noise``, the
    noise is not measured (each evaluation carries its rounding alone): a tighter bound, for a
    check that passes on it and measures the noise only where it fails."""
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
        # NOTE: s is 1 at the point (a step scale of 1); s - 1 is exact near 1. The moved
        # inputs are fresh Variables (arrays for the complex step): nothing differentiates
        # the path from s, so no graph of it is recorded
        wrap = isinstance(s, Variable)
        shift = (s.data if wrap else s) - 1
        moved = [
            x if v is None else Variable(x + shift * v) if wrap else x + shift * v
            for x, v in zip(points, directions, strict=True)
        ]
        return fn(*moved)

    if method == "complex":
        _refuse_underflow(
            "an input's step",
            np.concatenate([np.ravel(v) for v in directions if v is not None]),
            COMPLEX_STEP,
        )
    start = Variable(np.array(1.0))
    # NOTE: far probes move the elements by their arrays' scale: the one of the longest
    # tangent, and then the one of the shortest, however short it is
    lengths = np.concatenate([np.abs(np.ravel(v)) for v in directions if v is not None])
    scale = max(
        (
            _rms_or_1(np.asarray(x, dtype=np.float64))
            for x, v in zip(points, directions, strict=True)
            if v is not None
        ),
        default=1.0,
    )
    nonzero = lengths[lengths > 0]
    far = (scale / float(nonzero.max()), scale / float(nonzero.min())) if nonzero.size else None
    objective = _Objective(
        along, [start], 0, raw=method == "complex", along_direction=True, far=far, floor=floor
    )
    (estimate,) = _per_element(objective, None, method, weighted=False, noise=noise)
    return estimate


@_quiet
def _one_element(objective: _Objective, number: int, index: tuple[int, ...]) -> float:
    """The Richardson estimate of one element's derivative of the weighted objective."""
    point = objective.points[number]
    k = int(np.ravel_multi_index(index, point.shape)) if index else 0
    work = [p.copy() for p in objective.points]
    unit = float(np.cbrt(objective.eps))
    step = first_steps(point, unit, objective.bounds[number])
    column = _richardson_columns(
        objective, work, number, np.array([k]), step.reshape(-1)[[k]], None, np.zeros(1)
    )
    return float(np.sum(objective.weights * column.value[0].reshape(objective.value.shape)))


@_quiet
def _directional(
    objective: _Objective,
    analytic: list[Float64Array],
    directions: list[Float64Array],
    unit: float,
    method: Method,
) -> Estimate:
    """The numerical derivative of the weighted objective along ``directions`` (one array per
    input) minus the analytic one, with its error bound and the magnitude of its terms,
    ``sum_j |w_j| |D_j|`` over the outputs' derivatives ``D_j`` along the directions."""
    w = objective.weights
    value = sum(float(np.sum(a * v)) for a, v in zip(analytic, directions, strict=True))
    if method == "complex":
        _refuse_underflow(
            "an input's step", np.concatenate([np.ravel(v) for v in directions]), COMPLEX_STEP
        )

        def stepped(h: float) -> list[npt.NDArray[Any]]:
            return [p + 1j * h * v for p, v in zip(objective.points, directions, strict=True)]

        column = _complex_estimate(objective, stepped, COMPLEX_STEP)
        derivative, bound, magnitude, _ = column.weighted(
            w.reshape(-1), objective.magnitudes.reshape(-1)
        )
        return Estimate(
            np.asarray(float(derivative[0]) - value),
            np.asarray(float(bound[0])),
            np.asarray(float(magnitude[0])),
        )
    outputs: list[Float64Array] = []
    weights = w.reshape(-1)

    def central(rows: IntArray, fractions: Float64Array) -> _Difference:
        t = unit * float(fractions[0])
        above = [p + t * v for p, v in zip(objective.points, directions, strict=True)]
        below = [p - t * v for p, v in zip(objective.points, directions, strict=True)]
        width = np.array([2 * t])
        step = _difference(
            objective,
            objective.output(above).reshape(1, -1),
            objective.output(below).reshape(1, -1),
            width,
        )
        outputs.append(step.value[0])
        # NOTE: x +- t * v rounds each element, so the direction actually taken is the exact
        # (above - below) / 2t; the analytic derivative along it is subtracted at each step,
        # and the extrapolated residual is what is compared with zero
        taken = sum(
            float(np.sum(a * (u - b))) for a, u, b in zip(analytic, above, below, strict=True)
        )
        residual = float(np.sum(weights * step.value[0])) - taken / (2 * t)
        noise = _root_sum_square(weights * step.error[0])
        return _Difference(
            np.array([[residual]]), np.array([[noise]]), np.array([[True]]), width, step.peak
        )

    table = _extrapolate(*_inside_domain(central, 1), LEVELS)
    error = ERROR_SAFETY * table.best.error.reshape(())
    finite = [output for output in outputs if _finite(output)]
    terms = float(np.sum(np.abs(weights * finite[0]))) if finite else np.inf
    return Estimate(table.best.value.reshape(()), error, np.asarray(terms))
