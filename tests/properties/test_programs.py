"""Random expression programs composed from the registered elementwise ops."""

import gc
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_ref import Function, Variable, check_gradients, check_second_gradients
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import Domain
from tinygrad_ref.verification.strategies import arrays, dtypes, shapes

pytestmark = pytest.mark.properties

# NOTE: without the non-smooth ops: a composed value lands on a kink easily (abs(x - x)), and
# how far the oracle's steps move it depends on the whole program; they are fuzzed on their own,
# with margins from their kinks.
ELEMENTWISE = sorted(
    name
    for name, spec in REGISTRY.items()
    if spec.case is None and spec.roles is None and spec.kink is None
)
INPUTS = Domain(-2.0, 2.0)


@dataclass(frozen=True)
class Program:
    """Steps ``(op name, operand positions)``; each step appends its result to the values."""

    inputs: tuple[Variable, ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]

    def __call__(self, *inputs: Variable) -> Variable:
        values = list(inputs)
        for name, positions in self.steps:
            values.append(REGISTRY[name].function(*[values[i] for i in positions]))
        return values[-1]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    dtype = draw(dtypes())
    shape = draw(shapes(max_dims=2))
    inputs = tuple(
        Variable(draw(arrays(INPUTS, shape, dtype))) for _ in range(draw(st.integers(1, 3)))
    )
    values = [x.data for x in inputs]
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        spec = REGISTRY[draw(st.sampled_from(ELEMENTWISE))]
        positions = tuple(draw(st.integers(0, len(values) - 1)) for _ in range(spec.arity))
        operands = [values[i] for i in positions]
        # NOTE: a step whose operands leave the op's domain is dropped, not filtered for.
        if all(d.contains(x) for d, x in zip(spec.domains, operands, strict=True)):
            values.append(np.asarray(spec.reference(*operands)))
            steps.append((spec.name, positions))
    if not steps:
        steps.append(("neg", (0,)))
    return Program(inputs, tuple(steps))


@given(programs())
def test_program_gradients_match_central_differences(program: Program) -> None:
    # NOTE: the reports, not gradcheck: an element too small for the oracle's steps to move
    # its output (exp at 1e-23) is reported unresolved, with a warning from gradcheck
    first = check_gradients(program, *program.inputs)
    assert first.failure is None, first.failure
    second = check_second_gradients(program, *program.inputs)
    assert second.failure is None, second.failure


def creators(output: Variable) -> Iterator[Function]:
    stack = [output.creator]
    seen: set[int] = set()
    while stack:
        f = stack.pop()
        if f is None or id(f) in seen:
            continue
        seen.add(id(f))
        yield f
        stack.extend(x.creator for x in f.inputs)


@given(programs())
def test_a_dropped_program_frees_its_graph_without_the_cycle_collector(program: Program) -> None:
    gc.disable()
    try:
        y = program(*program.inputs)
        y.backward()
        nodes = [weakref.ref(f) for f in creators(y)]
        del y
        assert all(node() is None for node in nodes)
    finally:
        gc.enable()
