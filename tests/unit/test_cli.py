import dataclasses
import io
import os
import re
import subprocess
import sys
from concurrent.futures import Executor

import pytest

from tests.helpers import Terminal
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
    assert progress.getvalue() == ""  # NOTE: no progress line where it is no terminal
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
    assert "\n  res       the worst resolution: " in output
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
    assert f"\nexp FAILED on example {row[1]} of at most 5. Its row" in output
    assert "analytic" in output
    assert "1 of 1 op FAILED" in output
    heading = " ".join(output.split("exp FAILED on example", 1)[1].split("\nexp(", 1)[0].split())
    assert "Its row is the worst over the examples checked, the failing one included" in heading
    assert "shrank that example to the smallest one that still fails" in heading


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--examples", "0"], "argument --examples: takes a whole number of at least 1"),
        (
            ["verify", "--examples", "abc"],
            "argument --examples: takes a whole number of at least 1, got 'abc'",
        ),
        (["verify", "--jobs", "0"], "argument --jobs: takes a whole number of at least 1, got 0"),
        (["verify", "--jobs", "2.5"], "argument --jobs: takes a whole number of at least 1, got"),
        (["verify", "--seed", "x"], "argument --seed: takes a whole number, got 'x'"),
        (["verify", "--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
        (
            ["verify", "--accuracy", "--density", "0"],
            "argument --density: takes a finite number more than 0, got 0.0",
        ),
        (
            ["verify", "--accuracy", "--density", "inf"],
            "argument --density: takes a finite number more than 0, got inf",
        ),
        (
            ["verify", "--accuracy", "--density", "dense"],
            "argument --density: takes a finite number more than 0, got 'dense'",
        ),
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
    assert "all 1 op passes" in result.stdout
    # NOTE: piped, no progress line anywhere
    assert result.stderr == ""
    assert "[1/" not in result.stdout


def test_an_op_that_crashes_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(x: object) -> Variable:
        raise RuntimeError("boom")

    broken = dataclasses.replace(REGISTRY["exp"], function=crash, infix=None)
    monkeypatch.setattr(cli, "REGISTRY", {**REGISTRY, "exp": broken})
    code, output = run(["verify", "--op", "exp", "neg", "--examples", "3"])
    assert code == 1
    assert "RuntimeError('boom')" in output
    rows = [row for row in map(str.split, output.splitlines()) if row[-1:] in (["pass"], ["FAIL"])]
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
    assert "all 1 op within bounds" in output
    assert output.startswith("not checked, no accuracy declared (not elementwise): sum\n\nop ")


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


def screen(text: str) -> list[str]:
    """The lines a terminal shows after ``text``: a carriage return goes back to the start of
    the line, ERASE_LINE's escape erases from there to the end."""
    lines, line, column = [], "", 0
    for part in re.split(r"(\r|\n|\x1b\[K)", text):
        if part == "\r":
            column = 0
        elif part == "\n":
            lines.append(line)
            line, column = "", 0
        elif part == "\x1b[K":
            line = line[:column]
        else:
            line = line[:column] + part + line[column + len(part) :]
            column += len(part)
    return [*lines, line] if line else lines


def test_on_a_terminal_the_progress_line_rewrites_itself_and_leaves_nothing() -> None:
    piped_out = io.StringIO()
    argv = (["neg", "exp"], 4, 0, "float64")
    assert cli.verify(*argv, piped_out, io.StringIO()) == 0
    shared = Terminal()  # NOTE: stdout and stderr on one screen
    assert cli.verify(*argv, shared, shared) == 0
    text = shared.getvalue()
    assert "[1/2] neg: 1/4 examples" in text
    assert "[2/2] exp: 4/4 examples" in text
    assert "\n[" not in text  # NOTE: the progress never ends a line of its own
    assert without_time("\n".join(screen(text))) == without_time(piped_out.getvalue().rstrip())


def test_rows_align_under_the_header_for_the_longest_op_name() -> None:
    long = "softmax_cross_entropy_simple"
    code, output = run(["verify", "--op", "neg", long, "--examples", "2", "--dtype", "float64"])
    assert code == 0
    lines = output.splitlines()
    header, rows = lines[0], [line for line in lines if line.startswith(("neg ", long))]
    assert len(rows) == 2
    assert len(lines[1]) == len(header)
    # NOTE: each number column ends where its title does
    for title in ("examples", "1st rel", "res ", "2nd rel", "adjoint", "jvp", "batch"):
        end = header.index(title) + len(title.strip())
        for row in rows:
            assert row[end - 1] != " ", (title, row)
            assert row[end] == " ", (title, row)
    assert [row.index(" pass") for row in rows] == [header.index(" result")] * 2
    assert header.index("examples") == len(long) + 1


def test_the_legend_explains_every_column_and_symbol() -> None:
    code, output = run(["verify", "--op", "neg", "softmax_simple", "--examples", "2"])
    assert code == 0
    table, legend = output.split("\n\n  ", 1)
    legend = "  " + legend
    lines = legend.splitlines()
    assert all(len(line) <= 100 for line in lines)
    keys = [line.split()[0] for line in lines if not line.startswith("   ")]
    header = table.splitlines()[0]
    columns = ["examples", "1st rel", "margin", "res", "2nd", "oracle", "adjoint", "jvp", "batch"]
    assert all(title in header for title in columns)
    assert keys == [title.split()[0] for title in columns] + ["-"]
    # NOTE: softmax_simple's second derivatives are not fuzzed: its row shows what "-" means
    (row,) = [line.split() for line in table.splitlines() if line.startswith("softmax_simple")]
    assert row[5:8] == ["-", "-", "-"]
    words = " ".join(legend.split())
    assert "complex, the complex step" in words
    assert "Richardson, central differences at shrinking steps, extrapolated" in words
    assert "not measured: second derivatives not fuzzed for this op" in words


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--density", "2"],
            "--density does not apply to the default run: it is for --accuracy "
            "(samples per binade)",
        ),
        (
            ["--mutants", "--density", "2"],
            "--density does not apply to --mutants: it is for --accuracy",
        ),
        (["--plot", "pictures"], "--plot does not apply to the default run: it is for --accuracy"),
        (
            ["--accuracy", "--examples", "5"],
            "--examples does not apply to --accuracy: it is for the default run and --mutants",
        ),
        (
            ["--layers", "--examples", "5"],
            "--examples does not apply to --layers: it is for the default run and --mutants",
        ),
        (["--accuracy", "--jobs", "2"], "--jobs does not apply to --accuracy: it is for the "),
        (["--mutants", "--jobs", "2"], "--jobs does not apply to --mutants: it is for the default"),
        (["--layers", "--jobs", "2"], "--jobs does not apply to --layers: it is for the default"),
        (
            ["--mutants", "--dtype", "float32"],
            "--dtype does not apply to --mutants: it is for the default run, --accuracy and "
            "--layers (each mutant has its own dtype)",
        ),
        (
            ["--layers", "--op", "neg"],
            "--op does not apply to --layers: it is for the default run, --accuracy and --mutants",
        ),
        (["--accuracy", "--mutants"], "--accuracy and --mutants are separate runs: choose one"),
        (
            ["--accuracy", "--mutants", "--layers"],
            "--accuracy, --mutants and --layers are separate runs: choose one",
        ),
    ],
)
def test_an_option_outside_its_run_is_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["verify", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: python -m tinygrad_ref verify" in err
    assert f"python -m tinygrad_ref verify: error: {message}" in err


def test_every_option_of_a_run_is_in_the_table_of_what_applies_where() -> None:
    # NOTE: an option added later must say which runs it applies to
    verify = cli._parser().parse_args(["verify"])
    options = {name for name in vars(verify) if name not in ("command", "command_parser")}
    runs = {flag[2:] for flag in cli.RUNS}
    assert options - runs - {"seed"} == {option[2:] for option in cli.APPLIES_TO}


def test_an_unknown_op_is_refused_with_the_closest_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["verify", "--op", "neg", "tahn"])
    err = capsys.readouterr().err
    suggested = err.split("argument --op: unknown op 'tahn'; did you mean ", 1)[1]
    suggested = suggested.split("?", 1)[0]
    assert "tanh" in re.split(", | or ", suggested)
    assert f"(--help lists the {len(REGISTRY)} ops)" in err
    assert "arcsinh" not in err  # NOTE: not every name
    with pytest.raises(SystemExit):
        cli.main(["verify", "--op", "xyzzy"])
    err = capsys.readouterr().err
    assert f"argument --op: unknown op 'xyzzy' (--help lists the {len(REGISTRY)} ops)" in err


def test_an_op_named_twice_runs_once(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["verify", "--op", "neg", "add", "neg", "--examples", "2", "--jobs", "1"]
    assert cli.main(argv) == 0
    output = capsys.readouterr().out
    rows = [line.split()[0] for line in output.splitlines() if line.endswith("pass")]
    assert rows == ["neg", "add"]
    assert "all 2 ops pass" in output
