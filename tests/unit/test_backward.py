import gc
import sys
import threading
import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from tests.helpers import grad_of
from tinygrad_ref import Function, Variable


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def sphere(x: Variable, y: Variable) -> Variable:
    return x**2 + y**2


def matyas(x: Variable, y: Variable) -> Variable:
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def goldstein_price(x: Variable, y: Variable) -> Variable:
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


@pytest.mark.parametrize(
    ("f", "value", "gradient"),
    [
        (sphere, 2.0, (2.0, 2.0)),
        (matyas, 0.04, (0.04, 0.04)),
        (goldstein_price, 1876.0, (-5376.0, 8064.0)),
    ],
)
def test_dezero_book_reference_values(
    f: object, value: float, gradient: tuple[float, float]
) -> None:
    x, y = Variable(1.0), Variable(1.0)
    z = f(x, y)  # type: ignore[operator]  # NOTE: parametrized callables are typed as object
    z.backward()
    assert z.data == pytest.approx(value)
    assert grad_of(x) == pytest.approx(gradient[0])
    assert grad_of(y) == pytest.approx(gradient[1])


def test_backward_of_a_leaf_seeds_its_own_grad() -> None:
    x = Variable(np.array([1.0, 2.0]))
    x.backward()
    np.testing.assert_array_equal(grad_of(x), [1.0, 1.0])


def test_the_same_variable_twice_gets_both_contributions() -> None:
    x = Variable(3.0)
    y = x + x
    y.backward()
    assert grad_of(x) == 2.0
    z = x * x * x
    x.cleargrad()
    z.backward()
    assert grad_of(x) == 27.0


def test_diamond_graph_runs_each_function_once_after_its_consumers() -> None:
    x = Variable(2.0)
    a = x**2
    y = a**2 + a**2  # y = 2 x^4, dy/dx = 8 x^3
    y.backward()
    assert grad_of(x) == 64.0


def test_gradients_accumulate_across_calls_until_cleared() -> None:
    x = Variable(np.array([1.0, 2.0]))
    for _ in range(3):
        (x * x).backward()
    np.testing.assert_array_equal(grad_of(x), [6.0, 12.0])
    x.cleargrad()
    (x * x).backward()
    np.testing.assert_array_equal(grad_of(x), [2.0, 4.0])


def test_gradient_arrays_are_never_shared() -> None:
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([3.0, 4.0]))
    y = a + b
    y.backward(retain_grad=True)
    grads = [grad_of(a), grad_of(b), grad_of(y)]
    for i, g in enumerate(grads):
        for h in grads[i + 1 :]:
            assert not np.shares_memory(g, h)
    grad_of(a)[0] = 100.0
    np.testing.assert_array_equal(grad_of(b), [1.0, 1.0])


def test_gradient_arrays_are_never_shared_with_create_graph() -> None:
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([3.0, 4.0]))
    (a - b).backward(create_graph=True)
    assert a.grad is not None
    assert b.grad is not None
    assert not np.shares_memory(a.grad.data, b.grad.data)


def test_the_seed_is_the_existing_grad_of_the_output() -> None:
    x = Variable(np.array([1.0, 2.0]))
    y = x * 3.0
    y.grad = Variable(np.array([10.0, 20.0]))
    y.backward()
    np.testing.assert_array_equal(grad_of(x), [30.0, 60.0])


def test_retain_grad_false_frees_intermediate_gradients() -> None:
    x = Variable(2.0)
    a = x * x
    y = a + 1.0
    y.backward()
    assert a.grad is None
    assert y.grad is None
    assert grad_of(x) == 4.0


def test_retain_grad_true_keeps_intermediate_gradients() -> None:
    x = Variable(2.0)
    a = x * x
    y = a * 3.0
    y.backward(retain_grad=True)
    assert grad_of(y) == 1.0
    assert grad_of(a) == 3.0
    assert grad_of(x) == 12.0


def test_retained_gradients_accumulate_without_feeding_back_into_the_pass() -> None:
    x = Variable(2.0)
    a = x * x
    y = a * 3.0
    y.backward(retain_grad=True)
    y.backward(retain_grad=True)
    assert grad_of(a) == 6.0
    assert grad_of(x) == 24.0


def newton_steps(x0: float, steps: int) -> list[float]:
    x = Variable(x0)
    path = []
    for _ in range(steps):
        y = x**4 - 2 * x**2
        y.backward(create_graph=True)
        gx = x.grad
        assert gx is not None
        x.cleargrad()
        gx.backward()
        gx2 = grad_of(x)
        x.data = x.data - gx.data / gx2
        x.cleargrad()
        path.append(float(x.data))
    return path


def test_newton_method_with_second_derivatives() -> None:
    path = newton_steps(2.0, 7)
    assert path[0] == pytest.approx(1.4545454545454546)
    assert path[1] == pytest.approx(1.1510467893775467)
    assert path[-1] == pytest.approx(1.0, abs=1e-12)


def test_third_derivative_by_repeated_create_graph() -> None:
    x = Variable(2.0)
    y = x**4  # y''' = 24 x
    y.backward(create_graph=True)
    for _ in range(2):
        gx = x.grad
        assert gx is not None
        x.cleargrad()
        gx.backward(create_graph=True)
    assert grad_of(x) == 48.0


def test_create_graph_false_records_nothing() -> None:
    x = Variable(3.0)
    (x * x).backward()
    assert x.grad is not None
    assert x.grad.creator is None


def test_dropping_the_output_frees_the_graph_without_the_cycle_collector(
    no_cyclic_gc: None,
) -> None:
    x = Variable(np.ones(3))
    y = x * 2.0 + 1.0
    assert y.creator is not None
    creator = weakref.ref(y.creator)
    output = weakref.ref(y)
    y.backward()
    del y
    assert output() is None
    assert creator() is None


def test_the_graph_of_a_create_graph_pass_is_freed_once_grads_are_cleared(
    no_cyclic_gc: None,
) -> None:
    x = Variable(2.0)
    y = x**3
    y.backward(create_graph=True)
    assert x.grad is not None
    assert x.grad.creator is not None
    grad_creator = weakref.ref(x.grad.creator)
    del y
    x.cleargrad()
    assert grad_creator() is None


def test_a_million_op_chain_runs_backward_without_recursion_error() -> None:
    x = Variable(1.5)
    y = x
    for _ in range(1_000_000):
        y = -y
    y.backward()
    assert grad_of(x) == 1.0
    del y  # NOTE: freeing the chain must not overflow the C stack either


def test_add_with_create_graph_gives_each_input_its_own_gradient() -> None:
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([3.0, 4.0]))
    (a + b).backward(create_graph=True)
    assert a.grad is not None
    assert b.grad is not None
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[0] = 5.0
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])


def test_second_derivative_across_dtypes_keeps_each_input_dtype() -> None:
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    y = np.float64(3.0) * x**3  # float64 result
    y.backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    assert gx.dtype == np.float32
    np.testing.assert_array_equal(gx.data, [9.0, 36.0])
    x.cleargrad()
    gx.backward()
    assert x.grad is not None
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [18.0, 36.0])


def test_a_seed_set_on_the_output_is_checked_and_cast() -> None:
    x = Variable(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    y = x * x
    y.grad = Variable(np.ones((2, 3)))
    with pytest.raises(
        ValueError, match=r"the seed y.grad of y.backward\(\) has shape \(2, 3\), but its variable"
    ):
        y.backward()
    y.grad = np.array([1.0, 0.0, 2.0])  # type: ignore[assignment]  # NOTE: DeZero's early steps set ndarrays
    y.backward()
    assert grad_of(x).dtype == np.float32
    np.testing.assert_array_equal(grad_of(x), [2.0, 0.0, 12.0])
    y2 = x * x
    y2.grad = 1.0  # type: ignore[assignment]  # NOTE: the point is the runtime check
    with pytest.raises(ValueError, match=r"y.backward\(\) has shape \(\), but its variable"):
        y2.backward()
    y2.grad = "ones"  # type: ignore[assignment]  # NOTE: the point is the runtime check
    with pytest.raises(TypeError, match="must be a Variable or an ndarray, not str"):
        y2.backward()


def test_retain_grad_false_also_frees_gradients_an_earlier_pass_kept() -> None:
    x = Variable(2.0)
    a = x * x
    y = a * 3.0
    y.backward(retain_grad=True)
    assert grad_of(a) == 3.0
    y.backward()
    assert a.grad is None
    assert y.grad is None
    assert grad_of(x) == 24.0


def test_backward_passes_in_several_threads_add_up_into_a_shared_leaf() -> None:
    # NOTE: large enough that NumPy releases the GIL while adding, where updates get lost
    x = Variable(np.zeros(100_000))
    passes, threads = 200, 4

    def work() -> None:
        for _ in range(passes):
            (x * 1.0).backward()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # NOTE: switch threads often, so that a lost update shows
    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    np.testing.assert_array_equal(grad_of(x), passes * threads)


def test_a_gradient_set_by_hand_is_checked_when_the_pass_reads_it() -> None:
    x = Variable(np.ones(3))
    x.grad = Variable(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x.grad, set before this pass, has shape \(2, 3\)"):
        (x * 2).backward()
    x.grad = 0.0  # type: ignore[assignment]  # NOTE: what the check must refuse clearly
    with pytest.raises(ValueError, match=r"x.grad, set before this pass, has shape \(\)"):
        (x * 2).backward()
    x.grad = "zeros"  # type: ignore[assignment]  # NOTE: what the check must refuse clearly
    with pytest.raises(TypeError, match=r"x.grad, set before this pass, must be a Variable"):
        (x * 2).backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_set_by_hand_is_converted_to_its_variables_dtype(create_graph: bool) -> None:
    x = Variable(np.ones(3, dtype=np.float32))
    x.grad = Variable(np.ones(3))
    (x * 2).backward(create_graph=create_graph)
    assert grad_of(x).dtype == np.float32
    np.testing.assert_array_equal(grad_of(x), [3.0, 3.0, 3.0])
    x.grad = np.ones(3)  # type: ignore[assignment]  # NOTE: an array, converted as the seed is
    (x * 2).backward(create_graph=create_graph)
    assert grad_of(x).dtype == np.float32
    np.testing.assert_array_equal(grad_of(x), [3.0, 3.0, 3.0])
    s = Variable(np.float32(1.0))
    s.grad = 0.5  # type: ignore[assignment]  # NOTE: a number, for a 0-d variable
    (s * 2).backward(create_graph=create_graph)
    assert grad_of(s).dtype == np.float32
    assert grad_of(s) == 2.5


def test_unchain_makes_a_variable_a_leaf_as_in_dezero() -> None:
    x = Variable(np.array(2.0))
    y = x * 3.0
    z = y * y
    y.unchain()
    assert y.creator is None
    z.backward()
    assert x.grad is None
    assert grad_of(y) == 12.0


def test_unchain_backward_cuts_every_variable_behind_it_as_in_dezero() -> None:
    x = Variable(np.array(2.0))
    a = x * 3.0
    b = a + 1.0
    c = b * b
    c.unchain_backward()
    assert c.creator is not None  # NOTE: DeZero's: the variable itself keeps its creator
    assert a.creator is None
    assert b.creator is None
    c.backward()
    assert x.grad is None
    assert a.grad is None
    assert grad_of(b) == 14.0


def test_unchain_backward_frees_the_functions_behind(no_cyclic_gc: None) -> None:
    x = Variable(np.ones(3))
    a = x * 2.0
    y = a + 1.0
    assert a.creator is not None
    behind = weakref.ref(a.creator)
    y.unchain_backward()
    assert behind() is None


def test_cleargrad_backward_frees_a_retained_recorded_pass(no_cyclic_gc: None) -> None:
    x = Variable(np.array(2.0))
    a = x * x
    y = a * a
    y.backward(retain_grad=True, create_graph=True)
    assert a.grad is not None
    assert a.grad.creator is not None
    x_grad_creator = grad_of_variable(x).creator
    assert x_grad_creator is not None
    recorded: list[weakref.ref[Function]] = [
        weakref.ref(a.grad.creator),
        weakref.ref(x_grad_creator),
    ]
    del x_grad_creator
    intermediate = weakref.ref(a)
    y.cleargrad_backward()
    assert x.grad is None
    assert y.grad is None
    del a, y
    assert intermediate() is None
    assert all(ref() is None for ref in recorded)


def grad_of_variable(x: Variable) -> Variable:
    assert x.grad is not None
    return x.grad
