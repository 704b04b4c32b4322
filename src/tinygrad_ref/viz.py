"""Pictures of a graph: Graphviz DOT text, and PNG or SVG files drawn by Graphviz's ``dot``.

No Python dependency: the DOT text is written here and ``dot`` runs as a program, so rendering
needs Graphviz installed (``apt-get install graphviz``, ``brew install graphviz``, ...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tinygrad_ref.core import Function, Variable

FORMATS = {".png": "png", ".svg": "svg"}
"""The file suffixes :func:`render` writes, and the ``dot`` output format of each."""

INSTALL_HINT = (
    "install Graphviz: apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
    "(macOS), conda install graphviz, or https://graphviz.org/download/"
)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _label(v: Variable, verbose: bool) -> str:
    """DeZero's label: the name, then with ``verbose`` the shape and dtype."""
    label = "" if v.name is None else str(v.name)
    if verbose:
        label += f"{': ' if label else ''}{v.shape} {v.dtype}"
    return label


def _steps(output: Variable) -> list[tuple[Function, Variable]]:
    """Every function ``output`` depends on with the variable it computed, in an order they
    can have run in: by generation, then inputs from left to right."""
    steps: list[tuple[Function, Variable]] = []
    seen: set[Function] = set()
    stack = [output]
    while stack:
        v = stack.pop()
        f = v.creator
        if f is None or f in seen:
            continue
        seen.add(f)
        steps.append((f, v))
        stack.extend(reversed(f.inputs))
    order = {f: i for i, (f, _) in enumerate(steps)}
    return sorted(steps, key=lambda step: (step[0].generation, order[step[0]]))


def to_dot(output: Variable, verbose: bool = False) -> str:
    """The graph that computed ``output`` in Graphviz's DOT language: variables as ellipses
    labelled with their name (and with ``verbose``, their shape and dtype), functions as boxes
    labelled with their class, edges in the direction data flows (input -> function -> output),
    listed in the order the functions ran."""
    lines = ["digraph g {"]
    variables: dict[Variable, str] = {}

    def variable(v: Variable) -> str:
        if v not in variables:
            variables[v] = f"v{len(variables)}"
            label = _quoted(_label(v, verbose))
            lines.append(f"  {variables[v]} [label={label}, color=orange, style=filled]")
        return variables[v]

    steps = _steps(output)
    if not steps:
        variable(output)
    for i, (f, _) in enumerate(steps):
        inputs = [variable(x) for x in f.inputs]
        label = _quoted(type(f).__name__)
        lines.append(f"  f{i} [label={label}, color=lightblue, style=filled, shape=box]")
        lines.extend(f"  {x} -> f{i}" for x in inputs)
        # NOTE: every output still alive; the one the walk came through is
        outputs = [ref() for ref in f.outputs]
        lines.extend(f"  f{i} -> {variable(y)}" for y in outputs if y is not None)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(output: Variable, path: str | os.PathLike[str], verbose: bool = False) -> None:
    """Draw the graph of ``output`` (see :func:`to_dot`) to ``path``, a PNG or SVG file by its
    suffix, with Graphviz's ``dot`` program."""
    path = Path(path)
    file_format = FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise ValueError(
            f"cannot render to {str(path)!r}: the file name must end in " + " or ".join(FORMATS)
        )
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(f"rendering a graph needs Graphviz's `dot` program; {INSTALL_HINT}")
    result = subprocess.run(
        [dot, f"-T{file_format}", "-o", str(path)],
        input=to_dot(output, verbose),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dot failed with exit status {result.returncode}: {result.stderr}")
