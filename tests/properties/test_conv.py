"""The strategies of max pooling and batch norm keep their operands where central differences
are well conditioned: ties of a window and zero variances beyond the oracle's reach. (Max
pooling's own strategy keeps its ties apart by its declared kink.)"""

import numpy as np
import pytest
from hypothesis import given

from tinygrad_ref import Variable
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.oracle import oracle_reach
from tinygrad_ref.verification.strategies import Example, examples

pytestmark = pytest.mark.properties


def shifted(example: Example) -> np.ndarray:
    x = example.operands[0]
    values = x.data if isinstance(x, Variable) else np.asarray(x)
    shifted: np.ndarray = np.asarray(values, dtype=np.float64) + example.params["offsets"]
    return shifted


@given(examples(REGISTRY["pooling_simple"]))
def test_no_two_values_of_a_pooling_simple_example_are_within_the_oracles_reach(
    example: Example,
) -> None:
    # NOTE: 0 stands for the zero padding, which must not tie either
    values = np.sort(np.append(shifted(example).ravel(), 0.0))
    assert np.diff(values).min() > 2 * oracle_reach(values).max()


@given(examples(REGISTRY["batch_norm"]))
def test_no_channel_of_a_batch_norm_example_has_a_variance_near_zero(example: Example) -> None:
    x = shifted(example)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    count = x.size // x.shape[1]
    variance = x.var(axis=axes)
    assert count == 1 or variance.min() >= 0.0625
