"""The layers verified as what they are: pure functions of (inputs, parameters, state).

A layer's call reads its parameters and its state (an RNN's hidden state, batch normalization's
running averages) and writes its new state. :func:`as_function` turns a layer into the function
``f(*inputs, *parameters, *state) -> outputs`` that the checks of
:mod:`~tinygrad_ref.verification.checks` take: each evaluation puts the given parameters into
the layer, resets its state to the given values (so that the many evaluations of a numerical
derivative all start from the same state, and none sees another's update), calls it, and puts
the layer's own parameters back. Its output is the layer's output followed by the new state
that is a Variable (an LSTM's cell), flattened into one vector, so that the gradients through
the state are checked too.

:func:`check_layer` checks one layer at given inputs: its output and new state against a NumPy
reference (when one is given), the first derivatives by every input, parameter and state
Variable against the numerical oracle, and the second ones. :data:`CASES` are DeZero's layers
and models, each in float32 and float64; :func:`run` prints the table
``python -m tinygrad_ref verify`` ends with (``verify --layers`` prints only it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO, TypeAlias

import numpy as np
import numpy.typing as npt

from tinygrad_ref import functions as F
from tinygrad_ref import layers as L
from tinygrad_ref.config import using_config
from tinygrad_ref.core import Array, Operand, Parameter, Variable
from tinygrad_ref.models import MLP
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification.checks import (
    ROUNDING_MULTIPLE,
    GradcheckReport,
    check_gradients,
    check_second_gradients,
)
from tinygrad_ref.verification.terminal import Progress, all_pass, legend, name_width, plural

State: TypeAlias = "Variable | Array | None"
"""One piece of a layer's state: a Variable (an RNN's hidden state, differentiated through),
an array (batch normalization's running averages, constants updated in place) or ``None`` (no
state yet: the first step of a sequence)."""

Reference = Callable[[list[Array], dict[str, Array], dict[str, Array | None]], list[Array]]
"""A layer in NumPy: given the inputs, the parameters by key (``"x2h/W"``) and the state by
name, in float64, its output followed by its new state, in the order of the layer's state."""


def _slot(layer: L.Layer, key: str) -> tuple[L.Layer, str]:
    """The layer that holds the parameter at ``key`` (``"l1/W"``) and its attribute name."""
    *path, name = key.split("/")
    owner = layer
    for part in path:
        owner = getattr(owner, part)
    return owner, name


def parameters(layer: L.Layer, state: Sequence[str] = ()) -> dict[str, Parameter]:
    """The parameters of ``layer`` by key, but those that are named in ``state`` (batch
    normalization's running averages): the ones a gradient is computed for."""
    return {key: p for key, p in layer._named_params() if key.split("/")[-1] not in state}


@contextmanager
def _parameters_replaced(layer: L.Layer, values: dict[str, Variable]) -> Iterator[None]:
    """``layer`` computing with ``values`` in place of its parameters, then its own again."""
    slots = {key: _slot(layer, key) for key in values}
    own = {key: owner.__dict__[name] for key, (owner, name) in slots.items()}
    try:
        for key, (owner, name) in slots.items():
            # NOTE: past Layer.__setattr__: a stand-in is a Variable, not a registered Parameter
            owner.__dict__[name] = values[key]
        yield
    finally:
        for key, (owner, name) in slots.items():
            owner.__dict__[name] = own[key]


def _set_state(layer: L.Layer, name: str, value: State) -> None:
    """Reset one piece of state: a Parameter holding it (batch normalization's running
    averages) gets a copy of the array, updated in place by the call; else the attribute is
    set (an RNN's ``h``)."""
    current = getattr(layer, name)
    if isinstance(current, Parameter):
        current.data = np.array(value.data if isinstance(value, Variable) else value)
    else:
        setattr(layer, name, value)


def _get_state(layer: L.Layer, name: str) -> State:
    value = getattr(layer, name)
    return np.array(value.data) if isinstance(value, Parameter) else value


def _call(layer: L.Layer, inputs: Sequence[Operand], train: bool) -> Variable:
    """``layer(*inputs)`` in training or test mode, checked to be one Variable."""
    with using_config("train", train):
        y: object = layer(*inputs)
    if not isinstance(y, Variable):
        raise TypeError(f"{type(layer).__name__} returned {type(y).__name__}, not one Variable")
    return y


def as_function(
    layer: L.Layer, n_inputs: int, state: Sequence[str] = (), train: bool = True
) -> Callable[..., Variable]:
    """``layer`` as the pure function ``f(*inputs, *parameters, *state)`` of its ``n_inputs``
    inputs, its :func:`parameters` (in their order) and the state attributes ``state``: it
    returns the layer's output followed by each new state that is a Variable (and not the
    output itself), flattened and concatenated into one vector if there are several. The layer
    runs in training mode or, with ``train=False``, in test mode."""
    keys = list(parameters(layer, state))

    def f(*args: Any) -> Variable:
        if len(args) != n_inputs + len(keys) + len(state):
            raise TypeError(
                f"{type(layer).__name__} as a function takes {n_inputs} inputs, {len(keys)} "
                f"parameters and {len(state)} pieces of state, got {len(args)} arguments"
            )
        inputs = args[:n_inputs]
        values = dict(zip(keys, args[n_inputs : n_inputs + len(keys)], strict=True))
        for name, value in zip(state, args[n_inputs + len(keys) :], strict=True):
            _set_state(layer, name, value)
        with _parameters_replaced(layer, values):
            y = _call(layer, inputs, train)
        # NOTE: state held in a Parameter (running averages) is updated on arrays, not recorded
        outputs = [y] + [
            s
            for s in (getattr(layer, name) for name in state)
            if isinstance(s, Variable) and not isinstance(s, Parameter)
        ]
        outputs = [v for i, v in enumerate(outputs) if all(v is not w for w in outputs[:i])]
        if len(outputs) == 1:
            return y
        return F.concatenate([v.reshape(-1) for v in outputs])

    return f


@dataclass(frozen=True)
class LayerReport:
    """What :func:`check_layer` measured."""

    forward_error: float
    """The largest error of the output and new state against the reference, in rounding errors
    of the dtype relative to the largest value (at most :data:`FORWARD_ROUNDING` passes); 0
    without a reference."""
    first: GradcheckReport
    second: GradcheckReport | None

    @property
    def failure(self) -> str | None:
        if self.forward_error > FORWARD_ROUNDING:
            return (
                f"the output is {self.forward_error:.3g} rounding errors from the reference "
                f"(at most {FORWARD_ROUNDING:g})"
            )
        if self.first.failure is not None:
            return self.first.failure
        if self.second is not None and self.second.failure is not None:
            return f"second derivatives: {self.second.failure}"
        return None


FORWARD_ROUNDING = ROUNDING_MULTIPLE
"""How many rounding errors of its dtype, relative to the largest value, a layer's output may be
from its float64 NumPy reference: a layer is a composition of a few ops, each within a few."""


def _rounding_errors(actual: Array, expected: Array, dtype: np.dtype[Any]) -> float:
    eps = float(np.finfo(dtype).eps)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    return float(np.abs(actual - expected).max(initial=0.0)) / (eps * scale)


def _copy(value: State) -> State:
    """A copy of a piece of state: a new Variable (a leaf, differentiated) or array."""
    if isinstance(value, Variable):
        return Variable(value.data.copy())
    return None if value is None else np.array(value)


def _as_float64(x: Any) -> Any:
    if isinstance(x, Variable):
        return np.asarray(x.data, dtype=np.float64)
    return x if x is None else np.asarray(x, dtype=np.float64)


def _forward_error(
    layer: L.Layer,
    inputs: Sequence[Operand],
    state: Sequence[str],
    start: Sequence[State],
    train: bool,
    reference: Reference,
) -> float:
    """The layer's output and new state against ``reference``, in rounding errors."""
    for name, value in zip(state, start, strict=True):
        _set_state(layer, name, value)
    y = _call(layer, inputs, train)
    actual = [y.data] + [_as_float64(_get_state(layer, name)) for name in state]
    expected = reference(
        [_as_float64(x) for x in inputs],
        {key: _as_float64(p) for key, p in parameters(layer, state).items()},
        {name: _as_float64(value) for name, value in zip(state, start, strict=True)},
    )
    if len(expected) != len(actual):
        raise ValueError(f"the reference gave {len(expected)} arrays for {len(actual)}")
    worst = 0.0
    for a, e in zip(actual, expected, strict=True):
        if a is None or np.shape(a) != np.shape(e):
            return float("inf")
        worst = max(worst, _rounding_errors(np.asarray(a, dtype=np.float64), e, y.dtype))
    return worst


def check_layer(
    layer: L.Layer,
    *inputs: Operand,
    state: Sequence[str] = (),
    train: bool = True,
    reference: Reference | None = None,
    second_order: bool = True,
    seed: int = 0,
) -> LayerReport:
    """Check ``layer`` at ``inputs`` (Variables are differentiated, arrays are constants, as
    integer ids), starting from its current parameters and from the current values of its
    ``state`` attributes, which it leaves as they were. See the module's description."""
    start = [_get_state(layer, name) for name in state]
    try:
        error = (
            0.0
            if reference is None
            else _forward_error(layer, inputs, state, start, train, reference)
        )
        f = as_function(layer, len(inputs), state, train)
        args: list[Any] = [
            *inputs,
            *(Variable(p.data.copy()) for p in parameters(layer, state).values()),
            *(_copy(s) for s in start),
        ]
        first = check_gradients(f, *args, seed=seed)
        second = check_second_gradients(f, *args, seed=seed) if second_order else None
    finally:
        for name, value in zip(state, start, strict=True):
            _set_state(layer, name, value)
    return LayerReport(error, first, second)


Build = Callable[[np.dtype[Any], np.random.Generator], tuple[L.Layer, list[Operand]]]
"""Makes a layer with its parameters (and state) drawn from the generator, in the dtype, and
the inputs to check it at."""


@dataclass(frozen=True)
class LayerCase:
    """One layer to verify: how to build it and its inputs, its state, the mode it runs in and
    its NumPy reference."""

    name: str
    build: Build
    reference: Reference
    state: tuple[str, ...] = ()
    train: bool = True
    second_order: bool = True


def _normal(rng: np.random.Generator, dtype: np.dtype[Any], *shape: int) -> Array:
    values: Array = rng.standard_normal(shape).astype(dtype)
    return values


def _filled(layer: L.Layer, rng: np.random.Generator, dtype: np.dtype[Any]) -> L.Layer:
    """``layer`` with every parameter redrawn from ``rng`` in ``dtype`` (biases are zeros
    otherwise, which would hide a bias that is not added)."""
    for param in layer.params():
        param.data = _normal(rng, dtype, *param.data.shape)
    return layer


def _sigmoid(x: Array) -> Array:
    result: Array = 0.5 * np.tanh(0.5 * x) + 0.5
    return result


def _linear(x: Array, p: dict[str, Array], prefix: str = "") -> Array:
    y: Array = x @ p[prefix + "W"]
    bias = p.get(prefix + "b")
    return y if bias is None else y + bias


def _linear_case(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
    layer = _filled(L.Linear(3, dtype=dtype, in_size=2), rng, dtype)
    return layer, [Variable(_normal(rng, dtype, 4, 2))]


def _linear_nobias_case(
    dtype: np.dtype[Any], rng: np.random.Generator
) -> tuple[L.Layer, list[Operand]]:
    layer = _filled(L.Linear(2, nobias=True, dtype=dtype, in_size=3), rng, dtype)
    return layer, [Variable(_normal(rng, dtype, 2, 2, 3))]


def _conv_reference(name: str, **window: Any) -> Reference:
    """The registered op's NumPy reference, as a layer's (``window``: its stride and pad)."""
    op = REGISTRY[name].reference

    def reference(
        xs: list[Array], p: dict[str, Array], state: dict[str, Array | None]
    ) -> list[Array]:
        return [np.asarray(op(xs[0], p["W"], p["b"], **window))]

    return reference


def _conv2d_case(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
    layer = _filled(L.Conv2d(2, 2, stride=1, pad=1, dtype=dtype, in_channels=2), rng, dtype)
    return layer, [Variable(_normal(rng, dtype, 1, 2, 2, 3))]


def _deconv2d_case(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
    layer = _filled(L.Deconv2d(2, 3, stride=2, pad=1, dtype=dtype, in_channels=2), rng, dtype)
    return layer, [Variable(_normal(rng, dtype, 1, 2, 2, 2))]


def _embed_id_case(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
    layer = _filled(L.EmbedID(4, 2), rng, dtype)
    return layer, [np.array([[0, 2, 2], [3, 0, 1]])]


def _batch_norm_case(
    dtype: np.dtype[Any], rng: np.random.Generator
) -> tuple[L.Layer, list[Operand]]:
    layer = L.BatchNorm()
    # NOTE: every channel's values spread apart (a permutation of 1, 2, ... plus noise): where
    # a channel's variance nears 0 its scale changes too fast for central differences
    shape = (3, 2, 2, 1)
    spread = rng.permutation(int(np.prod(shape))).reshape(shape) + 0.25 * rng.standard_normal(shape)
    x = Variable(spread.astype(dtype))
    layer(x)
    _filled(layer, rng, dtype)
    layer.avg_var.data = np.abs(layer.avg_var.data) + dtype.type(0.5)
    return layer, [x]


def _batch_norm_reference(train: bool) -> Reference:
    def reference(
        xs: list[Array], p: dict[str, Array], state: dict[str, Array | None]
    ) -> list[Array]:
        x, mean, var = xs[0], state["avg_mean"], state["avg_var"]
        assert mean is not None  # NOTE: the case gives both
        assert var is not None
        axes = (0, 2, 3) if x.ndim == 4 else (0,)
        shape = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
        if train:
            mu, sigma2 = x.mean(axis=axes), x.var(axis=axes)
            m = x.size // x.shape[1]
            mean = 0.9 * mean + 0.1 * mu
            var = 0.9 * var + 0.1 * sigma2 * m / max(m - 1, 1)
        else:
            mu, sigma2 = mean, var
        xhat = (x - mu.reshape(shape)) / np.sqrt(sigma2.reshape(shape) + 2e-5)
        return [p["gamma"].reshape(shape) * xhat + p["beta"].reshape(shape), mean, var]

    return reference


def _rnn_case(first: bool) -> Build:
    def build(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
        layer = _filled(L.RNN(3, in_size=2), rng, dtype)
        layer.h = None if first else Variable(_normal(rng, dtype, 2, 3))
        return layer, [Variable(_normal(rng, dtype, 2, 2))]

    return build


def _rnn_reference(
    xs: list[Array], p: dict[str, Array], state: dict[str, Array | None]
) -> list[Array]:
    h = state["h"]
    z = _linear(xs[0], p, "x2h/") + (0.0 if h is None else _linear(h, p, "h2h/"))
    y = np.tanh(z)
    return [y, y]


def _lstm_case(first: bool) -> Build:
    def build(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
        layer = _filled(L.LSTM(2, in_size=3), rng, dtype)
        if not first:
            layer.h = Variable(_normal(rng, dtype, 2, 2))
            layer.c = Variable(_normal(rng, dtype, 2, 2))
        return layer, [Variable(_normal(rng, dtype, 2, 3))]

    return build


def _lstm_reference(
    xs: list[Array], p: dict[str, Array], state: dict[str, Array | None]
) -> list[Array]:
    x, h, c = xs[0], state["h"], state["c"]

    def gate(name: str) -> Array:
        z = _linear(x, p, f"x2{name}/")
        return z if h is None else z + _linear(h, p, f"h2{name}/")

    f, i, o, u = _sigmoid(gate("f")), _sigmoid(gate("i")), _sigmoid(gate("o")), np.tanh(gate("u"))
    c_new = i * u if c is None else f * c + i * u
    h_new = o * np.tanh(c_new)
    return [h_new, h_new, c_new]


def _mlp_case(dtype: np.dtype[Any], rng: np.random.Generator) -> tuple[L.Layer, list[Operand]]:
    x = Variable(_normal(rng, dtype, 2, 3))
    model = MLP((3, 2))
    model(x)
    return _filled(model, rng, dtype), [x]


def _mlp_reference(
    xs: list[Array], p: dict[str, Array], state: dict[str, Array | None]
) -> list[Array]:
    return [_linear(_sigmoid(_linear(xs[0], p, "l0/")), p, "l1/")]


CASES: tuple[LayerCase, ...] = (
    LayerCase("Linear", _linear_case, lambda xs, p, s: [_linear(xs[0], p)]),
    LayerCase("Linear nobias", _linear_nobias_case, lambda xs, p, s: [_linear(xs[0], p)]),
    LayerCase("Conv2d", _conv2d_case, _conv_reference("conv2d", stride=1, pad=1)),
    LayerCase(
        "Deconv2d", _deconv2d_case, _conv_reference("deconv2d", stride=2, pad=1, outsize=None)
    ),
    LayerCase("EmbedID", _embed_id_case, lambda xs, p, s: [p["W"][xs[0].astype(np.intp)]]),
    LayerCase(
        "BatchNorm",
        _batch_norm_case,
        _batch_norm_reference(train=True),
        state=("avg_mean", "avg_var"),
    ),
    LayerCase(
        "BatchNorm test",
        _batch_norm_case,
        _batch_norm_reference(train=False),
        state=("avg_mean", "avg_var"),
        train=False,
    ),
    LayerCase("RNN first", _rnn_case(first=True), _rnn_reference, state=("h",)),
    LayerCase("RNN", _rnn_case(first=False), _rnn_reference, state=("h",)),
    LayerCase("LSTM first", _lstm_case(first=True), _lstm_reference, state=("h", "c")),
    LayerCase("LSTM", _lstm_case(first=False), _lstm_reference, state=("h", "c")),
    LayerCase("MLP", _mlp_case, _mlp_reference),
)
"""DeZero's layers and its MLP, each checked in float32 and float64."""

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def verify_case(case: LayerCase, dtype: npt.DTypeLike, seed: int = 0) -> LayerReport:
    """Build ``case`` in ``dtype`` from ``seed`` and :func:`check_layer` it."""
    rng = np.random.default_rng(seed)
    state = np.random.get_state()  # noqa: NPY002  # NOTE: the layers draw from it; restored below
    try:
        layer, inputs = case.build(np.dtype(dtype), rng)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return check_layer(
        layer,
        *inputs,
        state=case.state,
        train=case.train,
        reference=case.reference,
        second_order=case.second_order,
        seed=seed,
    )


def run(seed: int, out: TextIO, progress: TextIO, dtype: str | None = None) -> int:
    """Verify every case of :data:`CASES` and print one row per case and dtype; 1 if any
    failed, else 0. On a terminal, ``progress`` shows one line that rewrites itself."""
    width = name_width((case.name for case in CASES), "layer")
    header = (
        f"{'layer':<{width}} {'dtype':<8} {'forward':>7} {'1st rel':>9} {'margin':>7} "
        f"{'2nd rel':>9} {'margin':>7}  result"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    dtypes = DTYPES if dtype is None else (np.dtype(dtype),)
    status = Progress(progress)
    failures: list[str] = []
    start = time.perf_counter()
    for number, case in enumerate(CASES, 1):
        for d in dtypes:
            status.show(f"[{number}/{len(CASES)}] {case.name} {d}")
            try:
                report = verify_case(case, d, seed)
                failure = report.failure
                first, second = report.first, report.second
                numbers = f"{report.forward_error:7.2g} {first.max_rel_error:9.1e} "
                numbers += f"{first.margin:7.2g} "
                numbers += (
                    f"{'-':>9} {'-':>7}"
                    if second is None
                    else f"{second.max_rel_error:9.1e} {second.margin:7.2g}"
                )
            except Exception as error:  # NOTE: one layer's crash is that layer's failure
                failure, numbers = repr(error), f"{'-':>7} {'-':>9} {'-':>7} {'-':>9} {'-':>7}"
            if failure is not None:
                failures.append(f"{case.name} ({d}): {failure}")
            result = "pass" if failure is None else "FAIL"
            status.clear()
            print(f"{case.name:<{width}} {d!s:<8} {numbers}  {result}", file=out)
            out.flush()
    for failure in failures:
        print(f"\n{failure}", file=out)
    rows = len(CASES) * len(dtypes)
    verdict = (
        f"{len(failures)} of {plural(rows, 'layer check')} FAILED"
        if failures
        else all_pass(rows, "layer check")
    )
    elapsed = time.perf_counter() - start
    print(f"\nlayers: {verdict} ({elapsed:.1f} s, seed {seed})", file=out)
    entries = [
        ("forward", "the worst error of the output and new state against a NumPy reference, "
         f"in rounding errors of the dtype (at most {FORWARD_ROUNDING:g} passes)"),
        ("1st rel", "the worst relative error of the first derivatives by every input, "
         "parameter and state, against the oracle (Richardson)"),
        ("margin", "the worst error over its allowed error (at most 1 passes)"),
        ("2nd rel", "the same for the second derivatives"),
        ("-", "not measured: the check raised an error, shown below the table"),
    ]  # fmt: skip
    print(f"\n{legend(entries)}", file=out)
    return 1 if failures else 0
