"""The verification catches every wrong rule planted in every registered op
(``python -m tinygrad_ref verify --mutants``, in a fast configuration)."""

import pytest

from tinygrad_ref.mutants import MUTANTS, measure
from tinygrad_ref.registry import REGISTRY

pytestmark = pytest.mark.properties

EXAMPLES = 2
"""Examples per mutant that must all pass for it to escape: a caught mutant fails on the first
or second example that it changes."""


@pytest.mark.parametrize("name", REGISTRY)
def test_every_applicable_mutant_is_caught(name: str) -> None:
    report = measure(REGISTRY[name], EXAMPLES, bisection=None)
    assert report.control.verdict == "escaped", f"the correct {name} fails: {report.control.detail}"
    escaped = [
        f"{mutant.description}: {report.outcomes[mutant.name].detail}"
        for mutant in MUTANTS
        if report.outcomes[mutant.name].verdict == "escaped"
    ]
    assert not escaped, f"{name}: " + "; ".join(escaped)
