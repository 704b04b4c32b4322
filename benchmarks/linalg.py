"""einsum and numpy.linalg's forward and backward passes against the same work by hand in NumPy
(issue 24's budgets: within 1.2x), on 256x256 operands (a batch of 8 for 'bij,bjk->bik').

    OPENBLAS_NUM_THREADS=1 python benchmarks/linalg.py           # the full run (~1 min CPU)
    python benchmarks/linalg.py --quick                          # 16x16: checks that it runs

Each workload is the forward pass and the gradient of ``sum(y * w)`` by every operand (``w``
given as the output's gradient), ours (tinygrad_ref's plain reverse pass) and by hand
(NumPy's ``einsum(..., optimize=True)`` forward and the transposed contractions back; the
textbook formulas for the matrix functions), timed alternately, CPU time
(``time.process_time``), medians of the runs, ratios of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

import tinygrad_ref as tg
from tinygrad_ref.ops.linalg import cholesky, inv, slogdet, solve

F64 = npt.NDArray[np.float64]
Work = Callable[[], object]


def ours(f: Callable[..., tg.Variable], *arrays: F64, w: F64) -> Work:
    def run() -> object:
        xs = [tg.Variable(a) for a in arrays]
        y = f(*xs)
        y.grad = tg.Variable(np.asarray(w))  # NOTE: the output's gradient given, as by hand
        y.backward()
        return [x.grad for x in xs]

    return run


def einsum_by_hand(subscripts: str, a: F64, b: F64 | None, w: F64) -> Work:
    """NumPy's forward, then each operand's gradient as one more contraction."""
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")

    def run() -> object:
        if b is None:
            np.einsum(subscripts, a, optimize=True)
            (term,) = terms
            if term == "ii":
                return w * np.eye(len(a))
            return np.einsum(f"{output}->{term}", w, optimize=True)
        np.einsum(subscripts, a, b, optimize=True)
        ga = np.einsum(f"{output},{terms[1]}->{terms[0]}", w, b, optimize=True)
        gb = np.einsum(f"{output},{terms[0]}->{terms[1]}", w, a, optimize=True)
        return ga, gb

    return run


def solve_by_hand(a: F64, b: F64, w: F64) -> Work:
    def run() -> object:
        x = np.linalg.solve(a, b)
        gb = np.linalg.solve(a.T, w)
        return -gb @ x.T, gb

    return run


def inv_by_hand(a: F64, w: F64) -> Work:
    def run() -> object:
        y = np.linalg.inv(a)
        return -(y.T @ w @ y.T)

    return run


def slogdet_by_hand(a: F64, w: F64) -> Work:
    def run() -> object:
        np.linalg.slogdet(a)
        return w * np.linalg.inv(a).T

    return run


def cholesky_by_hand(a: F64, w: F64) -> Work:
    n = len(a)
    half = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)

    def run() -> object:
        lower = np.linalg.cholesky(a)
        inverse = np.linalg.inv(lower)
        p = inverse.T @ ((lower.T @ w) * half) @ inverse
        return (p + p.T) * half

    return run


def median_cpu(works: list[Work], repeats: int) -> list[float]:
    """The median CPU time of each work, run alternately ``repeats`` times."""
    times: list[list[float]] = [[] for _ in works]
    for work in works:
        work()  # NOTE: warm-up
    for _ in range(repeats):
        for k, work in enumerate(works):
            start = time.process_time()
            work()
            times[k].append(time.process_time() - start)
    return [statistics.median(t) for t in times]


def main(argv: list[str] | None = None) -> list[tuple[str, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16x16 operands, few runs")
    args = parser.parse_args(argv)
    n, repeats = (16, 3) if args.quick else (256, 21)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    a8, b8 = rng.standard_normal((8, n, n)), rng.standard_normal((8, n, n))
    spd = a @ a.T + n * np.eye(n)
    regular = a + 2 * np.sqrt(n) * np.eye(n)
    w2, w3, w0 = rng.standard_normal((n, n)), rng.standard_normal((8, n, n)), np.float64(0.5)
    rows: list[tuple[str, Work, Work]] = [
        (
            "einsum 'ij,jk->ik'",
            ours(lambda x, y: tg.einsum("ij,jk->ik", x, y, optimize=True), a, b, w=w2),
            einsum_by_hand("ij,jk->ik", a, b, w2),
        ),
        (
            "einsum 'bij,bjk->bik' (batch 8)",
            ours(lambda x, y: tg.einsum("bij,bjk->bik", x, y, optimize=True), a8, b8, w=w3),
            einsum_by_hand("bij,bjk->bik", a8, b8, w3),
        ),
        (
            "einsum 'ij,ij->'",
            ours(lambda x, y: tg.einsum("ij,ij->", x, y, optimize=True), a, b, w=w0),
            einsum_by_hand("ij,ij->", a, b, w0),
        ),
        (
            "einsum 'ii->'",
            ours(lambda x: tg.einsum("ii->", x, optimize=True), a, w=w0),
            einsum_by_hand("ii->", a, None, w0),
        ),
        ("solve", ours(solve, regular, b, w=w2), solve_by_hand(regular, b, w2)),
        ("inv", ours(inv, regular, w=w2), inv_by_hand(regular, w2)),
        ("cholesky", ours(cholesky, spd, w=w2), cholesky_by_hand(spd, w2)),
        (
            "slogdet",
            ours(lambda x: slogdet(x)[1], regular, w=w0),
            slogdet_by_hand(regular, w0),
        ),
    ]
    results = []
    print(f"{'workload':34} {'ours (ms)':>10} {'by hand':>10} {'ratio':>7}   ({n}x{n}, CPU)")
    for name, mine, theirs in rows:
        t_ours, t_hand = median_cpu([mine, theirs], repeats)
        results.append((name, t_ours, t_hand))
        print(f"{name:34} {1e3 * t_ours:10.3f} {1e3 * t_hand:10.3f} {t_ours / t_hand:7.2f}")
    return results


if __name__ == "__main__":
    main()
