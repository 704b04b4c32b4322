"""The matrix product, and numpy.linalg's det, slogdet, inv, solve, cholesky, matrix_power and
multi_dot."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, cast

import numpy as np

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable, is_zero_tangent
from tinygrad_ref.ops.arithmetic import add, mul
from tinygrad_ref.ops.elementwise import _values
from tinygrad_ref.ops.reduction import Sum
from tinygrad_ref.ops.shape import (
    Reshape,
    Transpose,
    _sum_to,
    batched,
    lifted,
    operand_shape,
    reshape,
    unbroadcast,
)
from tinygrad_ref.spec import ANY, BOUNDED, Case, OpSpec, Sampler, Shape, SingularKink


def _check_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Refuse, naming both shapes, the operands NumPy's matmul refuses."""
    if not a or not b:
        raise ValueError(
            f"matmul needs operands of at least 1 dimension, got shapes {a} and {b} "
            "(multiply by a scalar with *)"
        )
    inner = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner:
        raise ValueError(
            f"matmul of shapes {a} and {b}: the inner dimensions {a[-1]} and {inner} differ"
        )
    try:
        np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(
            f"matmul of shapes {a} and {b}: the batch dimensions {a[:-2]} and {b[:-2]} "
            "do not broadcast"
        ) from None


def _swap_last(t: Tensor) -> Tensor:
    """``t`` with its last two axes swapped: each matrix of a stack transposed."""
    return Transpose((*range(t.ndim - 2), t.ndim - 1, t.ndim - 2)).apply(t)


def _reshaped(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    return t if t.shape == shape else Reshape(shape).apply(t)


class MatMul(Function):
    """``a @ b`` with NumPy's rules: matrices, stacks of matrices whose batch axes broadcast,
    and vectors (1-D operands)."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array, b: Array) -> Array:
        _check_shapes(np.shape(a), np.shape(b))
        y: Array = np.matmul(a, b)
        return y

    def vjp(
        self, gy: Tensor, a: Tensor, b: Tensor, y: Tensor
    ) -> tuple[Tensor | None, Tensor | None]:
        # NOTE: a vector is a one-row matrix on the left and a one-column matrix on the right,
        # as in NumPy; gy gets back the axis the product dropped. A constant operand (the data
        # of a layer) needs no gradient: its product, as costly as the other, is skipped.
        a2 = _reshaped(a, (1, *a.shape) if a.ndim == 1 else a.shape)
        b2 = _reshaped(b, (*b.shape, 1) if b.ndim == 1 else b.shape)
        batch: tuple[int, ...] = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = _reshaped(gy, (*batch, a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_grad(0):
            ga = _reshaped(unbroadcast(gy2 @ _swap_last(b2), a2), a.shape)
        if self.needs_grad(1):
            gb = _reshaped(unbroadcast(_swap_last(a2) @ gy2, b2), b.shape)
        return ga, gb

    def jvp(self, ta: Tensor, tb: Tensor, a: Tensor, b: Tensor, y: Tensor) -> Tensor:
        # NOTE: the term of a constant operand (a layer's data), whose tangent is zeros, would
        # cost as much as the other, times the batch: it is left out
        if not batched(ta, a):
            if is_zero_tangent(ta):
                return a @ tb
            return ta @ b if is_zero_tangent(tb) else ta @ b + a @ tb
        # NOTE: a batch of tangents of a vector would be taken for a matrix: each operand as a
        # stack of matrices, its batch axis lifted ahead of the stack axes of the product
        batch: int = ta.shape[0]
        a_shape: tuple[int, ...] = (1, *a.shape) if a.ndim == 1 else a.shape
        b_shape: tuple[int, ...] = (*b.shape, 1) if b.ndim == 1 else b.shape
        a2, b2 = _reshaped(a, a_shape), _reshaped(b, b_shape)
        ndim = max(len(a_shape), len(b_shape))
        ta2 = lifted(_reshaped(ta, (batch, *a_shape)), a2, ndim)
        tb2 = lifted(_reshaped(tb, (batch, *b_shape)), b2, ndim)
        if is_zero_tangent(ta):
            ty = _product(a2, tb2)
        else:
            ty = _product(ta2, b2)
            ty = ty if is_zero_tangent(tb) else ty + _product(a2, tb2)
        return _reshaped(ty, (batch, *y.shape))


def _product(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for stacks of matrices, as one matrix product where one of them is a single
    matrix: NumPy multiplies a stack one matrix at a time, several times slower."""
    if b.ndim == 2 and a.ndim > 2:
        rows: int = math.prod(a.shape[:-1])
        return _reshaped(_reshaped(a, (rows, a.shape[-1])) @ b, (*a.shape[:-1], b.shape[-1]))
    if a.ndim == 2 and b.ndim > 2:
        return _swap_last(_product(_swap_last(b), _swap_last(a)))
    return a @ b


def matmul(a: Operand, b: Operand) -> Variable:
    """The matrix product ``a @ b``, as NumPy's: two 1-D vectors give their dot product (a 0-d
    result), a 1-D operand is a vector on its side, batch axes (beyond the last two)
    broadcast."""
    return MatMul()(a, b)


def _matmul_case(sampler: Sampler) -> Case:
    """Vectors, matrices, and stacks of matrices with one batch axis, which broadcasts."""
    n, k, m = sampler.integer(1, 4), sampler.integer(1, 4), sampler.integer(1, 4)
    batch_a, batch_b = (shape[-1:] for shape in sampler.broadcastable_shapes(2))
    a = (k,) if sampler.boolean() else (*batch_a, n, k)
    b = (k,) if sampler.boolean() else (*batch_b, k, m)
    return Case((a, b))


SPECS = [
    OpSpec(
        "matmul",
        MatMul,
        matmul,
        np.matmul,
        (ANY, ANY),
        operators=("__matmul__", "__rmatmul__"),
        infix=operator.matmul,
        case=_matmul_case,
        numpy=(np.matmul,),
        analytic=True,
    ),
]


# numpy.linalg: det, slogdet, inv, solve, cholesky, and matrix_power and multi_dot composed of
# them and matmul. Every operand is a square matrix or a stack of them (the last two axes).
# NOTE: a vjp or jvp below computes on arrays or Variables alike through these helpers, so that
# second derivatives are recorded from the same rules.


def _square(name: str, shape: tuple[int, ...]) -> None:
    """Refuse, naming the shape, an operand that is not a square matrix or a stack of them."""
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"{name} needs a square matrix or a stack of them (..., n, n), got shape {shape}"
        )


def _refuse_singular(name: str, error: np.linalg.LinAlgError, shape: tuple[int, ...]) -> NoReturn:
    raise np.linalg.LinAlgError(
        f"{name} of a singular matrix (shape {shape}): it has no inverse, and no derivative "
        f"there ({error}); pinv or lstsq give least-squares answers"
    ) from None


def _finite(name: str, y: Array, shape: tuple[int, ...]) -> Array:
    """``y``, refused by name where a nearly singular matrix overflowed it."""
    if not np.all(np.isfinite(y)):
        raise np.linalg.LinAlgError(
            f"{name} of a numerically singular matrix (shape {shape}): the result overflows "
            "(inf or nan)"
        )
    return y


def _condition(a: Array) -> Array:
    """The 2-norm condition number of each matrix of ``a`` (``inf`` where singular)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa: Array = np.asarray(np.linalg.cond(a))
    return kappa


def _amplified(kappa: Array, terms: Array) -> Array:
    """``terms`` of each matrix times its condition number: a rule through an inverse or an LU
    factorization rounds by about ``kappa * eps`` of them (Higham, "Accuracy and Stability of
    Numerical Algorithms", ch. 9 and 14)."""
    amplified: Array = terms * np.maximum(kappa, 1.0).reshape(
        *kappa.shape, *(1,) * (terms.ndim - kappa.ndim)
    )
    return amplified


def _columns(terms: Array) -> Array:
    """Every element of ``terms`` (magnitudes) replaced by the largest of its column: an LU
    solve's rounding is bounded by the norm of each column it solves for (Higham, ch. 9), and
    reaches elements far smaller than their column's largest (the 0 of a sparse matrix)."""
    largest = np.max(terms, axis=-2, keepdims=True, initial=0.0)
    return np.broadcast_to(largest, terms.shape)


def _inverse(a: Tensor) -> Tensor:
    return Inv().apply(a)


def _expand_last(t: Tensor) -> Tensor:
    """``t[..., None, None]``."""
    return Reshape((*t.shape, 1, 1)).apply(t)


def _summed_last(t: Tensor) -> Tensor:
    """``t`` summed over its last two axes."""
    return Sum((-2, -1), False).apply(t)


def _cofactor(a: Tensor, det: Tensor) -> Tensor:
    """The cofactor matrix of each matrix of ``a`` (the gradient of its determinant ``det``):
    ``det * inv(a)ᵀ`` where no determinant is 0 (and always on Variables, which a recorded
    pass differentiates again); at a singular matrix, on arrays, minor by minor (SVD above
    :data:`MINORS`)."""
    value: Any = a
    determinant: Any = det
    cofactor: Any = (
        _recorded_cofactor(value, determinant)
        if isinstance(value, Variable)
        else _cofactor_values(value, determinant)
    )
    return cast("Tensor", cofactor)


def _recorded_cofactor(a: Variable, det: Variable) -> Variable:
    try:
        return _expand_last(det) * _swap_last(_inverse(a))
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(
            f"det's recorded gradient (create_graph=True) at a singular matrix (shape "
            f"{a.shape}) is refused: it is recorded as det(a) inv(a)ᵀ; the plain gradient, "
            "the cofactor matrix, exists there"
        ) from None


def _cofactor_values(a: Array, det: Array) -> Array:
    if np.all(det != 0):
        cofactor: Array = det[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
        return cofactor
    if a.shape[-1] <= MINORS:
        return cofactors(a)
    # NOTE: a = U S Vᵀ has the cofactors det(U) det(V) U diag(prod_{j != i} s_j) Vᵀ
    u, s, vt = np.linalg.svd(a)
    products = [np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(s.shape[-1])]
    sign = np.linalg.det(u) * np.linalg.det(vt)
    by_svd: Array = (u * np.stack(products, axis=-1)[..., None, :]) @ vt * sign[..., None, None]
    return by_svd


MINORS = 16
"""Up to this size, det's gradient at a singular matrix is computed minor by minor."""


def cofactors(a: Array) -> Array:
    """The cofactor matrix of each matrix of ``a``, minor by minor."""
    n = a.shape[-1]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            c[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return c


class Det(Function):
    """``np.linalg.det``: the determinant of each matrix. Its gradient, the cofactor matrix,
    exists everywhere, at singular matrices too."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array) -> Array:
        _square("det", a.shape)
        y: Array = np.asarray(np.linalg.det(a))
        return y

    def vjp(self, gy: Tensor, a: Tensor, y: Tensor) -> Tensor:
        return _expand_last(gy) * _cofactor(a, y)

    def jvp(self, ta: Tensor, a: Tensor, y: Tensor) -> Tensor:
        return _summed_last(_cofactor(a, y) * ta)

    def vjp_terms(self, m: Array, a: Array, y: Array) -> Array:
        """The magnitude of the terms of the gradient ``m`` times the cofactors, for the
        verification's rounding allowance: each cofactor is a determinant of the other rows,
        summed from terms up to Hadamard's bound, the product of their norms, also where they
        cancel to 0."""
        norms = np.linalg.norm(a, axis=-1)
        others = np.stack(
            [np.prod(np.delete(norms, i, axis=-1), axis=-1) for i in range(a.shape[-1])], -1
        )
        terms: Array = np.abs(m)[..., None, None] * np.broadcast_to(others[..., None], a.shape)
        return terms


class SlogDet(Function):
    """``np.linalg.slogdet``: the sign and the log of the absolute value of each determinant.
    The sign is piecewise constant (no gradient); at a singular matrix NumPy's ``(0, -inf)``
    comes back and a derivative is refused."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array) -> tuple[Array, Array]:
        _square("slogdet", a.shape)
        sign, logdet = np.linalg.slogdet(a)
        return np.asarray(sign), np.asarray(logdet)

    def vjp(
        self, gsign: Tensor, glogdet: Tensor, a: Tensor, sign: Tensor, logdet: Tensor
    ) -> Tensor:
        if _no_gradient(glogdet):
            # NOTE: only the sign got a gradient: it is piecewise constant, its gradient 0 but
            # where it jumps, at a singular matrix
            if not np.all(_values(sign)):
                _refuse_singular("the derivative of slogdet's sign", _SINGULAR, a.shape)
            return _expand_last(gsign) * np.zeros(a.shape, dtype=a.dtype)
        return _expand_last(glogdet) * _swap_last(_inverse_of_regular("slogdet", a))

    def vjp_terms(
        self, msign: Array, mlogdet: Array, a: Array, sign: Array, logdet: Array
    ) -> Array:
        """The magnitude of the gradient's terms, ``m |a⁻ᵀ|``, times the condition number."""
        inverse = np.abs(np.swapaxes(np.linalg.inv(a), -1, -2))
        return _amplified(_condition(a), mlogdet[..., None, None] * inverse)

    def jvp(self, ta: Tensor, a: Tensor, sign: Tensor, logdet: Tensor) -> tuple[Tensor, Tensor]:
        tlogdet = _summed_last(_swap_last(_inverse_of_regular("slogdet", a)) * ta)
        zeros: Any = np.zeros(tlogdet.shape, tlogdet.dtype)  # NOTE: a constant, on Variables too
        return zeros, tlogdet


_SINGULAR = np.linalg.LinAlgError("its sign jumps there")


def _no_gradient(g: Tensor) -> bool:
    """Whether ``g`` is the zeros an output that got no gradient receives: an array, or, in a
    pass under forward mode, a Variable that nothing computed."""
    if isinstance(g, Variable):
        return g.creator is None and not g.data.any()
    return not g.any()


def _inverse_of_regular(name: str, a: Tensor) -> Tensor:
    """``inv(a)`` for the derivative of ``name``, refused by name at a singular matrix."""
    try:
        return _inverse(a)
    except np.linalg.LinAlgError as error:
        _refuse_singular(f"the derivative of {name}", error, a.shape)


class Inv(Function):
    """``np.linalg.inv``: refused by name (``LinAlgError``, a ValueError) at a singular
    matrix."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array) -> Array:
        _square("inv", a.shape)
        try:
            y: Array = np.linalg.inv(a)
        except np.linalg.LinAlgError as error:
            _refuse_singular("inv", error, a.shape)
        return _finite("inv", y, a.shape)

    def vjp(self, gy: Tensor, a: Tensor, y: Tensor) -> Tensor:
        yt = _swap_last(y)
        return -(yt @ gy @ yt)

    def jvp(self, ta: Tensor, a: Tensor, y: Tensor) -> Tensor:
        return -(y @ ta @ y)

    def jvp_terms(self, ta: Array, a: Array, y: Array) -> Array:
        """The tangent's terms ``|y| |ta| |y|``, as :meth:`Solve.jvp_terms` takes them."""
        columns = _columns(np.abs(y))
        return _amplified(_condition(a), _columns(columns @ ta @ columns))

    def vjp_terms(self, m: Array, a: Array, y: Array) -> Array:
        """The magnitude of the gradient's terms, ``|yᵀ| m |yᵀ|``, times the condition
        number, by which the inverse's rounding grows."""
        yt = np.abs(np.swapaxes(y, -1, -2))
        return _amplified(_condition(a), yt @ m @ yt)


class Solve(Function):
    """``np.linalg.solve(a, b)`` for a right-hand side of matrices ``(..., n, k)``, batch axes
    broadcast; a vector ``b`` goes through :func:`solve` as one column."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array, b: Array) -> Array:
        _square("solve", a.shape)
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ValueError(
                f"solve of shapes {a.shape} and {b.shape}: b must have {a.shape[-1]} rows"
            )
        try:
            y: Array = np.linalg.solve(a, b)
        except np.linalg.LinAlgError as error:
            _refuse_singular("solve", error, a.shape)
        return _finite("solve", y, a.shape)

    def vjp(self, gy: Tensor, a: Tensor, b: Tensor, y: Tensor) -> tuple[Tensor | None, Tensor]:
        gb = _solved(_swap_last(a), gy)
        ga = unbroadcast(-(gb @ _swap_last(y)), a) if self.needs_grad(0) else None
        return ga, unbroadcast(gb, b)

    def vjp_terms(self, m: Array, a: Array, b: Array, y: Array) -> tuple[Array, Array]:
        """The magnitudes of the gradients' terms (``|a⁻ᵀ| m`` and its product with ``|yᵀ|``,
        each column of ``y`` at its largest, :func:`_columns`), times the condition number, by
        which the solve's rounding grows."""
        kappa = _condition(a)
        gb = np.abs(np.swapaxes(np.linalg.inv(a), -1, -2)) @ m
        ga = _amplified(kappa, gb @ np.swapaxes(_columns(np.abs(y)), -1, -2))
        return _sum_to(ga, a.shape), _sum_to(_amplified(kappa, gb), b.shape)

    def jvp_terms(self, ta: Array, tb: Array, a: Array, b: Array, y: Array) -> Array:
        """The magnitude of the tangent's terms, for the verification's rounding allowance:
        ``|a⁻¹| (|tb| + |ta| |y|)``, each column at its largest (:func:`_columns`), times the
        condition number."""
        terms = np.abs(np.linalg.inv(a)) @ (tb + ta @ _columns(np.abs(y)))
        return np.broadcast_to(_amplified(_condition(a), _columns(terms)), y.shape)

    def jvp(self, ta: Tensor, tb: Tensor, a: Tensor, b: Tensor, y: Tensor) -> Tensor:
        ndim = max(a.ndim, b.ndim)
        rhs = lifted(tb, b, ndim)
        if not is_zero_tangent(ta):
            rhs = rhs - lifted(ta, a, ndim) @ y
        return _solved(a, rhs)


def _solved(a: Tensor, b: Tensor) -> Tensor:
    operands: list[Any] = [a, b]
    recorded = any(isinstance(t, Variable) for t in operands)
    solved: Any = Solve()(*operands) if recorded else Solve().forward(*operands)
    return cast("Tensor", solved)


def _lower(n: int, dtype: np.dtype[Any], diagonal: float) -> Array:
    """The mask of the lower triangle of an ``n`` by ``n`` matrix, ``diagonal`` on it."""
    mask: Array = np.tril(np.ones((n, n), dtype=dtype), -1) + diagonal * np.eye(n, dtype=dtype)
    return mask


class Cholesky(Function):
    """``np.linalg.cholesky``: the lower factor ``L`` of ``a = L Lᵀ``, read from ``a``'s lower
    triangle (the upper one is never read). Its gradient is the one on the triangle read (the
    upper triangle gets 0), as single-element perturbations see it, not PyTorch's symmetrized
    one: the two agree once summed over each pair ``a[i, j]``, ``a[j, i]``."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, a: Array) -> Array:
        _square("cholesky", a.shape)
        try:
            y: Array = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError(
                f"cholesky of a matrix that is not positive definite (shape {a.shape}): its "
                "lower triangle, mirrored, has an eigenvalue <= 0; there is no factor, nor a "
                "derivative"
            ) from None
        return y

    def vjp(self, gy: Tensor, a: Tensor, y: Tensor) -> Tensor:
        n = a.shape[-1]
        inverse = _inverse(y)
        phi = (_swap_last(y) @ gy) * _lower(n, y.dtype, 0.5)
        # NOTE: P = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹; the gradient on the lower triangle is P + Pᵀ below the
        # diagonal and P's diagonal on it
        p = _swap_last(inverse) @ phi @ inverse
        return (p + _swap_last(p)) * _lower(n, y.dtype, 0.5)

    def jvp(self, ta: Tensor, a: Tensor, y: Tensor) -> Tensor:
        n = a.shape[-1]
        low = ta * _lower(n, ta.dtype, 1.0)
        strictly = ta * _lower(n, ta.dtype, 0.0)
        inverse = _inverse(y)
        ds = low + _swap_last(strictly)
        return y @ ((inverse @ ds @ _swap_last(inverse)) * _lower(n, y.dtype, 0.5))

    def vjp_terms(self, m: Array, a: Array, y: Array) -> Array:
        """The magnitude of the gradient's terms, ``|L⁻ᵀ| Φ(|Lᵀ| m) |L⁻¹|`` on the lower
        triangle and mirrored onto it, times the condition number of ``L Lᵀ`` (``L``'s
        squared): the factor carries the factorization's rounding, about that times ``ε`` of
        it, into the rule (``L``'s alone fell short by up to 8 times at 1e8)."""
        n = a.shape[-1]
        inverse = np.abs(np.linalg.inv(y))
        phi = np.tril(np.abs(np.swapaxes(y, -1, -2)) @ m)
        p = np.swapaxes(inverse, -1, -2) @ phi @ inverse
        terms = (p + np.swapaxes(p, -1, -2)) * _lower(n, p.dtype, 0.5)
        return _amplified(_condition(y) ** 2, terms)

    def jvp_terms(self, ta: Array, a: Array, y: Array) -> Array:
        """The magnitude of the tangent's terms, ``|L| (|L⁻¹| |ds| |L⁻ᵀ|)`` (``ds`` the
        tangent of the lower triangle mirrored), times ``L``'s condition number: they cancel
        where the factor's element is 0 beside larger ones."""
        n = a.shape[-1]
        ds = ta * _lower(n, ta.dtype, 1.0)
        ds = ds + np.swapaxes(ta * _lower(n, ta.dtype, 0.0), -1, -2)
        inverse = np.abs(np.linalg.inv(y))
        inner = inverse @ ds @ np.swapaxes(inverse, -1, -2)
        return _amplified(_condition(y), np.abs(y) @ np.tril(inner))


def det(a: Operand) -> Variable:
    """The determinant of each matrix of ``a``, as ``np.linalg.det``."""
    return Det()(a)


def slogdet(a: Operand) -> tuple[Variable, Variable]:
    """``(sign, logabsdet)`` of each matrix of ``a``, as ``np.linalg.slogdet``: the sign gets no
    gradient; at a singular matrix ``(0, -inf)``, as NumPy, and a derivative is refused."""
    sign, logdet = SlogDet()(a)
    return sign, logdet


def inv(a: Operand) -> Variable:
    """The inverse of each matrix of ``a``, as ``np.linalg.inv``."""
    return Inv()(a)


def solve(a: Operand, b: Operand) -> Variable:
    """``x`` with ``a @ x = b``, as NumPy 2's ``np.linalg.solve``: a 1-D ``b`` is one vector
    (for every matrix of ``a``), else a stack of matrices ``(..., n, k)``; batch axes
    broadcast."""
    sa, sb = operand_shape(a), operand_shape(b)
    _square("solve", sa)
    if len(sb) == 1:
        if sb[0] != sa[-1]:
            raise ValueError(f"solve of shapes {sa} and {sb}: b must have {sa[-1]} elements")
        x = Solve()(a, reshape(b, (sb[0], 1)))
        return reshape(x, x.shape[:-1])
    return Solve()(a, b)


def cholesky(a: Operand) -> Variable:
    """The lower Cholesky factor of each matrix of ``a``, read from its lower triangle, as
    ``np.linalg.cholesky``."""
    return Cholesky()(a)


def matrix_power(a: Operand, n: int) -> Variable:
    """``a`` multiplied by itself ``n`` times, as ``np.linalg.matrix_power``: by repeated
    squaring; ``n = 0`` gives the identity, a negative ``n`` the power of the inverse."""
    shape = operand_shape(a)
    _square("matrix_power", shape)
    try:
        power = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power's exponent must be an integer, got {n!r}") from None
    square: Operand = inv(a) if power < 0 else a
    if power == 0:
        dtype = square.dtype if isinstance(square, Variable) else np.asarray(square).dtype
        identity = np.broadcast_to(np.eye(shape[-1], dtype=dtype), shape)
        return add(mul(square, 0.0), identity)  # NOTE: a Variable of the identity, gradient 0
    result: Operand | None = None
    remaining = abs(power)
    while True:
        if remaining & 1:
            result = square if result is None else matmul(result, square)
        remaining >>= 1
        if not remaining:
            break
        square = matmul(square, square)
    assert result is not None
    # NOTE: a new Variable, as every op gives, never the operand itself (n = 1)
    return result if isinstance(result, Variable) and result is not a else reshape(result, shape)


def multi_dot(arrays: Sequence[Operand]) -> Variable:
    """The product of ``arrays``, as ``np.linalg.multi_dot``: the first may be a 1-D row, the
    last a 1-D column; multiplied in NumPy's order, the one of fewest scalar multiplications
    (:func:`_chain_order`), so that float32 operands round as NumPy's do."""
    if len(arrays) < 2:
        raise ValueError(f"multi_dot needs at least 2 arrays, got {len(arrays)}")
    shapes = [operand_shape(x) for x in arrays]
    for k, shape in enumerate(shapes):
        if len(shape) != 2 and not (len(shape) == 1 and k in (0, len(arrays) - 1)):
            raise ValueError(
                f"multi_dot: array {k} has {len(shape)} dimensions; all must be 2-D, the first "
                "and last may be 1-D"
            )
    # NOTE: a 1-D first array is a row, a 1-D last one a column: one side of size 1
    sides = [1 if len(shapes[0]) == 1 else shapes[0][0]]
    sides += [shape[-1] for shape in shapes[:-1]]
    sides.append(1 if len(shapes[-1]) == 1 else shapes[-1][-1])
    splits = _chain_order(sides)

    def product(i: int, j: int) -> Any:
        if i == j:
            return arrays[i]
        k = splits[i][j]
        return matmul(product(i, k), product(k + 1, j))

    result: Variable = product(0, len(arrays) - 1)
    return result


def _chain_order(sides: Sequence[int]) -> list[list[int]]:
    """The order of fewest scalar multiplications of a chain of matrices, matrix ``i`` of
    ``sides[i]`` by ``sides[i + 1]`` (the matrix-chain dynamic program, Cormen et al. 15.2, as
    NumPy's ``multi_dot``; a tie goes to the first split): ``splits[i][j]`` is the ``k`` at
    which the product of matrices ``i`` to ``j`` splits into ``i..k`` times ``k+1..j``."""
    n = len(sides) - 1
    cost = [[0] * n for _ in range(n)]
    splits = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], splits[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + sides[i] * sides[k + 1] * sides[j + 1], k)
                for k in range(i, j)
            )
    return splits


REFUSED: Mapping[Callable[..., Any], str] = {
    np.linalg.eig: (
        "its eigenvalues and eigenvectors of a real matrix are complex, and Variables hold "
        "real numbers; for a symmetric matrix use np.linalg.eigh"
    ),
    np.linalg.eigvals: "its eigenvalues of a real matrix are complex; Variables hold real numbers",
    np.linalg.lstsq: (
        "its rank and singular values are not differentiable and its solution jumps where the "
        "rank changes; use solve(a.T @ a, a.T @ b) for a full-rank a, or pinv"
    ),
    np.linalg.matrix_rank: "a rank is an integer: it has no derivative",
}
"""The numpy.linalg functions refused with a Variable, and why."""


# The cases the verification draws: matrices up to 6 by 6, kept out of singular by the margin.

MAX_CONDITION = 100.0
"""The margin the strategies keep from singular matrices: a condition number at most this."""


def _matrices(sampler: Sampler, max_size: int = 6) -> Shape:
    """A square matrix, or a stack of them along one or two batch axes."""
    n = sampler.integer(1, max_size)
    batch = tuple(sampler.integer(1, 2) for _ in range(sampler.choice([0, 0, 1, 2])))
    return (*batch, n, n)


def _square_case(sampler: Sampler) -> Case:
    return Case((_matrices(sampler),))


def _slogdet_case(sampler: Sampler) -> Case:
    return Case((_matrices(sampler),), {"part": sampler.choice([0, 1])})


def _solve_case(sampler: Sampler) -> Case:
    """A right-hand side that is one vector, or matrices whose batch axes broadcast."""
    a = _matrices(sampler, 5)
    n = a[-1]
    if sampler.boolean():
        return Case((a, (n,)))
    batch = tuple(1 if sampler.boolean() else m for m in a[:-2][sampler.integer(0, len(a) - 2) :])
    return Case((a, (*batch, n, sampler.integer(1, 3))))


def _power_case(sampler: Sampler) -> Case:
    return Case((_matrices(sampler, 4),), {"n": sampler.integer(0, 4)})


def _multi_dot_case(sampler: Sampler) -> Case:
    m, n, k, p = (sampler.integer(1, 4) for _ in range(4))
    first = (n,) if sampler.boolean() else (m, n)
    last = (k,) if sampler.boolean() else (k, p)
    return Case((first, (n, k), last))


def _singular(where: str, convention: str, **fields: Any) -> SingularKink:
    return SingularKink(where, convention, max_condition=MAX_CONDITION, **fields)


_REFUSED_THERE = "refused: a LinAlgError (a ValueError) naming the singular matrix"

LINALG_SPECS = [
    OpSpec("det", Det, det, np.linalg.det, (ANY,), case=_square_case, numpy=(np.linalg.det,),
           analytic=True, cost=4,
           kink=_singular("det(a) == 0", "the cofactor matrix (it exists there)",
                          cofactor=True)),
    OpSpec("slogdet", SlogDet, lambda a, part: slogdet(a)[part],
           lambda a, part: np.linalg.slogdet(a)[part], (ANY,), case=_slogdet_case,
           numpy=(np.linalg.slogdet,), numpy_function=slogdet,
           numpy_result=lambda y, part: y[part], cost=4,
           kink=_singular("det(a) == 0", "NumPy's (0, -inf); its derivative is " + _REFUSED_THERE)),
    OpSpec("inv", Inv, inv, np.linalg.inv, (ANY,), case=_square_case, numpy=(np.linalg.inv,),
           analytic=True, cost=4, kink=_singular("det(a) == 0", _REFUSED_THERE)),
    OpSpec("solve", Solve, solve, np.linalg.solve, (ANY, ANY), roles=("any", "any"),
           case=_solve_case, numpy=(np.linalg.solve,), analytic=True, cost=4,
           kink=_singular("det(a) == 0", _REFUSED_THERE)),
    OpSpec("cholesky", Cholesky, cholesky, np.linalg.cholesky, (ANY,), case=_square_case,
           numpy=(np.linalg.cholesky,), cost=4,
           kink=_singular("the lower triangle, mirrored, is not positive definite",
                          _REFUSED_THERE, definite=True)),
    OpSpec("matrix_power", MatMul, matrix_power, np.linalg.matrix_power, (BOUNDED,),
           case=_power_case, numpy=(np.linalg.matrix_power,), analytic=True, cost=2),
    OpSpec("multi_dot", MatMul, lambda *arrays: multi_dot(arrays),
           lambda *arrays: np.linalg.multi_dot(arrays),
           (ANY, ANY, ANY), roles=("any", "any", "any"), case=_multi_dot_case,
           numpy=(np.linalg.multi_dot,), numpy_function=multi_dot, analytic=True),
]  # fmt: skip
SPECS += LINALG_SPECS
