"""tinygrad_ref.functions and the package: DeZero's names, so that a reader changes only the
import lines."""

import inspect

import numpy as np

import tinygrad_ref
import tinygrad_ref.functions as F
from tinygrad_ref import REGISTRY

from ..helpers import import_dezero

DEZERO_FUNCTIONS = """
    sin cos tanh exp log reshape transpose get_item expand_dims flatten sum sum_to
    broadcast_to average matmul linear linear_simple sigmoid_simple sigmoid relu softmax_simple
    softmax log_softmax leaky_relu mean_squared_error_simple mean_squared_error
    softmax_cross_entropy_simple softmax_cross_entropy sigmoid_cross_entropy
    binary_cross_entropy accuracy dropout batch_nrom embed_id max min clip conv2d deconv2d
    conv2d_simple im2col col2im pooling_simple pooling average_pooling add sub rsub mul div neg
    pow
""".split()  # noqa: SIM905  # NOTE: a list of names, read as a paragraph
"""The functions of DeZero 0.0.13's ``dezero.functions`` (and ``functions_conv``)."""


def test_every_function_of_dezero_is_there_under_its_name() -> None:
    missing = [name for name in DEZERO_FUNCTIONS if not callable(getattr(F, name, None))]
    assert missing == []


def test_the_installed_dezero_has_no_function_we_lack() -> None:
    dezero = import_dezero()
    theirs = {
        name
        for name, value in vars(dezero.functions).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }
    # NOTE: DeZero's functions module imports these two conversions from its core
    assert theirs - set(F.__all__) == {"as_array", "as_variable"}
    assert set(DEZERO_FUNCTIONS) - set(F.__all__) == set()


def test_the_functions_are_the_registered_ops() -> None:
    registered = {spec.function for spec in REGISTRY.values()}
    for name in F.__all__:
        assert getattr(F, name) is getattr(tinygrad_ref.ops, name), name
    assert F.linear in registered
    assert F.batch_nrom is F.batch_norm


def test_the_package_has_dezeros_top_level_names() -> None:
    for name in ("Layer", "Model", "Parameter", "Variable", "Function", "no_grad", "test_mode",
                 "using_config", "Config", "as_array", "as_variable"):  # fmt: skip
        assert name in tinygrad_ref.__all__, name
    for module in ("functions", "layers", "models", "optimizers", "utils"):
        assert getattr(tinygrad_ref, module).__name__ == f"tinygrad_ref.{module}"
    assert tinygrad_ref.Layer is tinygrad_ref.layers.Layer
    assert tinygrad_ref.Model is tinygrad_ref.models.Model


def test_functions_compute_as_the_ops() -> None:
    x = tinygrad_ref.Variable(np.array([[1.0, -2.0]]))
    np.testing.assert_array_equal(F.relu(x).data, [[1.0, 0.0]])
