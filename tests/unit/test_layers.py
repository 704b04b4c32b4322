"""tinygrad_ref.layers: registration, saving, DeZero's initialization and its random order."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_ref
import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Layer, Parameter, Variable
from tinygrad_ref.core import Array

from ..helpers import grad_of, import_dezero


@pytest.fixture(autouse=True)
def _global_random_state() -> Iterator[None]:
    """The layers draw from NumPy's global random state: each test seeds it, and it is put
    back afterwards."""
    state = np.random.get_state()  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


def dezero_init(shape: tuple[int, ...], fan_in: int, dtype: type = np.float32) -> Array:
    """What DeZero's layers draw next: ``randn(*shape)`` cast to ``dtype``, times
    ``sqrt(1 / fan_in)`` computed in ``dtype`` (as NumPy 1 computed it)."""
    scale = np.sqrt(1 / fan_in)
    drawn: Array = np.random.randn(*shape).astype(dtype) * dtype(scale)  # noqa: NPY002
    return drawn


class Two(Layer):
    def __init__(self) -> None:
        super().__init__()
        self.a = Parameter(np.array(1.0), name="a")
        self.inner = L.Linear(2, in_size=2)
        self.b = Parameter(np.array(2.0))
        self.note = "not a parameter"

    def forward(self, x: Variable) -> Variable:
        return self.inner(x) * self.a + self.b


def test_params_are_registered_by_attribute_in_assignment_order() -> None:
    layer = Two()
    assert [p.name for p in layer.params()] == ["a", "W", "b", None]
    assert list(layer._params) == ["a", "inner", "b"]
    assert [key for key, _ in layer._named_params()] == ["a", "inner/W", "inner/b", "b"]


def test_reassigning_or_deleting_an_attribute_unregisters_it() -> None:
    layer = Two()
    layer.a = 3.0  # type: ignore[assignment]  # NOTE: a plain value now
    del layer.b
    assert [key for key, _ in layer._named_params()] == ["inner/W", "inner/b"]


def test_a_parameter_reachable_twice_is_yielded_once() -> None:
    layer = Two()
    layer.again = layer.inner
    layer.c = layer.a
    assert len(list(layer.params())) == 4
    assert len(list(layer._named_params())) == 7


def test_a_layer_that_forgets_super_init_is_told() -> None:
    class Forgetful(Layer):
        def __init__(self) -> None:
            self.W = Parameter(np.ones(2))

    with pytest.raises(TypeError, match=r"Forgetful.__init__ must call super\(\).__init__\(\)"):
        Forgetful()


def test_a_layer_without_forward_says_so() -> None:
    with pytest.raises(NotImplementedError, match="Layer does not define forward"):
        Layer()(np.ones(2))


def test_cleargrads_clears_every_parameter() -> None:
    layer = Two()
    layer(np.ones((1, 2))).sum().backward()
    assert all(p.grad is not None for p in layer.params())
    layer.cleargrads()
    assert all(p.grad is None for p in layer.params())


def test_to_cpu_and_to_gpu_change_nothing() -> None:
    layer = Two()
    before = [p.data for p in layer.params()]
    layer.to_gpu()
    layer.to_cpu()
    assert all(p.data is b for p, b in zip(layer.params(), before, strict=True))


def test_weights_round_trip_through_an_npz_file_under_dezero_keys(tmp_path: Path) -> None:
    layer = Two()
    path = tmp_path / "two.npz"
    layer.save_weights(path)
    with np.load(path) as saved:
        assert sorted(saved.files) == ["a", "b", "inner/W", "inner/b"]
        np.testing.assert_array_equal(saved["inner/W"], layer.inner.W.data)
    other = Two()
    other.load_weights(path)
    for mine, theirs in zip(layer.params(), other.params(), strict=True):
        np.testing.assert_array_equal(mine.data, theirs.data)


def test_a_lazy_parameter_is_loaded_as_it_is(tmp_path: Path) -> None:
    np.random.seed(0)  # noqa: NPY002
    trained = L.Linear(3)
    trained(np.ones((1, 2)))
    trained.save_weights(tmp_path / "w.npz")
    fresh = L.Linear(3)
    fresh.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(fresh.W.data, trained.W.data)


def test_saving_a_parameter_without_data_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="parameter 'W' has no data yet"):
        L.Linear(3).save_weights(tmp_path / "w.npz")
    assert not list(tmp_path.iterdir())


def test_loading_other_parameters_is_refused_and_loads_nothing(tmp_path: Path) -> None:
    L.Linear(3, in_size=2).save_weights(tmp_path / "linear.npz")
    layer = Two()
    before = layer.a.data
    with pytest.raises(
        ValueError, match=r"missing \['a', 'inner/W', 'inner/b'\], unexpected \['W'\]"
    ):
        layer.load_weights(tmp_path / "linear.npz")
    with pytest.raises(ValueError, match=r"parameter 'W' has shape \(2, 3\) in the file, \(4, 3\)"):
        L.Linear(3, in_size=4).load_weights(tmp_path / "linear.npz")
    assert layer.a.data is before


def test_linear_draws_dezeros_initial_weights_at_its_first_call() -> None:
    np.random.seed(3)  # noqa: NPY002
    first, second = L.Linear(4), L.Linear(2)
    assert repr(first.W) == "variable(None)"
    assert first.b is not None
    y = second(first(np.ones((5, 3))))
    np.random.seed(3)  # noqa: NPY002
    np.testing.assert_array_equal(first.W.data, dezero_init((3, 4), 3))
    np.testing.assert_array_equal(second.W.data, dezero_init((4, 2), 4))
    assert first.W.dtype == np.float32
    assert first.b.dtype == np.float32
    assert first.in_size == 3
    assert y.shape == (5, 2)


def test_linear_with_in_size_draws_when_it_is_built() -> None:
    np.random.seed(1)  # noqa: NPY002
    layer = L.Linear(2, nobias=True, dtype=np.float64, in_size=3)
    np.random.seed(1)  # noqa: NPY002
    np.testing.assert_array_equal(layer.W.data, dezero_init((3, 2), 3, np.float64))
    assert layer.b is None
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer(x).data, x @ layer.W.data)


def test_linear_sizes_itself_by_the_last_axis() -> None:
    y = L.Linear(2)(np.ones((4, 5, 3)))
    assert y.shape == (4, 5, 2)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: L.Linear(0), "out_size must be a positive int, got 0"),
        (lambda: L.Linear(2, in_size=2.5), "in_size must be a positive int, got 2.5"),  # type: ignore[arg-type]
        (lambda: L.Linear(2, dtype=np.int64), "dtype must be a floating dtype, got int64"),
        (lambda: L.Conv2d(True, 3), "out_channels must be a positive int, got True"),
        (lambda: L.RNN(-1), "hidden_size must be a positive int, got -1"),
        (lambda: L.EmbedID(3, 0), "out_size must be a positive int, got 0"),
    ],
)
def test_bad_sizes_are_named(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"Conv2d needs an input of shape \(N, C, H, W\)"):
        L.Conv2d(2, 3)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"BatchNorm needs an input of shape \(N, C\)"):
        L.BatchNorm()(np.ones(3))
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints"):
        L.Conv2d(2, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="linear needs x of shape"):
        L.Linear(2, in_size=3)(np.ones((1, 4)))


def test_conv2d_and_deconv2d_filters() -> None:
    np.random.seed(2)  # noqa: NPY002
    conv = L.Conv2d(4, (2, 3), stride=1, pad=1)
    deconv = L.Deconv2d(3, 2, stride=2, in_channels=4)
    x = np.random.randn(2, 5, 6, 6).astype(np.float32)  # noqa: NPY002
    h = conv(x)
    np.random.seed(2)  # noqa: NPY002
    expected_deconv = dezero_init((4, 3, 2, 2), 4 * 2 * 2)
    np.random.randn(2, 5, 6, 6)  # noqa: NPY002  # NOTE: x, drawn in between
    np.testing.assert_array_equal(conv.W.data, dezero_init((4, 5, 2, 3), 5 * 2 * 3))
    np.testing.assert_array_equal(deconv.W.data, expected_deconv)
    assert conv.b is not None
    np.testing.assert_array_equal(h.data, F.conv2d(x, conv.W, conv.b, 1, 1).data)
    y = deconv(h)
    assert y.shape == (2, 3, 14, 12)
    assert y.dtype == np.float32


def test_embed_id_draws_float64_rows_when_built() -> None:
    np.random.seed(4)  # noqa: NPY002
    layer = L.EmbedID(5, 2)
    np.random.seed(4)  # noqa: NPY002
    np.testing.assert_array_equal(layer.W.data, np.random.randn(5, 2))  # noqa: NPY002
    y = layer(np.array([[4, 0], [4, 4]]))
    np.testing.assert_array_equal(y.data, layer.W.data[[[4, 0], [4, 4]]])
    y.sum().backward()
    np.testing.assert_array_equal(grad_of(layer.W)[:, 0], [1, 0, 0, 0, 3])


def test_batch_norm_creates_its_parameters_in_the_inputs_dtype() -> None:
    layer = L.BatchNorm()
    x = np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float32)
    y = layer(x)
    assert [p.name for p in layer.params()] == ["avg_mean", "avg_var", "gamma", "beta"]
    assert all(p.dtype == np.float32 for p in layer.params())
    np.testing.assert_allclose(y.data, [[-1, -1], [1, 1]], rtol=1e-4)
    # NOTE: the running averages move a tenth of the way, the variance unbiased (2 and 200)
    np.testing.assert_allclose(layer.avg_mean.data, [0.2, 2.0], rtol=1e-6)
    np.testing.assert_allclose(layer.avg_var.data, [0.9 + 0.2, 0.9 + 20.0], rtol=1e-6)
    y.sum().backward()
    assert layer.gamma.grad is not None
    assert layer.avg_mean.grad is None
    with tinygrad_ref.test_mode():
        z = layer(np.array([[0.2, 2.0]], dtype=np.float32))
    np.testing.assert_allclose(z.data, [[0, 0]], atol=1e-6)


def test_rnn_adds_its_hidden_state_from_the_second_call() -> None:
    np.random.seed(5)  # noqa: NPY002
    rnn = L.RNN(3)
    x = np.ones((2, 4))
    h1 = rnn(x)
    assert repr(rnn.h2h.W) == "variable(None)"
    assert rnn.h is h1
    h2 = rnn(x)
    np.random.seed(5)  # noqa: NPY002
    wx, wh = dezero_init((4, 3), 4), dezero_init((3, 3), 3)
    assert rnn.x2h.b is not None
    np.testing.assert_array_equal(rnn.h2h.W.data, wh)
    np.testing.assert_allclose(h1.data, np.tanh(x @ wx), rtol=1e-6)
    np.testing.assert_allclose(h2.data, np.tanh(x @ wx + h1.data @ wh), rtol=1e-6)
    rnn.reset_state()
    state: object = rnn.h  # NOTE: mypy narrowed rnn.h above
    assert state is None
    np.testing.assert_array_equal(rnn(x).data, h1.data)


def test_rnn_with_an_in_size_other_than_its_hidden_size_works() -> None:
    # NOTE: DeZero sizes h2h by in_size and fails at the second call
    rnn = L.RNN(3, in_size=2)
    rnn(np.ones((1, 2)))
    assert rnn(np.ones((1, 2))).shape == (1, 3)
    assert rnn.h2h.W.shape == (3, 3)


def test_lstm_draws_its_recurrent_weights_when_built_and_the_others_in_gate_order() -> None:
    np.random.seed(6)  # noqa: NPY002
    lstm = L.LSTM(2)
    x = np.full((1, 3), 0.5)
    h = lstm(x)
    np.random.seed(6)  # noqa: NPY002
    recurrent = [dezero_init((2, 2), 2) for _ in range(4)]
    from_x = [dezero_init((3, 2), 3) for _ in range(4)]
    for name, w in zip("fiou", recurrent, strict=True):
        np.testing.assert_array_equal(getattr(lstm, f"h2{name}").W.data, w)
    for name, w in zip("fiou", from_x, strict=True):
        np.testing.assert_array_equal(getattr(lstm, f"x2{name}").W.data, w)

    def sigmoid(z: Array) -> Array:
        result: Array = 1 / (1 + np.exp(-z))
        return result

    _f, i, o, u = (x @ w for w in from_x)
    c = sigmoid(i) * np.tanh(u)
    np.testing.assert_allclose(h.data, sigmoid(o) * np.tanh(c), rtol=1e-6)
    assert lstm.c is not None
    np.testing.assert_allclose(lstm.c.data, c, rtol=1e-6)
    h2 = lstm(x)
    gates = [sigmoid(x @ wx + h.data @ wh) for wx, wh in zip(from_x, recurrent, strict=True)]
    c2 = gates[0] * c + gates[1] * np.tanh(x @ from_x[3] + h.data @ recurrent[3])
    np.testing.assert_allclose(h2.data, gates[2] * np.tanh(c2), rtol=1e-6)
    lstm.reset_state()
    assert lstm.h is None
    assert lstm.c is None


@pytest.mark.parametrize(
    ("make", "x"),
    [
        (lambda L: L.Linear(3), np.linspace(-1, 1, 6).reshape(2, 3)),
        (lambda L: L.Conv2d(2, 3, pad=1), np.linspace(-1, 1, 96).reshape(2, 3, 4, 4)),
        (lambda L: L.Deconv2d(2, 3), np.linspace(-1, 1, 96).reshape(2, 3, 4, 4)),
        (lambda L: L.EmbedID(4, 2), np.array([1, 3, 3])),
        (lambda L: L.RNN(3), np.linspace(-1, 1, 6).reshape(2, 3)),
        (lambda L: L.LSTM(2), np.linspace(-1, 1, 6).reshape(2, 3)),
    ],
)
def test_the_layers_draw_and_compute_what_dezeros_do(make: Any, x: Array) -> None:
    dezero = import_dezero()
    np.random.seed(7)  # noqa: NPY002
    theirs = make(dezero.layers)
    their_ys = [theirs(x).data for _ in range(2)]
    their_params: dict[str, Any] = {}
    theirs._flatten_params(their_params)
    np.random.seed(7)  # noqa: NPY002
    ours = make(L)
    our_ys = [ours(x).data for _ in range(2)]
    our_params = dict(ours._named_params())
    assert sorted(their_params) == list(sorted(our_params))
    for key, param in our_params.items():
        # NOTE: NumPy 2 promotes DeZero's float32 weights to float64 (see dezero_init)
        np.testing.assert_allclose(param.data, their_params[key].data, rtol=2e-7, err_msg=key)
    for a, b in zip(their_ys, our_ys, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)


def test_weights_files_are_interchangeable_with_dezeros(tmp_path: Path) -> None:
    dezero = import_dezero()
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    theirs = dezero.models.MLP((4, 2))
    theirs(x)
    theirs.save_weights(str(tmp_path / "theirs.npz"))
    ours = tinygrad_ref.models.MLP((4, 2))
    ours.load_weights(tmp_path / "theirs.npz")
    np.testing.assert_allclose(ours(x).data, theirs(x).data, rtol=1e-6)
    ours.save_weights(tmp_path / "ours.npz")
    again = dezero.models.MLP((4, 2))
    again.load_weights(str(tmp_path / "ours.npz"))
    np.testing.assert_array_equal(again(x).data, theirs(x).data)
