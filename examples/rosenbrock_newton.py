"""Newton's method in n dimensions with ``hessian``: the minimum of the Rosenbrock function.

f(x) = sum_i 100 * (x[i+1] - x[i]**2)**2 + (1 - x[i])**2 has its minimum, 0, at (1, ..., 1),
at the end of a long curved valley. Newton's step solves H(x) p = -g(x) with the gradient
``grad(f)`` and the Hessian ``hessian(f)``: forward over reverse, one pass that carries the n
coordinate directions at once as a batch of tangents. From x = (0.9, ..., 0.9) in 10 dimensions
it reaches the minimum to rounding in 8 steps, the error roughly squaring at each of the last
ones.

Run: python examples/rosenbrock_newton.py
"""

from __future__ import annotations

import numpy as np

from tinygrad_ref import Array, Variable, grad, hessian


def rosenbrock(x: Variable) -> Variable:
    head, tail = x[:-1], x[1:]
    return (100 * (tail - head**2) ** 2 + (1 - head) ** 2).sum()


def newton(x0: Array, steps: int) -> list[Array]:
    """The iterates x1, x2, ... of Newton's method from ``x0``."""
    gradient, curvature = grad(rosenbrock), hessian(rosenbrock)
    x, path = x0, []
    for _ in range(steps):
        x = x - np.linalg.solve(curvature(x), gradient(x))
        path.append(x)
    return path


def main() -> list[Array]:
    path = newton(np.full(10, 0.9), steps=8)
    for step, x in enumerate(path, 1):
        error, value = np.max(np.abs(x - 1)), float(rosenbrock(Variable(x)).data)
        print(f"step {step}: max |x - 1| = {error:.1e}, f(x) = {value:.3e}")
    return path


if __name__ == "__main__":
    main()
