"""NumPy's ufuncs and functions given Variables, np.asarray, and comparisons."""

import contextlib
import io
import operator
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_ref
from tests.helpers import grad_of
from tinygrad_ref import REGISTRY, Operand, Variable, gradcheck, interop, no_grad, stack, viz
from tinygrad_ref.ops import (
    Concatenate,
    Exp,
    MatMul,
    MulConstant,
    Reshape,
    Rpow,
    Split,
    Stack,
    Sub,
    Sum,
)

# NOTE: NumPy's stubs refuse a Variable where these tests pass one on purpose, so NumPy is called
# through an untyped name.
npa: Any = np


def dezero_step_28() -> list[str]:
    """DeZero's step 28 as the book writes it: gradient descent on Rosenbrock's function."""

    def rosenbrock(x0: Any, x1: Any) -> Any:
        return 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2

    # NOTE: untyped, as DeZero's code is: NumPy's stubs refuse `ndarray -= Variable`, which runs
    x0: Any = Variable(np.array(0.0))
    x1: Any = Variable(np.array(2.0))
    lr, lines = 0.001, []
    for _ in range(1000):
        lines.append(f"{x0} {x1}")
        y = rosenbrock(x0, x1)
        x0.cleargrad()
        x1.cleargrad()
        y.backward()
        x0.data -= lr * x0.grad
        x1.data -= lr * x1.grad
    return lines


def dezero_step_29() -> list[str]:
    """DeZero's step 29: Newton's method with the second derivative written by hand."""

    def f(x: Variable) -> Variable:
        return x**4 - 2 * x**2

    def gx2(x: Any) -> Any:
        return 12 * x**2 - 4

    x, lines = Variable(np.array(2.0)), []
    for i in range(10):
        lines.append(f"{i} {x}")
        y = f(x)
        x.cleargrad()
        y.backward()
        x.data -= x.grad / gx2(x.data)
    return lines


def test_dezero_steps_28_and_29_print_what_dezero_prints() -> None:
    # NOTE: the lines DeZero 0.0.13 (dezero.core_simple) prints for the same code.
    step_28 = dezero_step_28()
    assert step_28[:3] == [
        "variable(0.0) variable(2.0)",
        "variable(0.002) variable(1.6)",
        "variable(0.0052759968) variable(1.2800008)",
    ]
    assert step_28[-1] == "variable(0.6834917840420289) variable(0.46565059996514135)"
    assert dezero_step_29() == [
        "0 variable(2.0)",
        "1 variable(1.4545454545454546)",
        "2 variable(1.1510467893775467)",
        "3 variable(1.0253259289766978)",
        "4 variable(1.0009084519430513)",
        "5 variable(1.0000012353089454)",
        "6 variable(1.000000000002289)",
        "7 variable(1.0)",
        "8 variable(1.0)",
        "9 variable(1.0)",
    ]


def test_ufuncs_record_the_op_the_operators_record() -> None:
    x = Variable(np.array([1.0, 2.0]))
    a = np.array([3.0, 4.0])
    y = np.exp(x)
    assert isinstance(y, Variable)
    assert isinstance(y.creator, Exp)
    assert isinstance((a * x).creator, MulConstant)
    assert isinstance(npa.subtract(a, x).creator, Sub)
    assert isinstance((np.float64(2.0) ** x).creator, Rpow)
    assert isinstance(npa.matmul(a, x).creator, MatMul)
    z = np.sum(a * np.exp(x) - x)
    z.backward()
    np.testing.assert_allclose(grad_of(x), a * np.exp([1.0, 2.0]) - 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ufuncs_give_the_operators_dtypes(dtype: type[np.floating[Any]]) -> None:
    x = Variable(np.array([1.0, 2.0], dtype=dtype))
    others: list[Operand] = [2.0, 3, np.float64(2), np.float32(2), np.array([1.0, 2.0], np.float32)]
    for other in others:
        assert npa.add(x, other).dtype == (x + other).dtype
        assert npa.multiply(other, x).dtype == (other * x).dtype
        assert npa.divide(other, x).dtype == (other / x).dtype
        assert npa.power(x, other).dtype == (x**other).dtype


def test_out_an_ndarray_computes_on_the_data_and_records_nothing() -> None:
    x = Variable(np.array([1.0, 2.0]))
    y = x * 3
    out = np.zeros(2)
    result = npa.add(y, x, out=out)
    assert result is out
    np.testing.assert_array_equal(out, [4.0, 8.0])
    a: Any = np.ones(2)
    a -= y
    np.testing.assert_array_equal(a, [-2.0, -5.0])
    npa.add.at(a, [0, 0], x)  # NOTE: also into an ndarray
    np.testing.assert_array_equal(a, [1.0, -5.0])
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [3.0, 3.0])


def test_out_a_variable_is_refused() -> None:
    x = Variable(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"np.add cannot write into a Variable: .* corrupt the"):
        npa.add(x, 1.0, out=x)
    with pytest.raises(TypeError, match=r"np.add.at cannot write into a Variable"):
        np.add.at(x, [0], 1.0)
    with pytest.raises(TypeError, match=r"np.sum cannot write into a Variable"):
        npa.sum(np.ones(2), out=x)


def test_ufuncs_without_an_op_and_keywords_an_op_cannot_honour_are_refused() -> None:
    x = Variable(np.array([1.0, 2.0]))
    with pytest.raises(
        TypeError, match=r"np.spacing does not take .* \(tinygrad_ref.interop.supported\(\)"
    ):
        np.spacing(x)
    with pytest.raises(TypeError, match=r"np.bitwise_and does not take a Variable"):
        npa.bitwise_and(x, 1)
    for keyword, value in [("dtype", np.float32), ("where", x > 1), ("casting", "unsafe")]:
        with pytest.raises(TypeError, match=f"np.exp\\(\\): {keyword}= is not supported"):
            npa.exp(x, **{keyword: value})
    with pytest.raises(TypeError, match=r"np.add.reduce\(\): initial= is not supported"):
        npa.add.reduce(x, initial=1.0)
    for multiple in (np.divmod, np.modf, np.frexp):
        with pytest.raises(TypeError, match=f"np.{multiple.__name__} has 2 outputs"):
            getattr(npa, multiple.__name__)(*[x] * multiple.nin)
    assert "np.exp" in interop.supported()
    assert "np.spacing" not in interop.supported()


def test_reduce_and_outer_map_onto_ops() -> None:
    m = Variable(np.arange(6.0).reshape(2, 3))
    y = npa.add.reduce(m)  # NOTE: NumPy's default axis is 0, not None
    assert isinstance(y.creator, Sum)
    np.testing.assert_array_equal(y.data, [3.0, 5.0, 7.0])
    assert npa.add.reduce(m, axis=None, keepdims=True).shape == (1, 1)
    v = Variable(np.array([1.0, 2.0]))
    outer = npa.multiply.outer(m, v)
    np.testing.assert_array_equal(outer.data, np.multiply.outer(m.data, v.data))
    outer.backward()
    np.testing.assert_array_equal(grad_of(v), [15.0, 15.0])
    np.testing.assert_array_equal(grad_of(m), np.full((2, 3), 3.0))
    assert npa.subtract.outer(2.0, v).shape == (2,)
    with pytest.raises(TypeError, match=r"np.add.accumulate does not take a Variable"):
        npa.add.accumulate(v)
    with pytest.raises(TypeError, match=r"np.subtract.reduce does not take a Variable"):
        npa.subtract.reduce(v)


def test_comparisons_compare_the_data_as_numpy_does() -> None:
    x = Variable(np.array([1.0, 2.0]))
    a = np.array([1.0, 3.0])
    for result, expected in [
        (x == a, [True, False]),
        (a == x, [True, False]),
        (x != Variable(a), [False, True]),
        (x < a, [False, True]),
        (a <= x, [True, False]),
        (operator.gt(2.0, x), [True, False]),
        (x >= 2, [False, True]),
        (npa.less(x, a), [False, True]),
        (np.isfinite(x), [True, True]),
    ]:
        assert type(result) is np.ndarray
        assert result.dtype == np.bool_
        np.testing.assert_array_equal(result, expected)
    zero_d = Variable(np.array(1.0)) == 1.0
    assert type(zero_d) is np.ndarray
    assert zero_d.shape == ()
    assert zero_d
    assert (x == None).tolist() == [False, False]  # noqa: E711  # NOTE: NumPy's `==`, elementwise
    with pytest.raises(TypeError):
        operator.lt(x, "a")


def test_variables_stay_keys_by_identity() -> None:
    x, y = Variable(np.array(1.0)), Variable(np.array(1.0))
    assert hash(x) != hash(y)
    assert {x: 1, y: 2}[y] == 2
    assert len({x, y}) == 2
    assert x in [x]
    # NOTE: `in` compares elementwise, as for ndarrays: equal values look alike.
    assert x in [y]


@contextlib.contextmanager
def comparisons_forbidden() -> Iterator[None]:
    def refuse(self: Variable, other: object) -> Any:
        raise AssertionError("the library compared two Variables")

    saved = Variable.__eq__, Variable.__ne__
    # NOTE: patched to prove that they are never called
    Variable.__eq__, Variable.__ne__ = refuse, refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        Variable.__eq__, Variable.__ne__ = saved  # type: ignore[method-assign]  # NOTE: restored


def test_the_library_never_compares_variables() -> None:
    x = Variable(np.array([1.0, 2.0]))
    with comparisons_forbidden():
        y = (x * x + x).sum()
        y.backward(create_graph=True)
        assert x.grad is not None
        x.grad.sum().backward()
        viz.to_dot(y)
        assert gradcheck(lambda x: (x * x).sum(), Variable(np.array([1.0, 2.0])))


def test_dot_follows_numpys_rules() -> None:
    rng = np.random.default_rng(0)
    shapes = [
        ((), (3,)),
        ((2,), ()),
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
    ]
    shapes += [((4, 2, 3), (3, 5)), ((2, 3), (4, 3, 5)), ((2, 2, 3), (4, 3, 5))]
    for sa, sb in shapes:
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        for x, y in [(Variable(a), Variable(b)), (a, Variable(b)), (Variable(a), b)]:
            result = npa.dot(x, y)
            assert isinstance(result, Variable)
            assert result.shape == np.dot(a, b).shape
            np.testing.assert_allclose(result.data, np.dot(a, b), rtol=1e-12, atol=1e-12)
        assert gradcheck(lambda x, y: npa.dot(x, y), Variable(a), Variable(b))
    assert (
        npa.dot(2.0, Variable(np.ones(2, np.float32))).dtype == np.dot(2.0, np.ones(2, "f4")).dtype
    )
    with pytest.raises(ValueError, match=r"dot of shapes \(2, 3\) and \(4, 2, 5\)"):
        npa.dot(Variable(np.ones((2, 3))), np.ones((4, 2, 5)))


def test_vdot_flattens_and_multiplies() -> None:
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
    x = Variable(a)
    y = npa.vdot(x, b)
    assert y.shape == ()
    assert float(y.data) == np.vdot(a, b)
    y.backward()
    np.testing.assert_array_equal(grad_of(x), b.reshape(2, 3))
    with pytest.raises(ValueError, match=r"vdot of shapes \(2, 3\) and \(2,\): their sizes differ"):
        npa.vdot(x, np.ones(2))


def test_numpy_functions_dispatch_with_numpys_signatures() -> None:
    m = Variable(np.arange(6.0).reshape(2, 3))
    assert npa.sum(m, 1, None, None, True).shape == (2, 1)
    assert npa.mean(m, axis=0).shape == (3,)
    y = npa.reshape(m, (3, 2))
    assert isinstance(y.creator, Reshape)
    assert y.shape == (3, 2)
    assert npa.reshape(m, shape=-1, order="C").shape == (6,)
    assert npa.transpose(m, (1, 0)).shape == (3, 2)
    assert npa.broadcast_to(Variable(np.ones(3)), (2, 3), subok=False).shape == (2, 3)
    with pytest.raises(TypeError, match=r"np.reshape\(\): order= is not supported"):
        npa.reshape(m, (6,), order="F")
    with pytest.raises(TypeError, match=r"sum's dtype= must be a floating dtype, not int64"):
        npa.sum(m, 0, np.int64)
    with pytest.raises(TypeError, match=r"np.mean\(\): where= is not supported"):
        npa.mean(m, where=np.ones((2, 3), bool))


def test_numpy_joins_and_splits_take_numpys_sequences() -> None:
    x, a = Variable(np.array([1.0, 2.0])), np.array([3.0, 4.0])
    joined = npa.concatenate([x, a], axis=0)
    assert isinstance(joined.creator, Concatenate)
    assert joined.data.tolist() == [1.0, 2.0, 3.0, 4.0]
    stacked = npa.stack((a, x), 1)
    assert isinstance(stacked.creator, Stack)
    assert stacked.data.tolist() == [[3.0, 1.0], [4.0, 2.0]]
    parts = npa.split(joined, [1])
    assert isinstance(parts, tuple)
    assert [p.data.tolist() for p in parts] == [[1.0], [2.0, 3.0, 4.0]]
    assert isinstance(parts[0].creator, Split)
    (parts[1].sum() * 2.0 + stacked[0, 1] * 5.0).backward()
    assert grad_of(x).tolist() == [5.0, 2.0]
    with pytest.raises(TypeError, match=r"np.concatenate\(\): dtype= is not supported"):
        npa.concatenate([x, a], dtype=np.float32)


def test_functions_that_inspect_values_run_on_the_data() -> None:
    x = Variable(np.array([1.0, np.inf]))
    assert npa.allclose(x, [1.0, np.inf]) is True
    np.testing.assert_array_equal(npa.isclose(x, Variable(np.array([1.0, 0.0]))), [True, False])
    assert npa.shape(x) == (2,)
    assert npa.ndim(x) == 1
    assert npa.size(x) == 2
    assert npa.array_equal(x, x.data)
    assert npa.argmax(x) == 1
    np.testing.assert_array_equal(np.isfinite(x), [True, False])


def test_other_numpy_functions_are_refused_by_name() -> None:
    x = Variable(np.array([1.0, 2.0]))
    for func, name in [
        (npa.median, "np.median"),
        (npa.cov, "np.cov"),
        (npa.linalg.cond, "np.linalg.cond"),
        (npa.nancumprod, "np.nancumprod"),
    ]:
        with pytest.raises(TypeError, match=f"{name} does not take a Variable"):
            func(x)


def test_asarray_gives_the_data_when_nothing_is_recorded() -> None:
    x = Variable(np.array([1.0, 2.0]))
    with no_grad():
        assert np.asarray(x) is x.data
        copied = np.array(x)
        assert copied is not x.data
        assert not np.shares_memory(copied, x.data)
        assert np.asarray(x, copy=False) is x.data
        assert np.asarray(x, dtype=np.float32).dtype == np.float32
        with pytest.raises(ValueError, match="needs a copy"):
            np.asarray(x, dtype=np.float32, copy=False)
        stacked = np.array([x, Variable(np.array([3.0, 4.0]))])
        assert stacked.dtype == np.float64
        assert stacked.shape == (2, 2)
        with pytest.raises(ValueError, match="is empty"):
            np.asarray(Variable(None))


def test_zero_d_variables_give_a_plain_array_and_floats_when_nothing_is_recorded() -> None:
    v, w = Variable(np.array(2.0)), Variable(np.array(3.0, dtype=np.float32))
    with no_grad():
        assert float(v) == 2.0
        assert type(float(v)) is float
        built = np.array([[v, w], [w, v]])
        np.testing.assert_array_equal(built, [[2.0, 3.0], [3.0, 2.0]])
        assert built.dtype == np.float64
        np.testing.assert_array_equal(np.r_[v, w], [2.0, 3.0])
        np.testing.assert_array_equal(
            np.c_[Variable(np.array([1.0, 2.0])), [3.0, 4.0]], [[1.0, 3.0], [2.0, 4.0]]
        )
        with pytest.raises(TypeError, match=r"only (0-dimensional|length-1) arrays"):
            float(Variable(np.array([1.0, 2.0])))


CONVERSIONS: list[tuple[str, Any]] = [
    ("np.asarray", lambda x, y: np.asarray(x)),
    ("np.array", lambda x, y: np.array(x)),
    ("np.array of a list", lambda x, y: np.array([x, y])),
    ("np.array of nested lists", lambda x, y: np.array([[x, y], [y, x]])),
    ("np.r_", lambda x, y: np.r_[x, y]),
    ("np.c_", lambda x, y: np.c_[x, y]),
    ("float", lambda x, y: float(x)),
    ("np.testing.assert_allclose", lambda x, y: np.testing.assert_allclose(x, 2.0)),
]


@pytest.mark.parametrize(("name", "convert"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_converting_a_variable_while_recording_is_refused_saying_what_to_use(
    name: str, convert: Any
) -> None:
    x, y = Variable(np.array(2.0)), Variable(np.array(3.0))
    with pytest.raises(TypeError, match="while a graph is recorded would drop the graph") as info:
        convert(x, y)
    for advice in ("tinygrad_ref.stack or concatenate", "v.data", "no_grad()"):
        assert advice in str(info.value)
    with no_grad():
        convert(x, y)


def test_conversion_is_refused_inside_a_transform_also_forward_mode() -> None:
    def through_numpy(x: Variable) -> Variable:
        return Variable(np.asarray(x)) * x

    with pytest.raises(TypeError, match="would drop the graph"):
        tinygrad_ref.grad(through_numpy)(np.array(2.0))
    with no_grad(), pytest.raises(TypeError, match="would drop the graph"):
        tinygrad_ref.jvp(through_numpy, (np.array(2.0),), (np.array(1.0),))


def test_what_records_instead_gives_the_gradient() -> None:
    x = Variable(np.array(2.0))
    y = stack([x, x * x])
    (y * np.array([1.0, 10.0])).sum().backward()
    assert grad_of(x) == 1.0 + 10.0 * 2 * 2.0


def test_numpy_testing_compares_the_data_when_nothing_is_recorded() -> None:
    x = Variable(np.array([1.0, 2.0]))
    with no_grad():
        npa.testing.assert_allclose(x, [1.0, 2.0])
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            print(np.array([x]))
    assert printed.getvalue() == "[[1. 2.]]\n"
    npa.testing.assert_allclose(x.data, [1.0, 2.0])


def test_every_numpy_spelling_dispatches_to_one_op() -> None:
    for spec in REGISTRY.values():
        for target in spec.numpy:
            key = interop.ufunc_key(target)
            dispatch = interop.FUNCTIONS[target] if key is None else interop.UFUNCS[key]
            if not spec.numpy_reflected:
                assert dispatch == interop.dispatch_of(spec), spec.name


# NOTE: the ops whose NumPy name differs from theirs.
NUMPY_NAMES = {"sub": "subtract", "mul": "multiply", "div": "divide", "neg": "negative"}
REDUCTIONS = {"sum": np.add.reduce, "max": np.maximum.reduce, "min": np.minimum.reduce}
ALIASES = {np.max: np.amax, np.min: np.amin}


def numpy_counterparts(name: str, reference: object) -> set[object]:
    """The ufuncs and functions of NumPy an op of ``name`` computes: by name, and its reference
    when that is one; a reduction's ufunc method; NumPy's aliases of them."""
    base = name.removesuffix("_constant")
    found = {getattr(np, NUMPY_NAMES.get(base, base), None), reference}
    found = {f for f in found if isinstance(f, np.ufunc) or hasattr(f, "_implementation")}
    found |= {REDUCTIONS[base]} if base in REDUCTIONS else set()
    return found | {ALIASES[f] for f in found if f in ALIASES}


def test_every_op_with_a_numpy_counterpart_is_reachable_through_it() -> None:
    missing = {
        (name, str(target))
        for name, spec in REGISTRY.items()
        for target in numpy_counterparts(name, spec.reference)
        if target not in spec.numpy
    }
    assert not missing, f"ops whose NumPy counterpart is not in their spec's numpy: {missing}"
    assert numpy_counterparts("sub_constant", None) == {np.subtract}
    assert np.max in numpy_counterparts("max", None)


def clip_like(x: Operand, x_min: float, x_max: float) -> Variable:
    raise NotImplementedError


def test_numpy_parameters_map_onto_the_ops_by_position_then_name() -> None:
    sum_names = interop.parameter_names(np.sum, interop.Dispatch(tinygrad_ref.sum, 1))
    assert sum_names == {"a": "x", "axis": "axis", "dtype": "dtype", "keepdims": "keepdims"}
    add_names = interop.parameter_names(np.add, interop.Dispatch(tinygrad_ref.add, 2))
    assert add_names == {"x1": "x0", "x2": "x1"}
    clip_names = interop.parameter_names(np.clip, interop.Dispatch(clip_like, 1))
    assert clip_names == {"a": "x", "a_min": "x_min", "a_max": "x_max"}


def test_the_docs_list_exactly_the_supported_numpy_functions() -> None:
    page = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    block = re.search(r"<!-- supported: .*? -->\n  ```text\n(.*?)  ```", page, flags=re.DOTALL)
    assert block is not None, "docs/operations.md's list of supported NumPy functions is missing"
    assert block.group(1).split() == interop.supported()
