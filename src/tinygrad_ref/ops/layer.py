"""The functions behind DeZero's layers: linear, embed_id and dropout."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinygrad_ref.config import Config
from tinygrad_ref.core import (
    Array,
    Function,
    Operand,
    Tensor,
    Variable,
    as_variable,
    is_zero_tangent,
    note_side_effect,
)
from tinygrad_ref.ops.indexing import GetItem, get_item
from tinygrad_ref.ops.linalg import MatMul, _reshaped, matmul
from tinygrad_ref.ops.loss import _raw, integer_labels
from tinygrad_ref.ops.shape import lifted, unbroadcast
from tinygrad_ref.spec import ANY, Case, Domain, OpSpec, Sampler


def _check_linear(x: tuple[int, ...], w: tuple[int, ...]) -> None:
    if len(w) != 2 or not x or x[-1] != w[0]:
        raise ValueError(f"linear needs x of shape (..., n) and W of shape (n, m); got {x} and {w}")


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if shape == target[len(target) - len(shape) :]:
        return True  # NOTE: the common bias of shape (m,), without np.broadcast_shapes' cost
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


class Linear(Function):
    """``x @ W + b`` for ``x`` (..., n), ``W`` (n, m) and a bias ``b`` that broadcasts to the
    result, or ``x @ W`` when called on two inputs."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array, w: Array, *b: Array) -> Array:
        _check_linear(x.shape, w.shape)
        y: Array = np.matmul(x, w)
        if b:
            if not _broadcasts_to(b[0].shape, y.shape):
                raise ValueError(f"linear: a bias of shape {b[0].shape} for a result of {y.shape}")
            y = y + b[0]
        return y

    def vjp(self, gy: Tensor, x: Tensor, w: Tensor, *b_and_y: Tensor) -> tuple[Tensor | None, ...]:
        n, m = w.shape
        gx = unbroadcast(gy @ w.T, x) if self.needs_grad(0) else None
        # NOTE: a 2-D x and gy, the common case, as they are (no Reshape node, no call)
        x2, gy2 = (x, gy) if x.ndim == 2 else (_reshaped(x, (-1, n)), _reshaped(gy, (-1, m)))
        gw = unbroadcast(x2.T @ gy2, w)
        if len(b_and_y) == 1:
            return gx, gw
        return gx, gw, unbroadcast(gy, b_and_y[0])

    def jvp(self, tx: Tensor, tw: Tensor, *rest: Tensor) -> Tensor:
        # NOTE: rest is (x, w, y) without a bias, else (tb, x, w, b, y)
        # NOTE: a batch of tangents of W (B, n, m) broadcasts against an x of more than two
        # dimensions once lifted, as a bias's does against the result. The term of the data x,
        # a constant whose tangent is zeros, is left out (a product as costly as W's).
        x, w = rest[-3:-1] if len(rest) == 3 else rest[1:3]
        tw = lifted(tw, w, x.ndim)
        if is_zero_tangent(tx) and not is_zero_tangent(tw):
            ty = x @ tw
        else:
            ty = tx @ w if is_zero_tangent(tw) else tx @ w + x @ tw
        if len(rest) == 3:
            return ty
        tb, b, y = rest[0], rest[3], rest[4]
        return ty + lifted(tb, b, y.ndim)


class Dropout(Function):
    """``x`` times a fixed ``mask`` (0 where dropped, ``1 / (1 - ratio)`` where kept)."""

    __slots__ = ("mask",)
    batched_jvp = True

    def __init__(self, mask: Array) -> None:
        self.mask = mask

    def forward(self, x: Array) -> Array:
        note_side_effect("draws random numbers (dropout's mask)")
        y: Array = x * self.mask
        return y

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * self.mask

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return tx * self.mask


def linear(x: Operand, W: Operand, b: Operand | None = None) -> Variable:
    """``x @ W + b`` in one op (DeZero's ``linear``): ``x`` (..., n), ``W`` (n, m), ``b`` of
    shape (m,) or anything that broadcasts to the result, or ``None``."""
    return Linear()(x, W) if b is None else Linear()(x, W, b)


def linear_simple(x: Operand, W: Operand, b: Operand | None = None) -> Variable:
    """:func:`linear` written as ``matmul(x, W) + b``."""
    y = matmul(x, W)
    return y if b is None else y + b


def embed_id(x: Operand, W: Operand) -> Variable:
    """The rows ``W[x]`` of an embedding matrix ``W`` for integer ids ``x`` (any real dtype,
    or a Variable, holding integers in ``[0, len(W))``); ``W`` gets the gradient."""
    shape = np.shape(_raw(W))
    if not shape:
        raise ValueError("embed_id needs an embedding matrix W of at least 1 dimension")
    return get_item(W, integer_labels(x, shape[0], "embed_id's ids"))


def dropout(x: Operand, dropout_ratio: float = 0.5) -> Variable:
    """In training (``Config.train``), each element of ``x`` zeroed with probability
    ``dropout_ratio`` and the others scaled by ``1 / (1 - dropout_ratio)``; the mask comes from
    NumPy's global random state (``np.random.seed`` fixes it), as in DeZero. In
    ``test_mode()``, ``x`` itself."""
    if not 0 <= dropout_ratio < 1:
        raise ValueError(f"dropout_ratio must lie in [0, 1); got {dropout_ratio}")
    x = as_variable(x)
    if not Config.train:
        return x
    kept = np.asarray(np.random.rand(*x.shape)) > dropout_ratio  # noqa: NPY002  # NOTE: DeZero's
    return Dropout(kept.astype(x.dtype) / x.dtype.type(1 - dropout_ratio))(x)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """NumPy's global random state seeded with ``seed``, and restored afterwards."""
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002  # NOTE: what dropout reads, on purpose
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _seeded_dropout(x: Operand, dropout_ratio: float, seed: int) -> Variable:
    with _seeded(seed):
        return dropout(x, dropout_ratio)


def _reference_dropout(x: Any, dropout_ratio: float, seed: int) -> Any:
    x = np.asarray(x)
    with _seeded(seed):
        kept = np.random.rand(*x.shape) > dropout_ratio  # noqa: NPY002
    return x * kept / x.dtype.type(1 - dropout_ratio)


def _linear_case(sampler: Sampler) -> Case:
    n, m = sampler.integer(1, 3), sampler.integer(1, 3)
    x = sampler.choice([(n,), (sampler.integer(1, 3), n)])
    b = sampler.choice([(m,), (1, m), ()] if len(x) > 1 else [(m,), ()])
    return Case((x, (n, m), b))


def _embed_id_case(sampler: Sampler) -> Case:
    rows = sampler.integer(1, 4)
    w = (rows, *sampler.shape(max_dims=1))
    ids = Domain(0, rows - 1, integer=True)
    return Case((sampler.shape(max_dims=2), w), domains=(ids, ANY))


def _dropout_case(sampler: Sampler) -> Case:
    params = {"dropout_ratio": sampler.choice([0.0, 0.25, 0.5, 0.9]), "seed": sampler.integer(0, 9)}
    return Case((sampler.shape(max_dims=2),), params)


def _reference_linear(x: Any, w: Any, b: Any) -> Any:
    return np.matmul(x, w) + b


SPECS = [
    OpSpec("linear", Linear, linear, _reference_linear, (ANY, ANY, ANY), case=_linear_case),
    OpSpec(
        "linear_simple",
        MatMul,
        linear_simple,
        _reference_linear,
        (ANY, ANY, ANY),
        case=_linear_case,
    ),
    OpSpec(
        "embed_id",
        GetItem,
        embed_id,
        lambda x, w: np.asarray(w)[np.asarray(x).astype(np.intp)],
        (ANY, ANY),
        roles=("constant", "any"),
        case=_embed_id_case,
    ),
    OpSpec("dropout", Dropout, _seeded_dropout, _reference_dropout, (ANY,), case=_dropout_case),
]
