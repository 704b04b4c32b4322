"""The operator registry: every differentiable primitive, declared once beside its Function.

A spec (:mod:`tinygrad_ref.spec`) says how to call an op, which values its derivative is checked
on, and what NumPy computes for it. The property suite and ``python -m tinygrad_ref verify`` fuzz
every spec here: adding an op and its spec to its module's ``SPECS`` is all it takes for the op to
be verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tinygrad_ref.ops import (
    activation,
    arithmetic,
    arrange,
    binary,
    composed,
    contract,
    conv,
    decomposition,
    elementwise,
    indexing,
    join,
    layer,
    linalg,
    loss,
    normalization,
    norms,
    piecewise,
    products,
    reduction,
    shape,
    sorting,
    steps,
)
from tinygrad_ref.spec import OpSpec

_MODULES = (
    arithmetic,
    binary,
    elementwise,
    reduction,
    shape,
    arrange,
    linalg,
    contract,
    indexing,
    activation,
    loss,
    layer,
    piecewise,
    conv,
    normalization,
    join,
    steps,
    composed,
    decomposition,
    norms,
    products,
    sorting,
)

REGISTRY: Mapping[str, OpSpec] = MappingProxyType(
    {spec.name: spec for module in _MODULES for spec in module.SPECS}
)
"""Every differentiable primitive of the library, by name."""
