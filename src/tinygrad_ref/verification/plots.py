"""``verify --accuracy --plot DIR``: each op's errors in ULPs across the float range, drawn.

Needs the ``plot`` extra (matplotlib). One PNG per op and dtype: a panel for the value and one
for the derivative by each operand, each against each operand's value on a symmetric
logarithmic axis (linear within the smallest normal number of 0, logarithmic beyond), so that
every decade of either sign gets the same width.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tinygrad_ref.verification.accuracy import AccuracyReport

OPERANDS = ("x", "y", "z")
DPI = 72
MARKER_SIZE = 4.0


def file_name(report: AccuracyReport) -> str:
    """``exp-float32.png``: the op and the dtype."""
    return f"{report.name}-{report.dtype}.png"


def _quantities(report: AccuracyReport) -> list[tuple[str, Any, float]]:
    """What the panels show: a title, the errors and the bound of each."""
    arity = report.inputs.shape[0]
    shown = [("value", report.value_errors, report.bounds.value_ulps)]
    for i in range(arity):
        errors = report.derivative_errors[i]
        if np.isnan(errors).all():
            continue  # NOTE: a constant operand, or one whose derivative is not declared
        title = "derivative" if arity == 1 else f"derivative by {OPERANDS[i]}"
        shown.append((title, errors, report.bounds.derivative_ulps))
    return shown


def figure(report: AccuracyReport) -> Figure:
    """The errors of ``report`` in ULPs: one row of panels per quantity (the value, the
    derivative by each operand), one column per operand on the horizontal axis."""
    quantities = _quantities(report)
    arity = report.inputs.shape[0]
    fig = Figure(figsize=(4.2 * arity + 2.0, 2.0 * len(quantities) + 0.9), dpi=DPI)
    axes = fig.subplots(len(quantities), arity, squeeze=False, sharex="col")
    tiny = float(np.finfo(report.dtype).smallest_normal)
    for row, (title, errors, bound) in enumerate(quantities):
        top = _top(errors, bound)
        for column in range(arity):
            ax = axes[row, column]
            _panel(ax, report.inputs[column], errors, bound, top, tiny)
            if column == 0:
                ax.set_ylabel(f"{title}\nerror (ULP)")
            if row == len(quantities) - 1:
                ax.set_xlabel(OPERANDS[column])
        if arity == 1:
            for threshold in report.thresholds:
                axes[row, 0].axvline(
                    float(position(threshold, tiny)), color="0.8", linewidth=0.6, zorder=0
                )
    measured = int(np.isfinite(report.value_errors).sum())
    fig.suptitle(
        f"{report.name}, {report.dtype}: error in ULPs of the exact result "
        f"({measured} values, {report.derivatives_checked} derivatives)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _top(errors: Any, bound: float) -> float:
    """The top of a panel: above the bound and above every finite error."""
    finite = errors[np.isfinite(errors)]
    worst = float(finite.max()) if finite.size else 0.0
    return max(bound, worst) * 1.15


def _panel(ax: Axes, xs: Any, errors: Any, bound: float, top: float, tiny: float) -> None:
    """The errors against ``xs``; an infinite error (a non-finite result where the exact one
    is finite) as a red cross at the top, the bound as a dashed line."""
    at = position(xs, tiny)
    finite = np.isfinite(errors)
    ax.scatter(at[finite], errors[finite], s=MARKER_SIZE, color="tab:blue", linewidths=0)
    infinite = np.isinf(errors)
    if infinite.any():
        ax.scatter(at[infinite], np.full(infinite.sum(), top), s=12, marker="x", color="red")
    ax.axhline(bound, color="tab:red", linestyle="--", linewidth=0.8)
    ax.text(
        0.01, bound, f"bound {bound:g}", transform=ax.get_yaxis_transform(), va="bottom",
        fontsize=7, color="tab:red",
    )  # fmt: skip
    ax.set_ylim(0.0, top * (1.08 if infinite.any() else 1.0))
    ticks = _ticks(tiny, xs)
    ax.set_xticks(position(np.array(ticks), tiny), [_label(t) for t in ticks])
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", color="0.9", linewidth=0.5)


def position(xs: Any, tiny: float) -> Any:
    """Where ``xs`` go on the horizontal axis: ``x / tiny`` within the smallest normal number
    ``tiny`` of 0, beyond it ``±(1 + log10(|x| / tiny))``, so that every decade of either sign
    gets the same width. NOTE: matplotlib's symlog scale overflows at float64's extremes."""
    xs = np.asarray(xs, dtype=np.float64)
    magnitude = np.abs(xs)
    logarithmic = np.sign(xs) * (1.0 + np.log10(np.maximum(magnitude, tiny)) - math.log10(tiny))
    return np.where(magnitude < tiny, np.clip(xs, -tiny, tiny) / tiny, logarithmic)


def _ticks(tiny: float, xs: Any) -> list[float]:
    """A few ticks: 0 and powers of ten of either sign within the inputs of that sign, a round
    number of decades apart and far enough from 0 and from each other that their labels do not
    overlap."""
    xs = xs[np.isfinite(xs)]
    if not xs.size:
        return []
    magnitudes = np.abs(xs)
    high = math.floor(math.log10(max(float(magnitudes.max()), tiny)))
    low = math.ceil(math.log10(max(float(magnitudes[magnitudes > 0].min(initial=1.0)), tiny)))
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if (high - low) / s <= 4)
    floor = math.log10(tiny) + step / 2  # NOTE: nearer 0 than this, a label overlaps 0's
    powers = [10.0**e for e in range(high - high % step, low - 1, -step) if e >= floor]
    smallest, largest = float(xs.min()), float(xs.max())
    negative = [-p for p in powers if p <= -smallest]
    positive = [p for p in powers if p <= largest]
    zero = [0.0] if smallest <= 0.0 <= largest else []
    return sorted([*negative, *zero, *positive])


def _label(x: float) -> str:
    exponent = 0 if x == 0 else round(math.log10(abs(x)))
    return f"{x:g}" if x == 0 or exponent == 0 else f"{'-' if x < 0 else ''}1e{exponent}"


def save(report: AccuracyReport, directory: Path) -> Path:
    """Draw ``report`` into ``directory`` (made if missing) and return the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(report)
    fig = figure(report)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def saver(directory: Path, paths: list[Path]) -> Callable[[AccuracyReport], None]:
    """A callback that draws each report it gets into ``directory``, appending each path."""

    def draw(report: AccuracyReport) -> None:
        paths.append(save(report, directory))

    return draw
