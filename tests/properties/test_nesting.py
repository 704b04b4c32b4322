"""Random three-level nests of transforms over random programs of the registered ops, each level
checked against the numerical oracle's derivative of the whole nested function below it."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import ELEMENTWISE, INPUTS, Program
from tinygrad_ref import (
    Variable,
    as_variable,
    grad,
    jacobian,
    jvp,
    value_and_grad,
    vjp,
)
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.checks import SECOND_ORDER_ROUNDING_MULTIPLE, GradcheckError
from tinygrad_ref.verification.oracle import numerical_directional
from tinygrad_ref.verification.strategies import arrays

pytestmark = pytest.mark.properties

Derivative = Callable[[Callable[..., Any], tuple[Any, ...], int], Any]
"""A transform's derivative of a function of several 0-d arguments by argument ``k``."""

TRANSFORMS: dict[str, Derivative] = {
    "grad": lambda f, args, k: grad(f, k)(*args),
    "value_and_grad": lambda f, args, k: value_and_grad(f, k)(*args)[1],
    "jvp": lambda f, args, k: jvp(f, args, tuple(float(i == k) for i in range(len(args))))[1],
    "vjp": lambda f, args, k: vjp(f, *args)[1](1.0)[k],
    "jacobian_rev": lambda f, args, k: jacobian(f, k)(*args),
    "jacobian_fwd": lambda f, args, k: jacobian(f, k, mode="fwd")(*args),
}


@dataclass(frozen=True)
class Nest:
    """``d/dx d/dy d/dz program(x, y, z)`` at ``point``, one transform per level (outermost
    first). Each inner level differentiates at a plain number, and reaches the outer levels'
    arguments either through its function's closure or as other arguments (``through``)."""

    program: Program
    point: tuple[float, float, float]
    transforms: tuple[str, str, str]
    through: tuple[str, str]
    """For the middle and inner levels: ``"closure"`` or ``"arguments"``."""

    def level(self, depth: int, outer: tuple[Any, ...]) -> Any:
        """The function at level ``depth`` (0 outermost) of the outer levels' arguments: the
        derivative by argument ``depth`` of the program, the deeper levels inside; at depth 3,
        the program itself."""
        if depth == 3:
            return self.program(*outer)
        at = self.point[depth]
        transform = TRANSFORMS[self.transforms[depth]]

        def below(*args: Any) -> Any:
            return self.level(depth + 1, args)

        if depth > 0 and self.through[depth - 1] == "arguments":
            return transform(below, (*outer, at), depth)
        return transform(lambda a: below(*outer, a), (at,), 0)


UNARY = [name for name in ELEMENTWISE if REGISTRY[name].arity == 1]
BINARY = [name for name in ELEMENTWISE if REGISTRY[name].arity == 2]


@st.composite
def mixing_programs(draw: st.DrawFn) -> Program:
    """Programs of three 0-d float64 inputs that mix them: a chain of up to two unary ops on
    each input, the three ends joined by two binary ops, then one or two unary ops, so that the
    third mixed derivative is not zero by construction (the registered smooth elementwise ops,
    a step whose operands leave its op's domain dropped, as in ``tests.helpers.programs``)."""
    inputs = tuple(Variable(draw(arrays(INPUTS, (), np.dtype(np.float64)))) for _ in range(3))
    values = [x.data for x in inputs]
    steps = []

    def step(names: list[str], *positions: int) -> int:
        spec = REGISTRY[draw(st.sampled_from(names))]
        operands = [values[i] for i in positions]
        if not all(d.contains(x) for d, x in zip(spec.domains, operands, strict=True)):
            return positions[0]
        values.append(np.asarray(spec.reference(*operands)))
        steps.append((spec.name, positions))
        return len(values) - 1

    ends = []
    for end in range(3):
        for _ in range(draw(st.integers(0, 2))):
            end = step(UNARY, end)
        ends.append(end)
    first, second, third = draw(st.permutations(ends))
    end = step(BINARY, step(BINARY, first, second), third)
    for _ in range(draw(st.integers(1, 2))):
        end = step(UNARY, end)
    if end < len(inputs):  # NOTE: every step dropped: x * x, in the domain of mul
        end = step(["mul"], end, end)
    return Program(inputs, tuple(steps), end)


@st.composite
def nests(draw: st.DrawFn) -> Nest:
    program = draw(mixing_programs())
    point = tuple(float(x.data) for x in program.inputs)  # NOTE: where its steps are defined
    transforms = tuple(draw(st.sampled_from(sorted(TRANSFORMS))) for _ in range(3))
    through = tuple(draw(st.sampled_from(["closure", "arguments"])) for _ in range(2))
    return Nest(program, point, transforms, through)  # type: ignore[arg-type]  # NOTE: 3 and 2


def _number(value: Any) -> float:
    """A level's value as a float: a Variable's data (converting the Variable itself while a
    graph is recorded is refused), or the number."""
    return float(value.data if isinstance(value, Variable) else value)


def _terms(nest: Nest, depth: int) -> float:
    """The magnitude of the terms the function at level ``depth`` is computed from, as
    :func:`tinygrad_ref.check_second_gradients` floors them: its value, and each deeper
    level's value (the program's below the innermost) over the step scales of the arguments
    it is differentiated by on the way up."""
    terms, scale = 0.0, 1.0
    for below in range(depth, 4):
        value = _number(nest.level(below, nest.point[:below]))
        terms = max(terms, abs(value) / scale)
        if below < 3:
            scale *= max(abs(nest.point[below]), 1.0)
    return terms


def check_level(nest: Nest, depth: int) -> None:
    """The derivative at level ``depth`` against the oracle's derivative, by that level's
    argument, of the whole nested function below it (the program itself below the innermost
    level), with the outer arguments fixed at the point."""
    outer = nest.point[:depth]
    analytic = _number(nest.level(depth, outer))

    def below(a: Variable) -> Variable:
        return as_variable(nest.level(depth + 1, (*outer, a)))

    at = nest.point[depth]
    # NOTE: the function below is a derivative too: its rounding is that of its terms
    estimate = numerical_directional(
        below, [np.array(at)], [np.array(1.0)], floor=_terms(nest, depth + 1)
    )
    rounding = SECOND_ORDER_ROUNDING_MULTIPLE * np.finfo(float).eps * _terms(nest, depth)
    allowed = float(estimate.error) + rounding
    if not abs(analytic - float(estimate.value)) <= allowed:
        raise GradcheckError(
            f"{nest}: level {depth} gives {analytic!r}, the oracle {float(estimate.value)!r} "
            f"(allowed error {allowed:.3g})"
        )


@given(nests())
def test_a_nest_of_three_transforms_matches_the_oracle_at_every_level(nest: Nest) -> None:
    for depth in (2, 1, 0):
        check_level(nest, depth)
