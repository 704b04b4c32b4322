"""``python -m tinygrad_ref verify``: the library checks every derivative it defines."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TextIO

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


def verify(
    names: Sequence[str],
    examples: int,
    seed: int,
    dtype: str | None,
    out: TextIO,
    progress: TextIO,
) -> int:
    """Fuzz the ops ``names``, print one row per op to ``out``; 1 if any failed, else 0."""
    settings = hypothesis.settings(
        max_examples=examples, deadline=None, database=None, print_blob=False
    )
    header = (
        f"{'op':<14} {'examples':>8} {'1st rel':>9} {'margin':>7} {'res':>7} "
        f"{'2nd rel':>9} {'margin':>7} {'res':>7}  {'oracle':<10} {'adjoint':>7} {'jvp':>7}  "
        "result"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    failures: dict[str, tuple[int, str]] = {}
    unresolved: dict[str, int] = {}
    start = time.perf_counter()
    for number, name in enumerate(names, 1):
        label = f"[{number}/{len(names)}] {name}"
        total = max(1, examples // REGISTRY[name].cost)

        def report_progress(stats: OpStats, label: str = label, total: int = total) -> None:
            print(f"\r{label}: {stats.examples}/{total} examples", end="", file=progress)
            progress.flush()

        stats = OpStats()
        print(f"{label}...", end="", file=progress)
        progress.flush()
        try:
            verify_op(
                REGISTRY[name],
                dtype=None if dtype is None else np.dtype(dtype),
                settings=settings,
                seed=seed,
                stats=stats,
                on_example=report_progress if progress.isatty() else None,
            )
        except Exception as error:  # NOTE: one op's crash is that op's failure
            failures[name] = (stats.examples, _message(error))
        forward = ForwardStats()
        try:
            verify_forward(
                REGISTRY[name],
                dtype=None if dtype is None else np.dtype(dtype),
                settings=hypothesis.settings(
                    settings, max_examples=max(1, examples // FORWARD_SHARE)
                ),
                seed=seed,
                stats=forward,
            )
        except Exception as error:
            failures.setdefault(name, (forward.examples, "forward mode: " + _message(error)))
        print(file=progress)
        result = "FAIL" if name in failures else "pass"
        errors = f"{_errors(stats.first)} {_errors(stats.second)}  {_oracle(stats.first):<10}"
        errors += f" {forward.adjoint_ulps:7.2g} {forward.directional.margin:7.2g}"
        print(f"{name:<14} {stats.examples:>8} {errors}  {result}", file=out)
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
        f"(at most {ADJOINT_ULPS:g} passes); jvp: the worst margin of the jvp against the oracle",
        file=out,
    )
    return 1 if failures else 0


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
    code = verify(names, args.examples, args.seed, args.dtype, sys.stdout, sys.stderr)
    if not args.op:
        print(file=sys.stdout)
        code |= layers.run(args.seed, sys.stdout, sys.stderr, args.dtype)
    return code
