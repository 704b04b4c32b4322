"""What the gradient check catches and what it wrongly rejects: cases of every class of issue
18, through ``tinygrad_ref.check_gradients`` (full and fast mode) and, when PyTorch is
installed, through ``torch.autograd.gradcheck`` with its defaults (``eps=1e-6, atol=1e-5,
rtol=1e-3``).

    python benchmarks/power.py            # every case (a minute or two of CPU)
    python benchmarks/power.py --quick    # smaller arrays, a few seconds: checks that it runs

Each case is a function whose derivative is right (rejecting it is a false alarm) or planted
wrong at one element (accepting it is a miss). For a planted case, the columns ``res full``
and ``res fast`` are what our two modes reported at that element for the right function: the
smallest relative error they catch there for certain; a miss is honest only below it.
Second-order cases use ``check_second_gradients`` and ``torch.autograd.gradgradcheck``.
PyTorch is optional (the ``bench`` extra); without it, its column says so.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_ref as tg
from tinygrad_ref.core import Tensor

try:
    import torch
except ImportError:  # NOTE: the bench extra is optional
    torch = None

Fn = Callable[[Any], Any]


def op(name: str) -> Fn:
    """The function ``name`` of Variables (ours), NumPy arrays and tensors (method) alike."""

    def apply(x: Any) -> Any:
        if isinstance(x, tg.Variable):
            return getattr(tg, name)(x)
        if isinstance(x, np.ndarray):
            return getattr(np, name)(x)
        return getattr(x, name)()

    return apply


exp, sin, cos, log, sqrt, log1p = map(op, ("exp", "sin", "cos", "log", "sqrt", "log1p"))
tanh, expm1 = map(op, ("tanh", "expm1"))


def as_array(values: np.ndarray, like: Any) -> Any:
    """``values`` as a tensor when ``like`` is one."""
    return values if isinstance(like, np.ndarray) else torch.from_numpy(values)


def factor(shape: tuple[int, ...], error: float, where: tuple[int, ...] | None) -> np.ndarray:
    """Ones, and ``1 + error`` at ``where``."""
    ones = np.ones(shape)
    if where is not None:
        ones[where] += error
    return ones


@dataclass(frozen=True)
class Pair:
    """A function as our Function (on Variables) and PyTorch's (on tensors; ``None`` when it
    is not installed)."""

    ours: Fn
    theirs: Fn | None


def pair(ours: type[tg.Function], value: Fn, gradient: Callable[[Any, Any], Any]) -> Pair:
    """Our Function ``ours`` and, when PyTorch is installed, its Function of one input whose
    forward is ``value(x)`` and whose backward is ``gradient(gy, x)``."""
    if torch is None:
        return Pair(lambda v: ours()(v), None)

    class Theirs(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return value(x)

        @staticmethod
        def backward(ctx: Any, gy: Any) -> Any:
            (x,) = ctx.saved_tensors
            return gradient(gy, x)

    return Pair(lambda v: ours()(v), Theirs.apply)


def elementwise(f: Fn, df: Fn, error: float = 0.0, where: tuple[int, ...] | None = None) -> Pair:
    """``f`` with the derivative ``df`` times ``1 + error`` at ``where``; ``f`` and ``df``
    take NumPy arrays and tensors alike."""

    class Ours(tg.Function):
        def forward(self, x: tg.Array) -> tg.Array:
            return np.asarray(f(x))

        def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
            data = self.inputs[0].data
            return gy * (df(data) * factor(data.shape, error, where))

    def backward(gy: Any, x: Any) -> Any:
        return gy * df(x) * torch.from_numpy(factor(tuple(x.shape), error, where))

    return pair(Ours, f, backward)


def exp_second_wrong(error: float, where: tuple[int, ...]) -> Pair:
    """exp, whose recorded derivative is ``exp(x) (1 + error (x - x0))`` at ``where``: right
    first derivatives, a second derivative off by ``1 + error`` there."""

    class Ours(tg.Function):
        def forward(self, x: tg.Array) -> tg.Array:
            return np.exp(x)

        def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
            if not isinstance(x, tg.Variable):
                return gy * y
            scale = tg.Variable(factor(x.shape, error, where) - 1)
            return gy * tg.exp(x) * (1.0 + (x - tg.Variable(x.data.copy())) * scale)

    def backward(gy: Any, x: Any) -> Any:
        scale = torch.from_numpy(factor(tuple(x.shape), error, where) - 1)
        return gy * x.exp() * (1.0 + (x - x.detach()) * scale)

    return pair(Ours, exp, backward)


def cross_entropy(targets: np.ndarray, error: float = 0.0, where: Any = None) -> Pair:
    """The mean softmax cross entropy of logits against ``targets``, its gradient off by
    ``1 + error`` at ``where``."""

    def gradient(x: np.ndarray) -> np.ndarray:
        p = np.exp(x - x.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(x)), targets] -= 1
        return np.asarray(p / len(x) * factor(x.shape, error, where))

    class Ours(tg.Function):
        def forward(self, x: tg.Array) -> tg.Array:
            z = x - x.max(axis=1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            return np.array(-log_p[np.arange(len(x)), targets].mean())

        def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
            return gy * gradient(self.inputs[0].data)

    def forward(x: Any) -> Any:
        return torch.nn.functional.cross_entropy(x, torch.from_numpy(targets))

    def backward(gy: Any, x: Any) -> Any:
        return gy * torch.from_numpy(gradient(x.detach().numpy()))

    return pair(Ours, forward, backward)


def both(fn: Fn) -> Pair:
    """A function written with what both libraries have."""
    return Pair(fn, fn if torch is not None else None)


@dataclass(frozen=True)
class Case:
    """One function at one point, and where it is planted wrong (``None``: it is right, and
    ``right`` is itself)."""

    kind: str
    name: str
    point: np.ndarray
    checked: Pair
    right: Pair
    where: tuple[int, ...] | None = None
    second_order: bool = False
    tolerances: dict[str, float] | None = None
    """``atol``/``rtol`` given to both checks (else each derives or defaults its own)."""


def cases(quick: bool) -> list[Case]:
    rng = np.random.default_rng(18)
    logits = rng.normal(size=(8 if quick else 64, 256)) * 3
    targets = rng.integers(0, 256, size=len(logits))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(p)), targets] -= 1
    small = tuple(
        int(i)
        for i in np.unravel_index(
            int(np.argmin(np.abs(np.abs(p) - np.abs(p).max() / 400))), p.shape
        )
    )
    c = np.array([1e14, 1.0])
    wide = np.array([1e-12, 1.0, 0.5, 2.0])
    sines = rng.normal(size=(6, 6) if quick else (12, 12))
    scaled = elementwise(lambda x: x * as_array(c, x), lambda x: as_array(c, x) + 0 * x)
    return [
        Case(
            "wide magnitudes",
            "exp at [20, 0.1], 50% off at 0.1",
            np.array([20.0, 0.1]),
            elementwise(exp, exp, 0.5, (1,)),
            elementwise(exp, exp),
            (1,),
        ),
        Case(
            "wide magnitudes",
            "c * x, c = [1e14, 1], 5% off at 1",
            np.array([0.7, -1.3]),
            elementwise(lambda x: x * as_array(c, x), lambda x: as_array(c, x) + 0 * x, 0.05, (1,)),
            scaled,
            (1,),
        ),
        Case(
            "wide magnitudes",
            f"cross entropy of {len(logits)}x256 logits, 1e-4 off 400x below the largest",
            logits,
            cross_entropy(targets, 1e-4, small),
            cross_entropy(targets),
            small,
        ),
        Case(
            "planted errors",
            f"sin on {sines.shape[0]}x{sines.shape[1]}, 1e-6 off at one element",
            sines,
            elementwise(sin, cos, 1e-6, (3, 4)),
            elementwise(sin, cos),
            (3, 4),
        ),
        Case(
            "second order",
            "exp at [30, 0.1], second derivative 50% off at 0.1",
            np.array([30.0, 0.1]),
            exp_second_wrong(0.5, (1,)),
            both(exp),
            (1,),
            second_order=True,
        ),
        Case(
            "poles", "1/x at 1e-12 beside 1", wide, both(lambda x: 1.0 / x), both(lambda x: 1.0 / x)
        ),
        Case(
            "poles", "x**-2 at 1e-12 beside 1", wide, both(lambda x: x**-2), both(lambda x: x**-2)
        ),
        Case(
            "poles",
            "log(x * x) at 1e-12 beside 1",
            wide,
            both(lambda x: log(x * x)),
            both(lambda x: log(x * x)),
        ),
        Case("poles", "sqrt at 1e-300", np.array([1e-300]), both(sqrt), both(sqrt)),
        Case(
            "poles",
            "log1p at -0.999 beside 1e10, second order",
            np.array([-0.999, 1e10]),
            both(log1p),
            both(log1p),
            second_order=True,
        ),
        Case(
            "cancellation",
            "(x + 1e8) - 1e8",
            rng.normal(size=7),
            both(lambda x: (x + 1e8) - 1e8),
            both(lambda x: (x + 1e8) - 1e8),
        ),
        Case(
            "cancellation",
            "x exp(x) - exp(x) x + x",
            rng.uniform(-2, 2, size=9),
            both(lambda x: x * exp(x) - exp(x) * x + x),
            both(lambda x: x * exp(x) - exp(x) * x + x),
        ),
        Case(
            "cancellation",
            "x - tanh(x) at 1e-5 beside 0 and 1",
            np.array([1e-5, 0.0, -1e-5, 1.0]),
            both(lambda x: x - tanh(x)),
            both(lambda x: x - tanh(x)),
        ),
        Case(
            "cancellation",
            "log1p(expm1(x) - x) at 0 and 1e-5, second order",
            np.array([0.0, 1e-5, -1e-5, 0.5]),
            both(lambda x: log1p(expm1(x) - x)),
            both(lambda x: log1p(expm1(x) - x)),
            second_order=True,
        ),
        Case(
            "cancellation",
            "sum, rtol 1e-4 and atol 1e-5 (DeZero's test_sum)",
            np.random.default_rng(0).random((4, 5, 5) if quick else (10, 20, 20)),
            both(lambda x: x.sum()),
            both(lambda x: x.sum()),
            tolerances={"rtol": 1e-4, "atol": 1e-5},
        ),
    ]


@dataclass(frozen=True)
class Verdict:
    text: str
    seconds: float


def ours(case: Case, fn: Fn, fast: bool) -> tuple[Verdict, tg.GradcheckReport]:
    start = time.process_time()
    x = tg.Variable(case.point.copy())
    check = tg.check_second_gradients if case.second_order else tg.check_gradients
    report = check(fn, x, fast=fast, **(case.tolerances or {}))
    seconds = time.process_time() - start
    if report.failure is None:
        return Verdict("passed", seconds), report
    if not report.mismatches:
        return Verdict("rejected", seconds), report
    mismatch = report.mismatches[0]
    index = "" if mismatch.input is None else f" at {mismatch.index}"
    return Verdict(f"rejected ({mismatch.check}{index})", seconds), report


def theirs(case: Case) -> Verdict:
    if case.checked.theirs is None:
        return Verdict("not installed", 0.0)
    assert torch is not None
    start = time.process_time()
    x = torch.tensor(case.point, dtype=torch.float64, requires_grad=True)
    check = torch.autograd.gradgradcheck if case.second_order else torch.autograd.gradcheck
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ok = check(case.checked.theirs, (x,), raise_exception=False, **(case.tolerances or {}))
        except Exception as error:  # NOTE: a crash of the check counts as a rejection
            ok = False
            print(f"torch on {case.name}: {type(error).__name__}: {error}", file=sys.stderr)
    return Verdict("passed" if ok else "rejected", time.process_time() - start)


def judged(case: Case, verdict: Verdict) -> str:
    """The verdict and whether it is right: a rejection of a wrong function, a pass of a right
    one."""
    if verdict.text == "not installed":
        return verdict.text
    rejected = verdict.text.startswith("rejected")
    if case.where is None:
        return "passed" if not rejected else f"FALSE ALARM {verdict.text}"
    return verdict.text if rejected else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller arrays")
    args = parser.parse_args()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tg.GradcheckWarning)
        for case in cases(args.quick):
            full, _ = ours(case, case.checked.ours, fast=False)
            fast, _ = ours(case, case.checked.ours, fast=True)
            resolutions = ["-", "-"]
            if case.where is not None:
                for number, fast_mode in enumerate((False, True)):
                    _, right = ours(case, case.right.ours, fast=fast_mode)
                    resolutions[number] = f"{float(right.resolutions[0][case.where]):.1e}"
            rows.append(
                (
                    case.kind,
                    case.name,
                    judged(case, full),
                    judged(case, fast),
                    judged(case, theirs(case)),
                    *resolutions,
                    f"{full.seconds:.2f}",
                )
            )
    header = (
        "class",
        "case",
        "ours, full",
        "ours, fast",
        "torch",
        "res full",
        "res fast",
        "cpu s",
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    installed = f"torch {torch.__version__}" if torch is not None else "torch not installed"
    print(f"\n{installed}, numpy {np.__version__}; cpu s: our full check of the case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
