"""The verification measures its own power: wrong rules planted in every registered op.

Each :class:`Mutant` turns an op's rule (the ``vjp`` or ``backward`` of its Function) into a
wrong one: the first gradient scaled by ``1 + r``, its sign flipped, the cotangent ignored, two
inputs' gradients swapped, a broadcast reduction dropped, a rule wrong only when
``create_graph=True`` records it or only for float32. Mutants are built from the Function
alone, so every op of the registry, present or future, gets the whole zoo.

:func:`hunt` plants one mutant in one op and fuzzes the op with the verification of
:mod:`tinygrad_ref.testing` (:func:`~tinygrad_ref.testing.check_example`): the mutant is caught
when an example fails. Only the examples on which the mutant changes a gradient count (a swap
changes nothing where the two gradients are equal); a mutant that changes no gradient in any
drawn example does not apply to the op, and is reported with the reason.
:func:`smallest_caught` bisects the scale ``r`` for the smallest relative error the
verification catches in float64.

:data:`FORWARD_MUTANTS` plant wrong forward rules (``jvp``) the same way, hunted with the
forward-mode checks (:func:`~tinygrad_ref.testing.check_forward_example`).
"""

from __future__ import annotations

import math
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

import hypothesis
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity

from tinygrad_ref.config import Config
from tinygrad_ref.core import Function, Variable, _Constant
from tinygrad_ref.ops import reshape, transpose
from tinygrad_ref.ops.shape import SumTo
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import OpSpec
from tinygrad_ref.transforms import jvp
from tinygrad_ref.verification import terminal
from tinygrad_ref.verification.checks import _analytic, _Side
from tinygrad_ref.verification.strategies import (
    Example,
    Kind,
    OpStats,
    _differentiated,
    _directions,
    _variable_data,
    batch_sizes,
    batched_directions,
    check_example,
    check_forward_example,
    examples,
)

Gradients = list[Any]
"""The gradients a rule returns, one per input (arrays, Variables or ``None``, also for the
inputs that are constants)."""


@dataclass(frozen=True)
class Call:
    """One call of the rule being mutated."""

    rule: Callable[[Any], Gradients]
    """The correct rule, as a function of the cotangent."""
    gy: Any
    """The cotangent it was called with: an array, or a Variable when recorded (for a forward
    rule, the input tangents)."""
    variables: bool = False
    """Whether a forward rule was called on Variables (recorded, or forward over forward)."""
    batched: bool = False
    """Whether a forward rule was called on a batch of tangents (a leading axis on each)."""

    @property
    def recorded(self) -> bool:
        """Whether ``create_graph=True`` records this call."""
        return Config.enable_backprop


Mutation = Callable[[Call], Gradients]
"""A wrong rule: the gradients it returns for a call (on some calls, the right ones)."""


def _first(grads: Gradients) -> int | None:
    return next((i for i, g in enumerate(grads) if g is not None), None)


def _values(g: Any) -> Any:
    return g.data if isinstance(g, Variable) else g


def scaled(r: float, when: Callable[[Call, Any], bool] = lambda call, g: True) -> Mutation:
    """The first gradient times ``1 + r``, on the calls where ``when(call, gradient)``."""

    def mutation(call: Call) -> Gradients:
        grads = call.rule(call.gy)
        i = _first(grads)
        if i is not None and when(call, grads[i]):
            grads[i] = grads[i] * (1 + r)
        return grads

    return mutation


def _sign_flipped(call: Call) -> Gradients:
    grads = call.rule(call.gy)
    i = _first(grads)
    if i is not None:
        grads[i] = -grads[i]
    return grads


def _cotangent_ignored(call: Call) -> Gradients:
    """The rule applied to a cotangent of ones: right only when the cotangent is ones."""
    ones = np.ones_like(_values(call.gy))
    return call.rule(Variable(ones) if isinstance(call.gy, Variable) else ones)


def _swapped(call: Call) -> Gradients:
    """The first two gradients of one shape and dtype swapped (another swap fails loudly)."""
    grads = call.rule(call.gy)
    present = [i for i, g in enumerate(grads) if g is not None]
    for n, i in enumerate(present):
        for j in present[n + 1 :]:
            a, b = _values(grads[i]), _values(grads[j])
            if a.shape == b.shape and a.dtype == b.dtype:
                grads[i], grads[j] = grads[j], grads[i]
                return grads
    return grads


def _reduction_dropped(call: Call) -> Gradients:
    """The rule with every :class:`~tinygrad_ref.ops.shape.SumTo` it runs (the reduction of
    ``unbroadcast``) doing nothing: gradients keep the broadcast shape."""
    original = SumTo.forward
    SumTo.forward = lambda self, x: x  # type: ignore[method-assign]  # NOTE: restored below
    try:
        return call.rule(call.gy)
    finally:
        SumTo.forward = original  # type: ignore[method-assign]  # NOTE: the correct one


def _correct(call: Call) -> Gradients:
    return call.rule(call.gy)


def _largest(*arrays: Any) -> float:
    return max((float(np.max(np.abs(a), initial=0.0)) for a in arrays), default=0.0)


ROUNDING = 8
"""A change counts when it exceeds this many units of rounding (eps of the gradient's dtype)
of the largest magnitude among the cotangent and the right gradients: a gradient that is zero
up to rounding (batch norm of a batch of one) is changed by a scale, but not observably."""


def _differ(right: Gradients, wrong: Gradients, gy: Any) -> bool:
    """Whether ``wrong`` differs from ``right`` in a shape, a dtype or beyond rounding in a
    value, for the cotangent ``gy``."""
    present = [_values(r) for r in right if r is not None]
    scale = _largest(_values(gy), *present)
    for r, w in zip(right, wrong, strict=True):
        if r is None or w is None:
            if r is not w:
                return True
            continue
        a, b = _values(r), _values(w)
        if a.shape != b.shape or a.dtype != b.dtype:
            return True
        if _largest(a - b) > ROUNDING * float(np.finfo(a.dtype).eps) * scale:
            return True
    return False


@dataclass
class Hits:
    """What a planted mutant did: how often it was called, how often it changed a gradient."""

    calls: int = 0
    changed: int = 0
    inputs: int = 0
    """The most gradients one call returned."""
    correct: Any = None
    """The correct rule a forward mutant replaced."""
    active: bool = True
    """Whether the planted rule is wrong: while not, it gives the correct rule's gradients."""


@dataclass(frozen=True)
class Mutant:
    """A wrong rule, planted in any op's Function."""

    name: str
    description: str
    mutation: Mutation
    dtype: np.dtype[Any]
    """The dtype of the examples it is hunted with."""
    inapplicable: Callable[[Hits], str] = lambda hits: "it never changes a gradient"
    """Why it does not apply to an op on which it never changed a gradient."""
    inputs: int = 1
    """How many inputs that are not constants a Function needs for the mutant to apply."""
    probes: int = 30
    """Examples drawn, beyond those checked, before a mutant that changed no gradient is
    judged not to apply."""
    rule: Literal["vjp", "jvp"] = "vjp"
    """The rule it is planted in: the reverse one, or the forward one (then ``mutation``
    gets the input tangents as its ``gy`` and returns the output tangents)."""


def _swap_inapplicable(hits: Hits) -> str:
    if hits.inputs < 2:
        return "it has one input"
    return "no two of its inputs' gradients of one shape and dtype differ"


FLOAT64, FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)

MUTANTS: tuple[Mutant, ...] = (
    Mutant("1e-3", "the first gradient scaled by 1 + 1e-3", scaled(1e-3), FLOAT64),
    Mutant("1e-6", "the first gradient scaled by 1 + 1e-6", scaled(1e-6), FLOAT64),
    Mutant("sign", "the first gradient's sign flipped", _sign_flipped, FLOAT64),
    Mutant(
        "cotangent",
        "the cotangent ignored: right only for a cotangent of ones",
        _cotangent_ignored,
        FLOAT64,
    ),
    Mutant("swap", "two inputs' gradients swapped", _swapped, FLOAT64, _swap_inapplicable, 2),
    Mutant(
        "reduction",
        "a broadcast reduction dropped",
        _reduction_dropped,
        FLOAT64,
        lambda hits: "no broadcasting case (its rule sums nothing back)",
        # NOTE: few cases broadcast a batch axis of matmul (and reach its reduction)
        probes=80,
    ),
    Mutant(
        "create_graph",
        "the first gradient 1e-3 off only when create_graph=True records the rule",
        scaled(1e-3, lambda call, g: call.recorded),
        FLOAT64,
    ),
    Mutant(
        "float32",
        "the first gradient 1e-3 off only for float32",
        scaled(1e-3, lambda call, g: _values(g).dtype == FLOAT32),
        FLOAT32,
    ),
)
"""The zoo planted in every op."""


def _tangent_ignored(call: Call) -> Gradients:
    """The forward rule applied to tangents of ones: right only for tangents of ones."""
    ones = [np.ones_like(_values(t)) for t in call.gy]
    return call.rule(
        [Variable(o) if isinstance(t, Variable) else o for o, t in zip(ones, call.gy, strict=True)]
    )


def _tangents_swapped(call: Call) -> Gradients:
    """The forward rule given the first two input tangents of one shape and dtype swapped."""
    tangents = list(call.gy)
    for i in range(len(tangents)):
        for j in range(i + 1, len(tangents)):
            a, b = _values(tangents[i]), _values(tangents[j])
            if a.shape == b.shape and a.dtype == b.dtype:
                tangents[i], tangents[j] = tangents[j], tangents[i]
                return call.rule(tangents)
    return call.rule(tangents)


def _tangent_dropped(call: Call) -> Gradients:
    """The forward rule with the last input's tangent replaced by zeros (its term left out)."""
    tangents = list(call.gy)
    if len(tangents) > 1:
        tangents[-1] = tangents[-1] * 0
    return call.rule(tangents)


def _batch_axis_swapped(call: Call) -> Gradients:
    """On a batch of tangents, each output tangent with its batch axis swapped with its first
    own axis of more than one element and read back in its shape (a pure swap where the two
    have one size), or with the batch reversed where it has no such axis: right for one
    tangent at a time, wrong only on the batch axis."""
    tangents = call.rule(call.gy)
    if not call.batched:
        return tangents
    wrong = []
    for t in tangents:
        axis = next((i for i in range(1, t.ndim) if t.shape[i] > 1), None)
        if axis is None:
            wrong.append(t[::-1])
        elif isinstance(t, Variable):
            order = [0, *range(1, t.ndim)]
            order[0], order[axis] = axis, 0
            wrong.append(reshape(transpose(t, tuple(order)), t.shape))
        else:
            wrong.append(np.swapaxes(t, 0, axis).reshape(t.shape))
    return wrong


FORWARD_MUTANTS: tuple[Mutant, ...] = (
    Mutant("jvp1e-3", "the first tangent scaled by 1 + 1e-3", scaled(1e-3), FLOAT64, rule="jvp"),
    Mutant("jvp1e-6", "the first tangent scaled by 1 + 1e-6", scaled(1e-6), FLOAT64, rule="jvp"),
    Mutant("jvpsign", "the first tangent's sign flipped", _sign_flipped, FLOAT64, rule="jvp"),
    Mutant(
        "jvpones",
        "the input tangents ignored: right only for tangents of ones",
        _tangent_ignored,
        FLOAT64,
        rule="jvp",
    ),
    Mutant(
        "jvpswap",
        "two inputs' tangents swapped",
        _tangents_swapped,
        FLOAT64,
        _swap_inapplicable,
        2,
        rule="jvp",
    ),
    Mutant(
        "jvpdrop",
        "the last input's tangent left out",
        _tangent_dropped,
        FLOAT64,
        _swap_inapplicable,
        2,
        rule="jvp",
    ),
    Mutant(
        "jvpvar",
        "the first tangent 1e-3 off only when the rule runs on Variables (recorded)",
        scaled(1e-3, lambda call, g: call.variables),
        FLOAT64,
        rule="jvp",
    ),
    Mutant(
        "jvpf32",
        "the first tangent 1e-3 off only for float32",
        scaled(1e-3, lambda call, g: _values(g).dtype == FLOAT32),
        FLOAT32,
        rule="jvp",
    ),
    Mutant(
        "jvpbatch",
        "on a batch of tangents, the batch axis and an axis of the output swapped",
        _batch_axis_swapped,
        FLOAT64,
        rule="jvp",
    ),
)
"""The forward rule's zoo, planted in every op too."""

ALL_MUTANTS = MUTANTS + FORWARD_MUTANTS


@contextmanager
def planted_jvp(primitive: type[Function], mutation: Mutation) -> Iterator[Hits]:
    """Within the block, every instance of ``primitive`` uses the wrong forward rule
    ``mutation``; restored on exit."""
    own = primitive.__dict__.get("jvp")
    correct = primitive.jvp
    hits = Hits(correct=correct)

    def wrong(self: Function, *args: Any) -> Any:
        right = correct(self, *args)
        outputs = len(right) if isinstance(right, tuple) else 1
        count = (len(args) - outputs) // 2
        tangents, rest = list(args[:count]), args[count:]

        def rule(given: Any) -> Gradients:
            result = correct(self, *given, *rest)
            return list(result) if isinstance(result, tuple) else [result]

        on_variables = any(isinstance(a, Variable) for a in args)
        batched = tangents[0].ndim > args[count].ndim
        wrong_tangents = mutation(Call(rule, tangents, on_variables, batched))
        scale = np.concatenate([np.ravel(_values(t)) for t in tangents])
        hits.calls += 1
        hits.inputs = max(hits.inputs, count)
        hits.changed += _differ(rule(tangents), wrong_tangents, scale)
        return tuple(wrong_tangents) if outputs > 1 else wrong_tangents[0]

    primitive.jvp = wrong  # type: ignore[method-assign]  # NOTE: restored below
    try:
        yield hits
    finally:
        if own is None:
            del primitive.jvp
        else:
            primitive.jvp = own  # type: ignore[method-assign]  # NOTE: the correct one


@contextmanager
def planted(primitive: type[Function], mutation: Mutation) -> Iterator[Hits]:
    """Within the block, every instance of ``primitive`` uses the wrong rule ``mutation``
    (its ``vjp``, or its ``backward`` where the reverse pass uses that); restored on exit."""
    name = "vjp" if primitive.uses_vjp else "backward"
    own = primitive.__dict__.get(name)
    correct = getattr(primitive, name)
    hits = Hits()

    def wrong(self: Function, gy: Any, *rest: Any) -> Any:
        # NOTE: the gradients of constant inputs are dropped by the reverse pass; a mutant
        # that changed only them would change nothing.
        live = [not isinstance(x, _Constant) for x in self.inputs]

        def rule(cotangent: Any) -> Gradients:
            grads = correct(self, cotangent, *rest)
            grads = list(grads) if isinstance(grads, tuple) else [grads]
            return [g if keep else None for g, keep in zip(grads, live, strict=True)]

        right = rule(gy)
        if not hits.active:
            return tuple(right) if len(right) > 1 else right[0]
        grads = mutation(Call(rule, gy))
        hits.calls += 1
        hits.inputs = max(hits.inputs, sum(live))
        hits.changed += _differ(right, grads, gy)
        return tuple(grads) if len(grads) > 1 else grads[0]

    setattr(primitive, name, wrong)
    try:
        yield hits
    finally:
        if own is None:
            delattr(primitive, name)
        else:
            setattr(primitive, name, own)


def _kinds(spec: OpSpec) -> list[Kind]:
    """Every operand that may be a Variable is one, so that each reaches the op's Function
    (``add`` of a Variable and a constant would record ``AddConstant``, not ``Add``)."""
    return [Kind.NDARRAY if role == "constant" else Kind.VARIABLE for role in spec.operand_roles]


Verdict = Literal["caught", "escaped", "n/a", "false alarm"]
"""``caught``: an example that the mutant changes fails, and passes without the mutant;
``false alarm``: it fails without the mutant too."""


@dataclass(frozen=True)
class Outcome:
    """What the hunt for one mutant in one op found."""

    verdict: Verdict
    examples: int
    """How many examples on which the mutant changed a gradient were checked."""
    detail: str
    """The failure that caught it, why it does not apply, or what it escaped."""


def _computed_in(example: Example, dtype: np.dtype[Any]) -> bool:
    """Whether ``example``'s result has ``dtype``: a cast to float32 of float64 operands is
    known only to float32's precision, which hides a mutant hunted in float64."""
    return bool(example.expected().dtype == dtype)


def _changes(example: Example, hits: Hits) -> bool:
    """Whether the planted mutant changes a gradient in a reverse pass of ``example``, plain or
    recorded, from a cotangent that is not ones (as gradcheck's): a cheap probe, before the
    verification proper. A pass that fails counts as a change, for the verification to judge."""
    before = hits.changed
    rng = np.random.default_rng(0)
    try:
        for create_graph in (False, True):
            operands = [
                Variable(x.data.copy()) if isinstance(x, Variable) else x for x in example.operands
            ]
            y = example.fn(*operands)
            y.grad = Variable(rng.uniform(0.5, 1.5, y.shape).astype(y.dtype))
            y.backward(create_graph=create_graph)
    except Exception:  # NOTE: the verification will fail on it too, and say why
        return True
    return hits.changed > before


@contextmanager
def _restored(primitive: type[Function], correct: Any) -> Iterator[None]:
    """Within the block, ``primitive`` has its ``correct`` forward rule back."""
    wrong = primitive.jvp
    primitive.jvp = correct  # type: ignore[method-assign]  # NOTE: the mutant's, restored below
    try:
        yield
    finally:
        primitive.jvp = wrong  # type: ignore[method-assign]  # NOTE: the mutant again


def _changes_tangents(example: Example, hits: Hits) -> bool:
    """Whether the planted forward mutant changes the op's output tangent in forward mode on
    ``example``, on arrays or on recorded Variables, for one tangent or for a batch of them of
    either of :func:`batch_sizes` (a changed tangent inside a composite op, such as
    ``im2col``'s inside ``conv2d_simple`` with zero weights, may change nothing)."""
    fn = _differentiated(example)[1]
    points = _variable_data(example)
    try:
        output = np.shape(_values(example.fn(*example.operands)))
        batches = [batched_directions(points, b, 0) for b in batch_sizes(example, output)]
        for tangents, batched in [(_directions(points, 0), False), *((t, True) for t in batches)]:
            for recorded in (False, True):
                primals = [Variable(p) for p in points] if recorded else points
                wrong = _values(jvp(fn, primals, tangents, batched=batched)[1])
                with _restored(example.spec.primitive, hits.correct):
                    right = _values(jvp(fn, primals, tangents, batched=batched)[1])
                scale = np.concatenate([np.ravel(t) for t in tangents])
                if _differ([right], [wrong], scale):
                    return True
    except Exception:  # NOTE: the verification will fail on it too, and say why
        return True
    return False


class _Enough(Exception):
    """Stops a hunt: enough examples passed."""


def _resolved(example: Example, stats: OpStats, hits: Hits) -> bool:
    """Whether the checks of ``example``, which passed (``stats``), could have caught the
    planted reverse mutant: where it changes the recorded first derivatives otherwise than the
    plain ones (the recorded and second-order checks judge that), or changes the plain ones, at
    some element, by more than the resolution reported there. A training-mode batch norm's x
    gradient may be tiny beside its terms: a change of 1e-6 of it is below what any check of it
    resolves there."""
    side = _Side(example.fn, example.operands, 0)
    weights = side.objective.weights
    wrong = side.precise
    recorded = _analytic(example.fn, side.inputs, weights, np.float64, create_graph=True)[0]
    if _differ(wrong, recorded, weights):
        return True
    hits.active = False
    try:
        right = _analytic(example.fn, side.inputs, weights, np.float64)[0]
    finally:
        hits.active = True
    with np.errstate(all="ignore"):
        changes = [np.abs(w - r) / np.abs(w) for w, r in zip(wrong, right, strict=True)]
    return any(
        bool(np.any(change > resolution))
        for change, resolution in zip(changes, stats.first.resolutions, strict=False)
        if change.shape == resolution.shape
    )


def _settings(max_examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        phases=(Phase.explicit, Phase.generate),
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


def hunt(spec: OpSpec, mutant: Mutant | None, examples_wanted: int, seed: int = 0) -> Outcome:
    """Fuzz ``spec``'s op with ``mutant`` planted (``None``: the correct op, a control) until
    an example fails or ``examples_wanted`` examples on which it changes a gradient pass; for a
    reverse mutant, only examples on which the checks could have caught it count
    (:func:`_resolved`)."""
    mutation = _correct if mutant is None else mutant.mutation
    dtype = mutant.dtype if mutant is not None else FLOAT64
    forward = mutant is not None and mutant.rule == "jvp"
    plant, check, changes = (
        (planted_jvp, check_forward_example, _changes_tangents)
        if forward
        else (planted, check_example, _changes)
    )
    checked = unresolved = 0
    failure: str | None = None
    failing: Example | None = None

    with plant(spec.primitive, mutation) as hits:

        @hypothesis.given(examples(spec, dtype, _kinds(spec)))
        def run(example: Example) -> None:
            nonlocal checked, unresolved, failure, failing
            if checked >= examples_wanted:  # NOTE: Hypothesis replays the example that stopped it
                raise _Enough
            if not _computed_in(example, dtype):
                return
            if mutant is not None and not changes(example, hits):
                if hits.calls and hits.inputs < mutant.inputs:
                    raise _Enough  # NOTE: it cannot apply; no need to draw more
                return
            stats = OpStats()
            try:
                if forward:
                    check(example)
                else:
                    check_example(example, stats)
            except Exception as error:
                kind = "" if isinstance(error, AssertionError) else f"{type(error).__name__}: "
                if failure is None:
                    failure, failing = kind + str(error), example
                raise
            if not forward and mutant is not None and not _resolved(example, stats, hits):
                unresolved += 1  # NOTE: no check could have caught it here
                return
            checked += 1
            if checked >= examples_wanted:
                raise _Enough

        test = hypothesis.seed(seed)(
            _settings(examples_wanted + (mutant.probes if mutant else 0))(run)
        )
        with suppress(Exception):  # NOTE: the verdict is what `run` recorded, whatever was raised
            test()
    calls = hits.calls
    if failure is not None and mutant is None:
        return Outcome("false alarm", checked + 1, failure)
    if failing is not None:
        try:
            check(failing)
        except Exception as error:
            return Outcome("false alarm", checked + 1, f"the correct op fails too: {error}")
    if failure is not None:
        return Outcome("caught", checked + 1, failure)
    if mutant is not None and checked == 0:
        reason = (
            f"its change is below the checks' resolution on the {unresolved} examples it changed"
            if unresolved
            else mutant.inapplicable(hits)
            if calls
            else f"no example calls {spec.primitive.__name__}"
        )
        return Outcome("n/a", 0, reason)
    return Outcome("escaped", checked, f"{checked} examples passed")


def _collect(spec: OpSpec, count: int, seed: int) -> list[Example]:
    """At most ``count`` examples of ``spec``'s op computed in float64."""
    drawn: list[Example] = []

    @hypothesis.given(examples(spec, FLOAT64, _kinds(spec)))
    def collect(example: Example) -> None:
        if len(drawn) >= count:
            raise _Enough
        if _computed_in(example, FLOAT64):
            drawn.append(example)

    with suppress(_Enough):
        hypothesis.seed(seed)(_settings(3 * count)(collect))()
    return drawn


def _fails(example: Example, mutation: Mutation, primitive: type[Function]) -> bool:
    with planted(primitive, mutation):
        try:
            check_example(example)
        except AssertionError:
            return True
    return False


SCALE_RANGE = (1e-16, 1e-1)
"""Where :func:`smallest_caught` searches: float64 cannot hold a smaller scale than 1e-16."""


def smallest_caught(spec: OpSpec, count: int, seed: int = 0, steps: int = 8) -> float | None:
    """The smallest relative error in the first gradient that fails one of ``count`` float64
    examples (those that the correct op passes): a scale ``1 + r`` bisected in ``log10(r)``
    to a factor of ``10 ** (15 / 2 ** steps)``, reported as the error ``(1 + r) - 1`` that
    float64 makes of it; ``None`` if even ``r = 0.1`` passes."""
    drawn = [e for e in _collect(spec, count, seed) if not _fails(e, _correct, spec.primitive)]

    def caught(r: float) -> bool:
        for n, example in enumerate(drawn):
            if _fails(example, scaled(r), spec.primitive):
                drawn.insert(0, drawn.pop(n))  # NOTE: it will likely catch smaller ones too
                return True
        return False

    low, high = (math.log10(r) for r in SCALE_RANGE)
    if not caught(10**high):
        return None
    for _ in range(steps):
        middle = (low + high) / 2
        if caught(10**middle):
            high = middle
        else:
            low = middle
    return (1 + 10**high) - 1


@dataclass
class OpReport:
    """Every mutant's outcome in one op."""

    name: str
    control: Outcome | None
    """The correct op's run, unless skipped: every catch is checked on its own example too."""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    smallest: float | None = None
    seconds: float = 0.0
    """CPU time: the machine may be shared, and the checks run on one core."""

    @property
    def applicable(self) -> int:
        return sum(o.verdict != "n/a" for o in self.outcomes.values())

    @property
    def caught(self) -> int:
        return sum(o.verdict == "caught" for o in self.outcomes.values())

    @property
    def passed(self) -> bool:
        """Whether the correct op passes and every applicable mutant is caught."""
        return self.broken is None and self.caught == self.applicable

    @property
    def broken(self) -> str | None:
        """How the correct op failed its control run, if it did."""
        control = self.control
        return None if control is None or control.verdict == "escaped" else control.detail


def measure(
    spec: OpSpec,
    examples_wanted: int,
    seed: int = 0,
    mutants: Sequence[Mutant] = ALL_MUTANTS,
    bisection: int | None = 10,
    control: bool = True,
) -> OpReport:
    """Run the correct op (if ``control``), hunt every mutant in ``spec``'s op, then (unless
    ``bisection`` is ``None``) search the smallest scale caught on that many examples."""
    start = time.process_time()
    examples_wanted = max(1, examples_wanted // spec.cost)  # NOTE: as verify thins costly ops
    report = OpReport(spec.name, hunt(spec, None, examples_wanted, seed) if control else None)
    for mutant in mutants:
        report.outcomes[mutant.name] = hunt(spec, mutant, examples_wanted, seed)
    if bisection is not None:
        report.smallest = smallest_caught(spec, bisection, seed)
    report.seconds = time.process_time() - start
    return report


_MARKS = {"caught": "yes", "escaped": "ESCAPED", "n/a": "n/a", "false alarm": "FALSE"}


def _header(mutants: Sequence[Mutant], width: int) -> str:
    columns = "".join(f" {m.name:>{max(len(m.name), 7)}}" for m in mutants)
    return f"{'op':<{width}}{columns} {'caught':>7} {'smallest':>9} {'cpu s':>6}"


def _row(report: OpReport, mutants: Sequence[Mutant], width: int) -> str:
    cells = "".join(
        f" {_MARKS[report.outcomes[m.name].verdict]:>{max(len(m.name), 7)}}" for m in mutants
    )
    caught = f"{report.caught}/{report.applicable}"
    smallest = "-" if report.smallest is None else f"{report.smallest:.1e}"
    if report.broken is not None:
        caught = "BROKEN"
    return f"{report.name:<{width}}{cells} {caught:>7} {smallest:>9} {report.seconds:>6.1f}"


def legend(mutants: Sequence[Mutant]) -> str:
    """What each column and mark of the table means, each mutant's wrong rule included."""
    return terminal.legend(
        [
            *((m.name, m.description) for m in mutants),
            ("yes", "caught: an example failed that passes with the correct rule"),
            ("ESCAPED", "not caught, though it changed a gradient the checks resolve"),
            ("n/a", "does not apply to the op: it changed no gradient (why: above)"),
            ("FALSE", "a false alarm: the example failed with the correct rule too"),
            ("caught", "the mutants caught of those that apply; BROKEN: the correct op failed "
             "its control run"),
            ("smallest", "the smallest relative error of the first gradient caught in float64 "
             "(bisected); -: not even 0.1"),
            ("cpu s", "CPU seconds the op took"),
        ]
    )  # fmt: skip


def run(
    names: Sequence[str],
    examples_wanted: int,
    seed: int,
    out: TextIO,
    progress: TextIO,
    bisection: int | None = 10,
    zoo: Sequence[Mutant] = ALL_MUTANTS,
) -> int:
    """``verify --mutants``: measure the ops ``names`` with the mutants ``zoo``, print one row
    per op, what failed, and a summary line that says it; 1 if an applicable mutant escaped, a
    catch was a false alarm or a correct op failed its control run, else 0."""
    width = terminal.name_width(names, "op")
    header = _header(zoo, width)
    print(header, file=out)
    print("-" * len(header), file=out)
    reports = []
    status = terminal.Progress(progress)
    start, cpu = time.perf_counter(), time.process_time()
    for number, name in enumerate(names, 1):
        status.show(f"[{number}/{len(names)}] {name}")
        report = measure(REGISTRY[name], examples_wanted, seed, zoo, bisection)
        reports.append(report)
        status.clear()
        print(_row(report, zoo, width), file=out)
        out.flush()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    inapplicable: dict[tuple[str, str], list[str]] = {}
    for report in reports:
        for mutant in zoo:
            outcome = report.outcomes[mutant.name]
            if outcome.verdict == "n/a":
                inapplicable.setdefault((mutant.name, outcome.detail), []).append(report.name)
    if inapplicable:
        print("\nnot applicable:", file=out)
    for (mutant_name, reason), ops in inapplicable.items():
        line = f"  {mutant_name}, {reason}: {' '.join(ops)}"
        print(textwrap.fill(line, 100, subsequent_indent="      "), file=out)
    for report in reports:
        if report.broken is not None:
            print(
                f"\n{report.name}: the correct op FAILED its control run: {report.broken}", file=out
            )
        for mutant in zoo:
            outcome = report.outcomes[mutant.name]
            if outcome.verdict in ("escaped", "false alarm"):
                verdict = outcome.verdict.upper()
                print(
                    f"\n{report.name}: {mutant.description}: {verdict} ({outcome.detail})", file=out
                )
    caught = sum(r.caught for r in reports)
    applicable = sum(r.applicable for r in reports)
    failures = _failures(reports)
    verdict = f"FAILED: {'; '.join(failures)}. " if failures else ""
    print(
        f"\n{verdict}{caught} of {applicable} applicable mutants caught in "
        f"{terminal.plural(len(reports), 'op')} ({elapsed:.1f} s, {cpu:.1f} s of CPU, "
        f"seed {seed}, {terminal.plural(examples_wanted, 'example')} per mutant)",
        file=out,
    )
    print(f"\n{legend(zoo)}", file=out)
    return 1 if failures else 0


def _failures(reports: Sequence[OpReport]) -> list[str]:
    """What failed, one phrase per kind, naming the ops: a correct op that failed its control
    run, mutants that escaped, catches that were false alarms; empty if every op passed."""
    broken = [r.name for r in reports if r.broken is not None]
    failures = [f"the correct op failed its control run ({', '.join(broken)})"] if broken else []
    for verdict, one, several in (
        ("escaped", "mutant escaped", "mutants escaped"),
        ("false alarm", "catch was a false alarm", "catches were false alarms"),
    ):
        found = [
            f"{r.name} {name}"
            for r in reports
            for name, outcome in r.outcomes.items()
            if outcome.verdict == verdict
        ]
        if found:
            what = one if len(found) == 1 else several
            failures.append(f"{len(found)} {what} ({', '.join(found)})")
    return failures
