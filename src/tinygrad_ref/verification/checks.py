"""Check analytic gradients against the numerical oracle of
:mod:`tinygrad_ref.verification.oracle`, every element on its own scale.

``fn`` takes the inputs and returns a Variable. Its output is reduced to a number by a fixed
random weighting ``f(inputs) = sum(w * fn(*inputs))``, so that one reverse pass (seeded with
``w``) gives the analytic gradient of ``f`` for every input. Only Variable inputs are
differentiated; other inputs are constants.

Each element ``k`` is judged by its own bound: the oracle's error for it, plus the rounding of
its terms, ``T_k = max(sum_j |w_j| |D_jk|, |a64_k|)`` with ``D_jk`` the oracle's Jacobian
column (see :func:`check_gradients`). The report gives, per element, the smallest relative
error the checks could have caught there (the resolution), and names the elements checked only
loosely and those the oracle could not judge at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import using_config
from tinygrad_ref.core import Function, Operand, Variable
from tinygrad_ref.ops import concatenate, reshape
from tinygrad_ref.verification.oracle import (
    EPS64,
    NEAR_OVERFLOW_REASON,
    SUBNORMAL,
    Bounds,
    ComplexStepUnderflowError,
    Degeneracy,
    Estimate,
    Float64Array,
    Method,
    Wanted,
    _call,
    _directional,
    _drawn_weights,
    _Objective,
    _one_element,
    _per_element,
    _refuse_empty,
    _variable_bounds,
    _working_dtype,
    first_steps,
    variation_scale,
)
from tinygrad_ref.verification.whose import derivative_of

FAST_DIRECTIONS = 3
"""How many random directions ``fast=True`` checks."""
ROUNDING_MULTIPLE = 64.0
"""The analytic side of a first derivative may be off by this many ``eps`` of its dtype times
the magnitude of its terms (see :func:`check_gradients`)."""
SECOND_ORDER_ROUNDING_MULTIPLE = 64.0
"""The same for second derivatives: about twice as many operations, often with cancellation."""
MAX_MISMATCHES = 10
"""How many mismatches (and elements flagged loose or unresolved) a report keeps."""
LOOSE = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-3}
"""An element whose resolution is worse than this (by its working dtype) is checked only
loosely, and named in the report; other dtypes use float32's."""

CheckKind = Literal["correctness", "precision", "recorded", "second order", "forward"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one."""


class GradcheckWarning(UserWarning):
    """Some elements could not be judged (subnormal, near overflow, unresolvable, or a
    tolerance tighter than the oracle resolves): :func:`gradcheck` passed without them."""


def _relative(a: float, b: float) -> float:
    size = max(abs(a), abs(b))
    return abs(a - b) / size if size else 0.0


@dataclass(frozen=True)
class Mismatch:
    """One element out of tolerance: what was compared, and by how much it missed."""

    where: str
    """The input (by its Variable's name where set), element or direction, such as
    ``input 1 (W) at index (0, 2)``."""
    check: CheckKind
    """Which comparison failed (see :func:`check_gradients`)."""
    analytic: float
    reference: float
    """What ``analytic`` was compared with: the numerical value, the float64 gradient, or the
    plain pass."""
    allowed: float
    detail: str
    input: int | None = None
    """The position of the input among ``fn``'s arguments; ``None`` for a direction."""
    index: tuple[int, ...] = ()
    """The element's index in its input (the direction's number, in fast mode)."""

    @property
    def margin(self) -> float:
        """The error over the allowed error (more than 1: failed)."""
        return _margin(abs(self.analytic - self.reference), self.allowed)

    @property
    def relative_error(self) -> float:
        """``|analytic - reference| / max(|analytic|, |reference|)``."""
        return _relative(self.analytic, self.reference)

    def __str__(self) -> str:
        return f"{self.where}, {self.check} check: {self.detail}; margin {self.margin:.3g}"


@dataclass(frozen=True)
class Flagged:
    """An element the report names: checked only loosely, or not judged, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class GradcheckReport:
    """How far the analytic gradients are from the numerical ones, and how finely each element
    was checked."""

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
    resolution: float = 0.0
    """The worst resolution of any element the oracle resolved: the smallest relative error
    of its gradient the checks catch for certain there (see :attr:`resolutions`; the elements
    it could not resolve, 1 or more, are in :attr:`unresolved`)."""
    resolutions: tuple[Float64Array, ...] = ()
    """Per Variable input, each element's resolution: ``(allowed + |a - reference|) / |a|``,
    the worst over the comparisons of that element (NaN where the gradient is 0 or the element
    was not judged). A wrong rule whose relative error there is larger fails."""
    noise: float = 0.0
    """The largest computational noise the oracle measured in an output (ECnoise), in the
    output's units; 0 if none was above what the spacing resolves."""
    steps: tuple[Float64Array, ...] = ()
    """Per Variable input, the oracle's first step at each element (fast mode: along the
    directions, per element)."""
    loose: tuple[Flagged, ...] = ()
    """The elements checked only loosely (resolution worse than 1e-6 in float64, 1e-3 in
    float32), the first :data:`MAX_MISMATCHES`."""
    loose_count: int = 0
    unresolved: tuple[Flagged, ...] = ()
    """The elements the checks could not judge (subnormal, near overflow, unresolvable by the
    oracle, or held to a tolerance tighter than it resolves), the first
    :data:`MAX_MISMATCHES`; they neither passed nor failed."""
    unresolved_count: int = 0
    derivative: str = ""
    """Whose derivative was checked: the library's own derivative of the ops ``fn`` ran, the
    rules of your own Functions, or (:func:`~tinygrad_ref.verification.rules.check_vjp`) the
    rule you wrote."""

    def merge(self, other: GradcheckReport) -> GradcheckReport:
        oracles = [name for name in (self.oracle, other.oracle) if name]
        return GradcheckReport(
            max(self.max_abs_error, other.max_abs_error),
            max(self.max_rel_error, other.max_rel_error),
            self.failure or other.failure,
            max(self.margin, other.margin),
            ", ".join(dict.fromkeys(", ".join(oracles).split(", "))) if oracles else "",
            (self.mismatches + other.mismatches)[:MAX_MISMATCHES],
            max(self.resolution, other.resolution),
            _worst(self.resolutions, other.resolutions),
            max(self.noise, other.noise),
            _filled(self.steps, other.steps),
            (self.loose + other.loose)[:MAX_MISMATCHES],
            self.loose_count + other.loose_count,
            (self.unresolved + other.unresolved)[:MAX_MISMATCHES],
            self.unresolved_count + other.unresolved_count,
            self.derivative or other.derivative,
        )


def _worst(
    one: tuple[Float64Array, ...], other: tuple[Float64Array, ...]
) -> tuple[Float64Array, ...]:
    """Elementwise the worse of two sets of resolutions of the same inputs (else the first
    non-empty one: reports of different calls)."""
    if not one or not other:
        return one or other
    if [r.shape for r in one] != [r.shape for r in other]:
        return one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(np.fmax(a, b) for a, b in zip(one, other, strict=True))


def _filled(
    one: tuple[Float64Array, ...], other: tuple[Float64Array, ...]
) -> tuple[Float64Array, ...]:
    """Per input, whichever of two reports' arrays is not empty (each check fills its own
    input's)."""
    if not one or not other or len(one) != len(other):
        return one or other
    return tuple(a if a.size else b for a, b in zip(one, other, strict=True))


EMPTY_REPORT = GradcheckReport(0.0, 0.0, None)


def _margin(error: float, allowed: float) -> float:
    if error <= allowed:
        return 0.0 if error == 0 else error / allowed
    return float("inf") if allowed == 0 or np.isnan(error) else error / allowed


def as_computed(operands: Sequence[Any]) -> list[Any]:
    """``operands`` with each Python float among them rounded to the dtype NumPy computes it
    in beside the floating arrays (NEP 50: a Python float takes the dtype of the array it
    meets): to float32 where every floating array or Variable is float32 (or float16), so
    that the float64 passes of a check evaluate the function at the point its working-dtype
    pass does (``mean_squared_error(x, 1.0140524346992263)`` with a float32 ``x`` subtracts
    ``float32(1.0140524346992263)``). Stays a Python float: a float64 pass computes in
    float64."""
    dtypes = [
        np.asarray(x.data if isinstance(x, Variable) else x).dtype
        for x in operands
        if isinstance(x, Variable | np.ndarray | np.generic)
    ]
    floating = [d for d in dtypes if d.kind == "f"]
    if not floating or any(d == np.float64 or d.itemsize > 8 for d in floating):
        return list(operands)
    dtype = np.result_type(*floating)
    return [float(dtype.type(x)) if type(x) is float else x for x in operands]


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
    internal: list[Float64Array] | None = None,
) -> tuple[list[Float64Array], list[str]]:
    """The gradients one reverse pass gives, on fresh copies of the inputs (converted to
    ``dtype`` if given), as float64, with a message for each of the wrong shape or dtype;
    into ``internal`` if given, the terms each sums (:func:`_internal_terms`)."""
    fresh = _fresh(inputs, dtype)
    y = _call(fn, fresh)
    if internal is not None:
        internal += _internal_terms(y, [x for x in fresh if isinstance(x, Variable)], weights)
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


def _internal_terms(
    y: Variable, variables: Sequence[Variable], weights: Float64Array
) -> list[Float64Array]:
    """The magnitude of the terms each element's gradient sums inside the reverse pass of the
    graph of ``y`` (before that pass): the pass run on ``|w|``, each rule's contributions taken as
    magnitudes, ``|vjp(m)|`` (or the rule's own ``vjp_terms(m, *xs, y)``, where the terms
    cancel inside the rule), and added as such where a variable is used more than once. Where
    the uses of a variable cancel (``x - tanh(x)`` near 0: ``1 - sech2(x)``), its gradient is
    far smaller than its terms, and rounds as they do; an output of several that no term
    reached gets zeros. Zeros where a rule is a DeZero-style ``backward`` (the terms are then
    the oracle's alone)."""
    none = [np.zeros(x.shape) for x in variables]
    functions = _graph(y)
    # NOTE: keyed by id; the graph keeps every variable alive meanwhile
    magnitudes: dict[int, npt.NDArray[Any]] = {id(y): np.abs(weights)}
    with using_config("enable_backprop", False), np.errstate(all="ignore"):
        for f in sorted(functions, key=lambda f: -f.generation):
            # NOTE: a rule whose own terms its result does not show (a cofactor that cancels
            # to 0 inside an LU factorization, the rounding an inverse amplifies by the
            # condition number) says what they are, for one output or several
            rule = getattr(f, "vjp_terms", None)
            if rule is None and not f.uses_vjp:
                return none
            outs = [ref() for ref in f.outputs]
            if not any(out is not None and id(out) in magnitudes for out in outs):
                continue
            if len(outs) == 1 and outs[0] is not None:
                ms, ys = [magnitudes[id(outs[0])]], [outs[0].data]
            else:
                ys = list(f.output_values)
                ms = [
                    magnitudes[id(out)]
                    if out is not None and id(out) in magnitudes
                    else np.zeros(np.shape(value))
                    for out, value in zip(outs, ys, strict=True)
                ]
            gxs = (rule or f.vjp)(*ms, *[x.data for x in f.inputs], *ys)
            for x, gx in zip(f.inputs, gxs if type(gxs) is tuple else (gxs,), strict=False):
                if gx is None:
                    continue
                g = np.abs(np.asarray(gx.data if isinstance(gx, Variable) else gx, np.float64))
                if g.shape != x.shape:
                    return none
                magnitudes[id(x)] = magnitudes[id(x)] + g if id(x) in magnitudes else g
    return [magnitudes.get(id(x), zero) for x, zero in zip(variables, none, strict=True)]


def _graph(y: Variable) -> list[Function]:
    """The functions of the graph that computed ``y``."""
    functions: list[Function] = []
    seen: set[int] = set()
    stack = [y.creator]
    while stack:
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        functions.append(f)
        stack.extend(x.creator for x in f.inputs)
    return functions


def _declared_tangent_terms(
    y: Variable, variables: Sequence[Variable], tangents: Sequence[npt.NDArray[Any]]
) -> Float64Array | None:
    """The magnitude of the terms each element of the jvp of ``y`` along ``tangents`` sums,
    where a rule of its graph declares its own (``jvp_terms(*|t|, *xs, *ys)``: the rounding of
    a factorization, which its result does not show), as :func:`_internal_terms` does for the
    reverse pass: the pass run on ``|t|``, the other rules' tangents taken as magnitudes,
    ``|jvp(|t|)|``. ``None`` where no rule declares them, or a rule has no jvp."""
    functions = sorted(_graph(y), key=lambda f: f.generation)
    if not any(hasattr(f, "jvp_terms") for f in functions):
        return None
    magnitudes: dict[int, npt.NDArray[Any]] = {
        id(x): np.abs(np.asarray(t, dtype=np.float64))
        for x, t in zip(variables, tangents, strict=True)
    }
    with using_config("enable_backprop", False), np.errstate(all="ignore"):
        for f in functions:
            if not any(id(x) in magnitudes for x in f.inputs):
                continue
            if f.forward_mode_error is not None:
                return None
            rule = getattr(f, "jvp_terms", f.jvp)
            ms = [magnitudes.get(id(x), np.zeros(x.shape)) for x in f.inputs]
            outs = [ref() for ref in f.outputs]
            if len(outs) > 1:
                ys = list(f.output_values)
            elif outs[0] is not None:
                ys = [outs[0].data]
            else:
                continue
            tys = rule(*ms, *[x.data for x in f.inputs], *ys)
            for out, ty in zip(outs, tys if type(tys) is tuple else (tys,), strict=True):
                t = np.abs(np.asarray(ty.data if isinstance(ty, Variable) else ty, np.float64))
                if out is not None:
                    magnitudes[id(out)] = np.broadcast_to(t, out.shape)
    terms = magnitudes.get(id(y))
    return None if terms is None else terms


@dataclass(frozen=True)
class _Setting:
    """How a check is run: the arguments of :func:`check_gradients`, its rounding multiple
    and the kind its correctness and precision mismatches are reported as."""

    eps: float | None
    atol: float | None
    rtol: float | None
    fast: bool
    seed: int
    method: Method
    reference: Callable[..., Any] | None
    multiple: float
    kind: CheckKind | None = None

    @property
    def overridden(self) -> bool:
        return self.atol is not None or self.rtol is not None

    def override(self, numerical: Float64Array) -> Float64Array:
        allowed: Float64Array = (self.atol or 0.0) + (self.rtol or 0.0) * np.abs(numerical)
        return allowed


class _Side:
    """The analytic side of a check: the objective (``evaluate``, else ``fn``, in float64),
    and the gradients of one plain reverse pass of ``fn`` in the working dtype (``plain``)
    and from float64 copies of the inputs (``precise``)."""

    def __init__(
        self,
        fn: Callable[..., Variable],
        inputs: Sequence[Operand],
        seed: int,
        bounds: Sequence[Bounds | None] | None = None,
        evaluate: Callable[..., Variable] | None = None,
        counted: int | None = None,
        homogeneous: bool = False,
        degeneracy: Degeneracy | None = None,
    ):
        self.fn = fn
        self.homogeneous = homogeneous
        self.inputs = inputs = as_computed(inputs)
        self.objective = objective = _Objective(
            evaluate or fn, inputs, seed, bounds=bounds, counted=counted, degeneracy=degeneracy
        )
        same = all(x.dtype == np.float64 for x in objective.variables.values())
        internal: list[Float64Array] = []
        self.plain, self.problems = _analytic(
            fn, inputs, objective.weights, internal=internal if same else None
        )
        self.precise = (
            self.plain
            if same
            else _analytic(fn, inputs, objective.weights, np.float64, internal=internal)[0]
        )
        self.dtypes = [
            _working_dtype(x.dtype, objective.output_dtype) for x in objective.variables.values()
        ]
        self.names = [x.name for x in objective.variables.values()]
        self.internal = internal
        """The terms each element's gradient sums inside the reverse pass: see
        :func:`_internal_terms`."""

    def floor_terms(self) -> list[Float64Array]:
        """Each element's terms where the oracle gives none per element (fast mode, and the
        recorded pass beside second derivatives): the larger of the element and the largest
        of its array (a rounding error of the larger elements may land in any), or the terms
        its reverse pass sums."""
        return [
            np.maximum(np.maximum(np.abs(a), float(np.abs(a).max(initial=0.0))), internal)
            for a, internal in zip(self.precise, self.internal, strict=True)
        ]


def _rounding(dtype: npt.DTypeLike, terms: Float64Array) -> Float64Array:
    """One rounding error of ``dtype`` on terms of magnitude ``terms``: ``eps * terms``, and
    at least the spacing of ``dtype``'s subnormal numbers, ``eps * smallest_normal``."""
    info = np.finfo(dtype)
    bound: Float64Array = float(info.eps) * np.maximum(terms, float(info.smallest_normal))
    return bound


def _indices(mask: npt.NDArray[np.bool_]) -> list[tuple[int, ...]]:
    """The index of every true element of ``mask`` (of any shape, 0-d included)."""
    if not mask.any():  # NOTE: the common case, without argwhere's wrappers
        return []
    return [tuple(int(i) for i in index) for index in np.argwhere(mask)]


def _where(i: int, k: tuple[int, ...], name: str | None = None) -> str:
    label = f"input {i} ({name})" if name else f"input {i}"
    return f"{label} at index {k}" if k else label


Describe = Callable[[tuple[int, ...], float, float, float], Mismatch]
"""Names a failing pair: its index, analytic value, reference value and allowed error."""


def _compare(
    analytic: Float64Array,
    reference: Float64Array,
    allowed: Float64Array,
    describe: Describe,
    oracle: str = "",
    judged: npt.NDArray[np.bool_] | None = None,
) -> GradcheckReport:
    """Pairs pass when ``|analytic - reference| <= allowed``; ``describe`` names a failure;
    pairs outside ``judged`` are left out."""
    if analytic.shape != reference.shape:
        return GradcheckReport(
            float("inf"),
            float("inf"),
            f"analytic gradient has shape {analytic.shape}, numerical {reference.shape}",
            float("inf"),
            oracle,
        )
    judged = np.ones(analytic.shape, dtype=bool) if judged is None else judged
    diff = np.where(judged, np.abs(analytic - reference), 0.0)
    size = np.maximum(np.abs(analytic), np.abs(reference))
    large = judged & (size > allowed)
    max_abs = float(diff.max(initial=0.0))
    max_rel = float((diff[large] / size[large]).max(initial=0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        margins = np.where(diff == 0, 0.0, diff / allowed)
    margins = np.where(np.isnan(margins) & judged, np.inf, margins)
    margin = float(margins.max(initial=0.0))
    bad = judged & ~(diff <= allowed)  # NOTE: catches NaN too
    if not bad.any():
        return GradcheckReport(max_abs, max_rel, None, margin, oracle)
    order = np.argsort(-margins, axis=None, kind="stable")[: min(int(bad.sum()), MAX_MISMATCHES)]
    mismatches = tuple(
        describe(k, float(analytic[k]), float(reference[k]), float(allowed[k]))
        for k in (tuple(int(i) for i in np.unravel_index(j, bad.shape)) for j in order)
    )
    return GradcheckReport(max_abs, max_rel, str(mismatches[0]), margin, oracle, mismatches)


def _resolution(
    analytic: Float64Array,
    reference: Float64Array,
    allowed: Float64Array,
    judged: Any,
    rounding: Float64Array,
) -> Float64Array:
    """The smallest relative error of ``analytic`` certainly caught at each element:
    ``(allowed + |analytic - reference|) / |analytic|``; NaN where it is not judged, or no
    larger than ``rounding``, the rounding of its terms (a 0 computed with rounding errors:
    a relative error of it means nothing)."""
    with np.errstate(all="ignore"):
        resolution = (allowed + np.abs(analytic - reference)) / np.abs(analytic)
    kept: Float64Array = np.where(judged & (np.abs(analytic) > rounding), resolution, np.nan)
    return kept


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
    domains: Sequence[Bounds | None] | None = None,
    homogeneous: bool = False,
) -> GradcheckReport:
    """Compare the analytic gradients of ``fn`` at ``inputs`` with a numerical oracle and
    report the errors, margins and resolutions; :func:`gradcheck` raises on the first failure
    instead.

    Every element ``k`` of every Variable input is judged by its own bound. With ``D_jk`` the
    oracle's derivative of output ``j`` by element ``k`` (outputs differenced first, each
    extrapolated on its own, then weighted: ``n_k = sum_j w_j D_jk``), the magnitude of the
    element's terms is ``T_k = max(sum_j |w_j| |D_jk|, |a64_k|, sum_{j moved by k} |w_j y_j| /
    max(s_k, 1), M_k)`` (the third, the rounding of the outputs the element moves: a rule
    reads them; ``M_k``, the terms its reverse pass sums, see :func:`_internal_terms`), and
    three comparisons are made. A ``homogeneous`` ``fn`` (``f(c x) = c**d f(x)``, as a matrix
    decomposition) varies on its input's scale however small: its floor is ``min(1, max|x|)``
    instead of 1 (:func:`~tinygrad_ref.verification.oracle.variation_scale`).

    * **correctness**: the analytic gradient ``a64`` computed from float64 copies of the
      inputs against the oracle's ``n``: ``|a64_k - n_k| <= E_k + 64 * eps * T_k``, where
      ``E_k`` is the oracle's error bound for the element and ``eps`` that of ``fn``'s output
      from float64 inputs (or of a coarser constant operand);
    * **precision**: the gradient ``a`` in the working dtype (the less precise of the input's
      and the output's) against ``a64``: ``|a_k - a64_k| <= 64 * eps(dtype) * T_k``;
    * **recorded**: the gradient a ``create_graph=True`` pass records against the plain one,
      within the same bound.

    The report's ``resolutions`` give, per element, the smallest relative error these catch
    for certain; elements worse than 1e-6 (float64) or 1e-3 (float32) are named in ``loose``;
    subnormal elements, elements near overflow, elements no step could resolve are named in
    ``unresolved`` and not judged.

    ``atol``/``rtol`` override the correctness and precision bounds: then ``a`` is compared
    with ``n`` directly, within ``atol + rtol * |n|`` (a missing one counts as 0), or within
    the derived bound where that is larger: a tolerance tighter than the oracle resolves is
    reported in ``unresolved``, never turned into a mismatch.

    ``method`` picks the oracle (see :func:`~tinygrad_ref.verification.oracle.numerical_grad`);
    ``"complex"`` needs ``reference``, the same computation in NumPy called with complex arrays
    in place of the Variables (a registered op's ``reference`` is one); where its imaginary
    parts would underflow (:class:`~tinygrad_ref.verification.oracle.ComplexStepUnderflowError`)
    the check takes Richardson, and ``oracle`` says so. ``eps`` fixes the
    starting step. ``domains`` (one ``(low, high)`` or ``None`` per input) tells where ``fn``
    is defined: no step goes nearer an edge than 7/8 of the way.

    With ``fast=True``, instead of one numerical derivative per element, a few random
    directions ``v`` (``+-s_k`` per element) are checked: ``sum(a64 * v)`` against the
    oracle's derivative along ``v``, within its bound plus ``64 * eps * T_v``, ``T_v =
    max(sum_j |w_j| |D_j(v)|, sum_k |a64_k v_k|)``; precision and recorded stay per element, on
    terms ``max(|a64_k|, max |a64|)`` (fast mode has no Jacobian column per element)."""
    _refuse_empty(inputs)
    setting = _Setting(eps, atol, rtol, fast, seed, method, reference, ROUNDING_MULTIPLE)
    side = _Side(fn, inputs, seed, _bounds(inputs, domains), homogeneous=homogeneous)
    report, terms = _check(side, setting)
    report = _flag(side, report.merge(_recorded(side, setting.multiple, terms)))
    return replace(report, derivative=derivative_of(fn, inputs))


def _bounds(
    inputs: Sequence[Operand], domains: Sequence[Bounds | None] | None
) -> list[Bounds | None] | None:
    return None if domains is None else _variable_bounds(inputs, domains)


def _check(side: _Side, setting: _Setting) -> tuple[GradcheckReport, list[Float64Array]]:
    """:func:`_check_with` the setting's oracle; Richardson where the complex step's imaginary
    parts would underflow."""
    try:
        return _check_with(side, setting)
    except ComplexStepUnderflowError:
        return _check_with(side, replace(setting, method="richardson"))


def _check_with(side: _Side, setting: _Setting) -> tuple[GradcheckReport, list[Float64Array]]:
    """The correctness and precision checks, and the terms of each element: ``T_k = max(
    sum_j |w_j| |D_jk|, |a64_k|, sum_{j moved by k} |w_j| |y_j| / max(s_k, 1), M_k)``. The
    third is the rounding of the outputs the element moves, over its scale: a rule reads the
    forward values, so their rounding reaches the derivative (whose own terms may cancel,
    as sigmoid's second derivative's do near 0); ``M_k``, the terms its reverse pass sums
    (:func:`_internal_terms`)."""
    if setting.method == "complex" and setting.reference is None:
        raise ValueError('method="complex" needs reference: a NumPy function to step')
    objective = side.objective
    report = EMPTY_REPORT if not side.problems else replace(EMPTY_REPORT, failure=side.problems[0])
    if setting.method == "complex":
        assert setting.reference is not None
        objective = _Objective(setting.reference, side.inputs, setting.seed, raw=True)
    if setting.fast:
        terms = side.floor_terms()
        report = report.merge(_check_directions(objective, side, setting))
    else:
        estimates = _per_element(
            objective, setting.eps, setting.method, True, _wanted(side, setting)
        )
        oracle = "complex step" if setting.method == "complex" else "Richardson"
        terms = []
        for number, estimate in enumerate(estimates):
            assert estimate.terms is not None
            assert estimate.outputs is not None
            scale = variation_scale(side.objective.points[number], side.homogeneous)
            read = estimate.outputs / scale
            # NOTE: fmax: an element the oracle could not estimate has terms of NaN
            largest = np.fmax(estimate.terms, np.abs(side.precise[number]))
            terms.append(np.fmax(np.fmax(largest, read), side.internal[number]))
            report = report.merge(_judge(side, setting, number, estimate, terms[number], oracle))
    if not setting.overridden:
        for number, t in enumerate(terms):
            report = report.merge(_precision(side, number, setting, t))
    return report, terms


def _wanted(side: _Side, setting: _Setting) -> Wanted:
    """Refine the oracle's estimate of an element only where the judgement depends on it: the
    analytic gradient there is not 0, and it is near its bound (a mismatch, or within half of
    it) or it would be checked only loosely. Refining only tightens a bound where steps moved
    an output, so a check that skips it reports a resolution it keeps; where nothing moved,
    a gradient of 0 passes any bound and has no relative resolution."""

    def wanted(number: int, k: int, value: float, error: float, terms: float) -> bool:
        a = float(side.precise[number].flat[k])
        if a == 0:
            return False
        rounding = setting.multiple * float(side.objective.eps) * max(terms, abs(a))
        allowed = error + rounding
        limit = LOOSE.get(side.dtypes[number], LOOSE[np.dtype(np.float32)])
        return abs(a - value) > allowed / 2 or (allowed + abs(a - value)) > limit * abs(a)

    return wanted


def _unjudged(side: _Side, number: int, estimate: Estimate | None) -> npt.NDArray[np.bool_]:
    """Where input ``number``'s elements are subnormal in its dtype, or the oracle could not
    judge them."""
    x = side.objective.variables[list(side.objective.variables)[number]]
    magnitude = np.abs(np.asarray(x.data))
    tiny = float(np.finfo(x.dtype).smallest_normal) if x.dtype.kind == "f" else 0.0
    skipped = np.asarray((magnitude > 0) & (magnitude < tiny))  # NOTE: 0-d: an array still
    if estimate is not None:
        for index, _ in estimate.unresolved:
            skipped[index] = True
    return np.asarray(skipped)


def _reasons(side: _Side, number: int, estimate: Estimate | None) -> list[Flagged]:
    i = list(side.objective.variables)[number]
    name = side.names[number]
    flagged = {index: reason for index, reason in (estimate.unresolved if estimate else ())}
    skipped = _unjudged(side, number, None)
    for index in _indices(skipped):
        flagged.setdefault(index, SUBNORMAL)
    return [Flagged(_where(i, k, name), reason) for k, reason in flagged.items()]


def _judge(
    side: _Side,
    setting: _Setting,
    number: int,
    estimate: Estimate,
    terms: Float64Array,
    oracle: str,
) -> GradcheckReport:
    """The correctness check of input ``number`` against the oracle's estimate."""
    i = list(side.objective.variables)[number]
    judged = ~_unjudged(side, number, estimate)
    rounding = setting.multiple * _rounding(side.objective.rounding_dtype, terms)
    derived = estimate.error + rounding
    analytic = side.precise[number]
    flagged = _reasons(side, number, estimate)
    if setting.overridden:
        analytic = side.plain[number]
        requested = setting.override(estimate.value)
        working = setting.multiple * _rounding(side.dtypes[number], terms)
        derived = estimate.error + np.maximum(rounding, working)
        allowed = np.maximum(requested, derived)
        tight = judged & (requested < derived)
        flagged += [
            Flagged(
                _where(i, index, side.names[number]),
                f"the tolerance {requested[index]:.3g} (atol + rtol * |numerical|) is tighter "
                f"than the oracle resolves here ({derived[index]:.3g}): held to that instead",
            )
            for index in _indices(tight)
        ]
    else:
        allowed = derived
    kind = setting.kind or "correctness"

    def describe(k: tuple[int, ...], a: float, n: float, tolerance: float) -> Mismatch:
        how = (
            f"atol {setting.atol or 0.0:g} + rtol {setting.rtol or 0.0:g} * |numerical|"
            if setting.overridden
            else f"oracle error {float(estimate.error[k]):.3g} + analytic rounding "
            f"{float(rounding[k]):.3g}"
        )
        detail = (
            f"analytic {a!r}, numerical {n!r}, |difference| {abs(a - n):.3g} (relative "
            f"{_relative(a, n):.3g}) > tolerance {tolerance:.3g} ({how})"
        )
        return Mismatch(_where(i, k, side.names[number]), kind, a, n, tolerance, detail, i, k)

    report = _compare(analytic, estimate.value, allowed, describe, oracle, judged)
    return replace(
        report,
        resolutions=_resolutions(
            side, number, _resolution(analytic, estimate.value, allowed, judged, rounding)
        ),
        noise=estimate.noise,
        steps=_steps(side, number, estimate.steps),
        unresolved=tuple(flagged[:MAX_MISMATCHES]),
        unresolved_count=len(flagged),
    )


def _resolutions(side: _Side, number: int, resolution: Float64Array) -> tuple[Float64Array, ...]:
    """``resolution`` for input ``number``, NaN for the others (to merge elementwise)."""
    return tuple(
        resolution if n == number else np.full(a.shape, np.nan) for n, a in enumerate(side.precise)
    )


def _steps(side: _Side, number: int, steps: Float64Array | None) -> tuple[Float64Array, ...]:
    if steps is None:
        return ()
    return tuple(steps if n == number else np.zeros(0) for n in range(len(side.precise)))


def _precision(side: _Side, number: int, setting: _Setting, terms: Float64Array) -> GradcheckReport:
    """The working-dtype gradient against the float64 one, for input ``number``."""
    dtype = side.dtypes[number]
    eps = float(np.finfo(dtype).eps)
    if eps <= EPS64:
        return EMPTY_REPORT
    i = list(side.objective.variables)[number]
    name = side.names[number]
    kind = setting.kind or "precision"

    def describe(k: tuple[int, ...], value: float, exact: float, tolerance: float) -> Mismatch:
        detail = (
            f"the analytic gradient in the working dtype, {value!r}, differs from the float64 "
            f"one, {exact!r}, by {abs(value - exact):.3g} (relative {_relative(value, exact):.3g})"
            f" > tolerance {tolerance:.3g} ({tolerance / eps:.3g} eps of the working dtype)"
        )
        return Mismatch(_where(i, k, name), kind, value, exact, tolerance, detail, i, k)

    beyond = _beyond_range(side, number, terms)
    judged = ~_unjudged(side, number, None) & ~beyond
    overflowing = _indices(beyond)
    reason = f"{NEAR_OVERFLOW_REASON} of {np.dtype(dtype).name}" if overflowing else ""
    flagged = [Flagged(_where(i, k, name), reason) for k in overflowing]
    a, a64 = side.plain[number], side.precise[number]
    allowed = setting.multiple * _rounding(dtype, terms)
    report = _compare(a, a64, allowed, describe, judged=judged)
    resolution = _resolution(a, a64, allowed, judged, allowed)
    return replace(
        report,
        resolutions=_resolutions(side, number, resolution),
        unresolved=tuple(flagged[:MAX_MISMATCHES]),
        unresolved_count=len(flagged),
    )


def _beyond_range(side: _Side, number: int, terms: Float64Array) -> npt.NDArray[np.bool_]:
    """Where input ``number``'s float64 gradient, or the terms it sums, pass the largest number
    of its working dtype, which overflows there whatever the rule (``inf``, or ``nan`` where
    infinities meet): the checks in that dtype leave those elements out."""
    top = float(np.finfo(side.dtypes[number]).max)
    return np.asarray((np.abs(side.precise[number]) > top) | (terms > top))


def _recorded(side: _Side, multiple: float, terms: list[Float64Array]) -> GradcheckReport:
    """The first derivatives a ``create_graph=True`` pass records against the plain pass; the
    float64 gradient tells which of the two is off."""
    recorded, problems = _analytic(side.fn, side.inputs, side.objective.weights, create_graph=True)
    if problems:
        return replace(EMPTY_REPORT, failure=f"with create_graph=True, {problems[0]}")
    report = EMPTY_REPORT
    for number, (i, p, r, dtype, t) in enumerate(
        zip(side.objective.variables, side.plain, recorded, side.dtypes, terms, strict=True)
    ):

        def describe(
            k: tuple[int, ...],
            value: float,
            other: float,
            tolerance: float,
            i: int = i,
            number: int = number,
        ) -> Mismatch:
            truth = _one_element(side.objective, number, k)
            off = "create_graph=True" if abs(value - truth) > abs(other - truth) else "plain"
            detail = (
                f"the gradient recorded with create_graph=True, {value!r}, disagrees with the "
                f"plain pass, {other!r}, by {abs(value - other):.3g} (relative "
                f"{_relative(value, other):.3g}) > tolerance {tolerance:.3g}; the {off} pass "
                f"is the one off the numerical {truth!r}"
            )
            where = _where(i, k, side.names[number])
            return Mismatch(where, "recorded", value, other, tolerance, detail, i, k)

        # NOTE: the elements beyond the working dtype's range are named by the precision check
        judged = ~_unjudged(side, number, None) & ~_beyond_range(side, number, t)
        allowed = multiple * _rounding(dtype, t)
        checked = _compare(r, p, allowed, describe, judged=judged)
        resolution = _resolution(r, p, allowed, judged, allowed)
        report = report.merge(replace(checked, resolutions=_resolutions(side, number, resolution)))
    return report


def _flag(side: _Side, report: GradcheckReport) -> GradcheckReport:
    """``report`` with its worst resolution, the elements checked only loosely, and those the
    oracle could not resolve at all (resolution 1 or more: it could not tell the gradient from
    0), which neither passed nor failed unless out of their bound."""
    loose: list[Flagged] = []
    unresolvable: list[Flagged] = []
    worst = 0.0
    for number, resolution in enumerate(report.resolutions):
        if not np.any(np.isfinite(resolution)):
            continue
        limit = LOOSE.get(side.dtypes[number], LOOSE[np.dtype(np.float32)])
        i = list(side.objective.variables)[number]
        with np.errstate(all="ignore"):
            coarse = resolution > limit
            hopeless = resolution >= 1
        resolved = np.where(hopeless, np.nan, resolution)
        if np.any(np.isfinite(resolved)):
            worst = max(worst, float(np.nanmax(resolved)))
        for k in _indices(coarse):
            where = _where(i, k, side.names[number])
            if hopeless[k]:
                reason = f"unresolvable: the oracle's bound is {resolution[k]:.3g} of the gradient"
                unresolvable.append(Flagged(where, reason))
            else:
                loose.append(
                    Flagged(where, f"checked only to a relative error of {resolution[k]:.3g}")
                )
    unresolved = report.unresolved + tuple(unresolvable)
    return replace(
        report,
        resolution=worst,
        loose=tuple(loose[:MAX_MISMATCHES]),
        loose_count=len(loose),
        unresolved=unresolved[:MAX_MISMATCHES],
        unresolved_count=report.unresolved_count + len(unresolvable),
    )


def _check_directions(objective: _Objective, side: _Side, setting: _Setting) -> GradcheckReport:
    rng = np.random.default_rng(setting.seed + 1)
    unit = 1.0 if setting.eps is not None else float(np.cbrt(objective.eps))
    scales = [
        first_steps(p, unit, b, setting.eps) / unit
        for p, b in zip(objective.points, side.objective.bounds, strict=True)
    ]
    if setting.method == "richardson":
        objective.measure_noise([unit * s for s in scales])
    oracle = "complex step along directions" if objective.raw else "Richardson along directions"
    analytic = side.plain if setting.overridden else side.precise
    report = EMPTY_REPORT
    kind = setting.kind or "correctness"
    best = [np.full(a.shape, np.inf) for a in side.precise]
    for d in range(FAST_DIRECTIONS):
        directions = [
            rng.choice([-1.0, 1.0], size=p.shape) * s
            for p, s in zip(objective.points, scales, strict=True)
        ]
        value = sum(float(np.sum(a * v)) for a, v in zip(analytic, directions, strict=True))
        residual = _directional(objective, analytic, directions, unit, setting.method)
        assert residual.terms is not None
        spread = sum(
            float(np.sum(np.abs(a * v))) for a, v in zip(side.precise, directions, strict=True)
        )
        terms = max(float(residual.terms), spread)
        rounding = setting.multiple * float(
            _rounding(side.objective.rounding_dtype, np.asarray(terms))
        )
        numerical = value + float(residual.value)
        derived = float(residual.error) + rounding
        allowed = (
            max(float(setting.override(np.asarray(numerical))), derived)
            if setting.overridden
            else derived
        )

        def describe(
            k: tuple[int, ...], a: float, n: float, tolerance: float, d: int = d
        ) -> Mismatch:
            detail = (
                f"analytic {a!r}, numerical {n!r}, |difference| {abs(a - n):.3g} (relative "
                f"{_relative(a, n):.3g}) > tolerance {tolerance:.3g}"
            )
            return Mismatch(f"direction {d}", kind, a, n, tolerance, detail, None, (d,))

        report = report.merge(
            _compare(np.array(value), np.asarray(numerical), np.asarray(allowed), describe, oracle)
        )
        catch = allowed + abs(float(residual.value))
        with np.errstate(all="ignore"):
            best = [
                np.minimum(b, catch / np.abs(a * v))
                for b, a, v in zip(best, side.precise, directions, strict=True)
            ]
    resolutions = tuple(
        np.where((a != 0) & ~_unjudged(side, n, None), b, np.nan)
        for n, (a, b) in enumerate(zip(side.precise, best, strict=True))
    )
    steps = tuple(unit * s for s in scales)
    flagged = [f for n in range(len(side.precise)) for f in _reasons(side, n, None)]
    return replace(
        report,
        resolutions=resolutions,
        noise=float(np.max(objective.sigma, initial=0.0)),
        steps=steps,
        unresolved=tuple(flagged[:MAX_MISMATCHES]),
        unresolved_count=len(flagged),
    )


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
    domains: Sequence[Bounds | None] | None = None,
    homogeneous: bool = False,
) -> bool:
    """``True`` if the analytic gradients of ``fn`` at ``inputs`` pass
    :func:`check_gradients`; else raises :class:`GradcheckError` naming the input, the
    element, both values and the tolerance. Elements that could not be judged are named in a
    :class:`GradcheckWarning`."""
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
            domains=domains,
            homogeneous=homogeneous,
        )
    )


def _passed(report: GradcheckReport) -> bool:
    if report.failure is not None:
        checked = f"\n(the derivative checked: {report.derivative})" if report.derivative else ""
        raise GradcheckError(report.failure + checked)
    if report.unresolved_count:
        shown = "; ".join(map(str, report.unresolved))
        more = report.unresolved_count - len(report.unresolved)
        warnings.warn(
            f"{report.unresolved_count} elements were not judged: {shown}"
            + (f"; and {more} more" if more else ""),
            GradcheckWarning,
            stacklevel=3,
        )
    return True


def _gradient_of(
    fn: Callable[..., Variable], seed: int, create_graph: bool
) -> Callable[..., Variable]:
    """The function ``inputs -> [g, w * y]``: the gradients ``g`` of ``sum(w * y)``, ``y =
    fn(*inputs)``, with respect to every Variable input, flattened and joined, then the
    weighted values ``w * y`` themselves, flattened (weighted 0 by the check: they show which
    values each element moves, whose rounding reaches its second derivatives). Recorded with
    ``create_graph=True`` (so that its own reverse pass gives the Hessian times the weights of
    ``g``), or plain values (what the oracle differentiates, twice as fast)."""

    # NOTE: the weights in each dtype drawn and cast once, not once per evaluation
    weights: dict[tuple[tuple[int, ...], np.dtype[Any]], npt.NDArray[Any]] = {}

    def gradient(*inputs: Any) -> Variable:
        y = _call(fn, inputs)
        data = y.data
        w = weights.get((data.shape, data.dtype))
        if w is None:
            w = _drawn_weights(data.shape, seed).astype(data.dtype)
            w.flags.writeable = False
            weights[data.shape, data.dtype] = w
        if not create_graph and not np.isfinite(data).all():
            # NOTE: outside fn's domain (its value not finite), its gradient means nothing
            size = sum(x.size for x in inputs if isinstance(x, Variable)) + y.size
            return Variable(np.full(size, np.nan))
        # NOTE: a copy: the rules get the seed as their own (a user's may write into it)
        y.grad = Variable(w.copy())
        y.backward(create_graph=create_graph)
        variables = [x for x in inputs if isinstance(x, Variable)]
        if create_graph:
            parts = [
                reshape(Variable(np.zeros(x.shape, x.dtype)) if x.grad is None else x.grad, (-1,))
                for x in variables
            ]
            for x in variables:
                x.cleargrad()
            return concatenate([*parts, reshape(y * w, (-1,))])
        return Variable(np.concatenate([*_flat_gradients(variables), (data * w).reshape(-1)]))

    return gradient


def _flat_gradients(variables: Sequence[Variable]) -> list[npt.NDArray[Any]]:
    """The gradient of each of ``variables`` after a plain reverse pass, flattened (zeros where
    it has none), each Variable's ``grad`` cleared."""
    flat = [
        np.zeros(x.size, x.dtype) if x.grad is None else x.grad.data.reshape(-1) for x in variables
    ]
    for x in variables:
        x.cleargrad()
    return flat


def check_second_gradients(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    homogeneous: bool = False,
) -> GradcheckReport:
    """:func:`check_gradients` for the gradients ``g`` of ``sum(w * fn)`` with respect to
    every Variable input, recorded with ``create_graph=True``, flattened and joined: each
    element ``k`` of each input is judged on its Hessian column, the oracle differencing every
    element of ``g`` and weighting them afterwards (``n_k = sum_i v_i H_ik``, terms ``sum_i
    |v_i| |H_ik|``), against the Richardson oracle, with a rounding multiple of 64. Mismatches
    are of kind ``"second order"``; the resolutions are the second derivatives'. First, the
    first derivatives recorded with ``create_graph=True`` are compared with the plain pass,
    each element on the terms ``max(|a64_k|, max |a64|)``."""
    _refuse_empty(inputs)
    bounds = _bounds(inputs, domains)
    setting = _Setting(eps, atol, rtol, fast, seed, "richardson", None, ROUNDING_MULTIPLE)
    outer = _Side(fn, inputs, seed, bounds, homogeneous=homogeneous)
    # NOTE: the resolutions reported are the second derivatives', not the first ones'
    report = replace(_recorded(outer, setting.multiple, outer.floor_terms()), resolutions=())
    inner, second = _second_order(fn, inputs, setting, bounds, homogeneous)
    report = _flag(inner, report.merge(second))
    return replace(report, derivative=f"second derivatives: {derivative_of(fn, inputs)}")


def second_order_report(
    fn: Callable[..., Variable],
    *inputs: Operand,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    homogeneous: bool = False,
    degeneracy: Degeneracy | None = None,
) -> GradcheckReport:
    """:func:`check_second_gradients` without its first comparison, for a caller that has
    just compared the recorded first derivatives itself (:func:`check_gradients`).
    ``degeneracy``: for an ``fn`` computed from a matrix decomposition, how its gradient rounds
    and how far the point is from a degenerate matrix (see :class:`Degeneracy`)."""
    _refuse_empty(inputs)
    setting = _Setting(None, None, None, False, seed, "richardson", None, ROUNDING_MULTIPLE)
    bounds = _bounds(inputs, domains)
    inner, report = _second_order(fn, inputs, setting, bounds, homogeneous, degeneracy)
    return _flag(inner, report)


def _second_order(
    fn: Callable[..., Variable],
    inputs: Sequence[Operand],
    first: _Setting,
    bounds: Sequence[Bounds | None] | None,
    homogeneous: bool,
    degeneracy: Degeneracy | None = None,
) -> tuple[_Side, GradcheckReport]:
    """The second-order check's side and report (not yet flagged)."""
    second = replace(
        first, seed=first.seed + 1, multiple=SECOND_ORDER_ROUNDING_MULTIPLE, kind="second order"
    )
    inner = _Side(
        _gradient_of(fn, first.seed, create_graph=True),
        inputs,
        second.seed,
        bounds,
        evaluate=_gradient_of(fn, first.seed, create_graph=False),
        counted=sum(x.size for x in inputs if isinstance(x, Variable)),
        homogeneous=homogeneous,
        degeneracy=degeneracy,
    )
    report, _ = _check(inner, second)
    failure = None if report.failure is None else f"second derivatives: {report.failure}"
    return inner, replace(report, failure=failure)


def gradgradcheck(
    fn: Callable[..., Variable],
    *inputs: Operand,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    homogeneous: bool = False,
) -> bool:
    """:func:`gradcheck` for second derivatives: ``True``, or :class:`GradcheckError`."""
    return _passed(
        check_second_gradients(
            fn,
            *inputs,
            eps=eps,
            atol=atol,
            rtol=rtol,
            fast=fast,
            seed=seed,
            domains=domains,
            homogeneous=homogeneous,
        )
    )
