"""The README's Python examples run as written (in order, in one namespace)."""

import re
import textwrap
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def test_readme_examples_run() -> None:
    # NOTE: a block inside a list item is indented with it
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        exec(compile(textwrap.dedent(block), str(README), "exec"), namespace)
    test_cube = namespace["test_cube"]
    assert callable(test_cube)
    test_cube()
