"""DeZero's models (``dezero.models``): a :class:`Model` is a :class:`~tinygrad_ref.layers.Layer`
that can draw its graph; :class:`Sequential` and :class:`MLP` are the two DeZero builds in.

DeZero's pretrained networks (``VGG16``, ``ResNet`` and its variants, ``SqueezeNet``) are
refused by name: see :class:`VGG16`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from tinygrad_ref import functions as F
from tinygrad_ref import utils
from tinygrad_ref.core import Operand, Variable, as_variable
from tinygrad_ref.layers import Layer, Linear


class Model(Layer):
    """A layer that is a whole network (DeZero's ``Model``)."""

    def plot(self, *inputs: Operand, to_file: str | os.PathLike[str] = "model.png") -> None:
        """Run the model on ``inputs`` and draw the graph of its output, with each variable's
        shape and dtype, to ``to_file`` (a ``.png`` or ``.svg`` file; Graphviz's ``dot`` must
        be installed): :func:`tinygrad_ref.utils.plot_dot_graph`."""
        y = self.forward(*inputs)
        if not isinstance(y, Variable):
            raise TypeError(f"plot draws one output; {type(self).__name__} returned {type(y)}")
        utils.plot_dot_graph(y, verbose=True, to_file=to_file)


class Sequential(Model):
    """The layers (or functions of one Variable) applied in turn (DeZero's ``Sequential``);
    the layers are registered as the attributes ``l0``, ``l1``, ..."""

    def __init__(self, *layers: Layer | Callable[[Variable], Variable]) -> None:
        super().__init__()
        self.layers: list[Layer | Callable[[Variable], Variable]] = []
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential takes layers or functions; item {i} is {layer!r}")
            setattr(self, f"l{i}", layer)
            self.layers.append(layer)

    def forward(self, x: Operand) -> Variable:
        y = x
        for i, layer in enumerate(self.layers):
            # NOTE: an array stays a constant for a layer, as it is for an op
            out: object = layer(y) if isinstance(layer, Layer) else layer(as_variable(y))
            if not isinstance(out, Variable):
                raise TypeError(f"Sequential passes one Variable on; layer {i} returned {out!r}")
            y = out
        return as_variable(y)


class MLP(Model):
    """A multilayer perceptron (DeZero's ``MLP``): one :class:`~tinygrad_ref.layers.Linear`
    per entry of ``fc_output_sizes`` (its output size; input sizes are taken from the data),
    ``activation`` between them and none after the last."""

    def __init__(
        self,
        fc_output_sizes: Sequence[int],
        activation: Callable[[Variable], Variable] = F.sigmoid,
    ) -> None:
        super().__init__()
        if not fc_output_sizes:
            raise ValueError("MLP needs at least one output size")
        self.activation = activation
        self.layers: list[Linear] = []
        for i, out_size in enumerate(fc_output_sizes):
            layer = Linear(out_size)
            setattr(self, f"l{i}", layer)
            self.layers.append(layer)

    def forward(self, x: Operand) -> Variable:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


class _Pretrained(Model):
    """A DeZero model that tinygrad_ref does not provide: building one raises
    ``NotImplementedError`` saying why."""

    reason: ClassVar[str] = (
        "DeZero's {name} exists to load pretrained weights that it downloads at run time "
        "(from github.com/koki0702/dezero-models), and tinygrad_ref downloads nothing"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        raise NotImplementedError(
            f"{name} is not provided by tinygrad_ref: {self.reason.format(name=name)}. Build "
            "the network you need from tinygrad_ref.layers (Conv2d, BatchNorm, Linear, ...) "
            "and load weights you have with load_weights()"
        )


class VGG16(_Pretrained):
    """Refused: DeZero's VGG16 downloads its pretrained weights."""


class ResNet(_Pretrained):
    """Refused: DeZero's ResNet downloads its pretrained weights."""


class ResNet50(ResNet):
    """Refused: DeZero's ResNet50 downloads its pretrained weights."""


class ResNet101(ResNet):
    """Refused: DeZero's ResNet101 downloads its pretrained weights."""


class ResNet152(ResNet):
    """Refused: DeZero's ResNet152 downloads its pretrained weights."""


class SqueezeNet(_Pretrained):
    """Refused: DeZero's SqueezeNet is an empty placeholder for pretrained weights."""

    reason = (
        "DeZero's SqueezeNet is an empty placeholder, meant for pretrained weights downloaded "
        "at run time, and tinygrad_ref downloads nothing"
    )
