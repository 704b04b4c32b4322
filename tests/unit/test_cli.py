import dataclasses
import io
import os
import re
import subprocess
import sys
from concurrent.futures import Executor

import pytest

from tinygrad_ref import Variable, cli, ops
from tinygrad_ref.core import Tensor
from tinygrad_ref.registry import REGISTRY


def run(argv: list[str], jobs: int = 1) -> tuple[int, str]:
    out, progress = io.StringIO(), io.StringIO()
    args = cli._parser().parse_args(argv)
    names = args.op or list(REGISTRY)
    if jobs == 1:
        code = cli.verify(names, args.examples, args.seed, args.dtype, out, progress)
    else:
        with cli.workers(jobs) as pool:
            code = cli.verify(names, args.examples, args.seed, args.dtype, out, progress, pool)
    assert "[1/" in progress.getvalue()
    return code, out.getvalue()


def without_time(output: str) -> str:
    """The output but the seconds a run took."""
    return re.sub(r"\(\d+\.\d s, seed", "(seed", output)


def test_verify_prints_one_row_per_op_and_exits_0() -> None:
    code, output = run(["verify", "--op", "mul", "exp", "--examples", "5", "--dtype", "float32"])
    assert code == 0
    rows = [line.split() for line in output.splitlines() if line.startswith(("mul", "exp"))]
    assert [row[0] for row in rows] == ["mul", "exp"]
    assert all(row[1] == "5" and row[-1] == "pass" for row in rows)
    # NOTE: the forward rule's adjoint error (rounding errors of the terms), jvp margin and
    # the margin of a batch of tangents against one jvp each
    assert all(0 <= float(row[-4]) <= 16 and 0 <= float(row[-3]) <= 1 for row in rows)
    assert all(0 <= float(row[-2]) <= 1 for row in rows)
    # NOTE: the worst resolution of first and second derivatives, resolved elements only
    assert all(0 < float(row[4]) < 1 and 0 <= float(row[7]) < 1 for row in rows)
    assert "res: the worst resolution" in output
    assert "all 2 ops pass" in output


class WrongExp(ops.Exp):
    def vjp(self, gy: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return gy * y * 1.1


def test_verify_exits_1_and_shows_the_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dataclasses.replace(REGISTRY["exp"], function=lambda x: WrongExp()(x))
    monkeypatch.setattr(cli, "REGISTRY", {**REGISTRY, "exp": broken})
    code, output = run(["verify", "--op", "exp", "--examples", "5"])
    assert code == 1
    # NOTE: the examples drawn, not the shrinking attempts; the shrunk failing one apart
    (row,) = [line.split() for line in output.splitlines() if line.endswith(("FAIL", "pass"))]
    assert 1 <= int(row[1]) <= 5
    assert row[-1] == "FAIL"
    assert f"exp FAILED on example {row[1]} of at most 5; the smallest failing example:" in output
    assert "analytic" in output
    assert "1 of 1 ops FAILED" in output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--op", "nope"], "invalid choice: 'nope'"),
        (["verify", "--examples", "0"], "must be at least 1"),
        (["verify", "--jobs", "0"], "must be at least 1, got 0"),
        (["verify", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["verify", "--accuracy", "--density", "0"], "must be more than 0, got 0.0"),
        ([], "the following arguments are required: command"),
    ],
)
def test_bad_arguments_exit_2_with_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: python -m tinygrad_ref" in err
    assert message in err


def test_python_dash_m_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_ref", "verify", "--op", "neg", "--examples", "3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "all 1 ops pass" in result.stdout


def test_an_op_that_crashes_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(x: object) -> Variable:
        raise RuntimeError("boom")

    broken = dataclasses.replace(REGISTRY["exp"], function=crash, infix=None)
    monkeypatch.setattr(cli, "REGISTRY", {**REGISTRY, "exp": broken})
    code, output = run(["verify", "--op", "exp", "neg", "--examples", "3"])
    assert code == 1
    assert "RuntimeError('boom')" in output
    # NOTE: the failure's headline is 13 words too; the table's rows end in their result
    table = [row for row in map(str.split, output.splitlines()) if len(row) == 13]
    rows = [row for row in table if row[-1] in ("pass", "FAIL")]
    assert [(row[0], row[-1]) for row in rows] == [("exp", "FAIL"), ("neg", "pass")]


def test_workers_print_what_one_process_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    # NOTE: a failing op among passing ones: its row, its place and its shrunk example too
    broken = dataclasses.replace(REGISTRY["exp"], function=lambda x: WrongExp()(x))
    monkeypatch.setattr(cli, "REGISTRY", {**REGISTRY, "exp": broken})
    argv = ["verify", "--op", "neg", "exp", "mul", "sum", "--examples", "6", "--seed", "3"]
    code, serial = run(argv)
    parallel_code, parallel = run(argv, jobs=2)
    assert (code, parallel_code) == (1, 1)
    assert "exp FAILED on example" in serial
    assert without_time(parallel) == without_time(serial)


def test_jobs_defaults_to_the_cores_and_takes_a_number(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli._parser().parse_args(["verify"]).jobs is None
    assert 1 <= cli.default_jobs() <= (os.cpu_count() or 1)
    chosen: list[int] = []
    real_workers = cli.workers

    def workers(jobs: int) -> Executor:
        chosen.append(jobs)
        return real_workers(jobs)

    monkeypatch.setattr(cli, "workers", workers)
    monkeypatch.setattr(cli, "default_jobs", lambda: 2)
    for argv in (["--jobs", "2"], [], ["--jobs", "1"]):
        assert cli.main(["verify", "--op", "neg", "add", "--examples", "3", *argv]) == 0
        assert "all 2 ops pass" in capsys.readouterr().out
    assert chosen == [2, 2]


def test_verify_accuracy_prints_the_worst_ulps_per_op_and_dtype(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["verify", "--accuracy", "--op", "exp", "sum", "--density", "0.05"])
    output = capsys.readouterr().out
    assert code == 0
    assert "float32 value" in output
    assert "float64 deriv" in output
    (row,) = [line.split() for line in output.splitlines() if line.startswith("exp ")]
    assert row[-2:] == ["4/8", "pass"]
    assert all(float(cell) <= 4 for cell in row[1:5])
    assert "all 1 ops within bounds" in output  # NOTE: sum is no elementwise op


def test_verify_accuracy_exits_1_on_an_inaccurate_op(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = dataclasses.replace(
        REGISTRY["exp"], function=lambda x: WrongExp()(x), primitive=WrongExp
    )
    monkeypatch.setattr(cli, "REGISTRY", {**REGISTRY, "exp": broken})
    code = cli.main(
        ["verify", "--accuracy", "--op", "exp", "--dtype", "float64", "--density", "0.05"]
    )
    output = capsys.readouterr().out
    assert code == 1
    assert "FAILED: exp (float64): derivative by operand 0" in output
