"""A two-layer perceptron fits sin(2 pi x) on 100 points by gradient descent.

``tanh(x @ W1 + b1) @ W2 + b2`` with 16 hidden units, the mean squared error, and plain
gradient descent; the loss ends far below 0.01.

Run: python examples/mlp_sine.py
"""

from __future__ import annotations

import numpy as np

from tinygrad_ref import Array, Variable, tanh

HIDDEN = 16
STEPS = 10_000
LEARNING_RATE = 0.1


class MLP:
    def __init__(self, hidden: int, rng: np.random.Generator) -> None:
        # NOTE: weights scaled by 1/sqrt(fan-in) (LeCun), so that tanh starts unsaturated.
        self.W1 = Variable(rng.standard_normal((1, hidden)), name="W1")
        self.b1 = Variable(np.zeros(hidden), name="b1")
        self.W2 = Variable(rng.standard_normal((hidden, 1)) / np.sqrt(hidden), name="W2")
        self.b2 = Variable(np.zeros(1), name="b2")

    def parameters(self) -> list[Variable]:
        return [self.W1, self.b1, self.W2, self.b2]

    def __call__(self, x: Array) -> Variable:
        return tanh(x @ self.W1 + self.b1) @ self.W2 + self.b2


def train(model: MLP, x: Array, y: Array, steps: int, learning_rate: float) -> list[float]:
    """The loss before each step."""
    losses = []
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        for p in model.parameters():
            p.cleargrad()
        loss.backward()
        for p in model.parameters():
            assert p.grad is not None
            p.data -= learning_rate * p.grad.data
        losses.append(float(loss.data))
    return losses


def main() -> float:
    rng = np.random.default_rng(0)
    x = rng.random((100, 1))
    y = np.sin(2 * np.pi * x)
    model = MLP(HIDDEN, rng)
    losses = train(model, x, y, STEPS, LEARNING_RATE)
    for step in range(0, STEPS, STEPS // 5):
        print(f"step {step:5d}: loss {losses[step]:.5f}")
    final = float((((model(x) - y) ** 2).mean()).data)
    print(f"final loss {final:.5f}")
    return final


if __name__ == "__main__":
    main()
