import copy
import pickle
from collections.abc import Callable

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, as_array, as_variable


def test_keeps_floating_data_and_its_dtype_without_copying() -> None:
    data = np.arange(3, dtype=np.float32)
    x = Variable(data, name="x")
    assert x.data is data
    assert x.dtype == np.float32
    assert x.name == "x"
    assert x.grad is None
    assert x.creator is None
    assert x.generation == 0


@pytest.mark.parametrize(
    "data",
    [np.array([1, 2], dtype=np.int32), np.array([True, False]), np.uint8(3), 3, True, [1, 2]],
)
def test_promotes_integer_and_bool_data_to_float64(data: object) -> None:
    x = Variable(data)  # type: ignore[arg-type]  # NOTE: np.uint8 and bool are ArrayLike at runtime
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x.data, np.asarray(data, dtype=np.float64))


def test_python_and_numpy_scalars_become_0d_arrays() -> None:
    for value in (2.5, np.float32(2.5), np.float64(2.5)):
        x = Variable(value)
        assert type(x.data) is np.ndarray
        assert x.shape == ()
    assert Variable(np.float32(1)).dtype == np.float32


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (np.array([1 + 2j]), "complex128"),
        (np.array(["a"]), "<U1"),
        (np.array([object()]), "object"),
        ("text", "<U4"),
    ],
)
def test_refuses_non_real_data_naming_the_dtype(data: object, dtype: str) -> None:
    with pytest.raises(TypeError, match=f"real numbers; got .* of dtype {dtype}"):
        Variable(data)  # type: ignore[arg-type]  # NOTE: the point is the runtime check


def test_refuses_a_variable_as_data() -> None:
    with pytest.raises(TypeError, match="got a Variable"):
        Variable(Variable(1.0))  # type: ignore[arg-type]  # NOTE: the point is the runtime check


def test_shape_ndim_size_dtype_len() -> None:
    x = Variable(np.zeros((2, 3)))
    assert x.shape == (2, 3)
    assert x.ndim == 2
    assert x.size == 6
    assert x.dtype == np.float64
    assert len(x) == 2


def test_len_of_a_0d_variable_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        len(Variable(1.0))


def test_repr_indents_continuation_lines_under_the_prefix() -> None:
    assert repr(Variable(np.array([1.0, 2.0]))) == "variable([1. 2.])"
    assert repr(Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))) == (
        "variable([[1. 2.]\n          [3. 4.]])"
    )
    assert repr(Variable(None)) == "variable(None)"


def test_an_empty_variable_is_refused_clearly() -> None:
    empty = Variable(None)
    with pytest.raises(ValueError, match=r"variable\(None\) is empty"):
        _ = empty.shape
    with pytest.raises(ValueError, match="is empty"):
        _ = empty * 2.0
    with pytest.raises(ValueError, match="is empty"):
        empty.backward()


def test_cleargrad() -> None:
    x = Variable(2.0)
    (x * x).backward()
    assert x.grad is not None
    x.cleargrad()
    assert x.grad is None


def test_as_array_and_as_variable() -> None:
    a = as_array(2.0)
    assert type(a) is np.ndarray
    assert a.shape == ()
    x = Variable(1.0)
    assert as_variable(x) is x
    y = as_variable(np.array([1.0, 2.0]))
    assert isinstance(y, Variable)
    assert y.shape == (2,)


def test_truth_value_is_numpys() -> None:
    assert bool(Variable(2.0))
    assert not bool(Variable(np.array([0.0])))
    with pytest.raises(ValueError, match="truth value of an array with more than one element"):
        bool(Variable(np.ones(2)))


def test_as_array_refuses_a_variable() -> None:
    with pytest.raises(
        TypeError, match=r"as_array takes array data, not a Variable; use its .data"
    ):
        as_array(Variable(1.0))  # type: ignore[arg-type]  # NOTE: the point is the runtime check


EVERY_KIND_OF_COPY = pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))],
    ids=["copy", "deepcopy", "pickle"],
)


@EVERY_KIND_OF_COPY
def test_copying_a_non_leaf_is_refused_saying_how_to_copy_its_value(
    duplicate: Callable[[Variable], Variable],
) -> None:
    y = Variable(np.array(5.0)) * 2.0
    with pytest.raises(
        TypeError, match=r"cannot copy .* computed by Mul.*Variable\(y.data.copy\(\)\)"
    ):
        duplicate(y)


@EVERY_KIND_OF_COPY
def test_a_leaf_copies_with_its_data_name_and_grad(
    duplicate: Callable[[Variable], Variable],
) -> None:
    x = Variable(np.array([1.0, 2.0], dtype=np.float32), name="x")
    (x * x).sum().backward()
    c = duplicate(x)
    assert type(c) is Variable
    assert c is not x
    assert c.name == "x"
    assert c.creator is None
    np.testing.assert_array_equal(c.data, x.data)
    assert c.dtype == np.float32
    assert c.grad is not None
    np.testing.assert_array_equal(c.grad.data, [2.0, 4.0])
    (c * 1.0).sum().backward()
    np.testing.assert_array_equal(c.grad.data, [3.0, 5.0])
    np.testing.assert_array_equal(grad_of(x), [2.0, 4.0])


def test_a_deep_copy_of_a_leaf_is_independent() -> None:
    x = Variable(np.array([1.0, 2.0]))
    x.grad = Variable(np.array([1.0, 1.0]))
    c = copy.deepcopy(x)
    c.data[0] = 9.0
    assert c.grad is not None
    c.grad.data[0] = 9.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    np.testing.assert_array_equal(grad_of(x), [1.0, 1.0])


def test_a_leaf_whose_gradient_has_a_graph_copies_the_gradients_value() -> None:
    x = Variable(np.array(3.0))
    (x * x).backward(create_graph=True)
    c = pickle.loads(pickle.dumps(x))
    assert c.grad is not None
    assert c.grad.creator is None
    assert c.grad.data == 6.0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (2**70, np.array(float(2**70))),
        ([2**70, 1], np.array([float(2**70), 1.0])),
        ([[2**64, -(2**80)], [3, 0.5]], np.array([[float(2**64), -float(2**80)], [3.0, 0.5]])),
        (-(2**63) - 1, np.array(-float(2**63))),
    ],
)
def test_python_integers_of_any_size_become_float64(data: object, expected: np.ndarray) -> None:
    x = Variable(data)  # type: ignore[arg-type]  # NOTE: lists of big ints are ArrayLike too
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x.data, expected)


@pytest.mark.parametrize("data", [2**1100, [1, -(2**1100)]])
def test_an_integer_too_large_for_float64_is_refused_by_name(data: object) -> None:
    with pytest.raises(
        ValueError, match=r"integer -?1358\.\.\.\(332 digits\) is too large for float64"
    ):
        Variable(data)  # type: ignore[arg-type]  # NOTE: lists of big ints are ArrayLike too
