"""Hypothesis strategies and the per-op verification, reusable in your own tests, under their
documented name. Needs the ``testing`` extra (``pip install "tinygrad_ref[testing]"``). They
live in :mod:`tinygrad_ref.verification.strategies`; this module re-exports the public ones::

    from hypothesis import given
    from tinygrad_ref.registry import REGISTRY
    from tinygrad_ref.testing import check_example, examples

    @given(examples(REGISTRY["div"]))
    def test_div(example):
        check_example(example)
"""

from tinygrad_ref.verification.strategies import (
    DTYPES,
    Example,
    Kind,
    arrays,
    broadcastable_shapes,
    check_example,
    check_forward_example,
    dtypes,
    examples,
    kink_examples,
    operands,
    shapes,
    tiny_examples,
    values,
    verify_forward,
    verify_kink,
    verify_op,
)

__all__ = [
    "DTYPES",
    "Example",
    "Kind",
    "arrays",
    "broadcastable_shapes",
    "check_example",
    "check_forward_example",
    "dtypes",
    "examples",
    "kink_examples",
    "operands",
    "shapes",
    "tiny_examples",
    "values",
    "verify_forward",
    "verify_kink",
    "verify_op",
]
