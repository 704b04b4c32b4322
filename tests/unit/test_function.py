"""User-defined Functions, written the way DeZero's book writes them."""

import gc
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_ref as tg
from tests.helpers import Linear, grad_of
from tinygrad_ref import Array, Function, Tensor, Variable
from tinygrad_ref.ops import Sigmoid


class Square(Function):
    def forward(self, x: Array) -> Array:
        return x**2

    def backward(self, gy: Variable) -> Variable:
        x = self.inputs[0]
        return 2 * x * gy


class Scale(Function):
    def __init__(self, factor: float) -> None:
        self.factor = factor

    def forward(self, x: Array) -> Array:
        return x * self.factor

    def backward(self, gy: Variable) -> Variable:
        return gy * self.factor


def test_a_dezero_style_function_records_its_node() -> None:
    x = Variable(np.array(3.0))
    f = Square()
    y = f(x)
    assert y.creator is f
    assert f.inputs == [x]
    assert f.outputs[0]() is y
    assert f.generation == 0
    assert y.generation == 1
    y.backward()
    assert x.grad is not None
    assert x.grad.data == 6.0


def test_outputs_are_weak_references() -> None:
    gc.disable()
    try:
        x = Variable(np.array(3.0))
        f = Square()
        y = f(x)
        output = weakref.ref(y)
        del y
        assert output() is None
        assert f.outputs[0]() is None
    finally:
        gc.enable()


def test_parameters_set_in_init_and_two_inputs() -> None:
    x = Variable(np.array([1.0, 2.0]))
    w = Variable(np.array([3.0, 4.0]))
    y = Linear()(Scale(2.0)(x), w)
    y.backward()
    assert x.grad is not None
    assert w.grad is not None
    np.testing.assert_array_equal(x.grad.data, [6.0, 8.0])
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])


def test_second_derivative_through_a_user_function() -> None:
    x = Variable(np.array(3.0))
    y = Square()(Square()(x))  # x^4
    y.backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    assert gx.data == 108.0
    x.cleargrad()
    gx.backward()
    assert x.grad is not None
    assert x.grad.data == 108.0  # 12 x^2


def test_an_instance_called_twice_raises_instead_of_corrupting_its_graph() -> None:
    f = Square()
    y = f(Variable(2.0))
    with pytest.raises(RuntimeError, match="this Square instance is already a node of a graph"):
        f(Variable(3.0))
    assert y.creator is f
    assert f.inputs[0].data == 2.0


class Scaled(Function):
    """A Function whose own __init__ does not call Function's (DeZero's users write them so)."""

    def __init__(self, c: float) -> None:
        self.c = c

    def forward(self, x: Array) -> Array:
        return x * self.c

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * self.c


@pytest.mark.parametrize("make", [Square, lambda: Scaled(2.0), lambda: tg.ops.MulConstant(2.0)])
def test_any_function_called_twice_raises_and_has_outputs_only_once_recorded(
    make: Callable[[], Function],
) -> None:
    f = make()
    with pytest.raises(AttributeError, match="has no outputs: it is not a node of a graph yet"):
        f.outputs  # noqa: B018
    with pytest.raises(AttributeError, match="has no inputs: it is not a node of a graph yet"):
        f.inputs  # noqa: B018
    with tg.no_grad():
        f(Variable(3.0))  # NOTE: not recorded, so it may be called again
    x = Variable(2.0)
    y = f(x)
    assert f.outputs[0]() is y
    assert f.outputs is f.outputs
    assert len(f.outputs) == 1
    assert f.inputs == [x]
    assert f.inputs is f.inputs
    assert f.inputs[0] is x
    with pytest.raises(RuntimeError, match="instance is already a node of a graph"):
        f(Variable(3.0))


def test_operands_are_converted_like_operators_do() -> None:
    y = Linear()(np.array([1.0, 2.0], dtype=np.float32), 3)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [3.0, 6.0])


def test_integer_output_becomes_float64_and_0d_results_stay_arrays() -> None:
    class Count(Function):
        def forward(self, x: Array) -> object:
            return np.int64(x.size)

    y = Count()(np.ones(3))
    assert type(y.data) is np.ndarray
    assert y.dtype == np.float64
    assert y.data == 3.0


def test_forward_returning_an_empty_tuple_is_refused() -> None:
    class Nothing(Function):
        def forward(self, x: Array) -> tuple[()]:
            return ()

    with pytest.raises(TypeError, match=r"Nothing.forward returned an empty tuple"):
        Nothing()(Variable(1.0))


def test_missing_forward_and_backward_are_named() -> None:
    class Nothing(Function):
        pass

    with pytest.raises(NotImplementedError, match="Nothing does not define forward"):
        Nothing()(Variable(1.0))

    class NoBackward(Function):
        def forward(self, x: Array) -> Array:
            return x

    y = NoBackward()(Variable(1.0))
    with pytest.raises(NotImplementedError, match="NoBackward defines neither backward"):
        y.backward()


def test_a_gradient_of_the_wrong_shape_is_refused() -> None:
    class Bad(Function):
        def forward(self, x: Array) -> Array:
            return x[:1]

        def backward(self, gy: Variable) -> Variable:
            return gy

    y = Bad()(Variable(np.ones(3)))
    with pytest.raises(
        ValueError,
        match=r"Bad.backward's gradient for input 0 has shape \(1,\), but its variable has "
        r"shape \(3,\)",
    ):
        y.backward()


def test_the_wrong_number_of_gradients_is_refused() -> None:
    class Bad(Function):
        def forward(self, x0: Array, x1: Array) -> Array:
            return x0 + x1

        def backward(self, gy: Variable) -> Variable:
            return gy

    y = Bad()(Variable(1.0), Variable(2.0))
    with pytest.raises(ValueError, match="returned 1 gradients for 2 inputs"):
        y.backward()


def test_a_gradient_that_is_not_a_variable_is_refused() -> None:
    class Bad(Function):
        def forward(self, x: Array) -> Array:
            return x

        def backward(self, gy: Variable) -> object:
            return [gy]

    y = Bad()(Variable(1.0))
    with pytest.raises(
        TypeError, match=r"Bad.backward must return a tuple of gradients, not a list"
    ):
        y.backward()


class _ListVjp(Function):
    """A rule that returns a list of its gradients (DeZero's tuple mistyped)."""

    def forward(self, *xs: Array) -> Array:
        return sum(xs, start=np.zeros(()))

    def vjp(self, gy: Tensor, *args: Tensor) -> Any:
        return [gy for _ in args[:-1]]


@pytest.mark.parametrize("inputs", [1, 2])
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_vjp_that_returns_a_list_is_refused(inputs: int, create_graph: bool) -> None:
    # NOTE: a list would be taken as one gradient of the wrong shape: (1, 2) for a (2,) input
    xs = [Variable(np.ones(2)) for _ in range(inputs)]
    y = _ListVjp()(*xs)
    with pytest.raises(TypeError, match=r"_ListVjp.vjp must return a tuple of gradients, not a"):
        y.backward(create_graph=create_graph)


def test_none_gradient_means_no_contribution() -> None:
    class FirstOnly(Function):
        def forward(self, x0: Array, x1: Array) -> Array:
            return x0 * 1.0

        def backward(self, gy: Variable) -> tuple[Variable, None]:
            return gy, None

    a, b = Variable(1.0), Variable(2.0)
    FirstOnly()(a, b).backward()
    assert a.grad is not None
    assert b.grad is None


def test_gradients_of_another_dtype_are_cast_to_the_inputs() -> None:
    class Widen(Function):
        def forward(self, x: Array) -> Array:
            return x.astype(np.float64)

        def backward(self, gy: Variable) -> Variable:
            return gy

    x = Variable(np.ones(2, dtype=np.float32))
    Widen()(x).backward()
    assert x.grad is not None
    assert x.grad.dtype == np.float32


def test_forward_returning_a_list_is_refused() -> None:
    class Pair(Function):
        def forward(self, x: Array) -> object:
            return [x, x]

    with pytest.raises(TypeError, match=r"Pair.forward must return arrays .*, not a list"):
        Pair()(Variable(np.ones(2)))


class StraightThroughSigmoid(Sigmoid):
    """A built-in op with its gradient overridden by a DeZero-style backward."""

    def backward(self, gy: Variable) -> Variable:
        return gy


class WrongBackward(Function):
    def forward(self, x: Array) -> Array:
        return x * 2.0

    def backward(self, gy: Variable) -> Variable:
        return gy * 100.0


class RightVjp(WrongBackward):
    """A vjp below a backward: the vjp is the more derived, so it wins."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * 2.0


class BothInOneClass(Function):
    """backward and vjp in one class: backward, the entry point DeZero users write, wins."""

    def forward(self, x: Array) -> Array:
        return x * 2.0

    def backward(self, gy: Variable) -> Variable:
        return gy * 2.0

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * 100.0


@pytest.mark.parametrize(
    ("function", "expected"),
    [(StraightThroughSigmoid, 1.0), (RightVjp, 2.0), (BothInOneClass, 2.0)],
    ids=["backward over a built-in vjp", "vjp over a backward", "both in one class"],
)
@pytest.mark.parametrize("create_graph", [False, True])
def test_the_most_derived_rule_is_used_in_both_passes(
    function: type[Function], expected: float, create_graph: bool
) -> None:
    x = Variable(np.array([0.0, 1.0]))
    function()(x).sum().backward(create_graph=create_graph)
    np.testing.assert_array_equal(grad_of(x), [expected, expected])


class ReturnsAnArray(Function):
    def forward(self, x: Array) -> Array:
        return x * 3.0

    def backward(self, gy: Variable) -> Array:
        return gy.data * 3.0


class ReturnsANumber(Function):
    def forward(self, x: Array) -> Array:
        return x * 3.0

    def backward(self, gy: Variable) -> float:
        return 3.0


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize(
    ("function", "data"),
    [
        (ReturnsAnArray, np.array([1.0, 2.0], dtype=np.float32)),
        (ReturnsAnArray, np.array(2.0, dtype=np.float32)),
        (ReturnsAnArray, np.array(2.0)),
        (ReturnsANumber, np.array(2.0, dtype=np.float32)),
    ],
    ids=["ndarray", "NumPy scalar for 0-d float32", "NumPy scalar for 0-d", "Python float"],
)
def test_a_backward_may_return_numpy_data_as_dezero_allows(
    function: type[Function], data: Array, create_graph: bool
) -> None:
    x = Variable(data)
    function()(x).backward(create_graph=create_graph)
    assert isinstance(x.grad, Variable)
    assert type(x.grad.data) is np.ndarray
    assert (x.grad.shape, x.grad.dtype) == (x.shape, x.dtype)
    np.testing.assert_array_equal(x.grad.data, np.full(x.shape, 3.0))


def test_a_number_is_not_the_gradient_of_an_array() -> None:
    with pytest.raises(ValueError, match=r"gradient for input 0 has shape \(\), but its"):
        ReturnsANumber()(Variable(np.ones(2))).backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_what_an_overriding_backward_returns_is_checked_in_both_passes(
    create_graph: bool,
) -> None:
    class WrongShape(Sigmoid):
        def backward(self, gy: Variable) -> Variable:
            return gy[:1]

    class WrongCount(Sigmoid):
        def backward(self, gy: Variable) -> tuple[Variable, Variable]:
            return gy, gy

    class WrongDtype(Sigmoid):
        def backward(self, gy: Variable) -> Variable:
            return gy * np.float64(1.0)

    x = Variable(np.ones(2, dtype=np.float32))
    with pytest.raises(ValueError, match=r"WrongShape.backward's gradient for input 0 has shape"):
        WrongShape()(x).backward(create_graph=create_graph)
    with pytest.raises(ValueError, match=r"WrongCount.backward returned 2 gradients for 1 inputs"):
        WrongCount()(x).backward(create_graph=create_graph)
    WrongDtype()(x).backward(create_graph=create_graph)
    assert grad_of(x).dtype == np.float32


@pytest.mark.parametrize("create_graph", [False, True])
def test_an_overriding_backward_may_return_an_array_in_both_passes(create_graph: bool) -> None:
    class ArrayGradient(Sigmoid):
        def backward(self, gy: Variable) -> Array:
            return gy.data * 2.0

    x = Variable(np.ones(2))
    ArrayGradient()(x).backward(create_graph=create_graph)
    np.testing.assert_array_equal(grad_of(x), [2.0, 2.0])


class SumAndDifference(Function):
    """Two outputs, DeZero's way: backward gets one gradient per output."""

    def forward(self, x0: Array, x1: Array) -> tuple[Array, Array]:
        return x0 + x1, x0 - x1

    def backward(self, g_sum: Variable, g_difference: Variable) -> tuple[Variable, Variable]:
        return g_sum + g_difference, g_sum - g_difference


class SquareAndCube(Function):
    """Two outputs, the vjp way: gradients of the outputs, the input, then the outputs."""

    def forward(self, x: Array) -> tuple[Array, Array]:
        return x**2, x**3

    def vjp(self, g2: Tensor, g3: Tensor, x: Tensor, y2: Tensor, y3: Tensor) -> Tensor:
        return g2 * 2 * x + g3 * 3 * y2


class OneTuple(Function):
    def forward(self, x: Array) -> tuple[Array]:
        return (x * 2.0,)

    def backward(self, gy: Variable) -> Variable:
        return gy * 2.0


def test_a_forward_returning_a_tuple_gives_a_tuple_of_variables() -> None:
    a, b = Variable(np.array(3.0)), Variable(np.array(1.0))
    outputs = SumAndDifference()(a, b)
    assert isinstance(outputs, tuple)
    s, d = outputs
    assert (float(s.data), float(d.data)) == (4.0, 2.0)
    assert s.creator is d.creator
    assert s.creator is not None
    assert [ref() for ref in s.creator.outputs] == [s, d]
    (s * 2.0 + d * 5.0).backward()
    assert (float(grad_of(a)), float(grad_of(b))) == (7.0, -3.0)


def test_a_one_tuple_gives_a_bare_variable_as_in_dezero() -> None:
    y = OneTuple()(Variable(np.array(3.0)))
    assert isinstance(y, Variable)
    assert y.data == 6.0


@pytest.mark.parametrize("create_graph", [False, True])
def test_an_output_without_a_gradient_gets_zeros_even_once_dropped(create_graph: bool) -> None:
    x = Variable(np.array([1.0, 2.0]))
    square, cube = SquareAndCube()(x)
    del square
    cube.sum().backward(create_graph=create_graph)
    np.testing.assert_array_equal(grad_of(x), [3.0, 12.0])


def test_second_derivatives_through_several_outputs() -> None:
    x = Variable(np.array([1.0, 2.0]))
    square, cube = SquareAndCube()(x)
    (square + cube).sum().backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    np.testing.assert_array_equal(gx.data, [5.0, 16.0])  # 2x + 3x^2
    x.cleargrad()
    del square, cube  # NOTE: the recorded pass keeps what it needs
    gx.sum().backward()
    np.testing.assert_array_equal(grad_of(x), [8.0, 14.0])  # 2 + 6x


def test_outputs_of_several_are_weak_references() -> None:
    gc.collect()
    gc.disable()
    try:
        x = Variable(np.ones(2))
        outputs = SumAndDifference()(x, x)
        creator = outputs[0].creator
        assert creator is not None
        node = weakref.ref(creator)
        del creator, outputs
        assert node() is None
    finally:
        gc.enable()
