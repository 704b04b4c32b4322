"""DeZero's helpers (``dezero.utils``): drawing a graph, NumPy helpers the ops of DeZero's book
use, convolution sizes, and the checks DeZero's own tests call.

``gradient_check`` keeps DeZero's signature but uses tinygrad_ref's verified oracle
(:func:`tinygrad_ref.check_gradients`): extrapolated central differences with an error bound,
rather than one central difference with a step of 1e-4. DeZero's ``numerical_grad(f, x)`` is
not here: :func:`tinygrad_ref.numerical_grad` and
:func:`tinygrad_ref.verification.checks.numerical_jacobian` are its verified counterparts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

import tinygrad_ref
from tinygrad_ref import viz
from tinygrad_ref.config import no_grad
from tinygrad_ref.core import Array, Tensor, Variable
from tinygrad_ref.ops import logsumexp as _logsumexp
from tinygrad_ref.ops.conv import conv_outsize, deconv_outsize
from tinygrad_ref.ops.conv import pair as _pair
from tinygrad_ref.ops.shape import SumTo


def get_dot_graph(output: Variable, verbose: bool = True) -> str:
    """The graph that computed ``output`` as Graphviz DOT text: :func:`tinygrad_ref.viz.to_dot`
    (with DeZero's default, ``verbose=True``: shapes and dtypes shown)."""
    return viz.to_dot(output, verbose)


def plot_dot_graph(
    output: Variable, verbose: bool = True, to_file: str | os.PathLike[str] = "graph.png"
) -> None:
    """Draw the graph that computed ``output`` to ``to_file``, a ``.png`` or ``.svg`` file, with
    Graphviz's ``dot`` (:func:`tinygrad_ref.viz.render`). Unlike DeZero's, it raises when
    ``dot`` is missing or fails, writes no temporary file in ``~/.dezero`` and returns
    nothing (DeZero's returns an IPython image when IPython is installed)."""
    viz.render(output, to_file, verbose)


def sum_to(x: npt.ArrayLike, shape: Sequence[int]) -> Array:
    """The ndarray ``x`` summed to ``shape``, over the axes broadcasting ``shape`` to
    ``x.shape`` repeats (the array computation of :func:`tinygrad_ref.functions.sum_to`)."""
    result: Array = SumTo(tuple(shape)).forward(np.asarray(x))
    return result


def reshape_sum_backward(
    gy: Tensor, x_shape: Sequence[int], axis: int | tuple[int, ...] | None, keepdims: bool
) -> Tensor:
    """The gradient ``gy`` of ``sum(x, axis, keepdims)`` reshaped so that it broadcasts back to
    ``x_shape``: the summed axes put back with size 1 (DeZero's helper of ``Sum.backward``)."""
    ndim = len(x_shape)
    shape = list(gy.shape)
    if ndim and axis is not None and not keepdims:
        axes = axis if isinstance(axis, tuple) else (axis,)
        for a in sorted(a % ndim for a in axes):
            shape.insert(a, 1)
    reshaped: Tensor = gy.reshape(tuple(shape))
    return reshaped


def logsumexp(x: npt.ArrayLike, axis: int | tuple[int, ...] | None = 1) -> Array:
    """``log(sum(exp(x), axis))`` of an ndarray, with the summed axes kept (size 1), computed
    stably (DeZero's helper; :func:`tinygrad_ref.functions.logsumexp` is the op)."""
    with no_grad():
        return _logsumexp(np.asarray(x), axis, keepdims=True).data


def max_backward_shape(
    x: npt.ArrayLike | Variable, axis: int | tuple[int, ...] | None
) -> list[int]:
    """The shape of ``max(x, axis)`` with the reduced axes kept as size 1 (DeZero's helper)."""
    shape = np.shape(x.data if isinstance(x, Variable) else x)
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    reduced = {a % len(shape) for a in axes} if shape else set()
    return [1 if i in reduced else n for i, n in enumerate(shape)]


def get_conv_outsize(input_size: int, kernel_size: int, stride: int, pad: int) -> int:
    """The size of a convolution's output along one axis: ``(input + 2 pad - kernel) //
    stride + 1``."""
    return conv_outsize(input_size, kernel_size, stride, pad)


def get_deconv_outsize(size: int, k: int, s: int, p: int) -> int:
    """The size of a transposed convolution's output along one axis: ``s (size - 1) + k -
    2 p``."""
    return deconv_outsize(size, k, s, p)


def pair(x: int | tuple[int, int]) -> tuple[int, int]:
    """``(x, x)`` for an int, ``x`` for a pair of ints; anything else is a ``TypeError``
    (DeZero raises a bare ``ValueError``)."""
    return _pair(x, "pair's argument")


def _data(a: npt.ArrayLike | Variable) -> npt.NDArray[Any]:
    return np.asarray(a.data if isinstance(a, Variable) else a)


def array_equal(a: npt.ArrayLike | Variable, b: npt.ArrayLike | Variable) -> bool:
    """Whether two arrays or Variables have the same shape and elements."""
    return bool(np.array_equal(_data(a), _data(b)))


def array_allclose(
    a: npt.ArrayLike | Variable,
    b: npt.ArrayLike | Variable,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> bool:
    """Whether two arrays or Variables are equal within ``atol + rtol * |b|`` elementwise
    (DeZero's defaults)."""
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol))


def gradient_check(
    f: Callable[..., Variable],
    x: npt.ArrayLike | Variable,
    *args: Any,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    **kwargs: Any,
) -> bool:
    """Whether the gradient of ``f(x, *args, **kwargs)`` with respect to ``x`` (in float64) is
    right: it passes :func:`tinygrad_ref.check_gradients` (of a randomly weighted sum of the
    outputs), either within the tolerance that check derives from the oracle's error bound, or
    within ``atol + rtol * |numerical|`` per element. A failure is printed, as DeZero prints
    its own."""
    point = Variable(np.array(_data(x), dtype=np.float64))

    def of_x(v: Variable) -> Variable:
        return f(v, *args, **kwargs)

    # NOTE: looked up on the package at call time: the verification imports the framework
    if tinygrad_ref.check_gradients(of_x, point).failure is None:
        return True
    report = tinygrad_ref.check_gradients(of_x, point, atol=atol, rtol=rtol)
    if report.failure is not None:
        print(f"========== FAILED (Gradient Check) ==========\n{report.failure}")
    return report.failure is None
