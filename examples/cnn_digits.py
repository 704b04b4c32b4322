"""A small convolutional network learns to read 8x8 digits.

The digits are drawn here, like those of a seven-segment display: each of 10 classes lights
its segments of an 8x8 image, shifted by up to a pixel, with strokes of random brightness and
Gaussian noise (no data set to download). The network is DeZero's CNN in miniature: a 3x3
convolution to 8 channels, relu, 2x2 max pooling, one linear layer and the softmax cross
entropy, trained by stochastic gradient descent with momentum. It reads more than 95% of the
test digits right within a few seconds.

Run: python examples/cnn_digits.py
"""

from __future__ import annotations

import time

import numpy as np

from tinygrad_ref import (
    Array,
    Variable,
    conv2d,
    linear,
    no_grad,
    pooling,
    relu,
    softmax_cross_entropy,
)

SEGMENTS = {
    "a": [(0, c) for c in range(1, 6)],
    "b": [(r, 5) for r in range(0, 4)],
    "c": [(r, 5) for r in range(3, 7)],
    "d": [(6, c) for c in range(1, 6)],
    "e": [(r, 1) for r in range(3, 7)],
    "f": [(r, 1) for r in range(0, 4)],
    "g": [(3, c) for c in range(1, 6)],
}
"""The pixels (row, column) of each segment of a seven-segment digit on an 8x8 grid."""

DIGITS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]
"""The segments each digit 0 to 9 lights."""

CHANNELS = 8
EPOCHS = 5
BATCH = 50
LEARNING_RATE = 0.1
MOMENTUM = 0.9


def digits(count: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """``count`` noisy digit images ``(count, 1, 8, 8)`` and their labels ``(count,)``."""
    labels = rng.integers(0, 10, size=count)
    images = np.zeros((count, 1, 8, 8))
    for image, label in zip(images, labels, strict=True):
        dy, dx = rng.integers(0, 2), rng.integers(-1, 2)
        for segment in DIGITS[label]:
            brightness = rng.uniform(0.6, 1.0)
            for r, c in SEGMENTS[segment]:
                image[0, r + dy, c + dx] = brightness
    images += rng.normal(0.0, 0.2, size=images.shape)
    return images, labels.astype(np.float64)


class CNN:
    """conv 3x3 (1 -> CHANNELS) -> relu -> 2x2 max pooling -> linear (-> 10 classes)."""

    def __init__(self, rng: np.random.Generator) -> None:
        # NOTE: He initialization, for the relu.
        self.W = Variable(rng.normal(0.0, np.sqrt(2 / 9), size=(CHANNELS, 1, 3, 3)), name="W")
        self.b = Variable(np.zeros(CHANNELS), name="b")
        features = CHANNELS * 4 * 4
        self.V = Variable(rng.normal(0.0, np.sqrt(1 / features), size=(features, 10)), name="V")
        self.c = Variable(np.zeros(10), name="c")

    def parameters(self) -> list[Variable]:
        return [self.W, self.b, self.V, self.c]

    def __call__(self, x: Array) -> Variable:
        h = pooling(relu(conv2d(x, self.W, self.b, stride=1, pad=1)), 2, stride=2)
        return linear(h.reshape(len(x), -1), self.V, self.c)


def train(model: CNN, x: Array, t: Array, rng: np.random.Generator) -> list[float]:
    """Stochastic gradient descent with momentum; the mean loss of each epoch."""
    velocities = [np.zeros_like(p.data) for p in model.parameters()]
    losses = []
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), BATCH):
            batch = order[start : start + BATCH]
            loss = softmax_cross_entropy(model(x[batch]), t[batch])
            for p in model.parameters():
                p.cleargrad()
            loss.backward()
            for p, v in zip(model.parameters(), velocities, strict=True):
                assert p.grad is not None
                v *= MOMENTUM
                v -= LEARNING_RATE * p.grad.data
                p.data += v
            total += float(loss.data) * len(batch)
        losses.append(total / len(x))
    return losses


def accuracy(model: CNN, x: Array, t: Array) -> float:
    with no_grad():
        predicted = np.argmax(model(x).data, axis=1)
    return float(np.mean(predicted == t))


def main() -> float:
    rng = np.random.default_rng(0)
    x_train, t_train = digits(6000, rng)
    x_test, t_test = digits(1000, rng)
    model = CNN(rng)
    start = time.perf_counter()
    losses = train(model, x_train, t_train, rng)
    for epoch, loss in enumerate(losses, 1):
        print(f"epoch {epoch}: loss {loss:.4f}")
    result = accuracy(model, x_test, t_test)
    print(f"test accuracy {result:.1%} after {time.perf_counter() - start:.1f} s of training")
    return result


if __name__ == "__main__":
    main()
