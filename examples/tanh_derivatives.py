"""The first to sixth derivatives of tanh by repeated backward, and the graph of the sixth.

Each ``backward(create_graph=True)`` records the reverse pass, so ``x.grad`` is a graph over x
that can be differentiated again. The graphs grow fast: the sixth derivative's has 275
functions. Drawing it needs Graphviz's ``dot``; without it the derivatives are still printed.

Run: python examples/tanh_derivatives.py [GRAPH]   (a file, .svg or .png, or a directory to
write tanh_6th_derivative.svg in; by default a new temporary directory. The path is printed.
An SVG of this graph is about 850 KB; rasterizing it to PNG takes a few seconds.)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinygrad_ref import Variable, tanh, viz

ORDER = 6


def derivatives(x: Variable, order: int) -> list[Variable]:
    """d/dx tanh(x), ..., d^order/dx^order tanh(x), elementwise over ``x``, each a graph."""
    x.cleargrad()
    tanh(x).backward(create_graph=True)
    result = []
    for n in range(1, order + 1):
        gx = x.grad
        assert gx is not None
        gx.name = f"tanh^({n})"
        result.append(gx)
        if n < order:
            x.cleargrad()
            gx.backward(create_graph=True)
    x.cleargrad()
    return result


GRAPH = "tanh_6th_derivative.svg"


def graph_path(argument: str | None) -> Path:
    """Where the graph goes: the file named, ``GRAPH`` in the directory named, or ``GRAPH`` in
    a new temporary directory."""
    if argument is None:
        return Path(tempfile.mkdtemp(prefix="tinygrad_ref_")) / GRAPH
    path = Path(argument)
    return path / GRAPH if path.is_dir() else path


def main(argv: Sequence[str] | None = None) -> list[Variable]:
    args = sys.argv[1:] if argv is None else list(argv)
    x = Variable(np.linspace(-2.0, 2.0, 5), name="x")
    grads = derivatives(x, ORDER)
    print("x        " + " ".join(f"{v:>9.3f}" for v in x.data))
    for n, gx in enumerate(grads, 1):
        print(f"tanh^({n}) " + " ".join(f"{v:>9.3f}" for v in gx.data))
    if shutil.which("dot") is None:
        print(f"Graphviz's dot is not installed: not drawing the {ORDER}th derivative's graph")
        return grads
    graph = graph_path(args[0] if args else None)
    viz.render(grads[-1], graph)
    print(f"graph of the {ORDER}th derivative: {graph}")
    return grads


if __name__ == "__main__":
    main()
