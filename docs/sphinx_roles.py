"""A Griffe extension for the API reference (``mkdocs.yml``): the docstrings are written in
reStructuredText's inline markup (``code``, :func:`name`), which Markdown does not know. It
turns each role into a cross-reference, a link where the object is documented and plain code
elsewhere, and each ``::`` that opens a literal block into a colon, since Markdown already reads
the indented block that follows as code."""

import re

import griffe

ROLE = re.compile(r":(?:func|mod|class|meth|attr|data|exc|obj|const):`(~?)([^`<>]+)`")
LITERAL_BLOCK = re.compile(r"::\n(?=\n)")


def _reference(match: re.Match[str]) -> str:
    short, target = match.groups()
    title = target.rsplit(".", 1)[-1] if short else target
    return f'<autoref optional identifier="{target}"><code>{title}</code></autoref>'


def markdown(docstring: str) -> str:
    """The docstring with its roles as cross-references and its ``::`` as colons."""
    return LITERAL_BLOCK.sub(":\n", ROLE.sub(_reference, docstring))


class SphinxRoles(griffe.Extension):
    """Rewrites every docstring of the package once it is loaded."""

    def on_package(
        self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: object
    ) -> None:
        self._rewrite(pkg, set())

    def _rewrite(self, obj: griffe.Object | griffe.Alias, seen: set[str]) -> None:
        if obj.is_alias or obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
        for member in obj.members.values():
            self._rewrite(member, seen)
