"""Whose derivative a check of a callable on Variables looked at: the library's own rules of
the ops it ran, and the backward of any Function subclass defined outside the library."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tinygrad_ref.core import Function, Operand, Variable
from tinygrad_ref.verification.oracle import _call


def derivative_of(fn: Callable[..., Variable], inputs: Sequence[Operand]) -> str:
    """What a check of ``fn`` at ``inputs`` compares with the oracle, from the graph one call
    records: the library's derivative of the ops ``fn`` ran (NumPy code on Variables runs
    them too), and the rules of the user's own Functions, by name."""
    fresh = [Variable(x.data) if isinstance(x, Variable) else x for x in inputs]
    y = _call(fn, fresh)
    ours: dict[str, None] = {}
    yours: dict[str, None] = {}
    seen: set[int] = set()
    stack: list[Function] = [y.creator] if y.creator is not None else []
    while stack:
        function = stack.pop()
        if id(function) in seen:
            continue
        seen.add(id(function))
        cls = type(function)
        library = cls.__module__.startswith("tinygrad_ref.")
        (ours if library else yours)[cls.__name__ if library else cls.__qualname__] = None
        stack.extend(x.creator for x in function.inputs if x.creator is not None)
    if not ours and not yours:
        return "nothing: fn's output does not depend on its Variable inputs"
    parts = []
    if yours:
        parts.append(f"your Function's rules ({', '.join(sorted(yours))})")
    if ours:
        parts.append(
            f"the library's own derivative of the ops fn ran ({', '.join(sorted(ours))}), not a "
            "rule you wrote (check_vjp and check_jvp check one)"
        )
    return " and ".join(parts)
