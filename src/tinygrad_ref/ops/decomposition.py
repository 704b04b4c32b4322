"""Matrix decompositions: ``eigh``, ``eigvalsh``, ``svd``, ``svdvals`` and ``qr``, with NumPy's
semantics on stacks of matrices (the last two axes).

Their derivatives do not exist where the spectrum is degenerate: two equal eigenvalues or
singular values, or a zero singular value. There the values' gradient follows a convention
(each of the tied values gets the mean of their gradients, a zero singular value none), and the
vectors' gradient refuses with a ``ValueError`` naming the degeneracy, never an inf or NaN.
Vectors have a sign (gauge) freedom: the verification checks them through probes that do not
see it (:func:`eigh_probe`, :func:`svd_probe`, :func:`qr_probe`). See docs/decompositions.md."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, cast, overload

import numpy as np
import numpy.typing as npt

from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable
from tinygrad_ref.ops.elementwise import _values, sqrt
from tinygrad_ref.ops.join import concatenate
from tinygrad_ref.ops.linalg import (
    MAX_CONDITION,
    _inverse,
    _no_gradient,
    _swap_last,
)
from tinygrad_ref.ops.reduction import Sum, mean
from tinygrad_ref.ops.shape import Reshape, operand_shape
from tinygrad_ref.spec import (
    ANY,
    SPECTRUM_ULPS,
    Case,
    OpSpec,
    Params,
    Sampler,
    SingularKink,
    SpectralKink,
    has_zero,
    spectrum_clusters,
    spectrum_zeros,
)

UpLo = Literal["L", "U"]

Float64Array = npt.NDArray[np.float64]


# Shared pieces, for arrays and Variables alike (a rule's Tensors).


def _sum_last(t: Tensor) -> Tensor:
    return Sum(-1, False).apply(t)


def _row(t: Tensor) -> Tensor:
    """A stack of vectors ``(..., k)`` as a stack of one-row matrices ``(..., 1, k)``."""
    return Reshape((*t.shape[:-1], 1, t.shape[-1])).apply(t)


def _column(t: Tensor) -> Tensor:
    """A stack of vectors ``(..., k)`` as a stack of one-column matrices ``(..., k, 1)``."""
    return Reshape((*t.shape, 1)).apply(t)


def _diagonal(m: Tensor) -> Tensor:
    """The diagonals of a stack of square matrices."""
    return _sum_last(m * np.eye(m.shape[-1], dtype=_values(m).dtype))


def _averaged(g: Tensor, spectrum: Array) -> Tensor:
    """``g``, one entry per value of each ``spectrum`` (the last axis, ascending), with the
    entries of values tied to within :data:`SPECTRUM_ULPS` replaced by their mean (the
    convention at ties); ``g`` itself where nothing ties."""
    shares = spectrum_clusters(spectrum)
    if shares is None:
        return g
    return _sum_last(_row(g) * shares.astype(_values(g).dtype))


def _masks(n: int, uplo: UpLo, dtype: np.dtype[Any]) -> tuple[Array, Array]:
    """The triangle (with the diagonal) ``eigh`` reads with ``uplo``, and its strict part."""
    lower = np.tril(np.ones((n, n), dtype=dtype))
    triangle = lower if uplo == "L" else lower.T
    return triangle, triangle - np.eye(n, dtype=dtype)


def _read(t: Tensor, uplo: UpLo) -> Tensor:
    """The symmetric matrices ``eigh`` sees in ``t``: its ``uplo`` triangle mirrored."""
    triangle, strict = _masks(t.shape[-1], uplo, _values(t).dtype)
    return t * triangle + _swap_last(t * strict)


def _read_adjoint(g: Tensor, uplo: UpLo) -> Tensor:
    """The gradient by the operand of the gradient ``g`` by the matrices :func:`_read` gives:
    zero off the triangle read, ``g_ij + g_ji`` on it, ``g_ii`` on the diagonal."""
    triangle, strict = _masks(g.shape[-1], uplo, _values(g).dtype)
    return g * triangle + _swap_last(g) * strict


def _gaps(spectrum: Tensor, squared: bool) -> Tensor:
    """``1 / (s_j - s_i)`` (of their squares if ``squared``) off the diagonal, 0 on it."""
    s = spectrum * spectrum if squared else spectrum
    n = s.shape[-1]
    eye = np.eye(n, dtype=_values(s).dtype)
    return (1 - eye) / (_row(s) - _column(s) + eye)


def _refuse_degenerate(op: str, spectrum: Array, zero: bool, what: str) -> None:
    """Raise a ValueError naming the degeneracy if two values of ``spectrum`` tie (or, if
    ``zero``, one is zero) to within :data:`SPECTRUM_ULPS`: the vectors have no derivative."""
    tied = spectrum_clusters(spectrum) is not None
    if tied:
        raise ValueError(
            f"{op}: the derivative of the {what} does not exist at repeated {_names(op)} "
            f"(two of {np.array2string(spectrum, precision=17)} are equal to within "
            f"{SPECTRUM_ULPS} ULPs): the {what} of a repeated value are any basis of its space"
        )
    if zero and has_zero(spectrum):
        raise ValueError(
            f"{op}: the derivative of the {what} does not exist at a zero singular value "
            f"({np.array2string(spectrum, precision=17)}): its vectors' signs are independent"
        )


def _names(op: str) -> str:
    return "eigenvalues" if op.startswith("eig") else "singular values"


# eigh and eigvalsh


class EighResult(NamedTuple):
    """What :func:`eigh` returns, as NumPy's ``EighResult``."""

    eigenvalues: Variable
    eigenvectors: Variable


class Eigh(Function):
    """``np.linalg.eigh(x, UPLO)``: the eigenvalues (ascending) and eigenvectors (columns) of
    the symmetric matrices whose ``UPLO`` triangle ``x`` holds; the other triangle is not
    read, so its gradient is 0 (the derivative of the function as it is)."""

    __slots__ = ("uplo",)
    batched_jvp = True

    def __init__(self, uplo: UpLo = "L") -> None:
        self.uplo = uplo

    def forward(self, x: Array) -> tuple[Array, Array]:
        _check_square("eigh", x.shape)
        w, v = np.linalg.eigh(x, UPLO=self.uplo)
        return w, v

    def vjp(self, gw: Tensor, gv: Tensor, x: Tensor, w: Tensor, v: Tensor) -> Tensor:
        vt = _swap_last(v)
        inner = _row(_averaged(gw, _values(w))) * np.eye(x.shape[-1], dtype=_values(x).dtype)
        if np.any(_values(gv)):
            _refuse_degenerate("eigh", _values(w), False, "eigenvectors")
            inner = inner + _gaps(w, False) * (vt @ gv)
        return _read_adjoint(v @ inner @ vt, self.uplo)

    def jvp(self, tx: Tensor, x: Tensor, w: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        _refuse_degenerate("eigh", _values(w), False, "eigenvectors")
        m = _swap_last(v) @ _read(tx, self.uplo) @ v
        return _diagonal(m), v @ (_gaps(w, False) * m)

    def jvp_terms(self, tx: Array, x: Array, w: Array, v: Array) -> tuple[Array, Array]:
        """The magnitude of the tangents' terms: the rule run on magnitudes, with the rounding
        of the eigenvectors it reads. LAPACK's are those of a matrix off by ``eps |A|`` in
        every element (``|A|`` the largest eigenvalue's magnitude), so off by the jvp along
        that perturbation, up to ``eps |A| / gap``: an element 0 in exact arithmetic is that
        large in float32, and reaches tangents whose own terms are small."""
        a = np.abs(v)
        gaps = np.abs(np.asarray(_gaps(w, False)))
        columns = a.sum(axis=-2)
        scale = np.max(np.abs(w), axis=-1)[..., None, None]
        rounding = scale * a @ (gaps * (columns[..., :, None] * columns[..., None, :]))
        read = np.asarray(_read(tx, self.uplo))
        exact = np.swapaxes(a, -1, -2) @ read @ a
        cross = np.swapaxes(rounding, -1, -2) @ read @ a
        m = exact + cross + np.swapaxes(cross, -1, -2)
        return np.diagonal(m, axis1=-2, axis2=-1), a @ (gaps * m) + rounding @ (gaps * exact)


class Eigvalsh(Function):
    """``np.linalg.eigvalsh(x, UPLO)``: the eigenvalues alone, ascending. At a repeated
    eigenvalue each of the tied ones gets the mean of their gradients: the gradient of their
    sum, split evenly (as ``max`` splits its among ties), whatever basis of their space."""

    __slots__ = ("uplo",)
    batched_jvp = True

    def __init__(self, uplo: UpLo = "L") -> None:
        self.uplo = uplo

    def forward(self, x: Array) -> Array:
        _check_square("eigvalsh", x.shape)
        w: Array = np.linalg.eigvalsh(x, UPLO=self.uplo)
        return w

    def vjp(self, gw: Tensor, x: Tensor, w: Tensor) -> Tensor:
        v = _eigenvectors(x, self.uplo)
        inner = _row(_averaged(gw, _values(w))) * np.eye(x.shape[-1], dtype=_values(x).dtype)
        return _read_adjoint(v @ inner @ _swap_last(v), self.uplo)

    def jvp(self, tx: Tensor, x: Tensor, w: Tensor) -> Tensor:
        v = _eigenvectors(x, self.uplo)
        return _averaged(_diagonal(_swap_last(v) @ _read(tx, self.uplo) @ v), _values(w))


def _eigenvectors(x: Tensor, uplo: UpLo) -> Tensor:
    """The eigenvectors of ``x``: recorded (a function of ``x``) if it is a Variable."""
    if isinstance(x, Variable):
        return Eigh(uplo)(x)[1]
    vectors: Array = np.linalg.eigh(x, UPLO=uplo)[1]
    return vectors


def _check_square(op: str, shape: tuple[int, ...]) -> None:
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{op} needs square matrices in the last two axes, got shape {shape}")


def _check_uplo(uplo: str) -> UpLo:
    if uplo not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {uplo!r}")
    return "L" if uplo == "L" else "U"


def eigh(a: Operand, UPLO: str = "L") -> EighResult:
    """The eigenvalues (ascending) and eigenvectors of symmetric matrices, as NumPy's: only
    the ``UPLO`` triangle of ``a`` is read. The eigenvectors' gradient needs distinct
    eigenvalues (a ``ValueError`` names a repeated one)."""
    w, v = Eigh(_check_uplo(UPLO))(a)
    return EighResult(w, v)


def eigvalsh(a: Operand, UPLO: str = "L") -> Variable:
    """The eigenvalues (ascending) of symmetric matrices, as NumPy's: only the ``UPLO``
    triangle of ``a`` is read."""
    return Eigvalsh(_check_uplo(UPLO))(a)


# svd


class SVDResult(NamedTuple):
    """What :func:`svd` returns, as NumPy's ``SVDResult``."""

    U: Variable
    S: Variable
    Vh: Variable


class Svd(Function):
    """``np.linalg.svd(x, full_matrices=False)``: ``x = U diag(S) Vh`` with ``k = min(m, n)``
    singular values, descending. The vectors' gradient needs distinct, nonzero singular values
    (a ``ValueError`` names the degeneracy)."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> tuple[Array, Array, Array]:
        _check_matrices("svd", x.shape)
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        return u, s, vh

    def vjp(
        self, gu: Tensor, gs: Tensor, gvh: Tensor, x: Tensor, u: Tensor, s: Tensor, vh: Tensor
    ) -> Tensor:
        v, gv = _swap_last(vh), _swap_last(gvh)
        values = _values(s)
        inner = _row(_singular_shares(gs, values)) * np.eye(values.shape[-1], dtype=values.dtype)
        if not (np.any(_values(gu)) or np.any(_values(gv))):
            return u @ inner @ vh
        _refuse_degenerate("svd", values, True, "singular vectors")
        f = _gaps(s, True)
        ut_gu, vt_gv = _swap_last(u) @ gu, _swap_last(v) @ gv
        j, k = f * (ut_gu - _swap_last(ut_gu)), f * (vt_gv - _swap_last(vt_gv))
        inner = inner + j * _row(s) + _column(s) * k
        gx = u @ inner @ vh
        m, n = x.shape[-2:]
        if m > values.shape[-1]:
            gx = gx + ((gu - u @ ut_gu) / _row(s)) @ vh
        if n > values.shape[-1]:
            gx = gx + u @ _swap_last((gv - v @ vt_gv) / _row(s))
        return gx

    def jvp(
        self, tx: Tensor, x: Tensor, u: Tensor, s: Tensor, vh: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        _refuse_degenerate("svd", _values(s), True, "singular vectors")
        v = _swap_last(vh)
        p = _swap_last(u) @ tx @ v
        f = _gaps(s, True)
        ps, sp = p * _row(s), _column(s) * p
        du = u @ (f * (ps + _swap_last(ps)))
        dv = v @ (f * (sp + _swap_last(sp)))
        m, n = x.shape[-2:]
        k = _values(s).shape[-1]
        if m > k:
            du = du + (tx @ v - u @ p) / _row(s)
        if n > k:
            dv = dv + (_swap_last(tx) @ u - v @ _swap_last(p)) / _row(s)
        return du, _diagonal(p), _swap_last(dv)


class Svdvals(Function):
    """``np.linalg.svdvals(x)`` (``svd(x, compute_uv=False)``): the singular values alone,
    descending. At a repeated singular value each tied one gets the mean of their gradients;
    a zero singular value (a cone, as ``abs`` at 0) gets none."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> Array:
        _check_matrices("svdvals", x.shape)
        s: Array = np.linalg.svd(x, compute_uv=False)
        return s

    def vjp(self, gs: Tensor, x: Tensor, s: Tensor) -> Tensor:
        u, vh = _singular_vectors(x)
        values = _values(s)
        inner = _row(_singular_shares(gs, values)) * np.eye(values.shape[-1], dtype=values.dtype)
        return u @ inner @ vh

    def jvp(self, tx: Tensor, x: Tensor, s: Tensor) -> Tensor:
        u, vh = _singular_vectors(x)
        return _singular_shares(_diagonal(_swap_last(u) @ tx @ _swap_last(vh)), _values(s))


def _singular_shares(g: Tensor, s: Array) -> Tensor:
    """``g``, one entry per singular value, averaged over ties and 0 at zero ones."""
    zeros = spectrum_zeros(s)
    g = _averaged(g, s)
    return g * (~zeros).astype(_values(g).dtype) if np.any(zeros) else g


def _singular_vectors(x: Tensor) -> tuple[Tensor, Tensor]:
    """``U`` and ``Vh`` of ``x``: recorded (functions of ``x``) if it is a Variable."""
    if isinstance(x, Variable):
        u, _, vh = Svd()(x)
        return u, vh
    u_array, _, vh_array = np.linalg.svd(x, full_matrices=False)
    return u_array, vh_array


def _check_matrices(op: str, shape: tuple[int, ...]) -> None:
    if len(shape) < 2:
        raise ValueError(f"{op} needs matrices in the last two axes, got shape {shape}")


def svd(
    a: Operand, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> SVDResult | Variable:
    """The singular value decomposition, as NumPy's: ``U, S, Vh`` (reduced: only
    ``full_matrices=False``, or a square ``a``, whose full and reduced ones agree), or the
    singular values alone with ``compute_uv=False``. ``hermitian=True`` is refused."""
    shape = operand_shape(a)
    if hermitian:
        raise ValueError(
            "svd(hermitian=True) is not supported: its vectors follow eigh's signs; use "
            "hermitian=False (the same singular values) or eigh"
        )
    if not compute_uv:
        return Svdvals()(a)
    if full_matrices and len(shape) >= 2 and shape[-1] != shape[-2]:
        raise ValueError(
            f"svd(full_matrices=True) of non-square matrices (shape {shape}) is not supported: "
            "the columns beyond min(m, n) are any basis of a null space, with no derivative; "
            "pass full_matrices=False"
        )
    u, s, vh = Svd()(a)
    return SVDResult(u, s, vh)


def svdvals(x: Operand) -> Variable:
    """The singular values, descending, as NumPy's ``linalg.svdvals``."""
    return Svdvals()(x)


# qr


class QRResult(NamedTuple):
    """What :func:`qr` returns, as NumPy's ``QRResult``."""

    Q: Variable
    R: Variable


def _upper(n: int, dtype: np.dtype[Any]) -> Array:
    mask: Array = np.triu(np.ones((n, n), dtype=dtype))
    return mask


def _refuse_rank_deficient(r: Array) -> None:
    """Raise a LinAlgError naming the rank deficiency if an element of the diagonal of an
    ``R`` is 0 to within :data:`SPECTRUM_ULPS` of its largest element: ``qr`` has no
    derivative there."""
    n = r.shape[-1]
    diagonal = np.abs(np.diagonal(r, axis1=-2, axis2=-1))
    largest = np.max(np.abs(r), axis=(-2, -1), initial=0.0)
    tolerance = SPECTRUM_ULPS * n * np.finfo(r.dtype).eps * largest
    if np.any(diagonal <= tolerance[..., None]):
        raise np.linalg.LinAlgError(
            f"qr: the derivative does not exist at a rank-deficient matrix (R is singular: "
            f"its diagonal {np.array2string(diagonal, precision=3)} has a 0): Q's columns "
            "beyond the rank are any basis of the rest of the space"
        )


class Qr(Function):
    """``np.linalg.qr(x)`` (``mode='reduced'``) of matrices with ``m >= n``: ``x = Q R``, ``Q``
    with orthonormal columns, ``R`` upper triangular, as LAPACK's Householder QR gives them
    (the sign of ``R[k, k]`` is the opposite of the pivot it reflects). The derivative is that
    of those signs held fixed; at a rank-deficient matrix it is refused (``LinAlgError``)."""

    __slots__ = ()
    batched_jvp = True

    def forward(self, x: Array) -> tuple[Array, Array]:
        _check_tall("qr", x.shape)
        q, r = np.linalg.qr(x)
        return q, r

    def vjp(self, gq: Tensor, gr: Tensor, x: Tensor, q: Tensor, r: Tensor) -> Tensor:
        # NOTE: gx = (gQ + Q copyltu(M)) R⁻ᵀ, M = R gRᵀ - gQᵀ Q, copyltu(M) the symmetric
        # matrix of M's lower triangle; R's lower triangle is 0, and its gradient ignored
        _refuse_rank_deficient(_values(r))
        n = r.shape[-1]
        dtype = _values(r).dtype
        upper = _upper(n, dtype)
        # NOTE: an output that got no gradient takes no part (its zeros cost two products)
        with_r = not _no_gradient(gr)
        with_q = not with_r or not _no_gradient(gq)
        m = r @ _swap_last(gr * upper) if with_r else None
        if with_q:
            m = -(_swap_last(gq) @ q) if m is None else m - _swap_last(gq) @ q
        assert m is not None
        lower = _swap_last(upper)
        b = q @ (m * lower + _swap_last(m * (lower - np.eye(n, dtype=dtype))))
        return (gq + b if with_q else b) @ _swap_last(_inverse(r))

    def jvp(self, tx: Tensor, x: Tensor, q: Tensor, r: Tensor) -> tuple[Tensor, Tensor]:
        # NOTE: C = Qᵀ dX R⁻¹ splits into dR R⁻¹ (upper triangular) plus Qᵀ dQ's skew part Ω
        _refuse_rank_deficient(_values(r))
        n = r.shape[-1]
        strict = np.tril(np.ones((n, n), dtype=_values(r).dtype), -1)
        inverse = _inverse(r)
        scaled = tx @ inverse
        c = _swap_last(q) @ scaled
        below = c * strict
        skew = below - _swap_last(below)
        tq = q @ skew
        if x.shape[-2] > x.shape[-1]:
            # NOTE: the part of dX R⁻¹ outside Q's columns (none of a square matrix's)
            tq = tq + (scaled - q @ c)
        return tq, (c - skew) @ r

    def jvp_terms(self, tx: Array, x: Array, q: Array, r: Array) -> tuple[Array, Array]:
        """The magnitude of the tangents' terms: the rule run on magnitudes (``|dX| |R⁻¹|``
        and on), whose products with ``|R|`` hold ``R``'s condition number, by which the
        rounding of ``R⁻¹`` and of the parts that cancel grows."""
        scaled = tx @ np.abs(np.linalg.inv(r))
        c = np.swapaxes(np.abs(q), -1, -2) @ scaled
        both = c + np.swapaxes(c, -1, -2)
        return np.abs(q) @ both + scaled, both @ np.abs(r)

    def vjp_terms(self, mq: Array, mr: Array, x: Array, q: Array, r: Array) -> Array:
        """The magnitude of the gradient's terms, the rule run on magnitudes (see
        :meth:`jvp_terms`)."""
        aq = np.abs(q)
        m = np.abs(r) @ np.swapaxes(mr, -1, -2) + np.swapaxes(mq, -1, -2) @ aq
        b = mq + aq @ (m + np.swapaxes(m, -1, -2))
        terms: Array = b @ np.abs(np.swapaxes(np.linalg.inv(r), -1, -2))
        return terms


def _check_tall(op: str, shape: tuple[int, ...]) -> None:
    if len(shape) < 2:
        raise ValueError(f"{op} needs matrices in the last two axes, got shape {shape}")
    if shape[-2] < shape[-1]:
        raise ValueError(
            f"{op} of wide matrices (shape {shape}: {shape[-2]} rows < {shape[-1]} columns) is "
            "not supported: Q then depends on the first m columns alone; take qr of those "
            "(a[..., :m]), and the rest of R as Q.T @ a[..., m:]"
        )


QR_MODES = ("reduced", "complete", "r", "raw")


@overload
def qr(a: Operand, mode: Literal["reduced", "complete"] = "reduced") -> QRResult: ...
@overload
def qr(a: Operand, mode: Literal["r"]) -> Variable: ...
@overload
def qr(a: Operand, mode: str) -> QRResult | Variable: ...
def qr(a: Operand, mode: str = "reduced") -> QRResult | Variable:
    """The QR decomposition of matrices with ``m >= n``, as NumPy's: ``QRResult(Q, R)``
    (``mode='reduced'``, or ``'complete'`` of square matrices, the same), or ``R`` alone
    (``mode='r'``); ``'raw'`` (LAPACK's reflectors) is refused. Its derivative needs full
    column rank (a ``LinAlgError`` names a rank-deficient matrix)."""
    if mode not in QR_MODES:
        raise ValueError(f"qr's mode must be one of {QR_MODES}, got {mode!r}")
    shape = operand_shape(a)
    if mode == "raw":
        raise ValueError(
            "qr(mode='raw') is not supported: its Householder reflectors and scalars are "
            "LAPACK's storage, not a function to differentiate; use mode='reduced'"
        )
    if mode == "complete" and len(shape) >= 2 and shape[-2] != shape[-1]:
        raise ValueError(
            f"qr(mode='complete') of non-square matrices (shape {shape}) is not supported: Q's "
            "columns beyond n are any basis of the rest of the space, with no derivative; use "
            "mode='reduced'"
        )
    q, r = Qr()(a)
    return r if mode == "r" else QRResult(q, r)


# pinv


class _Unset:
    """The default of ``pinv``'s ``rtol``: not given (NumPy's ``_NoValue``)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET = _Unset()


def _pinv_vjp(g: Tensor, a: Tensor, p: Tensor, minus: Callable[[Any, Any], Any]) -> Tensor:
    """The Golub-Pereyra gradient ``(I - A P) Gᵀ P Pᵀ + Pᵀ P Gᵀ (I - P A) - Pᵀ G Pᵀ`` of ``P =
    pinv(A)``; with ``minus`` an addition, on magnitudes, the magnitude of its terms."""
    pt, gt = _swap_last(p), _swap_last(g)
    kept = minus(gt, a @ (p @ gt)) @ (p @ pt) + (pt @ p) @ minus(gt, (gt @ p) @ a)
    return cast("Tensor", minus(kept, pt @ g @ pt))


def _pinv_jvp(t: Tensor, a: Tensor, p: Tensor, minus: Callable[[Any, Any], Any]) -> Tensor:
    """The Golub-Pereyra tangent ``P Pᵀ dAᵀ (I - A P) + (I - P A) dAᵀ Pᵀ P - P dA P``, as
    :func:`_pinv_vjp` (a batch of tangents too: the products broadcast)."""
    pt, tt = _swap_last(p), _swap_last(t)
    kept = (p @ pt) @ minus(tt, (tt @ a) @ p) + minus(tt, p @ (a @ tt)) @ (pt @ p)
    return cast("Tensor", minus(kept, p @ t @ p))


class Pinv(Function):
    """``np.linalg.pinv(x, rcond, hermitian, rtol=)``: the Moore-Penrose pseudo-inverse, with
    NumPy's cutoff of small singular values (``hermitian=True``: of the symmetric matrices
    whose lower triangle ``x`` holds, as NumPy's ``eigh`` reads them). Its derivative (Golub
    and Pereyra) exists where the rank is constant; at a rank-deficient matrix it is the
    derivative along the perturbations that keep the rank."""

    __slots__ = ("cutoff", "hermitian")
    batched_jvp = True

    def __init__(self, cutoff: dict[str, Any], hermitian: bool = False) -> None:
        self.cutoff = cutoff
        self.hermitian = hermitian

    def forward(self, x: Array) -> Array:
        _check_matrices("pinv", x.shape)
        if self.hermitian:
            _check_square("pinv(hermitian=True)", x.shape)
        y: Array = np.asarray(np.linalg.pinv(x, hermitian=self.hermitian, **self.cutoff))
        return y

    def _read(self, t: Tensor) -> Tensor:
        return _read(t, "L") if self.hermitian else t

    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        self._refuse_truncation(x)
        g = _pinv_vjp(gy, self._read(x), y, operator.sub)
        return _read_adjoint(g, "L") if self.hermitian else g

    def jvp(self, tx: Tensor, x: Tensor, y: Tensor) -> Tensor:
        self._refuse_truncation(x)
        return _pinv_jvp(self._read(tx), self._read(x), y, operator.sub)

    def _refuse_truncation(self, x: Tensor) -> None:
        """A ``LinAlgError`` where the cutoff drops a singular value that is not 0 up to
        rounding (``max(m, n) eps`` times the largest): there the pseudo-inverse is of a
        truncated matrix, whose derivative Golub and Pereyra's formula does not give."""
        a = _values(self._read(x))
        if a.size == 0:
            return
        if self.hermitian:
            s = np.sort(np.abs(np.linalg.eigvalsh(a, UPLO="L")), axis=-1)[..., ::-1]
        else:
            s = np.linalg.svd(a, compute_uv=False)
        largest = s[..., :1]
        kept = s > _relative_cutoff(self.cutoff, a) * largest
        rounding = max(a.shape[-2:]) * np.finfo(a.dtype).eps * largest
        dropped = np.where(kept, 0.0, s)
        if np.any(dropped > rounding):
            raise np.linalg.LinAlgError(
                f"pinv's derivative where its cutoff drops a singular value that is not 0 "
                f"({float(dropped.max()):.3g}, largest {float(largest.max()):.3g}): the "
                "pseudo-inverse of the truncated matrix has another derivative, not built "
                "here; give a cutoff below the singular values to keep (rcond=, rtol=)"
            )

    def vjp_terms(self, m: Array, x: Array, y: Array) -> Array:
        """The magnitude of the gradient's terms, the rule run on magnitudes, with every
        element of ``P`` at its matrix's largest (an SVD's rounding is normwise: it reaches
        the small elements, whose own terms are small): ``|A| |P|`` holds the condition
        number, by which the rounding of ``P`` and of ``I - A P`` (which cancels) grows."""
        a = np.abs(self._read(x))
        g = _pinv_vjp(m, a, _largest(y), operator.add)
        return _read_adjoint(g, "L") if self.hermitian else g

    def jvp_terms(self, tx: Array, x: Array, y: Array) -> Array:
        """The magnitude of the tangent's terms (see :meth:`vjp_terms`)."""
        return _pinv_jvp(self._read(tx), np.abs(self._read(x)), _largest(y), operator.add)


def _relative_cutoff(cutoff: dict[str, Any], a: Array) -> Any:
    """NumPy 2's relative cutoff of ``pinv`` from its ``rcond`` or ``rtol``: ``1e-15`` by
    default, ``max(m, n) eps`` for ``rtol=None``."""
    relative = cutoff.get("rcond", cutoff.get("rtol"))
    if relative is None:
        relative = max(a.shape[-2:]) * np.finfo(a.dtype).eps if "rtol" in cutoff else 1e-15
    return np.asarray(relative)[..., None]


def _largest(p: Array) -> Array:
    """Every element of each matrix of ``p`` replaced by the largest magnitude of its matrix."""
    largest = np.max(np.abs(p), axis=(-2, -1), keepdims=True, initial=0.0)
    return np.broadcast_to(largest, p.shape)


def pinv(a: Operand, rcond: Any = None, hermitian: bool = False, *, rtol: Any = UNSET) -> Variable:
    """The pseudo-inverse of each matrix of ``a``, as NumPy 2's ``np.linalg.pinv``: singular
    values at most ``rcond`` (or ``rtol``, NumPy 2's name; ``rtol=None``: ``max(m, n) eps``)
    times the largest are dropped (default ``1e-15``); ``hermitian=True`` reads the lower
    triangle of symmetric matrices. The cutoffs are constants, never differentiated."""
    for name, value in (("rcond", rcond), ("rtol", rtol)):
        if isinstance(value, Variable):
            raise TypeError(
                f"pinv's {name} is a constant cutoff, not a Variable: pass {name}=v.data"
            )
    if rcond is not None and rtol is not UNSET:
        raise ValueError("pinv takes rcond or rtol (NumPy 2's name for it), not both")
    cutoff = {"rcond": rcond} if rtol is UNSET else {"rtol": rtol}
    return Pinv(cutoff, bool(hermitian))(a)


# The gauge-invariant probes the verification checks the vectors through.


def _weights(n: int, dtype: np.dtype[Any]) -> Array:
    """Distinct weights, one per vector: a probe ``V diag(c) Vᵀ`` then sees every rotation
    of the vectors among themselves, and no change of their signs."""
    return np.linspace(1.0, 2.0, n, dtype=dtype) if n > 1 else np.ones(1, dtype=dtype)


def _weighted_outer(a: Variable, b: Variable) -> Variable:
    """``sum_k c_k a_k b_kᵀ`` over the columns ``a_k``, ``b_k``: blind to the sign of a pair."""
    return (a * _weights(a.shape[-1], a.dtype)) @ _swap_last(b)


def _flat(x: Variable) -> Variable:
    return x.reshape((*x.shape[: -2 if x.ndim >= 2 else -1], -1))


def _rms(w: Variable) -> Variable:
    """The root mean square of each spectrum ``w``: the scale of its matrix."""
    return sqrt(mean(w * w, axis=-1, keepdims=True))


def eigh_probe(result: tuple[Variable, Variable]) -> Variable:
    """What the verification checks of ``eigh``: the eigenvalues, then ``V diag(c) Vᵀ``
    flattened (``c`` distinct fixed weights), which does not depend on the vectors' signs,
    times the eigenvalues' root mean square: so that both parts scale with the matrix, and the
    rounding of one is not judged on the terms of the other (the vectors' gradient grows as
    ``1 / gap``). A 1x1 matrix's vector is +-1, its probe 1."""
    w, v = result
    outer = _flat(_weighted_outer(v, v))
    return concatenate([w, outer * _rms(w) if w.shape[-1] > 1 else outer], axis=-1)


def _eigh_probe_reference(x: Any, UPLO: UpLo) -> Any:
    w, v = np.linalg.eigh(x, UPLO=UPLO)
    outer = (v * _weights(v.shape[-1], v.dtype)) @ np.swapaxes(v, -1, -2)
    outer = outer.reshape((*outer.shape[:-2], -1))
    if w.shape[-1] > 1:
        outer = outer * np.sqrt(np.mean(w * w, axis=-1, keepdims=True))
    return np.concatenate([w, outer], axis=-1)


def svd_probe(result: tuple[Variable, Variable, Variable]) -> Variable:
    """What the verification checks of ``svd``: the singular values, then ``U diag(c) Vh``,
    ``U diag(c) Uᵀ`` and ``Vhᵀ diag(c) Vh`` flattened, blind to the signs of the pairs of
    vectors, times the singular values' root mean square (see :func:`eigh_probe`)."""
    u, s, vh = result
    v = _swap_last(vh)
    scale = _rms(s)
    parts = [_flat(_weighted_outer(a, b)) * scale for a, b in ((u, v), (u, u), (v, v))]
    return concatenate([s, *parts], axis=-1)


def _svd_probe_reference(a: Any, full_matrices: bool) -> Any:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    v = np.swapaxes(vh, -1, -2)
    scale = np.sqrt(np.mean(s * s, axis=-1, keepdims=True))
    parts = []
    for left, right in ((u, v), (u, u), (v, v)):
        outer = (left * _weights(s.shape[-1], s.dtype)) @ np.swapaxes(right, -1, -2)
        parts.append(outer.reshape((*outer.shape[:-2], -1)) * scale)
    return np.concatenate([s, *parts], axis=-1)


def _qr_signs(r: Any) -> Any:
    """``sign(diag(R))`` of each ``R`` (1 where 0), as a constant ``(..., 1, n)`` row."""
    diagonal = np.diagonal(np.asarray(r), axis1=-2, axis2=-1)
    return np.where(diagonal < 0, -1.0, 1.0).astype(diagonal.dtype)[..., None, :]


def qr_probe(result: QRResult | Variable) -> Variable:
    """What the verification checks of ``qr``: ``R`` and then ``Q`` with their signs made
    those of the QR with a positive diagonal (``diag(d) R`` and ``Q diag(d)``, ``d =
    sign(diag(R))``, a constant), a smooth function at full rank where LAPACK's signs flip
    with a pivot's; ``Q`` times the root mean square of ``R``, so that both scale with the
    matrix (see :func:`eigh_probe`). ``R`` alone for ``mode='r'``."""
    r = result.R if isinstance(result, QRResult) else result
    d = _qr_signs(_values(r))
    normalized = _flat(r * _swap_last(d))
    if not isinstance(result, QRResult):
        return normalized
    scale = sqrt(mean(_flat(r * r), axis=-1, keepdims=True))
    return concatenate([normalized, _flat(result.Q * d) * scale], axis=-1)


def _qr_probe_reference(a: Any, mode: str) -> Any:
    q, r = np.linalg.qr(a)
    d = _qr_signs(r)
    normalized = (r * np.swapaxes(d, -1, -2)).reshape((*r.shape[:-2], -1))
    if mode == "r":
        return normalized
    scale = np.sqrt(np.mean(normalized * normalized, axis=-1, keepdims=True))
    return np.concatenate([normalized, (q * d).reshape((*q.shape[:-2], -1)) * scale], axis=-1)


# Specs: stacks of up to 6x6 matrices, their spectra kept apart (SpectralKink).


def _square_case(sampler: Sampler) -> Case:
    """A stack of square matrices up to 6x6, and which triangle is read."""
    n = sampler.integer(1, 6)
    batch = sampler.shape(max_dims=1)
    return Case(((*batch, n, n),), {"UPLO": sampler.choice(["L", "U"])})


def _eigenvalues(x: Float64Array, params: Params) -> Float64Array:
    return np.asarray(np.linalg.eigvalsh(x, UPLO=params["UPLO"]), dtype=np.float64)


def _with_eigenvalues(x: Float64Array, params: Params, w: Float64Array) -> Float64Array:
    """``x`` with the symmetric matrices it holds given the eigenvalues ``w`` (their
    eigenvectors kept), written into its ``UPLO`` triangle; the other triangle is kept."""
    uplo = params["UPLO"]
    v = np.linalg.eigh(x, UPLO=uplo)[1]
    rebuilt = (v * w[..., None, :]) @ np.swapaxes(v, -1, -2)
    triangle, _ = _masks(x.shape[-1], uplo, x.dtype)
    result: Float64Array = np.where(triangle.astype(bool), rebuilt, x)
    return result


def _eigvalsh_at_ties(x: Array, params: Params, gy: Float64Array) -> Float64Array:
    """The declared gradient at repeated eigenvalues: ``V diag(mean of the tied gradients)
    Vᵀ`` (the projector of each repeated eigenvalue's space, times that mean), read back onto
    the triangle: from NumPy's eigenvectors in float64, never from the op's rule."""
    w, v = np.linalg.eigh(x.astype(np.float64), UPLO=params["UPLO"])
    shares = spectrum_clusters(w, x.dtype)
    mean = gy if shares is None else np.sum(gy[..., None, :] * shares, axis=-1)
    g = (v * mean[..., None, :]) @ np.swapaxes(v, -1, -2)
    triangle, strict = _masks(x.shape[-1], params["UPLO"], w.dtype)
    result: Float64Array = g * triangle + np.swapaxes(g, -1, -2) * strict
    return result


def _eigen_kink(gradient: Any) -> SpectralKink:
    return SpectralKink(
        "two equal eigenvalues of the matrix read",
        "each tied eigenvalue gets the mean of their gradients (the gradient of their sum, "
        "split evenly); the eigenvectors' gradient is refused (ValueError)",
        spectrum=_eigenvalues,
        rebuilt=_with_eigenvalues,
        zero=False,
        gradient=gradient,
    )


def _matrix_case(sampler: Sampler) -> Case:
    """A stack of matrices up to 6x6, of any shape."""
    m, n = sampler.integer(1, 6), sampler.integer(1, 6)
    return Case(((*sampler.shape(max_dims=1), m, n),), {"full_matrices": False})


def _singular_values(x: Float64Array, params: Params) -> Float64Array:
    return np.asarray(np.linalg.svd(x, compute_uv=False)[..., ::-1], dtype=np.float64)


def _with_singular_values(x: Float64Array, params: Params, s: Float64Array) -> Float64Array:
    """``x`` with the singular values ``s`` (ascending) and its singular vectors."""
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    rebuilt: Float64Array = (u * s[..., None, ::-1]) @ vh
    return rebuilt


def _svdvals_at_degeneracies(x: Array, params: Params, gy: Float64Array) -> Float64Array:
    """The declared gradient of the singular values at repeated or zero ones: ``U diag(g) Vh``
    with ``g`` averaged over each run of tied values and 0 at zero values, from NumPy's
    vectors in float64 (a tied run's ``U_r V_rᵀ`` is the same for any of its bases)."""
    u, s, vh = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    shares = spectrum_clusters(s, x.dtype)
    g = gy if shares is None else np.sum(gy[..., None, :] * shares, axis=-1)
    g = np.where(spectrum_zeros(s, x.dtype), 0.0, g)
    result: Float64Array = (u * g[..., None, :]) @ vh
    return result


def _singular_kink(gradient: Any) -> SpectralKink:
    return SpectralKink(
        "two equal singular values, or a zero one",
        "each tied singular value gets the mean of their gradients, a zero one none (as abs "
        "at 0); the singular vectors' gradient is refused (ValueError)",
        spectrum=_singular_values,
        rebuilt=_with_singular_values,
        zero=True,
        gradient=gradient,
    )


SPECS = [
    OpSpec(
        "eigh",
        Eigh,
        lambda a, UPLO: eigh_probe(eigh(a, UPLO)),
        _eigh_probe_reference,
        (ANY,),
        case=_square_case,
        numpy=(np.linalg.eigh,),
        numpy_function=eigh,
        numpy_result=lambda result, **params: eigh_probe(result),
        kink=_eigen_kink(None),
        cost=4,
        homogeneous=True,
    ),
    OpSpec(
        "eigvalsh",
        Eigvalsh,
        eigvalsh,
        lambda x, UPLO: np.linalg.eigvalsh(x, UPLO=UPLO),
        (ANY,),
        case=_square_case,
        numpy=(np.linalg.eigvalsh,),
        kink=_eigen_kink(_eigvalsh_at_ties),
        cost=2,
        homogeneous=True,
    ),
    OpSpec(
        "svd",
        Svd,
        lambda a, full_matrices: svd_probe(_reduced(svd(a, full_matrices))),
        _svd_probe_reference,
        (ANY,),
        case=_matrix_case,
        numpy=(np.linalg.svd,),
        numpy_function=svd,
        numpy_result=lambda result, **params: svd_probe(result),
        kink=_singular_kink(None),
        cost=4,
        homogeneous=True,
    ),
    OpSpec(
        "svdvals",
        Svdvals,
        svdvals,
        np.linalg.svdvals,
        (ANY,),
        case=lambda sampler: Case(_matrix_case(sampler).shapes),
        numpy=(np.linalg.svdvals,),
        kink=_singular_kink(_svdvals_at_degeneracies),
        cost=2,
        homogeneous=True,
    ),
]


def _tall_case(sampler: Sampler) -> Case:
    """A stack of matrices up to 6x6 with ``m >= n``, and a mode (``'complete'`` of square
    ones)."""
    n = sampler.integer(1, 6)
    m = sampler.integer(n, 6)
    modes = ["reduced", "r", "complete"] if m == n else ["reduced", "r"]
    return Case(((*sampler.shape(max_dims=1), m, n),), {"mode": sampler.choice(modes)})


SPECS += [
    OpSpec(
        "qr",
        Qr,
        lambda a, mode: qr_probe(qr(a, mode)),
        _qr_probe_reference,
        (ANY,),
        case=_tall_case,
        numpy=(np.linalg.qr,),
        numpy_function=qr,
        numpy_result=lambda result, **params: qr_probe(result),
        kink=SingularKink(
            "rank(a) < n (R has a zero on its diagonal)",
            "NumPy's Q and R; the derivative is refused: a LinAlgError (a ValueError) naming "
            "the rank-deficient matrix",
            max_condition=MAX_CONDITION,
            normwise=True,
        ),
        cost=4,
        homogeneous=True,
    ),
]


def _pinv_case(sampler: Sampler) -> Case:
    """A matrix or a stack, and NumPy's cutoff by default, as ``rtol=None`` (``max(m, n)
    eps``) or as ``rcond``/``rtol`` of ``1e-6``: all below the margin's smallest singular value
    (1% of the largest) and above the rounding of a zero one, in float32 too."""
    cutoffs: list[dict[str, Any]] = [{}, {"rtol": None}, {"rcond": 1e-6}, {"rtol": 1e-6}]
    return Case(_matrix_case(sampler).shapes, sampler.choice(cutoffs))


def _pinv_at_rank_deficiency(x: Array, params: Params, gy: Float64Array) -> Float64Array:
    """The declared gradient at a rank-deficient matrix: Golub and Pereyra's, from NumPy's
    pseudo-inverse (in ``x``'s dtype, as the op's), in float64."""
    p = np.linalg.pinv(x, **params).astype(np.float64)
    return np.asarray(_pinv_vjp(gy, x.astype(np.float64), p, operator.sub), dtype=np.float64)


SPECS += [
    OpSpec(
        "pinv",
        Pinv,
        pinv,
        np.linalg.pinv,
        (ANY,),
        case=_pinv_case,
        numpy=(np.linalg.pinv,),
        kink=SingularKink(
            "a singular value at the cutoff rcond * max(s): the rank changes (with the default "
            "cutoff, at rank(a) < min(m, n))",
            "Golub and Pereyra's formula at the rank the cutoff gives: the derivative along the "
            "perturbations that keep the rank (PyTorch's, JAX's)",
            max_condition=MAX_CONDITION,
            gradient=_pinv_at_rank_deficiency,
            normwise=True,
        ),
        cost=4,
    ),
]


def _reduced(result: SVDResult | Variable) -> SVDResult:
    assert isinstance(result, SVDResult)
    return result


__all__ = [
    "Eigh",
    "EighResult",
    "Eigvalsh",
    "Pinv",
    "QRResult",
    "Qr",
    "SVDResult",
    "Svd",
    "Svdvals",
    "eigh",
    "eigh_probe",
    "eigvalsh",
    "pinv",
    "qr",
    "qr_probe",
    "svd",
    "svd_probe",
    "svdvals",
]
