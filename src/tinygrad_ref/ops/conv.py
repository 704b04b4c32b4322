"""Convolutions and pooling on NCHW images, under DeZero's names (``dezero/functions_conv.py``).

Everything is built on one pair of linear maps: :func:`im2col` copies every window of the
(padded) image into a column, and :func:`col2im`, its adjoint, adds the columns back into an
image, so that overlapping windows add up. A convolution is a matrix product with the columns;
its gradients are a matrix product and a ``col2im`` (for ``x``) and a matrix product with the
columns (for ``W``), written with the ops themselves so that they can be differentiated again.

Layouts, as DeZero's: ``x`` is ``(N, C, H, W)``, a convolution's ``W`` is ``(OC, C, KH, KW)``
and a deconvolution's ``(C, OC, KH, KW)``; ``im2col`` gives ``(N, C, KH, KW, OH, OW)``, or the
matrix ``(N*OH*OW, C*KH*KW)`` with ``to_matrix=True``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from tinygrad_ref.config import Config
from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable, is_zero_tangent
from tinygrad_ref.ops.indexing import GetItem
from tinygrad_ref.ops.reduction import Sum
from tinygrad_ref.ops.shape import (
    BroadcastTo,
    Reshape,
    Transpose,
    batched,
    operand_shape,
    unbroadcast,
)
from tinygrad_ref.spec import (
    ANY,
    Case,
    Domain,
    Kink,
    OpSpec,
    Role,
    Sampler,
    Shape,
    WindowTieKink,
)

IntPair: TypeAlias = int | tuple[int, int]
"""A size for both spatial axes, or a ``(height, width)`` pair (DeZero's ``pair``)."""


def pair(value: object, name: str) -> tuple[int, int]:
    """``value`` as a ``(height, width)`` pair of ints; ``name`` is the parameter's, for the
    error."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, bool) for v in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    try:
        first, second = (operator.index(v) for v in items)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    return first, second


def conv_outsize(size: int, kernel: int, stride: int, pad: int) -> int:
    """The output size of a convolution along one axis (DeZero's ``get_conv_outsize``)."""
    return (size + 2 * pad - kernel) // stride + 1


def deconv_outsize(size: int, kernel: int, stride: int, pad: int) -> int:
    """The smallest image a convolution maps to ``size`` (DeZero's ``get_deconv_outsize``)."""
    return stride * (size - 1) + kernel - 2 * pad


@dataclass(frozen=True)
class Window:
    """The windows a kernel slides over: their size, stride and the zero padding around the
    image, each a ``(height, width)`` pair, validated."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]

    @classmethod
    def of(cls, kernel_size: object, stride: object, pad: object) -> Window:
        kernel = pair(kernel_size, "kernel_size")
        strides, pads = pair(stride, "stride"), pair(pad, "pad")
        if min(kernel) < 1:
            raise ValueError(f"kernel_size must be at least 1, got {kernel}")
        if min(strides) < 1:
            raise ValueError(f"stride must be positive, got {strides}")
        if min(pads) < 0:
            raise ValueError(f"pad must not be negative, got {pads}")
        return cls(kernel, strides, pads)

    def out_size(self, image: Shape) -> tuple[int, int]:
        """``(OH, OW)`` for an image of shape ``(N, C, H, W)``, which is checked."""
        if len(image) != 4:
            raise ValueError(f"expected an image of shape (N, C, H, W), got shape {image}")
        padded = tuple(n + 2 * p for n, p in zip(image[2:], self.pad, strict=True))
        if any(k > n for k, n in zip(self.kernel, padded, strict=True)):
            raise ValueError(
                f"kernel {self.kernel} is larger than the padded input {padded} "
                f"(input shape {image}, pad {self.pad})"
            )
        oh, ow = (
            conv_outsize(n, k, s, p)
            for n, k, s, p in zip(image[2:], self.kernel, self.stride, self.pad, strict=True)
        )
        return oh, ow

    def col_shape(self, image: Shape, to_matrix: bool) -> Shape:
        """The shape ``im2col`` gives for an image of shape ``image``."""
        n, c = image[:2]
        (kh, kw), (oh, ow) = self.kernel, self.out_size(image)
        return (n * oh * ow, c * kh * kw) if to_matrix else (n, c, kh, kw, oh, ow)

    def windows(self, x: Array, fill: float = 0.0) -> Array:
        """``im2col`` on arrays: ``(N, C, KH, KW, OH, OW)``, padding with ``fill``."""
        n, c = x.shape[:2]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.pad
        oh, ow = self.out_size(x.shape)
        if ph or pw:
            x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        col = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
        for j in range(kh):
            for i in range(kw):
                col[:, :, j, i] = x[:, :, j : j + sh * oh : sh, i : i + sw * ow : sw]
        return col

    def image(self, col: Array, image: Shape) -> Array:
        """``col2im`` on arrays: the columns ``(N, C, KH, KW, OH, OW)`` added into an image of
        shape ``image``; where windows overlap, their values add up."""
        n, c, h, w = image
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.pad
        oh, ow = self.out_size(image)
        img = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=col.dtype)
        for j in range(kh):
            for i in range(kw):
                img[:, :, j : j + sh * oh : sh, i : i + sw * ow : sw] += col[:, :, j, i]
        return img[:, :, ph : ph + h, pw : pw + w] if ph or pw else img


def _matrix(col: Array) -> Array:
    """``(N, C, KH, KW, OH, OW)`` columns as the matrix ``(N*OH*OW, C*KH*KW)``."""
    n, c, kh, kw, oh, ow = col.shape
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)


def _unmatrix(col: Array, shape: Shape) -> Array:
    """The matrix ``(N*OH*OW, C*KH*KW)`` as columns of ``shape`` ``(N, C, KH, KW, OH, OW)``."""
    n, c, kh, kw, oh, ow = shape
    return col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)


class Im2col(Function):
    """Every window of the image as a column (see :func:`im2col`)."""

    __slots__ = ("to_matrix", "window")
    batched_jvp = True

    def __init__(self, window: Window, to_matrix: bool) -> None:
        self.window = window
        self.to_matrix = to_matrix

    def forward(self, x: Array) -> Array:
        col = self.window.windows(x)
        return _matrix(col) if self.to_matrix else col

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return Col2im(x.shape, self.window, self.to_matrix).apply(gy)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _by_image(tx, x, y.shape, Im2col(self.window, self.to_matrix).apply)


class Col2im(Function):
    """Columns added back into an image: the adjoint of :class:`Im2col`."""

    __slots__ = ("image_shape", "to_matrix", "window")
    batched_jvp = True

    def __init__(self, image_shape: Shape, window: Window, to_matrix: bool) -> None:
        self.image_shape = tuple(image_shape)
        self.window = window
        self.to_matrix = to_matrix

    def forward(self, col: Array) -> Array:
        expected = self.window.col_shape(self.image_shape, self.to_matrix)
        if col.shape != expected:
            raise ValueError(
                f"col2im to an image of shape {self.image_shape} with kernel "
                f"{self.window.kernel}, stride {self.window.stride} and pad {self.window.pad} "
                f"needs columns of shape {expected}, got {col.shape}"
            )
        if self.to_matrix:
            col = _unmatrix(col, self.window.col_shape(self.image_shape, False))
        return self.window.image(col, self.image_shape)

    def vjp(self, gy: Tensor, col: Tensor, y: Tensor) -> Tensor:
        return Im2col(self.window, self.to_matrix).apply(gy)

    def jvp(self, tcol: Tensor, col: Tensor, y: Tensor) -> Tensor:
        n, *rest = self.image_shape
        images = (tcol.shape[0] * n, *rest) if batched(tcol, col) else self.image_shape
        return _by_image(tcol, col, y.shape, Col2im(images, self.window, self.to_matrix).apply)


def _by_image(t: Tensor, x: Tensor, shape: Shape, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn`` of ``t``, the tangent of ``x``, a stack of images or of their columns, where
    ``fn(x)`` has ``shape``; for a batch of tangents, ``fn`` of them all at once: the batch
    axis merged into the stack's first axis, and the result's split back out of it."""
    if not batched(t, x):
        return fn(t)
    merged = Reshape((t.shape[0] * t.shape[1], *t.shape[2:])).apply(t)
    return Reshape((t.shape[0], *shape)).apply(fn(merged))


def im2col(
    x: Operand, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0, to_matrix: bool = True
) -> Variable:
    """The windows of ``x`` (``(N, C, H, W)``, zero-padded by ``pad``) that a kernel of
    ``kernel_size`` visits with ``stride``: ``(N, C, KH, KW, OH, OW)``, or with ``to_matrix`` the
    matrix ``(N*OH*OW, C*KH*KW)`` whose rows are the windows. As DeZero's."""
    return Im2col(Window.of(kernel_size, stride, pad), to_matrix)(x)


def col2im(
    x: Operand,
    input_shape: Shape,
    kernel_size: IntPair,
    stride: IntPair = 1,
    pad: IntPair = 0,
    to_matrix: bool = True,
) -> Variable:
    """The columns ``x`` (as :func:`im2col` lays them out) added into an image of
    ``input_shape``: an element covered by several windows gets the sum of their values."""
    return Col2im(tuple(input_shape), Window.of(kernel_size, stride, pad), to_matrix)(x)


def _check_filters(x: Shape, w: Shape, b: Shape | None, channel_axis: int, what: str) -> None:
    """Refuse filters ``w`` (and bias ``b``) that do not fit the image shape ``x``; the
    input channels are ``w``'s axis ``channel_axis``, the output channels the other one."""
    if len(w) != 4:
        raise ValueError(f"{what} expects W of 4 dimensions, got shape {w}")
    if len(x) != 4:
        raise ValueError(f"{what} expects x of shape (N, C, H, W), got shape {x}")
    if x[1] != w[channel_axis]:
        raise ValueError(
            f"{what}: x has {x[1]} channels (shape {x}) but W expects {w[channel_axis]} (shape {w})"
        )
    out_channels = w[1 - channel_axis]
    if b is not None and b != (out_channels,):
        raise ValueError(f"{what}: b must have shape ({out_channels},), got {b}")


class Conv2d(Function):
    """The 2-D convolution (a cross-correlation, as in every deep learning library) of
    ``x`` with filters ``W`` and an optional bias ``b`` (see :func:`conv2d`)."""

    __slots__ = ("col", "window")
    batched_jvp = True

    def __init__(self, stride: IntPair = 1, pad: IntPair = 0) -> None:
        self.window = Window.of(1, stride, pad)
        self.col: Array | None = None

    def forward(self, x: Array, w: Array, b: Array | None = None) -> Array:
        _check_filters(x.shape, w.shape, None if b is None else b.shape, 1, "conv2d")
        window = self.window = Window.of(w.shape[2:], self.window.stride, self.window.pad)
        col = _matrix(window.windows(x))
        n, oc = x.shape[0], w.shape[0]
        oh, ow = window.out_size(x.shape)
        y = col @ w.reshape(oc, -1).T
        if b is not None:
            y = y + b
        if Config.enable_backprop:
            # NOTE: kept for the gradient of W, as hand-written im2col code keeps it.
            self.col = col
        out: Array = y.reshape(n, oh, ow, oc).transpose(0, 3, 1, 2)
        return out

    def vjp(self, gy: Tensor, x: Tensor, w: Tensor, *b_y: Tensor) -> tuple[Tensor, ...]:
        # NOTE: 2-D matrix products only: NumPy's batched float32 matmul can be 20x slower.
        gy2 = _rows(gy)
        gcol = gy2 @ Reshape((w.shape[0], -1)).apply(w)
        gx = Col2im(x.shape, self.window, True).apply(gcol)
        kept: Any = self.col  # NOTE: used only when x is an array, where Tensor is Array
        reuse = kept is not None and not isinstance(x, Variable)
        col: Tensor = kept if reuse else _im2row(x, self.window)
        gw = Reshape(w.shape).apply(Transpose().apply(gy2) @ col)
        if len(b_y) == 1:
            return unbroadcast(gx, x), unbroadcast(gw, w)
        return unbroadcast(gx, x), unbroadcast(gw, w), unbroadcast(Sum((0, 2, 3)).apply(gy), b_y[0])

    def jvp(self, *args: Tensor) -> Tensor:
        return _product_rule(args, lambda x, w: _convolve(x, w, self.window))


def _convolve(x: Tensor, w: Tensor, window: Window) -> Tensor:
    """The convolution of ``x`` with ``w`` (or with each of a batch of them, ``(B, OC, C, KH,
    KW)``, giving ``(B, N, OC, OH, OW)``) over ``window``, without bias, computed with ops."""
    stack: tuple[int, ...] = w.shape[:-4]
    s: int = len(stack)
    oc: int = w.shape[-4]
    n: int = x.shape[0]
    oh, ow = window.out_size(x.shape)
    filters = Reshape((*stack, oc, math.prod(w.shape[-3:]))).apply(w)
    rows = _im2row(x, window) @ Transpose((*range(s), s + 1, s)).apply(filters)
    y = Reshape((*stack, n, oh, ow, oc)).apply(rows)
    return Transpose((*range(s), s, s + 3, s + 1, s + 2)).apply(y)


def _product_rule(args: tuple[Tensor, ...], product: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """The jvp of ``product(x, W) + b`` (``b`` optional, one per output channel) for a
    ``product`` linear in each of ``x`` and ``W``, from jvp's arguments ``(tx, tW[, tb], x,
    W[, b], y)``: ``product(tx, W) + product(x, tW) + tb``. For a batch of tangents,
    ``product`` takes a batch of filters (a leading axis on ``W``'s) and the images of the
    batch all at once (:func:`_by_image`)."""
    arity = len(args) // 2
    (tx, tw, *tb), (x, w), y = args[:arity], args[arity : arity + 2], args[-1]
    # NOTE: the term of a zero tangent (of a constant operand) is left out, unless both are
    if is_zero_tangent(tx) and not is_zero_tangent(tw):
        ty = product(x, tw)
    else:
        by_x = _by_image(tx, x, y.shape, lambda t: product(t, w))
        ty = by_x if is_zero_tangent(tw) else by_x + product(x, tw)
    if not tb:
        return ty
    shape = (-1, 1, 1) if not batched(tx, x) else (tx.shape[0], 1, y.shape[1], 1, 1)
    return ty + Reshape(shape).apply(tb[0])


def _rows(t: Tensor) -> Tensor:
    """An image ``(N, C, H, W)`` as the matrix ``(N*H*W, C)``: a row per pixel."""
    return Reshape((-1, t.shape[1])).apply(Transpose((0, 2, 3, 1)).apply(t))


def _im2row(t: Tensor, window: Window) -> Tensor:
    return Im2col(window, True).apply(t)


def conv2d(
    x: Operand, W: Operand, b: Operand | None = None, stride: IntPair = 1, pad: IntPair = 0
) -> Variable:
    """The 2-D convolution of ``x`` ``(N, C, H, W)`` with filters ``W`` ``(OC, C, KH, KW)``,
    plus ``b`` ``(OC,)`` if given: ``(N, OC, OH, OW)``, ``OH = (H + 2*PH - KH) // SH + 1``.
    ``stride`` and ``pad`` are ints or ``(height, width)`` pairs; the padding is zeros."""
    f = Conv2d(stride, pad)
    return f(x, W) if b is None else f(x, W, b)


class Deconv2d(Function):
    """The transposed convolution: the adjoint of :class:`Conv2d` in ``x`` (see
    :func:`deconv2d`)."""

    __slots__ = ("outsize", "window")
    batched_jvp = True

    def __init__(
        self, stride: IntPair = 1, pad: IntPair = 0, outsize: IntPair | None = None
    ) -> None:
        self.window = Window.of(1, stride, pad)
        self.outsize = None if outsize is None else pair(outsize, "outsize")

    def image_shape(self, x: Shape, w: Shape) -> Shape:
        """The output's shape, checked to be one a convolution maps back to ``x``'s size."""
        window = self.window
        default = tuple(
            deconv_outsize(n, k, s, p)
            for n, k, s, p in zip(x[2:], w[2:], window.stride, window.pad, strict=True)
        )
        size = default if self.outsize is None else self.outsize
        image = (x[0], w[1], *size)
        fits = min(size) >= 1 and all(
            n + 2 * p >= k and conv_outsize(n, k, s, p) == m
            for n, m, k, s, p in zip(size, x[2:], w[2:], window.stride, window.pad, strict=True)
        )
        if not fits:
            raise ValueError(
                f"deconv2d: outsize {size} does not fit: a conv2d with kernel {w[2:]}, "
                f"stride {window.stride} and pad {window.pad} must map it to x's size {x[2:]} "
                f"(x has shape {x}); the default is {default}"
            )
        return image

    def forward(self, x: Array, w: Array, b: Array | None = None) -> Array:
        _check_filters(x.shape, w.shape, None if b is None else b.shape, 0, "deconv2d")
        self.window = Window.of(w.shape[2:], self.window.stride, self.window.pad)
        image = self.image_shape(x.shape, w.shape)
        gcol = _rows(x) @ w.reshape(x.shape[1], -1)
        col = _unmatrix(gcol, self.window.col_shape(image, False))
        y = self.window.image(col, image)
        if b is not None:
            y = y + b.reshape(-1, 1, 1)
        return y

    def vjp(self, gy: Tensor, x: Tensor, w: Tensor, *b_y: Tensor) -> tuple[Tensor, ...]:
        n, c, h, w_ = x.shape
        col = _im2row(gy, self.window)
        gx2 = col @ Transpose().apply(Reshape((c, -1)).apply(w))
        gx = Transpose((0, 3, 1, 2)).apply(Reshape((n, h, w_, c)).apply(gx2))
        gw = Reshape(w.shape).apply(Transpose().apply(_rows(x)) @ col)
        if len(b_y) == 1:
            return unbroadcast(gx, x), unbroadcast(gw, w)
        return unbroadcast(gx, x), unbroadcast(gw, w), unbroadcast(Sum((0, 2, 3)).apply(gy), b_y[0])

    def jvp(self, *args: Tensor) -> Tensor:
        def deconvolve(x: Tensor, w: Tensor) -> Tensor:
            # NOTE: w may be a batch of filters (B, C, OC, KH, KW): their columns then make a
            # batch of images, one image per sample and filter, split back at the end
            stack: tuple[int, ...] = w.shape[:-4]
            filters: tuple[int, ...] = w.shape[-4:]
            image: Shape = self.image_shape(x.shape, filters)
            columns = _rows(x) @ Reshape((*stack, x.shape[1], math.prod(filters[1:]))).apply(w)
            if not stack:
                return Col2im(image, self.window, True).apply(columns)
            batch = stack[0]
            rows = Reshape((batch * columns.shape[1], columns.shape[2])).apply(columns)
            images = Col2im((batch * image[0], *image[1:]), self.window, True).apply(rows)
            return Reshape((batch, *image)).apply(images)

        return _product_rule(args, deconvolve)


def deconv2d(
    x: Operand,
    W: Operand,
    b: Operand | None = None,
    stride: IntPair = 1,
    pad: IntPair = 0,
    outsize: IntPair | None = None,
) -> Variable:
    """The transposed convolution of ``x`` ``(N, C, H, W)`` with ``W`` ``(C, OC, KH, KW)``, plus
    ``b`` ``(OC,)``: ``(N, OC, OH, OW)`` with ``OH = SH*(H - 1) + KH - 2*PH`` unless ``outsize``
    ``(OH, OW)`` asks for another size that a convolution maps back to ``(H, W)``."""
    f = Deconv2d(stride, pad, outsize)
    return f(x, W) if b is None else f(x, W, b)


class Pooling(Function):
    """Max pooling (see :func:`pooling`): the gradient of each window goes to its first
    maximum, in row-major order."""

    __slots__ = ("argmax", "window")
    batched_jvp = True

    def __init__(self, window: Window) -> None:
        self.window = window
        self.argmax: npt.NDArray[np.intp] | None = None

    def forward(self, x: Array) -> Array:
        (kh, kw), (ph, pw) = self.window.kernel, self.window.pad
        if ph > kh // 2 or pw > kw // 2:
            raise ValueError(
                f"pooling: pad {self.window.pad} must be at most half the kernel "
                f"{self.window.kernel}, so that every window holds an element of x"
            )
        # NOTE: padded with -inf, as PyTorch and Chainer pad: padding is never a maximum.
        col = self.window.windows(x, fill=-np.inf)
        n, c, oh, ow = col.shape[0], col.shape[1], col.shape[4], col.shape[5]
        col = col.reshape(n, c, kh * kw, oh, ow)
        argmax = col.argmax(axis=2)[:, :, None]
        self.argmax = argmax
        y: Array = np.take_along_axis(col, argmax, axis=2).reshape(n, c, oh, ow)
        return y

    def mask(self, dtype: np.dtype[Any]) -> Array:
        """One where an element is the first maximum of its window: ``(N, C, KH*KW, OH, OW)``."""
        assert self.argmax is not None  # NOTE: set by forward, which runs first
        n, c, _, oh, ow = self.argmax.shape
        kh, kw = self.window.kernel
        mask = np.zeros((n, c, kh * kw, oh, ow), dtype=dtype)
        np.put_along_axis(mask, self.argmax, 1, axis=2)
        return mask

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        n, c, oh, ow = gy.shape
        masked = Reshape((n, c, 1, oh, ow)).apply(gy) * self.mask(gy.dtype)
        gcol = Reshape((n, c, *self.window.kernel, oh, ow)).apply(masked)
        return unbroadcast(Col2im(x.shape, self.window, False).apply(gcol), x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        # NOTE: each output's tangent is that of its window's first maximum, the element the
        # vjp routes the gradient to; picked from the windows of tx (padding has tangent 0).
        assert self.argmax is not None  # NOTE: set by forward, which runs first
        n, c, _, oh, ow = self.argmax.shape
        kh, kw = self.window.kernel
        sample, channel, row, column = np.ogrid[:n, :c, :oh, :ow]
        first: tuple[Any, ...] = (sample, channel, self.argmax[:, :, 0], row, column)
        if batched(tx, x):
            # NOTE: the same places in each tangent of the batch, whose axis stays in front
            first = (slice(None), *first)
        columns = self.window.col_shape(x.shape, False)
        windows = _by_image(tx, x, columns, Im2col(self.window, False).apply)
        stacked = Reshape((*tx.shape[: tx.ndim - 4], n, c, kh * kw, oh, ow)).apply(windows)
        return GetItem(first).apply(stacked)


def pooling(x: Operand, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0) -> Variable:
    """Max pooling of ``x`` ``(N, C, H, W)`` over windows of ``kernel_size``: ``(N, C, OH,
    OW)``. The padding (at most half the kernel) never wins, as in PyTorch. At a tie, the whole
    gradient goes to the first maximum of the window in row-major order, as in DeZero and
    PyTorch."""
    return Pooling(Window.of(kernel_size, stride, pad))(x)


class AveragePooling(Function):
    """The mean of each window, the zero padding included (PyTorch's default)."""

    __slots__ = ("window",)
    batched_jvp = True

    def __init__(self, window: Window) -> None:
        self.window = window

    def forward(self, x: Array) -> Array:
        y: Array = self.window.windows(x).mean(axis=(2, 3))
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        n, c, oh, ow = gy.shape
        (kh, kw) = self.window.kernel
        gcol = BroadcastTo((n, c, kh, kw, oh, ow)).apply(Reshape((n, c, 1, 1, oh, ow)).apply(gy))
        gx = Col2im(x.shape, self.window, False).apply(gcol) / (kh * kw)
        return unbroadcast(gx, x)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _by_image(tx, x, y.shape, AveragePooling(self.window).apply)


def average_pooling(
    x: Operand, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0
) -> Variable:
    """The mean of ``x`` ``(N, C, H, W)`` over windows of ``kernel_size``; padding counts as
    zeros in the mean."""
    return AveragePooling(Window.of(kernel_size, stride, pad))(x)


def conv2d_simple(
    x: Operand, W: Operand, b: Operand | None = None, stride: IntPair = 1, pad: IntPair = 0
) -> Variable:
    """:func:`conv2d` written with :func:`im2col` and a matrix product, as DeZero's book first
    writes it: the same values and gradients."""
    x_shape, w_shape = operand_shape(x), operand_shape(W)
    _check_filters(x_shape, w_shape, None if b is None else operand_shape(b), 1, "conv2d_simple")
    window = Window.of(w_shape[2:], stride, pad)
    oh, ow = window.out_size(x_shape)
    col = Im2col(window, True)(x)
    y = col @ Transpose()(Reshape((w_shape[0], -1))(W))
    if b is not None:
        y = y + b
    return Transpose((0, 3, 1, 2)).apply(Reshape((x_shape[0], oh, ow, w_shape[0])).apply(y))


def pooling_simple(
    x: Operand, kernel_size: IntPair, stride: IntPair = 1, pad: IntPair = 0
) -> Variable:
    """:func:`pooling` written with :func:`im2col`: the maximum of each row of windows, taken
    as a pooling over each row. Padding counts as zeros (the columns are zero-padded)."""
    x_shape = operand_shape(x)
    window = Window.of(kernel_size, stride, pad)
    (kh, kw), (oh, ow) = window.kernel, window.out_size(x_shape)
    col = Im2col(window, True)(x)
    rows = Reshape((1, 1, -1, kh * kw)).apply(col)
    y = Pooling(Window.of((1, kh * kw), 1, 0))(rows)
    n, c = x_shape[:2]
    return Transpose((0, 3, 1, 2)).apply(Reshape((n, oh, ow, c)).apply(y))


# NOTE: convolutions are checked on small integers: their sums of products are then exact in
# any order, so the forward values can be compared with an independent reference to within
# rounding whatever order either sums in; derivatives do not depend on where they are taken.
SMALL_INTEGERS = Domain(-3.0, 3.0, integer=True)

TIE_GAP = 1.0
"""The distance between the values of a window that pooling_simple's strategy builds in: the
operand (within ``TIE_HALF_WIDTH`` of 0) is added to a permutation of ``TIE_GAP * (1, 2,
...)``, so that no two elements of a window are within ``TIE_GAP - 2 * TIE_HALF_WIDTH`` of each
other, far more than the numerical oracle's steps (checked by the property suite)."""
TIE_HALF_WIDTH = 0.25
TIE_FREE = Domain(-TIE_HALF_WIDTH, TIE_HALF_WIDTH)


def _int_or_pair(sampler: Sampler, low: int, high: int) -> IntPair:
    if sampler.boolean():
        return sampler.integer(low, high)
    return sampler.integer(low, high), sampler.integer(low, high)


def _image_shape(sampler: Sampler) -> Shape:
    return tuple(sampler.integer(1, n) for n in (2, 2, 4, 4))


def _window_params(sampler: Sampler, image: Shape, max_pad: int = 1) -> dict[str, Any]:
    """A kernel that fits the padded ``image``, a stride and a padding, ints or pairs."""
    pad = _int_or_pair(sampler, 0, max_pad)
    pads = pair(pad, "pad")
    kernel = tuple(
        sampler.integer(1, min(3, n + 2 * p)) for n, p in zip(image[2:], pads, strict=True)
    )
    return {"kernel_size": kernel, "stride": _int_or_pair(sampler, 1, 2), "pad": pad}


def _conv_case(sampler: Sampler) -> Case:
    image = _image_shape(sampler)
    params = _window_params(sampler, image)
    out_channels = sampler.integer(1, 2)
    w = (out_channels, image[1], *params.pop("kernel_size"))
    return Case((image, w, (out_channels,)), params)


def _deconv_case(sampler: Sampler) -> Case:
    x = tuple(sampler.integer(1, n) for n in (2, 2, 3, 3))
    kernel = (sampler.integer(1, 3), sampler.integer(1, 3))
    stride = pair(_int_or_pair(sampler, 1, 2), "stride")
    pad = tuple(sampler.integer(0, (k - 1) // 2) for k in kernel)
    out_channels = sampler.integer(1, 2)
    outsize = None
    if sampler.boolean():
        outsize = tuple(
            deconv_outsize(n, k, s, p) + sampler.integer(0, s - 1)
            for n, k, s, p in zip(x[2:], kernel, stride, pad, strict=True)
        )
    params = {"stride": stride, "pad": pad, "outsize": outsize}
    return Case((x, (x[1], out_channels, *kernel), (out_channels,)), params)


def _im2col_case(sampler: Sampler) -> Case:
    image = _image_shape(sampler)
    return Case((image,), {**_window_params(sampler, image), "to_matrix": sampler.boolean()})


def _col2im_case(sampler: Sampler) -> Case:
    image = _image_shape(sampler)
    params = {**_window_params(sampler, image), "to_matrix": sampler.boolean()}
    window = Window.of(params["kernel_size"], params["stride"], params["pad"])
    col = window.col_shape(image, params["to_matrix"])
    return Case((col,), {"input_shape": image, **params})


def _tie_free_offsets(sampler: Sampler, shape: Shape) -> Array:
    """``TIE_GAP * (1, 2, ..., size)`` in a random order, in ``shape``."""
    rng = np.random.default_rng(sampler.integer(0, 2**32 - 1))
    size = int(np.prod(shape))
    return TIE_GAP * (1.0 + rng.permutation(size).reshape(shape))


def _pooling_case(sampler: Sampler) -> Case:
    image = _image_shape(sampler)
    params = _window_params(sampler, image)
    kernel, pads = params["kernel_size"], pair(params["pad"], "pad")
    params["pad"] = tuple(min(p, k // 2) for p, k in zip(pads, kernel, strict=True))
    return Case((image,), params)


def _tie_free_pooling_case(sampler: Sampler) -> Case:
    case = _pooling_case(sampler)
    offsets = _tie_free_offsets(sampler, case.shapes[0])
    return Case(case.shapes, {"offsets": offsets, **case.params})


def _pooling_windows(params: Mapping[str, Any], shape: Shape) -> npt.NDArray[np.intp]:
    """The flat indices of each pooling window's elements (-1 for padding), a row per output
    element in order, the window's elements in row-major order."""
    window = Window.of(params["kernel_size"], params["stride"], params["pad"])
    index = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    col = window.windows(index, fill=-1.0).transpose(0, 1, 4, 5, 2, 3)
    return col.reshape(-1, window.kernel[0] * window.kernel[1]).astype(np.intp)


MAX_POOLING_TIE = WindowTieKink(
    where="two elements of a window tie for its maximum",
    convention="the whole gradient to the window's first maximum, row-major (DeZero, PyTorch)",
    windows=_pooling_windows,
)


def _average_pooling_case(sampler: Sampler) -> Case:
    image = _image_shape(sampler)
    return Case((image,), _window_params(sampler, image))


def _shifted(x: Operand, offsets: Array) -> Operand:
    """``x + offsets`` in ``x``'s dtype: the values max pooling's strategy keeps tie-free."""
    dtype = x.dtype if isinstance(x, Variable) else np.asarray(x).dtype
    return x + offsets.astype(dtype)


def _padded(x: Array, pad: IntPair, fill: float = 0.0) -> Array:
    ph, pw = pair(pad, "pad")
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)


def _patches(
    x: Any, kernel_size: IntPair, stride: IntPair, pad: IntPair, fill: float = 0.0
) -> Array:
    """Reference windows, one output position at a time: ``(N, C, OH, OW, KH, KW)``."""
    xp = _padded(np.asarray(x), pad, fill)
    (kh, kw), (sh, sw) = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty((*xp.shape[:2], oh, ow, kh, kw), dtype=xp.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
    return out


def _im2col_reference(
    x: Any, kernel_size: IntPair, stride: IntPair, pad: IntPair, to_matrix: bool
) -> Array:
    patches = _patches(x, kernel_size, stride, pad)
    n, c, oh, ow, kh, kw = patches.shape
    if to_matrix:
        return patches.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    return patches.transpose(0, 1, 4, 5, 2, 3)


def _col2im_reference(
    col: Any,
    input_shape: Shape,
    kernel_size: IntPair,
    stride: IntPair,
    pad: IntPair,
    to_matrix: bool,
) -> Array:
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw) = (
        pair(kernel_size, "kernel_size"),
        pair(stride, "stride"),
        pair(pad, "pad"),
    )
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    col = np.asarray(col)
    col = col.reshape(n, oh, ow, c, kh, kw) if to_matrix else col.transpose(0, 4, 5, 1, 2, 3)
    img = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=col.dtype)
    for i in range(oh):
        for j in range(ow):
            img[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += col[:, i, j]
    return img[:, :, ph : ph + h, pw : pw + w]


def _conv2d_reference(x: Any, w: Any, b: Any, stride: IntPair, pad: IntPair) -> Array:
    patches = _patches(x, np.shape(w)[2:], stride, pad)
    y = np.tensordot(patches, np.asarray(w), axes=([1, 4, 5], [1, 2, 3]))
    return np.asarray(y.transpose(0, 3, 1, 2) + np.asarray(b).reshape(-1, 1, 1))


def _deconv2d_reference(
    x: Any, w: Any, b: Any, stride: IntPair, pad: IntPair, outsize: IntPair | None
) -> Array:
    x, w = np.asarray(x), np.asarray(w)
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(pad, "pad")
    kh, kw = w.shape[2:]
    oh, ow = (
        (sh * (x.shape[2] - 1) + kh - 2 * ph, sw * (x.shape[3] - 1) + kw - 2 * pw)
        if outsize is None
        else pair(outsize, "outsize")
    )
    dtype = np.result_type(x, w, b)
    y = np.zeros((x.shape[0], w.shape[1], oh + 2 * ph, ow + 2 * pw), dtype=dtype)
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            y[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += np.tensordot(
                x[:, :, i, j], w, axes=([1], [0])
            )
    out: Array = y[:, :, ph : ph + oh, pw : pw + ow] + np.asarray(b).reshape(-1, 1, 1)
    return out


def _pooling_reference(
    x: Any, kernel_size: IntPair, stride: IntPair, pad: IntPair, fill: float = -np.inf
) -> Array:
    y: Array = _patches(np.asarray(x), kernel_size, stride, pad, fill).max(axis=(4, 5))
    return y


def _average_pooling_reference(
    x: Any, kernel_size: IntPair, stride: IntPair, pad: IntPair
) -> Array:
    y: Array = _patches(x, kernel_size, stride, pad).mean(axis=(4, 5))
    return y


def _spec(
    name: str,
    primitive: type[Function],
    function: Callable[..., Variable],
    reference: Callable[..., Any],
    domains: tuple[Domain, ...],
    case: Callable[[Sampler], Case],
    kink: Kink | None = None,
) -> OpSpec:
    """A spec of this module: every operand may be a Variable or an array, and an example
    costs about ten ordinary ones (hundreds of evaluations for its central differences)."""
    anything: Role = "any"
    roles = (anything,) * len(domains)
    return OpSpec(
        name, primitive, function, reference, domains, roles, case=case, cost=10, kink=kink
    )


CONV_OPERANDS = (SMALL_INTEGERS,) * 3

SPECS = [
    _spec("im2col", Im2col, im2col, _im2col_reference, (ANY,), _im2col_case),
    _spec("col2im", Col2im, col2im, _col2im_reference, (SMALL_INTEGERS,), _col2im_case),
    _spec("conv2d", Conv2d, conv2d, _conv2d_reference, CONV_OPERANDS, _conv_case),
    _spec("conv2d_simple", Im2col, conv2d_simple, _conv2d_reference, CONV_OPERANDS, _conv_case),
    _spec("deconv2d", Deconv2d, deconv2d, _deconv2d_reference, CONV_OPERANDS, _deconv_case),
    _spec("pooling", Pooling, pooling, _pooling_reference, (ANY,), _pooling_case, MAX_POOLING_TIE),
    _spec(
        "pooling_simple",
        Pooling,
        lambda x, offsets, **window: pooling_simple(_shifted(x, offsets), **window),
        lambda x, offsets, **window: _pooling_reference(_shifted(x, offsets), **window, fill=0.0),
        (TIE_FREE,),
        _tie_free_pooling_case,
    ),
    _spec(
        "average_pooling",
        AveragePooling,
        average_pooling,
        _average_pooling_reference,
        (SMALL_INTEGERS,),
        _average_pooling_case,
    ),
]
