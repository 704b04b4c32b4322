"""How the checked accuracy of numpy.linalg's gradients degrades with the condition number κ
(issue 24's hard cases): the table of docs/linalg.md.

    python benchmarks/linalg_accuracy.py             # 20 draws per op and κ (~2 s CPU)
    python benchmarks/linalg_accuracy.py --quick     # 2 draws: checks that it runs

Each draw is a pair of random rotations ``u``, ``v`` (``v = u`` for ``cholesky``) and, for each
κ of 1e2 to 1e8, the 4 by 4 float64 matrix ``u diag(s) vᵀ`` of singular values ``s`` spaced
geometrically from 1 to 1/κ. Its gradient is checked against the complex step
(``check_gradients(method="complex")``; for ``cholesky``, through an unconjugated Cholesky
factorization, which the complex step differentiates). Per
op and κ, over the draws: the largest relative error of the gradient against the oracle
(``err``), and the resolution (the smallest relative error of an element's gradient the check
catches for certain) of the median element and of the worst one, each at its largest over the
draws; ``fails`` counts the draws the check rejected (a wrong rule, or a rounding allowance
too tight).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

import tinygrad_ref as tg
from tinygrad_ref.ops.linalg import cholesky, det, inv, slogdet, solve
from tinygrad_ref.verification.checks import check_gradients

F64 = npt.NDArray[np.float64]
KAPPAS = (1e2, 1e4, 1e6, 1e8)
N = 4


def unconjugated_cholesky(a: Any) -> Any:
    """The lower Cholesky factor of the symmetric matrix ``a``'s lower triangle mirrored,
    without conjugation: for a real ``a`` NumPy's, and holomorphic, so that the complex step
    differentiates it (NumPy's, of a complex matrix, conjugates)."""
    lower = np.zeros_like(a)
    for j in range(a.shape[-1]):
        lower[j, j] = np.sqrt(a[j, j] - np.sum(lower[j, :j] ** 2))
        for i in range(j + 1, a.shape[-1]):
            lower[i, j] = (a[i, j] - np.sum(lower[i, :j] * lower[j, :j])) / lower[j, j]
    return lower


OPS: dict[str, tuple[Callable[[tg.Variable], tg.Variable], Callable[[Any], Any]]] = {
    "det": (det, np.linalg.det),
    "slogdet": (lambda x: slogdet(x)[1], lambda x: np.log(np.linalg.det(x) + 0j)),
    "inv": (inv, np.linalg.inv),
    "solve": (lambda x: solve(x, np.ones(N)), lambda x: np.linalg.solve(x, np.ones(N))),
    "cholesky": (cholesky, unconjugated_cholesky),
}
"""Each op (of one matrix) and the reference the complex step differentiates."""


def matrices(name: str, rng: np.random.Generator) -> list[F64]:
    """One draw: a matrix of each κ, all of the same rotations."""
    u, _ = np.linalg.qr(rng.standard_normal((N, N)))
    v, _ = np.linalg.qr(rng.standard_normal((N, N)))
    if name == "cholesky":
        v = u  # NOTE: symmetric positive definite, of eigenvalues s
    return [(u * np.geomspace(1.0, 1.0 / kappa, N)) @ v.T for kappa in KAPPAS]


def measure(name: str, draws: int) -> list[tuple[float, float, float, float, int]]:
    """Per κ: κ, the largest error, the median element's and the worst element's resolution
    (each the largest over the draws), and how many draws the check rejected."""
    f, reference = OPS[name]
    rows = [[kappa, 0.0, 0.0, 0.0, 0] for kappa in KAPPAS]
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        for row, a in zip(rows, matrices(name, rng), strict=True):
            report = check_gradients(f, tg.Variable(a), method="complex", reference=reference)
            row[1] = max(row[1], report.max_rel_error)
            row[2] = max(row[2], float(np.nanmedian(report.resolutions[0])))
            row[3] = max(row[3], report.resolution)
            row[4] += report.failure is not None
    return [(kappa, err, median, worst, int(fails)) for kappa, err, median, worst, fails in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 draws")
    parser.add_argument("--draws", type=int, default=20, help="draws per op and κ")
    args = parser.parse_args(argv)
    draws = 2 if args.quick else args.draws
    print(f"{draws} draws per op and κ")
    print("| op | κ | err | res (median element) | res (worst element) | fails |")
    print("|---|---|---|---|---|---|")
    for name in OPS:
        for kappa, err, median, worst, fails in measure(name, draws):
            power = f"1e{round(np.log10(kappa))}"
            print(f"| {name} | {power} | {err:.1e} | {median:.1e} | {worst:.1e} | {fails} |")


if __name__ == "__main__":
    main()
