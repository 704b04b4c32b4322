"""The README's Python examples run as written (in order, in one namespace); a block whose
first line is ``# needs: <module>`` (a recipe for an optional framework) runs on its own when
that module is installed, and is skipped with the reason otherwise."""

import re
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"
# NOTE: a block inside a list item is indented with it
BLOCKS = [
    textwrap.dedent(block)
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
]
NEEDS = re.compile(r"# needs: (\w+)\n")
RECIPES = [(match.group(1), block) for block in BLOCKS if (match := NEEDS.match(block))]


def test_readme_examples_run() -> None:
    assert BLOCKS
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in BLOCKS:
        if not NEEDS.match(block):
            exec(compile(block, str(README), "exec"), namespace)
    test_cube = namespace["test_cube"]
    assert callable(test_cube)
    test_cube()


@pytest.mark.parametrize(("module", "block"), RECIPES, ids=[module for module, _ in RECIPES])
def test_readme_recipes_run_where_their_framework_is_installed(module: str, block: str) -> None:
    pytest.importorskip(module, reason=f"the README's {module} recipe needs {module} installed")
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})


def test_the_readme_has_the_torch_and_jax_recipes() -> None:
    assert [module for module, _ in RECIPES] == ["torch", "jax"]
