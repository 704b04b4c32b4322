"""tinygrad_ref: a small, fully typed reverse-mode autodiff library for NumPy whose every
derivative is verified."""

from tinygrad_ref.config import Config, no_grad, using_config
from tinygrad_ref.core import Array, Function, Operand, Tensor, Variable, as_array, as_variable
from tinygrad_ref.gradcheck import (
    GradcheckError,
    GradcheckReport,
    check_gradients,
    check_second_gradients,
    gradcheck,
    gradgradcheck,
    numerical_grad,
)
from tinygrad_ref.ops import (
    add,
    broadcast_to,
    cast,
    div,
    exp,
    log,
    mul,
    neg,
    pow,
    rdiv,
    rpow,
    rsub,
    square,
    sub,
    sum_to,
)
from tinygrad_ref.registry import REGISTRY, OpSpec

__all__ = [
    "REGISTRY",
    "Array",
    "Config",
    "Function",
    "GradcheckError",
    "GradcheckReport",
    "OpSpec",
    "Operand",
    "Tensor",
    "Variable",
    "add",
    "as_array",
    "as_variable",
    "broadcast_to",
    "cast",
    "check_gradients",
    "check_second_gradients",
    "div",
    "exp",
    "gradcheck",
    "gradgradcheck",
    "log",
    "mul",
    "neg",
    "no_grad",
    "numerical_grad",
    "pow",
    "rdiv",
    "rpow",
    "rsub",
    "square",
    "sub",
    "sum_to",
    "using_config",
]
