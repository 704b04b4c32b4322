"""Step 47: an MLP's scores turned into probabilities by softmax, and the cross entropy loss."""

import numpy as np
import pytest

import tinygrad_ref.functions as F
from tinygrad_ref import Operand, Variable, as_variable
from tinygrad_ref.models import MLP

from .book import assert_prints

BOOK = """
variable([[-0.61505778 -0.42790161  0.31733289]])
variable([[0.21068639 0.25404893 0.53526469]])
variable([[-0.61505778 -0.42790161  0.31733289]
          [-0.76395313 -0.2497645   0.18591382]
          [-0.52006391 -0.96254612  0.57818938]
          [-0.94252164 -0.50307479  0.17576323]])
variable([[0.21068639 0.25404893 0.53526469]
          [0.19019916 0.31806646 0.49173438]
          [0.21545395 0.13841619 0.64612986]
          [0.17820704 0.27655034 0.54524263]])
variable(1.4967442524053063)
"""


def softmax_over_everything(x: Operand) -> Variable:
    """The book's ``softmax1d``: exp, normalized by the sum over every element."""
    e = F.exp(as_variable(x))
    return e / F.sum(e)


def test_step47(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)  # noqa: NPY002
    model = MLP((10, 3))
    one = Variable(np.array([[0.2, -0.4]]))
    scores = model(one)
    print(scores)
    print(softmax_over_everything(scores))
    batch = np.array([[0.2, -0.4], [0.3, 0.5], [1.3, -3.2], [2.1, 0.3]])
    labels = np.array([2, 0, 1, 0])
    scores = model(batch)
    print(scores)
    print(F.softmax_simple(scores))
    loss = F.softmax_cross_entropy_simple(scores, labels)
    loss.backward()
    print(loss)
    assert_prints(capsys.readouterr().out, BOOK)
