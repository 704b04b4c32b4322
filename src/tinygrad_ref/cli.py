"""``python -m tinygrad_ref verify``: the library checks every derivative it defines."""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TextIO, TypeVar

import numpy as np

from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification import layers
from tinygrad_ref.verification.checks import GradcheckReport

_missing: ImportError | None = None
try:
    import hypothesis

    from tinygrad_ref.verification import mutants
    from tinygrad_ref.verification.strategies import (
        ADJOINT_ULPS,
        ForwardStats,
        OpStats,
        verify_forward,
        verify_op,
    )
except ImportError as error:  # NOTE: the testing extra is optional; `verify` says so.
    _missing = error
try:
    from tinygrad_ref.verification import accuracy as ulp
except ImportError as error:
    _missing = _missing or error

DEFAULT_EXAMPLES = 100
FORWARD_SHARE = 4
"""The forward-mode checks of an op draw this many times fewer examples: each checks an exact
identity, not an estimate."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_ref",
        description="Self-verification of tinygrad_ref's derivatives.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify",
        help="fuzz every registered op against NumPy and central differences",
        description=(
            "Fuzz every registered op: forward values against NumPy, first and second "
            "derivatives against central differences, over random shapes, broadcasting, "
            "dtypes and operand kinds; its forward rule (jvp) against its reverse rule by the "
            "exact adjoint identity and against the oracle. Exits 1 if any op fails."
        ),
    )
    verify.add_argument(
        "--examples",
        type=_positive,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"examples per op (default {DEFAULT_EXAMPLES}; an op of cost c runs 1/c as many)",
    )
    verify.add_argument(
        "--op",
        action="extend",
        nargs="+",
        choices=sorted(REGISTRY),
        metavar="NAME",
        help="only these ops (default: all); one of " + ", ".join(sorted(REGISTRY)),
    )
    verify.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    verify.add_argument(
        "--dtype", choices=["float32", "float64"], help="only this dtype (default: both)"
    )
    verify.add_argument(
        "--accuracy",
        action="store_true",
        help="instead, measure every elementwise op's value and first derivatives in ULPs "
        "against mpmath over the whole float range",
    )
    verify.add_argument(
        "--density",
        type=_positive_float,
        default=1.0,
        metavar="D",
        help="with --accuracy: samples per binade, relative to the default (default 1)",
    )
    verify.add_argument(
        "--mutants",
        action="store_true",
        help=(
            "measure the verification's power instead: plant wrong rules in every op and "
            "report which are caught (--examples is then per mutant)"
        ),
    )
    verify.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes (default: the number of cores); the rows and their numbers are "
        "the same as with --jobs 1, which runs in this process",
    )
    verify.add_argument(
        "--layers",
        action="store_true",
        help="only the layers and models (by default they follow the ops, unless --op is given)",
    )
    return parser


def _errors(report: GradcheckReport | None) -> str:
    """The worst relative error, the worst margin (error over allowed error) and the worst
    resolution (the smallest relative error certainly caught, at the element checked most
    loosely)."""
    if report is None:
        return f"{'-':>9} {'-':>7} {'-':>7}"
    return f"{report.max_rel_error:9.1e} {report.margin:7.2g} {report.resolution:7.1e}"


ORACLES = {"complex step": "complex", "Richardson": "Richardson"}


def _oracle(report: GradcheckReport) -> str:
    """Which oracle decided the first derivatives."""
    names = [ORACLES.get(name, name) for name in report.oracle.split(", ") if name]
    return "+".join(dict.fromkeys(names)) or "-"


def _message(error: BaseException) -> str:
    return str(error) if isinstance(error, AssertionError) else repr(error)


@dataclass(frozen=True)
class OpResult:
    """What the checks of one op measured, and why it failed (``None`` if it passed)."""

    stats: OpStats
    forward: ForwardStats
    failure: tuple[int, str] | None


def check_op(
    name: str,
    examples: int,
    seed: int,
    dtype: str | None,
    on_example: Callable[[OpStats], None] | None = None,
) -> OpResult:
    """Fuzz one registered op's reverse and forward rules; a crash is that op's failure."""
    settings = hypothesis.settings(
        max_examples=examples, deadline=None, database=None, print_blob=False
    )
    failure: tuple[int, str] | None = None
    stats = OpStats()
    try:
        verify_op(
            REGISTRY[name],
            dtype=None if dtype is None else np.dtype(dtype),
            settings=settings,
            seed=seed,
            stats=stats,
            on_example=on_example,
        )
    except Exception as error:  # NOTE: one op's crash is that op's failure
        failure = (stats.examples, _message(error))
    forward = ForwardStats()
    try:
        verify_forward(
            REGISTRY[name],
            dtype=None if dtype is None else np.dtype(dtype),
            settings=hypothesis.settings(settings, max_examples=max(1, examples // FORWARD_SHARE)),
            seed=seed,
            stats=forward,
        )
    except Exception as error:
        failure = failure or (forward.examples, "forward mode: " + _message(error))
    return OpResult(stats, forward, failure)


def default_jobs() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def workers(jobs: int) -> Executor:
    """``jobs`` worker processes. NOTE: forked where the platform can, so that a worker has the
    same modules loaded as this process: Hypothesis draws constants from the loaded modules'
    source, and a run must draw the same examples in a worker as serially."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


T = TypeVar("T")


def _in_order(futures: Sequence[Future[T]]) -> Iterator[T]:
    for future in futures:
        yield future.result()


def verify(
    names: Sequence[str],
    examples: int,
    seed: int,
    dtype: str | None,
    out: TextIO,
    progress: TextIO,
    pool: Executor | None = None,
) -> int:
    """Fuzz the ops ``names``, print one row per op to ``out``; 1 if any failed, else 0. With a
    ``pool``, the ops run in its workers and their rows print in the same order."""
    header = (
        f"{'op':<14} {'examples':>8} {'1st rel':>9} {'margin':>7} {'res':>7} "
        f"{'2nd rel':>9} {'margin':>7} {'res':>7}  {'oracle':<10} {'adjoint':>7} {'jvp':>7} "
        f"{'batch':>7}  "
        "result"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    failures: dict[str, tuple[int, str]] = {}
    unresolved: dict[str, int] = {}
    start = time.perf_counter()
    submitted = (
        None
        if pool is None
        else _in_order([pool.submit(check_op, name, examples, seed, dtype) for name in names])
    )
    for number, name in enumerate(names, 1):
        label = f"[{number}/{len(names)}] {name}"
        total = max(1, examples // REGISTRY[name].cost)

        def report_progress(stats: OpStats, label: str = label, total: int = total) -> None:
            print(f"\r{label}: {stats.examples}/{total} examples", end="", file=progress)
            progress.flush()

        print(f"{label}...", end="", file=progress)
        progress.flush()
        if submitted is None:
            on_example = report_progress if progress.isatty() else None
            result = check_op(name, examples, seed, dtype, on_example)
        else:
            result = next(submitted)
        print(file=progress)
        stats, forward = result.stats, result.forward
        if result.failure is not None:
            failures[name] = result.failure
        errors = f"{_errors(stats.first)} {_errors(stats.second)}  {_oracle(stats.first):<10}"
        errors += f" {forward.adjoint_ulps:7.2g} {forward.directional.margin:7.2g}"
        errors += f" {forward.batched_margin:7.2g}"
        verdict = "FAIL" if name in failures else "pass"
        print(f"{name:<14} {stats.examples:>8} {errors}  {verdict}", file=out)
        count = sum(r.unresolved_count for r in (stats.first, stats.second) if r is not None)
        if count:
            unresolved[name] = count
        out.flush()
    elapsed = time.perf_counter() - start
    for name, (drawn, message) in failures.items():
        print(
            f"\n{name} FAILED on example {drawn} of at most {examples}; "
            f"the smallest failing example:\n{message}",
            file=out,
        )
    verdict = (
        f"{len(failures)} of {len(names)} ops FAILED" if failures else f"all {len(names)} ops pass"
    )
    print(f"\n{verdict} ({elapsed:.1f} s, seed {seed})", file=out)
    if unresolved:
        listed = ", ".join(f"{name} ({count})" for name, count in unresolved.items())
        print(f"elements not judged (subnormal, near overflow, unresolvable): {listed}", file=out)
    print(
        "margin: the worst error over allowed error (at most 1 passes); res: the worst "
        "resolution, the smallest relative error of a derivative certainly caught at the "
        "element checked most loosely; oracle: the one that "
        "checked first derivatives (second ones: Richardson); adjoint: the worst "
        "|<u, J v> - <Jᵀ u, v>| of the jvp and vjp rules, in rounding errors of the terms "
        f"(at most {ADJOINT_ULPS:g} passes); jvp: the worst margin of the jvp against the oracle; "
        "batch: the worst margin of a batch of tangents against one jvp per tangent (0: equal)",
        file=out,
    )
    return 1 if failures else 0


def _layers_table(seed: int, dtype: str | None) -> tuple[int, str]:
    """The layers' table as :func:`layers.run` prints it, and its exit code."""
    out = io.StringIO()
    code = layers.run(seed, out, io.StringIO(), dtype)
    return code, out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.mutants and args.dtype is not None:
        parser.error("--dtype does not apply to --mutants: each mutant has its own dtype")
    if args.mutants and args.accuracy:
        parser.error("--mutants and --accuracy are separate measurements: choose one")
    if args.layers and (args.mutants or args.accuracy or args.op):
        parser.error("--layers checks only the layers: it takes no --op, --accuracy or --mutants")
    if _missing is not None:
        print(
            f"python -m tinygrad_ref verify needs the testing extra ({_missing}): "
            "pip install 'tinygrad_ref[testing]'",
            file=sys.stderr,
        )
        return 2
    names = args.op or list(REGISTRY)
    if args.accuracy:
        dtypes = [np.dtype(d) for d in ([args.dtype] if args.dtype else ["float32", "float64"])]
        specs = [REGISTRY[name] for name in names]
        return ulp.print_table(specs, dtypes, args.density, args.seed, sys.stdout, sys.stderr)
    if args.mutants:
        return mutants.run(names, args.examples, args.seed, sys.stdout, sys.stderr)
    if args.layers:
        return layers.run(args.seed, sys.stdout, sys.stderr, args.dtype)
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs == 1:
        code = verify(names, args.examples, args.seed, args.dtype, sys.stdout, sys.stderr)
        if not args.op:
            print(file=sys.stdout)
            code |= layers.run(args.seed, sys.stdout, sys.stderr, args.dtype)
        return code
    with workers(jobs) as pool:
        # NOTE: the layers, the longest task, start first, in a worker of their own
        table = None if args.op else pool.submit(_layers_table, args.seed, args.dtype)
        code = verify(names, args.examples, args.seed, args.dtype, sys.stdout, sys.stderr, pool)
        if table is not None:
            layers_code, text = table.result()
            print(file=sys.stdout)
            sys.stdout.write(text)
            code |= layers_code
    return code
