"""tinygrad_ref.verification.layers: every layer verified as a function of (inputs, parameters,
state), and wrong rules planted in a layer caught."""

import io
from collections.abc import Callable

import numpy as np
import pytest

import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Variable, cli, ops
from tinygrad_ref.core import Operand, Tensor
from tinygrad_ref.verification import layers as checks


def test_every_layer_passes_in_both_dtypes() -> None:
    out, progress = io.StringIO(), io.StringIO()
    assert checks.run(0, out, progress) == 0
    rows = [line.split() for line in out.getvalue().splitlines() if line.endswith("pass")]
    assert len(rows) == 2 * len(checks.CASES)
    assert {row[-7] for row in rows} == {"float32", "float64"}
    assert "all 24 layer checks pass" in out.getvalue()


def test_the_function_of_a_layer_starts_every_evaluation_from_the_given_state() -> None:
    rnn = L.RNN(2, in_size=2)
    rnn(np.ones((1, 2)))
    f = checks.as_function(rnn, 1, state=("h",))
    params = [Variable(p.data) for p in checks.parameters(rnn).values()]
    h = Variable(np.array([[0.5, -0.5]]))
    first = f(np.ones((1, 2)), *params, h).data
    second = f(np.ones((1, 2)), *params, h).data
    np.testing.assert_array_equal(first, second)
    bn = L.BatchNorm()
    x = np.arange(6.0).reshape(3, 2)
    bn(x)
    g = checks.as_function(bn, 1, state=("avg_mean", "avg_var"))
    stats = [np.zeros(2), np.ones(2)]
    gamma, beta = Variable(np.ones(2)), Variable(np.zeros(2))
    g(x, gamma, beta, *stats)
    g(x, gamma, beta, *stats)
    # NOTE: each evaluation moved the running mean from 0 a tenth of the way to the batch's
    np.testing.assert_allclose(bn.avg_mean.data, [0.2, 0.3])
    np.testing.assert_array_equal(stats[0], [0.0, 0.0])


def test_check_layer_leaves_the_layer_as_it_was() -> None:
    lstm = L.LSTM(2, in_size=2)
    lstm(np.ones((1, 2)))
    h, c = lstm.h, lstm.c
    params = [p.data for p in lstm.params()]
    report = checks.check_layer(
        lstm, Variable(np.ones((1, 2))), state=("h", "c"), second_order=False
    )
    assert report.failure is None
    assert lstm.h is h
    assert lstm.c is c
    assert all(p.data is d for p, d in zip(lstm.params(), params, strict=True))


class TransposedWeightGradient(ops.Linear):
    def vjp(self, gy: Tensor, x: Tensor, w: Tensor, *b_and_y: Tensor) -> tuple[Tensor | None, ...]:
        gx, gw, *rest = super().vjp(gy, x, w, *b_and_y)
        assert gw is not None
        return (gx, gw.T, *rest)


class BiasNotReduced(ops.Linear):
    def vjp(self, gy: Tensor, x: Tensor, w: Tensor, *b_and_y: Tensor) -> tuple[Tensor | None, ...]:
        gx, gw, *_ = super().vjp(gy, x, w, *b_and_y)
        return gx, gw, gy


def planted(function: type[ops.Linear]) -> Callable[..., Variable]:
    def linear(x: Operand, W: Operand, b: Operand | None = None) -> Variable:
        return function()(x, W) if b is None else function()(x, W, b)

    return linear


def test_a_transposed_weight_gradient_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # NOTE: a square W, so that the transposed gradient has the right shape: only its numbers
    # are wrong
    layer = L.Linear(3, dtype=np.float64, in_size=3)
    x = Variable(np.random.default_rng(0).standard_normal((4, 3)))
    assert checks.check_layer(layer, x).failure is None
    monkeypatch.setattr(F, "linear", planted(TransposedWeightGradient))
    failure = checks.check_layer(layer, x).failure
    assert failure is not None
    assert "input 1 at index" in failure
    assert "analytic" in failure


def test_a_transposed_weight_gradient_inside_an_rnn_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rnn = L.RNN(2, in_size=2)
    rnn.h = Variable(np.array([[0.3, -0.7]], dtype=np.float32))
    monkeypatch.setattr(F, "linear", planted(TransposedWeightGradient))
    failure = checks.check_layer(rnn, Variable(np.ones((1, 2), np.float32)), state=("h",)).failure
    assert failure is not None
    assert "analytic" in failure


def test_a_missing_bias_reduction_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "linear", planted(BiasNotReduced))
    layer = L.Linear(2, in_size=3)
    failure = checks.check_layer(layer, Variable(np.ones((4, 3), np.float32))).failure
    assert failure is not None
    assert "the gradient of input 2 has shape (4, 2)" in failure
    assert "its input has shape (2,)" in failure


def test_a_wrong_state_update_is_caught_by_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    case = next(c for c in checks.CASES if c.name == "BatchNorm")

    def biased(x: Operand, gamma: Operand, beta: Operand, mean: Operand, var: Operand) -> Variable:
        # NOTE: the running variance moves toward the batch's biased variance
        y = ops.batch_norm(x, gamma, beta, mean, var)
        data = np.asarray(x.data if isinstance(x, Variable) else x)
        m = data.size // data.shape[1]
        assert isinstance(var, np.ndarray)
        var -= 0.1 * data.var(axis=(0, 2, 3)) / (m - 1)
        return y

    monkeypatch.setattr(F, "batch_norm", biased)
    report = checks.verify_case(case, np.float64)
    assert report.failure is not None
    assert "rounding errors from the reference" in report.failure


def test_verify_layers_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(checks, "CASES", checks.CASES[:1])
    assert cli.main(["verify", "--layers", "--dtype", "float32"]) == 0
    output = capsys.readouterr().out
    assert "\nLinear float32 " in output  # NOTE: the name column as wide as the longest name
    assert "layers: all 1 layer check passes" in output
    with pytest.raises(SystemExit):
        cli.main(["verify", "--layers", "--op", "exp"])
    assert "--op does not apply to --layers" in capsys.readouterr().err
