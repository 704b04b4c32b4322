"""Newton's method with second derivatives: a minimum of f(x) = x**4 - 2 * x**2, from x = 2.

``backward(create_graph=True)`` records the reverse pass, so the first derivative is itself a
graph over x and its backward gives the second derivative. Newton's step is
x <- x - f'(x) / f''(x); it converges quadratically to the minimum at x = 1.

Run: python examples/newton.py
"""

from __future__ import annotations

import numpy as np

from tinygrad_ref import Variable


def f(x: Variable) -> Variable:
    return x**4 - 2 * x**2


def derivatives(x: Variable) -> tuple[float, float]:
    """f'(x) and f''(x)."""
    x.cleargrad()
    f(x).backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    x.cleargrad()
    gx.backward()
    assert x.grad is not None
    second = float(x.grad.data)
    x.cleargrad()  # NOTE: frees the graph of gx, which refers to x
    return float(gx.data), second


def newton(x0: float, steps: int) -> list[float]:
    """The iterates x1, x2, ... of Newton's method from ``x0``."""
    x = Variable(np.array(x0), name="x")
    path = []
    for _ in range(steps):
        first, second = derivatives(x)
        x.data = x.data - first / second
        path.append(float(x.data))
    return path


def main() -> list[float]:
    path = newton(2.0, steps=7)
    for step, x in enumerate(path, 1):
        print(f"step {step}: x = {x:.16f}")
    return path


if __name__ == "__main__":
    main()
