"""An LSTM learns to predict the next value of a noisy sine curve, as in the last step of
DeZero's book, on tinygrad_ref's datasets, data loader, layers and optimizer.

``SinCurve`` holds 999 values of ``sin(x) + noise`` over one period, each paired with the next;
a ``SeqDataLoader`` cuts the sequence into 30 stretches and walks along them together, so each
batch holds one value of each stretch. An ``LSTM`` of 100 units and a ``Linear`` read out the
next value; the loss is backpropagated every 30 batches and the graph cut there
(``unchain_backward``: truncated backpropagation through time), and Adam updates the weights.
The mean loss of each epoch falls, and the trained model then predicts ``cos(x)``, a curve it
never saw, one step ahead.

Run: python examples/lstm_sine.py [EPOCHS]
"""

from __future__ import annotations

import sys

import numpy as np

import tinygrad_ref.functions as F
import tinygrad_ref.layers as L
from tinygrad_ref import Model, Operand, SeqDataLoader, Variable, no_grad, optimizers
from tinygrad_ref.datasets import SinCurve

EPOCHS = 30
HIDDEN = 100
BATCH = 30
BPTT = 30


class NextValue(Model):
    """An LSTM and a linear read-out: the next value of the sequence from the ones so far."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.lstm = L.LSTM(hidden_size)
        self.out = L.Linear(1)

    def reset_state(self) -> None:
        self.lstm.reset_state()

    def forward(self, x: Operand) -> Variable:
        return self.out(self.lstm(x))


def train(model: NextValue, loader: SeqDataLoader, epochs: int) -> list[float]:
    """The mean loss of each epoch's batches."""
    optimizer = optimizers.Adam().setup(model)
    losses = []
    for epoch in range(epochs):
        model.reset_state()
        total, loss, count = 0.0, Variable(np.zeros(())), 0
        for x, t in loader:
            loss = loss + F.mean_squared_error(model(x), t)
            count += 1
            if count % BPTT == 0 or count == loader.max_iter:
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
                total += float(loss.data)
                loss = Variable(np.zeros(()))
        losses.append(total / count)
        print(f"epoch {epoch + 1:2d}: loss {losses[-1]:.5f}")
    return losses


def one_step_error(model: NextValue, curve: SinCurve) -> float:
    """The mean squared error of the model's prediction of each next value of ``curve``, fed
    the values one at a time."""
    model.reset_state()
    errors = []
    with no_grad():
        for x, t in curve:
            y = model(x.reshape(1, 1))
            errors.append(float((y.data[0, 0] - t[0]) ** 2))
    return float(np.mean(errors))


def main(argv: list[str] | None = None) -> tuple[list[float], float]:
    args = sys.argv[1:] if argv is None else argv
    epochs = int(args[0]) if args else EPOCHS
    np.random.seed(0)  # noqa: NPY002  # NOTE: the curve's noise and the initial weights
    model = NextValue(HIDDEN)
    losses = train(model, SeqDataLoader(SinCurve(train=True), BATCH), epochs)
    error = one_step_error(model, SinCurve(train=False))
    print(f"cos(x), never seen, one step ahead: mean squared error {error:.5f}")
    return losses, error


if __name__ == "__main__":
    main()
