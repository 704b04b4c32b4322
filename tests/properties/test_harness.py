"""The harness proves it can fail: deliberately wrong backwards must each be reported."""

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_ref import Variable, ops, sub
from tinygrad_ref.core import Tensor
from tinygrad_ref.ops.shape import unbroadcast
from tinygrad_ref.registry import REGISTRY, OpSpec
from tinygrad_ref.testing import verify_op

pytestmark = pytest.mark.properties


class SignFlippedNeg(ops.Neg):
    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy


class OffByOnePercentMul(ops.Mul):
    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy * x1 * 1.01, x0), unbroadcast(gy * x0, x1)


class ExponentOffByOnePow(ops.Pow):
    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return unbroadcast(gy * self.c * x**self.c, x)


class UnreducedAdd(ops.Add):
    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return gy, gy


class WrongForFloat32Exp(ops.Exp):
    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y * (1.01 if y.dtype == np.float32 else 1.0)


class WrongOnTheRightDiv(ops.Div):
    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        gx0 = gy / x1
        return unbroadcast(gx0, x0), unbroadcast(gx0 * y, x1)


class DetachedSquare(ops.Square):
    """Right first derivatives, but with ``create_graph=True`` they are computed from a
    constant, so their own derivative is lost."""

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return gy * Variable(2 * x.data)


def planted(name: str, function: Callable[..., Any]) -> OpSpec:
    """The registered spec of ``name`` with a broken primitive behind its function."""
    return dataclasses.replace(REGISTRY[name], function=function, infix=None)


PLANTED = {
    "sign flipped": planted("neg", lambda x: SignFlippedNeg()(x)),
    "off by 1%": planted("mul", lambda x0, x1: OffByOnePercentMul()(x0, x1)),
    "exponent off by one": planted("pow", lambda x, c: ExponentOffByOnePow(c)(x)),
    "broadcast reduction missing": planted("add", lambda x0, x1: UnreducedAdd()(x0, x1)),
    "wrong only for float32": planted("exp", lambda x: WrongForFloat32Exp()(x)),
    "wrong only with the Variable on the right": planted(
        "div", lambda x0, x1: WrongOnTheRightDiv()(x0, x1)
    ),
    "wrong second derivative": planted("square", lambda x: DetachedSquare()(x)),
}


@pytest.mark.parametrize("bug", PLANTED)
def test_a_planted_wrong_backward_is_reported(bug: str) -> None:
    with pytest.raises(AssertionError, match=r"analytic|gradient of input"):
        verify_op(PLANTED[bug])


def test_a_reflected_operator_that_swaps_its_operands_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Variable, "__rsub__", lambda self, other: sub(self, other))
    with pytest.raises(AssertionError, match="forward value"):
        verify_op(REGISTRY["sub"])
