"""The keywords NumPy users write, given a Variable: clip's missing bounds and NumPy 2.1's
``min=``/``max=``, ``where=True``, reshape's ``shape=`` and ``newshape=``, and ``dtype=`` where it
only selects a floating dtype; every other value refused by name."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Variable, clip, cumprod, cumsum, interop, mean, prod, std, sum, trace, var
from tinygrad_ref.ops import Cast, Clip, Reshape

npa: Any = np  # NOTE: NumPy's stubs type its functions on arrays; these take Variables
X = np.array([[-3.0, -1.0, 0.0], [2.0, 4.0, 0.5]])


@pytest.mark.parametrize(
    ("call", "expected", "gradient"),
    [
        (lambda v: npa.clip(v, None, 2.0), np.clip(X, None, 2.0), X <= 2.0),
        (lambda v: npa.clip(v, -1.0, None), np.clip(X, -1.0, None), X >= -1.0),
        (lambda v: npa.clip(v, min=-1.0, max=2.0), np.clip(X, -1.0, 2.0), abs(X - 0.5) <= 1.5),
        (lambda v: npa.clip(v, max=0.0), np.minimum(X, 0.0), X <= 0.0),
        (lambda v: npa.clip(v, None, None), X, np.ones_like(X)),
        (lambda v: clip(v, min=0.5), np.maximum(X, 0.5), X >= 0.5),
    ],
)
def test_clip_takes_a_missing_bound_and_numpy_2_1_keywords(
    call: Callable[[Variable], Variable], expected: np.ndarray, gradient: np.ndarray
) -> None:
    x = Variable(X)
    y = call(x)
    assert isinstance(y.creator, Clip)
    np.testing.assert_array_equal(y.data, expected)
    y.backward()
    np.testing.assert_array_equal(grad_of(x), gradient.astype(float))


def test_clip_refuses_a_bound_given_twice() -> None:
    with pytest.raises(TypeError, match=r"clip's bound is given twice, as x_min \(a_min\) and min"):
        npa.clip(Variable(X), 0.0, 1.0, min=0.0)
    with pytest.raises(TypeError, match=r"as x_max \(a_max\) and max"):
        clip(Variable(X), None, 1.0, max=2.0)


@pytest.mark.parametrize("where", [True, np.True_])
def test_where_true_is_the_default(where: object) -> None:
    x = Variable(X)
    for f in (npa.sum, npa.max, npa.min, npa.mean, npa.prod):
        assert f(x, axis=0, where=where).data.tolist() == f(X, axis=0).tolist()
    np.testing.assert_array_equal(npa.exp(x, where=where).data, np.exp(X))


@pytest.mark.parametrize("where", [False, np.ones((2, 3), bool), [True, False, True]])
def test_any_other_where_is_refused_by_name(where: object) -> None:
    for name in ("sum", "max", "min", "mean"):
        with pytest.raises(
            TypeError, match=rf"np.{name}\(\): where= is not supported with a Variable \(only "
        ):
            getattr(np, name)(Variable(X), where=where)


def test_reshape_takes_shape_by_keyword() -> None:
    y = npa.reshape(Variable(X), shape=(3, 2))
    assert isinstance(y.creator, Reshape)
    assert y.shape == (3, 2)


def reshape_2_1(a: Any, /, shape: Any = None, order: str = "C", *, newshape: Any = None) -> Any:
    """``np.reshape``'s signature in NumPy 2.1 to 2.3, which take ``newshape=`` too (2.4 refuses
    it before any dispatch, for arrays as for Variables)."""


def reshape_2_0(a: Any, newshape: Any, order: str = "C") -> Any:
    """``np.reshape``'s signature in NumPy 2.0."""


@pytest.mark.parametrize("numpy_reshape", [reshape_2_1, reshape_2_0])
def test_reshape_takes_newshape_where_numpy_does(numpy_reshape: Callable[..., Any]) -> None:
    # NOTE: the installed NumPy's own reshape has no newshape parameter to dispatch
    dispatch = interop.FUNCTIONS[np.reshape]
    y = interop._run(numpy_reshape, dispatch, {"a": Variable(X), "newshape": (3, 2)})
    assert isinstance(y, Variable)
    assert y.shape == (3, 2)
    with pytest.raises(TypeError, match=r"np.reshape\(\): the new shape is missing"):
        interop._run(reshape_2_1, dispatch, {"a": Variable(X)})
    with pytest.raises(TypeError, match=r"give shape= or newshape= \(its older name\), not both"):
        interop._run(reshape_2_1, dispatch, {"a": Variable(X), "shape": 6, "newshape": 6})


DTYPE_SPELLINGS: list[tuple[str, Callable[..., Any]]] = [
    ("sum", lambda x, dtype: npa.sum(x, 0, dtype)),
    ("sum", lambda x, dtype: npa.add.reduce(x, axis=None, dtype=dtype)),
    ("sum", lambda x, dtype: x.sum(dtype=dtype)),
    ("mean", lambda x, dtype: npa.mean(x, axis=1, dtype=dtype)),
    ("mean", lambda x, dtype: x.mean(dtype=dtype)),
    ("prod", lambda x, dtype: npa.prod(x, dtype=dtype)),
    ("prod", lambda x, dtype: x.prod(1, dtype=dtype)),
    ("var", lambda x, dtype: npa.var(x, dtype=dtype, ddof=1)),
    ("std", lambda x, dtype: x.std(0, dtype=dtype)),
    ("cumsum", lambda x, dtype: npa.cumsum(x, dtype=dtype)),
    ("cumsum", lambda x, dtype: x.cumsum(1, dtype=dtype)),
    ("cumprod", lambda x, dtype: npa.cumprod(x, 0, dtype)),
    ("trace", lambda x, dtype: npa.trace(x, dtype=dtype)),
]


@pytest.mark.parametrize(("name", "call"), DTYPE_SPELLINGS)
@pytest.mark.parametrize("dtype", [np.float32, "float64", np.dtype(np.float16)])
def test_dtype_selects_the_floating_dtype_computed_in_and_returned(
    name: str, call: Callable[..., Any], dtype: Any
) -> None:
    x = Variable(X.astype(np.float32))
    y = call(x, dtype)
    assert isinstance(y, Variable)
    assert y.dtype == np.dtype(dtype)
    expected = call(X.astype(np.float32), dtype)
    np.testing.assert_allclose(y.data, expected, rtol=np.finfo(np.dtype(dtype)).eps * 8)
    y.sum().backward()
    assert grad_of(x).dtype == np.float32  # NOTE: the gradient converts back, as astype's


@pytest.mark.parametrize(("name", "call"), DTYPE_SPELLINGS)
@pytest.mark.parametrize("dtype", [int, np.int32, bool, complex, "U3"])
def test_any_other_dtype_is_refused_by_name(
    name: str, call: Callable[..., Any], dtype: Any
) -> None:
    message = rf"{name}'s dtype= must be a floating dtype, not {np.dtype(dtype)}"
    with pytest.raises(TypeError, match=message):
        call(Variable(X), dtype)


def test_dtype_none_or_the_operands_own_adds_no_conversion() -> None:
    x = Variable(X)
    for dtype in (None, np.float64):
        y = npa.sum(x, dtype=dtype)
        assert y.creator is not None
        assert y.creator.inputs[0] is x
    y = npa.sum(x, dtype=np.float32)
    assert y.creator is not None
    assert isinstance(y.creator.inputs[0].creator, Cast)


def test_the_functions_take_dtype_too() -> None:
    x = Variable(X)
    for f in (sum, mean, prod, var, std, cumsum, cumprod, trace):
        assert f(x, dtype=np.float32).dtype == np.float32
