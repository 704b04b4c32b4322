"""Every registered op's forward-mode rule, fuzzed: its jvp against its vjp by the exact adjoint
identity, against the oracle's derivative along the same tangent, and, forward over reverse,
the Hessian's symmetry and ``hvp`` against the oracle's derivative of ``grad``."""

import pytest
from hypothesis import settings

from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.strategies import verify_forward

pytestmark = pytest.mark.properties


@pytest.mark.parametrize("name", REGISTRY)
def test_forward_rule_agrees_with_reverse_rule_and_oracle(name: str) -> None:
    stats = verify_forward(REGISTRY[name], settings=settings(max_examples=25))
    assert stats.examples > 0
