"""A/B timing of two versions of tinygrad_ref, both loaded in this one process.

    git worktree add /tmp/ab-old <commit>          # the version to compare against
    python benchmarks/ab.py /tmp/ab-old .          # A = the old tree, B = this one
    python benchmarks/ab.py /tmp/ab-old . --repeat 31 --quick

Each tree is a checkout of the project (its ``src/tinygrad_ref`` is imported) or a directory
holding a ``tinygrad_ref`` package. Both versions are imported side by side: each keeps its own
modules, swapped out of ``sys.modules`` once loaded. Every workload runs A and B alternately,
in ABBA order so that a slow drift of the machine hits both alike, at least 15 times each, and
reports each version's median with its spread (the interquartile range and the extremes) and the
ratio B / A of the medians. A difference inside the spread counts as none.

Where a workload has a counterpart in ``torch.func`` (``hessian``, ``jacfwd``) and PyTorch is
installed (the ``bench`` extra), it runs alternately with A and B as a third version, T, on one
thread (run the script with ``OPENBLAS_NUM_THREADS=1`` so that NumPy uses one too), and the
ratio B / T is printed beside B / A: the ratios to the peer come from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

# NOTE: benchmarks/, this script's directory, is on sys.path
from run import chain_of_ops, layer_map, layer_problem, rosenbrock, sine_chain

Workload = Callable[[ModuleType], Callable[[], Any]]
"""Given a version of tinygrad_ref (or, for a peer, ``torch``), the run to time."""


def load(tree: Path) -> ModuleType:
    """The ``tinygrad_ref`` package of ``tree``, imported apart from any other version."""
    src = tree / "src" if (tree / "src" / "tinygrad_ref").is_dir() else tree
    if not (src / "tinygrad_ref" / "__init__.py").is_file():
        raise SystemExit(f"{tree} holds no tinygrad_ref package (looked in {src})")
    _forget_loaded()
    sys.path.insert(0, str(src))
    try:
        package = importlib.import_module("tinygrad_ref")
    finally:
        sys.path.remove(str(src))
        # NOTE: the modules stay alive through the package; forgetting them lets the other
        # version import its own under the same names.
        _forget_loaded()
    return package


def _forget_loaded() -> None:
    for name in [n for n in sys.modules if n == "tinygrad_ref" or n.startswith("tinygrad_ref.")]:
        del sys.modules[name]


def scalar_chain(size: int) -> Workload:
    """``4 * size`` ops on a 0-d float64 Variable, forward and backward."""

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def run() -> Any:
            x = tg.Variable(np.asarray(1.0))
            chain_of_ops(x, size).backward()
            return x.grad.data

        return run

    return workload


def scalar_forward(rounds: int) -> Workload:
    """``3 * rounds`` ops (``sin``, ``*``, ``+``) on a 0-d float64 Variable, forward only and
    recorded: the per-op cost of an op call outside forward mode."""

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def run() -> Any:
            return sine_chain(tg.Variable(np.asarray(1.0)), rounds, tg.sin).data

        return run

    return workload


def scalar_jvp(rounds: int) -> Workload:
    """``jvp`` of the same chain of ``3 * rounds`` ops on 0-d float64 arrays: the per-op cost
    of carrying a tangent."""

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def chain(x: Any) -> Any:
            return sine_chain(x, rounds, tg.sin)

        def run() -> Any:
            return tg.jvp(chain, (np.asarray(1.0),), (np.asarray(1.0),))[1]

        return run

    return workload


def _rosenbrock_point(n: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(n)
    return 1 + 0.1 * rng.standard_normal(n), rng.standard_normal(n)


def second_order(name: str, n: int) -> Workload:
    """``grad``, ``hvp`` or ``hessian`` (``name``) of the Rosenbrock function in ``n``
    dimensions: a reverse pass, forward over reverse, and a batched forward pass over reverse."""
    x0, v0 = _rosenbrock_point(n)

    def workload(tg: ModuleType) -> Callable[[], Any]:
        runs: dict[str, Callable[[], Any]] = {
            "grad": lambda: tg.grad(rosenbrock)(x0),
            "hvp": lambda: tg.hvp(rosenbrock, x0, v0),
            "hessian": lambda: tg.hessian(rosenbrock)(x0),
        }
        return runs[name]

    return workload


def torch_hessian(n: int) -> Workload:
    """``torch.func.hessian`` of the Rosenbrock function at the point of :func:`second_order`."""
    x0, _ = _rosenbrock_point(n)

    def workload(torch: ModuleType) -> Callable[[], Any]:
        hessian, x = torch.func.hessian(rosenbrock), torch.from_numpy(x0)
        return lambda: hessian(x).numpy()

    return workload


def forward_jacobian(n: int) -> Workload:
    """``jacobian(mode="fwd")`` of ``tanh(W @ x + b) * x`` from R^n to R^n."""
    x0, w, b = layer_problem(n)

    def workload(tg: ModuleType) -> Callable[[], Any]:
        jacobian = tg.jacobian(lambda x: layer_map(x, w, b, tg.tanh), mode="fwd")
        return lambda: jacobian(x0)

    return workload


def torch_jacfwd(n: int) -> Workload:
    """``torch.func.jacfwd`` of the function of :func:`forward_jacobian`."""
    x0, w, b = layer_problem(n)

    def workload(torch: ModuleType) -> Callable[[], Any]:
        tw, tb = torch.from_numpy(w), torch.from_numpy(b)
        jacobian = torch.func.jacfwd(lambda x: layer_map(x, tw, tb, torch.tanh))
        x = torch.from_numpy(x0)
        return lambda: jacobian(x).numpy()

    return workload


def large_jvp(size: int) -> Workload:
    """``jvp`` of ``(a*b + c)/(a + 1) - c**2`` on float64 arrays of ``size`` elements, a
    tangent per input."""
    rng = np.random.default_rng(0)
    points, tangents = (
        tuple(rng.random(size) for _ in range(3)),
        tuple(rng.random(size) for _ in range(3)),
    )

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def f(a: Any, b: Any, c: Any) -> Any:
            return (a * b + c) / (a + 1) - c**2

        return lambda: tg.jvp(f, points, tangents)[1]

    return workload


def large_arrays(size: int) -> Workload:
    """``(a*b + c)/(a + 1) - c**2`` on float64 Variables of ``size`` elements, forward and
    backward."""
    rng = np.random.default_rng(0)
    a0, b0, c0 = (rng.random(size) for _ in range(3))

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def run() -> Any:
            a, b, c = tg.Variable(a0), tg.Variable(b0), tg.Variable(c0)
            y = (a * b + c) / (a + 1) - c**2
            y.backward()
            return a.grad.data

        return run

    return workload


def array_constants(size: int) -> Workload:
    """``(x * c) / d + c`` for a float64 Variable ``x`` and ndarray constants ``c``, ``d`` of
    ``size`` elements, forward and backward: the constants a graph now copies."""
    rng = np.random.default_rng(1)
    x0, c, d = rng.random(size), rng.random(size), rng.random(size) + 1.0

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def run() -> Any:
            x = tg.Variable(x0)
            y = (x * c) / d + c
            y.backward()
            return x.grad.data

        return run

    return workload


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def layer(batch: int) -> Workload:
    """``tanh(x @ W + b)`` summed, for data ``x`` (``batch`` x 784, an ndarray constant) and
    Variables ``W`` (784 x 100) and ``b``, forward and backward: a constant's gradient that no
    one needs."""
    rng = np.random.default_rng(2)
    x, w0, b0 = rng.random((batch, 784)), rng.random((784, 100)) * 0.01, np.zeros(100)

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def run() -> Any:
            w, b = tg.Variable(w0), tg.Variable(b0)
            tg.tanh(x @ w + b).sum().backward()
            return w.grad.data

        return run

    return workload


def mlp(batch: int, read_only: bool = False) -> Workload:
    """One training step of a 784-100-10 MLP (``linear``, ``relu``, ``linear``,
    ``softmax_cross_entropy``) on data ``x`` (``batch`` x 784, an ndarray constant, read-only
    if ``read_only``: held without a copy), forward and backward: the step of
    ``benchmarks/run.py``'s "mlp training step"."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784))
    x.flags.writeable = not read_only
    t = rng.integers(0, 10, batch)
    params = (
        rng.standard_normal((784, 100)) * 0.05,
        rng.standard_normal(100) * 0.1,
        rng.standard_normal((100, 10)) * 0.1,
        rng.standard_normal(10) * 0.1,
    )

    def workload(tg: ModuleType) -> Callable[[], Any]:
        def run() -> Any:
            w1, b1, w2, b2 = (tg.Parameter(p) for p in params)
            loss = tg.softmax_cross_entropy(tg.linear(tg.relu(tg.linear(x, w1, b1)), w2, b2), t)
            loss.backward()
            return w1.grad.data

        return run

    return workload


def timed(fn: Callable[[], Any], clock: Callable[[], float]) -> float:
    gc.collect()
    start = clock()
    fn()
    return clock() - start


def compare(
    name: str,
    unit: str,
    scale: float,
    workload: Workload,
    versions: tuple[ModuleType, ModuleType],
    repeat: int,
    clock: Callable[[], float],
    peer: tuple[Workload, ModuleType] | None = None,
) -> dict[str, list[float]]:
    """Run ``workload`` with A and B alternately (ABBA), ``repeat`` times each, and the
    ``peer``'s workload as T beside them (ABT, then TBA) if given; print and return the times, in
    ``unit`` (seconds times ``scale``)."""
    runs = {"A": workload(versions[0]), "B": workload(versions[1])}
    if peer is not None:
        runs["T"] = peer[0](peer[1])
    expected = runs["B"]()  # NOTE: and warm every version up
    for version, run in runs.items():
        rtol = 1e-12 if version == "A" else 1e-10
        np.testing.assert_allclose(run(), expected, rtol=rtol, atol=1e-12, err_msg=version)
    times: dict[str, list[float]] = {version: [] for version in runs}
    for i in range(repeat):
        for version in list(runs) if i % 2 == 0 else reversed(runs):
            times[version].append(timed(runs[version], clock) * scale)
    print(f"\n## {name} ({repeat} runs each, {unit})")
    print(f"{'':<3}{'median':>10}{'q1':>10}{'q3':>10}{'min':>10}{'max':>10}")
    for version, ts in times.items():
        q1, _, q3 = statistics.quantiles(ts, n=4)
        cells = [statistics.median(ts), q1, q3, min(ts), max(ts)]
        print(f"{version:<3}" + "".join(f"{c:>10.3f}" for c in cells))
    median = {version: statistics.median(ts) for version, ts in times.items()}
    ratios = f"B / A = {median['B'] / median['A']:.3f}"
    if peer is not None:
        ratios += f"; B / T = {median['B'] / median['T']:.3f} (T = torch.func)"
    print(ratios)
    return times


def load_torch() -> ModuleType | None:
    """PyTorch on one thread, or ``None`` if it is not installed."""
    with contextlib.suppress(ImportError):
        import torch
        import torch.func

        torch.set_num_threads(1)
        return torch
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="tree of version A (the baseline)")
    parser.add_argument("b", type=Path, help="tree of version B")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each version (>= 15)")
    parser.add_argument("--quick", action="store_true", help="small sizes: runs in seconds")
    parser.add_argument("--clock", choices=CLOCKS, default="cpu", help="cpu (default) or wall")
    parser.add_argument(
        "--only", default="", help="run only the workloads whose name contains this text"
    )
    args = parser.parse_args(argv)
    versions = (load(args.a.resolve()), load(args.b.resolve()))
    clock = CLOCKS[args.clock]
    torch = load_torch()
    peer = f"PyTorch {torch.__version__}, one thread" if torch is not None else "no PyTorch"
    print(
        f"# A/B: A = {args.a}, B = {args.b}; {args.clock} time; "
        f"Python {sys.version.split()[0]}, NumPy {np.__version__}; {peer}"
    )
    chain = 50 if args.quick else 2000
    rounds = 30 if args.quick else 1000
    n, dims = (10, [4, 8]) if args.quick else (100_000, [8, 64, 256])
    outputs = 16 if args.quick else 256
    size = 1000 if args.quick else 1_000_000
    batch = 10 if args.quick else 100
    hessians = [
        (f"rosenbrock hessian, n = {d}", "ms", 1e3, second_order("hessian", d)) for d in dims
    ]
    peers = {name: torch_hessian(d) for d, (name, *_) in zip(dims, hessians, strict=True)}
    jacobian = f"jacobian(mode='fwd'), tanh(W @ x + b) * x, n = {outputs}"
    peers[jacobian] = torch_jacfwd(outputs)
    workloads: list[tuple[str, str, float, Workload]] = [
        (f"scalar chain, {4 * chain:,} ops", "us/op", 1e6 / (4 * chain), scalar_chain(chain)),
        (f"0-d forward, {3 * rounds:,} ops", "us/op", 1e6 / (3 * rounds), scalar_forward(rounds)),
        (f"0-d jvp, {3 * rounds:,} ops", "us/op", 1e6 / (3 * rounds), scalar_jvp(rounds)),
        (f"rosenbrock grad, n = {n:,}", "ms", 1e3, second_order("grad", n)),
        (f"rosenbrock hvp, n = {n:,}", "ms", 1e3, second_order("hvp", n)),
        *hessians,
        (jacobian, "ms", 1e3, forward_jacobian(outputs)),
        (f"jvp on large arrays, {size:,} float64", "ms", 1e3, large_jvp(size)),
        (f"large arrays, {size:,} float64", "ms", 1e3, large_arrays(size)),
        (f"array constants, {size:,} float64", "ms", 1e3, array_constants(size)),
        (f"layer, batch {batch}: tanh(x @ W + b), x constant", "ms", 1e3, layer(batch)),
        (f"mlp step 784-100-10, batch {batch}", "ms", 1e3, mlp(batch)),
        (f"mlp step 784-100-10, batch {batch}, x read-only", "ms", 1e3, mlp(batch, True)),
    ]
    for name, unit, scale, workload in workloads:
        if args.only not in name:
            continue
        peer = (peers[name], torch) if name in peers and torch is not None else None
        compare(name, unit, scale, workload, versions, args.repeat, clock, peer)


if __name__ == "__main__":
    main()
