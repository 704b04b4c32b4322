"""What the verification tables share on a terminal: a progress line, plurals, legends."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Sequence
from typing import TextIO

ERASE_LINE = "\r\x1b[K"
"""Back to the start of the line and erase it (ANSI)."""

LEGEND_WIDTH = 100


class Progress:
    """One status line on a terminal, rewritten in place and erased before a table row prints,
    so that nothing of it is left on the screen; nothing at all where ``stream`` is not a
    terminal (piped or redirected)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def show(self, text: str) -> None:
        if self.live:
            width = max(1, shutil.get_terminal_size().columns - 1)
            self.stream.write(ERASE_LINE + text[:width])
            self.stream.flush()

    def clear(self) -> None:
        if self.live:
            self.stream.write(ERASE_LINE)
            self.stream.flush()


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 op``, ``2 ops``: the count and the noun, in the plural unless the count is 1."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def all_pass(count: int, noun: str, verb: str = "pass") -> str:
    """``all 1 op passes``, ``all 3 ops pass``."""
    return f"all {plural(count, noun)} {verb + 'es' if count == 1 else verb}"


def name_width(names: Iterable[str], title: str) -> int:
    """The width of a column holding ``names`` under ``title``."""
    return max(len(title), *(len(name) for name in names))


def legend(entries: Sequence[tuple[str, str]], width: int = LEGEND_WIDTH) -> str:
    """A legend of short lines: each key, then its explanation wrapped under itself."""
    indent = 2 + max(len(key) for key, _ in entries) + 2
    lines = []
    for key, text in entries:
        lines += textwrap.wrap(
            text,
            width,
            initial_indent=f"  {key:<{indent - 4}}  ",
            subsequent_indent=" " * indent,
            break_on_hyphens=False,
        )
    return "\n".join(lines)
