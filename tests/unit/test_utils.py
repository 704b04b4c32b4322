"""tinygrad_ref.utils: DeZero's helpers."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Function, Variable, utils
from tinygrad_ref.core import Array

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it: apt-get install graphviz)",
)


def test_sum_to_sums_the_broadcast_axes_of_an_array() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(utils.sum_to(x, (3, 1)), x.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(utils.sum_to(x, (1, 1, 4)), x.sum(axis=(0, 1), keepdims=True))
    with pytest.raises(ValueError, match=r"cannot sum an array of shape \(2, 3, 4\) to shape"):
        utils.sum_to(x, (2,))


@pytest.mark.parametrize(
    ("axis", "keepdims", "shape"),
    [
        (None, False, ()),
        (1, False, (2, 1, 4)),
        (-1, False, (2, 3, 1)),
        ((0, 2), False, (1, 3, 1)),
        (1, True, (2, 1, 4)),
    ],
)
def test_reshape_sum_backward_puts_the_summed_axes_back(
    axis: int | tuple[int, ...] | None, keepdims: bool, shape: tuple[int, ...]
) -> None:
    x = np.ones((2, 3, 4))
    gy = x.sum(axis=axis, keepdims=keepdims)
    assert utils.reshape_sum_backward(gy, x.shape, axis, keepdims).shape == shape
    v = utils.reshape_sum_backward(Variable(gy), x.shape, axis, keepdims)
    assert isinstance(v, Variable)
    assert v.shape == shape


def test_logsumexp_keeps_the_summed_axis_and_does_not_overflow() -> None:
    x = np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(utils.logsumexp(x), [[1000 + np.log(2)], [np.log(4)]], rtol=1e-15)
    assert utils.logsumexp(x, axis=0).shape == (1, 2)


def test_max_backward_shape() -> None:
    x = np.ones((2, 3, 4))
    assert utils.max_backward_shape(x, None) == [1, 1, 1]
    assert utils.max_backward_shape(x, 1) == [2, 1, 4]
    assert utils.max_backward_shape(Variable(x), (0, -1)) == [1, 3, 1]


def test_convolution_sizes_and_pair() -> None:
    assert utils.get_conv_outsize(7, 3, 2, 1) == 4
    assert utils.get_deconv_outsize(4, 3, 2, 1) == 7
    assert utils.pair(3) == (3, 3)
    assert utils.pair((2, 5)) == (2, 5)
    with pytest.raises(TypeError, match="must be an int or a pair of ints, got 'a'"):
        utils.pair("a")  # type: ignore[arg-type]


def test_array_equal_and_allclose_take_arrays_and_variables() -> None:
    a = np.array([1.0, 2.0])
    assert utils.array_equal(Variable(a), a)
    assert not utils.array_equal(a, a[:1])
    assert utils.array_allclose(Variable(a), a + 1e-6)
    assert not utils.array_allclose(a, a + 1e-3)


class WrongCube(Function):
    def forward(self, x: Array) -> Array:
        return x**3

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return gy * 3 * x**2 * 1.01


def test_gradient_check_passes_right_gradients_and_prints_wrong_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    x = np.random.default_rng(0).standard_normal((3, 2))
    W = np.random.default_rng(1).standard_normal((2, 3))
    assert utils.gradient_check(F.linear, x, W, np.ones(3))
    assert not utils.gradient_check(lambda v: WrongCube()(v), x)
    assert "FAILED (Gradient Check)" in capsys.readouterr().out


def test_get_dot_graph_shows_shapes() -> None:
    y = F.sin(Variable(np.ones(3), name="x"))
    assert 'label="x: (3,) float64"' in utils.get_dot_graph(y)


@needs_dot
def test_plot_dot_graph_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "g.svg"
    utils.plot_dot_graph(F.sin(Variable(np.ones(3))), to_file=path)
    assert b"<svg" in path.read_bytes()
