"""How an op describes itself to the verification: its domains, how to draw a call (a
:class:`Case`), and its :class:`OpSpec`. Each op module declares the specs of its Functions
beside them; :mod:`tinygrad_ref.registry` collects them. This module imports no op."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Function, Variable

Shape = tuple[int, ...]
Role = Literal["any", "constant", "variable"]
"""What an operand may be: anything, only a constant (not a Variable), or only a Variable."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Domain:
    """The values of one operand on which an op's derivative exists and central differences
    are well conditioned: ``low <= x <= high`` and ``|x| >= min_abs`` (away from a pole at 0),
    integers only if ``integer``."""

    low: float = -10.0
    high: float = 10.0
    min_abs: float = 0.0
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.high or self.min_abs > max(abs(self.low), abs(self.high)):
            raise ValueError(f"empty domain {self}")

    def contains(self, x: Any) -> bool:
        """Whether every value of the array or scalar ``x`` lies in this domain."""
        values = np.asarray(x, dtype=np.float64)
        inside = (self.low <= values) & (values <= self.high) & (np.abs(values) >= self.min_abs)
        if self.integer:
            inside &= values == np.round(values)
        return bool(np.all(inside))


class Sampler(Protocol):
    """The random choices a spec's ``case`` may make; :mod:`tinygrad_ref.verification.strategies`
    implements it with Hypothesis, so that failing cases shrink."""

    def shape(self, min_dims: int = 0, max_dims: int = 3) -> Shape: ...

    def broadcastable_shapes(self, count: int) -> tuple[Shape, ...]: ...

    def integer(self, low: int, high: int) -> int: ...

    def boolean(self) -> bool: ...

    def choice(self, options: Sequence[_T]) -> _T: ...


@dataclass(frozen=True)
class Case:
    """One way to call an op: the shape of each operand, the keyword parameters, and the
    domains of the operands when they differ from the spec's."""

    shapes: tuple[Shape, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    domains: tuple[Domain, ...] | None = None


@dataclass(frozen=True)
class Accuracy:
    """How close an elementwise op's value and first derivatives stay to the exact ones, over
    the whole float range, measured by :mod:`tinygrad_ref.verification.accuracy` against mpmath.

    The references take the mpmath context first, then one ``mpf`` per operand:
    ``exact=lambda mp, x: mp.exp(x)``, so this module needs no mpmath. Write them without
    cancellation (``mp.sech(x) ** 2``, not ``1 - mp.tanh(x) ** 2``): they are the truth."""

    exact: Callable[..., Any]
    """The op's exact value."""
    derivatives: tuple[Callable[..., Any] | None, ...]
    """The exact partial derivative by each operand; ``None`` for a constant operand."""
    domains: tuple[Domain, ...]
    """One per operand: where the op is defined, usually the whole float range (``REALS``).
    Samples whose exact value is not finite are left out."""
    also: tuple[tuple[Domain, ...], ...] = ()
    """Further regions, one domain per operand each: a negative base needs an integer
    exponent."""
    points: tuple[float, ...] = ()
    """Inputs worth checking besides the binades (zeros of the value or derivative, poles),
    each with its neighbouring floats; unary ops only."""
    value_ulps: float = 4.0
    """The largest error of the value, in units in the last place of the exact value."""
    derivative_ulps: float = 8.0
    """The largest error of each first derivative, in ULPs of the exact derivative."""

    @property
    def regions(self) -> tuple[tuple[Domain, ...], ...]:
        return (self.domains, *self.also)


def _elementwise(arity: int) -> Callable[[Sampler], Case]:
    def case(sampler: Sampler) -> Case:
        return Case(sampler.broadcastable_shapes(arity))

    return case


@dataclass(frozen=True)
class OpSpec:
    """Everything the verification needs to know about one differentiable primitive."""

    name: str
    primitive: type[Function]
    """The Function subclass this spec verifies."""
    function: Callable[..., Variable]
    """The public function: ``function(*operands, **case.params)``."""
    reference: Callable[..., Any]
    """The same computation in NumPy, on the raw operands and the same parameters."""
    domains: tuple[Domain, ...]
    """One per operand of ``function``; their number is the op's arity."""
    roles: tuple[Role, ...] | None = None
    """One per operand; ``None`` means any operand may be a Variable or a constant."""
    operators: tuple[str, ...] = ()
    """The Variable methods this op backs, such as ``("__sub__", "__rsub__")``."""
    infix: Callable[..., Any] | None = None
    """The operator or method form, called like ``function``: ``operator.sub`` for ``sub``,
    ``lambda x, shape: x.reshape(shape)`` for ``reshape``."""
    case: Callable[[Sampler], Case] | None = None
    """Draws shapes and parameters; ``None`` means elementwise operands that broadcast."""
    second_order: bool = True
    """Whether second derivatives are checked too."""
    # NOTE: NumPy interop (tinygrad_ref.interop)
    numpy: tuple[Callable[..., Any], ...] = ()
    """The NumPy ufuncs (``np.subtract``), ufunc methods (``np.add.reduce``) and functions
    (``np.sum``) that dispatch to this op when given a Variable; each is called with the
    operands and parameters ``function`` takes, as ``np.subtract(x0, x1)`` for ``sub(x0, x1)``."""
    numpy_reflected: bool = False
    """Whether ``numpy`` takes the operands in reverse order: ``np.power(c, x)`` is
    ``rpow(x, c)``. Such a spelling dispatches to the op that claims it unreflected."""
    numpy_function: Callable[..., Variable | tuple[Variable, ...]] | None = None
    """What ``numpy`` runs, when ``function`` takes its parameters in another order or form than
    NumPy: the same parameters, by the same names, as NumPy takes them (``where(condition, x,
    y)`` for a spec whose function takes the condition last, ``concatenate(xs, axis)`` for one
    that takes ``*xs``, ``split(x, indices_or_sections, axis)`` for one that checks a part)."""
    numpy_result: Callable[..., Variable] | None = None
    """What the property suite checks of what ``numpy`` returns, given that and the parameters
    of ``function`` that NumPy does not take (``split``'s ``part`` of the parts)."""
    analytic: bool = False
    """Whether ``reference`` is analytic in its operands and accepts complex arrays for them,
    so that the complex step (``Im reference(x + i*h) / h``) differentiates it exactly to
    rounding: the oracle ``verify`` then uses for first derivatives."""
    kink: Kink | None = None
    """Where a non-smooth op has no derivative, and its convention there."""
    cost: int = 1
    """How many ordinary examples one example of this op costs to check (a convolution's
    central differences take hundreds of evaluations): a verification run draws ``1 / cost``
    as many examples of it, and at least one."""
    homogeneous: bool = False
    """Whether the op is positively homogeneous in its operands (``f(c x) = c**d f(x)``, as a
    matrix decomposition): it varies on their scale however small, and the checks bound the
    rounding of its derivatives on that scale (see
    :func:`tinygrad_ref.verification.oracle.variation_scale`)."""
    # NOTE: the full-range accuracy block (verification.accuracy); every elementwise op has one.
    accuracy: Accuracy | None = None
    """Where the op is defined and its ULP bounds against an arbitrary-precision reference."""

    @property
    def arity(self) -> int:
        return len(self.domains)

    @property
    def operand_roles(self) -> tuple[Role, ...]:
        anything: Role = "any"
        return self.roles if self.roles is not None else (anything,) * self.arity

    def draw_case(self, sampler: Sampler) -> Case:
        return (self.case or _elementwise(self.arity))(sampler)


ANY = Domain()
NONZERO = Domain(min_abs=0.5)
POSITIVE = Domain(0.5, 10.0)
EXPONENT = Domain(-3.0, 3.0)
BOUNDED = Domain(-5.0, 5.0)
REALS = Domain(-math.inf, math.inf)
"""Every float: the accuracy domain of an op defined everywhere."""
NONNEGATIVE = Domain(0.0, math.inf)


def draw_axis(sampler: Sampler, ndim: int) -> int | tuple[int, ...] | None:
    """``None``, one axis or a tuple of distinct axes, each possibly negative."""
    kind = sampler.choice(["none", "int", "tuple"] if ndim else ["none", "tuple"])
    if kind == "none":
        return None
    if kind == "int":
        return sampler.integer(-ndim, ndim - 1)
    axes = tuple(a - ndim if sampler.boolean() else a for a in range(ndim) if sampler.boolean())
    return axes[::-1] if sampler.boolean() else axes


def emptied(sampler: Sampler, shape: Shape) -> Shape:
    """``shape``, or, one draw in four, with one of its axes of size 0 (an empty operand, which
    every op takes as NumPy does)."""
    if not shape or sampler.integer(0, 3):
        return shape
    axis = sampler.integer(0, len(shape) - 1)
    return (*shape[:axis], 0, *shape[axis + 1 :])


def reduction_case(sampler: Sampler, empty_slices: bool = False) -> Case:
    """One operand of any shape, an ``axis`` (:func:`draw_axis`) and ``keepdims``; one operand
    in four empty: along an axis not reduced (every reduction takes it), or along any axis if
    ``empty_slices`` (for one that takes an empty slice, as ``sum`` and ``prod``: 0 and 1)."""
    shape = sampler.shape()
    axis = draw_axis(sampler, len(shape))
    ndim = len(shape)
    axes = range(ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    kept = [a for a in range(ndim) if a not in {b % ndim for b in axes}]
    if shape and sampler.integer(0, 3) == 0 and (kept or empty_slices):
        emptied_axis = sampler.choice(kept if kept and not empty_slices else range(len(shape)))
        shape = (*shape[:emptied_axis], 0, *shape[emptied_axis + 1 :])
    return Case((shape,), {"axis": axis, "keepdims": sampler.boolean()})


def empty_slices_case(sampler: Sampler) -> Case:
    """:func:`reduction_case` with empty slices: for ``sum`` and ``prod``."""
    return reduction_case(sampler, empty_slices=True)


# Spec builders: one per family of ops, so that a new op is one short line. Each fills in what
# its family shares (the NumPy spelling, the accuracy block, the case, the method form) and
# takes every other field of OpSpec by name.

Exact = Callable[..., Any]
"""An exact value or derivative, for :class:`Accuracy`: ``lambda mp, x: mp.exp(x)``."""


def _ufuncs(reference: Callable[..., Any]) -> tuple[Callable[..., Any], ...]:
    """The NumPy spelling of an op whose reference is a ufunc: that ufunc."""
    return (reference,) if isinstance(reference, np.ufunc) else ()


def unary(
    name: str,
    primitive: type[Function],
    function: Callable[..., Variable],
    reference: Callable[..., Any],
    domain: Domain,
    exact: Exact,
    derivative: Exact,
    *,
    defined: Domain = REALS,
    points: tuple[float, ...] = (),
    numpy: tuple[Callable[..., Any], ...] | None = None,
    analytic: bool = True,
    **fields: Any,
) -> OpSpec:
    """An elementwise op of one operand: its derivative checked on ``domain``, its value
    (``exact``) and derivative (``derivative``) measured against mpmath over ``defined`` and at
    ``points`` (:class:`Accuracy`), reached from ``numpy`` (by default the ``reference`` itself
    if it is a ufunc). ``fields``: the other fields of :class:`OpSpec` and the ULP bounds of
    :class:`Accuracy` (``value_ulps``, ``derivative_ulps``)."""
    bounds = {k: fields.pop(k) for k in ("value_ulps", "derivative_ulps") if k in fields}
    accuracy = Accuracy(exact, (derivative,), (defined,), points=points, **bounds)
    return OpSpec(
        name,
        primitive,
        function,
        reference,
        (domain,),
        numpy=_ufuncs(reference) if numpy is None else numpy,
        analytic=analytic,
        accuracy=accuracy,
        **fields,
    )


def binary(
    name: str,
    primitive: type[Function],
    function: Callable[..., Variable],
    reference: Callable[..., Any],
    domains: tuple[Domain, Domain],
    exact: Exact,
    derivatives: tuple[Exact, Exact],
    *,
    defined: tuple[Domain, Domain] = (REALS, REALS),
    numpy: tuple[Callable[..., Any], ...] | None = None,
    analytic: bool = True,
    **fields: Any,
) -> OpSpec:
    """An elementwise op of two operands that broadcast, as :func:`unary` builds one of one."""
    bounds = {k: fields.pop(k) for k in ("value_ulps", "derivative_ulps") if k in fields}
    return OpSpec(
        name,
        primitive,
        function,
        reference,
        domains,
        numpy=_ufuncs(reference) if numpy is None else numpy,
        analytic=analytic,
        accuracy=Accuracy(exact, derivatives, defined, **bounds),
        **fields,
    )


def with_constant(
    spec: OpSpec, primitive: type[Function], operators: tuple[str, ...] | None = None
) -> OpSpec:
    """``spec``'s binary op as the op of one input that holds its second operand as a
    constant (``x + c`` for ``add``): named ``{spec.name}_constant``, only operand 0 a
    Variable, its accuracy measured by operand 0 alone; ``operators``, if given, the operators
    of ``spec`` it backs (``c - x`` is not ``x - c``)."""
    accuracy = spec.accuracy
    if accuracy is not None:
        accuracy = replace(accuracy, derivatives=(accuracy.derivatives[0], None))
    return replace(
        spec,
        name=f"{spec.name}_constant",
        primitive=primitive,
        roles=("variable", "constant"),
        operators=spec.operators if operators is None else operators,
        accuracy=accuracy,
    )


def reduction(
    name: str,
    primitive: type[Function],
    function: Callable[..., Variable],
    numpy: tuple[Callable[..., Any], ...],
    *,
    reference: Callable[..., Any] | None = None,
    method: bool = True,
    case: Callable[[Sampler], Case] = reduction_case,
    domain: Domain = ANY,
    **fields: Any,
) -> OpSpec:
    """A reduction over ``axis`` with ``keepdims`` (and the parameters ``case`` draws besides):
    NumPy's ``numpy[0]`` is its reference unless ``reference`` is given, and, if ``method``,
    ``x.{name}(axis, ...)`` its method form (unless ``infix`` is given); ``domain``: that of
    its operand."""
    computed = numpy[0] if reference is None else reference

    def via_method(x: Variable, axis: Any, **params: Any) -> Variable:
        result: Variable = getattr(x, name)(axis, **params)
        return result

    fields.setdefault("infix", via_method if method else None)
    return OpSpec(
        name,
        primitive,
        function,
        lambda x, **params: computed(x, **params),
        (domain,),
        case=case,
        numpy=numpy,
        **fields,
    )


# Kinks: where a non-smooth op has no derivative, and the derivative it takes there.

Params = Mapping[str, Any]
"""The keyword parameters of a call (:attr:`Case.params`)."""


@dataclass(frozen=True)
class Kink:
    """A set of operand values on which a non-smooth op has no derivative (``where``), and the
    derivative it takes there instead (``convention``). The strategies keep operands farther
    from the set than the numerical oracle reaches, and draw other calls exactly on it, where
    the gradient is checked against the convention."""

    where: str
    """The set, as a formula: ``"x == 0"``."""
    convention: str
    """The derivative on the set, with whom it agrees: ``"relu'(0) = 0 (PyTorch, DeZero)"``."""


@dataclass(frozen=True)
class PointKink(Kink):
    """The op's one operand at the values ``points(params)``, where its derivative is
    ``slopes(params)`` (one per point): relu at 0, clip at its bounds."""

    points: Callable[[Params], tuple[float, ...]]
    slopes: Callable[[Params], tuple[float, ...]]


@dataclass(frozen=True)
class ZeroKink(PointKink):
    """A reduction (a norm) at the operand's zero elements (``points`` is ``(0.0,)``), where
    its gradient is 0: the strategies keep elements out of the oracle's reach of 0, and draw
    calls on the kink with every element 0, where the gradient must be 0 (PyTorch's norm at
    the zero vector)."""


@dataclass(frozen=True)
class TieKink(Kink):
    """Ties among the elements an op selects from (the output is one of them): operands 0 and
    1 elementwise (``among="operands"``: maximum, minimum) or the elements of operand 0 along
    ``params["axis"]`` (``among="axis"``: max, min). The gradient of an output element is split
    evenly among the elements equal to it."""

    among: Literal["operands", "axis"]


@dataclass(frozen=True)
class MagnitudeTieKink(TieKink):
    """Ties among the magnitudes ``|x|`` of operand 0's elements along ``params["axis"]``,
    and its zero elements, for an op that takes the largest or smallest magnitude, or their
    sum (a norm of order ``inf``, ``-inf`` or 1). The strategies keep each magnitude apart from
    the others' along the axis and from 0, and draw calls on the kink from :data:`TIE_MAGNITUDES`
    of both signs, where the gradient must be ``gradient(x, params, gy)``."""

    gradient: Callable[[Any, Params, npt.NDArray[np.float64]], npt.NDArray[np.float64]]


TIE_MAGNITUDES = (-1.5, 0.0, 0.5, 1.5)
"""The values of an operand drawn to tie in magnitude: few, of both signs."""


@dataclass(frozen=True)
class RangeTieKink(TieKink):
    """Ties at the largest or at the smallest element of operand 0 along ``params["axis"]``,
    for an op that takes their difference (``ptp``): the gradient of an output element is the
    largest's even split among the elements equal to it, less the smallest's."""


@dataclass(frozen=True)
class ArrangementTieKink(TieKink):
    """Ties among the elements of operand 0 along ``params["axis"]`` (all of them, flattened,
    for ``None``), for an op whose output rearranges them (``sort``, ``partition``): each input
    element gets the mean of the gradients of the output elements equal to it."""


@dataclass(frozen=True)
class SpreadKink(Kink):
    """Slices of operand 0 along ``params["axis"]`` whose elements are all equal, where a
    measure of their spread (``std``) has a cone, as ``abs`` at 0. The strategies keep the
    elements of a slice apart as :class:`TieKink` does, and draw calls on it with every element
    of the operand equal, where the gradient is 0."""


@dataclass(frozen=True)
class WindowTieKink(Kink):
    """Ties among the elements of a window whose maximum an op takes (max pooling):
    ``windows(params, shape)`` lists, for each output element in order, the flat indices of
    its window's elements in operand 0 of ``shape`` (-1 for padding, which never wins). The
    whole gradient of an output element goes to the first maximum of its window, in the order
    listed."""

    windows: Callable[[Params, Shape], npt.NDArray[np.intp]]


# Spectra: the eigenvalues or singular values of matrices, whose degeneracies are kinks.

SPECTRUM_ULPS = 16
"""Values of one spectrum (of a matrix of size ``n``) closer than ``SPECTRUM_ULPS * n * eps *
max|s|`` count as equal, and such a value as zero: a decomposition computes its spectrum to a
few ``n * eps * max|s|``, so that a repeated value comes out split by about that much."""

SPECTRUM_GAP = 0.1
"""How far apart the strategies keep the values of a spectrum (and a singular value from 0),
relative to its largest magnitude: the derivatives of the vectors grow as ``1 / gap``."""


def spectrum_floor(dtype: npt.DTypeLike) -> float:
    """The least gap the strategies keep between values of a spectrum (and a singular value
    from 0) in ``dtype``, whatever its scale: the cube root of its smallest normal number. The
    vectors' derivatives grow as ``1 / gap``, second derivatives as ``1 / gap**2``: closer
    spectra (of matrices scaled toward subnormal numbers) leave the float range, and their
    rebuilt elements lose their digits to subnormal rounding."""
    return float(np.cbrt(np.finfo(dtype).smallest_normal))


def _spectrum_tolerance(
    s: npt.NDArray[np.floating[Any]], dtype: npt.DTypeLike | None = None
) -> npt.NDArray[np.floating[Any]]:
    eps = float(np.finfo(s.dtype if dtype is None else dtype).eps)
    largest = np.max(np.abs(s), axis=-1, keepdims=True, initial=0.0)
    tolerance: npt.NDArray[np.floating[Any]] = SPECTRUM_ULPS * s.shape[-1] * eps * largest
    return tolerance


def spectrum_clusters(
    s: npt.NDArray[np.floating[Any]], dtype: npt.DTypeLike | None = None
) -> npt.NDArray[np.floating[Any]] | None:
    """``None`` if no two values of any spectrum ``s`` (the last axis, sorted either way) are
    equal to within :data:`SPECTRUM_ULPS` (the ULPs of ``dtype``, by default ``s``'s); else,
    for each spectrum, the matrix that averages over each run of equal values: ``shares[i,
    j]`` is ``1 / count`` if values ``i`` and ``j`` are equal (``count`` of them), else 0."""
    apart = np.abs(np.diff(s, axis=-1)) > _spectrum_tolerance(s, dtype)
    if np.all(apart):
        return None
    start = np.zeros((*s.shape[:-1], 1), dtype=np.int64)
    labels = np.concatenate([start, np.cumsum(apart, axis=-1)], axis=-1)
    same = labels[..., :, None] == labels[..., None, :]
    shares: npt.NDArray[np.floating[Any]] = same / np.sum(same, axis=-1, keepdims=True)
    return shares.astype(s.dtype)


def spectrum_zeros(
    s: npt.NDArray[np.floating[Any]], dtype: npt.DTypeLike | None = None
) -> npt.NDArray[np.bool_]:
    """Which values of the spectra ``s`` are zero to within :data:`SPECTRUM_ULPS` (of
    ``dtype``, by default ``s``'s)."""
    zeros: npt.NDArray[np.bool_] = np.abs(s) <= _spectrum_tolerance(s, dtype)
    return zeros


def has_zero(s: npt.NDArray[np.floating[Any]], dtype: npt.DTypeLike | None = None) -> bool:
    """Whether a value of a spectrum ``s`` is zero to within :data:`SPECTRUM_ULPS`."""
    return bool(np.any(spectrum_zeros(s, dtype)))


@dataclass(frozen=True)
class SpectralKink(Kink):
    """Stacks of matrices (operand 0, the last two axes) whose spectrum is degenerate: two equal
    values, or, if ``zero``, a zero one (a singular value). ``spectrum(x, params)`` gives each
    matrix's values in ascending order, ``rebuilt(x, params, s)`` the matrices with the spectrum
    ``s`` instead and the same vectors. The strategies keep the values :data:`SPECTRUM_GAP`
    apart (:meth:`spread`); calls drawn on the kink tie values (:meth:`degenerate`), where the
    gradient must be ``gradient(x, params, gy)``, or, if it is ``None``, the op must refuse
    with a ValueError naming the degeneracy."""

    spectrum: Callable[[Any, Params], npt.NDArray[np.float64]]
    rebuilt: Callable[[Any, Params, Any], npt.NDArray[np.float64]]
    zero: bool
    gradient: Callable[[Any, Params, npt.NDArray[np.float64]], npt.NDArray[np.float64]] | None
    """From the operand in its own dtype (whose ULPs tell ties apart) and the output's
    gradient ``gy``."""

    def spread(
        self, x: npt.NDArray[np.float64], params: Params, least: float, dtype: npt.DTypeLike
    ) -> npt.NDArray[np.float64]:
        """``x`` with each spectrum's values at least ``SPECTRUM_GAP * max|s|``, ``least`` and
        :func:`spectrum_floor` (of ``dtype``) apart, and from 0 if ``zero``; ``x`` itself if
        they are half that apart already (so that a spectrum spread once, then rounded,
        stays)."""
        if x.size == 0:
            return x
        s = self.spectrum(x, params)
        least = max(least, spectrum_floor(dtype))
        margin = np.maximum(SPECTRUM_GAP * np.max(np.abs(s), axis=-1, keepdims=True), least)
        gaps = np.diff(s, axis=-1)
        near = np.any(gaps < margin / 2, axis=-1)
        if self.zero:
            near |= s[..., 0] < margin[..., 0] / 2
        if not np.any(near):
            return x
        spread = s.copy()
        if self.zero:
            spread[..., 0] = np.maximum(spread[..., 0], margin[..., 0])
        for k in range(1, s.shape[-1]):
            spread[..., k] = np.maximum(spread[..., k], spread[..., k - 1] + margin[..., 0])
        return self.rebuilt(x, params, spread)

    def degenerate(self, x: npt.NDArray[np.float64], params: Params) -> npt.NDArray[np.float64]:
        """``x`` with the two smallest values of each spectrum tied, or, if ``zero``, the
        smallest of two or more made 0 and the two largest tied (beside it, of three or
        more). A spectrum tied to zeros (as ``[0, 0.5]`` is) becomes ones: the matrix is not 0,
        where a probe's scale has a kink of its own."""
        s = self.spectrum(x, params)
        k = s.shape[-1]
        if self.zero and k >= 2:
            s[..., 0] = 0.0
        if self.zero and k >= 3:
            s[..., -2] = s[..., -1]
        elif not self.zero and k >= 2:
            s[..., 1] = s[..., 0]
        s = np.where(np.max(np.abs(s), axis=-1, keepdims=True) == 0, 1.0, s)
        return self.rebuilt(x, params, s)

    def conditioning(
        self, x: npt.NDArray[np.floating[Any]], params: Params, ties: bool = True
    ) -> float:
        """How many times the rounding of their largest value a decomposition's vectors (and
        what is computed from them) may be off: ``n max|s| / gap``, for the least gap between
        values of a spectrum (and from 0, if ``zero``), the largest over the stack's matrices
        (each is decomposed on its own scale). The oracle's evaluations carry that noise
        besides their own rounding. Without ``ties``, the gaps between values equal to within
        :data:`SPECTRUM_ULPS` (in ``x``'s dtype) do not count: what is computed from a tied
        run's whole space (the kink's convention) rounds with the gaps between runs."""
        spectra = self._gaps(x, params)
        if spectra is None:
            return 1.0
        s, gaps = spectra
        if not ties:
            gaps = np.where(gaps > _spectrum_tolerance(s, x.dtype), gaps, math.inf)
        largest = np.max(np.abs(s), axis=-1)
        least = np.min(gaps, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(least > 0, s.shape[-1] * largest / least, math.inf)
        return max(1.0, float(np.max(ratio)))

    def distance(self, x: npt.NDArray[np.floating[Any]], params: Params) -> float:
        """How far the matrices of ``x`` are from one with a degenerate spectrum, in any one
        element: half the least gap (as above), as a change of an element moves each value by
        at most its size."""
        spectra = self._gaps(x, params)
        return math.inf if spectra is None else float(np.min(spectra[1])) / 2

    def _gaps(
        self, x: npt.NDArray[np.floating[Any]], params: Params
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        """The spectra and their gaps (from 0 too, if ``zero``), or ``None`` if there are no
        gaps."""
        if x.size == 0:
            return None
        s = self.spectrum(x.astype(np.float64), params)
        gaps = np.diff(s, axis=-1)
        if self.zero:
            gaps = np.concatenate([s[..., :1], gaps], axis=-1)
        return None if gaps.shape[-1] == 0 else (s, gaps)

    def is_degenerate(self, x: npt.NDArray[np.floating[Any]], params: Params) -> bool:
        """Whether a matrix of ``x`` (in its own dtype) has a degenerate spectrum."""
        s = self.spectrum(x.astype(np.float64), params)
        return spectrum_clusters(s, x.dtype) is not None or (self.zero and has_zero(s, x.dtype))


@dataclass(frozen=True)
class SingularKink(Kink):
    """Singular (rank-deficient) matrices among operand 0's (a matrix or a stack of them; with
    ``definite``, square ones whose lower triangle, mirrored, is not positive definite). The
    strategies keep each matrix's condition number (2-norm; of the mirrored lower triangle with
    ``definite``) at most ``max_condition``, and draw other calls exactly on the set (a
    rank-deficient matrix, of any shape), where the op either has a gradient, the cofactor
    matrix (``cofactor``, as det) or ``gradient(x, params, gy)`` (a convention, as pinv's), or
    refuses the call or its derivative with a ``LinAlgError`` (a ValueError) naming the
    matrix."""

    max_condition: float = 100.0
    definite: bool = False
    cofactor: bool = False
    gradient: Callable[[Any, Params, npt.NDArray[np.float64]], npt.NDArray[np.float64]] | None = (
        None
    )
    """From the operand in its own dtype and the output's gradient ``gy``."""
    normwise: bool = False
    """The op's LAPACK results are accurate normwise only, not element by element (``qr``,
    ``pinv``): the forward and second-order checks take the largest output times the condition
    number as the least magnitude of the terms of each evaluation."""
