"""The strategies draw what they promise."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_ref import Variable
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import Domain
from tinygrad_ref.verification.strategies import (
    DTYPES,
    Example,
    Kind,
    arrays,
    broadcastable_shapes,
    examples,
    shapes,
    values,
)

pytestmark = pytest.mark.properties


@st.composite
def domains(draw: st.DrawFn) -> Domain:
    """Domains whose allowed part includes an interval at least 1 wide (so an integer)."""
    low = draw(st.floats(-20, 20))
    high = low + draw(st.floats(1, 20))
    min_abs = draw(st.floats(0, max(0.0, max(abs(low), abs(high)) - 1)))
    return Domain(low, high, min_abs, draw(st.booleans()))


@given(domains(), shapes(), st.sampled_from(DTYPES), st.data())
def test_arrays_have_the_shape_dtype_and_domain_asked_for(
    domain: Domain, shape: tuple[int, ...], dtype: np.dtype[np.floating], data: st.DataObject
) -> None:
    array = data.draw(arrays(domain, shape, dtype))
    assert array.shape == shape
    assert array.dtype == dtype
    assert domain.contains(array)
    assert np.all(np.isfinite(array))
    assert not np.any((array != 0) & (np.abs(array) < np.finfo(dtype).tiny))


@given(values(Domain(-3.0, 3.0, min_abs=0.5)))
def test_values_keep_away_from_the_pole(value: float) -> None:
    assert 0.5 <= abs(value) <= 3.0


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes: tuple[tuple[int, ...], ...]) -> None:
    np.broadcast_shapes(*shapes)


@given(st.sampled_from(sorted(REGISTRY)).flatmap(lambda name: examples(REGISTRY[name])))
def test_examples_respect_roles_and_have_a_variable(example: Example) -> None:
    kinds = [Variable if isinstance(x, Variable) else type(x) for x in example.operands]
    assert Variable in kinds
    for operand, role in zip(example.operands, example.spec.operand_roles, strict=True):
        if role == "constant":
            assert not isinstance(operand, Variable)
        if role == "variable":
            assert isinstance(operand, Variable)


@given(st.data())
def test_fixed_kinds_are_drawn_as_asked(data: st.DataObject) -> None:
    kinds = (Kind.PYTHON_INT, Kind.VARIABLE)
    example = data.draw(examples(REGISTRY["sub"], kinds=kinds))
    left, right = example.operands
    assert type(left) is int
    assert isinstance(right, Variable)
