"""Edge cases of tinygrad_ref.testing's value strategies."""

import numpy as np
import pytest
from hypothesis import given, settings

from tinygrad_ref.spec import Domain
from tinygrad_ref.verification.strategies import values

FLOAT32 = np.dtype(np.float32)


@settings(max_examples=200, database=None)
@given(values(Domain(-1e-30, 1e-30, min_abs=3.2e-55), FLOAT32))
def test_bounds_below_the_smallest_normal_float32_draw_no_subnormal(value: float) -> None:
    assert value != 0
    assert abs(value) >= np.finfo(np.float32).smallest_normal
    assert abs(value) <= 1e-30


def test_a_domain_without_a_normal_float32_is_refused() -> None:
    with pytest.raises(ValueError, match="holds no normal float32 number"):
        values(Domain(1e-50, 1e-45), FLOAT32)
    assert values(Domain(1e-50, 1e-45)) is not None  # NOTE: float64 has normal numbers there
