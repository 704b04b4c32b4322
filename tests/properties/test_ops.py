"""Every registered op, fuzzed: forward values against NumPy, first and second derivatives
against central differences, over random shapes, broadcasting, dtypes and operand kinds."""

import itertools

import numpy as np
import pytest
from hypothesis import settings

from tests.helpers import through_numpy
from tinygrad_ref import interop
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import OpSpec
from tinygrad_ref.verification.strategies import DTYPES, Kind, verify_op

pytestmark = pytest.mark.properties


@pytest.mark.parametrize("name", REGISTRY)
def test_op_matches_numpy_and_central_differences(name: str) -> None:
    stats = verify_op(REGISTRY[name])
    assert stats.examples > 0
    assert (stats.second is not None) == REGISTRY[name].second_order


def kind_combinations(spec: OpSpec) -> list[tuple[Kind, ...]]:
    """Every assignment of operand kinds an elementwise op accepts, a Variable among them."""
    per_operand = [
        [Kind.VARIABLE]
        if role == "variable"
        else [kind for kind in Kind if not (role == "constant" and kind is Kind.VARIABLE)]
        for role in spec.operand_roles
    ]
    return [kinds for kinds in itertools.product(*per_operand) if Kind.VARIABLE in kinds]


ELEMENTWISE_CASES = [
    pytest.param(name, dtype, kinds, id=f"{name}-{dtype}-{'-'.join(k.value for k in kinds)}")
    for name, spec in REGISTRY.items()
    if spec.case is None
    for dtype in DTYPES
    for kinds in kind_combinations(spec)
]


ARRAY_KINDS = (Kind.VARIABLE, Kind.NDARRAY)

SHAPED_CASES = [
    pytest.param(name, dtype, kinds, id=f"{name}-{dtype}-{'-'.join(k.value for k in kinds)}")
    for name, spec in REGISTRY.items()
    if spec.case is not None and spec.arity > 1 and spec.roles is None
    for dtype in DTYPES
    for kinds in itertools.product(ARRAY_KINDS, repeat=spec.arity)
    if Kind.VARIABLE in kinds
]
"""Ops whose case draws shapes of any rank (matmul): every mix of Variables and ndarrays."""


@pytest.mark.parametrize(("name", "dtype", "kinds"), ELEMENTWISE_CASES + SHAPED_CASES)
def test_every_operand_kind_on_either_side(
    name: str, dtype: np.dtype[np.floating], kinds: tuple[Kind, ...]
) -> None:
    verify_op(REGISTRY[name], dtype=dtype, kinds=kinds, settings=settings(max_examples=5))


def operand_kind_combinations(spec: OpSpec) -> list[tuple[Kind, ...]]:
    """The mixes of operand kinds the suites above draw for ``spec``."""
    if spec.case is None:
        return kind_combinations(spec)
    by_role: dict[str, list[Kind]] = {
        "variable": [Kind.VARIABLE],
        "constant": [Kind.NDARRAY],
        "any": [*ARRAY_KINDS],
    }
    per_operand = [by_role[role] for role in spec.operand_roles]
    return [kinds for kinds in itertools.product(*per_operand) if Kind.VARIABLE in kinds]


NUMPY_CASES = [
    pytest.param(
        name,
        i,
        dtype,
        kinds,
        id=f"{name}-{interop.name_of(target)}-{dtype}-{'-'.join(k.value for k in kinds)}",
    )
    for name, spec in REGISTRY.items()
    for i, target in enumerate(spec.numpy)
    for dtype in DTYPES
    for kinds in operand_kind_combinations(spec)
]


@pytest.mark.parametrize(("name", "index", "dtype", "kinds"), NUMPY_CASES)
def test_every_op_through_its_numpy_spelling(
    name: str, index: int, dtype: np.dtype[np.floating], kinds: tuple[Kind, ...]
) -> None:
    spec = through_numpy(REGISTRY[name], REGISTRY[name].numpy[index])
    verify_op(spec, dtype=dtype, kinds=kinds, settings=settings(max_examples=5))
