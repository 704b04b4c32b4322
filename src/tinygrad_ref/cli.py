"""``python -m tinygrad_ref verify``: the library checks every derivative it defines."""

from __future__ import annotations

import argparse
import difflib
import io
import math
import multiprocessing
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

import numpy as np

from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification import layers, terminal
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


def _whole(text: str, least: int | None = None) -> int:
    """``text`` as a whole number, at least ``least``; the message says what the option takes."""
    takes = "a whole number" if least is None else f"a whole number of at least {least}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes {takes}, got {text!r}") from None
    if least is not None and value < least:
        raise argparse.ArgumentTypeError(f"takes {takes}, got {value}")
    return value


def _positive(text: str) -> int:
    return _whole(text, 1)


def _positive_float(text: str) -> float:
    takes = "a finite number more than 0"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes {takes}, got {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"takes {takes}, got {value}")
    return value


def _op_name(text: str) -> str:
    """A registered op's name; for another, the closest names."""
    if text in REGISTRY:
        return text
    close = difflib.get_close_matches(text, REGISTRY, n=3)
    hint = f"; did you mean {_listed(close, 'or')}?" if close else ""
    raise argparse.ArgumentTypeError(
        f"unknown op {text!r}{hint} (--help lists the {len(REGISTRY)} ops)"
    )


RUNS = ("--accuracy", "--mutants", "--layers")
"""The runs ``verify`` makes instead of its default one."""

DEFAULT_RUN = "the default run"

APPLIES_TO: dict[str, tuple[tuple[str, ...], str]] = {
    "--op": ((DEFAULT_RUN, "--accuracy", "--mutants"), "the ops to check"),
    "--examples": ((DEFAULT_RUN, "--mutants"), "examples per op, per mutant with --mutants"),
    "--dtype": ((DEFAULT_RUN, "--accuracy", "--layers"), "each mutant has its own dtype"),
    "--density": (("--accuracy",), "samples per binade"),
    "--plot": (("--accuracy",), "pictures of the errors it measures"),
    "--jobs": ((DEFAULT_RUN,), "worker processes; the others run in one"),
}
"""The runs each option applies to, and what it sets there; every other run refuses it."""


def _check_options(args: argparse.Namespace) -> None:
    """Refuse an option given to a run it does not apply to, and two runs at once."""
    parser: argparse.ArgumentParser = args.command_parser
    chosen = [flag for flag in RUNS if getattr(args, flag[2:])]
    if len(chosen) > 1:
        parser.error(f"{_listed(chosen)} are separate runs: choose one")
    run = chosen[0] if chosen else DEFAULT_RUN
    for option, (runs, what) in APPLIES_TO.items():
        if getattr(args, option[2:]) is not None and run not in runs:
            parser.error(f"{option} does not apply to {run}: it is for {_listed(runs)} ({what})")


def _listed(words: Sequence[str], conjunction: str = "and") -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[-1] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


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
    verify.set_defaults(command_parser=verify)
    verify.add_argument(
        "--examples",
        type=_positive,
        metavar="N",
        help=f"examples per op (default {DEFAULT_EXAMPLES}; an op of cost c runs 1/c as many)",
    )
    verify.add_argument(
        "--op",
        action="extend",
        nargs="+",
        type=_op_name,
        metavar="NAME",
        help="only these ops, each once (default: all); one of " + ", ".join(sorted(REGISTRY)),
    )
    verify.add_argument(
        "--seed", type=_whole, default=0, metavar="S", help="random seed (default 0)"
    )
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
        metavar="D",
        help="with --accuracy: samples per binade, relative to the default (default 1)",
    )
    verify.add_argument(
        "--plot",
        type=Path,
        metavar="DIR",
        help="with --accuracy: draw each op's errors across the float range, one PNG per op "
        "and dtype, into DIR (needs the plot extra: matplotlib)",
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


NUMBER_COLUMNS = (
    f"{'examples':>8} {'1st rel':>9} {'margin':>7} {'res':>7} "
    f"{'2nd rel':>9} {'margin':>7} {'res':>7}  {'oracle':<10} {'adjoint':>7} {'jvp':>7} "
    f"{'batch':>7}  result"
)


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


def row(name: str, width: int, result: OpResult) -> str:
    """One op's row of the table, its name padded to ``width``."""
    stats, forward = result.stats, result.forward
    numbers = f"{_errors(stats.first)} {_errors(stats.second)}  {_oracle(stats.first):<10}"
    numbers += f" {forward.adjoint_ulps:7.2g} {forward.directional.margin:7.2g}"
    numbers += f" {forward.batched_margin:7.2g}"
    verdict = "pass" if result.failure is None else "FAIL"
    return f"{name:<{width}} {stats.examples:>8} {numbers}  {verdict}"


def legend() -> str:
    """What each column and symbol of the table means."""
    return terminal.legend(
        [
            ("examples", "examples drawn; for a failing op, up to the one that failed"),
            ("1st rel", "the worst relative error of the first derivatives against the oracle"),
            ("margin", "the worst error over its allowed error, element by element "
             "(at most 1 passes)"),
            ("res", "the worst resolution: the smallest relative error of a derivative "
             "certainly caught, at the element checked most loosely"),
            ("2nd ...", "the same for the second derivatives (oracle: Richardson)"),
            ("oracle", "the numerical derivative the first ones are checked against: complex, "
             "the complex step (exact to rounding, for ops NumPy computes on complex numbers); "
             "Richardson, central differences at shrinking steps, extrapolated"),
            ("adjoint", "the worst |<u, J v> - <Jᵀ u, v>| of the jvp and vjp rules, in rounding "
             f"errors of the terms (at most {ADJOINT_ULPS:g} passes)"),
            ("jvp", "the worst margin of the forward rule (jvp) against the oracle"),
            ("batch", "the worst margin of a batch of tangents against one jvp per tangent "
             "(0: equal)"),
            ("-", "not measured: second derivatives not fuzzed for this op (its spec says where "
             "they are checked), or not reached before the op failed"),
        ]
    )  # fmt: skip


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
    ``pool``, the ops run in its workers and their rows print in the same order. On a terminal,
    ``progress`` shows one line that rewrites itself; elsewhere nothing."""
    width = terminal.name_width(names, "op")
    header = f"{'op':<{width}} {NUMBER_COLUMNS}"
    print(header, file=out)
    print("-" * len(header), file=out)
    status = terminal.Progress(progress)
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
            status.show(f"{label}: {stats.examples}/{total} examples")

        status.show(label)
        if submitted is None:
            on_example = report_progress if status.live else None
            result = check_op(name, examples, seed, dtype, on_example)
        else:
            result = next(submitted)
        status.clear()
        if result.failure is not None:
            failures[name] = result.failure
        stats = result.stats
        print(row(name, width, result), file=out)
        reports = (stats.first, stats.second, result.forward.directional)
        count = sum(r.unresolved_count for r in reports if r is not None)
        if count:
            unresolved[name] = count
        out.flush()
    elapsed = time.perf_counter() - start
    for name, (drawn, message) in failures.items():
        print(f"\n{failure_heading(name, drawn, examples)}\n{message}", file=out)
    verdict = (
        f"{len(failures)} of {terminal.plural(len(names), 'op')} FAILED"
        if failures
        else terminal.all_pass(len(names), "op")
    )
    print(f"\n{verdict} ({elapsed:.1f} s, seed {seed})", file=out)
    if unresolved:
        listed = ", ".join(f"{name} ({count})" for name, count in unresolved.items())
        print(f"elements not judged (subnormal, near overflow, unresolvable): {listed}", file=out)
    print(f"\n{legend()}", file=out)
    return 1 if failures else 0


def failure_heading(name: str, drawn: int, examples: int) -> str:
    """What precedes a failing op's shrunk example: why its margin is not its row's."""
    return textwrap.fill(
        f"{name} FAILED on example {drawn} of at most {examples}. Its row is the worst over "
        "the examples checked, the failing one included; Hypothesis then shrank that example "
        "to the smallest one that still fails, shown here with its own margin, often smaller "
        "(a simpler input, a smaller error):",
        terminal.LEGEND_WIDTH,
    )


def _layers_table(seed: int, dtype: str | None) -> tuple[int, str]:
    """The layers' table as :func:`layers.run` prints it, and its exit code."""
    out = io.StringIO()
    code = layers.run(seed, out, io.StringIO(), dtype)
    return code, out.getvalue()


def _accuracy(args: argparse.Namespace, names: Sequence[str]) -> int:
    """``verify --accuracy``: the table, and with ``--plot`` the pictures."""
    specs = [REGISTRY[name] for name in names]
    skipped = [spec.name for spec in specs if spec.accuracy is None]
    if args.op and skipped:
        print(f"not checked, no accuracy declared (not elementwise): {' '.join(skipped)}\n")
    dtypes = [np.dtype(d) for d in ([args.dtype] if args.dtype else ["float32", "float64"])]
    drawn: list[Path] = []
    on_report = None
    if args.plot is not None:
        from tinygrad_ref.verification import plots

        on_report = plots.saver(args.plot, drawn)
    density = 1.0 if args.density is None else args.density
    code = ulp.print_table(specs, dtypes, density, args.seed, sys.stdout, sys.stderr, on_report)
    if args.plot is not None:
        print(f"\n{terminal.plural(len(drawn), 'picture')} drawn in {args.plot}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _check_options(args)
    missing, extra, needs = _missing, "testing", "verify"
    if missing is None and args.plot is not None:
        try:
            # NOTE: imported here: matplotlib (the optional plot extra) takes longer to load
            # than the rest of verify
            from tinygrad_ref.verification import plots  # noqa: F401
        except ImportError as error:
            missing, extra, needs = error, "plot", "verify --plot"
    if missing is not None:
        print(
            f"python -m tinygrad_ref {needs} needs the {extra} extra ({missing}): "
            f"pip install 'tinygrad_ref[{extra}]'",
            file=sys.stderr,
        )
        return 2
    names = list(dict.fromkeys(args.op or REGISTRY))
    examples = DEFAULT_EXAMPLES if args.examples is None else args.examples
    if args.accuracy:
        return _accuracy(args, names)
    if args.mutants:
        return mutants.run(names, examples, args.seed, sys.stdout, sys.stderr)
    if args.layers:
        return layers.run(args.seed, sys.stdout, sys.stderr, args.dtype)
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs == 1:
        code = verify(names, examples, args.seed, args.dtype, sys.stdout, sys.stderr)
        if not args.op:
            print(file=sys.stdout)
            code |= layers.run(args.seed, sys.stdout, sys.stderr, args.dtype)
        return code
    with workers(jobs) as pool:
        # NOTE: the layers, the longest task, start first, in a worker of their own
        table = None if args.op else pool.submit(_layers_table, args.seed, args.dtype)
        code = verify(names, examples, args.seed, args.dtype, sys.stdout, sys.stderr, pool)
        if table is not None:
            layers_code, text = table.result()
            print(file=sys.stdout)
            sys.stdout.write(text)
            code |= layers_code
    return code
