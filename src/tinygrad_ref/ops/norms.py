"""``linalg.norm``, as NumPy's: vector norms of every order ``p > 0`` (and ``inf``, ``-inf``)
and the matrix norms ``'fro'``, ``'nuc'``, 2, -2, 1, -1, ``inf``, ``-inf``, over ``axis`` (an
int, a pair, or ``None``) with ``keepdims``.

The ``p``-norms of finite ``p`` other than 1 are one primitive, :class:`VectorNorm` (``'fro'`` is
its 2-norm over two axes); the others are exact compositions of verified ops: ``sum(abs)``,
``max(abs)``, the column or row sums' ``max``, and the singular values' ``max``, ``min`` or
sum (:func:`~tinygrad_ref.ops.decomposition.svdvals`). Where a norm has no derivative (at 0,
at ties of a ``max``, at repeated or zero singular values) the gradient follows PyTorch's
convention; see docs/decompositions.md."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.decomposition import (
    Svdvals,
    _singular_kink,
    _svdvals_at_degeneracies,
    svdvals,
)
from tinygrad_ref.ops.elementwise import _masked, _values
from tinygrad_ref.ops.piecewise import Abs, abs
from tinygrad_ref.ops.reduction import (
    Max,
    Sum,
    _kept_shape,
    _spread,
    _unit_scale,
    max,
    min,
    sum,
)
from tinygrad_ref.ops.shape import normalize_axes, operand_shape, reshape, tangent_axes, transpose
from tinygrad_ref.spec import ANY, Case, MagnitudeTieKink, OpSpec, Params, Sampler, ZeroKink

Order = float | str | None


class VectorNorm(Function):
    """``(sum |x|^p)^(1/p)`` over ``axes`` for a finite ``p > 0``, keeping them as size 1 if
    ``keepdims``. Its gradient ``sign(x) (|x| / y)^(p - 1)`` is 0 where the norm ``y`` is 0
    (PyTorch's convention at the zero vector), and, for ``p < 1``, at zero elements too (where
    ``|x|^p`` is a cusp)."""

    __slots__ = ("axes", "keepdims", "p")
    batched_jvp = True

    def __init__(self, p: float, axes: tuple[int, ...], keepdims: bool = False) -> None:
        self.p = p
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, x: Array) -> Array:
        # NOTE: each slice scaled by a power of two to about 1 (exact), so that |x|^p neither
        # underflows nor overflows where the norm itself does not
        s = _unit_scale(np.max(np.abs(x), axis=self.axes, keepdims=True, initial=0.0))
        scaled = np.abs(x * s)
        if self.p == 2:
            y = np.sqrt(np.sum(scaled * scaled, axis=self.axes, keepdims=True)) / s
        else:
            y = np.sum(scaled**self.p, axis=self.axes, keepdims=True) ** (1 / self.p) / s
        shape = y.shape if self.keepdims else _reduced_shape(x.shape, self.axes)
        return np.reshape(y, shape).astype(x.dtype)

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return _spread(gy, x, self.axes, self.keepdims) * self._slope(x, y)

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        axes = tangent_axes(self.axes, tx, x)
        return Sum(axes, self.keepdims).apply(tx * self._slope(x, y))

    def _slope(self, x: Tensor, y: Tensor) -> Tensor:
        """``d y / d x = sign(x) (|x| / y)^(p - 1)``, 0 where ``y`` is 0 (and, if ``p < 1``,
        where ``x`` is 0)."""
        norm = _spread(y, x, self.axes, self.keepdims)
        safe = norm + (_values(norm) == 0).astype(_values(x).dtype)
        if self.p == 2:
            unit: Tensor = x / safe
            return unit
        ratio: Tensor = Abs().apply(x) / safe
        if self.p >= 1:
            return _masked(ratio ** (self.p - 1), np.sign(_values(x)), x)
        # NOTE: 0^(p - 1) is inf for p < 1: those elements get 1, then the mask's 0
        cusp = _values(ratio) == 0
        powered: Tensor = (ratio + cusp.astype(_values(x).dtype)) ** (self.p - 1)
        return _masked(powered, np.sign(_values(x)) * ~cusp, x)


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(shape) if i not in axes)


_VECTOR_ORDERS = "1, 2, inf, -inf or any p > 0"
_MATRIX_ORDERS = "'fro', 'nuc', 2, -2, 1, -1, inf or -inf"


def norm(
    x: Operand, ord: Order = None, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
) -> Variable:
    """The vector or matrix norm of ``x``, as NumPy's ``linalg.norm``: over ``axis`` (one
    axis: vector norms; two: matrix norms; ``None``: the whole of a 1-d or 2-d ``x``, or, with
    ``ord=None``, the 2-norm of any ``x`` flattened), keeping the reduced axes if
    ``keepdims``."""
    shape = operand_shape(x)
    if axis is None:
        if ord is None:
            return _vector(x, 2.0, tuple(range(len(shape))), keepdims)
        if len(shape) not in (1, 2):
            raise ValueError(
                f"norm with ord={ord!r} and axis=None needs a 1-d or 2-d array, got shape "
                f"{shape}; pass axis (an int or a pair)"
            )
        axis = tuple(range(len(shape)))
    axes = normalize_axes(axis, shape)
    if len(axes) == 1:
        return _vector(x, _vector_order(ord), axes, keepdims)
    if len(axes) == 2:
        return _matrix(x, ord, (axes[0], axes[1]), keepdims)
    raise ValueError(f"norm takes one axis (vector norms) or two (matrix norms), got axis={axis}")


def _vector_order(ord: Order) -> float:
    if ord is None:
        return 2.0
    if isinstance(ord, (str, bool)):
        raise ValueError(f"norm of a vector: ord must be {_VECTOR_ORDERS}, got {ord!r}")
    p = float(ord)
    if p == 0:
        raise ValueError(
            "norm of a vector with ord=0 (NumPy's count of nonzero elements) is not supported: "
            "a count is piecewise constant, with no useful gradient; use np.count_nonzero on "
            "the data"
        )
    if p < 0 and not math.isinf(p):
        raise ValueError(
            f"norm of a vector with a negative ord ({ord!r}) is not supported: "
            "(sum |x|^p)^(1/p) with p < 0 is not a norm, and infinite at a zero element; "
            f"ord must be {_VECTOR_ORDERS}"
        )
    if math.isnan(p):
        raise ValueError(f"norm of a vector: ord must be {_VECTOR_ORDERS}, got {ord!r}")
    return p


def _vector(x: Operand, p: float, axes: tuple[int, ...], keepdims: bool) -> Variable:
    if p == math.inf:
        return max(abs(x), axes, keepdims=keepdims)
    if p == -math.inf:
        return min(abs(x), axes, keepdims=keepdims)
    if p == 1:
        return sum(abs(x), axes, keepdims=keepdims)
    return VectorNorm(p, axes, keepdims)(x)


def _matrix(x: Operand, ord: Order, axes: tuple[int, int], keepdims: bool) -> Variable:
    shape = operand_shape(x)
    rows, columns = axes
    if ord is None or ord == "fro":
        return VectorNorm(2.0, tuple(sorted(axes)), keepdims)(x)
    if ord in (1, -1, math.inf, -math.inf) and not isinstance(ord, bool):
        # NOTE: 1 and -1: the largest (smallest) column sum of |x|; inf and -inf: row sums
        summed, taken = (rows, columns) if float(ord) in (1, -1) else (columns, rows)
        extreme = max if float(ord) > 0 else min
        y = extreme(sum(abs(x), summed, keepdims=True), taken, keepdims=True)
    elif ord in (2, -2, "nuc") and not isinstance(ord, bool):
        order = [a for a in range(len(shape)) if a not in axes]
        s = svdvals(transpose(x, (*order, rows, columns)))
        reduce = sum if ord == "nuc" else max if ord == 2 else min
        y = reduce(s, -1)
        if not keepdims:
            return y
        return reshape(y, _kept_shape(shape, axes))
    else:
        raise ValueError(f"norm of a matrix: ord must be {_MATRIX_ORDERS}, got {ord!r}")
    return y if keepdims else reshape(y, _reduced_shape(shape, axes))


def _norm_case(sampler: Sampler) -> Case:
    """A vector norm (``p`` of 2, 3, 0.5, 1.5 along one axis), a Frobenius norm over a pair
    of axes, or the 2-norm of the whole operand (``axis=None``), with ``keepdims``."""
    kind = sampler.choice(["vector", "matrix", "whole"])
    shape = sampler.shape(min_dims={"vector": 1, "matrix": 2, "whole": 0}[kind])
    ndim = len(shape)
    ord: Order = None
    axis: int | tuple[int, int] | None = None
    if kind == "vector":
        ord = sampler.choice([None, 2, 3, 0.5, 1.5])
        axis = sampler.integer(-ndim, ndim - 1)
    elif kind == "matrix":
        ord = sampler.choice([None, "fro"])
        first = sampler.integer(0, ndim - 1)
        second = sampler.choice([a for a in range(ndim) if a != first])
        axis = (first - ndim if sampler.boolean() else first, second)
    return Case((shape,), {"ord": ord, "axis": axis, "keepdims": sampler.boolean()})


def _magnitude_case(sampler: Sampler) -> Case:
    """A vector norm of order 1, ``inf`` or ``-inf`` along one axis, with ``keepdims``."""
    shape = sampler.shape(min_dims=1)
    ndim = len(shape)
    params = {
        "ord": sampler.choice([1, math.inf, -math.inf]),
        "axis": sampler.integer(-ndim, ndim - 1),
        "keepdims": sampler.boolean(),
    }
    return Case((shape,), params)


def _at_magnitude_ties(x: Any, params: Params, gy: Any) -> Any:
    """The declared gradient of a norm of order 1, ``inf`` or ``-inf`` (from NumPy alone):
    ``sign(x)``, for ``inf`` and ``-inf`` split evenly among the elements of the largest
    (smallest) magnitude; 0 at a zero element."""
    axes = normalize_axes(params["axis"], x.shape)
    g = np.reshape(gy, _kept_shape(x.shape, axes)) * np.sign(x)
    if params["ord"] == 1:
        return g
    magnitudes = np.abs(x)
    extreme = np.max if params["ord"] == math.inf else np.min
    wins = magnitudes == extreme(magnitudes, axis=axes, keepdims=True)
    return g * wins / np.sum(wins, axis=axes, keepdims=True)


def _spectral_case(sampler: Sampler) -> Case:
    """A matrix norm of order 2, -2 or ``'nuc'`` of a stack of matrices up to 6x6, over the
    last two axes either way round, with ``keepdims``."""
    m, n = sampler.integer(1, 6), sampler.integer(1, 6)
    params = {
        "ord": sampler.choice([2, -2, "nuc"]),
        "axis": sampler.choice([(-2, -1), (-1, -2)]),
        "keepdims": sampler.boolean(),
    }
    return Case(((*sampler.shape(max_dims=1), m, n),), params)


def _at_spectral_degeneracies(x: Any, params: Params, gy: Any) -> Any:
    """The declared gradient of a matrix norm of order 2, -2 or ``'nuc'``: ``svdvals``' at
    repeated or zero singular values, of the gradient the norm gives each singular value
    (descending): all of it to the first (2) or the last (-2), or to each (``'nuc'``)."""
    k = int(np.min(x.shape[-2:]))
    weights = np.zeros(k)
    if params["ord"] == "nuc":
        weights[:] = 1.0
    else:
        weights[0 if params["ord"] == 2 else -1] = 1.0
    per_value = np.reshape(gy, (*x.shape[:-2], 1)) * weights
    return _svdvals_at_degeneracies(x, params, per_value)


def _at_zero(params: Any) -> tuple[float, ...]:
    return (0.0,)


SPECS = [
    OpSpec(
        "norm",
        VectorNorm,
        norm,
        lambda x, **params: np.linalg.norm(x, **params),
        (ANY,),
        case=_norm_case,
        numpy=(np.linalg.norm,),
        kink=ZeroKink(
            "x == 0: the zero vector (for p < 1, any zero element)",
            "0 (PyTorch's norm; a subgradient, as abs'(0) = 0)",
            _at_zero,
            _at_zero,
        ),
    ),
    OpSpec(
        "norm_abs",
        Max,
        norm,
        lambda x, **params: np.linalg.norm(x, **params),
        (ANY,),
        case=_magnitude_case,
        kink=MagnitudeTieKink(
            "|x| tied along axis (orders inf, -inf), or x == 0",
            "sign(x), split evenly among the tied magnitudes (torch.linalg.vector_norm; "
            "abs'(0) = 0)",
            "axis",
            _at_magnitude_ties,
        ),
    ),
    OpSpec(
        "norm_spectral",
        Svdvals,
        norm,
        lambda x, **params: np.linalg.norm(x, **params),
        (ANY,),
        case=_spectral_case,
        kink=_singular_kink(_at_spectral_degeneracies),
        homogeneous=True,
        cost=2,
    ),
]

__all__ = ["VectorNorm", "norm"]
