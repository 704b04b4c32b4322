"""A Gaussian process's negative log marginal likelihood, and its gradient by the kernel's
hyperparameters, checked two ways.

For inputs x and targets y, a squared-exponential kernel with length scale l, signal scale s
and noise n gives K = s² exp(-|xᵢ - xⱼ|² / 2l²) + n² I, and

    NLL(θ) = ½ yᵀ K⁻¹ y + ½ log det K + (m/2) log 2π,   θ = (log l, log s, log n).

Here the data term goes through the Cholesky factor (z = L⁻¹ y by ``solve``, ½ zᵀz) and the
log-determinant through ``slogdet``. Its gradient is checked against the numerical oracle
(``gradcheck``) and against the formula by hand,

    ∂NLL/∂θₖ = ½ tr((K⁻¹ - a aᵀ) ∂K/∂θₖ),   a = K⁻¹ y,

with ∂K/∂log l = K_se ⊙ D / l², ∂K/∂log s = 2 K_se, ∂K/∂log n = 2 n² I (K_se the kernel
without the noise, D the squared distances). A few steps of gradient descent then fit θ.

Run: python examples/gaussian_process.py
"""

from __future__ import annotations

import math

import numpy as np

from tinygrad_ref import Array, Variable, exp, gradcheck
from tinygrad_ref.ops.linalg import cholesky, slogdet, solve


def data(m: int = 20, seed: int = 0) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, m))
    y = np.sin(x) + 0.1 * rng.standard_normal(m)
    return x, y


def nll(theta: Variable, x: Array, y: Array) -> Variable:
    """The negative log marginal likelihood at ``theta = (log l, log s, log n)``."""
    log_l, log_s, log_n = theta[0], theta[1], theta[2]
    squared = (x[:, None] - x[None, :]) ** 2
    k = exp(2 * log_s - squared / (2 * exp(2 * log_l))) + exp(2 * log_n) * np.eye(len(x))
    z = solve(cholesky(k), y)
    _, logdet = slogdet(k)
    return 0.5 * (z * z).sum() + 0.5 * logdet + 0.5 * len(x) * math.log(2 * math.pi)


def by_hand(theta: Array, x: Array, y: Array) -> Array:
    """The gradient of :func:`nll` by the closed form above."""
    length, scale, noise = np.exp(theta)
    squared = (x[:, None] - x[None, :]) ** 2
    se = scale**2 * np.exp(-squared / (2 * length**2))
    k = se + noise**2 * np.eye(len(x))
    inverse = np.linalg.inv(k)
    alpha = inverse @ y
    inner = inverse - np.outer(alpha, alpha)
    derivatives = [se * squared / length**2, 2 * se, 2 * noise**2 * np.eye(len(x))]
    return np.array([0.5 * np.sum(inner * d) for d in derivatives])


def main() -> dict[str, float]:
    x, y = data()
    theta = Variable(np.log(np.array([1.5, 0.8, 0.3])), name="theta")
    value = nll(theta, x, y)
    value.backward()
    assert theta.grad is not None
    gradient = theta.grad.data
    hand = by_hand(theta.data, x, y)
    difference = float(np.max(np.abs(gradient - hand)))
    oracle = gradcheck(lambda t: nll(t, x, y), Variable(theta.data.copy()))
    print(f"NLL at theta0: {float(value.data):.6f}")
    print(f"gradient:      {np.array2string(gradient, precision=6)}")
    print(f"by hand:       {np.array2string(hand, precision=6)}")
    print(f"largest difference from the formula: {difference:.1e}; gradcheck: {oracle}")
    for _ in range(200):
        theta.cleargrad()
        nll(theta, x, y).backward()
        assert theta.grad is not None
        theta.data = theta.data - 0.05 * theta.grad.data
    fitted = float(nll(theta, x, y).data)
    scales = np.array2string(np.exp(theta.data), precision=4)
    print(f"NLL after 200 steps: {fitted:.6f}, (l, s, n) = {scales}")
    return {"nll": float(value.data), "difference": difference, "fitted": fitted}


if __name__ == "__main__":
    main()
