"""Check a derivative rule you wrote for a plain NumPy function, against the same oracle and
per-element judgement as :func:`~tinygrad_ref.verification.checks.check_gradients`.

``check_vjp(f, f_vjp, *arrays)`` checks a vector-Jacobian rule, ``check_jvp(f, f_jvp,
*arrays)`` a Jacobian-vector rule; ``second=`` adds the rule's own derivative. Both wrap ``f``
and the rule in a :class:`~tinygrad_ref.core.Function` whose backward is the rule, so that the
library's own derivatives never enter: what is checked is the rule.

Conventions (those of ``jax.vjp`` and ``torch.autograd.Function``, with one array standing for
a 1-tuple): ``f(*arrays, **constants)`` returns an array or a tuple of arrays;
``f_vjp(cotangent, *arrays, **constants)`` gets one cotangent per output (the array itself for
one output, else a tuple) and returns one gradient per input (the array itself for one input,
else a tuple; ``None`` for a zero gradient); ``f_jvp(tangent, *arrays, **constants)`` gets one
tangent per input (likewise) and returns one tangent per output.
"""

from __future__ import annotations

import inspect
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Function, Variable
from tinygrad_ref.verification.checks import (
    GradcheckReport,
    Mismatch,
    _passed,
    _where,
    check_gradients,
)
from tinygrad_ref.verification.oracle import Bounds, Float64Array, _weights

Rule = Literal["vjp", "jvp"]
AnyArray = npt.NDArray[Any]


@dataclass(frozen=True)
class RuleReport(GradcheckReport):
    """A :class:`GradcheckReport` of a rule you wrote, with how much of it was checked."""

    checked: int = 0
    """How many input elements were judged (all of them unless ``sample`` was given)."""
    elements: int = 0
    """How many input elements there are."""
    seconds: float = 0.0
    """How long the check took, in CPU seconds of this process (``time.process_time``: on a
    loaded machine the wall clock varies with the load, the CPU time much less), the
    second-order check included."""
    full_seconds: float = 0.0
    """How long checking every element would take: ``seconds`` itself when every element was
    checked, else its estimate, ``seconds * elements / checked`` (the oracle's cost is linear
    in the elements; the fixed costs, a few calls of ``f`` and the rule, are counted in too,
    so the estimate errs long)."""


def check_vjp(
    f: Callable[..., Any],
    f_vjp: Callable[..., Any],
    *arrays: npt.ArrayLike,
    constants: Mapping[str, Any] | None = None,
    second: Callable[..., Any] | None = None,
    names: Sequence[str] | None = None,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    sample: int | None = None,
) -> RuleReport:
    """Check ``f_vjp``, your vector-Jacobian rule of the NumPy function ``f``, at ``arrays``.

    ``f_vjp(cotangent, *arrays, **constants)`` returns the gradient of ``sum(cotangent * f(
    *arrays, **constants))`` with respect to each array. It is called with fixed random
    cotangents and compared, every element on its own bound, with the Richardson oracle's
    derivative of ``f``, exactly as :func:`check_gradients` compares the library's gradients
    (the options are its own: ``eps``, ``atol``, ``rtol``, ``fast``, ``seed``, ``domains``).
    Float32 (or float16) arrays are checked in their dtype and, for the precision check, in
    float64 copies. ``constants`` go to ``f`` and the rule as keyword arguments and are not
    differentiated (labels, axes, flags). ``names`` name the arrays in the report (by default
    ``f``'s parameter names).

    ``second(gradient_cotangent, cotangent, *arrays, **constants)``, if given, is the rule's
    own vector-Jacobian rule: the gradient of ``sum(gradient_cotangent * f_vjp(cotangent,
    *arrays))`` with respect to the arrays (the cotangent fixed). It is checked the same way,
    its mismatches of kind ``"second order"``.

    ``sample=m`` judges ``m`` elements drawn at random (by ``seed``) over all the arrays,
    each on the bound it would have in the full check; the report says how many were checked
    and how long the full check would take (:class:`RuleReport`). The rule is still called on
    the whole arrays."""
    return _check(
        "vjp",
        f,
        f_vjp,
        arrays,
        constants,
        second,
        names,
        eps,
        atol,
        rtol,
        fast,
        seed,
        domains,
        sample,
    )


def check_jvp(
    f: Callable[..., Any],
    f_jvp: Callable[..., Any],
    *arrays: npt.ArrayLike,
    constants: Mapping[str, Any] | None = None,
    second: Callable[..., Any] | None = None,
    names: Sequence[str] | None = None,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    sample: int | None = None,
) -> RuleReport:
    """Check ``f_jvp``, your Jacobian-vector rule of the NumPy function ``f``, at ``arrays``.

    ``f_jvp(tangent, *arrays, **constants)`` returns the derivative of ``f(*arrays,
    **constants)`` along ``tangent``. Element ``k`` of an array is judged as in
    :func:`check_vjp`, on ``sum(w * f_jvp(e_k))`` (``w`` the fixed random weights of the
    outputs, ``e_k`` the tangent 1 at ``k``, 0 elsewhere): one call of the rule per element
    judged (also with ``fast=True``; ``sample`` calls it for the sampled elements only).

    ``second(tangent2, tangent, *arrays, **constants)``, if given, is the derivative of
    ``f_jvp(tangent, *arrays)`` along ``tangent2`` in the arrays (the tangent fixed), checked
    the same way, its mismatches of kind ``"second order"``. The other options are those of
    :func:`check_vjp`."""
    return _check(
        "jvp",
        f,
        f_jvp,
        arrays,
        constants,
        second,
        names,
        eps,
        atol,
        rtol,
        fast,
        seed,
        domains,
        sample,
    )


def vjpcheck(
    f: Callable[..., Any],
    f_vjp: Callable[..., Any],
    *arrays: npt.ArrayLike,
    constants: Mapping[str, Any] | None = None,
    second: Callable[..., Any] | None = None,
    names: Sequence[str] | None = None,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    sample: int | None = None,
) -> bool:
    """:func:`check_vjp` as :func:`~tinygrad_ref.verification.checks.gradcheck` is
    :func:`check_gradients`: ``True``, or :class:`GradcheckError` naming the element."""
    return _passed(
        check_vjp(
            f,
            f_vjp,
            *arrays,
            constants=constants,
            second=second,
            names=names,
            eps=eps,
            atol=atol,
            rtol=rtol,
            fast=fast,
            seed=seed,
            domains=domains,
            sample=sample,
        )
    )


def jvpcheck(
    f: Callable[..., Any],
    f_jvp: Callable[..., Any],
    *arrays: npt.ArrayLike,
    constants: Mapping[str, Any] | None = None,
    second: Callable[..., Any] | None = None,
    names: Sequence[str] | None = None,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    fast: bool = False,
    seed: int = 0,
    domains: Sequence[Bounds | None] | None = None,
    sample: int | None = None,
) -> bool:
    """:func:`check_jvp`: ``True``, or :class:`GradcheckError` naming the element."""
    return _passed(
        check_jvp(
            f,
            f_jvp,
            *arrays,
            constants=constants,
            second=second,
            names=names,
            eps=eps,
            atol=atol,
            rtol=rtol,
            fast=fast,
            seed=seed,
            domains=domains,
            sample=sample,
        )
    )


def _check(
    kind: Rule,
    f: Callable[..., Any],
    rule: Callable[..., Any],
    given: Sequence[npt.ArrayLike],
    constants: Mapping[str, Any] | None,
    second: Callable[..., Any] | None,
    names: Sequence[str] | None,
    eps: float | None,
    atol: float | None,
    rtol: float | None,
    fast: bool,
    seed: int,
    domains: Sequence[Bounds | None] | None,
    sample: int | None,
) -> RuleReport:
    start = time.process_time()
    function = f"f_{kind}"
    for what, fn in (("f", f), (function, rule), ("second", second)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{what} must be callable, got {type(fn).__name__}")
    if constants is not None and not isinstance(constants, Mapping):
        raise TypeError(
            f"constants must be a mapping of keyword arguments, got {type(constants).__name__}"
        )
    keywords = dict(constants or {})
    labels = _names(f, len(given), names)
    arrays = _arrays(given, labels)
    chosen = _chosen(arrays, sample, seed)
    options = {"eps": eps, "atol": atol, "rtol": rtol, "fast": fast, "domains": domains}
    wrapped = _Wrapped(kind, f, rule, arrays, keywords, chosen, labels)
    report = _run(wrapped, seed, options)
    derivative = f"your {kind} rule {_name(rule)} of {_name(f)}"
    if second is not None:
        inner = _second(wrapped, second, seed)
        report = report.merge(_second_order(_run(inner, seed + 1, options)))
        derivative += f", and its derivative {_name(second)}"
    report = replace(report, derivative=derivative)
    seconds = time.process_time() - start
    elements = sum(x.size for x in arrays)
    checked = sum(x.size if i is None else i.size for x, i in zip(arrays, chosen, strict=True))
    return RuleReport(
        **{field.name: getattr(report, field.name) for field in fields(GradcheckReport)},
        checked=checked,
        elements=elements,
        seconds=seconds,
        full_seconds=seconds * elements / max(checked, 1),
    )


def _name(fn: Callable[..., Any] | None) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def _names(f: Callable[..., Any], count: int, names: Sequence[str] | None) -> list[str | None]:
    """The arrays' names: ``names``, else ``f``'s positional parameters' names, else none."""
    if names is not None:
        if isinstance(names, str) or len(names) != count:
            raise ValueError(f"names must give one name per array ({count}), got {names!r}")
        return list(names)
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return [None] * count
    positional: list[str | None] = [
        p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return positional[:count] if len(positional) >= count else [None] * count


def _arrays(given: Sequence[npt.ArrayLike], labels: Sequence[str | None]) -> list[AnyArray]:
    if not given:
        raise ValueError("nothing to check: give at least one array to differentiate")
    arrays = []
    for i, (x, label) in enumerate(zip(given, labels, strict=True)):
        if isinstance(x, Variable):
            raise TypeError(
                f"array {_label(i, label)} is a Variable: check_vjp and check_jvp check a rule of "
                "a NumPy function and take arrays (gradcheck checks the library's derivative of "
                "code run on Variables)"
            )
        array = np.asarray(x)
        if array.dtype.kind != "f":
            raise TypeError(
                f"array {_label(i, label)} has dtype {array.dtype}: only floating arrays are "
                "differentiated; pass the others in constants="
            )
        arrays.append(array)
    return arrays


def _label(i: int, label: str | None) -> str:
    return f"{i} ({label})" if label else str(i)


def _chosen(arrays: Sequence[AnyArray], sample: int | None, seed: int) -> list[Any]:
    """Per array, ``None`` (every element) or the sorted flat indices of its sampled elements."""
    if sample is None:
        return [None] * len(arrays)
    if isinstance(sample, bool) or not isinstance(sample, int | np.integer):
        raise TypeError(f"sample must be an int (how many elements to check), got {sample!r}")
    total = sum(x.size for x in arrays)
    if sample < 1:
        raise ValueError(f"sample must be at least 1, got {sample}")
    picked = np.random.default_rng(seed).choice(total, size=min(int(sample), total), replace=False)
    offsets = np.cumsum([0] + [x.size for x in arrays])
    return [
        np.sort(picked[(picked >= low) & (picked < high)]) - low
        for low, high in itertools.pairwise(offsets)
    ]


class _Wrapped:
    """``f`` and its rule as one function of the checked elements: the arrays' chosen
    elements (all, or a sample) in, the outputs flattened and joined out."""

    def __init__(
        self,
        kind: Rule,
        f: Callable[..., Any],
        rule: Callable[..., Any],
        arrays: Sequence[AnyArray],
        constants: Mapping[str, Any],
        chosen: Sequence[Any],
        labels: Sequence[str | None],
    ) -> None:
        self.kind = kind
        self.f = f
        self.rule = rule
        self.arrays = arrays
        self.constants = constants
        self.chosen = chosen
        self.labels = labels
        self.shapes: list[tuple[int, ...]] = []
        self.last: tuple[list[AnyArray], AnyArray, list[AnyArray | None]] | None = None

    def full(self, xs: Sequence[AnyArray]) -> list[AnyArray]:
        """The whole arrays, the chosen elements from ``xs``, in their dtype: copies, so that a
        rule that writes into its arguments changes nothing of the check's."""
        arrays = []
        for x, base, index in zip(xs, self.arrays, self.chosen, strict=True):
            if index is None or not index.size:
                arrays.append(np.array(x))
                continue
            whole = base.astype(np.asarray(x).dtype)
            whole.reshape(-1)[index] = x
            arrays.append(whole)
        return arrays

    def outputs(self, arrays: Sequence[AnyArray]) -> list[AnyArray]:
        ys = self.f(*arrays, **self.constants)
        ys = list(ys) if isinstance(ys, tuple) else [ys]
        values = []
        for j, y in enumerate(ys):
            if not isinstance(y, np.ndarray | np.floating | float):
                raise TypeError(
                    f"f must return a floating array or a tuple of them; output {j} is a "
                    f"{type(y).__name__}"
                )
            value = np.asarray(y)
            if value.dtype.kind != "f":
                raise TypeError(f"output {j} of f has dtype {value.dtype}: it must be floating")
            values.append(value)
        if not values:
            raise TypeError("f returned an empty tuple")
        self.shapes = [v.shape for v in values]
        return values

    def forward(self, xs: Sequence[AnyArray]) -> AnyArray:
        values = self.outputs(self.full(xs))
        return np.concatenate([v.reshape(-1) for v in values])

    def cotangents(self, gy: AnyArray, dtypes: Sequence[np.dtype[Any]]) -> list[AnyArray]:
        sizes = np.cumsum([0] + [int(np.prod(s)) for s in self.shapes])
        return [
            gy[low:high].reshape(shape).astype(dtype)
            for low, high, shape, dtype in zip(
                sizes[:-1], sizes[1:], self.shapes, dtypes, strict=True
            )
        ]

    def backward(self, gy: AnyArray, xs: Sequence[AnyArray]) -> list[AnyArray | None]:
        """The gradient of ``sum(gy * forward(xs))`` for every ``x`` by the rule (memoized:
        the recorded and plain passes ask for the same)."""
        if self.last is not None:
            last_xs, last_gy, last = self.last
            if np.array_equal(gy, last_gy) and all(
                a.dtype == b.dtype and np.array_equal(a, b)
                for a, b in zip(xs, last_xs, strict=True)
            ):
                return last
        values = self.outputs(self.full(xs))
        arrays = self.full(xs)
        cotangents = self.cotangents(gy, [v.dtype for v in values])
        if self.kind == "vjp":
            wholes = self._vjp(cotangents, arrays)
            grads: list[AnyArray | None] = [
                None
                if index is not None and not index.size
                else g
                if index is None
                else g.reshape(-1)[index]
                for g, index in zip(wholes, self.chosen, strict=True)
            ]
        else:
            grads = self._jvp(cotangents, arrays)
        self.last = ([np.array(x) for x in xs], np.array(gy), grads)
        return grads

    def _vjp(self, cotangents: Sequence[AnyArray], arrays: Sequence[AnyArray]) -> list[AnyArray]:
        cotangent = cotangents[0] if len(cotangents) == 1 else tuple(cotangents)
        grads = self.rule(cotangent, *arrays, **self.constants)
        return self._per_array(grads, arrays, "f_vjp", "gradient")

    def _per_array(
        self, given: Any, arrays: Sequence[AnyArray], rule: str, what: str
    ) -> list[AnyArray]:
        """The rule's result as one array per input array (``None`` as zeros), refused
        with a ValueError where the count or a shape is wrong."""
        values = list(given) if isinstance(given, tuple | list) else [given]
        if len(values) != len(arrays):
            raise ValueError(
                f"{rule} returned {len(values)} {what}s for {len(arrays)} arrays: return one per "
                "array (the array itself for one, else a tuple)"
            )
        results = []
        for i, (v, x, label) in enumerate(zip(values, arrays, self.labels, strict=True)):
            value = np.zeros_like(x) if v is None else np.asarray(v)
            if value.shape != x.shape:
                raise ValueError(
                    f"{rule} returned a {what} of shape {value.shape} for array "
                    f"{_label(i, label)} of shape {x.shape}"
                )
            results.append(value)
        return results

    def _jvp(
        self, cotangents: Sequence[AnyArray], arrays: Sequence[AnyArray]
    ) -> list[AnyArray | None]:
        """``sum_j w_j (J e_k)_j`` for every chosen element ``k``: one call of the rule each."""
        grads: list[AnyArray | None] = []
        for i, (x, index) in enumerate(zip(arrays, self.chosen, strict=True)):
            if index is not None and not index.size:
                grads.append(None)
                continue
            flat = np.arange(x.size) if index is None else index
            grad = np.zeros(flat.size, dtype=x.dtype)
            for n, k in enumerate(flat):
                tangents = [np.zeros_like(a) for a in arrays]
                tangents[i].reshape(-1)[k] = 1
                tangent = tangents[0] if len(tangents) == 1 else tuple(tangents)
                copies = [np.array(a) for a in arrays]
                outs = self.rule(tangent, *copies, **self.constants)
                per_output = self._per_output(outs)
                grad[n] = sum(np.sum(c * t) for c, t in zip(cotangents, per_output, strict=True))
            grads.append(grad.reshape(x.shape) if index is None else grad)
        return grads

    def _per_output(self, given: Any) -> list[AnyArray]:
        values = list(given) if isinstance(given, tuple | list) else [given]
        if len(values) != len(self.shapes):
            raise ValueError(
                f"f_jvp returned {len(values)} tangents for {len(self.shapes)} outputs of f: "
                "return one per output (the array itself for one, else a tuple)"
            )
        results = []
        for j, (v, shape) in enumerate(zip(values, self.shapes, strict=True)):
            value = np.asarray(v)
            if value.shape != shape:
                raise ValueError(
                    f"f_jvp returned a tangent of shape {value.shape} for output {j} of f, of "
                    f"shape {shape}"
                )
            results.append(value)
        return results


class _RuleFunction(Function):
    """The Function whose backward is the rule: the library's derivatives never enter."""

    def __init__(self, wrapped: _Wrapped) -> None:
        self.wrapped = wrapped

    def forward(self, *xs: AnyArray) -> AnyArray:
        return self.wrapped.forward(xs)

    def backward(self, gy: Variable) -> tuple[Variable | None, ...]:
        xs = [np.asarray(x.data) for x in self.inputs]
        grads = self.wrapped.backward(np.asarray(gy.data), xs)
        return tuple(
            None if g is None or not self.needs_grad(i) else Variable(np.array(g))
            for i, g in enumerate(grads)
        )


def _run(wrapped: _Wrapped, seed: int, options: Mapping[str, Any]) -> GradcheckReport:
    """:func:`check_gradients` of the rule's Function at the chosen elements (the others
    held), its report in terms of the whole arrays."""
    inputs: list[Any] = [
        x
        if index is not None and not index.size
        else Variable(x if index is None else x.reshape(-1)[index], name=label)
        for x, index, label in zip(wrapped.arrays, wrapped.chosen, wrapped.labels, strict=True)
    ]
    report = check_gradients(lambda *xs: _RuleFunction(wrapped)(*xs), *inputs, seed=seed, **options)
    if all(index is None for index in wrapped.chosen):
        return report
    return _unsampled(report, wrapped.arrays, wrapped.chosen, wrapped.labels)


def _second(wrapped: _Wrapped, second: Callable[..., Any], seed: int) -> _Wrapped:
    """The rule at a fixed random cotangent (tangent) as a function of the arrays, with
    ``second`` as its rule (a vjp rule's derivative is a vjp rule, a jvp rule's a jvp rule)."""
    arrays, constants, rule = wrapped.arrays, wrapped.constants, wrapped.rule
    if wrapped.kind == "vjp":
        shapes = [y.shape for y in wrapped.outputs(arrays)]
    else:
        shapes = [x.shape for x in arrays]
    fixed = [_weights(shape, seed + 2) for shape in shapes]
    held: Any = fixed[0] if len(fixed) == 1 else tuple(fixed)

    def inner(*xs: AnyArray) -> Any:
        return rule(_like(held, xs), *xs, **constants)

    def inner_rule(ct: Any, *xs: AnyArray) -> Any:
        return second(ct, _like(held, xs), *xs, **constants)

    inner.__qualname__ = _name(rule)
    return _Wrapped(wrapped.kind, inner, inner_rule, arrays, {}, wrapped.chosen, wrapped.labels)


def _like(held: Any, xs: Sequence[AnyArray]) -> Any:
    """The fixed cotangent in the arrays' dtype (float32 arrays get a float32 cotangent)."""
    dtype = np.result_type(*xs)
    if isinstance(held, tuple):
        return tuple(h.astype(dtype) for h in held)
    return held.astype(dtype)


def _second_order(report: GradcheckReport) -> GradcheckReport:
    mismatches = tuple(replace(m, check="second order") for m in report.mismatches)
    failure = report.failure
    if failure is not None:
        failure = f"second derivatives: {str(mismatches[0]) if mismatches else failure}"
    return replace(report, mismatches=mismatches, failure=failure)


def _unsampled(
    report: GradcheckReport,
    arrays: Sequence[AnyArray],
    chosen: Sequence[Any],
    labels: Sequence[str | None],
) -> GradcheckReport:
    """``report`` of the sampled elements in terms of the whole arrays: indices, resolutions
    (NaN where not checked) and steps (0 where not taken)."""
    sampled = [n for n, index in enumerate(chosen) if index.size]

    def where(text: str) -> tuple[str, int, tuple[int, ...]] | None:
        for n in sampled:
            label = _where(n, (), labels[n]) + " at index ("
            if text.startswith(label):
                position = int(text[len(label) :].split(",")[0])
                k = tuple(int(i) for i in np.unravel_index(chosen[n][position], arrays[n].shape))
                return _where(n, k, labels[n]) + text[text.index(")", len(label)) + 1 :], n, k
        return None

    def moved(m: Mismatch) -> Mismatch:
        found = where(m.where)
        if found is None:
            return m
        return replace(m, where=found[0], input=found[1], index=found[2])

    mismatches = tuple(moved(m) for m in report.mismatches)
    failure = report.failure
    if report.mismatches and failure == str(report.mismatches[0]):
        failure = str(mismatches[0])
    loose = tuple(replace(f, where=(where(f.where) or (f.where,))[0]) for f in report.loose)
    unresolved = tuple(
        replace(f, where=(where(f.where) or (f.where,))[0]) for f in report.unresolved
    )

    def spread(values: tuple[Float64Array, ...], fill: float) -> tuple[Float64Array, ...]:
        if len(values) != len(sampled):
            return values
        wholes = [np.full(x.shape, fill) for x in arrays]
        for n, value in zip(sampled, values, strict=True):
            if value.size:
                wholes[n].reshape(-1)[chosen[n]] = value
        return tuple(wholes)

    return replace(
        report,
        failure=failure,
        mismatches=mismatches,
        loose=loose,
        unresolved=unresolved,
        resolutions=spread(report.resolutions, np.nan),
        steps=spread(report.steps, 0.0),
    )
