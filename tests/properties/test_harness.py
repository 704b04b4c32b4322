"""The harness proves it can fail: deliberately wrong backwards must each be reported."""

import dataclasses
from collections.abc import Callable
from typing import Any

import hypothesis
import numpy as np
import pytest
from hypothesis.database import InMemoryExampleDatabase

from tests.helpers import through_numpy
from tinygrad_ref import Array, Config, Variable, interop, ops, sub, using_config
from tinygrad_ref.core import Tensor
from tinygrad_ref.ops.conv import Window
from tinygrad_ref.ops.elementwise import _masked, _values
from tinygrad_ref.ops.normalization import _per_channel, _shifted
from tinygrad_ref.ops.reduction import Sum
from tinygrad_ref.ops.shape import BroadcastTo, unbroadcast
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.spec import Case, OpSpec, Sampler
from tinygrad_ref.verification.strategies import Kind, verify_op

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


class SlightlyWrongForFloat32Mul(ops.Mul):
    """0.05% off, for float32 only: what float32's own rounding never explains."""

    def vjp(self, gy: Tensor, x0: Tensor, x1: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        factor = 1.0005 if y.dtype == np.float32 else 1.0
        return unbroadcast(gy * x1 * factor, x0), unbroadcast(gy * x0 * factor, x1)


class WrongWhenRecordedExp(ops.Exp):
    """Right on arrays, twice too large on the Variables of a ``create_graph=True`` pass."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y * (2.0 if Config.enable_backprop else 1.0)


class DetachedSquare(ops.Square):
    """Right first derivatives, but with ``create_graph=True`` they are computed from a
    constant, so their own derivative is lost."""

    def backward(self, gy: Variable) -> Variable:
        (x,) = self.inputs
        return gy * Variable(2 * x.data)


class UnreshapedSum(ops.Sum):
    """The keepdims reshape missing: ``gy`` is broadcast as it is, so its axes line up with the
    trailing axes of ``x`` instead of the ones that were kept."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return BroadcastTo(x.shape).apply(gy)


def silently_misaligned_sum_case(sampler: Sampler) -> Case:
    """Where the missing reshape does not fail on shapes but gives wrong numbers: a reduction
    over a non-leading axis of an array whose axes all have one size, without keepdims."""
    ndim = sampler.integer(2, 3)
    axis = sampler.integer(1, ndim - 1) - (ndim if sampler.boolean() else 0)
    return Case(((sampler.integer(2, 4),) * ndim,), {"axis": axis, "keepdims": False})


class WholeSizeMean(ops.Mean):
    """Divides by the size of ``x`` instead of the number of elements each mean is over."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return ops.Sum(self.axis, self.keepdims).vjp(gy, x, y) / x.size


class TransposedOperandMatMul(ops.MatMul):
    """``gy @ b`` instead of ``gy @ b.T`` for the gradient of ``a``."""

    def vjp(self, gy: Tensor, a: Tensor, b: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return unbroadcast(gy @ b, a), unbroadcast(a.T @ gy, b)


def square_matmul_case(sampler: Sampler) -> Case:
    """Where the transposed operand does not fail on shapes but gives wrong numbers: a square
    right operand."""
    n, k = sampler.integer(1, 4), sampler.integer(2, 4)
    return Case(((n, k), (k, k)))


class OverwritingGetItemGrad(ops.GetItemGrad):
    """``gx[idx] = gy`` instead of ``np.add.at``: a repeated index keeps one of its gradients."""

    def forward(self, gy: Array) -> Array:
        gx = np.zeros(self.shape, dtype=gy.dtype)
        gx[self.idx] = gy
        return gx


class OverwritingGetItem(ops.GetItem):
    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return OverwritingGetItemGrad(self.idx, x.shape).apply(gy)


def repeated_index_case(sampler: Sampler) -> Case:
    """An integer array indexing the first axis with one index repeated: where overwriting
    silently keeps one of its gradients (elsewhere it gives the right numbers)."""
    shape = sampler.shape(min_dims=1)
    repeated = sampler.integer(-shape[0], shape[0] - 1)
    others = [sampler.integer(-shape[0], shape[0] - 1) for _ in range(sampler.integer(0, 2))]
    return Case((shape,), {"idx": np.array([repeated, *others, repeated])})


class WholeGradientToEveryTieMax(ops.Max):
    """DeZero's rule: every element tied for the maximum gets the whole gradient, instead of an
    even share. Right wherever there is no tie."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        values = _values(x)
        axes = ops.normalize_axes(self.axis, values.shape)
        winners = values == np.max(values, axis=axes, keepdims=True)
        return _masked(ops.Sum(self.axis, self.keepdims).vjp(gy, x, y), winners, x)


class OneAtZeroReLU(ops.ReLU):
    """relu'(0) = 1 instead of the declared 0. Right wherever x is not 0."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _masked(gy, _values(x) >= 0, x)


class HandWrittenCol2im(ops.Col2im):
    """col2im written out, with a place to plant a bug: the rows between windows
    (``stride + extra_rows``), and whether a window adds into the image or overwrites it."""

    extra_rows = 0
    overwrite = False

    def forward(self, col: Array) -> Array:
        (kh, kw), (sh, sw), (ph, pw) = self.window.kernel, self.window.stride, self.window.pad
        n, c, h, w = self.image_shape
        if self.to_matrix:
            col = col.reshape(n, *self.window.out_size(self.image_shape), c, kh, kw)
            col = col.transpose(0, 3, 4, 5, 1, 2)
        oh, ow = col.shape[4:]
        sh += self.extra_rows
        img = np.zeros((n, c, h + 2 * ph + self.extra_rows * oh, w + 2 * pw), dtype=col.dtype)
        for j in range(kh):
            for i in range(kw):
                rows, columns = slice(j, j + sh * oh, sh), slice(i, i + sw * ow, sw)
                window = (slice(None), slice(None), rows, columns)
                if self.overwrite:
                    img[window] = col[:, :, j, i]
                else:
                    img[window] += col[:, :, j, i]
        return img[:, :, ph : ph + h, pw : pw + w]


class StrideOffByOneCol2im(HandWrittenCol2im):
    """Adds each window one row further down than its stride puts it."""

    extra_rows = 1


class OverwritingCol2im(HandWrittenCol2im):
    """``=`` instead of ``+=``: where windows overlap, the last one wins."""

    overwrite = True


def im2col_with_backward(col2im: type[ops.Col2im]) -> Callable[..., Variable]:
    """im2col whose backward is the broken ``col2im``."""

    class BrokenIm2col(ops.Im2col):
        def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
            return col2im(x.shape, self.window, self.to_matrix).apply(gy)

    def im2col(x: Any, kernel_size: Any, stride: Any, pad: Any, to_matrix: bool) -> Variable:
        return BrokenIm2col(Window.of(kernel_size, stride, pad), to_matrix)(x)

    return im2col


class MeanTermMissingBatchNorm(ops.BatchNorm):
    """Training-mode batch norm whose gradient of ``x`` lacks the ``- mean(gy)`` term."""

    def vjp(
        self, gy: Tensor, x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        gx, ggamma, gbeta = super().vjp(gy, x, gamma, beta, y)
        m = x.size // x.shape[1]
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        _, inv_std = self._normalized(x)
        scale = _per_channel(gamma, x.ndim) * inv_std
        mean_term = _per_channel(Sum(axes).apply(gy), x.ndim) / m * scale
        return unbroadcast(gx + mean_term, x), ggamma, gbeta


class LastMaximumPooling(ops.Pooling):
    """Gives a tied window's gradient to its last maximum instead of its first."""

    def forward(self, x: Array) -> Array:
        y = super().forward(x)
        assert self.argmax is not None
        col = self.window.windows(x, fill=-np.inf)
        n, c, kh, kw, oh, ow = col.shape
        reversed_col = col.reshape(n, c, kh * kw, oh, ow)[:, :, ::-1]
        self.argmax = kh * kw - 1 - reversed_col.argmax(axis=2)[:, :, None]
        return y


def small_image_case(sampler: Sampler) -> Case:
    """One small image whose 2x2 windows overlap (stride 1) or not (stride 2): both bugs of
    col2im show on it, and a failing case needs little shrinking."""
    side = sampler.integer(3, 4)
    params = {"kernel_size": 2, "stride": sampler.integer(1, 2), "pad": 0}
    return Case(((1, 1, side, side),), {**params, "to_matrix": sampler.boolean()})


def small_batch_case(sampler: Sampler) -> Case:
    """A batch of a few values in one channel: the missing term shows on any batch of two or
    more, and a failing case needs little shrinking."""
    n = sampler.integer(2, 3)
    state = {"mean": np.zeros(1), "var": np.ones(1)}
    return Case(((n, 1), (1,), (1,)), {"offsets": 1.0 + np.arange(n).reshape(n, 1), **state})


def batch_norm_without_mean_term(
    x: Any, gamma: Any, beta: Any, offsets: Array, mean: Array, var: Array
) -> Variable:
    with using_config("train", True):
        return MeanTermMissingBatchNorm(mean, var)(_shifted(x, offsets), gamma, beta)


class FirstGradientForAllConcatenate(ops.Concatenate):
    """Every input gets the gradient of the first one's place: right only for the first."""

    def vjp(self, gy: Tensor, *xs_and_y: Tensor) -> tuple[Tensor | None, ...]:
        first = ops.Concatenate.vjp(self, gy, *xs_and_y)[0]
        return (first,) * (len(xs_and_y) - 1)


def equal_parts_case(sampler: Sampler) -> Case:
    """Where giving every input the first one's gradient does not fail on shapes but gives wrong
    numbers: parts of one shape."""
    shape = sampler.shape(min_dims=1, max_dims=2)
    return Case((shape,) * 3, {"axis": sampler.integer(-len(shape), len(shape) - 1)})


class SkippingTheWrongInputMatMul(ops.MatMul):
    """Asks whether the wrong input needs a gradient: skips a Variable's beside a constant."""

    def needs_grad(self, i: int) -> bool:
        return super().needs_grad(1 - i)


class UncoupledSoftmax(ops.Softmax):
    """``y * gy`` alone: the term through the normalizing sum is missing."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return y * gy


class UnaveragedSoftmaxCrossEntropy(ops.SoftmaxCrossEntropy):
    """``softmax - one_hot`` not divided by the number of samples."""

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        one_hot: Array = np.eye(x.shape[1], dtype=x.dtype)[self.labels]
        gx: Tensor = (ops.Softmax(1).apply(x) - one_hot) * gy
        return gx


def planted(
    name: str, function: Callable[..., Any], case: Callable[[Sampler], Case] | None = None
) -> OpSpec:
    """The registered spec of ``name`` with a broken primitive behind its function.

    A shape bug fails loudly (NumPy refuses the shapes) on most shapes, which any test catches;
    ``case`` then draws only the shapes on which it silently computes wrong numbers instead,
    which is what the harness must catch."""
    spec = REGISTRY[name]
    return dataclasses.replace(spec, function=function, infix=None, case=case or spec.case)


PLANTED = {
    "sign flipped": planted("neg", lambda x: SignFlippedNeg()(x)),
    "off by 1%": planted("mul", lambda x0, x1: OffByOnePercentMul()(x0, x1)),
    "exponent off by one": planted("pow", lambda x, c: ExponentOffByOnePow(c)(x)),
    "broadcast reduction missing": planted("add", lambda x0, x1: UnreducedAdd()(x0, x1)),
    "wrong only for float32": planted("exp", lambda x: WrongForFloat32Exp()(x)),
    "0.05% wrong only for float32": planted(
        "mul", lambda x0, x1: SlightlyWrongForFloat32Mul()(x0, x1)
    ),
    "wrong only with the Variable on the right": planted(
        "div", lambda x0, x1: WrongOnTheRightDiv()(x0, x1)
    ),
    "wrong second derivative": planted("square", lambda x: DetachedSquare()(x)),
    "wrong only when recorded with create_graph": planted(
        "exp", lambda x: WrongWhenRecordedExp()(x)
    ),
    "sum without the keepdims reshape": planted(
        "sum",
        lambda x, axis, keepdims: UnreshapedSum(axis, keepdims)(x),
        silently_misaligned_sum_case,
    ),
    "mean divided by the whole size": planted(
        "mean", lambda x, axis, keepdims: WholeSizeMean(axis, keepdims)(x)
    ),
    "matmul with a transposed operand": planted(
        "matmul", lambda a, b: TransposedOperandMatMul()(a, b), square_matmul_case
    ),
    "repeated indices overwriting instead of accumulating": planted(
        "get_item", lambda x, idx: OverwritingGetItem(idx)(x), repeated_index_case
    ),
    "max giving every tied element the whole gradient": planted(
        "max", lambda x, axis, keepdims: WholeGradientToEveryTieMax(axis, keepdims)(x)
    ),
    "relu with derivative 1 at its kink": planted("relu", lambda x: OneAtZeroReLU()(x)),
    "col2im with a stride off by one": planted(
        "im2col", im2col_with_backward(StrideOffByOneCol2im), small_image_case
    ),
    "col2im overwriting overlaps instead of adding": planted(
        "im2col", im2col_with_backward(OverwritingCol2im), small_image_case
    ),
    "max pooling giving a tie to the last maximum": planted(
        "pooling", lambda x, **window: LastMaximumPooling(Window.of(**window))(x)
    ),
    "batch norm without its mean term": planted(
        "batch_norm", batch_norm_without_mean_term, small_batch_case
    ),
    "concatenate giving every input the first one's gradient": planted(
        "concatenate",
        lambda *xs, axis: FirstGradientForAllConcatenate(axis)(*xs),
        equal_parts_case,
    ),
    # NOTE: drawn only as a Variable beside a constant, where the wrong skip shows
    "matmul skipping the gradient of a Variable beside a constant": dataclasses.replace(
        planted("matmul", lambda a, b: SkippingTheWrongInputMatMul()(a, b)),
        roles=("variable", "constant"),
    ),
    "softmax without its normalizing term": planted(
        "softmax", lambda x, axis: UncoupledSoftmax(axis)(x)
    ),
    "softmax cross entropy not averaged": planted(
        "softmax_cross_entropy", lambda x, t: UnaveragedSoftmaxCrossEntropy(t)(x)
    ),
}


@pytest.mark.parametrize("bug", PLANTED)
def test_a_planted_wrong_backward_is_reported(bug: str) -> None:
    with pytest.raises(AssertionError, match=r"analytic|gradient of input|create_graph=True"):
        verify_op(PLANTED[bug], settings=hypothesis.settings(report_multiple_bugs=False))


def test_a_reflected_operator_that_swaps_its_operands_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Variable, "__rsub__", lambda self, other: sub(self, other))
    # NOTE: only a Python number on the left reaches __rsub__: NumPy's arrays and scalars call
    # np.subtract, which dispatches to sub itself. The forward value shows it, and so does the
    # complex step on the reference.
    with pytest.raises(AssertionError, match=r"forward value|analytic"):
        verify_op(
            REGISTRY["sub"],
            kinds=(Kind.PYTHON_FLOAT, Kind.VARIABLE),
            settings=hypothesis.settings(report_multiple_bugs=False),
        )


def test_a_numpy_spelling_that_swaps_its_operands_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    swapped = interop.Dispatch(lambda x0, x1: sub(x1, x0), 2)
    monkeypatch.setitem(interop.UFUNCS, (np.subtract, "__call__"), swapped)
    with pytest.raises(AssertionError, match=r"forward value|analytic"):
        verify_op(
            through_numpy(REGISTRY["sub"], np.subtract),
            settings=hypothesis.settings(report_multiple_bugs=False),
        )


def test_each_op_saves_its_failures_under_its_own_example_database_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # NOTE: Hypothesis keys a test by its source, the same closure for every op: without a key
    # of its own, a failure saved for one op would be replayed on every other one. Under
    # pytest's --hypothesis-seed Hypothesis keeps no database at all: this test takes that away.
    monkeypatch.setattr(hypothesis.core, "global_force_seed", None)
    database = InMemoryExampleDatabase()
    for bug in ("sign flipped", "off by 1%"):
        with pytest.raises(AssertionError):
            verify_op(
                PLANTED[bug],
                settings=hypothesis.settings(
                    database=database,
                    report_multiple_bugs=False,
                    phases=(hypothesis.Phase.generate,),
                ),
            )
    primary = [key for key in database.data if not key.endswith((b".secondary", b".pareto"))]
    assert len(primary) == 2
