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


def reduction_case(sampler: Sampler) -> Case:
    """One operand of any shape, an ``axis`` (:func:`draw_axis`) and ``keepdims``."""
    shape = sampler.shape()
    return Case((shape,), {"axis": draw_axis(sampler, len(shape)), "keepdims": sampler.boolean()})


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
class TieKink(Kink):
    """Ties among the elements an op selects from (the output is one of them): operands 0 and
    1 elementwise (``among="operands"``: maximum, minimum) or the elements of operand 0 along
    ``params["axis"]`` (``among="axis"``: max, min). The gradient of an output element is split
    evenly among the elements equal to it."""

    among: Literal["operands", "axis"]


@dataclass(frozen=True)
class RangeTieKink(TieKink):
    """Ties at the largest or at the smallest element of operand 0 along ``params["axis"]``,
    for an op that takes their difference (``ptp``): the gradient of an output element is the
    largest's even split among the elements equal to it, less the smallest's."""


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


@dataclass(frozen=True)
class SingularKink(Kink):
    """Singular matrices among operand 0's (a square matrix or a stack of them; with
    ``definite``, those whose lower triangle, mirrored, is not positive definite). The
    strategies keep each matrix's condition number (2-norm; of the mirrored lower triangle with
    ``definite``) at most ``max_condition``, and draw other calls exactly on the set, where the
    op either has a gradient, the cofactor matrix (``cofactor``, as det), or refuses the call
    or its derivative with a ``LinAlgError`` (a ValueError) naming the matrix."""

    max_condition: float = 100.0
    definite: bool = False
    cofactor: bool = False
