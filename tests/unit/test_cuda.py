"""tinygrad_ref.cuda: DeZero's module as DeZero has it without CuPy."""

import numpy as np
import pytest

from tinygrad_ref import Variable, cuda


def test_there_is_no_gpu_and_numpy_computes_everything() -> None:
    assert cuda.gpu_enable is False
    assert cuda.get_array_module(Variable(np.ones(2))) is np
    assert cuda.get_array_module(np.ones(2)) is np
    x = np.arange(3.0)
    assert cuda.as_numpy(x) is x
    np.testing.assert_array_equal(cuda.as_numpy(Variable(x)), x)
    assert cuda.as_numpy(2.5).shape == ()
    with pytest.raises(RuntimeError, match="no GPU backend"):
        cuda.as_cupy(x)
