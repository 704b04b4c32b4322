"""The table of docs/numpy-parameters.md: every value it lists is refused with the message it
names."""

import builtins
import re
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ref import Variable

PAGE = Path(__file__).parents[2] / "docs" / "numpy-parameters.md"
ROW = re.compile(r"^\| `(?P<call>[^`]+)` \| (?P<error>\w+) \| `(?P<message>[^`]+)` \| .+ \|$")


def refused_rows() -> list[tuple[str, str, str]]:
    section = PAGE.read_text().split("## Values refused by name", 1)[1]
    return [
        (m["call"], m["error"], m["message"])
        for m in map(ROW.match, section.splitlines())
        if m is not None
    ]


def test_the_table_lists_the_refused_values() -> None:
    assert len(refused_rows()) >= 10


@pytest.mark.parametrize(("call", "error", "message"), refused_rows())
def test_every_value_in_the_table_is_refused_with_its_message(
    call: str, error: str, message: str
) -> None:
    names = {"np": np, "v": Variable(np.arange(1.0, 5.0)), "w": Variable(np.ones((4, 2)))}
    with pytest.raises(getattr(builtins, error)) as raised:
        eval(call, names)
    assert message in str(raised.value)
