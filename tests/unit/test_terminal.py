import io

import pytest

from tests.helpers import Terminal
from tinygrad_ref.verification import terminal
from tinygrad_ref.verification.terminal import Progress, all_pass, legend, name_width, plural


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 ops"), (1, "1 op"), (2, "2 ops"), (119, "119 ops")]
)
def test_plural_agrees_with_the_count(count: int, expected: str) -> None:
    assert plural(count, "op") == expected


def test_plural_takes_an_irregular_plural() -> None:
    assert plural(1, "matrix", "matrices") == "1 matrix"
    assert plural(3, "matrix", "matrices") == "3 matrices"


def test_all_pass_agrees_with_the_count() -> None:
    assert all_pass(1, "op") == "all 1 op passes"
    assert all_pass(3, "op") == "all 3 ops pass"
    assert all_pass(2, "layer check") == "all 2 layer checks pass"


def test_name_width_fits_the_longest_name_and_the_title() -> None:
    assert name_width(["neg", "softmax_cross_entropy_simple"], "op") == 28
    assert name_width(["a"], "layer") == 5


def test_a_legend_wraps_each_explanation_under_itself() -> None:
    text = legend([("res", "word " * 40), ("-", "not measured")], width=60)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].startswith("  res  word word")
    assert all(line.startswith("       word") for line in lines[1:-1])
    assert lines[-1] == "  -    not measured"
    assert " ".join(text.split()) == "res " + ("word " * 40) + "- not measured"


def test_progress_rewrites_one_line_on_a_terminal() -> None:
    stream = Terminal()
    progress = Progress(stream)
    progress.show("[1/2] neg")
    progress.show("[1/2] neg: 3/5 examples")
    progress.clear()
    erase = terminal.ERASE_LINE
    assert stream.getvalue() == f"{erase}[1/2] neg{erase}[1/2] neg: 3/5 examples{erase}"


def test_progress_cuts_a_line_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    stream = Terminal()
    Progress(stream).show("x" * 50)
    assert stream.getvalue() == terminal.ERASE_LINE + "x" * 19


def test_progress_writes_nothing_where_it_is_no_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress.show("[1/2] neg")
    progress.clear()
    assert stream.getvalue() == ""
