"""``verify --accuracy --plot DIR``: each op's errors in ULPs across the float range, drawn."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from matplotlib.axes import Axes

from tinygrad_ref import cli
from tinygrad_ref.registry import REGISTRY
from tinygrad_ref.verification import plots
from tinygrad_ref.verification.accuracy import AccuracyReport, check_accuracy

PNG = b"\x89PNG\r\n\x1a\n"


def points(ax: Axes, collection: int = 0) -> npt.NDArray[np.float64]:
    """The (x, y) of each point of one of the panel's scatter plots."""
    return np.asarray(ax.collections[collection].get_offsets(), dtype=np.float64)


def test_verify_accuracy_plot_draws_one_small_png_per_op_and_dtype(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "pictures"
    argv = ["verify", "--accuracy", "--op", "exp", "pow", "--density", "0.05"]
    assert cli.main([*argv, "--plot", str(directory)]) == 0
    drawn = sorted(directory.iterdir())
    assert [path.name for path in drawn] == [
        "exp-float32.png",
        "exp-float64.png",
        "pow-float32.png",
        "pow-float64.png",
    ]
    for path in drawn:
        data = path.read_bytes()
        assert data.startswith(PNG)
        assert 5_000 < len(data) < 80_000, (path.name, len(data))
    assert f"\n4 pictures drawn in {directory}\n" in capsys.readouterr().out


def test_the_recorded_errors_are_those_the_table_reports() -> None:
    report = check_accuracy(REGISTRY["pow"], np.dtype(np.float32), density=0.05)
    count = report.inputs.shape[1]
    assert report.inputs.shape == (2, count)
    assert report.value_errors.shape == (count,)
    assert report.derivative_errors.shape == (2, count)
    assert np.isfinite(report.value_errors).sum() == report.values_checked
    assert np.isfinite(report.derivative_errors).sum() == report.derivatives_checked
    assert np.nanmax(report.value_errors) == report.value.ulps
    assert np.nanmax(report.derivative_errors) == report.derivative.ulps
    # NOTE: pow's exponent is a constant: no derivative by it
    assert np.isnan(report.derivative_errors[1]).all()
    worst = int(np.nanargmax(report.value_errors))
    assert tuple(report.inputs[:, worst]) == report.value.at


def test_the_figure_shows_every_error_measured_against_every_operand() -> None:
    report = check_accuracy(REGISTRY["pow"], np.dtype(np.float64), density=0.05)
    fig = plots.figure(report)
    # NOTE: rows: the value, the derivative by x (y is a constant); columns: x, then y
    assert len(fig.axes) == 4
    value_by_x, value_by_y, derivative_by_x, _ = fig.axes
    assert derivative_by_x.get_ylabel() == "derivative by x\nerror (ULP)"
    for ax, errors in ((value_by_x, report.value_errors), (value_by_y, report.value_errors)):
        shown = points(ax)
        assert len(shown) == np.isfinite(errors).sum()
        assert np.max(shown[:, 1]) == np.nanmax(errors)
        assert ax.get_ylim()[1] >= report.bounds.value_ulps
    shown = points(derivative_by_x)
    assert len(shown) == report.derivatives_checked
    assert np.max(shown[:, 1]) == report.derivative.ulps


def test_an_infinite_error_is_drawn_at_the_top_of_its_panel() -> None:
    accuracy = REGISTRY["exp"].accuracy
    assert accuracy is not None
    report = AccuracyReport(
        "exp",
        np.dtype(np.float64),
        accuracy,
        inputs=np.array([[-1.0, 0.0, 2.0]]),
        value_errors=np.array([0.5, math.inf, math.nan]),
        derivative_errors=np.array([[0.25, 1.0, 2.0]]),
    )
    value, _ = plots.figure(report).axes
    assert len(value.collections) == 2
    assert len(points(value, 0)) == 1
    ((x, y),) = points(value, 1).tolist()
    assert x == 0.0
    assert y == pytest.approx(accuracy.value_ulps * 1.15)
    assert value.get_ylim()[1] > y


def test_the_axis_gives_every_decade_of_either_sign_the_same_width() -> None:
    tiny = float(np.finfo(np.float64).smallest_normal)
    xs = np.array([-np.finfo(np.float64).max, -1.0, -tiny, 0.0, tiny / 2, tiny, 1.0, 10.0, 1e300])
    at = plots.position(xs, tiny)
    assert np.all(np.isfinite(at))
    assert np.all(np.diff(at) > 0)
    assert at[3] == 0.0
    assert at[4] == 0.5
    assert at[5] == 1.0
    assert at[7] - at[6] == pytest.approx(1.0)
    assert at[2] == -1.0


def test_plot_needs_the_plot_extra_and_says_so() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from tinygrad_ref import cli\n"
        "sys.exit(cli.main(['verify', '--accuracy', '--op', 'exp', '--plot', 'pictures']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "python -m tinygrad_ref verify --plot needs the plot extra" in result.stderr
    assert "pip install 'tinygrad_ref[plot]'" in result.stderr
    assert result.stdout == ""


def test_the_ticks_are_round_decades_within_each_sign_of_the_inputs() -> None:
    tiny = float(np.finfo(np.float32).smallest_normal)
    # NOTE: log1p's inputs in float32: -1 to the largest float; 75 decades, a tick every 20
    xs = np.array([-1.0, -1e-30, 0.0, 1e-30, 3e38])
    assert plots._ticks(tiny, xs) == [-1.0, -1e-20, 0.0, 1e-20, 1.0, 1e20]
    assert plots._ticks(tiny, np.array([0.5, 100.0])) == [1.0, 10.0, 100.0]
