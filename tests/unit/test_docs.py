"""The README and the docs site (docs/*.md) say what the code does.

* Every page of the docs is linked from the README's table of contents and listed in the site's
  navigation (mkdocs.yml).
* Every ```python block runs on its own, imports included, in a fresh namespace (and runs the
  ``test_*`` functions it defines). A block whose first line is ``# needs: <module>`` (a recipe
  for an optional framework) runs where that module is installed and is skipped with the
  reason otherwise.
* A block that prints is followed by a ```text block (only blank lines between) holding exactly
  what it prints, up to trailing whitespace.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
# NOTE: a block inside a list item is indented with it, its closing fence too
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```[ \t]*\n", re.M | re.S
)
NEEDS = re.compile(r"# needs: (\w+)\n")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    code: str
    printed: str | None  # the ```text block right after it, if any

    @property
    def needs(self) -> str | None:
        match = NEEDS.match(self.code)
        return match.group(1) if match else None

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _dedent(body: str, indent: str) -> str:
    return "".join(line.removeprefix(indent) for line in body.splitlines(keepends=True))


def python_blocks(path: Path) -> list[Block]:
    text = path.read_text()
    fences = list(FENCE.finditer(text))
    blocks = []
    for i, fence in enumerate(fences):
        if fence.group("lang") != "python":
            continue
        following = fences[i + 1] if i + 1 < len(fences) else None
        printed = None
        if (
            following is not None
            and following.group("lang") == "text"
            and not text[fence.end() : following.start()].strip()
        ):
            printed = _dedent(following.group("body"), following.group("indent"))
        line = text.count("\n", 0, fence.start()) + 1
        code = _dedent(fence.group("body"), fence.group("indent"))
        blocks.append(Block(path, line, code, printed))
    return blocks


BLOCKS = [block for path in [README, *PAGES] for block in python_blocks(path)]


def _normalized(output: str) -> list[str]:
    return [line.rstrip() for line in output.rstrip().splitlines()]


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_python_block_runs_on_its_own_and_prints_what_the_text_says(
    block: Block,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if block.needs is not None:
        pytest.importorskip(block.needs, reason=f"{block}: the recipe needs {block.needs}")
    monkeypatch.chdir(tmp_path)  # NOTE: a block may write files
    namespace: dict[str, object] = {"__name__": "docs"}
    exec(compile(block.code, str(block), "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
    printed = capsys.readouterr().out
    if block.printed is None:
        assert not printed, f"{block} prints, but no ```text block follows it:\n{printed}"
    else:
        assert _normalized(printed) == _normalized(block.printed), f"{block} prints otherwise"


def test_the_blocks_are_found() -> None:
    assert len(BLOCKS) >= 30
    assert sum(block.printed is not None for block in BLOCKS) >= 15
    assert [block.needs for block in BLOCKS if block.needs] == ["torch", "jax"]


def test_a_block_in_a_list_item_is_found_with_its_indentation() -> None:
    (block,) = [b for b in BLOCKS if "assert x.grad.data == 4.0" in b.code]
    assert block.code.startswith(("import ", "from "))


def _linked_pages(markdown: str, prefix: str) -> set[str]:
    return set(re.findall(rf"\]\({re.escape(prefix)}([\w.-]+\.md)\)", markdown))


def test_every_docs_page_is_in_the_readmes_table_of_contents() -> None:
    readme = README.read_text()
    match = re.search(r"^## Documentation\n(.*?)(?=^## )", readme, flags=re.M | re.S)
    assert match is not None, "the README has no '## Documentation' section"
    assert _linked_pages(match.group(1), "docs/") == {page.name for page in PAGES}


def test_every_docs_page_is_in_the_sites_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config[config.index("\nnav:\n") :]
    listed = re.findall(r"^  - [^:\n]+: ([\w.-]+\.md)$", nav, flags=re.M)
    assert len(listed) == len(set(listed))
    assert set(listed) == {page.name for page in PAGES}
