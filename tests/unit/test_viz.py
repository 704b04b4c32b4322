import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinygrad_ref import Variable, tanh, viz

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it: apt-get install graphviz)",
)


def named_graph() -> Variable:
    a = Variable(np.ones((2, 3)), name="a")
    b = Variable(np.ones(3, dtype=np.float32), name="b")
    y = a * b + a
    y.name = "y"
    return y


def test_to_dot_lists_variables_functions_and_data_flow_edges_in_order() -> None:
    assert viz.to_dot(named_graph()) == (
        "digraph g {\n"
        '  v0 [label="a", color=orange, style=filled]\n'
        '  v1 [label="b", color=orange, style=filled]\n'
        '  f0 [label="Mul", color=lightblue, style=filled, shape=box]\n'
        "  v0 -> f0\n"
        "  v1 -> f0\n"
        '  v2 [label="", color=orange, style=filled]\n'
        "  f0 -> v2\n"
        '  f1 [label="Add", color=lightblue, style=filled, shape=box]\n'
        "  v2 -> f1\n"
        "  v0 -> f1\n"
        '  v3 [label="y", color=orange, style=filled]\n'
        "  f1 -> v3\n"
        "}\n"
    )


def test_verbose_labels_add_shape_and_dtype() -> None:
    dot = viz.to_dot(named_graph(), verbose=True)
    assert 'label="a: (2, 3) float64"' in dot
    assert 'label="b: (3,) float32"' in dot
    assert 'label="(2, 3) float64"' in dot


def test_a_leaf_is_one_node_and_names_are_escaped() -> None:
    dot = viz.to_dot(Variable(1.0, name='say "hi"\\'))
    assert dot == 'digraph g {\n  v0 [label="say \\"hi\\"\\\\", color=orange, style=filled]\n}\n'


def test_every_function_of_a_gradient_graph_appears_once() -> None:
    x = Variable(0.5, name="x")
    tanh(x).backward(create_graph=True)
    gx = x.grad
    assert gx is not None
    x.cleargrad()
    gx.backward(create_graph=True)
    assert x.grad is not None
    dot = viz.to_dot(x.grad)
    # NOTE: the second derivative, seeds * -2 sech2(x) tanh(x): x feeds two functions, and
    # is drawn once, before both.
    assert dot.count('label="x"') == 1
    assert dot.count("shape=box") == 6
    assert dot.index('label="x"') < dot.index('label="Sech2"') < dot.index('label="Tanh"')


@needs_dot
def test_render_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "graph.png"
    viz.render(named_graph(), path, verbose=True)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 100


@needs_dot
def test_render_writes_an_svg(tmp_path: Path) -> None:
    path = tmp_path / "graph.svg"
    viz.render(named_graph(), str(path))
    assert "<svg" in path.read_text()


def test_render_refuses_another_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"graph\.pdf'.* must end in \.png or \.svg"):
        viz.render(named_graph(), tmp_path / "graph.pdf")


def test_render_without_dot_says_how_to_install_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"needs Graphviz's `dot`.*apt-get install graphviz"):
        viz.render(named_graph(), tmp_path / "graph.png")
    assert not (tmp_path / "graph.png").exists()


@pytest.mark.parametrize(("name", "label"), [(5, "5"), (0, "0"), ("", ""), (2.5, "2.5")])
def test_a_name_is_drawn_as_its_string(name: object, label: str) -> None:
    x = Variable(np.ones(2), name=name)  # type: ignore[arg-type]  # NOTE: DeZero takes any name
    assert f'v0 [label="{label}", color=orange' in viz.to_dot(x)
    y = x * 2.0
    y.name = name  # type: ignore[assignment]  # NOTE: DeZero takes any name
    assert f'v1 [label="{label}", color=orange' in viz.to_dot(y)
