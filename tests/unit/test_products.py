import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, cross, inner, kron, outer


def test_the_products_match_numpy_on_operands_of_every_rank() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(outer(Variable(a), b).data, np.outer(a, b))
    np.testing.assert_allclose(inner(Variable(a), b).data, np.inner(a, b))
    np.testing.assert_allclose(inner(Variable(a), 2.0).data, np.inner(a, 2.0))
    np.testing.assert_allclose(kron(Variable(a), b[0]).data, np.kron(a, b[0]))
    np.testing.assert_allclose(cross(Variable(a), b[:2]).data, np.cross(a, b[:2]))
    np.testing.assert_allclose(
        cross(Variable(a.T), b[:2], axisa=0, axisc=0).data, np.cross(a.T, b[:2], axisa=0, axisc=0)
    )


def test_the_cross_product_gradient_is_the_cross_with_the_other() -> None:
    # NOTE: d/da <c, a x b> = b x c
    a, b, c = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 2.0]), np.array([0.3, -2.0, 1.0])
    x = Variable(a)
    (cross(x, b) * c).sum().backward()
    np.testing.assert_allclose(grad_of(x), np.cross(b, c))


def test_cross_refuses_what_numpy_2_deprecates_and_wrong_sizes_by_name() -> None:
    x = Variable(np.ones((4, 2)))
    with pytest.raises(ValueError, match="cross of 2-dimensional vectors is deprecated in NumPy"):
        cross(x, x)
    with pytest.raises(ValueError, match=r"cross needs vectors of 3 components .* got 4 and 4"):
        cross(x, x, axis=0)
    with pytest.raises(ValueError, match="cross needs arrays of at least 1 dimension for axisa"):
        cross(Variable(np.float64(1.0)), np.ones(3))
    with pytest.raises(ValueError, match=r"inner of shapes \(4, 2\) and \(3,\)"):
        inner(x, np.ones(3))
