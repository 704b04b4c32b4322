"""DeZero's layers (``dezero.layers``): a :class:`Layer` holds the :class:`Parameter` objects it
learns and the layers it is made of, and computes with the ops of :mod:`tinygrad_ref.functions`.

A layer is a function of its inputs, its parameters and its state (an RNN's hidden state, batch
normalization's running averages): ``python -m tinygrad_ref verify`` checks each one as such a
function (:mod:`tinygrad_ref.verification.layers`).

The layers that draw initial weights draw them from NumPy's global random state
(``np.random.seed`` fixes them), in DeZero's order: when they are constructed if the input size
is given, else at their first call. Parameters and state are created in the layer's ``dtype``
(float32 by default, as DeZero's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, cast, overload

import numpy as np
import numpy.typing as npt

from tinygrad_ref import functions as F
from tinygrad_ref.core import Array, Operand, Parameter, Variable, as_variable
from tinygrad_ref.ops.conv import IntPair, pair


class _OneOutput(Protocol):
    """A layer whose ``forward`` is typed to return one Variable (or is not typed)."""

    @property
    def forward(self) -> Callable[..., Variable]: ...


class _SeveralOutputs(Protocol):
    """A layer whose ``forward`` is typed to return a tuple of Variables."""

    @property
    def forward(self) -> Callable[..., tuple[Variable, ...]]: ...


class Layer:
    """The base of every layer and model (DeZero's ``Layer``).

    Assigning a :class:`Parameter` or a :class:`Layer` to an attribute registers it:
    :meth:`params` then yields the parameter, or every parameter of the sub-layer, in the order
    the attributes were first assigned (DeZero keeps the names in a set, whose order varies
    from run to run), each parameter once even if it is reachable twice. Define ``forward``;
    calling the layer calls it."""

    _params: dict[str, None]
    """The names of the attributes that hold a Parameter or a Layer, in assignment order."""

    def __init__(self) -> None:
        object.__setattr__(self, "_params", {})

    def __setattr__(self, name: str, value: object) -> None:
        registered = self.__dict__.get("_params")
        if registered is None:
            raise TypeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before it sets "
                f"attributes (setting {name!r})"
            )
        if isinstance(value, (Parameter, Layer)):
            registered[name] = None
        else:
            registered.pop(name, None)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        self._params.pop(name, None)
        super().__delattr__(name)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    @overload
    def __call__(self: _OneOutput, *inputs: Operand) -> Variable: ...
    @overload
    def __call__(self: _SeveralOutputs, *inputs: Operand) -> tuple[Variable, ...]: ...
    @overload
    def __call__(self, *inputs: Operand) -> Variable: ...
    def __call__(self, *inputs: Operand) -> Variable | tuple[Variable, ...]:
        outputs: Variable | tuple[Variable, ...] = self.forward(*inputs)
        return outputs

    def _named_params(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its path of attribute names, ``"l1/W"`` (DeZero's keys in a
        weights file), depth first in registration order; a parameter reachable twice is
        yielded at each path."""
        for name in self._params:
            value = self.__dict__[name]
            key = f"{prefix}/{name}" if prefix else name
            if isinstance(value, Layer):
                yield from value._named_params(key)
            else:
                yield key, value

    def params(self) -> Iterator[Parameter]:
        """Every parameter of this layer and of its sub-layers, each once."""
        seen: set[Parameter] = set()
        for _, param in self._named_params():
            if param not in seen:
                seen.add(param)
                yield param

    def cleargrads(self) -> None:
        """Clear the gradient of every parameter."""
        for param in self.params():
            param.cleargrad()

    def to_cpu(self) -> None:
        """Does nothing: tinygrad_ref computes with NumPy, on the CPU (kept from DeZero, whose
        ``to_cpu`` moves CuPy arrays back to NumPy)."""

    def to_gpu(self) -> None:
        """Does nothing: tinygrad_ref has no GPU backend and computes with NumPy on the CPU
        (kept from DeZero, whose ``to_gpu`` moves the parameters to CuPy arrays)."""

    def save_weights(self, path: str | os.PathLike[str]) -> None:
        """Save every parameter's data to the ``.npz`` file ``path`` (NumPy adds the suffix if
        it is missing), keyed by its path of attribute names as DeZero's (``"l1/W"``), so that
        the files of the two libraries are interchangeable. A parameter without data yet (a
        layer that sizes its weights at its first call) is refused by name."""
        arrays: dict[str, Any] = {}
        for key, param in self._named_params():
            if _empty(param):
                raise ValueError(
                    f"cannot save the weights of {type(self).__name__}: parameter {key!r} has "
                    "no data yet (its layer creates it at its first call); call the model once "
                    "first"
                )
            arrays[key] = param.data
        path = Path(path)
        try:
            np.savez_compressed(path, **arrays)
        except BaseException:
            for written in (path, path.with_name(path.name + ".npz")):
                written.unlink(missing_ok=True)
            raise

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Load every parameter's data from the ``.npz`` file ``path`` that
        :meth:`save_weights` (ours or DeZero's) wrote. The file must hold exactly this layer's
        parameters, each of the shape it has (a parameter without data yet takes the file's
        array as it is): otherwise a ``ValueError`` names the keys or the shapes that differ,
        and nothing is loaded."""
        params = dict(self._named_params())
        with np.load(path) as npz:
            arrays = {key: npz[key] for key in npz.files}
        missing = [key for key in params if key not in arrays]
        unexpected = [key for key in arrays if key not in params]
        if missing or unexpected:
            raise ValueError(
                f"{os.fspath(path)!r} does not hold the parameters of this "
                f"{type(self).__name__}: missing {missing}, unexpected {unexpected}"
            )
        for key, param in params.items():
            if not _empty(param) and param.data.shape != arrays[key].shape:
                raise ValueError(
                    f"{os.fspath(path)!r}: parameter {key!r} has shape {arrays[key].shape} in "
                    f"the file, {param.data.shape} in this {type(self).__name__}"
                )
        for key, param in params.items():
            param.data = arrays[key]


def _empty(v: Variable) -> bool:
    """Whether ``v`` is DeZero's placeholder ``Parameter(None)``, which a layer fills later."""
    return cast("Array | None", v.data) is None


def _positive(value: object, name: str) -> int:
    """``value`` as a positive int, or a clear error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _float_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    """``dtype`` as a floating dtype, the dtype of a layer's parameters."""
    result = np.dtype(dtype)
    if result.kind != "f":
        raise ValueError(f"a layer's dtype must be a floating dtype, got {result}")
    return result


def _optional_positive(value: object, name: str) -> int | None:
    return None if value is None else _positive(value, name)


def _randn(dtype: npt.DTypeLike, shape: tuple[int, ...], fan_in: int) -> Array:
    """DeZero's initial weights: ``randn(*shape) * sqrt(1 / fan_in)`` from NumPy's global
    random state, in ``dtype``."""
    draw = np.random.randn(*shape).astype(dtype)  # noqa: NPY002  # NOTE: DeZero's random order
    # NOTE: the scale in `dtype`, as NumPy 1 computed DeZero's `W * np.sqrt(1 / I)` and as the
    # book printed it; NumPy 2 would promote a float32 W to float64 there.
    scaled: Array = draw * draw.dtype.type(np.sqrt(1 / fan_in))
    return scaled


def _channels(x: Operand, layer: str) -> int:
    """The size of axis 1 of an NCHW input, which a layer sizes its filters by."""
    shape = np.shape(x.data if isinstance(x, Variable) else x)
    if len(shape) != 4:
        raise ValueError(f"{layer} needs an input of shape (N, C, H, W), got {shape}")
    return int(shape[1])


class Linear(Layer):
    """``x @ W + b`` (DeZero's ``Linear``): ``W`` ``(in_size, out_size)`` drawn as
    ``randn * sqrt(1 / in_size)`` when ``in_size`` is given, else at the first call from the
    size of the input's last axis; ``b`` zeros, or ``None`` with ``nobias``."""

    W: Parameter
    b: Parameter | None

    def __init__(
        self,
        out_size: int,
        nobias: bool = False,
        dtype: npt.DTypeLike = np.float32,
        in_size: int | None = None,
    ) -> None:
        super().__init__()
        self.out_size = _positive(out_size, "out_size")
        self.in_size = _optional_positive(in_size, "in_size")
        self.dtype = _float_dtype(dtype)
        self.W = Parameter(None, name="W")
        if self.in_size is not None:
            self._init_W()
        self.b = None if nobias else Parameter(np.zeros(self.out_size, self.dtype), name="b")

    def _init_W(self) -> None:
        assert self.in_size is not None  # NOTE: set before, from the argument or the input
        self.W.data = _randn(self.dtype, (self.in_size, self.out_size), self.in_size)

    def forward(self, x: Operand) -> Variable:
        if _empty(self.W):
            shape = np.shape(x.data if isinstance(x, Variable) else x)
            if not shape:
                raise ValueError("Linear needs an input of shape (..., in_size), got a 0-d one")
            self.in_size = int(shape[-1])
            self._init_W()
        return F.linear(x, self.W, self.b)


class _Filters(Layer):
    """What :class:`Conv2d` and :class:`Deconv2d` share: filters ``W`` sized by the input's
    channels, drawn as ``randn * sqrt(1 / (C * KH * KW))``, and a bias ``b`` of zeros."""

    W: Parameter
    b: Parameter | None

    def __init__(
        self,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        pad: IntPair = 0,
        nobias: bool = False,
        dtype: npt.DTypeLike = np.float32,
        in_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = _optional_positive(in_channels, "in_channels")
        self.out_channels = _positive(out_channels, "out_channels")
        pair(kernel_size, "kernel_size")
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad
        self.dtype = _float_dtype(dtype)
        self.W = Parameter(None, name="W")
        if self.in_channels is not None:
            self._init_W()
        self.b = None if nobias else Parameter(np.zeros(self.out_channels, self.dtype), name="b")

    def _filter_shape(self, c: int, oc: int, kh: int, kw: int) -> tuple[int, ...]:
        raise NotImplementedError

    def _init_W(self) -> None:
        assert self.in_channels is not None  # NOTE: set before, from the argument or the input
        kh, kw = pair(self.kernel_size, "kernel_size")
        shape = self._filter_shape(self.in_channels, self.out_channels, kh, kw)
        self.W.data = _randn(self.dtype, shape, self.in_channels * kh * kw)

    def _sized(self, x: Operand) -> None:
        if _empty(self.W):
            self.in_channels = _channels(x, type(self).__name__)
            self._init_W()


class Conv2d(_Filters):
    """A 2-D convolution (DeZero's ``Conv2d``): filters ``W`` ``(out_channels, C, KH, KW)``;
    see :func:`tinygrad_ref.functions.conv2d`."""

    def _filter_shape(self, c: int, oc: int, kh: int, kw: int) -> tuple[int, ...]:
        return (oc, c, kh, kw)

    def forward(self, x: Operand) -> Variable:
        self._sized(x)
        return F.conv2d(x, self.W, self.b, self.stride, self.pad)


class Deconv2d(_Filters):
    """A 2-D transposed convolution (DeZero's ``Deconv2d``): filters ``W``
    ``(C, out_channels, KH, KW)``; see :func:`tinygrad_ref.functions.deconv2d`."""

    def _filter_shape(self, c: int, oc: int, kh: int, kw: int) -> tuple[int, ...]:
        return (c, oc, kh, kw)

    def forward(self, x: Operand) -> Variable:
        self._sized(x)
        return F.deconv2d(x, self.W, self.b, self.stride, self.pad)


class RNN(Layer):
    """An Elman RNN (DeZero's ``RNN``): ``h = tanh(x @ Wx + b + h_prev @ Wh)``, the hidden state
    ``h`` kept between calls until :meth:`reset_state`; the first call after a reset has no
    ``h_prev`` term.

    ``x2h`` draws its weights when ``in_size`` is given, else at the first call, and ``h2h``
    (``(hidden_size, hidden_size)``) at the second call, in DeZero's order. DeZero sizes
    ``h2h`` by ``in_size`` when it is given, which fails at the second call unless ``in_size``
    equals ``hidden_size``; here it is ``hidden_size``, drawn when ``in_size`` is given."""

    h: Variable | None

    def __init__(self, hidden_size: int, in_size: int | None = None) -> None:
        super().__init__()
        hidden_size = _positive(hidden_size, "hidden_size")
        self.x2h = Linear(hidden_size, in_size=in_size)
        h2h_in = None if in_size is None else hidden_size
        self.h2h = Linear(hidden_size, in_size=h2h_in, nobias=True)
        self.h = None

    def reset_state(self) -> None:
        """Forget the hidden state: the next call starts a new sequence."""
        self.h = None

    def forward(self, x: Operand) -> Variable:
        h = self.x2h(x) if self.h is None else self.x2h(x) + self.h2h(self.h)
        h_new = F.tanh(h)
        self.h = h_new
        return h_new


class LSTM(Layer):
    """A long short-term memory layer (DeZero's ``LSTM``): forget, input and output gates and a
    candidate computed from ``x`` and the previous ``h``, the cell ``c`` and hidden state ``h``
    kept between calls until :meth:`reset_state`.

    The weights from ``x`` (``x2f``, ``x2i``, ``x2o``, ``x2u``) are drawn when ``in_size`` is
    given, else at the first call; those from ``h`` (``h2f``, ..., no bias) when the layer is
    built, in DeZero's order."""

    h: Variable | None
    c: Variable | None

    def __init__(self, hidden_size: int, in_size: int | None = None) -> None:
        super().__init__()
        H = _positive(hidden_size, "hidden_size")
        self.x2f = Linear(H, in_size=in_size)
        self.x2i = Linear(H, in_size=in_size)
        self.x2o = Linear(H, in_size=in_size)
        self.x2u = Linear(H, in_size=in_size)
        self.h2f = Linear(H, in_size=H, nobias=True)
        self.h2i = Linear(H, in_size=H, nobias=True)
        self.h2o = Linear(H, in_size=H, nobias=True)
        self.h2u = Linear(H, in_size=H, nobias=True)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the hidden state and the cell: the next call starts a new sequence."""
        self.h = None
        self.c = None

    def forward(self, x: Operand) -> Variable:
        h = self.h
        # NOTE: the gates in DeZero's order (f, i, o, u): lazily sized layers draw in it
        if h is None:
            f = F.sigmoid(self.x2f(x))
            i = F.sigmoid(self.x2i(x))
            o = F.sigmoid(self.x2o(x))
            u = F.tanh(self.x2u(x))
        else:
            f = F.sigmoid(self.x2f(x) + self.h2f(h))
            i = F.sigmoid(self.x2i(x) + self.h2i(h))
            o = F.sigmoid(self.x2o(x) + self.h2o(h))
            u = F.tanh(self.x2u(x) + self.h2u(h))
        c_new = i * u if self.c is None else f * self.c + i * u
        h_new = o * F.tanh(c_new)
        self.h, self.c = h_new, c_new
        return h_new


class EmbedID(Layer):
    """An embedding (DeZero's ``EmbedID``): row ``W[i]`` for each integer id ``i`` of the input,
    with ``W`` ``(in_size, out_size)`` drawn as ``randn`` in float64 when the layer is built;
    see :func:`tinygrad_ref.functions.embed_id`."""

    W: Parameter

    def __init__(self, in_size: int, out_size: int) -> None:
        super().__init__()
        shape = (_positive(in_size, "in_size"), _positive(out_size, "out_size"))
        self.W = Parameter(np.random.randn(*shape), name="W")  # noqa: NPY002  # NOTE: DeZero's

    def forward(self, x: Operand) -> Variable:
        return F.embed_id(x, self.W)


class BatchNorm(Layer):
    """Batch normalization (DeZero's ``BatchNorm``) over axis 1 of ``(N, C)`` or
    ``(N, C, H, W)`` inputs; see :func:`tinygrad_ref.functions.batch_norm`.

    ``gamma`` (ones), ``beta`` (zeros) and the running averages ``avg_mean`` (zeros) and
    ``avg_var`` (ones) are created at the first call, in the input's dtype. The running
    averages are Parameters only so that :meth:`save_weights` saves them, as DeZero's: they get
    no gradient (so no optimizer changes them), and in training mode each call updates them in
    place."""

    avg_mean: Parameter
    avg_var: Parameter
    gamma: Parameter
    beta: Parameter

    def __init__(self) -> None:
        super().__init__()
        self.avg_mean = Parameter(None, name="avg_mean")
        self.avg_var = Parameter(None, name="avg_var")
        self.gamma = Parameter(None, name="gamma")
        self.beta = Parameter(None, name="beta")

    def _init_params(self, x: Variable) -> None:
        if x.ndim not in (2, 4):
            raise ValueError(
                f"BatchNorm needs an input of shape (N, C) or (N, C, H, W), got {x.shape}"
            )
        channels, dtype = x.shape[1], x.dtype
        for param, fill in (
            (self.avg_mean, 0.0),
            (self.avg_var, 1.0),
            (self.gamma, 1.0),
            (self.beta, 0.0),
        ):
            if _empty(param):
                param.data = np.full(channels, fill, dtype)

    def forward(self, x: Operand) -> Variable:
        if _empty(self.avg_mean):
            self._init_params(as_variable(x))
        return F.batch_norm(x, self.gamma, self.beta, self.avg_mean.data, self.avg_var.data)
