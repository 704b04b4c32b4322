"""Hypothesis strategies and the per-op verification, reusable in your own tests.

Needs the ``testing`` extra (``pip install "tinygrad_ref[testing]"``). The property suite and
``python -m tinygrad_ref verify`` are built from these pieces::

    from hypothesis import given
    from tinygrad_ref.registry import REGISTRY
    from tinygrad_ref.verification.strategies import check_example, examples

    @given(examples(REGISTRY["div"]))
    def test_div(example):
        check_example(example)
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple, TypeVar

import hypothesis
import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_ref.config import using_config
from tinygrad_ref.core import Array, Operand, Variable
from tinygrad_ref.ops import concatenate, reshape
from tinygrad_ref.ops.linalg import cofactors
from tinygrad_ref.ops.shape import normalize_axes
from tinygrad_ref.spec import (
    TIE_MAGNITUDES,
    ArrangementTieKink,
    Domain,
    Kink,
    MagnitudeTieKink,
    OpSpec,
    Params,
    PointKink,
    RangeTieKink,
    Role,
    Shape,
    SingularKink,
    SpectralKink,
    SpreadKink,
    TieKink,
    WindowTieKink,
    ZeroKink,
    spectrum_floor,
)
from tinygrad_ref.transforms import grad, jacobian, jvp, vjp
from tinygrad_ref.verification.checks import (
    EMPTY_REPORT,
    MAX_MISMATCHES,
    ROUNDING_MULTIPLE,
    SECOND_ORDER_ROUNDING_MULTIPLE,
    Flagged,
    GradcheckError,
    GradcheckReport,
    Mismatch,
    _declared_tangent_terms,
    _flat_gradients,
    _internal_terms,
    _rounding,
    as_computed,
    check_gradients,
    second_order_report,
)
from tinygrad_ref.verification.oracle import (
    SUBNORMAL,
    Bounds,
    ComplexStepUnderflowError,
    Degeneracy,
    Estimate,
    Float64Array,
    _call,
    first_steps,
    numerical_directional,
    oracle_reach,
    variation_scale,
)

_T = TypeVar("_T")

DTYPES: tuple[np.dtype[Any], ...] = (np.dtype(np.float32), np.dtype(np.float64))
MAX_DIMS = 3
MAX_SIDE = 4


@functools.cache  # NOTE: building a strategy costs more than drawing from it
def shapes(
    min_dims: int = 0, max_dims: int = MAX_DIMS, max_side: int = MAX_SIDE
) -> st.SearchStrategy[Shape]:
    """Array shapes, ``()`` and size-1 axes included."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


@functools.cache
def broadcastable_shapes(
    count: int, max_dims: int = MAX_DIMS, max_side: int = MAX_SIDE
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """``count`` shapes that broadcast together, as NumPy's binary operations need."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=count, min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda shapes: shapes.input_shapes)


@functools.cache
def dtypes() -> st.SearchStrategy[np.dtype[Any]]:
    return st.sampled_from(DTYPES)


def _inward(bound: float, dtype: np.dtype[Any], up: bool) -> float:
    """The nearest normal number of ``dtype`` (or zero) to ``bound`` inside the interval it
    bounds: rounded up for a lower bound, down for an upper one."""
    rounded = dtype.type(bound)
    # NOTE: compared as Python floats: against a NumPy float32, `bound` would be rounded too.
    if (up and float(rounded) < bound) or (not up and float(rounded) > bound):
        rounded = np.nextafter(rounded, dtype.type(np.inf if up else -np.inf))
    tiny = float(np.finfo(dtype).smallest_normal)
    if 0 < abs(rounded) < tiny:  # NOTE: subnormal, which is never drawn: go to 0 or +-tiny
        return (tiny if rounded > 0 else 0.0) if up else (0.0 if rounded > 0 else -tiny)
    return float(rounded)


def _intervals(domain: Domain) -> list[tuple[float, float]]:
    """The domain as closed intervals: ``[low, high]`` without ``(-min_abs, min_abs)``."""
    if domain.min_abs == 0:
        return [(domain.low, domain.high)]
    parts = [
        (max(domain.low, domain.min_abs), domain.high),
        (domain.low, min(domain.high, -domain.min_abs)),
    ]
    return [(low, high) for low, high in parts if low <= high]


def _integer_intervals(domain: Domain) -> list[tuple[int, int]]:
    parts = [(math.ceil(low), math.floor(high)) for low, high in _intervals(domain)]
    return [(low, high) for low, high in parts if low <= high]


@functools.cache
def integers(domain: Domain) -> st.SearchStrategy[int]:
    """The integers in ``domain``."""
    parts = _integer_intervals(domain)
    if not parts:
        raise ValueError(f"{domain} holds no integer")
    return st.one_of([st.integers(low, high) for low, high in parts])


@functools.cache
def values(domain: Domain, dtype: np.dtype[Any] = DTYPES[1]) -> st.SearchStrategy[float]:
    """Finite, normal numbers of ``dtype`` inside ``domain`` (bounds built in, no filtering)."""
    if domain.integer:
        return integers(domain).map(float)
    dtype = np.dtype(dtype)
    rounded = [
        (_inward(low, dtype, up=True), _inward(high, dtype, up=False))
        for low, high in _intervals(domain)
    ]
    bounds = [(low, high) for low, high in rounded if low <= high]
    if not bounds:
        raise ValueError(f"{domain} holds no normal {dtype} number")
    width: Literal[32, 64] = 32 if dtype == np.float32 else 64
    return st.one_of(
        [
            st.floats(
                low,
                high,
                width=width,
                allow_nan=False,
                allow_infinity=False,
                allow_subnormal=False,
            )
            for low, high in bounds
        ]
    )


@functools.cache
def arrays(domain: Domain, shape: Shape, dtype: np.dtype[Any]) -> st.SearchStrategy[Array]:
    """Arrays of ``shape`` and ``dtype`` with every value inside ``domain``."""
    return hnp.arrays(dtype, shape, elements=values(domain, dtype))


class Kind(enum.Enum):
    """How an operand is passed to an op."""

    VARIABLE = "Variable"
    NDARRAY = "ndarray"
    NUMPY_FLOAT64 = "np.float64"
    NUMPY_FLOAT32 = "np.float32"
    PYTHON_FLOAT = "float"
    PYTHON_INT = "int"


def operand_kinds(shape: Shape, role: Role, domain: Domain) -> list[Kind]:
    """The kinds an operand of ``shape`` and ``role`` can take: scalars only for shape ``()``,
    Python ints only where the domain holds an integer."""
    if role == "variable":
        return [Kind.VARIABLE]
    kinds = [Kind.VARIABLE, Kind.NDARRAY]
    if shape == ():
        kinds += [Kind.NUMPY_FLOAT64, Kind.NUMPY_FLOAT32, Kind.PYTHON_FLOAT]
        if _integer_intervals(domain):
            kinds.append(Kind.PYTHON_INT)
    if role == "constant":
        kinds.remove(Kind.VARIABLE)
    return kinds


@functools.cache  # NOTE: a new strategy is validated and labelled again at its first draw
def operands(
    kind: Kind, domain: Domain, shape: Shape, dtype: np.dtype[Any]
) -> st.SearchStrategy[Operand]:
    """Operands of one ``kind``; ``dtype`` is that of Variables and ndarrays."""
    if kind is Kind.VARIABLE:
        return arrays(domain, shape, dtype).map(Variable)
    if kind is Kind.NDARRAY:
        return arrays(domain, shape, dtype)
    if kind is Kind.NUMPY_FLOAT64:
        return values(domain, DTYPES[1]).map(np.float64)
    if kind is Kind.NUMPY_FLOAT32:
        return values(domain, DTYPES[0]).map(np.float32)
    if kind is Kind.PYTHON_FLOAT:
        return values(domain)
    return integers(domain)


class _DrawSampler:
    """The registry's :class:`~tinygrad_ref.registry.Sampler`, drawing with Hypothesis."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def shape(self, min_dims: int = 0, max_dims: int = MAX_DIMS) -> Shape:
        return self._draw(shapes(min_dims, max_dims))

    def broadcastable_shapes(self, count: int) -> tuple[Shape, ...]:
        return self._draw(broadcastable_shapes(count))

    def integer(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def boolean(self) -> bool:
        return self._draw(st.booleans())

    def choice(self, options: Sequence[_T]) -> _T:
        strategy: st.SearchStrategy[_T]
        try:
            strategy = _sampled(tuple(options))
        except TypeError:  # NOTE: options that cannot be hashed get a strategy of their own
            strategy = st.sampled_from(options)
        return self._draw(strategy)


@functools.cache
def _sampled(options: tuple[_T, ...]) -> st.SearchStrategy[_T]:
    """``st.sampled_from(options)``, built once per tuple of options (Hypothesis caches its
    other strategies, not this one)."""
    return st.sampled_from(options)


def _raw(x: Operand) -> Any:
    return x.data if isinstance(x, Variable) else x


def _describe(x: Operand) -> str:
    if isinstance(x, Variable):
        return f"Variable({x.data!r})"
    return repr(x)


def _exact(x: Operand) -> str:
    """Python source that rebuilds ``x`` exactly: dtype and every value (reprs round-trip)."""
    if isinstance(x, Variable):
        return f"Variable({_exact(x.data)})"
    if isinstance(x, np.ndarray):
        return f"np.array({x.tolist()!r}, dtype=np.{x.dtype.name})"
    if isinstance(x, np.generic):
        return f"np.{x.dtype.name}({x.item()!r})"
    return repr(x)


@dataclass(frozen=True)
class Example:
    """One call of a registered op: its operands, parameters, and whether it goes through the
    operator (``a - b``) or the function (``sub(a, b)``)."""

    spec: OpSpec
    operands: tuple[Operand, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    infix: bool = False

    def fn(self, *operands: Operand) -> Variable:
        """The op, called the way this example calls it, on ``operands``."""
        if self.infix:
            assert self.spec.infix is not None
            y: Variable = self.spec.infix(*operands, **self.params)
            return y
        return self.spec.function(*operands, **self.params)

    def expected(self) -> Any:
        """What NumPy computes on the raw operands."""
        return np.asarray(self.spec.reference(*map(_raw, self.operands), **self.params))

    def reproducer(self, check: str) -> str:
        """Paste-able Python that rebuilds this example's call, with its exact operands and
        parameters, and runs ``check`` (such as ``gradcheck(fn, *operands, seed=0)``)."""
        call = "spec.infix" if self.infix else "spec.function"
        return "\n".join(
            [
                "import numpy as np",
                "from numpy import array",
                "from tinygrad_ref import Variable, gradcheck, gradgradcheck",
                "from tinygrad_ref.registry import REGISTRY",
                f"spec = REGISTRY[{self.spec.name!r}]",
                f"operands = ({''.join(_exact(x) + ', ' for x in self.operands)})",
                f"params = {dict(self.params)!r}",
                f"fn = lambda *xs: {call}(*xs, **params)",
                check,
            ]
        )

    def __repr__(self) -> str:
        args = ", ".join([_describe(x) for x in self.operands])
        args += "".join(f", {k}={v!r}" for k, v in self.params.items())
        via = "its operator" if self.infix else "its function"
        return f"{self.spec.name}({args}) through {via}"


SCALAR_KINDS = (Kind.NUMPY_FLOAT64, Kind.NUMPY_FLOAT32, Kind.PYTHON_FLOAT, Kind.PYTHON_INT)


@st.composite
def examples(
    draw: st.DrawFn,
    spec: OpSpec,
    dtype: np.dtype[Any] | None = None,
    kinds: Sequence[Kind] | None = None,
) -> Example:
    """Calls of ``spec``'s op inside its domain, with every kind of operand on every side; at
    least one operand is a Variable. The dtype (float32 or float64) of each array operand is
    drawn, so that they mix, unless ``dtype`` is given for all; ``kinds`` fixes the kind of
    each operand (scalar kinds get shape ``()``)."""
    case = spec.draw_case(_DrawSampler(draw))
    domains = case.domains or spec.domains
    roles = spec.operand_roles
    shapes = case.shapes
    if kinds is None:
        kinds = [
            draw(_sampled(tuple(operand_kinds(shape, role, domain))))
            for shape, role, domain in zip(shapes, roles, domains, strict=True)
        ]
        if Kind.VARIABLE not in kinds:
            kinds[roles.index("any")] = Kind.VARIABLE
    else:
        shapes = tuple(
            () if kind in SCALAR_KINDS else shape for kind, shape in zip(kinds, shapes, strict=True)
        )
    drawn = tuple(
        draw(operands(kind, domain, shape, draw(dtypes()) if dtype is None else np.dtype(dtype)))
        for kind, domain, shape in zip(kinds, domains, shapes, strict=True)
    )
    infix = spec.infix is not None and draw(st.booleans())
    return Example(spec, _kept_apart(spec, drawn, case.params), case.params, infix)


def definition_domains(example: Example) -> list[Bounds | None] | None:
    """Where the example's op is defined in each operand, from its spec's accuracy block
    (the first of its regions that holds the operands): the oracle's steps stay inside."""
    accuracy = example.spec.accuracy
    if accuracy is None:
        return None
    values = [_raw(x) for x in example.operands]
    for region in accuracy.regions:
        if all(domain.contains(v) for domain, v in zip(region, values, strict=True)):
            return [(domain.low, domain.high) for domain in region]
    return None


def _source(domains: Sequence[Bounds | None]) -> str:
    """Python source for ``domains`` (infinite bounds as ``np.inf``)."""

    def bound(value: float) -> str:
        return repr(value) if math.isfinite(value) else ("-np.inf" if value < 0 else "np.inf")

    parts = ["None" if d is None else f"({bound(d[0])}, {bound(d[1])})" for d in domains]
    return f"[{', '.join(parts)}]"


@dataclass
class OpStats:
    """What a verification run measured for one op."""

    examples: int = 0
    first: GradcheckReport = field(default_factory=lambda: GradcheckReport(0.0, 0.0, None))
    second: GradcheckReport | None = None


def _assert_within_rounding(
    actual: Array, expected: Array, message: str, conditioning: float = 1.0
) -> None:
    """``actual`` equals ``expected`` to within a few rounding errors of ``expected``'s dtype,
    relative to the larger of 1 and its largest magnitude (times ``conditioning``, for values
    read from a decomposition's vectors)."""
    eps = conditioning * float(np.finfo(expected.dtype).eps)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    _assert_close(actual, expected, 4 * eps, 4 * eps * scale, message)


FORWARD_ULPS = 8
"""How far the forward value may be from NumPy's, relative to each element: both sides are
within a few ULP of the exact value (``python -m tinygrad_ref verify --accuracy``)."""


def _assert_within_ulps(actual: Array, expected: Array, message: str) -> None:
    """``actual`` equals ``expected`` to within :data:`FORWARD_ULPS` rounding errors of each
    element (of the smallest normal number below it), so that a relative error of a small
    value does not hide behind the largest one."""
    info = np.finfo(expected.dtype)
    eps, tiny = float(info.eps), float(info.smallest_normal)
    rtol = FORWARD_ULPS * eps
    _assert_close(actual, expected, rtol, rtol * tiny, message)


def _assert_close(actual: Array, expected: Array, rtol: float, atol: float, message: str) -> None:
    """``np.testing.assert_allclose(actual, expected, rtol, atol)``, its verdict first reached
    the cheap way where it is sure: of arrays of one shape whose difference is finite (so every
    value is), it tests ``|actual - expected| <= atol + rtol |expected|``, the expression of
    ``np.isclose`` in the same dtypes (about 4 us against 35). Anything else, and a failure,
    goes to ``assert_allclose`` for its verdict and its message."""
    if actual.shape == expected.shape:
        with np.errstate(all="ignore"):
            difference = actual - expected
            if (
                np.isfinite(difference).all()
                and (np.abs(difference) <= atol + rtol * np.abs(expected)).all()
            ):
                return
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=message)


def check_forward(example: Example) -> Variable:
    """The op's result, checked to be a Variable with NumPy's value, dtype and shape."""
    y: object = example.fn(*example.operands)
    expected = example.expected()
    if not isinstance(y, Variable) or type(y.data) is not np.ndarray:
        raise AssertionError(f"{example}: expected a Variable holding an ndarray, got {y!r}")
    if y.dtype != expected.dtype or y.shape != expected.shape:
        raise AssertionError(
            f"{example}: result has dtype {y.dtype} and shape {y.shape}; "
            f"NumPy gives {expected.dtype} and {expected.shape}"
        )
    # NOTE: an elementwise op (one with ULP bounds) is held to each element's own rounding; the
    # rounding of a reduction or a softmax is relative to its terms, as its reference's is.
    check = _assert_within_ulps if example.spec.accuracy is not None else _assert_within_rounding
    try:
        check(y.data, expected, "")
    except AssertionError:
        # NOTE: the example's description only on failure: it costs as much as the check
        check(y.data, expected, f"{example}: forward value")
    return y


def check_example(example: Example, stats: OpStats | None = None) -> None:
    """Check one example: the forward value against NumPy, the first derivatives (and the
    second ones if the spec declares them) against a numerical oracle, the first derivatives
    recorded with ``create_graph=True`` against the plain pass, and every gradient's shape and
    dtype against its input's. First derivatives use the complex step on the spec's
    ``reference`` when it is analytic, else Richardson's extrapolation. Raises
    ``AssertionError`` naming what was wrong."""
    stats = OpStats() if stats is None else stats
    check_forward(example)
    stats.examples += 1
    spec, params = example.spec, example.params
    domains = definition_domains(example)
    first = check_gradients(
        example.fn,
        *example.operands,
        method="complex" if spec.analytic else "richardson",
        reference=(lambda *xs: spec.reference(*xs, **params)) if spec.analytic else None,
        domains=domains,
        homogeneous=spec.homogeneous,
    )
    stats.first = stats.first.merge(first)
    within = "" if domains is None else f", domains={_source(domains)}"
    within += ", homogeneous=True" if spec.homogeneous else ""
    if first.failure is not None:
        method = (
            ', method="complex", reference=lambda *xs: spec.reference(*xs, **params)'
            if spec.analytic
            else ""
        )
        check = f"gradcheck(fn, *operands, seed=0{method}{within})"
        raise GradcheckError(
            f"{example}: {first.failure}\nReproduce with:\n{example.reproducer(check)}"
        )
    if example.spec.second_order:
        # NOTE: check_gradients has compared the recorded first derivatives already
        second = second_order_report(
            example.fn,
            *example.operands,
            domains=domains,
            homogeneous=spec.homogeneous,
            degeneracy=_degeneracy(example),
        )
        stats.second = second if stats.second is None else stats.second.merge(second)
        if second.failure is not None:
            check = f"gradgradcheck(fn, *operands, seed=0{within})"
            raise GradcheckError(
                f"{example}: {second.failure}\nReproduce with:\n{example.reproducer(check)}"
            )


def verify_op(
    spec: OpSpec,
    *,
    dtype: np.dtype[Any] | None = None,
    kinds: Sequence[Kind] | None = None,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    stats: OpStats | None = None,
    on_example: Callable[[OpStats], None] | None = None,
) -> OpStats:
    """Fuzz one op with Hypothesis (the current settings profile unless ``settings`` is given)
    and return what was measured; raises on the first (shrunk) failing example."""
    stats = OpStats() if stats is None else stats
    failed = False

    @hypothesis.given(examples(spec, dtype, kinds))
    def run(example: Example) -> None:
        nonlocal failed
        if failed:
            # NOTE: Hypothesis shrinking the failure: these examples are not counted or measured
            check_example(example)
            return
        drawn = stats.examples + 1
        try:
            check_example(example, stats)
        except BaseException:
            failed = True
            stats.examples = drawn
            raise
        if on_example is not None:
            on_example(stats)

    if kinds is None:
        verify_kink(spec, dtype=dtype, settings=settings, seed=seed)
    _run(run, _thinned(spec, settings), seed, (spec.name, str(dtype), tuple(kinds or ())))
    return stats


def _thinned(spec: OpSpec, settings: hypothesis.settings | None) -> hypothesis.settings:
    """``settings`` (else the profile's) with ``1 / spec.cost`` as many examples."""
    base = hypothesis.settings() if settings is None else settings
    return hypothesis.settings(base, max_examples=max(1, base.max_examples // spec.cost))


def _run(
    test: Callable[[], None],
    settings: hypothesis.settings | None,
    seed: int | None,
    key: tuple[object, ...],
) -> None:
    """Run a Hypothesis test with these ``settings`` (else the profile's) and ``seed``, its
    failures saved under an example database key of its own for each ``key``."""
    # NOTE: Hypothesis keys a test by its source, the same closure for every op: without
    # this, a failure saved for one op would replay on every other; the private attribute
    # Hypothesis's own stateful tests set for this, not in its stubs
    inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
    inner._hypothesis_internal_add_digest = repr(key).encode()
    if settings is not None:
        test = settings(test)
    if seed is not None:
        test = hypothesis.seed(seed)(test)
    test()


# Kinks: operands kept out of the oracle's reach of them, and calls drawn on them, where the
# gradient must be the declared convention.

KINK_MARGIN = 3.0
"""Strategies keep every value ``v`` at least ``KINK_MARGIN * oracle_reach(p)`` from a kink point
``p``: then ``|v - p| > oracle_reach(v) + oracle_reach(p)`` (the reach of a nonzero value grows
only by ``HOME * |v - p|`` from ``p`` to ``v``: ``1 + 1 + 3/8 < 3``), so no step from either
crosses the other."""

TIE_VALUES = (-1.5, 0.0, 0.5)
"""The values of operands drawn to tie: few, so that most elements tie."""


def _outside(
    v: float,
    points: Float64Array,
    dtype: np.dtype[Any],
    among: Float64Array | None = None,
    points_reach: Float64Array | None = None,
) -> float:
    """``v``, or the nearest number of ``dtype`` to it outside ``p +- KINK_MARGIN *
    oracle_reach(p)`` for every point ``p`` (the reach ``p`` would have as an element of the
    array ``among``, if given, since the oracle's steps follow their array's scale), plus
    ``points_reach``: how far the oracle steps from the points themselves, if they move too."""
    reach = oracle_reach(points) if among is None else oracle_reach(among, at=points)
    if among is not None and v == 0:
        # NOTE: and v's own reach where v is an exact 0 (far wider in a zero array); elsewhere
        # it is at most p's and HOME * |v - p|, which the margin covers (KINK_MARGIN): taking
        # it would move v again as its reach grows with it, pass after pass
        reach = np.maximum(reach, oracle_reach(among, at=np.array([v])))
    if points_reach is not None:
        reach = reach + points_reach
    # NOTE: at least a few spacings of p, so that p +- margin is not p rounded
    margins = np.maximum(KINK_MARGIN * reach, 4 * np.spacing(np.abs(points).astype(dtype)))
    # NOTE: sorted by their lower ends: margins differ (a zero beside subnormal-scale values
    # gets a step of 1), so a later point's interval may reach below an earlier one's
    intervals = sorted(zip((points - margins).tolist(), (points + margins).tolist(), strict=True))
    merged: list[list[float]] = []
    for low, high in intervals:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    if not any(low < v < high for low, high in merged):
        return v
    # NOTE: moved out of one interval, a value may round (in dtype) into the next one: it keeps
    # going the same way until it is out of all, and the nearer of the two ways wins
    ways = []
    for up in (False, True):
        w = v
        while inside := [(low, high) for low, high in merged if low < w < high]:
            low, high = inside[0]
            w = _inward(high if up else low, dtype, up=up)
        ways.append(w)
    return min(ways, key=lambda w: abs(w - v))


MOVES = 8
"""How many passes :func:`_move_apart` makes at most: each moved value raises its array's
scale, and so the oracle's reach from the others, which a further pass keeps apart again."""


def _move_apart(
    kink: Kink,
    values: list[Float64Array],
    dtypes: list[np.dtype[Any]],
    movable: list[bool],
    params: Params,
) -> None:
    """Move ``values`` (in place) out of the oracle's reach of ``kink``, pass after pass until
    none moves (a value moved out of a tie at 1e-308 to 1e-5 gives every other element of its
    array a step of 1e-16)."""
    for _ in range(MOVES):
        before = [v.copy() for v in values]
        _move_apart_once(kink, values, dtypes, movable, params)
        if all(np.array_equal(b, v) for b, v in zip(before, values, strict=True)):
            return
    raise AssertionError(f"{kink.where}: operands still moving after {MOVES} passes: {values}")


def _move_apart_once(
    kink: Kink,
    values: list[Float64Array],
    dtypes: list[np.dtype[Any]],
    movable: list[bool],
    params: Params,
) -> None:
    """One pass of :func:`_move_apart` over every value."""
    if isinstance(kink, SingularKink):
        values[0][...] = conditioned(values[0], kink)
        return
    if isinstance(kink, PointKink):
        points = np.array(kink.points(params), dtype=np.float64)
        flat = values[0].reshape(-1)
        for k in range(flat.size):
            flat[k] = _outside(flat[k], points, dtypes[0], among=flat)
        if isinstance(kink, ZeroKink):
            # NOTE: and at least spectrum_floor from 0, as a spectrum's values are: a norm's
            # second derivatives grow as 1 / |x| (as 1 / y at the zero vector), and past it
            # leave the float range
            floor = spectrum_floor(dtypes[0])
            flat[...] = np.where(np.abs(flat) < floor, np.copysign(floor, flat), flat)
        return
    if isinstance(kink, SpectralKink):
        # NOTE: a step of size h in every element moves an eigenvalue or singular value by at
        # most n h (the norm of the step), so that values n * KINK_MARGIN reaches apart never
        # cross (each moves, so twice that)
        x = values[0]
        size = max(x.shape[-2:], default=1)
        least = 2 * size * KINK_MARGIN * float(np.max(oracle_reach(x), initial=0.0))
        x[...] = kink.spread(x, params, least, dtypes[0])
        return
    if isinstance(kink, WindowTieKink):
        # NOTE: each element keeps away from the earlier elements of every window it is in.
        flat = values[0].reshape(-1)
        windows = kink.windows(params, values[0].shape)
        for k in range(flat.size):
            rows = windows[(windows == k).any(axis=1)]
            earlier = np.unique(rows[(rows >= 0) & (rows < k)])
            flat[k] = _outside(flat[k], flat[earlier], dtypes[0], among=flat)
        return
    if not isinstance(kink, (TieKink, SpreadKink)):
        raise TypeError(f"unknown kind of kink: {kink!r}")
    if isinstance(kink, TieKink) and kink.among == "operands":
        # NOTE: each element of one operand keeps away from every element of the other it meets.
        moved = 1 if movable[1] else 0
        shape = np.broadcast_shapes(values[0].shape, values[1].shape)
        owner = np.broadcast_to(np.arange(values[moved].size).reshape(values[moved].shape), shape)
        others = np.broadcast_to(values[1 - moved], shape)
        others_reach = np.broadcast_to(oracle_reach(values[1 - moved]), shape)
        flat = values[moved].reshape(-1)
        for k in range(flat.size):
            flat[k] = _outside(
                flat[k], others[owner == k], dtypes[moved], flat, others_reach[owner == k]
            )
        return
    x = values[0]
    if not x.size:
        return  # NOTE: an empty operand has no element to keep apart
    axes = normalize_axes(params["axis"], x.shape)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    grouped = np.moveaxis(x, axes, last)
    rows = grouped.reshape(-1, math.prod(x.shape[a] for a in axes))
    magnitudes = isinstance(kink, MagnitudeTieKink)
    for row in rows:
        for k in range(0 if magnitudes else 1, row.size):
            # NOTE: a magnitude keeps away from the others' of either sign, and from 0
            others = np.concatenate([row[:k], -row[:k], [0.0]]) if magnitudes else row[:k]
            row[k] = _outside(row[k], others, dtypes[0], among=rows.reshape(-1))
    x[...] = np.moveaxis(rows.reshape(grouped.shape), last, axes)


MATRIX_SCALE = (2.0**-10, 2.0**10)
"""The range :func:`conditioned` keeps each matrix's largest magnitude in (scaling a matrix
that leaves it by a power of 2): the determinant of an n by n matrix scales as its n-th
power, and would underflow to 0 (taken for singular) or overflow well inside float32's
range."""


def condition(a: Float64Array, kink: SingularKink) -> Float64Array:
    """The condition number of each matrix of ``a`` (of its mirrored lower triangle, where
    ``kink.definite``; ``inf`` where that is not positive definite)."""
    return _ratio(*_extreme_values(a, kink))


def _extreme_values(
    a: Float64Array, kink: SingularKink
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]:
    """The largest and least singular value of each matrix of ``a`` (eigenvalue of its mirrored
    lower triangle, where ``kink.definite``)."""
    if kink.definite:
        w = np.linalg.eigvalsh(a, UPLO="L")
        return w[..., -1], w[..., 0]
    s = np.linalg.svd(a, compute_uv=False)
    return s[..., 0], s[..., -1]


def _ratio(
    largest: npt.NDArray[np.floating[Any]], least: npt.NDArray[np.floating[Any]]
) -> Float64Array:
    """``largest / least``, ``inf`` where ``least`` is not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(least > 0, largest / least, np.inf)


def conditioned(a: Float64Array, kink: SingularKink) -> Float64Array:
    """``a`` with each matrix whose condition number passes ``kink.max_condition`` shifted along
    its diagonal by twice its 2-norm (of its mirrored lower triangle, where ``kink.definite``),
    which leaves a condition number of at most 3, a positive definite matrix where it must be,
    and every element off the diagonal as it was (a rebuilt SVD would leave rounding noise of
    1e-16 where there were zeros); the others as they are, each scaled into
    :data:`MATRIX_SCALE` by a power of 2 if it is not (where ``kink.definite``, the lower
    triangle and the rest each on its own)."""
    if a.size == 0:
        return a
    flat = a.reshape(-1, *a.shape[-2:]).copy()
    lower = np.tril(np.ones(a.shape[-2:], dtype=bool))
    # NOTE: the triangle a definite op never reads is scaled on its own: its scale would
    # otherwise leave the one read (and its smallest eigenvalue) far below the oracle's steps
    parts = (lower, ~lower) if kink.definite else (np.ones_like(lower),)
    for m in flat:
        for part in parts:
            scale = np.abs(m[part]).max(initial=0.0)
            if scale > 0 and not MATRIX_SCALE[0] <= scale <= MATRIX_SCALE[1]:
                # NOTE: a power of 2, so that the rescaled values are exact
                m[part] = np.ldexp(m[part], -int(np.frexp(scale)[1]))
        if condition(m, kink) <= kink.max_condition:
            continue
        mirrored = np.tril(m) + np.tril(m, -1).T if kink.definite else m
        shift = 2 * np.linalg.norm(mirrored, 2) or 1.0
        # NOTE: of a non-square matrix, the diagonal of its square part: the shift's singular
        # values are all 1 there too
        m[np.diag_indices(min(m.shape))] += shift
    return flat.reshape(a.shape)


def _singular(a: Float64Array, kink: SingularKink) -> Float64Array:
    """``a`` with every matrix made exactly singular (rank-deficient), so that the LU and
    Cholesky factorizations meet an exact 0 pivot and the SVD an exact 0: its last row 0 (and,
    where ``kink.definite``, its last column), or, of a matrix of more rows than columns, its
    last column."""
    singular = a.copy()
    if a.shape[-2] > a.shape[-1]:
        singular[..., :, -1] = 0.0
        return singular
    singular[..., -1, :] = 0.0
    if kink.definite:
        singular[..., :, -1] = 0.0
    return singular


def _with_values(x: Operand, values: Float64Array) -> Operand:
    """``x`` holding ``values`` instead, of its kind and dtype."""
    if np.array_equal(values, _raw(x)):
        return x
    if isinstance(x, Variable):
        return Variable(values.astype(x.dtype))
    if isinstance(x, (np.ndarray, np.generic)):
        return values.astype(x.dtype) if isinstance(x, np.ndarray) else x.dtype.type(values[()])
    return float(values)


def _kept_apart(spec: OpSpec, operands: tuple[Operand, ...], params: Params) -> tuple[Operand, ...]:
    """``operands`` with their values near ``spec``'s kink moved out of the oracle's reach."""
    if spec.kink is None:
        return operands
    values = [np.array(_raw(x), dtype=np.float64) for x in operands]
    dtypes = [np.asarray(_raw(x)).dtype for x in operands]
    movable = [type(x) is not int for x in operands]
    _move_apart(spec.kink, values, dtypes, movable, params)
    return tuple(_with_values(x, v) for x, v in zip(operands, values, strict=True))


SUBNORMAL_SHIFTS = (-24, 64)
"""How far :func:`tiny_examples` scales operands, in powers of two from each dtype's smallest
normal number: down into its subnormal numbers, and up past where the oracle's steps stop
shrinking with the values (``LEAST_SCALE``, 2 ** -970 in float64)."""


@st.composite
def tiny_examples(draw: st.DrawFn, spec: OpSpec, dtype: np.dtype[Any] | None = None) -> Example:
    """Calls of ``spec``'s op as :func:`examples` draws them, every operand a Variable (or an
    array, where it must be a constant), scaled by one power of two down to the dtype's
    smallest normal numbers (the smallest ones rounded to subnormal numbers), then kept apart
    from its kink: where an array's rms underflows and the oracle's steps no longer follow the
    values' scale, the margins must still keep every step off the kink."""
    kinds = [Kind.NDARRAY if role == "constant" else Kind.VARIABLE for role in spec.operand_roles]
    example = draw(examples(spec, dtype, kinds))
    shift = draw(st.integers(*SUBNORMAL_SHIFTS))

    def scaled(x: Operand) -> Operand:
        values = np.asarray(_raw(x))
        tiny = float(np.finfo(values.dtype).smallest_normal)
        return _with_values(x, values.astype(np.float64) * (tiny * 2.0**shift))

    moved = _kept_apart(spec, tuple(map(scaled, example.operands)), example.params)
    return Example(spec, moved, example.params, example.infix)


@st.composite
def kink_examples(draw: st.DrawFn, spec: OpSpec, dtype: np.dtype[Any] | None = None) -> Example:
    """Calls of a non-smooth op exactly on its kink, every operand a Variable: an operand with
    point kinks holds only those points, operands that tie hold :data:`TIE_VALUES`."""
    kink = spec.kink
    if kink is None:
        raise ValueError(f"{spec.name} declares no kink")
    if isinstance(kink, SingularKink):
        example = draw(examples(spec, dtype, [Kind.VARIABLE] * spec.arity))
        a = example.operands[0]
        assert isinstance(a, Variable)
        singular = Variable(_singular(a.data.astype(np.float64), kink).astype(a.dtype))
        return Example(spec, (singular, *example.operands[1:]), example.params)
    case = spec.draw_case(_DrawSampler(draw))
    pool = kink.points(case.params) if isinstance(kink, PointKink) else TIE_VALUES
    if isinstance(kink, MagnitudeTieKink):
        pool = TIE_MAGNITUDES
    if isinstance(kink, SpreadKink):
        pool = (draw(st.sampled_from(pool)),)
    drawn = tuple(
        Variable(
            draw(
                hnp.arrays(
                    draw(dtypes()) if dtype is None else np.dtype(dtype),
                    shape,
                    elements=st.sampled_from(pool),
                )
            )
        )
        for shape in case.shapes
    )
    if isinstance(kink, SpectralKink):
        x = drawn[0].data
        drawn = (Variable(kink.degenerate(x.astype(np.float64), case.params).astype(x.dtype)),)
    return Example(spec, drawn, case.params)


def _summed_to(g: Float64Array, shape: Shape) -> Float64Array:
    """``g`` summed back to the ``shape`` it was broadcast from."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    summed: Float64Array = g.sum(
        axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True
    )
    return summed


def _convention(
    kink: Kink, values: list[Float64Array], params: Params, y: Float64Array, gy: Float64Array
) -> list[Float64Array]:
    """The gradients the kink's declared convention gives, from the declaration alone."""
    if isinstance(kink, ZeroKink):
        return [np.zeros_like(values[0])]
    if isinstance(kink, SingularKink):
        return [gy[..., None, None] * cofactors(values[0])]
    if isinstance(kink, PointKink):
        x = values[0]
        slopes = np.zeros_like(x)
        for point, slope in zip(kink.points(params), kink.slopes(params), strict=True):
            slopes[(x == point) & (slopes == 0)] = slope
        return [gy * slopes]
    if isinstance(kink, WindowTieKink):
        x = values[0]
        windows = kink.windows(params, x.shape)
        candidates = np.where(windows >= 0, x.reshape(-1)[np.maximum(windows, 0)], -np.inf)
        first = windows[np.arange(len(windows)), np.argmax(candidates, axis=1)]
        g = np.zeros(x.size)
        np.add.at(g, first, gy.reshape(-1))
        return [g.reshape(x.shape)]
    if isinstance(kink, SpreadKink):
        return [np.zeros_like(values[0])]
    if isinstance(kink, ArrangementTieKink):
        return [_shared_back(values[0], y, gy, params["axis"])]
    if isinstance(kink, MagnitudeTieKink):
        return [kink.gradient(values[0], params, gy)]
    if isinstance(kink, RangeTieKink):
        x, axis = values[0], params["axis"]
        largest, smallest = (
            x == np.reshape(extreme, np.sum(x, axis=axis, keepdims=True).shape)
            for extreme in (np.max(x, axis=axis), np.min(x, axis=axis))
        )
        shares = largest / np.sum(largest, axis=axis, keepdims=True)
        shares -= smallest / np.sum(smallest, axis=axis, keepdims=True)
        return [np.reshape(gy, np.sum(x, axis=axis, keepdims=True).shape) * shares]
    if not isinstance(kink, TieKink):
        raise TypeError(f"unknown kind of kink: {kink!r}")
    if kink.among == "operands":
        wins = [np.broadcast_to(v, y.shape) == y for v in values]
        count = wins[0] + wins[1].astype(np.float64)
        return [_summed_to(gy * win / count, v.shape) for win, v in zip(wins, values, strict=True)]
    x = values[0]
    extreme = np.reshape(y, np.sum(x, axis=params["axis"], keepdims=True).shape)
    wins = x == extreme
    return [np.reshape(gy, extreme.shape) * wins / np.sum(wins, axis=params["axis"], keepdims=True)]


def _shared_back(
    x: Float64Array, y: Float64Array, gy: Float64Array, axis: int | None
) -> Float64Array:
    """The gradient of a rearrangement ``y`` of ``x`` along ``axis`` (flattened for ``None``):
    each element of ``x`` gets the mean of ``gy`` over the elements of ``y`` equal to it."""
    along = -1 if axis is None else axis
    xs = np.moveaxis(x.reshape(-1) if axis is None else x, along, -1)
    ys, gs = np.moveaxis(y, along, -1), np.moveaxis(gy, along, -1)
    equal = xs[..., :, None] == ys[..., None, :]
    g = np.sum(equal * gs[..., None, :], axis=-1) / np.sum(equal, axis=-1)
    shared: Float64Array = np.moveaxis(g, -1, along).reshape(x.shape)
    return shared


def check_kink_example(example: Example) -> None:
    """The gradients of a call on its op's kink equal the convention the op declares there,
    computed from the declaration (never from the op's backward); raises AssertionError."""
    kink = example.spec.kink
    assert kink is not None
    operands = [Variable(x.data.copy()) for x in example.operands if isinstance(x, Variable)]
    if isinstance(kink, SingularKink) and not kink.cofactor and kink.gradient is None:
        _check_singular_refused(example, operands)
        return
    y = example.fn(*operands)
    gy = np.random.default_rng(0).uniform(-1.5, 1.5, size=y.shape).astype(y.dtype)
    y.grad = Variable(gy)
    if isinstance(kink, SpectralKink) and kink.gradient is None:
        _check_refused(example, kink, y, operands[0])
        return
    formula = isinstance(kink, SingularKink) and kink.gradient is not None
    # NOTE: a declared formula (pinv's) rounds in the operand's dtype as its terms do
    terms = _internal_terms(y, operands, gy.astype(np.float64)) if formula else []
    y.backward()
    if isinstance(kink, (SpectralKink, SingularKink)) and kink.gradient is not None:
        # NOTE: in the operand's dtype, whose ULPs tell which values tie
        expected = [kink.gradient(operands[0].data, example.params, gy.astype(np.float64))]
        if formula:
            a = operands[0]
            got = np.zeros(a.shape) if a.grad is None else a.grad.data.astype(np.float64)
            want = expected[0]
            allowed = ROUNDING_MULTIPLE * _rounding(a.dtype, terms[0]) + _rounding(a.dtype, want)
            assert np.all(np.abs(got - want) <= allowed), (
                f"{example}: on its kink {kink.where}, the analytic gradient {got!r} breaks "
                f"{kink.convention}, {want!r}, by more than {ROUNDING_MULTIPLE:g} rounding "
                "errors of its terms"
            )
            return
    else:
        expected = _convention(
            kink,
            [x.data.astype(np.float64) for x in operands],
            example.params,
            y.data.astype(np.float64),
            gy.astype(np.float64),
        )
    # NOTE: the op and the declaration read a tied run's space from LAPACK's vectors, each
    # rounded by the gaps between runs (seed 27: 8.9 eps apart where that conditioning is 12)
    conditioning = (
        kink.conditioning(operands[0].data, example.params, ties=False)
        if isinstance(kink, SpectralKink)
        else 1.0
    )
    for i, (x, gx) in enumerate(zip(operands, expected, strict=True)):
        actual = np.zeros(x.shape, x.dtype) if x.grad is None else x.grad.data
        message = f"{example}: on its kink {kink.where}, the analytic gradient of operand {i}"
        _assert_within_rounding(
            actual, gx.astype(x.dtype), f"{message} breaks {kink.convention}", conditioning
        )


def _check_refused(example: Example, kink: SpectralKink, y: Variable, x: Variable) -> None:
    """The reverse pass of a call on a degenerate spectrum raises a ValueError naming it
    (where the spectrum is degenerate: a 1x1 matrix has no two values to tie)."""
    try:
        y.backward()
    except ValueError as error:
        if "does not exist at" not in str(error):
            raise AssertionError(f"{example}: refused {kink.where} unclearly: {error}") from None
        return
    if kink.is_degenerate(x.data, example.params):
        raise AssertionError(
            f"{example}: on its kink {kink.where}, a gradient was returned; the op declares "
            f"{kink.convention}"
        )


def _check_singular_refused(example: Example, operands: list[Variable]) -> None:
    """The call of ``example`` on its singular matrix, or its gradient, raises a LinAlgError
    naming the singular matrix (or one not positive definite). NumPy's warnings are off: a
    probe around the op (``qr_probe``'s scale, at a zero matrix) may meet a kink of its own
    before the op's rule refuses, which it still must."""
    try:
        with np.errstate(all="ignore"):
            y = example.fn(*operands)
            y.grad = Variable(np.ones(y.shape, y.dtype))
            y.backward()
    except np.linalg.LinAlgError as error:
        if "singular" not in str(error) and "positive definite" not in str(error):
            raise AssertionError(f"{example}: refused without naming why: {error}") from None
        return
    raise AssertionError(
        f"{example}: a singular matrix gave {y.data!r} and a gradient, neither refused"
    )


def verify_kink(
    spec: OpSpec,
    *,
    dtype: np.dtype[Any] | None = None,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
) -> int:
    """Check ``spec``'s kink convention on calls drawn exactly on its kink (none if it has no
    kink) and return how many were checked; raises on the first (shrunk) failing one."""
    if spec.kink is None:
        return 0
    checked = 0

    @hypothesis.given(kink_examples(spec, dtype))
    def run(example: Example) -> None:
        nonlocal checked
        check_kink_example(example)
        checked += 1

    _run(run, _thinned(spec, settings), seed, ("kink", spec.name, str(dtype)))
    return checked


# Forward mode: every op's jvp rule against its vjp (exactly) and against the oracle.

ADJOINT_ULPS = 16.0
"""How far ``<u, J v>`` (from the jvp) and ``<Jᵀ u, v>`` (from the vjp) may differ, in rounding
errors of the op's dtype times the magnitude of their terms (see :func:`check_adjoint`)."""


def _differentiated(example: Example) -> tuple[list[int], Callable[..., Variable]]:
    """Which operands of ``example`` are Variables, and the op as a function of them alone."""
    where = [i for i, x in enumerate(example.operands) if isinstance(x, Variable)]

    # NOTE: its float64 passes see a Python float constant as its float32 pass does
    operands = as_computed(example.operands)

    def fn(*xs: Operand) -> Variable:
        args = list(operands)
        for i, x in zip(where, xs, strict=True):
            args[i] = x
        return example.fn(*args)

    return where, fn


def _variable_data(example: Example) -> list[Array]:
    return [x.data for x in example.operands if isinstance(x, Variable)]


def _coarsest(example: Example, dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The least precise of ``dtype`` and the floating operands' dtypes: a float32 operand's
    gradient is rounded to float32 beside float64 ones (``where``, ``linear``), and a float32
    constant's arithmetic is float32."""
    dtypes = [np.asarray(_raw(x)).dtype for x in example.operands]
    floating = [d for d in dtypes if d.kind == "f"]
    return max([np.dtype(dtype), *floating], key=lambda d: float(np.finfo(d).eps))


def _tangent_scale(point: Array) -> Float64Array:
    """How long a tangent may be at each element: the oracle's first step over its unit, so
    that its steps along the tangent go no farther than its own (within 1/8 of an element,
    and within the reach the strategies keep kinks out of)."""
    return _scale_of(point.dtype.str, point.shape, point.tobytes())


@functools.lru_cache(maxsize=64)
def _scale_of(dtype: str, shape: Shape, data: bytes) -> Float64Array:
    """:func:`_tangent_scale` of the point of these bytes, computed once for the several
    directions an example's forward checks draw at it; read-only."""
    point = np.frombuffer(data, dtype).reshape(shape)
    unit = float(np.cbrt(np.finfo(np.float64).eps))
    scale: Float64Array = first_steps(point, unit) / unit
    if isinstance(scale, np.ndarray):  # NOTE: a 0-d point's is a NumPy scalar, immutable
        scale.flags.writeable = False
    return scale


def _exact_directions(points: Sequence[Array], seed: int) -> list[Array]:
    """Random tangents for the oracle: a random sign times the power of two at or below each
    element's :func:`_tangent_scale`. The oracle's step in ``s`` has fewer than 36 significant
    bits and moves each element by a multiple of its ULP, so the moved points ``x + s v`` are exact
    (unless a step crosses up into the next binade, or lands far above a tiny element): their
    rounding, which no error bound of the oracle's counts, does not blur the derivative."""
    rng = np.random.default_rng(seed)
    tangents = []
    for p in points:
        scale = _tangent_scale(p)
        # NOTE: 0 where 1/8 of a subnormal element underflows: that element stays put
        with np.errstate(divide="ignore"):
            power = np.where(scale > 0, np.exp2(np.floor(np.log2(scale))), 0.0)
        tangents.append((rng.choice([-1.0, 1.0], p.shape) * power).astype(p.dtype))
    return tangents


def _directions(points: Sequence[Array], seed: int) -> list[Array]:
    """Random tangents, each element of its point's dtype and up to its
    :func:`_tangent_scale` (so that steps along it stay as far from kinks as the strategies
    keep)."""
    rng = np.random.default_rng(seed)
    return [
        (
            rng.choice([-1.0, 1.0], p.shape) * rng.uniform(0.5, 1.0, p.shape) * _tangent_scale(p)
        ).astype(p.dtype)
        for p in points
    ]


def _inner(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """``sum(a * b)`` with the products in float64 (exact for float32 factors) summed exactly."""
    products = np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)
    return math.fsum(products.ravel().tolist())


def _blocks(
    jacobians: Sequence[Any], shape: Shape, points: Sequence[Float64Array]
) -> list[Float64Array]:
    """Jacobian blocks shaped ``shape + input shape`` (``jacobian`` of an empty input may
    return them flattened)."""
    return [
        np.asarray(j, dtype=np.float64).reshape(shape + p.shape)
        for j, p in zip(jacobians, points, strict=True)
    ]


def _along(scales: Sequence[Float64Array], vs: Sequence[npt.ArrayLike]) -> float:
    """The largest ``|v_k| / scale_k`` of the tangents ``vs`` (:func:`variation_scale`):
    what a relative rounding error of a value becomes in a derivative along them, for a
    function that varies on the scale of its input."""
    return max(
        (
            float(np.max(np.abs(np.asarray(v)) / scale, initial=0.0))
            for scale, v in zip(scales, vs, strict=True)
        ),
        default=0.0,
    )


def _magnitudes(
    jacobians: Sequence[Float64Array], vs: Sequence[npt.ArrayLike], shape: Shape
) -> Float64Array:
    """``|J| |v|``: for each output element, the magnitude of the terms it sums, from the
    Jacobian blocks (one per input, shaped ``output + input``) and the tangents."""
    terms: Float64Array = np.zeros(shape)
    for jac, v in zip(jacobians, vs, strict=True):
        magnitude = np.abs(np.asarray(v, dtype=np.float64))
        terms = terms + np.tensordot(np.abs(jac), magnitude, axes=magnitude.ndim)
    return terms


@dataclass(frozen=True)
class _Linearization:
    """An example's op at its Variable operands, in float64: the output and each operand's
    full Jacobian (from the forward rule), for the magnitude of the terms of ``J v``."""

    fn: Callable[..., Variable]
    points: list[Float64Array]
    output: Float64Array
    jacobians: list[Float64Array]
    scales: list[Float64Array]
    """Each point's :func:`variation_scale`."""
    variables: list[Variable]
    recorded: Variable
    """The op's output at ``variables`` (the points), with its graph, whose rules may declare
    the terms their jvp sums."""

    @staticmethod
    def of(example: Example) -> _Linearization:
        fn = _differentiated(example)[1]
        points = [p.astype(np.float64) for p in _variable_data(example)]
        variables = [Variable(p) for p in points]
        recorded = fn(*variables)
        output = np.asarray(recorded.data, dtype=np.float64)
        jacobians = jacobian(fn, tuple(range(len(points))), mode="fwd")(*points)
        blocks = _blocks(jacobians, output.shape, points)
        scales = [variation_scale(p, example.spec.homogeneous) for p in points]
        return _Linearization(fn, points, output, blocks, scales, variables, recorded)

    def terms(self, vs: Sequence[Array]) -> Float64Array:
        """The magnitude of the terms of each element of ``J v``: the larger of ``|J| |v|``
        (what it sums) and its own output's magnitude times the largest ``|v_k| / max(s_k,
        1)`` (the rounding of the value a rule reads, along ``v``): each element on its own
        scale, as :func:`tinygrad_ref.check_gradients` judges a gradient's; and the terms the
        rules of its graph declare (:func:`_declared_tangent_terms`), where the rounding of a
        factorization reaches elements whose own terms are small."""
        finest = _magnitudes(self.jacobians, vs, self.output.shape)
        terms: Float64Array = np.maximum(finest, np.abs(self.output) * _along(self.scales, vs))
        declared = _declared_tangent_terms(self.recorded, self.variables, vs)
        return terms if declared is None else np.maximum(terms, declared)


def check_adjoint(example: Example, seed: int = 0, linear: _Linearization | None = None) -> float:
    """Check ``<u, J v> = <Jᵀ u, v>`` between the op's jvp and vjp rules, on random tangents
    ``v`` and cotangents ``u``, in the example's own dtypes. Returns the difference in rounding
    errors of the terms; raises ``GradcheckError`` beyond :data:`ADJOINT_ULPS`.

    Both sides are the same sum of products ``u_i J_ij v_j`` in exact arithmetic. The inner
    products are taken exactly (:func:`_inner`), so the difference comes from the rules alone:
    each element of ``J v`` and of ``Jᵀ u`` is within a few rounding errors of the terms it is
    computed from (8 ULP for a derivative, the accuracy bound of ``verify --accuracy``, one
    more for the product with the tangent). With ``T_i`` the magnitude of the terms of
    ``(J v)_i`` (:meth:`_Linearization.terms`), ``|<u, J v> - <Jᵀ u, v>| <= ADJOINT_ULPS * eps *
    2 <|u|, T>``: both sides' bound, with twice to spare; eps of the coarsest dtype."""
    linear = _Linearization.of(example) if linear is None else linear
    fn = linear.fn
    points = _variable_data(example)
    vs = _directions(points, seed)
    y, ty = jvp(fn, points, vs)
    u = np.random.default_rng(seed + 1).standard_normal(np.shape(y)).astype(y.dtype)
    gs = vjp(fn, *points)[1](u)
    forward = _inner(u, ty)
    reverse = math.fsum(_inner(g, v) for g, v in zip(gs, vs, strict=True))
    terms = 2 * _inner(np.abs(u), linear.terms(vs))
    info = np.finfo(_coarsest(example, y.dtype))
    eps = float(info.eps)
    ulps = abs(forward - reverse) / (eps * max(terms, float(info.smallest_normal)))
    if not ulps <= ADJOINT_ULPS:
        check = (
            "from tinygrad_ref.verification.strategies import Example, check_adjoint\n"
            f"check_adjoint(Example(spec, operands, params, infix={example.infix}), seed={seed})"
        )
        raise GradcheckError(
            f"{example}: its jvp and vjp disagree: <u, J v> = {forward!r} but <Jᵀ u, v> = "
            f"{reverse!r}, {ulps:.3g} rounding errors of the terms ({terms:.3g}), "
            f"more than {ADJOINT_ULPS:g}\nReproduce with:\n{example.reproducer(check)}"
        )
    return ulps


def _noise_floor(example: Example, outputs: npt.ArrayLike) -> float:
    """The least magnitude of the terms the oracle's evaluations of ``outputs`` are computed
    from: for a decomposition (a :class:`SpectralKink`), the largest output times its
    conditioning, as LAPACK's vectors carry ``n eps max|s| / gap``; for an op of matrices
    (a :class:`SingularKink` declared ``normwise``), the largest output times the largest
    condition number, as LAPACK's results are accurate normwise, not element by element
    (NumPy's pinv of ``[[3, 1e-140], [1e-140, 2]]`` has the wrong sign off the diagonal);
    else 0."""
    degeneracy = _degeneracy(example)
    largest = float(np.max(np.abs(outputs), initial=0.0))
    return 0.0 if degeneracy is None else degeneracy.conditioning * largest


def _degeneracy(example: Example) -> Degeneracy | None:
    """How the op's results round and how far its operand is from a degenerate matrix (see
    :func:`_noise_floor`), or ``None`` for an op not computed from a decomposition."""
    kink = example.spec.kink
    if not isinstance(kink, (SpectralKink, SingularKink)):
        return None
    if isinstance(kink, SingularKink) and not kink.normwise:
        return None
    x = np.asarray(_raw(example.operands[0]), dtype=np.float64)
    if x.size == 0:
        return None
    if isinstance(kink, SpectralKink):
        return Degeneracy(kink.conditioning(x, example.params), kink.distance(x, example.params))
    largest, least = _extreme_values(x, kink)
    return Degeneracy(float(np.max(_ratio(largest, least))), max(0.0, float(np.min(least))))


def check_directional(
    example: Example, seed: int = 0, linear: _Linearization | None = None
) -> GradcheckReport:
    """Check the op's jvp along random tangents against the numerical oracle's derivative
    along them (the complex step on an analytic reference where it bounds its error, else
    Richardson), in float64, by
    the bound :func:`tinygrad_ref.check_gradients` uses: ``|jvp64 - n| <= E + 64 eps T``, with
    ``T`` the magnitude of the terms (:meth:`_Linearization.terms`); the jvp computed on
    recorded Variables against the one on arrays, ``<= 64 eps T``; and the working-dtype jvp
    against the float64 one, ``|jvp - jvp64| <= 64 eps_working T``."""
    linear = _Linearization.of(example) if linear is None else linear
    where, fn = _differentiated(example)
    working = _variable_data(example)
    points = linear.points
    exact = _exact_directions(working, seed)
    vs = [v.astype(np.float64) for v in exact]
    precise = np.asarray(jvp(fn, points, vs)[1], dtype=np.float64)
    if precise.size == 0:
        return EMPTY_REPORT
    terms = linear.terms(vs)
    spec, params = example.spec, example.params
    tangents: list[Array | None] = [None] * len(example.operands)
    inputs: list[Any] = [_raw(x) for x in as_computed(example.operands)]
    for i, point, v in zip(where, points, vs, strict=True):
        inputs[i], tangents[i] = point, v
    rounding = ROUNDING_MULTIPLE * np.asarray(_rounding(np.float64, terms))
    estimate = _complex_directional(spec, params, inputs, tangents) if spec.analytic else None
    if estimate is not None:
        allowed = estimate.error + rounding
        report = _directional_report(example, precise, estimate.value, allowed, "the oracle")
    else:
        floor = _noise_floor(example, linear.output)
        report = _against_oracle(
            example,
            precise,
            lambda noise: numerical_directional(
                example.fn, inputs, tangents, floor=floor, noise=noise
            ),
            rounding,
            "the oracle",
        )
    # NOTE: the rules again on recorded Variables, as reverse over forward runs them, along
    # tangents of random values (powers of two may cancel exactly)
    spread = [v.astype(np.float64) for v in _directions(working, seed)]
    recorded = np.asarray(jvp(fn, [Variable(p) for p in points], spread)[1].data)
    allowed = ROUNDING_MULTIPLE * np.asarray(_rounding(np.float64, linear.terms(spread)))
    plain_spread = np.asarray(jvp(fn, points, spread)[1], dtype=np.float64)
    report = report.merge(
        _directional_report(example, recorded, plain_spread, allowed, "the jvp on arrays")
    )
    if any(p.dtype != np.float64 for p in working):
        plain = np.asarray(jvp(fn, working, exact)[1], dtype=np.float64)
        dtype = _coarsest(example, np.result_type(*working))
        allowed = ROUNDING_MULTIPLE * np.asarray(_rounding(dtype, terms))
        report = report.merge(
            _directional_report(example, plain, precise, allowed, f"the float64 jvp ({dtype})")
        )
    return report


def _complex_directional(
    spec: OpSpec, params: Params, inputs: Sequence[Any], tangents: Sequence[Array | None]
) -> Estimate | None:
    """The complex step's derivative of the op's reference along ``tangents``, or ``None``
    where its imaginary parts would underflow (Richardson decides there)."""
    try:
        return numerical_directional(
            lambda *xs: spec.reference(*xs, **params), inputs, tangents, method="complex"
        )
    except ComplexStepUnderflowError:
        return None


def _against_oracle(
    example: Example,
    actual: Float64Array,
    estimate: Callable[[bool], Estimate],
    rounding: Float64Array,
    what: str,
) -> GradcheckReport:
    """``actual`` against the Richardson oracle's ``estimate`` (:func:`_directional_report`,
    allowed its error bound plus ``rounding``), first without the oracle measuring the noise of
    the function (each evaluation then carries its rounding alone), and only where that fails
    with the noise measured, which decides: a function noisy beyond its rounding only widens
    its bound, and one that is not gives the same estimate either way, so the verdict measures
    the noise only where it can change."""
    try:
        quick = estimate(False)
        return _directional_report(example, actual, quick.value, quick.error + rounding, what)
    except GradcheckError:
        measured = estimate(True)
        return _directional_report(example, actual, measured.value, measured.error + rounding, what)


def _directional_report(
    example: Example, actual: Float64Array, expected: Float64Array, allowed: Any, what: str
) -> GradcheckReport:
    """Each output element of a jvp against ``expected`` within its own ``allowed`` error;
    raises ``GradcheckError`` naming the forward check and the element that failed worst."""
    error = np.abs(actual - expected)
    allowed = np.asarray(allowed, dtype=np.float64)
    if allowed.shape != error.shape:
        allowed = np.broadcast_to(allowed, error.shape)
    with np.errstate(all="ignore"):
        margins = np.where(error == 0, 0.0, error / allowed)
    margins = np.where(np.isnan(margins), np.inf, margins)
    margin = float(margins.max(initial=0.0))
    if not margin <= 1:
        k = tuple(int(i) for i in np.unravel_index(int(np.argmax(margins)), margins.shape))
        a, e = float(actual[k]), float(expected[k])
        mismatch = Mismatch(
            f"output index {k}",
            "forward",
            a,
            e,
            float(allowed[k]),
            f"the jvp along random tangents is {a!r}, {what} gives {e!r}, |difference| "
            f"{abs(a - e):.3g} (relative {abs(a - e) / max(abs(a), abs(e)):.3g}) > allowed "
            f"error {float(allowed[k]):.3g}",
            None,
            k,
        )
        raise GradcheckError(f"{example}: {mismatch}")
    return GradcheckReport(float(error.max(initial=0.0)), 0.0, None, margin, "directional")


def _summed_terms(
    phi: Callable[..., Variable], points: Sequence[Float64Array], vs: Sequence[Float64Array]
) -> list[Float64Array]:
    """The terms the second-order pass sums, ``<v, H .>`` by element, for each ``v`` of ``vs``:
    the reverse pass over the recorded gradient of ``phi`` (recorded once), run on ``|v|`` with
    each rule's contributions taken as magnitudes (:func:`_internal_terms`), flattened.
    ``<|u|, M_v>`` is then the magnitude of the terms of ``<v, H u>`` by either pass: std's
    Hessian near a slice of equal elements is a difference of terms of size ``1 / std`` however
    small it is."""
    variables = [Variable(p) for p in points]
    with using_config("enable_backprop", True):
        y = phi(*variables)
        y.backward(create_graph=True)
    parts = [
        reshape(x.grad, (-1,)) if x.grad is not None else Variable(np.zeros(x.size))
        for x in variables
    ]
    g = concatenate(parts) if len(parts) > 1 else parts[0]
    return [
        np.concatenate([np.ravel(t) for t in _internal_terms(g, variables, np.abs(v))]) for v in vs
    ]


class HessianCheck(NamedTuple):
    """What :func:`check_hessian` measured."""

    ulps: float
    """The symmetry's difference in rounding errors of its terms."""
    oracle: GradcheckReport
    """``H a`` against the oracle; the elements of the gradient computed on subnormal numbers
    are not judged but named among its ``unresolved``."""


def check_hessian(
    example: Example, seed: int = 0, linear: _Linearization | None = None
) -> HessianCheck:
    """Check forward over reverse on the op: for ``phi = sum(w * op(*xs))``, the Hessian is
    symmetric, ``<b, H a> = <a, H b>`` with ``H a`` from ``jvp(grad(phi))`` (to ``64 eps`` of
    the terms' magnitude, ``<|b|, T_a> + <|a|, T_b>``; ``T_a``, each element's terms: the
    larger of ``(|H| |a|)_i`` from the whole Hessian by forward mode, and the weighted values
    the element moves over its scale, along ``a``), ``H a`` and ``H b`` come out the same from
    one batched pass (to that bound), and each element of ``H a`` equals the oracle's
    derivative of ``grad(phi)`` along ``a`` (by the bound of :func:`check_directional`, on its
    own terms).
    Returns the symmetry's difference and the oracle's report (:class:`HessianCheck`)."""
    linear = _Linearization.of(example) if linear is None else linear
    fn, points = linear.fn, linear.points
    w = np.random.default_rng(seed + 3).standard_normal(linear.output.shape)
    argnums = tuple(range(len(points)))

    def phi(*xs: Operand) -> Variable:
        return (fn(*xs) * w).sum()

    gradient = grad(phi, argnums)

    def flat_gradient(*xs: Operand) -> Variable:
        return concatenate([reshape(g, (-1,)) for g in gradient(*xs)])

    a = [v.astype(np.float64) for v in _exact_directions(points, seed)]
    b = [v.astype(np.float64) for v in _directions(points, seed + 2)]
    ha = [np.asarray(h, dtype=np.float64) for h in jvp(gradient, points, a)[1]]
    hb = [np.asarray(h, dtype=np.float64) for h in jvp(gradient, points, b)[1]]
    size = sum(p.size for p in points)
    hessian = _blocks(jacobian(flat_gradient, argnums, mode="fwd")(*points), (size,), points)
    # NOTE: a second derivative reads the values of the outputs its element moves
    read = np.concatenate(
        [
            np.tensordot(np.abs(w * linear.output), j != 0, axes=linear.output.ndim).ravel()
            / scale.ravel()
            for j, scale in zip(linear.jacobians, linear.scales, strict=True)
        ]
    )
    terms_a = np.maximum(_magnitudes(hessian, a, (size,)), read * _along(linear.scales, a))
    terms_b = np.maximum(_magnitudes(hessian, b, (size,)), read * _along(linear.scales, b))
    # NOTE: both directions again as one batch, through the rules the reverse pass runs
    both = jvp(gradient, points, [np.stack(ab) for ab in zip(a, b, strict=True)], batched=True)[1]
    offsets = np.cumsum([0] + [p.size for p in points])
    # NOTE: and the terms the pass sums, where they cancel (svd's 1 / s near a small s)
    flat_a = np.concatenate([np.ravel(ak) for ak in a])
    flat_b = np.concatenate([np.ravel(bk) for bk in b])
    summed_a, summed_b = (
        np.maximum(terms, summed)
        for terms, summed in zip(
            (terms_a, terms_b), _summed_terms(phi, points, [flat_a, flat_b]), strict=True
        )
    )
    for k, h in enumerate(both):
        part = slice(int(offsets[k]), int(offsets[k + 1]))
        for row, (expected, bound) in enumerate(((ha[k], summed_a[part]), (hb[k], summed_b[part]))):
            allowed = SECOND_ORDER_ROUNDING_MULTIPLE * _rounding(np.float64, bound)
            what = f"H v for v its row {row} alone (operand {k})"
            _directional_report(
                example, np.asarray(h)[row], expected, allowed.reshape(expected.shape), what
            )
    one = math.fsum(_inner(bk, hk) for bk, hk in zip(b, ha, strict=True))
    other = math.fsum(_inner(ak, hk) for ak, hk in zip(a, hb, strict=True))
    terms = _inner(np.abs(flat_b), summed_a) + _inner(np.abs(flat_a), summed_b)
    eps = float(np.finfo(np.float64).eps)
    ulps = abs(one - other) / (eps * max(terms, float(np.finfo(np.float64).smallest_normal)))
    if not ulps <= SECOND_ORDER_ROUNDING_MULTIPLE:
        raise GradcheckError(
            f"{example}: its Hessian (forward over reverse) is not symmetric: <b, H a> = "
            f"{one!r} but <a, H b> = {other!r}, {ulps:.3g} rounding errors of the terms "
            f"({terms:.3g})"
        )
    actual = np.concatenate([np.ravel(h) for h in ha])
    report = EMPTY_REPORT
    if actual.size:

        def plain_gradient(*xs: Variable) -> Variable:
            # NOTE: the gradient's values only, from one plain reverse pass on fresh leaves (the
            # numbers `gradient` gives, without a transform's stand-ins): no graph of it
            leaves = [Variable(x.data) for x in xs]
            _call(phi, leaves).backward()
            return Variable(np.concatenate(_flat_gradients(leaves)))

        values = np.asarray(plain_gradient(*map(Variable, points)).data, dtype=np.float64)
        # NOTE: a gradient computed on subnormal numbers rounds to their spacing at each step
        # (solve's, at a right-hand side of 1e-312, was up to 416 of them off through LAPACK,
        # the oracle's derivative of it 1.1e-11 off): the oracle's bound, a few roundings of
        # each output, does not hold there, and those elements are reported, not judged
        subnormal = (values != 0) & (np.abs(values) < np.finfo(np.float64).smallest_normal)
        rounding = SECOND_ORDER_ROUNDING_MULTIPLE * _rounding(np.float64, terms_a)
        report = _against_oracle(
            example,
            actual,
            lambda noise: numerical_directional(
                plain_gradient, points, a, floor=_noise_floor(example, values), noise=noise
            ),
            np.where(subnormal, np.inf, rounding),
            "the oracle's derivative of grad",
        )
        flagged = [
            Flagged(f"element {int(k)} of grad", SUBNORMAL) for k in np.flatnonzero(subnormal)
        ]
        report = replace(
            report, unresolved=tuple(flagged[:MAX_MISMATCHES]), unresolved_count=len(flagged)
        )
    return HessianCheck(ulps, report)


def batch_sizes(example: Example, output: Shape, seed: int = 0) -> tuple[int, int]:
    """Two sizes of a batch of tangents for ``example``, whose op gives an ``output`` of that
    shape: the smallest above 1 that is none of the data dimensions (the operands' and the
    output's), so that a batch axis taken for a data axis changes a shape, and one of them
    (drawn, above 1 where there is one), where it would change only values."""
    dims = {n for x in example.operands for n in np.shape(_raw(x))} | set(output)
    other = next(b for b in range(2, len(dims) + 3) if b not in dims)
    candidates = sorted(n for n in dims if n > 1) or [1]
    return other, int(np.random.default_rng(seed).choice(candidates))


def batched_directions(points: Sequence[Array], batch: int, seed: int) -> list[Array]:
    """A batch of ``batch`` random tangents for each of ``points``, along a leading axis: the
    :func:`_directions` of seeds ``seed``, ``seed + 1``, ..."""
    return _stacked(points, [_directions(points, seed + b) for b in range(batch)])


def _stacked(points: Sequence[Array], rows: Sequence[list[Array]]) -> list[Array]:
    """The tangents ``rows`` (one list per tangent, an array per point) as a batch."""
    return [
        np.stack([row[k] for row in rows]).reshape(len(rows), *p.shape)
        for k, p in enumerate(points)
    ]


def check_batched(example: Example, seed: int = 0, linear: _Linearization | None = None) -> float:
    """Check the op's jvp on a batch of tangents against one jvp per tangent of the batch, for
    both :func:`batch_sizes`, on arrays and on recorded Variables, in the example's dtypes:
    every batched tangent has the shape ``(B,) + y.shape`` and ``y``'s dtype, and each of its
    rows is the tangent of its own direction to within the bound of :func:`check_directional`
    (``64 eps`` of the terms; where the arithmetic is the same, they are equal). Returns the
    worst error over its bound."""
    linear = _Linearization.of(example) if linear is None else linear
    fn = linear.fn
    points = _variable_data(example)
    sizes = batch_sizes(example, linear.output.shape, seed)
    directions = [_directions(points, seed + b) for b in range(max(sizes))]
    singles = [np.asarray(jvp(fn, points, vs)[1]) for vs in directions]
    dtype = _coarsest(example, np.result_type(*singles))
    bounds = [ROUNDING_MULTIPLE * _rounding(dtype, linear.terms(vs)) for vs in directions]
    margin = 0.0
    for batch in sizes:
        # NOTE: the rows of batched_directions(points, batch, seed), drawn once for both sizes
        stacked = _stacked(points, directions[:batch])
        for recorded in (False, True):
            primals = [Variable(p) for p in points] if recorded else points
            value, tangent = jvp(fn, primals, stacked, batched=True)
            value, tangent = (np.asarray(_raw(t)) for t in (value, tangent))
            how = f"a batch of {batch} tangents{' on recorded Variables' if recorded else ''}"
            if tangent.shape != (batch, *value.shape) or tangent.dtype != value.dtype:
                raise GradcheckError(
                    f"{example}: jvp of {how} gives a tangent of shape {tangent.shape} and dtype "
                    f"{tangent.dtype}, not {(batch, *value.shape)} and {value.dtype}"
                )
            for b in range(batch):
                actual, expected = tangent[b].astype(np.float64), singles[b].astype(np.float64)
                report = _directional_report(
                    example, actual, expected, bounds[b], f"the jvp of its row {b} alone ({how})"
                )
                margin = max(margin, report.margin)
    return margin


def check_forward_example(example: Example, stats: ForwardStats | None = None) -> None:
    """The forward-mode checks of one example: :func:`check_adjoint`,
    :func:`check_directional`, :func:`check_batched`, and :func:`check_hessian` if the spec
    declares second derivatives."""
    stats = ForwardStats() if stats is None else stats
    check_forward(example)
    stats.examples += 1
    linear = _Linearization.of(example)
    stats.adjoint_ulps = max(stats.adjoint_ulps, check_adjoint(example, linear=linear))
    stats.directional = stats.directional.merge(check_directional(example, linear=linear))
    stats.batched_margin = max(stats.batched_margin, check_batched(example, linear=linear))
    if example.spec.second_order:
        hessian = check_hessian(example, linear=linear)
        stats.symmetry_ulps = max(stats.symmetry_ulps, hessian.ulps)
        # NOTE: its elements not judged; its margins are the second order's, not the jvp's
        unjudged = hessian.oracle.unresolved, hessian.oracle.unresolved_count
        stats.directional = stats.directional.merge(
            replace(EMPTY_REPORT, unresolved=unjudged[0], unresolved_count=unjudged[1])
        )


@dataclass
class ForwardStats:
    """What a forward-mode verification run measured for one op."""

    examples: int = 0
    adjoint_ulps: float = 0.0
    """The worst ``|<u, J v> - <Jᵀ u, v>|``, in rounding errors of the terms."""
    directional: GradcheckReport = field(default_factory=lambda: EMPTY_REPORT)
    symmetry_ulps: float = 0.0
    """The worst asymmetry of the Hessian, in rounding errors of the terms."""
    batched_margin: float = 0.0
    """The worst difference between a row of a batched jvp and the jvp of its tangent alone,
    over its bound (at most 1)."""


def verify_forward(
    spec: OpSpec,
    *,
    dtype: np.dtype[Any] | None = None,
    settings: hypothesis.settings | None = None,
    seed: int | None = None,
    stats: ForwardStats | None = None,
) -> ForwardStats:
    """Fuzz one op's jvp rule (:func:`check_forward_example`) with Hypothesis; raises on the
    first (shrunk) failing example."""
    stats = ForwardStats() if stats is None else stats
    failed = False

    @hypothesis.given(examples(spec, dtype))
    def run(example: Example) -> None:
        nonlocal failed
        if failed:  # NOTE: Hypothesis shrinking the failure: not counted
            check_forward_example(example)
            return
        try:
            check_forward_example(example, stats)
        except BaseException:
            failed = True
            raise

    _run(run, _thinned(spec, settings), seed, ("forward", spec.name, str(dtype)))
    return stats
