"""Batch normalization: DeZero's training and test modes, its running averages, bad input."""

import numpy as np
import pytest

import tinygrad_ref as tg
from tests.helpers import grad_of
from tinygrad_ref import Variable, batch_norm, batch_nrom, gradcheck, gradgradcheck


def params(c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return np.full(c, 2.0), np.full(c, 0.5), np.zeros(c), np.ones(c)


def test_training_normalizes_with_the_batch_statistics() -> None:
    x = np.array([[1.0, 10.0], [3.0, 30.0]])  # means 2 and 20, variances 1 and 100
    gamma, beta, mean, var = params(2)
    y = batch_norm(x, gamma, beta, mean, var, eps=0.0).data
    np.testing.assert_allclose(y, [[-1.5, -1.5], [2.5, 2.5]])


def test_training_updates_the_running_averages_in_place() -> None:
    x = np.array([[1.0, 10.0], [3.0, 30.0]])
    gamma, beta, mean, var = params(2)
    mean_id, var_id = id(mean), id(var)
    batch_norm(x, gamma, beta, mean, var, decay=0.9)
    # NOTE: the variance unbiased, m / (m - 1) = 2, as DeZero and Chainer
    np.testing.assert_allclose(mean, [0.1 * 2.0, 0.1 * 20.0])
    np.testing.assert_allclose(var, [0.9 + 0.1 * 2 * 1.0, 0.9 + 0.1 * 2 * 100.0])
    assert (id(mean), id(var)) == (mean_id, var_id)


def test_test_mode_uses_the_running_averages_and_updates_nothing() -> None:
    x = np.ones((3, 2, 2, 2))
    gamma, beta = np.array([1.0, 2.0]), np.array([0.0, 1.0])
    mean, var = np.array([0.0, 2.0]), np.array([4.0, 1.0])
    with tg.test_mode():
        y = batch_nrom(x, gamma, beta, mean, var, eps=0.0).data
    np.testing.assert_allclose(y[:, 0], 0.5)
    np.testing.assert_allclose(y[:, 1], -1.0)
    np.testing.assert_array_equal(mean, [0.0, 2.0])
    np.testing.assert_array_equal(var, [4.0, 1.0])


def test_test_mode_gradients_use_the_averages_as_they_were_at_the_call() -> None:
    x = Variable(np.array([[1.0], [3.0]]))
    gamma, beta, mean, var = params(1)
    with tg.test_mode():
        y = batch_norm(x, gamma, beta, mean, var, eps=0.0)
    var *= 100.0  # NOTE: state changed after the call
    y.backward()
    np.testing.assert_allclose(grad_of(x), [[2.0], [2.0]])


def test_training_gradients_have_all_three_terms() -> None:
    rng = np.random.default_rng(0)
    x = Variable(rng.normal(size=(5, 3, 2, 2)))
    gamma, beta = Variable(rng.normal(size=3)), Variable(rng.normal(size=3))
    _, _, mean, var = params(3)

    def f(x: Variable, gamma: Variable, beta: Variable) -> Variable:
        return batch_norm(x, gamma, beta, mean, var)

    assert gradcheck(f, x, gamma, beta)
    assert gradgradcheck(f, x, gamma, beta)
    # the gradient of x is orthogonal to the constants and to xhat in each channel
    y = f(x, gamma, beta)
    y.backward()
    np.testing.assert_allclose(grad_of(x).sum(axis=(0, 2, 3)), 0.0, atol=1e-12)


def test_dtype_follows_x() -> None:
    x = np.ones((4, 3), dtype=np.float32)
    gamma, beta, mean, var = (a.astype(np.float32) for a in params(3))
    assert batch_norm(x, gamma, beta, mean, var).dtype == np.float32
    with tg.test_mode():
        assert batch_norm(x, gamma, beta, mean, var).dtype == np.float32


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (np.ones((2, 3, 4)), *params(3)),
            ValueError,
            r"\(N, C\) or \(N, C, H, W\), got \(2, 3, 4\)",
        ),
        (
            (np.ones((2, 3)), np.ones(2), np.ones(3), np.zeros(3), np.ones(3)),
            ValueError,
            r"gamma must have shape \(3,\)",
        ),
        (
            (np.ones((2, 3)), np.ones(3), np.ones(3), np.zeros(2), np.ones(3)),
            ValueError,
            r"mean must have shape \(3,\)",
        ),
        (
            (np.ones((2, 3)), np.ones(3), np.ones(3), np.zeros(3), [1.0, 1.0, 1.0]),
            TypeError,
            r"var must be a floating ndarray",
        ),
    ],
)
def test_bad_input_is_refused_naming_it(
    args: tuple[object, ...], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        batch_norm(*args)  # type: ignore[arg-type]  # NOTE: the point is the runtime check


def exact_normalization_product(x: np.ndarray, gamma: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``J v`` (= ``Jᵀ v``: the block of x is symmetric) for batch norm in training mode, with
    ``J = gamma / std (I - 1 1ᵀ / m - xhat xhatᵀ / m)`` per channel, in 50-digit arithmetic."""
    mpmath = pytest.importorskip("mpmath")
    moved = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    along = np.moveaxis(v, 1, 0).reshape(v.shape[1], -1)
    rows = []
    with mpmath.workdps(50):
        for c, (values, tangent) in enumerate(zip(moved, along, strict=True)):
            xs = [mpmath.mpf(float(a)) for a in values]
            ts = [mpmath.mpf(float(a)) for a in tangent]
            m = len(xs)
            mu = mpmath.fsum(xs) / m
            std = mpmath.sqrt(mpmath.fsum((a - mu) ** 2 for a in xs) / m + mpmath.mpf(2e-5))
            xhat = [(a - mu) / std for a in xs]
            mean_t = mpmath.fsum(ts) / m
            along_xhat = mpmath.fsum(h * t for h, t in zip(xhat, ts, strict=True)) / m
            scale = mpmath.mpf(float(gamma[c])) / std
            products = [
                scale * (t - mean_t - h * along_xhat) for h, t in zip(xhat, ts, strict=True)
            ]
            rows.append([float(p) for p in products])
    shape = (x.shape[1], x.shape[0], *x.shape[2:])
    return np.moveaxis(np.array(rows).reshape(shape), 0, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 1), (2, 3), (1, 2, 2, 1), (1, 3, 1, 2)])
def test_training_rules_on_channels_of_two_elements_against_mpmath(
    shape: tuple[int, ...], dtype: type
) -> None:
    """On two elements the exact Jacobian is ``gamma eps / (var + eps)`` times what it is
    without eps: both rules, and the derivative of the gamma gradient (second order), are
    within 8 ULP of each element; they were 1e4 ULP off (the rules subtracted the part along
    ``xhat`` from a cotangent that lies along it)."""
    rng = np.random.default_rng(0)
    spread = rng.permutation(int(np.prod(shape))).reshape(shape)
    x: np.ndarray = (rng.uniform(-0.25, 0.25, shape) + spread).astype(dtype)
    channels = shape[1]
    gamma: np.ndarray = rng.uniform(0.5, 2, channels).astype(dtype)
    beta: np.ndarray = rng.uniform(-1, 1, channels).astype(dtype)
    u: np.ndarray = rng.standard_normal(shape).astype(dtype)

    def f(x: tg.Operand, gamma: tg.Operand) -> Variable:
        return batch_norm(x, gamma, beta, np.zeros(channels), np.ones(channels))

    exact = exact_normalization_product(x, gamma, u)
    unscaled = exact_normalization_product(x, np.ones(channels), u)
    eps = float(np.finfo(dtype).eps)
    backward = tg.vjp(lambda x: f(x, gamma), x)[1](u)[0]
    forward = tg.jvp(lambda x: f(x, gamma), (x,), (u,))[1]
    xv, gv = Variable(x.copy()), Variable(gamma.copy())
    (f(xv, gv) * u).sum().backward(create_graph=True)
    ggamma = gv.grad
    assert ggamma is not None
    xv.cleargrad()
    ggamma.sum().backward()
    for what, found, truth in (
        ("vjp", backward, exact),
        ("jvp", forward, exact),
        ("d/dx of the gamma gradient", grad_of(xv), unscaled),
    ):
        np.testing.assert_allclose(found, truth, rtol=8 * eps, atol=0, err_msg=what)


@pytest.mark.parametrize("shape", [(1, 3), (1, 2, 1, 1)])
def test_training_on_channels_of_one_element_gives_beta_and_no_gradient(
    shape: tuple[int, ...],
) -> None:
    """DeZero allows it (PyTorch refuses a batch of one in training): the output is beta
    exactly, and x's gradient and tangent are exactly 0."""
    channels = shape[1]
    x = np.linspace(-1, 1, channels).reshape(shape)
    gamma, beta = np.full(channels, 1.5), np.linspace(0.1, 0.3, channels)

    def f(x: tg.Operand) -> Variable:
        return batch_norm(x, gamma, beta, np.zeros(channels), np.ones(channels))

    np.testing.assert_array_equal(f(x).data.reshape(-1), beta)
    np.testing.assert_array_equal(tg.vjp(f, x)[1](np.ones(shape))[0], 0.0)
    np.testing.assert_array_equal(tg.jvp(f, (x,), (np.ones(shape),))[1], 0.0)
