"""The verification catches every wrong rule planted in every registered op
(``python -m tinygrad_ref verify --mutants``, in a fast configuration)."""

import pytest

from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.mutants import ALL_MUTANTS, measure

pytestmark = pytest.mark.properties

EXAMPLES = 2
"""Examples per mutant that must all pass for it to escape: a caught mutant fails on the first
or second example that it changes."""


@pytest.mark.parametrize("name", REGISTRY)
def test_every_applicable_mutant_is_caught(name: str) -> None:
    # NOTE: no control run: the rest of the suite checks the correct ops, and each catch is
    # checked to pass without its mutant.
    # NOTE: measure thins a costly op's examples (examples // cost) as verify does, which left
    # the convolutions and batch norm one example each: a batch norm whose first example had a
    # channel of two elements (where its x gradient is eps-small) let the 1e-3 mutant escape
    spec = REGISTRY[name]
    report = measure(spec, EXAMPLES * spec.cost, bisection=None, control=False)
    missed = [
        f"{mutant.description}: {outcome.verdict} ({outcome.detail})"
        for mutant in ALL_MUTANTS
        if (outcome := report.outcomes[mutant.name]).verdict in ("escaped", "false alarm")
    ]
    assert not missed, f"{name}: " + "; ".join(missed)
