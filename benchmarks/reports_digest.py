"""A digest of every report ``verify`` computes, to show that a change made for speed keeps
every number: run it on the tree before and after, and compare the two lines it prints.

    PYTHONPATH=OLD/src python benchmarks/reports_digest.py            # the 74 base ops
    PYTHONPATH=NEW/src python benchmarks/reports_digest.py --examples 100 exp log

It runs ``verify --jobs 1`` on the ops (default: ``run.BASE_OPS``, those issue 25's targets
name) and hashes, with SHA-256, the ``repr`` of each report the checks return (its floats to
their last bit, its arrays whole) and the table ``verify`` prints, its timings left out. It
prints the number of reports and the digest.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from run import BASE_OPS

from tinygrad_ref import cli
from tinygrad_ref.verification import strategies

CHECKS = (
    "check_gradients",
    "second_order_report",
    "numerical_directional",
    "check_hessian",
    "check_adjoint",
    "check_batched",
    "_against_oracle",
    "_directional_report",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ops", nargs="*", default=BASE_OPS, help="ops (default: the 74 base ops)")
    parser.add_argument("--examples", type=int, default=30, help="examples per op (default 30)")
    args = parser.parse_args()
    digest, count = hashlib.sha256(), [0]

    def recorded(check: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(check)
        def call(*positional: Any, **named: Any) -> Any:
            report = check(*positional, **named)
            digest.update(repr(report).encode())
            count[0] += 1
            return report

        return call

    # NOTE: every array in a report printed whole, each float to its last bit
    np.set_printoptions(floatmode="unique", threshold=sys.maxsize)
    for name in CHECKS:
        setattr(strategies, name, recorded(getattr(strategies, name)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["verify", "--jobs", "1", "--examples", str(args.examples), "--op", *args.ops])
    digest.update(re.sub(r"\d+(\.\d+)? ?s\b", "", out.getvalue()).encode())
    print(count[0], digest.hexdigest())


if __name__ == "__main__":
    main()
