"""The worked examples in examples/ run and reach what they promise."""

import importlib.util
import itertools
import math
import os
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tinygrad_ref import Variable

EXAMPLES = Path(__file__).parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples.{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tanh_derivative(n: int, x: np.ndarray) -> np.ndarray:
    """d^n/dx^n tanh(x) as a polynomial in t = tanh(x): differentiate, times dt/dx = 1 - t^2."""
    p = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(n):
        p = p.deriv() * np.polynomial.Polynomial([1.0, 0.0, -1.0])
    values: np.ndarray = p(np.tanh(x))
    return values


def test_newton_converges_quadratically_to_the_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    path = load("newton").main()
    assert path[0] == pytest.approx(1.4545454545454546, rel=1e-15)  # 2 - 24 / 44
    errors = [abs(x - 1.0) for x in path]
    assert errors[-1] < 1e-15
    assert all(e1 <= 2 * e0**2 for e0, e1 in itertools.pairwise(errors) if e0 > 0)
    assert "step 7: x = 1.0000000000000000" in capsys.readouterr().out


def functions_in_graph(output: Variable) -> int:
    """How many functions ``output`` depends on."""
    seen: set[int] = set()
    stack = [output.creator]
    while stack:
        f = stack.pop()
        if f is not None and id(f) not in seen:
            seen.add(id(f))
            stack.extend(x.creator for x in f.inputs)
    return len(seen)


def test_tanh_derivatives_match_the_closed_form_and_the_graph_is_drawn(tmp_path: Path) -> None:
    graph = tmp_path / "tanh.svg"
    grads = load("tanh_derivatives").main([str(graph)])
    x = np.linspace(-2.0, 2.0, 5)
    assert len(grads) == 6
    for n, gx in enumerate(grads, 1):
        np.testing.assert_allclose(gx.data, tanh_derivative(n, x), rtol=1e-12, atol=1e-12)
    # NOTE: 558 when tanh's derivative was the graph e (1 + e) ** -2 rather than sech2's node
    assert functions_in_graph(grads[-1]) <= 275
    if shutil.which("dot") is not None or os.environ.get("CI"):
        assert "<svg" in graph.read_text()


@pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"), reason="needs Graphviz's dot"
)
def test_tanh_derivatives_draws_in_a_new_temporary_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    module = load("tanh_derivatives")
    monkeypatch.setattr(module, "ORDER", 2)  # NOTE: a small graph: where it goes is the point
    module.main([])
    printed = capsys.readouterr().out.splitlines()[-1]
    assert printed.startswith("graph of the 2th derivative: ")  # NOTE: 6th unless patched
    graph = Path(printed.rsplit(": ", 1)[1])
    assert graph.name == "tanh_6th_derivative.svg"
    assert graph.parent.parent == tmp_path  # NOTE: a directory of its own, not the current one
    assert "<svg" in graph.read_text()
    assert sorted(tmp_path.iterdir()) == [graph.parent]


def test_tanh_derivatives_draws_into_a_directory_given(tmp_path: Path) -> None:
    module = load("tanh_derivatives")
    assert module.graph_path(str(tmp_path)) == tmp_path / "tanh_6th_derivative.svg"
    assert module.graph_path(str(tmp_path / "g.png")) == tmp_path / "g.png"


def test_linear_regression_finds_the_slope_and_intercept(tmp_path: Path) -> None:
    graph = tmp_path / "loss.png"
    argv = ["--graph", str(graph)] if shutil.which("dot") or os.environ.get("CI") else []
    slope, intercept = load("linear_regression").main(argv)
    assert abs(slope - 2.0) < 0.1
    assert abs(intercept - 5.0) < 0.1
    if argv:
        assert graph.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_perceptron_fits_the_sine() -> None:
    loss = load("mlp_sine").main()
    assert math.isfinite(loss)
    assert loss < 0.01


def test_the_cnn_reads_the_synthetic_digits(capsys: pytest.CaptureFixture[str]) -> None:
    accuracy = load("cnn_digits").main()
    assert accuracy >= 0.95
    assert f"test accuracy {accuracy:.1%}" in capsys.readouterr().out


def test_the_lstm_learns_the_sine_curve(capsys: pytest.CaptureFixture[str]) -> None:
    losses, error = load("lstm_sine").main(["6"])
    out = capsys.readouterr().out
    assert len(losses) == 6
    assert f"epoch  6: loss {losses[-1]:.5f}" in out
    assert losses[-1] < losses[0] / 5
    # NOTE: predicting 0 for cos(x) would give 0.5
    assert error < 0.05
    assert f"mean squared error {error:.5f}" in out


def rosenbrock_gradient(x: np.ndarray) -> np.ndarray:
    """The gradient of sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, derived by hand."""
    r = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * r - 2 * (1 - x[:-1])
    g[1:] += 200 * r
    return g


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    """Its Hessian, tridiagonal, derived by hand."""
    h = np.diag(np.r_[1200 * x[:-1] ** 2 - 400 * x[1:] + 2, 0.0])
    h[1:, 1:] += np.diag(np.full(x.size - 1, 200.0))
    off = np.diag(-400 * x[:-1], 1)
    result: np.ndarray = h + off + off.T
    return result


def test_newton_with_the_hessian_reaches_the_rosenbrock_minimum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load("rosenbrock_newton")
    x0 = np.full(10, 0.9)
    np.testing.assert_allclose(
        example.hessian(example.rosenbrock)(x0), rosenbrock_hessian(x0), rtol=1e-13, atol=1e-12
    )
    path = example.main()
    expected_first = x0 - np.linalg.solve(rosenbrock_hessian(x0), rosenbrock_gradient(x0))
    np.testing.assert_allclose(path[0], expected_first, rtol=1e-12)
    errors = [float(np.max(np.abs(x - 1.0))) for x in path]
    assert errors[-1] < 1e-8
    assert all(e1 <= 20 * e0**2 for e0, e1 in itertools.pairwise(errors) if 1e-6 < e0 < 0.05)
    assert f"step {len(path)}: max |x - 1| = " in capsys.readouterr().out


def test_a_hessian_free_step_solves_newtons_system_and_decreases_the_function() -> None:
    example = load("hessian_free")
    x = np.full(100, 1.1)
    step = example.hessian_free_step(x)
    g = rosenbrock_gradient(x)
    residual = np.linalg.norm(rosenbrock_hessian(x) @ step.p + g) / np.linalg.norm(g)
    assert residual < 1e-8
    assert step.products < x.size  # NOTE: fewer products than the Hessian's columns
    assert step.f_before == pytest.approx(99 * (100 * (1.1 - 1.21) ** 2 + 0.1**2), rel=1e-12)
    assert step.f_after < step.f_before / 10
    with pytest.raises(ValueError, match="not positive definite"):
        example.hessian_free_step(np.full(100, 0.9))


def test_gaussian_process_gradient_matches_the_formula_and_the_oracle(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = load("gaussian_process").main()
    assert result["difference"] < 1e-10
    assert result["fitted"] < result["nll"] - 10  # NOTE: the fit lowers the NLL by e^10 and more
    assert "gradcheck: True" in capsys.readouterr().out
