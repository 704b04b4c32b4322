"""How long checking a hand-written rule takes on a realistic size, in full and on a random
sample of elements, and how well the sample's estimate of the full time holds: the softmax
cross entropy of 64x256 float64 logits with its NumPy vjp rule, through ``check_vjp``.

    OPENBLAS_NUM_THREADS=1 python benchmarks/sampled.py           # the full check too (~30 s CPU)
    python benchmarks/sampled.py --quick                          # 8x32: checks that it runs

Times are the report's own: ``seconds``, CPU seconds of this process, and ``full_seconds``,
its estimate of the full check's, beside the wall clock.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt

from tinygrad_ref import check_vjp

F64 = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]


def softmax_xent(logits: F64, labels: Labels) -> F64:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss: F64 = -logp[np.arange(len(labels)), labels].mean()
    return loss


def softmax_xent_vjp(g: F64, logits: F64, labels: Labels) -> F64:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    grad: F64 = g * p / len(labels)
    return grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8x32 logits")
    quick = parser.parse_args().quick
    rows, classes = (8, 32) if quick else (64, 256)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(rows, classes))
    labels = rng.integers(0, classes, size=rows)
    print(f"softmax cross entropy, {rows}x{classes} float64 logits, check_vjp")
    print(
        f"{'sample':>8} {'checked':>8} {'cpu s':>8} {'full est s':>11} {'wall s':>8} "
        f"{'worst res':>10} passed"
    )
    for sample in (64, 256, 1024, None):
        start = time.perf_counter()
        report = check_vjp(
            softmax_xent, softmax_xent_vjp, logits, constants={"labels": labels}, sample=sample
        )
        wall = time.perf_counter() - start
        print(
            f"{sample or 'all':>8} {report.checked:>8} {report.seconds:>8.2f} "
            f"{report.full_seconds:>11.1f} {wall:>8.2f} {report.resolution:>10.2g} "
            f"{report.failure is None}",
            flush=True,
        )


if __name__ == "__main__":
    main()
