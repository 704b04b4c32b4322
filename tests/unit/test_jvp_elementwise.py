import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_ref as tg
from tinygrad_ref import Operand, Variable, hvp, jvp

FLOAT32_EPS = float(np.finfo(np.float32).eps)
FLOAT64_EPS = float(np.finfo(np.float64).eps)


def tangent(
    f: Callable[..., Variable], primals: tuple[Operand, ...], tangents: tuple[Operand, ...]
) -> Any:
    """``f``'s tangent along ``tangents`` at ``primals``."""
    return jvp(f, primals, tangents)[1]


def test_sin_along_2_is_2_cos() -> None:
    assert tangent(tg.sin, (0.5,), (2.0,)) == pytest.approx(2 * math.cos(0.5), rel=FLOAT64_EPS)


def test_binary_ops_take_both_tangents() -> None:
    assert tangent(lambda a, b: a * b, (3.0, 5.0), (1.0, 2.0)) == 5.0 + 6.0
    assert tangent(lambda a, b: a / b, (1.0, 2.0), (1.0, 1.0)) == 0.5 - 0.25
    assert tangent(lambda a, b: a - b, (1.0, 2.0), (1.0, 3.0)) == -2.0
    power = tangent(lambda a, b: a**b, (2.0, 3.0), (1.0, 1.0))
    assert power == pytest.approx(3 * 4 + 8 * math.log(2), rel=4 * FLOAT64_EPS)


def test_a_float32_operand_does_not_round_a_float64_tangent() -> None:
    x0, x1 = np.float64(1.0), np.array(3.0, dtype=np.float32)
    t = tangent(lambda a, b: a / b, (x0, x1), (0.0, np.float32(1.0)))
    assert t.dtype == np.float64
    assert t == pytest.approx(-1 / 9, rel=4 * FLOAT64_EPS)
    base, exponent = np.array(2.0, dtype=np.float32), np.float64(0.5)
    t = tangent(lambda a, b: a**b, (base, exponent), (np.float32(0.0), 1.0))
    assert t == pytest.approx(math.sqrt(2) * math.log(2), rel=4 * FLOAT64_EPS)


def test_adding_a_bigger_constant_broadcasts_the_tangent() -> None:
    c = np.arange(6.0).reshape(2, 3)
    x = np.ones(3, dtype=np.float32)
    t = tangent(lambda x: x + c, (x,), (np.array([1.0, 2.0, 3.0], dtype=np.float32),))
    assert t.shape == (2, 3)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t, [[1, 2, 3], [1, 2, 3]])
    t = tangent(lambda x: x - c, (x,), (np.array([1.0, 2.0, 3.0], dtype=np.float32),))
    np.testing.assert_array_equal(t, [[1, 2, 3], [1, 2, 3]])


def test_pow_differentiates_the_base_only() -> None:
    assert tangent(lambda x: x**3.0, (2.0,), (1.0,)) == 12.0
    assert tangent(lambda x: x**0, (0.0,), (1.0,)) == 0.0
    assert tangent(lambda x: 2.0**x, (3.0,), (1.0,)) == pytest.approx(8 * math.log(2))


@pytest.mark.parametrize(
    "f",
    [tg.exp, tg.tanh, tg.sigmoid, tg.softplus, lambda x: x**1.5, lambda x: x * 2.0, tg.square],
)
def test_float32_stays_float32(f: Callable[[Variable], Variable]) -> None:
    x = np.array([0.5, 1.5], dtype=np.float32)
    t = tangent(f, (x,), (np.ones_like(x),))
    assert t.dtype == np.float32


def test_tails_keep_their_digits() -> None:
    # NOTE: 1 - tanh(20) ** 2 and sigmoid(40) * (1 - sigmoid(40)) are 0 in float64.
    e = math.exp(-40)
    assert tangent(tg.tanh, (20.0,), (1.0,)) == pytest.approx(4 * e / (1 + e) ** 2, rel=8e-16)
    assert tangent(tg.sigmoid, (40.0,), (1.0,)) == pytest.approx(e / (1 + e) ** 2, rel=8e-16)


def test_softmax_tangent_sums_to_zero_along_its_axis() -> None:
    x = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5]])
    t = tangent(lambda x: tg.softmax(x, axis=1), (x,), (np.array([[1.0, -2.0, 0.5]] * 2),))
    np.testing.assert_allclose(t.sum(axis=1), 0, atol=4 * FLOAT64_EPS)
    assert np.all(t != 0)


def test_log_softmax_tangent_at_a_confident_logit() -> None:
    # NOTE: 1 - softmax(x)[0] cancels to 0 in float32; the exact value is sigmoid(-20).
    x = np.array([0.0, -20.0], dtype=np.float32)
    t = tangent(lambda x: tg.log_softmax(x, axis=0), (x,), (np.array([1, 0], dtype=np.float32),))
    p = math.exp(-20) / (1 + math.exp(-20))
    assert t[0] == pytest.approx(p, rel=4 * FLOAT32_EPS)
    assert t[1] == pytest.approx(-(1 - p), rel=4 * FLOAT32_EPS)


def test_softmax_derivatives_at_a_confident_logit() -> None:
    # NOTE: y * (t - sum(y * t)) is 0 in float32 here; the exact value is p0 p1.
    x = np.array([0.0, -20.0], dtype=np.float32)
    e = math.exp(-20)
    one_hot = np.array([1, 0], dtype=np.float32)
    t = tangent(lambda x: tg.softmax(x, axis=0), (x,), (one_hot,))
    assert t[0] == pytest.approx(e / (1 + e) ** 2, rel=4 * FLOAT32_EPS)
    v = Variable(x)
    (tg.softmax(v, axis=0) * one_hot).sum().backward()
    assert v.grad is not None
    assert v.grad.data[0] == pytest.approx(e / (1 + e) ** 2, rel=4 * FLOAT32_EPS)


def test_logsumexp_tangent_is_the_softmax_mean_of_the_tangent() -> None:
    x = np.array([0.0, math.log(3.0)])
    assert tangent(tg.logsumexp, (x,), (np.array([1.0, 0.0]),)) == pytest.approx(0.25)


def test_log_softmax_over_an_empty_axis() -> None:
    x = np.zeros((2, 0))
    t = tangent(lambda x: tg.log_softmax(x, axis=1), (x,), (x,))
    assert t.shape == (2, 0)
    v = Variable(x)
    tg.log_softmax(v, axis=1).backward()
    assert v.grad is not None
    assert v.grad.shape == (2, 0)


def test_rules_on_variables_give_second_derivatives() -> None:
    # NOTE: d2/dx2 (x sin x) = 2 cos x - x sin x, forward over reverse; reverse over forward
    # differentiates the jvp rule of exp itself.
    assert hvp(lambda x: x * tg.sin(x), 0.5, 1.0) == pytest.approx(
        2 * math.cos(0.5) - 0.5 * math.sin(0.5), rel=4 * FLOAT64_EPS
    )
    x = Variable(1.5)
    t = jvp(tg.exp, (x,), (2.0,))[1]
    assert isinstance(t, Variable)
    t.backward()
    assert x.grad is not None
    assert x.grad.data == pytest.approx(2 * math.exp(1.5), rel=FLOAT64_EPS)
