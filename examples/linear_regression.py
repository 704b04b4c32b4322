"""Linear regression by gradient descent: fit y = 2x + 5 + noise on 100 points.

The model is ``x @ W + b`` (a matmul, and ``b`` broadcast over the rows) and the loss the mean
squared error; each step moves W and b against their gradients.

Run: python examples/linear_regression.py [--graph docs/linear_regression_graph.png]
(``--graph`` draws the loss's graph with its shapes, which needs Graphviz's ``dot``)
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from tinygrad_ref import Array, Variable, viz


def mean_squared_error(prediction: Variable, target: Array) -> Variable:
    return ((prediction - target) ** 2).mean()


def fit(
    x: Array, y: Array, steps: int = 1000, learning_rate: float = 0.1
) -> tuple[Variable, Variable, Variable]:
    """The slope ``W`` (1, 1), the intercept ``b`` (1,), and the last loss."""
    W = Variable(np.zeros((1, 1)), name="W")
    b = Variable(np.zeros(1), name="b")
    for _ in range(steps):
        loss = mean_squared_error(x @ W + b, y)
        W.cleargrad()
        b.cleargrad()
        loss.backward()
        for p in (W, b):
            assert p.grad is not None
            p.data -= learning_rate * p.grad.data
    return W, b, loss


def main(argv: Sequence[str] | None = None) -> tuple[float, float]:
    parser = argparse.ArgumentParser(description="Fit y = 2x + 5 + noise by gradient descent.")
    parser.add_argument("--graph", help="draw the loss's graph to this .png or .svg file")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((100, 1))
    y = 2 * x + 5 + rng.normal(0.0, 0.1, size=(100, 1))
    W, b, loss = fit(x, y)
    slope, intercept = float(W.data[0, 0]), float(b.data[0])
    print(f"y = {slope:.4f} x + {intercept:.4f}  (loss {float(loss.data):.5f})")
    if args.graph:
        loss.name = "loss"
        viz.render(loss, args.graph, verbose=True)
        print(f"graph of the loss: {args.graph}")
    return slope, intercept


if __name__ == "__main__":
    main()
